// The PE side of the echo (ping-pong) service (docs/echo.md) on the generic session layer
// (session::PeSessions: sessions, the ASAP control channel, keep-alives, shutdown cookies),
// as a state machine without I/O. Each PING is answered at once with a PONG carrying the
// session's reply number, which then counts up; every `cookie_every` replies the PU gets an
// ASAP Cookie with the next reply number, and a session that begins with a Cookie Echo
// resumes the count from it (RSPLIB's ping-pong server does the same, a cookie per reply).
//
//   PU ──PING(n, data)──────────► EchoService ──PONG(n, reply r, data)──► PU   r += 1
//   every cookie_every replies:   EchoService ──ASAP COOKIE(<PP-TD1>, r)──► PU
//   PU ──ASAP COOKIE_ECHO(r)────► EchoService: the session's count resumes at r
//   PU ──KEEPALIVE──► EchoService ──KEEPALIVE_ACK──► PU (and the other way round)
//
// Decisions:
// - A Cookie Echo is taken only before the session's first PING (it starts a resumed
//   session); later it is discarded.
// - The service has no load of its own: load() is 0 (no jobs; a PONG costs nothing).
// - Cookies are counted, not logged (one per reply would drown the log); a session that
//   ended with replies or a resumed count writes one echo_ended event.
//
// Single-threaded; one owner.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "stack/echo/messages.hpp"
#include "stack/session/pe_sessions.hpp"

namespace rserpool::echo {

using session::ServiceActions;
using session::SessionId;
using session::TimePoint;

struct ServiceConfig {
  session::SessionConfig session;  // keep-alives, shutdown cookies
  std::uint64_t cookie_every = 1;  // replies between cookies (RSPLIB: 1); REQUIRES >= 1
};

struct ServiceCounters : session::SessionCounters {
  std::uint64_t pings = 0;    // PINGs answered
  std::uint64_t resumed = 0;  // sessions resumed from a Cookie Echo
};

// Events (docs/events.md), all with "session", besides PeSessions' own:
//   echo_resumed {replies}   a Cookie Echo set the session's count
//   echo_ended {replies, resumed_from (null: not resumed), cause: "session_lost" |
//               "keepalive_timeout" | "shutdown"}
// The shell's inputs (opened, closed, received, tick, next_deadline, shutdown) and
// sessions(): session::PeInputs.
class EchoService : public session::PeInputs, private session::PeService {
 public:
  explicit EchoService(ServiceConfig config);

  std::uint32_t load() const { return 0; }
  const ServiceCounters& counters() const { return counters_; }

 private:
  struct Count {
    std::uint64_t replies = 0;               // the next PONG's reply number
    std::uint64_t since_cookie = 0;
    std::optional<std::uint64_t> resumed_from;
    bool pinged = false;
  };

  // session::PeService
  std::uint32_t ppid() const override { return kPpidEcho; }
  std::string_view name() const override { return "echo"; }
  TimePoint advance(TimePoint now, ServiceActions&) override { return now; }
  void settle(TimePoint, ServiceActions&) override {}
  bool data(SessionId s, std::span<const std::uint8_t> message, TimePoint now,
            ServiceActions& out) override;
  void cookie_echo(SessionId s, std::span<const std::uint8_t> state, TimePoint now,
                   ServiceActions& out) override;
  wire::Bytes keepalive(SessionId s) override;
  bool has_state(SessionId s) const override;
  void send_state_cookie(SessionId s, ServiceActions& out) override;
  void ended(SessionId s, std::string_view cause, TimePoint now, ServiceActions& out) override;
  std::optional<TimePoint> service_deadline() const override { return std::nullopt; }

  ServiceConfig config_;
  ServiceCounters counters_;
  std::unordered_map<SessionId, Count> counts_;
  session::PeSessions host_;
};

}  // namespace rserpool::echo
