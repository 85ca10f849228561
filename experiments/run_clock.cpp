// The host's clock for the runner (run_clock.hpp).
#include "experiments/run_clock.hpp"

#include "stack/common/wall_clock.hpp"

namespace rsplab::experiments {

RunClock::time_point SystemClock::now() const { return std::chrono::steady_clock::now(); }

std::int64_t SystemClock::unix_us() const { return common::wall_clock_us(); }

void SystemClock::wait(boost::asio::io_context& io, time_point /*deadline*/) {
  // 20 ms at most, whatever the deadline: the runner looks at its conditions (progress,
  // heartbeat, signals) that often.
  io.run_one_for(std::chrono::milliseconds(20));
  if (io.stopped()) io.restart();
}

}  // namespace rsplab::experiments
