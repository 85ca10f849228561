// PuSession: the generic PU side of the session layer (pu_session.hpp).
#include "stack/session/pu_session.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "stack/common/events.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::session {

namespace asap = wire::asap;
using json = nlohmann::json;
namespace common = rsplab::common;
using std::chrono::microseconds;

std::string_view state_name(PuState s) {
  switch (s) {
    case PuState::idle: return "idle";
    case PuState::resolving: return "resolving";
    case PuState::connecting: return "connecting";
    case PuState::requested: return "requested";
    case PuState::running: return "running";
    case PuState::backoff: return "backoff";
    case PuState::done: return "done";
  }
  return "?";
}

namespace {

std::int64_t us(Clock::duration d) {
  return std::chrono::duration_cast<microseconds>(d).count();
}

std::optional<std::int64_t> opt(const std::optional<RegistrarIndex>& v) {
  return v ? std::optional<std::int64_t>(*v) : std::nullopt;
}

std::string from_registrar(RegistrarIndex i) { return "registrar " + std::to_string(i); }
std::string from_session(SessionId s) { return "session " + std::to_string(s); }

std::vector<std::string> ids(const std::vector<wire::PoolElement>& pes) {
  std::vector<std::string> v;
  for (const auto& pe : pes) v.push_back(wire::hex_id(pe.identifier));
  return v;
}

}  // namespace

PuSession::PuSession(PuSessionConfig config, PuService& service, PuSessionCounters& counters)
    : config_(std::move(config)),
      service_(service),
      counters_(counters),
      rng_(config_.seed ^ 0x5bd1e9955bd1e995ULL) {
  assert(config_.registrar_count >= 1);
  assert(config_.keepalive_interval.count() > 0 && config_.keepalive_timeout.count() > 0);
  assert(config_.registrar_timeout.count() > 0 && config_.pe_connect_timeout.count() > 0);
  assert(config_.empty_pool_retry.count() >= 0 && config_.registrar_retry_delay.count() >= 0);
  assert(config_.stale_cache.count() >= 0);
}

std::int64_t PuSession::abs_us(TimePoint t) const {
  return config_.epoch_us + us(t - config_.epoch);
}

void PuSession::anchor_clock(TimePoint now, std::int64_t now_us) {
  config_.epoch = now;
  config_.epoch_us = now_us;
}

void PuSession::discard(std::string from, std::string reason, PuActions& out) {
  ++counters_.discarded;
  common::MessageDiscardedEvent e;
  e.from = std::move(from);
  e.reason = std::move(reason);
  out.events.push_back(e);
}

// ---------------------------------------------------------------------------------------
// Registrars

void PuSession::connect_registrar(RegistrarIndex i, TimePoint now, PuActions& out) {
  registrar_ = i;
  registrar_up_ = false;
  outstanding_ = false;
  cursor_ = (i + 1) % config_.registrar_count;
  registrar_retry_at_.reset();
  registrar_due_ = now + config_.registrar_timeout;
  PuOp op;
  op.kind = PuOp::Kind::connect_registrar;
  op.registrar = i;
  out.ops.push_back(std::move(op));
}

void PuSession::close_registrar(PuActions& out) {
  if (registrar_) {
    PuOp op;
    op.kind = PuOp::Kind::close_registrar;
    op.registrar = *registrar_;
    out.ops.push_back(std::move(op));
  }
  registrar_.reset();
  registrar_up_ = false;
  outstanding_ = false;
  registrar_due_.reset();
}

void PuSession::send_registrar(const asap::Message& m, PuActions& out) {
  assert(registrar_ && registrar_up_);
  PuOp op;
  op.kind = PuOp::Kind::send_registrar;
  op.registrar = *registrar_;
  op.message = wire::encode(m);
  out.ops.push_back(std::move(op));
}

// Leaves the current registrar for the next one: at once, or after the retry delay when
// a whole round has failed. `close`: the connection (or attempt) is still ours to close.
void PuSession::registrar_failover(std::string_view reason, bool close, TimePoint now,
                                   PuActions& out) {
  const auto from = registrar_;
  if (close) {
    close_registrar(out);
  } else {
    registrar_.reset();
    registrar_up_ = false;
    outstanding_ = false;
    registrar_due_.reset();
  }
  ++counters_.registrar_failovers;
  ++failures_in_row_;
  out.events.push_back(common::RegistrarFailoverEvent{
      opt(from), static_cast<std::int64_t>(cursor_), std::string(reason)});
  if (failures_in_row_ >= config_.registrar_count) {
    failures_in_row_ = 0;
    registrar_retry_at_ = now + config_.registrar_retry_delay;
  } else {
    connect_registrar(cursor_, now, out);
  }
}

