#include "stack/calcapp/workload.hpp"

#include <cassert>
#include <cmath>

namespace rserpool::calcapp {

Workload::Workload(values::Distribution size, values::Distribution interval,
                   std::uint64_t seed, TimePoint start, std::uint64_t max_jobs)
    : size_(size), interval_(interval), rng_(seed), max_jobs_(max_jobs) {
  assert(size_.values == values::ValueKind::amount);
  assert(interval_.values == values::ValueKind::duration);
  next_ = start + values::sample_duration(interval_, rng_);
}

QueuedJob Workload::draw(TimePoint at) {
  // Sizes are whole calculations, at least 1 (a job of size 0 is no job).
  const double s = std::round(values::sample(size_, rng_));
  const std::uint64_t size =
      s < 1 ? 1 : s >= 1.8e19 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(s);
  const QueuedJob job{next_id_, size, at};
  if (++next_id_ == 0) next_id_ = 1;
  return job;
}

std::size_t Workload::arrive(TimePoint now) {
  std::size_t count = 0;
  while (!exhausted() && next_ <= now) {
    queue_.push_back(draw(next_));
    ++count;
    ++generated_;
    // A zero interval (fixed:0s) would arrive forever at one instant: at least 1 ns.
    next_ += std::max(values::sample_duration(interval_, rng_), Duration(1));
  }
  return count;
}

std::optional<QueuedJob> Workload::start() {
  if (queue_.empty() || serving_) return std::nullopt;
  serving_ = true;
  return queue_.front();
}

QueuedJob Workload::finish() {
  assert(serving_ && !queue_.empty());
  serving_ = false;
  QueuedJob job = queue_.front();
  queue_.pop_front();
  return job;
}

}  // namespace rserpool::calcapp
