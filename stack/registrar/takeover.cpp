// The registrar core's takeover of a silent peer (RFC 5353 §3.9; docs/enrp.md): Init
// Takeover to every other peer, their acks, Takeover Server, and the adoption of the
// target's PEs (an ASAP connection to each and an Endpoint Keep-Alive with the H flag).
// Conflicts: the lower Server ID wins. Where RSPLIB abandons an expired takeover, this one
// completes it (still the lowest contender) or, having yielded, takes over itself when the
// winner's Takeover Server never comes. Member functions of Core.
#include <algorithm>

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

using detail::ms_between;

void Core::start_takeover(std::uint32_t target, TimePoint now, Actions& out) {
  if (takeovers_.contains(target)) return;
  Takeover t;
  t.started = now;
  if (const auto p = peers_.find(target); p != peers_.end())
    t.silent_ms = ms_between(p->second.last_heard, now);
  common::TakeoverStartedEvent ev{wire::hex_id(target), {}, t.silent_ms};
  for (const auto& [id, p] : peers_) {
    if (id == target || takeovers_.contains(id) || awaited_.contains(id)) continue;
    if (!to_peer(id, enrp::InitTakeover{config_.identifier, id, target}, out)) continue;
    t.awaiting.push_back(id);
    ev.awaiting.push_back(wire::hex_id(id));
  }
  awaited_.erase(target);
  out.events.push_back(ev);
  const bool none = t.awaiting.empty();
  takeovers_[target] = std::move(t);
  if (none) finish_takeover(target, "completed", now, out);
}

// Every ack came (completed), or the takeover expired with this registrar still the lowest
// contender (recovered): Takeover Server to every peer, and the target's PEs adopted.
void Core::finish_takeover(std::uint32_t target, std::string_view outcome, TimePoint now,
                           Actions& out) {
  const auto it = takeovers_.find(target);
  if (it == takeovers_.end()) return;
  const Takeover t = std::move(it->second);
  takeovers_.erase(it);
  for (const auto& [id, p] : peers_)
    if (id != target) to_peer(id, enrp::TakeoverServer{config_.identifier, id, target}, out);
  std::int64_t pes = 0;
  for (const PeRef ref : hs_.owned_by(target))
    if (adopt(ref, target, now, out)) ++pes;
  out.events.push_back(common::TakeoverEvent{wire::hex_id(target), std::string(outcome), pes,
                                             t.acks, ms_between(t.started, now)});
  forget_peer(target);
}

// Yielded (a lower Server ID takes the target over) or cancelled (the target was heard).
void Core::end_takeover(std::uint32_t target, std::string_view outcome, TimePoint now,
                        Actions& out) {
  const auto it = takeovers_.find(target);
  if (it == takeovers_.end()) return;
  out.events.push_back(common::TakeoverEvent{wire::hex_id(target), std::string(outcome), 0,
                                             it->second.acks, ms_between(it->second.started, now)});
  takeovers_.erase(it);
}

void Core::on_init_takeover(ConnId conn, const enrp::InitTakeover& m, TimePoint now, Actions& out) {
  if (m.target == config_.identifier) {
    // Taken for dead but alive: a Presence to every peer says so (hearing the target
    // cancels a takeover).
    for (const auto& [id, p] : peers_) to_peer(id, presence(id, false), out);
    return;
  }
  if (m.target == m.sender || m.target == 0) {
    out.events.push_back(
        common::EnrpIgnoredEvent{static_cast<std::int64_t>(conn), "ENRP_INIT_TAKEOVER"});
    return;
  }
  if (takeovers_.contains(m.target)) {
    if (config_.identifier < m.sender) {
      // The lower ID wins. No ack: this registrar's own Init Takeover makes the other yield
      // (sent again here, in case it was not among those asked).
      send_enrp(conn, enrp::InitTakeover{config_.identifier, m.sender, m.target}, out);
      return;
    }
    end_takeover(m.target, "yielded", now, out);
  }
  awaited_[m.target] = Awaited{m.sender, now + config_.enrp.takeover_expiry};
  send_enrp(conn, enrp::InitTakeoverAck{config_.identifier, m.sender, m.target}, out);
  out.events.push_back(common::TakeoverAckedEvent{wire::hex_id(m.sender), wire::hex_id(m.target)});
}

