// The interval every report shows: Student t quantiles against a printed t table, and a
// sample's mean, standard deviation and 95 % half-width computed again here by hand.
#include "results/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace rsplab::results {
namespace {

TEST(TQuantile, MatchesThePrintedTable) {
  // Two-sided 95 % (p = 0.975) and 90 % (p = 0.95) critical values, 4 decimals.
  const struct {
    std::int64_t df;
    double t975, t95;
  } table[] = {{1, 12.7062, 6.3138}, {2, 4.3027, 2.9200}, {3, 3.1824, 2.3534},
               {4, 2.7764, 2.1318},  {9, 2.2622, 1.8331}, {29, 2.0452, 1.6991},
               {100, 1.9840, 1.6602}, {100000, 1.9600, 1.6449}};
  for (const auto& row : table) {
    EXPECT_NEAR(t_quantile(0.975, row.df), row.t975, 5e-5) << "df " << row.df;
    EXPECT_NEAR(t_quantile(0.95, row.df), row.t95, 5e-5) << "df " << row.df;
    EXPECT_NEAR(t_quantile(0.025, row.df), -row.t975, 5e-5) << "df " << row.df;
  }
  EXPECT_NEAR(t_quantile(0.5, 7), 0.0, 1e-9);
  EXPECT_THROW(t_quantile(0.975, 0), std::invalid_argument);
  EXPECT_THROW(t_quantile(1.0, 3), std::invalid_argument);
}

TEST(Estimate, MeanAndIntervalOfFiveRepetitions) {
  const Estimate e = estimate({10, 12, 11, 13, 9});
  // By hand: mean 11; squares 1+1+0+4+4 = 10; sd = √(10/4); half = 2.7764 · sd / √5.
  ASSERT_EQ(e.n, 5);
  EXPECT_DOUBLE_EQ(*e.mean, 11.0);
  EXPECT_NEAR(*e.sd, std::sqrt(2.5), 1e-12);
  EXPECT_NEAR(*e.half_width, 2.7764451 * std::sqrt(2.5) / std::sqrt(5.0), 1e-6);
  EXPECT_NEAR(*e.low(), 11.0 - *e.half_width, 1e-12);
  EXPECT_NEAR(*e.high(), 11.0 + *e.half_width, 1e-12);
  EXPECT_NEAR(*e.relative_half_width(), *e.half_width / 11.0, 1e-12);
  EXPECT_DOUBLE_EQ(*e.min, 9.0);
  EXPECT_DOUBLE_EQ(*e.max, 13.0);
}

TEST(Estimate, OneValueHasNoIntervalAndNoneHasNoMean) {
  const Estimate one = estimate({42});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(*one.mean, 42.0);
  EXPECT_FALSE(one.half_width);
  EXPECT_FALSE(one.sd);
  EXPECT_FALSE(one.low());
  EXPECT_FALSE(one.relative_half_width());

  const Estimate none = estimate({});
  EXPECT_EQ(none.n, 0);
  EXPECT_FALSE(none.mean);
  EXPECT_FALSE(none.min);
}

TEST(Estimate, EqualValuesHaveAZeroWidthInterval) {
  const Estimate e = estimate({3, 3, 3});
  EXPECT_DOUBLE_EQ(*e.half_width, 0.0);
  EXPECT_DOUBLE_EQ(*e.relative_half_width(), 0.0);
}

}  // namespace
}  // namespace rsplab::results
