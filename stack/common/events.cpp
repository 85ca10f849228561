// The typed events (events.hpp): the field checks and messages, and each struct's
// from_json (fields in the order of the store's columns: the first defect is the one named)
// and to_json (what its producer writes).
#include "stack/common/events.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

namespace rsplab::common {

namespace event_fields {

std::string quoted(const char* key) { return std::string("'") + key + "'"; }

const json* find(const json& e, const char* key) {
  const auto it = e.find(key);
  return it == e.end() ? nullptr : &*it;
}

const json* optional(const json& e, const char* key) {
  const json* v = find(e, key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

const json& required(const json& e, const char* key) {
  const json* v = find(e, key);
  if (v == nullptr) throw EventError("missing " + quoted(key));
  return *v;
}

std::int64_t to_int(const json& v, const char* key) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw EventError(quoted(key) + " is out of range");
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    // An integral value written as a float (5e6) is still an integer.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
      return static_cast<std::int64_t>(d);
  }
  throw EventError(quoted(key) + " is not an integer");
}

double to_number(const json& v, const char* key) {
  if (!v.is_number()) throw EventError(quoted(key) + " is not a number");
  return v.get<double>();
}

std::string to_string(const json& v, const char* key) {
  if (!v.is_string()) throw EventError(quoted(key) + " is not a string");
  return v.get<std::string>();
}

bool to_bool(const json& v, const char* key) {
  if (!v.is_boolean()) throw EventError(quoted(key) + " is not a boolean");
  return v.get<bool>();
}

namespace {

std::vector<std::string> to_strings(const json& v, const char* key) {
  if (!v.is_array()) throw EventError(quoted(key) + " is not an array");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) throw EventError(quoted(key) + " holds a non-string");
    out.push_back(x.get<std::string>());
  }
  return out;
}

// The value of an optional field converted by `convert`, or nullopt (absent or null).
template <class Convert>
auto optional_of(const json& e, const char* key, Convert convert)
    -> std::optional<decltype(convert(e, key))> {
  const json* v = optional(e, key);
  if (v == nullptr) return std::nullopt;
  return convert(*v, key);
}

}  // namespace

std::int64_t req_int(const json& e, const char* key) { return to_int(required(e, key), key); }
double req_number(const json& e, const char* key) { return to_number(required(e, key), key); }
std::string req_string(const json& e, const char* key) {
  return to_string(required(e, key), key);
}
bool req_bool(const json& e, const char* key) { return to_bool(required(e, key), key); }
std::vector<std::string> req_strings(const json& e, const char* key) {
  return to_strings(required(e, key), key);
}

std::optional<std::int64_t> opt_int(const json& e, const char* key) {
  return optional_of(e, key, to_int);
}
std::optional<double> opt_number(const json& e, const char* key) {
  return optional_of(e, key, to_number);
}
std::optional<std::string> opt_string(const json& e, const char* key) {
  return optional_of(e, key, to_string);
}
std::optional<std::vector<std::string>> opt_strings(const json& e, const char* key) {
  return optional_of(e, key, to_strings);
}

}  // namespace event_fields

using namespace event_fields;