void PuSession::send_resolution(TimePoint now, PuActions& out) {
  send_registrar(asap::HandleResolution{config_.pool_handle, config_.resolution_items}, out);
  outstanding_ = true;
  resolution_sent_ = now;
  registrar_due_ = now + config_.registrar_timeout;
}

// Asks a registrar: now when one is connected, else once one is.
void PuSession::ask_registrar(TimePoint now, PuActions& out) {
  want_resolution_ = true;
  if (registrar_up_) {
    if (!outstanding_) send_resolution(now, out);
  } else if (!registrar_ && !registrar_retry_at_) {
    connect_registrar(cursor_, now, out);
  }
}

void PuSession::cache_answer(const asap::HandleResolutionResponse& r, TimePoint now) {
  if (config_.stale_cache.count() <= 0 || r.error) return;
  for (const auto& pe : r.pool_elements) {
    const auto reg = cache_.register_pe(config_.pool_handle, pe);
    if (reg.outcome == handlespace::Handlespace::Outcome::added ||
        reg.outcome == handlespace::Handlespace::Outcome::updated)
      cache_.schedule(reg.ref, handlespace::TimerKind::expiry, now + config_.stale_cache);
  }
}

void PuSession::on_registrar_message(RegistrarIndex i, std::span<const std::uint8_t> bytes,
                                     TimePoint now, PuActions& out) {
  if (registrar_ != i || !registrar_up_)
    return discard(from_registrar(i), "not the current registrar", out);
  auto decoded = wire::decode_asap(bytes);
  if (!decoded) return discard(from_registrar(i), decoded.error().message(), out);
  const auto* r = std::get_if<asap::HandleResolutionResponse>(&decoded->message);
  if (r == nullptr)
    return discard(from_registrar(i),
                   std::string("a PU does not take ") +
                       std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])),
                   out);
  if (!outstanding_)
    return discard(from_registrar(i), "unexpected Handle Resolution Response", out);
  if (r->pool_handle != config_.pool_handle)
    return discard(from_registrar(i), "Handle Resolution Response for another pool", out);
  outstanding_ = false;
  want_resolution_ = false;
  registrar_due_.reset();
  failures_in_row_ = 0;
  ++counters_.resolutions;
  cache_answer(*r, now);
  std::vector<wire::PoolElement> pes = r->error ? std::vector<wire::PoolElement>{}
                                                : r->pool_elements;
  common::HandleResolutionEvent ev{ids(pes), wire::show_handle(config_.pool_handle),
                                   static_cast<std::int64_t>(i), false,
                                   us(now - resolution_sent_), std::nullopt};
  if (pes.empty()) {
    ev.error = r->error && !r->error->causes.empty()
                   ? std::string(wire::cause_name(r->error->causes[0].code))
                   : std::string("empty pool");
  }
  out.events.push_back(ev);
  resolved(pes, now, out);
}

// ---------------------------------------------------------------------------------------
// Resolution and PE selection

void PuSession::purge_cache(TimePoint now) {
  while (const auto t = cache_.next_timer()) {
    if (t->due > now) break;
    cache_.remove(t->pe);
  }
}

void PuSession::resolve(TimePoint now, PuActions& out) {
  assert(unit_);
  state_ = PuState::resolving;
  resolve_retry_at_.reset();
  backoff_until_.reset();
  if (config_.stale_cache.count() > 0) {
    purge_cache(now);
    const auto members = cache_.members(config_.pool_handle);
    if (!members.empty()) {
      refs_.clear();
      cache_.select(config_.pool_handle, members.size(), rng_, refs_);
      std::vector<wire::PoolElement> pes;
      for (const auto ref : refs_) pes.push_back(cache_.entry(ref).element);
      ++counters_.resolutions;
      ++counters_.cache_hits;
      out.events.push_back(common::HandleResolutionEvent{
          ids(pes), wire::show_handle(config_.pool_handle), std::nullopt, true, 0,
          std::nullopt});
      return resolved(pes, now, out);
    }
  }
  ask_registrar(now, out);
}

