// The echo service over the generic session layer, in memory with simulated time: the PU
// core (echo::PuCore) wired to EchoService PEs, a registrar answering resolutions with the
// PEs not reported unreachable (in identifier order), messages delivered at once. A killed
// PE resets its connections and refuses new ones (kill -9: the kernel answers); a frozen PE
// accepts connections and answers nothing (SIGSTOP).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/echo/messages.hpp"
#include "stack/echo/pe_service.hpp"
#include "stack/echo/pu_core.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/messages.hpp"
#include "tests/common/typed_events.hpp"

namespace {

namespace echo = rserpool::echo;
namespace ses = rserpool::session;
namespace w = rserpool::wire;
namespace asap = w::asap;
using json = nlohmann::json;
using ses::SessionId;
using ses::TimePoint;
using std::chrono::milliseconds;

const TimePoint T0 = TimePoint(std::chrono::hours(1000));
TimePoint at(std::int64_t ms) { return T0 + milliseconds(ms); }
const std::string kPool = "echo";

w::PoolElement pool_element(std::uint32_t id) {
  w::PoolElement pe;
  pe.identifier = id;
  pe.home_server = 0x5151;
  pe.registration_life = 90000;
  pe.user_transport.kind = w::TransportKind::tcp;
  pe.user_transport.port = static_cast<std::uint16_t>(6000 + id);
  pe.user_transport.addresses = {w::Address::v4(10, 0, 1, static_cast<std::uint8_t>(id))};
  pe.policy.type = w::PolicyType::round_robin;
  return pe;
}

echo::PuConfig pu_config(std::uint64_t count) {
  echo::PuConfig c;
  c.pool_handle = kPool;
  c.registrar_count = 1;
  c.seed = 3;
  c.keepalive_interval = milliseconds(5000);
  c.keepalive_timeout = milliseconds(5000);
  c.interval = milliseconds(1000);
  c.count = count;
  c.epoch = T0;
  c.epoch_us = 1'700'000'000'000'000;
  return c;
}

echo::ServiceConfig pe_config(std::uint64_t cookie_every) {
  echo::ServiceConfig c;
  c.session.keepalive_interval = milliseconds(2500);
  c.session.keepalive_timeout = milliseconds(2500);
  c.cookie_every = cookie_every;
  return c;
}

class World {
 public:
  enum class Mode { up, killed, frozen };

  World(std::uint64_t count, std::uint64_t cookie_every, std::vector<std::uint32_t> ids)
      : pu(pu_config(count)) {
    for (const auto id : ids) pes.try_emplace(id, pe_config(cookie_every));
  }

  void start() { pu_do([&](ses::PuActions& a) { pu.start(now, a); }); }
  void stop() { pu_do([&](ses::PuActions& a) { pu.stop(now, a); }); }

  // Every timer due until `end`, in time order; then the clock at `end`.
  void run_until(TimePoint end) {
    for (int guard = 0; guard < 100000; ++guard) {
      std::optional<TimePoint> t = pu.next_deadline();
      for (auto& [id, pe] : pes)
        if (pe.mode == Mode::up)
          if (const auto d = pe.service.next_deadline(); d && (!t || *d < *t)) t = d;
      if (!t || *t > end) break;
      now = std::max(now, *t);
      pu_do([&](ses::PuActions& a) { pu.tick(now, a); });
      for (auto& [id, pe] : pes)
        if (pe.mode == Mode::up) pe_do(id, [&](echo::EchoService& s, ses::ServiceActions& a) {
            s.tick(now, a);
          });
    }
    now = end;
  }

  // kill -9: its connections reset, new ones refused; its state gone.
  void kill(std::uint32_t id) {
    pes.at(id).mode = Mode::killed;
    for (auto it = open.begin(); it != open.end();) {
      const SessionId s = *it;
      if (pe_of.at(s) != id) {
        ++it;
        continue;
      }
      it = open.erase(it);
      pu_do([&](ses::PuActions& a) { pu.pe_closed(s, now, a); });
    }
  }
  void freeze(std::uint32_t id) { pes.at(id).mode = Mode::frozen; }

  std::vector<json> pu_events(std::string_view name) const { return filter(pu_log, name); }
  std::vector<json> pe_events(std::uint32_t id, std::string_view name) const {
    const auto it = pe_log.find(id);
    return it == pe_log.end() ? std::vector<json>{} : filter(it->second, name);
  }
  json done() const {
    const auto v = pu_events("done");
    EXPECT_EQ(v.size(), 1u) << json(pu_log).dump();
    return v.empty() ? json::object() : v[0];
  }