namespace {

// An optional as JSON: its value, or null.
template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// An optional field omitted when absent.
template <class T>
void set_if(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

// Fields the store does not read ("not checked"): their value when well-formed, else none.
std::vector<std::string> unchecked_strings(const json& j, const char* key) {
  const json* v = optional(j, key);
  if (v == nullptr || !v->is_array()) return {};
  for (const json& x : *v)
    if (!x.is_string()) return {};
  return v->get<std::vector<std::string>>();
}

std::optional<std::int64_t> unchecked_int(const json& j, const char* key) {
  const json* v = optional(j, key);
  if (v == nullptr || !(v->is_number_integer() || v->is_number_unsigned())) return std::nullopt;
  try {
    return to_int(*v, key);
  } catch (const EventError&) {
    return std::nullopt;
  }
}

std::optional<bool> unchecked_bool(const json& j, const char* key) {
  const json* v = optional(j, key);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

// The session layer's counters in a PU's `done` (session::PuSessionCounters::fill): not
// checked, absent ones 0. `failovers` is EchoDoneEvent's own, checked.
template <class Done>
void read_session_counters(const json& j, Done& e) {
  e.resolutions = unchecked_int(j, "resolutions").value_or(0);
  e.cache_hits = unchecked_int(j, "cache_hits").value_or(0);
  e.unreachable_reports = unchecked_int(j, "unreachable_reports").value_or(0);
  e.registrar_failovers = unchecked_int(j, "registrar_failovers").value_or(0);
  e.rejects = unchecked_int(j, "rejects").value_or(0);
  e.discarded = unchecked_int(j, "discarded").value_or(0);
}

template <class Done>
void write_session_counters(json& j, const Done& e) {
  j["failovers"] = e.failovers;
  j["resolutions"] = e.resolutions;
  j["cache_hits"] = e.cache_hits;
  j["unreachable_reports"] = e.unreachable_reports;
  j["registrar_failovers"] = e.registrar_failovers;
  j["rejects"] = e.rejects;
  j["discarded"] = e.discarded;
}

}  // namespace

// ---- from_json: the order of the statements is the order of the checks -------------------

void from_json(const json& j, HandleResolutionEvent& e) {
  e.pes = req_strings(j, "pes");
  e.pool = req_string(j, "pool");
  e.registrar = opt_int(j, "registrar");
  e.cached = req_bool(j, "cached");
  e.latency_us = req_int(j, "latency_us");
  e.error = opt_string(j, "error");
}

void from_json(const json& j, FailoverEvent& e) {
  e.job = req_int(j, "job");
  e.from_pe = req_string(j, "from_pe");
  e.cause = req_string(j, "cause");
  e.detection_delay_us = req_int(j, "detection_delay_us");
  e.to_pe = opt_string(j, "to_pe");
  e.cookie = req_bool(j, "cookie");
  e.resumed = opt_int(j, "resumed");
  e.lost = req_int(j, "lost");
  e.attempts = req_int(j, "attempts");
  e.detected_us = opt_int(j, "detected_us");
  e.local_addresses = opt_strings(j, "local_addresses");
  e.local_port = opt_int(j, "local_port");
  e.paths = unchecked_strings(j, "paths");
}

void from_json(const json& j, JobEvent& e) {
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
  e.status = req_string(j, "status");
  e.queued_us = req_int(j, "queued_us");
  e.started_us = opt_int(j, "started_us");
  e.accepted_us = opt_int(j, "accepted_us");
  e.completed_us = opt_int(j, "completed_us");
  e.pe = opt_string(j, "pe");
  e.rejects = req_int(j, "rejects");
  e.failovers = req_int(j, "failovers");
  e.queuing_delay_us = opt_int(j, "queuing_delay_us");
  e.startup_delay_us = opt_int(j, "startup_delay_us");
  e.processing_us = opt_int(j, "processing_us");
  e.handling_us = opt_int(j, "handling_us");
  e.handling_speed = opt_number(j, "handling_speed");
}

void from_json(const json& j, RegistrationEvent& e) {
  e.kind = req_string(j, "event");
  const json* addresses = optional(j, "addresses");
  if (addresses != nullptr && !addresses->is_array())
    throw EventError("'addresses' is not an array");
  e.addresses = addresses != nullptr ? std::optional(*addresses) : std::nullopt;
  e.load = opt_int(j, "load");
  e.conn = opt_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.policy = req_string(j, "policy");
  e.transport = opt_string(j, "transport");
  e.port = opt_int(j, "port");
  e.registration_life_ms = opt_int(j, "registration_life_ms");
  const json* advertised = optional(j, "addresses_advertised");
  e.addresses_advertised = advertised != nullptr && advertised->is_array()
                               ? std::optional(*advertised) : std::nullopt;
  e.parameters.clear();
  for (const char* key : kPolicyParameterKeys)
    if (const auto v = unchecked_int(j, key)) e.parameters[key] = *v;
}

void from_json(const json& j, DeregistrationEvent& e) {
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.reason = req_string(j, "reason");
}

void from_json(const json& j, UsageEvent& e) {
  e.calculations = req_number(j, "calculations");
  e.offered = req_number(j, "offered");
  e.utilization = opt_number(j, "utilization");
}

void from_json(const json& j, LoadChangedEvent& e) {
  e.load = req_number(j, "load");
  e.jobs = opt_int(j, "jobs");
  e.from_service = find(j, "jobs") != nullptr;
  e.reregistering = !e.from_service && unchecked_bool(j, "reregistering").value_or(false);
}

void from_json(const json& j, PuJobRejectedEvent& e) {
  e.job = req_int(j, "job");
  e.pe = req_string(j, "pe");
}

void from_json(const json& j, RegistrarFailoverEvent& e) {
  e.from = opt_int(j, "from");
  e.to = req_int(j, "to");
  e.reason = req_string(j, "reason");
}

void from_json(const json& j, SessionOpenedEvent& e) { e.session = req_int(j, "session"); }

void from_json(const json& j, SessionClosedEvent& e) {
  e.session = req_int(j, "session");
  e.cause = req_string(j, "cause");
}

void from_json(const json& j, JobAcceptedEvent& e) {
  e.session = req_int(j, "session");
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
  e.completed = req_int(j, "completed");
  e.resumed = req_bool(j, "resumed");
  e.jobs = req_int(j, "jobs");
  e.load = req_number(j, "load");
}

void from_json(const json& j, PeJobRejectedEvent& e) {
  e.session = req_int(j, "session");
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
  e.jobs = req_int(j, "jobs");
}

void from_json(const json& j, JobCompletedEvent& e) {
  e.session = req_int(j, "session");
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
}

void from_json(const json& j, JobAbortedEvent& e) {
  e.session = req_int(j, "session");
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
  e.completed = req_int(j, "completed");
  e.cause = req_string(j, "cause");
}

void from_json(const json& j, CookieSentEvent& e) {
  e.session = req_int(j, "session");
  e.job = req_int(j, "job");
  e.size = req_int(j, "size");
  e.completed = req_int(j, "completed");
}

void from_json(const json& j, JobProgress& p) {
  p.session = req_int(j, "session");
  p.job = req_int(j, "job");
  p.size = req_int(j, "size");
  p.completed = req_int(j, "completed");
  p.pu_addresses = opt_strings(j, "pu_addresses");
  p.pu_port = opt_int(j, "pu_port");
}

void from_json(const json& j, StoppedEvent& e) {
  e.kind = req_string(j, "event");
  e.jobs.clear();
  const json* jobs = optional(j, "jobs");
  e.has_jobs = jobs != nullptr;
  const json* member = optional(j, "member");
  e.member = member != nullptr && member->is_number_integer() ? std::optional(member->get<std::int64_t>())
                                                              : std::nullopt;
  if (jobs != nullptr && !jobs->is_array()) throw EventError("'jobs' is not an array");
  for (const json& p : jobs != nullptr ? *jobs : json::array()) {
    if (!p.is_object()) throw EventError("'jobs' holds a non-object");
    e.id = req_string(j, "id");  // before the job's own fields, as the store has checked it
    e.jobs.push_back(p.get<JobProgress>());
  }
  if (const json* id = optional(j, "id"); e.jobs.empty() && id != nullptr && id->is_string())
    e.id = id->get<std::string>();  // not checked without jobs
}

void from_json(const json& j, EchoDoneEvent& e) {
  e.reason = req_string(j, "reason");
  e.requests = req_int(j, "requests");
  e.answers = req_int(j, "answers");
  e.duplicates = req_int(j, "duplicates");
  e.lost = req_int(j, "lost");
  e.replies = req_int(j, "replies");
  e.failovers = req_int(j, "failovers");
  read_session_counters(j, e);
}

// ---- to_json -----------------------------------------------------------------------------

void to_json(json& j, const HandleResolutionEvent& e) {
  j = {{"event", e.kName}, {"pes", e.pes}, {"pool", e.pool},
       {"registrar", or_null(e.registrar)}, {"cached", e.cached},
       {"latency_us", e.latency_us}};
  set_if(j, "error", e.error);
}

void to_json(json& j, const FailoverEvent& e) {
  j = {{"event", e.kName}, {"job", e.job}, {"from_pe", e.from_pe}, {"cause", e.cause},
       {"detection_delay_us", e.detection_delay_us}, {"to_pe", or_null(e.to_pe)},
       {"cookie", e.cookie}, {"resumed", or_null(e.resumed)}, {"lost", e.lost},
       {"attempts", e.attempts}, {"detected_us", or_null(e.detected_us)},
       {"paths", e.paths}};
  set_if(j, "local_addresses", e.local_addresses);
  set_if(j, "local_port", e.local_port);
}

void to_json(json& j, const JobEvent& e) {
  j = {{"event", e.kName},
       {"job", e.job},
       {"size", e.size},
       {"status", e.status},
       {"queued_us", e.queued_us},
       {"started_us", or_null(e.started_us)},
       {"accepted_us", or_null(e.accepted_us)},
       {"completed_us", or_null(e.completed_us)},
       {"pe", or_null(e.pe)},
       {"rejects", e.rejects},
       {"failovers", e.failovers},
       {"queuing_delay_us", or_null(e.queuing_delay_us)},
       {"startup_delay_us", or_null(e.startup_delay_us)},
       {"processing_us", or_null(e.processing_us)},
       {"handling_us", or_null(e.handling_us)},
       {"handling_speed", or_null(e.handling_speed)}};
}

void to_json(json& j, const RegistrationEvent& e) {
  j = {{"event", e.kind}, {"addresses", or_null(e.addresses)}, {"conn", or_null(e.conn)},
       {"pool", e.pool}, {"pe", e.pe}, {"policy", e.policy},
       {"transport", or_null(e.transport)}, {"port", or_null(e.port)},
       {"registration_life_ms", or_null(e.registration_life_ms)}};
  set_if(j, "load", e.load);
  set_if(j, "addresses_advertised", e.addresses_advertised);
  for (const auto& [key, value] : e.parameters) j[key] = value;
}

void to_json(json& j, const DeregistrationEvent& e) {
  j = {{"event", e.kName}, {"pool", e.pool}, {"pe", e.pe}, {"reason", e.reason}};
}

void to_json(json& j, const UsageEvent& e) {
  j = {{"event", e.kName}, {"calculations", e.calculations}, {"offered", e.offered},
       {"utilization", or_null(e.utilization)}};
}

void to_json(json& j, const LoadChangedEvent& e) {
  if (e.from_service) {
    j = {{"event", e.kName}, {"load", e.load}, {"jobs", or_null(e.jobs)}};
  } else {  // the registration core's raw 32-bit fraction, an integer as on the wire
    j = {{"event", e.kName},
         {"load", static_cast<std::int64_t>(e.load)},
         {"reregistering", e.reregistering}};
  }
}

void to_json(json& j, const PuJobRejectedEvent& e) {
  j = {{"event", e.kName}, {"job", e.job}, {"pe", e.pe}};
}

void to_json(json& j, const RegistrarFailoverEvent& e) {
  j = {{"event", e.kName}, {"from", or_null(e.from)}, {"to", e.to}, {"reason", e.reason}};
}

void to_json(json& j, const SessionOpenedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}};
}

