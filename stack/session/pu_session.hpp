// The pool user (PU) side of the session layer (RFC 5352 §2.1, §3.6–3.9; behaviour.md,
// "Session layer and failover"), generic over the service it carries, as a state machine
// without I/O. It serves one unit of work at a time (a CalcApp job, an echo series): it
// resolves the pool handle at a registrar (or from its cache), connects to the chosen PE,
// sends the service's start message — or, after a failover, echoes the latest ASAP cookie
// — and follows the unit until the service says it is done, with session keep-alives. The
// shell owns the sockets: registrar connections by index 0..n-1 of its list, PE sessions by
// a SessionId the core picks (a fresh one per connection attempt); it feeds the core what
// happened with `now` and carries out the returned ops in order. What the messages mean is
// the service's (PuService below); the owner (the service's PU core) hands units in with
// begin() and learns of their end through PuService::finished().
//
//   begin(unit) ─► resolve ──HANDLE_RESOLUTION──► PR i ──RESPONSE(PEs)──►
//     pick a PE ──connect_pe(s, its user transport: addresses tried in order)──►
//     ──start message (or ASAP COOKIE_ECHO with the latest cookie)──► PE
//     PE ──accepted──► PE ──ASAP COOKIE ... ──done──► close_pe(s), service.finished()
//   PE ──rejected──► close, retry after a random delay (no Endpoint Unreachable), resolve again
//   connection lost / keep-alive timeout ──► connect_pe(the same PE), echo the cookie
//   connect failed, or the same PE silent again ──►
//     ENDPOINT_UNREACHABLE(pool, PE) to the PR, resolve again, connect, echo the cookie
//
// Decisions:
// - One registrar connection at a time, kept open between resolutions; on a connect
//   failure, close or response timeout the next registrar (round robin) is tried, a whole
//   round without an answer waits registrar_retry_delay.
// - A resolution picks the first PE of the answer (the registrar applied the pool policy)
//   that is not avoided: the PE that just failed or rejected this unit is avoided while
//   another PE is offered. With stale_cache > 0 the answer is kept in a handlespace cache
//   for that long and later resolutions select from it locally with the pool's policy; an
//   unreachable PE leaves the cache at once.
// - A session that broke (connection lost, keep-alive timeout) may have broken on the PU's
//   own path (a multi-homed site's ISP link): the same PE is connected to again first, the
//   shell trying every (local, PE address) pair, and the unit resumed there. The PE is
//   reported and avoided only when that connect fails, or the PE does not answer the
//   start within keepalive_timeout; once per failure. A connect that fails (all pairs
//   tried) is reported at once.
// - An empty pool (or an error answer) is asked again after empty_pool_retry.
// - Keep-alive: when nothing was heard from the PE for keepalive_interval the PU sends the
//   service's keep-alive; when nothing is heard keepalive_timeout after it, the PE counts as
//   failed. Any message from the PE counts as heard.
// - Progress is a number the service reads from the PE's messages and cookies (calculations,
//   answers). Lost work at a failover = the progress last reported minus the progress the
//   resumed unit starts from (the cookie's; 0 without a cookie).
//
// Single-threaded; one owner.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stack/common/values.hpp"
#include "stack/handlespace/handlespace.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/session/pe_core.hpp"
#include "stack/session/pe_sessions.hpp"
#include "stack/wire/messages.hpp"

