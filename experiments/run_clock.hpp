// The clock of `rsplab run`: the steady time its waits and timings use, the wall time (µs since
// the Unix epoch) its rows carry, and the wait on its Asio loop up to a deadline. SystemClock
// is the host's; a test gives the runner a simulated one (tests/experiments/runner_support.hpp)
// whose wait moves time forward to the deadline or the next thing it scheduled, so that a run
// of minutes takes a few milliseconds and its timing is exact.
//
//   Loop::pump(done, deadline) ─► while !done(): clock.wait(io, deadline) ─► handlers run
//
// Single-threaded: called on the thread that runs the io_context.
#pragma once

#include <utility>  // before Asio

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>

namespace rsplab::experiments {

class RunClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~RunClock() = default;
  virtual time_point now() const = 0;
  // The wall clock, µs since the Unix epoch: the times stored with a run.
  virtual std::int64_t unix_us() const = 0;
  // Runs `io`'s ready handlers, waiting for one at most until `deadline` (the system clock
  // waits at most 20 ms at a time: the caller looks at its conditions that often). Restarts
  // `io` when it ran out of work.
  virtual void wait(boost::asio::io_context& io, time_point deadline) = 0;
};

// The host's clocks (steady_clock; common::wall_clock_us, as the components' events).
class SystemClock final : public RunClock {
 public:
  time_point now() const override;
  std::int64_t unix_us() const override;
  void wait(boost::asio::io_context& io, time_point deadline) override;
};

}  // namespace rsplab::experiments
