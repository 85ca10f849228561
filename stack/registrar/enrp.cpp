// The registrar core's ENRP (RFC 5353; docs/enrp.md): peers and their connections, the
// Presence heartbeat, start-up from a mentor, the Handle Table and List responder, Handle
// Updates out and in, owner-checksum audits with mark-and-sweep, and the takeover of a
// silent peer (with recovery where RSPLIB abandons). Member functions of Core; the ASAP
// side stays in core.cpp. Pure like the rest of the core: time comes in, actions go out.
#include <algorithm>
#include <cstdio>

#include "stack/common/events.hpp"
#include "stack/registrar/core.hpp"
#include "stack/registrar/event_values.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::registrar {

using handlespace::PeRef;
using handlespace::TimerKind;
namespace asap = wire::asap;
namespace enrp = wire::enrp;
namespace common = rsplab::common;

using detail::conn_of;
using detail::ms_between;

namespace {

std::string checksum_text(std::uint16_t c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", c);
  return buf;
}

std::uint32_t sender_of(const enrp::Message& m) {
  return std::visit([](const auto& x) { return x.sender; }, m);
}

void set_receiver(enrp::Message& m, std::uint32_t receiver) {
  std::visit([receiver](auto& x) { x.receiver = receiver; }, m);
}

std::string type_text(const enrp::Message& m) {
  return std::string(
      wire::message_type_name(wire::Protocol::enrp, static_cast<std::uint8_t>(enrp::type_of(m))));
}

bool unspecified(const wire::Address& a) {
  const std::size_t n = a.family == wire::Address::Family::v4 ? 4 : 16;
  return std::all_of(a.bytes.begin(), a.bytes.begin() + n, [](auto x) { return x == 0; });
}

// A Pool Handle parameter's size on the wire, with its pad.
std::size_t handle_bytes(std::string_view pool) { return 4 + (pool.size() + 3) / 4 * 4; }

constexpr std::size_t kMaxDials = 256;

}  // namespace

// ---- Peers and connections ---------------------------------------------------------------

void Core::start(TimePoint now, Actions& out) {
  if (started_) return;
  started_ = true;
  serving_ = false;
  started_at_ = now;
  discovery_deadline_ = now + config_.enrp.mentor_discovery_timeout;
  for (const auto& t : config_.enrp.peers) add_dial(t, "static", now, out);
  heartbeat(now, out);
  // Nothing to discover a mentor by: serve now. Peers that know this registrar (it
  // restarted, say) dial it when they redial, and their Presence then starts an audit of
  // each of them: what a mentor would have given comes that way.
  if (config_.enrp.peers.empty() && !config_.enrp.multicast) become_serving(std::nullopt, now, out);
}

bool Core::serving() const { return serving_; }

std::vector<PeerInfo> Core::peers() const {
  std::vector<PeerInfo> v;
  for (const auto& [id, p] : peers_)
    v.push_back(PeerInfo{id, p.transport, route(id).has_value(), p.checksum, p.last_heard});
  return v;
}

void Core::send_enrp(ConnId conn, const enrp::Message& m, Actions& out) {
  wire::Bytes b = wire::encode(m);
  if (!b.empty()) out.sends.push_back(Send{conn, std::move(b)});
}

// The connection a peer is reached over: of those it was heard on, the lowest id (one
// choice, so that what goes to a peer keeps its order).
std::optional<ConnId> Core::route(std::uint32_t peer) const {
  std::optional<ConnId> best;
  for (const auto& [conn, ec] : enrp_conns_)
    if (ec.peer == peer && (!best || conn < *best)) best = conn;
  return best;
}

bool Core::to_peer(std::uint32_t peer, enrp::Message m, Actions& out) {
  const auto conn = route(peer);
  if (!conn) return false;
  set_receiver(m, peer);
  send_enrp(*conn, m, out);
  return true;
}

