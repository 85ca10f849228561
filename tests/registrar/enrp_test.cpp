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
  // The connection registrar 2 dialled: the core's own id, a positive number in the event.
  const auto dialled = net.events_of("peer_up", 1).at(0);
  EXPECT_EQ(dialled["via"], "static");
  EXPECT_GT(dialled["conn"].get<std::int64_t>(), 0);
  EXPECT_GE(dialled["conn"].get<std::uint64_t>(), reg::kOutgoing);
  const auto serving = net.events_of("serving");
  ASSERT_EQ(serving.size(), 2u);
  // Registrar 1 found nobody (its peer was not up yet) and served without a mentor at
  // once: its one static peer failed to connect.
  EXPECT_TRUE(serving[0]["mentor"].is_null());
  EXPECT_EQ(serving[1]["mentor"], "0x00000001");
  EXPECT_EQ(net.events_of("handle_table_sync", 1).at(0)["reason"], "mentor");
}

// No static peers, but multicast (the Net's default): a peer may still be heard there, so
// the registrar waits the mentor discovery out.
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

// Without static peers and multicast there is nothing to discover: serving at start().
// Restarted so, a registrar is found by the peer that names it, and the audits bring it
// that peer's PEs (and the peer its).
TEST(RegistrarEnrpNet, WithoutPeersOrMulticastServesAtOnceAndAuditsCatchUp) {
  const auto no_multicast = [](reg::Config& c) { c.enrp.multicast = false; };
  Harness h([&] {
    auto c = Harness::make_config();
    no_multicast(c);
    return c;
  }());
  h.core.start(at(0), h.out);
  EXPECT_TRUE(h.core.serving());
  EXPECT_TRUE(h.out.multicast.empty());
  const auto first = h.event("serving");
  EXPECT_TRUE(first["mentor"].is_null());
  EXPECT_EQ(first["waited_ms"], 0);

  Net net;
  net.add_registrar(1, {}, no_multicast);
  net.add_registrar(2, {0}, no_multicast);
  net.start(0);
  EXPECT_TRUE(net.regs[0].core->serving());
  net.start(1);
  net.advance(100);
  for (std::uint32_t id = 1; id <= 10; ++id) net.add_pe("p", id, id % 2);
  net.advance(1000);
  expect_converged(net, "before the restart");
  net.kill(0);
  net.advance(1000);
  const std::size_t since = net.events.size();
  net.start(0);
  EXPECT_TRUE(net.regs[0].core->serving());
  const auto serving = net.events_of("serving", 0, since);
  ASSERT_EQ(serving.size(), 1u);
  EXPECT_TRUE(serving[0]["mentor"].is_null());
  EXPECT_EQ(serving[0]["waited_ms"], 0);
  net.advance(3000);
  EXPECT_EQ(net.events_of("peer_up", 0, since).at(0)["via"], "incoming");
  bool audited = false;
  for (const auto& e : net.events_of("handle_table_sync", 0, since))
    audited |= e["reason"] == "audit" && e["peer"] == "0x00000002" && e["pes"] == 5;
  EXPECT_TRUE(audited);
  EXPECT_EQ(net.regs[0].core->handlespace().owned_count(2), 5u);
  // Its own old PEs fail over and come back.
  net.advance(80000);
  expect_converged(net, "after the restart");
  EXPECT_EQ(net.table(0).size(), 10u);
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
// silent), with every other seed a registrar dying: every live registrar ends with the same
// handlespace and per-owner checksums, and it is what the PEs believe.
TEST(RegistrarEnrpNet, RandomChurnConverges) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
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
        if (net.pes[i].alive && net.pes[i].core->state() != session::PeState::done)
          live.push_back(i);
      if (op <= 4 || live.empty()) {
        const std::string pool = rng() % 2 ? "a" : "b";
        names[net.add_pe(pool, next_id, rng() % n)] = {pool, next_id};
        ++next_id;
      } else {
        const auto victim = live[rng() % live.size()];
        if (op == 5)
          net.shutdown_pe(victim);
        else
          net.kill_pe(victim, op == 7);
      }
      if (step == 20 && seed % 2 == 0) net.kill(n - 1);  // and a registrar dies
      net.advance(rng() % 1500);
    }
    net.advance(25000);  // silent PEs time out; a dead registrar's PEs are taken over
    expect_converged(net, "after churn");
    std::set<std::pair<std::string, std::uint32_t>> believed, held;
    for (const auto& [i, name] : names)
      if (net.pes[i].alive && net.pes[i].core->state() == session::PeState::registered)
        believed.insert(name);
    for (const auto& [pool, id, home] : net.table(0)) held.emplace(pool, id);
    EXPECT_EQ(held, believed);
    EXPECT_GT(believed.size(), 5u);
    if (seed % 2 == 0) {
      std::size_t took_over = 0;
      for (const auto& e : net.events_of("takeover"))
        took_over += e["outcome"] == "completed" || e["outcome"] == "recovered";
      EXPECT_EQ(took_over, 1u);
      EXPECT_EQ(net.regs[0].core->handlespace().owned_count(static_cast<std::uint32_t>(n)), 0u);
    }
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

