// The registrar core driven directly with encoded messages and injected time: every
// ASAP path of the PR (registration and its address filter, re-registration,
// deregistration, expiry, connection loss, handle resolution, keep-alives, unreachable
// reports, rate limits, malformed input) and the ENRP placeholder. Replies are decoded
// with the codec and asserted on as typed messages; events as JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/registrar/harness.hpp"

namespace registrar_test {
namespace {

using reg::Scope;

const ConnId kPe = 1;     // a PE's association
const ConnId kPe2 = 2;    // another PE association
const ConnId kPu = 9;     // a pool user's association
const ConnId kPu2 = 10;   // another pool user

json ids_json(std::initializer_list<std::uint32_t> ids) {
  json a = json::array();
  for (auto id : ids) a.push_back(w::hex_id(id));
  return a;
}

const w::ErrorCause* only_cause(const std::optional<w::OperationError>& e) {
  if (!e) {
    ADD_FAILURE() << "no Operation Error";
    return nullptr;
  }
  if (e->causes.size() != 1) {
    ADD_FAILURE() << "expected one cause, got " << e->causes.size();
    return nullptr;
  }
  return &e->causes[0];
}

// Golden bytes written by hand from RFC 5354 (TLVs: Type u16, Length u16, value, pad).
Bytes hex(std::string_view text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Scopes

TEST(RegistrarScope, ClassifiesAddresses) {
  EXPECT_EQ(reg::scope_of(ip("127.0.0.1")), Scope::loopback);
  EXPECT_EQ(reg::scope_of(ip("127.5.6.7")), Scope::loopback);
  EXPECT_EQ(reg::scope_of(ip("::1")), Scope::loopback);
  EXPECT_EQ(reg::scope_of(ip("10.1.2.3")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("172.16.0.1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("172.31.255.1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("172.32.0.1")), Scope::global);
  EXPECT_EQ(reg::scope_of(ip("192.168.1.1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("169.254.0.1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("8.8.8.8")), Scope::global);
  EXPECT_EQ(reg::scope_of(ip("fe80::1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("fd00::1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("fec0::1")), Scope::site_local);
  EXPECT_EQ(reg::scope_of(ip("2001:db8::1")), Scope::global);
  EXPECT_EQ(reg::scope_of(ip("::2")), Scope::global);
  EXPECT_EQ(reg::parse_scope("loopback"), Scope::loopback);
  EXPECT_EQ(reg::parse_scope("site-local"), Scope::site_local);
  EXPECT_EQ(reg::parse_scope("global"), Scope::global);
  EXPECT_EQ(reg::parse_scope("site_local"), std::nullopt);
  EXPECT_EQ(reg::scope_name(Scope::site_local), "site-local");
}

// ---------------------------------------------------------------------------------------
// Registration

TEST(RegistrarRegistration, AcceptedWithResponseEventHomeAndAsapTransport) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1", "10.0.0.2"}, 40001));
  PeSpec s;
  s.id = 0x42;
  s.addresses = ips({"10.0.0.1", "10.0.0.2"});
  s.port = 5000;
  h.asap_in(kPe, registration("echo", s), at(0));

  ASSERT_EQ(h.out.sends.size(), 1u) << h.out_text();
  const auto r = h.reply<asap::RegistrationResponse>(0, kPe);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->reject);
  EXPECT_EQ(h.out.sends[0].message[1] & w::kFlagR, 0);
  EXPECT_EQ(r->pool_handle, "echo");
  EXPECT_EQ(r->pe_identifier, 0x42u);
  EXPECT_FALSE(r->error);

  json ev = h.event("registration");
  EXPECT_EQ(ev["conn"], kPe);
  EXPECT_EQ(ev["pool"], "echo");
  EXPECT_EQ(ev["pe"], "0x00000042");
  EXPECT_EQ(ev["policy"], "rr");
  EXPECT_EQ(ev["transport"], "sctp");
  EXPECT_EQ(ev["port"], 5000);
  EXPECT_EQ(ev["addresses"], json({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(ev["registration_life_ms"], 30000);
  EXPECT_FALSE(ev.contains("addresses_advertised"));
  EXPECT_EQ(h.out.events.size(), 1u) << h.out_text();

  const auto& hs = h.core.handlespace();
  EXPECT_EQ(hs.pe_count(), 1u);
  const auto ref = hs.find("echo", 0x42);
  ASSERT_TRUE(ref);
  const w::PoolElement& pe = hs.entry(*ref).element;
  EXPECT_EQ(pe.home_server, 0x1234abcdu);
  EXPECT_EQ(pe.user_transport.kind, w::TransportKind::sctp);
  EXPECT_EQ(pe.user_transport.port, 5000);
  EXPECT_EQ(pe.user_transport.addresses, ips({"10.0.0.1", "10.0.0.2"}));
  ASSERT_TRUE(pe.asap_transport);
  EXPECT_EQ(pe.asap_transport->kind, w::TransportKind::sctp);
  EXPECT_EQ(pe.asap_transport->port, 40001);
  EXPECT_EQ(pe.asap_transport->addresses, ips({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(hs.owned_count(0x1234abcd), 1u);
  // Timers: the keep-alive within 5 s (in its later half) comes before expiry after 30 s.
  EXPECT_EQ(hs.timer(*ref, rserpool::handlespace::TimerKind::expiry), at(30000));
  const auto ka = hs.timer(*ref, rserpool::handlespace::TimerKind::keep_alive_transmission);
  ASSERT_TRUE(ka);
  EXPECT_GT(*ka, at(2500));
  EXPECT_LE(*ka, at(5000));
  EXPECT_EQ(h.core.next_deadline(), ka);
}

TEST(RegistrarRegistration, PolicyParametersInEvent) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  PeSpec s;
  s.policy = PolicyType::least_used;
  s.load = 0x12345678;
  h.asap_in(kPe, registration("lu-pool", s), at(0));
  json ev = h.event("registration");
  EXPECT_EQ(ev["policy"], "lu");
  EXPECT_EQ(ev["load"], 0x12345678);  // wire::field_name in snake_case
}

// Producer and store agree (tests/common/typed_events.hpp): the registration of a PE of
// every policy, its reregistration and its deregistration parse back through their structs
// in stack/common/events.hpp, with each policy parameter in its field.
TEST(RegistrarEvents, EveryPolicysEventsParseBackThroughTheirStructs) {
  namespace ev = rsplab::common;
  using typed_events::Role;
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  std::uint32_t id = 0;
  for (const auto& info : w::all_policies()) {
    const std::string pool = "pool-" + std::string(info.short_name);
    asap::Registration r = registration(pool, PeSpec{.id = ++id});
    r.pool_element.policy.type = info.type;
    for (std::uint32_t i = 0; i < info.field_count; ++i)
      w::set_policy_field(r.pool_element.policy, info.fields[i], 1000 + i);
    for (const char* kind : {"registration", "reregistration"}) {
      h.asap_in(kPe, r, at(id));
      const json e = h.event(kind);
      ASSERT_TRUE(typed_events::expect_typed(Role::registrar, e)) << e.dump();
      const auto typed = e.get<ev::RegistrationEvent>();
      EXPECT_EQ(typed.kind, kind);
      EXPECT_EQ(typed.pool, pool);
      EXPECT_EQ(typed.policy, info.short_name);
      // Every parameter is a field of the struct: load, or one of the others.
      EXPECT_EQ(typed.parameters.size() + (typed.load ? 1 : 0), info.field_count) << e.dump();
    }
  }
  h.closed(kPe, at(100));
  const auto gone = h.events("deregistration");
  ASSERT_EQ(gone.size(), id);
  for (const json& e : gone) {
    EXPECT_TRUE(typed_events::expect_typed(Role::registrar, e));
    EXPECT_EQ(e.get<ev::DeregistrationEvent>().reason, "connection_closed");
  }
}

TEST(RegistrarRegistration, TcpPeAdvertisingForeignAddressIsRejected) {
  Harness h;
  h.core.opened(kPe, tcp_peer("10.0.1.1"));
  PeSpec s;
  s.kind = w::TransportKind::tcp;
  s.addresses = ips({"10.0.1.2"});
  h.asap_in(kPe, registration("p", s), at(0));

  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].message[1] & w::kFlagR, w::kFlagR);
  const auto r = h.reply<asap::RegistrationResponse>(0, kPe);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(r->pool_handle, "p");
  EXPECT_EQ(r->pe_identifier, 1u);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::invalid_values);
  // The offending parameter: the TCP transport as advertised (port 5000, data only,
  // IPv4 10.0.1.2).
  EXPECT_EQ(c->info, hex("0005 0010 1388 0000  0001 0008 0a000102"));
  json ev = h.event("registration_rejected");
  EXPECT_EQ(ev["cause"], "Invalid Values");
  EXPECT_EQ(ev["pool"], "p");
  EXPECT_EQ(ev["pe"], "0x00000001");
  EXPECT_TRUE(h.events("registration").empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
}

TEST(RegistrarRegistration, TcpPeAdvertisingItsConnectionAddressIsAccepted) {
  Harness h;
  h.core.opened(kPe, tcp_peer("10.0.1.1", 41000));
  PeSpec s;
  s.kind = w::TransportKind::tcp;
  s.addresses = ips({"10.0.1.1"});
  h.register_ok(kPe, "p", s, at(0));
  EXPECT_EQ(h.event("registration")["transport"], "tcp");
  const auto ref = h.core.handlespace().find("p", 1);
  ASSERT_TRUE(ref);
  const auto& pe = h.core.handlespace().entry(*ref).element;
  ASSERT_TRUE(pe.asap_transport);
  EXPECT_EQ(pe.asap_transport->kind, w::TransportKind::tcp);
  EXPECT_EQ(pe.asap_transport->port, 41000);
  EXPECT_EQ(pe.asap_transport->addresses, ips({"10.0.1.1"}));
}

TEST(RegistrarRegistration, SctpPeKeepsOnlyVerifiedAddresses) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1", "10.0.0.2"}));
  PeSpec s;
  s.addresses = ips({"10.0.0.1", "192.168.7.7", "10.0.0.2"});
  h.register_ok(kPe, "p", s, at(0));
  json ev = h.event("registration");
  EXPECT_EQ(ev["addresses"], json({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(ev["addresses_advertised"], json({"10.0.0.1", "192.168.7.7", "10.0.0.2"}));
  const auto ref = h.core.handlespace().find("p", 1);
  ASSERT_TRUE(ref);
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.user_transport.addresses,
            ips({"10.0.0.1", "10.0.0.2"}));
  // And a handle resolution hands out only those.
  h.asap_in(kPu, resolution("p"), at(1));
  const auto hr = h.reply<asap::HandleResolutionResponse>();
  ASSERT_TRUE(hr);
  ASSERT_EQ(hr->pool_elements.size(), 1u);
  EXPECT_EQ(hr->pool_elements[0].user_transport.addresses, ips({"10.0.0.1", "10.0.0.2"}));
}

TEST(RegistrarRegistration, NoVerifiedSctpAddressIsRejected) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  PeSpec s;
  s.addresses = ips({"10.0.0.3", "10.0.0.4"});
  h.asap_in(kPe, registration("p", s), at(0));
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

TEST(RegistrarRegistration, LoopbackRefusedAtDefaultMinimumScope) {
  Harness h;
  ASSERT_EQ(h.core.config().min_address_scope, Scope::site_local);
  h.core.opened(kPe, sctp_peer({"127.0.0.1"}));
  PeSpec s;
  s.addresses = ips({"127.0.0.1"});
  h.asap_in(kPe, registration("p", s), at(0));
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::invalid_values);
  // The SCTP transport as advertised: port 5000, data only, IPv4 127.0.0.1.
  EXPECT_EQ(c->info, hex("0004 0010 1388 0000  0001 0008 7f000001"));
  EXPECT_NE(h.event("registration_rejected")["reason"].get<std::string>().find("site-local"),
            std::string::npos);
}

TEST(RegistrarRegistration, LoopbackAcceptedWithMinimumScopeLoopback) {
  auto config = Harness::make_config();
  config.min_address_scope = Scope::loopback;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"127.0.0.1"}));
  PeSpec s;
  s.addresses = ips({"127.0.0.1"});
  h.register_ok(kPe, "p", s, at(0));
  EXPECT_EQ(h.event("registration")["addresses"], json({"127.0.0.1"}));
}

TEST(RegistrarRegistration, ScopeFilterDropsNarrowerAddressesOnly) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"127.0.0.1", "10.0.0.1", "8.8.4.4"}));
  PeSpec s;
  s.addresses = ips({"127.0.0.1", "10.0.0.1", "8.8.4.4"});
  h.register_ok(kPe, "p", s, at(0));
  EXPECT_EQ(h.event("registration")["addresses"], json({"10.0.0.1", "8.8.4.4"}));

