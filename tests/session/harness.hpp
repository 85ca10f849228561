// Helpers of the session tests: a PeCore with its Actions, typed registrar messages in
// (encoded with the codec), its operations out (sends decoded with the codec), events by
// name (each checked against its struct: tests/common/typed_events.hpp), and injected time.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/session/pe_core.hpp"
#include "stack/wire/messages.hpp"
#include "tests/common/typed_events.hpp"

namespace session_test {

namespace ses = rserpool::session;
namespace w = rserpool::wire;
namespace asap = w::asap;
using json = nlohmann::json;
using ses::Op;
using ses::PeState;
using ses::TimePoint;
using std::chrono::milliseconds;
using w::Bytes;
using w::CauseCode;
using w::PolicyType;

inline const TimePoint T0 = TimePoint(std::chrono::hours(1000));
inline TimePoint at(std::int64_t ms) { return T0 + milliseconds(ms); }

inline const std::string kPool = "echo";
inline constexpr std::uint32_t kPe = 0x42;

inline ses::PeConfig make_config(std::size_t registrars = 2,
                                 PolicyType policy = PolicyType::round_robin) {
  ses::PeConfig c;
  c.pool_handle = kPool;
  c.pe_identifier = kPe;
  c.user_transport.kind = w::TransportKind::sctp;
  c.user_transport.port = 5000;
  c.user_transport.addresses = {*w::Address::parse("10.0.0.1")};
  c.policy.type = policy;
  c.reregistration_interval = milliseconds(30000);
  c.registration_life = milliseconds(90000);
  c.registrar_count = registrars;
  c.retry_delay = milliseconds(1000);
  c.response_timeout = milliseconds(5000);
  return c;
}

inline std::optional<asap::Message> decode(const Bytes& b) {
  auto d = w::decode_asap(b);
  if (!d) {
    ADD_FAILURE() << "the core sent an undecodable ASAP message: " << d.error().message();
    return std::nullopt;
  }
  return d->message;
}

inline asap::RegistrationResponse accept() {
  return asap::RegistrationResponse{false, kPool, kPe, std::nullopt};
}
inline asap::RegistrationResponse reject(CauseCode code) {
  return asap::RegistrationResponse{true, kPool, kPe,
                                    w::OperationError{{w::ErrorCause{code, {}}}}};
}
inline asap::EndpointKeepAlive keep_alive(std::uint32_t server_id, bool home = false) {
  return asap::EndpointKeepAlive{home, server_id, kPool, kPe};
}

class Harness {
 public:
  explicit Harness(ses::PeConfig config = make_config()) : core(std::move(config)) {}

  // Each input clears `out` first: `out` holds the actions of the last input.
  void start(TimePoint now) { out.clear(); core.start(now, out); }
  void connected(std::size_t i, TimePoint now) {
    out.clear();
    core.registrar_connected(i, now, out);
  }
  void connect_failed(std::size_t i, TimePoint now) {
    out.clear();
    core.registrar_connect_failed(i, now, out);
  }
  void closed(std::size_t i, TimePoint now) { out.clear(); core.registrar_closed(i, now, out); }
  void accepted(std::size_t i, TimePoint now) {
    out.clear();
    core.registrar_accepted(i, now, out);
  }
  void in(std::size_t i, const asap::Message& m, TimePoint now) { raw(i, w::encode(m), now); }
  void raw(std::size_t i, const Bytes& b, TimePoint now) {
    out.clear();
    core.received(i, b, now, out);
  }
  void set_load(std::uint32_t load, TimePoint now) { out.clear(); core.set_load(load, now, out); }
  void shutdown(TimePoint now) { out.clear(); core.shutdown(now, out); }
  void tick(TimePoint now) { out.clear(); core.tick(now, out); }
  void announce(std::uint32_t id, std::size_t i, TimePoint now) {
    out.clear();
    core.announce(id, i, now, out);
  }

  std::optional<std::int64_t> deadline_ms() const {
    const auto d = core.next_deadline();
    if (!d) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*d - T0).count();
  }

  // start, connect to 0, registration accepted at `now`.
  void register_at(std::size_t i, TimePoint now) {
    connected(i, now);
    ASSERT_TRUE(sent<asap::Registration>(0, i));
    in(i, accept(), now);
    ASSERT_EQ(core.state(), PeState::registered) << text();
  }

  // The operations, as "connect 0", "close 1", "abort 1", "send 0 <type>".
  std::vector<std::string> ops() const {
    std::vector<std::string> v;
    for (const auto& op : out.ops) {
      switch (op.kind) {
        case Op::Kind::connect: v.push_back("connect " + std::to_string(op.registrar)); break;
        case Op::Kind::close: v.push_back("close " + std::to_string(op.registrar)); break;
        case Op::Kind::abort: v.push_back("abort " + std::to_string(op.registrar)); break;
        case Op::Kind::send: {
          const auto m = decode(op.message);
          v.push_back("send " + std::to_string(op.registrar) + " " +
                      (m ? std::to_string(static_cast<int>(asap::type_of(*m))) : "?"));
          break;
        }
      }
    }
    return v;
  }

  // The i-th op, which must be a send to `to`, decoded as T.
  template <class T>
  std::optional<T> sent(std::size_t i, std::size_t to) const {
    if (i >= out.ops.size() || out.ops[i].kind != Op::Kind::send) {
      ADD_FAILURE() << "op " << i << " is not a send; ops: " << testing::PrintToString(ops());
      return std::nullopt;
    }
    EXPECT_EQ(out.ops[i].registrar, to);
    auto m = decode(out.ops[i].message);
    if (!m) return std::nullopt;
    if (const auto* t = std::get_if<T>(&*m)) return *t;
    ADD_FAILURE() << "send " << i << " is ASAP type " << static_cast<int>(asap::type_of(*m));
    return std::nullopt;
  }

  // The last input's events of that name (all of them checked against their structs in
  // stack/common/events.hpp: tests/common/typed_events.hpp).
  std::vector<json> events(std::string_view name) const {
    std::vector<json> v;
    for (const auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::pe, e);
      if (e.value("event", "") == name) v.push_back(e);
    }
    return v;
  }
  json event(std::string_view name) const {
    const auto v = events(name);
    if (v.size() != 1) {
      ADD_FAILURE() << "expected one '" << name << "' event, got " << v.size() << ": " << text();
      return json::object();
    }
    return v[0];
  }
  std::string text() const { return json(out.events).dump(); }

  ses::PeCore core;
  ses::Actions out;
};

// Registration message types, for ops() comparisons.
inline std::string send_op(std::size_t i, w::AsapType t) {
  return "send " + std::to_string(i) + " " + std::to_string(static_cast<int>(t));
}

}  // namespace session_test
