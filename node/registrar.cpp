// The registrar node (registrar.hpp): its options checked into the core's configuration, its
// listeners (the TCP mapping beside SCTP when the transport is auto), its connections (accepted
// and dialled) fed to the core, the core's actions carried out, ENRP presence by multicast,
// and its server announces.
#include "node/registrar.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

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

// The ENRP part of the core's configuration: timers, the T flag and the static peers (each
// an ENRP transport of the node's kind, every address of the entry; dialled in order).
void enrp_config(const options::RegistrarOptions& o, transport::Kind kind,
                 registrar::Config::Enrp& enrp) {
  std::string error;
  enrp.heartbeat_interval = *parse_ms(*o.peer_heartbeat_interval, false, &error);
  enrp.max_time_last_heard = *parse_ms(*o.peer_max_time_last_heard, false, &error);
  enrp.max_time_no_response = *parse_ms(*o.peer_max_time_no_response, false, &error);
  enrp.mentor_discovery_timeout = *parse_ms(*o.mentor_discovery_timeout, false, &error);
  enrp.takeover_expiry = *parse_ms(*o.takeover_expiry, false, &error);
  if (*o.takeover_suggestion != "on" && *o.takeover_suggestion != "off")
    throw UsageError("--takeover-suggestion: '" + *o.takeover_suggestion + "' (on or off)");
  enrp.takeover_suggestion = *o.takeover_suggestion == "on";
  if (o.peer->empty()) return;
  const auto peers = parse_registrars(*o.peer, &error, wire::kEnrpPort);
  if (!peers) throw UsageError("--peer: " + error);
  for (const auto& p : *peers) {
    wire::Transport t;
    t.kind = kind == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
    t.port = p.port;
    for (const auto& a : p.addresses) t.addresses.push_back(to_wire(a));
    enrp.peers.push_back(std::move(t));
  }
}

// "off" or one ADDR:PORT (`what`: the option, for the error).
std::optional<asio::ip::udp::endpoint> udp_option(const std::string& text, std::uint16_t port,
                                                  const char* what) {
  if (text == "off") return std::nullopt;
  std::string error;
  const auto e = transport::parse_endpoint(text, port, &error);
  if (!e || e->addresses.size() != 1)
    throw UsageError(std::string(what) + ": 'off' or ADDR:PORT: " +
                     (e ? "one address, not " + std::to_string(e->addresses.size()) : error));
  return asio::ip::udp::endpoint(e->addresses[0], e->port);
}

registrar::Peer peer_of(const transport::Connection& c) {
  registrar::Peer peer;
  peer.kind = c.kind() == transport::Kind::sctp ? wire::TransportKind::sctp
                                                : wire::TransportKind::tcp;
  for (const auto& a : c.peer_addresses()) peer.addresses.push_back(to_wire(a));
  peer.port = c.peer_port();
  return peer;
}

constexpr std::uint32_t kMaxThreads = 64;

// One clock reading per turn of the calling thread's io_context: the messages of one wake-up
// (every connection one epoll_wait found readable) share it. Where the clock source has no
// vDSO (a VM under software emulation) every reading is a system call.
Clock::time_point batch_now(asio::io_context& io) {
  thread_local std::optional<Clock::time_point> cached;
  if (!cached) {
    cached = Clock::now();
    asio::post(io, [] { cached.reset(); });
  }
  return *cached;
}