  auto config = Harness::make_config();
  config.min_address_scope = Scope::global;
  Harness g(config);
  g.core.opened(kPe, sctp_peer({"127.0.0.1", "10.0.0.1", "8.8.4.4"}));
  g.register_ok(kPe, "p", s, at(0));
  EXPECT_EQ(g.event("registration")["addresses"], json({"8.8.4.4"}));

  Harness g2(config);
  g2.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  s.addresses = ips({"10.0.0.1"});
  g2.asap_in(kPe, registration("p", s), at(0));
  const auto r = g2.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
}

TEST(RegistrarRegistration, WildcardStandsForTheConnectionsAddresses) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1", "10.0.0.2"}));
  PeSpec s;
  s.addresses = ips({"0.0.0.0"});
  h.register_ok(kPe, "p", s, at(0));
  EXPECT_EQ(h.event("registration")["addresses"], json({"10.0.0.1", "10.0.0.2"}));

  h.core.opened(kPe2, tcp_peer("10.0.1.1"));
  PeSpec t;
  t.id = 2;
  t.kind = w::TransportKind::tcp;
  t.addresses = ips({"0.0.0.0"});
  h.register_ok(kPe2, "p2", t, at(0));
  EXPECT_EQ(h.event("registration")["addresses"], json({"10.0.1.1"}));
}

TEST(RegistrarRegistration, NonPositiveRegistrationLifeIsRejected) {
  for (const std::int32_t life : {0, -1, -30000}) {
    Harness h;
    h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
    PeSpec s;
    s.life = life;
    h.asap_in(kPe, registration("p", s), at(0));
    const auto r = h.reply<asap::RegistrationResponse>();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->reject) << life;
    const auto* c = only_cause(r->error);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->code, CauseCode::invalid_values);
    // The offending parameter: the Pool Element whose Registration Life it is.
    if (life == -1) {
      EXPECT_EQ(c->info, hex("000a 0028 00000001 00000000 ffffffff"
                             "  0004 0010 1388 0000 0001 0008 0a000001"
                             "  0008 0008 00000001"));
    }
    ASSERT_GE(c->info.size(), 16u);
    EXPECT_EQ(c->info[1], 0x0a);  // Pool Element
    EXPECT_EQ(Bytes(c->info.begin() + 12, c->info.begin() + 16),
              (Bytes{static_cast<std::uint8_t>(static_cast<std::uint32_t>(life) >> 24),
                     static_cast<std::uint8_t>(static_cast<std::uint32_t>(life) >> 16),
                     static_cast<std::uint8_t>(static_cast<std::uint32_t>(life) >> 8),
                     static_cast<std::uint8_t>(life)}));
    EXPECT_EQ(h.event("registration_rejected")["cause"], "Invalid Values");
    EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
  }
}

TEST(RegistrarRegistration, InconsistentPolicyIsRejected) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1, .policy = PolicyType::round_robin}, at(0));
  h.asap_in(kPe, registration("p", PeSpec{.id = 2, .policy = PolicyType::least_used}), at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].message[1] & w::kFlagR, w::kFlagR);
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(r->pe_identifier, 2u);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::inconsistent_pooling_policy);
  // The offending policy parameter: Least Used, load 0.
  EXPECT_EQ(c->info, hex("0008 000c 40000001 00000000"));
  json ev = h.event("registration_rejected");
  EXPECT_EQ(ev["cause"], "Inconsistent Pooling Policy");
  EXPECT_EQ(ev["pe"], "0x00000002");
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  EXPECT_TRUE(h.core.handlespace().find("p", 1));
  EXPECT_FALSE(h.core.handlespace().find("p", 2));
}

// A pool's transport type is its first PE's: a TCP PE is refused from an SCTP pool with
// the offending transport parameter, and the pool keeps serving its SCTP PE.
TEST(RegistrarRegistration, InconsistentTransportTypeIsRejected) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  h.core.opened(kPe2, tcp_peer("10.0.1.1"));
  h.asap_in(kPe2,
            registration("p", PeSpec{.id = 2, .kind = w::TransportKind::tcp,
                                     .addresses = ips({"10.0.1.1"}), .port = 6000}),
            at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto r = h.reply<asap::RegistrationResponse>(0, kPe2);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(r->pe_identifier, 2u);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::inconsistent_transport_type);
  EXPECT_EQ(c->info, hex("0005 0010 1770 0000  0001 0008 0a000101"));
  json ev = h.event("registration_rejected");
  EXPECT_EQ(ev["cause"], "Inconsistent Transport Type");
  EXPECT_NE(ev["reason"].get<std::string>().find("SCTP"), std::string::npos) << ev;
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  EXPECT_FALSE(h.core.handlespace().find("p", 2));
  EXPECT_EQ(h.resolve(kPu, "p", at(2)), (std::vector<std::uint32_t>{1}));

  // The pool goes with its last PE; then a TCP PE founds it anew.
  h.asap_in(kPe, asap::Deregistration{"p", 1}, at(3));
  h.register_ok(kPe2, "p", PeSpec{.id = 2, .kind = w::TransportKind::tcp,
                                  .addresses = ips({"10.0.1.1"})}, at(4));
}