void to_json(json& j, const SessionClosedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"cause", e.cause}};
}

void to_json(json& j, const JobAcceptedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"job", e.job}, {"size", e.size},
       {"completed", e.completed}, {"resumed", e.resumed}, {"jobs", e.jobs}, {"load", e.load}};
}

void to_json(json& j, const PeJobRejectedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"job", e.job}, {"size", e.size},
       {"jobs", e.jobs}};
}

void to_json(json& j, const JobCompletedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"job", e.job}, {"size", e.size}};
}

void to_json(json& j, const JobAbortedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"job", e.job}, {"size", e.size},
       {"completed", e.completed}, {"cause", e.cause}};
}

void to_json(json& j, const CookieSentEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"job", e.job}, {"size", e.size},
       {"completed", e.completed}};
}

void to_json(json& j, const JobProgress& p) {
  j = {{"session", p.session}, {"job", p.job}, {"size", p.size}, {"completed", p.completed},
       {"pu_addresses", or_null(p.pu_addresses)}, {"pu_port", or_null(p.pu_port)}};
}

void to_json(json& j, const StoppedEvent& e) {
  j = {{"event", e.kind}, {"id", e.id}};
  if (e.has_jobs) j["jobs"] = e.jobs;
  set_if(j, "member", e.member);
}

void to_json(json& j, const EchoDoneEvent& e) {
  j = {{"event", e.kName},     {"reason", e.reason},         {"requests", e.requests},
       {"answers", e.answers}, {"duplicates", e.duplicates}, {"lost", e.lost},
       {"replies", e.replies}};
  write_session_counters(j, e);
}