enrp::Presence Core::presence(std::uint32_t receiver, bool reply_required) const {
  enrp::Presence p;
  p.sender = config_.identifier;
  p.receiver = receiver;
  p.reply_required = reply_required;
  p.pe_checksum = hs_.owner_checksum(config_.identifier);
  if (!config_.enrp.own.empty())
    p.server_information = wire::ServerInformation{config_.identifier, config_.enrp.own.front()};
  return p;
}

void Core::add_dial(const wire::Transport& to, std::string_view via, TimePoint now, Actions& out) {
  if (to.addresses.empty() || to.port == 0) return;
  for (const auto& own : config_.enrp.own)
    if (own == to) return;
  for (const auto& d : dials_)
    if (d.to == to) return;
  if (dials_.size() >= kMaxDials) return;  // what multicast and lists may add is bounded
  Dial d;
  d.to = to;
  d.via = std::string(via);
  dials_.push_back(std::move(d));
  dial(dials_.back(), now, out);
}

// Asks the caller for a connection and queues a Presence on it (the caller holds it until
// the connection is open).
void Core::dial(Dial& d, TimePoint, Actions& out) {
  const ConnId conn = ++next_outgoing_;
  d.conn = conn;
  d.redial.reset();
  enrp_conns_[conn] = EnrpConn{0, d.via};
  out.connects.push_back(Connect{conn, wire::Protocol::enrp, d.to});
  send_enrp(conn, presence(d.peer, false), out);
}

// A message from peer `id` over `conn`. The first one over a connection is answered with a
// Presence (a restarted peer, known here already, hears from this registrar at once).
void Core::heard(ConnId conn, std::uint32_t id, TimePoint now, Actions& out) {
  EnrpConn& ec = enrp_conns_.try_emplace(conn, EnrpConn{0, "incoming"}).first->second;
  const bool new_conn = ec.peer != id;
  ec.peer = id;
  for (auto& d : dials_)
    if (d.conn == conn) d.peer = id;
  const auto [it, fresh] = peers_.try_emplace(id);
  it->second.last_heard = now;
  it->second.probed.reset();
  awaited_.erase(id);
  if (takeovers_.contains(id)) end_takeover(id, "cancelled", now, out);
  if (new_conn) send_enrp(conn, presence(id, false), out);
  if (!fresh) return;
  out.events.push_back(common::PeerUpEvent{wire::hex_id(id), conn_of(conn), ec.via});
  if (started_ && !serving_ && mentor_ == 0) choose_mentor(now, out);
}

// The mentor: the first peer heard that can be asked (List and Handle Table Requests).
void Core::choose_mentor(TimePoint now, Actions& out) {
  for (const auto& [id, p] : peers_) {
    if (!route(id)) continue;
    mentor_ = id;
    to_peer(id, enrp::ListRequest{config_.identifier, id}, out);
    start_fetch(id, false, "mentor", now, out);
    return;
  }
}

void Core::become_serving(std::optional<std::uint32_t> mentor, TimePoint now, Actions& out) {
  serving_ = true;
  discovery_deadline_.reset();
  out.events.push_back(common::ServingEvent{
      mentor ? std::optional<std::string>(wire::hex_id(*mentor)) : std::nullopt,
      static_cast<std::int64_t>(hs_.pe_count()), ms_between(started_at_, now)});
}

