#include "stack/calcapp/server.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "stack/wire/constants.hpp"

namespace rserpool::calcapp {
namespace {

constexpr TimePoint kNever = TimePoint::max();

// Whole calculations in `v`, forgiving floating-point noise just below a whole number
// (`scale`: the magnitude of the terms `v` was computed from).
std::uint64_t whole(double v, double scale, std::uint64_t cap) {
  if (v <= 0) return 0;
  const double r = std::round(v);
  const double w = std::abs(v - r) < 1e-6 + 1e-14 * std::abs(scale) ? r : std::floor(v);
  if (w >= static_cast<double>(cap)) return cap;
  return static_cast<std::uint64_t>(w);
}

TimePoint later(TimePoint t, Duration d) {
  return t > kNever - d ? kNever : t + d;
}

}  // namespace

ProcessorSharing::ProcessorSharing(ServerConfig config, TimePoint start)
    : config_(config), last_(start), usage_time_(start) {
  assert(config_.capacity > 0 && config_.max_jobs > 0);
}

Duration ProcessorSharing::time_for(double work_per_job, std::size_t n) const {
  if (work_per_job <= 0) return Duration::zero();
  const double ns = work_per_job * static_cast<double>(n) * 1e9 / config_.capacity;
  if (ns >= 9e18) return Duration::max();
  const double r = std::round(ns);
  return Duration(static_cast<Duration::rep>(std::abs(ns - r) < 1e-3 ? r : std::ceil(ns)));
}

TimePoint ProcessorSharing::completion_due() const {
  double fmin = jobs_.front().finish;
  for (const Job& j : jobs_) fmin = std::min(fmin, j.finish);
  return later(last_, time_for(fmin - v_, jobs_.size()));
}

TimePoint ProcessorSharing::cookie_due(const Job& j) const {
  TimePoint due = kNever;
  if (config_.cookie_interval > Duration::zero())
    due = later(j.cookie_time, config_.cookie_interval);
  if (config_.cookie_calculations > 0) {
    const double target = j.cookie_v + config_.cookie_calculations;
    if (target < j.finish)  // else it completes first: no cookie needed
      due = std::min(due, later(last_, time_for(target - v_, jobs_.size())));
  }
  return due;
}

JobState ProcessorSharing::state(const Job& j) const {
  return {j.key, j.size, v_ >= j.finish ? j.size : whole(v_ - j.base, v_, j.size)};
}

void ProcessorSharing::catch_up(TimePoint now) {
  assert(now >= last_);
  if (now < last_) now = last_;  // a release build tolerates a clock step back
  while (!jobs_.empty()) {
    const std::size_t n = jobs_.size();
    const TimePoint completion = completion_due();
    TimePoint event = completion;
    for (const Job& j : jobs_) event = std::min(event, cookie_due(j));
    if (event > now) break;

    // Move to the event: to a finish tag exactly when a job completes there.
    double fmin = jobs_.front().finish;
    for (const Job& j : jobs_) fmin = std::min(fmin, j.finish);
    // Cookies due at this event, from the state before it (completions take precedence).
    std::vector<bool> cookie(n, false);
    for (std::size_t i = 0; i < n; ++i) cookie[i] = cookie_due(jobs_[i]) <= event;
    if (event == completion) {
      done_ += std::max(fmin - v_, 0.0) * static_cast<double>(n);
      v_ = std::max(v_, fmin);  // exactly the tag: v + (tag - v) may miss it by an ulp
    } else {
      const double by_time = std::chrono::duration<double>(event - last_).count() *
                             config_.capacity / static_cast<double>(n);
      const double dv = std::max(std::min(fmin - v_, by_time), 0.0);
      v_ += dv;
      done_ += dv * static_cast<double>(n);
    }
    last_ = event;

    std::vector<Job> staying;
    staying.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      Job& j = jobs_[i];
      if (v_ >= j.finish) {
        pending_.completed.push_back({j.key, j.size, j.size});
        continue;
      }
      if (cookie[i]) {
        pending_.cookies.push_back(state(j));
        j.cookie_time = event;
        j.cookie_v = v_;
      }
      staying.push_back(j);
    }
    jobs_ = std::move(staying);
  }
  if (jobs_.empty()) {
    v_ = 0;  // idle: restart the virtual clock (keeps V small over long runs)
  } else if (now > last_) {
    double fmin = jobs_.front().finish;
    for (const Job& j : jobs_) fmin = std::min(fmin, j.finish);
    const double n = static_cast<double>(jobs_.size());
    const double dv = std::min(fmin - v_, std::chrono::duration<double>(now - last_).count() *
                                              config_.capacity / n);
    v_ += std::max(dv, 0.0);
    done_ += std::max(dv, 0.0) * n;
  }
  last_ = now;
}

Admission ProcessorSharing::admit(JobKey key, std::uint64_t size, std::uint64_t completed,
                                  TimePoint now) {
  catch_up(now);
  if (completed > size) return Admission::invalid;
  for (const Job& j : jobs_)
    if (j.key == key) return Admission::duplicate;
  if (jobs_.size() >= config_.max_jobs) return Admission::full;
  const double base = v_ - static_cast<double>(completed);
  jobs_.push_back({key, size, base, base + static_cast<double>(size), now, v_});
  return Admission::accepted;
}

std::optional<JobState> ProcessorSharing::remove(JobKey key, TimePoint now) {
  catch_up(now);
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it)
    if (it->key == key) {
      const JobState s = state(*it);
      jobs_.erase(it);
      if (jobs_.empty()) v_ = 0;
      return s;
    }
  return std::nullopt;
}

Events ProcessorSharing::advance(TimePoint now) {
  catch_up(now);
  Events out = std::move(pending_);
  pending_ = {};
  return out;
}

std::optional<TimePoint> ProcessorSharing::next_event(TimePoint now) const {
  if (!pending_.empty()) return now;
  if (jobs_.empty()) return std::nullopt;
  TimePoint event = completion_due();
  for (const Job& j : jobs_) event = std::min(event, cookie_due(j));
  return std::max(event, now);
}

Usage ProcessorSharing::take_usage(TimePoint now) {
  catch_up(now);
  const Usage u{done_ - usage_done_,
                config_.capacity * std::chrono::duration<double>(now - usage_time_).count()};
  usage_done_ = done_;
  usage_time_ = now;
  return u;
}

std::uint32_t ProcessorSharing::load() const {
  const auto n = std::min<std::uint64_t>(jobs_.size(), config_.max_jobs);
  return static_cast<std::uint32_t>(n * wire::kFractionOne / config_.max_jobs);
}

std::optional<JobState> ProcessorSharing::job(JobKey key) const {
  for (const Job& j : jobs_)
    if (j.key == key) return state(j);
  return std::nullopt;
}

}  // namespace rserpool::calcapp
