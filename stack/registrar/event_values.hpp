// Values as the registrar core's events write them, shared by its parts (core.cpp,
// enrp.cpp, takeover.cpp): a connection's number, a span of time in whole milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

#include "stack/registrar/core.hpp"

namespace rserpool::registrar::detail {

inline std::int64_t conn_of(ConnId conn) { return static_cast<std::int64_t>(conn); }

inline std::int64_t ms_between(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

}  // namespace rserpool::registrar::detail
