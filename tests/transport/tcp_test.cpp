// The TCP mapping over real sockets on 127.0.0.1, port 0.
#include <gtest/gtest.h>

#include <optional>

#include "tests/transport/util.hpp"
#include "tests/wire/golden.hpp"

namespace rserpool::transport {
namespace {

using namespace testing;
using namespace std::chrono_literals;

const Endpoint kLoopback{{addr("127.0.0.1")}, 0};

TEST(Tcp, GoldenMessagesBothWaysWithImplicitPpid) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{false, 11}));
  EXPECT_EQ(p.client.connection->kind(), Kind::tcp);
  const auto& vectors = wire::testing::golden_vectors();
  for (const auto& v : vectors) {
    ASSERT_TRUE(p.client.connection->send(99, wire::testing::golden_bytes(v))) << v.name;
    ASSERT_TRUE(p.server.connection->send(99, wire::testing::golden_bytes(v))) << v.name;
  }
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server.received.size() == vectors.size() &&
           p.client.received.size() == vectors.size();
  }));
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    EXPECT_EQ(p.server.received[i].ppid, 11u);  // no prefix: the implicit PPID
    EXPECT_EQ(p.server.received[i].message, wire::testing::golden_bytes(vectors[i]));
    EXPECT_EQ(p.client.received[i].message, wire::testing::golden_bytes(vectors[i]));
  }
}

TEST(Tcp, PpidPrefixCarriesEachMessagesPpid) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{true, 0}));
  const std::vector<std::uint32_t> ppids{11, 12, 0, 0xdeadbeef, 11};
  for (std::uint32_t ppid : ppids) {
    ASSERT_TRUE(p.client.connection->send(ppid, make_message(12, 1, ppid)));
  }
  ASSERT_TRUE(run_until(p.io, [&] { return p.server.received.size() == ppids.size(); }));
  for (std::size_t i = 0; i < ppids.size(); ++i) {
    EXPECT_EQ(p.server.received[i].ppid, ppids[i]);
    EXPECT_EQ(p.server.received[i].message, make_message(12, 1, ppids[i]));
  }
}

TEST(Tcp, ManyMessagesInOrder) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{true, 0}));
  constexpr std::uint32_t n = 20000;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t size = 4 + (i * 37) % 1500;
    ASSERT_TRUE(p.client.connection->send(i, make_message(size, 1, i)));
    ASSERT_TRUE(p.server.connection->send(i, make_message(size, 2, i)));
  }
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server.received.size() == n && p.client.received.size() == n;
  }, 60s));
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t size = 4 + (i * 37) % 1500;
    ASSERT_EQ(p.server.received[i].ppid, i);
    ASSERT_EQ(p.server.received[i].message, make_message(size, 1, i)) << i;
    ASSERT_EQ(p.client.received[i].message, make_message(size, 2, i)) << i;
  }
}

TEST(Tcp, LargestMessagesAndRefusals) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{true, 0}));
  for (std::uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(p.client.connection->send(12, make_message(kMaxMessageSize, 3, i)));
  }
  EXPECT_FALSE(p.client.connection->send(12, Bytes(kMaxMessageSize + 1, 0)));
  EXPECT_FALSE(p.client.connection->send(12, Bytes{1, 0, 0, 8}));  // Length says 8
  EXPECT_FALSE(p.client.connection->send(12, Bytes{1, 0}));
  ASSERT_TRUE(run_until(p.io, [&] { return p.server.received.size() == 20; }));
  for (std::uint32_t i = 0; i < 20; ++i) {
    EXPECT_EQ(p.server.received[i].message, make_message(kMaxMessageSize, 3, i));
  }
  EXPECT_EQ(p.server.closes + p.client.closes, 0);
}

TEST(Tcp, PeerCloseIsReportedOnce) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  p.server.connection->close();
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  p.io.run_for(100ms);
  EXPECT_EQ(p.client.closes, 1);
  EXPECT_EQ(p.client.close_error, Errc::peer_closed) << p.client.close_error.message();
  EXPECT_EQ(p.server.closes, 0);  // close() is not reported to its own caller
  EXPECT_FALSE(p.client.connection->send(11, make_message(4)));
  EXPECT_TRUE(p.client.connection->peer_addresses().empty());
}

