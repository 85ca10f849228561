#include "stack/registrar/core.hpp"
#include "stack/registrar/event_values.hpp"

#include <algorithm>
#include <cctype>

#include "stack/common/events.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::registrar {

using handlespace::PeRef;
using handlespace::TimerKind;
namespace asap = wire::asap;
using json = nlohmann::json;
namespace common = rsplab::common;

using detail::conn_of;

namespace {

// Malformed input whose unknown parameter says "discard silently".
common::MessageDiscardedEvent discarded(ConnId conn, wire::Protocol protocol,
                                        std::string reason) {
  common::MessageDiscardedEvent e;
  e.conn = conn_of(conn);
  e.protocol = std::string(wire::protocol_name(protocol));
  e.reason = std::move(reason);
  return e;
}
}  // namespace

Scope scope_of(const wire::Address& a) {
  const auto& b = a.bytes;
  if (a.family == wire::Address::Family::v4) {
    if (b[0] == 127) return Scope::loopback;
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
        (b[0] == 169 && b[1] == 254))
      return Scope::site_local;
    return Scope::global;
  }
  const bool loopback = std::all_of(b.begin(), b.end() - 1, [](auto x) { return x == 0; }) &&
                        b[15] == 1;
  if (loopback) return Scope::loopback;
  if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
      (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
    return Scope::site_local;  // ULA, link-local, deprecated site-local
  return Scope::global;
}

std::optional<Scope> parse_scope(std::string_view text) {
  if (text == "loopback") return Scope::loopback;
  if (text == "site-local") return Scope::site_local;
  if (text == "global") return Scope::global;
  return std::nullopt;
}

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::loopback: return "loopback";
    case Scope::site_local: return "site-local";
    case Scope::global: return "global";
  }
  return "?";
}