void Core::enrp_closed(ConnId conn, TimePoint now, Actions& out) {
  const EnrpConn ec = enrp_conns_[conn];
  enrp_conns_.erase(conn);
  std::erase_if(cursors_, [conn](const auto& c) { return c.first.second == conn; });
  for (auto& d : dials_) {
    if (d.conn != conn) continue;
    d.conn = 0;
    if (ec.peer == 0) d.failed = true;
    d.redial = now + config_.enrp.reconnect_interval;
  }
  // An endpoint learnt from multicast or a list that never answered is forgotten (the next
  // Presence heard there brings it back); static ones, and answering ones, are redialled.
  std::erase_if(dials_, [](const Dial& d) {
    return d.conn == 0 && d.failed && d.peer == 0 && d.via != "static";
  });
  if (ec.peer != 0 && !route(ec.peer)) {
    // Nothing left to ask it over: a download from it cannot go on.
    fetches_.erase(ec.peer);
    cursors_.erase({ec.peer, 0});
    if (ec.peer == mentor_ && !serving_) {
      mentor_ = 0;
      choose_mentor(now, out);
      if (mentor_ == 0) discovery_deadline_ = now + config_.enrp.mentor_discovery_timeout;
    }
  }
  // Start-up ends early when every static peer failed to connect and none was heard.
  const auto is_static = [](const Dial& d) { return d.via == "static"; };
  const bool all_failed = std::any_of(dials_.begin(), dials_.end(), is_static) &&
                          std::all_of(dials_.begin(), dials_.end(), [&](const Dial& d) {
                            return !is_static(d) || (d.failed && d.conn == 0);
                          });
  if (started_ && !serving_ && mentor_ == 0 && peers_.empty() && all_failed)
    become_serving(std::nullopt, now, out);
}

void Core::received_enrp_multicast(std::span<const std::uint8_t> bytes, const wire::Address& source,
                                   TimePoint now, Actions& out) {
  if (!started_) return;
  const auto decoded = wire::decode_enrp(bytes);
  if (!decoded) return;
  const auto* p = std::get_if<enrp::Presence>(&decoded->message);
  if (p == nullptr || p->sender == 0 || p->sender == config_.identifier) return;
  if (const auto it = peers_.find(p->sender); it != peers_.end() && route(p->sender)) {
    it->second.last_heard = now;
    it->second.probed.reset();
    return;
  }
  wire::Transport to;
  if (p->server_information) {
    to = p->server_information->transport;
    if (to.addresses.empty() || std::all_of(to.addresses.begin(), to.addresses.end(), unspecified))
      to.addresses = {source};
  } else {
    to.kind = config_.enrp.own.empty() ? wire::TransportKind::sctp : config_.enrp.own.front().kind;
    to.port = wire::kEnrpPort;
    to.addresses = {source};
  }
  add_dial(to, "multicast", now, out);
}

// ---- Messages in ---------------------------------------------------------------------------

void Core::dispatch_enrp(ConnId conn, enrp::Message& m, TimePoint now, Actions& out) {
  const std::uint32_t own = config_.identifier;
  const std::uint32_t sender = sender_of(m);
  const std::uint32_t receiver = std::visit([](const auto& x) { return x.receiver; }, m);
  const auto ignore = [&] {
    out.events.push_back(common::EnrpIgnoredEvent{conn_of(conn), type_text(m)});
  };
  if (sender == own || (receiver != 0 && receiver != own)) return ignore();
  // A request with Sender ID 0 (a tool such as `rsplab hsdump`) is answered; it is no peer.
  // Its Presence with R gets this registrar's own (its owner checksum, Server Information).
  if (sender == 0) {
    if (const auto* p = std::get_if<enrp::Presence>(&m); p && p->reply_required)
      return send_enrp(conn, presence(0, false), out);
    if (const auto* r = std::get_if<enrp::ListRequest>(&m)) return on_list_request(conn, *r, out);
    if (const auto* r = std::get_if<enrp::HandleTableRequest>(&m))
      return on_table_request(conn, *r, out);
    return ignore();
  }
  heard(conn, sender, now, out);
  if (const auto* p = std::get_if<enrp::Presence>(&m)) return on_presence(conn, *p, now, out);
  if (const auto* r = std::get_if<enrp::ListRequest>(&m)) return on_list_request(conn, *r, out);
  if (const auto* r = std::get_if<enrp::ListResponse>(&m)) return on_list_response(*r, now, out);
  if (const auto* r = std::get_if<enrp::HandleTableRequest>(&m))
    return on_table_request(conn, *r, out);
  if (const auto* r = std::get_if<enrp::HandleTableResponse>(&m))
    return on_table_response(conn, *r, now, out);
  if (const auto* u = std::get_if<enrp::HandleUpdate>(&m)) return on_update(conn, *u, now, out);
  if (const auto* t = std::get_if<enrp::InitTakeover>(&m))
    return on_init_takeover(conn, *t, now, out);
  if (const auto* a = std::get_if<enrp::InitTakeoverAck>(&m)) return on_takeover_ack(*a, now, out);
  if (const auto* s = std::get_if<enrp::TakeoverServer>(&m))
    return on_takeover_server(conn, *s, now, out);
  out.events.push_back(common::RegistrarErrorReceivedEvent{conn_of(conn)});  // ENRP Error
}