// Data only against data plus control in one pool: Inconsistent Data/Control
// Configuration, which carries no information.
TEST(RegistrarRegistration, InconsistentDataControlConfigurationIsRejected) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  auto m = registration("p", PeSpec{.id = 2});
  m.pool_element.user_transport.use = w::TransportUse::data_plus_control;
  h.asap_in(kPe, m, at(1));
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::inconsistent_data_control_configuration);
  EXPECT_TRUE(c->info.empty());
  EXPECT_EQ(h.event("registration_rejected")["cause"], "Inconsistent Data/Control Configuration");
  EXPECT_FALSE(h.core.handlespace().find("p", 2));
}

TEST(RegistrarRegistration, ReregistrationUpdatesLoadInPlace) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "lu", PeSpec{.id = 1, .policy = PolicyType::least_used, .load = percent(10)},
                at(0));
  h.register_ok(kPe, "lu", PeSpec{.id = 2, .policy = PolicyType::least_used, .load = percent(20)},
                at(0));
  const auto ref = h.core.handlespace().find("lu", 1);
  EXPECT_EQ(h.resolve(kPu, "lu", at(1)), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(h.resolve(kPu, "lu", at(2)), (std::vector<std::uint32_t>{1, 2}));

  h.asap_in(kPe, registration("lu", PeSpec{.id = 1, .policy = PolicyType::least_used,
                                           .load = percent(50)}),
            at(3));
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->reject);
  json ev = h.event("reregistration");
  EXPECT_EQ(ev["pe"], "0x00000001");
  EXPECT_EQ(ev["load"], percent(50));
  EXPECT_TRUE(h.events("registration").empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 2u);
  EXPECT_EQ(h.core.handlespace().find("lu", 1), ref);  // the same entry, updated in place
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.policy.load, percent(50));
  EXPECT_EQ(h.resolve(kPu, "lu", at(4)), (std::vector<std::uint32_t>{2, 1}));
}

TEST(RegistrarRegistration, ReregistrationRearmsExpiry) {
  auto config = Harness::make_config();
  config.keepalive_interval = std::chrono::hours(1);  // out of the way
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1, .life = 10000}, at(0));
  EXPECT_EQ(h.deadline_ms(), 10000);
  h.register_ok(kPe, "p", PeSpec{.id = 1, .life = 10000}, at(8000));
  EXPECT_EQ(h.deadline_ms(), 18000);
  h.tick(at(10000));
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  h.tick(at(17999));
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  h.tick(at(18000));
  json ev = h.event("deregistration");
  EXPECT_EQ(ev["reason"], "expired");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

TEST(RegistrarRegistration, ReregistrationResetsBadReports) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  const asap::EndpointUnreachable eu{"p", 1};
  h.asap_in(kPu, eu, at(1));
  h.asap_in(kPu, eu, at(2));
  EXPECT_EQ(h.event("unreachable_report")["reports"], 2);
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(3));
  h.asap_in(kPu, eu, at(4));
  EXPECT_EQ(h.event("unreachable_report")["reports"], 1);
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
}

TEST(RegistrarRegistration, ReregistrationOverAnotherConnectionMovesThePe) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.core.opened(kPe2, sctp_peer({"10.0.0.1", "10.0.0.9"}, 40002));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  h.register_ok(kPe2, "p", PeSpec{.id = 1}, at(1000));
  EXPECT_EQ(h.event("reregistration")["conn"], kPe2);
  const auto ref = h.core.handlespace().find("p", 1);
  ASSERT_TRUE(ref);
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.asap_transport->port, 40002);

  h.closed(kPe, at(2000));
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  // The keep-alive goes to the new association.
  h.tick(at(5000));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].conn, kPe2);
  h.closed(kPe2, at(6000));
  EXPECT_EQ(h.event("deregistration")["reason"], "connection_closed");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

// Issue 12: a PE gave up connection A during a link outage (its re-registration over A went
// unanswered) and registered over a new connection B; then TCP delivered A's re-registration,
// retransmitted once the link was back, followed by A's close. The PE lives on B, the newest
// connection it registered over: the stale registration is refused and changes nothing, and
// A's close removes nothing.
TEST(RegistrarRegistration, StaleRegistrationOverAnOlderConnectionNeitherMovesNorUpdates) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));                 // A
  h.core.opened(kPe2, sctp_peer({"10.0.0.1"}, 40002));         // B, opened later
  h.register_ok(kPe, "p", PeSpec{.id = 1, .policy = PolicyType::least_used, .load = percent(10)}, at(0));
  h.register_ok(kPe2, "p", PeSpec{.id = 1, .policy = PolicyType::least_used, .load = percent(20)}, at(20000));
  EXPECT_EQ(h.event("reregistration")["conn"], kPe2);

  h.asap_in(kPe, registration("p", PeSpec{.id = 1, .policy = PolicyType::least_used, .load = percent(10)}), at(20500));
  const auto r = h.reply<asap::RegistrationResponse>(0, kPe);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  ASSERT_TRUE(r->error && !r->error->causes.empty());
  EXPECT_EQ(r->error->causes[0].code, CauseCode::rejection_due_to_security);
  const json ev = h.event("registration_rejected");
  EXPECT_EQ(ev["conn"], kPe);
  EXPECT_EQ(ev["pe"], "0x00000001");
  EXPECT_TRUE(h.events("reregistration").empty());
  const auto ref = h.core.handlespace().find("p", 1);
  ASSERT_TRUE(ref);
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.asap_transport->port, 40002);
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.policy.load, percent(20));

  h.closed(kPe, at(20501));
  EXPECT_TRUE(h.events("deregistration").empty()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  // Still B's: its keep-alives go there, and its close removes the PE.
  h.tick(at(25000));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].conn, kPe2);
  h.closed(kPe2, at(26000));
  EXPECT_EQ(h.event("deregistration")["reason"], "connection_closed");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

// Once the PE is gone (B closed), a registration over A is a plain new registration.
TEST(RegistrarRegistration, OlderConnectionRegistersAPeNoNewerConnectionHolds) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.core.opened(kPe2, sctp_peer({"10.0.0.1"}, 40002));
  h.register_ok(kPe2, "p", PeSpec{.id = 1}, at(0));
  h.closed(kPe2, at(100));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(200));
  EXPECT_EQ(h.event("registration")["conn"], kPe);
}

TEST(RegistrarRegistration, UnknownParameterWithReportBitsIsReportedAndRegistered) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  Bytes m = encoded(registration("p", PeSpec{.id = 7}));
  const Bytes extra = {0xc1, 0x23, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef};  // skip and report
  m.insert(m.end(), extra.begin(), extra.end());
  const std::size_t len = m.size();
  m[2] = static_cast<std::uint8_t>(len >> 8);
  m[3] = static_cast<std::uint8_t>(len);
  h.raw(kPe, m, at(0));
  ASSERT_EQ(h.out.sends.size(), 2u) << h.out_text();
  const auto err = h.reply<asap::Error>(0, kPe);
  ASSERT_TRUE(err);
  ASSERT_EQ(err->error.causes.size(), 1u);
  EXPECT_EQ(err->error.causes[0].code, CauseCode::unrecognized_parameter);
  EXPECT_EQ(err->error.causes[0].info, extra);
  const auto r = h.reply<asap::RegistrationResponse>(1, kPe);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->reject);
  EXPECT_EQ(h.event("error_sent")["causes"], json({"Unrecognized Parameter"}));
  EXPECT_EQ(h.events("registration").size(), 1u);
  EXPECT_TRUE(h.core.handlespace().find("p", 7));
}

// ---------------------------------------------------------------------------------------
// Deregistration, expiry, connection loss

TEST(RegistrarDeregistration, RemovesAndAnswers) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 5}, at(0));
  h.register_ok(kPe, "p", PeSpec{.id = 6}, at(0));
  h.asap_in(kPe, asap::Deregistration{"p", 5}, at(10));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto r = h.reply<asap::DeregistrationResponse>(0, kPe);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_handle, "p");
  EXPECT_EQ(r->pe_identifier, 5u);
  EXPECT_FALSE(r->error);
  json ev = h.event("deregistration");
  EXPECT_EQ(ev["reason"], "deregistration");
  EXPECT_EQ(ev["pool"], "p");
  EXPECT_EQ(ev["pe"], "0x00000005");
  EXPECT_FALSE(h.core.handlespace().find("p", 5));
  EXPECT_EQ(h.resolve(kPu, "p", at(11)), (std::vector<std::uint32_t>{6}));

  // The last PE goes: the pool goes with it.
  h.asap_in(kPe, asap::Deregistration{"p", 6}, at(12));
  EXPECT_EQ(h.core.handlespace().pool_count(), 0u);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.asap_in(kPu, resolution("p"), at(13));
  const auto hr = h.reply<asap::HandleResolutionResponse>();
  ASSERT_TRUE(hr);
  const auto* c = only_cause(hr->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::unknown_pool_handle);
}

// Another client (here the PU's connection) cannot take a PE out of its pool.
TEST(RegistrarDeregistration, OnlyThePesOwnConnectionMayDeregister) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 5}, at(0));
  h.asap_in(kPu, asap::Deregistration{"p", 5}, at(10));
  const auto r = h.reply<asap::DeregistrationResponse>(0, kPu);
  ASSERT_TRUE(r);
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::rejection_due_to_security);
  EXPECT_TRUE(c->info.empty());  // RFC 5354: no cause-specific information
  EXPECT_EQ(h.event("deregistration_refused")["pe"], "0x00000005");
  EXPECT_TRUE(h.core.handlespace().find("p", 5));
}

