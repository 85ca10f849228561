// How a run ended, as `runs.status` stores it (results/README.md): the one place its text is.
// The runner decides it (experiments/outcome.hpp adds the reason and the exit code), the
// store writes it, and whatever reads the column back parses it here. `running` is the
// column's value before a run ends, never an outcome.
#pragma once

#include <optional>
#include <string_view>

namespace rsplab::results {

enum class RunStatus { completed, interrupted, failed };
inline constexpr RunStatus kRunStatuses[] = {RunStatus::completed, RunStatus::interrupted,
                                             RunStatus::failed};

// "completed", "interrupted", "failed".
constexpr std::string_view status_text(RunStatus s) {
  switch (s) {
    case RunStatus::completed: return "completed";
    case RunStatus::interrupted: return "interrupted";
    case RunStatus::failed: return "failed";
  }
  return "failed";
}

// The status `text` names; nullopt for anything else ("running", "done", "").
constexpr std::optional<RunStatus> parse_status(std::string_view text) {
  for (const RunStatus s : kRunStatuses)
    if (status_text(s) == text) return s;
  return std::nullopt;
}

}  // namespace rsplab::results
