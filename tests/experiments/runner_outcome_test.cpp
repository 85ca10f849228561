// How a run ends, with simulated time and in-process agents (runner_support.hpp): an agent
// lost mid-run fails it with the reason; SIGINT/SIGTERM interrupts it, during the run or
// during deployment (the reason names the step); otherwise it completes. Whatever the outcome
// the agents are stopped and the run's row ends with it. And the agents' replies as parsed.
#include <gtest/gtest.h>

#include "runner_support.hpp"

namespace rsplab::experiments::testing {
namespace {

const std::string kRun = Fixture{.name = "outcome"}.yaml();

std::string row_status(Harness& h) {
  const auto row = h.driver().record().run_id;
  return row ? h.store.run_status(*row).value_or("?") : "no row";
}

TEST(RunnerOutcome, AllGoodCompletes) {
  Harness h(kRun);
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::completed);
  EXPECT_EQ(o.reason, "");
  EXPECT_EQ(row_status(h), "completed");
  EXPECT_EQ(h.err.str(), "");
  EXPECT_NE(h.out.str().find("check event counts: ok"), std::string::npos) << h.out.str();
}

TEST(RunnerOutcome, AnAgentLostMidRunFailsItWithTheReason) {
  Harness h(kRun);
  // 7 s into the run (its clock starts within a few simulated ms).
  h.clock.after(7s, [&] { h.agents.lose("a", 1 << 8, "agent: out of memory"); });
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::failed);
  EXPECT_EQ(o.reason, "lost the agent of site a: exit 1: agent: out of memory");
  EXPECT_EQ(row_status(h), "failed");
  const auto stop = h.agents.sent("stop").at(0).t;
  EXPECT_GE(stop, std::chrono::seconds(7));
  EXPECT_LT(stop, std::chrono::seconds(8));  // at once, not at the PUs' end
  EXPECT_NE(h.err.str().find("rsplab run: run 1 failed: lost the agent of site a"),
            std::string::npos);
}

TEST(RunnerOutcome, AnAgentKilledBySignalSaysSo) {
  Harness h(kRun);
  h.clock.after(7s, [&] { h.agents.lose("a", SIGKILL, ""); });
  EXPECT_EQ(h.run().reason, "lost the agent of site a: signal 9");
}

TEST(RunnerOutcome, AStopRequestedDuringTheRunInterruptsIt) {
  Harness h(kRun);
  h.clock.after(10s, [&] { h.loop.interrupt(SIGTERM); });
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::interrupted);
  EXPECT_EQ(o.reason, "SIGTERM during the run");
  EXPECT_EQ(row_status(h), "interrupted");
  EXPECT_EQ(h.err.str(), "");  // not a failure
  const auto stop = h.agents.sent("stop").at(0).t;
  EXPECT_LT(stop, std::chrono::seconds(11));
}

TEST(RunnerOutcome, AStopRequestedWhileDeployingNamesTheStep) {
  Harness h(kRun);
  h.agents.never_ready = {"P/pe0"};
  h.clock.after(20s, [&] { h.loop.interrupt(SIGINT); });
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::interrupted);
  EXPECT_EQ(o.reason, "SIGINT while deploying: waiting for the PEs to register");
  EXPECT_EQ(row_status(h), "interrupted");
  EXPECT_TRUE(h.agents.sent("stop").at(0).t < std::chrono::seconds(21));
}

TEST(RunnerOutcome, PusThatDoNotEndFailTheRun60SecondsAfterTheirRuntime) {
  Harness h(kRun);
  h.agents.never_ready = {"P/pu0"};  // never exits
  const Outcome o = h.run();
  EXPECT_EQ(o.status, RunStatus::failed);
  EXPECT_EQ(o.reason, "PUs did not end 60 s after their runtime");
  EXPECT_EQ(h.agents.sent("stop").at(0).t - h.clock_start(), std::chrono::seconds(85));
}

