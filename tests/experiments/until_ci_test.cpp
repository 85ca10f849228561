// `rsplab run --until-ci`: the decision per sweep point from hand-built estimates (narrow:
// done; wide: one more; wide at the cap: stopped without the target; a metric without values:
// stopped), the rounds' plans (the first round's repetitions, then one repetition of the points
// still too wide, with the keys of the plan to the cap), the options' checks and what the
// verdict says. The rounds against real runs: tests/integration/run_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/until_ci.hpp"
#include "runner_support.hpp"

namespace rsplab::experiments {
namespace {

using results::Estimate;
using ExpRun = experiments::Run;  // inside a TEST, Run names testing::Test::Run

// An estimate with `n` values around `mean` whose 95 % half-width is `half_width`.
Estimate est(std::int64_t n, double mean, std::optional<double> half_width) {
  Estimate e;
  e.n = n;
  e.mean = mean;
  e.half_width = half_width;
  return e;
}

const std::vector<std::string> kMetrics = {"handling_speed", "utilization"};

TEST(UntilCiDecide, EveryIntervalWithinThePercentIsDone) {
  // 5 % of 1000 is 50; of 0.8 it is 0.04. At the limit counts as within.
  EXPECT_EQ(decide({{"handling_speed", est(3, 1000, 49)}, {"utilization", est(3, 0.8, 0.03)}},
                   kMetrics, 5, 3, 20),
            Verdict::reached);
  EXPECT_EQ(decide({{"handling_speed", est(3, 1000, 50)}, {"utilization", est(3, 0.8, 0.04)}},
                   kMetrics, 5, 3, 20),
            Verdict::reached);
  // A negative mean: against its absolute value.
  EXPECT_EQ(decide({{"handling_speed", est(2, -1000, 40)}, {"utilization", est(2, 0.8, 0.01)}},
                   kMetrics, 5, 2, 20),
            Verdict::reached);
  // Zero everywhere (no failovers in any run): an interval of width 0, within any target.
  EXPECT_EQ(decide({{"failovers", est(4, 0, 0)}}, {"failovers"}, 1, 4, 20), Verdict::reached);
}

TEST(UntilCiDecide, OneWideIntervalAsksForMoreUntilTheCap) {
  const std::map<std::string, Estimate> wide = {{"handling_speed", est(3, 1000, 51)},
                                                {"utilization", est(3, 0.8, 0.01)}};
  EXPECT_EQ(decide(wide, kMetrics, 5, 3, 20), Verdict::more);
  EXPECT_EQ(decide(wide, kMetrics, 5, 19, 20), Verdict::more);
  EXPECT_EQ(decide(wide, kMetrics, 5, 20, 20), Verdict::cap);
  // Only the compared metrics count: utilization alone is narrow.
  EXPECT_EQ(decide(wide, {"utilization"}, 5, 3, 20), Verdict::reached);
  // One value of a metric (the other runs had none): no interval yet, so more.
  EXPECT_EQ(decide({{"handling_speed", est(1, 1000, std::nullopt)},
                    {"utilization", est(3, 0.8, 0.01)}},
                   kMetrics, 5, 3, 20),
            Verdict::more);
}

TEST(UntilCiDecide, AMetricWithoutValuesStopsThePoint) {
  // No completed jobs in any run: no handling speed, however many repetitions follow.
  EXPECT_EQ(decide({{"handling_speed", est(0, 0, std::nullopt)},
                    {"utilization", est(2, 0.8, 0.5)}},
                   kMetrics, 5, 2, 20),
            Verdict::no_value);
  EXPECT_EQ(decide({{"utilization", est(2, 0.8, 0.01)}}, kMetrics, 5, 2, 20), Verdict::no_value);
}

// Two sweep points (policies), the file's 1 repetition, the plan to a cap of 4.
const std::string kFile =
    testing::Fixture{.name = "t",
                     .duration = "2s",
                     .warmup = "",
                     .seed = "9",
                     .transport = "",
                     .policy = "$policy",
                     .pus = {"{ site: a, count: 1, job-size: exp:1e6, interval: exp:1s }"},
                     .sweep = {"policy: [rr, lu]"}}
        .yaml();

TEST(UntilCiRounds, FirstRoundThenOneRepetitionOfThePointsStillWide) {
  const Plan file = parse_plan(kFile, "t.yaml", "0.1.0");
  const Plan full = parse_plan(kFile, "t.yaml", "0.1.0", 4);
  ASSERT_EQ(file.repetitions, 1u);
  const std::size_t first = first_round(file.repetitions);
  EXPECT_EQ(first, 2u);  // an interval needs two values
  EXPECT_EQ(first_round(3), 3u);

  std::vector<Group> groups = make_groups(full, first);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].label, "policy=rr");
  EXPECT_EQ(groups[1].label, "policy=lu");

