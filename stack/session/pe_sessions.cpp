// PeSessions: the generic PE side of the session layer (pe_sessions.hpp).
#include "stack/session/pe_sessions.hpp"

#include <algorithm>
#include <cassert>
#include <utility>
#include <variant>

#include "stack/common/events.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::session {

namespace asap = wire::asap;
namespace common = rsplab::common;

PeSessions::PeSessions(SessionConfig config, PeService& service, SessionCounters& counters)
    : config_(config), service_(service), counters_(counters), rng_(config.seed) {
  assert(config_.keepalive_interval.count() > 0 && config_.keepalive_timeout.count() > 0);
}

void PeSessions::send(SessionId s, wire::Bytes message, ServiceActions& out) {
  out.ops.push_back(SessionOp{SessionOp::Kind::send, s, service_.ppid(), std::move(message)});
}

void PeSessions::send_cookie(SessionId s, wire::Bytes state, ServiceActions& out) {
  const asap::Message m = asap::Cookie{std::move(state)};
  out.ops.push_back(SessionOp{SessionOp::Kind::send, s, wire::kPpidAsap, wire::encode(m)});
  ++counters_.cookies;
}

void PeSessions::discard(SessionId s, std::uint32_t ppid, std::string reason,
                         ServiceActions& out) {
  ++counters_.discarded;
  common::MessageDiscardedEvent e;
  e.session = static_cast<std::int64_t>(s);
  e.ppid = ppid;
  e.reason = std::move(reason);
  out.events.push_back(e);
}

// The session's state dropped (`cause` for the service), session_closed, forgotten.
void PeSessions::close(SessionId s, std::string_view cause, TimePoint now, ServiceActions& out) {
  const std::string_view closed_cause = cause == "session_lost" ? "peer" : cause;
  service_.ended(s, cause, now, out);
  out.events.push_back(
      common::SessionClosedEvent{static_cast<std::int64_t>(s), std::string(closed_cause)});
  sessions_.erase(s);
}

void PeSessions::opened(SessionId s, TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = service_.advance(now, out);
  const auto [it, fresh] = sessions_.try_emplace(s);
  if (fresh) {  // a SessionId is never reused: a second open of a live one is ignored
    it->second.last_heard = now;
    ++counters_.sessions;
    out.events.push_back(common::SessionOpenedEvent{static_cast<std::int64_t>(s)});
  }
  service_.settle(now, out);
}

void PeSessions::closed(SessionId s, TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  const std::size_t first_op = out.ops.size();
  now = service_.advance(now, out);
  if (sessions_.contains(s)) {
    // The shell has no connection left for them (a message that fell due meanwhile).
    out.ops.erase(std::remove_if(out.ops.begin() + static_cast<std::ptrdiff_t>(first_op),
                                 out.ops.end(),
                                 [s](const SessionOp& op) { return op.session == s; }),
                  out.ops.end());
    close(s, "session_lost", now, out);
  }
  service_.settle(now, out);
}

void PeSessions::received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                          TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = service_.advance(now, out);
  const auto it = sessions_.find(s);
  if (it == sessions_.end()) {
    discard(s, ppid, "unknown session", out);
  } else if (ppid == service_.ppid()) {
    if (service_.data(s, message, now, out)) {
      if (const auto again = sessions_.find(s); again != sessions_.end()) again->second.heard(now);
    }
  } else if (ppid == wire::kPpidAsap) {
    on_asap(s, it->second, message, now, out);
  } else {
    discard(s, ppid,
            "PPID " + std::to_string(ppid) + " is neither ASAP (11) nor " +
                std::string(service_.name()) + " (" + std::to_string(service_.ppid()) + ")",
            out);
  }
  service_.settle(now, out);
}

void PeSessions::on_asap(SessionId s, Session& session, std::span<const std::uint8_t> bytes,
                         TimePoint now, ServiceActions& out) {
  const auto d = wire::decode_asap(bytes);
  if (!d) return discard(s, wire::kPpidAsap, "ASAP: " + d.error().message(), out);
  session.heard(now);
  const auto* echo = std::get_if<asap::CookieEcho>(&d->message);
  if (echo == nullptr)
    return discard(s, wire::kPpidAsap,
                   "a PE does not take " +
                       std::string(wire::message_type_name(
                           wire::Protocol::asap,
                           static_cast<std::uint8_t>(asap::type_of(d->message)))),
                   out);
  service_.cookie_echo(s, echo->cookie, now, out);
}

void PeSessions::tick(TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = service_.advance(now, out);
  // Keep-alive timers: one pass to find what is due, handled in deadline order.
  std::vector<std::pair<TimePoint, SessionId>> due;
  for (const auto& [id, session] : sessions_)
    if (const TimePoint t = session.keepalive_due(config_); t <= now) due.emplace_back(t, id);
  std::sort(due.begin(), due.end());
  for (const auto& [t, id] : due) {
    Session& session = sessions_.at(id);
    if (!session.keepalive_sent) {
      send(id, service_.keepalive(id), out);
      session.keepalive_sent = now;
      continue;
    }
    out.ops.push_back(SessionOp{SessionOp::Kind::close, id, 0, {}});
    ++counters_.keepalive_timeouts;
    close(id, "keepalive_timeout", now, out);
  }
  service_.settle(now, out);
}

std::optional<TimePoint> PeSessions::next_deadline() const {
  if (shut_down_) return std::nullopt;
  std::optional<TimePoint> d = service_.service_deadline();
  for (const auto& [id, session] : sessions_) {
    const TimePoint t = session.keepalive_due(config_);
    if (!d || t < *d) d = t;
  }
  return d;
}

void PeSessions::shutdown(TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = service_.advance(now, out);
  shut_down_ = true;
  std::vector<SessionId> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // reproducible draws and op order
  for (const SessionId id : ids) {
    if (!service_.has_state(id)) continue;
    if (!(values::uniform01(rng_) < config_.shutdown_cookie_probability)) continue;
    service_.send_state_cookie(id, out);
  }
  for (const SessionId id : ids) {
    out.ops.push_back(SessionOp{SessionOp::Kind::close, id, 0, {}});
    close(id, "shutdown", now, out);
  }
}

}  // namespace rserpool::session
