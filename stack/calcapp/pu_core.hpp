// The pool user (PU) side of CalcApp (behaviour.md, "CalcApp") on the generic session layer
// (session::PuSession: registrars, handle resolution and cache, PE sessions, keep-alives,
// failover with cookie echo), as a state machine without I/O. The PU generates jobs
// (calcapp::Workload), queues them FIFO and serves one at a time (each job one unit of the
// session layer): it resolves the pool handle at a registrar (or from its cache), connects to the chosen PE,
// sends REQUEST — or, after a failover, echoes the latest ASAP cookie — and follows the job
// to COMPLETE, with session keep-alives. The shell owns the sockets: registrar connections
// by index 0..n-1 of its list, PE sessions by a SessionId the core picks (a fresh one per
// connection attempt); it feeds the core what happened with `now` and carries out the
// returned ops in order.
//
//   job arrives ─► queue ─► head: resolve ──HANDLE_RESOLUTION──► PR i ──RESPONSE(PEs)──►
//     pick a PE ──connect_pe(s, its user transport: addresses tried in order)──►
//     ──REQUEST (or ASAP COOKIE_ECHO with the latest cookie)──► PE
//     PE ──ACCEPT──► PE ──ASAP COOKIE ... ──COMPLETE──► close_pe(s), job event, next head
//   PE ──REJECT──► close, retry after a random delay (no Endpoint Unreachable), resolve again
//   connection lost / keep-alive timeout ──► connect_pe(the same PE), echo the cookie
//   connect failed, or the same PE silent again ──►
//     ENDPOINT_UNREACHABLE(pool, PE) to the PR, resolve again, connect, echo the cookie
//
// Decisions:
// - One registrar connection at a time, kept open between resolutions; on a connect
//   failure, close or response timeout the next registrar (round robin) is tried, a whole
//   round without an answer waits registrar_retry_delay.
// - A resolution picks the first PE of the answer (the registrar applied the pool policy)
//   that is not avoided: the PE that just failed or rejected this job is avoided while
//   another PE is offered. With stale_cache > 0 the answer is kept in a handlespace cache
//   for that long and later resolutions select from it locally with the pool's policy; an
//   unreachable PE leaves the cache at once.
// - A session that broke (connection lost, keep-alive timeout) may have broken on the PU's
//   own path (a multi-homed site's ISP link): the same PE is connected to again first, the
//   shell trying every (local, PE address) pair, and the job resumed there. The PE is
//   reported and avoided only when that connect fails, or the PE does not answer the
//   request within keepalive_timeout; once per failure. A connect that fails (all pairs
//   tried) is reported at once.
// - An empty pool (or an error answer) is asked again after empty_pool_retry.
// - Keep-alive: when nothing was heard from the PE for keepalive_interval the PU sends
//   KEEPALIVE; when nothing is heard keepalive_timeout after it, the PE counts as failed.
//   Any message from the PE counts as heard. A KEEPALIVE from the PE is answered.
// - Lost work at a failover = the PE's progress as last reported (ACCEPT, COOKIE,
//   KEEPALIVE_ACK) minus the progress the resumed job starts from (the cookie's; 0 without
//   a cookie): a lower bound of what the crash destroyed.
//
// Single-threaded; one owner.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stack/calcapp/workload.hpp"
#include "stack/common/values.hpp"
#include "stack/session/pu_session.hpp"
#include "stack/wire/messages.hpp"

namespace rserpool::calcapp {

using session::PuActions;
using session::PuOp;
using session::PuState;
using session::RegistrarIndex;
using session::SessionEnd;
using session::milliseconds;
using session::SessionId;

// The session layer's settings (pool, registrars, keep-alives, retry delays, cache, the epoch
// of event times; `seed` also draws the workload) and the workload's.
struct PuConfig : session::PuSessionConfig {
  values::Distribution job_size;      // ValueKind::amount (calculations)
  values::Distribution job_interval;  // ValueKind::duration (inter-arrival time)
  std::uint64_t max_jobs = 0;         // generate at most this many (0: no limit); done when
                                      // all of them are finished
};

// rejects, failovers, resolutions, cache_hits, unreachable_reports, registrar_failovers,
// discarded: session::PuSessionCounters.
struct PuCounters : session::PuSessionCounters {
  std::uint64_t jobs_generated = 0;
  std::uint64_t jobs_completed = 0;
  std::uint64_t jobs_unfinished = 0;     // recorded by stop()
  std::uint64_t calculations_completed = 0;  // Σ size of completed jobs
  double handling_seconds = 0;           // Σ handling time of completed jobs
  // Σ size / Σ handling time (calculations/s), 0 without completed jobs.
  double handling_speed() const {
    return handling_seconds > 0 ? static_cast<double>(calculations_completed) / handling_seconds
                                : 0;
  }
};

// Events (docs/events.md). Times "*_us" are absolute (see PuConfig::epoch); PE ids hex.
//   handle_resolution {registrar (index; null from the cache), pool, pes: [ids], cached,
//                      latency_us, error (cause name; only when no PE was offered)}
//   job_rejected {job, pe}
//   failover {job, from_pe, cause: "connection_lost"|"connect_failed"|"keepalive_timeout",
//             detection_delay_us (since the PE was last heard), to_pe (null when the job
//             never reached another PE), cookie (bool: resumed from a cookie), resumed, lost,
//             attempts (connections tried until a PE accepted), paths (failed address
//             pairs, as the shell reported them), detected_us (when the PU first noticed the
//             failure), local_addresses and local_port (the PU's end of the failed session,
//             when it was connected and the shell said)} — written when the job is
//             accepted again, or when it ends without that
//   job {job, size, status: "completed"|"unfinished", queued_us, started_us, accepted_us,
//        completed_us (null when not reached), pe (last PE, null if none), rejects,
//        failovers, queuing_delay_us, startup_delay_us, processing_us, handling_us,
//        handling_speed (size / handling time, calculations/s; completed jobs only)}
//   registrar_failover {from, to, reason}   message_discarded {from, reason}
//   done {jobs_completed, jobs_unfinished, handling_speed, ...counters}  (stop or max_jobs)
// Details: handle_resolution's error is "empty pool" for an answer without PEs or cause.
// A failover begun by a failed connect measures detection_delay_us from the connect
// attempt; one still pending at stop() has to_pe, resumed null, cookie false and lost =
// the last reported progress. Times and delays of an unfinished job that it never reached
// are null. message_discarded's `from` is "registrar <i>" or "session <s>"; `done` also
// carries `reason` ("stop" | "max_jobs"). A failover continues (attempts grow) through
// further failures and rejects until a PE accepts the job.
class PuCore : public session::PuInputs {
 public:
  // REQUIRES: config valid (registrar_count >= 1, intervals positive, distributions of
  // the kinds named above). The first job arrives one drawn interval after `start`.
  PuCore(PuConfig config, TimePoint start);
  ~PuCore();

  // The shell's other inputs, start() (connects the first registrar, then serves the jobs
  // that arrived already) among them: session::PuInputs.
  void tick(TimePoint now, PuActions& out);
  std::optional<TimePoint> next_deadline() const;
  // The run is over: the job in service and the queued ones are recorded as unfinished,
  // every connection closed, a `done` event; state done. Idempotent.
  void stop(TimePoint now, PuActions& out);

  const PuCounters& counters() const;
  std::size_t queued() const;  // jobs waiting, the one in service included

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rserpool::calcapp
