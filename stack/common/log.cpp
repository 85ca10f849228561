// common::Logger: the level names and the one write(2) per line (see log.hpp).
#include "stack/common/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>

namespace rsplab::common {

std::optional<Level> parse_level(std::string_view text) {
  for (Level l : {Level::error, Level::warning, Level::info, Level::debug})
    if (text == level_name(l)) return l;
  return std::nullopt;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::error: return "error";
    case Level::warning: return "warning";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "?";
}

void Logger::write_formatted(Level l, const char* fmt, ...) const {
  std::va_list args, again;
  va_start(args, fmt);
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string text;
  if (n > 0) {
    text.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(text.data(), text.size(), fmt, again);
    text.resize(static_cast<std::size_t>(n));
  }
  va_end(again);
  write(l, n < 0 ? std::string_view(fmt) : std::string_view(text));
}

void Logger::write(Level l, std::string_view text) const {
  std::string line = component;
  line += ": ";
  line += level_name(l);
  line += ": ";
  line += text;
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace rsplab::common
