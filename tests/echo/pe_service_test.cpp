// EchoService driven directly with injected time: PING → PONG numbering, cookies by count,
// a Cookie Echo resuming the count (only before the first PING), keep-alives both ways and
// the timeout, shutdown cookies, what is discarded and why.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/echo/messages.hpp"
#include "stack/echo/pe_service.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/messages.hpp"
#include "tests/common/typed_events.hpp"

namespace {

namespace echo = rserpool::echo;
namespace ses = rserpool::session;
namespace w = rserpool::wire;
namespace asap = w::asap;
using echo::MessageType;
using json = nlohmann::json;
using ses::TimePoint;
using std::chrono::milliseconds;

const TimePoint T0 = TimePoint(std::chrono::hours(1000));
TimePoint at(std::int64_t ms) { return T0 + milliseconds(ms); }

struct Service {
  explicit Service(std::uint64_t cookie_every = 1, double p = 1.0)
      : svc([&] {
          echo::ServiceConfig c;
          c.session.keepalive_interval = milliseconds(2500);
          c.session.keepalive_timeout = milliseconds(2500);
          c.session.shutdown_cookie_probability = p;
          c.cookie_every = cookie_every;
          return c;
        }()) {}

  void open(ses::SessionId s, TimePoint now) { run([&] { svc.opened(s, now, out); }); }
  void ping(ses::SessionId s, std::uint64_t n, TimePoint now) {
    raw(s, echo::kPpidEcho, echo::encode(echo::Message{MessageType::ping, 0, n, 0, {'a'}}), now);
  }
  void cookie_echo(ses::SessionId s, std::uint64_t reply_no, TimePoint now) {
    raw(s, w::kPpidAsap,
        w::encode(asap::Message{asap::CookieEcho{echo::encode(echo::Cookie{reply_no})}}), now);
  }
  void raw(ses::SessionId s, std::uint32_t ppid, const w::Bytes& b, TimePoint now) {
    run([&] { svc.received(s, ppid, b, now, out); });
  }
  void tick(TimePoint now) { run([&] { svc.tick(now, out); }); }
  void shutdown(TimePoint now) { run([&] { svc.shutdown(now, out); }); }

  // The ops as "send 1 PONG 7/0" (message no / reply no), "send 1 COOKIE 3", "close 1".
  std::vector<std::string> ops() const {
    std::vector<std::string> v;
    for (const auto& op : out.ops) {
      const std::string s = std::to_string(op.session);
      if (op.kind == ses::SessionOp::Kind::close) {
        v.push_back("close " + s);
      } else if (op.ppid == w::kPpidAsap) {
        const auto d = w::decode_asap(op.message);
        const auto* c = d ? std::get_if<asap::Cookie>(&d->message) : nullptr;
        std::string number = "?";
        if (c)
          if (const auto state = echo::decode_cookie(c->cookie)) number = std::to_string(state->reply_no);
        v.push_back("send " + s + " COOKIE " + number);
      } else {
        const auto m = echo::decode_message(op.message);
        std::string text = "send " + s + " " + (m ? std::string(echo::name(m->type)) : "?");
        if (m && m->type == MessageType::pong)
          text += " " + std::to_string(m->message_no) + "/" + std::to_string(m->reply_no);
        v.push_back(text);
      }
    }
    return v;
  }
  // The last input's events of that name (all of them checked against their structs:
  // tests/common/typed_events.hpp).
  std::vector<json> events(std::string_view name) const {
    std::vector<json> v;
    for (const auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::pe, e);
      if (e.value("event", "") == name) v.push_back(e);
    }
    return v;
  }

  echo::EchoService svc;
  ses::ServiceActions out;

 private:
  template <class F>
  void run(F f) {
    out.clear();
    f();
  }
};

using Ops = std::vector<std::string>;

TEST(EchoService, PongsNumberTheRepliesACookieAfterEach) {
  Service s;
  s.open(1, T0);
  s.ping(1, 7, at(10));
  EXPECT_EQ(s.ops(), (Ops{"send 1 PONG 7/0", "send 1 COOKIE 1"}));
  s.ping(1, 8, at(20));
  EXPECT_EQ(s.ops(), (Ops{"send 1 PONG 8/1", "send 1 COOKIE 2"}));
  EXPECT_EQ(s.svc.counters().pings, 2u);
  EXPECT_EQ(s.svc.counters().cookies, 2u);
  const auto pong = echo::decode_message(s.out.ops[0].message);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->data, (w::Bytes{'a'}));  // the PING's data echoed
}