TEST(Tcp, CloseIsIdempotentAndDropsTheQueue) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  ASSERT_TRUE(p.client.connection->send(11, make_message(8)));
  p.client.connection->close();
  p.client.connection->close();
  EXPECT_FALSE(p.client.connection->send(11, make_message(8)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.server.closes > 0; }));
  p.io.run_for(50ms);
  p.client.connection->close();
  EXPECT_EQ(p.client.closes, 0);
  EXPECT_EQ(p.server.closes, 1);
}

// abort(): a reset, not a goodbye (issue 12: a PE leaving a registrar connection must not
// have the kernel deliver what it still held once a link is back).
TEST(Tcp, AbortResetsThePeerAndIsIdempotent) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  p.server.connection->abort();
  p.server.connection->abort();
  p.server.connection->close();
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  p.io.run_for(100ms);
  EXPECT_EQ(p.client.closes, 1);
  EXPECT_EQ(p.client.close_error, std::errc::connection_reset) << p.client.close_error.message();
  EXPECT_EQ(p.server.closes, 0);  // abort() is not reported to its own caller
  EXPECT_FALSE(p.server.connection->send(11, make_message(4)));
}

TEST(Tcp, CloseFromInsideOnMessage) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  p.server.on_message = [](Side& side, std::uint32_t, std::span<const std::uint8_t>) {
    side.connection->close();
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.client.connection->send(11, make_message(8)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.client.closes > 0; }));
  EXPECT_EQ(p.server.received.size(), 1u);  // nothing after close()
  EXPECT_EQ(p.server.closes, 0);
}

TEST(Tcp, PeerAddressesAndEndpoints) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  const auto port = p.listener->local_endpoint().port;
  EXPECT_NE(port, 0);
  EXPECT_EQ(p.client.connection->peer_addresses(), std::vector<Address>{addr("127.0.0.1")});
  EXPECT_EQ(p.client.connection->peer_port(), port);
  EXPECT_EQ(p.server.connection->peer_addresses(), std::vector<Address>{addr("127.0.0.1")});
  EXPECT_EQ(p.server.connection->peer_port(), p.client.connection->local_endpoint().port);
  EXPECT_EQ(p.server.connection->local_endpoint().port, port);
}

// The kernel's smoothed RTT, what a registrar's distance is made of: the handshake gives the
// first sample, so an accepted connection has one at once (above 0 even on loopback); none
// once closed.
TEST(Tcp, SmoothedRttFromTcpInfo) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  for (const auto* c : {&p.server.connection, &p.client.connection}) {
    const auto rtt = smoothed_rtt(**c);
    ASSERT_TRUE(rtt.has_value());
    EXPECT_GT(rtt->count(), 0);
  }
  p.client.connection->close();
  EXPECT_FALSE(smoothed_rtt(*p.client.connection).has_value());
}

TEST(Tcp, BadLengthClosesTheConnection) {
  asio::io_context io;
  auto listener = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  Side server;
  listener->start([&](std::shared_ptr<Connection> c) {
    server.connection = std::move(c);
    server.start();
  });
  asio::ip::tcp::socket raw(io);
  raw.connect({addr("127.0.0.1"), listener->local_endpoint().port});
  const Bytes stream{1, 0, 0, 8, 0, 0, 0, 0, /* then Length 2: */ 1, 0, 0, 2};
  asio::write(raw, asio::buffer(stream));
  ASSERT_TRUE(run_until(io, [&] { return server.closes > 0; }));
  EXPECT_EQ(server.received.size(), 1u);
  EXPECT_EQ(server.close_error, Errc::bad_length);
  // The server closed: the raw socket reads EOF (or a reset).
  std::array<char, 16> buf;
  boost::system::error_code ec;
  raw.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec);
}

TEST(Tcp, TriesAddressesInOrder) {
  // Listening on 127.0.0.1 only; 127.0.0.2 (same port) refuses, then 127.0.0.1 answers.
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}, {},
                     Endpoint{{addr("127.0.0.2"), addr("127.0.0.1")}, 0}));
  EXPECT_EQ(p.client.connection->peer_addresses(), std::vector<Address>{addr("127.0.0.1")});
}