// How long a dial may take before the core hears it failed: the kernel's own SYN or INIT
// retries would take minutes towards a host that is down.
constexpr std::chrono::milliseconds kDialTimeout{5000};

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
  announce_ = udp_option(*o.announce, wire::kAsapPort, "--announce");
  const auto presence = udp_option(*o.enrp_announce, wire::kEnrpPort, "--enrp-announce");
  if (presence && !presence->address().is_multicast())
    throw UsageError("--enrp-announce: '" + *o.enrp_announce + "' is not a multicast group");
  kind_ = transport::resolve(*choice);
  registrar::Config config = core_config(o, *asap);
  enrp_config(o, kind_, config.enrp);
  config.enrp.multicast = presence.has_value();
  log(Level::info, "transport %s (asked: %s)", std::string(transport::name(kind_)).c_str(),
      o.transport->c_str());
  const nlohmann::json identity = {{"component", "registrar"}, {"id", wire::hex_id(config.identifier)}};
  try {
    events_.open(*o.events, std::move(sink), identity);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  if (*o.threads > kMaxThreads)
    throw UsageError("--threads: at most " + std::to_string(kMaxThreads) + ", not " +
                     std::to_string(*o.threads));
  threads_ = *o.threads;
  listen(*asap, *enrp, *choice == transport::Choice::automatic && kind_ == transport::Kind::sctp);
  config.enrp.own = enrp_transports_;
  config.resolution_events = events_.enabled();
  core_.emplace(std::move(config));
  if (presence) open_presence(*presence);
  start_workers(threads_);  // last: nothing after it throws, so no thread outlives a failure
}

RegistrarNode::~RegistrarNode() {
  stop(0);
  stop_workers();  // also when the constructor threw after starting them
}

void RegistrarNode::start_workers(std::uint32_t threads) {
  for (std::uint32_t i = 1; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->thread = std::thread([io = &w->io] { io->run(); });
    workers_.push_back(std::move(w));
  }
}

