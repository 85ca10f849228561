// `rsplab pe`: pool elements on real sockets serving CalcApp, or with `--service echo` the
// echo service. A thin Asio shell around two pure cores per member: the registration core
// (PeCore) and the service (PeApp, node/services.hpp: CalcAppService or EchoService). Each
// member opens its user-transport listener (whose endpoint it registers; TCP frames carry a
// PPID prefix so that service data and the ASAP control channel share one connection),
// carries out the cores' ops in order, feeds back what happened with the time, keeps one
// timer at the cores' next deadline, pushes the service's load to the registration core
// and writes both cores' events as JSON lines.
//
//   PeCore ──connect/close/abort/send(i)──► RegistrarLinks ──► registrar i (PPID 11)
//   PU ──accept──► session s ──message(ppid)──► PeApp ──send/close(s)──► PU
//   PeApp::load() changed ──► PeCore::set_load (adaptive policies re-register)
//   DeadlineTimer(min of both next_deadline) ─► tick both
//   SIGTERM/SIGINT ─► service.shutdown (cookies), PeCore::shutdown (deregister) ─► exit
//
// `--announce ADDR:PORT` learns registrars from ASAP server announces besides (or instead
// of) the --registrar list: one UDP socket per process, every announce to every member:
//
//   PR ──SERVER_ANNOUNCE (UDP)──► AnnounceReceiver ──(server id, endpoint)──► each member:
//     RegistrarLinks::add(endpoint) = i (known, or appended) ─► PeCore::announce(server id, i)
//
// `--count N` hosts N independent members; `--control stdin` kills, freezes, resumes and
// restarts (a fresh PE with a new identifier) one of them (apps/control.hpp).
// Single-threaded: one io_context, no locks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
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
#include "node/member.hpp"
#include "node/event_log.hpp"
#include "node/services.hpp"
#include "node/shell.hpp"
#include "options/roles.hpp"
#include "stack/common/log.hpp"
#include "stack/common/policy_text.hpp"
#include "stack/common/values.hpp"
#include "stack/session/pe_core.hpp"
#include "stack/calcapp/pe_service.hpp"
#include "stack/transport/transport.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab {
namespace {

using namespace node;  // (until this shell moves into node/)

namespace asio = boost::asio;
namespace calcapp = rserpool::calcapp;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using Clock = std::chrono::steady_clock;

using Options = options::PeOptions;

using common::Level;
common::Logger log{"rsplab pe"};

using node::to_wire;
using node::to_endpoint;

using rserpool::values::parse_policy;

// ASAP server announces (RFC 5352 §3.10) on one UDP socket: a multicast group (joined; the
// port shared with reuse_address) or a unicast address. Each announce goes to `announced`
// with the registrar's ASAP endpoint for `kind`: its transport parameter of that kind (a
// wildcard address stands for the sender's), else, when it has none, the sender's address
// on port 3863. Anything else is logged at debug level and dropped.
class AnnounceReceiver {
 public:
  using Announced = std::function<void(std::uint32_t server_id, const transport::Endpoint&)>;

