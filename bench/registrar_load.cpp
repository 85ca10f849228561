// registrar_load: a load generator for `rsplab registrar` over loopback TCP or SCTP
// (--transport), and for RSPLIB's `rspregistrar` or a bare echo server over SCTP (--server:
// rsplib, echo = bench/sctp_echo.cpp, the ceiling). N pool
// elements register (one TCP connection each, answering the registrar's keep-alives) and
// re-register with new loads in the background, while M pool-user connections each keep
// K HANDLE_RESOLUTIONs in flight (pipelined on one connection; responses come in order).
// It reports registrations/s, re-registrations/s, handle resolutions/s, resolution
// latency percentiles, errors, and the registrar's CPU time (its CPU clock; load_support.cpp).
//
//   generator (CPU 0, one io_context)                     registrar (CPU 1)
//   PE 1..N  ──REGISTRATION / re-REGISTRATION──────────►  rsplab registrar
//            ◄─REGISTRATION_RESPONSE, KEEP_ALIVE───────     --transport tcp
//            ──KEEP_ALIVE_ACK─────────────────────────►
//   PU 1..M  ──HANDLE_RESOLUTION × K (pipelined)──────►
//            ◄─HANDLE_RESOLUTION_RESPONSE (in order)───
//
// Phase 1 registers the N PEs and times it. Phase 2 runs for --warmup then --duration
// seconds; only the measured part is counted. --rate 0 is closed loop (each response
// sends the next request: the maximum rate); --rate R is open loop: requests are due at
// fixed intervals whatever the responses do, wait for a free in-flight slot when all are
// taken, and their latency counts from when they were due (no coordinated omission).
//
// --netns puts it and what it spawns in a network namespace of its own, the server on
// 10.99.0.1 and every connection of the generator bound to 10.99.0.2 (its PEs advertise
// that address): RSPLIB ignores loopback addresses. With --server echo an echoed
// REGISTRATION counts as its response and an echoed HANDLE_RESOLUTION as an answer.
//
// By default it spawns `rsplab registrar` (RSPLAB_BINARY, set by CMake) pinned to CPU 1
// and pins itself to CPU 0; --registrar ADDR:PORT uses a running one (--registrar-pid for
// its CPU time). Phase 1 sends the N registrations at once (one per PE connection) and
// divides N by the time to the last response. Single-threaded: one io_context, no locks
// (ChildProcess keeps its own reader thread for the registrar's output).
//
//   build/release/bench/registrar_load                 # max rate: 1000 PEs, 100 PUs × 8
//   build/release/bench/registrar_load --rate 50000    # latency at a fixed rate
#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "bench/load_support.hpp"
#include "stack/common/log.hpp"
#include "stack/common/open_files.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"
#include "tests/support/process.hpp"

#ifndef RSPLAB_BINARY
#define RSPLAB_BINARY "rsplab"
#endif
#ifndef SCTP_ECHO_BINARY
#define SCTP_ECHO_BINARY "sctp_echo"
#endif

namespace {

namespace asio = boost::asio;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
namespace asap = wire::asap;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::nanoseconds;

struct Options {
  std::size_t pes = 1000;
  std::size_t pu_connections = 100;
  std::size_t in_flight = 8;
  double duration = 10;
  double warmup = 1;
  double rate = 0;                  // handle resolutions/s in total; 0: closed loop
  double reregistration_rate = 1000;  // re-registrations/s in total; 0: none
  std::string pool = "LoadPool";
  std::string policy = "lu";
  std::uint32_t items = 0;          // Handle Resolution Option; 0: none (registrar's default)
  std::uint32_t registration_life_ms = 300000;
  std::string registrar;            // ADDR:PORT of a running registrar; empty: spawn one
  std::string transport = "tcp";    // tcp | sctp
  std::string server = "rsplab";    // what to spawn: rsplab | rsplib | echo
  bool netns = false;               // a network namespace of its own, 10.99.0.1 and .2 on lo
  unsigned threads = 1;             // the spawned rsplab registrar's --threads
  std::string local;                // the generator's address (bound, advertised by its PEs)
  int registrar_pid = 0;            // with --registrar: for its CPU time
  int cpu = 0;                      // generator's CPU; -1: not pinned
  int registrar_cpu = 1;            // spawned registrar's CPU; -1: not pinned
  std::string rsplab = RSPLAB_BINARY;
  std::string registrar_args;       // extra arguments for the spawned registrar
  std::string wrap;                 // a command the spawned server runs under (strace, perf)
  std::size_t connect_parallel = 64;
  std::uint32_t tick_us = 50;       // open loop: the pacing timer's shortest period
  std::uint64_t seed = 1;
  bool json = false;
};

const rsplab::common::Logger logger{"registrar_load"};
using rsplab::common::Level;

[[noreturn]] void die(const std::string& what) {
  logger.write(Level::error, what);
  std::exit(1);
}

using rsplab::bench::fmt;
using rsplab::bench::pin;
using rsplab::bench::process_cpu_seconds;
using rsplab::bench::self_cpu_seconds;

// ---------------------------------------------------------------- statistics

struct Percentiles {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;  // µs
};

Percentiles percentiles(std::vector<std::uint32_t>& ns) {
  Percentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns.size())));
    return ns[std::min(ns.size() - 1, i == 0 ? 0 : i - 1)] / 1e3;
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = ns.back() / 1e3;
  double sum = 0;
  for (const auto v : ns) sum += v;
  p.mean = sum / static_cast<double>(ns.size()) / 1e3;
  return p;
}