void Core::on_presence(ConnId conn, const enrp::Presence& m, TimePoint now, Actions& out) {
  PeerEntry& p = peers_[m.sender];
  if (m.server_information && m.server_information->server_id == m.sender) {
    p.transport = m.server_information->transport;
    // A wildcard endpoint (a peer listening on every address) stands for the addresses
    // this connection comes from, as in the multicast case.
    auto& a = p.transport->addresses;
    const auto c = conns_.find(conn);
    if ((a.empty() || std::all_of(a.begin(), a.end(), unspecified)) && c != conns_.end() &&
        !c->second.peer.addresses.empty())
      a = c->second.peer.addresses;
  }
  p.checksum = m.pe_checksum;
  if (m.reply_required) send_enrp(conn, presence(m.sender, false), out);
  // Audit: what this registrar holds of the peer's PEs against what the peer owns.
  const std::uint16_t held = hs_.owner_checksum(m.sender);
  if (held == m.pe_checksum || !serving_ || fetches_.contains(m.sender)) return;
  out.events.push_back(common::AuditEvent{wire::hex_id(m.sender), checksum_text(m.pe_checksum),
                                          checksum_text(held),
                                          static_cast<std::int64_t>(hs_.owned_count(m.sender))});
  start_fetch(m.sender, true, "audit", now, out);
}

void Core::on_list_request(ConnId conn, const enrp::ListRequest& m, Actions& out) {
  enrp::ListResponse r;
  r.sender = config_.identifier;
  r.receiver = m.sender;
  for (const auto& [id, p] : peers_)
    if (p.transport && id != m.sender)
      r.servers.push_back(wire::ServerInformation{id, *p.transport});
  send_enrp(conn, r, out);
}

void Core::on_list_response(const enrp::ListResponse& m, TimePoint now, Actions& out) {
  if (m.reject) return;
  for (const auto& s : m.servers) {
    if (s.server_id == 0 || s.server_id == config_.identifier) continue;
    if (peers_.contains(s.server_id) && route(s.server_id)) continue;
    add_dial(s.transport, "list", now, out);
  }
}

// ---- Handle tables: the responder, paged, and the downloads ------------------------------

// Every PE (or this registrar's own), ordered by pool handle and identifier: the order the
// pages of a Handle Table Response follow, so that a cursor survives changes in between.
std::vector<PeRef> Core::table_order(bool own_only) const {
  std::vector<PeRef> refs;
  if (own_only) {
    refs = hs_.owned_by(config_.identifier);
  } else {
    refs.reserve(hs_.pe_count());
    for (const auto pool : hs_.pool_handles())
      for (const PeRef r : hs_.members(pool)) refs.push_back(r);
  }
  std::sort(refs.begin(), refs.end(), [this](PeRef a, PeRef b) {
    const auto pa = hs_.pool_handle(a), pb = hs_.pool_handle(b);
    if (pa != pb) return pa < pb;
    return hs_.entry(a).element.identifier < hs_.entry(b).element.identifier;
  });
  return refs;
}

