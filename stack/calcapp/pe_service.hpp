// The PE side of the CalcApp service (behaviour.md, "CalcApp") on the generic session layer
// (session::PeSessions: sessions, the ASAP control channel, keep-alives, shutdown cookies):
// CalcApp data (PPID 34), jobs served by processor sharing (calcapp::ProcessorSharing), a
// cookie every T seconds or X calculations, KEEPALIVE carrying the job's progress. The
// shell owns the connections, each named by a SessionId it picks (never reused); it feeds
// the service what happened with `now` and carries out the returned ops in order.
//
//   PU ──REQUEST(job, size)──────────────► service ──ACCEPT / REJECT (full)──► PU
//   PU ──ASAP COOKIE_ECHO(calcapp cookie)─► service ──ACCEPT (resumed) / REJECT──► PU
//   service ──ASAP COOKIE(calcapp cookie)─► PU       every T s or X calculations
//   service ──COMPLETE(job, size, size)───► PU       the PU closes the session
//   PU ──KEEPALIVE──► service ──KEEPALIVE_ACK(job, size, completed now)──► PU
//   silent PU: service ──KEEPALIVE──► PU (interval) ... no answer (timeout) ──► close
//
// Decisions:
// - One job per session (the PU serves its jobs one at a time). A REQUEST or COOKIE_ECHO
//   on a session that has a job already is discarded (event message_discarded).
// - A REJECT leaves the session open: the PU closes it.
// - Malformed or unexpected messages are discarded with an event; the session stays.
// - load() = jobs / max jobs (wire fraction); the shell pushes it to the PE's
//   registration core (PeCore::set_load) whenever it changes. Each input ends with one
//   load_changed event when load() differs from the last one reported (its "load" field is
//   jobs / max jobs as a double), except shutdown(): the PE is leaving.
// - Every input first moves the server to `now` and reports what fell due (COMPLETEs,
//   COOKIEs), then handles the input itself; the job id of each session is kept here (the
//   server's JobKey is the SessionId). Jobs due at once (nothing left to do) complete in the
//   same input. Usage windows end exactly on start + k·usage_interval, even when the input
//   that notices them comes late.
// - Any message that decodes (even one the service does not take) counts as heard from the
//   PU (session::PeSessions).
// - An ABORT must name the session's job; job_aborted causes: "abort", "session_lost"
//   (closed()), "keepalive_timeout", "shutdown". Nothing is sent on a session after closed().
// - A REJECT and an ACCEPT echo the request's (or the cookie's) job, size and completed.
//
// Single-threaded; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/calcapp/messages.hpp"
#include "stack/calcapp/server.hpp"
#include "stack/session/pe_sessions.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::calcapp {

using session::milliseconds;
using session::ServiceActions;
using session::SessionId;
using session::SessionOp;

struct ServiceConfig {
  calcapp::ServerConfig server;               // capacity, max jobs, cookie every T / X
  milliseconds keepalive_interval{2500};      // KEEPALIVE to a PU silent this long
  milliseconds keepalive_timeout{2500};       // no answer this long after it: session closed
  double shutdown_cookie_probability = 1.0;   // p: a fresh cookie per job on shutdown()
  milliseconds usage_interval{5000};          // a `usage` event this often (0: none)
  std::uint64_t seed = 1;                     // for the shutdown cookies' draws
};

// sessions, cookies, keepalive_timeouts, discarded: session::SessionCounters.
struct ServiceCounters : session::SessionCounters {
  std::uint64_t accepted = 0;       // jobs accepted (fresh and resumed)
  std::uint64_t resumed = 0;        // of them from a cookie
  std::uint64_t rejected = 0;
  std::uint64_t completed = 0;
  std::uint64_t aborted = 0;        // ABORT from the PU, or its session lost with a job
};