TEST(RegistrarDeregistration, UnknownPeIsAnsweredWithoutRemoval) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 5}, at(0));
  h.asap_in(kPe, asap::Deregistration{"p", 99}, at(1));
  const auto r = h.reply<asap::DeregistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pe_identifier, 99u);
  EXPECT_TRUE(h.events("deregistration").empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
}

TEST(RegistrarExpiry, RemovedAtRegistrationLifeNotBefore) {
  auto config = Harness::make_config();
  config.keepalive_interval = std::chrono::hours(1);
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1, .life = 10000}, at(0));
  h.register_ok(kPe, "p", PeSpec{.id = 2, .life = 20000}, at(0));
  EXPECT_EQ(h.deadline_ms(), 10000);
  h.tick(at(9999));
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 2u);
  h.tick(at(10000));
  json ev = h.event("deregistration");
  EXPECT_EQ(ev["reason"], "expired");
  EXPECT_EQ(ev["pe"], "0x00000001");
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.deadline_ms(), 20000);
  // A late tick runs everything due up to its `now`.
  h.tick(at(25000));
  EXPECT_EQ(h.events("deregistration").size(), 1u);
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
}

TEST(RegistrarConnection, ClosedRemovesItsPesOnly) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.core.opened(kPe2, sctp_peer({"10.0.0.2"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  h.register_ok(kPe, "q", PeSpec{.id = 2}, at(0));
  h.register_ok(kPe2, "p", PeSpec{.id = 3, .addresses = ips({"10.0.0.2"})}, at(0));
  h.closed(kPe, at(100));
  const auto evs = h.events("deregistration");
  ASSERT_EQ(evs.size(), 2u) << h.out_text();
  for (const auto& e : evs) EXPECT_EQ(e["reason"], "connection_closed");
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  EXPECT_TRUE(h.core.handlespace().find("p", 3));
  EXPECT_EQ(h.resolve(kPu, "p", at(101)), (std::vector<std::uint32_t>{3}));
  // Closing it again, or a connection never seen, does nothing.
  h.closed(kPe, at(102));
  EXPECT_TRUE(h.out.events.empty());
  h.closed(77, at(102));
  EXPECT_TRUE(h.out.events.empty());
  // A pool user's connection closing removes no PE.
  h.closed(kPu, at(103));
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
}

// ---------------------------------------------------------------------------------------
// Handle resolution

TEST(RegistrarHandleResolution, SelectionOrderAfterOverallPolicy) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  const std::uint32_t loads[] = {40, 10, 30, 20};
  for (std::uint32_t i = 0; i < 4; ++i)
    h.register_ok(kPe, "lu",
                  PeSpec{.id = 100 + i, .policy = PolicyType::least_used,
                         .load = percent(loads[i])},
                  at(0));
  h.asap_in(kPu, resolution("lu"), at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].conn, kPu);
  const auto r = h.reply<asap::HandleResolutionResponse>();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_handle, "lu");
  EXPECT_FALSE(r->error);
  ASSERT_TRUE(r->overall_policy);
  EXPECT_EQ(r->overall_policy->type, PolicyType::least_used);
  ASSERT_EQ(r->pool_elements.size(), 3u);  // MaxHResItems default
  EXPECT_EQ(r->pool_elements[0].identifier, 101u);
  EXPECT_EQ(r->pool_elements[1].identifier, 103u);
  EXPECT_EQ(r->pool_elements[2].identifier, 102u);
  EXPECT_EQ(r->pool_elements[0].home_server, 0x1234abcdu);
  EXPECT_FALSE(r->pool_elements[0].asap_transport);  // a PU needs the user transport only
  // On the wire: the Pool Handle, then the overall Pool Member Selection Policy, then PEs.
  const Bytes& b = h.out.sends[0].message;
  ASSERT_GE(b.size(), 16u);
  EXPECT_EQ(b[0], 0x06);
  EXPECT_EQ((b[4] << 8 | b[5]), 0x0009);
  const std::size_t handle_len = static_cast<std::size_t>(b[6] << 8 | b[7]);
  const std::size_t next = 4 + ((handle_len + 3) & ~std::size_t{3});
  ASSERT_GE(b.size(), next + 4);
  EXPECT_EQ((b[next] << 8 | b[next + 1]), 0x0008);
  EXPECT_EQ((b[next + 4] << 24 | b[next + 5] << 16 | b[next + 6] << 8 | b[next + 7]),
            0x40000001);

  json ev = h.event("handle_resolution");
  EXPECT_EQ(ev["conn"], kPu);
  EXPECT_EQ(ev["pool"], "lu");
  EXPECT_TRUE(ev["requested"].is_null());
  EXPECT_EQ(ev["items"], 3);
  EXPECT_EQ(ev["pes"], ids_json({101, 103, 102}));
  EXPECT_EQ(ev["policy"], "lu");
}

TEST(RegistrarHandleResolution, RoundRobinRotates) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= 3; ++id) h.register_ok(kPe, "rr", PeSpec{.id = id}, at(0));
  const auto a = h.resolve(kPu, "rr", at(1));
  ASSERT_EQ(a.size(), 3u);
  std::vector<std::uint32_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(h.event("handle_resolution")["policy"], "rr");
  const auto b = h.resolve(kPu, "rr", at(2));
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b, (std::vector<std::uint32_t>{a[1], a[2], a[0]}));  // one step on
}

// Config::resolution_events off (a registrar without an event log): the same answer, the
// same policy state, no handle_resolution event; registrations still make theirs.
TEST(RegistrarHandleResolution, WithoutResolutionEventsTheSameAnswers) {
  auto quiet = Harness::make_config();
  quiet.resolution_events = false;
  Harness h, q(quiet);
  for (Harness* x : {&h, &q}) {
    x->core.opened(kPe, sctp_peer({"10.0.0.1"}));
    for (std::uint32_t id = 1; id <= 4; ++id) x->register_ok(kPe, "rr", PeSpec{.id = id}, at(0));
  }
  for (int i = 1; i <= 5; ++i) {
    h.out.clear();
    q.out.clear();
    EXPECT_EQ(h.resolve(kPu, "rr", at(i)), q.resolve(kPu, "rr", at(i))) << i;
    EXPECT_EQ(h.events("handle_resolution").size(), 1u);
    EXPECT_TRUE(q.events("handle_resolution").empty());
  }
  q.out.clear();
  q.asap_in(kPu, resolution("nosuchpool"), at(9));
  EXPECT_TRUE(q.events("handle_resolution").empty());
  const auto r = q.reply<asap::HandleResolutionResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->error);  // Unknown Pool Handle, as with events
  q.out.clear();
  q.register_ok(kPe, "rr", PeSpec{.id = 9}, at(10));
  EXPECT_EQ(q.events("registration").size(), 1u);
}

TEST(RegistrarHandleResolution, ConfiguredMaxHresItems) {
  auto config = Harness::make_config();
  config.max_hres_items = 2;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= 5; ++id) h.register_ok(kPe, "p", PeSpec{.id = id}, at(0));
  EXPECT_EQ(h.resolve(kPu, "p", at(1)).size(), 2u);
  EXPECT_EQ(h.event("handle_resolution")["items"], 2);
}

TEST(RegistrarHandleResolution, OptionAsksForExactlyN) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= 6; ++id)
    h.register_ok(kPe, "lu",
                  PeSpec{.id = id, .policy = PolicyType::least_used, .load = percent(id)}, at(0));
  EXPECT_EQ(h.resolve(kPu, "lu", at(1), 1), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(h.event("handle_resolution")["requested"], 1);
  EXPECT_EQ(h.event("handle_resolution")["items"], 1);
  EXPECT_EQ(h.resolve(kPu, "lu", at(2), 5), (std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(h.event("handle_resolution")["requested"], 5);
  EXPECT_EQ(h.resolve(kPu, "lu", at(3), w::kAllItems),
            (std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(h.event("handle_resolution")["requested"], w::kAllItems);
  EXPECT_EQ(h.event("handle_resolution")["items"], reg::kMaxHresItemsCap);
}

TEST(RegistrarHandleResolution, AllItemsIsCappedAt128) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= 130; ++id)
    h.register_ok(kPe, "big", PeSpec{.id = id}, at(0));
  EXPECT_EQ(h.resolve(kPu, "big", at(1), w::kAllItems).size(), 128u);
  EXPECT_EQ(h.event("handle_resolution")["pes"].size(), 128u);
  EXPECT_EQ(h.resolve(kPu, "big", at(2), 129).size(), 128u);
  EXPECT_EQ(h.resolve(kPu, "big", at(3), 128).size(), 128u);
  EXPECT_EQ(h.resolve(kPu, "big", at(4), 127).size(), 127u);
}

TEST(RegistrarHandleResolution, UnknownPoolHandle) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "known", PeSpec{.id = 1}, at(0));
  h.asap_in(kPu, resolution("unknown"), at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto r = h.reply<asap::HandleResolutionResponse>(0, kPu);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_handle, "unknown");
  EXPECT_FALSE(r->overall_policy);
  EXPECT_TRUE(r->pool_elements.empty());
  const auto* c = only_cause(r->error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::unknown_pool_handle);
  EXPECT_TRUE(c->info.empty());  // RFC 5354: no cause-specific information
  json ev = h.event("handle_resolution");
  EXPECT_EQ(ev["pool"], "unknown");
  EXPECT_EQ(ev["pes"], json::array());
  EXPECT_EQ(ev["error"], "Unknown Pool Handle");
  EXPECT_FALSE(ev.contains("policy"));
}

