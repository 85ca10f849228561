// The distance of the DPF policies (behaviour.md, "Distance"): half the smoothed RTT of the
// PE↔PR path rounded to 50 ms, given to the core by its caller (set_rtt), put in the PEs that
// register over the connection and added to the PEs a peer announces by ENRP. The core alone,
// time and RTTs injected.
#include <gtest/gtest.h>

#include "tests/registrar/harness.hpp"

namespace registrar_test {
namespace {

using namespace std::chrono_literals;

TEST(RegistrarDistance, HalfTheSmoothedRttRoundedTo50ms) {
  EXPECT_EQ(reg::distance_of(0us), 0u);
  EXPECT_EQ(reg::distance_of(-5ms), 0u);
  EXPECT_EQ(reg::distance_of(40us), 0u);    // loopback
  EXPECT_EQ(reg::distance_of(49ms), 0u);    // 24.5 ms one way
  EXPECT_EQ(reg::distance_of(50ms), 50u);   // 25 ms: half-way rounds up
  EXPECT_EQ(reg::distance_of(100ms), 50u);
  EXPECT_EQ(reg::distance_of(149ms), 50u);
  EXPECT_EQ(reg::distance_of(150ms), 100u);
  EXPECT_EQ(reg::distance_of(1s), 500u);
  EXPECT_EQ(reg::distance_of(std::chrono::hours(24 * 365 * 1000)), 0xffffffffu / 50 * 50)
      << "saturates, a multiple of 50";
}

TEST(RegistrarDistance, OnlyRegistrationsAndEnrpUpdatesNeedIt) {
  const Bytes reg = encoded(registration("p", PeSpec{}));
  const Bytes hr = encoded(resolution("p"));
  enrp::HandleUpdate u;
  u.sender = 1;
  u.receiver = 2;
  u.pool_handle = "p";
  u.pool_element = registration("p", PeSpec{}).pool_element;
  const Bytes update = encoded(enrp::Message{u});
  enrp::Presence p;
  p.sender = 1;
  p.receiver = 2;
  const Bytes presence = encoded(enrp::Message{p});
  EXPECT_TRUE(reg::Core::needs_distance(true, reg));
  EXPECT_FALSE(reg::Core::needs_distance(true, hr));
  EXPECT_TRUE(reg::Core::needs_distance(false, update));
  EXPECT_FALSE(reg::Core::needs_distance(false, presence));
  EXPECT_FALSE(reg::Core::needs_distance(true, {}));
}

constexpr ConnId kNear = 1, kFar = 2, kPu = 3;

// A PE of `policy` with `load` over `conn` at `address`; load_dpf: 1 % per ms of distance.
void register_pe(Harness& h, ConnId conn, std::uint32_t id, PolicyType policy,
                 std::uint32_t load, std::string_view address) {
  PeSpec s{.id = id, .policy = policy, .load = load, .kind = w::TransportKind::tcp,
           .addresses = ips({address})};
  auto r = registration(policy == PolicyType::least_used ? "lu" : "dpf", s);
  r.pool_element.policy.load_dpf = percent(1);
  h.asap_in(conn, r, at(0));
  const auto reply = h.reply<asap::RegistrationResponse>();
  ASSERT_TRUE(reply && !reply->reject) << h.out_text();
}

TEST(RegistrarDistance, DpfPoolAnswersTheNearPeFirst) {
  Harness h;
  h.core.opened(kNear, tcp_peer("10.0.0.1"));
  h.core.opened(kFar, tcp_peer("10.0.0.2"));
  h.core.opened(kPu, tcp_peer("10.0.0.3"));
  h.core.set_rtt(kNear, 2ms);   // distance 0
  h.core.set_rtt(kFar, 200ms);  // 100 ms one way: distance 100
  // The near PE is busier: Least Used prefers the far one, LU-DPF the near one (50 % load
  // against 0 % + 100 ms × 1 %/ms).
  for (const PolicyType p : {PolicyType::least_used, PolicyType::least_used_dpf}) {
    register_pe(h, kNear, 1, p, percent(50), "10.0.0.1");
    register_pe(h, kFar, 2, p, percent(0), "10.0.0.2");
    if (p == PolicyType::least_used_dpf) {
      EXPECT_EQ(h.event("registration")["distance"], 100) << "in the registration event";
    }
  }
  EXPECT_EQ(h.resolve(kPu, "lu", at(1), 1), std::vector<std::uint32_t>{2});
  EXPECT_EQ(h.resolve(kPu, "dpf", at(1), 1), std::vector<std::uint32_t>{1});
  // The PE's distance is the registrar's measure, whatever the PE sent; a new RTT applies to
  // the next registration over the connection.
  h.core.set_rtt(kFar, 10ms);
  register_pe(h, kFar, 2, PolicyType::least_used_dpf, percent(0), "10.0.0.2");
  EXPECT_EQ(h.event("reregistration")["distance"], 0);
  EXPECT_EQ(h.resolve(kPu, "dpf", at(2), 1), std::vector<std::uint32_t>{2});
}

TEST(RegistrarDistance, PeLearntByEnrpAddsTheDistanceToItsHome) {
  Harness h;
  constexpr ConnId kPeer = 7;
  constexpr std::uint32_t kHome = 0x55;
  h.core.opened(kPeer, tcp_peer("10.0.9.1", 9901));
  h.core.set_rtt(kPeer, 60ms);  // 30 ms to the home registrar: distance 50
  enrp::HandleUpdate u;
  u.sender = kHome;
  u.receiver = h.core.config().identifier;
  u.pool_handle = "dpf";
  u.pool_element = registration("dpf", PeSpec{.id = 9, .policy = PolicyType::least_used_dpf,
                                              .kind = w::TransportKind::tcp})
                       .pool_element;
  u.pool_element.home_server = kHome;
  u.pool_element.policy.distance = 100;  // the home's distance to the PE
  h.enrp_raw(kPeer, encoded(enrp::Message{u}), at(0));
  const auto ref = h.core.handlespace().find("dpf", 9);
  ASSERT_TRUE(ref.has_value()) << h.out_text();
  EXPECT_EQ(h.core.handlespace().entry(*ref).element.policy.distance, 150u);
}

}  // namespace
}  // namespace registrar_test