namespace {

bool unspecified(const wire::Address& a) {
  const std::size_t n = a.family == wire::Address::Family::v4 ? 4 : 16;
  return std::all_of(a.bytes.begin(), a.bytes.begin() + n, [](auto x) { return x == 0; });
}

// "Load Degradation" -> "load_degradation": event fields are snake_case.
std::string json_key(std::string_view name) {
  std::string key;
  for (const char c : name) key += c == ' ' ? '_' : static_cast<char>(std::tolower(c));
  return key;
}

json addresses_json(const std::vector<wire::Address>& v) {
  json out = json::array();
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

wire::OperationError cause(wire::CauseCode code, wire::Bytes info = {}) {
  return wire::OperationError{{wire::ErrorCause{code, std::move(info)}}};
}

}  // namespace

bool Core::TokenBucket::take(double rate, TimePoint now) {
  if (rate < 0) return true;
  const double burst = std::max(1.0, rate);
  if (!started) {
    started = true;
    tokens = burst;
  } else {
    const double dt = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + std::max(0.0, dt) * rate);
  }
  last = now;
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

Core::Core(Config config)
    : config_(config), rng_(config.seed) {}

Core::Connection& Core::connection(ConnId conn) {
  const auto [it, fresh] = conns_.try_emplace(conn);
  if (fresh) it->second.order = ++connections_seen_;
  return it->second;
}

void Core::opened(ConnId conn, Peer peer) { connection(conn).peer = std::move(peer); }

std::uint32_t distance_of(std::chrono::microseconds srtt) {
  if (srtt.count() <= 0) return 0;
  const std::uint64_t half_us = static_cast<std::uint64_t>(srtt.count()) / 2;
  const std::uint64_t step_us = std::uint64_t{kDistanceStepMs} * 1000;
  const std::uint64_t steps = std::min<std::uint64_t>((half_us + step_us / 2) / step_us,
                                                      0xffffffffu / kDistanceStepMs);
  return static_cast<std::uint32_t>(steps * kDistanceStepMs);
}

void Core::set_rtt(ConnId conn, std::chrono::microseconds srtt) {
  if (const auto it = conns_.find(conn); it != conns_.end()) it->second.distance = distance_of(srtt);
}

bool Core::needs_distance(bool asap, std::span<const std::uint8_t> message) {
  if (message.empty()) return false;
  if (asap) return message[0] == static_cast<std::uint8_t>(wire::AsapType::registration);
  return message[0] == static_cast<std::uint8_t>(wire::EnrpType::handle_update) ||
         message[0] == static_cast<std::uint8_t>(wire::EnrpType::handle_table_response);
}

void Core::send(ConnId conn, const asap::Message& m, Actions& out) {
  out.sends.push_back(Send{conn, wire::encode(m)});
}

void Core::send_error(ConnId conn, wire::Protocol protocol, const wire::OperationError& e,
                      std::string_view why, Actions& out) {
  wire::Bytes bytes;
  if (protocol == wire::Protocol::asap)
    wire::encode(asap::Message{asap::Error{e}}, bytes);
  else
    wire::encode(wire::enrp::Message{wire::enrp::Error{config_.identifier, 0, e}}, bytes);
  if (bytes.empty()) return;  // an echoed offending message too large to carry
  out.sends.push_back(Send{conn, std::move(bytes)});
  std::vector<std::string> causes;
  for (const auto& c : e.causes) causes.emplace_back(wire::cause_name(c.code));
  out.events.push_back(common::ErrorSentEvent{conn_of(conn),
                                              std::string(wire::protocol_name(protocol)),
                                              std::move(causes), std::string(why)});
}

void Core::received_asap(ConnId conn, std::span<const std::uint8_t> bytes, TimePoint now,
                         Actions& out) {
  Connection& c = connection(conn);
  auto decoded = wire::decode_asap(bytes);
  if (!decoded) {
    const auto& err = decoded.error();
    if (auto reply = wire::error_reply(err, bytes))
      send_error(conn, wire::Protocol::asap, *reply, err.message(), out);
    else
      out.events.push_back(discarded(conn, wire::Protocol::asap, err.message()));
    return;
  }
  if (!decoded->unrecognized.empty()) {
    wire::OperationError report;
    for (auto& tlv : decoded->unrecognized)
      report.causes.push_back({wire::CauseCode::unrecognized_parameter, std::move(tlv)});
    send_error(conn, wire::Protocol::asap, report, "unrecognized parameters skipped", out);
  }
  auto& m = decoded->message;
  if (auto* r = std::get_if<asap::Registration>(&m)) return on_registration(conn, c, *r, now, out);
  if (auto* d = std::get_if<asap::Deregistration>(&m)) return on_deregistration(conn, *d, out);
  if (auto* h = std::get_if<asap::HandleResolution>(&m)) {
    wire::Bytes answer;
    resolve(conn, c, *h, now, answer, out);
    if (!answer.empty()) out.sends.push_back(Send{conn, std::move(answer)});
    return;
  }
  if (auto* a = std::get_if<asap::EndpointKeepAliveAck>(&m))
    return on_keep_alive_ack(conn, *a, now, out);
  if (auto* u = std::get_if<asap::EndpointUnreachable>(&m))
    return on_unreachable(conn, c, *u, now, out);
  if (std::holds_alternative<asap::Error>(m)) {
    out.events.push_back(common::RegistrarErrorReceivedEvent{conn_of(conn)});
    return;
  }
  // A message a registrar does not take (a response, a cookie, ...).
  send_error(conn, wire::Protocol::asap,
             cause(wire::CauseCode::unrecognized_message, wire::Bytes(bytes.begin(), bytes.end())),
             std::string("a registrar does not take ") +
                 std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])),
             out);
}