// ---- The stack's further events: the services' and the session layer's -------------------

void from_json(const json& j, CalcAppDoneEvent& e) {
  e.reason = req_string(j, "reason");
  e.jobs_generated = req_int(j, "jobs_generated");
  e.jobs_completed = req_int(j, "jobs_completed");
  e.jobs_unfinished = req_int(j, "jobs_unfinished");
  e.calculations_completed = req_int(j, "calculations_completed");
  e.handling_seconds = req_number(j, "handling_seconds");
  e.handling_speed = req_number(j, "handling_speed");
  e.failovers = req_int(j, "failovers");
  read_session_counters(j, e);
}

void to_json(json& j, const CalcAppDoneEvent& e) {
  j = {{"event", e.kName},
       {"reason", e.reason},
       {"jobs_generated", e.jobs_generated},
       {"jobs_completed", e.jobs_completed},
       {"jobs_unfinished", e.jobs_unfinished},
       {"calculations_completed", e.calculations_completed},
       {"handling_seconds", e.handling_seconds},
       {"handling_speed", e.handling_speed}};
  write_session_counters(j, e);
}

void from_json(const json& j, MessageDiscardedEvent& e) {
  e.conn = opt_int(j, "conn");
  e.protocol = opt_string(j, "protocol");
  e.pr = opt_int(j, "pr");
  e.session = opt_int(j, "session");
  e.ppid = opt_int(j, "ppid");
  e.from = opt_string(j, "from");
  e.reason = req_string(j, "reason");
}

