// The runner's event loop: one io_context for the agents' replies and the timers, the
// injected clock (run_clock.hpp), SIGINT/SIGTERM, and pump(), with which every step of a run
// waits for its condition up to a deadline. Between waits pump() calls the hooks the run sets
// (a lost agent ends the step by throwing; heartbeats; the progress line; the database shared
// under --jobs N).
//
//   step ─► pump(done, deadline) ─► before_wait() ─► clock.wait(io) ─► after_wait() ─► done()?
//
// Single-threaded: everything runs on the thread that calls pump().
#pragma once

#include <utility>  // before Asio

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <optional>
#include <string>

#include "experiments/run_clock.hpp"

namespace rsplab::experiments {

class Loop {
 public:
  using time_point = RunClock::time_point;
  // `signals`: SIGINT and SIGTERM interrupt (else only interrupt() does).
  Loop(RunClock& clock, bool signals);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  boost::asio::io_context& io() { return io_; }
  time_point now() const { return clock_.now(); }
  std::int64_t unix_us() const { return clock_.unix_us(); }

  // Runs the loop until `done()` or `deadline` or an interrupt (unless `draining`); whether
  // done() held. Exceptions from the hooks end it.
  bool pump(const std::function<bool()>& done, time_point deadline);
  bool pump_for(const std::function<bool()>& done, std::chrono::nanoseconds timeout) {
    return pump(done, now() + timeout);
  }

  // What SIGINT/SIGTERM do, also for a signal the parent saw first (--jobs N).
  void interrupt(int sig);
  bool interrupted() const { return interrupted_; }
  // Whether a signal came, also one whose handler has not run yet.
  bool take_signal();
  // "SIGINT", "SIGTERM", "signal N".
  std::string signal_name() const;

  std::function<void()> before_wait;  // may throw: the step gives up
  std::function<void()> after_wait;
  bool draining = false;  // the teardown: waits run to their end, interrupted or not

 private:
  RunClock& clock_;
  boost::asio::io_context io_;
  std::optional<boost::asio::signal_set> signals_;
  bool interrupted_ = false;
  int signal_ = 0;
};

}  // namespace rsplab::experiments
