// ENRP between registrar nodes in one process (node/registrar.hpp) and `rsplab hsdump`'s fetch
// (node/hsdump.hpp), over loopback TCP: registrars given --peer find each other and replicate
// a PE registered at one of them; hsdump shows every registrar the same PEs and checksums;
// ENRP presence by multicast on lo; the ASAP announces wait until the registrar serves; bad
// ENRP options are usage errors. hsdump's error paths run against a scripted ENRP listener
// (a registrar does not reject or garble on purpose).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <memory>
#include <system_error>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/hsdump.hpp"
#include "node/pe.hpp"
#include "node/registrar.hpp"
#include "node/shell.hpp"
#include "stack/common/events.hpp"
#include "stack/handlespace/handlespace.hpp"
#include "stack/wire/messages.hpp"
#include "tests/node/harness.hpp"
#include "tests/support/process.hpp"

namespace {

namespace asap = rserpool::wire::asap;
namespace enrp = rserpool::wire::enrp;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using namespace std::chrono_literals;
using rsplab::node::HandlespaceDump;
using rsplab::node::RegistrarNode;
using rsplab::node::UsageError;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;

// A registrar on loopback TCP with ENRP timers short enough for a test.
rsplab::options::RegistrarOptions enrp_options(const std::string& id) {
  auto o = rsplab::node::test::registrar_options(id);
  o.peer_heartbeat_interval = "200ms";
  o.mentor_discovery_timeout = "300ms";
  return o;
}

asap::Registration registration(const std::string& pool, std::uint32_t id) {
  asap::Registration r;
  r.pool_handle = pool;
  r.pool_element.identifier = id;
  r.pool_element.registration_life = 60000;
  r.pool_element.user_transport.kind = wire::TransportKind::tcp;
  r.pool_element.user_transport.port = 7000;
  r.pool_element.user_transport.addresses = {wire::Address::v4(127, 0, 0, 1)};
  r.pool_element.policy.type = wire::PolicyType::round_robin;
  return r;
}

// A registrar node with its events.
struct Registrar {
  Recorder events;
  std::unique_ptr<RegistrarNode> node;
  Registrar(boost::asio::io_context& io, const rsplab::options::RegistrarOptions& o)
      : node(std::make_unique<RegistrarNode>(io, o, events.sink())) {
    node->start();
  }
  std::string enrp() const { return node->enrp_endpoint().to_string(); }
  std::set<std::string> peers_up() const {
    std::set<std::string> out;
    for (const auto& e : events.as<rsplab::common::PeerUpEvent>("peer_up")) out.insert(e.peer);
    return out;
  }
  bool holds(const std::string& pool, std::uint32_t pe) const {
    return node->core().handlespace().find(pool, pe).has_value();
  }
};

// hsdump of `r` on the shared io_context; the error text instead when it fails.
std::optional<HandlespaceDump> hsdump(boost::asio::io_context& io, const std::string& enrp,
                                      std::string* error, std::chrono::milliseconds timeout = 3s,
                                      transport::Choice choice = transport::Choice::tcp) {
  rsplab::node::HsdumpRequest request;
  std::string why;
  request.registrar = *transport::parse_endpoint(enrp, wire::kEnrpPort, &why);
  request.transport = choice;
  request.timeout = timeout;
  bool done = false;
  std::optional<HandlespaceDump> dump;
  rsplab::node::fetch_handlespace(io, request, [&](std::optional<HandlespaceDump> d,
                                                   std::string e) {
    done = true;
    dump = std::move(d);
    *error = std::move(e);
  });
  EXPECT_TRUE(run_until(io, [&] { return done; }, timeout + 2s)) << "hsdump never called back";
  return dump;
}

// The dump as `rsplab hsdump --json` prints it, parsed back: PE identifiers by pool, and the
// owner rows (id → checksum). The registrar answers hsdump's Presence with its own: the
// checksum it announces for itself is there and equals the one over the PEs it lists, in
// the JSON and in the text.
struct Seen {
  std::set<std::string> pes;  // "pool/0x..."
  std::map<std::string, std::string> checksums;
};
Seen seen(const HandlespaceDump& d) {
  const auto j = nlohmann::json::parse(rsplab::node::to_json(d).dump());
  Seen s;
  for (const auto& pool : j.at("pools"))
    for (const auto& pe : pool.at("pes"))
      s.pes.insert(pool.at("handle").get<std::string>() + "/" + pe.at("id").get<std::string>());
  int own_rows = 0;
  for (const auto& o : j.at("owners")) {
    s.checksums[o.at("id").get<std::string>()] = o.at("checksum").get<std::string>();
    if (o.at("id") != j.at("registrar")) {
      EXPECT_FALSE(o.contains("announced")) << j.dump(2);
      continue;
    }
    ++own_rows;
    EXPECT_EQ(o.at("announced"), o.at("checksum")) << j.dump(2);
    EXPECT_EQ(j.at("announced_checksum"), o.at("checksum")) << j.dump(2);
  }
  EXPECT_EQ(own_rows, 1) << j.dump(2);
  const std::string text = rsplab::node::to_text(d);
  const std::string own = "  " + j.at("registrar").get<std::string>() + "  ";
  const auto row = text.find(own, text.find("owners:"));
  if (row == std::string::npos) {
    ADD_FAILURE() << "no row of the registrar itself in\n" << text;
    return s;
  }
  const std::string line = text.substr(row, text.find('\n', row) - row);
  EXPECT_NE(line.find("announced " + j.at("announced_checksum").get<std::string>() + " (match)"),
            std::string::npos)
      << text;
  return s;
}

// ---- peers ----------------------------------------------------------------------------------

TEST(EnrpNode, TwoRegistrarsWithPeerReplicateAPeAndDumpTheSame) {
  boost::asio::io_context io;
  Registrar a(io, enrp_options("0x0a"));
  auto ob = enrp_options("0x0b");
  ob.peer = a.enrp();
  Registrar b(io, ob);
  ASSERT_TRUE(run_until(io, [&] {
    return a.peers_up().count("0x0000000b") && b.peers_up().count("0x0000000a");
  })) << "no peer_up on both sides";
  EXPECT_EQ(b.events.count("serving"), 1u);
  // A: no --peer, no --enrp-announce: serving at once (a ready, then serving).
  const auto served = a.events.as<rsplab::common::ServingEvent>("serving");
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].waited_ms, 0);
  EXPECT_FALSE(served[0].mentor);
  // B dialled A: the core's connection id, positive in the event.
  const auto up = b.events.as<rsplab::common::PeerUpEvent>("peer_up");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].via, "static");
  EXPECT_GT(up[0].conn, 0);
  EXPECT_GE(static_cast<std::uint64_t>(up[0].conn), rserpool::registrar::kOutgoing);

  rsplab::test::AsapPeer pe(io, "pe");
  ASSERT_TRUE(pe.connect(a.node->asap_endpoint(), 5s));
  ASSERT_TRUE(pe.send(registration("EnrpPool", 0x1234abcd)));
  ASSERT_TRUE(pe.receive_as<asap::RegistrationResponse>(3s));
  ASSERT_TRUE(run_until(io, [&] { return b.holds("EnrpPool", 0x1234abcd); }))
      << "the PE registered at A never reached B";

  std::string error;
  const auto da = hsdump(io, a.enrp(), &error);
  ASSERT_TRUE(da) << error;
  const auto db = hsdump(io, b.enrp(), &error);
  ASSERT_TRUE(db) << error;
  EXPECT_EQ(da->registrar, 0x0au);
  EXPECT_EQ(db->registrar, 0x0bu);
  const Seen sa = seen(*da), sb = seen(*db);
  EXPECT_EQ(sa.pes, (std::set<std::string>{"EnrpPool/0x1234abcd"}));
  EXPECT_EQ(sa.pes, sb.pes);
  EXPECT_EQ(sa.checksums.at("0x0000000a"), sb.checksums.at("0x0000000a"));
  ASSERT_EQ(da->peers.size(), 1u);
  EXPECT_EQ(da->peers[0].server_id, 0x0bu);
  EXPECT_EQ(da->pools[0].pool_elements[0].home_server, 0x0au);
}