// A partition for less than the takeover time: the updates across it are lost, and when it
// heals the owner checksums disagree; audits bring both sides together again.
TEST(RegistrarEnrpNet, PartitionHealsThroughAudits) {
  Net net;
  for (std::uint32_t id = 1; id <= 4; ++id) net.add_registrar(id, all_but(4, id - 1));
  for (std::size_t r = 0; r < 4; ++r) net.start(r);
  net.advance(6000);
  std::vector<std::size_t> early;
  for (std::uint32_t id = 1; id <= 8; ++id) early.push_back(net.add_pe("p", id, id % 4));
  net.advance(1000);
  expect_converged(net, "before the partition");
  net.partition({0, 1});
  for (std::uint32_t id = 20; id <= 27; ++id) net.add_pe("p", id, id % 4);
  net.shutdown_pe(early[0]);
  net.shutdown_pe(early[3]);
  net.advance(1000);
  EXPECT_NE(net.table(0), net.table(2));
  net.advance(2000);
  const std::size_t since = net.events.size();
  net.heal();
  net.advance(4000);
  EXPECT_FALSE(net.events_of("audit", std::string::npos, since).empty());
  std::int64_t removed = 0;
  for (const auto& e : net.events_of("handle_table_sync", std::string::npos, since)) {
    EXPECT_EQ(e["reason"], "audit");
    removed += e["removed"].get<std::int64_t>();
  }
  EXPECT_GT(removed, 0);  // the deregistrations the other side missed
  EXPECT_TRUE(net.events_of("takeover_started").empty());
  expect_converged(net, "after the partition healed");
  EXPECT_EQ(net.table(0).size(), 14u);
}

// A partition longer than the takeover time: each side takes the other over, the PEs (which
// reach both sides) follow the last H keep-alive; once healed, everyone agrees again.
TEST(RegistrarEnrpNet, LongPartitionTakeoversThenHealConverge) {
  Net net;
  for (std::uint32_t id = 1; id <= 4; ++id) net.add_registrar(id, all_but(4, id - 1));
  for (std::size_t r = 0; r < 4; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 12; ++id) net.add_pe("p", id, id % 4);
  net.advance(1000);
  net.partition({0, 1});
  net.advance(20000);
  EXPECT_GE(net.events_of("takeover_started").size(), 2u);
  net.heal();
  net.advance(30000);
  expect_converged(net, "after the long partition healed");
  std::size_t registered = 0;
  for (const auto& p : net.pes) registered += p.core->state() == session::PeState::registered;
  EXPECT_EQ(registered, 12u);
  EXPECT_EQ(net.table(0).size(), 12u);
  // Each PE's home, as the registrars hold it, is the one the PE itself follows.
  for (const auto& [pool, id, home] : net.table(0))
    EXPECT_EQ(net.pes[id - 1].core->home_server_id(), home) << "PE " << id;
}

// The PEs of registrar `r` (by index into net.pes), as registered there.
std::vector<std::size_t> pes_of(const Net& net, std::uint32_t home) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < net.pes.size(); ++i)
    if (net.pes[i].core->home_server_id() == home) v.push_back(i);
  return v;
}

