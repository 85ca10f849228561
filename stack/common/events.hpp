// The typed events of docs/events.md: the ones the results store turns into rows of their
// own tables (results/ingest.cpp), and every further one the cores of stack/ write. One
// struct per event kind and writer, with nlohmann `from_json` and `to_json`; the producers in
// stack/ (registrar core, PE registration core, session layer, CalcApp, echo) write their
// events as `json(Struct{...})` and the store reads them with `get<Struct>()`, so a field
// renamed in the code is a compile error rather than a malformed_events row. `from_json` reads the fields the store reads, in the order of their
// columns, with the store's checks and messages: it throws EventError ("missing 'job'",
// "'size' is not an integer", "'pes' holds a non-string"); null counts as absent for an
// optional field; an integral float (5e6) is an integer. Fields a producer writes that the
// store does not read (marked "not checked") are read only when well-formed, never an error.
// Times are as on the wire, UTC µs; the store makes them run-relative. `to_json` writes
// "event" (the kind) and exactly the fields the producer writes: an absent optional one as
// null, except where a comment says "omitted when absent"; time_us, the component and its
// identity are the event log's (node/event_log.hpp). The nodes' own events (node/: ready,
// killed, stopped) are structs here too. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rsplab::common {

// Why an event line is not what its kind promises.
class EventError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The checks `from_json` makes, for readers of fields that have no struct (an event's
// "event" and "time_us", the convenience columns of pe_events and registrar_actions).
// Each throws EventError naming the key.
namespace event_fields {

using nlohmann::json;

// 'key', as the messages quote it.
std::string quoted(const char* key);
// The value of `key` or nullptr (absent); `optional` also answers nullptr for null.
const json* find(const json& e, const char* key);
const json* optional(const json& e, const char* key);
// The value of `key`; EventError "missing 'key'".
const json& required(const json& e, const char* key);

// A value as an int64 (an unsigned one above INT64_MAX is "out of range"; an integral
// float is an integer), a number, a string, a boolean.
std::int64_t to_int(const json& v, const char* key);
double to_number(const json& v, const char* key);
std::string to_string(const json& v, const char* key);
bool to_bool(const json& v, const char* key);

std::int64_t req_int(const json& e, const char* key);
double req_number(const json& e, const char* key);
std::string req_string(const json& e, const char* key);
bool req_bool(const json& e, const char* key);
// An array of strings ("is not an array", "holds a non-string").
std::vector<std::string> req_strings(const json& e, const char* key);

std::optional<std::int64_t> opt_int(const json& e, const char* key);
std::optional<double> opt_number(const json& e, const char* key);
std::optional<std::string> opt_string(const json& e, const char* key);
std::optional<std::vector<std::string>> opt_strings(const json& e, const char* key);

}  // namespace event_fields

// ---- PU events ---------------------------------------------------------------------------

// A handle resolution of a PU (from a registrar, or its cache).
struct HandleResolutionEvent {
  static constexpr const char* kName = "handle_resolution";
  std::vector<std::string> pes;  // the PE identities answered
  std::string pool;
  std::optional<std::int64_t> registrar;  // which of the PU's registrars; none when cached
  bool cached = false;
  std::int64_t latency_us = 0;
  std::optional<std::string> error;  // omitted when absent (a PE was offered)
  bool operator==(const HandleResolutionEvent&) const = default;
};

// A PU gave a PE up in the middle of a job and went on with another (or failed to).
struct FailoverEvent {
  static constexpr const char* kName = "failover";
  std::int64_t job = 0;
  std::string from_pe, cause;
  std::int64_t detection_delay_us = 0;
  std::optional<std::string> to_pe;
  bool cookie = false;
  std::optional<std::int64_t> resumed;
  std::int64_t lost = 0, attempts = 0;
  std::optional<std::int64_t> detected_us;  // UTC µs
  // The PU's end of the failed session: omitted when absent (it never connected).
  std::optional<std::vector<std::string>> local_addresses;
  std::optional<std::int64_t> local_port;
  std::vector<std::string> paths;  // "LOCAL->PE: error" that failed meanwhile; not checked
  bool operator==(const FailoverEvent&) const = default;
};

// A PU's job, once it has ended (completed, or not when the run ended).
struct JobEvent {
  static constexpr const char* kName = "job";
  std::int64_t job = 0, size = 0;
  std::string status;
  std::int64_t queued_us = 0;                                   // UTC µs
  std::optional<std::int64_t> started_us, accepted_us, completed_us;  // UTC µs
  std::optional<std::string> pe;
  std::int64_t rejects = 0, failovers = 0;
  std::optional<std::int64_t> queuing_delay_us, startup_delay_us, processing_us, handling_us;
  std::optional<double> handling_speed;
  bool operator==(const JobEvent&) const = default;
};

// A PE answered the PU's job with REJECT.
struct PuJobRejectedEvent {
  static constexpr const char* kName = "job_rejected";
  std::int64_t job = 0;
  std::string pe;
  bool operator==(const PuJobRejectedEvent&) const = default;
};

// The PU moves to another of its registrars.
struct RegistrarFailoverEvent {
  static constexpr const char* kName = "registrar_failover";
  std::optional<std::int64_t> from;  // null: none was connected
  std::int64_t to = 0;
  std::string reason;
  bool operator==(const RegistrarFailoverEvent&) const = default;
};

// ---- Registrar events --------------------------------------------------------------------

// The policy parameters of a registration other than `load`, by their event keys (raw
// 32-bit values, as on the wire; docs/events.md).
inline constexpr const char* kPolicyParameterKeys[] = {
    "weight", "priority", "load_degradation", "load_dpf", "weight_dpf", "distance"};

// A registration or reregistration a registrar accepted (`kind` tells which).
struct RegistrationEvent {
  std::string kind = "registration";  // or "reregistration"
  std::optional<nlohmann::json> addresses;  // an array, its elements as written
  // A fraction of 0xFFFFFFFF, as on the wire; omitted when absent (not the policy's).
  std::optional<std::int64_t> load;
  std::optional<std::int64_t> conn;
  std::string pool, pe, policy;
  std::optional<std::string> transport;
  std::optional<std::int64_t> port, registration_life_ms;
  // The addresses before the address filter: only when it dropped some (omitted when
  // absent); not checked.
  std::optional<nlohmann::json> addresses_advertised;
  // The policy's other parameters (kPolicyParameterKeys), each a field; not checked.
  std::map<std::string, std::int64_t> parameters;
  bool operator==(const RegistrationEvent&) const = default;
};

struct DeregistrationEvent {
  static constexpr const char* kName = "deregistration";
  std::string pool, pe, reason;
  bool operator==(const DeregistrationEvent&) const = default;
};

// ---- PE events ---------------------------------------------------------------------------

// What a PE computed and was offered over its last sampling interval (calculations).
struct UsageEvent {
  static constexpr const char* kName = "usage";
  double calculations = 0, offered = 0;
  std::optional<double> utilization;
  bool operator==(const UsageEvent&) const = default;
};

// A PE's load changed. Two writers: the CalcApp service ({load 0…1, jobs}) and the
// registration core ({load as a raw 32-bit fraction, an integer; reregistering}); which one
// wrote it is told by the "jobs" key (present, even null: the service).
struct LoadChangedEvent {
  static constexpr const char* kName = "load_changed";
  double load = 0;
  std::optional<std::int64_t> jobs;
  bool from_service = false;  // the "jobs" key is there
  // The registration core's: it re-registers at once (an adaptive policy); not checked.
  bool reregistering = false;
  bool operator==(const LoadChangedEvent&) const = default;
};

// The CalcApp PE's sessions and jobs (stack/session/pe_sessions.cpp,
// stack/calcapp/pe_service.cpp); `session` is the PE's number for a PU's session, `job` the
// PU's job id. The store keeps them in pe_events whole.
struct SessionOpenedEvent {
  static constexpr const char* kName = "session_opened";
  std::int64_t session = 0;
  bool operator==(const SessionOpenedEvent&) const = default;
};

struct SessionClosedEvent {
  static constexpr const char* kName = "session_closed";
  std::int64_t session = 0;
  std::string cause;  // peer, keepalive_timeout, shutdown
  bool operator==(const SessionClosedEvent&) const = default;
};

struct JobAcceptedEvent {
  static constexpr const char* kName = "job_accepted";
  std::int64_t session = 0, job = 0, size = 0, completed = 0;
  bool resumed = false;  // from a Cookie Echo
  std::int64_t jobs = 0;  // active now
  double load = 0;        // 0…1
  bool operator==(const JobAcceptedEvent&) const = default;
};

// The PE answered a job with REJECT (the PU's event of the same name: PuJobRejectedEvent).
struct PeJobRejectedEvent {
  static constexpr const char* kName = "job_rejected";
  std::int64_t session = 0, job = 0, size = 0, jobs = 0;
  bool operator==(const PeJobRejectedEvent&) const = default;
};

struct JobCompletedEvent {
  static constexpr const char* kName = "job_completed";
  std::int64_t session = 0, job = 0, size = 0;
  bool operator==(const JobCompletedEvent&) const = default;
};

struct JobAbortedEvent {
  static constexpr const char* kName = "job_aborted";
  std::int64_t session = 0, job = 0, size = 0, completed = 0;
  std::string cause;  // abort, session_lost, keepalive_timeout, shutdown
  bool operator==(const JobAbortedEvent&) const = default;
};

struct CookieSentEvent {
  static constexpr const char* kName = "cookie_sent";
  std::int64_t session = 0, job = 0, size = 0, completed = 0;
  bool operator==(const CookieSentEvent&) const = default;
};

// One job in progress on a PE when it was killed or stopped.
struct JobProgress {
  std::int64_t session = 0, job = 0, size = 0, completed = 0;
  std::optional<std::vector<std::string>> pu_addresses;
  std::optional<std::int64_t> pu_port;
  bool operator==(const JobProgress&) const = default;
};

// A PE member killed or stopped in its process, with its jobs' progress just then. `id`
// (the PE identity) is required only when there are jobs. Written by node/member.hpp (a PU
// member's too, without jobs).
struct StoppedEvent {
  std::string kind = "killed";  // or "stopped"
  std::string id;
  std::vector<JobProgress> jobs;
  // Its index in its process; omitted when absent; not checked.
  std::optional<std::int64_t> member;
  // Whether "jobs" is written (a CalcApp PE's, not one killed while frozen) or was read.
  bool has_jobs = true;
  bool operator==(const StoppedEvent&) const = default;
};

// The end of an echo PU's series (docs/events.md, "The echo service"): the PU's `done`
// with `requests` (CalcApp's `done`, CalcAppDoneEvent, has none, and is counted only).
// Written by stack/echo/pu_core.cpp; the session layer's counters besides `failovers`
// (session::PuSessionCounters::fill) are not checked.
struct EchoDoneEvent {
  static constexpr const char* kName = "done";
  std::string reason;  // "count" | "stop"
  std::int64_t requests = 0, answers = 0, duplicates = 0, lost = 0, replies = 0, failovers = 0;
  std::int64_t resolutions = 0, cache_hits = 0, unreachable_reports = 0,
               registrar_failovers = 0, rejects = 0, discarded = 0;
  bool operator==(const EchoDoneEvent&) const = default;
  // Whether `event`, a PU's `done`, is the echo service's (it has `requests`).
  static bool matches(const nlohmann::json& event) { return event.contains("requests"); }
};

// ---- The stack's further events ---------------------------------------------------------
// Written through these structs by stack/ (the services, the session layer, the PE
// registration core, the registrar core); the store keeps them whole (pe_events,
// registrar_actions) or counts them, and reads none but `done` (EchoDoneEvent above).
// Their from_json and to_json are declared at the end of this block. Their from_json (but
// EchoDoneEvent's, above) are the producers' tests' checks (tests/common/typed_events.hpp):
// the store never calls them.

// The end of a CalcApp PU's run (stack/calcapp/pu_core.cpp): `reason` ("stop" | "max_jobs"),
// its own counters and the session layer's (session::PuSessionCounters::fill).
struct CalcAppDoneEvent {
  static constexpr const char* kName = "done";
  std::string reason;
  std::int64_t jobs_generated = 0, jobs_completed = 0, jobs_unfinished = 0,
               calculations_completed = 0;
  double handling_seconds = 0, handling_speed = 0;
  std::int64_t failovers = 0, resolutions = 0, cache_hits = 0, unreachable_reports = 0,
               registrar_failovers = 0, rejects = 0, discarded = 0;
  bool operator==(const CalcAppDoneEvent&) const = default;
};

// Input a core dropped, with `reason`. Four writers, each with its own fields (the others
// omitted): the registrar core's `conn` and `protocol` ("ASAP" | "ENRP"); the PE
// registration core's `pr`; the PE session layer's `session` and `ppid`; the PU session
// layer's `from` ("registrar <i>", "session <s>").
struct MessageDiscardedEvent {
  static constexpr const char* kName = "message_discarded";
  std::optional<std::int64_t> conn;
  std::optional<std::string> protocol;
  std::optional<std::int64_t> pr;
  std::optional<std::int64_t> session, ppid;
  std::optional<std::string> from;
  std::string reason;
  bool operator==(const MessageDiscardedEvent&) const = default;
};

// The echo PE (stack/echo/pe_service.cpp): a Cookie Echo set a session's reply count.
struct EchoResumedEvent {
  static constexpr const char* kName = "echo_resumed";
  std::int64_t session = 0, replies = 0;
  bool operator==(const EchoResumedEvent&) const = default;
};

// The echo PE: a session that answered or resumed ended.
struct EchoEndedEvent {
  static constexpr const char* kName = "echo_ended";
  std::int64_t session = 0;
  std::int64_t replies = 0;                  // the next reply number
  std::optional<std::int64_t> resumed_from;  // null: not resumed
  std::string cause;                         // session_lost, keepalive_timeout, shutdown
  bool operator==(const EchoEndedEvent&) const = default;
};

// The PE registration core's (stack/session/pe_core.cpp). `pr` is the index of a registrar
// in the PE's list; null where there was none. The store keeps them whole in pe_events.

// A registration (`kind` "registered") or reregistration ("reregistered") accepted.
struct RegisteredEvent {
  std::string kind = "registered";
  std::int64_t pr = 0;
  std::string pool, pe;
  std::optional<std::string> policy;  // its short name; null for a type without one
  std::int64_t load = 0;              // the policy's load, a raw 32-bit fraction
  bool operator==(const RegisteredEvent&) const = default;
};

// No registrar known yet: the PE waits for an announce.
struct NoRegistrarEvent {
  static constexpr const char* kName = "no_registrar";
  std::string reason;
  bool operator==(const NoRegistrarEvent&) const = default;
};

// The PE leaves its registrar for the next one (a PU's failover: FailoverEvent).
struct PeFailoverEvent {
  static constexpr const char* kName = "failover";
  std::optional<std::int64_t> from_pr, to_pr;
  std::string reason;  // connect_failed, closed, timeout, rejected
  std::int64_t delay_ms = 0;
  bool operator==(const PeFailoverEvent&) const = default;
};

struct RegistrarLearntEvent {
  static constexpr const char* kName = "registrar_learnt";
  std::int64_t pr = 0;
  std::string server_id;
  bool operator==(const RegistrarLearntEvent&) const = default;
};

// On a clean shutdown: `confirmed` by the registrar, or not (closed, timed out).
struct DeregisteredEvent {
  static constexpr const char* kName = "deregistered";
  std::optional<std::int64_t> pr;
  std::string pool, pe;
  bool confirmed = false;
  std::optional<std::vector<std::string>> causes;  // omitted when absent
  bool operator==(const DeregisteredEvent&) const = default;
};

// An ASAP Error from a registrar (the registrar's own: RegistrarErrorReceivedEvent).
struct PeErrorReceivedEvent {
  static constexpr const char* kName = "error_received";
  std::int64_t pr = 0;
  std::vector<std::string> causes;
  bool operator==(const PeErrorReceivedEvent&) const = default;
};

// A registrar refused the registration (its own event: RegistrarRegistrationRejectedEvent).
struct PeRegistrationRejectedEvent {
  static constexpr const char* kName = "registration_rejected";
  std::int64_t pr = 0;
  std::string pool, pe;
  std::optional<std::string> cause;  // null without one
  bool permanent = false;            // the PE stops
  bool operator==(const PeRegistrationRejectedEvent&) const = default;
};

// The registration core is done without a registration (a shell's `stopped`: StoppedEvent,
// which has no `reason`).
struct PeCoreStoppedEvent {
  static constexpr const char* kName = "stopped";
  std::string reason;  // shutdown, or the permanent refusal's cause
  bool operator==(const PeCoreStoppedEvent&) const = default;
  static bool matches(const nlohmann::json& event) { return event.contains("reason"); }
};

struct HomeChangedEvent {
  static constexpr const char* kName = "home_changed";
  std::optional<std::int64_t> from_pr;
  std::int64_t to_pr = 0;
  std::string server_id;
  bool operator==(const HomeChangedEvent&) const = default;
};

struct RegistrationLostEvent {
  static constexpr const char* kName = "registration_lost";
  std::int64_t pr = 0;
  std::string pool, pe;
  bool reregistering = false;  // false: a registration is outstanding already
  bool operator==(const RegistrationLostEvent&) const = default;
};

// The registrar core's (stack/registrar/core.cpp), besides registration, reregistration and
// deregistration above. `conn` is the registrar's number for a connection. The store keeps
// them whole in registrar_actions.

// Malformed or unexpected input answered with an Operation Error.
struct ErrorSentEvent {
  static constexpr const char* kName = "error_sent";
  std::int64_t conn = 0;
  std::string protocol;              // ASAP, ENRP
  std::vector<std::string> causes;   // RFC names
  std::string reason;                // the decoder's text
  bool operator==(const ErrorSentEvent&) const = default;
};

struct RegistrarErrorReceivedEvent {
  static constexpr const char* kName = "error_received";
  std::int64_t conn = 0;
  bool operator==(const RegistrarErrorReceivedEvent&) const = default;
};

// A valid ENRP message (peering comes with a later issue).
struct EnrpIgnoredEvent {
  static constexpr const char* kName = "enrp_ignored";
  std::int64_t conn = 0;
  std::string type;
  bool operator==(const EnrpIgnoredEvent&) const = default;
};

struct RegistrarRegistrationRejectedEvent {
  static constexpr const char* kName = "registration_rejected";
  std::int64_t conn = 0;
  std::string pool, pe, cause, reason;
  bool operator==(const RegistrarRegistrationRejectedEvent&) const = default;
};

struct DeregistrationRefusedEvent {
  static constexpr const char* kName = "deregistration_refused";
  std::int64_t conn = 0;
  std::string pool, pe, reason;
  bool operator==(const DeregistrationRefusedEvent&) const = default;
};

// A PU over --max-hr-rate / --max-eu-rate.
struct RateLimitedEvent {
  static constexpr const char* kName = "rate_limited";
  std::int64_t conn = 0;
  std::string what;  // handle_resolution, endpoint_unreachable
  std::string pool;
  bool operator==(const RateLimitedEvent&) const = default;
};

// A handle resolution the registrar answered (a PU's: HandleResolutionEvent).
struct RegistrarHandleResolutionEvent {
  static constexpr const char* kName = "handle_resolution";
  std::int64_t conn = 0;
  std::string pool;
  std::optional<std::int64_t> requested;  // items asked for; null: not said
  std::int64_t items = 0;                 // items answered at the most
  std::vector<std::string> pes;
  std::optional<std::string> policy, error;  // one of them; the other omitted
  bool operator==(const RegistrarHandleResolutionEvent&) const = default;
};

// A keep-alive ack from a PE the registrar does not hold.
struct PeNotRegisteredEvent {
  static constexpr const char* kName = "pe_not_registered";
  std::int64_t conn = 0;
  std::string pool, pe;
  bool operator==(const PeNotRegisteredEvent&) const = default;
};

// An ENDPOINT_UNREACHABLE taken: `reports` and `max_bad_pe_reports` only for a known PE.
struct UnreachableReportEvent {
  static constexpr const char* kName = "unreachable_report";
  std::int64_t conn = 0;
  std::string pool, pe;
  bool known = false;
  std::optional<std::int64_t> reports, max_bad_pe_reports;  // omitted when absent
  bool operator==(const UnreachableReportEvent&) const = default;
};

struct KeepaliveTimeoutEvent {
  static constexpr const char* kName = "keepalive_timeout";
  std::string pool, pe;
  bool operator==(const KeepaliveTimeoutEvent&) const = default;
};

// ENRP (RFC 5353), the registrar core's peering, synchronisation and takeover. Registrars
// are named by their Server IDs as hex ("0x0000abcd"); the store keeps these events in
// registrar_actions and reads takeovers, syncs and adoptions into tables of their own.

// A peer registrar heard for the first time, or again after it was down.
struct PeerUpEvent {
  static constexpr const char* kName = "peer_up";
  std::string peer;
  std::int64_t conn = 0;
  std::string via;  // static (--peer), multicast, list (a List Response), incoming
  bool operator==(const PeerUpEvent&) const = default;
};

// A peer taken for gone: silent past max-time-last-heard and max-time-no-response
// (unreachable), or taken over by another registrar (taken_over).
struct PeerDownEvent {
  static constexpr const char* kName = "peer_down";
  std::string peer;
  std::string reason;  // unreachable, taken_over
  bool operator==(const PeerDownEvent&) const = default;
};

// Start-up is over: the mentor's handle table downloaded, or no mentor found in time.
struct ServingEvent {
  static constexpr const char* kName = "serving";
  std::optional<std::string> mentor;  // null: none found
  std::int64_t pes = 0;               // PEs held then
  std::int64_t waited_ms = 0;         // since start()
  bool operator==(const ServingEvent&) const = default;
};

// A handle table downloaded from a peer (every page), at start-up or by an audit.
struct HandleTableSyncEvent {
  static constexpr const char* kName = "handle_table_sync";
  std::string peer;
  std::string reason;         // mentor, audit
  std::int64_t pes = 0;       // PE entries received
  std::int64_t pages = 0;     // responses (M flag: more than one)
  std::int64_t removed = 0;   // the peer's PEs held here that its table no longer had
  std::int64_t duration_ms = 0;
  bool operator==(const HandleTableSyncEvent&) const = default;
};

// A peer's Presence whose owner checksum differs from what this registrar holds of that
// peer's PEs: an audit (a Handle Table Request, own children only) follows.
struct AuditEvent {
  static constexpr const char* kName = "audit";
  std::string peer;
  std::string announced, held;  // the two checksums, "0x1234"
  std::int64_t held_pes = 0;
  bool operator==(const AuditEvent&) const = default;
};

// This registrar starts taking over a silent peer (Init Takeover sent to every other peer).
struct TakeoverStartedEvent {
  static constexpr const char* kName = "takeover_started";
  std::string target;
  std::vector<std::string> awaiting;  // the peers whose acknowledgement it needs
  std::int64_t silent_ms = 0;         // since the target was last heard
  bool operator==(const TakeoverStartedEvent&) const = default;
};

// The end of this registrar's takeover of `target`.
struct TakeoverEvent {
  static constexpr const char* kName = "takeover";
  std::string target;
  // completed: every ack came; recovered: the takeover expired and this registrar
  // completed it without the missing acks (docs/enrp.md); yielded: a registrar with a
  // lower ID takes over; cancelled: the target was heard again.
  std::string outcome;
  std::int64_t pes = 0;   // adopted
  std::int64_t acks = 0;
  std::int64_t duration_ms = 0;  // from takeover_started
  bool operator==(const TakeoverEvent&) const = default;
};

// This registrar acknowledged another's Init Takeover.
struct TakeoverAckedEvent {
  static constexpr const char* kName = "takeover_acked";
  std::string by, target;
  bool operator==(const TakeoverAckedEvent&) const = default;
};

// One PE adopted by this registrar's takeover: its home is now this registrar, and an
// Endpoint Keep-Alive with the H flag is on its way to it.
struct PeAdoptedEvent {
  static constexpr const char* kName = "pe_adopted";
  std::string pool, pe;
  std::string from;  // the registrar taken over
  bool operator==(const PeAdoptedEvent&) const = default;
};

// Another registrar took over `target` (Takeover Server): the target's PEs are now its.
struct PeerTakeoverEvent {
  static constexpr const char* kName = "peer_takeover";
  std::string by, target;
  std::int64_t pes = 0;  // PEs of the target held here that changed home
  bool operator==(const PeerTakeoverEvent&) const = default;
};

void from_json(const nlohmann::json& j, CalcAppDoneEvent& e);
void from_json(const nlohmann::json& j, MessageDiscardedEvent& e);
void from_json(const nlohmann::json& j, EchoResumedEvent& e);
void from_json(const nlohmann::json& j, EchoEndedEvent& e);
void to_json(nlohmann::json& j, const CalcAppDoneEvent& e);
void to_json(nlohmann::json& j, const MessageDiscardedEvent& e);
void to_json(nlohmann::json& j, const EchoResumedEvent& e);
void to_json(nlohmann::json& j, const EchoEndedEvent& e);
void from_json(const nlohmann::json& j, RegisteredEvent& e);
void from_json(const nlohmann::json& j, NoRegistrarEvent& e);
void from_json(const nlohmann::json& j, PeFailoverEvent& e);
void from_json(const nlohmann::json& j, RegistrarLearntEvent& e);
void from_json(const nlohmann::json& j, DeregisteredEvent& e);
void from_json(const nlohmann::json& j, PeErrorReceivedEvent& e);
void from_json(const nlohmann::json& j, PeRegistrationRejectedEvent& e);
void from_json(const nlohmann::json& j, PeCoreStoppedEvent& e);
void from_json(const nlohmann::json& j, HomeChangedEvent& e);
void from_json(const nlohmann::json& j, RegistrationLostEvent& e);
void from_json(const nlohmann::json& j, ErrorSentEvent& e);
void from_json(const nlohmann::json& j, RegistrarErrorReceivedEvent& e);
void from_json(const nlohmann::json& j, EnrpIgnoredEvent& e);
void from_json(const nlohmann::json& j, RegistrarRegistrationRejectedEvent& e);
void from_json(const nlohmann::json& j, DeregistrationRefusedEvent& e);
void from_json(const nlohmann::json& j, RateLimitedEvent& e);
void from_json(const nlohmann::json& j, RegistrarHandleResolutionEvent& e);
void from_json(const nlohmann::json& j, PeNotRegisteredEvent& e);
void from_json(const nlohmann::json& j, UnreachableReportEvent& e);
void from_json(const nlohmann::json& j, KeepaliveTimeoutEvent& e);
void from_json(const nlohmann::json& j, PeerUpEvent& e);
void from_json(const nlohmann::json& j, PeerDownEvent& e);
void from_json(const nlohmann::json& j, ServingEvent& e);
void from_json(const nlohmann::json& j, HandleTableSyncEvent& e);
void from_json(const nlohmann::json& j, AuditEvent& e);
void from_json(const nlohmann::json& j, TakeoverStartedEvent& e);
void from_json(const nlohmann::json& j, TakeoverEvent& e);
void from_json(const nlohmann::json& j, TakeoverAckedEvent& e);
void from_json(const nlohmann::json& j, PeAdoptedEvent& e);
void from_json(const nlohmann::json& j, PeerTakeoverEvent& e);
void to_json(nlohmann::json& j, const RegisteredEvent& e);
void to_json(nlohmann::json& j, const NoRegistrarEvent& e);
void to_json(nlohmann::json& j, const PeFailoverEvent& e);
void to_json(nlohmann::json& j, const RegistrarLearntEvent& e);
void to_json(nlohmann::json& j, const DeregisteredEvent& e);
void to_json(nlohmann::json& j, const PeErrorReceivedEvent& e);
void to_json(nlohmann::json& j, const PeRegistrationRejectedEvent& e);
void to_json(nlohmann::json& j, const PeCoreStoppedEvent& e);
void to_json(nlohmann::json& j, const HomeChangedEvent& e);
void to_json(nlohmann::json& j, const RegistrationLostEvent& e);
void to_json(nlohmann::json& j, const ErrorSentEvent& e);
void to_json(nlohmann::json& j, const RegistrarErrorReceivedEvent& e);
void to_json(nlohmann::json& j, const EnrpIgnoredEvent& e);
void to_json(nlohmann::json& j, const RegistrarRegistrationRejectedEvent& e);
void to_json(nlohmann::json& j, const DeregistrationRefusedEvent& e);
void to_json(nlohmann::json& j, const RateLimitedEvent& e);
void to_json(nlohmann::json& j, const RegistrarHandleResolutionEvent& e);
void to_json(nlohmann::json& j, const PeNotRegisteredEvent& e);
void to_json(nlohmann::json& j, const UnreachableReportEvent& e);
void to_json(nlohmann::json& j, const KeepaliveTimeoutEvent& e);
void to_json(nlohmann::json& j, const PeerUpEvent& e);
void to_json(nlohmann::json& j, const PeerDownEvent& e);
void to_json(nlohmann::json& j, const ServingEvent& e);
void to_json(nlohmann::json& j, const HandleTableSyncEvent& e);
void to_json(nlohmann::json& j, const AuditEvent& e);
void to_json(nlohmann::json& j, const TakeoverStartedEvent& e);
void to_json(nlohmann::json& j, const TakeoverEvent& e);
void to_json(nlohmann::json& j, const TakeoverAckedEvent& e);
void to_json(nlohmann::json& j, const PeAdoptedEvent& e);
void to_json(nlohmann::json& j, const PeerTakeoverEvent& e);

// ---- end of the stack's further events ---------------------------------------------------

// ---- The nodes' own events (node/): ready, a registrar's stopped -----------------------
// The runner learns endpoints and identities from the `ready` events (agents/protocol.hpp
// reads them with the agent protocol's checks, as its RegistrarReady and MemberReady).

// A registrar's `ready`: its ASAP and ENRP endpoints ("ADDRS:PORT", the addresses
// comma-separated), both required, and its transport (optional).
struct RegistrarReady {
  static constexpr const char* kName = "ready";
  std::string asap, enrp, transport;
  bool operator==(const RegistrarReady&) const = default;
};

// A PE or PU member's `ready`: its index in its process and its identifier (both required);
// a PE's user transport ("ADDRS:PORT"), its kind, pool and policy, its ASAP endpoint; its
// service's fields (CalcApp PE: capacity, max_jobs; echo PE: service, cookie_every; echo PU:
// service). The optional ones are omitted when absent and not checked.
struct MemberReady {
  static constexpr const char* kName = "ready";
  MemberReady() = default;
  // A PU's, or a PE's before its fields are set.
  MemberReady(std::size_t member, std::string id) : member(member), id(std::move(id)) {}
  std::size_t member = 0;
  std::string id;
  std::optional<std::string> user_transport, transport, pool, policy;
  // A PE's ASAP endpoint ("ADDRS:PORT"): where its registrar connections leave from, and
  // where a registrar that takes it over connects.
  std::optional<std::string> asap;
  std::optional<double> capacity;
  std::optional<std::int64_t> max_jobs;
  std::optional<std::string> service;
  std::optional<std::int64_t> cookie_every;
  bool operator==(const MemberReady&) const = default;
};

// A registrar stopped by a signal, with the ENRP messages and bytes it sent and received
// over its peer connections since it started (the multicast Presence left out; optional,
// bench/enrp_load reads them).
struct RegistrarStoppedEvent {
  static constexpr const char* kName = "stopped";
  std::int64_t signal = 0;
  std::optional<std::int64_t> enrp_sent_messages, enrp_sent_bytes, enrp_received_messages,
      enrp_received_bytes;
  bool operator==(const RegistrarStoppedEvent&) const = default;
};

// A member resumed after `--control` froze it (its `stopped` event).
struct MemberResumedEvent {
  static constexpr const char* kName = "resumed";
  std::int64_t member = 0;
  bool operator==(const MemberResumedEvent&) const = default;
};

// A PE member restarted by `--control`: a fresh PE in the member's place; `previous` is the
// identifier it replaces (its own `ready` follows with the new one).
struct MemberRestartedEvent {
  static constexpr const char* kName = "restarted";
  std::int64_t member = 0;
  std::string previous;
  bool operator==(const MemberRestartedEvent&) const = default;
};

void from_json(const nlohmann::json& j, RegistrarReady& e);
void from_json(const nlohmann::json& j, MemberReady& e);
void from_json(const nlohmann::json& j, RegistrarStoppedEvent& e);
void from_json(const nlohmann::json& j, MemberResumedEvent& e);
void from_json(const nlohmann::json& j, MemberRestartedEvent& e);
void to_json(nlohmann::json& j, const RegistrarReady& e);
void to_json(nlohmann::json& j, const MemberReady& e);
void to_json(nlohmann::json& j, const RegistrarStoppedEvent& e);
void to_json(nlohmann::json& j, const MemberResumedEvent& e);
void to_json(nlohmann::json& j, const MemberRestartedEvent& e);

// ---- Reading and writing ------------------------------------------------------------------

void from_json(const nlohmann::json& j, HandleResolutionEvent& e);
void from_json(const nlohmann::json& j, FailoverEvent& e);
void from_json(const nlohmann::json& j, JobEvent& e);
void from_json(const nlohmann::json& j, RegistrationEvent& e);
void from_json(const nlohmann::json& j, DeregistrationEvent& e);
void from_json(const nlohmann::json& j, UsageEvent& e);
void from_json(const nlohmann::json& j, LoadChangedEvent& e);
void from_json(const nlohmann::json& j, PuJobRejectedEvent& e);
void from_json(const nlohmann::json& j, RegistrarFailoverEvent& e);
void from_json(const nlohmann::json& j, SessionOpenedEvent& e);
void from_json(const nlohmann::json& j, SessionClosedEvent& e);
void from_json(const nlohmann::json& j, JobAcceptedEvent& e);
void from_json(const nlohmann::json& j, PeJobRejectedEvent& e);
void from_json(const nlohmann::json& j, JobCompletedEvent& e);
void from_json(const nlohmann::json& j, JobAbortedEvent& e);
void from_json(const nlohmann::json& j, CookieSentEvent& e);
void from_json(const nlohmann::json& j, JobProgress& p);
void from_json(const nlohmann::json& j, StoppedEvent& e);
void from_json(const nlohmann::json& j, EchoDoneEvent& e);

void to_json(nlohmann::json& j, const HandleResolutionEvent& e);
void to_json(nlohmann::json& j, const FailoverEvent& e);
void to_json(nlohmann::json& j, const JobEvent& e);
void to_json(nlohmann::json& j, const RegistrationEvent& e);
void to_json(nlohmann::json& j, const DeregistrationEvent& e);
void to_json(nlohmann::json& j, const UsageEvent& e);
void to_json(nlohmann::json& j, const LoadChangedEvent& e);
void to_json(nlohmann::json& j, const PuJobRejectedEvent& e);
void to_json(nlohmann::json& j, const RegistrarFailoverEvent& e);
void to_json(nlohmann::json& j, const SessionOpenedEvent& e);
void to_json(nlohmann::json& j, const SessionClosedEvent& e);
void to_json(nlohmann::json& j, const JobAcceptedEvent& e);
void to_json(nlohmann::json& j, const PeJobRejectedEvent& e);
void to_json(nlohmann::json& j, const JobCompletedEvent& e);
void to_json(nlohmann::json& j, const JobAbortedEvent& e);
void to_json(nlohmann::json& j, const CookieSentEvent& e);
void to_json(nlohmann::json& j, const JobProgress& p);
void to_json(nlohmann::json& j, const StoppedEvent& e);
void to_json(nlohmann::json& j, const EchoDoneEvent& e);

}  // namespace rsplab::common