// One page, at most max_response_bytes (and never above what a message holds); the M flag
// when more follow. The requester asks again for the next page; its cursor is kept here,
// by its Server ID (by connection for Sender ID 0).
void Core::on_table_request(ConnId conn, const enrp::HandleTableRequest& m, Actions& out) {
  const auto key = std::make_pair(m.sender, m.sender == 0 ? conn : ConnId{0});
  auto [it, fresh] = cursors_.try_emplace(key);
  Cursor& c = it->second;
  // Another W flag or another connection (the requester restarted, say) starts over.
  if (fresh || c.own_only != m.own_children_only || c.conn != conn)
    c = Cursor{m.own_children_only, conn, {}, 0, false};
  const auto order = table_order(c.own_only);
  std::size_t i = 0;
  if (c.started) {
    i = static_cast<std::size_t>(
        std::upper_bound(order.begin(), order.end(), std::make_pair(std::string_view(c.pool), c.id),
                         [this](const auto& key, PeRef r) {
                           return key < std::make_pair(hs_.pool_handle(r),
                                                       hs_.entry(r).element.identifier);
                         }) -
        order.begin());
  }
  enrp::HandleTableResponse r;
  r.sender = config_.identifier;
  r.receiver = m.sender;
  const std::size_t limit = std::min<std::size_t>(config_.enrp.max_response_bytes, 65000);
  std::size_t bytes = 12;
  for (; i < order.size(); ++i) {
    const PeRef ref = order[i];
    const std::string_view pool = hs_.pool_handle(ref);
    const auto& pe = hs_.entry(ref).element;
    const bool new_pool = r.pools.empty() || r.pools.back().pool_handle != pool;
    const std::size_t add = wire::encode_parameter(pe).size() + (new_pool ? handle_bytes(pool) : 0);
    if (bytes + add > limit && !r.pools.empty()) break;
    bytes += add;
    if (new_pool) r.pools.push_back(enrp::PoolEntry{std::string(pool), {}});
    r.pools.back().pool_elements.push_back(pe);
  }
  r.more = i < order.size();
  if (r.more) {
    c.pool = r.pools.back().pool_handle;
    c.id = r.pools.back().pool_elements.back().identifier;
    c.started = true;
  } else {
    cursors_.erase(it);
  }
  send_enrp(conn, r, out);
}

void Core::start_fetch(std::uint32_t peer, bool own_only, std::string reason, TimePoint now,
                       Actions& out) {
  Fetch& f = fetches_[peer];
  f = Fetch{std::move(reason), own_only, now, 0, 0, {}};
  to_peer(peer, enrp::HandleTableRequest{config_.identifier, peer, own_only}, out);
}

void Core::on_table_response(ConnId conn, const enrp::HandleTableResponse& m, TimePoint now,
                             Actions& out) {
  const auto it = fetches_.find(m.sender);
  if (it == fetches_.end()) {  // a response nobody asked for
    out.events.push_back(common::EnrpIgnoredEvent{conn_of(conn), type_text(m)});
    return;
  }
  Fetch& f = it->second;
  ++f.pages;
  for (const auto& pool : m.pools) {
    for (wire::PoolElement pe : pool.pool_elements) {
      ++f.pes;
      if (pe.home_server == 0) pe.home_server = m.sender;
      if (f.own_only && pe.home_server != m.sender) continue;
      if (const auto ref = learn(pool.pool_handle, std::move(pe), conn, now)) f.seen.insert(*ref);
    }
  }
  if (m.more && !m.reject)
    to_peer(m.sender, enrp::HandleTableRequest{config_.identifier, m.sender, f.own_only}, out);
  else
    finish_fetch(m.sender, now, out);
}

// A download complete. An audit's (own children only) then sweeps the peer's PEs held here
// that its table no longer has.
void Core::finish_fetch(std::uint32_t peer, TimePoint now, Actions& out) {
  const auto it = fetches_.find(peer);
  const Fetch f = std::move(it->second);
  fetches_.erase(it);
  std::int64_t removed = 0;
  if (f.own_only) {
    for (const PeRef ref : hs_.owned_by(peer)) {
      if (f.seen.contains(ref)) continue;
      remove(ref, "audit", out);
      ++removed;
    }
  }
  out.events.push_back(common::HandleTableSyncEvent{wire::hex_id(peer), f.reason, f.pes, f.pages,
                                                    removed, ms_between(f.started, now)});
  if (f.reason == "mentor" && peer == mentor_ && !serving_) become_serving(peer, now, out);
}

