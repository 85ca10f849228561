// A whole pool in one process (node/): a registrar node, a PE node of two members and a PU
// node on one io_context over loopback TCP. What users rely on, read from the typed events
// the nodes write: the PU's jobs complete; the PE member serving a job killed mid-job (as
// `--control` kill) — the PU fails over to the other PE and the job completes there from its
// last cookie; the echo service likewise, its reply count resuming from the cookie.
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <string>

#include "node/pe.hpp"
#include "node/pu.hpp"
#include "node/registrar.hpp"
#include "stack/common/events.hpp"
#include "tests/node/harness.hpp"

namespace {

using namespace std::chrono_literals;
using rsplab::common::CookieSentEvent;
using rsplab::common::EchoDoneEvent;
using rsplab::common::FailoverEvent;
using rsplab::common::JobEvent;
using rsplab::common::MemberReady;
using rsplab::common::RegistrationEvent;
using rsplab::common::StoppedEvent;
using rsplab::node::PeNode;
using rsplab::node::PuNode;
using rsplab::node::RegistrarNode;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;
namespace test = rsplab::node::test;

// A registrar and a PE node of two members (0x100, 0x101) registered with it.
class NodePool : public ::testing::Test {
 protected:
  void start_pool(rsplab::options::PeOptions pe_options) {
    registrar_.emplace(io_, test::registrar_options(), registrar_events_.sink());
    registrar_->start();
    auto o = std::move(pe_options);
    o.registrar = registrar_->asap_endpoint().to_string();
    o.count = 2;
    pe_.emplace(io_, o, pe_events_.sink());
    pe_->start();
    ASSERT_TRUE(run_until(io_, [&] { return registrar_events_.count("registration") == 2; }));
  }
  rsplab::options::PeOptions pe_options() const {
    return test::pe_options("", "NodePool", "0x100");
  }
  rsplab::options::PuOptions pu_options() const {
    return test::pu_options(registrar_->asap_endpoint().to_string(), "NodePool");
  }
  // The member whose events show a session first; nullopt after 20 s.
  std::optional<std::size_t> serving() {
    std::optional<std::string> id;
    run_until(io_, [&] {
      const auto opened = pe_events_.named("session_opened");
      if (!opened.empty()) id = opened.front().value("id", "");
      return id.has_value();
    });
    if (!id) return std::nullopt;
    return pe_->member(0).id() == *id ? 0 : 1;
  }
  void TearDown() override {
    if (pe_) pe_->stop();
    if (registrar_) registrar_->stop(SIGTERM);
  }

  boost::asio::io_context io_;
  Recorder registrar_events_, pe_events_, pu_events_;
  std::optional<RegistrarNode> registrar_;
  std::optional<PeNode> pe_;
};

rsplab::options::PuOptions one_job(rsplab::options::PuOptions o) {
  o.job_size = "fixed:8e6";
  o.interval = "fixed:10ms";
  o.jobs = 1;
  return o;
}

TEST_F(NodePool, JobsComplete) {
  start_pool(pe_options());
  ASSERT_FALSE(HasFatalFailure());
  auto o = pu_options();
  o.job_size = "fixed:2e5";
  o.interval = "fixed:10ms";
  o.jobs = 3;
  o.count = 2;
  bool finished = false;
  PuNode pu(io_, o, pu_events_.sink(), [&] { finished = true; });
  pu.start();
  ASSERT_TRUE(run_until(io_, [&] { return finished; })) << "the jobs did not end in 20 s";
  const auto ready = pu_events_.as<MemberReady>("ready");
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0].id, "pu-0");
  EXPECT_EQ(ready[1].member, 1u);
  EXPECT_FALSE(ready[0].service) << "CalcApp's PU ready has no service field";
  const auto jobs = pu_events_.as<JobEvent>("job");
  ASSERT_EQ(jobs.size(), 6u);
  for (const auto& j : jobs) {
    EXPECT_EQ(j.status, "completed");
    EXPECT_EQ(j.size, 200000);
    EXPECT_EQ(j.failovers, 0);
    EXPECT_TRUE(j.pe == "0x00000100" || j.pe == "0x00000101") << j.pe.value_or("none");
  }
  EXPECT_EQ(pu.summary()["jobs_completed"], 6);
  EXPECT_FALSE(pu.unanswered());
}