void PuSession::resolved(const std::vector<wire::PoolElement>& pes, TimePoint now,
                         PuActions& out) {
  if (!unit_ || state_ != PuState::resolving) return;  // nothing waits for it
  if (pes.empty()) {
    resolve_retry_at_ = now + config_.empty_pool_retry;
    return;
  }
  const wire::PoolElement* pick = &pes.front();
  for (const auto& pe : pes)
    if (!unit_->avoid || pe.identifier != *unit_->avoid) {
      pick = &pe;
      break;
    }
  connect_pe(pick->identifier, pick->user_transport, false, now, out);
}

// ---------------------------------------------------------------------------------------
// PE sessions

void PuSession::connect_pe(std::uint32_t pe, const wire::Transport& transport, bool recheck,
                           TimePoint now, PuActions& out) {
  session_ = PeSession{next_session_++, pe, false, now, now + config_.pe_connect_timeout,
                       std::nullopt, transport, recheck, {}};
  state_ = PuState::connecting;
  unit_->pe = pe;
  if (failover_) ++failover_->attempts;
  PuOp op;
  op.kind = PuOp::Kind::connect_pe;
  op.session = session_->id;
  op.pe = transport;
  op.pe_identifier = pe;
  out.ops.push_back(std::move(op));
}

void PuSession::close_pe(PuActions& out) {
  if (!session_) return;
  PuOp op;
  op.kind = PuOp::Kind::close_pe;
  op.session = session_->id;
  out.ops.push_back(std::move(op));
  session_.reset();
}

void PuSession::send_pe(std::uint32_t ppid, wire::Bytes message, PuActions& out) {
  assert(session_);
  PuOp op;
  op.kind = PuOp::Kind::send_pe;
  op.session = session_->id;
  op.ppid = ppid;
  op.message = std::move(message);
  out.ops.push_back(std::move(op));
}

void PuSession::send(wire::Bytes message, PuActions& out) {
  assert(state_ == PuState::running);
  send_pe(service_.ppid(), std::move(message), out);
}

void PuSession::complete(TimePoint now, PuActions& out) {
  assert(state_ == PuState::running && unit_);
  close_pe(out);
  const Unit u = std::move(*unit_);
  unit_.reset();
  failover_.reset();
  state_ = PuState::idle;
  service_.finished(u, now, out);
}

void PuSession::send_start(PuActions& out) {
  if (unit_->cookie) {
    unit_->echoed = true;
    unit_->echoed_progress = unit_->cookie_progress;
    send_pe(wire::kPpidAsap, wire::encode(asap::CookieEcho{*unit_->cookie}), out);
    if (auto then = service_.resume_message(*unit_)) send_pe(service_.ppid(), std::move(*then), out);
  } else {
    unit_->echoed = false;
    unit_->echoed_progress = 0;
    send_pe(service_.ppid(), service_.start_message(*unit_), out);
  }
  state_ = PuState::requested;
}

// The session with the PE in use broke, or no connection to it came up. A session that
// broke is first connected again (the shell tries every pair of addresses): the PU's own
// path may be what failed. The PE is reported and avoided only when that fails too.
void PuSession::pe_failed(std::string_view cause, bool close, TimePoint now, PuActions& out,
                          std::vector<std::string> paths) {
  assert(session_ && unit_);
  const PeSession failed = *session_;
  if (close) close_pe(out);
  session_.reset();
  if (!failover_) {
    failover_ = Failover{failed.pe, cause, us(now - failed.last_heard), unit_->reported, 0, {},
                         now, failed.local};
    ++counters_.failovers;
    ++unit_->failovers;
  }
  for (auto& p : paths) failover_->paths.push_back(std::move(p));
  if (failed.connected && !failed.recheck)
    return connect_pe(failed.pe, failed.transport, true, now, out);
  if (registrar_up_) {
    send_registrar(asap::EndpointUnreachable{config_.pool_handle, failed.pe}, out);
    ++counters_.unreachable_reports;
  }
  if (const auto ref = cache_.find(config_.pool_handle, failed.pe)) cache_.remove(*ref);
  unit_->avoid = failed.pe;
  resolve(now, out);
}

void PuSession::write_failover(std::optional<std::uint32_t> to_pe, PuActions& out) {
  if (!failover_ || !unit_) return;
  common::FailoverEvent ev;
  ev.job = unit_->id;
  ev.from_pe = wire::hex_id(failover_->from_pe);
  ev.cause = failover_->cause;
  ev.detection_delay_us = failover_->detection_delay_us;
  ev.attempts = failover_->attempts;
  ev.paths = failover_->paths;
  ev.detected_us = abs_us(failover_->detected);
  if (failover_->local.port != 0) {
    ev.local_addresses = failover_->local.addresses;
    ev.local_port = failover_->local.port;
  }
  if (to_pe) {
    ev.to_pe = wire::hex_id(*to_pe);
    ev.cookie = unit_->echoed;
    ev.resumed = static_cast<std::int64_t>(unit_->echoed_progress);
    ev.lost = static_cast<std::int64_t>(failover_->reported > unit_->echoed_progress
                                            ? failover_->reported - unit_->echoed_progress
                                            : 0);
  } else {
    ev.lost = static_cast<std::int64_t>(failover_->reported);
  }
  out.events.push_back(ev);
  failover_.reset();
}