// ---- Handle Updates ------------------------------------------------------------------------

// A change of a PE this registrar owns, to every peer. With takeover suggestion on, an
// ADD_PE also goes with the T flag to the peer the PE suits better (docs/enrp.md).
void Core::announce_update(PeRef ref, wire::UpdateAction action, Actions& out) {
  enrp::HandleUpdate u;
  u.sender = config_.identifier;
  u.action = action;
  u.pool_handle = std::string(hs_.pool_handle(ref));
  u.pool_element = hs_.entry(ref).element;
  for (const auto& [id, p] : peers_) to_peer(id, u, out);
  if (!config_.enrp.takeover_suggestion || action != wire::UpdateAction::add_pe) return;
  const std::uint32_t pe = u.pool_element.identifier;
  std::uint32_t best = 0, best_metric = config_.identifier ^ pe;
  for (const auto& [id, p] : peers_) {
    if ((id ^ pe) > best_metric && route(id)) {
      best = id;
      best_metric = id ^ pe;
    }
  }
  if (best == 0) return;
  u.takeover_suggested = true;
  to_peer(best, u, out);
}

// A peer's PE as this registrar keeps it: not keep-alived, expiring after its registration
// life unless an update or a table refreshes it. Never one this registrar owns. Its distance:
// the home registrar's to it plus ours to the peer it came from over `conn`.
std::optional<PeRef> Core::learn(const std::string& pool, wire::PoolElement pe, ConnId conn,
                                 TimePoint now) {
  if (pe.home_server == config_.identifier || pe.registration_life <= 0) return std::nullopt;
  if (const auto c = conns_.find(conn); c != conns_.end())
    pe.policy.distance = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::uint64_t{pe.policy.distance} + c->second.distance,
                                0xffffffffu));
  if (const auto known = hs_.find(pool, pe.identifier); known && pes_.contains(*known))
    return std::nullopt;
  const auto life = milliseconds(pe.registration_life);
  const auto reg = hs_.register_pe(pool, pe);
  if (reg.outcome != handlespace::Handlespace::Outcome::added &&
      reg.outcome != handlespace::Handlespace::Outcome::updated)
    return std::nullopt;
  hs_.schedule(reg.ref, TimerKind::expiry, now + life);
  return reg.ref;
}

void Core::on_update(ConnId conn, const enrp::HandleUpdate& m, TimePoint now, Actions& out) {
  const auto known = hs_.find(m.pool_handle, m.pool_element.identifier);
  wire::PoolElement pe = m.pool_element;
  if (pe.home_server == 0) pe.home_server = m.sender;
  // Only a PE's home announces it; a PE this registrar owns is its own to announce.
  if ((known && pes_.contains(*known)) || pe.home_server != m.sender) {
    out.events.push_back(common::EnrpIgnoredEvent{conn_of(conn), type_text(m)});
    return;
  }
  if (m.action == wire::UpdateAction::del_pe) {
    if (known && hs_.entry(*known).element.home_server == m.sender) hs_.remove(*known);
    return;
  }
  const auto ref = learn(m.pool_handle, std::move(pe), conn, now);
  if (!ref) return;
  if (const auto f = fetches_.find(m.sender); f != fetches_.end()) f->second.seen.insert(*ref);
  if (m.takeover_suggested && config_.enrp.takeover_suggestion && m.receiver == config_.identifier)
    adopt(*ref, m.sender, now, out);
}

// ---- Timers --------------------------------------------------------------------------------

