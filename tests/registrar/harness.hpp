// Helpers of the registrar tests: a Core with its Actions, typed messages in (encoded
// with the codec), typed replies out (decoded with the codec), events by name (checked
// against their structs: tests/common/typed_events.hpp), and injected time.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/registrar/core.hpp"
#include "tests/common/typed_events.hpp"
#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"

namespace registrar_test {

namespace reg = rserpool::registrar;
namespace w = rserpool::wire;
namespace asap = w::asap;
namespace enrp = w::enrp;
using json = nlohmann::json;
using reg::ConnId;
using reg::TimePoint;
using std::chrono::milliseconds;
using w::Bytes;
using w::CauseCode;
using w::PolicyType;

// An arbitrary, non-zero origin of injected time.
inline const TimePoint T0 = TimePoint(std::chrono::hours(1000));
inline TimePoint at(std::int64_t ms) { return T0 + milliseconds(ms); }

inline w::Address ip(std::string_view text) {
  const auto a = w::Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(w::Address{});
}

inline std::vector<w::Address> ips(std::initializer_list<std::string_view> texts) {
  std::vector<w::Address> out;
  for (const auto t : texts) out.push_back(ip(t));
  return out;
}

inline reg::Peer sctp_peer(std::initializer_list<std::string_view> addresses,
                           std::uint16_t port = 40000) {
  return reg::Peer{w::TransportKind::sctp, ips(addresses), port};
}
inline reg::Peer tcp_peer(std::string_view address, std::uint16_t port = 40000) {
  return reg::Peer{w::TransportKind::tcp, {ip(address)}, port};
}

inline std::uint32_t percent(std::uint32_t p) {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(w::kFractionOne) * p / 100);
}

struct PeSpec {
  std::uint32_t id = 1;
  PolicyType policy = PolicyType::round_robin;
  std::uint32_t load = 0;
  std::int32_t life = 30000;
  w::TransportKind kind = w::TransportKind::sctp;
  std::vector<w::Address> addresses = ips({"10.0.0.1"});
  std::uint16_t port = 5000;
};

inline asap::Registration registration(std::string pool, const PeSpec& s) {
  asap::Registration r;
  r.pool_handle = std::move(pool);
  r.pool_element.identifier = s.id;
  r.pool_element.registration_life = s.life;
  r.pool_element.user_transport.kind = s.kind;
  r.pool_element.user_transport.port = s.port;
  r.pool_element.user_transport.addresses = s.addresses;
  r.pool_element.policy.type = s.policy;
  r.pool_element.policy.load = s.load;
  return r;
}

inline asap::HandleResolution resolution(std::string pool,
                                         std::optional<std::uint32_t> items = std::nullopt) {
  return asap::HandleResolution{std::move(pool), items};
}

inline Bytes encoded(const asap::Message& m) {
  Bytes b = w::encode(m);
  EXPECT_FALSE(b.empty()) << "the test's message does not encode";
  return b;
}
inline Bytes encoded(const enrp::Message& m) {
  Bytes b = w::encode(m);
  EXPECT_FALSE(b.empty()) << "the test's message does not encode";
  return b;
}

inline std::optional<asap::Message> decode(const Bytes& b) {
  auto d = w::decode_asap(b);
  if (!d) {
    ADD_FAILURE() << "the core sent an undecodable ASAP message: " << d.error().message();
    return std::nullopt;
  }
  return d->message;
}

class Harness {
 public:
  explicit Harness(reg::Config config = make_config()) : core(config) {}

  static reg::Config make_config() {
    reg::Config c;
    c.identifier = 0x1234abcd;
    return c;
  }

  // Each input clears `out` first: `out` holds the actions of the last input.
  void asap_in(ConnId conn, const asap::Message& m, TimePoint now) { raw(conn, encoded(m), now); }
  void raw(ConnId conn, const Bytes& bytes, TimePoint now) {
    out.clear();
    core.received_asap(conn, bytes, now, out);
  }
  void enrp_raw(ConnId conn, const Bytes& bytes, TimePoint now) {
    out.clear();
    core.received_enrp(conn, bytes, now, out);
  }
  void tick(TimePoint now) {
    out.clear();
    core.tick(now, out);
  }
  void closed(ConnId conn, TimePoint now) {
    out.clear();
    core.closed(conn, now, out);
  }

  // next_deadline() in ms after T0 (printable in failures, unlike a time_point).
  std::optional<std::int64_t> deadline_ms() const {
    const auto d = core.next_deadline();
    if (!d) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*d - T0).count();
  }

  // Registers over `conn` and expects acceptance.
  void register_ok(ConnId conn, const std::string& pool, const PeSpec& s, TimePoint now) {
    asap_in(conn, registration(pool, s), now);
    const auto r = reply<asap::RegistrationResponse>();
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(r->reject) << "PE " << s.id << " in " << pool << " refused: " << out_text();
  }

  // The i-th message sent, decoded as T; also checks where it went.
  template <class T>
  std::optional<T> reply(std::size_t i = 0, std::optional<ConnId> to = std::nullopt) const {
    if (i >= out.sends.size()) {
      ADD_FAILURE() << "expected at least " << i + 1 << " sends, got " << out.sends.size()
                    << "; events: " << out_text();
      return std::nullopt;
    }
    if (to) {
      EXPECT_EQ(out.sends[i].conn, *to);
    }
    auto m = decode(out.sends[i].message);
    if (!m) return std::nullopt;
    if (const auto* t = std::get_if<T>(&*m)) return *t;
    ADD_FAILURE() << "send " << i << " is ASAP type " << static_cast<int>(asap::type_of(*m))
                  << ", not the expected one";
    return std::nullopt;
  }

  // The handle resolution of `pool`, answered: the PE identifiers in the order returned.
  std::vector<std::uint32_t> resolve(ConnId conn, const std::string& pool, TimePoint now,
                                     std::optional<std::uint32_t> items = std::nullopt) {
    asap_in(conn, resolution(pool, items), now);
    std::vector<std::uint32_t> ids;
    const auto r = reply<asap::HandleResolutionResponse>();
    if (!r) return ids;
    for (const auto& pe : r->pool_elements) ids.push_back(pe.identifier);
    return ids;
  }

  // The last input's events of that name (all of them checked against their structs in
  // stack/common/events.hpp: tests/common/typed_events.hpp).
  std::vector<json> events(std::string_view name) const {
    std::vector<json> v;
    for (const auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::registrar, e);
      if (e.value("event", "") == name) v.push_back(e);
    }
    return v;
  }
  // The one event of that name.
  json event(std::string_view name) const {
    const auto v = events(name);
    if (v.size() != 1) {
      ADD_FAILURE() << "expected one '" << name << "' event, got " << v.size() << ": "
                    << out_text();
      return json::object();
    }
    return v[0];
  }
  std::string out_text() const {
    return json(out.events).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  reg::Core core;
  reg::Actions out;
};

}  // namespace registrar_test
