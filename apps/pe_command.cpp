// `rsplab pe`: a pool element on real sockets, registration only (the CalcApp service
// comes later). A thin Asio shell around the pure PE registration core (PeCore): it opens
// the user-transport listener (whose endpoint is what the PE registers), carries out the
// core's ops in order — connect registrar i, close it, send ASAP on it (PPID 11) — feeds
// back connects, failures, closures and messages with the time, keeps one timer at the
// core's next deadline and writes the core's events as JSON lines.
//
//   PeCore ──Op connect(i)──► async_connect(registrar i) ──► registrar_connected / _failed
//   PeCore ──Op send(i)─────► Connection::send(11, bytes)
//   Connection ──message───► PeCore::received(i)   ──closed──► PeCore::registrar_closed(i)
//   steady_timer(next_deadline) ─► PeCore::tick(now);   SIGTERM/SIGINT ─► PeCore::shutdown
//
// Single-threaded: one io_context, no locks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "apps/event_log.hpp"
#include "apps/shell.hpp"
#include "stack/common/values.hpp"
#include "stack/session/pe_core.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/names.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab {
namespace {

namespace asio = boost::asio;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string registrar;
  std::string pool;
  std::string policy = "rr";
  std::string identifier;
  std::string reregistration_interval = "30s";
  std::string registration_life;  // default: 3 × the interval
  std::string transport = "auto";
  std::string local = "127.0.0.1";
  std::string events;
  std::string log_level = "info";
};

using shell::Level;
shell::Logger log{"rsplab pe"};

using shell::to_wire;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

bool is_fraction_field(wire::PolicyField f) {
  return f == wire::PolicyField::load || f == wire::PolicyField::load_degradation ||
         f == wire::PolicyField::load_dpf || f == wire::PolicyField::weight_dpf;
}

// "NAME" or "NAME:V1[,V2...]" (values in the policy's field order; fractions as 0..1 or
// N%; weight, priority, distance as whole numbers).
std::optional<wire::Policy> parse_policy(const std::string& text, std::string* error) {
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const wire::PolicyInfo* info = wire::policy_by_short_name(name);
  if (!info) {
    std::string names;
    for (const auto& p : wire::all_policies()) names += (names.empty() ? "" : ", ") + std::string(p.short_name);
    *error = "unknown policy '" + name + "' (" + names + ")";
    return std::nullopt;
  }
  wire::Policy p;
  p.type = info->type;
  if (colon == std::string::npos) return p;
  const auto values = split(text.substr(colon + 1), ',');
  if (values.size() > info->field_count) {
    *error = "policy " + name + " takes at most " + std::to_string(info->field_count) + " values";
    return std::nullopt;
  }
  for (std::size_t k = 0; k < values.size(); ++k) {
    const wire::PolicyField f = info->fields[k];
    std::string v = values[k];
    const std::string fname(wire::field_name(f));
    try {
      if (is_fraction_field(f)) {
        bool pct = !v.empty() && v.back() == '%';
        if (pct) v.pop_back();
        std::size_t used = 0;
        double d = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument("");
        if (pct) d /= 100.0;
        if (!(d >= 0.0 && d <= 1.0)) throw std::out_of_range("");
        wire::set_policy_field(
            p, f, static_cast<std::uint32_t>(std::llround(d * double{wire::kFractionOne})));
      } else {
        std::size_t used = 0;
        const unsigned long long n = std::stoull(v, &used, 0);
        if (used != v.size() || n > 0xffffffffULL) throw std::out_of_range("");
        wire::set_policy_field(p, f, static_cast<std::uint32_t>(n));
      }
    } catch (const std::exception&) {
      *error = "policy " + name + ": bad " + fname + " '" + values[k] + "'" +
               (is_fraction_field(f) ? " (a fraction 0..1 or a percentage like 5%)"
                                     : " (a whole number)");
      return std::nullopt;
    }
  }
  return p;
}

class Pe {
 public:
  Pe(asio::io_context& io, session::PeConfig config, transport::Kind kind,
     std::vector<transport::Endpoint> registrars, EventLog& events)
      : io_(io),
        core_(std::move(config)),
        kind_(kind),
        registrars_(std::move(registrars)),
        conns_(registrars_.size()),
        generation_(registrars_.size(), 0),
        events_(events),
        timer_(io),
        exit_timer_(io) {}

  void start() {
    const auto now = Clock::now();
    core_.start(now, actions_);
    execute(now);
  }

