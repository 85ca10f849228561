#include "stack/session/pe_core.hpp"

#include <algorithm>
#include <cassert>
#include <optional>
#include <string>
#include <string_view>

#include "stack/common/events.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::session {

namespace asap = wire::asap;
using json = nlohmann::json;
namespace common = rsplab::common;

std::string_view state_name(PeState s) {
  switch (s) {
    case PeState::idle: return "idle";
    case PeState::connecting: return "connecting";
    case PeState::registering: return "registering";
    case PeState::registered: return "registered";
    case PeState::deregistering: return "deregistering";
    case PeState::done: return "done";
  }
  return "?";
}

namespace {

// A pool's policy, transport type and data/control configuration are fixed by its first PE
// (RFC 5354's Inconsistent ... causes): every registrar of the pool refuses the same, so
// trying again or elsewhere cannot help. The stopped event's reason, or none.
std::optional<std::string_view> permanent_refusal(wire::CauseCode code) {
  switch (code) {
    case wire::CauseCode::inconsistent_pooling_policy: return "inconsistent_pooling_policy";
    case wire::CauseCode::inconsistent_transport_type: return "inconsistent_transport_type";
    case wire::CauseCode::inconsistent_data_control_configuration:
      return "inconsistent_data_control_configuration";
    default: return std::nullopt;
  }
}

// A registrar index as an event field; nullopt stays absent (null).
std::int64_t pr_of(RegistrarIndex i) { return static_cast<std::int64_t>(i); }
std::optional<std::int64_t> pr_of(std::optional<RegistrarIndex> i) {
  return i ? std::optional(pr_of(*i)) : std::nullopt;
}

// The RFC names of an Operation Error's causes (none without one).
std::vector<std::string> causes_of(const std::optional<wire::OperationError>& e) {
  std::vector<std::string> out;
  if (e)
    for (const auto& c : e->causes) out.emplace_back(wire::cause_name(c.code));
  return out;
}

// The PE's deregistered event (its causes, if any, added by the caller).
common::DeregisteredEvent deregistered(const PeConfig& c, std::optional<RegistrarIndex> i,
                                       bool confirmed) {
  return {pr_of(i), wire::show_handle(c.pool_handle), wire::hex_id(c.pe_identifier), confirmed,
          std::nullopt};
}

}  // namespace

PeCore::PeCore(PeConfig config)
    : config_(std::move(config)), known_(config_.registrar_count, true) {
  assert(config_.registration_life.count() > 0 && config_.reregistration_interval.count() > 0);
  assert(config_.retry_delay.count() >= 0 && config_.response_timeout.count() > 0);
}

bool PeCore::adaptive() const {
  const auto* info = wire::policy_info(config_.policy.type);
  return info != nullptr && info->adaptive();
}

std::optional<RegistrarIndex> PeCore::home() const {
  if (state_ == PeState::registered) return current_;
  return std::nullopt;
}

void PeCore::send(RegistrarIndex i, const asap::Message& m, Actions& out) {
  out.ops.push_back(Op{Op::Kind::send, i, wire::encode(m)});
}

void PeCore::discard(RegistrarIndex i, std::string reason, Actions& out) {
  ++counters_.discarded;
  common::MessageDiscardedEvent e;
  e.pr = static_cast<std::int64_t>(i);
  e.reason = std::move(reason);
  out.events.push_back(e);
}

std::optional<RegistrarIndex> PeCore::next_candidate() const {
  const std::size_t n = known_.size();
  for (std::size_t k = 0; k < n; ++k) {
    const RegistrarIndex i = (cursor_ + k) % n;
    if (known_[i]) return i;
  }
  return std::nullopt;
}

void PeCore::connect_to(RegistrarIndex i, TimePoint now, Actions& out) {
  current_ = i;
  connected_ = false;
  cursor_ = i + 1;
  state_ = PeState::connecting;
  retry_at_.reset();
  response_due_ = now + config_.response_timeout;
  home_server_id_.reset();
  out.ops.push_back(Op{Op::Kind::connect, i, {}});
}

void PeCore::connect_next(TimePoint now, Actions& out) {
  state_ = PeState::connecting;
  if (const auto i = next_candidate()) return connect_to(*i, now, out);
  out.events.push_back(common::NoRegistrarEvent{"waiting for an announce"});
}

