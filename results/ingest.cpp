// Event lines into rows (ingest.hpp): the field checks an event's keys pass, one parser per
// role (PU: handle_resolutions, failovers, jobs; registrar: registrations,
// registrar_actions; PE: pe_samples, pe_events, pe_progress), the statements they fill, and
// the absolute times moved to the run's clock (shift_event_clock, store.hpp).
#include "results/ingest.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>

#include "results/sqlite.hpp"

namespace rsplab::results {

namespace {

using json = nlohmann::json;

// Loads and other policy values on the wire are fractions of 0xFFFFFFFF.
constexpr double kLoadScale = 4294967295.0;

constexpr const char* kInsertHandleResolution =
    "INSERT INTO handle_resolutions (run_id, component_id, time_us, pool, registrar, cached,"
    " latency_us, pes, pe_count, error) VALUES (?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertFailover =
    "INSERT INTO failovers (run_id, component_id, time_us, job, from_pe, cause,"
    " detection_delay_us, to_pe, cookie, resumed, lost, attempts, detected_us,"
    " local_addresses, local_port) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertPeProgress =
    "INSERT INTO pe_progress (run_id, component_id, time_us, pe, cause, session, job, size,"
    " completed, pu_addresses, pu_port) VALUES (?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertJob =
    "INSERT INTO jobs (run_id, component_id, time_us, job, size, status, queued_us,"
    " started_us, accepted_us, completed_us, pe, rejects, failovers, queuing_delay_us,"
    " startup_delay_us, processing_us, handling_us, handling_speed)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertRegistration =
    "INSERT INTO registrations (run_id, component_id, time_us, kind, conn, pool, pe, policy,"
    " transport, port, addresses, registration_life_ms, load, reason)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertRegistrarAction =
    "INSERT INTO registrar_actions (run_id, component_id, time_us, kind, pool, pe, event)"
    " VALUES (?,?,?,?,?,?,?)";
constexpr const char* kInsertPeSample =
    "INSERT INTO pe_samples (run_id, component_id, time_us, kind, calculations, offered,"
    " utilization, load, jobs) VALUES (?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertPeEvent =
    "INSERT INTO pe_events (run_id, component_id, time_us, kind, pe, pr, session, job, event)"
    " VALUES (?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertMalformed =
    "INSERT INTO malformed_events (run_id, component_id, event, error) VALUES (?,?,?,?)";
constexpr const char* kCountEvent =
    "INSERT INTO event_counts (run_id, component_id, event, n) VALUES (?,?,?,1)"
    " ON CONFLICT (run_id, component_id, event) DO UPDATE SET n = n + 1";

// ---------------------------------------------------------------------------------------
// Fields: an event's value of a key, or Malformed saying why it has none.

class Malformed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string quoted(const char* key) { return std::string("'") + key + "'"; }

const json* find(const json& e, const char* key) {
  const auto it = e.find(key);
  return it == e.end() ? nullptr : &*it;
}

const json& required(const json& e, const char* key) {
  const json* v = find(e, key);
  if (v == nullptr) throw Malformed("missing " + quoted(key));
  return *v;
}

// Null or absent: nullptr.
const json* optional_field(const json& e, const char* key) {
  const json* v = find(e, key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::int64_t to_int(const json& v, const char* key) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw Malformed(quoted(key) + " is out of range");
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
  throw Malformed(quoted(key) + " is not an integer");
}

double to_number(const json& v, const char* key) {
  if (!v.is_number()) throw Malformed(quoted(key) + " is not a number");
  return v.get<double>();
}

std::string to_string(const json& v, const char* key) {
  if (!v.is_string()) throw Malformed(quoted(key) + " is not a string");
  return v.get<std::string>();
}

bool to_bool(const json& v, const char* key) {
  if (!v.is_boolean()) throw Malformed(quoted(key) + " is not a boolean");
  return v.get<bool>();
}

std::int64_t req_int(const json& e, const char* key) { return to_int(required(e, key), key); }
std::string req_string(const json& e, const char* key) {
  return to_string(required(e, key), key);
}
bool req_bool(const json& e, const char* key) { return to_bool(required(e, key), key); }
double req_number(const json& e, const char* key) { return to_number(required(e, key), key); }

std::optional<std::int64_t> opt_int(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_int(*v, key));
}
std::optional<double> opt_number(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_number(*v, key));
}
std::optional<std::string> opt_string(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_string(*v, key));
}
// An array of strings as JSON text, or NULL when missing or null.
Value optional_array(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) throw Malformed(quoted(key) + " is not an array");
  for (const auto& x : *v)
    if (!x.is_string()) throw Malformed(quoted(key) + " holds a non-string");
  return dump(*v);
}
// For registrar_actions' convenience columns: a string when it is one, else NULL.
Value string_if_any(const json& e, const char* key) {
  const json* v = find(e, key);
  return v != nullptr && v->is_string() ? Value(v->get<std::string>()) : Value(nullptr);
}