  // Throws std::system_error when it cannot bind or join.
  AnnounceReceiver(asio::io_context& io, const asio::ip::udp::endpoint& at, transport::Kind kind,
                   Announced announced)
      : socket_(io, at.protocol()), kind_(kind), announced_(std::move(announced)) {
    if (at.address().is_multicast()) {
      socket_.set_option(asio::socket_base::reuse_address(true));
      socket_.bind(asio::ip::udp::endpoint(at.protocol(), at.port()));
      socket_.set_option(asio::ip::multicast::join_group(at.address()));
    } else {
      socket_.bind(at);
    }
    receive();
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
          if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
          if (ec)
            log(Level::debug, "announce socket: %s", ec.message().c_str());
          else
            received(std::span<const std::uint8_t>(buffer_.data(), n));
          receive();
        });
  }

  void received(std::span<const std::uint8_t> bytes) {
    const std::string from = from_.address().to_string();
    const auto decoded = wire::decode_asap(bytes);
    if (!decoded)
      return log(Level::debug, "datagram from %s dropped: %s", from.c_str(),
                 decoded.error().message().c_str());
    const auto* a = std::get_if<wire::asap::ServerAnnounce>(&decoded->message);
    if (!a)
      return log(Level::debug, "datagram from %s dropped: %s, not a server announce", from.c_str(),
                 std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])).c_str());
    const auto registrar = endpoint_of(*a);
    if (!registrar)
      return log(Level::debug, "announce of %s from %s dropped: no %s transport",
                 wire::hex_id(a->server_id).c_str(), from.c_str(),
                 std::string(transport::name(kind_)).c_str());
    log(Level::debug, "announce of %s: %s", wire::hex_id(a->server_id).c_str(),
        registrar->to_string().c_str());
    announced_(a->server_id, *registrar);
  }

  std::optional<transport::Endpoint> endpoint_of(const wire::asap::ServerAnnounce& a) const {
    if (a.transports.empty()) return transport::Endpoint{{from_.address()}, wire::kAsapPort};
    const auto want =
        kind_ == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
    const auto t = std::find_if(a.transports.begin(), a.transports.end(),
                                [&](const wire::Transport& x) { return x.kind == want; });
    if (t == a.transports.end()) return std::nullopt;
    transport::Endpoint e = to_endpoint(*t);
    std::erase_if(e.addresses, [](const transport::Address& x) { return x.is_unspecified(); });
    if (e.addresses.empty()) e.addresses.push_back(from_.address());
    return e;
  }

  asio::ip::udp::socket socket_;
  transport::Kind kind_;
  Announced announced_;
  asio::ip::udp::endpoint from_;
  std::array<std::uint8_t, 65536> buffer_{};
};

// One PE: its registration core, its service, its listener, registrar links and
// sessions. Every entry point goes through the gate (--control).
class PeMember final : public Member {
 public:
  PeMember(asio::io_context& io, std::size_t index, session::PeConfig config,
           std::unique_ptr<PeApp> service, transport::Kind kind,
           std::vector<transport::Endpoint> registrars, const transport::Endpoint& local,
           EventLog& events, std::function<void()> on_done)
      : Member(index, wire::hex_id(config.pe_identifier), events, std::move(on_done)),
        timer_(io),
        service_(std::move(service)),
        links_(io, kind, std::move(registrars),
               {[this](std::size_t i) {
                  gate_.run([this, i] { with_now([&](auto now) { core_->registrar_connected(i, now, actions_); }); });
                },
                [this](std::size_t i, std::error_code ec) {
                  gate_.run([this, i, ec] {
                    log(Level::info, "pe %s: registrar %zu: connect failed: %s", id().c_str(), i,
                        ec.message().c_str());
                    with_now([&](auto now) { core_->registrar_connect_failed(i, now, actions_); });
                  });
                },
                [this](std::size_t i, std::error_code ec) {
                  gate_.run([this, i, ec] {
                    log(Level::info, "pe %s: registrar %zu closed: %s", id().c_str(), i,
                        ec.message().c_str());
                    with_now([&](auto now) { core_->registrar_closed(i, now, actions_); });
                  });
                },
                [this](std::size_t i, std::span<const std::uint8_t> m) {
                  gate_.deliver(m, [this, i](std::span<const std::uint8_t> b) {
                    with_now([&](auto now) { core_->received(i, b, now, actions_); });
                  });
                }}) {
    transport::Endpoint at = local;
    at.port = 0;
    if (kind == transport::Kind::tcp && at.addresses.size() > 1) at.addresses.resize(1);
    user_kind_ = kind;
    pool_ = wire::show_handle(config.pool_handle);
    if (const auto* info = wire::policy_info(config.policy.type)) policy_name_ = info->short_name;
    listener_ = transport::Listener::open(io, kind, at, {true, 0});
    user_ = listener_->local_endpoint();
    links_.set_local(user_.addresses);  // registrations come from the addresses they name
    config.user_transport.kind =
        kind == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
    config.user_transport.use = wire::TransportUse::data_plus_control;
    config.user_transport.port = user_.port;
    for (const auto& a : user_.addresses) config.user_transport.addresses.push_back(to_wire(a));
    core_.emplace(std::move(config));
  }

