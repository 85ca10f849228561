// A campaign's status and `rsplab run`'s exit code from its runs' outcomes
// (experiments/outcome.hpp): an interrupt outranks a failure, a failure a completion, and the
// exit code is 0, 1 or 130 by that status alone.
#include <gtest/gtest.h>

#include "experiments/outcome.hpp"

namespace rsplab::experiments {
namespace {

constexpr RunStatus kCompleted = RunStatus::completed;
constexpr RunStatus kInterrupted = RunStatus::interrupted;
constexpr RunStatus kFailed = RunStatus::failed;

TEST(Outcome, ExitCodesAreZeroOneAnd130) {
  EXPECT_EQ(exit_code(kCompleted), 0);
  EXPECT_EQ(exit_code(kFailed), 1);
  EXPECT_EQ(exit_code(kInterrupted), 130);
}

TEST(Outcome, InterruptedOutranksFailedOutranksCompletedInAnyOrder) {
  for (const RunStatus a : results::kRunStatuses)
    for (const RunStatus b : results::kRunStatuses) {
      EXPECT_EQ(worst(a, b), worst(b, a));
      EXPECT_EQ(worst(a, a), a);
    }
  EXPECT_EQ(worst(kCompleted, kFailed), kFailed);
  EXPECT_EQ(worst(kFailed, kInterrupted), kInterrupted);
  EXPECT_EQ(worst(kCompleted, kInterrupted), kInterrupted);
  // A campaign whose second run failed and whose third was interrupted: 130.
  RunStatus campaign = kCompleted;
  for (const RunStatus run : {kCompleted, kFailed, kInterrupted}) campaign = worst(campaign, run);
  EXPECT_EQ(exit_code(campaign), 130);
}

TEST(Outcome, AnOutcomeStartsCompletedWithoutAReason) {
  const Outcome o;
  EXPECT_EQ(o.status, kCompleted);
  EXPECT_EQ(o.reason, "");
}

}  // namespace
}  // namespace rsplab::experiments
