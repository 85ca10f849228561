// What `rsplab run` prints while a campaign goes and at its end: the progress line of the
// current run (one line updated in place on a terminal every 0.5 s, else a plain line every
// 10 s), a run's completion line and what it cost, and the closing summary (where the results
// are, a table per policy and sweep point). The texts only: the runner decides when.
//
//   Progress::update ─► "run 2/5 policy=rr rep 0: 1m05s/2m15s, 346 jobs completed ..."
//   run ends ─► completion_line ─► resources ─► ... campaign ends ─► summarize
//
// Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/outcome.hpp"
#include "experiments/record.hpp"
#include "experiments/run_clock.hpp"
#include "experiments/runner.hpp"
#include "results/checks.hpp"

namespace rsplab::experiments {

// "45s", "2m05s", "1h02m" (never negative).
std::string clock_text(double seconds);
std::string join(const std::vector<std::string>& v, const std::string& sep);
// "run 2/5 policy=rr rep 0"
std::string run_label(const Plan& plan, const Run& r);

// Whether some PU group of `r` runs `service` (calcapp, echo); a run without PUs counts as
// CalcApp's.
bool runs_service(const Run& r, const std::string& service);
// What the run's PUs did so far: "346 jobs completed (warm-up included)" for CalcApp PUs
// (with `measured`, the jobs completed in the measured window: ", 300 in the measured
// window"), "2 echo series (2 ended): 190 round trips (warm-up included)" for echo PUs (their
// `done` events; with `measured`, a completed run's, as echo_series stored them, and their
// duplicates), both joined by ", " when the run has both.
std::string work_text(const Run& r, const RunRecord& record, std::optional<std::int64_t> measured);

class Progress {
 public:
  Progress(const Plan& plan, bool terminal, std::ostream& out)
      : plan_(plan), terminal_(terminal), out_(out) {}
  // The campaign's start, and by run index which runs it skips (for the time remaining).
  void begin(RunClock::time_point now, std::vector<bool> skip);
  // The line for `record`'s run, if due (always if `force`). `worker`: without the time
  // remaining (a worker of --jobs N knows its own run only).
  void update(const RunRecord& record, RunClock::time_point now, bool force, bool worker);

 private:
  const Plan& plan_;
  bool terminal_;
  std::ostream& out_;
  std::vector<bool> skip_;
  RunClock::time_point campaign_start_{}, last_{};
};

// "run 1/3 completed: 346 jobs completed (warm-up included), 300 in the measured window,
// 2 failovers; the PUs generated 370 jobs", and the checks that warned; an echo run's:
// "run 1/1 completed: 2 echo series (2 ended): 190 round trips (warm-up included),
// 3 duplicates, 1 failovers".
std::string completion_line(const Plan& plan, const Run& r, RunStatus status,
                            const std::vector<results::RunCheck>& checks,
                            const RunRecord& record);

// What the run cost (tables run_resources and processes): deployment time, events into
// SQLite and their rate while running, the runner's peak memory and its CPU time since the
// deployment began; each component process's peak memory and CPU time from its agent.
results::RunResources run_resources(const RunRecord& record, RunClock::time_point now);
std::vector<results::ProcessUsage> process_usage(const RunRecord& record);
// This process's CPU time (user + system), seconds.
double own_cpu_s();
// Those as the run's closing lines: "deployed in …; … events stored (…/s while running)" and
// "peak RSS / CPU: runner …; registrar xN …" per role (CPU summed over its processes, peak the
// largest). Empty when the run's clock never started.
std::string resources(const results::RunResources& run,
                      const std::vector<results::ProcessUsage>& processes);

// Where the results are and the closing table over the plan's completed runs (only the
// flush unless options.summary).
void summarize(results::Store& store, const Plan& plan, const RunnerOptions& options,
               std::int64_t experiment_id, std::ostream& out, std::ostream& err);

}  // namespace rsplab::experiments
