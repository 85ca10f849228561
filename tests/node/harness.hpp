// What the in-process node tests share: an event sink that keeps every line a node writes
// (node/event_log.hpp), read back as typed events (stack/common/events.hpp), an io_context
// run until a condition holds (or a time limit, a test failure, passes), and the options of
// a registrar, PE and PU on loopback TCP.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <gtest/gtest.h>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/event_log.hpp"
#include "options/roles.hpp"

namespace rsplab::node::test {

class Recorder {
 public:
  // The sink to hand a node: every line into this recorder.
  EventLog::Sink sink() {
    return [this](const nlohmann::ordered_json& line) {
      lines_.push_back(nlohmann::json::parse(line.dump()));
    };
  }
  const std::vector<nlohmann::json>& lines() const { return lines_; }
  // The lines of event `kind`, in order.
  std::vector<nlohmann::json> named(const std::string& kind) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : lines_)
      if (e.value("event", "") == kind) out.push_back(e);
    return out;
  }
  // Those lines as T (from_json; throws common::EventError when one is not a T). Each is
  // also written back through T: every field T writes must be the line's (a field renamed
  // on one side fails the test).
  template <class T>
  std::vector<T> as(const std::string& kind) const {
    std::vector<T> out;
    for (const auto& e : named(kind)) {
      out.push_back(e.get<T>());
      const nlohmann::json back = out.back();
      for (const auto& [key, value] : back.items())
        EXPECT_EQ(e.value(key, nlohmann::json()), value) << key << " of " << e.dump();
    }
    return out;
  }
  std::size_t count(const std::string& kind) const { return named(kind).size(); }

 private:
  std::vector<nlohmann::json> lines_;
};

// Runs `io` until `done()` (checked after each handler), or `limit` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // A timer keeps run_one_until waiting when nothing else is pending.
  boost::asio::steady_timer keep(io, deadline);
  keep.async_wait([](const boost::system::error_code&) {});
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_one_until(deadline);
  }
  keep.cancel();
  io.poll();
  return done();
}

// A registrar on loopback TCP, free ports, identifier `id`.
inline options::RegistrarOptions registrar_options(const std::string& id = "0x5eed") {
  options::RegistrarOptions o;
  o.transport = "tcp";
  o.asap = "127.0.0.1:0";
  o.enrp = "127.0.0.1:0";
  o.identifier = id;
  return o;
}

// A PE of `pool` on loopback TCP registering at `registrar` ("ADDR:PORT"), identifier `id`.
inline options::PeOptions pe_options(const std::string& registrar, const std::string& pool,
                                     const std::string& id) {
  options::PeOptions o;
  o.transport = "tcp";
  o.registrar = registrar;
  o.local = "127.0.0.1";
  o.pool = pool;
  o.identifier = id;
  return o;
}

// A PU of `pool` on loopback TCP asking `registrar`.
inline options::PuOptions pu_options(const std::string& registrar, const std::string& pool) {
  options::PuOptions o;
  o.transport = "tcp";
  o.registrar = registrar;
  o.local = "127.0.0.1";
  o.pool = pool;
  o.name = "pu";
  return o;
}

}  // namespace rsplab::node::test
