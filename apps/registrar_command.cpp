// `rsplab registrar`: a pool registrar on real sockets. A thin Asio shell around the
// pure registrar core: it accepts ASAP and ENRP connections (SCTP or the TCP mapping),
// feeds their messages to the core with the time, carries out the core's sends, keeps
// one timer at the core's next deadline, writes the core's events as JSON lines, and
// optionally announces itself by UDP multicast.
//
//   PE/PU ──ASAP──► Listener ─► Connection ─► Core::received_asap(now) ─► Actions
//   Actions.sends ─► Connection::send          Actions.events ─► EventLog
//   steady_timer(next_deadline) ─► Core::tick(now)
//
// Single-threaded: one io_context, no locks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "apps/event_log.hpp"
#include "apps/shell.hpp"
#include "options/roles.hpp"
#include "stack/common/log.hpp"
#include "stack/common/values.hpp"
#include "stack/registrar/core.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/names.hpp"

namespace rsplab {
namespace {

namespace asio = boost::asio;
namespace registrar = rserpool::registrar;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using Clock = std::chrono::steady_clock;

using Options = options::RegistrarOptions;

using common::Level;
common::Logger log{"rsplab registrar"};

using shell::to_wire;

// The ASAP endpoint as the transport parameters of a server announce (RFC 5352 §3.10): one
// SCTP parameter with every address, or one TCP parameter per address (TCP has exactly one).
void append_transports(transport::Kind kind, const transport::Endpoint& e,
                       std::vector<wire::Transport>& out) {
  wire::Transport t;
  t.kind = kind == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
  t.use = wire::TransportUse::data_only;
  t.port = e.port;
  if (kind == transport::Kind::sctp) {
    for (const auto& a : e.addresses) t.addresses.push_back(to_wire(a));
    out.push_back(std::move(t));
    return;
  }
  for (const auto& a : e.addresses) {
    t.addresses = {to_wire(a)};
    out.push_back(t);
  }
}

class Registrar {
 public:
  Registrar(asio::io_context& io, registrar::Config config, transport::Kind kind, EventLog& events)
      : io_(io), core_(config), kind_(kind), events_(events), timer_(io), announce_timer_(io) {}

  // Listens on the chosen transport. `also_tcp` (transport auto on an SCTP kernel): the
  // TCP mapping too, on the same port, for clients whose SCTP connect fails.
  void listen(const transport::Endpoint& asap, const transport::Endpoint& enrp, bool also_tcp) {
    open(asap, true, also_tcp);
    open(enrp, false, also_tcp);
  }

  transport::Endpoint asap_endpoint() const { return listeners_.front()->local_endpoint(); }
  transport::Endpoint enrp_endpoint() const { return enrp_endpoint_; }

  // ASAP server announces: the registrar's ID and ASAP transports (each it listens on) to a
  // multicast group, about once a second.
  void announce(const asio::ip::udp::endpoint& group) {
    announce_socket_.emplace(io_, group.protocol());
    announce_socket_->set_option(asio::ip::multicast::hops(30));
    announce_group_ = group;
    send_announce();
  }

  void stop() {
    timer_.cancel();
    announce_timer_.cancel();
    if (announce_socket_) announce_socket_->close();
    for (auto& l : listeners_) l->close();
    for (auto& [id, c] : conns_) c.connection->close();
    conns_.clear();
  }

 private:
  void open(const transport::Endpoint& at, bool is_asap, bool also_tcp) {
    const std::uint32_t ppid = is_asap ? wire::kPpidAsap : wire::kPpidEnrp;
    auto l = transport::Listener::open(io_, kind_, at, {false, ppid});
    const transport::Endpoint bound = l->local_endpoint();
    if (is_asap)
      append_transports(kind_, bound, asap_transports_);
    else
      enrp_endpoint_ = bound;
    l->start([this, is_asap](std::shared_ptr<transport::Connection> c) {
      accept(std::move(c), is_asap);
    });
    listeners_.push_back(std::move(l));
    if (!also_tcp) return;
    try {
      auto tcp = transport::Listener::open(io_, transport::Kind::tcp, bound, {false, ppid});
      tcp->start([this, is_asap](std::shared_ptr<transport::Connection> c) {
        accept(std::move(c), is_asap);
      });
      listeners_.push_back(std::move(tcp));
      if (is_asap) append_transports(transport::Kind::tcp, bound, asap_transports_);
      log(Level::info, "%s also on tcp %s", is_asap ? "asap" : "enrp", bound.to_string().c_str());
    } catch (const std::exception& e) {
      log(Level::warning, "%s: no tcp listener beside sctp: %s", is_asap ? "asap" : "enrp",
          e.what());
    }
  }