void PuSession::on_pe_message(SessionId s, std::uint32_t ppid,
                              std::span<const std::uint8_t> bytes, TimePoint now,
                              PuActions& out) {
  if (!session_ || session_->id != s || !session_->connected || !unit_)
    return discard(from_session(s), "not the current session", out);
  // Whatever it is, the PE is alive.
  session_->last_heard = now;
  session_->keepalive_sent.reset();
  session_->recheck = false;
  if (ppid == wire::kPpidAsap) return on_pe_asap(s, bytes, out);
  if (ppid != service_.ppid())
    return discard(from_session(s), "unknown PPID " + std::to_string(ppid), out);
  on_reply(s, service_.reply(*unit_, bytes), now, out);
}

void PuSession::on_reply(SessionId s, Reply r, TimePoint now, PuActions& out) {
  using K = Reply::Kind;
  const bool requested = state_ == PuState::requested, running = state_ == PuState::running;
  if (((r.kind == K::accepted || r.kind == K::rejected) && !requested) ||
      (r.kind == K::done && !running))
    return discard(from_session(s), "unexpected " + r.name, out);
  switch (r.kind) {
    case K::accepted:
      state_ = PuState::running;
      if (!unit_->accepted) unit_->accepted = now;
      unit_->reported = r.progress;
      write_failover(session_->pe, out);
      return service_.accepted(*unit_, now, out);
    case K::rejected: {
      const std::uint32_t pe = session_->pe;
      close_pe(out);
      ++counters_.rejects;
      ++unit_->rejects;
      unit_->avoid = pe;
      out.events.push_back(common::PuJobRejectedEvent{unit_->id, wire::hex_id(pe)});
      state_ = PuState::backoff;
      backoff_until_ = now + values::sample_duration(config_.reject_retry_delay, rng_);
      return;
    }
    case K::done:
      return complete(now, out);
    case K::progress:
      if (running) unit_->reported = r.progress;
      return;
    case K::answer:
      return send_pe(service_.ppid(), std::move(r.answer), out);
    case K::heard:
      return;
    case K::discard:
      return discard(from_session(s), std::move(r.reason), out);
  }
}

void PuSession::on_pe_asap(SessionId s, std::span<const std::uint8_t> bytes, PuActions& out) {
  auto decoded = wire::decode_asap(bytes);
  if (!decoded) return discard(from_session(s), decoded.error().message(), out);
  const auto* c = std::get_if<asap::Cookie>(&decoded->message);
  if (c == nullptr)
    return discard(from_session(s),
                   std::string("a PU does not take ") +
                       std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])) +
                       " from a PE",
                   out);
  const CookieState state = service_.cookie(*unit_, c->cookie);
  if (!state.progress) return discard(from_session(s), state.error, out);
  unit_->cookie = c->cookie;
  unit_->cookie_progress = *state.progress;
  unit_->reported = *state.progress;
}

// ---------------------------------------------------------------------------------------
// Units

void PuSession::begin(Unit unit, TimePoint now, PuActions& out) {
  assert(started_ && !unit_);
  unit_ = std::move(unit);
  resolve(now, out);
}

std::optional<Unit> PuSession::abandon(PuActions& out) {
  if (!unit_) return std::nullopt;
  write_failover(std::nullopt, out);
  close_pe(out);
  std::optional<Unit> u = std::move(unit_);
  unit_.reset();
  return u;
}

void PuSession::close_all(PuActions& out) {
  close_pe(out);
  close_registrar(out);
  state_ = PuState::done;
  want_resolution_ = false;
  registrar_retry_at_.reset();
  resolve_retry_at_.reset();
  backoff_until_.reset();
  session_.reset();
}

// ---------------------------------------------------------------------------------------
// Inputs

void PuSession::start(TimePoint now, PuActions& out) {
  if (started_ || state_ == PuState::done) return;
  started_ = true;
  connect_registrar(0, now, out);
  service_.started(now, out);
}