// The `stopped` event counts the ENRP each registrar sent and received over its peer
// connections (bench/enrp_load reads them): B, whose only peer is A, received a Handle
// Update at least, and nothing A did not send.
TEST(EnrpNode, StoppedEventCountsTheEnrpSentAndReceived) {
  boost::asio::io_context io;
  Registrar a(io, enrp_options("0x0a"));
  auto ob = enrp_options("0x0b");
  ob.peer = a.enrp();
  Registrar b(io, ob);
  ASSERT_TRUE(run_until(io, [&] { return b.peers_up().count("0x0000000a") && b.events.count("serving"); }));
  rsplab::test::AsapPeer pe(io, "pe");
  ASSERT_TRUE(pe.connect(a.node->asap_endpoint(), 5s));
  ASSERT_TRUE(pe.send(registration("EnrpPool", 0x1234abcd)));
  ASSERT_TRUE(pe.receive_as<asap::RegistrationResponse>(3s));
  ASSERT_TRUE(run_until(io, [&] { return b.holds("EnrpPool", 0x1234abcd); }));

  b.node->stop(SIGTERM);
  a.node->stop(SIGTERM);
  const auto sa = a.events.as<rsplab::common::RegistrarStoppedEvent>("stopped");
  const auto sb = b.events.as<rsplab::common::RegistrarStoppedEvent>("stopped");
  ASSERT_EQ(sa.size(), 1u);
  ASSERT_EQ(sb.size(), 1u);
  ASSERT_TRUE(sa[0].enrp_sent_messages && sa[0].enrp_sent_bytes && sa[0].enrp_received_messages &&
              sa[0].enrp_received_bytes);
  ASSERT_TRUE(sb[0].enrp_received_messages && sb[0].enrp_received_bytes && sb[0].enrp_sent_messages);
  EXPECT_GE(*sb[0].enrp_received_messages, 1) << "no Handle Update counted at B";
  EXPECT_GE(*sb[0].enrp_received_bytes, *sb[0].enrp_received_messages * 4) << "a message is 4 bytes at least";
  EXPECT_LE(*sb[0].enrp_received_messages, *sa[0].enrp_sent_messages);
  EXPECT_LE(*sb[0].enrp_received_bytes, *sa[0].enrp_sent_bytes);
  EXPECT_LE(*sa[0].enrp_received_messages, *sb[0].enrp_sent_messages);
}