// The split a locking caller uses (plain_resolution() outside, resolve() under its lock):
// the same answer bytes, events and policy state as received_asap(), with rate limiting,
// an unknown pool and the Handle Resolution Option; the answer names no ASAP transport.
TEST(RegistrarHandleResolution, SplitResolutionAnswersAsReceivedAsap) {
  auto config = Harness::make_config();
  config.max_hr_rate = 3;
  Harness h(config), q(config);
  for (Harness* x : {&h, &q}) {
    x->core.opened(kPe, sctp_peer({"10.0.0.1", "10.0.0.2"}));
    for (std::uint32_t id = 1; id <= 5; ++id) {
      x->register_ok(kPe, "lu", PeSpec{.id = id, .policy = PolicyType::least_used,
                                       .load = percent(10 * id),
                                       .addresses = ips({"10.0.0.1", "10.0.0.2"})},
                     at(0));
      x->register_ok(kPe, "rr", PeSpec{.id = id}, at(0));
    }
  }
  const std::vector<asap::HandleResolution> asks{
      resolution("lu"), resolution("rr", 2), resolution("nosuchpool"), resolution("rr", 9),
      resolution("lu", 1), resolution("rr")};
  int limited = 0;
  std::size_t pes = 0;
  for (std::size_t i = 0; i < 2 * asks.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& ask = asks[i % asks.size()];
    const auto now = at(100 + static_cast<std::int64_t>(i) * 200);
    h.asap_in(kPu, ask, now);
    ASSERT_EQ(h.out.sends.size(), 1u);
    const auto plain = reg::Core::plain_resolution(encoded(ask));
    ASSERT_TRUE(plain);
    EXPECT_EQ(*plain, ask);
    q.out.clear();
    Bytes answer{0xee};  // appended to
    q.core.resolve(kPu, *plain, now, answer, q.out);
    EXPECT_TRUE(q.out.sends.empty());
    Bytes expected{0xee};
    expected.insert(expected.end(), h.out.sends[0].message.begin(), h.out.sends[0].message.end());
    EXPECT_EQ(answer, expected);
    EXPECT_EQ(q.out.events, h.out.events);
    const auto r = h.reply<asap::HandleResolutionResponse>();
    ASSERT_TRUE(r);
    for (const auto& pe : r->pool_elements) EXPECT_FALSE(pe.asap_transport);
    limited += static_cast<int>(h.events("rate_limited").size());
    pes += r->pool_elements.size();
  }
  EXPECT_GT(limited, 0);
  EXPECT_GT(pes, 10u);
}

TEST(RegistrarHandleResolution, PlainResolutionIsOnlyAWellFormedOneWithNothingToReport) {
  const Bytes good = encoded(resolution("p", 2));
  EXPECT_TRUE(reg::Core::plain_resolution(good));
  EXPECT_FALSE(reg::Core::plain_resolution({}));
  EXPECT_FALSE(reg::Core::plain_resolution(encoded(registration("p", PeSpec{}))));
  EXPECT_FALSE(reg::Core::plain_resolution(
      encoded(asap::HandleResolutionResponse{"p", std::nullopt, {}, std::nullopt})));
  for (std::size_t n = 1; n < good.size(); ++n)  // every truncation
    EXPECT_FALSE(reg::Core::plain_resolution(std::span(good).first(n))) << n;
  // An unknown parameter to skip and report (action bits 11): received_asap() reports it.
  Bytes reported = good;
  for (const std::uint8_t b : {0xc0, 0x77, 0x00, 0x08, 0, 0, 0, 1}) reported.push_back(b);
  reported[3] = static_cast<std::uint8_t>(reported.size());
  EXPECT_FALSE(reg::Core::plain_resolution(reported));
  Harness h;
  h.raw(kPu, reported, at(0));
  EXPECT_EQ(h.out.sends.size(), 2u);  // the error, then the answer
  // One to skip silently (action bits 10) is plain.
  Bytes skipped = reported;
  skipped[good.size()] = 0x80;
  EXPECT_TRUE(reg::Core::plain_resolution(skipped));
}

// ---------------------------------------------------------------------------------------
// Endpoint keep-alive

// When a keep-alive goes out (core.cpp, first_keep_alive): the first of a new registration
// at a random point of the interval's later half, each next one an interval ±12.5 % after
// the ack. In ms after T0, for failure messages.
double ms_of(TimePoint t) { return std::chrono::duration<double, std::milli>(t - T0).count(); }

TEST(RegistrarKeepAlive, SentAtIntervalToThePesConnection) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.core.opened(kPe2, sctp_peer({"10.0.0.2"}));
  h.register_ok(kPe2, "p", PeSpec{.id = 0x77, .life = 60000, .addresses = ips({"10.0.0.2"})},
                at(0));
  const TimePoint first = h.core.next_deadline().value();
  EXPECT_GT(first, at(2500)) << ms_of(first);
  EXPECT_LE(first, at(5000)) << ms_of(first);
  h.tick(first - milliseconds(1));
  EXPECT_TRUE(h.out.sends.empty());
  h.tick(first);
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto ka = h.reply<asap::EndpointKeepAlive>(0, kPe2);
  ASSERT_TRUE(ka);
  EXPECT_EQ(ka->server_id, 0x1234abcdu);
  EXPECT_EQ(ka->pool_handle, "p");
  EXPECT_EQ(ka->pe_identifier, 0x77u);
  EXPECT_FALSE(ka->home);
  EXPECT_EQ(h.core.next_deadline(), first + milliseconds(5000));  // its timeout

  // Acked in time: the next keep-alive one interval (±12.5 %) after the ack.
  const TimePoint ack = first + milliseconds(1000);
  h.asap_in(kPe2, asap::EndpointKeepAliveAck{"p", 0x77}, ack);
  EXPECT_TRUE(h.out.sends.empty());
  const TimePoint next = h.core.next_deadline().value();
  EXPECT_GE(next, ack + milliseconds(4375)) << ms_of(next) - ms_of(ack);
  EXPECT_LE(next, ack + milliseconds(5625)) << ms_of(next) - ms_of(ack);
  h.tick(first + milliseconds(5000));  // the timeout it no longer has
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  h.tick(next - milliseconds(1));
  EXPECT_TRUE(h.out.sends.empty());
  h.tick(next);
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_TRUE(h.reply<asap::EndpointKeepAlive>(0, kPe2));
  // A duplicate ack with no keep-alive outstanding changes nothing... once acked.
  h.asap_in(kPe2, asap::EndpointKeepAliveAck{"p", 0x77}, next + milliseconds(500));
  const TimePoint after = h.core.next_deadline().value();
  EXPECT_GE(after, next + milliseconds(500 + 4375));
  EXPECT_LE(after, next + milliseconds(500 + 5625));
  h.asap_in(kPe2, asap::EndpointKeepAliveAck{"p", 0x77}, next + milliseconds(1000));
  EXPECT_EQ(h.core.next_deadline(), after);
  // An ack for a PE not registered here changes nothing here; the sender is told (below).
  h.asap_in(kPe2, asap::EndpointKeepAliveAck{"p", 0x78}, next + milliseconds(1000));
  EXPECT_TRUE(h.reply<asap::DeregistrationResponse>(0, kPe2));
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  EXPECT_EQ(h.core.next_deadline(), after);
}

