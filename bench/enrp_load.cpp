// enrp_load: ENRP between real `rsplab registrar` processes over loopback TCP (the TCP
// mapping), with simulated PEs (one TCP connection each, answering keep-alives, the wire
// codec; load_support.hpp, shared with registrar_load). Three measurements, one mode each:
//
//   sync      registrar A holds --pes PEs (10,000); registrar B starts with --peer A, and
//             the time from B's spawn to its `serving` event (its `handle_table_sync` from
//             A: pages, duration) is taken, --repeat times (a new B each time; median).
//   updates   A, B and C (B and C name A) with the heartbeat off (1 h): ENRP messages and
//             bytes the three exchange (the `stopped` event's counters) in a run with
//             --changes registrations, as many re-registrations and deregistrations at A,
//             minus a run without them, per PE change; then with the default timers, idle
//             for --idle seconds: the Presence (heartbeat) traffic per second.
//   takeover  A (ID 1), B (2) and C (3) peered, --pes PEs homed at A, each listening on the
//             port it registered from (SO_REUSEPORT, as `rsplab pe`'s ASAP endpoint); A is
//             SIGSTOPped (its connections stay up: only the takeover re-homes the PEs). From
//             the last ENRP message heard from A (the winner's `takeover_started` minus its
//             `silent_ms`: a Presence, or a Handle Update of the last registrations) to the last PE that got the adopting registrar's keep-alive with
//             the H flag, split into timers (heard → takeover_started) and work (Init
//             Takeover acks, then the adoptions: connections to every PE and keep-alives).
//             --registrar-args passes the timers; --repeat runs (median).
//
//   generator (this process)                           registrars (rsplab registrar)
//   main thread: spawns, reads events (stdout) ◄─────  A ◄──ENRP──► B, C
//   PE thread (io_context): PE 1..N ──ASAP──────────►  A (registrations, keep-alives)
//                          listener per PE ◄─────────  B or C (adoption: keep-alive, H flag)
//
// Times come from the registrars' event `time_us` and this process's wall clock (the same
// clock, common::wall_clock_us). Nothing is asserted: it prints what it measured.
//
//   build/release/bench/enrp_load sync --repeat 5
//   build/release/bench/enrp_load updates --changes 1000
//   build/release/bench/enrp_load takeover --pes 1000 --registrar-args
//       '--peer-max-time-last-heard 1000 --peer-max-time-no-response 1000 --takeover-expiry 1000'
#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench/load_support.hpp"
#include "stack/common/log.hpp"
#include "stack/common/open_files.hpp"
#include "stack/common/wall_clock.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"
#include "tests/support/process.hpp"

#ifndef RSPLAB_BINARY
#define RSPLAB_BINARY "rsplab"
#endif

