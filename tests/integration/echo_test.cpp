// The echo (ping-pong) service on real processes and sockets (TCP mapping, loopback):
// `rsplab registrar`, `rsplab pe --service echo` and `rsplab pu --service echo` (started by
// tests/integration/pool.hpp). What users rely on: each PU member counts the replies it
// asked for, and stops there; a PE killed (SIGKILL) while it serves a series has the series
// fail over to the other PE, whose count resumes from the latest cookie, so that the
// replies since that cookie come again as duplicates (the failover event's `lost`) and
// none is counted twice; only PINGs sent to the dying PE go unanswered.
//
//   test ──ChildProcess──► rsplab registrar, rsplab pe --service echo ×2, rsplab pu
//   test ◄── events (JSON lines files) and the PU's summary line
//
// Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/pool.hpp"

namespace {

using json = nlohmann::json;
using rsplab::test::read_events;
using namespace std::chrono_literals;

class EchoPool : public rsplab::test::PoolTest {
 protected:
  EchoPool() : PoolTest(RSPLAB_BINARY, "echo") {}
};

TEST_F(EchoPool, EveryMemberCountsItsRepliesAndStops) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  const std::vector<std::string> echo = {"--service", "echo"};
  std::vector<Pe> pes = {start_pe("pe0", echo), start_pe("pe1", echo)};
  ASSERT_FALSE(HasFailure());
  const json summary = run_pu({"--service", "echo", "--count", "3", "--ping-interval", "20ms",
                               "--replies", "20", "--runtime", "20s"},
                              30s);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["members"], 3);
  EXPECT_EQ(summary["replies"], 60);
  EXPECT_EQ(summary["requests"], 60);
  EXPECT_EQ(summary["answers"], 60);
  EXPECT_EQ(summary["duplicates"], 0);
  EXPECT_EQ(summary["lost"], 0);
  EXPECT_EQ(summary["failovers"], 0);
  EXPECT_GE(summary["resolutions"].get<int>(), 3);

  const auto done = read_events(path("pu.jsonl"), "done");
  ASSERT_EQ(done.size(), 3u);
  for (const auto& d : done) {
    EXPECT_EQ(d["reason"], "count") << d.dump();
    EXPECT_EQ(d["replies"], 20) << d.dump();
  }
  for (const auto& e : read_events(path("pu.jsonl"), "ready")) EXPECT_EQ(e["service"], "echo");
  // Each PE says what it serves, and answered the sessions it had to the end.
  std::uint64_t ended = 0;
  for (const auto& pe : pes) {
    for (const auto& e : read_events(pe.events, "ready")) {
      EXPECT_EQ(e["service"], "echo");
      EXPECT_EQ(e["cookie_every"], 1);
      EXPECT_FALSE(e.contains("capacity")) << "a CalcApp field";
    }
    ASSERT_TRUE(await_event(pe.events, [&](const json&) {
      return read_events(pe.events, "echo_ended").size() ==
             read_events(pe.events, "session_opened").size();
    }, 5s)) << pe.id << ": a session never ended";
    for (const auto& e : read_events(pe.events, "echo_ended")) {
      EXPECT_EQ(e["replies"], 20) << e.dump();
      EXPECT_EQ(e["cause"], "session_lost") << e.dump();
      ++ended;
    }
  }
  EXPECT_EQ(ended, 3u);
}

TEST_F(EchoPool, KilledPeFailsOverAndTheCountResumesFromTheCookie) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  // A cookie every 3 replies: a failover resumes at a multiple of 3 and repeats < 3 replies.
  const std::vector<std::string> echo = {"--service", "echo", "--cookie-every", "3"};
  std::vector<Pe> pes = {start_pe("pe0", echo), start_pe("pe1", echo)};
  ASSERT_FALSE(HasFailure());
  // The PE that took the series is killed after serving it for 1 s (about 20 replies).
  std::optional<std::size_t> victim;
  std::thread hit([&] {
    std::optional<std::size_t> serving;
    for (int i = 0; i < 500 && !serving; ++i) {
      for (std::size_t p = 0; p < pes.size() && !serving; ++p)
        if (!read_events(pes[p].events, "session_opened").empty()) serving = p;
      std::this_thread::sleep_for(20ms);
    }
    if (!serving) return;
    std::this_thread::sleep_for(1s);
    pes[*serving].process->signal(SIGKILL);
    victim = serving;
  });
  const json summary = run_pu({"--service", "echo", "--ping-interval", "50ms", "--replies",
                               "60", "--runtime", "30s"},
                              40s);
  hit.join();
  ASSERT_TRUE(victim) << "no PE took the series";
  const Pe& dead = pes[*victim];
  const Pe& other = pes[1 - *victim];
  ASSERT_FALSE(dead.process->running()) << "the victim was never killed";
  ASSERT_TRUE(summary.is_object());

  const auto failovers = read_events(path("pu.jsonl"), "failover");
  ASSERT_EQ(failovers.size(), 1u);
  const json& f = failovers[0];
  SCOPED_TRACE(f.dump());
  EXPECT_EQ(f["from_pe"], dead.id);
  EXPECT_EQ(f["to_pe"], other.id);
  EXPECT_EQ(f["cause"], "connection_lost");
  EXPECT_TRUE(f["cookie"].get<bool>());
  const auto resumed = f["resumed"].get<std::uint64_t>();
  const auto lost = f["lost"].get<std::uint64_t>();
  EXPECT_EQ(resumed % 3, 0u);
  EXPECT_GE(resumed, 9u) << "killed after about 20 replies";
  EXPECT_LT(lost, 3u);

  // The series went on at the other PE from the cookie: the replies since it came again as
  // duplicates, and the count reached 60 without counting any twice.
  EXPECT_EQ(summary["replies"], 60);
  EXPECT_EQ(summary["failovers"], 1);
  EXPECT_EQ(summary["duplicates"], lost);
  EXPECT_EQ(summary["answers"], 60 + lost);
  // PINGs the victim never answered: the one in flight when it died, and one after each
  // Cookie Echo to it while it was dying (a connect the kernel still took): at most one
  // per attempt of the failover.
  EXPECT_LE(summary["lost"].get<int>(), f["attempts"].get<int>());
  const auto done = read_events(path("pu.jsonl"), "done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["reason"], "count");
  EXPECT_EQ(done[0]["replies"], 60);
  EXPECT_EQ(done[0]["duplicates"], lost);

  // The other PE took the session from the cookie and answered up to reply 59.
  const auto took = read_events(other.events, "echo_resumed");
  ASSERT_EQ(took.size(), 1u);
  EXPECT_EQ(took[0]["replies"], resumed);
  ASSERT_TRUE(await_event(other.events, [](const json& e) {
    return e.value("event", "") == "echo_ended";
  }, 5s)) << "the resumed session never ended";
  const auto ended = read_events(other.events, "echo_ended");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["replies"], 60);
  EXPECT_EQ(ended[0]["resumed_from"], resumed);
  EXPECT_EQ(ended[0]["cause"], "session_lost");
}

}  // namespace
