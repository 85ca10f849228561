// The registrar node (registrar.hpp): its options checked into the core's configuration, its
// listeners (the TCP mapping beside SCTP when the transport is auto), its connections fed to
// the core, the core's actions carried out, and its server announces.
#include "node/registrar.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "stack/common/events.hpp"
#include "stack/common/log.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/names.hpp"

namespace rsplab::node {
namespace {

namespace asio = boost::asio;
namespace registrar = rserpool::registrar;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using common::Level;

common::Logger log{"rsplab registrar"};

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

bool all_loopback(const transport::Endpoint& e) {
  return !e.addresses.empty() &&
         std::all_of(e.addresses.begin(), e.addresses.end(),
                     [](const transport::Address& a) { return a.is_loopback(); });
}

// The core's configuration from `o` (its endpoints already parsed: `asap` for the scope).
registrar::Config core_config(const options::RegistrarOptions& o, const transport::Endpoint& asap) {
  std::string error;
  registrar::Config config;
  config.keepalive_interval = *parse_ms(*o.keepalive_interval, false, &error);
  config.keepalive_timeout = *parse_ms(*o.keepalive_timeout, false, &error);
  config.max_bad_pe_reports = *o.max_bad_pe_reports;
  config.max_hres_items = std::min(*o.max_hres_items, registrar::kMaxHresItemsCap);
  config.max_hr_rate = *o.max_hr_rate;
  config.max_eu_rate = *o.max_eu_rate;
  config.min_address_scope =
      !o.min_address_scope->empty() ? *registrar::parse_scope(*o.min_address_scope)
      : all_loopback(asap)          ? registrar::Scope::loopback
                                    : registrar::Scope::site_local;
  std::random_device rd;
  if (o.identifier->empty()) {
    do config.identifier = rd(); while (config.identifier == 0);
  } else {
    const auto id = parse_identifier(*o.identifier);
    if (!id)
      throw UsageError("--identifier: '" + *o.identifier +
                       "' (a non-zero 32-bit number, e.g. 0x1234abcd)");
    config.identifier = *id;
  }
  config.seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());
  return config;
}

}  // namespace

RegistrarNode::RegistrarNode(asio::io_context& io, const options::RegistrarOptions& o,
                             EventLog::Sink sink)
    : io_(io), timer_(io), announce_timer_(io) {
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) throw UsageError(why);
  log.level = *common::parse_level(*o.log_level);
  std::string error;
  const auto asap = transport::parse_endpoint(*o.asap, wire::kAsapPort, &error);
  if (!asap) throw UsageError("--asap: " + error);
  const auto enrp = transport::parse_endpoint(*o.enrp, wire::kEnrpPort, &error);
  if (!enrp) throw UsageError("--enrp: " + error);
  const auto choice = transport::parse_choice(*o.transport);
  core_.emplace(core_config(o, *asap));
  std::optional<asio::ip::udp::endpoint> announce;
  if (*o.announce != "off") {
    const auto e = transport::parse_endpoint(*o.announce, wire::kAsapPort, &error);
    if (!e || e->addresses.size() != 1)
      throw UsageError("--announce: 'off' or ADDR:PORT: " + error);
    announce = asio::ip::udp::endpoint(e->addresses[0], e->port);
  }
  kind_ = transport::resolve(*choice);
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(kind_)).c_str(),
      o.transport->c_str());
  const nlohmann::json identity = {{"component", "registrar"}, {"id", wire::hex_id(identifier())}};
  try {
    events_.open(*o.events, std::move(sink), identity);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  listen(*asap, *enrp, *choice == transport::Choice::automatic && kind_ == transport::Kind::sctp);
  if (announce) start_announces(*announce);
}

RegistrarNode::~RegistrarNode() { stop(0); }

transport::Endpoint RegistrarNode::asap_endpoint() const {
  return listeners_.front()->local_endpoint();
}

void RegistrarNode::start() {
  events_.write(common::RegistrarReady{asap_endpoint().to_string(), enrp_endpoint().to_string(),
                                       std::string(transport::name(kind_))});
}

void RegistrarNode::stop(int signal) {
  if (stopped_) return;
  stopped_ = true;
  if (signal != 0) events_.write(common::RegistrarStoppedEvent{signal});
  timer_.cancel();
  announce_timer_.cancel();
  if (announce_socket_) announce_socket_->close();
  for (auto& l : listeners_) l->close();
  for (auto& [id, c] : conns_) c.connection->close();
  conns_.clear();
}

// Listens on the chosen transport. `also_tcp` (transport auto on an SCTP kernel): the
// TCP mapping too, on the same port, for clients whose SCTP connect fails.
void RegistrarNode::listen(const transport::Endpoint& asap, const transport::Endpoint& enrp,
                           bool also_tcp) {
  open(asap, true, also_tcp);
  open(enrp, false, also_tcp);
}

void RegistrarNode::open(const transport::Endpoint& at, bool is_asap, bool also_tcp) {
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

void RegistrarNode::accept(std::shared_ptr<transport::Connection> c, bool is_asap) {
  const registrar::ConnId id = next_id_++;
  registrar::Peer peer;
  peer.kind = c->kind() == transport::Kind::sctp ? wire::TransportKind::sctp
                                                 : wire::TransportKind::tcp;
  for (const auto& a : c->peer_addresses()) peer.addresses.push_back(to_wire(a));
  peer.port = c->peer_port();
  log(Level::debug, "%s connection %llu from port %u", is_asap ? "asap" : "enrp",
      static_cast<unsigned long long>(id), peer.port);
  core_->opened(id, std::move(peer));
  conns_[id] = Conn{c, is_asap ? wire::kPpidAsap : wire::kPpidEnrp};
  c->start({[this, id, is_asap](std::uint32_t, std::span<const std::uint8_t> m) {
              const auto now = Clock::now();
              if (is_asap)
                core_->received_asap(id, m, now, actions_);
              else
                core_->received_enrp(id, m, now, actions_);
              execute();
            },
            [this, id](const std::error_code& ec) {
              log(Level::debug, "connection %llu closed: %s", static_cast<unsigned long long>(id),
                  ec.message().c_str());
              conns_.erase(id);
              core_->closed(id, Clock::now(), actions_);
              execute();
            }});
}

void RegistrarNode::execute() {
  for (auto& s : actions_.sends) {
    const auto it = conns_.find(s.conn);
    if (it != conns_.end()) it->second.connection->send(it->second.ppid, s.message);
  }
  for (const auto& e : actions_.events) events_.write(e);
  actions_.clear();
  if (!stopped_) arm();
}

void RegistrarNode::arm() {
  timer_.arm(core_->next_deadline(), [this] {
    core_->tick(Clock::now(), actions_);
    execute();
  });
}

// ASAP server announces: the registrar's ID and ASAP transports (each it listens on) to a
// multicast group, about once a second.
void RegistrarNode::start_announces(const asio::ip::udp::endpoint& group) {
  announce_socket_.emplace(io_, group.protocol());
  announce_socket_->set_option(asio::ip::multicast::hops(30));
  announce_group_ = group;
  send_announce();
}

void RegistrarNode::send_announce() {
  wire::asap::ServerAnnounce a;
  a.server_id = identifier();
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

}  // namespace rsplab::node