// Issue 16: PEs that register together (a pool started at once) get their keep-alives spread
// over the interval's later half, each one exactly once within the interval, rather than in
// one burst per interval that holds the registrar's resolutions up; and those that ack none
// are all gone within interval + timeout of registering, each a timeout after its keep-alive.
TEST(RegistrarKeepAlive, PesRegisteredTogetherGetTheirKeepAlivesSpreadOverTheInterval) {
  constexpr std::uint32_t kPes = 1000;
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= kPes; ++id)
    h.register_ok(kPe, "p", PeSpec{.id = id, .life = 60000}, at(0));
  std::map<std::uint32_t, TimePoint> sent;  // PE -> its keep-alive
  std::size_t largest_turn = 0;
  std::array<int, 10> per_quarter_second{};  // of (2.5 s, 5 s]
  while (const auto due = h.core.next_deadline()) {
    if (*due > at(5000)) break;
    h.tick(*due);
    largest_turn = std::max(largest_turn, h.out.sends.size());
    for (std::size_t i = 0; i < h.out.sends.size(); ++i) {
      const auto ka = h.reply<asap::EndpointKeepAlive>(i, kPe);
      ASSERT_TRUE(ka);
      EXPECT_TRUE(sent.emplace(ka->pe_identifier.value_or(0), *due).second) << "a second keep-alive";
    }
    ASSERT_GT(*due, at(2500)) << "a keep-alive in the interval's first half: " << ms_of(*due);
    ++per_quarter_second[std::min<std::size_t>(9, static_cast<std::size_t>((ms_of(*due) - 2500.0) / 250.0))];
  }
  EXPECT_EQ(sent.size(), kPes) << "every PE gets one within the interval";
  EXPECT_LE(largest_turn, 2u) << "keep-alives bunched in one timer turn";
  for (std::size_t i = 0; i < per_quarter_second.size(); ++i) {
    EXPECT_GE(per_quarter_second[i], 50) << "quarter second " << i;  // 100 expected
    EXPECT_LE(per_quarter_second[i], 150) << "quarter second " << i;
  }
  // None acks: each goes a timeout after its keep-alive, all within interval + timeout.
  std::size_t removed = 0;
  while (const auto due = h.core.next_deadline()) {
    ASSERT_LE(*due, at(10000)) << ms_of(*due);
    h.tick(*due);
    for (const auto& e : h.events("keepalive_timeout")) {
      const auto id = static_cast<std::uint32_t>(std::stoul(e["pe"].get<std::string>(), nullptr, 16));
      EXPECT_EQ(*due, sent.at(id) + milliseconds(5000)) << "PE " << id;
      ++removed;
    }
  }
  EXPECT_EQ(removed, kPes);
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

// Acks handled at one instant (the H keep-alives of a takeover answered together, a busy
// turn) do not keep their PEs aligned: the next keep-alives spread over interval ±12.5 %.
TEST(RegistrarKeepAlive, AcksAtOneInstantSpreadTheNextKeepAlives) {
  constexpr std::uint32_t kPes = 400;
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= kPes; ++id)
    h.register_ok(kPe, "p", PeSpec{.id = id, .life = 60000}, at(0));
  h.tick(at(5000));  // every first keep-alive, late
  ASSERT_EQ(h.out.sends.size(), kPes);
  const TimePoint ack = at(5100);
  for (std::uint32_t id = 1; id <= kPes; ++id)
    h.asap_in(kPe, asap::EndpointKeepAliveAck{"p", id}, ack);
  std::set<std::uint32_t> again;
  std::size_t largest_turn = 0;
  std::array<int, 4> per_quarter{};  // of [ack + 4375 ms, ack + 5625 ms]
  while (again.size() < kPes) {
    const TimePoint due = h.core.next_deadline().value();
    ASSERT_GE(due, ack + milliseconds(4375)) << ms_of(due);
    ASSERT_LE(due, ack + milliseconds(5625)) << ms_of(due);
    h.tick(due);
    largest_turn = std::max(largest_turn, h.out.sends.size());
    for (std::size_t i = 0; i < h.out.sends.size(); ++i)
      if (const auto ka = h.reply<asap::EndpointKeepAlive>(i, kPe)) again.insert(ka->pe_identifier.value_or(0));
    const double into = ms_of(due) - ms_of(ack) - 4375.0;
    ++per_quarter[std::min<std::size_t>(3, static_cast<std::size_t>(into / 312.5))];
  }
  EXPECT_LE(largest_turn, 2u) << "keep-alives bunched in one timer turn";
  for (std::size_t i = 0; i < per_quarter.size(); ++i) {
    EXPECT_GE(per_quarter[i], 60) << "quarter " << i;  // 100 expected
    EXPECT_LE(per_quarter[i], 140) << "quarter " << i;
  }
  EXPECT_TRUE(h.events("keepalive_timeout").empty());
}

// Issue 12: a PE removed at a keep-alive timeout while its link was down acks the keep-alive
// that waited in the network once the link is back. The registrar tells it that it does not
// hold it (an unasked Deregistration Response), so that it registers again at once rather
// than a re-registration interval later.
TEST(RegistrarKeepAlive, LateAckOfARemovedPeIsAnsweredWithADeregistrationResponse) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 60000}, at(0));
  h.tick(at(5000));
  h.tick(at(10000));
  ASSERT_EQ(h.event("deregistration")["reason"], "keepalive_timeout");
  h.asap_in(kPe, asap::EndpointKeepAliveAck{"p", 3}, at(12000));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto d = h.reply<asap::DeregistrationResponse>(0, kPe);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pool_handle, "p");
  EXPECT_EQ(d->pe_identifier, 3u);
  EXPECT_FALSE(d->error.has_value());
  const json ev = h.event("pe_not_registered");
  EXPECT_EQ(ev["conn"], kPe);
  EXPECT_EQ(ev["pool"], "p");
  EXPECT_EQ(ev["pe"], "0x00000003");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
  // Its registration that follows is a new one, over the same connection.
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 60000}, at(12001));
  EXPECT_EQ(h.event("registration")["conn"], kPe);
}

TEST(RegistrarKeepAlive, NoAckRemovesAtIntervalPlusTimeout) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 60000}, at(0));
  const TimePoint first = h.core.next_deadline().value();
  ASSERT_LE(first, at(5000)) << ms_of(first);
  h.tick(first);
  ASSERT_EQ(h.out.sends.size(), 1u);
  h.tick(first + milliseconds(4999));
  EXPECT_TRUE(h.out.events.empty()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  h.tick(first + milliseconds(5000));  // at most interval + timeout after registering
  json to = h.event("keepalive_timeout");
  EXPECT_EQ(to["pool"], "p");
  EXPECT_EQ(to["pe"], "0x00000003");
  json ev = h.event("deregistration");
  EXPECT_EQ(ev["reason"], "keepalive_timeout");
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  // A late ack finds nothing.
  h.asap_in(kPe, asap::EndpointKeepAliveAck{"p", 3}, at(10001));
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

// An ack from another connection does not keep a silent PE alive.
TEST(RegistrarKeepAlive, AckFromAnotherConnectionDoesNotCount) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 60000}, at(0));
  h.tick(at(5000));
  h.asap_in(kPu, asap::EndpointKeepAliveAck{"p", 3}, at(5001));
  h.tick(at(10000));
  EXPECT_EQ(h.event("deregistration")["reason"], "keepalive_timeout");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

TEST(RegistrarKeepAlive, CustomIntervalAndTimeout) {
  auto config = Harness::make_config();
  config.keepalive_interval = milliseconds(50000);
  config.keepalive_timeout = milliseconds(20000);
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 1000000}, at(0));
  const TimePoint first = h.core.next_deadline().value();
  EXPECT_GT(first, at(25000)) << ms_of(first);
  EXPECT_LE(first, at(50000)) << ms_of(first);
  h.tick(first);
  EXPECT_EQ(h.out.sends.size(), 1u);
  h.tick(first + milliseconds(19999));
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  h.tick(first + milliseconds(20000));
  EXPECT_EQ(h.event("deregistration")["reason"], "keepalive_timeout");
}

// A tick that comes late (the loop was busy) sends the keep-alive and gives the PE its
// whole timeout from then, rather than timing it out in the same call.
TEST(RegistrarKeepAlive, LateTickGivesThePeItsTimeout) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 3, .life = 60000}, at(0));
  h.tick(at(12000));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_TRUE(h.reply<asap::EndpointKeepAlive>());
  EXPECT_TRUE(h.events("deregistration").empty()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  EXPECT_EQ(h.deadline_ms(), 17000);
  h.asap_in(kPe, asap::EndpointKeepAliveAck{"p", 3}, at(13000));
  EXPECT_GE(h.core.next_deadline(), at(13000 + 4375));
  EXPECT_LE(h.core.next_deadline(), at(13000 + 5625));
}

// ---------------------------------------------------------------------------------------
// Endpoint Unreachable

TEST(RegistrarUnreachable, MaxBadPeReportsRemove) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  h.register_ok(kPe, "p", PeSpec{.id = 2}, at(0));
  const asap::EndpointUnreachable eu{"p", 1};
  for (int i = 1; i <= 2; ++i) {
    h.asap_in(kPu, eu, at(i));
    EXPECT_TRUE(h.out.sends.empty());
    json ev = h.event("unreachable_report");
    EXPECT_EQ(ev["conn"], kPu);
    EXPECT_EQ(ev["pool"], "p");
    EXPECT_EQ(ev["pe"], "0x00000001");
    EXPECT_EQ(ev["known"], true);
    EXPECT_EQ(ev["reports"], i);
    EXPECT_EQ(ev["max_bad_pe_reports"], 3);
    EXPECT_TRUE(h.events("deregistration").empty());
  }
  // Reports from another pool user count towards the same PE.
  h.asap_in(kPu2, eu, at(3));
  EXPECT_EQ(h.event("unreachable_report")["reports"], 3);
  EXPECT_EQ(h.event("deregistration")["reason"], "unreachable");
  EXPECT_FALSE(h.core.handlespace().find("p", 1));
  EXPECT_EQ(h.resolve(kPu, "p", at(4)), (std::vector<std::uint32_t>{2}));
}