namespace rserpool::session {

// One end of a PE session as the shell sees it: addresses as text, the port.
struct SessionEnd {
  std::vector<std::string> addresses;
  std::uint16_t port = 0;
};

struct PuSessionConfig {
  wire::PoolHandle pool_handle;
  std::size_t registrar_count = 0;  // static list: indices 0..n-1; REQUIRES >= 1
  std::uint64_t seed = 1;           // retry-delay and cache-selection draws
  milliseconds keepalive_interval{5000};
  milliseconds keepalive_timeout{5000};
  values::Distribution reject_retry_delay{values::Distribution::fixed,
                                          values::ValueKind::duration, 1.0, 0};  // RSPLIB: 1 s
  milliseconds empty_pool_retry{250};
  milliseconds stale_cache{0};                   // 0: every resolution asks a registrar
  std::optional<std::uint32_t> resolution_items; // Handle Resolution Option; nullopt: none
  milliseconds registrar_timeout{2000};          // connect, and a resolution's response
  milliseconds registrar_retry_delay{1000};
  milliseconds pe_connect_timeout{5000};
  // The absolute times in events: `epoch` (this clock) is `epoch_us` µs since the Unix
  // epoch (UTC); event times are epoch_us + (t - epoch). anchor_clock moves it.
  TimePoint epoch{};
  std::int64_t epoch_us = 0;
};

enum class PuState : std::uint8_t {
  idle,         // before start(), or no unit to serve
  resolving,    // waiting for a registrar's answer (or the retry delays)
  connecting,   // to a PE
  requested,    // start message or COOKIE_ECHO sent, waiting for the PE to take it
  running,      // the unit is accepted at a PE
  backoff,      // after a reject: waiting the retry delay
  done,         // stopped
};
std::string_view state_name(PuState s);

struct PuOp {
  enum class Kind : std::uint8_t {
    connect_registrar, close_registrar, send_registrar,  // `registrar`, `message` (ASAP)
    connect_pe, close_pe, send_pe,                       // `session`; `pe`; `ppid`, `message`
  };
  Kind kind = Kind::connect_registrar;
  RegistrarIndex registrar = 0;
  SessionId session = 0;
  wire::Transport pe;       // connect_pe: the PE's user transport (addresses in order)
  std::uint32_t pe_identifier = 0;  // connect_pe: whom (for the shell's logs)
  std::uint32_t ppid = 0;   // send_pe: the service's PPID or wire::kPpidAsap
  wire::Bytes message;
  bool operator==(const PuOp&) const = default;
};

struct PuActions {
  std::vector<PuOp> ops;
  std::vector<nlohmann::json> events;  // {"event": name, ...}; the shell adds the time
  void clear() {
    ops.clear();
    events.clear();
  }
};

// Counted by PuSession; a service's PU counters extend them.
struct PuSessionCounters {
  std::uint64_t rejects = 0;
  std::uint64_t failovers = 0;
  std::uint64_t resolutions = 0;         // answered ones, registrar or cache
  std::uint64_t cache_hits = 0;
  std::uint64_t unreachable_reports = 0; // ENDPOINT_UNREACHABLE sent
  std::uint64_t registrar_failovers = 0;
  std::uint64_t discarded = 0;
  // Each counter into the field of its name of a service's `done` (rsplab::common's
  // EchoDoneEvent, CalcAppDoneEvent).
  template <class Done>
  void fill(Done& done) const {
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    done.rejects = i64(rejects);
    done.failovers = i64(failovers);
    done.resolutions = i64(resolutions);
    done.cache_hits = i64(cache_hits);
    done.unreachable_reports = i64(unreachable_reports);
    done.registrar_failovers = i64(registrar_failovers);
    done.discarded = i64(discarded);
  }
};

// The unit in service, as the session layer follows it.
struct Unit {
  std::uint32_t id = 0;                  // "job" in events
  TimePoint started{};                   // began: service starts
  std::optional<TimePoint> accepted;     // first acceptance
  std::optional<std::uint32_t> pe;       // last PE tried
  std::uint64_t rejects = 0;
  std::uint64_t failovers = 0;
  std::optional<wire::Bytes> cookie;     // latest ASAP cookie state from a PE
  std::uint64_t cookie_progress = 0;     // its progress
  std::uint64_t reported = 0;            // progress as last reported by the PE
  std::optional<std::uint32_t> avoid;    // the PE that failed or rejected it last
  bool echoed = false;                   // the current attempt echoed the cookie
  std::uint64_t echoed_progress = 0;     // ... from this progress
};

// What a data message from the PE means for the unit (PuService::reply).
struct Reply {
  enum class Kind : std::uint8_t {
    accepted,  // the PE took the unit (progress: where it starts); only while requested
    rejected,  // the PE refused it; only while requested
    done,      // the unit is finished; only while running
    progress,  // progress reported (taken while running)
    answer,    // to be answered with `answer` (a keep-alive)
    heard,     // nothing more than a sign of life
    discard,   // `reason`
  };
  Kind kind = Kind::heard;
  std::uint64_t progress = 0;
  std::string name;    // the message's name, for "unexpected <name>"
  wire::Bytes answer;  // answer
  std::string reason;  // discard

