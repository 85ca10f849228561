// The PU core driven directly with encoded registrar answers and PE messages and injected
// time: a job from resolution to COMPLETE and its job event, the FIFO queue, keep-alives,
// registrar failover, empty pools, the stale cache, rejects, failover with and without a
// cookie, max_jobs and stop(), and malformed input. One test wires the core to a real
// registrar core holding a PE registered by a PeCore.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "stack/registrar/core.hpp"
#include "tests/calcapp/pu_harness.hpp"

namespace session_test {
namespace {

using Ops = std::vector<std::string>;

const std::string kHr0 = "send_registrar 0 ASAP_HANDLE_RESOLUTION";
const std::string kHr1 = "send_registrar 1 ASAP_HANDLE_RESOLUTION";
const std::string kEu0 = "send_registrar 0 ASAP_ENDPOINT_UNREACHABLE";

std::string connect_pe(SessionId s, std::uint32_t pe) { return "connect_pe " + std::to_string(s) + " " + hex(pe); }
std::string close_pe(SessionId s) { return "close_pe " + std::to_string(s); }
std::string send_pe(SessionId s, std::string_view what) {
  return "send_pe " + std::to_string(s) + " " + std::string(what);
}

// The job event's delays add up to its handling time, and the absolute times agree.
void expect_consistent(const json& ev) {
  ASSERT_EQ(ev["status"], "completed") << ev.dump();
  const auto q = ev["queuing_delay_us"].get<std::int64_t>();
  const auto s = ev["startup_delay_us"].get<std::int64_t>();
  const auto p = ev["processing_us"].get<std::int64_t>();
  const auto h = ev["handling_us"].get<std::int64_t>();
  EXPECT_EQ(q + s + p, h) << ev.dump();
  EXPECT_EQ(ev["started_us"].get<std::int64_t>() - ev["queued_us"].get<std::int64_t>(), q);
  EXPECT_EQ(ev["accepted_us"].get<std::int64_t>() - ev["started_us"].get<std::int64_t>(), s);
  EXPECT_EQ(ev["completed_us"].get<std::int64_t>() - ev["accepted_us"].get<std::int64_t>(), p);
  ASSERT_GT(h, 0);
  EXPECT_DOUBLE_EQ(ev["handling_speed"].get<double>(),
                   ev["size"].get<double>() / (static_cast<double>(h) / 1e6));
}

// ---------------------------------------------------------------------------------------
// A job from arrival to COMPLETE

TEST(PuCoreJob, FlowsFromResolutionToComplete) {
  PuHarness h;
  EXPECT_EQ(h.core.state(), PuState::idle);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);  // not started
  h.start(at(0));
  EXPECT_EQ(h.ops(), Ops{"connect_registrar 0"});
  EXPECT_EQ(h.deadline_ms(), 2000);  // the registrar's connect timeout
  h.reg_connected(0, at(0));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.deadline_ms(), 60000);  // the first arrival: one interval after the start
  h.tick(at(59999));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.core.queued(), 0u);

  h.tick(at(60000));
  ASSERT_EQ(h.ops(), Ops{kHr0});
  const auto hr = h.sent_registrar<asap::HandleResolution>(0, 0);
  ASSERT_TRUE(hr);
  EXPECT_EQ(hr->pool_handle, kPool);
  EXPECT_EQ(hr->items, std::nullopt);
  EXPECT_EQ(h.core.state(), PuState::resolving);
  EXPECT_EQ(h.core.queued(), 1u);
  EXPECT_EQ(h.core.counters().jobs_generated, 1u);
  EXPECT_EQ(h.deadline_ms(), 62000);  // response timeout

  h.reg_in(0, answer({1, 2}), at(60010));
  ASSERT_EQ(h.ops(), Ops{connect_pe(1, 1)});
  EXPECT_EQ(h.out.ops[0].pe, pool_element(1).user_transport);
  EXPECT_EQ(h.out.ops[0].pe_identifier, 1u);
  const auto res = h.event("handle_resolution");
  EXPECT_EQ(res["registrar"], 0);
  EXPECT_EQ(res["pool"], kPool);
  EXPECT_EQ(res["pes"], json::array({hex(1), hex(2)}));
  EXPECT_EQ(res["cached"], false);
  EXPECT_EQ(res["latency_us"], 10000);
  EXPECT_FALSE(res.contains("error"));
  EXPECT_EQ(h.core.state(), PuState::connecting);
  EXPECT_EQ(h.deadline_ms(), 65010);  // PE connect timeout

  h.pe_connected(1, at(60020));
  ASSERT_EQ(h.ops(), Ops{send_pe(1, "REQUEST")});
  EXPECT_EQ(h.out.ops[0].ppid, w::kPpidCalcApp);
  EXPECT_EQ(*h.sent_calc(0, 1), (calc::Message{MT::request, 0, 1, kSize, 0}));
  EXPECT_EQ(h.core.state(), PuState::requested);

  h.pe_calc(1, MT::accept, 1, 0, at(60030));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.state(), PuState::running);
  EXPECT_EQ(h.deadline_ms(), 65030);  // keep-alive

  h.pe_cookie(1, 1, 500000, at(60530));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());

  h.pe_calc(1, MT::complete, 1, kSize, at(61030));
  EXPECT_EQ(h.ops(), Ops{close_pe(1)});
  const auto job = h.event("job");
  EXPECT_EQ(job["job"], 1);
  EXPECT_EQ(job["size"], kSize);
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["queued_us"], abs_us(60000));
  EXPECT_EQ(job["started_us"], abs_us(60000));
  EXPECT_EQ(job["accepted_us"], abs_us(60030));
  EXPECT_EQ(job["completed_us"], abs_us(61030));
  EXPECT_EQ(job["pe"], hex(1));
  EXPECT_EQ(job["rejects"], 0);
  EXPECT_EQ(job["failovers"], 0);
  EXPECT_EQ(job["queuing_delay_us"], 0);
  EXPECT_EQ(job["startup_delay_us"], 30000);
  EXPECT_EQ(job["processing_us"], 1000000);
  EXPECT_EQ(job["handling_us"], 1030000);
  EXPECT_NEAR(job["handling_speed"].get<double>(), 1e6 / 1.03, 1e-6);
  expect_consistent(job);

  EXPECT_EQ(h.core.state(), PuState::idle);
  EXPECT_EQ(h.core.queued(), 0u);
  EXPECT_EQ(h.deadline_ms(), 120000);  // the next arrival; the registrar stays connected
  const auto& c = h.core.counters();
  EXPECT_EQ(c.jobs_completed, 1u);
  EXPECT_EQ(c.calculations_completed, kSize);
  EXPECT_DOUBLE_EQ(c.handling_seconds, 1.03);
  EXPECT_NEAR(c.handling_speed(), 1e6 / 1.03, 1e-6);
  EXPECT_EQ(c.resolutions, 1u);
  EXPECT_EQ(c.cache_hits, 0u);
  EXPECT_EQ(c.discarded, 0u);
}