  const transport::Endpoint& user() const { return user_; }
  bool failed() const { return failed_; }

  // A registrar announced itself at `registrar` (its ASAP endpoint).
  void announced(std::uint32_t server_id, const transport::Endpoint& registrar) {
    gate_.run([this, server_id, registrar] {
      const std::size_t i = links_.add(registrar);
      with_now([&](auto now) { core_->announce(server_id, i, now, actions_); });
    });
  }

  // `previous`: the id of the member this one replaces (--control restart).
  void start(const std::string& previous = "") {
    listener_->start([this](std::shared_ptr<transport::Connection> c) { accept(std::move(c)); });
    if (!previous.empty())
      write({{"event", "restarted"}, {"member", index()}, {"previous", previous}});
    nlohmann::json ready = {{"event", "ready"},
                            {"member", index()},
                            {"user_transport", user_.to_string()},
                            {"transport", transport::name(user_kind_)},
                            {"pool", pool_},
                            {"policy", policy_name_}};
    service_->describe(ready);
    write(std::move(ready));
    with_now([&](auto now) { core_->start(now, actions_); });
  }

  // Clean shutdown: fresh cookies (with probability p), sessions closed, deregistration.
  void shutdown() override {
    gate_.run([this] {
      if (shutting_down_ || done()) return;
      shutting_down_ = true;
      listener_->close();
      with_now([&](auto now) {
        service_->shutdown(now, service_actions_);
        core_->shutdown(now, actions_);
      });
    });
  }

  // The last resort of a shutdown that does not end.
  void abandon() {
    drop_all();
    finish();
  }

 private:
  // Runs `f(now)` (a call into a core), then carries out what the cores said.
  template <class F>
  void with_now(F f) {
    const auto now = Clock::now();
    f(now);
    execute(now);
  }

  void accept(std::shared_ptr<transport::Connection> c) {
    const session::SessionId s = next_session_++;
    adopt(
        s, std::move(c),
        [this, s](std::uint32_t ppid, std::span<const std::uint8_t> b) {
          with_now([&](auto now) { service_->received(s, ppid, b, now, service_actions_); });
        },
        [this, s] { with_now([&](auto now) { service_->closed(s, now, service_actions_); }); },
        [this, s] { with_now([&](auto now) { service_->opened(s, now, service_actions_); }); });
  }

  void execute(Clock::time_point now) {
    if (gate_.dead()) return;
    for (int round = 0; round < 2; ++round) {
      session::ServiceActions sa = std::move(service_actions_);
      service_actions_.clear();
      for (auto& op : sa.ops) {
        if (op.kind == session::SessionOp::Kind::send)
          send_to(op.session, op.ppid, op.message);
        else
          close_session(op.session);
      }
      for (const auto& e : sa.events) write(e);
      if (service_->load() != pushed_load_ && !shutting_down_) {
        pushed_load_ = service_->load();
        core_->set_load(pushed_load_, now, actions_);
      }
      session::Actions a = std::move(actions_);
      actions_.clear();
      for (auto& op : a.ops) {
        switch (op.kind) {
          case session::Op::Kind::connect: links_.connect(op.registrar); break;
          case session::Op::Kind::close: links_.close(op.registrar); break;
          case session::Op::Kind::abort: links_.abort(op.registrar); break;
          case session::Op::Kind::send:
            if (!links_.send(op.registrar, op.message))
              log(Level::warning, "pe %s: registrar %zu: send refused", id().c_str(), op.registrar);
            break;
        }
      }
      for (const auto& e : a.events) write(e);
    }
    if (core_->state() == session::PeState::done) {
      if (!shutting_down_) failed_ = true;
      drop_all();
      finish();
      return;
    }
    std::optional<Clock::time_point> due = core_->next_deadline();
    if (const auto s = service_->next_deadline(); s && (!due || *s < *due)) due = s;
    timer_.arm(due, [this] {
      gate_.run([this] {
        with_now([&](auto now) {
          service_->tick(now, service_actions_);
          core_->tick(now, actions_);
        });
      });
    });
  }