// A registrar dies: exactly one peer adopts each of its PEs (one H keep-alive each, all
// from the same registrar), and the PEs go on being served there past their life.
TEST(RegistrarEnrpNet, DeadRegistrarsPesAreAdoptedOnceAndServedOn) {
  Net net;
  for (std::uint32_t id = 1; id <= 4; ++id) net.add_registrar(id, all_but(4, id - 1));
  for (std::size_t r = 0; r < 4; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 12; ++id) net.add_pe(id % 2 ? "p" : "q", id, id % 4);
  net.advance(6000);  // a keep-alive tells each PE its home's ID
  const auto orphans = pes_of(net, 4);
  ASSERT_EQ(orphans.size(), 3u);
  const std::size_t since = net.events.size();
  net.kill(3);
  net.advance(20000);

  std::map<std::size_t, std::vector<std::size_t>> h_from;  // PE -> registrars
  for (const auto& k : net.home_keepalives) h_from[k.pe].push_back(k.registrar);
  ASSERT_EQ(h_from.size(), 3u);
  const std::size_t adopter = h_from.begin()->second.at(0);
  for (const auto i : orphans) {
    EXPECT_EQ(h_from[i], std::vector<std::size_t>{adopter}) << "PE " << i;
    EXPECT_EQ(net.pes[i].core->home_server_id(), net.regs[adopter].config.identifier);
  }
  EXPECT_EQ(net.events_of("pe_adopted", std::string::npos, since).size(), 3u);
  // Every survivor heard the dead one last at the same moment, so they may all start at
  // once: one completes, the others yield.
  std::vector<json> done;
  for (const auto& e : net.events_of("takeover", std::string::npos, since)) {
    EXPECT_EQ(e["target"], "0x00000004");
    if (e["outcome"] == "yielded")
      EXPECT_EQ(e["pes"], 0);
    else
      done.push_back(e);
  }
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["outcome"], "completed");
  EXPECT_EQ(done[0]["pes"], 3);
  EXPECT_EQ(done[0]["acks"], 2);
  EXPECT_EQ(net.events_of("takeover", adopter, since).size(), 1u);
  EXPECT_GE(net.events_of("takeover_acked", std::string::npos, since).size(), 2u);
  EXPECT_EQ(net.events_of("peer_takeover", std::string::npos, since).size(), 2u);
  const auto down = net.events_of("peer_down", std::string::npos, since);
  EXPECT_EQ(down.size(), 3u);  // once by each survivor
  for (const auto& e : down) EXPECT_EQ(e["peer"], "0x00000004");
  expect_converged(net, "after the takeover");
  EXPECT_EQ(net.table(0).size(), 12u);
  EXPECT_EQ(net.regs[0].core->handlespace().owned_count(4), 0u);

  // Past the PEs' registration life (180 s): keep-alives acked and re-registrations over
  // the adopter's connection keep them registered there.
  net.advance(200000);
  expect_converged(net, "past the registration life");
  EXPECT_EQ(net.table(0).size(), 12u);
  for (const auto i : orphans) {
    EXPECT_EQ(net.pes[i].core->state(), session::PeState::registered);
    EXPECT_EQ(net.pes[i].core->home_server_id(), net.regs[adopter].config.identifier);
    EXPECT_GE(net.pes[i].core->counters().keepalives_answered, 30u);
    EXPECT_GE(net.pes[i].core->counters().reregistrations, 3u);
  }
  EXPECT_EQ(net.home_keepalives.size(), 3u);
}