std::uint32_t saturate_ns(Clock::duration d) {
  const auto n = std::chrono::duration_cast<nanoseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(n, 0, UINT32_MAX));
}

// ---------------------------------------------------------------- the generator

// What a HANDLE_RESOLUTION_RESPONSE holds, from its top-level TLVs (no full decode: the
// generator must stay much cheaper than the registrar).
struct HrClass {
  bool ok = false;
  std::uint32_t pes = 0;
};
HrClass classify_hr_response(std::span<const std::uint8_t> m) {
  HrClass c;
  if (m.size() < 4 || m[0] != static_cast<std::uint8_t>(wire::AsapType::handle_resolution_response))
    return c;
  bool error = false;
  std::size_t off = 4;
  while (off + 4 <= m.size()) {
    const std::uint16_t type = static_cast<std::uint16_t>(m[off] << 8 | m[off + 1]);
    const std::uint16_t len = static_cast<std::uint16_t>(m[off + 2] << 8 | m[off + 3]);
    if (len < 4) break;
    if (type == static_cast<std::uint16_t>(wire::ParamType::operation_error)) error = true;
    if (type == static_cast<std::uint16_t>(wire::ParamType::pool_element)) ++c.pes;
    off += (len + 3u) & ~3u;
  }
  c.ok = !error && c.pes > 0;
  return c;
}

class Generator {
 public:
  Generator(asio::io_context& io, const Options& o, transport::Endpoint registrar, int pr_pid)
      : io_(io), o_(o), registrar_(std::move(registrar)), pr_pid_(pr_pid),
        kind_(o.transport == "sctp" ? transport::Kind::sctp : transport::Kind::tcp),
        echo_(o.server == "echo" && o.registrar.empty()), rng_(o.seed),
        rate_timer_(io), rereg_timer_(io), phase_timer_(io) {
    if (!o.local.empty()) {
      boost::system::error_code ec;
      local_.push_back(asio::ip::make_address(o.local, ec));
      if (ec) die("--local: '" + o.local + "' is not an address");
    }
    const auto* info = wire::policy_by_short_name(o.policy);
    if (!info) die("--policy: unknown policy '" + o.policy + "'");
    policy_ = info;
    asap::HandleResolution hr;
    hr.pool_handle = o.pool;
    if (o.items != 0) hr.items = o.items;
    hr_bytes_ = wire::encode(asap::Message{hr});
    if (hr_bytes_.empty()) die("cannot encode the handle resolution");
  }

  void run() {
    const auto t = Clock::now();
    connect_all(t);
    io_.run();
  }

  nlohmann::ordered_json report() const { return report_; }
  bool failed() const { return failed_; }

 private:
  struct Pe {
    std::uint32_t id = 0;
    std::shared_ptr<transport::Connection> conn;
    wire::Policy policy;
    bool registered = false;
    bool outstanding = false;  // a (re-)registration awaits its response
    Clock::time_point sent;
  };
  struct Pu {
    std::shared_ptr<transport::Connection> conn;
    struct InFlight {
      Clock::time_point due, sent;
    };
    std::vector<InFlight> ring;  // the requests in flight, in order
    std::size_t head = 0, count = 0;
  };

  // ---- phase 0: connections
  void connect_all(Clock::time_point) {
    pes_.resize(o_.pes);
    pus_.resize(o_.pu_connections);
    std::unordered_set<std::uint32_t> ids;
    std::uniform_int_distribution<std::uint32_t> any(1, UINT32_MAX);
    for (auto& pe : pes_) {
      do pe.id = any(rng_); while (!ids.insert(pe.id).second);
      pe.policy = random_policy();
    }
    for (auto& pu : pus_) pu.ring.resize(o_.in_flight);
    to_connect_ = o_.pes + o_.pu_connections;
    connect_start_ = Clock::now();
    connect_next();  // the first alone: it may wait for the server (below)
  }

  void connect_next() {
    if (next_connect_ >= to_connect_) return;
    connect_one(next_connect_++);
  }

  void connect_one(std::size_t i) {
    transport::async_connect(
        io_, kind_, registrar_, local_, transport::Framing{false, wire::kPpidAsap},
        [this, i](std::error_code ec, std::shared_ptr<transport::Connection> c) {
          if (ec && (i == 0 || ec == std::errc::connection_refused) &&
              Clock::now() < connect_start_ + std::chrono::seconds(10)) {
            // The first connection waits for a server that prints no ready line
            // (rspregistrar); a refused one found the server's accept queue full (an SCTP
            // INIT beyond the backlog is aborted): retried after 100 ms, for up to 10 s.
            retry_connect(i);
            return;
          }
          if (ec) die("connect to " + registrar_.to_string() + ": " + ec.message());
          if (i == 0 && connected_ == 0)
            for (std::size_t k = 1; k < std::min(o_.connect_parallel, to_connect_); ++k) connect_next();
          if (i < o_.pes) {
            pes_[i].conn = c;
            c->start({[this, i](std::uint32_t, std::span<const std::uint8_t> m) { on_pe(i, m); },
                      [this, i](const std::error_code& e) { on_closed("PE", i, e); }});
          } else {
            const std::size_t u = i - o_.pes;
            pus_[u].conn = c;
            c->start({[this, u](std::uint32_t, std::span<const std::uint8_t> m) { on_pu(u, m); },
                      [this, u](const std::error_code& e) { on_closed("PU", u, e); }});
          }
          if (++connected_ == to_connect_) {
            connect_seconds_ = duration<double>(Clock::now() - connect_start_).count();
            register_all();
          } else {
            connect_next();
          }
        });
  }