  void rearm() override {
    with_now([](auto) {});
  }

  // What the service had in progress (services.hpp, PeApp::add_progress).
  void add_progress(nlohmann::json& e) override {
    with_now([&](auto now) {
      service_->add_progress(e, now, service_actions_,
                             [this](session::SessionId s) { return peer(s); });
    });
  }

  void drop_all() override {
    timer_.cancel();
    listener_->close();
    close_sessions();
    links_.close_all();
  }

  node::DeadlineTimer timer_;
  std::unique_ptr<PeApp> service_;
  std::optional<session::PeCore> core_;
  node::RegistrarLinks links_;
  std::unique_ptr<transport::Listener> listener_;
  transport::Endpoint user_;
  transport::Kind user_kind_ = transport::Kind::tcp;
  std::string pool_, policy_name_;
  session::SessionId next_session_ = 1;
  session::Actions actions_;
  session::ServiceActions service_actions_;
  std::uint32_t pushed_load_ = 0;
  bool shutting_down_ = false;
  bool failed_ = false;
};
// What makes a member's service afresh (at its start and at each restart): CalcApp with
// `sc`, or echo with its session settings (keep-alives, shutdown cookies, seed).
std::function<std::unique_ptr<PeApp>()> service_maker(const Options& o,
                                                      const calcapp::ServiceConfig& sc) {
  if (*o.service != "echo") return [sc] { return make_pe_app(sc, Clock::now()); };
  rserpool::echo::ServiceConfig ec;
  ec.session = {sc.keepalive_interval, sc.keepalive_timeout, sc.shutdown_cookie_probability,
                sc.seed};
  ec.cookie_every = *o.cookie_every;
  return [ec] { return make_pe_app(ec); };
}