TEST_F(NodePool, KilledPeMemberFailsOverAndTheJobCompletesFromItsCookie) {
  auto pe = pe_options();
  pe.capacity = "4e6";                 // 8e6 calculations: 2 s on one PE
  pe.cookie_max_calculations = "1e6";  // a cookie every 0.25 s
  start_pool(pe);
  ASSERT_FALSE(HasFatalFailure());
  bool finished = false;
  PuNode pu(io_, one_job(pu_options()), pu_events_.sink(), [&] { finished = true; });
  pu.start();
  const auto victim = serving();
  ASSERT_TRUE(victim) << "no PE took the job";
  const std::string dead = pe_->member(*victim).id();
  const std::string alive = pe_->member(1 - *victim).id();
  ASSERT_TRUE(run_until(io_, [&] { return pe_events_.count("cookie_sent") > 0; }));
  run_until(io_, [] { return false; }, 100ms);  // the cookie on its way; the next at 0.5 s
  const auto cookie = pe_events_.as<CookieSentEvent>("cookie_sent").back();
  pe_->member(*victim).kill();

  const auto killed = pe_events_.as<StoppedEvent>("killed");
  ASSERT_EQ(killed.size(), 1u);
  const auto& stopped = killed[0];
  EXPECT_EQ(stopped.id, dead);
  EXPECT_EQ(stopped.member, static_cast<std::int64_t>(*victim));
  ASSERT_EQ(stopped.jobs.size(), 1u);
  EXPECT_GE(stopped.jobs[0].completed, cookie.completed);

  ASSERT_TRUE(run_until(io_, [&] { return finished; })) << "the job did not end in 20 s";
  const auto failovers = pu_events_.as<FailoverEvent>("failover");
  ASSERT_EQ(failovers.size(), 1u);
  EXPECT_EQ(failovers[0].from_pe, dead);
  EXPECT_EQ(failovers[0].to_pe, alive);
  EXPECT_TRUE(failovers[0].cookie);
  EXPECT_EQ(failovers[0].resumed, cookie.completed);
  const auto jobs = pu_events_.as<JobEvent>("job");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].status, "completed");
  EXPECT_EQ(jobs[0].pe, alive);
  EXPECT_EQ(jobs[0].failovers, 1);
}

TEST_F(NodePool, KilledEchoPeMemberFailsOverAndTheCountResumesFromTheCookie) {
  auto pe = pe_options();
  pe.service = "echo";
  pe.cookie_every = 3;
  start_pool(pe);
  ASSERT_FALSE(HasFatalFailure());
  auto o = pu_options();
  o.service = "echo";
  o.ping_interval = "20ms";
  o.replies = 30;
  bool finished = false;
  PuNode pu(io_, o, pu_events_.sink(), [&] { finished = true; });
  pu.start();
  const auto victim = serving();
  ASSERT_TRUE(victim) << "no PE took the series";
  const std::string dead = pe_->member(*victim).id();
  const std::string alive = pe_->member(1 - *victim).id();
  run_until(io_, [] { return false; }, 300ms);  // about 15 replies
  pe_->member(*victim).kill();
  const auto killed = pe_events_.as<StoppedEvent>("killed");
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(killed[0].id, dead);
  EXPECT_FALSE(killed[0].has_jobs) << "echo's cookies make the failover exact: no jobs";

  ASSERT_TRUE(run_until(io_, [&] { return finished; })) << "the series did not end in 20 s";
  const auto failovers = pu_events_.as<FailoverEvent>("failover");
  ASSERT_EQ(failovers.size(), 1u);
  EXPECT_EQ(failovers[0].from_pe, dead);
  EXPECT_EQ(failovers[0].to_pe, alive);
  EXPECT_TRUE(failovers[0].cookie);
  ASSERT_TRUE(failovers[0].resumed);
  EXPECT_EQ(*failovers[0].resumed % 3, 0);
  EXPECT_GT(*failovers[0].resumed, 0);
  const auto resumed = pe_events_.named("echo_resumed");
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].value("id", ""), alive);
  EXPECT_EQ(resumed[0].value("replies", -1), *failovers[0].resumed);
  for (const auto& ready : pe_events_.as<MemberReady>("ready")) {
    EXPECT_EQ(ready.service, "echo");
    EXPECT_EQ(ready.cookie_every, 3);
    EXPECT_FALSE(ready.capacity) << "a CalcApp field";
  }
  const auto pu_ready = pu_events_.as<MemberReady>("ready");
  ASSERT_EQ(pu_ready.size(), 1u);
  EXPECT_EQ(pu_ready[0].id, "pu");
  EXPECT_EQ(pu_ready[0].service, "echo");
  const auto done = pu_events_.as<EchoDoneEvent>("done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].reason, "count");
  EXPECT_EQ(done[0].replies, 30);
  EXPECT_EQ(done[0].failovers, 1);
}

}  // namespace