TEST(EnrpNode, ThreeRegistrarsFindEachOtherAndHoldTheSameHandlespace) {
  boost::asio::io_context io;
  Registrar a(io, enrp_options("0x0a"));
  auto ob = enrp_options("0x0b");
  ob.peer = a.enrp();
  Registrar b(io, ob);
  // C names A only: C and B learn each other through A (a List Response; whichever dials
  // first, the other sees the connection come in).
  auto oc = enrp_options("0x0c");
  oc.peer = a.enrp();
  Registrar c(io, oc);
  const std::set<std::string> all = {"0x0000000a", "0x0000000b", "0x0000000c"};
  const auto others = [&](const std::string& me) {
    auto s = all;
    s.erase(me);
    return s;
  };
  ASSERT_TRUE(run_until(io, [&] {
    return a.peers_up() == others("0x0000000a") && b.peers_up() == others("0x0000000b") &&
           c.peers_up() == others("0x0000000c");
  })) << "the three did not all find each other";

  std::vector<std::unique_ptr<rsplab::test::AsapPeer>> pes;
  const std::vector<RegistrarNode*> at = {a.node.get(), b.node.get(), c.node.get()};
  for (std::uint32_t i = 0; i < 3; ++i) {
    pes.push_back(std::make_unique<rsplab::test::AsapPeer>(io, "pe"));
    ASSERT_TRUE(pes.back()->connect(at[i]->asap_endpoint(), 5s));
    ASSERT_TRUE(pes.back()->send(registration("EnrpPool", 0x100 + i)));
    ASSERT_TRUE(pes.back()->receive_as<asap::RegistrationResponse>(3s));
  }
  ASSERT_TRUE(run_until(io, [&] {
    for (const Registrar* r : {&a, &b, &c})
      for (std::uint32_t i = 0; i < 3; ++i)
        if (!r->holds("EnrpPool", 0x100 + i)) return false;
    return true;
  })) << "not every PE reached every registrar";

  std::string error;
  std::vector<Seen> dumps;
  for (const Registrar* r : {&a, &b, &c}) {
    const auto d = hsdump(io, r->enrp(), &error);
    ASSERT_TRUE(d) << error;
    EXPECT_EQ(d->peers.size(), 2u) << r->enrp();
    dumps.push_back(seen(*d));
  }
  EXPECT_EQ(dumps[0].pes.size(), 3u);
  for (const auto& d : dumps) {
    EXPECT_EQ(d.pes, dumps[0].pes);
    for (const auto& id : all) EXPECT_EQ(d.checksums.at(id), dumps[0].checksums.at(id)) << id;
  }
}