int run(const Options& o, Context& ctx) {
  const auto usage = [&](const std::string& what) {
    ctx.err << "rsplab pe: " << what << "\n";
    return kExitUsage;
  };
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) return usage(why);
  log.level = *common::parse_level(*o.log_level);

  std::string error;
  const bool announces = *o.announce != "off";
  if (o.registrar->empty() && !announces)
    return usage("--registrar: required unless --announce is given");
  std::vector<transport::Endpoint> registrars;  // the static list (may be empty)
  if (!o.registrar->empty()) {
    const auto list = node::parse_registrars(*o.registrar, &error);
    if (!list) return usage("--registrar: " + error);
    registrars = *list;
  }
  std::optional<asio::ip::udp::endpoint> announce;
  if (announces) {
    const auto e = transport::parse_endpoint(*o.announce, wire::kAsapPort, &error);
    if (!e || e->addresses.size() != 1) return usage("--announce: 'off' or ADDR:PORT: " + error);
    announce = asio::ip::udp::endpoint(e->addresses[0], e->port);
  }
  if (o.pool->empty()) return usage("--pool: a non-empty pool handle");
  const auto policy = parse_policy(*o.policy, &error);
  const auto choice = transport::parse_choice(*o.transport);
  const auto local = o.local->empty() ? node::every_address(registrars)
                                      : transport::parse_endpoint(*o.local, 0, &error);
  if (!local) return usage("--local: " + error);

  session::PeConfig config;
  config.pool_handle = *o.pool;
  config.policy = *policy;
  config.registrar_count = registrars.size();
  config.reregistration_interval = *node::parse_ms(*o.reregistration_interval, false, &error);
  config.registration_life = o.registration_life->empty()
                                 ? 3 * config.reregistration_interval
                                 : *node::parse_ms(*o.registration_life, false, &error);
  if (config.registration_life.count() > 0x7fffffff)
    return usage("--registration-life: at most 2^31-1 ms");

  calcapp::ServiceConfig service;
  // A fixed capacity, or a distribution each member draws its own from.
  std::optional<rserpool::values::Distribution> capacity;
  if (const auto fixed = rserpool::values::parse_amount(*o.capacity, false, &error)) {
    capacity = rserpool::values::Distribution{rserpool::values::Distribution::fixed,
                                              rserpool::values::ValueKind::amount, *fixed, 0};
  } else {
    capacity = rserpool::values::parse_distribution(*o.capacity, rserpool::values::ValueKind::amount,
                                                    &error);
  }
  service.server.max_jobs = *o.max_jobs;
  service.server.cookie_interval = *node::parse_ms(*o.cookie_max_time, true, &error);
  service.server.cookie_calculations =
      *rserpool::values::parse_amount(*o.cookie_max_calculations, false, &error);
  service.shutdown_cookie_probability = *o.shutdown_cookie_probability;
  service.keepalive_interval = *node::parse_ms(*o.keepalive_interval, false, &error);
  service.keepalive_timeout = *node::parse_ms(*o.keepalive_timeout, false, &error);
  service.usage_interval = *node::parse_ms(*o.usage_interval, true, &error);
  std::random_device rd;
  const std::uint64_t seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());
  std::optional<std::uint32_t> first_id;
  if (!o.identifier->empty()) {
    first_id = node::parse_identifier(*o.identifier);
    if (!first_id || std::uint64_t{*first_id} + *o.count - 1 > 0xffffffffULL)
      return usage("--identifier: '" + *o.identifier +
                   "' (a non-zero 32-bit number, e.g. 0x1234abcd; member i gets it + i)");
  }

  const transport::Kind kind = transport::resolve(*choice);
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(kind)).c_str(),
      o.transport->c_str());

  EventLog events;
  try {
    events.open(*o.events, {{"component", "pe"}});
  } catch (const std::exception& e) {
    return usage(e.what());
  }

  asio::io_context io;
  std::vector<std::unique_ptr<PeMember>> members;
  // Members replaced by --control restart: dead, but kept while their handlers may run.
  std::vector<std::unique_ptr<PeMember>> graveyard;
  // Each member's service, made anew for a restart (the same configuration).
  std::vector<std::function<std::unique_ptr<PeApp>()>> services;
  std::size_t finished = 0;
  bool restarting = false;
  // With --control stdin a crashed member may be restarted: the process outlives its
  // members while its controller is there (until its input ends, or a signal), unless one
  // failed (its registration cannot succeed).
  bool controlled = false;
  const auto on_done = [&] {
    if (++finished < members.size() || restarting) return;
    const bool failed =
        std::any_of(members.begin(), members.end(), [](const auto& m) { return m->failed(); });
    if (!controlled || failed) io.stop();
  };
  std::mt19937_64 ids(seed);
  const auto random_id = [&] {
    std::uint32_t id;
    do id = static_cast<std::uint32_t>(ids() ^ rd()); while (id == 0);
    return id;
  };
  try {
    rserpool::handlespace::Rng capacity_rng(seed ^ 0x63617061u);
    for (std::size_t i = 0; i < *o.count; ++i) {
      session::PeConfig c = config;
      c.pe_identifier = first_id ? static_cast<std::uint32_t>(*first_id + i) : random_id();
      calcapp::ServiceConfig sc = service;
      sc.seed = seed + i;
      do sc.server.capacity = rserpool::values::sample(*capacity, capacity_rng);
      while (!(sc.server.capacity > 0));
      services.push_back(service_maker(o, sc));
      members.push_back(std::make_unique<PeMember>(io, i, std::move(c), services[i](), kind,
                                                   registrars, *local, events, on_done));
    }
  } catch (const std::exception& e) {
    ctx.err << "rsplab pe: user transport: " << e.what() << "\n";
    return kExitFailed;
  }
  std::optional<AnnounceReceiver> announce_receiver;
  if (announce) {
    try {
      announce_receiver.emplace(io, *announce, kind,
                                [&](std::uint32_t server_id, const transport::Endpoint& e) {
                                  for (auto& m : members) m->announced(server_id, e);
                                });
    } catch (const std::exception& e) {
      ctx.err << "rsplab pe: --announce: " << e.what() << "\n";
      return kExitFailed;
    }
  }
  for (const auto& m : members) ctx.out << "pe " << m->id() << " " << m->user().to_string() << "\n";
  ctx.out << std::flush;

  std::unique_ptr<StdinControl> control;
  if (!o.control->empty()) {
    try {
      // restart: the member killed (if alive), then replaced by a fresh one with a new
      // random identifier (none of the current ones), same capacity, a new listener.
      const auto restart = [&](std::size_t i) {
        if (io.stopped()) return;
        const std::string previous = members[i]->id();
        if (!members[i]->done()) {  // alive: a crash first
          restarting = true;
          members[i]->kill();
          restarting = false;
        }
        session::PeConfig c = config;
        const auto in_use = [&](std::uint32_t id) {
          return std::any_of(members.begin(), members.end(),
                             [&](const auto& m) { return m->id() == wire::hex_id(id); });
        };
        do c.pe_identifier = random_id(); while (in_use(c.pe_identifier));
        std::unique_ptr<PeMember> fresh;
        try {
          fresh = std::make_unique<PeMember>(io, i, std::move(c), services[i](), kind,
                                             registrars, *local, events, on_done);
        } catch (const std::exception& e) {
          log(Level::error, "restart of member %zu: user transport: %s", i, e.what());
          if (finished == members.size()) io.stop();
          return;
        }
        graveyard.push_back(std::move(members[i]));
        members[i] = std::move(fresh);
        --finished;  // the old member's end; the fresh one is running
        members[i]->start(previous);
      };
      control = open_control(io, members, log, restart);
      controlled = true;
      control->on_end([&] {
        controlled = false;
        if (finished == members.size()) io.stop();
      });
    } catch (const std::exception& e) {
      return usage(std::string("--control stdin: standard input must be a pipe or terminal: ") +
                   e.what());
    }
  }

  asio::steady_timer exit_timer(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: shutting down (cookies, deregistration)", sig);
    if (control) control->close();
    controlled = false;
    if (announce_receiver) announce_receiver->close();
    for (auto& m : members) m->shutdown();
    if (finished == members.size()) io.stop();  // every member was down already
    exit_timer.expires_after(std::chrono::seconds(5));
    exit_timer.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      log(Level::warning, "not done 5 s after the signal: stopping anyway");
      for (auto& m : members) m->abandon();
      io.stop();
    });
  });
  for (auto& m : members) m->start();
  io.run();
  bool failed = false;
  for (const auto& m : members) failed = failed || m->failed();
  if (failed) {
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
      "When started it prints 'pe 0x<id> <user transport endpoint>' per member (flushed).\n"
      "SIGINT or SIGTERM: fresh cookies to the sessions (see --shutdown-cookie-probability),\n"
      "deregistration, exit 0 once deregistered (at most 5 s later).\n"
      "--control stdin takes JSON lines: {\"cmd\":\"kill\"|\"stop\"|\"resume\"|\"shutdown\"|\n"
      "\"restart\",\"member\":I}: kill = a crash (connections dropped, no goodbye), stop/resume\n"
      "= as SIGSTOP/SIGCONT, shutdown = as SIGTERM for that member only, restart = killed if\n"
      "alive, then back as a fresh PE (new random id, no jobs, new listener, registers anew).\n"
      "With --control the process outlives its members (they may be restarted) until its\n"
      "input ends or a signal comes.\n"
      "--service echo answers PINGs (docs/echo.md); --capacity, --max-jobs, --cookie-max-*\n"
      "and --usage-interval are CalcApp's (refused with echo), --cookie-every is echo's.\n"
      "Durations need a unit or are milliseconds: 30s, 500ms, 2min.\n"
      "Policies: NAME or NAME:V1[,V2...], values in the policy's field order; loads,\n"
      "degradations and DPFs as fractions 0..1 or percentages (5%), weights, priorities\n"
      "and distances (ms) as whole numbers. E.g. rr, lu, wrand:10, priority:3, lud:0,5%.\n"
      "Exit status: 0 success; 1 cannot listen, or the registration can never succeed\n"
      "(inconsistent pooling policy); 2 usage error.");
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = run(*o, ctx); });
}

}  // namespace rsplab
