// The PU side of CalcApp as a model without I/O: the jobs a pool user generates and its
// FIFO queue (behaviour.md, "CalcApp"). Job sizes and inter-arrival times are drawn from
// values::Distributions with the project's seeded handlespace::Rng (exponential in the
// reference setups), so a seed gives the same workload on every machine. Jobs wait in
// arrival order and only the head is in service: one job at a time. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "stack/calcapp/server.hpp"
#include "stack/common/values.hpp"
#include "stack/handlespace/rng.hpp"

namespace rserpool::calcapp {

struct QueuedJob {
  std::uint32_t id = 0;      // 1, 2, ... (never 0)
  std::uint64_t size = 0;    // calculations, >= 1
  TimePoint queued{};        // arrival: queuing delay = start of service - queued
  bool operator==(const QueuedJob&) const = default;
};

class Workload {
 public:
  // REQUIRES: `size` of ValueKind::amount, `interval` of ValueKind::duration (seconds).
  // The first job arrives one drawn interval after `start`. `max_jobs` caps how many jobs
  // are ever generated (0: no limit).
  Workload(values::Distribution size, values::Distribution interval, std::uint64_t seed,
           TimePoint start, std::uint64_t max_jobs = 0);

  // Meaningless once exhausted(): no job arrives then.
  TimePoint next_arrival() const { return next_; }
  // Queues every job that arrived by `now` (each with its own arrival time); how many.
  std::size_t arrive(TimePoint now);
  std::uint64_t generated() const { return generated_; }
  bool exhausted() const { return max_jobs_ != 0 && generated_ >= max_jobs_; }

  const std::deque<QueuedJob>& queue() const { return queue_; }
  bool in_service() const { return serving_; }
  // The head, put into service; nullopt when the queue is empty or the head is served.
  std::optional<QueuedJob> start();
  // The job in service, done (or given up): removed, the next one becomes the head.
  // REQUIRES: in_service().
  QueuedJob finish();

 private:
  QueuedJob draw(TimePoint at);

  values::Distribution size_, interval_;
  handlespace::Rng rng_;
  TimePoint next_;
  std::uint32_t next_id_ = 1;
  std::uint64_t max_jobs_ = 0;
  std::uint64_t generated_ = 0;
  std::deque<QueuedJob> queue_;
  bool serving_ = false;
};

}  // namespace rserpool::calcapp