void PuSession::registrar_connected(RegistrarIndex i, TimePoint now, PuActions& out) {
  // A connection we no longer want is the shell's to drop; ignored.
  if (!running() || registrar_ != i || registrar_up_) return;
  registrar_up_ = true;
  registrar_due_.reset();
  if (want_resolution_) send_resolution(now, out);
}

void PuSession::registrar_connect_failed(RegistrarIndex i, TimePoint now, PuActions& out) {
  if (!running() || registrar_ != i || registrar_up_) return;
  registrar_failover("connect_failed", false, now, out);
}

void PuSession::registrar_closed(RegistrarIndex i, TimePoint now, PuActions& out) {
  if (!running() || registrar_ != i) return;
  registrar_failover("closed", false, now, out);
}

void PuSession::registrar_received(RegistrarIndex i, std::span<const std::uint8_t> message,
                                   TimePoint now, PuActions& out) {
  if (!running()) return;
  on_registrar_message(i, message, now, out);
}

void PuSession::pe_connected(SessionId s, TimePoint now, PuActions& out, SessionEnd local) {
  if (!running() || !session_ || session_->id != s || session_->connected) return;
  session_->connected = true;
  session_->local = std::move(local);
  session_->connect_due.reset();
  session_->last_heard = now;
  // Reached again after a broken session: the start is the probe, answered within
  // keepalive_timeout or the PE counts as failed.
  if (session_->recheck) session_->keepalive_sent = now;
  else session_->keepalive_sent.reset();
  send_start(out);
}

void PuSession::pe_connect_failed(SessionId s, TimePoint now, PuActions& out,
                                  std::vector<std::string> paths) {
  if (!running() || !session_ || session_->id != s || session_->connected) return;
  pe_failed("connect_failed", false, now, out, std::move(paths));
}

void PuSession::pe_closed(SessionId s, TimePoint now, PuActions& out) {
  if (!running() || !session_ || session_->id != s) return;
  pe_failed(session_->connected ? "connection_lost" : "connect_failed", false, now, out);
}

void PuSession::pe_received(SessionId s, std::uint32_t ppid,
                            std::span<const std::uint8_t> message, TimePoint now,
                            PuActions& out) {
  if (!running()) return;
  on_pe_message(s, ppid, message, now, out);
}

// ---------------------------------------------------------------------------------------
// Time

void PuSession::session_timers(TimePoint now, PuActions& out) {
  if (!session_) return;
  if (!session_->connected) {
    if (session_->connect_due && *session_->connect_due <= now)
      pe_failed("connect_failed", true, now, out);
  } else if (session_->keepalive_sent) {
    if (*session_->keepalive_sent + config_.keepalive_timeout <= now)
      pe_failed("keepalive_timeout", true, now, out);
  } else if (session_->last_heard + config_.keepalive_interval <= now) {
    session_->keepalive_sent = now;
    send_pe(service_.ppid(), service_.keepalive(*unit_), out);
  }
}

void PuSession::tick(TimePoint now, PuActions& out) {
  if (!running()) return;
  if (registrar_retry_at_ && *registrar_retry_at_ <= now) {
    registrar_retry_at_.reset();
    if (!registrar_) connect_registrar(cursor_, now, out);
  }
  if (registrar_due_ && *registrar_due_ <= now) {
    registrar_due_.reset();
    if (registrar_ && (!registrar_up_ || outstanding_)) registrar_failover("timeout", true, now, out);
  }
  session_timers(now, out);
  if (backoff_until_ && *backoff_until_ <= now) {
    backoff_until_.reset();
    if (state_ == PuState::backoff && unit_) resolve(now, out);
  }
  if (resolve_retry_at_ && *resolve_retry_at_ <= now) {
    resolve_retry_at_.reset();
    if (state_ == PuState::resolving && unit_) resolve(now, out);
  }
}

std::optional<TimePoint> PuSession::next_deadline() const {
  if (!running()) return std::nullopt;
  std::optional<TimePoint> d;
  const auto take = [&d](std::optional<TimePoint> t) {
    if (t && (!d || *t < *d)) d = t;
  };
  take(registrar_due_);
  take(registrar_retry_at_);
  take(resolve_retry_at_);
  take(backoff_until_);
  if (session_) {
    if (!session_->connected) take(session_->connect_due);
    else if (session_->keepalive_sent) take(*session_->keepalive_sent + config_.keepalive_timeout);
    else take(session_->last_heard + config_.keepalive_interval);
  }
  return d;
}

}  // namespace rserpool::session