  void accept(std::shared_ptr<transport::Connection> c, bool is_asap) {
    const registrar::ConnId id = next_id_++;
    registrar::Peer peer;
    peer.kind = c->kind() == transport::Kind::sctp ? wire::TransportKind::sctp
                                                   : wire::TransportKind::tcp;
    for (const auto& a : c->peer_addresses()) peer.addresses.push_back(to_wire(a));
    peer.port = c->peer_port();
    log(Level::debug, "%s connection %llu from port %u", is_asap ? "asap" : "enrp",
        static_cast<unsigned long long>(id), peer.port);
    core_.opened(id, std::move(peer));
    conns_[id] = Conn{c, is_asap ? wire::kPpidAsap : wire::kPpidEnrp};
    c->start({[this, id, is_asap](std::uint32_t, std::span<const std::uint8_t> m) {
                const auto now = Clock::now();
                if (is_asap)
                  core_.received_asap(id, m, now, actions_);
                else
                  core_.received_enrp(id, m, now, actions_);
                execute(now);
              },
              [this, id](const std::error_code& ec) {
                log(Level::debug, "connection %llu closed: %s",
                    static_cast<unsigned long long>(id), ec.message().c_str());
                conns_.erase(id);
                const auto now = Clock::now();
                core_.closed(id, now, actions_);
                execute(now);
              }});
  }

  void execute(Clock::time_point) {
    for (auto& s : actions_.sends) {
      const auto it = conns_.find(s.conn);
      if (it != conns_.end()) it->second.connection->send(it->second.ppid, s.message);
    }
    for (const auto& e : actions_.events) events_.write(e);
    actions_.clear();
    arm();
  }

  void arm() {
    timer_.arm(core_.next_deadline(), [this] {
      const auto now = Clock::now();
      core_.tick(now, actions_);
      execute(now);
    });
  }

  void send_announce() {
    wire::asap::ServerAnnounce a;
    a.server_id = core_.config().identifier;
    a.transports = asap_transports_;
    const auto bytes = wire::encode(wire::asap::Message{a});
    boost::system::error_code ec;
    announce_socket_->send_to(asio::buffer(bytes), announce_group_, 0, ec);
    if (ec) log(Level::warning, "announce: %s", ec.message().c_str());
    // Every 1 s, ±12.5 % jitter.
    std::uniform_int_distribution<int> jitter(875, 1125);
    announce_timer_.expires_after(std::chrono::milliseconds(jitter(rng_)));
    announce_timer_.async_wait([this](const boost::system::error_code& e) {
      if (!e) send_announce();
    });
  }

  asio::io_context& io_;
  registrar::Core core_;
  transport::Kind kind_;
  EventLog& events_;
  std::vector<std::unique_ptr<transport::Listener>> listeners_;  // ASAP's first
  transport::Endpoint enrp_endpoint_;
  std::vector<wire::Transport> asap_transports_;  // as announced
  struct Conn {
    std::shared_ptr<transport::Connection> connection;
    std::uint32_t ppid;  // ASAP or ENRP, by the endpoint it came in on
  };
  std::map<registrar::ConnId, Conn> conns_;
  registrar::ConnId next_id_ = 1;
  registrar::Actions actions_;
  shell::DeadlineTimer timer_;
  asio::steady_timer announce_timer_;
  std::optional<asio::ip::udp::socket> announce_socket_;
  asio::ip::udp::endpoint announce_group_;
  std::mt19937 rng_{std::random_device{}()};
};

bool all_loopback(const transport::Endpoint& e) {
  return !e.addresses.empty() &&
         std::all_of(e.addresses.begin(), e.addresses.end(),
                     [](const transport::Address& a) { return a.is_loopback(); });
}

int run(const Options& o, Context& ctx) {
  const auto usage = [&](const std::string& what) {
    ctx.err << "rsplab registrar: " << what << "\n";
    return kExitUsage;
  };
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) return usage(why);
  log.level = *common::parse_level(*o.log_level);