  // SIGTERM/SIGINT: deregister, then stop when the core is done (at most 5 s).
  void shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    const auto now = Clock::now();
    core_.shutdown(now, actions_);
    exit_timer_.expires_after(std::chrono::seconds(5));
    exit_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      log(Level::warning, "not done 5 s after the signal: stopping anyway");
      finish();
    });
    execute(now);
  }

  bool failed() const { return failed_; }

 private:
  void execute(Clock::time_point now) {
    session::Actions a = std::move(actions_);
    actions_.clear();
    for (auto& op : a.ops) {
      const auto i = op.registrar;
      if (i >= registrars_.size()) continue;
      switch (op.kind) {
        case session::Op::Kind::connect: connect(i); break;
        case session::Op::Kind::close:
          ++generation_[i];
          if (conns_[i]) conns_[i]->close();
          conns_[i].reset();
          break;
        case session::Op::Kind::send:
          if (!conns_[i] || !conns_[i]->send(wire::kPpidAsap, op.message))
            log(Level::warning, "registrar %zu: send refused", i);
          break;
      }
    }
    for (const auto& e : a.events) events_.write(e);
    if (core_.state() == session::PeState::done) {
      if (!shutting_down_) failed_ = true;
      finish();
      return;
    }
    arm(now);
  }

  void connect(std::size_t i) {
    const std::uint64_t gen = ++generation_[i];
    if (conns_[i]) conns_[i]->close();
    conns_[i].reset();
    log(Level::debug, "connecting to registrar %zu at %s", i, registrars_[i].to_string().c_str());
    transport::async_connect(
        io_, kind_, registrars_[i], {}, {false, wire::kPpidAsap},
        [this, i, gen](std::error_code ec, std::shared_ptr<transport::Connection> c) {
          if (finished_ || gen != generation_[i]) {
            if (c) c->close();
            return;
          }
          const auto now = Clock::now();
          if (ec || !c) {
            log(Level::info, "registrar %zu (%s): connect failed: %s", i,
                registrars_[i].to_string().c_str(), ec.message().c_str());
            core_.registrar_connect_failed(i, now, actions_);
            execute(now);
            return;
          }
          conns_[i] = c;
          c->start({[this, i, gen](std::uint32_t, std::span<const std::uint8_t> m) {
                      if (finished_ || gen != generation_[i]) return;
                      const auto now = Clock::now();
                      core_.received(i, m, now, actions_);
                      execute(now);
                    },
                    [this, i, gen](const std::error_code& ec) {
                      if (finished_ || gen != generation_[i]) return;
                      log(Level::info, "registrar %zu closed: %s", i, ec.message().c_str());
                      conns_[i].reset();
                      const auto now = Clock::now();
                      core_.registrar_closed(i, now, actions_);
                      execute(now);
                    }});
          log(Level::debug, "connected to registrar %zu", i);
          core_.registrar_connected(i, now, actions_);
          execute(now);
        });
  }

  void arm(Clock::time_point now) {
    const auto next = core_.next_deadline();
    if (!next) {
      armed_.reset();
      timer_.cancel();
      return;
    }
    if (armed_ && *armed_ == *next) return;
    armed_ = *next;
    timer_.expires_at(std::max(*next, now));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      armed_.reset();
      const auto now = Clock::now();
      core_.tick(now, actions_);
      execute(now);
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    exit_timer_.cancel();
    for (auto& c : conns_)
      if (c) c->close();
    io_.stop();
  }

  asio::io_context& io_;
  session::PeCore core_;
  transport::Kind kind_;
  std::vector<transport::Endpoint> registrars_;
  std::vector<std::shared_ptr<transport::Connection>> conns_;
  std::vector<std::uint64_t> generation_;  // stale connect results and handlers are ignored
  EventLog& events_;
  session::Actions actions_;
  asio::steady_timer timer_;
  std::optional<Clock::time_point> armed_;
  asio::steady_timer exit_timer_;
  bool shutting_down_ = false;
  bool finished_ = false;
  bool failed_ = false;
};