TEST(PuCoreJob, SecondJobWaitsForTheFirstFifo) {
  auto config = make_pu_config(10);
  config.keepalive_interval = milliseconds(60000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(10000));
  ASSERT_EQ(h.ops(), Ops{kHr0});
  const SessionId s1 = h.resolve_connect(0, {1}, at(10000));
  h.pe_calc(s1, MT::accept, 1, 0, at(10000));

  h.tick(at(20000));  // job 2 arrives while job 1 is in service
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.core.queued(), 2u);
  EXPECT_EQ(h.core.state(), PuState::running);

  h.pe_calc(s1, MT::complete, 1, kSize, at(25000));
  EXPECT_EQ(h.ops(), (Ops{close_pe(s1), kHr0}));  // job 2 at once
  EXPECT_EQ(h.event("job")["job"], 1);
  EXPECT_EQ(h.core.queued(), 1u);
  EXPECT_EQ(h.core.state(), PuState::resolving);

  const SessionId s2 = h.resolve_connect(0, {2}, at(25010));
  EXPECT_EQ(s2, s1 + 1);  // a fresh session per connection
  EXPECT_EQ(*h.sent_calc(0, s2), (calc::Message{MT::request, 0, 2, kSize, 0}));
  h.pe_calc(s2, MT::accept, 2, 0, at(25020));
  h.pe_calc(s2, MT::complete, 2, kSize, at(26020));
  const auto job = h.event("job");
  EXPECT_EQ(job["job"], 2);
  EXPECT_EQ(job["queued_us"], abs_us(20000));
  EXPECT_EQ(job["started_us"], abs_us(25000));
  EXPECT_EQ(job["queuing_delay_us"], 5000000);
  EXPECT_EQ(job["startup_delay_us"], 20000);
  EXPECT_EQ(job["processing_us"], 1000000);
  EXPECT_EQ(job["handling_us"], 6020000);
  expect_consistent(job);
  EXPECT_EQ(h.core.counters().jobs_completed, 2u);
  EXPECT_NEAR(h.core.counters().handling_seconds, 15.0 + 6.02, 1e-9);  // 10 s → 25 s, 20 s → 26.02 s
}

TEST(PuCoreJob, KeepAlivesBothWays) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_cookie(s, 1, 200000, at(61000));
  EXPECT_EQ(h.deadline_ms(), 66000);
  h.tick(at(65999));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(66000));  // silent for the interval: KEEPALIVE with the last known progress
  ASSERT_EQ(h.ops(), Ops{send_pe(s, "KEEPALIVE")});
  EXPECT_EQ(*h.sent_calc(0, s), (calc::Message{MT::keepalive, 0, 1, kSize, 200000}));
  EXPECT_EQ(h.deadline_ms(), 71000);  // its timeout
  h.tick(at(67000));
  EXPECT_TRUE(h.out.ops.empty());  // one outstanding at a time

  h.pe_calc(s, MT::keepalive_ack, 1, 300000, at(68000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.deadline_ms(), 73000);  // heard: the interval runs again

  h.pe_calc(s, MT::keepalive, 1, 0, at(69000));  // the PE asks: answered with what we know
  ASSERT_EQ(h.ops(), Ops{send_pe(s, "KEEPALIVE_ACK")});
  EXPECT_EQ(*h.sent_calc(0, s), (calc::Message{MT::keepalive_ack, 0, 1, kSize, 300000}));
  EXPECT_EQ(h.deadline_ms(), 74000);
  EXPECT_EQ(h.core.counters().discarded, 0u);
}

// ---------------------------------------------------------------------------------------
// Registrars

TEST(PuCoreRegistrar, ResponseTimeoutFailsOverToTheNextRegistrar) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  ASSERT_EQ(h.ops(), Ops{kHr0});
  h.tick(at(61999));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(62000));
  EXPECT_EQ(h.ops(), (Ops{"close_registrar 0", "connect_registrar 1"}));
  const auto ev = h.event("registrar_failover");
  EXPECT_EQ(ev["from"], 0);
  EXPECT_EQ(ev["to"], 1);
  EXPECT_EQ(ev["reason"], "timeout");
  EXPECT_EQ(h.core.state(), PuState::resolving);

  h.reg_connected(1, at(62100));  // the resolution goes out on the new registrar
  ASSERT_EQ(h.ops(), Ops{kHr1});
  h.reg_in(0, answer({1}), at(62200));  // the old one answers late: not ours any more
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("message_discarded")["reason"], "not the current registrar");
  h.reg_in(1, answer({2}), at(62300));
  EXPECT_EQ(h.ops(), Ops{connect_pe(1, 2)});
  EXPECT_EQ(h.event("handle_resolution")["registrar"], 1);
  EXPECT_EQ(h.event("handle_resolution")["latency_us"], 200000);
  EXPECT_EQ(h.core.counters().registrar_failovers, 1u);
}

TEST(PuCoreRegistrar, CloseAndConnectFailureGoRoundRobinThenWaitTheRetryDelay) {
  PuHarness h;
  h.up(at(0));
  h.reg_closed(0, at(1000));
  EXPECT_EQ(h.ops(), Ops{"connect_registrar 1"});  // kept open between resolutions
  EXPECT_EQ(h.event("registrar_failover")["reason"], "closed");
  h.reg_connect_failed(1, at(1100));  // a whole round without an answer: wait
  EXPECT_TRUE(h.out.ops.empty());
  const auto ev = h.event("registrar_failover");
  EXPECT_EQ(ev["from"], 1);
  EXPECT_EQ(ev["to"], 0);
  EXPECT_EQ(ev["reason"], "connect_failed");
  EXPECT_EQ(h.deadline_ms(), 2100);
  h.tick(at(2099));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(2100));
  EXPECT_EQ(h.ops(), Ops{"connect_registrar 0"});
  h.tick(at(4100));  // connect timeout
  EXPECT_EQ(h.ops(), (Ops{"close_registrar 0", "connect_registrar 1"}));
  EXPECT_EQ(h.event("registrar_failover")["reason"], "timeout");
  h.reg_connected(0, at(4200));  // a stale attempt: ignored
  EXPECT_TRUE(h.out.ops.empty());
  h.reg_connected(1, at(4300));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.core.counters().registrar_failovers, 3u);
  EXPECT_EQ(h.deadline_ms(), 60000);
}

TEST(PuCoreRegistrar, ResolutionWaitsForAConnection) {
  PuHarness h;
  h.start(at(0));
  h.reg_connect_failed(0, at(100));
  EXPECT_EQ(h.ops(), Ops{"connect_registrar 1"});
  h.reg_connect_failed(1, at(200));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.deadline_ms(), 1200);
  // Much later (the shell ticks late): the retry and the arrival in one tick.
  h.tick(at(60000));
  EXPECT_EQ(h.ops(), Ops{"connect_registrar 0"});
  EXPECT_EQ(h.core.state(), PuState::resolving);
  h.reg_connected(0, at(60100));
  EXPECT_EQ(h.ops(), Ops{kHr0});
}

