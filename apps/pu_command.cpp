// `rsplab pu`: pool users on real sockets submitting CalcApp jobs, or with `--service echo`
// running echo series. A thin Asio shell around the pure PU core per member (PuApp,
// node/services.hpp: calcapp::PuCore or echo::PuCore): it carries out the core's ops in
// order — registrar connections by index (ASAP, PPID 11), PE sessions by the core's
// SessionId (service data and ASAP on one connection: a PPID prefix per frame on TCP) —
// feeds back what happened with the time, keeps one timer at the core's next deadline and
// writes the core's events.
//
//   PuApp ──connect/close/send_registrar(i)──► RegistrarLinks ──► registrar i
//   PuApp ──connect_pe(s, PE's user transport)──► async_connect ──► pe_connected / _failed
//   PuApp ──send_pe(s, ppid) / close_pe(s)──► Connection ──message/closed──► PuApp
//   DeadlineTimer(next_deadline) ─► tick;  --runtime over or SIGTERM ─► stop (unfinished jobs)
//
// `--count N` hosts N independent members; `--control stdin` kills, freezes and resumes
// one of them (apps/control.hpp). Single-threaded: one io_context, no locks.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "node/member.hpp"
#include "node/event_log.hpp"
#include "node/services.hpp"
#include "node/shell.hpp"
#include "options/roles.hpp"
#include "stack/common/log.hpp"
#include "stack/common/values.hpp"
#include "stack/calcapp/pu_core.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/names.hpp"

namespace rsplab {
namespace {

using namespace node;  // (until this shell moves into node/)

namespace asio = boost::asio;
namespace calcapp = rserpool::calcapp;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace values = rserpool::values;
namespace wire = rserpool::wire;
using Clock = std::chrono::steady_clock;
using common::Level;

common::Logger log{"rsplab pu"};

using Options = options::PuOptions;

class PuMember final : public Member {
 public:
  PuMember(asio::io_context& io, std::size_t index, std::string name, PuApps& apps,
           const session::PuSessionConfig& config, transport::Choice choice,
           transport::Kind registrar_kind,
           std::vector<transport::Endpoint> registrars, std::vector<transport::Address> local,
           EventLog& events, std::function<void()> on_done,
           std::chrono::milliseconds registrar_timeout)
      : Member(index, std::move(name), events, std::move(on_done)),
        io_(io),
        choice_(choice),
        local_(std::move(local)),
        pe_connect_timeout_(config.pe_connect_timeout),
        timer_(io),
        app_(apps.make(index, Clock::now())),
        core_(app_->inputs()),
        links_(io, registrar_kind, std::move(registrars),
               {[this](std::size_t i) {
                  gate_.run([this, i] {
                    with_now([&](auto now) { core_.registrar_connected(i, now, actions_); });
                  });
                },
                [this](std::size_t i, std::error_code ec) {
                  gate_.run([this, i, ec] {
                    log(Level::info, "%s: registrar %zu: connect failed: %s", id().c_str(), i,
                        ec.message().c_str());
                    with_now([&](auto now) { core_.registrar_connect_failed(i, now, actions_); });
                  });
                },
                [this](std::size_t i, std::error_code ec) {
                  gate_.run([this, i, ec] {
                    log(Level::info, "%s: registrar %zu closed: %s", id().c_str(), i,
                        ec.message().c_str());
                    with_now([&](auto now) { core_.registrar_closed(i, now, actions_); });
                  });
                },
                [this](std::size_t i, std::span<const std::uint8_t> m) {
                  gate_.deliver(m, [this, i](std::span<const std::uint8_t> b) {
                    with_now([&](auto now) { core_.registrar_received(i, b, now, actions_); });
                  });
                }}) {
    // A multi-homed site: a registrar that one local address cannot reach is tried from
    // the others, within the core's connect timeout.
    links_.set_local(local_);
    links_.set_connect_options({true, registrar_timeout});
  }

  void start(const PuApps& apps) {
    nlohmann::json ready = {{"event", "ready"}, {"member", index()}};
    apps.describe(ready);
    write(std::move(ready));
    with_now([&](auto now) { app_->start(now, actions_); });
  }
  // The run is over: unfinished jobs recorded, connections closed.
  void shutdown() override {
    if (gate_.dead() || done()) return;
    if (gate_.frozen()) gate_.resume();
    with_now([&](auto now) { app_->stop(now, actions_); });
  }

 private:
  template <class F>
  void with_now(F f) {
    const auto now = Clock::now();
    core_.anchor_clock(now, EventLog::now_us());
    f(now);
    execute(now);
  }