  static Reply discarded(std::string why) {
    Reply r;
    r.kind = Kind::discard;
    r.reason = std::move(why);
    return r;
  }
};

// The state of a cookie from the PE: its progress, or why it is not the unit's.
struct CookieState {
  std::optional<std::uint64_t> progress;
  std::string error;
};

// What a service does on the PU side.
class PuService {
 public:
  virtual ~PuService() = default;
  virtual std::uint32_t ppid() const = 0;
  // The message that starts the unit at a PE that holds no state of it.
  virtual wire::Bytes start_message(const Unit& u) = 0;
  // What follows a Cookie Echo to the PE, if anything (a service whose PE does not answer a
  // Cookie Echo sends a message it answers: that answer accepts the unit).
  virtual std::optional<wire::Bytes> resume_message(const Unit&) { return std::nullopt; }
  virtual wire::Bytes keepalive(const Unit& u) = 0;
  virtual Reply reply(const Unit& u, std::span<const std::uint8_t> message) = 0;
  virtual CookieState cookie(const Unit& u, std::span<const std::uint8_t> state) = 0;
  // The unit is done (its session closed): record it, begin() the next one if any.
  virtual void finished(const Unit& u, TimePoint now, PuActions& out) = 0;
  // The unit was accepted (again) at a PE; progress: where it starts there.
  virtual void accepted(const Unit&, TimePoint, PuActions&) {}
  // The layer has started (the first registrar is being connected): the service's first
  // work (CalcApp: the jobs that arrived already; echo: the series, begin()).
  virtual void started(TimePoint now, PuActions& out) = 0;
};

// Events (docs/events.md). Times "*_us" are absolute (see PuSessionConfig::epoch); PE ids hex.
//   handle_resolution {registrar (index; null from the cache), pool, pes: [ids], cached,
//                      latency_us, error (cause name; only when no PE was offered)}
//   job_rejected {job, pe}
//   failover {job, from_pe, cause, detection_delay_us, to_pe, cookie, resumed, lost,
//             attempts, paths, detected_us, local_addresses, local_port} (pu_core.hpp of
//             stack/calcapp tells the fields)
//   registrar_failover {from, to, reason}   message_discarded {from, reason}
class PuSession {
 public:
  // REQUIRES: config valid (registrar_count >= 1, intervals positive); `service` and
  // `counters` outlive this object.
  PuSession(PuSessionConfig config, PuService& service, PuSessionCounters& counters);

  // Connects the first registrar, then PuService::started; once, and not when done.
  void start(TimePoint now, PuActions& out);
  // Serves `unit` (its id and started time set): resolves, connects, starts it.
  // REQUIRES: started, no unit in service.
  void begin(Unit unit, TimePoint now, PuActions& out);
  void registrar_connected(RegistrarIndex i, TimePoint now, PuActions& out);
  void registrar_connect_failed(RegistrarIndex i, TimePoint now, PuActions& out);
  void registrar_closed(RegistrarIndex i, TimePoint now, PuActions& out);
  void registrar_received(RegistrarIndex i, std::span<const std::uint8_t> message,
                          TimePoint now, PuActions& out);
  void pe_connected(SessionId s, TimePoint now, PuActions& out, SessionEnd local = {});
  void pe_connect_failed(SessionId s, TimePoint now, PuActions& out,
                         std::vector<std::string> paths = {});
  void pe_closed(SessionId s, TimePoint now, PuActions& out);
  void pe_received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                   TimePoint now, PuActions& out);
  void tick(TimePoint now, PuActions& out);
  std::optional<TimePoint> next_deadline() const;
  void anchor_clock(TimePoint now, std::int64_t now_us);
  std::int64_t abs_us(TimePoint t) const;

