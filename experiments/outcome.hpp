// How a run ended and how a campaign did, as the runner decides them (results/run_status.hpp
// holds the status's text): each run's Outcome goes to Store::end_run, its completion line and
// (under --jobs N) the parent; a campaign's status is the worst of its runs', from which alone
// `rsplab run` (and `--until-ci`) takes its exit code.
//
//   run_one ─► Outcome{status, reason} ─► Store::end_run, "run i/N <status>: …"
//   campaign ─► worst(...) over its runs ─► exit_code: completed 0, failed 1, interrupted 130
#pragma once

#include <string>

#include "results/run_status.hpp"

namespace rsplab::experiments {

using results::RunStatus;

// A run's end: completed (reason empty), interrupted (by SIGINT/SIGTERM: the reason names the
// signal and the step it came in) or failed (the reason says why).
struct Outcome {
  RunStatus status = RunStatus::completed;
  std::string reason;
};

// The campaign's status after two of its parts: interrupted over failed over completed (an
// interrupted campaign stops, whatever failed before).
constexpr RunStatus worst(RunStatus a, RunStatus b) {
  const auto rank = [](RunStatus s) {
    return s == RunStatus::interrupted ? 2 : s == RunStatus::failed ? 1 : 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

// `rsplab run`'s exit code for a campaign that ended so: 0, 1 or 130 (128 + SIGINT, as a shell
// reports a command Ctrl-C stopped).
constexpr int exit_code(RunStatus s) {
  switch (s) {
    case RunStatus::completed: return 0;
    case RunStatus::interrupted: return 130;
    case RunStatus::failed: return 1;
  }
  return 1;
}

}  // namespace rsplab::experiments