TEST(RegistrarUnreachable, ConfiguredMaxBadPeReports) {
  auto config = Harness::make_config();
  config.max_bad_pe_reports = 1;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  h.asap_in(kPu, asap::EndpointUnreachable{"p", 1}, at(1));
  EXPECT_EQ(h.event("deregistration")["reason"], "unreachable");
  EXPECT_EQ(h.core.handlespace().pe_count(), 0u);
}

TEST(RegistrarUnreachable, UnknownPeIsJustAnEvent) {
  Harness h;
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  for (const auto& eu : {asap::EndpointUnreachable{"p", 2}, asap::EndpointUnreachable{"q", 1}}) {
    h.asap_in(kPu, eu, at(1));
    EXPECT_TRUE(h.out.sends.empty());
    json ev = h.event("unreachable_report");
    EXPECT_EQ(ev["known"], false);
    EXPECT_FALSE(ev.contains("reports"));
    EXPECT_EQ(h.out.events.size(), 1u);
  }
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
}

// ---------------------------------------------------------------------------------------
// Rate limits

TEST(RegistrarRateLimit, UnlimitedByDefault) {
  Harness h;
  EXPECT_LT(h.core.config().max_hr_rate, 0);
  EXPECT_LT(h.core.config().max_eu_rate, 0);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  for (int i = 0; i < 500; ++i) {
    h.asap_in(kPu, resolution("p"), at(1));
    const auto r = h.reply<asap::HandleResolutionResponse>();
    ASSERT_TRUE(r);
    ASSERT_FALSE(r->error) << i;
  }
  EXPECT_TRUE(h.events("rate_limited").empty());
}

TEST(RegistrarRateLimit, HandleResolutionsPerPu) {
  auto config = Harness::make_config();
  config.max_hr_rate = 2;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  int answered = 0, limited = 0;
  for (int i = 0; i < 5; ++i) {
    h.asap_in(kPu, resolution("p"), at(100));
    const auto r = h.reply<asap::HandleResolutionResponse>(0, kPu);
    ASSERT_TRUE(r);
    if (!r->error) {
      EXPECT_EQ(r->pool_elements.size(), 1u);
      EXPECT_EQ(h.events("handle_resolution").size(), 1u);
      ++answered;
      EXPECT_LT(i, 2) << "answered out of order";
    } else {
      const auto* c = only_cause(r->error);
      ASSERT_TRUE(c);
      EXPECT_EQ(c->code, CauseCode::rejection_due_to_security);
      EXPECT_TRUE(r->pool_elements.empty());
      EXPECT_FALSE(r->overall_policy);
      json ev = h.event("rate_limited");
      EXPECT_EQ(ev["conn"], kPu);
      EXPECT_EQ(ev["what"], "handle_resolution");
      EXPECT_EQ(ev["pool"], "p");
      EXPECT_TRUE(h.events("handle_resolution").empty());
      ++limited;
    }
  }
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(limited, 3);

  // Another pool user has its own budget.
  EXPECT_EQ(h.resolve(kPu2, "p", at(100)).size(), 1u);

  // Half a second refills one token; a whole second refills both (and no more).
  h.asap_in(kPu, resolution("p"), at(600));
  EXPECT_FALSE(h.reply<asap::HandleResolutionResponse>()->error);
  h.asap_in(kPu, resolution("p"), at(600));
  EXPECT_TRUE(h.reply<asap::HandleResolutionResponse>()->error);
  h.asap_in(kPu, resolution("p"), at(5000));
  EXPECT_FALSE(h.reply<asap::HandleResolutionResponse>()->error);
  h.asap_in(kPu, resolution("p"), at(5000));
  EXPECT_FALSE(h.reply<asap::HandleResolutionResponse>()->error);
  h.asap_in(kPu, resolution("p"), at(5000));
  EXPECT_TRUE(h.reply<asap::HandleResolutionResponse>()->error);
}

TEST(RegistrarRateLimit, AfterOneSecondTokensRefill) {
  auto config = Harness::make_config();
  config.max_hr_rate = 2;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  auto burst = [&](TimePoint now) {
    int ok = 0;
    for (int i = 0; i < 5; ++i) {
      h.asap_in(kPu, resolution("p"), now);
      const auto r = h.reply<asap::HandleResolutionResponse>();
      if (r && !r->error) ++ok;
    }
    return ok;
  };
  EXPECT_EQ(burst(at(1000)), 2);
  EXPECT_EQ(burst(at(1999)), 1);  // 0.999 s: 1.998 tokens
  EXPECT_EQ(burst(at(2999)), 2);  // 0.998 + 2 tokens, capped at the burst of 2
  EXPECT_EQ(burst(at(4000)), 2);
}

TEST(RegistrarRateLimit, UnreachableReportsDropped) {
  auto config = Harness::make_config();
  config.max_eu_rate = 1;
  Harness h(config);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1}, at(0));
  const asap::EndpointUnreachable eu{"p", 1};
  h.asap_in(kPu, eu, at(100));
  EXPECT_EQ(h.event("unreachable_report")["reports"], 1);
  for (int i = 0; i < 4; ++i) {
    h.asap_in(kPu, eu, at(100));
    EXPECT_TRUE(h.out.sends.empty());
    EXPECT_TRUE(h.events("unreachable_report").empty());
    json ev = h.event("rate_limited");
    EXPECT_EQ(ev["what"], "endpoint_unreachable");
    EXPECT_EQ(ev["conn"], kPu);
    EXPECT_EQ(ev["pool"], "p");
  }
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
  h.asap_in(kPu, eu, at(1100));
  EXPECT_EQ(h.event("unreachable_report")["reports"], 2);
  // The handle resolution budget is separate (and unlimited here).
  EXPECT_EQ(h.resolve(kPu, "p", at(1100)).size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Malformed and unexpected input

class RegistrarMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
    h.register_ok(kPe, "legit", PeSpec{.id = 1}, at(0));
  }
  void TearDown() override {
    // The core keeps serving.
    EXPECT_EQ(h.resolve(kPu2, "legit", at(50)), (std::vector<std::uint32_t>{1}));
  }
  // The one ASAP Error sent to kPu, with its single cause.
  std::optional<w::ErrorCause> error_cause() {
    EXPECT_EQ(h.out.sends.size(), 1u) << h.out_text();
    const auto e = h.reply<asap::Error>(0, kPu);
    if (!e || e->error.causes.size() != 1) {
      ADD_FAILURE() << "no single-cause ASAP Error";
      return std::nullopt;
    }
    return e->error.causes[0];
  }
  Harness h;
};

TEST_F(RegistrarMalformed, WholeMessageTruncatedIsDiscarded) {
  // Fewer bytes than the Message Length says: the codec discards silently (no cause to
  // answer with); the core logs it.
  const Bytes m = encoded(resolution("legit"));
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, m.size() - 4}) {
    h.raw(kPu, Bytes(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n)), at(1));
    EXPECT_TRUE(h.out.sends.empty());
    EXPECT_EQ(h.event("message_discarded")["conn"], kPu);
    EXPECT_EQ(h.event("message_discarded")["protocol"], "ASAP");
  }
}

TEST_F(RegistrarMalformed, TruncatedParameterIsInvalidValues) {
  // Handle Resolution whose Pool Handle Length runs past the message.
  Bytes m = encoded(resolution("legit"));  // 05 00 00 10 | 00 09 00 09 'legit' pad
  m[7] = 0x20;
  h.raw(kPu, m, at(1));
  const auto c = error_cause();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::invalid_values);
  EXPECT_FALSE(c->info.empty());
  json ev = h.event("error_sent");
  EXPECT_EQ(ev["protocol"], "ASAP");
  EXPECT_EQ(ev["causes"], json({"Invalid Values"}));
  EXPECT_EQ(ev["conn"], kPu);
  EXPECT_TRUE(h.events("handle_resolution").empty());
}

TEST_F(RegistrarMalformed, MissingParameterIsInvalidValues) {
  const Bytes m = {0x05, 0x00, 0x00, 0x04};  // Handle Resolution without a Pool Handle
  h.raw(kPu, m, at(1));
  const auto c = error_cause();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::invalid_values);
}

// A parameter missing inside a Pool Element: the Pool Element is the offending parameter
// an Invalid Values cause carries (RFC 5354), not nothing.
TEST_F(RegistrarMalformed, PoolElementWithoutItsPolicyIsEchoed) {
  const Bytes pe = hex("000a 0020 00000001 00000000 00007530"
                       "  0004 0010 1388 0000 0001 0008 0a000001");  // no policy
  Bytes m = hex("0100 002c  0009 0005 70000000");  // REGISTRATION, Pool Handle "p"
  m.insert(m.end(), pe.begin(), pe.end());
  h.raw(kPu, m, at(1));
  const auto c = error_cause();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::invalid_values);
  EXPECT_EQ(c->info, pe);
  EXPECT_NE(h.event("error_sent")["reason"].get<std::string>().find("lacks its"),
            std::string::npos);
}

TEST_F(RegistrarMalformed, UnknownTypeIsUnrecognizedMessageEchoed) {
  const Bytes m = {0x7f, 0x00, 0x00, 0x08, 0xca, 0xfe, 0xba, 0xbe};
  h.raw(kPu, m, at(1));
  const auto c = error_cause();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::unrecognized_message);
  EXPECT_EQ(c->info, m);
  EXPECT_EQ(h.event("error_sent")["causes"], json({"Unrecognized Message"}));
}

