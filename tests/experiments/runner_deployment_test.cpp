// The runner's deployment with simulated time and in-process agents (runner_support.hpp):
// the order of the steps, what each component is started with, and a step whose readiness
// never comes failing the run with its reason once its deadline passed in simulated time.
#include <gtest/gtest.h>

#include "experiments/deployment.hpp"
#include "runner_support.hpp"

namespace rsplab::experiments::testing {
namespace {

const std::string kTwoSites =
    Fixture{.name = "deploy",
            .sites = {"a: { isps: [x] }", "b: { isps: [y] }"},
            .pes = {"{ site: a, count: 2, capacity: 1e6 }", "{ site: b, count: 1, capacity: 2e6 }"},
            .pus = {"{ site: b, count: 3, job-size: exp:1e6, interval: exp:1s }"}}
        .yaml();

std::vector<std::string> started(const FakeAgents& agents) {
  std::vector<std::string> names;
  for (const auto& r : agents.sent("start")) names.push_back(r.role + " " + r.name);
  return names;
}

TEST(RunnerDeployment, StartsRegistrarsThenPesThenPusOnceEveryPeRegistered) {
  Harness h(kTwoSites);
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::completed) << o.reason << h.err.str();
  EXPECT_EQ(started(h.agents), (std::vector<std::string>{"registrar pr0", "pe P/pe0",
                                                         "pe P/pe1", "pu P/pu0"}));
  // Every agent said hello before any component started; each component on its own site.
  const auto starts = h.agents.sent("start");
  for (const auto& hello : h.agents.sent("hello")) EXPECT_LT(hello.t, starts.front().t);
  EXPECT_EQ(starts[0].site, "a");
  EXPECT_EQ(starts[2].site, "b");
  EXPECT_EQ(starts[3].site, "b");
  // The PEs and PUs are given the registrar's endpoint as it reported it.
  EXPECT_EQ(arg(starts[1].args, "--registrar"), "127.0.0.1:30001");
  EXPECT_EQ(arg(starts[3].args, "--registrar"), "127.0.0.1:30001");
  EXPECT_EQ(arg(starts[3].args, "--runtime"), "25000ms");
  EXPECT_EQ(starts[0].args.back(), "warning");  // --log-level warning
  // The PUs start after the last registration (1 ms latency in simulated time).
  EXPECT_GT(starts[3].t, starts[2].t);
}

TEST(RunnerDeployment, TheRunEndsWhenThePusEndAfterTheirRuntime) {
  Harness h(kTwoSites);
  ASSERT_EQ(h.run().status, RunStatus::completed);
  const auto stops = h.agents.sent("stop");
  ASSERT_EQ(stops.size(), 2u);  // both sites' agents
  // The PUs exit 25 s (warm-up + duration) after the clock started; the teardown follows.
  EXPECT_GE(stops[0].t - h.clock_start(), std::chrono::seconds(25));
  EXPECT_LT(stops[0].t - h.clock_start(), std::chrono::seconds(26));
  const auto row = h.driver().record().run_id;
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(h.store.run_status(*row), "completed");
  EXPECT_NE(h.out.str().find("run 1/1 completed: 0 jobs completed (warm-up included)"),
            std::string::npos)
      << h.out.str();
}

TEST(RunnerDeployment, ARegistrarThatNeverListensFailsTheRunAfter30Seconds) {
  Harness h(kTwoSites);
  h.agents.never_ready = {"pr0"};
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::failed);
  EXPECT_EQ(o.reason, "registrar pr0 did not start");
  const auto starts = h.agents.sent("start");
  ASSERT_EQ(starts.size(), 1u);  // no PE was started
  const auto stop = h.agents.sent("stop").at(0).t;
  EXPECT_GE(stop - starts[0].t, std::chrono::seconds(30));
  EXPECT_LT(stop - starts[0].t, std::chrono::seconds(31));
  EXPECT_NE(h.err.str().find("rsplab run: run 1 failed: registrar pr0 did not start"),
            std::string::npos);
  // A row says so, though the run's clock never started.
  const auto row = h.driver().record().run_id;
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(h.store.run_status(*row), "failed");
}

TEST(RunnerDeployment, APeGroupThatNeverRegistersFailsTheRunAfter60Seconds) {
  Harness h(kTwoSites);
  h.agents.never_ready = {"P/pe1"};
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::failed);
  EXPECT_EQ(o.reason, "not every PE registered within 60 s (2 of 3)");
  EXPECT_TRUE(h.agents.sent("start").size() == 3u);  // no PU
  const auto pe = h.agents.sent("start").at(2).t;
  EXPECT_GE(h.agents.sent("stop").at(0).t - pe, std::chrono::seconds(60));
  EXPECT_LT(h.agents.sent("stop").at(0).t - pe, std::chrono::seconds(61));
}

TEST(RunnerDeployment, AnAgentThatNeverAnswersFailsTheRunAfter30Seconds) {
  Harness h(kTwoSites);
  h.agents.silent_sites = {"b"};
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::failed);
  EXPECT_EQ(o.reason, "the agent of site b did not answer within 30 s");
  EXPECT_TRUE(h.agents.sent("start").empty());
  EXPECT_GE(h.clock.elapsed(), std::chrono::seconds(30));
}

TEST(RunnerDeployment, EachAgentsClockIsSampledBeforeTheComponentsStart) {
  Harness h(kTwoSites);
  ASSERT_EQ(h.run().status, RunStatus::completed);
  std::size_t a = 0;
  const auto first_start = h.agents.sent("start").at(0).t;
  for (const auto& r : h.agents.sent("time"))
    if (r.site == "a" && r.t < first_start) ++a;
  EXPECT_EQ(a, static_cast<std::size_t>(agents::kClockSamples));
}

// From the "asap" of a registrar's ready event (the same text as its "asap ..." line).
TEST(RunnerDeployment, RegistrarEndpointsAreOnePerAddress) {
  EXPECT_EQ(asap_endpoints("10.0.0.1,10.1.0.1:3863"),
            (std::vector<std::string>{"10.0.0.1:3863", "10.1.0.1:3863"}));
  EXPECT_TRUE(asap_endpoints("").empty());  // not ready: none
}

// Endpoints and identities come from the components' ready events (agents/protocol.hpp:
// RegistrarReady, MemberReady); the lines they print for their users count for nothing.
TEST(RunnerDeployment, ComponentsAreReadyByTheirReadyEventsNotByWhatTheyPrint) {
  {
    Harness h(kTwoSites);
    h.agents.lines_only = {"pr0"};  // prints "asap 127.0.0.1:30001", reports nothing
    const Outcome o = h.run();
    EXPECT_EQ(o.status, RunStatus::failed);
    EXPECT_EQ(o.reason, "registrar pr0 did not start");
  }
  {
    Harness h(kTwoSites);
    h.agents.events_only = {"pr0", "P/pe0", "P/pe1"};  // no "asap ..." nor "pe ..." line
    const Outcome o = h.run();
    EXPECT_EQ(o.status, RunStatus::completed) << o.reason;
    EXPECT_EQ(arg(h.agents.sent("start").at(1).args, "--registrar"), "127.0.0.1:30001");
  }
}

}  // namespace
}  // namespace rsplab::experiments::testing
