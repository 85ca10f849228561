// `rsplab run --jobs N` (N > 1): runs side by side, each in a worker process of its own. The
// parent opens the campaign as one runner does (campaign.hpp), closes its connection, then
// forks the workers (before any io_context or thread exists here: a worker's agents die with
// the thread that forked them), forwards SIGINT/SIGTERM to them, marks the runs of a worker
// that died failed, and prints the summary once. The queue, each worker's claim and each
// run's status live in shared memory; each worker is a RunDriver of its own (its SQLite
// connection, committing every 100 ms; its journal; its runs' namespaces) and writes whole
// lines, each starting with "run i/N".
//
//   parent (no io_context, no threads): store ─► lock ─► experiments row ─► completed keys
//     │   skipped ─► queue of run indices (local runs; then the remote ones, one worker)
//     ├─fork─► worker 1: claims queue[next++] ─► run_one ─► claims again ...
//     ├─fork─► worker 2: ...          (own SQLite connection, journal and namespaces)
//     └─ waitpid every 100 ms, SIGINT/SIGTERM forwarded ─► runs of workers that died marked
//        failed ─► the summary, once ─► 0 / 1 / 130
#pragma once

#include <ostream>

#include "experiments/experiment.hpp"
#include "experiments/outcome.hpp"
#include "experiments/runner.hpp"

namespace rsplab::experiments {

// REQUIRES: options.jobs > 1. The campaign's status, as run_plan's.
RunStatus run_side_by_side(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                           std::ostream& err);

}  // namespace rsplab::experiments
