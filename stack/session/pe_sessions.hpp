// The PE side of the session layer (behaviour.md, "Session layer and failover"), generic over
// the service it carries, as a state machine without I/O: sessions from pool users, each one
// connection or association carrying the service's data (its PPID) and the ASAP control
// channel (PPID 11: Cookie out, Cookie Echo in); session keep-alives; fresh cookies on a clean
// shutdown. The shell owns the connections, each named by a SessionId it picks (never
// reused); it feeds PeSessions what happened with `now` and carries out the returned ops in
// order. What the data means, what state a cookie holds and what a Cookie Echo resumes is the
// service's (PeService below; stack/calcapp and stack/echo are two); a service takes the
// shell's inputs through PeInputs (below), which passes them on to its PeSessions.
//
//   PU ──service data (service PPID)───► PeSessions ──► service.data()
//   PU ──ASAP COOKIE_ECHO(state)───────► PeSessions ──► service.cookie_echo(state)
//   service ──send_cookie(state)───────► PeSessions ──ASAP COOKIE(state)──► PU
//   silent PU: ──service.keepalive()──► PU (interval) ... no answer (timeout) ──► close,
//              service.ended(session, "keepalive_timeout")
//
// Decisions:
// - Every input first lets the service move to `now` (PeService::advance: what fell due is
//   reported first), then handles the input, then calls PeService::settle.
// - Any message that decodes (data the service decoded, or any ASAP message) counts as heard
//   from the PU: it refreshes the keep-alive and clears an outstanding one. Keep-alive timers
//   run in tick() only.
// - Malformed or unexpected messages are discarded with a message_discarded event; the
//   session stays.
// - closed(): ops for that session queued in the same input are dropped (the shell has no
//   connection left for them); nothing is sent on a session after it.
// - shutdown(): a fresh cookie, with probability p, for every session whose service holds
//   state (drawn in session id order), then every session closed; nothing is taken after.
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

#include "stack/handlespace/rng.hpp"
#include "stack/session/pe_core.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::session {

using SessionId = std::uint64_t;

// What the shell does, in order.
struct SessionOp {
  enum class Kind : std::uint8_t { send, close };
  Kind kind = Kind::send;
  SessionId session = 0;
  std::uint32_t ppid = 0;  // send: the service's PPID or wire::kPpidAsap
  wire::Bytes message;     // send: one whole message
  bool operator==(const SessionOp&) const = default;
};

struct ServiceActions {
  std::vector<SessionOp> ops;
  std::vector<nlohmann::json> events;  // {"event": name, ...}; the shell adds the time
  void clear() {
    ops.clear();
    events.clear();
  }
};

struct SessionConfig {
  milliseconds keepalive_interval{2500};     // a keep-alive to a PU silent this long
  milliseconds keepalive_timeout{2500};      // no answer this long after it: session closed
  double shutdown_cookie_probability = 1.0;  // p: a fresh cookie per session on shutdown()
  std::uint64_t seed = 1;                    // for the shutdown cookies' draws
};

// Counted by PeSessions; a service's counters extend them.
struct SessionCounters {
  std::uint64_t sessions = 0;  // opened
  std::uint64_t cookies = 0;   // ASAP COOKIEs sent
  std::uint64_t keepalive_timeouts = 0;
  std::uint64_t discarded = 0;
};

class PeSessions;

// What a service does with the sessions PeSessions keeps. Every hook may queue ops and
// events in `out` (through PeSessions' send/send_cookie/discard or directly).
class PeService {
 public:
  virtual ~PeService() = default;
  virtual std::uint32_t ppid() const = 0;     // the service's data PPID
  virtual std::string_view name() const = 0;  // in discard reasons: "CalcApp"
  // Moves the service to `now` and reports what fell due; returns `now`, never before the
  // previous input's.
  virtual TimePoint advance(TimePoint now, ServiceActions& out) = 0;
  // After each input but shutdown: what the input made due at once, load changes.
  virtual void settle(TimePoint now, ServiceActions& out) = 0;
  // One data message on a known session; false when it did not decode (not heard).
  virtual bool data(SessionId s, std::span<const std::uint8_t> message, TimePoint now,
                    ServiceActions& out) = 0;
  // The state of an ASAP Cookie Echo on a known session.
  virtual void cookie_echo(SessionId s, std::span<const std::uint8_t> state, TimePoint now,
                           ServiceActions& out) = 0;
  // The keep-alive to send to a silent PU.
  virtual wire::Bytes keepalive(SessionId s) = 0;
  // Whether the session holds state worth a cookie (shutdown), and sending it.
  virtual bool has_state(SessionId s) const = 0;
  virtual void send_state_cookie(SessionId s, ServiceActions& out) = 0;
  // The session is gone ("session_lost", "keepalive_timeout", "shutdown"): drop its state.
  virtual void ended(SessionId s, std::string_view cause, TimePoint now,
                     ServiceActions& out) = 0;
  virtual std::optional<TimePoint> service_deadline() const = 0;
};

