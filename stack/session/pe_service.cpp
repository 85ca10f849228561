#include "stack/session/pe_service.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "stack/calcapp/messages.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::session {

namespace asap = wire::asap;
using calcapp::MessageType;
using json = nlohmann::json;

CalcAppService::CalcAppService(ServiceConfig config, TimePoint start)
    : config_(std::move(config)),
      server_(config_.server, start),
      rng_(config_.seed),
      last_now_(start) {
  assert(config_.keepalive_interval.count() > 0 && config_.keepalive_timeout.count() > 0);
  assert(config_.usage_interval.count() >= 0);
  if (config_.usage_interval.count() > 0) next_usage_ = start + config_.usage_interval;
}

double CalcAppService::load_fraction() const {
  const auto max = config_.server.max_jobs;
  return static_cast<double>(std::min(server_.jobs(), max)) / static_cast<double>(max);
}

// ---------------------------------------------------------------------------------------
// Output helpers

void CalcAppService::send(SessionId s, std::uint32_t ppid, wire::Bytes message,
                          ServiceActions& out) {
  out.ops.push_back(SessionOp{SessionOp::Kind::send, s, ppid, std::move(message)});
}

void CalcAppService::send_calcapp(SessionId s, MessageType type, std::uint32_t job,
                                  std::uint64_t size, std::uint64_t completed,
                                  ServiceActions& out) {
  const calcapp::Message m{type, 0, job, size, completed};
  send(s, wire::kPpidCalcApp, calcapp::encode(m), out);
}

void CalcAppService::send_cookie(SessionId s, std::uint32_t job, std::uint64_t size,
                                 std::uint64_t completed, ServiceActions& out) {
  const asap::Message m = asap::Cookie{calcapp::encode(calcapp::Cookie{job, size, completed})};
  send(s, wire::kPpidAsap, wire::encode(m), out);
  ++counters_.cookies;
  out.events.push_back({{"event", "cookie_sent"}, {"session", s}, {"job", job}, {"size", size},
                        {"completed", completed}});
}

void CalcAppService::discard(SessionId s, std::uint32_t ppid, std::string reason,
                             ServiceActions& out) {
  ++counters_.discarded;
  out.events.push_back({{"event", "message_discarded"}, {"session", s}, {"ppid", ppid},
                        {"reason", std::move(reason)}});
}

// What the server reports: a COMPLETE per finished job, a COOKIE per state due.
void CalcAppService::report(const calcapp::Events& events, ServiceActions& out) {
  for (const auto& c : events.completed) {
    const auto it = sessions_.find(c.key);
    if (it == sessions_.end() || !it->second.job_id) continue;  // cannot happen
    const std::uint32_t job = *it->second.job_id;
    it->second.job_id.reset();
    send_calcapp(c.key, MessageType::complete, job, c.size, c.size, out);
    ++counters_.completed;
    out.events.push_back(
        {{"event", "job_completed"}, {"session", c.key}, {"job", job}, {"size", c.size}});
  }
  for (const auto& c : events.cookies) {
    const auto it = sessions_.find(c.key);
    if (it == sessions_.end() || !it->second.job_id) continue;  // cannot happen
    send_cookie(c.key, *it->second.job_id, c.size, c.completed, out);
  }
}

void CalcAppService::report_load(ServiceActions& out) {
  const std::uint32_t load = server_.load();
  if (load == last_load_) return;
  last_load_ = load;
  out.events.push_back(
      {{"event", "load_changed"}, {"load", load_fraction()}, {"jobs", server_.jobs()}});
}

// Moves the server to `now`: usage windows that ended on the way (each exactly at its
// boundary), then whatever fell due. Returns `now`, never before the previous input's.
TimePoint CalcAppService::catch_up(TimePoint now, ServiceActions& out) {
  now = std::max(now, last_now_);
  last_now_ = now;
  while (next_usage_ && *next_usage_ <= now) {
    const TimePoint t = *next_usage_;
    report(server_.advance(t), out);
    const calcapp::Usage u = server_.take_usage(t);
    out.events.push_back({{"event", "usage"},
                          {"calculations", u.calculations},
                          {"offered", u.offered},
                          {"utilization", u.utilization()}});
    next_usage_ = t + config_.usage_interval;
  }
  report(server_.advance(now), out);
  return now;
}

// ---------------------------------------------------------------------------------------
// Jobs