// A registrar taken over comes back: it starts afresh from a mentor, the others take it
// for a peer again, and its old PEs stay where they were adopted.
TEST(RegistrarEnrpNet, TakenOverRegistrarReturns) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 9; ++id) net.add_pe("p", id, id % 3);
  net.advance(1000);
  net.kill(2);
  net.advance(20000);
  const std::size_t since = net.events.size();
  net.start(2);
  net.advance(10000);
  EXPECT_EQ(net.events_of("serving", 2, since).at(0)["mentor"].is_null(), false);
  EXPECT_EQ(net.events_of("peer_up", std::string::npos, since).size(), 4u);
  expect_converged(net, "after the return");
  EXPECT_EQ(net.table(2).size(), 9u);
  EXPECT_EQ(net.regs[2].core->handlespace().owned_count(3), 0u);
  const auto pe = net.add_pe("p", 50, 2);  // and it serves
  net.advance(1000);
  EXPECT_EQ(net.pes[pe].core->state(), session::PeState::registered);
  EXPECT_EQ(net.regs[0].core->handlespace().owned_count(3), 1u);
  expect_converged(net, "after a registration there");
}

// Advances in small steps until registrar r logged `name` (at most `limit` ms).
bool advance_until(Net& net, std::size_t r, std::string_view name, std::size_t since,
                   std::int64_t limit = 20000) {
  for (std::int64_t t = 0; t < limit; t += 50) {
    if (!net.events_of(name, r, since).empty()) return true;
    net.advance(50);
  }
  return !net.events_of(name, r, since).empty();
}

// Two registrars take over the same target at once: the lower Server ID wins, the other
// yields, and each PE is adopted once.
TEST(RegistrarEnrpNet, TakeoverConflictLowerIdWins) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 6; ++id) net.add_pe("p", id, 2);
  net.advance(1000);
  const std::size_t since = net.events.size();
  net.kill(2);
  net.hold(0, 1);  // neither hears of the other's takeover before starting its own
  ASSERT_TRUE(advance_until(net, 0, "takeover_started", since));
  ASSERT_TRUE(advance_until(net, 1, "takeover_started", since));
  net.release();
  net.advance(10000);
  const auto won = net.events_of("takeover", 0, since);
  const auto lost = net.events_of("takeover", 1, since);
  ASSERT_EQ(won.size(), 1u);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(won[0]["outcome"], "completed");
  EXPECT_EQ(won[0]["pes"], 6);
  EXPECT_EQ(lost[0]["outcome"], "yielded");
  EXPECT_EQ(lost[0]["pes"], 0);
  EXPECT_EQ(net.events_of("pe_adopted", 1, since).size(), 0u);
  EXPECT_EQ(net.home_keepalives.size(), 6u);
  for (const auto& k : net.home_keepalives) EXPECT_EQ(k.registrar, 0u);
  expect_converged(net, "after the conflict");
  EXPECT_EQ(net.regs[1].core->handlespace().owned_count(1), 6u);
}

// The acks never come (held back): where RSPLIB abandons, the lowest contender completes
// at the takeover expiry.
TEST(RegistrarEnrpNet, ExpiredTakeoverIsRecovered) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 4; ++id) net.add_pe("p", id, 2);
  net.advance(1000);
  const std::size_t since = net.events.size();
  net.kill(2);
  // Registrar 1's acks to 0 are lost: whoever starts first, 0 (the lower ID) waits for
  // one in vain (1 acks 0's Init Takeover, or yields to it).
  net.hold(1, 0, /*one_way=*/true, w::EnrpType::init_takeover_ack);
  ASSERT_TRUE(advance_until(net, 0, "takeover", since));
  net.release();
  net.advance(8000);
  EXPECT_TRUE(net.events_of("pe_adopted", 1, since).empty());
  const auto done = net.events_of("takeover", 0, since);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["outcome"], "recovered");
  EXPECT_EQ(done[0]["pes"], 4);
  EXPECT_EQ(done[0]["acks"], 0);
  EXPECT_EQ(net.home_keepalives.size(), 4u);
  expect_converged(net, "after the recovery");
}

