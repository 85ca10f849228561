// Pieces every component node (registrar, pe, pu) shares (their stderr log is
// common::Logger, stack/common/log.hpp): the transport's addresses as the codec's, a timer
// kept at a core's next deadline, the registrar connections of a PE or PU by index, and the
// gate that lets `--control` kill, freeze and resume one member of a `--count` process, and
// the error a node's constructor throws for options that do not fit together (a usage error,
// exit status 2). Single-threaded.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stack/common/split.hpp"
#include "stack/common/values.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::node {

// Options a node cannot run with ("--pool: a non-empty pool handle"), or an events file it
// cannot open: what the command reports as a usage error. Anything else a constructor
// throws (a listener that cannot bind) is a failure to start.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline rserpool::wire::Address to_wire(const rserpool::transport::Address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return rserpool::wire::Address::v4(b[0], b[1], b[2], b[3]);
  }
  std::array<std::uint8_t, 16> b{};
  const auto v6 = a.to_v6().to_bytes();
  std::copy(v6.begin(), v6.end(), b.begin());
  return rserpool::wire::Address::v6(b);
}

inline rserpool::transport::Endpoint to_endpoint(const rserpool::wire::Transport& t) {
  rserpool::transport::Endpoint e;
  e.port = t.port;
  for (const auto& a : t.addresses) {
    if (a.family == rserpool::wire::Address::Family::v4) {
      const auto& b = a.bytes;
      e.addresses.push_back(boost::asio::ip::make_address_v4(
          boost::asio::ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]}));
    } else {
      boost::asio::ip::address_v6::bytes_type b{};
      std::copy(a.bytes.begin(), a.bytes.begin() + 16, b.begin());
      e.addresses.push_back(boost::asio::ip::make_address_v6(b));
    }
  }
  return e;
}

// "ADDR[:PORT][,ADDR[:PORT]...]" (port 3863 by default): the --registrar list of a PE or PU,
// and (port 9901) the --peer list of a registrar.
inline std::optional<std::vector<rserpool::transport::Endpoint>> parse_registrars(
    const std::string& text, std::string* error,
    std::uint16_t default_port = rserpool::wire::kAsapPort) {
  std::vector<rserpool::transport::Endpoint> out;
  for (const auto& item : common::split(text, ',')) {
    const auto e = rserpool::transport::parse_endpoint(item, default_port, error);
    if (!e) {
      *error = "'" + item + "': " + *error;
      return std::nullopt;
    }
    out.push_back(*e);
  }
  if (out.empty()) {
    *error = "at least one ADDR:PORT";
    return std::nullopt;
  }
  return out;
}

// Where a component binds when --local is left out: every address of the host, as
// RSPLIB's components do, i.e. the wildcard of the registrars' family (IPv4 unless every
// registrar given is IPv6). Connections then leave from the address the kernel routes by
// (SCTP: an association over every address); a PE advertises the wildcard, which its
// registrar takes for the addresses it sees on the connection (the ones it can verify).
inline rserpool::transport::Endpoint every_address(
    const std::vector<rserpool::transport::Endpoint>& registrars) {
  const bool v6 = !registrars.empty() &&
                  std::all_of(registrars.begin(), registrars.end(), [](const auto& r) {
                    return !r.addresses.empty() && r.addresses.front().is_v6();
                  });
  rserpool::transport::Endpoint e;
  e.addresses.push_back(v6 ? rserpool::transport::Address(boost::asio::ip::address_v6::any())
                           : rserpool::transport::Address(boost::asio::ip::address_v4::any()));
  return e;
}

using Clock = std::chrono::steady_clock;

// A duration option in whole milliseconds (a bare number is milliseconds); at least 1 ms
// unless `allow_zero`. nullopt with `error` set otherwise.
inline std::optional<std::chrono::milliseconds> parse_ms(const std::string& text, bool allow_zero,
                                                         std::string* error) {
  const auto d = rserpool::values::parse_duration(text, "ms", error);
  if (!d) return std::nullopt;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() < (allow_zero ? 0 : 1) || ms.count() > 0x7fffffff) {
    *error = "'" + text + "' must be " + (allow_zero ? "0" : "1 ms") + " to 2^31-1 ms";
    return std::nullopt;
  }
  return ms;
}