  // A data message to the PE of the unit in service. REQUIRES: running.
  void send(wire::Bytes message, PuActions& out);
  // The unit in service is done: its session closed, PuService::finished. REQUIRES: running.
  void complete(TimePoint now, PuActions& out);
  // The run is over for the unit in service: its failover written (to_pe null), its session
  // closed; returns it. nullopt when there is none.
  std::optional<Unit> abandon(PuActions& out);
  // Everything closed; state done.
  void close_all(PuActions& out);

  bool started() const { return started_; }
  bool running() const { return started_ && state_ != PuState::done; }
  PuState state() const { return state_; }
  const std::optional<Unit>& unit() const { return unit_; }

 private:
  struct Failover {
    std::uint32_t from_pe = 0;
    std::string_view cause;
    std::int64_t detection_delay_us = 0;
    std::uint64_t reported = 0;  // the failed PE's last reported progress
    std::uint64_t attempts = 0;  // connections tried since (the failed PE again counts)
    std::vector<std::string> paths;  // (local, PE address) pairs that failed meanwhile
    TimePoint detected{};        // when the failure was first noticed
    SessionEnd local;            // the PU's end of the failed session (port 0: unknown)
  };
  struct PeSession {
    SessionId id = 0;
    std::uint32_t pe = 0;
    bool connected = false;
    TimePoint last_heard{};                // the connect attempt's start until heard
    std::optional<TimePoint> connect_due;
    std::optional<TimePoint> keepalive_sent;
    wire::Transport transport;             // the PE's user transport
    bool recheck = false;                  // reaching the PE again after its session broke;
                                           // until the PE is heard
    SessionEnd local;                      // the PU's end, once connected
  };

  void discard(std::string from, std::string reason, PuActions& out);
  void connect_registrar(RegistrarIndex i, TimePoint now, PuActions& out);
  void close_registrar(PuActions& out);
  void send_registrar(const wire::asap::Message& m, PuActions& out);
  void registrar_failover(std::string_view reason, bool close, TimePoint now, PuActions& out);
  void send_resolution(TimePoint now, PuActions& out);
  void ask_registrar(TimePoint now, PuActions& out);
  void on_registrar_message(RegistrarIndex i, std::span<const std::uint8_t> bytes,
                            TimePoint now, PuActions& out);
  void cache_answer(const wire::asap::HandleResolutionResponse& r, TimePoint now);
  void purge_cache(TimePoint now);
  void resolve(TimePoint now, PuActions& out);
  void resolved(const std::vector<wire::PoolElement>& pes, TimePoint now, PuActions& out);
  void connect_pe(std::uint32_t pe, const wire::Transport& transport, bool recheck,
                  TimePoint now, PuActions& out);
  void close_pe(PuActions& out);
  void send_pe(std::uint32_t ppid, wire::Bytes message, PuActions& out);
  void send_start(PuActions& out);
  void pe_failed(std::string_view cause, bool close, TimePoint now, PuActions& out,
                 std::vector<std::string> paths = {});
  void write_failover(std::optional<std::uint32_t> to_pe, PuActions& out);
  void on_pe_message(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> bytes,
                     TimePoint now, PuActions& out);
  void on_reply(SessionId s, Reply r, TimePoint now, PuActions& out);
  void on_pe_asap(SessionId s, std::span<const std::uint8_t> bytes, PuActions& out);
  void session_timers(TimePoint now, PuActions& out);

