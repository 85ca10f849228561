// The wall clock of event times (UTC microseconds since the Unix epoch), shared by the
// components' event lines and the site agent's clock answers, so that both move together.
//
// RSPLAB_CLOCK_OFFSET_US (an integer, read once) shifts it: a host whose clock is off by
// that much, for testing and demonstrating the runner's clock correction of remote sites
// (experiments/README.md, "Remote sites"). Unset, empty or malformed: no shift.
#pragma once

#include <cstdint>

namespace rsplab::common {

std::int64_t wall_clock_us();

}  // namespace rsplab::common
