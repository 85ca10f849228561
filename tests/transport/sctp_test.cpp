// SCTP through lksctp on loopback (run inside scripts/sctp-vm.sh where the
// kernel has no SCTP; ctest label `sctp`). Each test skips when the kernel has no SCTP.
#include <gtest/gtest.h>

#include "tests/transport/util.hpp"
#include "tests/wire/golden.hpp"

namespace rserpool::transport {
namespace {

using namespace testing;
using namespace std::chrono_literals;

const Endpoint kLoopback{{addr("127.0.0.1")}, 0};

#define REQUIRE_SCTP()                                                                   \
  if (!sctp_available())                                                                 \
  GTEST_SKIP() << "the kernel has no SCTP (socket(IPPROTO_SCTP) fails): run inside "     \
                  "scripts/sctp-vm.sh, as scripts/test.sh does"

std::vector<Address> sorted(std::vector<Address> a) {
  std::sort(a.begin(), a.end());
  return a;
}

TEST(Sctp, PpidsArePreservedBothWays) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  EXPECT_EQ(p.client.connection->kind(), Kind::sctp);
  const auto& vectors = wire::testing::golden_vectors();
  for (const auto& v : vectors) {
    const std::uint32_t ppid = v.protocol == wire::Protocol::enrp ? 12 : 11;
    ASSERT_TRUE(p.client.connection->send(ppid, wire::testing::golden_bytes(v)));
    ASSERT_TRUE(p.server.connection->send(ppid, wire::testing::golden_bytes(v)));
  }
  ASSERT_TRUE(p.client.connection->send(0xdeadbeef, make_message(8)));
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server.received.size() == vectors.size() + 1 &&
           p.client.received.size() == vectors.size();
  }));
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const std::uint32_t ppid = vectors[i].protocol == wire::Protocol::enrp ? 12 : 11;
    EXPECT_EQ(p.server.received[i].ppid, ppid);
    EXPECT_EQ(p.client.received[i].ppid, ppid);
    EXPECT_EQ(p.server.received[i].message, wire::testing::golden_bytes(vectors[i]));
  }
  EXPECT_EQ(p.server.received.back().ppid, 0xdeadbeefu);
}

// SCTP_STATUS's srtt (whole ms: 0 on loopback) while the association is up; none once closed.
TEST(Sctp, SmoothedRttFromSctpStatus) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  ASSERT_TRUE(p.client.connection->send(11, make_message(8)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.server.received.size() == 1; }));
  const auto rtt = smoothed_rtt(*p.server.connection);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_GE(rtt->count(), 0);
  p.server.connection->close();
  EXPECT_FALSE(smoothed_rtt(*p.server.connection).has_value());
}

// The smoothed RTT one side measures is made of the other side's SACKs. DATA the peer never
// answers (a Registration Response, a Handle Update) waits for the kernel's delayed SACK
// (Linux: sack_timeout, 200 ms; only an association's first DATA is SACKed at once) unless
// the peer asked for immediate SACKs (ConnectOptions/ListenOptions::immediate_sack): on
// loopback the server's srtt is then a few ms at most (distance 0), where without it the
// one delayed sample weighs an eighth (RFC 4960's RTO.Alpha) of 200 ms in it. The client is
// the side set, connecting and accepting. 1.4 s (three waits for a delayed SACK).
TEST(Sctp, ImmediateSackKeepsThePeersSackDelayOutOfTheSmoothedRtt) {
  REQUIRE_SCTP();
  // The server's srtt after two messages to a client that never answers, the second sent
  // once the first's SACK is back, and measured once the second's is back however late
  // (400 ms: twice the kernel's delay). -1 µs: no association.
  const auto measured = [](bool immediate, bool client_accepts) {
    asio::io_context io;
    auto listener = Listener::open(io, Kind::sctp, kLoopback, Framing{},
                                   ListenOptions{.immediate_sack = immediate && client_accepts});
    std::shared_ptr<Connection> accepted, dialled;
    listener->start([&](std::shared_ptr<Connection> c) { accepted = std::move(c); });
    ConnectOptions options;
    options.immediate_sack = immediate && !client_accepts;
    dialled = connect_with(io, Kind::sctp, listener->local_endpoint(), {}, options);
    EXPECT_TRUE(run_until(io, [&] { return accepted && dialled; }));
    if (!accepted || !dialled) return std::chrono::microseconds(-1);
    auto& client = client_accepts ? accepted : dialled;
    auto& server = client_accepts ? dialled : accepted;
    int received = 0;
    client->start({[&](std::uint32_t, std::span<const std::uint8_t>) { ++received; }, {}});
    server->start({});
    for (int sent = 1; sent <= 2; ++sent) {
      EXPECT_TRUE(server->send(11, make_message(8)));
      EXPECT_TRUE(run_until(io, [&] { return received == sent; }));
      run_until(io, [] { return false; }, sent == 1 ? 50ms : 400ms);
    }
    return smoothed_rtt(*server).value_or(std::chrono::microseconds(-1));
  };
  const auto at_once = measured(true, false);
  EXPECT_GE(at_once.count(), 0);
  EXPECT_LT(at_once, 50ms) << "a distance above 0 on loopback";
  const auto accepted_at_once = measured(true, true);
  EXPECT_GE(accepted_at_once.count(), 0);
  EXPECT_LT(accepted_at_once, 50ms) << "a distance above 0 on loopback (the client accepted)";
  EXPECT_GT(measured(false, false), at_once) << "the kernel's delayed SACK: what the option "
                                                "takes out";
}