void CalcAppService::admit(SessionId s, Session& session, std::uint32_t job, std::uint64_t size,
                           std::uint64_t completed, bool resumed, TimePoint now,
                           ServiceActions& out) {
  switch (server_.admit(s, size, completed, now)) {
    case calcapp::Admission::accepted:
      session.job_id = job;
      ++counters_.accepted;
      if (resumed) ++counters_.resumed;
      send_calcapp(s, MessageType::accept, job, size, completed, out);
      out.events.push_back({{"event", "job_accepted"},
                            {"session", s},
                            {"job", job},
                            {"size", size},
                            {"completed", completed},
                            {"resumed", resumed},
                            {"jobs", server_.jobs()},
                            {"load", load_fraction()}});
      return;
    case calcapp::Admission::full:
      ++counters_.rejected;
      send_calcapp(s, MessageType::reject, job, size, completed, out);
      out.events.push_back({{"event", "job_rejected"},
                            {"session", s},
                            {"job", job},
                            {"size", size},
                            {"jobs", server_.jobs()}});
      return;
    case calcapp::Admission::duplicate:  // cannot happen: one job per session
      return discard(s, resumed ? wire::kPpidAsap : wire::kPpidCalcApp,
                     "the session's job is active already", out);
    case calcapp::Admission::invalid:  // the decoders refuse it already
      return discard(s, resumed ? wire::kPpidAsap : wire::kPpidCalcApp,
                     "completed above the job size", out);
  }
}

void CalcAppService::drop_job(SessionId s, Session& session, std::string_view cause,
                              TimePoint now, ServiceActions& out) {
  if (!session.job_id) return;
  const std::uint32_t job = *session.job_id;
  session.job_id.reset();
  // Completions up to `now` were reported before (catch_up), so the job is active.
  const auto state = server_.remove(s, now);
  if (!state) return;
  ++counters_.aborted;
  out.events.push_back({{"event", "job_aborted"},
                        {"session", s},
                        {"job", job},
                        {"size", state->size},
                        {"completed", state->completed},
                        {"cause", cause}});
}

// ---------------------------------------------------------------------------------------
// Inputs

void CalcAppService::opened(SessionId s, TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = catch_up(now, out);
  const auto [it, fresh] = sessions_.try_emplace(s);
  if (fresh) {  // a SessionId is never reused: a second open of a live one is ignored
    it->second.last_heard = now;
    ++counters_.sessions;
    out.events.push_back({{"event", "session_opened"}, {"session", s}});
  }
  report_load(out);
}

std::vector<CalcAppService::JobProgress> CalcAppService::progress(TimePoint now,
                                                                  ServiceActions& out) {
  std::vector<JobProgress> jobs;
  if (shut_down_) return jobs;
  catch_up(now, out);
  for (const auto& [s, session] : sessions_) {
    if (!session.job_id) continue;
    if (const auto state = server_.job(s))
      jobs.push_back({s, *session.job_id, state->size, state->completed});
  }
  std::sort(jobs.begin(), jobs.end(),
            [](const JobProgress& a, const JobProgress& b) { return a.session < b.session; });
  report_load(out);
  return jobs;
}

void CalcAppService::closed(SessionId s, TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  const std::size_t first_op = out.ops.size();
  now = catch_up(now, out);
  const auto it = sessions_.find(s);
  if (it != sessions_.end()) {
    // The shell has no connection left for them (a COMPLETE that fell due meanwhile).
    out.ops.erase(std::remove_if(out.ops.begin() + static_cast<std::ptrdiff_t>(first_op),
                                 out.ops.end(),
                                 [s](const SessionOp& op) { return op.session == s; }),
                  out.ops.end());
    drop_job(s, it->second, "session_lost", now, out);
    out.events.push_back({{"event", "session_closed"}, {"session", s}, {"cause", "peer"}});
    sessions_.erase(it);
  }
  report_load(out);
}

void CalcAppService::received(SessionId s, std::uint32_t ppid,
                              std::span<const std::uint8_t> message, TimePoint now,
                              ServiceActions& out) {
  if (shut_down_) return;
  now = catch_up(now, out);
  const auto it = sessions_.find(s);
  if (it == sessions_.end()) {
    discard(s, ppid, "unknown session", out);
  } else if (ppid == wire::kPpidCalcApp) {
    on_calcapp(s, it->second, message, now, out);
  } else if (ppid == wire::kPpidAsap) {
    on_asap(s, it->second, message, now, out);
  } else {
    discard(s, ppid, "PPID " + std::to_string(ppid) + " is neither ASAP (11) nor CalcApp (34)",
            out);
  }
  report(server_.advance(now), out);  // a job with nothing left completes at once
  report_load(out);
}