  struct Pe {
    explicit Pe(echo::ServiceConfig c) : service(c) {}
    echo::EchoService service;
    Mode mode = Mode::up;
  };

  TimePoint now = T0;
  echo::PuCore pu;
  std::map<std::uint32_t, Pe> pes;
  std::map<SessionId, std::uint32_t> pe_of;  // the PE each PU session went to
  std::set<SessionId> open;                  // sessions a PE holds
  std::set<std::uint32_t> unreachable;       // reported by the PU
  std::uint64_t dropped_pings = 0;           // PINGs that reached no PE
  std::vector<std::uint64_t> pong_replies;   // reply numbers delivered to the PU, in order
  std::vector<json> pu_log;
  std::map<std::uint32_t, std::vector<json>> pe_log;

 private:
  static std::vector<json> filter(const std::vector<json>& from, std::string_view name) {
    std::vector<json> v;
    for (const auto& e : from)
      if (e.value("event", "") == name) v.push_back(e);
    return v;
  }

  void pu_do(const std::function<void(ses::PuActions&)>& f) {
    ses::PuActions a;
    f(a);
    for (const auto& e : a.events) {
      typed_events::expect_has_struct(typed_events::Role::pu, e);
      pu_log.push_back(e);
    }
    for (const auto& op : a.ops) pu_op(op);
  }

  void pe_do(std::uint32_t id,
             const std::function<void(echo::EchoService&, ses::ServiceActions&)>& f) {
    ses::ServiceActions a;
    f(pes.at(id).service, a);
    for (const auto& e : a.events) {
      typed_events::expect_has_struct(typed_events::Role::pe, e);
      pe_log[id].push_back(e);
    }
    for (const auto& op : a.ops) {
      const SessionId s = op.session;
      if (!open.contains(s)) continue;
      if (op.kind == ses::SessionOp::Kind::close) {
        open.erase(s);
        pu_do([&](ses::PuActions& b) { pu.pe_closed(s, now, b); });
        continue;
      }
      if (op.ppid == echo::kPpidEcho)
        if (const auto m = echo::decode_message(op.message); m && m->type == echo::MessageType::pong)
          pong_replies.push_back(m->reply_no);
      pu_do([&](ses::PuActions& b) { pu.pe_received(s, op.ppid, op.message, now, b); });
    }
  }

  void registrar(const w::Bytes& bytes) {
    const auto d = w::decode_asap(bytes);
    ASSERT_TRUE(d);
    if (const auto* u = std::get_if<asap::EndpointUnreachable>(&d->message)) {
      unreachable.insert(u->pe_identifier);
      return;
    }
    ASSERT_TRUE(std::holds_alternative<asap::HandleResolution>(d->message));
    asap::HandleResolutionResponse r;
    r.pool_handle = kPool;
    r.overall_policy = w::Policy{w::PolicyType::round_robin};
    for (const auto& [id, pe] : pes)
      if (!unreachable.contains(id)) r.pool_elements.push_back(pool_element(id));
    const w::Bytes answer = w::encode(asap::Message{r});
    pu_do([&](ses::PuActions& a) { pu.registrar_received(0, answer, now, a); });
  }