namespace {

namespace asio = boost::asio;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
namespace asap = wire::asap;
using json = nlohmann::json;
using rsplab::bench::fmt;
using namespace std::chrono_literals;

struct Options {
  std::string mode;
  std::size_t pes = 10000;
  int repeat = 3;
  std::size_t changes = 1000;
  double idle = 20;
  double settle = 1;
  std::string registrar_args;
  std::string rsplab = RSPLAB_BINARY;
  std::size_t connect_parallel = 256;
  std::uint64_t seed = 1;
};

const rsplab::common::Logger logger{"enrp_load"};
using rsplab::common::Level;

// The registrars spawned and not yet reaped: die() kills them (exit runs no destructors).
std::vector<int> g_children;

[[noreturn]] void die(const std::string& what) {
  logger.write(Level::error, what);
  for (const int pid : g_children) kill(pid, SIGKILL);
  std::exit(1);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// ---------------------------------------------------------------- registrars

// One `rsplab registrar --events -` child; its events as they are read.
struct Registrar {
  std::string name;
  std::int64_t spawned_us = 0;
  std::unique_ptr<rsplab::test::ChildProcess> proc;
  transport::Endpoint asap, enrp;
  std::vector<json> events;

  // Reads what the child printed so far.
  void poll() {
    while (auto line = proc->read_line(0ms)) {
      auto j = json::parse(*line, nullptr, false);
      if (j.is_object()) events.push_back(std::move(j));
    }
  }
  std::vector<const json*> all(std::string_view event) const {
    std::vector<const json*> out;
    for (const auto& e : events)
      if (e.value("event", "") == event) out.push_back(&e);
    return out;
  }
  const json* first(std::string_view event) const {
    const auto v = all(event);
    return v.empty() ? nullptr : v.front();
  }
};

std::unique_ptr<Registrar> spawn_registrar(const Options& o, const std::string& name,
                                           std::uint32_t id, const Registrar* peer,
                                           const std::vector<std::string>& extra) {
  auto r = std::make_unique<Registrar>();
  r->name = name;
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", id);
  std::vector<std::string> args = {"registrar", "--transport", "tcp", "--asap", "127.0.0.1:0",
                                   "--enrp", "127.0.0.1:0", "--log-level", "warning",
                                   "--events", "-", "--identifier", hex};
  if (peer) args.insert(args.end(), {"--peer", peer->enrp.to_string()});
  args.insert(args.end(), extra.begin(), extra.end());
  rsplab::test::ChildProcess::Options po;
  po.capture_stderr = false;  // its warnings go straight to ours
  r->spawned_us = rsplab::common::wall_clock_us();
  try {
    r->proc = std::make_unique<rsplab::test::ChildProcess>(o.rsplab, args, po);
    g_children.push_back(r->proc->pid());
  } catch (const std::exception& e) {
    die("cannot start " + o.rsplab + ": " + e.what());
  }
  std::string error;
  const auto ready = r->proc->wait_ready(10s, &error);
  if (!ready) die("registrar " + name + " did not get ready: " + error);
  r->asap = ready->asap;
  r->enrp = ready->enrp;
  return r;
}

// Polls the registrars until `done` holds; false after `timeout`.
bool wait_for(const std::vector<Registrar*>& rs, const std::function<bool()>& done,
              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (auto* r : rs) r->poll();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

// Every registrar serving with a peer_up for each of the others.
void wait_meshed(const std::vector<Registrar*>& rs) {
  const bool ok = wait_for(
      rs,
      [&] {
        for (auto* r : rs) {
          std::unordered_set<std::string> peers;
          for (const auto* e : r->all("peer_up")) peers.insert(e->value("peer", ""));
          if (!r->first("serving") || peers.size() + 1 < rs.size()) return false;
        }
        return true;
      },
      30s);
  if (!ok) die("the registrars did not all peer within 30 s");
}

// SIGTERM; the `stopped` event (with the ENRP counters) read before the output ends.
json stop_registrar(Registrar& r) {
  r.proc->terminate();
  const auto status = r.proc->wait(10s);
  if (!status) r.proc->kill();
  r.poll();
  const json* s = r.first("stopped");
  return s ? *s : json::object();
}

// ---------------------------------------------------------------- simulated PEs

// N PEs on their own io_context thread: each connects to a registrar, registers and acks
// keep-alives. With `listen` (takeover) each PE has its own loopback address, 127.10.x.y, and
// they share one ASAP port: one listener on 0.0.0.0:P (SO_REUSEPORT) and every PE's
// registrar connection leaving from its address and P, so the registrar records
// 127.10.x.y:P as the PE's ASAP transport (one descriptor per PE, not two: 10,000 PEs and
// their adoptions fit under a 20,000 limit). A connection the listener accepts closes its
// PE's connection to the old registrar (by the local address); a keep-alive with the H flag
// over it re-homes the PE (by the PE identifier in it): the time is kept. The main thread posts work, reads the atomics.
class Fleet {
 public:
  Fleet(const Options& o, std::size_t n, bool listen, std::uint64_t seed)
      : o_(o), guard_(io_.get_executor()) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint32_t> any(1, UINT32_MAX);
    std::unordered_set<std::uint32_t> ids;
    pes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto& pe = pes_[i];
      do pe.reg.id = any(rng); while (!ids.insert(pe.reg.id).second);
      by_id_[pe.reg.id] = i;
      pe.reg.pool = "EnrpPool";
      pe.reg.policy.type = wire::PolicyType::round_robin;
      const auto x = static_cast<std::uint32_t>(i + 1);
      if (listen) pe.reg.address = wire::Address::v4(127, 10, static_cast<std::uint8_t>(x >> 8), static_cast<std::uint8_t>(x));
    }
    if (listen) open_listener();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Fleet() {
    asio::post(io_, [this] {
      if (listener_) listener_->close();
      for (auto& pe : pes_)
        if (pe.home) pe.home->close();
      for (auto& c : accepted_) c->close();
    });
    std::this_thread::sleep_for(100ms);
    io_.stop();
    thread_.join();
  }

  void register_at(const transport::Endpoint& registrar) {
    asio::post(io_, [this, registrar] {
      registrar_ = registrar;
      for (std::size_t i = 0; i < std::min(o_.connect_parallel, pes_.size()); ++i) connect_next();
    });
  }
  // Every PE sends its registration again (a re-registration: a new load is not needed,
  // the registrar sends a Handle Update for each) or its deregistration.
  void reregister_all() { post_each([this](Pe& pe) { send_registration(pe); }); }
  void deregister_all() {
    post_each([this](Pe& pe) {
      asap::Deregistration d;
      d.pool_handle = pe.reg.pool;
      d.pe_identifier = pe.reg.id;
      send(pe, wire::encode(asap::Message{d}));
    });
  }

  std::size_t size() const { return pes_.size(); }
  std::atomic<std::size_t> registered{0}, responses{0}, rejected{0}, failed{0}, rehomed{0};
  std::atomic<std::int64_t> last_rehome_us{0}, first_rehome_us{0};

 private:
  struct Pe {
    rsplab::bench::SimulatedPe reg;
    std::shared_ptr<transport::Connection> home;
    bool registered = false, rehomed = false;
  };

  void post_each(std::function<void(Pe&)> f) {
    asio::post(io_, [this, f] {
      for (auto& pe : pes_)
        if (pe.home) f(pe);
    });
  }

  void open_listener() {
    std::string error;
    const auto any = transport::parse_endpoint("0.0.0.0:0", 0, &error);
    try {
      listener_ = transport::Listener::open(io_, transport::Kind::tcp, *any, {false, wire::kPpidAsap},
                                            transport::ListenOptions{true});
    } catch (const std::exception& e) {
      die(std::string("PE listener: ") + e.what());
    }
    port_ = listener_->local_endpoint().port;
    listener_->start([this](std::shared_ptr<transport::Connection> c) {
      // Its local address names the PE: the connection to the old registrar is closed at
      // once (its descriptor is needed: 10,000 adoptions arrive together).
      const auto local = c->local_endpoint();
      if (!local.addresses.empty() && local.addresses.front().is_v4()) {
        const auto b = local.addresses.front().to_v4().to_bytes();
        const std::size_t i = (std::size_t{b[2]} << 8 | b[3]) - 1;
        if (b[1] == 10 && i < pes_.size() && pes_[i].home) pes_[i].home->close();
      }
      accepted_.push_back(c);
      start(kAccepted, *c);
    });
  }

  void connect_next() {
    if (next_ >= pes_.size()) return;
    const std::size_t i = next_++;
    Pe& pe = pes_[i];
    transport::ConnectOptions co;
    co.timeout = 10s;
    std::vector<transport::Address> local;
    if (listener_) {
      co.local_port = port_;
      local.push_back(asio::ip::make_address(pe.reg.address.to_string()));
    }
    pe.reg.port = listener_ ? port_ : static_cast<std::uint16_t>(10000 + pe.reg.id % 50000);
    transport::async_connect_paths(
        io_, transport::Kind::tcp, registrar_, local, {false, wire::kPpidAsap}, co,
        [this, i](std::error_code ec, std::shared_ptr<transport::Connection> c,
                  std::vector<transport::PathFailure>) {
          if (ec || !c) {
            ++failed;
            logger(Level::warning, "PE %zu: connect: %s", i, ec.message().c_str());
          } else {
            pes_[i].home = c;
            start(i, *c);
            send_registration(pes_[i]);
          }
          connect_next();
        });
  }

  void start(std::size_t i, transport::Connection& c) {
    auto* conn = &c;
    c.start({[this, i, conn](std::uint32_t, std::span<const std::uint8_t> m) { on_message(i, *conn, m); },
             [](const std::error_code&) {}});
  }

  void send_registration(Pe& pe) {
    wire::Bytes b;
    if (!rsplab::bench::encode_registration(pe.reg, b)) die("cannot encode a registration");
    send(pe, b);
  }
  void send(Pe& pe, const wire::Bytes& b) { pe.home->send(wire::kPpidAsap, b); }

  // A message on PE i's connection to its registrar, or (kAccepted) on one the listener
  // accepted: a keep-alive there names its PE.
  void on_message(std::size_t i, transport::Connection& c, std::span<const std::uint8_t> bytes) {
    const auto decoded = wire::decode_asap(bytes);
    if (!decoded) return;
    const auto& m = decoded->message;
    if (i == kAccepted) return on_accepted(c, m);
    Pe& pe = pes_[i];
    if (const auto* r = std::get_if<asap::RegistrationResponse>(&m)) {
      if (r->reject || r->error) {
        ++rejected;
      } else if (!pe.registered) {
        pe.registered = true;
        ++registered;
      }
      ++responses;
    } else if (std::holds_alternative<asap::DeregistrationResponse>(m)) {
      ++responses;
    } else if (const auto* ka = std::get_if<asap::EndpointKeepAlive>(&m)) {
      wire::Bytes b;
      rsplab::bench::encode_keep_alive_ack(*ka, pe.reg.id, b);
      c.send(wire::kPpidAsap, b);
    }
  }

  void on_accepted(transport::Connection& c, const asap::Message& m) {
    const auto* ka = std::get_if<asap::EndpointKeepAlive>(&m);
    if (!ka || !ka->pe_identifier) return;
    const auto it = by_id_.find(*ka->pe_identifier);
    if (it == by_id_.end()) return;
    Pe& pe = pes_[it->second];
    wire::Bytes b;
    rsplab::bench::encode_keep_alive_ack(*ka, pe.reg.id, b);
    c.send(wire::kPpidAsap, b);
    if (!ka->home || pe.rehomed) return;
    pe.rehomed = true;
    const auto now = rsplab::common::wall_clock_us();
    std::int64_t zero = 0;
    first_rehome_us.compare_exchange_strong(zero, now);
    last_rehome_us = now;
    ++rehomed;
  }

  static constexpr std::size_t kAccepted = SIZE_MAX;
  const Options& o_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<Pe> pes_;
  std::unordered_map<std::uint32_t, std::size_t> by_id_;
  std::unique_ptr<transport::Listener> listener_;
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<transport::Connection>> accepted_;
  transport::Endpoint registrar_;
  std::size_t next_ = 0;
  std::thread thread_;
};

void wait_count(const std::atomic<std::size_t>& n, std::size_t want, const char* what,
                std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (n < want) {
    if (std::chrono::steady_clock::now() > deadline)
      die(std::string(what) + ": " + std::to_string(n) + " of " + std::to_string(want) + " after " +
          std::to_string(timeout.count()) + " s");
    std::this_thread::sleep_for(2ms);
  }
}

// ---------------------------------------------------------------- sync

int run_sync(const Options& o) {
  auto a = spawn_registrar(o, "A", 1, nullptr, words(o.registrar_args));
  Fleet fleet(o, o.pes, false, o.seed);
  fleet.register_at(a->asap);
  wait_count(fleet.registered, o.pes, "registered at A", 120s);
  std::printf("enrp_load sync: registrar A holds %s PEs; a new registrar B (--peer A) starts, %d times\n\n",
              fmt(static_cast<double>(o.pes)).c_str(), o.repeat);
  std::printf("  %3s %12s %12s %12s %7s %9s %10s %10s\n", "run", "spawn->serve", "start->serve", "sync",
              "pages", "PEs", "B CPU", "A CPU");
  std::vector<double> wall, waited, sync, cpu, a_cpu;
  const int a_pid = a->proc->pid();
  for (int r = 0; r < o.repeat; ++r) {
    const double a0 = rsplab::bench::process_cpu_seconds(a_pid).value_or(0);
    auto b = spawn_registrar(o, "B", 0x100 + r, a.get(), words(o.registrar_args));
    if (!wait_for({b.get()}, [&] { return b->first("serving") != nullptr; }, 120s))
      die("B did not serve within 120 s");
    const double b_cpu = rsplab::bench::process_cpu_seconds(b->proc->pid()).value_or(0);
    a_cpu.push_back((rsplab::bench::process_cpu_seconds(a_pid).value_or(0) - a0) * 1e3);
    const json& s = *b->first("serving");
    const json* h = b->first("handle_table_sync");
    wall.push_back((s["time_us"].get<std::int64_t>() - b->spawned_us) / 1e3);
    waited.push_back(s.value("waited_ms", 0.0));
    sync.push_back(h ? h->value("duration_ms", 0.0) : 0);
    cpu.push_back(b_cpu * 1e3);
    std::printf("  %3d %9.1f ms %9.1f ms %9.1f ms %7lld %9lld %7.1f ms %7.1f ms\n", r + 1, wall.back(),
                waited.back(), sync.back(), h ? h->value("pages", 0LL) : 0LL, s.value("pes", 0LL), cpu.back(),
                a_cpu.back());
    stop_registrar(*b);
  }
  std::printf("  %3s %9.1f ms %9.1f ms %9.1f ms %7s %9s %7.1f ms %7.1f ms\n", "med", median(wall),
              median(waited), median(sync), "", "", median(cpu), median(a_cpu));
  std::printf("\n(spawn->serve: from spawning B to its `serving` event; start->serve: its waited_ms, from "
              "the core's start; sync: its handle_table_sync's duration_ms; B CPU: the whole process "
              "until serving, start-up included; A CPU: A's from B's spawn to B serving, keep-alives "
              "to its PEs included)\n");
  stop_registrar(*a);
  return 0;
}

// ---------------------------------------------------------------- updates

struct Traffic {
  double messages = 0, bytes = 0, seconds = 0;
};

// A, B, C peered; `work` runs once they are; the ENRP they received in all, from their
// `stopped` events, and the seconds from A's spawn to the stop.
Traffic three_registrars(const Options& o, const std::vector<std::string>& extra,
                         const std::function<void(Registrar&)>& work) {
  const auto t0 = std::chrono::steady_clock::now();
  auto a = spawn_registrar(o, "A", 1, nullptr, extra);
  auto b = spawn_registrar(o, "B", 2, a.get(), extra);
  auto c = spawn_registrar(o, "C", 3, a.get(), extra);
  wait_meshed({a.get(), b.get(), c.get()});
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
  work(*a);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
  Traffic t;
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto* r : {a.get(), b.get(), c.get()}) {
    const json s = stop_registrar(*r);
    if (!s.contains("enrp_received_bytes")) die("registrar " + r->name + ": no ENRP counters in `stopped`");
    t.messages += s["enrp_received_messages"].get<double>();
    t.bytes += s["enrp_received_bytes"].get<double>();
  }
  return t;
}

int run_updates(const Options& o) {
  const std::vector<std::string> quiet = {"--peer-heartbeat-interval", "3600000",
                                          "--peer-max-time-last-heard", "3600000",
                                          "--peer-max-time-no-response", "3600000"};
  const Traffic base = three_registrars(o, quiet, [](Registrar&) {});
  const std::size_t k = o.changes;
  const Traffic changed = three_registrars(o, quiet, [&](Registrar& a) {
    Fleet fleet(o, k, false, o.seed);
    fleet.register_at(a.asap);
    wait_count(fleet.responses, k, "registrations", 60s);
    fleet.reregister_all();
    wait_count(fleet.responses, 2 * k, "re-registrations", 60s);
    fleet.deregister_all();
    wait_count(fleet.responses, 3 * k, "deregistrations", 60s);
  });
  const double n = 3.0 * static_cast<double>(k);
  std::printf("enrp_load updates: registrars A, B, C (B and C name A); ENRP received by all three\n\n");
  std::printf("  heartbeat off (1 h), no PEs:            %8s messages %10s bytes (start-up)\n",
              fmt(base.messages).c_str(), fmt(base.bytes).c_str());
  std::printf("  heartbeat off, %s changes at A:       %8s messages %10s bytes\n",
              fmt(n).c_str(), fmt(changed.messages).c_str(), fmt(changed.bytes).c_str());
  std::printf("    (%s registrations, %s re-registrations, %s deregistrations)\n", fmt(k).c_str(),
              fmt(k).c_str(), fmt(k).c_str());
  std::printf("  per PE change:                          %8.2f messages %10.1f bytes\n",
              (changed.messages - base.messages) / n, (changed.bytes - base.bytes) / n);
  if (o.idle <= 0) return 0;
  const Traffic hb = three_registrars(o, words(o.registrar_args), [&](Registrar&) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.idle));
  });
  const double s = hb.seconds;
  std::printf("  default timers, %.1f s from A's start:   %8s messages %10s bytes\n", s,
              fmt(hb.messages).c_str(), fmt(hb.bytes).c_str());
  std::printf("  heartbeat (minus start-up), 3 registrars: %6.2f messages/s %8.1f bytes/s "
              "(%.2f messages/s, %.1f bytes/s per registrar pair and direction)\n",
              (hb.messages - base.messages) / s, (hb.bytes - base.bytes) / s,
              (hb.messages - base.messages) / s / 6, (hb.bytes - base.bytes) / s / 6);
  return 0;
}