// Presence to every peer (and on every connection not yet answered), and to the multicast
// group; the next one after the heartbeat interval ±12.5 %.
void Core::heartbeat(TimePoint now, Actions& out) {
  for (const auto& [id, p] : peers_) to_peer(id, presence(id, false), out);
  for (const auto& [conn, ec] : enrp_conns_)
    if (ec.peer == 0) send_enrp(conn, presence(0, false), out);
  if (config_.enrp.multicast) {
    auto bytes = wire::encode(presence(0, false));
    if (!bytes.empty()) out.multicast.push_back(std::move(bytes));
  }
  const double jitter = 0.875 + 0.25 * static_cast<double>(rng_.below(1u << 20)) / (1u << 20);
  next_presence_ =
      now + std::chrono::duration_cast<milliseconds>(config_.enrp.heartbeat_interval * jitter);
}

// A peer silent for max-time-last-heard gets a Presence with R; without an answer within
// max-time-no-response it is down, and this registrar starts taking it over.
void Core::check_peer(std::uint32_t id, PeerEntry& p, TimePoint now, Actions& out) {
  if (takeovers_.contains(id) || awaited_.contains(id)) return;
  if (!p.probed) {
    if (now - p.last_heard < config_.enrp.max_time_last_heard) return;
    p.probed = now;
    to_peer(id, presence(id, true), out);
    return;
  }
  if (now - *p.probed < config_.enrp.max_time_no_response) return;
  p.down = true;
  out.events.push_back(common::PeerDownEvent{wire::hex_id(id), "unreachable"});
  start_takeover(id, now, out);
}

void Core::enrp_tick(TimePoint now, Actions& out) {
  if (!started_) return;
  if (next_presence_ && *next_presence_ <= now) heartbeat(now, out);
  if (!serving_ && mentor_ == 0 && discovery_deadline_ && *discovery_deadline_ <= now)
    become_serving(std::nullopt, now, out);
  for (auto& d : dials_) {
    if (d.conn != 0 || !d.redial || *d.redial > now) continue;
    if (d.peer != 0 && route(d.peer))
      d.redial = now + config_.enrp.reconnect_interval;  // reached the other way round
    else
      dial(d, now, out);
  }
  std::vector<std::uint32_t> ids;
  for (const auto& [id, p] : peers_) ids.push_back(id);
  for (const auto id : ids)
    if (const auto it = peers_.find(id); it != peers_.end()) check_peer(id, it->second, now, out);
  ids.clear();
  for (const auto& [id, t] : takeovers_)
    if (now - t.started >= config_.enrp.takeover_expiry) ids.push_back(id);
  for (const auto id : ids) finish_takeover(id, "recovered", now, out);
  ids.clear();
  for (const auto& [id, a] : awaited_)
    if (a.until <= now) ids.push_back(id);
  for (const auto id : ids) {
    awaited_.erase(id);
    if (hs_.owned_count(id) > 0)
      start_takeover(id, now, out);  // the winner never said Takeover Server
    else
      forget_peer(id);
  }
}

std::optional<TimePoint> Core::enrp_deadline() const {
  if (!started_) return std::nullopt;
  std::optional<TimePoint> due;
  const auto consider = [&due](TimePoint t) {
    if (!due || t < *due) due = t;
  };
  if (next_presence_) consider(*next_presence_);
  if (!serving_ && mentor_ == 0 && discovery_deadline_) consider(*discovery_deadline_);
  for (const auto& d : dials_)
    if (d.conn == 0 && d.redial) consider(*d.redial);
  for (const auto& [id, p] : peers_) {
    if (takeovers_.contains(id) || awaited_.contains(id)) continue;
    consider(p.probed ? *p.probed + config_.enrp.max_time_no_response
                      : p.last_heard + config_.enrp.max_time_last_heard);
  }
  for (const auto& [id, t] : takeovers_) consider(t.started + config_.enrp.takeover_expiry);
  for (const auto& [id, a] : awaited_) consider(a.until);
  return due;
}

}  // namespace rserpool::registrar