// Each worker closes its connections (posted before, see stop()), then ends.
void RegistrarNode::stop_workers() {
  for (auto& w : workers_) {
    w->work.reset();
    asio::post(w->io, [io = &w->io] { io->stop(); });
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

// Round robin over the caller's io_context and the workers'.
asio::io_context& RegistrarNode::next_context() {
  const std::size_t i = next_context_++ % (workers_.size() + 1);
  return i == 0 ? io_ : workers_[i - 1]->io;
}

transport::Endpoint RegistrarNode::asap_endpoint() const {
  return listeners_.front()->local_endpoint();
}

// `ready` first (the runner learns the endpoints from it), then ENRP begins: the core dials
// its static peers and looks for a mentor; the ASAP announces wait until it serves.
void RegistrarNode::start() {
  const std::lock_guard lock(mutex_);
  events_.write(common::RegistrarReady{asap_endpoint().to_string(), enrp_endpoint().to_string(),
                                       std::string(transport::name(kind_))});
  started_ = true;
  core_->start(Clock::now(), actions_);
  execute();
}

void RegistrarNode::stop(int signal) {
  const std::lock_guard lock(mutex_);
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  if (signal != 0)
    events_.write(common::RegistrarStoppedEvent{signal, enrp_sent_.messages, enrp_sent_.bytes,
                                                enrp_received_.messages, enrp_received_.bytes});
  timer_.cancel();
  announce_timer_.cancel();
  boost::system::error_code ignored;
  if (announce_socket_) announce_socket_->close(ignored);
  if (presence_socket_) presence_socket_->close(ignored);
  for (auto& l : listeners_) l->close();
  for (auto& [id, c] : conns_) {
    if (!c.connection) continue;
    if (c.context == &io_) c.connection->close();
    else asio::post(*c.context, [conn = c.connection] { conn->close(); });
  }
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
  transport::ListenOptions options;
  options.immediate_sack = !is_asap;  // a peer's distance to us is made of our SACKs
  if (is_asap && threads_ > 1)
    options.connection_context = [this]() -> asio::io_context& { return next_context(); };
  auto l = transport::Listener::open(io_, kind_, at, {false, ppid}, options);
  const transport::Endpoint bound = l->local_endpoint();
  if (!is_asap) enrp_endpoint_ = bound;
  append_transports(kind_, bound, is_asap ? asap_transports_ : enrp_transports_);
  l->start([this, is_asap](std::shared_ptr<transport::Connection> c) {
    accept(std::move(c), is_asap);
  });
  listeners_.push_back(std::move(l));
  if (!also_tcp) return;
  try {
    auto tcp = transport::Listener::open(io_, transport::Kind::tcp, bound, {false, ppid}, options);
    tcp->start([this, is_asap](std::shared_ptr<transport::Connection> c) {
      accept(std::move(c), is_asap);
    });
    listeners_.push_back(std::move(tcp));
    append_transports(transport::Kind::tcp, bound, is_asap ? asap_transports_ : enrp_transports_);
    log(Level::info, "%s also on tcp %s", is_asap ? "asap" : "enrp", bound.to_string().c_str());
  } catch (const std::exception& e) {
    log(Level::warning, "%s: no tcp listener beside sctp: %s", is_asap ? "asap" : "enrp",
        e.what());
  }
}

void RegistrarNode::accept(std::shared_ptr<transport::Connection> c, bool is_asap) {
  const std::lock_guard lock(mutex_);
  if (stopped_) return c->close();
  // Accepted ids stay below the core's own (kOutgoing and up); 2^48 accepts is far off.
  if (next_id_ >= registrar::kOutgoing) {
    log(Level::error, "connection ids exhausted; connection refused");
    c->close();
    return;
  }
  const registrar::ConnId id = next_id_++;
  log(Level::debug, "%s connection %llu from port %u", is_asap ? "asap" : "enrp",
      static_cast<unsigned long long>(id), c->peer_port());
  core_->opened(id, peer_of(*c));
  conns_[id] = Conn{c, is_asap ? wire::kPpidAsap : wire::kPpidEnrp, {}, &c->context()};
  if (&c->context() == &io_) return read(id, *c, is_asap);
  asio::post(c->context(), [this, id, c, is_asap] { read(id, *c, is_asap); });
}

// Messages of connection `id` (accepted or dialled) to the core, and its end; on the
// connection's thread.
void RegistrarNode::read(registrar::ConnId id, transport::Connection& c, bool is_asap) {
  c.start({[this, id, is_asap, conn = &c](std::uint32_t, std::span<const std::uint8_t> m) {
             received(id, is_asap, *conn, m);  // the handler is conn's: conn outlives it
           },
           [this, id](const std::error_code& ec) {
             const std::lock_guard lock(mutex_);
             if (stopped_) return;
             log(Level::debug, "connection %llu closed: %s", static_cast<unsigned long long>(id),
                 ec.message().c_str());
             conns_.erase(id);
             closed(id);
           }});
}

// On the thread of connection `c`, which delivered `m`.
void RegistrarNode::received(registrar::ConnId id, bool is_asap, transport::Connection& c,
                             std::span<const std::uint8_t> m) {
  if (is_asap)
    if (const auto hr = registrar::Core::plain_resolution(m)) return resolve(id, c, *hr);
  const std::lock_guard lock(mutex_);
  if (stopped_) return;
  // The connection's io_context is this thread's (a message of a connection the core closed
  // meanwhile: the clock itself).
  const auto it = conns_.find(id);
  const auto now = it != conns_.end() ? batch_now(*it->second.context) : Clock::now();
  // The distance of the DPF policies: measured where a registration or an ENRP update arrives
  // (a getsockopt), not for every resolution. Over SCTP the srtt is made of the PE's (the
  // peer's) SACKs, which it sends at once (transport::ListenOptions::immediate_sack); the
  // first registration on an association comes before any sample (0).
  if (registrar::Core::needs_distance(is_asap, m) && it != conns_.end() && it->second.connection)
    if (const auto rtt = transport::smoothed_rtt(*it->second.connection))
      core_->set_rtt(id, *rtt);
  if (is_asap) {
    core_->received_asap(id, m, now, actions_);
  } else {
    enrp_received_.add(m.size());
    core_->received_enrp(id, m, now, actions_);
  }
  execute();
}

// A resolution, decoded before the mutex: under it only the core's selection and the
// answer's encoding (the selected PEs as they are between two core calls); the answer goes
// out after it, on this thread, the connection's (as send() would, without the lookup). A
// resolution changes no deadline of the core: execute() only for its events, if any.
void RegistrarNode::resolve(registrar::ConnId id, transport::Connection& c,
                            const wire::asap::HandleResolution& m) {
  thread_local wire::Bytes answer;  // the transport copies it: its capacity stays here
  answer.clear();
  const auto now = batch_now(c.context());
  {
    const std::lock_guard lock(mutex_);
    if (stopped_) return;
    core_->resolve(id, m, now, answer, actions_);
    if (!actions_.events.empty()) execute();
    // The core closed it meanwhile (Actions.closes): the answer is dropped, as send() would.
    if (!conns_.contains(id)) return;
  }
  if (!answer.empty()) c.send(wire::kPpidAsap, answer);
}

// REQUIRES: mutex_ held.
void RegistrarNode::closed(registrar::ConnId id) {
  core_->closed(id, Clock::now(), actions_);
  execute();
}

// A connection the core asked for: ENRP to a peer (PPID 12), ASAP to an adopted PE (PPID 11),
// framed as the listeners frame them. A TCP node dials TCP; an SCTP node dials what the
// transport parameter names (a PE that registered over the TCP mapping listens on TCP).
// Wildcard addresses are left out; with none left the dial fails at once.
void RegistrarNode::dial(const registrar::Connect& c) {
  const bool is_asap = c.protocol == wire::Protocol::asap;
  const std::uint32_t ppid = is_asap ? wire::kPpidAsap : wire::kPpidEnrp;
  conns_[c.conn] = Conn{nullptr, ppid, {}, &io_};
  on_main([this, c] { connect(c); });
}

// The dial itself, on the caller's io_context.
void RegistrarNode::connect(const registrar::Connect& c) {
  const bool is_asap = c.protocol == wire::Protocol::asap;
  const std::uint32_t ppid = is_asap ? wire::kPpidAsap : wire::kPpidEnrp;
  transport::Endpoint to = to_endpoint(c.to);
  std::erase_if(to.addresses, [](const transport::Address& a) { return a.is_unspecified(); });
  const transport::Kind kind = kind_ == transport::Kind::tcp || c.to.kind == wire::TransportKind::tcp
                                   ? transport::Kind::tcp
                                   : transport::Kind::sctp;
  log(Level::debug, "dial %llu: %s %s %s", static_cast<unsigned long long>(c.conn),
      is_asap ? "asap" : "enrp", std::string(transport::name(kind)).c_str(),
      to.to_string().c_str());
  const registrar::ConnId id = c.conn;
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, id, is_asap](std::error_code ec,
                                         std::shared_ptr<transport::Connection> conn,
                                         std::vector<transport::PathFailure>) {
    if (alive.expired() || !*alive.lock()) {
      if (conn) conn->close();
      return;
    }
    const std::lock_guard lock(mutex_);
    if (stopped_) {
      if (conn) conn->close();
      return;
    }
    dialled(id, is_asap, ec, std::move(conn));
  };
  if (to.addresses.empty()) {
    asio::post(io_, [done] { done(std::make_error_code(std::errc::destination_address_required),
                                  nullptr, {}); });
    return;
  }
  transport::async_connect_paths(io_, kind, to, {}, {false, ppid},
                                 {.timeout = kDialTimeout, .immediate_sack = !is_asap},
                                 std::move(done));
}

// The end of a dial: the core hears opened() and gets the sends it made meanwhile out, or
// closed(). A connection the core closed meanwhile (Actions.closes) is closed unheard.
// REQUIRES: mutex_ held.
void RegistrarNode::dialled(registrar::ConnId id, bool is_asap, std::error_code ec,
                            std::shared_ptr<transport::Connection> c) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) {
    if (c) c->close();
    return;
  }
  if (ec || !c) {
    log(Level::debug, "dial %llu failed: %s", static_cast<unsigned long long>(id),
        (ec ? ec : std::make_error_code(std::errc::io_error)).message().c_str());
    conns_.erase(it);
    return closed(id);
  }
  it->second.connection = c;
  core_->opened(id, peer_of(*c));
  read(id, *c, is_asap);
  auto held = std::move(it->second.held);
  it->second.held.clear();
  for (auto& m : held) send(it->second, std::move(m));
}

