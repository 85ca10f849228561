// The one logger for every binary's diagnostics: "<component>: <level>: <text>" on stderr,
// at the logger's level and above (error < warning < info < debug). Each line goes out in
// one write(2), so lines of processes sharing a stderr (a runner's agents and components,
// appended to one log file) do not interleave. Machine-read output is not this: events are
// JSON lines (node/event_log.hpp), the agent protocol and the commands' results go to stdout,
// and a command's own error messages go to its Context streams (apps/commands.hpp).
// A Logger is a plain value; calls from several threads are safe (one write each).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace rsplab::common {

enum class Level { error, warning, info, debug };

// "error", "warning", "info", "debug"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view text);
const char* level_name(Level level);

struct Logger {
  std::string component;  // e.g. "rsplab pe"
  Level level = Level::info;

  bool enabled(Level l) const { return l <= level; }
  // printf-style: log(Level::info, "registrar %zu closed: %s", i, why.c_str()).
  template <class... A>
  void operator()(Level l, const char* fmt, A... args) const {
    if (!enabled(l)) return;
    if constexpr (sizeof...(A) == 0) write(l, fmt);
    else write_formatted(l, fmt, args...);
  }
  // The line as it is, whatever the level.
  void write(Level l, std::string_view text) const;
  // What operator() uses: vsnprintf, so any length.
  void write_formatted(Level l, const char* fmt, ...) const;
};

}  // namespace rsplab::common
