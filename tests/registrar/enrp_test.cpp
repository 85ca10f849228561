// ENRP between registrar cores (docs/enrp.md), wired in memory with PE cores
// (tests/registrar/enrp_net.hpp) and driven by a fake clock: peering and start-up from a
// mentor (paged), Handle Updates, the responder, audits after a partition, takeover of a
// dead registrar (each PE adopted once, and served on), conflicts, the T flag, and ENRP
// input a registrar must survive.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tests/registrar/enrp_net.hpp"

namespace registrar_test {
namespace {

// Every live registrar holds the same PEs with the same homes, and the same checksum per
// owner.
void expect_converged(const Net& net, const std::string& where) {
  std::optional<std::size_t> first;
  for (std::size_t r = 0; r < net.regs.size(); ++r) {
    if (!net.regs[r].alive || !net.regs[r].core) continue;
    EXPECT_TRUE(net.regs[r].core->serving()) << where << ": registrar " << r;
    if (!first) {
      first = r;
      continue;
    }
    EXPECT_EQ(net.table(r), net.table(*first)) << where << ": registrar " << r << " vs " << *first;
    const auto& a = net.regs[r].core->handlespace();
    const auto& b = net.regs[*first].core->handlespace();
    for (const auto& g : net.regs)
      EXPECT_EQ(a.owner_checksum(g.config.identifier), b.owner_checksum(g.config.identifier))
          << where << ": owner " << g.config.identifier;
  }
}

std::vector<std::size_t> all_but(std::size_t n, std::size_t me) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < n; ++i)
    if (i != me) v.push_back(i);
  return v;
}

TEST(RegistrarEnrpNet, StaticPeersFindEachOtherAndServe) {
  Net net;
  net.add_registrar(1, {1});
  net.add_registrar(2, {0});
  net.start(0);
  net.start(1);
  net.advance(100);
  for (std::size_t r = 0; r < 2; ++r) {
    EXPECT_TRUE(net.regs[r].core->serving());
    ASSERT_EQ(net.regs[r].core->peers().size(), 1u);
    EXPECT_TRUE(net.regs[r].core->peers()[0].reachable);
    EXPECT_EQ(net.regs[r].core->peers()[0].transport, Net::enrp_transport(1 - r));
  }
  EXPECT_EQ(net.events_of("peer_up").size(), 2u);
  const auto serving = net.events_of("serving");
  ASSERT_EQ(serving.size(), 2u);
  // Registrar 1 found nobody (its peer was not up yet) and served without a mentor at
  // once: its one static peer failed to connect.
  EXPECT_TRUE(serving[0]["mentor"].is_null());
  EXPECT_EQ(serving[1]["mentor"], "0x00000001");
  EXPECT_EQ(net.events_of("handle_table_sync", 1).at(0)["reason"], "mentor");
}

TEST(RegistrarEnrpNet, WithoutPeersServesAtTheDiscoveryTimeout) {
  Net net;
  net.add_registrar(1);
  net.start(0);
  EXPECT_FALSE(net.regs[0].core->serving());
  net.advance(4999);
  EXPECT_FALSE(net.regs[0].core->serving());
  net.advance(1);
  EXPECT_TRUE(net.regs[0].core->serving());
  EXPECT_EQ(net.events_of("serving").at(0)["waited_ms"], 5000);
}

TEST(RegistrarEnrpNet, MulticastPresenceAndListResponsesFindPeers) {
  Net net;
  net.add_registrar(1);
  net.add_registrar(2);
  net.add_registrar(3, {0});
  net.start(0);
  net.start(1);
  net.start(2);
  net.advance(10000);
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(net.regs[r].core->peers().size(), 2u) << r;
  std::set<std::string> via;
  for (const auto& e : net.events_of("peer_up")) via.insert(e["via"]);
  EXPECT_TRUE(via.contains("static"));
  EXPECT_TRUE(via.contains("multicast") || via.contains("list"));
}

TEST(RegistrarEnrpNet, RegistrationsAndDeregistrationsReachEveryPeer) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  const auto a = net.add_pe("p", 11, 0);
  const auto b = net.add_pe("p", 12, 1);
  net.advance(100);
  ASSERT_EQ(net.table(2).size(), 2u);
  EXPECT_EQ(net.table(2)[0], std::make_tuple(std::string("p"), 11u, 1u));
  EXPECT_EQ(net.table(2)[1], std::make_tuple(std::string("p"), 12u, 2u));
  expect_converged(net, "registered");
  // The ASAP transport the home recorded travels along (takeover needs it).
  const auto& hs = net.regs[2].core->handlespace();
  const auto ref = hs.find("p", 11);
  ASSERT_TRUE(ref);
  ASSERT_TRUE(hs.entry(*ref).element.asap_transport);
  EXPECT_EQ(hs.entry(*ref).element.asap_transport->port, 7000);
  net.shutdown_pe(a);
  net.kill_pe(b);
  net.advance(100);
  EXPECT_TRUE(net.table(0).empty());
  EXPECT_TRUE(net.table(2).empty());
}