// Presence on a multicast group on lo (joined on 127.0.0.1): two registrars without --peer.
TEST(EnrpNode, RegistrarsFindEachOtherByMulticastPresence) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket probe(io, boost::asio::ip::udp::v4());
  probe.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string group = "239.0.0.51:" + std::to_string(probe.local_endpoint().port());
  probe.close();
  auto oa = enrp_options("0x0a");
  oa.enrp_announce = group;
  auto ob = enrp_options("0x0b");
  ob.enrp_announce = group;
  std::unique_ptr<Registrar> ra, rb;
  try {
    ra = std::make_unique<Registrar>(io, oa);
    rb = std::make_unique<Registrar>(io, ob);
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "SKIPPED: no multicast on lo here (" << e.what() << ")";
  }
  Registrar& a = *ra;
  Registrar& b = *rb;
  ASSERT_TRUE(run_until(io, [&] {
    return a.peers_up().count("0x0000000b") && b.peers_up().count("0x0000000a");
  })) << "no peer_up by multicast on lo";
  const auto up = a.events.as<rsplab::common::PeerUpEvent>("peer_up");
  EXPECT_TRUE(std::any_of(up.begin(), up.end(), [](const auto& e) { return e.via == "multicast"; }) ||
              std::any_of(b.events.as<rsplab::common::PeerUpEvent>("peer_up").begin(),
                          b.events.as<rsplab::common::PeerUpEvent>("peer_up").end(),
                          [](const auto& e) { return e.via == "multicast"; }));
}

// --announce: no ASAP server announce before the registrar serves (its `serving` event),
// here after a mentor discovery that finds nobody (the static peer does not answer).
TEST(EnrpNode, AsapAnnouncesWaitUntilTheRegistrarServes) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  ip::udp::socket rx(io, ip::udp::endpoint(ip::make_address("127.0.0.1"), 0));
  // A peer that accepts and never answers.
  auto silent = transport::Listener::open(io, transport::Kind::tcp,
                                          {{ip::make_address("127.0.0.1")}, 0},
                                          {false, wire::kPpidEnrp});
  std::vector<std::shared_ptr<transport::Connection>> held;
  silent->start([&](std::shared_ptr<transport::Connection> c) {
    c->start({[](std::uint32_t, std::span<const std::uint8_t>) {}, [](const std::error_code&) {}});
    held.push_back(std::move(c));
  });
  auto o = enrp_options("0x0a");
  o.mentor_discovery_timeout = "700ms";
  o.peer = silent->local_endpoint().to_string();
  o.announce = "127.0.0.1:" + std::to_string(rx.local_endpoint().port());
  Registrar r(io, o);
  std::array<std::uint8_t, 2048> buf{};
  ip::udp::endpoint from;
  std::size_t serving_then = 0;
  bool heard = false;
  rx.async_receive_from(boost::asio::buffer(buf), from,
                        [&](const boost::system::error_code& ec, std::size_t) {
                          heard = !ec;
                          serving_then = r.events.count("serving");
                        });
  ASSERT_TRUE(run_until(io, [&] { return heard; }, 5s)) << "no announce at all";
  EXPECT_EQ(serving_then, 1u) << "an announce before the registrar served";
  for (auto& c : held) c->close();
}

