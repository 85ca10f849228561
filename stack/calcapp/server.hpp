// The PE side of CalcApp as a model without I/O: processor sharing (behaviour.md, "CalcApp").
// Each of the n active jobs progresses at capacity/n calculations per second; above
// max_jobs a request is refused; a job's state is due as a cookie every cookie_interval
// or every cookie_calculations, whichever comes first; load = jobs / max_jobs.
//
// In the ngtcp2 manner every call that moves time takes `now` from the caller, and the
// model says what happened (completions, cookies due) and when it next needs a call
// (next_event). The shell: on a timer at next_event(now) or on a message, call advance(now),
// send COMPLETEs and Cookies for what it returns, re-arm the timer. Not thread-safe.
//
// Exactness: the model keeps one "virtual work" counter V, the calculations every active
// job has received since the server was last idle (all active jobs receive the same).
// A job's finish tag is V at admission plus its remaining calculations, so the job with
// the smallest tag completes next, at last + (tag - V)·n/C. At that instant V is set to
// the tag exactly (no accumulated drift), and jobs with equal tags complete together: a job
// of size S alone completes exactly S/C after admission, two equal jobs admitted together
// both at 2S/C. Times are whole nanoseconds: an instant that is not is rounded up
// (unless within 10^-3 ns of a whole one, to absorb floating-point noise).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace rserpool::calcapp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;

// The caller's handle for a job (e.g. its session); unique among active jobs. The CalcApp
// job id is the caller's business (it travels in messages and cookies).
using JobKey = std::uint64_t;

struct ServerConfig {
  double capacity = 1e6;                           // calculations/s; REQUIRES: > 0
  std::size_t max_jobs = 10;                       // REQUIRES: > 0
  Duration cookie_interval = std::chrono::seconds(5);  // 0: no cookies by time
  double cookie_calculations = 5e6;                // 0: no cookies by calculations
};

enum class Admission {
  accepted,
  full,        // max_jobs active: answer REJECT
  duplicate,   // the key is active already
  invalid,     // completed above size
};

struct JobState {
  JobKey key = 0;
  std::uint64_t size = 0;
  std::uint64_t completed = 0;  // whole calculations done (size when complete)
  bool operator==(const JobState&) const = default;
};

struct Events {
  std::vector<JobState> completed;  // in completion order
  std::vector<JobState> cookies;    // states due as cookies (never of a completed job)
  bool empty() const { return completed.empty() && cookies.empty(); }
};

// Used capacity over an interval: utilization = calculations / offered, where offered =
// capacity × interval (behaviour.md weights utilization over PEs by these sums).
struct Usage {
  double calculations = 0;
  double offered = 0;
  double utilization() const { return offered > 0 ? calculations / offered : 0; }
};

class ProcessorSharing {
 public:
  ProcessorSharing(ServerConfig config, TimePoint start);

  // Takes a job (fresh: completed 0; resumed from a cookie: completed so far). A job with
  // nothing left completes at `now` (reported by the next advance). REQUIRES (for this and
  // every call taking `now`): now is not before the previous call's `now`. Events that
  // fall due by `now` are kept for the next advance(), never lost.
  Admission admit(JobKey key, std::uint64_t size, std::uint64_t completed, TimePoint now);
  // Drops an active job (ABORT, lost session); its state at `now`, or nullopt when the
  // key is not active (also when it completed by `now`: advance() reports it).
  std::optional<JobState> remove(JobKey key, TimePoint now);
  // Moves every job on to `now`; what completed and which cookies fell due since the
  // previous advance, in time order.
  Events advance(TimePoint now);
  // When advance() next has something to report: `now` when something is due already,
  // nullopt when idle.
  std::optional<TimePoint> next_event(TimePoint now) const;

  // Calculations done and capacity offered since the previous take_usage (or since the
  // start), up to `now`.
  Usage take_usage(TimePoint now);
  double calculations_done() const { return done_; }  // since the start, up to the last call

  std::uint32_t load() const;  // jobs / max_jobs as a wire fraction (wire::kFractionOne = 1)
  std::size_t jobs() const { return jobs_.size(); }
  std::optional<JobState> job(JobKey key) const;  // as of the last call's `now`
  const ServerConfig& config() const { return config_; }

 private:
  struct Job {
    JobKey key;
    std::uint64_t size;
    double base;         // V at which this job had done 0 calculations
    double finish;       // V at which it completes: base + size
    TimePoint cookie_time;
    double cookie_v;     // V at its last cookie (or admission)
  };

  Duration time_for(double work_per_job, std::size_t n) const;
  TimePoint cookie_due(const Job& j) const;  // from the state at last_
  TimePoint completion_due() const;          // REQUIRES: jobs_ not empty
  void catch_up(TimePoint now);
  JobState state(const Job& j) const;

  ServerConfig config_;
  TimePoint last_;
  double v_ = 0;
  double done_ = 0;
  std::vector<Job> jobs_;  // admission order
  Events pending_;
  TimePoint usage_time_;
  double usage_done_ = 0;
};

}  // namespace rserpool::calcapp