void PeCore::drop_connection(Actions& out, Op::Kind how) {
  if (current_) out.ops.push_back(Op{how, *current_, {}});
  current_.reset();
  connected_ = false;
}

// Leaves the current registrar (closing the connection if still open) for the next one: at
// once, or after the retry delay when `delay` says so or a whole round has failed.
void PeCore::fail_over(std::optional<RegistrarIndex> from, std::string_view reason,
                       TimePoint now, Actions& out, bool delay) {
  drop_connection(out, Op::Kind::abort);  // nothing sent on it may arrive after we moved
  pending_ = false;
  response_due_.reset();
  rereg_due_.reset();
  ++counters_.failovers;
  ++failures_in_row_;
  const auto known = static_cast<std::size_t>(std::count(known_.begin(), known_.end(), true));
  if (failures_in_row_ >= known) delay = true;
  state_ = PeState::connecting;
  out.events.push_back(common::PeFailoverEvent{
      pr_of(from), pr_of(next_candidate()), std::string(reason),
      delay ? static_cast<std::int64_t>(config_.retry_delay.count()) : 0});
  if (delay) {
    failures_in_row_ = 0;
    retry_at_ = now + config_.retry_delay;
  } else {
    connect_next(now, out);
  }
}

void PeCore::finish(json event, Actions& out) {
  state_ = PeState::done;
  current_.reset();
  connected_ = false;
  pending_ = false;
  retry_at_.reset();
  response_due_.reset();
  rereg_due_.reset();
  out.events.push_back(std::move(event));
}

void PeCore::send_registration(TimePoint now, Actions& out) {
  assert(current_ && connected_);
  asap::Registration r;
  r.pool_handle = config_.pool_handle;
  r.pool_element.identifier = config_.pe_identifier;
  r.pool_element.registration_life = static_cast<std::int32_t>(config_.registration_life.count());
  r.pool_element.user_transport = config_.user_transport;
  r.pool_element.policy = config_.policy;
  send(*current_, r, out);
  ++counters_.registrations;
  pending_ = true;
  load_dirty_ = false;
  response_due_ = now + config_.response_timeout;
  // The cadence runs from each REGISTRATION sent, so it stays exactly periodic.
  rereg_due_ = now + config_.reregistration_interval;
}

void PeCore::start(TimePoint now, Actions& out) {
  if (state_ != PeState::idle) return;
  connect_next(now, out);
}

void PeCore::announce(std::uint32_t server_id, RegistrarIndex i, TimePoint now, Actions& out) {
  if (state_ == PeState::done) return;
  if (i >= known_.size()) known_.resize(i + 1, false);
  const bool fresh = !known_[i];
  known_[i] = true;
  if (fresh)
    out.events.push_back(common::RegistrarLearntEvent{pr_of(i), wire::hex_id(server_id)});
  // Started, nothing in progress and nothing scheduled: it was waiting for this.
  if (state_ == PeState::connecting && !current_ && !retry_at_) connect_to(i, now, out);
}

void PeCore::registrar_connected(RegistrarIndex i, TimePoint now, Actions& out) {
  // A connection we no longer want (an old attempt) is the shell's to drop; ignored.
  if (state_ != PeState::connecting || current_ != i || connected_) return;
  connected_ = true;
  state_ = PeState::registering;
  send_registration(now, out);
}

void PeCore::registrar_connect_failed(RegistrarIndex i, TimePoint now, Actions& out) {
  if (state_ != PeState::connecting || current_ != i || connected_) return;
  current_.reset();  // nothing to close
  fail_over(i, "connect_failed", now, out);
}

void PeCore::registrar_closed(RegistrarIndex i, TimePoint now, Actions& out) {
  if (current_ != i) return;
  current_.reset();
  connected_ = false;
  switch (state_) {
    case PeState::deregistering:
      return finish(deregistered(config_, i, false), out);
    case PeState::connecting:
    case PeState::registering:
    case PeState::registered: return fail_over(i, "closed", now, out);
    case PeState::idle:
    case PeState::done: return;
  }
}

void PeCore::registrar_accepted(RegistrarIndex i, TimePoint, Actions&) {
  if (i >= accepted_.size()) accepted_.resize(i + 1, false);
  accepted_[i] = true;
  ++counters_.accepted;
}