TEST(Sctp, ManyAndLargestMessages) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  constexpr std::uint32_t n = 3000;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t size = i % 100 == 0 ? kMaxMessageSize : 4 + (i * 37) % 1500;
    ASSERT_TRUE(p.client.connection->send(11, make_message(size, 1, i)));
    ASSERT_TRUE(p.server.connection->send(12, make_message(size, 2, i)));
  }
  EXPECT_FALSE(p.client.connection->send(11, Bytes(kMaxMessageSize + 1, 0)));
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server.received.size() == n && p.client.received.size() == n;
  }, 120s));
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t size = i % 100 == 0 ? kMaxMessageSize : 4 + (i * 37) % 1500;
    ASSERT_EQ(p.server.received[i].message, make_message(size, 1, i)) << i;
    ASSERT_EQ(p.client.received[i].message, make_message(size, 2, i)) << i;
    ASSERT_EQ(p.client.received[i].ppid, 12u);
  }
}

TEST(Sctp, MultiHomedBindAndConnect) {
  REQUIRE_SCTP();
  Pair p;
  const Endpoint server{{addr("127.0.0.1"), addr("127.0.0.2")}, 0};
  const std::vector<Address> client_local{addr("127.0.0.3"), addr("127.0.0.4")};
  ASSERT_TRUE(p.open(Kind::sctp, server, Framing{}, client_local));
  const auto port = p.listener->local_endpoint().port;
  EXPECT_NE(port, 0);
  EXPECT_EQ(sorted(p.client.connection->peer_addresses()), sorted(server.addresses));
  EXPECT_EQ(p.client.connection->peer_port(), port);
  EXPECT_EQ(sorted(p.server.connection->peer_addresses()), sorted(client_local));
  const auto local = p.client.connection->local_endpoint();
  EXPECT_EQ(sorted(local.addresses), sorted(client_local));
  EXPECT_EQ(p.server.connection->peer_port(), local.port);
  EXPECT_EQ(p.server.connection->local_endpoint().port, port);
  ASSERT_TRUE(p.client.connection->send(11, make_message(16)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.server.received.size() == 1; }));
}

TEST(Sctp, PeerCloseOnceAndCloseIdempotent) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  p.server.connection->close();
  p.server.connection->close();
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  p.io.run_for(100ms);
  EXPECT_EQ(p.client.closes, 1);
  EXPECT_EQ(p.client.close_error, Errc::peer_closed) << p.client.close_error.message();
  EXPECT_EQ(p.server.closes, 0);
  EXPECT_FALSE(p.client.connection->send(11, make_message(4)));
  EXPECT_TRUE(p.client.connection->peer_addresses().empty());
  p.client.connection->close();
  EXPECT_EQ(p.client.closes, 1);
}

// abort(): an SCTP ABORT, not a SHUTDOWN (issue 12).
TEST(Sctp, AbortAbortsTheAssociation) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  p.server.connection->abort();
  p.server.connection->abort();
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  p.io.run_for(100ms);
  EXPECT_EQ(p.client.closes, 1);
  EXPECT_EQ(p.client.close_error, std::errc::connection_reset) << p.client.close_error.message();
  EXPECT_EQ(p.server.closes, 0);
  EXPECT_FALSE(p.server.connection->send(11, make_message(4)));
}