TEST(Tcp, ConnectFailsWithTheLastError) {
  asio::io_context io;
  std::uint16_t port;
  {
    auto l = Listener::open(io, Kind::tcp, kLoopback, Framing{});
    port = l->local_endpoint().port;
  }
  bool done = false;
  std::error_code error;
  async_connect(io, Kind::tcp, Endpoint{{addr("127.0.0.1")}, port}, {}, Framing{},
                [&](std::error_code ec, std::shared_ptr<Connection> c) {
                  done = true;
                  error = ec;
                  EXPECT_FALSE(c);
                });
  EXPECT_FALSE(done);  // never inline
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(error, std::errc::connection_refused) << error.message();
  done = false;
  async_connect(io, Kind::tcp, Endpoint{{}, port}, {}, Framing{},
                [&](std::error_code ec, std::shared_ptr<Connection>) {
                  done = true;
                  error = ec;
                });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(error, Errc::no_address);
}

// A multi-homed client: each local address in turn as the source (192.0.2.1 is not this
// host's: binding it fails), and the pairs that failed come with the connection. Without
// every_local only the first local address is tried.
TEST(Tcp, ConnectPathsTriesEachLocalAddressAndListsTheFailedPairs) {
  asio::io_context io;
  auto l = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  std::vector<std::shared_ptr<Connection>> accepted;
  l->start([&](std::shared_ptr<Connection> c) { accepted.push_back(std::move(c)); });
  const Endpoint remote{{addr("127.0.0.1")}, l->local_endpoint().port};
  const std::vector<Address> local{addr("192.0.2.1"), addr("127.0.0.1")};
  const auto connect = [&](ConnectOptions options) {
    struct Result {
      std::error_code ec;
      std::shared_ptr<Connection> c;
      std::vector<PathFailure> failed;
    };
    std::optional<Result> r;
    async_connect_paths(io, Kind::tcp, remote, local, Framing{}, options,
                        [&](std::error_code ec, std::shared_ptr<Connection> c,
                            std::vector<PathFailure> failed) {
                          r = Result{ec, std::move(c), std::move(failed)};
                        });
    EXPECT_FALSE(r);  // never inline
    EXPECT_TRUE(run_until(io, [&] { return r.has_value(); }));
    return r.value_or(Result{});
  };

  auto every = connect({true, std::chrono::seconds(5)});
  ASSERT_FALSE(every.ec) << every.ec.message();
  ASSERT_TRUE(every.c);
  EXPECT_EQ(every.c->local_endpoint().addresses, std::vector<Address>{addr("127.0.0.1")});
  ASSERT_EQ(every.failed.size(), 1u);
  EXPECT_EQ(every.failed[0].local, std::vector<Address>{addr("192.0.2.1")});
  EXPECT_EQ(every.failed[0].remote, std::vector<Address>{addr("127.0.0.1")});
  EXPECT_EQ(every.failed[0].error, std::errc::address_not_available);
  EXPECT_EQ(every.failed[0].to_string(),
            "192.0.2.1->127.0.0.1: " + std::make_error_code(std::errc::address_not_available).message());

  auto first = connect({});
  EXPECT_EQ(first.ec, std::errc::address_not_available) << first.ec.message();
  EXPECT_FALSE(first.c);
  EXPECT_EQ(first.failed.size(), 1u);
}

TEST(Tcp, MultiAddressListenerSharesOnePort) {
  asio::io_context io;
  auto l = Listener::open(io, Kind::tcp, Endpoint{{addr("127.0.0.1"), addr("127.0.0.2")}, 0},
                          Framing{});
  const auto ep = l->local_endpoint();
  EXPECT_NE(ep.port, 0);
  EXPECT_EQ(ep.addresses.size(), 2u);
  int accepted = 0;
  l->start([&](std::shared_ptr<Connection> c) {
    ++accepted;
    EXPECT_EQ(c->local_endpoint().port, ep.port);
  });
  std::vector<std::shared_ptr<Connection>> clients;
  for (const char* a : {"127.0.0.1", "127.0.0.2"}) {
    async_connect(io, Kind::tcp, Endpoint{{addr(a)}, ep.port}, {addr("127.0.0.3")}, Framing{},
                  [&](std::error_code ec, std::shared_ptr<Connection> c) {
                    EXPECT_FALSE(ec) << ec.message();
                    if (c) {
                      EXPECT_EQ(c->local_endpoint().addresses,
                                std::vector<Address>{addr("127.0.0.3")});
                      clients.push_back(std::move(c));
                    }
                  });
  }
  ASSERT_TRUE(run_until(io, [&] { return accepted == 2; }));
  l->close();
  l->close();
}

