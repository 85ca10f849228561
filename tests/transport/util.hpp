// Helpers for the transport tests: message builders, a pair of connected Connections with
// recorded traffic, and running the io_context until a condition holds.
#pragma once

#include <utility>  // before Asio

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

}  // namespace rserpool::transport::testing