void CalcAppService::on_calcapp(SessionId s, Session& session,
                                std::span<const std::uint8_t> bytes, TimePoint now,
                                ServiceActions& out) {
  const auto m = calcapp::decode_message(bytes);
  if (!m) return discard(s, wire::kPpidCalcApp, "CalcApp: " + m.error().message(), out);
  session.last_heard = now;
  session.keepalive_sent.reset();
  switch (m->type) {
    case MessageType::request:
      if (session.job_id)
        return discard(s, wire::kPpidCalcApp,
                       "REQUEST while job " + std::to_string(*session.job_id) + " is in service",
                       out);
      return admit(s, session, m->job_id, m->job_size, m->completed, false, now, out);
    case MessageType::keepalive: {
      calcapp::Message ack{MessageType::keepalive_ack, 0, 0, 0, 0};
      if (session.job_id)
        if (const auto state = server_.job(s)) {  // as of `now`: the server is there
          ack.job_id = *session.job_id;
          ack.job_size = state->size;
          ack.completed = state->completed;
        }
      return send(s, wire::kPpidCalcApp, calcapp::encode(ack), out);
    }
    case MessageType::keepalive_ack:
      return;  // heard: that is all it is for
    case MessageType::abort:
      if (!session.job_id || *session.job_id != m->job_id)
        return discard(s, wire::kPpidCalcApp,
                       "ABORT of job " + std::to_string(m->job_id) + ", not in service", out);
      return drop_job(s, session, "abort", now, out);
    case MessageType::accept:
    case MessageType::reject:
    case MessageType::complete:
      break;
  }
  discard(s, wire::kPpidCalcApp,
          "a PE does not take " + std::string(calcapp::name(m->type)), out);
}

void CalcAppService::on_asap(SessionId s, Session& session, std::span<const std::uint8_t> bytes,
                             TimePoint now, ServiceActions& out) {
  const auto d = wire::decode_asap(bytes);
  if (!d) return discard(s, wire::kPpidAsap, "ASAP: " + d.error().message(), out);
  session.last_heard = now;
  session.keepalive_sent.reset();
  const auto* echo = std::get_if<asap::CookieEcho>(&d->message);
  if (echo == nullptr)
    return discard(s, wire::kPpidAsap,
                   "a PE does not take " +
                       std::string(wire::message_type_name(
                           wire::Protocol::asap,
                           static_cast<std::uint8_t>(asap::type_of(d->message)))),
                   out);
  const auto cookie = calcapp::decode_cookie(echo->cookie);
  if (!cookie)
    return discard(s, wire::kPpidAsap, "Cookie Echo: " + cookie.error().message(), out);
  if (session.job_id)
    return discard(s, wire::kPpidAsap,
                   "COOKIE_ECHO while job " + std::to_string(*session.job_id) +
                       " is in service",
                   out);
  admit(s, session, cookie->job_id, cookie->job_size, cookie->completed, true, now, out);
}

void CalcAppService::tick(TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = catch_up(now, out);
  // Keep-alive timers: one pass to find what is due, handled in deadline order.
  std::vector<std::pair<TimePoint, SessionId>> due;
  for (const auto& [id, session] : sessions_)
    if (const TimePoint t = session.keepalive_due(config_); t <= now) due.emplace_back(t, id);
  std::sort(due.begin(), due.end());
  for (const auto& [t, id] : due) {
    const auto it = sessions_.find(id);
    Session& session = it->second;
    if (!session.keepalive_sent) {
      calcapp::Message ka{MessageType::keepalive, 0, 0, 0, 0};
      if (session.job_id)
        if (const auto state = server_.job(id)) {
          ka.job_id = *session.job_id;
          ka.job_size = state->size;
          ka.completed = state->completed;
        }
      send(id, wire::kPpidCalcApp, calcapp::encode(ka), out);
      session.keepalive_sent = now;
      continue;
    }
    out.ops.push_back(SessionOp{SessionOp::Kind::close, id, 0, {}});
    drop_job(id, session, "keepalive_timeout", now, out);
    ++counters_.keepalive_timeouts;
    out.events.push_back(
        {{"event", "session_closed"}, {"session", id}, {"cause", "keepalive_timeout"}});
    sessions_.erase(it);
  }
  report_load(out);
}

std::optional<TimePoint> CalcAppService::next_deadline() const {
  if (shut_down_) return std::nullopt;
  std::optional<TimePoint> d = server_.next_event(last_now_);
  const auto take = [&d](TimePoint t) {
    if (!d || t < *d) d = t;
  };
  if (next_usage_) take(*next_usage_);
  for (const auto& [id, session] : sessions_) take(session.keepalive_due(config_));
  return d;
}

void CalcAppService::shutdown(TimePoint now, ServiceActions& out) {
  if (shut_down_) return;
  now = catch_up(now, out);
  shut_down_ = true;
  std::vector<SessionId> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // reproducible draws and op order
  for (const SessionId id : ids) {
    const Session& session = sessions_.at(id);
    if (!session.job_id) continue;
    if (!(values::uniform01(rng_) < config_.shutdown_cookie_probability)) continue;
    if (const auto state = server_.job(id))
      send_cookie(id, *session.job_id, state->size, state->completed, out);
  }
  for (const SessionId id : ids) {
    drop_job(id, sessions_.at(id), "shutdown", now, out);
    out.ops.push_back(SessionOp{SessionOp::Kind::close, id, 0, {}});
    out.events.push_back({{"event", "session_closed"}, {"session", id}, {"cause", "shutdown"}});
  }
  sessions_.clear();
  last_load_ = server_.load();  // no load_changed: the PE is leaving
}

}  // namespace rserpool::session