  void pu_op(const ses::PuOp& op) {
    using K = ses::PuOp::Kind;
    const SessionId s = op.session;
    switch (op.kind) {
      case K::connect_registrar:
        return pu_do([&](ses::PuActions& a) { pu.registrar_connected(op.registrar, now, a); });
      case K::close_registrar:
        return;
      case K::send_registrar:
        return registrar(op.message);
      case K::connect_pe: {
        const std::uint32_t id = op.pe_identifier;
        pe_of[s] = id;
        if (pes.at(id).mode == Mode::killed)
          return pu_do([&](ses::PuActions& a) { pu.pe_connect_failed(s, now, a); });
        open.insert(s);
        if (pes.at(id).mode == Mode::up)
          pe_do(id, [&](echo::EchoService& svc, ses::ServiceActions& a) { svc.opened(s, now, a); });
        return pu_do([&](ses::PuActions& a) { pu.pe_connected(s, now, a); });
      }
      case K::close_pe: {
        if (!open.erase(s)) return;
        const std::uint32_t id = pe_of.at(s);
        if (pes.at(id).mode == Mode::up)
          pe_do(id, [&](echo::EchoService& svc, ses::ServiceActions& a) { svc.closed(s, now, a); });
        return;
      }
      case K::send_pe: {
        const std::uint32_t id = pe_of.at(s);
        if (open.contains(s) && pes.at(id).mode == Mode::up)
          return pe_do(id, [&](echo::EchoService& svc, ses::ServiceActions& a) {
            svc.received(s, op.ppid, op.message, now, a);
          });
        if (op.ppid == echo::kPpidEcho)
          if (const auto m = echo::decode_message(op.message); m && m->type == echo::MessageType::ping)
            ++dropped_pings;
        return;
      }
    }
  }
};

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

TEST(EchoSession, SeriesAnsweredCountedAndClosed) {
  World world(5, 1, {1});
  world.start();
  world.run_until(at(60000));
  EXPECT_EQ(world.pu.state(), ses::PuState::done);
  const json done = world.done();
  EXPECT_EQ(done["reason"], "count");
  EXPECT_EQ(done["requests"], 5);
  EXPECT_EQ(done["answers"], 5);
  EXPECT_EQ(done["duplicates"], 0);
  EXPECT_EQ(done["lost"], 0);
  EXPECT_EQ(done["replies"], 5);
  EXPECT_EQ(done["failovers"], 0);
  EXPECT_EQ(world.pong_replies, range(0, 5));
  const auto& pe = world.pes.at(1).service;
  EXPECT_EQ(pe.counters().pings, 5u);
  EXPECT_EQ(pe.counters().cookies, 5u);  // one per reply, as RSPLIB
  EXPECT_EQ(pe.sessions(), 0u);          // the PU closed it
  const auto ended = world.pe_events(1, "echo_ended");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["replies"], 5);
  EXPECT_TRUE(ended[0]["resumed_from"].is_null());
  EXPECT_EQ(ended[0]["cause"], "session_lost");
  ASSERT_EQ(world.pe_events(1, "session_closed").size(), 1u);
  EXPECT_EQ(world.pe_events(1, "session_closed")[0]["cause"], "peer");
  EXPECT_EQ(world.pu.next_deadline(), std::nullopt);
}

TEST(EchoSession, PingsFollowTheInterval) {
  World world(0, 1, {1});
  world.start();
  world.run_until(at(9500));  // PINGs at 0, 1, ..., 9 s
  EXPECT_EQ(world.pu.counters().requests, 10u);
  EXPECT_EQ(world.pu.counters().answers, 10u);
  EXPECT_EQ(world.pu.next_deadline(), at(10000));
  world.stop();
  const json done = world.done();
  EXPECT_EQ(done["reason"], "stop");
  EXPECT_EQ(done["replies"], 10);
  EXPECT_EQ(world.pe_events(1, "echo_ended").size(), 1u);
}

TEST(EchoFailover, KilledPeResumesFromTheLastCookieNothingLostOrRepeated) {
  World world(8, 1, {1, 2});
  world.start();
  world.run_until(at(2500));  // replies 0, 1, 2 from PE 1; its cookie says 3
  EXPECT_EQ(world.pong_replies, range(0, 3));
  world.kill(1);
  const auto failovers = world.pu_events("failover");
  ASSERT_EQ(failovers.size(), 1u);  // accepted again at once by PE 2
  const json& f = failovers[0];
  EXPECT_EQ(f["job"], 1);
  EXPECT_EQ(f["from_pe"], w::hex_id(1));
  EXPECT_EQ(f["to_pe"], w::hex_id(2));
  EXPECT_EQ(f["cause"], "connection_lost");
  EXPECT_EQ(f["cookie"], true);
  EXPECT_EQ(f["resumed"], 3);
  EXPECT_EQ(f["lost"], 0);
  EXPECT_EQ(f["attempts"], 2);  // PE 1 again (refused), then PE 2
  EXPECT_EQ(world.unreachable, (std::set<std::uint32_t>{1}));
  const auto resumed = world.pe_events(2, "echo_resumed");
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0]["replies"], 3);
  world.run_until(at(60000));
  const json done = world.done();
  EXPECT_EQ(done["reason"], "count");
  EXPECT_EQ(done["replies"], 8);
  EXPECT_EQ(done["duplicates"], 0);
  EXPECT_EQ(done["lost"], 0);
  EXPECT_EQ(done["failovers"], 1);
  EXPECT_EQ(world.pong_replies, range(0, 8));  // the count went on, no gap, no repeat
}