// A non-zero 32-bit identifier ("0x1234abcd", "42"); nullopt when it is not one.
inline std::optional<std::uint32_t> parse_identifier(const std::string& text) {
  try {
    std::size_t used = 0;
    const unsigned long v = std::stoul(text, &used, 0);
    if (used != text.size() || v == 0 || v > 0xffffffffUL) return std::nullopt;
    return static_cast<std::uint32_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// One steady_timer kept at a core's next deadline: arm() after every call into the core.
// Re-arming for the same instant is free; a fire that raced a re-arm only ticks the core
// early or late, which the cores tolerate (every timer re-checks its deadline).
class DeadlineTimer {
 public:
  explicit DeadlineTimer(boost::asio::io_context& io) : timer_(io) {}

  void arm(std::optional<Clock::time_point> due, std::function<void()> fire) {
    if (!due) {
      cancel();
      return;
    }
    if (armed_ && *armed_ == *due) return;
    armed_ = due;
    timer_.expires_at(*due);
    timer_.async_wait([this, fire = std::move(fire)](const boost::system::error_code& ec) {
      if (ec) return;
      armed_.reset();
      fire();
    });
  }
  void cancel() {
    armed_.reset();
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::optional<Clock::time_point> armed_;
};

// What `--control stdin` does to one member of a `--count` process, as a signal would to
// a process: kill (crash: connections dropped without a goodbye, nothing more happens),
// stop (SIGSTOP: input and timers wait) and resume (SIGCONT: what waited runs, in order).
// Every entry point of a member goes through run().
class Gate {
 public:
  bool dead() const { return dead_; }
  bool frozen() const { return frozen_; }

  template <class F>
  void run(F&& f) {
    if (dead_) return;
    if (frozen_) {
      waiting_.emplace_back(std::forward<F>(f));
      return;
    }
    f();
  }
  // Hands `bytes` (valid only now) to f(span): copied when it has to wait.
  template <class F>
  void deliver(std::span<const std::uint8_t> bytes, F f) {
    if (dead_) return;
    if (frozen_) {
      waiting_.emplace_back([f = std::move(f),
                             copy = std::vector<std::uint8_t>(bytes.begin(), bytes.end())]() {
        f(std::span<const std::uint8_t>(copy));
      });
      return;
    }
    f(bytes);
  }
  void kill() {
    dead_ = true;
    waiting_.clear();
  }
  void freeze() { frozen_ = !dead_; }
  void resume() {
    if (dead_ || !frozen_) return;
    frozen_ = false;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& f : waiting) run(std::move(f));
  }

 private:
  bool dead_ = false;
  bool frozen_ = false;
  std::vector<std::function<void()>> waiting_;
};

// The registrar connections of a PE or PU, by index of its --registrar list (and of the
// registrars learnt from announces after it): connect, close or abort, send ASAP (PPID 11); results
// go to the callbacks, never for a connection that was closed or replaced meanwhile. A PE
// also takes connections registrars open to its ASAP endpoint (accept): each gets an index
// of its own, never one connect() or add() hands out, reused once that connection is gone.
class RegistrarLinks {
 public:
  struct Callbacks {
    std::function<void(std::size_t i)> connected;
    std::function<void(std::size_t i, std::error_code ec)> connect_failed;
    std::function<void(std::size_t i, std::error_code ec)> closed;
    std::function<void(std::size_t i, std::span<const std::uint8_t> message)> received;
  };

  RegistrarLinks(boost::asio::io_context& io, rserpool::transport::Kind kind,
                 std::vector<rserpool::transport::Endpoint> registrars, Callbacks callbacks)
      : io_(io),
        kind_(kind),
        registrars_(std::move(registrars)),
        conns_(registrars_.size()),
        accepted_(registrars_.size(), false),
        generation_(std::make_shared<std::vector<std::uint64_t>>(registrars_.size(), 0)),
        callbacks_(std::move(callbacks)) {}
  ~RegistrarLinks() { close_all(); }

  std::size_t size() const { return registrars_.size(); }
  const rserpool::transport::Endpoint& endpoint(std::size_t i) const { return registrars_[i]; }

  // The addresses connections leave from (TCP: the first of the registrar's family; SCTP: all
  // of them): a PE's own, which the registrar checks its registration's addresses against.
  // Unspecified ones are left out; none (the default): the kernel's choice.
  void set_local(std::vector<rserpool::transport::Address> local) {
    std::erase_if(local, [](const auto& a) { return a.is_unspecified(); });
    local_ = std::move(local);
  }
  // How connects try the local addresses (TCP: every one in turn, or the first) and how long
  // a whole connect may take; default: the first, no limit.
  void set_connect_options(rserpool::transport::ConnectOptions options) { options_ = options; }
  // The local port connections leave from: a PE's ASAP endpoint's (0: the kernel's choice).
  void set_local_port(std::uint16_t port) { options_.local_port = port; }

  // The index of `registrar`: that of an equal endpoint (same addresses in the same order,
  // same port) already known, else a new one at the end.
  std::size_t add(const rserpool::transport::Endpoint& registrar) {
    for (std::size_t i = 0; i < registrars_.size(); ++i) {
      const auto& e = registrars_[i];
      if (!accepted_[i] && e.port == registrar.port && e.addresses == registrar.addresses)
        return i;
    }
    return append(registrar, false);
  }

  // A connection a registrar opened to the PE (not started): its index, from now on
  // reported as received() and closed() like the others'.
  std::size_t accept(std::shared_ptr<rserpool::transport::Connection> c) {
    std::size_t i = 0;
    while (i < registrars_.size() && !(accepted_[i] && !conns_[i])) ++i;
    if (i == registrars_.size()) append({}, true);
    registrars_[i] = {c->peer_addresses(), c->peer_port()};  // endpoint(i): where it came from
    attach(i, std::move(c));
    return i;
  }

  // Connects to registrar i (none for an accepted index: there is nothing to connect to).
  void connect(std::size_t i) {
    if (i >= registrars_.size() || accepted_[i]) return;
    close(i);
    const std::uint64_t gen = (*generation_)[i];
    auto generation = generation_;
    // Our SACKs at once: the registrar's smoothed RTT to us is our distance (DPF policies).
    auto options = options_;
    options.immediate_sack = true;
    rserpool::transport::async_connect_paths(
        io_, kind_, registrars_[i], local_, {false, rserpool::wire::kPpidAsap}, options,
        [this, i, gen, generation](std::error_code ec,
                                   std::shared_ptr<rserpool::transport::Connection> c,
                                   std::vector<rserpool::transport::PathFailure>) {
          if (gen != (*generation)[i]) {
            if (c) c->close();
            return;
          }
          if (ec || !c) {
            callbacks_.connect_failed(i, ec ? ec : std::make_error_code(std::errc::io_error));
            return;
          }
          attach(i, std::move(c));
          callbacks_.connected(i);
        });
  }
  void close(std::size_t i) { drop(i, false); }
  // As close(), without a goodbye (TCP RST, SCTP ABORT): nothing sent on the connection
  // earlier reaches the registrar afterwards, as a retransmission would once a link is back.
  void abort(std::size_t i) { drop(i, true); }
  bool send(std::size_t i, std::span<const std::uint8_t> message) {
    return i < conns_.size() && conns_[i] && conns_[i]->send(rserpool::wire::kPpidAsap, message);
  }
  void close_all() {
    for (std::size_t i = 0; i < conns_.size(); ++i) close(i);
  }

 private:
  std::size_t append(rserpool::transport::Endpoint registrar, bool accepted) {
    registrars_.push_back(std::move(registrar));
    conns_.emplace_back();
    accepted_.push_back(accepted);
    generation_->push_back(0);
    return registrars_.size() - 1;
  }

  // Connection `c` becomes index i's: started, its messages and its end reported while it
  // is i's current one.
  void attach(std::size_t i, std::shared_ptr<rserpool::transport::Connection> c) {
    const std::uint64_t gen = (*generation_)[i];
    auto generation = generation_;
    conns_[i] = c;
    c->start({[this, i, gen, generation](std::uint32_t, std::span<const std::uint8_t> m) {
                if (gen == (*generation)[i]) callbacks_.received(i, m);
              },
              [this, i, gen, generation](const std::error_code& e) {
                if (gen != (*generation)[i]) return;
                ++(*generation)[i];
                conns_[i].reset();
                callbacks_.closed(i, e);
              }});
  }

  void drop(std::size_t i, bool abort) {
    if (i >= registrars_.size()) return;
    ++(*generation_)[i];
    if (conns_[i]) {
      if (abort)
        conns_[i]->abort();
      else
        conns_[i]->close();
    }
    conns_[i].reset();
  }

  boost::asio::io_context& io_;
  rserpool::transport::Kind kind_;
  std::vector<rserpool::transport::Address> local_;
  rserpool::transport::ConnectOptions options_;
  std::vector<rserpool::transport::Endpoint> registrars_;
  std::vector<std::shared_ptr<rserpool::transport::Connection>> conns_;
  std::vector<bool> accepted_;  // accept()ed, not connected to
  // Shared with pending handlers, which may outlive this object.
  std::shared_ptr<std::vector<std::uint64_t>> generation_;
  Callbacks callbacks_;
};

}  // namespace rsplab::node