// ---------------------------------------------------------------- takeover

struct TakeoverRun {
  double stop_after_heard = 0, timers = 0, acks = 0, adoption = 0, total = 0;
  std::string winner, outcome;
  long long adopted = 0;
  std::size_t rehomed = 0;
};

// The registrar whose takeover of A ended with the PEs adopted, and its events.
const Registrar* takeover_winner(const std::vector<Registrar*>& rs) {
  for (const auto* r : rs)
    for (const auto* e : r->all("takeover")) {
      const auto outcome = e->value("outcome", "");
      if (outcome == "completed" || outcome == "recovered") return r;
    }
  return nullptr;
}

TakeoverRun takeover_once(const Options& o, int run) {
  const auto extra = words(o.registrar_args);
  auto a = spawn_registrar(o, "A", 1, nullptr, extra);
  auto b = spawn_registrar(o, "B", 2, a.get(), extra);
  auto c = spawn_registrar(o, "C", 3, a.get(), extra);
  const std::vector<Registrar*> peers = {b.get(), c.get()};
  wait_meshed({a.get(), b.get(), c.get()});
  Fleet fleet(o, o.pes, true, o.seed + static_cast<std::uint64_t>(run));
  fleet.register_at(a->asap);
  wait_count(fleet.registered, o.pes, "registered at A", 120s);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));  // B and C hear them
  const std::int64_t stopped_us = rsplab::common::wall_clock_us();
  a->proc->signal(SIGSTOP);
  const auto enough = std::chrono::seconds(120);
  const auto deadline = std::chrono::steady_clock::now() + enough;
  while (fleet.rehomed < o.pes && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  wait_for(peers, [&] { return takeover_winner(peers) != nullptr; }, 10s);
  TakeoverRun t;
  t.rehomed = fleet.rehomed;
  const Registrar* w = takeover_winner(peers);
  if (w && w->first("takeover_started")) {
    const json& started = *w->first("takeover_started");
    const json* done = nullptr;
    for (const auto* e : w->all("takeover"))
      if (e->value("outcome", "") == "completed" || e->value("outcome", "") == "recovered") done = e;
    const auto started_us = started["time_us"].get<std::int64_t>();
    const auto heard_us = started_us - started.value("silent_ms", 0LL) * 1000;
    const auto done_us = (*done)["time_us"].get<std::int64_t>();
    t.winner = w->name;
    t.outcome = done->value("outcome", "");
    t.adopted = done->value("pes", 0LL);
    t.stop_after_heard = (stopped_us - heard_us) / 1e3;
    t.timers = (started_us - heard_us) / 1e3;
    t.acks = (done_us - started_us) / 1e3;
    t.adoption = (fleet.last_rehome_us - done_us) / 1e3;
    t.total = (fleet.last_rehome_us - heard_us) / 1e3;
  }
  a->proc->kill();
  a->proc->signal(SIGCONT);
  stop_registrar(*b);
  stop_registrar(*c);
  return t;
}