// ---------------------------------------------------------------------------------------
// Resolution answers and the cache

TEST(PuCoreResolution, EmptyPoolOrErrorIsAskedAgainAfter250ms) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  asap::HandleResolutionResponse empty;
  empty.pool_handle = kPool;
  empty.overall_policy = w::Policy{PolicyType::round_robin};
  h.reg_in(0, empty, at(60010));
  EXPECT_TRUE(h.out.ops.empty());
  auto ev = h.event("handle_resolution");
  EXPECT_EQ(ev["pes"], json::array());
  EXPECT_EQ(ev["error"], "empty pool");
  EXPECT_EQ(h.core.state(), PuState::resolving);
  EXPECT_EQ(h.deadline_ms(), 60260);
  h.tick(at(60259));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(60260));
  EXPECT_EQ(h.ops(), Ops{kHr0});

  h.reg_in(0, error_answer(CauseCode::unknown_pool_handle), at(60270));
  EXPECT_TRUE(h.out.ops.empty());
  ev = h.event("handle_resolution");
  EXPECT_EQ(ev["error"], "Unknown Pool Handle");
  EXPECT_EQ(ev["registrar"], 0);
  EXPECT_EQ(h.deadline_ms(), 60520);
  h.tick(at(60520));
  EXPECT_EQ(h.ops(), Ops{kHr0});
  h.reg_in(0, answer({4}), at(60530));
  EXPECT_EQ(h.ops(), Ops{connect_pe(1, 4)});
  EXPECT_EQ(h.core.counters().resolutions, 3u);
  EXPECT_EQ(h.core.counters().registrar_failovers, 0u);
}

TEST(PuCoreResolution, ResolutionItemsAreAsked) {
  auto config = make_pu_config();
  config.resolution_items = 5;
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(60000));
  EXPECT_EQ(h.sent_registrar<asap::HandleResolution>(0, 0)->items, 5u);
}

TEST(PuCoreResolution, StaleCacheServesFromTheCacheUntilItExpires) {
  auto config = make_pu_config(10);
  config.stale_cache = milliseconds(15000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(10000));
  ASSERT_EQ(h.ops(), Ops{kHr0});
  SessionId s = h.resolve_connect(0, {1, 2}, at(10010));  // cached until 25010
  h.pe_calc(s, MT::accept, 1, 0, at(10020));
  h.pe_calc(s, MT::complete, 1, kSize, at(11000));
  EXPECT_EQ(h.ops(), Ops{close_pe(s)});

  h.tick(at(20000));  // job 2: from the cache, no registrar asked
  ASSERT_EQ(h.out.ops.size(), 1u) << testing::PrintToString(h.ops());
  EXPECT_EQ(h.out.ops[0].kind, PuOp::Kind::connect_pe);
  const auto pe = h.out.ops[0].pe_identifier;
  EXPECT_TRUE(pe == 1 || pe == 2);
  EXPECT_EQ(h.out.ops[0].pe, pool_element(pe).user_transport);
  auto ev = h.event("handle_resolution");
  EXPECT_EQ(ev["cached"], true);
  EXPECT_EQ(ev["registrar"], nullptr);
  EXPECT_EQ(ev["latency_us"], 0);
  EXPECT_EQ(ev["pes"].size(), 2u);
  EXPECT_EQ(ev["pes"][0], hex(pe));
  s = h.out.ops[0].session;
  h.pe_connected(s, at(20000));
  h.pe_calc(s, MT::accept, 2, 0, at(20010));
  h.pe_calc(s, MT::complete, 2, kSize, at(21000));
  EXPECT_EQ(h.event("job")["pe"], hex(pe));

  h.tick(at(30000));  // job 3: the cache expired at 25010
  EXPECT_EQ(h.ops(), Ops{kHr0});
  EXPECT_EQ(h.core.counters().resolutions, 2u);
  EXPECT_EQ(h.core.counters().cache_hits, 1u);
}

TEST(PuCoreResolution, CacheSelectsWithThePoolPolicy) {
  auto config = make_pu_config(10);
  config.stale_cache = milliseconds(1000000);
  config.keepalive_interval = milliseconds(1000000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(10000));
  SessionId s = h.resolve_connect(0, {1, 2, 3}, at(10000));
  std::map<std::uint32_t, int> picks;
  for (int job = 1; job <= 30; ++job) {
    const auto t = at(10000 * job);
    if (job > 1) {
      h.tick(t);
      ASSERT_EQ(h.out.ops.size(), 1u) << testing::PrintToString(h.ops());
      ++picks[h.out.ops[0].pe_identifier];
      s = h.out.ops[0].session;
      h.pe_connected(s, t);
    }
    h.pe_calc(s, MT::accept, static_cast<std::uint32_t>(job), 0, t);
    h.pe_calc(s, MT::complete, static_cast<std::uint32_t>(job), kSize, t);
  }
  // Round robin, locally: every PE in turn.
  EXPECT_EQ(picks.size(), 3u);
  for (const auto& [pe, n] : picks) EXPECT_TRUE(n == 9 || n == 10) << pe << ": " << n;
  EXPECT_EQ(h.core.counters().cache_hits, 29u);
}

TEST(PuCoreResolution, UnreachablePeLeavesTheCacheAtOnce) {
  auto config = make_pu_config();
  config.stale_cache = milliseconds(60000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(60000));
  h.reg_in(0, answer({1, 2}), at(60000));
  ASSERT_EQ(h.ops(), Ops{connect_pe(1, 1)});
  h.pe_connect_failed(1, at(60100));
  // Reported, and the next resolution comes from the cache without PE 1.
  ASSERT_EQ(h.ops(), (Ops{kEu0, connect_pe(2, 2)}));
  const auto eu = h.sent_registrar<asap::EndpointUnreachable>(0, 0);
  EXPECT_EQ(eu->pool_handle, kPool);
  EXPECT_EQ(eu->pe_identifier, 1u);
  const auto ev = h.event("handle_resolution");
  EXPECT_EQ(ev["cached"], true);
  EXPECT_EQ(ev["pes"], json::array({hex(2)}));
  h.pe_connect_failed(2, at(60200));  // the cache is empty now: ask
  EXPECT_EQ(h.ops(), (Ops{"send_registrar 0 ASAP_ENDPOINT_UNREACHABLE", kHr0}));
  EXPECT_EQ(h.core.counters().unreachable_reports, 2u);
}

// ---------------------------------------------------------------------------------------
// Rejects