  PuSessionConfig config_;
  PuService& service_;
  PuSessionCounters& counters_;
  handlespace::Rng rng_;          // retry delays, cache selection
  handlespace::Handlespace cache_;
  PuState state_ = PuState::idle;
  bool started_ = false;

  // Registrar side.
  std::optional<RegistrarIndex> registrar_;  // connecting or connected
  bool registrar_up_ = false;
  RegistrarIndex cursor_ = 0;                // next in the round robin
  std::size_t failures_in_row_ = 0;          // since the last answer
  bool want_resolution_ = false;
  bool outstanding_ = false;                 // HANDLE_RESOLUTION sent, no answer yet
  TimePoint resolution_sent_{};
  std::optional<TimePoint> registrar_due_;   // connect or response timeout
  std::optional<TimePoint> registrar_retry_at_;
  std::optional<TimePoint> resolve_retry_at_;  // empty pool

  // PE side.
  std::optional<Unit> unit_;
  std::optional<PeSession> session_;
  std::optional<Failover> failover_;
  std::optional<TimePoint> backoff_until_;
  SessionId next_session_ = 1;
  std::vector<handlespace::PeRef> refs_;  // scratch
};

// The inputs a service's PU core passes on to its PuSession as they are: the shell's calls.
// A service's PU core derives from it, attaches its PuSession, and adds tick, next_deadline,
// stop and its counters (its start is PuService::started).
class PuInputs {
 public:
  // Begins: connects the first registrar, then the service's PuService::started.
  void start(TimePoint now, PuActions& out) { layer_->start(now, out); }
  void registrar_connected(RegistrarIndex i, TimePoint now, PuActions& out) {
    layer_->registrar_connected(i, now, out);
  }
  void registrar_connect_failed(RegistrarIndex i, TimePoint now, PuActions& out) {
    layer_->registrar_connect_failed(i, now, out);
  }
  void registrar_closed(RegistrarIndex i, TimePoint now, PuActions& out) {
    layer_->registrar_closed(i, now, out);
  }
  void registrar_received(RegistrarIndex i, std::span<const std::uint8_t> message,
                          TimePoint now, PuActions& out) {
    layer_->registrar_received(i, message, now, out);
  }
  // `local`: the PU's end of the session (its addresses and port), for the failover event.
  void pe_connected(SessionId s, TimePoint now, PuActions& out, SessionEnd local = {}) {
    layer_->pe_connected(s, now, out, std::move(local));
  }
  // `paths`: the (local, PE address) pairs the shell tried, as text ("198.18.65.2->
  // 198.18.1.2: Network is unreachable"), for the failover event.
  void pe_connect_failed(SessionId s, TimePoint now, PuActions& out,
                         std::vector<std::string> paths = {}) {
    layer_->pe_connect_failed(s, now, out, std::move(paths));
  }
  void pe_closed(SessionId s, TimePoint now, PuActions& out) { layer_->pe_closed(s, now, out); }
  void pe_received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                   TimePoint now, PuActions& out) {
    layer_->pe_received(s, ppid, message, now, out);
  }
  // The wall clock reads `now_us` (µs since the Unix epoch) at `now`: event times count from
  // here on. The shell calls it at every input, since the wall clock (which other processes'
  // events use) is slewed against this steady clock: anchored once at start, a failover's
  // `detected_us` could precede the kill that caused it by the drift of the whole run.
  void anchor_clock(TimePoint now, std::int64_t now_us) { layer_->anchor_clock(now, now_us); }
  PuState state() const { return layer_->state(); }

 protected:
  PuInputs() = default;
  ~PuInputs() = default;
  void attach(PuSession& layer) { layer_ = &layer; }

 private:
  PuSession* layer_ = nullptr;
};

}  // namespace rserpool::session