  std::string error;
  const auto asap = transport::parse_endpoint(*o.asap, wire::kAsapPort, &error);
  if (!asap) return usage("--asap: " + error);
  const auto enrp = transport::parse_endpoint(*o.enrp, wire::kEnrpPort, &error);
  if (!enrp) return usage("--enrp: " + error);
  const auto choice = transport::parse_choice(*o.transport);

  registrar::Config config;
  config.keepalive_interval = *shell::parse_ms(*o.keepalive_interval, false, &error);
  config.keepalive_timeout = *shell::parse_ms(*o.keepalive_timeout, false, &error);
  config.max_bad_pe_reports = *o.max_bad_pe_reports;
  config.max_hres_items = std::min(*o.max_hres_items, registrar::kMaxHresItemsCap);
  config.max_hr_rate = *o.max_hr_rate;
  config.max_eu_rate = *o.max_eu_rate;
  config.min_address_scope =
      !o.min_address_scope->empty() ? *registrar::parse_scope(*o.min_address_scope)
      : all_loopback(*asap)         ? registrar::Scope::loopback
                                    : registrar::Scope::site_local;
  std::random_device rd;
  if (o.identifier->empty()) {
    do config.identifier = rd(); while (config.identifier == 0);
  } else {
    const auto id = shell::parse_identifier(*o.identifier);
    if (!id) return usage("--identifier: '" + *o.identifier + "' (a non-zero 32-bit number, e.g. 0x1234abcd)");
    config.identifier = *id;
  }
  config.seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());

  std::optional<asio::ip::udp::endpoint> announce;
  if (*o.announce != "off") {
    const auto e = transport::parse_endpoint(*o.announce, wire::kAsapPort, &error);
    if (!e || e->addresses.size() != 1) return usage("--announce: 'off' or ADDR:PORT: " + error);
    announce = asio::ip::udp::endpoint(e->addresses[0], e->port);
  }

  const transport::Kind kind = transport::resolve(*choice);
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(kind)).c_str(),
      o.transport->c_str());

  EventLog events;
  try {
    events.open(*o.events, {{"component", "registrar"}, {"id", wire::hex_id(config.identifier)}});
  } catch (const std::exception& e) {
    return usage(e.what());
  }

  asio::io_context io;
  Registrar pr(io, config, kind, events);
  try {
    pr.listen(*asap, *enrp,
              *choice == transport::Choice::automatic && kind == transport::Kind::sctp);
    if (announce) pr.announce(*announce);
  } catch (const std::exception& e) {
    ctx.err << "rsplab registrar: " << e.what() << "\n";
    return kExitFailed;
  }
  // Ready: one line per endpoint, ASAP first, flushed (agents wait for these).
  ctx.out << "asap " << pr.asap_endpoint().to_string() << "\n"
          << "enrp " << pr.enrp_endpoint().to_string() << std::endl;
  events.write({{"event", "ready"},
                {"asap", pr.asap_endpoint().to_string()},
                {"enrp", pr.enrp_endpoint().to_string()},
                {"transport", transport::name(kind)}});

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: stopping", sig);
    events.write({{"event", "stopped"}, {"signal", sig}});
    pr.stop();
    io.stop();
  });
  io.run();
  return kExitOk;
}

}  // namespace

void add_registrar_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "registrar", "Run a pool registrar (PR): the ASAP server for PEs and PUs");
  cmd->footer(
      "When ready it prints one line per endpoint, ASAP first ('asap 127.0.0.1:41234', then\n"
      "'enrp ...'); port 0 picks a free port. SIGINT or SIGTERM stop it cleanly.\n"
      "Durations take a unit (250ms, 5s) or a bare number of milliseconds.\n" +
      std::string(kExitCodesHelp));
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = run(*o, ctx); });
}

}  // namespace rsplab