  void retry_connect(std::size_t i) {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    timer->async_wait([this, i, timer](boost::system::error_code) { connect_one(i); });
  }

  void on_closed(const char* who, std::size_t i, const std::error_code& ec) {
    ++connections_lost_;
    if (!stopping_)
      logger(Level::warning, "%s connection %zu closed: %s", who, i, ec.message().c_str());
  }

  wire::Policy random_policy() {
    wire::Policy p;
    p.type = policy_->type;
    std::uniform_int_distribution<std::uint32_t> any;
    for (std::size_t f = 0; f < policy_->field_count; ++f) {
      std::uint32_t v = 0;
      switch (policy_->fields[f]) {
        case wire::PolicyField::weight: v = 1 + any(rng_) % 1024; break;
        case wire::PolicyField::priority: v = any(rng_) % 4; break;
        case wire::PolicyField::load: v = any(rng_); break;
        case wire::PolicyField::load_degradation: v = wire::kFractionOne / 100 * (1 + any(rng_) % 5); break;
        default: v = 0; break;
      }
      wire::set_policy_field(p, policy_->fields[f], v);
    }
    return p;
  }

  void send_registration(Pe& pe, Clock::time_point now) {
    rsplab::bench::SimulatedPe r{o_.pool, pe.id, pe.policy, o_.registration_life_ms};
    r.port = static_cast<std::uint16_t>(10000 + (pe.id % 50000));
    if (!local_.empty() && local_.front().is_v4()) {
      const auto b = local_.front().to_v4().to_bytes();
      r.address = wire::Address::v4(b[0], b[1], b[2], b[3]);
    }
    scratch_.clear();
    if (!rsplab::bench::encode_registration(r, scratch_)) die("cannot encode a registration");
    pe.outstanding = true;
    pe.sent = now;
    pe.conn->send(wire::kPpidAsap, scratch_);
  }

  // ---- phase 1: registration
  void register_all() {
    reg_start_ = Clock::now();
    for (auto& pe : pes_) send_registration(pe, reg_start_);
  }

  void on_pe(std::size_t i, std::span<const std::uint8_t> bytes) {
    const auto now = Clock::now();
    Pe& pe = pes_[i];
    auto decoded = wire::decode_asap(bytes);
    if (!decoded) {
      ++pe_undecodable_;
      return;
    }
    auto& m = decoded->message;
    if (echo_ && std::holds_alternative<asap::Registration>(m)) m = asap::RegistrationResponse{};
    if (auto* r = std::get_if<asap::RegistrationResponse>(&m)) {
      if (!pe.outstanding) {
        ++pe_unexpected_;
        return;
      }
      pe.outstanding = false;
      const bool first = !pe.registered;
      if (r->reject || r->error) {
        if (first) ++reg_rejects_; else if (measuring_) ++rereg_rejects_;
      } else {
        pe.registered = true;
      }
      if (first) {
        reg_latency_.push_back(saturate_ns(now - pe.sent));
        if (++reg_done_ == pes_.size()) registered_all(now);
      } else if (measuring_) {
        ++reregs_;
        rereg_latency_.push_back(saturate_ns(now - pe.sent));
      }
      return;
    }
    if (auto* ka = std::get_if<asap::EndpointKeepAlive>(&m)) {
      scratch_.clear();
      rsplab::bench::encode_keep_alive_ack(*ka, pe.id, scratch_);
      pe.conn->send(wire::kPpidAsap, scratch_);
      ++keepalives_;
      if (measuring_) ++keepalives_in_window_;
      return;
    }
    if (std::holds_alternative<asap::Error>(m)) {
      ++pe_errors_;
      return;
    }
    ++pe_unexpected_;
  }