TEST(PuCoreReject, RetriesAfterTheDelayOnAnotherPeWithoutReporting) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::reject, 1, 0, at(60010));
  EXPECT_EQ(h.ops(), Ops{close_pe(s)});  // no ENDPOINT_UNREACHABLE
  const auto ev = h.event("job_rejected");
  EXPECT_EQ(ev["job"], 1);
  EXPECT_EQ(ev["pe"], hex(1));
  EXPECT_EQ(h.core.state(), PuState::backoff);
  EXPECT_EQ(h.deadline_ms(), 61010);
  h.tick(at(61009));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(61010));
  EXPECT_EQ(h.ops(), Ops{kHr0});
  EXPECT_EQ(h.core.state(), PuState::resolving);
  // The registrar offers the rejecting PE first again: the other one is taken.
  const SessionId s2 = h.resolve_connect(0, {1, 2}, at(61020));
  EXPECT_EQ(h.ops(), Ops{send_pe(s2, "REQUEST")});
  h.pe_calc(s2, MT::accept, 1, 0, at(61030));
  EXPECT_TRUE(h.events("failover").empty());
  h.pe_calc(s2, MT::complete, 1, kSize, at(62030));
  const auto job = h.event("job");
  EXPECT_EQ(job["pe"], hex(2));
  EXPECT_EQ(job["rejects"], 1);
  EXPECT_EQ(job["failovers"], 0);
  EXPECT_EQ(job["startup_delay_us"], 1030000);
  expect_consistent(job);
  EXPECT_EQ(h.core.counters().rejects, 1u);
  EXPECT_EQ(h.core.counters().unreachable_reports, 0u);
  EXPECT_EQ(h.core.counters().failovers, 0u);
  EXPECT_TRUE(h.logged("failover").empty());
}

TEST(PuCoreReject, OnlyTheRejectingPeOfferedIsTriedAgain) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1}, at(60000));
  h.pe_calc(s, MT::reject, 1, 0, at(60010));
  h.tick(at(61010));
  h.reg_in(0, answer({1}), at(61020));
  EXPECT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
}

TEST(PuCoreReject, RandomRetryDelayWithinItsDistribution) {
  auto config = make_pu_config();
  config.reject_retry_delay = {values::Distribution::uniform, values::ValueKind::duration, 0.0,
                               0.2};
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(60000));
  SessionId s = h.resolve_connect(0, {1}, at(60000));
  std::int64_t t = 60000;
  for (int i = 0; i < 20; ++i) {
    h.pe_calc(s, MT::reject, 1, 0, at(t));
    const auto d = h.deadline_ms();
    ASSERT_TRUE(d);
    EXPECT_GE(*d, t);
    EXPECT_LE(*d, t + 200);
    t = *d + 1;
    h.tick(at(t));
    ASSERT_EQ(h.ops(), Ops{kHr0});
    s = h.resolve_connect(0, {1}, at(t));
  }
  EXPECT_EQ(h.core.counters().rejects, 20u);
}

// ---------------------------------------------------------------------------------------
// Failover

TEST(PuCoreFailover, ConnectionLossEchoesTheLatestCookieOnAnotherPe) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60100));
  h.pe_cookie(s, 1, 200000, at(61000));
  h.pe_cookie(s, 1, 400000, at(62000));
  h.pe_cookie(s, 2, 900000, at(62100));  // another job's cookie: not kept
  EXPECT_EQ(h.event("message_discarded")["reason"], "cookie of another job");
  h.pe_calc(s, MT::keepalive_ack, 1, 500000, at(62500));

  h.pe_closed(s, at(63000));
  // First PE 1 again (over every pair of addresses): the PU's own path may have failed.
  ASSERT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
  EXPECT_EQ(h.core.counters().unreachable_reports, 0u);
  h.pe_connect_failed(s + 1, at(63050));  // PE 1 is gone: reported
  ASSERT_EQ(h.ops(), (Ops{kEu0, kHr0}));
  const auto eu = h.sent_registrar<asap::EndpointUnreachable>(0, 0);
  EXPECT_EQ(eu->pool_handle, kPool);
  EXPECT_EQ(eu->pe_identifier, 1u);
  EXPECT_EQ(h.core.state(), PuState::resolving);
  EXPECT_TRUE(h.events("failover").empty());  // written once the job is accepted again

  const SessionId s2 = h.resolve_connect(0, {1, 2}, at(63100));  // PE 1 avoided
  EXPECT_EQ(s2, s + 2);
  ASSERT_EQ(h.ops(), Ops{send_pe(s2, "ASAP_COOKIE_ECHO")});
  const auto echo = h.sent_pe_asap<asap::CookieEcho>(0, s2);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->cookie, cookie_bytes(1, 400000));

  h.pe_calc(s2, MT::accept, 1, 400000, at(63200));
  const auto f = h.event("failover");
  EXPECT_EQ(f["job"], 1);
  EXPECT_EQ(f["from_pe"], hex(1));
  EXPECT_EQ(f["to_pe"], hex(2));
  EXPECT_EQ(f["cause"], "connection_lost");
  EXPECT_EQ(f["detection_delay_us"], 500000);  // since the KEEPALIVE_ACK
  EXPECT_EQ(f["cookie"], true);
  EXPECT_EQ(f["resumed"], 400000);
  EXPECT_EQ(f["lost"], 100000);
  EXPECT_EQ(f["attempts"], 2);  // PE 1 again, then PE 2

  h.pe_cookie(s2, 1, 800000, at(63500));
  h.pe_calc(s2, MT::complete, 1, kSize, at(63800));
  const auto job = h.event("job");
  EXPECT_EQ(job["accepted_us"], abs_us(60100));  // the first acceptance
  EXPECT_EQ(job["pe"], hex(2));
  EXPECT_EQ(job["failovers"], 1);
  EXPECT_EQ(job["rejects"], 0);
  expect_consistent(job);
  EXPECT_EQ(h.core.counters().failovers, 1u);
  EXPECT_EQ(h.core.counters().unreachable_reports, 1u);
  EXPECT_EQ(h.logged("failover").size(), 1u);
}

TEST(PuCoreFailover, KeepAliveTimeoutWithoutCookieRestartsFromZero) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_calc(s, MT::keepalive_ack, 1, 250000, at(61000));  // last heard
  h.tick(at(66000));
  ASSERT_EQ(h.ops(), Ops{send_pe(s, "KEEPALIVE")});
  EXPECT_EQ(h.deadline_ms(), 71000);  // interval + timeout after last heard
  h.tick(at(70999));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(71000));
  ASSERT_EQ(h.ops(), (Ops{close_pe(s), connect_pe(s + 1, 1)}));
  h.pe_connect_failed(s + 1, at(71050));
  ASSERT_EQ(h.ops(), (Ops{kEu0, kHr0}));

  const SessionId s2 = h.resolve_connect(0, {2}, at(71100));
  EXPECT_EQ(*h.sent_calc(0, s2), (calc::Message{MT::request, 0, 1, kSize, 0}));  // from 0
  h.pe_calc(s2, MT::accept, 1, 0, at(71200));
  const auto f = h.event("failover");
  EXPECT_EQ(f["cause"], "keepalive_timeout");
  EXPECT_EQ(f["detection_delay_us"], 10000000);
  EXPECT_EQ(f["from_pe"], hex(1));
  EXPECT_EQ(f["to_pe"], hex(2));
  EXPECT_EQ(f["cookie"], false);
  EXPECT_EQ(f["resumed"], 0);
  EXPECT_EQ(f["lost"], 250000);
  EXPECT_EQ(f["attempts"], 2);
}

