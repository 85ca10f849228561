// The runner's event loop (loop.hpp).
#include "experiments/loop.hpp"

#include <csignal>

namespace rsplab::experiments {

Loop::Loop(RunClock& clock, bool signals) : clock_(clock) {
  if (!signals) return;
  signals_.emplace(io_, SIGINT, SIGTERM);
  signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) interrupt(sig);
  });
}

bool Loop::pump(const std::function<bool()>& done, time_point deadline) {
  while (!done()) {
    if (before_wait) before_wait();
    if ((interrupted_ && !draining) || now() >= deadline) return done();
    clock_.wait(io_, deadline);
    if (after_wait) after_wait();
  }
  return true;
}

void Loop::interrupt(int sig) {
  interrupted_ = true;
  signal_ = sig;
}

bool Loop::take_signal() {
  if (!interrupted_) {
    io_.poll();
    if (io_.stopped()) io_.restart();
  }
  return interrupted_;
}

std::string Loop::signal_name() const {
  return signal_ == SIGINT    ? "SIGINT"
         : signal_ == SIGTERM ? "SIGTERM"
                              : "signal " + std::to_string(signal_);
}

}  // namespace rsplab::experiments