// The winner dies before its Takeover Server: the registrar that yielded to it takes the
// target over itself when the takeover expiry passes without one.
TEST(RegistrarEnrpNet, YielderTakesOverWhenTheWinnerNeverFinishes) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  for (std::uint32_t id = 1; id <= 4; ++id) net.add_pe("p", id, 2);
  net.advance(1000);
  const std::size_t since = net.events.size();
  net.kill(2);
  net.hold(1, 0, /*one_way=*/true);  // registrar 1's ack to 0 waits ...
  ASSERT_TRUE(advance_until(net, 1, "takeover_acked", since));
  ASSERT_TRUE(net.events_of("takeover", 0, since).empty());
  net.kill(0);  // ... and 0 dies before completing
  net.release();
  net.advance(30000);
  const auto c_pes = pes_of(net, 2);
  EXPECT_EQ(c_pes.size(), 4u);  // now home at registrar 1 (ID 2)
  std::size_t from_second = 0;
  for (const auto& k : net.home_keepalives) from_second += k.registrar == 1;
  EXPECT_GE(from_second, 4u);
  EXPECT_EQ(net.regs[1].core->handlespace().owned_count(3), 0u);
  bool took_target = false;
  for (const auto& e : net.events_of("takeover", 1, since))
    took_target |= e["target"] == "0x00000003" && e["pes"] == 4;
  EXPECT_TRUE(took_target);
}

// The target comes back (restarted) while its takeover waits for acks: cancelled.
TEST(RegistrarEnrpNet, TargetHeardAgainCancelsTheTakeover) {
  Net net;
  for (std::uint32_t id = 1; id <= 3; ++id) net.add_registrar(id, all_but(3, id - 1));
  for (std::size_t r = 0; r < 3; ++r) net.start(r);
  net.advance(6000);
  const std::size_t since = net.events.size();
  net.kill(2);
  net.hold(0, 1);
  ASSERT_TRUE(advance_until(net, 0, "takeover_started", since));
  net.start(2);
  net.release();
  net.advance(100);
  const auto ended = net.events_of("takeover", 0, since);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["outcome"], "cancelled");
  EXPECT_TRUE(net.home_keepalives.empty());
}

// The T flag (docs/enrp.md): a registrar suggests the peer whose Server ID suits a PE
// better (larger ID XOR PE ID) take it over; that peer adopts it.
TEST(RegistrarEnrpNet, TakeoverSuggestionMovesThePeToTheSuggestedPeer) {
  Net net;
  const auto on = [](reg::Config& c) { c.enrp.takeover_suggestion = true; };
  net.add_registrar(1, {1}, on);
  net.add_registrar(2, {0}, on);
  net.start(0);
  net.start(1);
  net.advance(1000);
  const auto moved = net.add_pe("p", 1, 0);  // 2 ^ 1 > 1 ^ 1: suggested to ID 2
  const auto stays = net.add_pe("p", 2, 0);  // 1 ^ 2 > 2 ^ 2: stays
  net.advance(5000);
  EXPECT_EQ(net.pes[moved].core->home_server_id(), 2u);
  EXPECT_EQ(net.pes[stays].core->home_server_id(), 1u);
  const auto adopted = net.events_of("pe_adopted", 1);
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0]["from"], "0x00000001");
  expect_converged(net, "after the suggestion");
  EXPECT_EQ(net.table(0), (decltype(net.table(0)){{"p", 1, 2}, {"p", 2, 1}}));
}

TEST(RegistrarEnrpNet, WithoutTakeoverSuggestionPesStay) {
  Net net;
  net.add_registrar(1, {1});
  net.add_registrar(2, {0});
  net.start(0);
  net.start(1);
  net.advance(1000);
  const auto pe = net.add_pe("p", 1, 0);
  net.advance(5000);
  EXPECT_EQ(net.pes[pe].core->home_server_id(), 1u);
  EXPECT_TRUE(net.events_of("pe_adopted").empty());
}