  // Every (local address, PE address) pair in turn over TCP, one association over all of
  // them over SCTP: the PE counts as unreachable only when no pair works, and the pairs that
  // failed go into the failover event.
  void connect_pe(session::SessionId s, const wire::Transport& pe) {
    transport::Kind kind = pe.kind == wire::TransportKind::sctp ? transport::Kind::sctp
                                                                : transport::Kind::tcp;
    if (choice_ == transport::Choice::tcp) kind = transport::Kind::tcp;
    if (choice_ == transport::Choice::sctp) kind = transport::Kind::sctp;
    connecting_.insert(s);
    transport::async_connect_paths(
        io_, kind, node::to_endpoint(pe), local_, {true, 0}, {true, pe_connect_timeout_},
        [this, s, alive = alive_](std::error_code ec, std::shared_ptr<transport::Connection> c,
                                  std::vector<transport::PathFailure> failed) {
          if (!*alive || connecting_.erase(s) == 0) {
            if (c) c->close();
            return;
          }
          std::vector<std::string> paths;
          for (const auto& f : failed) {
            paths.push_back(f.to_string());
            log(Level::info, "%s: session %llu: path %s", id().c_str(),
                static_cast<unsigned long long>(s), paths.back().c_str());
          }
          if (ec || !c) {
            gate_.run([this, s, paths = std::move(paths)]() mutable {
              with_now([&](auto now) { core_.pe_connect_failed(s, now, actions_, std::move(paths)); });
            });
            return;
          }
          session::SessionEnd end;
          const transport::Endpoint mine = c->local_endpoint();
          for (const auto& a : mine.addresses) end.addresses.push_back(a.to_string());
          end.port = mine.port;
          adopt(
              s, std::move(c),
              [this, s](std::uint32_t ppid, std::span<const std::uint8_t> b) {
                with_now([&](auto now) { core_.pe_received(s, ppid, b, now, actions_); });
              },
              [this, s] { with_now([&](auto now) { core_.pe_closed(s, now, actions_); }); },
              [this, s, end] {
                with_now([&](auto now) { core_.pe_connected(s, now, actions_, end); });
              });
        });
  }

  void execute(Clock::time_point) {
    if (gate_.dead()) return;
    session::PuActions a = std::move(actions_);
    actions_.clear();
    for (auto& op : a.ops) {
      using K = session::PuOp::Kind;
      switch (op.kind) {
        case K::connect_registrar: links_.connect(op.registrar); break;
        case K::close_registrar: links_.close(op.registrar); break;
        case K::send_registrar:
          if (!links_.send(op.registrar, op.message))
            log(Level::debug, "%s: registrar %zu: send refused", id().c_str(), op.registrar);
          break;
        case K::connect_pe:
          log(Level::debug, "%s: session %llu: connecting to PE %s", id().c_str(),
              static_cast<unsigned long long>(op.session), wire::hex_id(op.pe_identifier).c_str());
          connect_pe(op.session, op.pe);
          break;
        case K::close_pe:
          connecting_.erase(op.session);
          close_session(op.session);
          break;
        case K::send_pe: send_to(op.session, op.ppid, op.message); break;
      }
    }
    for (const auto& e : a.events) write(e);
    if (core_.state() == session::PuState::done) {
      drop_all();
      finish();
      return;
    }
    timer_.arm(app_->next_deadline(), [this] {
      gate_.run([this] { with_now([&](auto now) { app_->tick(now, actions_); }); });
    });
  }

  void rearm() override {
    with_now([](auto) {});
  }

  void drop_all() override {
    timer_.cancel();
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    connecting_.clear();
    close_sessions();
    links_.close_all();
  }

  asio::io_context& io_;
  transport::Choice choice_;
  std::vector<transport::Address> local_;
  std::chrono::milliseconds pe_connect_timeout_;
  node::DeadlineTimer timer_;
  std::unique_ptr<PuApp> app_;
  session::PuInputs& core_;  // app_'s
  node::RegistrarLinks links_;
  std::set<session::SessionId> connecting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // pending connects' guard
  session::PuActions actions_;
};

// The members' cores: CalcApp's with `config`, or echo's with its session layer's settings.
std::unique_ptr<PuApps> pu_apps(const Options& o, const calcapp::PuConfig& config) {
  if (*o.service != "echo") return make_pu_apps(config);
  rserpool::echo::PuConfig ec;
  static_cast<session::PuSessionConfig&>(ec) = config;
  std::string error;
  ec.interval = *node::parse_ms(*o.ping_interval, false, &error);  // validated
  ec.count = *o.replies;
  return make_pu_apps(std::move(ec));
}

int run(const Options& o, Context& ctx) {
  const auto usage = [&](const std::string& what) {
    ctx.err << "rsplab pu: " << what << "\n";
    return kExitUsage;
  };
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) return usage(why);
  log.level = *common::parse_level(*o.log_level);

  std::string error;
  const auto registrars = node::parse_registrars(*o.registrar, &error);
  if (!registrars) return usage("--registrar: " + error);
  if (o.pool->empty()) return usage("--pool: a non-empty pool handle");
  const auto choice = transport::parse_choice(*o.transport);
  std::vector<transport::Address> local;
  if (!o.local->empty()) {
    const auto l = transport::parse_endpoint(*o.local, 0, &error);
    if (!l) return usage("--local: " + error);
    local = l->addresses;
  }

