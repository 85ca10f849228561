// Event lines into rows (ingest.hpp): one parser per role (PU: handle_resolutions,
// failovers, jobs, echo_series; registrar: registrations, registrar_actions; PE: pe_samples, pe_events,
// pe_progress) over the typed events of stack/common/events.hpp, the statements they fill,
// and the absolute times moved to the run's clock (shift_event_clock, store.hpp).
#include "results/ingest.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <utility>

#include "results/sqlite.hpp"
#include "stack/common/events.hpp"

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
constexpr const char* kInsertEchoSeries =
    "INSERT INTO echo_series (run_id, component_id, time_us, reason, requests, answers,"
    " duplicates, lost, replies, failovers) VALUES (?,?,?,?,?,?,?,?,?,?)";
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
constexpr const char* kInsertTakeover =
    "INSERT INTO enrp_takeovers (run_id, component_id, time_us, started_us, target, outcome,"
    " pes, acks) VALUES (?,?,?,?,?,?,?,?)";
constexpr const char* kInsertSync =
    "INSERT INTO enrp_syncs (run_id, component_id, time_us, peer, reason, pes, pages, removed,"
    " duration_us) VALUES (?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertAdoption =
    "INSERT INTO pe_adoptions (run_id, component_id, time_us, pool, pe, from_registrar)"
    " VALUES (?,?,?,?,?,?)";
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
// Fields: the typed events (stack/common/events.hpp) check theirs; these are for the rest.

using common::EventError;
using namespace common::event_fields;

// An array of strings as JSON text, or NULL.
Value strings_or_null(const std::optional<std::vector<std::string>>& v) {
  return v ? Value(dump(json(*v))) : Value(nullptr);
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
  } catch (const EventError&) {
    return nullptr;  // out of range: the whole line is in `event`
  }
}

// The absolute times of events (docs/events.md), which add_event makes run-relative.
constexpr const char* kAbsoluteTimes[] = {"time_us", "queued_us", "started_us", "accepted_us",
                                          "completed_us", "detected_us"};

// Absolute UTC µs → µs since the run's start. An event's times are moved after its typed
// struct is read, so a time out of range (below INT64_MIN + the run's start) is named only
// when no other field is wrong.
std::int64_t relative(std::int64_t absolute, std::int64_t start, const char* key) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(absolute, start, &r))
    throw EventError(quoted(key) + " is out of range");
  return r;
}
Value relative(std::optional<std::int64_t> absolute, std::int64_t start, const char* key) {
  if (!absolute) return nullptr;
  return integer(relative(*absolute, start, key));
}

// What every row of one event shares.
struct Context {
  const json& e;
  std::int64_t start;  // the run's start, UTC µs
  std::int64_t run, component, time;  // the time run-relative
};

// A row of `sql` for the event of `c`: its run, component and time, then `rest`.
Row row(const char* sql, const Context& c, std::initializer_list<Value> rest) {
  Values values{integer(c.run), integer(c.component), integer(c.time)};
  values.insert(values.end(), rest);
  return {sql, std::move(values)};
}

Row handle_resolution_row(const Context& c) {
  const auto r = c.e.get<common::HandleResolutionEvent>();
  return row(kInsertHandleResolution, c,
             {r.pool, optional_value(r.registrar), boolean(r.cached), integer(r.latency_us),
              dump(json(r.pes)), integer(static_cast<std::int64_t>(r.pes.size())),
              optional_value(r.error)});
}

Row failover_row(const Context& c) {
  const auto f = c.e.get<common::FailoverEvent>();
  return row(kInsertFailover, c,
             {integer(f.job), f.from_pe, f.cause, integer(f.detection_delay_us),
              optional_value(f.to_pe), boolean(f.cookie), optional_value(f.resumed),
              integer(f.lost), integer(f.attempts),
              relative(f.detected_us, c.start, "detected_us"),
              strings_or_null(f.local_addresses), optional_value(f.local_port)});
}

Row job_row(const Context& c) {
  const auto j = c.e.get<common::JobEvent>();
  return row(kInsertJob, c,
             {integer(j.job), integer(j.size), j.status,
              integer(relative(j.queued_us, c.start, "queued_us")),
              relative(j.started_us, c.start, "started_us"),
              relative(j.accepted_us, c.start, "accepted_us"),
              relative(j.completed_us, c.start, "completed_us"), optional_value(j.pe),
              integer(j.rejects), integer(j.failovers), optional_value(j.queuing_delay_us),
              optional_value(j.startup_delay_us), optional_value(j.processing_us),
              optional_value(j.handling_us), optional_value(j.handling_speed)});
}

Row echo_series_row(const Context& c) {
  const auto d = c.e.get<common::EchoDoneEvent>();
  return row(kInsertEchoSeries, c,
             {d.reason, integer(d.requests), integer(d.answers), integer(d.duplicates),
              integer(d.lost), integer(d.replies), integer(d.failovers)});
}