// The core's actions, in this order: dials (so that the sends for them are held), sends,
// closes, presence to the group, events; then the ASAP announces once the core serves.
void RegistrarNode::execute() {
  for (const auto& c : actions_.connects) dial(c);
  for (auto& s : actions_.sends) {
    const auto it = conns_.find(s.conn);
    if (it != conns_.end()) send(it->second, std::move(s.message));
  }
  for (const auto id : actions_.closes) {
    const auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    if (auto c = it->second.connection) {
      if (here(c->context())) c->close();
      else asio::post(c->context(), [c] { c->close(); });
    }
    conns_.erase(it);
  }
  if (!actions_.multicast.empty() && presence_socket_) {
    on_main([this, multicast = std::move(actions_.multicast)] {
      boost::system::error_code ec;
      for (const auto& m : multicast) presence_socket_->send_to(asio::buffer(m), presence_group_, 0, ec);
      if (ec) log(Level::warning, "enrp presence: %s", ec.message().c_str());
    });
  }
  for (const auto& e : actions_.events) events_.write(e);
  actions_.clear();
  if (stopped_) return;
  if (started_ && announce_ && !announcing_ && core_->serving()) {
    announcing_ = true;
    on_main([this] { start_announces(*announce_); });
  }
  arm();
}

// Out on the connection (posted to its thread when that is another), or held until its
// dial ends; ENRP counted when it goes out. REQUIRES: mutex_ held.
void RegistrarNode::send(Conn& c, wire::Bytes message) {
  if (!c.connection) return c.held.push_back(std::move(message));
  if (c.ppid == wire::kPpidEnrp) enrp_sent_.add(message.size());
  if (here(*c.context)) {
    c.connection->send(c.ppid, message);
    return;
  }
  asio::post(*c.context, [conn = c.connection, ppid = c.ppid, m = std::move(message)] {
    conn->send(ppid, m);
  });
}