  // Round 1: repetitions 0 and 1 of both points, indexed 0..3 for the runner; each keeps
  // its key, seed and index in the plan to the cap (point × 4 + repetition).
  const Plan one = round_plan(full, groups);
  ASSERT_EQ(one.runs.size(), 4u);
  const std::vector<std::pair<std::size_t, std::size_t>> want = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (std::size_t i = 0; i < 4; ++i) {
    const ExpRun& r = one.runs[i];
    EXPECT_EQ(r.index, i);
    EXPECT_EQ(std::make_pair(r.point, r.repetition), want[i]);
    EXPECT_EQ(r.stored_index, r.point * 4 + r.repetition);
    EXPECT_EQ(r.key, full.runs[r.point * 4 + r.repetition].key);
    EXPECT_EQ(r.seed, full.runs[r.repetition].seed);  // common random numbers
  }
  // The file's own run (repetition 0) is the first round's: the same key.
  EXPECT_EQ(one.runs[0].key, file.runs[0].key);
  EXPECT_EQ(one.runs[2].key, file.runs[1].key);
  // Asked again without a decision: nothing new.
  EXPECT_TRUE(round_plan(full, groups).runs.empty());

  // rr reached its target; lu wants one more: round 2 is lu's repetition 2 alone.
  groups[0].verdict = Verdict::reached;
  groups[1].target = 3;
  const Plan two = round_plan(full, groups);
  ASSERT_EQ(two.runs.size(), 1u);
  EXPECT_EQ(two.runs[0].index, 0u);
  EXPECT_EQ(two.runs[0].point, 1u);
  EXPECT_EQ(two.runs[0].repetition, 2u);
  EXPECT_EQ(two.runs[0].key, full.runs[6].key);
  EXPECT_EQ(two.runs[0].stored_index, 6u);

  // Everything asked for: 2 of rr, 3 of lu (the closing table's runs).
  const Plan asked = asked_plan(full, groups);
  ASSERT_EQ(asked.runs.size(), 5u);
  for (const ExpRun& r : asked.runs) EXPECT_LT(r.repetition, r.point == 0 ? 2u : 3u);

  // lu at the cap: no more rounds.
  groups[1].verdict = Verdict::cap;
  EXPECT_TRUE(round_plan(full, groups).runs.empty());
}

TEST(UntilCiOptions, ChecksPercentCapAndMetrics) {
  UntilCiOptions o;
  o.percent = 5;
  EXPECT_EQ(check_until_ci(o, 3), "");
  o.percent = 0;
  EXPECT_NE(check_until_ci(o, 3).find("above 0"), std::string::npos);
  o.percent = 5;
  o.max_repetitions = 3;
  EXPECT_NE(check_until_ci(o, 3).find("more than the first round's 3"), std::string::npos);
  o.max_repetitions = 2;
  EXPECT_NE(check_until_ci(o, 1).find("the file says 1"), std::string::npos);
  o.max_repetitions = 3;
  EXPECT_EQ(check_until_ci(o, 1), "");
  o.metrics = {"handling_speed", "speed"};
  const std::string e = check_until_ci(o, 1);
  EXPECT_NE(e.find("unknown metric 'speed'"), std::string::npos) << e;
  EXPECT_NE(e.find("utilization"), std::string::npos) << e;  // says what exists
  o.metrics = {"utilization", "utilization"};
  EXPECT_NE(check_until_ci(o, 1).find("twice"), std::string::npos);
}

TEST(UntilCiVerdict, SaysWhichPointsMetTheTargetAndWhichStoppedWithout) {
  UntilCiOptions o;
  o.percent = 5;
  o.max_repetitions = 4;
  std::vector<Group> groups(3);
  groups[0].label = "policy=rr";
  groups[0].verdict = Verdict::reached;
  groups[0].completed = 3;
  groups[0].estimates = {{"handling_speed", est(3, 1000, 31.2)}, {"utilization", est(3, 0.5, 0.01)}};
  groups[1].label = "policy=lu";
  groups[1].verdict = Verdict::cap;
  groups[1].completed = 4;
  groups[1].estimates = {{"handling_speed", est(4, 1000, 62.5)}, {"utilization", est(3, 0.5, 0.01)}};
  groups[2].label = "policy=rand";
  groups[2].verdict = Verdict::no_value;
  groups[2].completed = 2;
  groups[2].estimates = {{"handling_speed", est(0, 0, std::nullopt)},
                         {"utilization", est(2, 0.5, 0.01)}};
  const std::string text = verdict_text(groups, o);
  EXPECT_NE(text.find("policy=rr: target reached (n = 3): handling_speed ±3.12 %, utilization "
                      "±2.00 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("policy=lu: cap reached, target NOT met (n = 4): handling_speed ±6.25 %, "
                      "utilization ±2.00 % (n = 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("policy=rand: stopped, a metric has no value: target NOT met (n = 2): "
                      "handling_speed no value"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 of 3 sweep point(s) reached the target; 1 stopped at the cap without "
                      "it; 1 stopped for a metric without values"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace rsplab::experiments