void PeCore::received(RegistrarIndex i, std::span<const std::uint8_t> bytes, TimePoint now,
                      Actions& out) {
  if (state_ == PeState::idle || state_ == PeState::done)
    return discard(i, std::string("not running (") + std::string(state_name(state_)) + ")", out);
  auto decoded = wire::decode_asap(bytes);
  if (!decoded) return discard(i, decoded.error().message(), out);
  // Unknown parameters the codec skipped are not reported back: a PE sends no errors.
  auto& m = decoded->message;
  if (const auto* r = std::get_if<asap::RegistrationResponse>(&m))
    return on_registration_response(i, *r, now, out);
  if (const auto* k = std::get_if<asap::EndpointKeepAlive>(&m))
    return on_keep_alive(i, *k, now, out);
  if (const auto* d = std::get_if<asap::DeregistrationResponse>(&m))
    return on_deregistration_response(i, *d, now, out);
  if (const auto* e = std::get_if<asap::Error>(&m)) {
    out.events.push_back(common::PeErrorReceivedEvent{pr_of(i), causes_of(e->error)});
    return;
  }
  discard(i, std::string("a PE does not take ") +
                 std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])),
          out);
}

void PeCore::on_registration_response(RegistrarIndex i, const asap::RegistrationResponse& m,
                                      TimePoint now, Actions& out) {
  if (current_ != i || !pending_ ||
      (state_ != PeState::registering && state_ != PeState::registered))
    return discard(i, "unexpected Registration Response", out);
  if (m.pool_handle != config_.pool_handle || m.pe_identifier != config_.pe_identifier)
    return discard(i, "Registration Response for another PE", out);
  pending_ = false;
  response_due_.reset();
  if (m.reject) {
    const bool has_cause = m.error && !m.error->causes.empty();
    const wire::CauseCode code = has_cause ? m.error->causes[0].code : wire::CauseCode{};
    const auto permanent_reason = has_cause ? permanent_refusal(code) : std::nullopt;
    const bool permanent = permanent_reason.has_value();
    out.events.push_back(common::PeRegistrationRejectedEvent{
        pr_of(i), wire::show_handle(config_.pool_handle), wire::hex_id(config_.pe_identifier),
        has_cause ? std::optional<std::string>(wire::cause_name(code)) : std::nullopt,
        permanent});
    if (permanent) {
      drop_connection(out);
      return finish(common::PeCoreStoppedEvent{std::string(*permanent_reason)}, out);
    }
    return fail_over(i, "rejected", now, out, /*delay=*/true);
  }
  failures_in_row_ = 0;
  const bool first = state_ == PeState::registering;
  state_ = PeState::registered;
  const auto* info = wire::policy_info(config_.policy.type);
  if (!first) ++counters_.reregistrations;
  out.events.push_back(common::RegisteredEvent{
      first ? "registered" : "reregistered", pr_of(i), wire::show_handle(config_.pool_handle),
      wire::hex_id(config_.pe_identifier),
      info ? std::optional<std::string>(info->short_name) : std::nullopt,
      static_cast<std::int64_t>(config_.policy.load)});
  if (load_dirty_) send_registration(now, out);  // the load changed meanwhile
}

void PeCore::on_keep_alive(RegistrarIndex i, const asap::EndpointKeepAlive& m, TimePoint now,
                           Actions& out) {
  if (m.pool_handle != config_.pool_handle ||
      (m.pe_identifier && *m.pe_identifier != config_.pe_identifier))
    return discard(i, "Endpoint Keep-Alive for another PE", out);
  send(i, asap::EndpointKeepAliveAck{config_.pool_handle, config_.pe_identifier}, out);
  ++counters_.keepalives_answered;
  if (!m.home) {
    if (current_ == i && !home_server_id_) home_server_id_ = m.server_id;
    return;
  }
  if (state_ == PeState::deregistering) return;  // leaving anyway
  const auto from = current_;
  const bool moved = current_ != i;
  if (moved && current_) out.ops.push_back(Op{Op::Kind::abort, *current_, {}});
  const bool changed = moved || home_server_id_ != m.server_id;
  current_ = i;
  connected_ = true;
  cursor_ = i + 1;
  if (i >= known_.size()) known_.resize(i + 1, false);
  if (i >= accepted_.size() || !accepted_[i]) known_[i] = true;  // one to connect to again
  home_server_id_ = m.server_id;
  retry_at_.reset();
  if (moved || state_ != PeState::registered) {
    // The new home holds this PE (it took it over): registered there, the cadence goes on.
    const bool was_registered = state_ == PeState::registered;
    state_ = PeState::registered;
    pending_ = false;
    response_due_.reset();
    failures_in_row_ = 0;
    if (!was_registered || !rereg_due_) rereg_due_ = now + config_.reregistration_interval;
  }
  if (changed)
    out.events.push_back(
        common::HomeChangedEvent{pr_of(from), pr_of(i), wire::hex_id(m.server_id)});
}