  void registered_all(Clock::time_point now) {
    reg_seconds_ = duration<double>(now - reg_start_).count();
    if (reg_rejects_ == pes_.size()) {
      failed_ = true;
      logger(Level::error, "every registration was rejected");
      finish_report(now);
      return;
    }
    // ---- phase 2: resolutions and re-registrations, warm-up then measured
    load_start_ = now;
    measure_start_ = now + std::chrono::duration_cast<Clock::duration>(duration<double>(o_.warmup));
    measure_end_ = measure_start_ + std::chrono::duration_cast<Clock::duration>(duration<double>(o_.duration));
    running_ = true;
    for (std::size_t u = 0; u < pus_.size(); ++u)
      for (std::size_t k = 0; k < o_.in_flight; ++k) tokens_.push_back(static_cast<std::uint32_t>(u));
    if (o_.rate > 0) {
      interval_ = 1.0 / o_.rate;
      due_index_ = 0;
      pace();
    } else {
      dispatch(now);
    }
    if (o_.reregistration_rate > 0) {
      rereg_index_ = 0;
      reregister_tick();
    }
    phase_timer_.expires_at(measure_start_);
    phase_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) start_measuring();
    });
  }

  void start_measuring() {
    const auto now = Clock::now();
    measuring_ = true;
    measured_start_actual_ = now;
    pr_cpu0_ = pr_pid_ > 0 ? process_cpu_seconds(pr_pid_) : std::nullopt;
    self_cpu0_ = self_cpu_seconds();
    phase_timer_.expires_at(measure_end_);
    phase_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) stop_measuring();
    });
  }

  void stop_measuring() {
    const auto now = Clock::now();
    measuring_ = false;
    running_ = false;
    measured_seconds_ = duration<double>(now - measured_start_actual_).count();
    if (pr_cpu0_) {
      if (const auto c = process_cpu_seconds(pr_pid_)) pr_cpu_ = *c - *pr_cpu0_;
    }
    self_cpu_ = self_cpu_seconds() - self_cpu0_;
    rate_timer_.cancel();
    rereg_timer_.cancel();
    // Drain: wait (at most 2 s) for what is in flight, so the connections close cleanly.
    drain_deadline_ = now + std::chrono::seconds(2);
    drain();
  }

  void drain() {
    const auto now = Clock::now();
    bool busy = false;
    for (const auto& pu : pus_) busy |= pu.count > 0;
    for (const auto& pe : pes_) busy |= pe.outstanding;
    if (busy && now < drain_deadline_) {
      phase_timer_.expires_after(std::chrono::milliseconds(5));
      phase_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) drain();
      });
      return;
    }
    for (const auto& pu : pus_) undrained_ += pu.count;
    finish_report(now);
  }

  // ---- handle resolutions
  // Sends while there are free in-flight slots and requests due (closed loop: always due).
  void dispatch(Clock::time_point now) {
    while (running_ && !tokens_.empty()) {
      Clock::time_point due = now;
      if (o_.rate > 0) {
        if (backlog_.empty()) return;
        due = backlog_.front();
        backlog_.pop_front();
      }
      const std::uint32_t u = tokens_.front();
      tokens_.pop_front();
      Pu& pu = pus_[u];
      pu.ring[(pu.head + pu.count) % pu.ring.size()] = {due, now};
      ++pu.count;
      ++hr_sent_;
      pu.conn->send(wire::kPpidAsap, hr_bytes_);
    }
  }

  // Open loop: request i is due at load_start_ + i / rate.
  Clock::time_point due_time(std::uint64_t i) const {
    return load_start_ + std::chrono::duration_cast<Clock::duration>(
                             duration<double>(static_cast<double>(i) * interval_));
  }

  void pace() {
    if (!running_) return;
    const auto now = Clock::now();
    while (due_time(due_index_) <= now) {
      backlog_.push_back(due_time(due_index_));
      ++due_index_;
    }
    max_backlog_ = std::max(max_backlog_, backlog_.size());
    dispatch(now);
    // Not more often than every --tick-us: a timer per request (every 17 us at 60,000/s)
    // costs the generator more than the requests themselves. The wait counts in latency.
    rate_timer_.expires_at(std::max(due_time(due_index_), now + std::chrono::microseconds(o_.tick_us)));
    rate_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) pace();
    });
  }

  void on_pu(std::size_t u, std::span<const std::uint8_t> bytes) {
    const auto now = Clock::now();
    Pu& pu = pus_[u];
    if (pu.count == 0) {
      ++pu_unexpected_;
      return;
    }
    const auto sent = pu.ring[pu.head];
    pu.head = (pu.head + 1) % pu.ring.size();
    --pu.count;
    if (measuring_) {
      HrClass c = classify_hr_response(bytes);
      if (echo_) c = {bytes.size() == hr_bytes_.size(), 0};
      if (c.ok) {
        ++hr_ok_;
        hr_pes_ += c.pes;
      } else {
        ++hr_errors_;
      }
      hr_latency_.push_back(saturate_ns(now - sent.due));
      if (o_.rate > 0) hr_rtt_.push_back(saturate_ns(now - sent.sent));
    }
    tokens_.push_back(static_cast<std::uint32_t>(u));
    dispatch(now);
  }

  // ---- re-registrations: round robin over the PEs at the given total rate; a PE whose
  // previous (re-)registration is still unanswered is skipped.
  void reregister_tick() {
    if (!running_) return;
    const auto now = Clock::now();
    const auto due = [&](std::uint64_t i) {
      return load_start_ + std::chrono::duration_cast<Clock::duration>(
                               duration<double>(static_cast<double>(i) / o_.reregistration_rate));
    };
    while (due(rereg_index_) <= now) {
      Pe& pe = pes_[rereg_index_ % pes_.size()];
      ++rereg_index_;
      if (!pe.registered || pe.outstanding) {
        if (measuring_) ++rereg_skipped_;
        continue;
      }
      wire::set_policy_field(pe.policy, wire::PolicyField::load, std::uniform_int_distribution<std::uint32_t>()(rng_));
      send_registration(pe, now);
    }
    rereg_timer_.expires_at(due(rereg_index_));
    rereg_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) reregister_tick();
    });
  }

  // ---- the end
  void finish_report(Clock::time_point) {
    stopping_ = true;
    for (auto& pe : pes_)
      if (pe.conn) pe.conn->close();
    for (auto& pu : pus_)
      if (pu.conn) pu.conn->close();
    phase_timer_.cancel();
    rate_timer_.cancel();
    rereg_timer_.cancel();

    auto& r = report_;
    r["pes"] = o_.pes;
    r["pu_connections"] = o_.pu_connections;
    r["in_flight"] = o_.in_flight;
    r["pool"] = o_.pool;
    r["policy"] = std::string(policy_->short_name);
    r["items"] = o_.items == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o_.items);
    r["target_rate"] = o_.rate;
    r["warmup_s"] = o_.warmup;
    r["duration_s"] = measured_seconds_;
    r["connect_s"] = connect_seconds_;
    const Percentiles rl = percentiles(reg_latency_);
    r["registration"] = {{"count", reg_done_ - reg_rejects_},
                         {"rejects", reg_rejects_},
                         {"seconds", reg_seconds_},
                         {"per_s", reg_seconds_ > 0 ? (reg_done_ - reg_rejects_) / reg_seconds_ : 0},
                         {"latency_us", {{"p50", rl.p50}, {"p99", rl.p99}, {"max", rl.max}}}};
    const Percentiles rr = percentiles(rereg_latency_);
    r["reregistration"] = {{"target_per_s", o_.reregistration_rate},
                           {"count", reregs_},
                           {"rejects", rereg_rejects_},
                           {"skipped", rereg_skipped_},
                           {"per_s", measured_seconds_ > 0 ? reregs_ / measured_seconds_ : 0},
                           {"latency_us", {{"p50", rr.p50}, {"p99", rr.p99}, {"max", rr.max}}}};
    const Percentiles hl = percentiles(hr_latency_);
    const Percentiles rt = percentiles(hr_rtt_);  // open loop: from the send, not the due time
    const double hr_per_s = measured_seconds_ > 0 ? (hr_ok_ + hr_errors_) / measured_seconds_ : 0;
    r["handle_resolution"] = {
        {"count", hr_ok_ + hr_errors_},
        {"errors", hr_errors_},
        {"per_s", hr_per_s},
        {"pes_per_response", hr_ok_ > 0 ? static_cast<double>(hr_pes_) / hr_ok_ : 0},
        {"latency_us",
         {{"mean", hl.mean}, {"p50", hl.p50}, {"p90", hl.p90}, {"p99", hl.p99}, {"max", hl.max}}},
        {"max_backlog", max_backlog_},
        {"round_trip_us", {{"p50", rt.p50}, {"p99", rt.p99}, {"max", rt.max}}},
        {"undrained", undrained_}};
    r["keepalives_answered"] = keepalives_;
    r["errors"] = {{"pe_error_messages", pe_errors_},
                   {"pe_undecodable", pe_undecodable_},
                   {"unexpected_messages", pe_unexpected_ + pu_unexpected_},
                   {"connections_lost", connections_lost_}};
    nlohmann::ordered_json cpu;
    if (pr_cpu_) {
      cpu["registrar_s"] = *pr_cpu_;
      cpu["registrar_share"] = measured_seconds_ > 0 ? *pr_cpu_ / measured_seconds_ : 0;
      const double hrs = static_cast<double>(hr_ok_ + hr_errors_);
      cpu["registrar_us_per_resolution"] = hrs > 0 ? *pr_cpu_ * 1e6 / hrs : 0;
      cpu["registrar_us_per_request"] =
          hrs > 0 ? *pr_cpu_ * 1e6 / (hrs + static_cast<double>(reregs_ + keepalives_in_window_)) : 0;
    } else {
      cpu["registrar_s"] = nullptr;
    }
    cpu["generator_s"] = self_cpu_;
    cpu["generator_share"] = measured_seconds_ > 0 ? self_cpu_ / measured_seconds_ : 0;
    r["cpu"] = cpu;
  }

  asio::io_context& io_;
  const Options& o_;
  transport::Endpoint registrar_;
  int pr_pid_;
  transport::Kind kind_ = transport::Kind::tcp;
  std::vector<transport::Address> local_;  // --local: bound by every connection
  bool echo_ = false;  // --server echo: answers are the requests' own bytes
  std::mt19937_64 rng_;
  const wire::PolicyInfo* policy_ = nullptr;
  wire::Bytes hr_bytes_, scratch_;
  std::vector<Pe> pes_;
  std::vector<Pu> pus_;

  std::size_t to_connect_ = 0, next_connect_ = 0, connected_ = 0;
  Clock::time_point connect_start_, reg_start_, load_start_, measure_start_, measure_end_,
      measured_start_actual_, drain_deadline_;
  double connect_seconds_ = 0, reg_seconds_ = 0, measured_seconds_ = 0;

  bool running_ = false, measuring_ = false, stopping_ = false, failed_ = false;
  std::deque<std::uint32_t> tokens_;           // one per free in-flight slot: the PU's index
  std::deque<Clock::time_point> backlog_;      // open loop: due requests without a slot
  double interval_ = 0;
  std::uint64_t due_index_ = 0, rereg_index_ = 0;
  asio::steady_timer rate_timer_, rereg_timer_, phase_timer_;

  std::size_t reg_done_ = 0, reg_rejects_ = 0;
  std::uint64_t reregs_ = 0, rereg_rejects_ = 0, rereg_skipped_ = 0;
  std::uint64_t hr_sent_ = 0, hr_ok_ = 0, hr_errors_ = 0, hr_pes_ = 0, undrained_ = 0;
  std::uint64_t keepalives_ = 0, keepalives_in_window_ = 0, pe_errors_ = 0, pe_undecodable_ = 0, pe_unexpected_ = 0,
                pu_unexpected_ = 0, connections_lost_ = 0;
  std::size_t max_backlog_ = 0;
  std::vector<std::uint32_t> reg_latency_, rereg_latency_, hr_latency_, hr_rtt_;
  std::optional<double> pr_cpu0_, pr_cpu_;
  double self_cpu0_ = 0, self_cpu_ = 0;
  nlohmann::ordered_json report_;
};

