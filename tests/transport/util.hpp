// Helpers for the transport tests: message builders, a pair of connected Connections with
// recorded traffic, running the io_context until a condition holds, and running a scope's
// sockets in a named network namespace.
#pragma once

#include <utility>  // before Asio

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stack/transport/transport.hpp"

namespace rserpool::transport::testing {

using Bytes = std::vector<std::uint8_t>;

// A message of `size` bytes (>= 4) whose header says so: type, flags 0, Length, then a
// pattern seeded by `seed`.
inline Bytes make_message(std::size_t size, std::uint8_t type = 1, std::uint32_t seed = 0) {
  Bytes m(size);
  m[0] = type;
  m[1] = 0;
  m[2] = static_cast<std::uint8_t>(size >> 8);
  m[3] = static_cast<std::uint8_t>(size);
  for (std::size_t i = 4; i < size; ++i) m[i] = static_cast<std::uint8_t>(i * 31 + seed * 7);
  return m;
}

// Runs `io` until `done()` or `timeout`; true when done.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

struct Received {
  std::uint32_t ppid;
  Bytes message;
};

// One side of a connection with what it received and how it closed.
struct Side {
  std::shared_ptr<Connection> connection;
  std::vector<Received> received;
  int closes = 0;
  std::error_code close_error;
  std::function<void(Side&, std::uint32_t, std::span<const std::uint8_t>)> on_message;

  void start() {
    connection->start(Connection::Handler{
        [this](std::uint32_t ppid, std::span<const std::uint8_t> m) {
          received.push_back({ppid, Bytes(m.begin(), m.end())});
          if (on_message) on_message(*this, ppid, m);
        },
        [this](const std::error_code& ec) {
          ++closes;
          close_error = ec;
        }});
  }
};

// A listener on `local`, a client connected to it, both started.
struct Pair {
  asio::io_context io;
  std::unique_ptr<Listener> listener;
  Side client, server;
  std::error_code connect_error;
  bool connected = false;

