// The PU side of the echo (ping-pong) service (docs/echo.md) on the generic session layer
// (session::PuSession: registrars, handle resolution and cache, PE sessions, keep-alives,
// failover with cookie echo), as a state machine without I/O. The PU runs one series of
// PINGs, one every `interval` while a PE has taken the series, and counts the PONGs; the
// PE's ASAP cookies carry its reply number, so after a failover the new PE continues the
// count where the last cookie left it. The shell is the same as CalcApp's PU shell: ops and
// inputs are session::PuSession's.
//
//   start ─► resolve ─► connect ──PING(1)──► PE ──PONG(1, reply 0)──► accepted
//   every interval ──PING(n)──► PE ──PONG(n, reply r)──► counted; ASAP COOKIE(r + 1)
//   PE lost ─► failover ──ASAP COOKIE_ECHO(r), PING(n)──► another PE ──PONG(n, r)──►
//   `count` distinct replies counted ──► close, done
//
// Decisions:
// - The first PING of a session starts the series there (its PONG accepts it); after a
//   Cookie Echo a PING follows at once (a PE does not answer a Cookie Echo).
// - A PONG whose reply number is below the highest counted + 1 is a duplicate (the PE
//   resumed from an older cookie): counted in `duplicates`, not as a new reply. So at a
//   failover the duplicates are exactly the replies since the last cookie (the failover
//   event's `lost`).
// - PINGs pause while no PE holds the series (resolving, connecting); a PING sent to a PE
//   that then failed is never answered: `lost` = requests − answers at the end.
//
// Single-threaded; one owner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stack/session/pu_session.hpp"

namespace rserpool::echo {

using session::PuActions;
using session::PuState;
using session::RegistrarIndex;
using session::SessionEnd;
using session::SessionId;
using session::TimePoint;

struct PuConfig : session::PuSessionConfig {
  session::milliseconds interval{1000};  // between PINGs (RSPLIB's pingpongclient: 1 s)
  std::uint64_t count = 0;               // replies to count, then done (0: until stop)
};

struct PuCounters : session::PuSessionCounters {
  std::uint64_t requests = 0;    // PINGs sent
  std::uint64_t answers = 0;     // PONGs received
  std::uint64_t duplicates = 0;  // of them with a reply number counted already
  std::uint64_t replies() const { return answers - duplicates; }
  std::uint64_t lost() const { return requests > answers ? requests - answers : 0; }
};

// Events (docs/events.md): the session layer's (handle_resolution, failover with job 1,
// registrar_failover, message_discarded), and
//   done {reason: "stop" | "count", requests, answers, duplicates, lost, replies (the PE
//         side's count: the highest reply number + 1), failovers, resolutions, cache_hits,
//         unreachable_reports, registrar_failovers, rejects, discarded}
class PuCore : public session::PuInputs {
 public:
  // REQUIRES: config valid (registrar_count >= 1, intervals positive).
  explicit PuCore(PuConfig config);
  ~PuCore();

  // The shell's other inputs, start() (connects the first registrar, begins the series)
  // among them: session::PuInputs.
  void tick(TimePoint now, PuActions& out);
  std::optional<TimePoint> next_deadline() const;
  // The run is over: the series' pending failover written, everything closed, `done`.
  void stop(TimePoint now, PuActions& out);

  const PuCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rserpool::echo