void to_json(json& j, const MessageDiscardedEvent& e) {
  j = {{"event", e.kName}, {"reason", e.reason}};
  set_if(j, "conn", e.conn);
  set_if(j, "protocol", e.protocol);
  set_if(j, "pr", e.pr);
  set_if(j, "session", e.session);
  set_if(j, "ppid", e.ppid);
  set_if(j, "from", e.from);
}

void from_json(const json& j, EchoResumedEvent& e) {
  e.session = req_int(j, "session");
  e.replies = req_int(j, "replies");
}

void to_json(json& j, const EchoResumedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"replies", e.replies}};
}

void from_json(const json& j, EchoEndedEvent& e) {
  e.session = req_int(j, "session");
  e.replies = req_int(j, "replies");
  e.resumed_from = opt_int(j, "resumed_from");
  e.cause = req_string(j, "cause");
}

void to_json(json& j, const EchoEndedEvent& e) {
  j = {{"event", e.kName}, {"session", e.session}, {"replies", e.replies},
       {"resumed_from", or_null(e.resumed_from)}, {"cause", e.cause}};
}

// ---- The PE registration core's ---------------------------------------------------------

void from_json(const json& j, RegisteredEvent& e) {
  e.kind = req_string(j, "event");
  e.pr = req_int(j, "pr");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.policy = opt_string(j, "policy");
  e.load = req_int(j, "load");
}

void to_json(json& j, const RegisteredEvent& e) {
  j = {{"event", e.kind}, {"pr", e.pr},          {"pool", e.pool},
       {"pe", e.pe},      {"policy", or_null(e.policy)}, {"load", e.load}};
}

void from_json(const json& j, NoRegistrarEvent& e) { e.reason = req_string(j, "reason"); }

void to_json(json& j, const NoRegistrarEvent& e) {
  j = {{"event", e.kName}, {"reason", e.reason}};
}

void from_json(const json& j, PeFailoverEvent& e) {
  e.from_pr = opt_int(j, "from_pr");
  e.to_pr = opt_int(j, "to_pr");
  e.reason = req_string(j, "reason");
  e.delay_ms = req_int(j, "delay_ms");
}

void to_json(json& j, const PeFailoverEvent& e) {
  j = {{"event", e.kName}, {"from_pr", or_null(e.from_pr)}, {"to_pr", or_null(e.to_pr)},
       {"reason", e.reason}, {"delay_ms", e.delay_ms}};
}

void from_json(const json& j, RegistrarLearntEvent& e) {
  e.pr = req_int(j, "pr");
  e.server_id = req_string(j, "server_id");
}

void to_json(json& j, const RegistrarLearntEvent& e) {
  j = {{"event", e.kName}, {"pr", e.pr}, {"server_id", e.server_id}};
}

void from_json(const json& j, DeregisteredEvent& e) {
  e.pr = opt_int(j, "pr");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.confirmed = req_bool(j, "confirmed");
  e.causes = opt_strings(j, "causes");
}

void to_json(json& j, const DeregisteredEvent& e) {
  j = {{"event", e.kName}, {"pr", or_null(e.pr)}, {"pool", e.pool}, {"pe", e.pe},
       {"confirmed", e.confirmed}};
  set_if(j, "causes", e.causes);
}

void from_json(const json& j, PeErrorReceivedEvent& e) {
  e.pr = req_int(j, "pr");
  e.causes = req_strings(j, "causes");
}

