// The processor-sharing model against times computed by hand, admission and load, cookie
// cadence by time and by calculations, utilization accounting, and work conservation.
#include "stack/calcapp/server.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "stack/handlespace/rng.hpp"
#include "stack/wire/constants.hpp"

namespace rserpool::calcapp {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1000s;

ServerConfig no_cookies(double capacity = 1e6, std::size_t max_jobs = 10) {
  return {capacity, max_jobs, Duration::zero(), 0};
}

TEST(ProcessorSharing, OneJobCompletesAtSizeOverCapacity) {
  ProcessorSharing ps(no_cookies(), t0);
  EXPECT_FALSE(ps.next_event(t0));
  ASSERT_EQ(ps.admit(1, 5'000'000, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.next_event(t0), t0 + 5s);
  EXPECT_TRUE(ps.advance(t0 + 5s - 1ns).empty());
  EXPECT_EQ(ps.job(1)->completed, 4'999'999u);
  const Events e = ps.advance(t0 + 5s);
  ASSERT_EQ(e.completed.size(), 1u);
  EXPECT_EQ(e.completed[0], (JobState{1, 5'000'000, 5'000'000}));
  EXPECT_TRUE(e.cookies.empty());
  EXPECT_EQ(ps.jobs(), 0u);
  EXPECT_FALSE(ps.next_event(t0 + 5s));
}

TEST(ProcessorSharing, TwoEqualJobsCompleteTogetherAtTwiceSizeOverCapacity) {
  ProcessorSharing ps(no_cookies(), t0);
  ASSERT_EQ(ps.admit(1, 5'000'000, 0, t0), Admission::accepted);
  ASSERT_EQ(ps.admit(2, 5'000'000, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.next_event(t0), t0 + 10s);
  EXPECT_TRUE(ps.advance(t0 + 10s - 1ns).empty());
  const Events e = ps.advance(t0 + 10s);
  ASSERT_EQ(e.completed.size(), 2u);
  EXPECT_EQ(e.completed[0].key, 1u);
  EXPECT_EQ(e.completed[1].key, 2u);
}

// A (4e6) at 0 s alone for 1 s: 1e6 done. B (2e6) at 1 s: both at 0.5e6/s, B done after
// 4 s (5 s), A then at 3e6, alone again: done at 6 s.
TEST(ProcessorSharing, UnequalJobsAdmittedAtDifferentTimes) {
  ProcessorSharing ps(no_cookies(), t0);
  ASSERT_EQ(ps.admit(1, 4'000'000, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.next_event(t0), t0 + 4s);
  EXPECT_TRUE(ps.advance(t0 + 1s).empty());
  ASSERT_EQ(ps.admit(2, 2'000'000, 0, t0 + 1s), Admission::accepted);
  EXPECT_EQ(ps.job(1)->completed, 1'000'000u);
  EXPECT_EQ(ps.next_event(t0 + 1s), t0 + 5s);
  EXPECT_TRUE(ps.advance(t0 + 3s).empty());
  EXPECT_EQ(ps.job(1)->completed, 2'000'000u);
  EXPECT_EQ(ps.job(2)->completed, 1'000'000u);
  Events e = ps.advance(t0 + 5s);
  ASSERT_EQ(e.completed.size(), 1u);
  EXPECT_EQ(e.completed[0], (JobState{2, 2'000'000, 2'000'000}));
  EXPECT_EQ(ps.job(1)->completed, 3'000'000u);
  EXPECT_EQ(ps.next_event(t0 + 5s), t0 + 6s);
  e = ps.advance(t0 + 6s);
  ASSERT_EQ(e.completed.size(), 1u);
  EXPECT_EQ(e.completed[0].key, 1u);
}

TEST(ProcessorSharing, LateAdvanceReportsCompletionsInOrder) {
  ProcessorSharing ps(no_cookies(), t0);
  ps.admit(1, 4'000'000, 0, t0);
  ps.admit(2, 2'000'000, 0, t0 + 1s);  // admit catches up internally
  const Events e = ps.advance(t0 + 100s);
  ASSERT_EQ(e.completed.size(), 2u);
  EXPECT_EQ(e.completed[0].key, 2u);
  EXPECT_EQ(e.completed[1].key, 1u);
}

TEST(ProcessorSharing, NonWholeNanosecondsRoundUp) {
  ProcessorSharing ps(no_cookies(3.0), t0);  // 3 calculations/s
  ps.admit(1, 1, 0, t0);
  ps.admit(2, 1, 0, t0);
  EXPECT_EQ(ps.next_event(t0), t0 + 666'666'667ns);  // 2/3 s
  EXPECT_TRUE(ps.advance(t0 + 666'666'666ns).empty());
  EXPECT_EQ(ps.advance(t0 + 666'666'667ns).completed.size(), 2u);
}

TEST(ProcessorSharing, ResumedJobsAndJobsWithNothingLeft) {
  ProcessorSharing ps(no_cookies(), t0);
  ASSERT_EQ(ps.admit(1, 5'000'000, 2'000'000, t0), Admission::accepted);
  EXPECT_EQ(ps.job(1)->completed, 2'000'000u);
  EXPECT_EQ(ps.next_event(t0), t0 + 3s);
  ASSERT_EQ(ps.admit(2, 7, 7, t0), Admission::accepted);
  ASSERT_EQ(ps.admit(3, 0, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.next_event(t0), t0);
  const Events e = ps.advance(t0);
  ASSERT_EQ(e.completed.size(), 2u);
  EXPECT_EQ(e.completed[0], (JobState{2, 7, 7}));
  EXPECT_EQ(e.completed[1], (JobState{3, 0, 0}));
  EXPECT_EQ(ps.next_event(t0), t0 + 3s);
}

TEST(ProcessorSharing, AdmissionLimitsAndLoad) {
  ProcessorSharing ps(no_cookies(1e6, 2), t0);
  EXPECT_EQ(ps.load(), 0u);
  EXPECT_EQ(ps.admit(1, 1'000'000, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.load(), 0x7fffffffu);
  EXPECT_EQ(ps.admit(1, 1'000'000, 0, t0), Admission::duplicate);
  EXPECT_EQ(ps.admit(2, 10, 11, t0), Admission::invalid);
  EXPECT_EQ(ps.admit(2, 1'000'000, 0, t0), Admission::accepted);
  EXPECT_EQ(ps.load(), wire::kFractionOne);
  EXPECT_EQ(ps.admit(3, 1'000'000, 0, t0), Admission::full);
  EXPECT_EQ(ps.jobs(), 2u);
  ps.advance(t0 + 2s);  // both done: room again
  EXPECT_EQ(ps.load(), 0u);
  EXPECT_EQ(ps.admit(3, 1'000'000, 0, t0 + 2s), Admission::accepted);

  ProcessorSharing ten(no_cookies(1e6, 10), t0);
  for (JobKey k = 0; k < 3; ++k) ten.admit(k, 1'000'000, 0, t0);
  EXPECT_EQ(ten.load(), 1'288'490'188u);  // floor(3 · (2^32 - 1) / 10)
}

TEST(ProcessorSharing, RemoveSpeedsUpTheOthers) {
  ProcessorSharing ps(no_cookies(), t0);
  ps.admit(1, 4'000'000, 0, t0);
  ps.admit(2, 4'000'000, 0, t0);
  EXPECT_EQ(ps.remove(2, t0 + 2s), (JobState{2, 4'000'000, 1'000'000}));
  EXPECT_FALSE(ps.remove(2, t0 + 2s));
  EXPECT_FALSE(ps.remove(99, t0 + 2s));
  EXPECT_EQ(ps.next_event(t0 + 2s), t0 + 5s);  // 3e6 left, alone
  EXPECT_EQ(ps.advance(t0 + 5s).completed.size(), 1u);
}

struct Seen {
  Duration at;
  JobState state;
  bool operator==(const Seen&) const = default;
};

// Drives the model the way the shell does: advance at every next_event.
std::vector<Seen> run_cookies(ProcessorSharing& ps, TimePoint until,
                              std::vector<JobState>* completed = nullptr) {
  std::vector<Seen> seen;
  TimePoint now = t0;
  while (auto next = ps.next_event(now)) {
    if (*next > until) break;
    now = *next;
    const Events e = ps.advance(now);
    for (const auto& c : e.cookies) seen.push_back({now - t0, c});
    if (completed) completed->insert(completed->end(), e.completed.begin(), e.completed.end());
  }
  return seen;
}

TEST(ProcessorSharing, CookiesByTime) {
  ProcessorSharing ps({1e6, 10, 5s, 0}, t0);
  ps.admit(1, 100'000'000, 0, t0);
  std::vector<JobState> done;
  const auto seen = run_cookies(ps, t0 + 1000s, &done);
  ASSERT_EQ(seen.size(), 19u);  // 5 s … 95 s; at 100 s it completes instead
  for (std::size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], (Seen{5s * (i + 1), {1, 100'000'000, 5'000'000 * (i + 1)}})) << i;
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].key, 1u);
}

TEST(ProcessorSharing, CookiesByCalculations) {
  ProcessorSharing ps({1e6, 10, Duration::zero(), 2e6}, t0);
  ps.admit(1, 10'000'000, 0, t0);
  ps.admit(2, 10'000'000, 0, t0);  // each at 0.5e6/s: 2e6 every 4 s
  std::vector<JobState> done;
  const auto seen = run_cookies(ps, t0 + 1000s, &done);
  ASSERT_EQ(seen.size(), 8u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const std::uint64_t k = i / 2 + 1;
    EXPECT_EQ(seen[i], (Seen{4s * k, {i % 2 + 1, 10'000'000, 2'000'000 * k}})) << i;
  }
  EXPECT_EQ(done.size(), 2u);
}

// T = 5 s, X = 3e6. A alone at 1e6/s: X first (3 s). B joins at 3.5 s, both at 0.5e6/s:
// A's next by time 8 s (by calculations 8.5 s), B's by time 8.5 s (by calculations 9.5 s).
TEST(ProcessorSharing, CookiesWhicheverComesFirst) {
  ProcessorSharing ps({1e6, 10, 5s, 3e6}, t0);
  ps.admit(1, 100'000'000, 0, t0);
  auto seen = run_cookies(ps, t0 + 3500ms);
  ps.admit(2, 100'000'000, 0, t0 + 3500ms);
  const auto more = run_cookies(ps, t0 + 8500ms);
  seen.insert(seen.end(), more.begin(), more.end());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (Seen{3s, {1, 100'000'000, 3'000'000}}));
  EXPECT_EQ(seen[1], (Seen{8s, {1, 100'000'000, 5'750'000}}));
  EXPECT_EQ(seen[2], (Seen{8500ms, {2, 100'000'000, 2'500'000}}));
}

TEST(ProcessorSharing, Utilization) {
  ProcessorSharing ps(no_cookies(), t0);
  ps.admit(1, 2'000'000, 0, t0);
  Usage u = ps.take_usage(t0 + 4s);
  EXPECT_DOUBLE_EQ(u.calculations, 2e6);
  EXPECT_DOUBLE_EQ(u.offered, 4e6);
  EXPECT_DOUBLE_EQ(u.utilization(), 0.5);
  EXPECT_EQ(ps.advance(t0 + 4s).completed.size(), 1u);  // take_usage kept the completion
  u = ps.take_usage(t0 + 6s);
  EXPECT_EQ(u.calculations, 0);
  EXPECT_DOUBLE_EQ(u.offered, 2e6);
  ps.admit(2, 10'000'000, 0, t0 + 6s);
  ps.admit(3, 10'000'000, 0, t0 + 6s);
  u = ps.take_usage(t0 + 7s);
  EXPECT_DOUBLE_EQ(u.utilization(), 1.0);
  EXPECT_DOUBLE_EQ(ps.calculations_done(), 3e6);
  EXPECT_EQ(Usage{}.utilization(), 0);
}

// Work conservation: while the server is never idle, the last job completes at
// t0 + Σ sizes / C (each event may round up by at most 1 ns), and the reported
// completions account for every calculation, over random sizes and admission times.
TEST(ProcessorSharing, WorkConservedOverRandomJobs) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    handlespace::Rng rng(seed);
    ProcessorSharing ps({1e6, 50, 700ms, 1.3e6}, t0);
    ps.admit(0, 2'000'000 + rng.below(1'000'000), 0, t0);
    double total = 0;
    std::size_t events = 0, completed = 0;
    TimePoint now = t0;
    total += static_cast<double>(ps.job(0)->size);
    for (JobKey k = 1; k < 40; ++k) {
      now += Duration(rng.below(50'000'000));  // 0–50 ms apart: never idle
      const Events e = ps.advance(now);
      events += e.completed.size() + e.cookies.size();
      completed += e.completed.size();
      const std::uint64_t size = 1 + rng.below(3'000'000);
      ASSERT_EQ(ps.admit(k, size, 0, now), Admission::accepted);
      total += static_cast<double>(size);
    }
    std::vector<JobState> done;
    TimePoint last = now;
    while (auto next = ps.next_event(now)) {
      now = *next;
      const Events e = ps.advance(now);
      events += e.completed.size() + e.cookies.size();
      for (const auto& c : e.completed) EXPECT_EQ(c.completed, c.size);
      completed += e.completed.size();
      if (!e.completed.empty()) last = now;
    }
    EXPECT_EQ(completed, 40u);
    const auto ideal = t0 + Duration(static_cast<Duration::rep>(total * 1e3));  // total/C s
    EXPECT_GE(last, ideal) << seed;
    EXPECT_LE(last - ideal, Duration(static_cast<Duration::rep>(events) + 1)) << seed;
    EXPECT_NEAR(ps.calculations_done(), total, 1e-3) << seed;
  }
}

}  // namespace
}  // namespace rserpool::calcapp
