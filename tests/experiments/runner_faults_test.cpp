// The runner's faults with simulated time and in-process agents (runner_support.hpp): the
// schedule (undo after `for`, time order), each fault applied at its scheduled time on the
// run's clock, in order, on the members it names, and its row in the faults table.
#include <gtest/gtest.h>

#include "experiments/fault_injection.hpp"
#include "runner_support.hpp"

namespace rsplab::experiments::testing {
namespace {

const std::string kFaults =
    Fixture{.name = "faults",
            .pes = {"{ site: a, count: 3, capacity: 1e6 }"},
            .faults = {"{ at: 5s, kill: { group: P/pe0, member: [1] } }",
                       "{ at: 8s, stop: { pool: P, select: busiest }, for: 2s }",
                       "{ at: 3s, link-down: { site: a, isp: x }, for: 1500ms }",
                       "{ at: 12s, kill: { registrar: pr0 } }"}}
        .yaml();

struct Row {
  std::string kind, target;
  std::int64_t at_us;
  json details;
};

std::vector<Row> fault_rows(Harness& h) {
  h.store.flush();
  std::vector<Row> rows;
  for (const auto& v : h.store.select(
           "SELECT kind, target, at_us, details FROM faults WHERE run_id = ?1 ORDER BY id",
           {*h.driver().record().run_id}))
    rows.push_back({results::text_of(v[0]), results::text_of(v[1]), results::int_of(v[2]),
                    json::parse(results::text_of(v[3]))});
  return rows;
}

TEST(RunnerFaults, TheScheduleAddsEachUndoAfterItsDurationInTimeOrder) {
  const Plan plan = parse_plan(kFaults, "f.yaml", "test");
  const auto due = fault_schedule(plan.runs.at(0));
  std::vector<std::pair<std::string, std::int64_t>> got;
  for (const auto& f : due)
    got.emplace_back(fault_kind(f.kind),
                     std::chrono::duration_cast<std::chrono::milliseconds>(f.at).count());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::int64_t>>{
                     {"link_down", 3000}, {"link_up", 4500}, {"kill", 5000},
                     {"stop", 8000}, {"resume", 10000}, {"kill", 12000}}));
}

TEST(RunnerFaults, EachFaultIsAppliedAtItsTimeOnItsMembersInOrder) {
  Harness h(kFaults);
  ASSERT_EQ(h.run().status, RunStatus::completed) << h.err.str();
  const auto t0 = h.clock_start();
  const auto controls = h.agents.sent("control");
  ASSERT_EQ(controls.size(), 3u);
  EXPECT_EQ(controls[0].t - t0, std::chrono::seconds(5));
  EXPECT_EQ(controls[0].name, "P/pe0");
  EXPECT_EQ(json::parse(controls[0].line), (json{{"cmd", "kill"}, {"member", 1}}));
  // stop (busiest: none is busy, so the first member alive by order), resume 2 s later the
  // same member.
  EXPECT_EQ(controls[1].t - t0, std::chrono::seconds(8));
  EXPECT_EQ(json::parse(controls[1].line)["cmd"], "stop");
  EXPECT_EQ(controls[2].t - t0, std::chrono::seconds(10));
  EXPECT_EQ(json::parse(controls[2].line)["cmd"], "resume");
  EXPECT_EQ(json::parse(controls[2].line)["member"], json::parse(controls[1].line)["member"]);
  EXPECT_NE(json::parse(controls[1].line)["member"], 1);  // not the killed one
  const auto signals = h.agents.sent("signal");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].t - t0, std::chrono::seconds(12));
  EXPECT_EQ(signals[0].name, "pr0");
  EXPECT_EQ(signals[0].sig, SIGKILL);
  EXPECT_TRUE(h.agents.sent("link").empty());  // loopback sites: skipped
}

TEST(RunnerFaults, EachFaultIsARowWithItsTimeAndWhatItHit) {
  Harness h(kFaults);
  ASSERT_EQ(h.run().status, RunStatus::completed);
  const auto rows = fault_rows(h);
  ASSERT_EQ(rows.size(), 6u);
  std::vector<std::string> kinds;
  for (const auto& r : rows) kinds.push_back(r.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"link_down", "link_up", "kill", "stop", "resume",
                                             "kill"}));
  EXPECT_EQ(rows[0].target, "a/x");
  EXPECT_EQ(rows[0].at_us, 3'000'000);
  EXPECT_EQ(rows[0].details["skipped"], "loopback sites have no ISP links");
  EXPECT_EQ(rows[1].details["scheduled_us"], 4'500'000);
  EXPECT_EQ(rows[2].at_us, 5'000'000);
  EXPECT_EQ(rows[2].target, "P/pe0");
  ASSERT_EQ(rows[2].details["members"].size(), 1u);
  EXPECT_EQ(rows[2].details["members"][0]["member"], 1);
  EXPECT_EQ(rows[2].details["members"][0]["id"], "P/pe0-1-2");  // its id when killed
  EXPECT_EQ(rows[5].target, "pr0");
  EXPECT_EQ(rows[5].details["id"], "pr-1");
  EXPECT_NE(h.out.str().find("  t=5s kill P/pe0 (1 member(s): P/pe0-1-2, 0 job(s) in progress)"),
            std::string::npos)
      << h.out.str();
}

// A link that gets slow: the delay and rate faults and their undo are rows at their times;
// on loopback sites (no links) skipped with the reason, nothing else touched.
TEST(RunnerFaults, DelayAndRateFaultsAndTheirUndoAreRows) {
  Harness h(Fixture{.name = "slow",
                    .faults = {"{ at: 3s, delay: { site: a, isp: x, delay: 'uniform:100ms,300ms' }, "
                               "for: 2s }",
                               "{ at: 4s, rate: { site: a, isp: x, rate: 1M } }"}}
                .yaml());
  ASSERT_EQ(h.run().status, RunStatus::completed) << h.err.str();
  const auto rows = fault_rows(h);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].kind, "delay");
  EXPECT_EQ(rows[0].target, "a/x");
  EXPECT_EQ(rows[0].at_us, 3'000'000);
  EXPECT_EQ(rows[0].details["delay_us"], 200'000);
  EXPECT_EQ(rows[0].details["jitter_us"], 100'000);
  EXPECT_EQ(rows[0].details["skipped"], "loopback sites have no ISP links");
  EXPECT_EQ(rows[1].kind, "rate");
  EXPECT_EQ(rows[1].details["rate"], 1'000'000);
  EXPECT_EQ(rows[2].kind, "delay_end");
  EXPECT_EQ(rows[2].at_us, 5'000'000);
  EXPECT_EQ(rows[2].details["delay_us"], 0) << "back to what links: gives: none";
  EXPECT_NE(h.out.str().find("t=3s delay a/x (200ms) (skipped: loopback sites have no ISP links)"),
            std::string::npos)
      << h.out.str();
}

TEST(RunnerFaults, AKillOfAMemberAlreadyDownIsSkippedWithTheReason) {
  Harness h(std::string(kFaults) + "  - { at: 6s, kill: { group: P/pe0, member: [1] } }\n");
  ASSERT_EQ(h.run().status, RunStatus::completed);
  const auto rows = fault_rows(h);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[3].kind, "kill");
  EXPECT_EQ(rows[3].at_us, 6'000'000);
  EXPECT_EQ(rows[3].details["skipped"], "the member is down already");
  EXPECT_EQ(h.agents.sent("control").size(), 3u);  // no second kill sent
}

}  // namespace
}  // namespace rsplab::experiments::testing