// Events, all with "session": session_opened, session_closed {cause: "peer" |
// "keepalive_timeout" | "shutdown"}, message_discarded {ppid, reason}.
class PeSessions {
 public:
  // REQUIRES: keep-alive interval and timeout positive; `service` and `counters` outlive
  // this object. Every `now` is not before the previous one's.
  PeSessions(SessionConfig config, PeService& service, SessionCounters& counters);

  void opened(SessionId s, TimePoint now, ServiceActions& out);
  void closed(SessionId s, TimePoint now, ServiceActions& out);
  void received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                TimePoint now, ServiceActions& out);
  void tick(TimePoint now, ServiceActions& out);
  std::optional<TimePoint> next_deadline() const;
  void shutdown(TimePoint now, ServiceActions& out);

  // For the service.
  void send(SessionId s, wire::Bytes message, ServiceActions& out);
  void send_cookie(SessionId s, wire::Bytes state, ServiceActions& out);
  void discard(SessionId s, std::uint32_t ppid, std::string reason, ServiceActions& out);

  bool shut_down() const { return shut_down_; }
  std::size_t size() const { return sessions_.size(); }

 private:
  struct Session {
    TimePoint last_heard;
    std::optional<TimePoint> keepalive_sent;  // outstanding keep-alive
    // The next keep-alive timer: send one, or the timeout of the one outstanding.
    TimePoint keepalive_due(const SessionConfig& c) const {
      return keepalive_sent ? *keepalive_sent + c.keepalive_timeout
                            : last_heard + c.keepalive_interval;
    }
    void heard(TimePoint now) {
      last_heard = now;
      keepalive_sent.reset();
    }
  };
  void on_asap(SessionId s, Session& session, std::span<const std::uint8_t> bytes,
               TimePoint now, ServiceActions& out);
  void close(SessionId s, std::string_view cause, TimePoint now, ServiceActions& out);

  SessionConfig config_;
  PeService& service_;
  SessionCounters& counters_;
  std::unordered_map<SessionId, Session> sessions_;
  handlespace::Rng rng_;
  bool shut_down_ = false;
};

// The inputs a service's PE side passes on to its PeSessions as they are: the shell's calls
// (as PuInputs on the PU side). A service derives from it, attaches its PeSessions, and adds
// what is its own (its load, counters, progress).
class PeInputs {
 public:
  void opened(SessionId s, TimePoint now, ServiceActions& out) { host_->opened(s, now, out); }
  // The PU closed the session or it broke: the service's state of it is dropped.
  void closed(SessionId s, TimePoint now, ServiceActions& out) { host_->closed(s, now, out); }
  // One whole message with its PPID.
  void received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                TimePoint now, ServiceActions& out) {
    host_->received(s, ppid, message, now, out);
  }
  void tick(TimePoint now, ServiceActions& out) { host_->tick(now, out); }
  std::optional<TimePoint> next_deadline() const { return host_->next_deadline(); }
  // Clean shutdown (PeSessions::shutdown): the service takes nothing afterwards.
  void shutdown(TimePoint now, ServiceActions& out) { host_->shutdown(now, out); }
  std::size_t sessions() const { return host_->size(); }

 protected:
  PeInputs() = default;
  ~PeInputs() = default;
  void attach(PeSessions& host) { host_ = &host; }

 private:
  PeSessions* host_ = nullptr;
};

}  // namespace rserpool::session
