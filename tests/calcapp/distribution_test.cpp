// The distributions of the value grammar (stack/common/values): parsing, one error text
// per mistake, to_string round trips, and sampling statistics over 10^5 seeded draws
// (each within 6σ of its expectation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "stack/common/values.hpp"
#include "stack/handlespace/rng.hpp"

namespace rserpool::values {
namespace {

using Kind = Distribution::Kind;
constexpr auto amount = ValueKind::amount;
constexpr auto duration = ValueKind::duration;

std::string error_of(std::string_view text, ValueKind kind) {
  std::string error;
  EXPECT_FALSE(parse_distribution(text, kind, &error)) << text;
  return error;
}

TEST(Distribution, ParsesEveryKind) {
  EXPECT_EQ(parse_distribution("exp:4s", duration, nullptr),
            (Distribution{Kind::exponential, duration, 4, 0}));
  EXPECT_EQ(parse_distribution("uniform:100ms,2s", duration, nullptr),
            (Distribution{Kind::uniform, duration, 0.1, 2}));
  EXPECT_EQ(parse_distribution("uniform:0ms,200ms", duration, nullptr),
            (Distribution{Kind::uniform, duration, 0, 0.2}));
  EXPECT_EQ(parse_distribution("fixed:5M", amount, nullptr),
            (Distribution{Kind::fixed, amount, 5e6, 0}));
  EXPECT_EQ(parse_distribution("normal:1e7,2e6", amount, nullptr),
            (Distribution{Kind::normal, amount, 1e7, 2e6}));
  EXPECT_EQ(parse_distribution("exp:250k", amount, nullptr),
            (Distribution{Kind::exponential, amount, 2.5e5, 0}));
  EXPECT_EQ(parse_distribution("exp:2min", duration, nullptr)->a, 120);
  EXPECT_EQ(parse_distribution("fixed:0", amount, nullptr)->a, 0);
  EXPECT_EQ(parse_distribution("uniform:1s,1s", duration, nullptr)->b, 1);
}

TEST(Distribution, ToStringRoundTrips) {
  EXPECT_EQ(to_string(*parse_distribution("exp:4s", duration, nullptr)), "exp:4s");
  EXPECT_EQ(to_string(*parse_distribution("uniform:100ms,2s", duration, nullptr)),
            "uniform:100ms,2s");
  EXPECT_EQ(to_string(*parse_distribution("normal:1.5s,250ms", duration, nullptr)),
            "normal:1500ms,250ms");
  EXPECT_EQ(to_string(*parse_distribution("fixed:5M", amount, nullptr)), "fixed:5e+06");
  EXPECT_EQ(to_string(*parse_distribution("exp:1234567", amount, nullptr)), "exp:1234567");
  for (std::string_view text : {"exp:4s", "uniform:1ns,3min", "fixed:0s", "normal:5s,1s"}) {
    const auto d = parse_distribution(text, duration, nullptr);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(parse_distribution(to_string(*d), duration, nullptr), d) << text;
  }
  for (std::string_view text : {"exp:5M", "uniform:1e6,1e7", "fixed:0.125", "normal:1e7,3.3e6"}) {
    const auto d = parse_distribution(text, amount, nullptr);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(parse_distribution(to_string(*d), amount, nullptr), d) << text;
  }
}

TEST(Distribution, OneErrorTextPerMistake) {
  const std::string dur = " (write e.g. exp:4s, uniform:100ms,2s, fixed:1s, normal:5s,1s)";
  const std::string amt = " (write e.g. exp:5M, uniform:1e6,1e7, fixed:1e6, normal:5M,1M)";
  EXPECT_EQ(error_of("exp:", duration),
            "'exp:' is not a distribution: exp needs a value, exp:MEAN" + dur);
  EXPECT_EQ(error_of("uniform:", amount),
            "'uniform:' is not a distribution: uniform needs two values, uniform:MIN,MAX" + amt);
  EXPECT_EQ(error_of("4s", duration),
            "'4s' is not a distribution: no kind (exp:, uniform:, fixed:, normal:)" + dur);
  EXPECT_EQ(error_of("gamma:1,2", amount),
            "'gamma:1,2' is not a distribution: unknown kind 'gamma' (exp, uniform, fixed, "
            "normal)" + amt);
  EXPECT_EQ(error_of("Exp:4s", duration).substr(0, 47),
            "'Exp:4s' is not a distribution: unknown kind 'E");
  EXPECT_EQ(error_of("uniform:1s", duration),
            "'uniform:1s' is not a distribution: uniform takes two values, not 1, "
            "uniform:MIN,MAX" + dur);
  EXPECT_EQ(error_of("exp:1s,2s", duration),
            "'exp:1s,2s' is not a distribution: exp takes one value, not 2, exp:MEAN" + dur);
  EXPECT_EQ(error_of("normal:1,2,3", amount),
            "'normal:1,2,3' is not a distribution: normal takes two values, not 3, "
            "normal:MEAN,SD" + amt);
  EXPECT_EQ(error_of("exp:4", duration),
            "'exp:4' is not a distribution: the mean '4': a unit is needed" + dur);
  EXPECT_EQ(error_of("exp:4s", amount),
            "'exp:4s' is not a distribution: the mean '4s': unknown suffix 's' (k, M, G)" + amt);
  EXPECT_EQ(error_of("exp:4y", duration),
            "'exp:4y' is not a distribution: the mean '4y': unknown unit 'y' (ns, us, ms, s, "
            "min, h)" + dur);
  EXPECT_EQ(error_of("normal:5M,x", amount),
            "'normal:5M,x' is not a distribution: the standard deviation 'x': no number" + amt);
  EXPECT_EQ(error_of("fixed:-1", amount),
            "'fixed:-1' is not a distribution: the value '-1': negative" + amt);
  EXPECT_EQ(error_of("uniform:-1s,1s", duration),
            "'uniform:-1s,1s' is not a distribution: the minimum '-1s': negative" + dur);
  EXPECT_EQ(error_of("uniform:2s,1s", duration),
            "'uniform:2s,1s' is not a distribution: the minimum is above the maximum" + dur);
  EXPECT_EQ(error_of("exp:0s", duration),
            "'exp:0s' is not a distribution: the mean must be above 0" + dur);
  EXPECT_EQ(error_of("exp: 4s", duration),
            "'exp: 4s' is not a distribution: the mean ' 4s': no number" + dur);
  EXPECT_EQ(error_of("exp:inf", amount),
            "'exp:inf' is not a distribution: the mean 'inf': no number" + amt);
  EXPECT_EQ(error_of("exp:1e308G", amount),
            "'exp:1e308G' is not a distribution: the mean '1e308G': too large" + amt);
  EXPECT_EQ(error_of("", amount).substr(0, 34), "'' is not a distribution: no kind ");
  EXPECT_FALSE(parse_distribution("exp:", duration, nullptr));  // no error text wanted
}

TEST(Distribution, Means) {
  const auto d = [](std::string_view t) { return *parse_distribution(t, amount, nullptr); };
  EXPECT_EQ(mean(d("exp:5M")), 5e6);
  EXPECT_EQ(mean(d("uniform:1,3")), 2);
  EXPECT_EQ(mean(d("fixed:7")), 7);
  EXPECT_EQ(mean(d("normal:7,0")), 7);
  EXPECT_NEAR(mean(d("normal:100,10")), 100, 1e-12);
  // Truncated at 0: μ + σ·φ(1)/Φ(1) = 1 + 0.2419707245/0.8413447461.
  EXPECT_NEAR(mean(d("normal:1,1")), 1.2875999709, 1e-9);
}

constexpr int kDraws = 100'000;

struct Stats {
  double mean = 0, sd = 0, min = 1e300, max = -1e300;
};
Stats draw(const Distribution& d, std::uint64_t seed) {
  handlespace::Rng rng(seed);
  double sum = 0, sq = 0;
  Stats s;
  for (int i = 0; i < kDraws; ++i) {
    const double x = sample(d, rng);
    sum += x;
    sq += x * x;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  s.mean = sum / kDraws;
  s.sd = std::sqrt(sq / kDraws - s.mean * s.mean);
  return s;
}

TEST(Distribution, SamplingStatistics) {
  const double root = std::sqrt(static_cast<double>(kDraws));
  const auto exp = *parse_distribution("exp:4s", duration, nullptr);
  Stats s = draw(exp, 1);
  EXPECT_NEAR(s.mean, 4.0, 6 * 4.0 / root);
  // An exponential's sample SD has SD ≈ σ·√((μ4/σ^4 - 1)/4n) = σ·√2/√n (μ4 = 9σ^4).
  EXPECT_NEAR(s.sd, 4.0, 6 * 4.0 * std::sqrt(2.0) / root);
  EXPECT_GE(s.min, 0);

  const auto uni = *parse_distribution("uniform:100ms,2s", duration, nullptr);
  s = draw(uni, 2);
  const double usd = 1.9 / std::sqrt(12.0);
  EXPECT_NEAR(s.mean, 1.05, 6 * usd / root);
  EXPECT_GE(s.min, 0.1);
  EXPECT_LT(s.max, 2.0);
  EXPECT_LT(s.min, 0.1 + 1.9 * 1e-3);  // both ends reached
  EXPECT_GT(s.max, 2.0 - 1.9 * 1e-3);

  s = draw(*parse_distribution("fixed:5M", amount, nullptr), 3);
  EXPECT_EQ(s.min, 5e6);
  EXPECT_EQ(s.max, 5e6);

  const auto norm = *parse_distribution("normal:1e7,2e6", amount, nullptr);
  s = draw(norm, 4);
  EXPECT_NEAR(s.mean, 1e7, 6 * 2e6 / root);
  EXPECT_NEAR(s.sd, 2e6, 6 * 2e6 / std::sqrt(2.0 * kDraws));
  EXPECT_GE(s.min, 0);

  const auto cut = *parse_distribution("normal:1,1", amount, nullptr);
  s = draw(cut, 5);
  EXPECT_GE(s.min, 0);  // truncated at 0
  EXPECT_NEAR(s.mean, mean(cut), 6 * 1.0 / root);
}

TEST(Distribution, SampleDurationAndDeterminism) {
  const auto exp = *parse_distribution("exp:4s", duration, nullptr);
  handlespace::Rng a(9), b(9), c(10);
  double sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    const Duration x = sample_duration(exp, a);
    ASSERT_EQ(x, sample_duration(exp, b));
    ASSERT_GE(x.count(), 0);
    sum += static_cast<double>(x.count());
  }
  EXPECT_NEAR(sum / kDraws, 4e9, 6 * 4e9 / std::sqrt(static_cast<double>(kDraws)));
  handlespace::Rng d(9);
  EXPECT_NE(sample(exp, d), sample(exp, c));
  handlespace::Rng e(1);
  EXPECT_EQ(sample_duration(*parse_distribution("fixed:250ms", duration, nullptr), e),
            std::chrono::milliseconds(250));
}

}  // namespace
}  // namespace rserpool::values
