// One run from deployment to its row's end: RunDriver puts the parts together (Deployment,
// FaultInjector, RunRecord, Progress) on one Loop, and decides the run's Outcome: completed
// when the PUs ended after their runtime, interrupted when SIGINT/SIGTERM came (wherever it
// came: its reason names the signal and the step), failed with the reason otherwise (a
// component that never became ready, an agent lost mid-run, PUs that did not end). Whatever
// the outcome, the teardown runs and the run's row is ended, with its checks.
//
//   run_one ─► deploy (sites, agents, registrars, PEs) ─► [clock starts: runs row] ─► PUs
//     ─► faults at their times ─► PUs end ─► teardown ─► checks ─► Store::end_run ─► lines
//
// Single-threaded, on the Loop. The clock and the agents are the caller's (Setup): the
// campaign gives the system's, a test simulated ones.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "experiments/agent_link.hpp"
#include "experiments/deployment.hpp"
#include "experiments/fault_injection.hpp"
#include "experiments/loop.hpp"
#include "experiments/outcome.hpp"
#include "experiments/progress.hpp"
#include "experiments/record.hpp"
#include "experiments/runner.hpp"

namespace rsplab::experiments {

class RunDriver {
 public:
  struct Setup {
    const Plan& plan;
    const RunnerOptions& options;
    Loop& loop;
    AgentStarter& agents;
    results::Store& store;
    std::ostream& out;
    std::ostream& err;
    std::int64_t experiment_id = 0;
    bool netns = false;                  // sites in network namespaces (else loopback)
    std::string log_dir;                 // the agents' stderr files
    agents::Journal* journal = nullptr;  // REQUIRES: set when netns
    bool worker = false;                 // a worker of --jobs N (its progress lines differ)
  };
  explicit RunDriver(const Setup& setup);
  RunDriver(const RunDriver&) = delete;
  RunDriver& operator=(const RunDriver&) = delete;

  // Carries out `r` (REQUIRES: none in progress) and ends its row.
  Outcome run_one(const Run& r);

  Progress& progress() { return progress_; }
  const RunRecord& record() const { return record_; }
  // Called once the run's row exists (--jobs N: the parent marks it should the worker die).
  std::function<void(std::int64_t row)> on_row;
  // Called after each wait of the loop (--jobs N: the database shared with the others).
  std::function<void()> after_wait;

 private:
  void deploy_and_run(const Run& r);
  void begin_run(const Run& r);
  void close_run(const Run& r, const Outcome& outcome);
  std::string interruption() const;

  const Plan& plan_;
  const RunnerOptions& options_;
  Loop& loop_;
  std::ostream& out_;
  std::ostream& err_;
  std::int64_t experiment_id_;
  bool worker_;
  RunRecord record_;
  Progress progress_;
  Deployment deployment_;
  FaultInjector faults_;
};

}  // namespace rsplab::experiments