// Producer and store agree (tests/common/typed_events.hpp; World checks every event): a
// failover from the cookie writes every echo event that has a struct in
// stack/common/events.hpp, and each reads back through it.
TEST(EchoFailover, EveryTypedEventOfTheRunParsesBackThroughItsStruct) {
  namespace ev = rsplab::common;
  World world(8, 1, {1, 2});
  world.start();
  world.run_until(at(2500));
  world.kill(1);
  world.run_until(at(60000));
  std::set<std::string> pu, pe;
  for (const json& e : world.pu_log)
    if (typed_events::expect_typed(typed_events::Role::pu, e)) pu.insert(e["event"]);
  for (const auto& [id, log] : world.pe_log)
    for (const json& e : log)
      if (typed_events::expect_typed(typed_events::Role::pe, e)) pe.insert(e["event"]);
  EXPECT_EQ(pu, (std::set<std::string>{ev::HandleResolutionEvent::kName,
                                        ev::FailoverEvent::kName, ev::EchoDoneEvent::kName}));
  EXPECT_EQ(pe, (std::set<std::string>{ev::SessionOpenedEvent::kName,
                                        ev::SessionClosedEvent::kName,
                                        ev::EchoResumedEvent::kName, ev::EchoEndedEvent::kName}));
  const auto done = world.done().get<ev::EchoDoneEvent>();
  EXPECT_EQ(done.replies, 8);
  EXPECT_EQ(done.failovers, 1);
  EXPECT_EQ(done.unreachable_reports, 1);
  const auto ended = world.pe_events(2, "echo_ended").at(0).get<ev::EchoEndedEvent>();
  EXPECT_EQ(ended.resumed_from, 3);
  EXPECT_EQ(ended.replies, 8);
  EXPECT_EQ(ended.cause, "session_lost");
}

TEST(EchoFailover, RepliesSinceTheLastCookieComeAgainAsDuplicates) {
  World world(8, 3, {1, 2});  // a cookie every 3 replies
  world.start();
  world.run_until(at(4500));  // replies 0..4 from PE 1; its last cookie (after 3) says 3
  world.kill(1);
  const auto failovers = world.pu_events("failover");
  ASSERT_EQ(failovers.size(), 1u);
  EXPECT_EQ(failovers[0]["resumed"], 3);
  EXPECT_EQ(failovers[0]["lost"], 2);  // replies 3 and 4: the cookie did not hold them
  world.run_until(at(60000));
  const json done = world.done();
  EXPECT_EQ(done["duplicates"], 2);  // exactly what the failover said was lost
  EXPECT_EQ(done["replies"], 8);
  EXPECT_EQ(done["answers"], 10);
  EXPECT_EQ(done["lost"], 0);
  std::vector<std::uint64_t> expected = range(0, 5);
  for (const auto r : range(3, 8)) expected.push_back(r);
  EXPECT_EQ(world.pong_replies, expected);
}

TEST(EchoFailover, FrozenPeDetectedByKeepAliveItsPingsCountedLost) {
  World world(0, 1, {1, 2});
  world.start();
  world.run_until(at(2500));  // replies 0, 1, 2; last heard at 2 s
  world.freeze(1);
  world.run_until(at(30000));
  const auto failovers = world.pu_events("failover");
  ASSERT_EQ(failovers.size(), 1u);
  const json& f = failovers[0];
  EXPECT_EQ(f["cause"], "keepalive_timeout");
  EXPECT_EQ(f["from_pe"], w::hex_id(1));
  EXPECT_EQ(f["to_pe"], w::hex_id(2));
  EXPECT_EQ(f["detection_delay_us"], 10'000'000);  // keep-alive interval + timeout
  EXPECT_EQ(f["resumed"], 3);
  EXPECT_EQ(f["lost"], 0);
  world.stop();
  const json done = world.done();
  // PINGs at 3, 4, ..., 11 s to the frozen PE, and the one after the Cookie Echo when it
  // was connected again at 12 s.
  EXPECT_EQ(world.dropped_pings, 10u);
  EXPECT_EQ(done["lost"], world.dropped_pings);  // every PING the frozen PE swallowed
  EXPECT_EQ(done["duplicates"], 0);
  EXPECT_EQ(world.pong_replies, range(0, done["replies"].get<std::uint64_t>()));
}

}  // namespace