void to_json(json& j, const PeErrorReceivedEvent& e) {
  j = {{"event", e.kName}, {"pr", e.pr}, {"causes", e.causes}};
}

void from_json(const json& j, PeRegistrationRejectedEvent& e) {
  e.pr = req_int(j, "pr");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.cause = opt_string(j, "cause");
  e.permanent = req_bool(j, "permanent");
}

void to_json(json& j, const PeRegistrationRejectedEvent& e) {
  j = {{"event", e.kName}, {"pr", e.pr}, {"pool", e.pool}, {"pe", e.pe},
       {"cause", or_null(e.cause)}, {"permanent", e.permanent}};
}

void from_json(const json& j, PeCoreStoppedEvent& e) { e.reason = req_string(j, "reason"); }

void to_json(json& j, const PeCoreStoppedEvent& e) {
  j = {{"event", e.kName}, {"reason", e.reason}};
}

void from_json(const json& j, HomeChangedEvent& e) {
  e.from_pr = opt_int(j, "from_pr");
  e.to_pr = req_int(j, "to_pr");
  e.server_id = req_string(j, "server_id");
}

void to_json(json& j, const HomeChangedEvent& e) {
  j = {{"event", e.kName}, {"from_pr", or_null(e.from_pr)}, {"to_pr", e.to_pr},
       {"server_id", e.server_id}};
}

void from_json(const json& j, RegistrationLostEvent& e) {
  e.pr = req_int(j, "pr");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.reregistering = req_bool(j, "reregistering");
}

void to_json(json& j, const RegistrationLostEvent& e) {
  j = {{"event", e.kName}, {"pr", e.pr}, {"pool", e.pool}, {"pe", e.pe},
       {"reregistering", e.reregistering}};
}

// ---- The registrar core's ---------------------------------------------------------------

void from_json(const json& j, ErrorSentEvent& e) {
  e.conn = req_int(j, "conn");
  e.protocol = req_string(j, "protocol");
  e.causes = req_strings(j, "causes");
  e.reason = req_string(j, "reason");
}

void to_json(json& j, const ErrorSentEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"protocol", e.protocol}, {"causes", e.causes},
       {"reason", e.reason}};
}

void from_json(const json& j, RegistrarErrorReceivedEvent& e) { e.conn = req_int(j, "conn"); }

void to_json(json& j, const RegistrarErrorReceivedEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}};
}

void from_json(const json& j, EnrpIgnoredEvent& e) {
  e.conn = req_int(j, "conn");
  e.type = req_string(j, "type");
}

void to_json(json& j, const EnrpIgnoredEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"type", e.type}};
}

void from_json(const json& j, RegistrarRegistrationRejectedEvent& e) {
  e.conn = req_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.cause = req_string(j, "cause");
  e.reason = req_string(j, "reason");
}

void to_json(json& j, const RegistrarRegistrationRejectedEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn},   {"pool", e.pool},
       {"pe", e.pe},       {"cause", e.cause}, {"reason", e.reason}};
}

void from_json(const json& j, DeregistrationRefusedEvent& e) {
  e.conn = req_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.reason = req_string(j, "reason");
}

void to_json(json& j, const DeregistrationRefusedEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"pool", e.pool}, {"pe", e.pe},
       {"reason", e.reason}};
}

void from_json(const json& j, RateLimitedEvent& e) {
  e.conn = req_int(j, "conn");
  e.what = req_string(j, "what");
  e.pool = req_string(j, "pool");
}

void to_json(json& j, const RateLimitedEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"what", e.what}, {"pool", e.pool}};
}

void from_json(const json& j, RegistrarHandleResolutionEvent& e) {
  e.conn = req_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.requested = opt_int(j, "requested");
  e.items = req_int(j, "items");
  e.pes = req_strings(j, "pes");
  e.policy = opt_string(j, "policy");
  e.error = opt_string(j, "error");
}

void to_json(json& j, const RegistrarHandleResolutionEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn},   {"pool", e.pool},
       {"requested", or_null(e.requested)},    {"items", e.items}, {"pes", e.pes}};
  set_if(j, "policy", e.policy);
  set_if(j, "error", e.error);
}

void from_json(const json& j, PeNotRegisteredEvent& e) {
  e.conn = req_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
}

void to_json(json& j, const PeNotRegisteredEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"pool", e.pool}, {"pe", e.pe}};
}