TEST(EchoService, CookieEveryNRepliesAndResumedCount) {
  Service s(3);
  s.open(1, T0);
  for (std::uint64_t n = 1; n <= 2; ++n) s.ping(1, n, at(10));
  EXPECT_EQ(s.ops(), (Ops{"send 1 PONG 2/1"}));
  s.ping(1, 3, at(20));
  EXPECT_EQ(s.ops(), (Ops{"send 1 PONG 3/2", "send 1 COOKIE 3"}));
  s.open(2, at(30));
  s.cookie_echo(2, 3, at(30));
  EXPECT_TRUE(s.ops().empty());
  ASSERT_EQ(s.events("echo_resumed").size(), 1u);
  EXPECT_EQ(s.events("echo_resumed")[0]["replies"], 3);
  s.ping(2, 9, at(40));
  EXPECT_EQ(s.ops(), (Ops{"send 2 PONG 9/3"}));
  s.cookie_echo(2, 0, at(50));  // after a PING: not a resumption
  ASSERT_EQ(s.events("message_discarded").size(), 1u);
  EXPECT_EQ(s.events("message_discarded")[0]["reason"], "COOKIE_ECHO after a PING");
  EXPECT_EQ(s.svc.counters().resumed, 1u);
}

TEST(EchoService, KeepAlivesBothWaysAndTheTimeout) {
  Service s;
  s.open(1, T0);
  s.ping(1, 1, T0);
  s.raw(1, echo::kPpidEcho, echo::encode(echo::Message{MessageType::keepalive, 0, 0, 0, {}}),
        at(1000));
  EXPECT_EQ(s.ops(), (Ops{"send 1 KEEPALIVE_ACK"}));
  EXPECT_EQ(s.svc.next_deadline(), at(3500));
  s.tick(at(3500));
  EXPECT_EQ(s.ops(), (Ops{"send 1 KEEPALIVE"}));
  s.tick(at(6000));
  EXPECT_EQ(s.ops(), (Ops{"close 1"}));
  const auto ended = s.events("echo_ended");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["cause"], "keepalive_timeout");
  EXPECT_EQ(ended[0]["replies"], 1);
  EXPECT_EQ(s.events("session_closed")[0]["cause"], "keepalive_timeout");
  EXPECT_EQ(s.svc.counters().keepalive_timeouts, 1u);
  EXPECT_EQ(s.svc.sessions(), 0u);
}

TEST(EchoService, ShutdownSendsACookieToEverySessionWithReplies) {
  Service s;
  s.open(1, T0);
  s.open(2, T0);
  s.ping(2, 1, at(10));
  s.ping(2, 2, at(20));
  s.shutdown(at(30));
  EXPECT_EQ(s.ops(), (Ops{"send 2 COOKIE 2", "close 1", "close 2"}));
  ASSERT_EQ(s.events("echo_ended").size(), 1u);  // session 1 never answered
  EXPECT_EQ(s.events("echo_ended")[0]["cause"], "shutdown");
  EXPECT_EQ(s.svc.next_deadline(), std::nullopt);
  s.ping(2, 3, at(40));
  EXPECT_TRUE(s.out.ops.empty() && s.out.events.empty());
  Service none(1, 0.0);
  none.open(1, T0);
  none.ping(1, 1, T0);
  none.shutdown(at(10));
  EXPECT_EQ(none.ops(), (Ops{"close 1"}));
}

TEST(EchoService, WhatItDiscards) {
  Service s;
  s.open(1, T0);
  s.raw(1, 99, {1, 2, 3}, at(10));
  EXPECT_EQ(s.events("message_discarded")[0]["reason"], "PPID 99 is neither ASAP (11) nor echo (33)");
  s.raw(1, echo::kPpidEcho, echo::encode(echo::Message{MessageType::pong, 0, 1, 1, {}}), at(20));
  EXPECT_EQ(s.events("message_discarded")[0]["reason"], "a PE does not take PONG");
  s.raw(1, echo::kPpidEcho, {0x09, 0, 0, 4}, at(30));
  EXPECT_EQ(s.events("message_discarded")[0]["ppid"], echo::kPpidEcho);
  s.raw(2, echo::kPpidEcho, {}, at(40));
  EXPECT_EQ(s.events("message_discarded")[0]["reason"], "unknown session");
  // The session layer's fields, read back through the struct (events() checked each).
  const auto d = s.events("message_discarded")[0].get<rsplab::common::MessageDiscardedEvent>();
  EXPECT_EQ(d.session, 2);
  EXPECT_EQ(d.ppid, echo::kPpidEcho);
  EXPECT_FALSE(d.pr || d.conn || d.from);
  EXPECT_EQ(s.svc.counters().discarded, 4u);
  EXPECT_TRUE(s.ops().empty());
}

}  // namespace