// Issue 12: the failover says when the PE was given up and the PU's end of the failed
// session (what the PE's progress report names), so that the store can match the two.
TEST(PuCoreFailover, SaysWhenThePeWasGivenUpAndThePusEndOfTheSession) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000), {{"198.18.1.2"}, 43556});
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_closed(s, at(61500));
  // PE 1 again first (the PU's path may have failed); it is gone. The failover keeps the
  // first failure's time and session end.
  ASSERT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
  h.pe_connect_failed(s + 1, at(61550));
  const SessionId s2 = h.resolve_connect(0, {2}, at(61600));
  h.pe_calc(s2, MT::accept, 1, 0, at(61700));
  const auto f = h.event("failover");
  EXPECT_EQ(f["cause"], "connection_lost");
  EXPECT_EQ(f["detected_us"], kEpochUs + 61'500'000);
  EXPECT_EQ(f["local_addresses"], json::array({"198.18.1.2"}));
  EXPECT_EQ(f["local_port"], 43556);
}

// The wall clock is slewed against the steady one: times in events count from the latest
// anchor, so a failover's `detected_us` is the wall clock's reading near the detection.
TEST(PuCoreFailover, DetectionTimeCountsFromTheLatestClockAnchor) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  // The wall clock ran 3 ms behind the steady clock over the first minute.
  h.core.anchor_clock(at(61000), kEpochUs + 61'000'000 - 3'000);
  h.pe_closed(s, at(61500));
  ASSERT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
  h.pe_connect_failed(s + 1, at(61550));
  const SessionId s2 = h.resolve_connect(0, {2}, at(61600));
  h.pe_calc(s2, MT::accept, 1, 0, at(61700));
  EXPECT_EQ(h.event("failover")["detected_us"], kEpochUs + 61'500'000 - 3'000);
}

TEST(PuCoreFailover, ConnectFailuresAndTimeoutsContinueOneFailover) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  h.reg_in(0, answer({1, 2, 3}), at(60000));
  ASSERT_EQ(h.ops(), Ops{connect_pe(1, 1)});
  h.pe_connect_failed(1, at(60050));
  ASSERT_EQ(h.ops(), (Ops{kEu0, kHr0}));
  h.reg_in(0, answer({1, 2, 3}), at(60100));
  ASSERT_EQ(h.ops(), Ops{connect_pe(2, 2)});
  EXPECT_EQ(h.deadline_ms(), 65100);
  h.pe_connected(1, at(60200));  // the old session: ignored
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(65100));  // PE 2 does not answer the connect: closed, reported
  ASSERT_EQ(h.ops(), (Ops{close_pe(2), kEu0, kHr0}));
  EXPECT_EQ(h.sent_registrar<asap::EndpointUnreachable>(1, 0)->pe_identifier, 2u);
  h.reg_in(0, answer({2, 3}), at(65200));
  ASSERT_EQ(h.ops(), Ops{connect_pe(3, 3)});
  h.pe_connected(3, at(65300));
  h.pe_calc(3, MT::accept, 1, 0, at(65400));
  const auto f = h.event("failover");
  EXPECT_EQ(f["cause"], "connect_failed");
  EXPECT_EQ(f["from_pe"], hex(1));
  EXPECT_EQ(f["to_pe"], hex(3));
  EXPECT_EQ(f["detection_delay_us"], 50000);  // since the connect attempt began
  EXPECT_EQ(f["attempts"], 2);
  EXPECT_EQ(f["lost"], 0);
  h.pe_calc(3, MT::complete, 1, kSize, at(66000));
  const auto job = h.event("job");
  EXPECT_EQ(job["failovers"], 1);
  EXPECT_EQ(job["accepted_us"], abs_us(65400));
  expect_consistent(job);
  EXPECT_EQ(h.core.counters().unreachable_reports, 2u);
}

TEST(PuCoreFailover, NoReportWithoutARegistrarConnection) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.reg_closed(0, at(60500));
  ASSERT_EQ(h.ops(), Ops{"connect_registrar 1"});
  h.pe_closed(s, at(61000));
  EXPECT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
  h.pe_connect_failed(s + 1, at(61050));  // registrar 1 still connecting: nothing to report to
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.core.counters().unreachable_reports, 0u);
  h.reg_connected(1, at(61100));
  EXPECT_EQ(h.ops(), Ops{kHr1});
}

TEST(PuCoreFailover, RejectDuringAFailoverCountsAsAnAttempt) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  SessionId s = h.resolve_connect(0, {1, 2, 3}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_cookie(s, 1, 300000, at(60500));
  h.pe_closed(s, at(61000));
  h.pe_connect_failed(s + 1, at(61000));
  s = h.resolve_connect(0, {1, 2, 3}, at(61000));
  EXPECT_EQ(h.ops(), Ops{send_pe(s, "ASAP_COOKIE_ECHO")});
  h.pe_calc(s, MT::reject, 1, 0, at(61100));
  EXPECT_EQ(h.ops(), Ops{close_pe(s)});
  EXPECT_TRUE(h.events("failover").empty());
  h.tick(at(62100));
  s = h.resolve_connect(0, {2, 3}, at(62100));  // PE 2 rejected it: PE 3
  EXPECT_EQ(h.sent_pe_asap<asap::CookieEcho>(0, s)->cookie, cookie_bytes(1, 300000));
  h.pe_calc(s, MT::accept, 1, 300000, at(62200));
  const auto f = h.event("failover");
  EXPECT_EQ(f["to_pe"], hex(3));
  EXPECT_EQ(f["attempts"], 3);  // PE 1 again, 2, 3
  EXPECT_EQ(f["lost"], 0);
  EXPECT_EQ(f["resumed"], 300000);
}

// A session that breaks because the PU's own path failed (its link down, say): the PE is
// reached again over the other pairs of addresses, resumes the job from the cookie, and is
// neither reported nor avoided.
TEST(PuCoreFailover, BrokenSessionReachedAgainIsNotReported) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_cookie(s, 1, 300000, at(60500));
  h.pe_calc(s, MT::keepalive_ack, 1, 400000, at(61000));
  h.tick(at(66000));
  ASSERT_EQ(h.ops(), Ops{send_pe(s, "KEEPALIVE")});
  h.tick(at(71000));  // silent: the path is gone, perhaps not the PE
  ASSERT_EQ(h.ops(), (Ops{close_pe(s), connect_pe(s + 1, 1)}));
  EXPECT_EQ(h.out.ops[1].pe, pool_element(1).user_transport);
  h.pe_connected(s + 1, at(71100));
  ASSERT_EQ(h.ops(), Ops{send_pe(s + 1, "ASAP_COOKIE_ECHO")});
  h.pe_calc(s + 1, MT::accept, 1, 300000, at(71200));
  const auto f = h.event("failover");
  EXPECT_EQ(f["cause"], "keepalive_timeout");
  EXPECT_EQ(f["from_pe"], hex(1));
  EXPECT_EQ(f["to_pe"], hex(1));
  EXPECT_EQ(f["resumed"], 300000);
  EXPECT_EQ(f["lost"], 100000);
  EXPECT_EQ(f["paths"], json::array());
  h.pe_calc(s + 1, MT::complete, 1, kSize, at(72000));
  EXPECT_EQ(h.event("job")["pe"], hex(1));
  EXPECT_EQ(h.core.counters().unreachable_reports, 0u);
  EXPECT_EQ(h.core.counters().jobs_completed, 1u);
}