// For pe_events' convenience columns: an integer when it is one, else NULL.
Value integer_if_any(const json& e, const char* key) {
  const json* v = find(e, key);
  if (v == nullptr || !(v->is_number_integer() || v->is_number_unsigned())) return nullptr;
  try {
    return integer(to_int(*v, key));
  } catch (const Malformed&) {
    return nullptr;  // out of range: the whole line is in `event`
  }
}

// Absolute UTC µs → µs since the run's start.
// The absolute times of events (docs/events.md), which add_event makes run-relative.
constexpr const char* kAbsoluteTimes[] = {"time_us", "queued_us", "started_us", "accepted_us",
                                          "completed_us", "detected_us"};

std::int64_t relative(std::int64_t absolute, std::int64_t start, const char* key) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(absolute, start, &r)) throw Malformed(quoted(key) + " is out of range");
  return r;
}
std::optional<std::int64_t> relative(std::optional<std::int64_t> absolute, std::int64_t start,
                                     const char* key) {
  if (!absolute) return std::nullopt;
  return relative(*absolute, start, key);
}

// What every row of one event shares.
struct Context {
  const json& e;
  std::int64_t start;  // the run's start, UTC µs
  Value run, component, time;
};

// A PU's handle_resolution, failover and job (its other events are counted only).
void pu_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  const json& e = c.e;
  if (name == "handle_resolution") {
    const json& pes = required(e, "pes");
    if (!pes.is_array()) throw Malformed("'pes' is not an array");
    for (const auto& pe : pes)
      if (!pe.is_string()) throw Malformed("'pes' holds a non-string");
    rows.push_back({kInsertHandleResolution,
                    {c.run, c.component, c.time, req_string(e, "pool"),
                     optional_value(opt_int(e, "registrar")), boolean(req_bool(e, "cached")),
                     integer(req_int(e, "latency_us")), dump(pes),
                     integer(static_cast<std::int64_t>(pes.size())),
                     optional_value(opt_string(e, "error"))}});
  } else if (name == "failover") {
    rows.push_back({kInsertFailover,
                    {c.run, c.component, c.time, integer(req_int(e, "job")),
                     req_string(e, "from_pe"), req_string(e, "cause"),
                     integer(req_int(e, "detection_delay_us")),
                     optional_value(opt_string(e, "to_pe")), boolean(req_bool(e, "cookie")),
                     optional_value(opt_int(e, "resumed")), integer(req_int(e, "lost")),
                     integer(req_int(e, "attempts")),
                     optional_value(relative(opt_int(e, "detected_us"), c.start, "detected_us")),
                     optional_array(e, "local_addresses"),
                     optional_value(opt_int(e, "local_port"))}});
  } else if (name == "job") {
    rows.push_back(
        {kInsertJob,
         {c.run, c.component, c.time, integer(req_int(e, "job")), integer(req_int(e, "size")),
          req_string(e, "status"),
          integer(relative(req_int(e, "queued_us"), c.start, "queued_us")),
          optional_value(relative(opt_int(e, "started_us"), c.start, "started_us")),
          optional_value(relative(opt_int(e, "accepted_us"), c.start, "accepted_us")),
          optional_value(relative(opt_int(e, "completed_us"), c.start, "completed_us")),
          optional_value(opt_string(e, "pe")), integer(req_int(e, "rejects")),
          integer(req_int(e, "failovers")), optional_value(opt_int(e, "queuing_delay_us")),
          optional_value(opt_int(e, "startup_delay_us")),
          optional_value(opt_int(e, "processing_us")),
          optional_value(opt_int(e, "handling_us")),
          optional_value(opt_number(e, "handling_speed"))}});
  }
}

// A registrar's (re)registrations and deregistrations, and every event as an action.
void registrar_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  const json& e = c.e;
  if (name == "registration" || name == "reregistration") {
    const json* addresses = optional_field(e, "addresses");
    if (addresses != nullptr && !addresses->is_array())
      throw Malformed("'addresses' is not an array");
    const auto load = opt_int(e, "load");
    rows.push_back(
        {kInsertRegistration,
         {c.run, c.component, c.time, name, optional_value(opt_int(e, "conn")),
          req_string(e, "pool"), req_string(e, "pe"), req_string(e, "policy"),
          optional_value(opt_string(e, "transport")), optional_value(opt_int(e, "port")),
          addresses != nullptr ? Value(dump(*addresses)) : Value(nullptr),
          optional_value(opt_int(e, "registration_life_ms")),
          load ? Value(static_cast<double>(*load) / kLoadScale) : Value(nullptr), nullptr}});
  } else if (name == "deregistration") {
    rows.push_back({kInsertRegistration,
                    {c.run, c.component, c.time, name, nullptr, req_string(e, "pool"),
                     req_string(e, "pe"), nullptr, nullptr, nullptr, nullptr, nullptr,
                     nullptr, req_string(e, "reason")}});
  }
  // Every registrar event is an action, the rows above included.
  rows.push_back({kInsertRegistrarAction,
                  {c.run, c.component, c.time, name, string_if_any(e, "pool"),
                   string_if_any(e, "pe"), dump(e)}});
}