// ENRP input a registrar must not act on: each is ignored with an event and changes
// nothing it owns.
TEST(RegistrarEnrp, MessagesItMustNotActOnAreIgnored) {
  Harness h;
  const std::uint32_t own = 0x1234abcd;
  h.core.opened(1, sctp_peer({"10.0.0.1"}));
  h.register_ok(1, "p", PeSpec{.id = 1}, at(0));
  const auto before = h.core.handlespace().owner_checksum(own);
  const auto ignored = [&](const enrp::Message& m, const char* what) {
    h.enrp_raw(20, encoded(m), at(1));
    EXPECT_EQ(h.events("enrp_ignored").size(), 1u) << what << ": " << h.out_text();
    EXPECT_EQ(h.core.handlespace().owner_checksum(own), before) << what;
    const auto ref = h.core.handlespace().find("p", 1);
    ASSERT_TRUE(ref) << what;
    EXPECT_EQ(h.core.handlespace().entry(*ref).element.home_server, own) << what;
  };
  enrp::HandleUpdate u;
  u.sender = 7;
  u.pool_handle = "p";
  u.pool_element = h.core.handlespace().entry(*h.core.handlespace().find("p", 1)).element;
  u.pool_element.home_server = 7;
  ignored(u, "a Handle Update for a PE it owns");
  u.action = w::UpdateAction::del_pe;
  ignored(u, "a DEL_PE for a PE it owns");
  u.action = w::UpdateAction::add_pe;
  u.pool_handle = "q";
  u.pool_element.home_server = 8;
  ignored(u, "a Handle Update for a PE whose home is not the sender");
  EXPECT_FALSE(h.core.handlespace().find("q", 1));
  ignored(enrp::TakeoverServer{7, 0, own}, "a Takeover Server for itself");
  ignored(enrp::HandleTableResponse{7, 0, false, false, {{"p", {u.pool_element}}}},
          "a Handle Table Response nobody asked for");
  EXPECT_FALSE(h.core.handlespace().find("q", 1));
  // Taken for dead, it says it is alive.
  h.enrp_raw(20, encoded(enrp::InitTakeover{7, 0, own}), at(2));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto d = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d && std::holds_alternative<enrp::Presence>(d->message));
  EXPECT_TRUE(h.events("takeover_acked").empty());
}

// A peer announcing a wildcard ENRP endpoint is known by the address it comes from (what a
// List Response passes on to others).
TEST(RegistrarEnrp, WildcardServerInformationTakesTheConnectionsAddress) {
  Harness h;
  h.core.opened(20, tcp_peer("10.0.0.7", 40001));
  enrp::Presence p;
  p.sender = 7;
  p.server_information = w::ServerInformation{7, {}};
  p.server_information->transport.kind = w::TransportKind::tcp;
  p.server_information->transport.port = 9901;
  p.server_information->transport.addresses = ips({"0.0.0.0"});
  h.enrp_raw(20, encoded(p), at(0));
  ASSERT_EQ(h.core.peers().size(), 1u);
  ASSERT_TRUE(h.core.peers()[0].transport);
  EXPECT_EQ(h.core.peers()[0].transport->addresses, ips({"10.0.0.7"}));
  EXPECT_EQ(h.core.peers()[0].transport->port, 9901);
}

// A contender with a higher ID that this registrar's takeover did not ask (it was not a
// peer yet) gets no ack but this registrar's own Init Takeover, on which it yields.
TEST(RegistrarEnrp, HigherContenderGetsAnInitTakeoverNotAnAck) {
  auto config = Harness::make_config();
  config.identifier = 5;
  Harness h(config);
  h.out.clear();
  h.core.start(at(0), h.out);
  enrp::Presence p;
  p.pe_checksum = 0xffff;
  p.sender = 9;  // the target
  h.enrp_raw(20, encoded(p), at(0));
  p.sender = 11;  // a peer that stays
  h.enrp_raw(21, encoded(p), at(0));
  h.tick(at(5000));   // both probed
  h.enrp_raw(21, encoded(p), at(5500));
  h.tick(at(10000));  // 9 is down: takeover, awaiting 11
  const auto started = h.event("takeover_started");
  EXPECT_EQ(started["target"], "0x00000009");
  EXPECT_EQ(started["awaiting"], json::array({"0x0000000b"}));
  h.enrp_raw(22, encoded(enrp::InitTakeover{12, 0, 9}), at(10001));
  EXPECT_TRUE(h.events("takeover_acked").empty());
  EXPECT_TRUE(h.events("takeover").empty());  // still ours
  bool init_back = false;
  for (const auto& s : h.out.sends) {
    const auto d = w::decode_enrp(s.message);
    ASSERT_TRUE(d);
    EXPECT_FALSE(std::holds_alternative<enrp::InitTakeoverAck>(d->message));
    if (const auto* i = std::get_if<enrp::InitTakeover>(&d->message))
      init_back |= s.conn == 22 && i->sender == 5 && i->receiver == 12 && i->target == 9;
  }
  EXPECT_TRUE(init_back);
}

