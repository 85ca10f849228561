// `rsplab run`: carries out a Plan, run by run, into one results database.
//
//   per run: sites (network namespaces, or loopback without root) ─► one agent per site
//     ─► registrars (wait for their ASAP endpoints) ─► PE groups (wait until every PE is
//        registered: the run's clock starts) ─► PU groups (--runtime warm-up + duration)
//     ─► faults at their times ─► PUs end ─► agents stop their components ─► sites removed
//   every event of every component ─► results::Store (rows in µs since the run's start)
//
// The driver is single-threaded: one io_context for the agents' pipes and the timers; the
// steps wait on it with bounded deadlines.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "experiments/experiment.hpp"

namespace rsplab::experiments {

struct RunnerOptions {
  std::string output = "results.db";
  std::string version;       // rsplab's, stored with the experiment
  bool terminal = false;     // progress on one updated line; else plain lines
  bool loopback = false;     // force loopback sites even as root
  std::string log_dir;       // components' stderr files (default: beside the database)
  bool fresh = false;        // ignore earlier results in `output`: run every run again
};

// Runs every run of `plan`; prints progress to `out`, problems to `err`, and at the end where
// the results are and a table per policy. Exit code: 0 all runs completed, 1 a run failed,
// 130 interrupted (SIGINT/SIGTERM: the current run is marked interrupted).
//
// Resuming: run again into the same database (unless `fresh`), a run whose key has a
// completed row there is skipped, and said so; interrupted and failed ones run again (a new
// row each attempt). The campaign keeps its experiments row (same name, source and
// version). Every runner holds a shared flock(2) on the database's log directory
// ("<output>.logs") while it runs; one that finds no other holder marks the runs left
// `running` (their runner died) interrupted, reason "runner died".
int run_plan(const Plan& plan, const RunnerOptions& options, std::ostream& out,
             std::ostream& err);

}  // namespace rsplab::experiments