void from_json(const json& j, UnreachableReportEvent& e) {
  e.conn = req_int(j, "conn");
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.known = req_bool(j, "known");
  e.reports = opt_int(j, "reports");
  e.max_bad_pe_reports = opt_int(j, "max_bad_pe_reports");
}

void to_json(json& j, const UnreachableReportEvent& e) {
  j = {{"event", e.kName}, {"conn", e.conn}, {"pool", e.pool}, {"pe", e.pe},
       {"known", e.known}};
  set_if(j, "reports", e.reports);
  set_if(j, "max_bad_pe_reports", e.max_bad_pe_reports);
}

void from_json(const json& j, KeepaliveTimeoutEvent& e) {
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
}

void to_json(json& j, const KeepaliveTimeoutEvent& e) {
  j = {{"event", e.kName}, {"pool", e.pool}, {"pe", e.pe}};
}

void from_json(const json& j, PeerUpEvent& e) {
  e.peer = req_string(j, "peer");
  e.conn = req_int(j, "conn");
  e.via = req_string(j, "via");
}

void to_json(json& j, const PeerUpEvent& e) {
  j = {{"event", e.kName}, {"peer", e.peer}, {"conn", e.conn}, {"via", e.via}};
}

void from_json(const json& j, PeerDownEvent& e) {
  e.peer = req_string(j, "peer");
  e.reason = req_string(j, "reason");
}

void to_json(json& j, const PeerDownEvent& e) {
  j = {{"event", e.kName}, {"peer", e.peer}, {"reason", e.reason}};
}

void from_json(const json& j, ServingEvent& e) {
  e.mentor = opt_string(j, "mentor");
  e.pes = req_int(j, "pes");
  e.waited_ms = req_int(j, "waited_ms");
}

void to_json(json& j, const ServingEvent& e) {
  j = {{"event", e.kName}, {"mentor", or_null(e.mentor)}, {"pes", e.pes},
       {"waited_ms", e.waited_ms}};
}

void from_json(const json& j, HandleTableSyncEvent& e) {
  e.peer = req_string(j, "peer");
  e.reason = req_string(j, "reason");
  e.pes = req_int(j, "pes");
  e.pages = req_int(j, "pages");
  e.removed = req_int(j, "removed");
  e.duration_ms = req_int(j, "duration_ms");
}

void to_json(json& j, const HandleTableSyncEvent& e) {
  j = {{"event", e.kName}, {"peer", e.peer},       {"reason", e.reason},
       {"pes", e.pes},     {"pages", e.pages},     {"removed", e.removed},
       {"duration_ms", e.duration_ms}};
}

void from_json(const json& j, AuditEvent& e) {
  e.peer = req_string(j, "peer");
  e.announced = req_string(j, "announced");
  e.held = req_string(j, "held");
  e.held_pes = req_int(j, "held_pes");
}

void to_json(json& j, const AuditEvent& e) {
  j = {{"event", e.kName}, {"peer", e.peer}, {"announced", e.announced}, {"held", e.held},
       {"held_pes", e.held_pes}};
}

void from_json(const json& j, TakeoverStartedEvent& e) {
  e.target = req_string(j, "target");
  e.awaiting = req_strings(j, "awaiting");
  e.silent_ms = req_int(j, "silent_ms");
}

void to_json(json& j, const TakeoverStartedEvent& e) {
  j = {{"event", e.kName}, {"target", e.target}, {"awaiting", e.awaiting},
       {"silent_ms", e.silent_ms}};
}

void from_json(const json& j, TakeoverEvent& e) {
  e.target = req_string(j, "target");
  e.outcome = req_string(j, "outcome");
  e.pes = req_int(j, "pes");
  e.acks = req_int(j, "acks");
  e.duration_ms = req_int(j, "duration_ms");
}

void to_json(json& j, const TakeoverEvent& e) {
  j = {{"event", e.kName}, {"target", e.target}, {"outcome", e.outcome}, {"pes", e.pes},
       {"acks", e.acks},   {"duration_ms", e.duration_ms}};
}

void from_json(const json& j, TakeoverAckedEvent& e) {
  e.by = req_string(j, "by");
  e.target = req_string(j, "target");
}

void to_json(json& j, const TakeoverAckedEvent& e) {
  j = {{"event", e.kName}, {"by", e.by}, {"target", e.target}};
}