TEST(Tcp, ListenerOnABusyPortThrows) {
  asio::io_context io;
  auto l = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_THROW(Listener::open(io, Kind::tcp, Endpoint{{addr("127.0.0.1")}, l->local_endpoint().port},
                              Framing{}),
               std::system_error);
}

TEST(Tcp, ConnectionsLeaveFromASharedListenerPortWhichStillAccepts) {
  check_shared_port(Kind::tcp, kLoopback, {addr("127.0.0.1")});
}

// Without --local a PE listens on the wildcard and its connections leave from the address
// the kernel routes by, on the shared port.
TEST(Tcp, SharedPortOnTheWildcard) {
  check_shared_port(Kind::tcp, Endpoint{{addr("0.0.0.0")}, 0}, {});
}

// A port that cannot be shared (its listener did not ask), or a pair of endpoints still in
// use from it: the connection leaves from a port the kernel picks, and the log says so.
TEST(Tcp, LocalPortThatCannotBeUsedFallsBackToAnEphemeralOne) {
  asio::io_context io;
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  auto plain = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  auto server = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  std::vector<std::shared_ptr<Connection>> accepted;
  server->start([&](std::shared_ptr<Connection> c) { accepted.push_back(std::move(c)); });
  ConnectOptions options;
  options.local_port = plain->local_endpoint().port;
  auto c = connect_with(io, Kind::tcp, server->local_endpoint(), {addr("127.0.0.1")}, options);
  ASSERT_TRUE(c);
  EXPECT_NE(c->local_endpoint().port, options.local_port);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("from a port the kernel picks"), std::string::npos) << lines[0];

  auto shared = Listener::open(io, Kind::tcp, kLoopback, Framing{}, ListenOptions{true});
  options.local_port = shared->local_endpoint().port;
  auto first = connect_with(io, Kind::tcp, server->local_endpoint(), {addr("127.0.0.1")}, options);
  auto second = connect_with(io, Kind::tcp, server->local_endpoint(), {addr("127.0.0.1")}, options);
  set_log_sink(nullptr);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->local_endpoint().port, options.local_port);
  EXPECT_NE(second->local_endpoint().port, options.local_port) << "the same four-tuple";
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("tcp connect from port"), std::string::npos) << lines[1];
}

TEST(Tcp, SctpTimersAreNotForTcp) {
  Pair p;
  ASSERT_TRUE(p.open(Kind::tcp, kLoopback, Framing{}));
  EXPECT_EQ(set_sctp_timers(*p.client.connection, SctpTimers{}),
            std::errc::operation_not_supported);
}

TEST(Tcp, AutoWithoutKernelSctpUsesTcp) {
  if (sctp_available()) GTEST_SKIP() << "the kernel has SCTP: see Sctp.AutoFallsBackToTcpPerPeer";
  asio::io_context io;
  auto l = Listener::open(io, Kind::tcp, kLoopback, Framing{});
  l->start([](std::shared_ptr<Connection>) {});
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  std::shared_ptr<Connection> conn;
  bool done = false;
  async_connect_auto(io, Choice::automatic, l->local_endpoint(), {}, Framing{},
                     [&](std::error_code ec, std::shared_ptr<Connection> c) {
                       EXPECT_FALSE(ec) << ec.message();
                       conn = std::move(c);
                       done = true;
                     });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  set_log_sink(nullptr);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->kind(), Kind::tcp);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("auto: tcp"), std::string::npos) << lines[0];
}

TEST(Tcp, AcceptedConnectionsLiveOnTheContextTheListenerNames) {
  check_connection_context(Kind::tcp, kLoopback);
}

}  // namespace
}  // namespace rserpool::transport