constexpr const char* kServerAddress = "10.99.0.1";
constexpr const char* kGeneratorAddress = "10.99.0.2";

// --netns: this process (and what it spawns) in a network namespace of its own whose lo
// carries the server's and the generator's addresses, as tests/integration/rsplib_test.cpp.
void own_network() {
  if (unshare(CLONE_NEWNET) != 0) die(std::string("--netns: unshare: ") + std::strerror(errno));
  const std::string cmd = std::string("ip link set lo up && ip addr add ") + kServerAddress +
                          "/32 dev lo && ip addr add " + kGeneratorAddress + "/32 dev lo";
  if (std::system(cmd.c_str()) != 0) die("--netns: " + cmd + " failed");
}

// The server to spawn: its command line, and its ASAP endpoint when it prints no ready line.
struct Spawn {
  std::string binary;
  std::vector<std::string> args;
  std::optional<transport::Endpoint> fixed;
};
Spawn spawn_args(const Options& o) {
  const std::string host = o.netns ? kServerAddress : "127.0.0.1";
  if (o.server == "echo") return {SCTP_ECHO_BINARY, {host + ":0"}, std::nullopt};
  if (o.server == "rsplib") {
    // RSPLIB's registrar on fixed ports (it prints nothing when ready); no announces, no
    // rate limits, the keep-alive timers of ours; its log quiet.
    std::string error;
    Spawn s{"/usr/bin/rspregistrar",
            {"-asap=" + host + ":23863", "-enrp=" + host + ":29901", "-asapannounce=off",
             "-enrpannounce=off", "-maxhrrate=-1", "-maxeurate=-1", "-logquiet", "-quiet"},
            transport::parse_endpoint(host + ":23863", 0, &error)};
    std::istringstream extra(o.registrar_args);
    for (std::string a; extra >> a;) s.args.push_back(a);
    return s;
  }
  std::vector<std::string> args = {"registrar", "--transport", o.transport, "--asap", host + ":0",
                                   "--enrp", host + ":0", "--log-level", "warning"};
  if (o.threads > 1) args.insert(args.end(), {"--threads", std::to_string(o.threads)});
  std::istringstream extra(o.registrar_args);
  for (std::string a; extra >> a;) args.push_back(a);
  return {o.rsplab, args, std::nullopt};
}