void Core::received_enrp(ConnId conn, std::span<const std::uint8_t> bytes, TimePoint now,
                         Actions& out) {
  auto decoded = wire::decode_enrp(bytes);
  if (!decoded) {
    const auto& err = decoded.error();
    if (auto reply = wire::error_reply(err, bytes))
      send_error(conn, wire::Protocol::enrp, *reply, err.message(), out);
    else
      out.events.push_back(discarded(conn, wire::Protocol::enrp, err.message()));
    return;
  }
  dispatch_enrp(conn, decoded->message, now, out);
}

// The PE address filter (RFC 5355; behaviour.md): advertised addresses are kept only
// where this registrar sees them on the connection, and only from the minimum scope up
// (loopback is always accepted from a registrar that listens on loopback only: the
// caller lowers min_address_scope then). An unspecified address stands for all the
// connection's addresses.
bool Core::address_filter(const Connection& c, wire::Transport& t) const {
  std::vector<wire::Address> kept;
  const bool wildcard = std::any_of(t.addresses.begin(), t.addresses.end(), unspecified);
  const auto& candidates = wildcard ? c.peer.addresses : t.addresses;
  for (const auto& a : candidates) {
    if (scope_of(a) < config_.min_address_scope) continue;
    if (std::find(c.peer.addresses.begin(), c.peer.addresses.end(), a) == c.peer.addresses.end())
      continue;
    if (std::find(kept.begin(), kept.end(), a) == kept.end()) kept.push_back(a);
  }
  if (kept.empty()) return false;
  if (t.kind != wire::TransportKind::sctp) kept.resize(1);
  t.addresses = std::move(kept);
  return true;
}

namespace {

// The registration / reregistration event: what the registrar now holds of the PE.
common::RegistrationEvent registration_event(ConnId conn, const wire::PoolHandle& pool,
                                             const wire::PoolElement& pe,
                                             const std::vector<wire::Address>& advertised,
                                             bool added) {
  const auto* info = wire::policy_info(pe.policy.type);
  common::RegistrationEvent ev;
  ev.kind = added ? "registration" : "reregistration";
  ev.conn = conn;
  ev.pool = wire::show_handle(pool);
  ev.pe = wire::hex_id(pe.identifier);
  ev.policy = std::string(info->short_name);
  ev.transport = pe.user_transport.kind == wire::TransportKind::sctp ? "sctp" : "tcp";
  ev.port = pe.user_transport.port;
  ev.addresses = addresses_json(pe.user_transport.addresses);
  ev.registration_life_ms = pe.registration_life;
  if (advertised.size() != pe.user_transport.addresses.size())
    ev.addresses_advertised = addresses_json(advertised);
  for (std::size_t i = 0; i < info->field_count; ++i) {
    const wire::PolicyField f = info->fields[i];
    const std::uint32_t value = wire::policy_field(pe.policy, f);
    if (f == wire::PolicyField::load) ev.load = value;
    else ev.parameters[json_key(wire::field_name(f))] = value;
  }
  return ev;
}

}  // namespace