TEST(RunnerOutcome, ADriverCarriesOutRunsOneAfterTheOther) {
  Harness h(std::string(kRun) + "repetitions: 2\n");
  ASSERT_EQ(h.plan.runs.size(), 2u);
  EXPECT_EQ(h.run(0).status, RunStatus::completed);
  const auto first = *h.driver().record().run_id;
  EXPECT_EQ(h.run(1).status, RunStatus::completed);
  EXPECT_NE(*h.driver().record().run_id, first);
  EXPECT_EQ(h.store.count("runs"), 2);
}

// The replies of `rsplab agent --stdio`, as the runner reads them.
struct Heard final : AgentListener {
  std::vector<std::string> calls;
  void hello(const std::string& s, const agents::protocol::HelloReply& h) override {
    calls.push_back("hello " + s + " " + h.version);
  }
  void time(const std::string& s, std::int64_t us) override {
    calls.push_back("time " + s + " " + std::to_string(us));
  }
  void line(const std::string& s, const std::string& c, const std::string& t) override {
    calls.push_back("line " + s + " " + c + " " + t);
  }
  void event(const std::string& s, const std::string& c, json e) override {
    calls.push_back("event " + s + " " + c + " " + e.dump());
  }
  void exited(const std::string& s, const std::string& c, const ComponentExit& e) override {
    calls.push_back("exited " + s + " " + c + " " + std::to_string(e.code) + " " + e.status +
                    " " + std::to_string(e.max_rss_kib));
  }
  void stopped(const std::string& s) override { calls.push_back("stopped " + s); }
  void problem(const std::string& s, const std::string& t) override {
    calls.push_back("problem " + s + " " + t);
  }
  void lost(const std::string& s, int, const std::string&) override {
    calls.push_back("lost " + s);
  }
};

TEST(RunnerAgentReplies, EachLineReachesTheListenerParsed) {
  Heard h;
  for (const char* line : {
           R"({"op":"hello","version":"1.2"})",
           R"({"op":"time","seq":0,"unix_us":42})",
           R"({"op":"started","name":"pr0"})",
           R"({"op":"line","name":"pr0","line":"asap 127.0.0.1:1"})",
           R"({"op":"event","name":"P/pe0","event":{"event":"ready","id":"x"}})",
           R"({"op":"exited","name":"P/pu0","code":0,"status":"exit 0","max_rss_kib":900})",
           R"({"op":"link","ok":true})",
           R"({"op":"link","ok":false,"error":"no such device"})",
           R"({"op":"error","message":"unknown component"})",
           R"({"op":"stopped"})",
           "not json",
       })
    dispatch_reply("a", line, h);
  EXPECT_EQ(h.calls, (std::vector<std::string>{
                         "hello a 1.2",
                         "time a 42",
                         "line a pr0 asap 127.0.0.1:1",
                         R"(event a P/pe0 {"event":"ready","id":"x"})",
                         "exited a P/pu0 0 exit 0 900",
                         "problem a link: no such device",
                         "problem a unknown component",
                         "stopped a",
                         "problem a not a protocol line: not json",
                     }));
}

// A reply the runner cannot read is a problem of its site that names op and field
// (agents/protocol.hpp), not a crash nor a default; an op it does not know is a newer agent's.
TEST(RunnerAgentReplies, AMalformedReplyIsAProblemNamingItsOpAndField) {
  Heard h;
  for (const char* line : {
           R"({"op":"exited","name":"P/pu0","status":"exit 0"})",
           R"({"op":"time","seq":0,"unix_us":"now"})",
           R"({"op":"event","name":"P/pe0","event":[1]})",
           R"({"op":"stats","name":"P/pe0"})",
       })
    dispatch_reply("a", line, h);
  EXPECT_EQ(h.calls, (std::vector<std::string>{
                         R"(problem a exited: field "code" is missing)",
                         R"(problem a time: field "unix_us" must be an integer, not string)",
                         R"(problem a event: field "event" must be an object, not array)",
                     }));
}

}  // namespace
}  // namespace rsplab::experiments::testing