// Over SCTP (label sctp: runs inside scripts/sctp-vm.sh): registrars A (0x0a) and B (0x0b),
// B peering with A by --peer, both up.
class EnrpNodeSctp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!transport::sctp_available())
      GTEST_SKIP() << "SKIPPED: this kernel has no SCTP; scripts/test.sh runs the tests labelled "
                      "sctp inside scripts/sctp-vm.sh";
    auto oa = enrp_options("0x0a");
    oa.transport = "sctp";
    a_.emplace(io, oa);
    auto ob = enrp_options("0x0b");
    ob.transport = "sctp";
    ob.peer = a_->enrp();
    b_.emplace(io, ob);
    ASSERT_TRUE(run_until(io, [&] {
      return a_->peers_up().count("0x0000000b") && b_->peers_up().count("0x0000000a");
    })) << "no peer_up on both sides";
  }
  boost::asio::io_context io;
  std::optional<Registrar> a_, b_;
};

// Peers by --peer, a PE replicated, hsdump over SCTP.
TEST_F(EnrpNodeSctp, TwoRegistrarsPeerOverSctp) {
  Registrar& a = *a_;
  Registrar& b = *b_;
  rsplab::test::AsapPeer pe(io, "pe");
  ASSERT_TRUE(pe.connect(a.node->asap_endpoint(), 5s, transport::Kind::sctp));
  ASSERT_TRUE(pe.send(registration("EnrpPool", 0x1234abcd)));
  ASSERT_TRUE(pe.receive_as<asap::RegistrationResponse>(3s));
  ASSERT_TRUE(run_until(io, [&] { return b.holds("EnrpPool", 0x1234abcd); }));
  std::string error;
  const auto d = hsdump(io, b.enrp(), &error, 3s, transport::Choice::sctp);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->transport, "sctp");
  EXPECT_EQ(seen(*d).pes, (std::set<std::string>{"EnrpPool/0x1234abcd"}));
}

// The distance over SCTP is the path's (issue 16): the associations carrying ASAP and ENRP
// SACK at once, so a registrar's smoothed RTT holds no delayed SACK of its peer's (in the
// VM loopback PEs measured 50 or 100 ms away). A PE (LU-DPF) at A, which peers with B,
// re-registering every 100 ms: without immediate SACKs each second Registration Response
// waits for the next to be SACKed, a 100 ms sample, and by the 14th re-registration A's
// srtt is past 50 ms (distance 50). With them its re-registrations at A (the first
// registration comes before any RTT sample) and the copy B learns by ENRP (A's distance
// plus B's own to A, B's Peer Presences every 200 ms unanswered) are at distance 0 on
// loopback. About 1.5 s.
TEST_F(EnrpNodeSctp, DistanceOnLoopbackIsZeroNotThePeersDelayedSack) {
  Registrar& a = *a_;
  Registrar& b = *b_;
  auto o = rsplab::node::test::pe_options(a.node->asap_endpoint().to_string(), "NearPool",
                                          "0xd15");
  o.transport = "sctp";
  o.policy = "lu-dpf";
  o.reregistration_interval = "100ms";
  Recorder pe_events;
  bool finished = false;
  rsplab::node::PeNode pe(io, o, pe_events.sink(), [&] { finished = true; });
  pe.start();
  ASSERT_TRUE(run_until(io, [&] { return a.events.count("reregistration") >= 14; }, 10s));
  for (const auto& e : a.events.as<rsplab::common::RegistrationEvent>("reregistration"))
    EXPECT_EQ(e.parameters.at("distance"), 0) << "A's srtt to the PE holds the PE's SACK delay";
  ASSERT_TRUE(run_until(io, [&] { return b.holds("NearPool", 0xd15); }));
  const auto& hs = b.node->core().handlespace();
  EXPECT_EQ(hs.entry(*hs.find("NearPool", 0xd15)).element.policy.distance, 0u)
      << "B's smoothed RTT to A holds A's SACK delay";
  pe.stop();
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
}