// A PE killed or stopped in its process: its jobs' progress just then (pe_progress).
void progress_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  const json& e = c.e;
  const json* jobs = optional_field(e, "jobs");
  if (jobs != nullptr && !jobs->is_array()) throw Malformed("'jobs' is not an array");
  for (const json& j : jobs != nullptr ? *jobs : json::array()) {
    if (!j.is_object()) throw Malformed("'jobs' holds a non-object");
    rows.push_back({kInsertPeProgress,
                    {c.run, c.component, c.time, req_string(e, "id"), name,
                     integer(req_int(j, "session")), integer(req_int(j, "job")),
                     integer(req_int(j, "size")), integer(req_int(j, "completed")),
                     optional_array(j, "pu_addresses"), optional_value(opt_int(j, "pu_port"))}});
  }
}

// A PE's samples (usage, load_changed) and every other event as a row of pe_events.
void pe_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  const json& e = c.e;
  if (name == "usage") {
    rows.push_back({kInsertPeSample,
                    {c.run, c.component, c.time, name, req_number(e, "calculations"),
                     req_number(e, "offered"), optional_value(opt_number(e, "utilization")),
                     nullptr, nullptr}});
  } else if (name == "load_changed") {
    // Two writers: the CalcApp service ({load 0…1, jobs}) and the registration core
    // ({load as a raw 32-bit fraction, reregistering}). Stored as 0…1 either way.
    const double load = req_number(e, "load");
    const auto jobs = opt_int(e, "jobs");
    const bool raw = find(e, "jobs") == nullptr;
    rows.push_back({kInsertPeSample,
                    {c.run, c.component, c.time, name, nullptr, nullptr, nullptr,
                     raw ? load / kLoadScale : load, optional_value(jobs)}});
  } else {
    // Every other PE event is a row of its own (registration state, REJECTs sent, jobs
    // taken over from a cookie, sessions, shell events).
    rows.push_back({kInsertPeEvent,
                    {c.run, c.component, c.time, name, string_if_any(e, "id"),
                     integer_if_any(e, "pr"), integer_if_any(e, "session"),
                     integer_if_any(e, "job"), dump(e)}});
    if (name == "killed" || name == "stopped") progress_rows(name, c, rows);
  }
}

struct Parsed {
  std::string name;
  std::vector<Row> rows;
};

// The rows of one event of a component with `role` (docs/events.md). Throws Malformed.
Parsed parse_event(const std::string& role, const json& e, std::int64_t run_id,
                   std::int64_t component_id, std::int64_t start) {
  if (!e.is_object()) throw Malformed("not a JSON object");
  Parsed p;
  p.name = req_string(e, "event");
  if (p.name.empty()) throw Malformed("empty 'event'");
  const std::int64_t t = relative(req_int(e, "time_us"), start, "time_us");
  const Context c{e, start, integer(run_id), integer(component_id), integer(t)};
  if (role == "pu")
    pu_rows(p.name, c, p.rows);
  else if (role == "registrar")
    registrar_rows(p.name, c, p.rows);
  else if (role == "pe")
    pe_rows(p.name, c, p.rows);
  return p;
}

}  // namespace

void shift_event_clock(nlohmann::json& event, std::int64_t offset_us) {
  if (!event.is_object()) return;
  for (const char* key : kAbsoluteTimes) {
    const auto it = event.find(key);
    if (it != event.end() && it->is_number_integer())
      *it = it->get<std::int64_t>() - offset_us;
  }
}

EventRows event_rows(const std::string& role, const nlohmann::json& event, std::int64_t run_id,
                     std::int64_t component_id, std::int64_t start_unix_us) {
  Parsed parsed;
  std::string error;
  try {
    parsed = parse_event(role, event, run_id, component_id, start_unix_us);
  } catch (const Malformed& e) {
    error = e.what();
  } catch (const json::exception& e) {  // a conversion the checks above did not foresee
    error = e.what();
  }
  EventRows out;
  if (!error.empty()) {
    out.rows.push_back({kInsertMalformed,
                        {integer(run_id), integer(component_id), dump(event), error},
                        "add_event: malformed"});
    parsed.name = "malformed";
  } else {
    out.rows = std::move(parsed.rows);
    out.event_rows = !out.rows.empty();
  }
  out.rows.push_back(
      {kCountEvent, {integer(run_id), integer(component_id), parsed.name}, "add_event: count"});
  return out;
}

}  // namespace rsplab::results