// Events (docs/events.md), all with "session":
//   session_opened / session_closed {cause: "peer"|"keepalive_timeout"|"shutdown"}
//   job_accepted {job, size, completed, resumed: bool, jobs, load}
//   job_rejected {job, size, jobs}
//   job_completed {job, size}      job_aborted {job, size, completed, cause}
//   cookie_sent {job, size, completed}
//   load_changed {load (0..1), jobs}
//   usage {calculations, offered, utilization} every usage_interval (no "session")
//   message_discarded {ppid, reason}
//
// The shell's inputs (session::PeInputs): opened, closed (the PU closed the session or it
// broke: its job, if any, is dropped, job_aborted), received (one whole message with its
// PPID), tick, next_deadline, sessions, and shutdown: to each session with a job, with
// probability p, a COOKIE with its state now (drawn per job in session id order); then every
// session closed (a job in service aborted, cause "shutdown"). The service takes nothing
// afterwards: inputs are ignored without events and next_deadline() is nullopt.
class CalcAppService : public session::PeInputs, private session::PeService {
 public:
  // REQUIRES: config.server valid (capacity > 0, max_jobs > 0), keep-alive interval and
  // timeout positive, usage_interval >= 0. Every `now` is not before the previous one's.
  CalcAppService(ServiceConfig config, TimePoint start);

  // The jobs in service at `now`, each with its progress then, in session order; what fell
  // due by `now` is reported first, as for any input. For a crash or freeze of the PE
  // (the shell's --control kill / stop): the calculations each job had when it happened.
  struct JobProgress {
    SessionId session = 0;
    std::uint32_t job = 0;
    std::uint64_t size = 0, completed = 0;
  };
  std::vector<JobProgress> progress(TimePoint now, ServiceActions& out);

  std::uint32_t load() const { return server_.load(); }
  std::size_t jobs() const { return server_.jobs(); }
  const ServiceCounters& counters() const { return counters_; }
  const calcapp::ProcessorSharing& server() const { return server_; }

 private:
  // session::PeService
  std::uint32_t ppid() const override;
  std::string_view name() const override { return "CalcApp"; }
  TimePoint advance(TimePoint now, ServiceActions& out) override;
  void settle(TimePoint now, ServiceActions& out) override;
  bool data(SessionId s, std::span<const std::uint8_t> message, TimePoint now,
            ServiceActions& out) override;
  void cookie_echo(SessionId s, std::span<const std::uint8_t> state, TimePoint now,
                   ServiceActions& out) override;
  wire::Bytes keepalive(SessionId s) override;
  bool has_state(SessionId s) const override { return jobs_.contains(s); }
  void send_state_cookie(SessionId s, ServiceActions& out) override;
  void ended(SessionId s, std::string_view cause, TimePoint now, ServiceActions& out) override;
  std::optional<TimePoint> service_deadline() const override;

  void report(const calcapp::Events& events, ServiceActions& out);
  void report_load(ServiceActions& out);
  void admit(SessionId s, std::uint32_t job, std::uint64_t size, std::uint64_t completed,
             bool resumed, TimePoint now, ServiceActions& out);
  // A message carrying the session's job and its progress now (all 0 without a job).
  calcapp::Message with_progress(SessionId s, MessageType type) const;
  void send_calcapp(SessionId s, calcapp::MessageType type, std::uint32_t job,
                    std::uint64_t size, std::uint64_t completed, ServiceActions& out);
  void send_cookie(SessionId s, std::uint32_t job, std::uint64_t size, std::uint64_t completed,
                   ServiceActions& out);
  void discard(SessionId s, std::string reason, ServiceActions& out);
  double load_fraction() const;

  ServiceConfig config_;
  ServiceCounters counters_;
  calcapp::ProcessorSharing server_;
  std::unordered_map<SessionId, std::uint32_t> jobs_;  // the job in service per session
  session::PeSessions host_;
  std::optional<TimePoint> next_usage_;
  TimePoint last_now_;  // the latest input's `now` (an earlier one is taken as this)
  std::uint32_t last_load_ = 0;
};

}  // namespace rserpool::calcapp