  calcapp::PuConfig config;
  config.pool_handle = *o.pool;
  config.registrar_count = registrars->size();
  config.job_size = *values::parse_distribution(*o.job_size, values::ValueKind::amount, &error);
  config.job_interval = *values::parse_distribution(*o.interval, values::ValueKind::duration, &error);
  config.reject_retry_delay =
      *values::parse_distribution(*o.reject_retry_delay, values::ValueKind::duration, &error);
  config.max_jobs = *o.jobs;
  config.keepalive_interval = *node::parse_ms(*o.keepalive_interval, false, &error);
  config.keepalive_timeout = *node::parse_ms(*o.keepalive_timeout, false, &error);
  config.stale_cache = *node::parse_ms(*o.stale_cache, true, &error);
  if (*o.resolution_items > 0) config.resolution_items = *o.resolution_items;
  std::optional<std::chrono::milliseconds> runtime;
  if (!o.runtime->empty()) runtime = node::parse_ms(*o.runtime, false, &error);

  std::random_device rd;
  const std::uint64_t seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());
  const std::string name = o.name->empty() ? "pu-" + std::to_string(::getpid()) : *o.name;

  const transport::Kind registrar_kind = transport::resolve(*choice);
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(registrar_kind)).c_str(),
      o.transport->c_str());

  EventLog events;
  try {
    events.open(*o.events, {{"component", "pu"}});
  } catch (const std::exception& e) {
    return usage(e.what());
  }

  asio::io_context io;
  std::vector<std::unique_ptr<PuMember>> members;
  std::size_t finished = 0;
  const auto on_done = [&] {
    if (++finished == members.size()) io.stop();
  };
  const auto epoch = Clock::now();
  const auto epoch_us = EventLog::now_us();
  config.seed = seed;
  config.epoch = epoch;
  config.epoch_us = epoch_us;
  const std::unique_ptr<PuApps> apps = pu_apps(o, config);
  for (std::size_t i = 0; i < *o.count; ++i) {
    members.push_back(std::make_unique<PuMember>(
        io, i, *o.count == 1 ? name : name + "-" + std::to_string(i), *apps, config, *choice,
        registrar_kind, *registrars, local, events, on_done, config.registrar_timeout));
  }

  std::unique_ptr<StdinControl> control;
  if (!o.control->empty()) {
    try {
      control = open_control(io, members, log);
    } catch (const std::exception& e) {
      return usage(std::string("--control stdin: standard input must be a pipe or terminal: ") +
                   e.what());
    }
  }

  const auto stop_all = [&] {
    if (control) control->close();
    for (auto& m : members) m->shutdown();
  };
  asio::steady_timer runtime_timer(io);
  if (runtime) {
    runtime_timer.expires_after(*runtime);
    runtime_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      log(Level::info, "runtime over: stopping");
      stop_all();
    });
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: stopping", sig);
    stop_all();
  });
  for (auto& m : members) m->start(*apps);
  io.run();

  ctx.out << apps->summary().dump() << std::endl;
  if (apps->unanswered()) {
    log(Level::error, "no registrar answered a handle resolution during the whole run");
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

void add_pu_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "pu", "Run pool users (PUs): CalcApp jobs (or echo series) on a pool's PEs, with failover");
  cmd->footer(
      "Jobs arrive with --interval, are queued FIFO and served one at a time: handle\n"
      "resolution at a registrar, a session with the PE, cookies, failover on a lost session\n"
      "(resumed from the latest cookie), a retry elsewhere after a reject.\n"
      "The run ends after --runtime, when all --jobs are finished, or on SIGINT/SIGTERM: jobs\n"
      "not completed are recorded as unfinished, and one JSON line of counters is printed\n"
      "(members, jobs_generated, jobs_completed, jobs_unfinished, handling_speed, rejects,\n"
      "failovers, ...).\n"
      "Values: sizes 5e6, 250k; durations 15s, 250ms; distributions exp:MEAN, uniform:MIN,MAX,\n"
      "fixed:V, normal:MEAN,SD (exp:5e6, exp:15s, uniform:0ms,200ms).\n"
      "--control stdin takes JSON lines {\"cmd\":\"kill\"|\"stop\"|\"resume\"|\"shutdown\",\n"
      "\"member\":I} (kill = a crash, stop/resume = SIGSTOP/SIGCONT, shutdown = end its run).\n"
      "--service echo: each member runs one series of PINGs (--ping-interval) on a PE,\n"
      "failing over like a job, until --replies replies; its line counts requests,\n"
      "answers, duplicates, lost (PINGs never answered), replies. --job-size, --interval\n"
      "and --jobs are CalcApp's, --ping-interval and --replies echo's (docs/echo.md).\n"
      "Exit status: 0 success; 1 jobs were generated (echo: a series begun) but no\n"
      "registrar ever answered; 2 usage error.");
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = run(*o, ctx); });
}

}  // namespace rsplab