// ---- options --------------------------------------------------------------------------------

TEST(EnrpNode, BadEnrpOptionsAreUsageErrorsNamingTheOption) {
  boost::asio::io_context io;
  const auto expect_error = [&](auto set, const std::string& want) {
    auto o = rsplab::node::test::registrar_options();
    set(o);
    try {
      RegistrarNode r(io, o, Recorder().sink());
      ADD_FAILURE() << "accepted; wanted: " << want;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  using O = rsplab::options::RegistrarOptions;
  expect_error([](O& o) { o.peer = "127.0.0.1:99999"; }, "--peer: '127.0.0.1:99999'");
  expect_error([](O& o) { o.peer = "nohost,127.0.0.1"; }, "--peer: 'nohost'");
  expect_error([](O& o) { o.enrp_announce = "127.0.0.1:9901"; }, "not a multicast group");
  expect_error([](O& o) { o.enrp_announce = "239.0.0.51:x"; }, "--enrp-announce:");
  expect_error([](O& o) { o.takeover_suggestion = "yes"; }, "--takeover-suggestion: 'yes'");
  expect_error([](O& o) { o.peer_heartbeat_interval = "0"; }, "--peer-heartbeat-interval");
  expect_error([](O& o) { o.takeover_expiry = "soon"; }, "--takeover-expiry");
}

TEST(EnrpNode, EnrpOptionsReachTheCore) {
  boost::asio::io_context io;
  auto o = rsplab::node::test::registrar_options();
  o.peer = "127.0.0.1,[::1]:9902";
  o.peer_heartbeat_interval = "1s";
  o.peer_max_time_last_heard = "1500";
  o.peer_max_time_no_response = "2s";
  o.mentor_discovery_timeout = "3s";
  o.takeover_expiry = "4s";
  o.takeover_suggestion = "on";
  RegistrarNode r(io, o, Recorder().sink());
  const auto& e = r.core().config().enrp;
  EXPECT_EQ(e.heartbeat_interval, 1000ms);
  EXPECT_EQ(e.max_time_last_heard, 1500ms);
  EXPECT_EQ(e.max_time_no_response, 2000ms);
  EXPECT_EQ(e.mentor_discovery_timeout, 3000ms);
  EXPECT_EQ(e.takeover_expiry, 4000ms);
  EXPECT_TRUE(e.takeover_suggestion);
  ASSERT_EQ(e.peers.size(), 2u);
  EXPECT_EQ(e.peers[0].kind, wire::TransportKind::tcp);
  EXPECT_EQ(e.peers[0].port, wire::kEnrpPort);
  EXPECT_EQ(e.peers[0].addresses, std::vector<wire::Address>{wire::Address::v4(127, 0, 0, 1)});
  EXPECT_EQ(e.peers[1].port, 9902);
  // Its own ENRP transport: the listener's, TCP here.
  ASSERT_EQ(e.own.size(), 1u);
  EXPECT_EQ(e.own[0].kind, wire::TransportKind::tcp);
  EXPECT_EQ(e.own[0].port, r.enrp_endpoint().port);
  EXPECT_EQ(e.own[0].addresses, std::vector<wire::Address>{wire::Address::v4(127, 0, 0, 1)});
}

}  // namespace