void print_table(const nlohmann::ordered_json& r, const std::string& where) {
  std::printf("registrar_load: %s PEs, %s PU connections x %s in flight, pool %s (%s), %s\n",
              fmt(r["pes"].get<double>()).c_str(), fmt(r["pu_connections"].get<double>()).c_str(),
              fmt(r["in_flight"].get<double>()).c_str(), r["pool"].get<std::string>().c_str(),
              r["policy"].get<std::string>().c_str(),
              r["target_rate"].get<double>() > 0
                  ? ("open loop at " + fmt(r["target_rate"].get<double>()) + " resolutions/s").c_str()
                  : "closed loop (max rate)");
  std::printf("%s\n\n", where.c_str());
  const auto& g = r["registration"];
  std::printf("  %-26s %12s in %s ms  (connect %s ms)\n", "registrations", fmt(g["count"].get<double>()).c_str(),
              fmt(g["seconds"].get<double>() * 1e3, 1).c_str(), fmt(r["connect_s"].get<double>() * 1e3, 1).c_str());
  std::printf("  %-26s %12s /s    p50 %s us, p99 %s us, rejects %s\n", "", fmt(g["per_s"].get<double>()).c_str(),
              fmt(g["latency_us"]["p50"].get<double>()).c_str(), fmt(g["latency_us"]["p99"].get<double>()).c_str(),
              fmt(g["rejects"].get<double>()).c_str());
  std::printf("  measured %.2f s after %.1f s warm-up\n", r["duration_s"].get<double>(),
              r["warmup_s"].get<double>());
  const auto& h = r["handle_resolution"];
  std::printf("  %-26s %12s /s    (%s, errors %s, %.2f PEs each)\n", "handle resolutions",
              fmt(h["per_s"].get<double>()).c_str(), fmt(h["count"].get<double>()).c_str(),
              fmt(h["errors"].get<double>()).c_str(), h["pes_per_response"].get<double>());
  const auto& l = h["latency_us"];
  std::printf("  %-26s p50 %s  p90 %s  p99 %s  max %s  (mean %s)\n",
              r["target_rate"].get<double>() > 0 ? "  latency from due (us)" : "  latency (us)",
              fmt(l["p50"].get<double>()).c_str(), fmt(l["p90"].get<double>()).c_str(),
              fmt(l["p99"].get<double>()).c_str(), fmt(l["max"].get<double>()).c_str(),
              fmt(l["mean"].get<double>()).c_str());
  if (r["target_rate"].get<double>() > 0)
    std::printf("  %-26s p50 %s  p99 %s  max %s  (from the send; max backlog %s)\n",
                "  round trip (us)", fmt(h["round_trip_us"]["p50"].get<double>()).c_str(),
                fmt(h["round_trip_us"]["p99"].get<double>()).c_str(),
                fmt(h["round_trip_us"]["max"].get<double>()).c_str(),
                fmt(h["max_backlog"].get<double>()).c_str());
  const auto& rr = r["reregistration"];
  std::printf("  %-26s %12s /s    (%s, rejects %s, skipped %s; p50 %s us, p99 %s us)\n",
              "re-registrations", fmt(rr["per_s"].get<double>()).c_str(), fmt(rr["count"].get<double>()).c_str(),
              fmt(rr["rejects"].get<double>()).c_str(), fmt(rr["skipped"].get<double>()).c_str(),
              fmt(rr["latency_us"]["p50"].get<double>()).c_str(), fmt(rr["latency_us"]["p99"].get<double>()).c_str());
  std::printf("  %-26s %12s\n", "keep-alives answered", fmt(r["keepalives_answered"].get<double>()).c_str());
  const auto& c = r["cpu"];
  if (!c["registrar_s"].is_null())
    std::printf("  %-26s %12s s   (%.0f %% of a core; %.2f us per resolution)\n", "registrar CPU",
                fmt(c["registrar_s"].get<double>(), 2).c_str(), c["registrar_share"].get<double>() * 100,
                c["registrar_us_per_resolution"].get<double>());
  std::printf("  %-26s %12s s   (%.0f %% of a core)\n", "generator CPU",
              fmt(c["generator_s"].get<double>(), 2).c_str(), c["generator_share"].get<double>() * 100);
  const auto& e = r["errors"];
  std::printf("  %-26s PE error messages %s, undecodable %s, unexpected %s, connections lost %s\n",
              "errors", fmt(e["pe_error_messages"].get<double>()).c_str(),
              fmt(e["pe_undecodable"].get<double>()).c_str(), fmt(e["unexpected_messages"].get<double>()).c_str(),
              fmt(e["connections_lost"].get<double>()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Load generator for `rsplab registrar` (or RSPLIB's, or an echo server): N PEs "
               "(re-)registering and M PU connections resolving over loopback TCP or SCTP"};
  app.add_option("--pes", o.pes, "Pool elements, one TCP connection each")->capture_default_str();
  app.add_option("--pu-connections", o.pu_connections, "Pool-user connections")->capture_default_str();
  app.add_option("--in-flight", o.in_flight, "Handle resolutions in flight per PU connection")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--duration", o.duration, "Measured seconds")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Seconds of load before measuring")->capture_default_str();
  app.add_option("--rate", o.rate, "Handle resolutions/s in total, open loop; 0: as fast as possible")
      ->capture_default_str();
  app.add_option("--reregistration-rate", o.reregistration_rate,
                 "Re-registrations/s in total (round robin over the PEs, new loads); 0: none")
      ->capture_default_str();
  app.add_option("--pool", o.pool, "Pool handle")->capture_default_str();
  app.add_option("--policy", o.policy, "Policy short name (rr, lu, random, ...)")->capture_default_str();
  app.add_option("--items", o.items, "Handle Resolution Option: PEs per resolution (0: none, registrar's default)")
      ->capture_default_str();
  app.add_option("--registration-life", o.registration_life_ms, "Registration life (ms)")->capture_default_str();
  app.add_option("--registrar", o.registrar, "ADDR:PORT of a running registrar (default: spawn one)");
  app.add_option("--registrar-pid", o.registrar_pid, "With --registrar: its pid, for its CPU time");
  app.add_option("--cpu", o.cpu, "CPU the generator runs on (-1: any)")->capture_default_str();
  app.add_option("--registrar-cpu", o.registrar_cpu, "CPU the spawned registrar runs on (-1: any)")
      ->capture_default_str();
  app.add_option("--rsplab", o.rsplab, "The rsplab binary to spawn")->capture_default_str();
  app.add_option("--registrar-args", o.registrar_args, "Extra arguments for the spawned registrar");
  app.add_option("--connect-parallel", o.connect_parallel, "Connection attempts at a time")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--tick-us", o.tick_us, "Open loop: shortest pacing period (us); its wait counts in latency")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed (PE IDs, loads)")->capture_default_str();
  app.add_flag("--json", o.json, "Print one JSON object instead of the table");
  app.add_option("--transport", o.transport, "tcp or sctp (PEs, PUs and a spawned registrar)")
      ->capture_default_str()->check(CLI::IsMember({"tcp", "sctp"}));
  app.add_option("--server", o.server,
                 "What to spawn: rsplab (rsplab registrar), rsplib (RSPLIB's rspregistrar, "
                 "SCTP, needs --netns), echo (bench/sctp_echo: answers every message with its "
                 "own bytes, SCTP: the ceiling)")
      ->capture_default_str()->check(CLI::IsMember({"rsplab", "rsplib", "echo"}));
  app.add_option("--threads", o.threads, "The spawned rsplab registrar's --threads")
      ->capture_default_str();
  app.add_option("--wrap", o.wrap,
                 "Run the spawned server under this command (full path; e.g. '/usr/bin/strace "
                 "-c -f -o /tmp/s.txt'); its CPU time is then the wrapper's");
  app.add_flag("--netns", o.netns,
               "Run in a network namespace of its own (root): lo with 10.99.0.1 (server) and "
               "10.99.0.2 (generator); RSPLIB ignores loopback addresses");
  app.add_option("--local", o.local, "The generator's address: bound by every connection and "
                 "advertised by its PEs (default: 10.99.0.2 with --netns, else the kernel's choice)");
  CLI11_PARSE(app, argc, argv);
  if (o.server != "rsplab" && o.transport != "sctp") die("--server " + o.server + " needs --transport sctp");
  // What this machine lacks: exit 77 (ctest's SKIP_RETURN_CODE), as the sctp tests skip.
  const auto skip = [](const std::string& why) {
    std::printf("SKIPPED: %s\n", why.c_str());
    std::exit(77);
  };
  if (o.transport == "sctp" && !transport::sctp_available())
    skip("this kernel has no SCTP; scripts/test.sh runs the tests labelled sctp inside scripts/sctp-vm.sh");
  if (o.netns && geteuid() != 0) skip("--netns needs root");
  if (o.server == "rsplib" && o.registrar.empty() && access("/usr/bin/rspregistrar", X_OK) != 0) {
    const char* require = std::getenv("RSPLAB_REQUIRE_RSPLIB");
    if (require != nullptr && std::string(require) == "1") die("/usr/bin/rspregistrar not found");
    skip("/usr/bin/rspregistrar not found (Debian rsplib-registrar: scripts/setup.sh)");
  }
  if (o.server == "rsplib" && !o.netns && o.registrar.empty())
    die("--server rsplib needs --netns (RSPLIB ignores loopback addresses)");
  if (o.pes == 0 || o.pu_connections == 0) die("--pes and --pu-connections must be at least 1");
  if (o.duration <= 0) die("--duration must be positive");

  signal(SIGPIPE, SIG_IGN);
  rsplab::common::raise_open_files(o.pes + o.pu_connections + 1024);  // the child inherits it

  if (o.netns) own_network();
  if (o.local.empty() && o.netns) o.local = kGeneratorAddress;
  std::optional<rsplab::test::ChildProcess> spawned;
  transport::Endpoint remote;
  int pr_pid = o.registrar_pid;
  std::string where;
  std::string error;
  if (o.registrar.empty()) {
    Spawn s = spawn_args(o);
    std::istringstream wrap(o.wrap);
    std::vector<std::string> prefix;
    for (std::string a; wrap >> a;) prefix.push_back(a);
    if (!prefix.empty()) {  // --wrap 'strace -c -f -o FILE': the wrapper runs the server
      s.args.insert(s.args.begin(), s.binary);
      s.args.insert(s.args.begin(), prefix.begin() + 1, prefix.end());
      s.binary = prefix.front();
    }
    rsplab::test::ChildProcess::Options po;
    po.capture_stderr = false;  // its warnings go straight to ours
    po.capture_stdout = !s.fixed.has_value();  // rspregistrar prints no ready line
    try {
      spawned.emplace(s.binary, s.args, po);
    } catch (const std::exception& e) {
      die("cannot start " + s.binary + ": " + e.what());
    }
    pr_pid = spawned->pid();
    if (!pin(pr_pid, o.registrar_cpu))
      logger(Level::warning, "cannot pin the registrar to CPU %d", o.registrar_cpu);
    if (s.fixed) {
      remote = *s.fixed;  // the generator's first connect waits for it
    } else {
      const auto ready = spawned->wait_ready(std::chrono::seconds(10), &error);
      if (!ready) die("the registrar did not get ready: " + error);
      remote = ready->asap;
    }
    where = o.server + ": spawned pid " + std::to_string(pr_pid) + " (" + o.transport + " " +
            remote.to_string() + ")" +
            (o.registrar_cpu >= 0 ? " on CPU " + std::to_string(o.registrar_cpu) : "");
  } else {
    const auto e = transport::parse_endpoint(o.registrar, wire::kAsapPort, &error);
    if (!e) die("--registrar: " + error);
    remote = *e;
    where = "registrar: " + o.transport + " " + remote.to_string() +
            (pr_pid > 0 ? " pid " + std::to_string(pr_pid) : " (no --registrar-pid: no CPU time)");
  }
  if (!pin(0, o.cpu)) logger(Level::warning, "cannot pin to CPU %d", o.cpu);
  if (o.cpu >= 0) where += "; generator on CPU " + std::to_string(o.cpu);

  asio::io_context io(1);
  Generator g(io, o, remote, pr_pid);
  g.run();
  auto report = g.report();
  if (spawned) {
    const auto status = spawned->stop(std::chrono::seconds(5));
    const std::string how = status ? rsplab::test::ChildProcess::describe(*status) : "no exit";
    report["registrar_exit"] = how;
    if (how != "exit 0") logger(Level::warning, "the registrar ended with %s", how.c_str());
  }
  if (o.json)
    std::cout << report.dump() << std::endl;
  else
    print_table(report, where);
  return g.failed() ? 1 : 0;
}