void Core::on_registration(ConnId conn, Connection& c, asap::Registration& m, TimePoint now,
                           Actions& out) {
  wire::PoolElement& pe = m.pool_element;
  // `info` is the cause's information as RFC 5354 has it: the offending parameter for
  // Invalid Values, Inconsistent Pooling Policy and Inconsistent Transport Type.
  const auto reject = [&](wire::CauseCode code, wire::Bytes info, std::string why) {
    asap::RegistrationResponse r;
    r.reject = true;
    r.pool_handle = m.pool_handle;
    r.pe_identifier = pe.identifier;
    r.error = cause(code, std::move(info));
    send(conn, r, out);
    out.events.push_back(common::RegistrarRegistrationRejectedEvent{
        conn_of(conn), wire::show_handle(m.pool_handle), wire::hex_id(pe.identifier),
        std::string(wire::cause_name(code)), std::move(why)});
  };
  if (const auto known = hs_.find(m.pool_handle, pe.identifier); known && stale(conn, *known))
    return reject(wire::CauseCode::rejection_due_to_security, {},
                  "stale: the PE registered over a newer connection since");
  if (pe.registration_life <= 0)
    return reject(wire::CauseCode::invalid_values, wire::encode_parameter(pe),
                  "registration life must be positive");
  if (auto conflict = transport_conflict(m.pool_handle, pe.user_transport))
    return reject(conflict->code, std::move(conflict->info), std::move(conflict->why));
  const auto advertised = pe.user_transport.addresses;
  if (!address_filter(c, pe.user_transport))
    return reject(wire::CauseCode::invalid_values, wire::encode_parameter(pe.user_transport),
                  "no advertised address is verifiable on the connection at scope " +
                      std::string(scope_name(config_.min_address_scope)) + " or wider");
  pe.home_server = config_.identifier;
  pe.policy.distance = c.distance;  // ours to the PE, whatever it sent (set_rtt)
  wire::Transport asap_transport;
  asap_transport.kind = c.peer.kind;
  asap_transport.port = c.peer.port;
  asap_transport.use = wire::TransportUse::data_only;
  asap_transport.addresses = c.peer.addresses;
  if (!asap_transport.addresses.empty()) {
    if (asap_transport.kind != wire::TransportKind::sctp) asap_transport.addresses.resize(1);
    pe.asap_transport = std::move(asap_transport);
  }

  const auto reg = hs_.register_pe(m.pool_handle, pe);
  switch (reg.outcome) {
    case handlespace::Handlespace::Outcome::inconsistent_policy:
      return reject(wire::CauseCode::inconsistent_pooling_policy,
                    wire::encode_parameter(pe.policy),
                    "the pool's policy is " +
                        std::string(wire::policy_info(*hs_.pool_policy(m.pool_handle))->name));
    case handlespace::Handlespace::Outcome::unknown_policy:
      // Not from the wire (the codec refuses an unknown policy type itself, echoing it).
      return reject(wire::CauseCode::invalid_values, wire::encode_parameter(pe.policy),
                    "unknown policy");
    case handlespace::Handlespace::Outcome::added:
    case handlespace::Handlespace::Outcome::updated: break;
  }
  // A PE learnt from a peer (ENRP) that registers here is new to this registrar too.
  const bool added = !pes_.contains(reg.ref);
  PeState& st = pes_[reg.ref];
  if (!added && st.conn != conn) {  // re-registered over a newer connection: it moves
    if (const auto old = conns_.find(st.conn); old != conns_.end()) old->second.pes.erase(reg.ref);
  }
  st.conn = conn;
  st.bad_reports = 0;
  c.pes.insert(reg.ref);
  hs_.schedule(reg.ref, TimerKind::expiry, now + milliseconds(pe.registration_life));
  if (added) hs_.schedule(reg.ref, TimerKind::keep_alive_transmission, first_keep_alive(now));

  asap::RegistrationResponse r;
  r.pool_handle = m.pool_handle;
  r.pe_identifier = pe.identifier;
  send(conn, r, out);
  out.events.push_back(registration_event(conn, m.pool_handle, pe, advertised, added));
  announce_update(reg.ref, wire::UpdateAction::add_pe, out);
}

// A pool's transport type and data/control configuration are set by its first PE, as
// its policy is (RSPLIB does the same): a PE whose user transport differs is refused,
// with Inconsistent Transport Type (the offending transport parameter as information)
// or Inconsistent Data/Control Configuration (no information).
std::optional<Core::Conflict> Core::transport_conflict(const wire::PoolHandle& pool,
                                                       const wire::Transport& t) const {
  const auto members = hs_.members(pool);
  if (members.empty()) return std::nullopt;
  const wire::Transport& first = hs_.entry(members.front()).element.user_transport;
  if (t.kind != first.kind)
    return Conflict{wire::CauseCode::inconsistent_transport_type, wire::encode_parameter(t),
                    "the pool's transport is " +
                        std::string(wire::parameter_name(static_cast<std::uint16_t>(first.kind)))};
  if (t.use != first.use)
    return Conflict{wire::CauseCode::inconsistent_data_control_configuration, {},
                    std::string("the pool's transport use is ") +
                        (first.use == wire::TransportUse::data_only ? "data only"
                                                                    : "data plus control")};
  return std::nullopt;
}