// Asked for (deregistering): done. Not asked for, while registering or registered there:
// the registrar does not hold this PE, which registers again at once (unless a registration
// is outstanding already, whose answer puts it back).
void PeCore::on_deregistration_response(RegistrarIndex i, const asap::DeregistrationResponse& d,
                                        TimePoint now, Actions& out) {
  const bool ours = state_ == PeState::deregistering || state_ == PeState::registering ||
                    state_ == PeState::registered;
  if (current_ != i || !ours) return discard(i, "unexpected Deregistration Response", out);
  if (d.pool_handle != config_.pool_handle || d.pe_identifier != config_.pe_identifier)
    return discard(i, "Deregistration Response for another PE", out);
  if (state_ != PeState::deregistering) {
    ++counters_.registrations_lost;
    out.events.push_back(common::RegistrationLostEvent{
        pr_of(i), wire::show_handle(config_.pool_handle), wire::hex_id(config_.pe_identifier),
        !pending_});
    state_ = PeState::registering;
    if (!pending_) send_registration(now, out);
    return;
  }
  out.ops.push_back(Op{Op::Kind::close, i, {}});
  common::DeregisteredEvent ev = deregistered(config_, i, true);
  if (d.error) ev.causes = causes_of(d.error);
  finish(ev, out);
}

void PeCore::set_load(std::uint32_t load, TimePoint now, Actions& out) {
  if (config_.policy.load == load) return;
  config_.policy.load = load;
  if (!adaptive() || state_ == PeState::idle || state_ == PeState::done) return;
  const bool at_once = state_ == PeState::registered && !pending_;
  out.events.push_back(common::LoadChangedEvent{static_cast<double>(load), std::nullopt,
                                                /*from_service=*/false, at_once});
  if (at_once) return send_registration(now, out);
  if (pending_) load_dirty_ = true;  // after the outstanding response
  // Otherwise the next registration carries it.
}

void PeCore::shutdown(TimePoint now, Actions& out) {
  switch (state_) {
    case PeState::registering:
    case PeState::registered: {
      send(*current_, asap::Deregistration{config_.pool_handle, config_.pe_identifier}, out);
      state_ = PeState::deregistering;
      pending_ = false;
      retry_at_.reset();
      rereg_due_.reset();
      response_due_ = now + config_.response_timeout;
      return;
    }
    case PeState::idle:
    case PeState::connecting:
      drop_connection(out);
      return finish(common::PeCoreStoppedEvent{"shutdown"}, out);
    case PeState::deregistering:
    case PeState::done: return;
  }
}

void PeCore::tick(TimePoint now, Actions& out) {
  if (retry_at_ && *retry_at_ <= now) {
    retry_at_.reset();
    if (state_ == PeState::connecting && !current_) connect_next(now, out);
  }
  if (response_due_ && *response_due_ <= now) {
    response_due_.reset();
    switch (state_) {
      case PeState::connecting:
      case PeState::registering:
        fail_over(current_, "timeout", now, out);
        break;
      case PeState::registered:
        if (pending_) fail_over(current_, "timeout", now, out);
        break;
      case PeState::deregistering: {
        const auto from = current_;
        drop_connection(out);
        finish(deregistered(config_, from, false), out);
        break;
      }
      case PeState::idle:
      case PeState::done: break;
    }
  }
  if (rereg_due_ && *rereg_due_ <= now && state_ == PeState::registered && !pending_)
    send_registration(now, out);
}

std::optional<TimePoint> PeCore::next_deadline() const {
  std::optional<TimePoint> d;
  const auto take = [&d](std::optional<TimePoint> t) {
    if (t && (!d || *t < *d)) d = t;
  };
  take(retry_at_);
  take(response_due_);
  if (state_ == PeState::registered && !pending_) take(rereg_due_);
  return d;
}

}  // namespace rserpool::session