// Reached again but silent (a frozen PE's kernel still accepts): the request is the probe;
// no answer within the keep-alive timeout and the PE is reported. It is reached again once
// per failure, not in a loop.
TEST(PuCoreFailover, ReachedAgainButSilentIsReportedAfterTheKeepAliveTimeout) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_closed(s, at(61000));
  ASSERT_EQ(h.ops(), Ops{connect_pe(s + 1, 1)});
  h.pe_connected(s + 1, at(61000));
  ASSERT_EQ(h.ops(), Ops{send_pe(s + 1, "REQUEST")});
  EXPECT_EQ(h.deadline_ms(), 66000);
  h.tick(at(66000));
  ASSERT_EQ(h.ops(), (Ops{close_pe(s + 1), kEu0, kHr0}));
  EXPECT_EQ(h.sent_registrar<asap::EndpointUnreachable>(1, 0)->pe_identifier, 1u);
  const SessionId s2 = h.resolve_connect(0, {1, 2}, at(66100));
  h.pe_calc(s2, MT::accept, 1, 0, at(66200));
  const auto f = h.event("failover");
  EXPECT_EQ(f["cause"], "connection_lost");
  EXPECT_EQ(f["to_pe"], hex(2));
  EXPECT_EQ(h.core.counters().unreachable_reports, 1u);
  EXPECT_EQ(h.core.counters().failovers, 1u);
}

// The pairs of addresses the shell tried in vain are the failover event's `paths`.
TEST(PuCoreFailover, FailedPathsAreListedInTheFailoverEvent) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  h.reg_in(0, answer({1, 2}), at(60000));
  ASSERT_EQ(h.ops(), Ops{connect_pe(1, 1)});
  h.pe_connect_failed(1, at(60050),
                      {"198.18.1.2->198.18.2.2: connection attempt timed out",
                       "198.18.65.2->198.18.2.2: Connection refused"});
  ASSERT_EQ(h.ops(), (Ops{kEu0, kHr0}));
  const SessionId s = h.resolve_connect(0, {1, 2}, at(60100));
  h.pe_calc(s, MT::accept, 1, 0, at(60200));
  EXPECT_EQ(h.event("failover")["paths"],
            json::array({"198.18.1.2->198.18.2.2: connection attempt timed out",
                         "198.18.65.2->198.18.2.2: Connection refused"}));
}

// ---------------------------------------------------------------------------------------
// The end of a run

// Producer and store agree (tests/common/typed_events.hpp): a run with a registrar
// failover, an empty pool, a reject, a failover with a cookie, a completed and an unfinished
// job writes every PU event that has a struct in stack/common/events.hpp, and each parses back
// through it (the harness checks every event; here, that all of them came).
TEST(PuCoreEvents, EveryTypedEventOfARunParsesBackThroughItsStruct) {
  namespace ev = rsplab::common;
  PuHarness h(make_pu_config(30));
  h.up(at(0));
  h.reg_closed(0, at(100));  // registrar_failover 0 -> 1
  h.reg_connected(1, at(200));
  h.tick(at(30000));
  h.reg_in(1, error_answer(CauseCode::unknown_pool_handle), at(30010));  // an error answer
  h.tick(at(30260));
  const SessionId s = h.resolve_connect(1, {1, 2}, at(30300));
  h.pe_calc(s, MT::reject, 1, 0, at(30310));  // job_rejected
  h.tick(at(31310));
  const SessionId s2 = h.resolve_connect(1, {1, 2}, at(31320));
  h.pe_calc(s2, MT::accept, 1, 0, at(31330));
  h.pe_cookie(s2, 1, 400000, at(31500));
  h.pe_closed(s2, at(31600));
  h.pe_connect_failed(s2 + 1, at(31650), {"*->10.0.1.2: refused"});  // failover
  const SessionId s3 = h.resolve_connect(1, {3}, at(31700), {{"10.0.0.9"}, 40001});
  h.pe_calc(s3, MT::accept, 1, 400000, at(31710));
  h.pe_calc(s3, MT::complete, 1, kSize, at(32000));  // job: completed
  h.tick(at(60000));
  h.stop(at(60001));  // job: unfinished
  std::set<std::string> typed;
  for (const json& e : h.log)
    if (typed_events::expect_typed(typed_events::Role::pu, e)) typed.insert(e["event"]);
  EXPECT_EQ(typed, (std::set<std::string>{ev::HandleResolutionEvent::kName,
                                           ev::FailoverEvent::kName, ev::JobEvent::kName,
                                           ev::PuJobRejectedEvent::kName,
                                           ev::RegistrarFailoverEvent::kName,
                                           ev::CalcAppDoneEvent::kName}));
  const auto f = h.logged("failover").at(0).get<ev::FailoverEvent>();
  EXPECT_EQ(f.to_pe, hex(3));
  EXPECT_EQ(f.resumed, 400000);
  EXPECT_EQ(f.paths, std::vector<std::string>{"*->10.0.1.2: refused"});
  EXPECT_EQ(f.local_addresses, std::nullopt);  // the session to PE 2 never said its end
  const auto empty = h.logged("handle_resolution").at(0).get<ev::HandleResolutionEvent>();
  EXPECT_EQ(empty.error, "Unknown Pool Handle");
  std::vector<std::string> status;
  for (const json& e : h.logged("job")) status.push_back(e.get<ev::JobEvent>().status);
  EXPECT_EQ(status, (std::vector<std::string>{"completed", "unfinished"}));
  const auto done = h.logged("done").at(0).get<ev::CalcAppDoneEvent>();
  EXPECT_FALSE(ev::EchoDoneEvent::matches(h.logged("done").at(0)));
  EXPECT_EQ(done.reason, "stop");
  EXPECT_EQ(done.jobs_completed, 1);
  EXPECT_EQ(done.jobs_unfinished, 1);
  EXPECT_EQ(done.failovers, 1);
  EXPECT_EQ(done.registrar_failovers, 1);
  EXPECT_EQ(done.rejects, 1);
}

