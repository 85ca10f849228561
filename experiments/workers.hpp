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
#include <streambuf>
#include <string>
#include <utility>

#include "experiments/experiment.hpp"
#include "experiments/outcome.hpp"
#include "experiments/runner.hpp"

namespace rsplab::experiments {

// A worker's output stream: whole lines only, each written at once (one write(2) on stdout
// or stderr, else the target flushed per line), so the workers' lines never mix within a
// line. A line says which run it belongs to: "run 3/8: " before it unless it starts with
// "run " (after "rsplab run: " for error lines). Empty lines (the terminal's) are dropped.
class LineBuf : public std::streambuf {
 public:
  explicit LineBuf(std::ostream& target) : target_(target) {}
  ~LineBuf() override;
  void set_run(std::string prefix) { prefix_ = std::move(prefix); }

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;

 private:
  void put(char c);
  void emit();
  std::string decorate() const;
  std::ostream& target_;
  std::string line_, prefix_;
};

// REQUIRES: options.jobs > 1. The campaign's status, as run_plan's.
RunStatus run_side_by_side(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                           std::ostream& err);

}  // namespace rsplab::experiments