// A PU's handle_resolution, failover, job and an echo series' done (its other events are
// counted only).
void pu_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  if (name == common::HandleResolutionEvent::kName)
    rows.push_back(handle_resolution_row(c));
  else if (name == common::FailoverEvent::kName)
    rows.push_back(failover_row(c));
  else if (name == common::JobEvent::kName)
    rows.push_back(job_row(c));
  else if (name == common::EchoDoneEvent::kName && common::EchoDoneEvent::matches(c.e))
    rows.push_back(echo_series_row(c));
}

Row registration_row(const std::string& name, const Context& c) {
  const auto r = c.e.get<common::RegistrationEvent>();
  return row(kInsertRegistration, c,
             {name, optional_value(r.conn), r.pool, r.pe, r.policy, optional_value(r.transport),
              optional_value(r.port), r.addresses ? Value(dump(*r.addresses)) : Value(nullptr),
              optional_value(r.registration_life_ms),
              r.load ? Value(static_cast<double>(*r.load) / kLoadScale) : Value(nullptr),
              nullptr});
}

// ENRP: takeovers, handle table downloads and adoptions (every other ENRP event is an
// action only).
void enrp_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  if (name == common::TakeoverEvent::kName) {
    const auto t = c.e.get<common::TakeoverEvent>();
    rows.push_back(row(kInsertTakeover, c,
                       {integer(c.time - t.duration_ms * 1000), t.target, t.outcome,
                        integer(t.pes), integer(t.acks)}));
  } else if (name == common::HandleTableSyncEvent::kName) {
    const auto s = c.e.get<common::HandleTableSyncEvent>();
    rows.push_back(row(kInsertSync, c,
                       {s.peer, s.reason, integer(s.pes), integer(s.pages), integer(s.removed),
                        integer(s.duration_ms * 1000)}));
  } else if (name == common::PeAdoptedEvent::kName) {
    const auto a = c.e.get<common::PeAdoptedEvent>();
    rows.push_back(row(kInsertAdoption, c, {a.pool, a.pe, a.from}));
  }
}

// A registrar's (re)registrations and deregistrations, its ENRP rows, and every event as an
// action.
void registrar_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  if (name == "registration" || name == "reregistration") {
    rows.push_back(registration_row(name, c));
  } else if (name == common::DeregistrationEvent::kName) {
    const auto d = c.e.get<common::DeregistrationEvent>();
    rows.push_back(row(kInsertRegistration, c,
                       {name, nullptr, d.pool, d.pe, nullptr, nullptr, nullptr, nullptr,
                        nullptr, nullptr, d.reason}));
  } else {
    enrp_rows(name, c, rows);
  }
  // Every registrar event is an action, the rows above included.
  rows.push_back(row(kInsertRegistrarAction, c,
                     {name, string_if_any(c.e, "pool"), string_if_any(c.e, "pe"), dump(c.e)}));
}

// A PE killed or stopped in its process: its jobs' progress just then (pe_progress).
void progress_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  const auto s = c.e.get<common::StoppedEvent>();
  for (const auto& j : s.jobs)
    rows.push_back(row(kInsertPeProgress, c,
                       {s.id, name, integer(j.session), integer(j.job), integer(j.size),
                        integer(j.completed), strings_or_null(j.pu_addresses),
                        optional_value(j.pu_port)}));
}

// A PE's samples (usage, load_changed) and every other event as a row of pe_events.
void pe_rows(const std::string& name, const Context& c, std::vector<Row>& rows) {
  if (name == common::UsageEvent::kName) {
    const auto u = c.e.get<common::UsageEvent>();
    rows.push_back(row(kInsertPeSample, c,
                       {name, u.calculations, u.offered, optional_value(u.utilization),
                        nullptr, nullptr}));
  } else if (name == common::LoadChangedEvent::kName) {
    // Stored as 0…1 whichever writer: the registration core's load is a raw 32-bit fraction.
    const auto l = c.e.get<common::LoadChangedEvent>();
    rows.push_back(row(kInsertPeSample, c,
                       {name, nullptr, nullptr, nullptr,
                        l.from_service ? l.load : l.load / kLoadScale, optional_value(l.jobs)}));
  } else {
    // Every other PE event is a row of its own (registration state, REJECTs sent, jobs
    // taken over from a cookie, sessions, shell events).
    rows.push_back(row(kInsertPeEvent, c,
                       {name, string_if_any(c.e, "id"), integer_if_any(c.e, "pr"),
                        integer_if_any(c.e, "session"), integer_if_any(c.e, "job"),
                        dump(c.e)}));
    if (name == "killed" || name == "stopped") progress_rows(name, c, rows);
  }
}

struct Parsed {
  std::string name;
  std::vector<Row> rows;
};

// The rows of one event of a component with `role` (docs/events.md). Throws EventError.
Parsed parse_event(const std::string& role, const json& e, std::int64_t run_id,
                   std::int64_t component_id, std::int64_t start) {
  if (!e.is_object()) throw EventError("not a JSON object");
  Parsed p;
  p.name = req_string(e, "event");
  if (p.name.empty()) throw EventError("empty 'event'");
  const std::int64_t t = relative(req_int(e, "time_us"), start, "time_us");
  const Context c{e, start, run_id, component_id, t};
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
  } catch (const EventError& e) {
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