int run_takeover(const Options& o) {
  std::printf("enrp_load takeover: %s PEs homed at A; A, B, C peered; A SIGSTOPped; registrar args: %s\n\n",
              fmt(static_cast<double>(o.pes)).c_str(),
              o.registrar_args.empty() ? "(defaults)" : o.registrar_args.c_str());
  std::printf("  %3s %10s %10s %10s %10s %10s  %s\n", "run", "heard->stop", "timers", "acks",
              "adoption", "total", "by, outcome, adopted, re-homed");
  std::vector<double> timers, acks, adoption, total;
  for (int r = 0; r < o.repeat; ++r) {
    const auto t = takeover_once(o, r);
    if (t.winner.empty()) {
      std::printf("  %3d no takeover completed (%zu PEs re-homed)\n", r + 1, t.rehomed);
      continue;
    }
    timers.push_back(t.timers);
    acks.push_back(t.acks);
    adoption.push_back(t.adoption);
    total.push_back(t.total);
    std::printf("  %3d %7.0f ms %7.0f ms %7.1f ms %7.1f ms %7.0f ms  %s, %s, %lld, %zu\n", r + 1,
                t.stop_after_heard, t.timers, t.acks, t.adoption, t.total, t.winner.c_str(),
                t.outcome.c_str(), t.adopted, t.rehomed);
  }
  std::printf("  %3s %10s %7.0f ms %7.1f ms %7.1f ms %7.0f ms\n", "med", "", median(timers), median(acks),
              median(adoption), median(total));
  std::printf("\n(from the last ENRP message the winner heard from A, its takeover_started minus "
              "silent_ms: timers = to its takeover_started (max-time-last-heard, then "
              "max-time-no-response); acks = to its takeover event (Init Takeover acks, the "
              "adoptions); adoption = to the last PE's keep-alive with the H flag; heard->stop: "
              "when A was SIGSTOPped after that message)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ENRP between real `rsplab registrar` processes over loopback TCP: start-up sync, "
               "messages and bytes per PE change, takeover"};
  app.add_option("mode", o.mode, "sync | updates | takeover")->required()
      ->check(CLI::IsMember({"sync", "updates", "takeover"}));
  app.add_option("--pes", o.pes, "PEs at registrar A (sync, takeover)")->capture_default_str();
  app.add_option("--repeat", o.repeat, "Runs (sync, takeover); the median is printed")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--changes", o.changes, "updates: registrations (as many re-registrations and "
                 "deregistrations follow)")->capture_default_str();
  app.add_option("--idle", o.idle, "updates: seconds idle with the default heartbeat (0: skip)")
      ->capture_default_str();
  app.add_option("--settle", o.settle, "Seconds after the registrars peer and after the PEs "
                 "register (B and C hear the Handle Updates)")->capture_default_str();
  app.add_option("--registrar-args", o.registrar_args, "Extra arguments for every registrar "
                 "(ENRP timers)");
  app.add_option("--rsplab", o.rsplab, "The rsplab binary")->capture_default_str();
  app.add_option("--connect-parallel", o.connect_parallel, "PE connection attempts at a time")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--seed", o.seed, "Seed (PE IDs)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.pes == 0 || o.changes == 0) die("--pes and --changes must be at least 1");

  signal(SIGPIPE, SIG_IGN);
  rsplab::common::raise_open_files(4 * o.pes + 4096);  // PEs' connections and listeners; children too
  if (o.mode == "sync") return run_sync(o);
  if (o.mode == "updates") return run_updates(o);
  return run_takeover(o);
}