// Only the connection a PE registered over may deregister it (or ack its keep-alives):
// another client cannot take a PE out of the pool, nor keep a dead one in it.
bool Core::owns(ConnId conn, PeRef ref) const {
  const auto it = pes_.find(ref);
  return it != pes_.end() && it->second.conn == conn;
}

// Which connection holds a PE when registrations for it arrive over several: the newest
// (opened last) that carried one, not the one whose registration arrived last. A PE opens
// a new connection to a registrar only after giving up the old one, so what still arrives
// over the older connection was sent before the PE moved, however late it comes (TCP
// retransmits it, and then its FIN, once a link is back): the order in which messages
// arrive over two connections says nothing about the order they were sent in. Such a
// stale registration is refused and changes nothing, so that the older connection's close
// cannot take the PE along.
bool Core::stale(ConnId conn, PeRef ref) const {
  const auto st = pes_.find(ref);
  if (st == pes_.end() || st->second.conn == conn) return false;
  const auto holder = conns_.find(st->second.conn);
  const auto here = conns_.find(conn);
  return holder != conns_.end() && here != conns_.end() &&
         here->second.order < holder->second.order;
}

void Core::on_deregistration(ConnId conn, const asap::Deregistration& m, Actions& out) {
  asap::DeregistrationResponse r;
  r.pool_handle = m.pool_handle;
  r.pe_identifier = m.pe_identifier;
  if (const auto ref = hs_.find(m.pool_handle, m.pe_identifier)) {
    if (owns(conn, *ref)) {
      remove(*ref, "deregistration", out);
    } else {
      r.error = cause(wire::CauseCode::rejection_due_to_security);
      out.events.push_back(common::DeregistrationRefusedEvent{
          conn_of(conn), wire::show_handle(m.pool_handle), wire::hex_id(m.pe_identifier),
          "not the PE's own connection"});
    }
  }
  send(conn, r, out);
}

std::optional<asap::HandleResolution> Core::plain_resolution(
    std::span<const std::uint8_t> message) {
  constexpr auto kType = static_cast<std::uint8_t>(wire::AsapType::handle_resolution);
  if (message.empty() || message[0] != kType) return std::nullopt;
  auto decoded = wire::decode_asap(message);
  if (!decoded || !decoded->unrecognized.empty()) return std::nullopt;
  auto* m = std::get_if<asap::HandleResolution>(&decoded->message);
  if (m == nullptr) return std::nullopt;
  return std::move(*m);
}

void Core::resolve(ConnId conn, const asap::HandleResolution& m, TimePoint now,
                   wire::Bytes& answer, Actions& out) {
  resolve(conn, connection(conn), m, now, answer, out);
}

