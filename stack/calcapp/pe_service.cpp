// CalcAppService: the PE side of CalcApp on the generic session layer (pe_service.hpp).
#include "stack/calcapp/pe_service.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "stack/calcapp/messages.hpp"
#include "stack/common/events.hpp"
#include "stack/wire/constants.hpp"

namespace rserpool::calcapp {

using json = nlohmann::json;
namespace common = rsplab::common;

namespace {
// A count or size as an event field.
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

session::SessionConfig session_config(const ServiceConfig& c) {
  return {c.keepalive_interval, c.keepalive_timeout, c.shutdown_cookie_probability, c.seed};
}
}  // namespace

CalcAppService::CalcAppService(ServiceConfig config, TimePoint start)
    : config_(std::move(config)),
      server_(config_.server, start),
      host_(session_config(config_), *this, counters_),
      last_now_(start) {
  attach(host_);
  assert(config_.usage_interval.count() >= 0);
  if (config_.usage_interval.count() > 0) next_usage_ = start + config_.usage_interval;
}

std::uint32_t CalcAppService::ppid() const { return wire::kPpidCalcApp; }

double CalcAppService::load_fraction() const {
  const auto max = config_.server.max_jobs;
  return static_cast<double>(std::min(server_.jobs(), max)) / static_cast<double>(max);
}

// ---------------------------------------------------------------------------------------
// Output helpers

void CalcAppService::send_calcapp(SessionId s, MessageType type, std::uint32_t job,
                                  std::uint64_t size, std::uint64_t completed,
                                  ServiceActions& out) {
  host_.send(s, encode(Message{type, 0, job, size, completed}), out);
}

void CalcAppService::send_cookie(SessionId s, std::uint32_t job, std::uint64_t size,
                                 std::uint64_t completed, ServiceActions& out) {
  host_.send_cookie(s, encode(Cookie{job, size, completed}), out);
  out.events.push_back(common::CookieSentEvent{i64(s), job, i64(size), i64(completed)});
}

void CalcAppService::discard(SessionId s, std::string reason, ServiceActions& out) {
  host_.discard(s, wire::kPpidCalcApp, std::move(reason), out);
}

// What the server reports: a COMPLETE per finished job, a COOKIE per state due.
void CalcAppService::report(const Events& events, ServiceActions& out) {
  for (const auto& c : events.completed) {
    const auto it = jobs_.find(c.key);
    if (it == jobs_.end()) continue;  // cannot happen
    const std::uint32_t job = it->second;
    jobs_.erase(it);
    send_calcapp(c.key, MessageType::complete, job, c.size, c.size, out);
    ++counters_.completed;
    out.events.push_back(common::JobCompletedEvent{i64(c.key), job, i64(c.size)});
  }
  for (const auto& c : events.cookies) {
    const auto it = jobs_.find(c.key);
    if (it == jobs_.end()) continue;  // cannot happen
    send_cookie(c.key, it->second, c.size, c.completed, out);
  }
}

void CalcAppService::report_load(ServiceActions& out) {
  const std::uint32_t load = server_.load();
  if (load == last_load_) return;
  last_load_ = load;
  out.events.push_back(
      common::LoadChangedEvent{load_fraction(), i64(server_.jobs()), true});
}

// Moves the server to `now`: usage windows that ended on the way (each exactly at its
// boundary), then whatever fell due. Returns `now`, never before the previous input's.
TimePoint CalcAppService::advance(TimePoint now, ServiceActions& out) {
  now = std::max(now, last_now_);
  last_now_ = now;
  while (next_usage_ && *next_usage_ <= now) {
    const TimePoint t = *next_usage_;
    report(server_.advance(t), out);
    const Usage u = server_.take_usage(t);
    out.events.push_back(common::UsageEvent{u.calculations, u.offered, u.utilization()});
    next_usage_ = t + config_.usage_interval;
  }
  report(server_.advance(now), out);
  return now;
}

void CalcAppService::settle(TimePoint now, ServiceActions& out) {
  report(server_.advance(now), out);  // a job with nothing left completes at once
  report_load(out);
}

std::optional<TimePoint> CalcAppService::service_deadline() const {
  std::optional<TimePoint> d = server_.next_event(last_now_);
  if (next_usage_ && (!d || *next_usage_ < *d)) d = next_usage_;
  return d;
}

// ---------------------------------------------------------------------------------------
// Jobs

void CalcAppService::admit(SessionId s, std::uint32_t job, std::uint64_t size,
                           std::uint64_t completed, bool resumed, TimePoint now,
                           ServiceActions& out) {
  const std::uint32_t ppid = resumed ? wire::kPpidAsap : wire::kPpidCalcApp;
  switch (server_.admit(s, size, completed, now)) {
    case Admission::accepted:
      jobs_[s] = job;
      ++counters_.accepted;
      if (resumed) ++counters_.resumed;
      send_calcapp(s, MessageType::accept, job, size, completed, out);
      out.events.push_back(common::JobAcceptedEvent{i64(s), job, i64(size),
                                                    i64(completed), resumed,
                                                    i64(server_.jobs()),
                                                    load_fraction()});
      return;
    case Admission::full:
      ++counters_.rejected;
      send_calcapp(s, MessageType::reject, job, size, completed, out);
      out.events.push_back(common::PeJobRejectedEvent{i64(s), job, i64(size),
                                                      i64(server_.jobs())});
      return;
    case Admission::duplicate:  // cannot happen: one job per session
      return host_.discard(s, ppid, "the session's job is active already", out);
    case Admission::invalid:  // the decoders refuse it already
      return host_.discard(s, ppid, "completed above the job size", out);
  }
}

void CalcAppService::ended(SessionId s, std::string_view cause, TimePoint now,
                           ServiceActions& out) {
  const auto it = jobs_.find(s);
  if (it == jobs_.end()) return;
  const std::uint32_t job = it->second;
  jobs_.erase(it);
  // Completions up to `now` were reported before (advance), so the job is active.
  const auto state = server_.remove(s, now);
  if (!state) return;
  ++counters_.aborted;
  out.events.push_back(common::JobAbortedEvent{i64(s), job, i64(state->size),
                                               i64(state->completed), std::string(cause)});
}

std::vector<CalcAppService::JobProgress> CalcAppService::progress(TimePoint now,
                                                                  ServiceActions& out) {
  std::vector<JobProgress> jobs;
  if (host_.shut_down()) return jobs;
  advance(now, out);
  for (const auto& [s, job] : jobs_)
    if (const auto state = server_.job(s)) jobs.push_back({s, job, state->size, state->completed});
  std::sort(jobs.begin(), jobs.end(),
            [](const JobProgress& a, const JobProgress& b) { return a.session < b.session; });
  report_load(out);
  return jobs;
}

// ---------------------------------------------------------------------------------------
// Messages

Message CalcAppService::with_progress(SessionId s, MessageType type) const {
  Message m{type, 0, 0, 0, 0};
  if (const auto it = jobs_.find(s); it != jobs_.end())
    if (const auto state = server_.job(s)) {  // as of the last input: the server is there
      m.job_id = it->second;
      m.job_size = state->size;
      m.completed = state->completed;
    }
  return m;
}

bool CalcAppService::data(SessionId s, std::span<const std::uint8_t> bytes, TimePoint now,
                          ServiceActions& out) {
  const auto m = decode_message(bytes);
  if (!m) {
    discard(s, "CalcApp: " + m.error().message(), out);
    return false;
  }
  const auto job = jobs_.find(s);
  switch (m->type) {
    case MessageType::request:
      if (job != jobs_.end())
        discard(s, "REQUEST while job " + std::to_string(job->second) + " is in service", out);
      else
        admit(s, m->job_id, m->job_size, m->completed, false, now, out);
      return true;
    case MessageType::keepalive:
      host_.send(s, encode(with_progress(s, MessageType::keepalive_ack)), out);
      return true;
    case MessageType::keepalive_ack:
      return true;  // heard: that is all it is for
    case MessageType::abort:
      if (job == jobs_.end() || job->second != m->job_id)
        discard(s, "ABORT of job " + std::to_string(m->job_id) + ", not in service", out);
      else
        ended(s, "abort", now, out);
      return true;
    case MessageType::accept:
    case MessageType::reject:
    case MessageType::complete:
      break;
  }
  discard(s, "a PE does not take " + std::string(calcapp::name(m->type)), out);
  return true;
}

void CalcAppService::cookie_echo(SessionId s, std::span<const std::uint8_t> state,
                                 TimePoint now, ServiceActions& out) {
  const auto cookie = decode_cookie(state);
  if (!cookie)
    return host_.discard(s, wire::kPpidAsap, "Cookie Echo: " + cookie.error().message(), out);
  if (const auto job = jobs_.find(s); job != jobs_.end())
    return host_.discard(
        s, wire::kPpidAsap,
        "COOKIE_ECHO while job " + std::to_string(job->second) + " is in service", out);
  admit(s, cookie->job_id, cookie->job_size, cookie->completed, true, now, out);
}

wire::Bytes CalcAppService::keepalive(SessionId s) {
  return encode(with_progress(s, MessageType::keepalive));
}

void CalcAppService::send_state_cookie(SessionId s, ServiceActions& out) {
  const auto it = jobs_.find(s);
  if (it == jobs_.end()) return;
  if (const auto state = server_.job(s)) send_cookie(s, it->second, state->size, state->completed, out);
}

}  // namespace rserpool::calcapp