int run(const Options& o, Context& ctx) {
  const auto usage = [&](const std::string& what) {
    ctx.err << "rsplab pe: " << what << "\n";
    return kExitUsage;
  };
  if (const auto level = shell::parse_level(o.log_level)) log.level = *level;
  else return usage("--log-level: '" + o.log_level + "' (error, warning, info, debug)");

  std::string error;
  std::vector<transport::Endpoint> registrars;
  for (const auto& item : split(o.registrar, ',')) {
    const auto e = transport::parse_endpoint(item, wire::kAsapPort, &error);
    if (!e) return usage("--registrar: '" + item + "': " + error);
    registrars.push_back(*e);
  }
  if (registrars.empty()) return usage("--registrar: at least one ADDR:PORT");
  if (o.pool.empty()) return usage("--pool: a non-empty pool handle");
  const auto policy = parse_policy(o.policy, &error);
  if (!policy) return usage("--policy: " + error);
  const auto choice = transport::parse_choice(o.transport);
  if (!choice) return usage("--transport: '" + o.transport + "' (auto, sctp, tcp)");
  const auto local = transport::parse_endpoint(o.local, 0, &error);
  if (!local) return usage("--local: " + error);

  const auto interval = rserpool::values::parse_duration(o.reregistration_interval, "ms", &error);
  if (!interval) return usage("--reregistration-interval: " + error);
  session::PeConfig config;
  config.pool_handle = o.pool;
  config.policy = *policy;
  config.registrar_count = registrars.size();
  config.reregistration_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
  if (config.reregistration_interval.count() <= 0)
    return usage("--reregistration-interval: at least 1 ms");
  if (o.registration_life.empty()) {
    config.registration_life = 3 * config.reregistration_interval;
  } else {
    const auto life = rserpool::values::parse_duration(o.registration_life, "ms", &error);
    if (!life) return usage("--registration-life: " + error);
    config.registration_life = std::chrono::duration_cast<std::chrono::milliseconds>(*life);
    if (config.registration_life.count() <= 0) return usage("--registration-life: at least 1 ms");
  }
  if (config.registration_life.count() > 0x7fffffff)
    return usage("--registration-life: at most 2^31-1 ms");
  std::random_device rd;
  if (o.identifier.empty()) {
    do config.pe_identifier = rd(); while (config.pe_identifier == 0);
  } else {
    try {
      std::size_t used = 0;
      const unsigned long v = std::stoul(o.identifier, &used, 0);
      if (used != o.identifier.size() || v == 0 || v > 0xffffffffUL) throw std::out_of_range("");
      config.pe_identifier = static_cast<std::uint32_t>(v);
    } catch (const std::exception&) {
      return usage("--identifier: '" + o.identifier +
                   "' (a non-zero 32-bit number, e.g. 0x1234abcd)");
    }
  }

  const transport::Kind kind = transport::resolve(*choice);
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(kind)).c_str(),
      o.transport.c_str());

  EventLog events;
  try {
    events.open(o.events, {{"component", "pe"}, {"id", wire::hex_id(config.pe_identifier)}});
  } catch (const std::exception& e) {
    return usage(e.what());
  }

  asio::io_context io;
  // The user transport: accepted connections are closed for now (no service yet).
  std::unique_ptr<transport::Listener> listener;
  transport::Endpoint user;
  try {
    transport::Endpoint at = *local;
    at.port = 0;
    if (kind == transport::Kind::tcp && at.addresses.size() > 1) at.addresses.resize(1);
    listener = transport::Listener::open(io, kind, at, {false, 0});
    user = listener->local_endpoint();
    listener->start([](std::shared_ptr<transport::Connection> c) {
      log(Level::info, "user connection from port %u: closed (no service yet)",
          static_cast<unsigned>(c->peer_port()));
      c->close();
    });
  } catch (const std::exception& e) {
    ctx.err << "rsplab pe: user transport: " << e.what() << "\n";
    return kExitFailed;
  }
  config.user_transport.kind =
      kind == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
  config.user_transport.use = wire::TransportUse::data_only;
  config.user_transport.port = user.port;
  for (const auto& a : user.addresses) config.user_transport.addresses.push_back(to_wire(a));

  Pe pe(io, config, kind, registrars, events);
  ctx.out << "pe " << wire::hex_id(config.pe_identifier) << " " << user.to_string() << std::endl;
  events.write({{"event", "ready"},
                {"pool", o.pool},
                {"user_transport", user.to_string()},
                {"transport", transport::name(kind)}});

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: deregistering", sig);
    listener->close();
    pe.shutdown();
  });
  pe.start();
  io.run();
  listener->close();
  if (pe.failed()) {
    log(Level::error, "stopped: the registration cannot succeed (see the events)");
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

void add_pe_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "pe", "Run a pool element (PE): registers at a registrar and keeps the registration");
  cmd->footer(
      "When started it prints 'pe 0x<id> <user transport endpoint>' (flushed). SIGINT or\n"
      "SIGTERM deregister and exit 0 once deregistered (at most 5 s later).\n"
      "Durations need a unit or are milliseconds: 30s, 500ms, 2min.\n"
      "Policies: NAME or NAME:V1[,V2...], values in the policy's field order; loads,\n"
      "degradations and DPFs as fractions 0..1 or percentages (5%), weights, priorities\n"
      "and distances (ms) as whole numbers. E.g. rr, lu, wrand:10, priority:3, lud:0,5%.\n"
      "Exit status: 0 success; 1 cannot listen, or the registration can never succeed\n"
      "(inconsistent pooling policy); 2 usage error.");
  cmd->add_option("--registrar", o->registrar,
                  "Registrars ADDR[:PORT][,ADDR[:PORT]...] (port 3863), IPv6 in brackets")
      ->required();
  cmd->add_option("--pool", o->pool, "Pool handle")->required();
  cmd->add_option("--policy", o->policy, "Pool policy NAME[:V1[,V2...]] (see below)")
      ->capture_default_str();
  cmd->add_option("--identifier", o->identifier, "PE identifier, non-zero 32 bits (default: random)");
  cmd->add_option("--reregistration-interval", o->reregistration_interval,
                  "Re-registration interval")
      ->capture_default_str();
  cmd->add_option("--registration-life", o->registration_life,
                  "Registration life (default: 3 x the re-registration interval)");
  cmd->add_option("--transport", o->transport,
                  "auto|sctp|tcp: auto takes SCTP when the kernel has it")
      ->capture_default_str();
  cmd->add_option("--local", o->local,
                  "User transport addresses ADDR[,ADDR...] (a free port; TCP uses the first)")
      ->capture_default_str();
  cmd->add_option("--events", o->events, "Write events as JSON lines to FILE ('-': stdout)");
  cmd->add_option("--log-level", o->log_level, "error|warning|info|debug")->capture_default_str();
  cmd->callback([o, &ctx] { ctx.exit_code = run(*o, ctx); });
}

}  // namespace rsplab