// The answer is encoded straight from the handlespace entries of the selected PEs (no copy
// of them: wire::encode_resolution), an error answer as any message.
void Core::resolve(ConnId conn, Connection& c, const asap::HandleResolution& m, TimePoint now,
                   wire::Bytes& answer, Actions& out) {
  const auto refuse = [&](wire::CauseCode code) {
    asap::HandleResolutionResponse r;
    r.pool_handle = m.pool_handle;
    r.error = cause(code);
    wire::encode(asap::Message{std::move(r)}, answer);
  };
  if (!c.hr_bucket.take(config_.max_hr_rate, now)) {
    refuse(wire::CauseCode::rejection_due_to_security);
    out.events.push_back(common::RateLimitedEvent{conn_of(conn), "handle_resolution",
                                                  wire::show_handle(m.pool_handle)});
    return;
  }
  const std::uint32_t requested = m.items.value_or(config_.max_hres_items);
  const std::size_t items = std::min<std::uint32_t>(requested, kMaxHresItemsCap);
  const auto policy = hs_.pool_policy(m.pool_handle);
  std::vector<std::string> returned;
  if (!policy) {
    refuse(wire::CauseCode::unknown_pool_handle);
  } else {
    selected_.clear();
    hs_.select(m.pool_handle, items, rng_, selected_, config_.max_increment);
    selected_elements_.clear();
    for (const PeRef ref : selected_) {
      const wire::PoolElement& pe = hs_.entry(ref).element;
      if (config_.resolution_events) returned.push_back(wire::hex_id(pe.identifier));
      selected_elements_.push_back(&pe);
    }
    wire::encode_resolution(m.pool_handle, wire::Policy{*policy}, selected_elements_, answer);
  }
  if (!config_.resolution_events) return;
  common::RegistrarHandleResolutionEvent ev{
      conn_of(conn), wire::show_handle(m.pool_handle),
      m.items ? std::optional<std::int64_t>(requested) : std::nullopt,
      static_cast<std::int64_t>(items), std::move(returned), std::nullopt, std::nullopt};
  if (policy) ev.policy = std::string(wire::policy_info(*policy)->short_name);
  else ev.error = std::string(wire::cause_name(wire::CauseCode::unknown_pool_handle));
  out.events.push_back(ev);
}

void Core::on_keep_alive_ack(ConnId conn, const asap::EndpointKeepAliveAck& m, TimePoint now,
                             Actions& out) {
  const auto ref = hs_.find(m.pool_handle, m.pe_identifier);
  if (!ref) {
    // A PE that believes itself registered here, but is not (removed at a keep-alive
    // timeout while its link was down, say): a Deregistration Response tells it so, and it
    // registers again at once instead of a re-registration interval later.
    send(conn, asap::DeregistrationResponse{m.pool_handle, m.pe_identifier, std::nullopt}, out);
    out.events.push_back(common::PeNotRegisteredEvent{
        conn_of(conn), wire::show_handle(m.pool_handle), wire::hex_id(m.pe_identifier)});
    return;
  }
  if (!owns(conn, *ref)) return;
  if (hs_.timer(*ref, TimerKind::keep_alive_timeout))
    hs_.schedule(*ref, TimerKind::keep_alive_transmission, next_keep_alive(now));
}

// When keep-alives go out. PEs that registered together (a pool started at once, a
// registrar restarted) would otherwise get theirs together, one interval later and every
// interval after that: a burst of sends in one timer turn while resolutions wait. So the
// first keep-alive of a new registration goes at a random point of the interval's later
// half (within the interval, so a silent PE still goes within interval + timeout), and each
// next one an interval ±12.5 % after the ack, which keeps the mean interval and undoes any
// alignment that arises later (the H keep-alives of a takeover, acks handled in one turn).
// Drawn from the core's seeded generator: in-memory runs stay reproducible.
TimePoint Core::first_keep_alive(TimePoint now) {
  const auto interval = std::chrono::duration_cast<TimePoint::duration>(config_.keepalive_interval);
  return now + interval - random_below(interval / 2);
}

TimePoint Core::next_keep_alive(TimePoint now) {
  const auto interval = std::chrono::duration_cast<TimePoint::duration>(config_.keepalive_interval);
  const auto jitter = interval / 8;
  return now + interval - jitter + random_below(2 * jitter + TimePoint::duration(1));
}

// Uniform in [0, bound); zero when bound is not positive.
TimePoint::duration Core::random_below(TimePoint::duration bound) {
  if (bound.count() <= 0) return TimePoint::duration::zero();
  return TimePoint::duration(
      static_cast<TimePoint::rep>(rng_.below(static_cast<std::uint64_t>(bound.count()))));
}

