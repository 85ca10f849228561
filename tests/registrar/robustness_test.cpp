// Seeded random and mutated input into received_asap and received_enrp (ENRP started:
// the fuzzer's peers are synchronised with, audited and taken over): the core never
// crashes, every message it sends decodes, every event serializes, and the legitimate
// PEs registered beforehand stay registered and resolvable.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/registrar/harness.hpp"

namespace registrar_test {
namespace {

// Valid messages to mutate. None names the legitimate pool, so that a mutation (a few
// bytes flipped) cannot plausibly deregister or move a legitimate PE.
std::vector<Bytes> asap_seeds() {
  std::vector<Bytes> v;
  for (std::uint32_t id = 1; id <= 3; ++id) {
    v.push_back(encoded(registration(
        "fuzz", PeSpec{.id = 100 + id, .policy = PolicyType::least_used, .load = id,
                       .addresses = ips({"10.9.0.1", "10.9.0.2"})})));
    v.push_back(encoded(registration(
        "fuzz-tcp", PeSpec{.id = 200 + id, .kind = w::TransportKind::tcp,
                           .addresses = ips({"0.0.0.0"})})));
  }
  v.push_back(encoded(resolution("fuzz")));
  v.push_back(encoded(resolution("fuzz", 2)));
  v.push_back(encoded(resolution("fuzz", w::kAllItems)));
  v.push_back(encoded(asap::Deregistration{"fuzz", 101}));
  v.push_back(encoded(asap::EndpointUnreachable{"fuzz", 102}));
  v.push_back(encoded(asap::EndpointKeepAliveAck{"fuzz", 103}));
  v.push_back(encoded(asap::RegistrationResponse{true, "fuzz", 1, std::nullopt}));
  v.push_back(encoded(asap::Error{w::OperationError{{{CauseCode::unrecognized_message, {1}}}}}));
  v.push_back(encoded(asap::ServerAnnounce{9, {}}));
  return v;
}

std::vector<Bytes> enrp_seeds() {
  std::vector<Bytes> v;
  enrp::Presence p;
  p.sender = 9;
  p.pe_checksum = 0x1234;
  v.push_back(encoded(p));
  v.push_back(encoded(enrp::HandleTableRequest{9, 0, true}));
  v.push_back(encoded(enrp::ListRequest{9, 0}));
  v.push_back(encoded(enrp::InitTakeover{9, 0, 4}));
  enrp::HandleUpdate u;
  u.sender = 9;
  u.pool_handle = "fuzz";
  u.pool_element.identifier = 5;
  u.pool_element.registration_life = 1000;
  u.pool_element.user_transport.addresses = ips({"10.9.0.1"});
  v.push_back(encoded(u));
  // ENRP: a takeover suggestion, a DEL_PE, a table page, a list, the takeover messages
  // (one naming this registrar), an error, a Presence asking for a reply.
  u.takeover_suggested = true;
  u.pool_element.asap_transport = u.pool_element.user_transport;
  v.push_back(encoded(u));
  u.action = w::UpdateAction::del_pe;
  v.push_back(encoded(u));
  enrp::HandleTableResponse t;
  t.sender = 9;
  t.more = true;
  t.pools.push_back({"fuzz", {u.pool_element}});
  v.push_back(encoded(t));
  v.push_back(encoded(enrp::ListResponse{9, 0, false, {{8, u.pool_element.user_transport}}}));
  v.push_back(encoded(enrp::InitTakeoverAck{9, 0, 4}));
  v.push_back(encoded(enrp::TakeoverServer{9, 0, 4}));
  v.push_back(encoded(enrp::TakeoverServer{9, 0, 0x1234abcd}));
  v.push_back(encoded(enrp::InitTakeover{9, 0, 0x1234abcd}));
  v.push_back(encoded(enrp::Error{9, 0, w::OperationError{{{CauseCode::unrecognized_message, {1}}}}}));
  p.reply_required = true;
  p.server_information = w::ServerInformation{9, u.pool_element.user_transport};
  v.push_back(encoded(p));
  return v;
}

Bytes mutate(Bytes b, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 5);
  const int n = 1 + static_cast<int>(rng() % 3);
  for (int k = 0; k < n; ++k) {
    switch (op(rng)) {
      case 0:  // flip a byte
        if (!b.empty()) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        break;
      case 1:  // truncate
        if (!b.empty()) b.resize(rng() % b.size());
        break;
      case 2:  // append garbage, keeping the Message Length consistent half the time
        for (int i = 0, m = 1 + static_cast<int>(rng() % 12); i < m; ++i)
          b.push_back(static_cast<std::uint8_t>(rng()));
        if (b.size() >= 4 && b.size() < 65536 && rng() % 2) {
          b[2] = static_cast<std::uint8_t>(b.size() >> 8);
          b[3] = static_cast<std::uint8_t>(b.size());
        }
        break;
      case 3:  // set a 16-bit field (a TLV length or type) to an edge value
        if (b.size() >= 2) {
          static const std::uint16_t edges[] = {0, 1, 3, 4, 5, 0x7fff, 0x8000, 0xffff};
          const std::size_t at = (rng() % (b.size() / 2)) * 2;
          const std::uint16_t v = edges[rng() % std::size(edges)];
          b[at] = static_cast<std::uint8_t>(v >> 8);
          b[at + 1] = static_cast<std::uint8_t>(v);
        }
        break;
      case 4:  // flip a bit
        if (!b.empty()) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      default:  // the message type
        if (!b.empty()) b[0] = static_cast<std::uint8_t>(rng() % 20);
        break;
    }
  }
  return b;
}

Bytes random_bytes(std::mt19937& rng) {
  Bytes b(rng() % 96);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  if (b.size() >= 4 && rng() % 2) {  // a plausible header half the time
    b[0] = static_cast<std::uint8_t>(rng() % 16);
    b[2] = static_cast<std::uint8_t>(b.size() >> 8);
    b[3] = static_cast<std::uint8_t>(b.size());
  }
  return b;
}

// Every send decodes as the input's protocol; or as ENRP: the fuzzing connections carry
// ENRP too (the fuzzer's sender IDs become peers), so an ASAP registration there also
// sends a Handle Update to such a peer.
void check_actions(const reg::Actions& out, bool enrp_input) {
  for (const auto& s : out.sends) {
    const auto e = w::decode_enrp(s.message);
    if (enrp_input) {
      ASSERT_TRUE(e) << "the core sent an undecodable ENRP message: " << e.error().message();
    } else {
      const auto d = w::decode_asap(s.message);
      ASSERT_TRUE(d || e) << "the core sent an undecodable ASAP message: " << d.error().message();
    }
  }
  for (const auto& e : out.events) {
    ASSERT_TRUE(e.is_object());
    ASSERT_TRUE(e.contains("event"));
    // As the event log writes them: invalid UTF-8 (opaque pool handles) replaced.
    EXPECT_FALSE(e.dump(-1, ' ', false, json::error_handler_t::replace).empty());
  }
}

TEST(RegistrarRobustness, RandomAndMutatedInputKeepsLegitimatePes) {
  auto config = Harness::make_config();
  config.max_hr_rate = 1000;  // the limiter runs too, without starving the fuzzer
  config.max_eu_rate = 1000;
  Harness h(config);
  h.core.opened(1, sctp_peer({"10.0.0.1", "10.0.0.2"}));
  for (std::uint32_t id = 1; id <= 3; ++id)
    h.register_ok(1, "legit", PeSpec{.id = id, .life = 1'000'000,
                                      .addresses = ips({"10.0.0.1", "10.0.0.2"})},
                  at(0));
  // Fuzzing associations: a multi-homed SCTP one and a TCP one with the seeds' addresses.
  h.core.opened(2, sctp_peer({"10.9.0.1", "10.9.0.2"}));
  h.core.opened(3, tcp_peer("10.9.0.3"));
  // ENRP running: the fuzzer's sender IDs become peers, go silent, are taken over.
  h.out.clear();
  h.core.start(at(0), h.out);

  const auto aseeds = asap_seeds();
  const auto eseeds = enrp_seeds();
  std::mt19937 rng(20240501);
  std::size_t sent = 0, errors = 0;
  TimePoint now = at(1);
  for (int i = 0; i < 10000; ++i) {
    now += milliseconds(rng() % 3);
    const ConnId conn = 2 + rng() % 3;  // 2, 3, or 4 (never opened)
    const int kind = static_cast<int>(rng() % 4);
    Bytes input;
    if (kind == 0) input = random_bytes(rng);
    else if (kind == 3) input = mutate(eseeds[rng() % eseeds.size()], rng);
    else input = mutate(aseeds[rng() % aseeds.size()], rng);
    const bool as_enrp = kind == 3 || (kind == 0 && rng() % 2);
    h.out.clear();
    if (as_enrp) h.core.received_enrp(conn, input, now, h.out);
    else h.core.received_asap(conn, input, now, h.out);
    ASSERT_NO_FATAL_FAILURE(check_actions(h.out, as_enrp)) << "input " << i;
    sent += h.out.sends.size();
    for (const auto& e : h.out.events) errors += e["event"] == "error_sent";
    if (i % 1000 == 999) {
      // Keep-alives to the fuzzing PEs go unanswered (they time out); the legitimate
      // PEs answer theirs, so that the test stays about input, not time.
      h.tick(now);
      ASSERT_NO_FATAL_FAILURE(check_actions(h.out, false));
      std::vector<asap::EndpointKeepAliveAck> acks;
      for (const auto& s : h.out.sends) {
        const auto d = w::decode_asap(s.message);
        if (!d || s.conn != 1) continue;
        if (const auto* ka = std::get_if<asap::EndpointKeepAlive>(&d->message))
          acks.push_back({ka->pool_handle, ka->pe_identifier.value_or(0)});
      }
      for (const auto& a : acks) h.asap_in(1, a, now);
    }
  }
  EXPECT_GT(sent, 1000u);
  EXPECT_GT(errors, 100u);

  // Every legitimate PE is still there, and resolvable.
  for (std::uint32_t id = 1; id <= 3; ++id) EXPECT_TRUE(h.core.handlespace().find("legit", id));
  const auto ids = h.resolve(9, "legit", now, w::kAllItems);
  std::vector<std::uint32_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::uint32_t>{1, 2, 3}));
  h.closed(2, now);
  h.closed(3, now);
  h.closed(4, now);
  EXPECT_TRUE(h.core.handlespace().find("legit", 1));
}

TEST(RegistrarRobustness, AllSingleByteTruncationsOfEveryMessage) {
  Harness h;
  h.core.opened(1, sctp_peer({"10.0.0.1"}));
  h.register_ok(1, "legit", PeSpec{.id = 1}, at(0));
  h.core.opened(2, sctp_peer({"10.9.0.1", "10.9.0.2"}));
  for (const auto& seed : asap_seeds())
    for (std::size_t n = 0; n <= seed.size(); ++n) {
      h.out.clear();
      h.core.received_asap(2, std::span(seed.data(), n), at(1), h.out);
      ASSERT_NO_FATAL_FAILURE(check_actions(h.out, false));
    }
  for (const auto& seed : enrp_seeds())
    for (std::size_t n = 0; n <= seed.size(); ++n) {
      h.out.clear();
      h.core.received_enrp(2, std::span(seed.data(), n), at(1), h.out);
      ASSERT_NO_FATAL_FAILURE(check_actions(h.out, true));
    }
  EXPECT_EQ(h.resolve(9, "legit", at(2)), (std::vector<std::uint32_t>{1}));
}

}  // namespace
}  // namespace registrar_test
