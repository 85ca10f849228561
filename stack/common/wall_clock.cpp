#include "stack/common/wall_clock.hpp"

#include <chrono>
#include <cstdlib>
#include <string>

namespace rsplab::common {
namespace {

std::int64_t configured_offset() {
  const char* text = std::getenv("RSPLAB_CLOCK_OFFSET_US");
  if (!text || !*text) return 0;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  return end && *end == '\0' ? v : 0;
}

}  // namespace

std::int64_t wall_clock_us() {
  static const std::int64_t offset = configured_offset();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset;
}

}  // namespace rsplab::common