void Core::on_takeover_ack(const enrp::InitTakeoverAck& m, TimePoint now, Actions& out) {
  const auto it = takeovers_.find(m.target);
  if (it == takeovers_.end()) return;
  auto& awaiting = it->second.awaiting;
  const auto pos = std::find(awaiting.begin(), awaiting.end(), m.sender);
  if (pos == awaiting.end()) return;
  awaiting.erase(pos);
  ++it->second.acks;
  if (awaiting.empty()) finish_takeover(m.target, "completed", now, out);
}

// Another registrar took `target` over: the target's PEs held here are now its.
void Core::on_takeover_server(ConnId conn, const enrp::TakeoverServer& m, TimePoint now,
                              Actions& out) {
  if (m.target == config_.identifier || m.target == m.sender || m.target == 0) {
    out.events.push_back(
        common::EnrpIgnoredEvent{static_cast<std::int64_t>(conn), "ENRP_TAKEOVER_SERVER"});
    return;
  }
  std::int64_t pes = 0;
  for (const PeRef ref : hs_.owned_by(m.target)) {
    wire::PoolElement pe = hs_.entry(ref).element;
    pe.home_server = m.sender;
    hs_.register_pe(std::string(hs_.pool_handle(ref)), pe);
    ++pes;
  }
  end_takeover(m.target, "yielded", now, out);
  awaited_.erase(m.target);
  if (const auto p = peers_.find(m.target); p != peers_.end()) {
    if (!p->second.down)
      out.events.push_back(common::PeerDownEvent{wire::hex_id(m.target), "taken_over"});
    forget_peer(m.target);
  }
  out.events.push_back(
      common::PeerTakeoverEvent{wire::hex_id(m.sender), wire::hex_id(m.target), pes});
}

// A PE becomes this registrar's: home := own ID, an ASAP connection to the PE's ASAP
// transport (as its home registrar recorded it) with an Endpoint Keep-Alive (H flag)
// queued on it; the PE then lives on that connection as if it had registered over it. A PE
// without an ASAP transport cannot be reached: it stays a peer's and expires.
bool Core::adopt(PeRef ref, std::uint32_t from, TimePoint now, Actions& out) {
  wire::PoolElement pe = hs_.entry(ref).element;
  if (!pe.asap_transport || pe.asap_transport->addresses.empty()) return false;
  const std::string pool(hs_.pool_handle(ref));
  pe.home_server = config_.identifier;
  hs_.register_pe(pool, pe);
  const ConnId conn = ++next_outgoing_;
  out.connects.push_back(Connect{conn, wire::Protocol::asap, *pe.asap_transport});
  connection(conn).pes.insert(ref);
  pes_[ref] = PeState{conn, 0};
  asap::EndpointKeepAlive ka;
  ka.home = true;
  ka.server_id = config_.identifier;
  ka.pool_handle = pool;
  ka.pe_identifier = pe.identifier;
  send(conn, ka, out);
  hs_.schedule(ref, TimerKind::keep_alive_timeout, now + config_.keepalive_timeout);
  hs_.schedule(ref, TimerKind::expiry, now + milliseconds(pe.registration_life));
  out.events.push_back(common::PeAdoptedEvent{wire::show_handle(pool), wire::hex_id(pe.identifier),
                                              wire::hex_id(from)});
  announce_update(ref, wire::UpdateAction::add_pe, out);
  return true;
}

void Core::forget_peer(std::uint32_t id) {
  if (id == mentor_ && !serving_) mentor_ = 0;  // serving at the discovery deadline then
  peers_.erase(id);
  fetches_.erase(id);
  cursors_.erase({id, 0});
}

}  // namespace rserpool::registrar