void Core::on_unreachable(ConnId conn, Connection& c, const asap::EndpointUnreachable& m,
                          TimePoint now, Actions& out) {
  if (!c.eu_bucket.take(config_.max_eu_rate, now)) {
    out.events.push_back(common::RateLimitedEvent{conn_of(conn), "endpoint_unreachable",
                                                  wire::show_handle(m.pool_handle)});
    return;
  }
  const auto ref = hs_.find(m.pool_handle, m.pe_identifier);
  common::UnreachableReportEvent ev{conn_of(conn), wire::show_handle(m.pool_handle),
                                    wire::hex_id(m.pe_identifier), false, std::nullopt,
                                    std::nullopt};
  if (!ref) {
    out.events.push_back(ev);
    return;
  }
  const auto owned = pes_.find(*ref);
  if (owned == pes_.end()) {  // a peer's PE: its home registrar watches it
    ev.known = true;
    out.events.push_back(ev);
    return;
  }
  PeState& st = owned->second;
  ++st.bad_reports;
  ev.known = true;
  ev.reports = static_cast<std::int64_t>(st.bad_reports);
  ev.max_bad_pe_reports = static_cast<std::int64_t>(config_.max_bad_pe_reports);
  out.events.push_back(ev);
  if (st.bad_reports >= config_.max_bad_pe_reports) remove(*ref, "unreachable", out);
}

void Core::closed(ConnId conn, TimePoint now, Actions& out) {
  if (enrp_conns_.contains(conn)) enrp_closed(conn, now, out);
  const auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  const std::vector<PeRef> pes(it->second.pes.begin(), it->second.pes.end());
  for (const PeRef ref : pes) remove(ref, "connection_closed", out);
  conns_.erase(conn);
}

// Removes a PE. One this registrar owns is logged and announced to the peers (DEL_PE); a
// peer's (learnt by ENRP) goes silently: its home registrar reports it.
void Core::remove(PeRef ref, std::string_view reason, Actions& out) {
  if (const auto it = pes_.find(ref); it != pes_.end()) {
    const auto& e = hs_.entry(ref);
    out.events.push_back(common::DeregistrationEvent{wire::show_handle(hs_.pool_handle(ref)),
                                                     wire::hex_id(e.element.identifier),
                                                     std::string(reason)});
    announce_update(ref, wire::UpdateAction::del_pe, out);
    if (const auto c = conns_.find(it->second.conn); c != conns_.end()) c->second.pes.erase(ref);
    pes_.erase(it);
  }
  hs_.remove(ref);
}

void Core::tick(TimePoint now, Actions& out) {
  enrp_tick(now, out);
  while (const auto t = hs_.next_timer()) {
    if (t->due > now) break;
    const PeRef ref = t->pe;
    switch (t->kind) {
      case TimerKind::expiry:
        remove(ref, "expired", out);
        break;
      case TimerKind::keep_alive_transmission: {
        const auto& e = hs_.entry(ref);
        asap::EndpointKeepAlive ka;
        ka.server_id = config_.identifier;
        ka.pool_handle = std::string(hs_.pool_handle(ref));
        ka.pe_identifier = e.element.identifier;
        send(pes_[ref].conn, ka, out);
        // The timeout runs from when the keep-alive goes out: a late tick must not time
        // the PE out in the same call.
        hs_.schedule(ref, TimerKind::keep_alive_timeout, now + config_.keepalive_timeout);
        break;
      }
      case TimerKind::keep_alive_timeout: {
        const auto& e = hs_.entry(ref);
        out.events.push_back(common::KeepaliveTimeoutEvent{
            wire::show_handle(hs_.pool_handle(ref)), wire::hex_id(e.element.identifier)});
        remove(ref, "keepalive_timeout", out);
        break;
      }
    }
  }
}

std::optional<TimePoint> Core::next_deadline() const {
  auto due = enrp_deadline();
  if (const auto t = hs_.next_timer(); t && (!due || t->due < *due)) due = t->due;
  return due;
}

}  // namespace rserpool::registrar
