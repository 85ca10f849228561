// `rsplab run --until-ci PCT`: repetitions added one at a time per sweep point until the 95 %
// interval of every compared metric is within PCT % of its mean, or the point reached the cap
// (--max-repetitions). This owns the rounds and the decision; the runs themselves are
// run_plan's, the per-run metrics results/report.hpp's, the intervals results/stats.hpp's.
//
//   plan to the cap (load_plan with repetitions = cap: repetition i has the seed and key it
//   has in any plan) ─► round 1: repetitions 0..first-1 of every sweep point ─► run_plan
//     ─► per point: its completed runs (newest row per key) ─► run_metrics ─► estimate
//     ─► decide: reached | more (one more repetition: the next round) | cap | no value
//     ─► next round: the next repetition of each point that wants more ─► run_plan ─► …
//   ─► the closing table over every round (print_summary) ─► the verdict per point
//
// A group is one sweep point of the plan: experiment × policy × the other swept values, the
// rows of the closing table and of `rsplab report`. Run again into the same database, the
// rounds replay: each round's completed keys are skipped by run_plan and the decisions, made
// over repetitions 0..target-1 only, come out the same. Single-threaded; -j N runs each
// round's runs side by side.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/runner.hpp"
#include "results/stats.hpp"

namespace rsplab::experiments {

struct UntilCiOptions {
  double percent = 0;                // PCT: the target half-width, in % of |mean|
  std::size_t max_repetitions = 20;  // the cap per sweep point
  std::vector<std::string> metrics = {"handling_speed", "utilization"};  // report.hpp's names
};

// The first round's repetitions per point: the file's, but at least 2 (an interval needs two).
std::size_t first_round(std::size_t file_repetitions);

// "" when `o` suits a file with `file_repetitions`, else what is wrong (a percent not > 0, a
// cap not above the first round, an unknown metric, one named twice).
std::string check_until_ci(const UntilCiOptions& o, std::size_t file_repetitions);

// What `rsplab plan` and `rsplab run` say before the first round: "until-ci: 2 repetitions
// per sweep point first (the file says 1: an interval needs 2), then one more at a time …".
std::string until_ci_intro(std::size_t file_repetitions, std::size_t points,
                           const UntilCiOptions& o);

// What a sweep point does after a round.
enum class Verdict {
  more,      // some interval too wide: one more repetition
  reached,   // every compared interval within the target
  cap,       // too wide still, and the cap reached: the target was NOT met
  no_value,  // a compared metric has no value in any of its runs (no jobs…): stopped
};

struct Group {
  std::size_t point = 0;   // the plan's sweep point
  std::map<std::string, std::string> parameters;  // its values
  std::string label;       // "policy=lu ratio=10"; "(no sweep)" without parameters
  std::size_t target = 0;  // repetitions 0..target-1 asked for
  std::size_t asked = 0;   // of those, handed to the runner so far
  std::size_t completed = 0;  // completed runs among them at the last decision
  Verdict verdict = Verdict::more;
  std::map<std::string, results::Estimate> estimates;  // compared metric → over its runs
};

// Every sweep point of `full` (the plan to the cap) as a group asking for `first` repetitions.
std::vector<Group> make_groups(const Plan& full, std::size_t first);

// What a group does next, from its estimates of `metrics` and the repetitions it asked for:
// no_value if one metric has no value at all (n = 0); reached if every one has an interval
// with half_width <= percent/100 · |mean|; else cap when target >= cap, else more.
Verdict decide(const std::map<std::string, results::Estimate>& estimates,
               const std::vector<std::string>& metrics, double percent, std::size_t target,
               std::size_t cap);

// The runs of the next round: of each group still `more`, its repetitions asked..target-1
// (then asked = target), in `full`'s order, re-indexed 0..M-1 for the runner with their index
// in `full` kept as Run::stored_index. Empty when no group wants more.
Plan round_plan(const Plan& full, std::vector<Group>& groups);

// Every run asked for so far (repetitions below each group's target): what the closing table
// and a resumed campaign count.
Plan asked_plan(const Plan& full, const std::vector<Group>& groups);

// The verdict per group, as `rsplab run` prints it at the end: reached, or the cap (the
// target NOT met) or no value, with n and each metric's relative half-width.
std::string verdict_text(const std::vector<Group>& groups, const UntilCiOptions& o);

// What is stored of a group in the until_ci table: "reached", "cap", "no_value", or
// "undecided" (still `more`: the campaign stopped before deciding it).
const char* verdict_name(Verdict v);

// The rounds on `full` (the plan to the cap: load_plan with repetitions = o.max_repetitions),
// the first with `first` repetitions per point; then the closing table and the verdicts, which
// are stored (table until_ci) under the campaign's experiments row.
// The status as run_plan's: completed when every run completed (whether or not each target
// was met), failed when a run failed or a round could not be assessed (no further round),
// interrupted.
RunStatus run_until_ci(const Plan& full, std::size_t first, const UntilCiOptions& o,
                 const RunnerOptions& options, std::ostream& out, std::ostream& err);

}  // namespace rsplab::experiments