void from_json(const json& j, PeAdoptedEvent& e) {
  e.pool = req_string(j, "pool");
  e.pe = req_string(j, "pe");
  e.from = req_string(j, "from");
}

void to_json(json& j, const PeAdoptedEvent& e) {
  j = {{"event", e.kName}, {"pool", e.pool}, {"pe", e.pe}, {"from", e.from}};
}

void from_json(const json& j, PeerTakeoverEvent& e) {
  e.by = req_string(j, "by");
  e.target = req_string(j, "target");
  e.pes = req_int(j, "pes");
}

void to_json(json& j, const PeerTakeoverEvent& e) {
  j = {{"event", e.kName}, {"by", e.by}, {"target", e.target}, {"pes", e.pes}};
}

// ---- The nodes' own events ----------------------------------------------------------------

namespace {

// A field that is not checked: its value when it is a T, else none.
template <class T>
std::optional<T> unchecked(const json& j, const char* key) {
  const json* v = optional(j, key);
  if (v == nullptr) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v->is_string()) return std::nullopt;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v->is_number()) return std::nullopt;
  } else {
    if (!v->is_number_integer()) return std::nullopt;
  }
  return v->get<T>();
}

}  // namespace

void from_json(const json& j, RegistrarReady& e) {
  e.asap = req_string(j, "asap");
  e.enrp = req_string(j, "enrp");
  e.transport = opt_string(j, "transport").value_or("");
}

void from_json(const json& j, MemberReady& e) {
  const std::int64_t member = req_int(j, "member");
  if (member < 0) throw EventError("'member' is negative");
  e.member = static_cast<std::size_t>(member);
  e.id = req_string(j, "id");
  e.user_transport = unchecked<std::string>(j, "user_transport");
  e.transport = unchecked<std::string>(j, "transport");
  e.pool = unchecked<std::string>(j, "pool");
  e.policy = unchecked<std::string>(j, "policy");
  e.asap = unchecked<std::string>(j, "asap");
  e.capacity = unchecked<double>(j, "capacity");
  e.max_jobs = unchecked<std::int64_t>(j, "max_jobs");
  e.service = unchecked<std::string>(j, "service");
  e.cookie_every = unchecked<std::int64_t>(j, "cookie_every");
}

void from_json(const json& j, RegistrarStoppedEvent& e) {
  e.signal = req_int(j, "signal");
  e.enrp_sent_messages = opt_int(j, "enrp_sent_messages");
  e.enrp_sent_bytes = opt_int(j, "enrp_sent_bytes");
  e.enrp_received_messages = opt_int(j, "enrp_received_messages");
  e.enrp_received_bytes = opt_int(j, "enrp_received_bytes");
}

void to_json(json& j, const RegistrarReady& e) {
  j = {{"event", e.kName}, {"asap", e.asap}, {"enrp", e.enrp}, {"transport", e.transport}};
}

void to_json(json& j, const MemberReady& e) {
  j = {{"event", e.kName}, {"member", e.member}, {"id", e.id}};
  set_if(j, "user_transport", e.user_transport);
  set_if(j, "transport", e.transport);
  set_if(j, "pool", e.pool);
  set_if(j, "policy", e.policy);
  set_if(j, "asap", e.asap);
  set_if(j, "capacity", e.capacity);
  set_if(j, "max_jobs", e.max_jobs);
  set_if(j, "service", e.service);
  set_if(j, "cookie_every", e.cookie_every);
}

void to_json(json& j, const RegistrarStoppedEvent& e) {
  j = {{"event", e.kName}, {"signal", e.signal}};
  set_if(j, "enrp_sent_messages", e.enrp_sent_messages);
  set_if(j, "enrp_sent_bytes", e.enrp_sent_bytes);
  set_if(j, "enrp_received_messages", e.enrp_received_messages);
  set_if(j, "enrp_received_bytes", e.enrp_received_bytes);
}

void from_json(const json& j, MemberResumedEvent& e) { e.member = req_int(j, "member"); }

void from_json(const json& j, MemberRestartedEvent& e) {
  e.member = req_int(j, "member");
  e.previous = req_string(j, "previous");
}

void to_json(json& j, const MemberResumedEvent& e) {
  j = {{"event", e.kName}, {"member", e.member}};
}

void to_json(json& j, const MemberRestartedEvent& e) {
  j = {{"event", e.kName}, {"member", e.member}, {"previous", e.previous}};
}

}  // namespace rsplab::common