// 3 to 5 registrars, random registrations, deregistrations and PE failures (closed and
// silent): every registrar ends with the same handlespace and per-owner checksums, and it
// is what the PEs believe.
TEST(RegistrarEnrpNet, RandomChurnConverges) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Net net;
    const std::size_t n = 3 + seed % 3;
    for (std::size_t r = 0; r < n; ++r) net.add_registrar(static_cast<std::uint32_t>(r + 1), {0});
    for (std::size_t r = 0; r < n; ++r) net.start(r);
    net.advance(8000);
    std::uint32_t next_id = 100;
    std::map<std::size_t, std::pair<std::string, std::uint32_t>> names;  // by PE index
    for (int step = 0; step < 40; ++step) {
      const auto op = rng() % 8;
      std::vector<std::size_t> live;
      for (std::size_t i = 0; i < net.pes.size(); ++i)
        if (net.pes[i].alive && net.pes[i].core->state() != session::PeState::done) live.push_back(i);
      if (op <= 4 || live.empty()) {
        const std::string pool = rng() % 2 ? "a" : "b";
        names[net.add_pe(pool, next_id, rng() % n)] = {pool, next_id};
        ++next_id;
      } else {
        const auto victim = live[rng() % live.size()];
        if (op == 5) net.shutdown_pe(victim);
        else net.kill_pe(victim, op == 7);
      }
      net.advance(rng() % 1500);
    }
    net.advance(15000);  // silent PEs time out (keep-alive interval + timeout)
    expect_converged(net, "after churn");
    std::set<std::pair<std::string, std::uint32_t>> believed, held;
    for (const auto& [i, name] : names)
      if (net.pes[i].alive && net.pes[i].core->state() == session::PeState::registered)
        believed.insert(name);
    for (const auto& [pool, id, home] : net.table(0)) held.emplace(pool, id);
    EXPECT_EQ(held, believed);
    EXPECT_GT(believed.size(), 5u);
  }
}

// A registrar restarts: it downloads the handlespace from its mentor page by page (a small
// max_response_bytes), and the mentor's audit sweeps the PEs the old instance held.
TEST(RegistrarEnrpNet, RestartedRegistrarResynchronisesPagedAndIsAudited) {
  Net net;
  const auto small_pages = [](reg::Config& c) { c.enrp.max_response_bytes = 1000; };
  net.add_registrar(1, {1}, small_pages);
  net.add_registrar(2, {0}, small_pages);
  net.start(0);
  net.start(1);
  net.advance(1000);
  for (std::uint32_t id = 1; id <= 40; ++id) net.add_pe(id % 3 ? "p" : "q", id, id % 2);
  net.advance(1000);
  expect_converged(net, "before the restart");
  const std::size_t on_second = net.regs[0].core->handlespace().owned_count(2);
  EXPECT_EQ(on_second, 20u);

  net.kill(1);
  net.advance(1000);
  const std::size_t since = net.events.size();
  net.start(1);
  net.advance(500);
  const auto sync = net.events_of("handle_table_sync", 1, since);
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0]["reason"], "mentor");
  EXPECT_GE(sync[0]["pages"].get<int>(), 2);
  // The mentor's table: its own 20 PEs, and what its audit of the new instance (which
  // announces none) had not swept yet of the old one's.
  EXPECT_GE(sync[0]["pes"].get<int>(), 20);
  const auto serving = net.events_of("serving", 1, since);
  ASSERT_EQ(serving.size(), 1u);
  EXPECT_EQ(serving[0]["mentor"], "0x00000001");
  EXPECT_EQ(serving[0]["pes"], 20);  // not its own old PEs: nobody keeps them alive here
  // The mentor held 20 PEs of registrar 2, which announces none: an audit swept them.
  net.advance(3000);
  ASSERT_FALSE(net.events_of("audit", 0, since).empty());
  bool swept = false;
  for (const auto& e : net.events_of("handle_table_sync", 0, since))
    swept |= e["reason"] == "audit" && e["removed"] == 20;
  EXPECT_TRUE(swept);
  expect_converged(net, "after the audit");
  // The old instance's PEs fail over (their re-registration goes unanswered) and come back.
  net.advance(80000);
  expect_converged(net, "after the failover");
  EXPECT_EQ(net.table(0).size(), 40u);
}

// A request with Sender ID 0 (a tool such as `rsplab hsdump`) is answered page by page
// over its connection, and makes no peer.
TEST(RegistrarEnrp, ToolRequestsAreAnsweredPagedWithoutMakingAPeer) {
  auto config = Harness::make_config();
  config.enrp.max_response_bytes = 300;
  Harness h(config);
  h.core.opened(1, sctp_peer({"10.0.0.1"}));
  for (std::uint32_t id = 1; id <= 12; ++id)
    h.register_ok(1, id % 2 ? "odd" : "even", PeSpec{.id = id}, at(0));
  h.core.opened(50, tcp_peer("10.0.0.9"));
  std::vector<std::uint32_t> got;
  int pages = 0;
  for (bool more = true; more && pages < 20; ++pages) {
    h.enrp_raw(50, encoded(enrp::HandleTableRequest{0, 0, false}), at(1));
    ASSERT_EQ(h.out.sends.size(), 1u);
    const auto d = w::decode_enrp(h.out.sends[0].message);
    ASSERT_TRUE(d);
    const auto* r = std::get_if<enrp::HandleTableResponse>(&d->message);
    ASSERT_TRUE(r);
    EXPECT_LE(h.out.sends[0].message.size(), 300u);
    for (const auto& pool : r->pools)
      for (const auto& pe : pool.pool_elements) {
        got.push_back(pe.identifier);
        EXPECT_TRUE(pe.asap_transport.has_value());
      }
    more = r->more;
  }
  EXPECT_GT(pages, 2);
  // even (2, 4, ..., 12) then odd (1, 3, ..., 11): every PE once, in table order.
  EXPECT_EQ(got, (std::vector<std::uint32_t>{2, 4, 6, 8, 10, 12, 1, 3, 5, 7, 9, 11}));
  h.enrp_raw(50, encoded(enrp::ListRequest{0, 0}), at(2));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto d = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d && std::holds_alternative<enrp::ListResponse>(d->message));
  EXPECT_TRUE(h.core.peers().empty());
  EXPECT_TRUE(h.events("peer_up").empty());
}

}  // namespace
}  // namespace registrar_test