// A request with Sender ID 0 (a tool such as `rsplab hsdump`) is answered page by page
// over its connection, and makes no peer; a peer's paging follows its connection.
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
  EXPECT_TRUE(h.core.peers().empty());
  EXPECT_TRUE(h.events("peer_up").empty());
  // A peer's paging restarts when it asks over another connection (it restarted, say).
  const auto first_of = [&](ConnId conn) -> std::uint32_t {
    h.enrp_raw(conn, encoded(enrp::HandleTableRequest{7, 0, false}), at(1));
    for (const auto& s : h.out.sends) {  // after a Presence over a new connection
      const auto d = w::decode_enrp(s.message);
      const auto* r = d ? std::get_if<enrp::HandleTableResponse>(&d->message) : nullptr;
      if (r && !r->pools.empty()) return r->pools[0].pool_elements.at(0).identifier;
    }
    return 0;
  };
  EXPECT_EQ(first_of(60), 2u);
  EXPECT_NE(first_of(60), 2u);  // the next page
  EXPECT_EQ(first_of(61), 2u);  // another connection: from the start
  h.enrp_raw(50, encoded(enrp::ListRequest{0, 0}), at(2));
  ASSERT_EQ(h.out.sends.size(), 1u);
  const auto d = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d && std::holds_alternative<enrp::ListResponse>(d->message));
  EXPECT_EQ(h.core.peers().size(), 1u);  // 7, not the tool
}

// A tool's Presence with R (Sender ID 0, as `rsplab hsdump` sends) is answered with this
// registrar's own: Receiver ID 0, the checksum of the PEs it owns, its Server Information.
// The tool becomes no peer; a tool's Presence without R gets nothing.
TEST(RegistrarEnrp, ToolPresenceWithRGetsTheRegistrarsOwnPresence) {
  auto config = Harness::make_config();
  config.enrp.own = {w::Transport{}};
  config.enrp.own[0].kind = w::TransportKind::tcp;
  config.enrp.own[0].port = 9901;
  config.enrp.own[0].addresses = ips({"10.0.0.1"});
  Harness h(config);
  h.core.opened(1, sctp_peer({"10.0.0.1"}));
  h.register_ok(1, "p", PeSpec{.id = 1}, at(0));
  h.register_ok(1, "p", PeSpec{.id = 2}, at(0));
  h.core.opened(50, tcp_peer("10.0.0.9"));
  enrp::Presence tool;
  tool.reply_required = true;
  h.enrp_raw(50, encoded(tool), at(1));
  ASSERT_EQ(h.out.sends.size(), 1u) << h.out_text();
  EXPECT_EQ(h.out.sends[0].conn, 50u);
  const auto d = w::decode_enrp(h.out.sends[0].message);
  ASSERT_TRUE(d);
  const auto* p = std::get_if<enrp::Presence>(&d->message);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->sender, 0x1234abcdu);
  EXPECT_EQ(p->receiver, 0u);
  EXPECT_FALSE(p->reply_required);
  EXPECT_EQ(p->pe_checksum, h.core.handlespace().owner_checksum(0x1234abcd));
  EXPECT_NE(p->pe_checksum, h.core.handlespace().owner_checksum(7));  // two PEs, not none
  ASSERT_TRUE(p->server_information);
  EXPECT_EQ(p->server_information->server_id, 0x1234abcdu);
  EXPECT_EQ(p->server_information->transport, config.enrp.own[0]);
  EXPECT_TRUE(h.core.peers().empty());
  EXPECT_TRUE(h.events("peer_up").empty());
  tool.reply_required = false;
  h.enrp_raw(50, encoded(tool), at(2));
  EXPECT_TRUE(h.out.sends.empty());
  EXPECT_EQ(h.events("enrp_ignored").size(), 1u);
  EXPECT_TRUE(h.core.peers().empty());
}

}  // namespace
}  // namespace registrar_test