TEST(PuCoreLifecycle, MaxJobsEndsTheRun) {
  auto config = make_pu_config(10);
  config.max_jobs = 2;
  config.keepalive_interval = milliseconds(1000000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(10000));
  SessionId s = h.resolve_connect(0, {1}, at(10000));
  h.pe_calc(s, MT::accept, 1, 0, at(10000));
  h.tick(at(100000));  // long: job 2 arrived, and no more
  EXPECT_EQ(h.core.queued(), 2u);
  EXPECT_EQ(h.core.counters().jobs_generated, 2u);
  h.pe_calc(s, MT::complete, 1, kSize, at(100000));
  s = h.resolve_connect(0, {1}, at(100000));
  h.pe_calc(s, MT::accept, 2, 0, at(100000));
  h.pe_calc(s, MT::complete, 2, kSize, at(101000));
  EXPECT_EQ(h.ops(), (Ops{close_pe(s), "close_registrar 0"}));
  EXPECT_EQ(h.event("job")["job"], 2);
  const auto done = h.event("done");
  EXPECT_EQ(done["reason"], "max_jobs");
  EXPECT_EQ(done["jobs_completed"], 2);
  EXPECT_EQ(done["jobs_unfinished"], 0);
  EXPECT_EQ(done["jobs_generated"], 2);
  EXPECT_GT(done["handling_speed"].get<double>(), 0);
  EXPECT_EQ(h.core.state(), PuState::done);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);

  // Done: inputs are ignored, stop() too.
  h.tick(at(200000));
  h.reg_in(0, answer({1}), at(200000));
  h.pe_calc(s, MT::complete, 2, kSize, at(200000));
  h.stop(at(200000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.counters().discarded, 0u);
}

TEST(PuCoreLifecycle, StopRecordsUnfinishedJobsAndClosesEverything) {
  auto config = make_pu_config(10);
  config.keepalive_interval = milliseconds(1000000);
  PuHarness h(config);
  h.up(at(0));
  h.tick(at(10000));
  const SessionId s = h.resolve_connect(0, {1}, at(10000));
  h.pe_calc(s, MT::accept, 1, 0, at(10500));
  h.tick(at(20000));
  h.stop(at(35000));  // job 3 arrived at 30 s, not yet ticked
  EXPECT_EQ(h.ops(), (Ops{close_pe(s), "close_registrar 0"}));
  const auto jobs = h.events("job");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["job"], 1);
  EXPECT_EQ(jobs[0]["status"], "unfinished");
  EXPECT_EQ(jobs[0]["started_us"], abs_us(10000));
  EXPECT_EQ(jobs[0]["accepted_us"], abs_us(10500));
  EXPECT_EQ(jobs[0]["completed_us"], nullptr);
  EXPECT_EQ(jobs[0]["pe"], hex(1));
  EXPECT_EQ(jobs[0]["startup_delay_us"], 500000);
  EXPECT_EQ(jobs[0]["processing_us"], nullptr);
  EXPECT_EQ(jobs[0]["handling_us"], nullptr);
  EXPECT_EQ(jobs[0]["handling_speed"], nullptr);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(jobs[i]["job"], i + 1);
    EXPECT_EQ(jobs[i]["status"], "unfinished");
    EXPECT_EQ(jobs[i]["queued_us"], abs_us(10000 * (i + 1)));
    EXPECT_EQ(jobs[i]["started_us"], nullptr);
    EXPECT_EQ(jobs[i]["pe"], nullptr);
    EXPECT_EQ(jobs[i]["queuing_delay_us"], nullptr);
  }
  const auto done = h.event("done");
  EXPECT_EQ(done["reason"], "stop");
  EXPECT_EQ(done["jobs_completed"], 0);
  EXPECT_EQ(done["jobs_unfinished"], 3);
  EXPECT_EQ(done["handling_speed"], 0);
  EXPECT_EQ(h.core.state(), PuState::done);
  EXPECT_EQ(h.core.counters().jobs_unfinished, 3u);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.stop(at(36000));  // idempotent
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
}

TEST(PuCoreLifecycle, StopDuringAFailoverWritesItUnresolved) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  h.pe_cookie(s, 1, 300000, at(60500));
  h.pe_closed(s, at(61000));
  h.pe_connect_failed(s + 1, at(61005));
  h.reg_in(0, answer({}), at(61010));  // nobody left
  h.stop(at(62000));
  EXPECT_EQ(h.ops(), Ops{"close_registrar 0"});
  ASSERT_EQ(h.out.events.size(), 3u) << h.text();
  EXPECT_EQ(h.out.events[0]["event"], "failover");
  EXPECT_EQ(h.out.events[1]["event"], "job");
  EXPECT_EQ(h.out.events[2]["event"], "done");
  const auto f = h.event("failover");
  EXPECT_EQ(f["to_pe"], nullptr);
  EXPECT_EQ(f["cookie"], false);
  EXPECT_EQ(f["resumed"], nullptr);
  EXPECT_EQ(f["lost"], 300000);
  EXPECT_EQ(f["attempts"], 1);  // PE 1 again
  EXPECT_EQ(h.event("job")["failovers"], 1);
}

TEST(PuCoreLifecycle, StopBeforeStartAndStateNames) {
  PuHarness h;
  h.stop(at(0));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("done")["jobs_unfinished"], 0);
  EXPECT_EQ(h.core.state(), PuState::done);
  h.start(at(0));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(ses::state_name(PuState::idle), "idle");
  EXPECT_EQ(ses::state_name(PuState::resolving), "resolving");
  EXPECT_EQ(ses::state_name(PuState::connecting), "connecting");
  EXPECT_EQ(ses::state_name(PuState::requested), "requested");
  EXPECT_EQ(ses::state_name(PuState::running), "running");
  EXPECT_EQ(ses::state_name(PuState::backoff), "backoff");
  EXPECT_EQ(ses::state_name(PuState::done), "done");
}

// ---------------------------------------------------------------------------------------
// Unexpected and malformed input

