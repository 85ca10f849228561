// The PU workload: arrivals from seeded distributions, FIFO order, one job in service.
#include "stack/calcapp/workload.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace rserpool::calcapp {
namespace {

using namespace std::chrono_literals;
using values::Distribution;
using values::ValueKind;

const TimePoint t0 = TimePoint{} + 50s;

Distribution parse(std::string_view text, ValueKind kind) {
  std::string error;
  const auto d = values::parse_distribution(text, kind, &error);
  EXPECT_TRUE(d) << error;
  return d.value_or(Distribution{});
}

TEST(Workload, FixedArrivalsQueueFifoOneInService) {
  Workload w(parse("fixed:5M", ValueKind::amount), parse("fixed:2s", ValueKind::duration), 1,
             t0);
  EXPECT_EQ(w.next_arrival(), t0 + 2s);
  EXPECT_FALSE(w.start());
  EXPECT_EQ(w.arrive(t0 + 1s), 0u);
  EXPECT_EQ(w.arrive(t0 + 6s), 3u);
  ASSERT_EQ(w.queue().size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i)
    EXPECT_EQ(w.queue()[i], (QueuedJob{i + 1, 5'000'000, t0 + 2s * (i + 1)}));
  EXPECT_EQ(w.next_arrival(), t0 + 8s);

  const auto first = w.start();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 1u);
  EXPECT_TRUE(w.in_service());
  EXPECT_FALSE(w.start());  // one at a time
  EXPECT_EQ(w.finish().id, 1u);
  EXPECT_FALSE(w.in_service());
  EXPECT_EQ(w.start()->id, 2u);
  EXPECT_EQ(w.queue().size(), 2u);
}

TEST(Workload, SizesAreWholeAndAtLeastOne) {
  Workload w(parse("uniform:0,2.6", ValueKind::amount), parse("fixed:1ms", ValueKind::duration),
             3, t0);
  w.arrive(t0 + 10s);
  ASSERT_EQ(w.queue().size(), 10'000u);
  bool saw[4] = {};
  for (const auto& j : w.queue()) {
    ASSERT_GE(j.size, 1u);
    ASSERT_LE(j.size, 3u);
    saw[j.size] = true;
  }
  EXPECT_TRUE(saw[1] && saw[2] && saw[3]);
}

TEST(Workload, ZeroIntervalsStillAdvance) {
  Workload w(parse("fixed:1", ValueKind::amount), parse("fixed:0s", ValueKind::duration), 3,
             t0);
  EXPECT_EQ(w.arrive(t0 + 10ns), 11u);  // at 0, 1, ... 10 ns: not an endless burst
}

TEST(Workload, ExponentialMeansAndSeeds) {
  const auto sizes = parse("exp:5M", ValueKind::amount);
  const auto gaps = parse("exp:15s", ValueKind::duration);
  Workload w(sizes, gaps, 42, t0);
  constexpr int n = 100'000;
  while (w.queue().size() < n) w.arrive(w.next_arrival());
  double size_sum = 0;
  for (const auto& j : w.queue()) size_sum += static_cast<double>(j.size);
  const double mean_size = size_sum / n;
  EXPECT_NEAR(mean_size, 5e6, 6 * 5e6 / std::sqrt(n));
  const double mean_gap =
      std::chrono::duration<double>(w.queue().back().queued - t0).count() / n;
  EXPECT_NEAR(mean_gap, 15.0, 6 * 15.0 / std::sqrt(n));

  Workload same(sizes, gaps, 42, t0), other(sizes, gaps, 43, t0);
  same.arrive(t0 + 1000s);
  other.arrive(t0 + 1000s);
  ASSERT_GT(same.queue().size(), 10u);
  for (std::size_t i = 0; i < same.queue().size(); ++i) EXPECT_EQ(same.queue()[i], w.queue()[i]);
  EXPECT_NE(other.queue().front(), same.queue().front());
}

}  // namespace
}  // namespace rserpool::calcapp