// The timer at the core's next deadline, on the caller's io_context; from another thread
// only when the deadline moved (a resolution leaves it alone). REQUIRES: mutex_ held.
void RegistrarNode::arm() {
  const auto due = core_->next_deadline();
  if (!on_main() && due == armed_deadline_) return;
  armed_deadline_ = due;
  const auto fire = [this] {
    const std::lock_guard lock(mutex_);
    if (stopped_) return;
    core_->tick(Clock::now(), actions_);
    execute();
  };
  if (on_main()) return timer_.arm(due, fire);
  asio::post(io_, [this, fire] {
    const std::lock_guard lock(mutex_);
    if (!stopped_) timer_.arm(core_->next_deadline(), fire);
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

// ENRP presence by multicast (--enrp-announce): one socket on the group's port (shared with
// reuse_address), joined on the interface of the first ENRP address when that is a specific
// IPv4 one (on loopback: lo, where the routing table has no multicast route), else the
// kernel's choice; it sends the core's presence there and hears every registrar's.
void RegistrarNode::open_presence(const asio::ip::udp::endpoint& group) {
  presence_socket_.emplace(io_, group.protocol());
  auto& s = *presence_socket_;
  s.set_option(asio::socket_base::reuse_address(true));
  s.bind(asio::ip::udp::endpoint(group.protocol(), group.port()));
  const auto& first = enrp_endpoint_.addresses.front();
  if (group.address().is_v4() && first.is_v4() && !first.is_unspecified()) {
    s.set_option(asio::ip::multicast::join_group(group.address().to_v4(), first.to_v4()));
    s.set_option(asio::ip::multicast::outbound_interface(first.to_v4()));
  } else {
    s.set_option(asio::ip::multicast::join_group(group.address()));
  }
  s.set_option(asio::ip::multicast::hops(30));
  s.set_option(asio::ip::multicast::enable_loopback(true));
  presence_group_ = group;
  presence_buffer_.resize(65536);
  receive_presence();
}

void RegistrarNode::receive_presence() {
  std::weak_ptr<bool> alive = alive_;
  presence_socket_->async_receive_from(
      asio::buffer(presence_buffer_), presence_from_,
      [this, alive](const boost::system::error_code& ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || alive.expired() || !*alive.lock()) return;
        if (ec) {
          log(Level::debug, "enrp presence socket: %s", ec.message().c_str());
        } else {
          const std::lock_guard lock(mutex_);
          if (stopped_) return;
          core_->received_enrp_multicast(std::span<const std::uint8_t>(presence_buffer_.data(), n),
                                         to_wire(presence_from_.address()), Clock::now(),
                                         actions_);
          execute();
        }
        receive_presence();
      });
}

}  // namespace rsplab::node