TEST(PuCoreInput, UnexpectedMessagesAreDiscarded) {
  PuHarness h;
  h.up(at(0));
  h.reg_in(0, answer({1}), at(100));  // nothing asked
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected Handle Resolution Response");
  EXPECT_EQ(h.event("message_discarded")["from"], "registrar 0");
  h.reg_in(0, asap::EndpointKeepAlive{false, 1, kPool, std::nullopt}, at(200));
  EXPECT_EQ(h.event("message_discarded")["reason"],
            "a PU does not take ASAP_ENDPOINT_KEEP_ALIVE");
  h.reg_in(5, answer({1}), at(300));  // no such registrar
  EXPECT_EQ(h.events("message_discarded").size(), 1u);

  h.tick(at(60000));
  auto other = answer({1});
  other.pool_handle = "other";
  h.reg_in(0, other, at(60010));
  EXPECT_EQ(h.event("message_discarded")["reason"],
            "Handle Resolution Response for another pool");
  EXPECT_TRUE(h.out.ops.empty());
  const SessionId s = h.resolve_connect(0, {1}, at(60020));

  h.pe_calc(s + 7, MT::accept, 1, 0, at(60030));  // unknown session
  EXPECT_EQ(h.event("message_discarded")["from"], "session " + std::to_string(s + 7));
  EXPECT_EQ(h.event("message_discarded")["reason"], "not the current session");
  h.pe_calc(s, MT::complete, 1, kSize, at(60040));  // before ACCEPT
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected COMPLETE");
  h.pe_calc(s, MT::accept, 9, 0, at(60050));
  EXPECT_EQ(h.event("message_discarded")["reason"], "ACCEPT for another job");
  h.pe_calc(s, MT::request, 1, 0, at(60060));
  EXPECT_EQ(h.event("message_discarded")["reason"], "a PU does not take REQUEST");
  h.pe_raw(s, 99, calc_bytes(MT::accept, 1, 0), at(60070));
  EXPECT_EQ(h.event("message_discarded")["reason"], "unknown PPID 99");
  h.pe_raw(s, w::kPpidAsap, w::encode(asap::Message{asap::CookieEcho{cookie_bytes(1, 0)}}),
           at(60080));
  EXPECT_EQ(h.event("message_discarded")["reason"],
            "a PU does not take ASAP_COOKIE_ECHO from a PE");
  h.pe_raw(s, w::kPpidAsap, w::encode(asap::Message{asap::Cookie{{1, 2, 3}}}), at(60090));
  EXPECT_EQ(h.events("message_discarded").size(), 1u);  // a malformed CalcApp cookie
  EXPECT_EQ(h.core.state(), PuState::requested);

  h.pe_calc(s, MT::accept, 1, 0, at(60100));
  EXPECT_TRUE(h.out.events.empty());
  h.pe_calc(s, MT::accept, 1, 0, at(60110));
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected ACCEPT");
  h.pe_calc(s, MT::reject, 1, 0, at(60120));
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected REJECT");
  h.pe_calc(s, MT::complete, 1, kSize, at(60130));
  EXPECT_EQ(h.event("job")["status"], "completed");
  h.pe_calc(s, MT::complete, 1, kSize, at(60140));  // the session is gone
  EXPECT_EQ(h.event("message_discarded")["reason"], "not the current session");
  EXPECT_EQ(h.core.counters().jobs_completed, 1u);
  EXPECT_EQ(h.core.counters().discarded, 14u);
}

TEST(PuCoreInput, RandomBytesNeverBreakTheCore) {
  PuHarness h;
  h.up(at(0));
  h.tick(at(60000));
  const SessionId s = h.resolve_connect(0, {1}, at(60000));
  h.pe_calc(s, MT::accept, 1, 0, at(60000));
  rserpool::handlespace::Rng rng(99);
  const std::vector<Bytes> valid = {w::encode(answer({1, 2})), calc_bytes(MT::complete, 1, kSize),
                                    asap_cookie(1, 5000), calc_bytes(MT::keepalive_ack, 1, 7)};
  std::uint64_t inputs = 0;
  for (int i = 0; i < 4000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(rng.below(80));
      for (auto& x : b) x = static_cast<std::uint8_t>(rng.below(256));
      if (!b.empty() && rng.below(2) == 0) b[0] = static_cast<std::uint8_t>(rng.below(16));
    } else {  // a strict prefix of a valid message
      const auto& v = valid[rng.below(valid.size())];
      b.assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rng.below(v.size())));
    }
    const auto t = at(60000 + i);
    switch (rng.below(3)) {
      case 0: h.reg_raw(0, b, t); break;
      case 1: h.pe_raw(s, w::kPpidCalcApp, b, t); break;
      default: h.pe_raw(s, w::kPpidAsap, b, t); break;
    }
    ++inputs;
    ASSERT_TRUE(h.out.ops.empty()) << i << ": " << testing::PrintToString(h.ops());
    ASSERT_EQ(h.events("message_discarded").size(), 1u) << i << ": " << h.text();
  }
  EXPECT_EQ(h.core.counters().discarded, inputs);
  EXPECT_EQ(h.core.state(), PuState::running);
  h.pe_calc(s, MT::complete, 1, kSize, at(70000));
  EXPECT_EQ(h.event("job")["status"], "completed");
}

// ---------------------------------------------------------------------------------------
// Wired to a real registrar core with a PE registered by a PeCore

namespace reg = rserpool::registrar;

TEST(PuWired, ResolutionAtARealRegistrarReturnsTheRegisteredPe) {
  constexpr reg::ConnId kPeConn = 7, kPuConn = 8;
  reg::Config pr_config;
  pr_config.identifier = 0x5151;
  reg::Core pr(pr_config);
  reg::Actions pr_out;
  ses::PeCore pe(make_config(1));
  ses::Actions pe_out;
  PuHarness pu(make_pu_config(60, 1));
  const TimePoint now = at(0);

  // The PE registers.
  pe.start(now, pe_out);
  ASSERT_EQ(pe_out.ops.size(), 1u);
  pr.opened(kPeConn, reg::Peer{w::TransportKind::sctp, {*w::Address::parse("10.0.0.1")}, 40000});
  pe_out.clear();
  pe.registrar_connected(0, now, pe_out);
  ASSERT_EQ(pe_out.ops.size(), 1u);
  pr.received_asap(kPeConn, pe_out.ops[0].message, now, pr_out);
  ASSERT_EQ(pr_out.sends.size(), 1u);
  pe.received(0, pr_out.sends[0].message, now, pe_out);
  pr_out.clear();
  ASSERT_EQ(pe.state(), PeState::registered);

  // The PU connects and resolves when its first job arrives.
  pu.start(now);
  ASSERT_EQ(pu.ops(), Ops{"connect_registrar 0"});
  pr.opened(kPuConn, reg::Peer{w::TransportKind::tcp, {*w::Address::parse("10.0.0.2")}, 40001});
  pu.reg_connected(0, now);
  const TimePoint arrival = at(60000);
  pu.tick(arrival);
  ASSERT_EQ(pu.ops(), Ops{kHr0});
  pr.received_asap(kPuConn, pu.out.ops[0].message, arrival, pr_out);
  ASSERT_EQ(pr_out.sends.size(), 1u);
  EXPECT_EQ(pr_out.sends[0].conn, kPuConn);
  pu.reg_raw(0, pr_out.sends[0].message, arrival);

  ASSERT_EQ(pu.ops(), Ops{connect_pe(1, kPe)});
  EXPECT_EQ(pu.out.ops[0].pe.port, 5000);
  EXPECT_EQ(pu.out.ops[0].pe.addresses, std::vector<w::Address>{*w::Address::parse("10.0.0.1")});
  const auto ev = pu.event("handle_resolution");
  EXPECT_EQ(ev["pes"], json::array({hex(kPe)}));
  EXPECT_EQ(ev["registrar"], 0);
  EXPECT_EQ(pu.core.counters().discarded, 0u);
}

}  // namespace
}  // namespace session_test