  // false (with a test failure) when the connection did not come up.
  bool open(Kind kind, const Endpoint& local, Framing framing,
            const std::vector<Address>& client_local = {},
            std::optional<Endpoint> remote = std::nullopt) {
    listener = Listener::open(io, kind, local, framing);
    listener->start([this](std::shared_ptr<Connection> c) {
      if (server.connection) return;  // one connection per pair
      server.connection = std::move(c);
      server.start();
    });
    Endpoint target = remote ? *remote : listener->local_endpoint();
    target.port = listener->local_endpoint().port;
    async_connect(io, kind, target, client_local, framing,
                  [this](std::error_code ec, std::shared_ptr<Connection> c) {
                    connected = true;
                    connect_error = ec;
                    if (c) {
                      client.connection = std::move(c);
                      client.start();
                    }
                  });
    if (!run_until(io, [this] { return connected && (connect_error || server.connection); })) {
      ADD_FAILURE() << "connection did not come up";
      return false;
    }
    EXPECT_FALSE(connect_error) << connect_error.message();
    return !connect_error && client.connection && server.connection;
  }
};

inline Address addr(const char* text) { return asio::ip::make_address(text); }

// Connects to `remote` as async_connect_paths does with `options`; the connection, or null
// with a test failure.
inline std::shared_ptr<Connection> connect_with(asio::io_context& io, Kind kind,
                                                const Endpoint& remote,
                                                const std::vector<Address>& local,
                                                ConnectOptions options, Framing framing = {}) {
  std::shared_ptr<Connection> out;
  bool done = false;
  async_connect_paths(io, kind, remote, local, framing, options,
                      [&](std::error_code ec, std::shared_ptr<Connection> c,
                          std::vector<PathFailure>) {
                        EXPECT_FALSE(ec) << ec.message();
                        out = std::move(c);
                        done = true;
                      });
  EXPECT_TRUE(run_until(io, [&] { return done; }));
  return out;
}

// A PE's ASAP endpoint, as a registrar taking it over uses it: a listener on `local`
// sharing its port, a connection to a server ("registrar A") leaving from that port (A
// sees it as the peer port), and a third party ("registrar B") connecting to that port
// is accepted by the listener, while the first connection goes on carrying its own
// messages. ASAP framing over TCP: no PPID prefix, PPID 11 implied.
inline void check_shared_port(Kind kind, const Endpoint& local, const std::vector<Address>& from) {
  asio::io_context io;
  const Framing asap{false, 11};
  auto asap_listener = Listener::open(io, kind, local, asap, ListenOptions{true});
  const std::uint16_t port = asap_listener->local_endpoint().port;
  ASSERT_NE(port, 0);
  Side accepted;
  asap_listener->start([&](std::shared_ptr<Connection> c) {
    accepted.connection = std::move(c);
    accepted.start();
  });
  auto registrar_a = Listener::open(io, kind, Endpoint{{addr("127.0.0.1")}, 0}, asap);
  Side at_a;
  registrar_a->start([&](std::shared_ptr<Connection> c) {
    at_a.connection = std::move(c);
    at_a.start();
  });

  ConnectOptions options;
  options.local_port = port;
  Side to_a;
  to_a.connection = connect_with(io, kind, registrar_a->local_endpoint(), from, options, asap);
  ASSERT_TRUE(to_a.connection);
  to_a.start();
  EXPECT_EQ(to_a.connection->local_endpoint().port, port);
  ASSERT_TRUE(run_until(io, [&] { return at_a.connection != nullptr; }));
  EXPECT_EQ(at_a.connection->peer_port(), port) << "what registrar A records";
  EXPECT_FALSE(accepted.connection) << "the outgoing connection is not accepted as well";

  // Registrar B reaches the port A recorded.
  Side b;
  b.connection = connect_with(io, kind, Endpoint{at_a.connection->peer_addresses(), port}, {},
                              {}, asap);
  ASSERT_TRUE(b.connection);
  b.start();
  ASSERT_TRUE(run_until(io, [&] { return accepted.connection != nullptr; }));
  ASSERT_TRUE(b.connection->send(11, make_message(8, 0x0a)));
  ASSERT_TRUE(accepted.connection->send(11, make_message(12, 0x0b)));
  ASSERT_TRUE(at_a.connection->send(11, make_message(16, 0x0c)));
  ASSERT_TRUE(run_until(io, [&] {
    return accepted.received.size() == 1 && b.received.size() == 1 && to_a.received.size() == 1;
  }));
  EXPECT_EQ(accepted.received[0].ppid, 11u);
  EXPECT_EQ(accepted.received[0].message, make_message(8, 0x0a));
  EXPECT_EQ(b.received[0].message, make_message(12, 0x0b));
  EXPECT_EQ(to_a.received[0].message, make_message(16, 0x0c));
  EXPECT_TRUE(at_a.received.empty());
}

// Runs the enclosing scope's socket() calls in the named network namespace (this thread).
class InNetns {
 public:
  explicit InNetns(const std::string& name) {
    original_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = original_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
    if (target >= 0) ::close(target);
  }
  ~InNetns() {
    if (ok_) {
      EXPECT_EQ(::setns(original_, CLONE_NEWNET), 0);
    }
    if (original_ >= 0) ::close(original_);
  }
  bool ok() const { return ok_; }

 private:
  int original_ = -1;
  bool ok_ = false;
};

// ListenOptions::connection_context (a registrar's --threads): the accepted connection lives
// on the io_context it names, and its messages are handled there; the listener, on_accept
// and the connecting side stay on their own.
inline void check_connection_context(Kind kind, const Endpoint& local) {
  asio::io_context serving, listening;
  int asked = 0;
  ListenOptions options;
  options.connection_context = [&]() -> asio::io_context& {
    ++asked;
    return serving;
  };
  auto listener = Listener::open(listening, kind, local, Framing{false, 11}, options);
  std::shared_ptr<Connection> server, client;
  listener->start([&](std::shared_ptr<Connection> c) { server = std::move(c); });
  async_connect(listening, kind, listener->local_endpoint(), {}, Framing{false, 11},
                [&](std::error_code, std::shared_ptr<Connection> c) { client = std::move(c); });
  ASSERT_TRUE(run_until(listening, [&] { return server && client; }));
  EXPECT_GE(asked, 1);
  EXPECT_EQ(&server->context(), &serving);
  EXPECT_EQ(&client->context(), &listening);
  std::vector<Bytes> got;
  server->start({[&](std::uint32_t, std::span<const std::uint8_t> m) { got.emplace_back(m.begin(), m.end()); },
                 {}});
  client->start({});
  ASSERT_TRUE(client->send(11, make_message(8, 1, 7)));
  listening.poll();  // the client's send: the server's io_context alone receives it
  listening.restart();
  EXPECT_TRUE(got.empty());
  ASSERT_TRUE(run_until(serving, [&] {
    listening.poll();
    listening.restart();
    return got.size() == 1;
  }));
  EXPECT_EQ(got[0], make_message(8, 1, 7));
}

}  // namespace rserpool::transport::testing