TEST(Sctp, CloseFromInsideOnMessage) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  p.server.on_message = [](Side& side, std::uint32_t, std::span<const std::uint8_t>) {
    side.connection->close();
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.client.connection->send(11, make_message(8)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  EXPECT_EQ(p.server.received.size(), 1u);
}

TEST(Sctp, RefusedWithoutListener) {
  REQUIRE_SCTP();
  asio::io_context io;
  std::uint16_t port;
  {
    auto l = Listener::open(io, Kind::sctp, kLoopback, Framing{});
    port = l->local_endpoint().port;
  }
  bool done = false;
  std::error_code error;
  async_connect(io, Kind::sctp, Endpoint{{addr("127.0.0.1")}, port}, {}, Framing{},
                [&](std::error_code ec, std::shared_ptr<Connection>) {
                  done = true;
                  error = ec;
                });
  ASSERT_TRUE(run_until(io, [&] { return done; }, 30s));
  EXPECT_TRUE(error);
}

TEST(Sctp, TimersCanBeSet) {
  REQUIRE_SCTP();
  Pair p;
  ASSERT_TRUE(p.open(Kind::sctp, kLoopback, Framing{}));
  SctpTimers t;
  t.rto_initial_ms = 300;
  t.rto_min_ms = 200;
  t.rto_max_ms = 500;
  t.heartbeat_interval_ms = 200;
  t.path_max_retrans = 2;
  t.assoc_max_retrans = 2;
  EXPECT_FALSE(set_sctp_timers(*p.client.connection, t));
  EXPECT_FALSE(set_sctp_timers(*p.server.connection, t));
}

// `auto` against a peer that listens on TCP only: SCTP is refused, TCP is used, both logged.
TEST(Sctp, AutoFallsBackToTcpPerPeer) {
  REQUIRE_SCTP();
  asio::io_context io;
  auto tcp = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  tcp->start([](std::shared_ptr<Connection>) {});
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  std::shared_ptr<Connection> conn;
  bool done = false;
  async_connect_auto(io, Choice::automatic, tcp->local_endpoint(), {}, Framing{},
                     [&](std::error_code ec, std::shared_ptr<Connection> c) {
                       EXPECT_FALSE(ec) << ec.message();
                       conn = std::move(c);
                       done = true;
                     }, 5s);
  ASSERT_TRUE(run_until(io, [&] { return done; }, 20s));
  set_log_sink(nullptr);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->kind(), Kind::tcp);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("falling back to tcp"), std::string::npos) << all;
}

TEST(Sctp, AutoPrefersSctp) {
  REQUIRE_SCTP();
  asio::io_context io;
  auto sctp = Listener::open(io, Kind::sctp, kLoopback, Framing{});
  sctp->start([](std::shared_ptr<Connection>) {});
  // TCP on the same port number: separate port spaces.
  auto tcp = Listener::open(io, Kind::tcp, sctp->local_endpoint(), Framing{});
  tcp->start([](std::shared_ptr<Connection>) {});
  std::shared_ptr<Connection> conn;
  bool done = false;
  async_connect_auto(io, Choice::automatic, sctp->local_endpoint(), {}, Framing{},
                     [&](std::error_code ec, std::shared_ptr<Connection> c) {
                       EXPECT_FALSE(ec) << ec.message();
                       conn = std::move(c);
                       done = true;
                     });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->kind(), Kind::sctp);
}

// A PE's ASAP endpoint over SCTP: one-to-one sockets sharing the port (SO_REUSEPORT),
// as over TCP (Tcp.ConnectionsLeaveFromASharedListenerPortWhichStillAccepts).
TEST(Sctp, ConnectionsLeaveFromASharedListenerPortWhichStillAccepts) {
  REQUIRE_SCTP();
  check_shared_port(Kind::sctp, kLoopback, {addr("127.0.0.1")});
}

TEST(Sctp, SharedPortOnTheWildcard) {
  REQUIRE_SCTP();
  check_shared_port(Kind::sctp, Endpoint{{}, 0}, {});
}

TEST(Sctp, AcceptedConnectionsLiveOnTheContextTheListenerNames) {
  REQUIRE_SCTP();
  check_connection_context(Kind::sctp, kLoopback);
}

}  // namespace
}  // namespace rserpool::transport
