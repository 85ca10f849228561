// A campaign in one process: the results database opened (and the runs left `running` by dead
// runners marked interrupted, under the shared flock(2) every runner holds on the database's
// log directory), the experiments row found or added, the completed run keys skipped, then
// the plan's runs one after the other (RunDriver, on the system's clock and the agents'
// child processes), until one is interrupted; the summary at the end. The parent of
// `--jobs N` (workers.hpp) shares the opening steps (open_campaign, announce).
//
//   Store::open ─► open_campaign (cleanup, sites' backend, lock, experiments row, keys)
//     ─► announce (how many runs, how long, what resumes) ─► run_one × runs ─► summarize
//
// Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/outcome.hpp"
#include "experiments/runner.hpp"
#include "results/store.hpp"

namespace rsplab::experiments {

// What a campaign starts from, one runner or the parent of --jobs workers alike.
struct Campaign {
  bool netns = false;  // sites in network namespaces (else loopback)
  std::string log_dir;
  std::int64_t experiment_id = 0;
  std::set<std::string> completed, unfinished;  // run keys in the file (none with --fresh)
};

// Removes what dead runners left, chooses the sites' backend, takes the shared lock on the
// database (`lock_fd`; marks the runs of dead runners interrupted when no one else holds
// it), finds or adds the experiments row and reads the keys done earlier, into `store`.
// Says what it did on `out`/`err`; nullopt (after saying why) when the file is unusable.
std::optional<Campaign> open_campaign(const Plan& plan, const RunnerOptions& options,
                                      results::Store& store, int& lock_fd, std::ostream& out,
                                      std::ostream& err);

// The experiments row of `plan` run with `options` (this host, this kernel).
results::ExperimentInfo experiment_info(const Plan& plan, const RunnerOptions& options);

// A run with a site on a remote host (reached over ssh): never side by side with another
// (the sites' uplink in the root namespace is one per machine; ssh hosts are shared).
bool remote_run(const Run& r);

// The campaign's first lines (how many runs, about how long, what is resumed); by run index
// whether it is skipped (its key completed earlier). `jobs` > 1: runs side by side.
std::vector<bool> announce(const Plan& plan, const RunnerOptions& options,
                           const std::set<std::string>& completed,
                           const std::set<std::string>& unfinished, std::size_t jobs,
                           std::ostream& out);

// The line of a run skipped because its key completed earlier.
std::string skipped_line(const Plan& plan, const Run& r);

// The campaign in this process (run_plan with jobs 1): the worst of its runs' statuses.
RunStatus run_campaign(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                       std::ostream& err);

}  // namespace rsplab::experiments