TEST_F(RegistrarMalformed, UnknownParameterSkipAndReportStillProcessed) {
  Bytes m = encoded(resolution("legit"));
  const Bytes extra = {0xc0, 0x77, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00};
  m.insert(m.end(), extra.begin(), extra.end());
  m[3] = static_cast<std::uint8_t>(m.size());
  h.raw(kPu, m, at(1));
  ASSERT_EQ(h.out.sends.size(), 2u) << h.out_text();
  const auto e = h.reply<asap::Error>(0, kPu);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->error.causes.size(), 1u);
  EXPECT_EQ(e->error.causes[0].code, CauseCode::unrecognized_parameter);
  EXPECT_EQ(e->error.causes[0].info, Bytes(extra.begin(), extra.begin() + 5));
  const auto r = h.reply<asap::HandleResolutionResponse>(1, kPu);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->pool_elements.size(), 1u);
  EXPECT_EQ(h.events("handle_resolution").size(), 1u);
}

TEST_F(RegistrarMalformed, UnknownParameterSkipSilently) {
  Bytes m = encoded(resolution("legit"));
  const Bytes extra = {0x80, 0x77, 0x00, 0x04};  // action 10: skip, no report
  m.insert(m.end(), extra.begin(), extra.end());
  m[3] = static_cast<std::uint8_t>(m.size());
  h.raw(kPu, m, at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_TRUE(h.reply<asap::HandleResolutionResponse>());
}

TEST_F(RegistrarMalformed, UnknownParameterStopAndReport) {
  Bytes m = encoded(resolution("legit"));
  const Bytes extra = {0x40, 0x77, 0x00, 0x04};  // action 01: discard, report
  m.insert(m.end(), extra.begin(), extra.end());
  m[3] = static_cast<std::uint8_t>(m.size());
  h.raw(kPu, m, at(1));
  const auto c = error_cause();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, CauseCode::unrecognized_parameter);
  EXPECT_EQ(c->info, extra);
  EXPECT_TRUE(h.events("handle_resolution").empty());
}

TEST_F(RegistrarMalformed, UnknownParameterStopSilently) {
  Bytes m = encoded(resolution("legit"));
  const Bytes extra = {0x00, 0x77, 0x00, 0x04};  // action 00: discard silently
  m.insert(m.end(), extra.begin(), extra.end());
  m[3] = static_cast<std::uint8_t>(m.size());
  h.raw(kPu, m, at(1));
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
}

TEST_F(RegistrarMalformed, MessagesARegistrarDoesNotTakeAreUnrecognized) {
  asap::EndpointKeepAlive ka;
  ka.server_id = 5;
  ka.pool_handle = "legit";
  const std::vector<asap::Message> not_taken = {
      asap::RegistrationResponse{false, "legit", 1, std::nullopt},
      asap::DeregistrationResponse{"legit", 1, std::nullopt},
      asap::HandleResolutionResponse{"legit", std::nullopt, {}, std::nullopt},
      ka,
      asap::ServerAnnounce{7, {}},
      asap::Cookie{{1, 2, 3}},
      asap::CookieEcho{{1, 2, 3}},
      asap::BusinessCard{"legit", std::nullopt, {}},
  };
  for (const auto& m : not_taken) {
    const Bytes b = encoded(m);
    h.raw(kPu, b, at(1));
    const auto c = error_cause();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->code, CauseCode::unrecognized_message);
    EXPECT_EQ(c->info, b);
    json ev = h.event("error_sent");
    EXPECT_EQ(ev["causes"], json({"Unrecognized Message"}));
    EXPECT_NE(ev["reason"].get<std::string>().find("does not take"), std::string::npos);
  }
  EXPECT_EQ(h.core.handlespace().pe_count(), 1u);
}

TEST_F(RegistrarMalformed, ErrorReceivedIsLoggedNotAnswered) {
  h.asap_in(kPu, asap::Error{w::OperationError{{{CauseCode::invalid_values, {}}}}}, at(1));
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.event("error_received")["conn"], kPu);
}

TEST_F(RegistrarMalformed, InputOnAConnectionNeverOpened) {
  // A registration from a connection the core was not told about: nothing verifiable.
  h.asap_in(55, registration("legit", PeSpec{.id = 2}), at(1));
  const auto r = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  // A handle resolution from it is fine.
  EXPECT_EQ(h.resolve(55, "legit", at(2)), (std::vector<std::uint32_t>{1}));
}

// ---------------------------------------------------------------------------------------
// ENRP basics (tests/registrar/enrp_test.cpp has the rest): malformed answered

TEST(RegistrarEnrp, MalformedIsAnsweredWithEnrpError) {
  Harness h;
  const Bytes m = {0x7f, 0x00, 0x00, 0x04};
  h.enrp_raw(20, m, at(0));
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].conn, 20u);
  const auto d = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d) << d.error().message();
  const auto* e = std::get_if<enrp::Error>(&d->message);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sender, 0x1234abcdu);
  ASSERT_EQ(e->error.causes.size(), 1u);
  EXPECT_EQ(e->error.causes[0].code, CauseCode::unrecognized_message);
  EXPECT_EQ(e->error.causes[0].info, m);
  json ev = h.event("error_sent");
  EXPECT_EQ(ev["protocol"], "ENRP");
  EXPECT_EQ(ev["conn"], 20);

  // A Presence without its PE checksum: Invalid Values.
  const Bytes p = {0x01, 0x00, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0};
  h.enrp_raw(20, p, at(1));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto d2 = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d2);
  const auto* e2 = std::get_if<enrp::Error>(&d2->message);
  ASSERT_TRUE(e2);
  ASSERT_EQ(e2->error.causes.size(), 1u);
  EXPECT_EQ(e2->error.causes[0].code, CauseCode::invalid_values);
}

// A Presence makes its sender a peer (answered with a Presence); a message for another
// receiver, or claiming to come from this registrar, is ignored with an event.
TEST(RegistrarEnrp, PresenceMakesAPeerOthersIgnoredWithAnEvent) {
  Harness h;
  enrp::Presence p;
  p.sender = 7;
  p.pe_checksum = 0xffff;
  h.enrp_raw(20, encoded(p), at(0));
  EXPECT_EQ(h.event("peer_up")["peer"], "0x00000007");
  ASSERT_EQ(h.out.sends.size(), 1u);
  EXPECT_EQ(h.out.sends[0].conn, 20u);
  const auto back = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(back);
  const auto* bp = std::get_if<enrp::Presence>(&back->message);
  ASSERT_TRUE(bp);
  EXPECT_EQ(bp->sender, 0x1234abcdu);
  EXPECT_EQ(bp->receiver, 7u);
  ASSERT_EQ(h.core.peers().size(), 1u);
  EXPECT_EQ(h.core.peers()[0].id, 7u);
  EXPECT_TRUE(h.core.peers()[0].reachable);

  p.receiver = 99;  // not this registrar
  h.enrp_raw(20, encoded(p), at(1));
  EXPECT_TRUE(h.out.sends.empty());
  json ev = h.event("enrp_ignored");
  EXPECT_EQ(ev["conn"], 20);
  EXPECT_FALSE(ev["type"].get<std::string>().empty());
  h.enrp_raw(20, encoded(enrp::ListRequest{0x1234abcd, 0}), at(2));  // "from" itself
  EXPECT_EQ(h.events("enrp_ignored").size(), 1u);
  EXPECT_TRUE(h.out.sends.empty());
}

TEST(RegistrarEnrp, SilentlyDiscardedIsLogged) {
  Harness h;
  h.enrp_raw(20, Bytes{0x01, 0x00}, at(0));
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.event("message_discarded")["protocol"], "ENRP");
}

// ---------------------------------------------------------------------------------------
// next_deadline

TEST(RegistrarDeadline, ReflectsTimers) {
  auto config = Harness::make_config();
  config.keepalive_interval = milliseconds(5000);
  Harness h(config);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.core.opened(kPe, sctp_peer({"10.0.0.1"}));
  h.register_ok(kPe, "p", PeSpec{.id = 1, .life = 2000}, at(0));
  EXPECT_EQ(h.deadline_ms(), 2000);  // expiry before the keep-alive (after 2.5 s at the earliest)
  h.register_ok(kPe, "p", PeSpec{.id = 2, .life = 30000}, at(1000));
  EXPECT_EQ(h.deadline_ms(), 2000);
  h.tick(at(2000));
  const auto ka = h.core.handlespace().timer(
      h.core.handlespace().find("p", 2).value(),
      rserpool::handlespace::TimerKind::keep_alive_transmission);
  ASSERT_TRUE(ka);
  EXPECT_EQ(h.core.next_deadline(), ka);  // PE 2's keep-alive
  h.tick(*ka);
  EXPECT_EQ(h.core.next_deadline(), *ka + milliseconds(5000));  // its timeout
  h.asap_in(kPe, asap::Deregistration{"p", 2}, *ka + milliseconds(1000));
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
}

}  // namespace
}  // namespace registrar_test
