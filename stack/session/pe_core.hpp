// The pool element (PE) side of ASAP registration (RFC 5352 §2.2, §3.1–3.5) as a state
// machine without I/O. The caller (the shell) owns the registrar connections, each named
// by an opaque index 0..n-1 of its registrar list (or learnt from an announce); it feeds
// the core what happened — a connection opened, failed or closed, a message arrived,
// the load changed, time passed — together with `now`, and carries out the returned
// operations in order: connect to a registrar, close or abort one, send bytes on one; and it logs
// the events. The core never reads a clock, opens a socket or sleeps; `next_deadline()`
// says when to call `tick()` next, and a late or early tick is harmless (every timer
// re-checks its deadline).
//
//   PE core ──connect(i)────────────────────► shell ──► PR i
//   PE core ──REGISTRATION──────────────────► PR i ──REGISTRATION_RESPONSE──► PE core
//   PR i ──ENDPOINT_KEEP_ALIVE (H: new home)──► PE core ──ENDPOINT_KEEP_ALIVE_ACK──► PR i
//   every re-registration interval, and at once when an adaptive policy's load changes:
//   PE core ──REGISTRATION (again)──────────► PR i
//   PR i closed / no response / reject ──► abort(i), connect(next i), register there
//   PR i ──DEREGISTRATION_RESPONSE (unasked: it does not hold the PE)──► REGISTRATION at once
//   shutdown ──DEREGISTRATION──► PR i ──DEREGISTRATION_RESPONSE──► close(i), done
//   PR j (took the PE over) ──connects to the PE's ASAP endpoint──► registrar_accepted(j)
//   PR j ──ENDPOINT_KEEP_ALIVE (H)──► PE core ──ACK──► PR j, abort(i); re-registrations to j
//
// Decisions:
// - One registrar connection at a time; round robin over the known registrars. A failover
//   after a close or a timeout connects the next registrar at once; after a whole round
//   of failures without a registration, or after a reject, the next attempt waits the
//   retry delay.
// - A reject for Inconsistent Pooling Policy is permanent (the pool's policy is set by its
//   first PE, and every registrar shares the handlespace): the core reports it, closes
//   and stops (state done). Other rejects try the next registrar after the retry delay.
// - Malformed or unexpected input from a registrar is dropped with a `message_discarded`
//   event; a PE sends no ASAP Error back (a registrar is the peer that reports errors,
//   and answering errors with errors risks a ping-pong between two confused peers).
// - Keep-alives are answered on the connection they came on, from any registrar, as long
//   as they name this PE's pool (and identifier when present). They are counted, not
//   logged: one event every few seconds would drown the log. The H flag makes the sender
//   the home registrar; a different previous connection is aborted.
// - A PE leaves a registrar connection it gives up (failover, a new home) with an abort
//   (TCP RST, SCTP ABORT), not a close: the kernel would otherwise still deliver what it
//   holds, a (re-)registration sent before the link went down retransmitted after the PE
//   registered again over a new connection, followed by the old connection's close.
// - A registrar that takes the PE over (RFC 5353) connects to the PE's ASAP endpoint, the
//   port its registrations leave from, which its home registrar recorded. Such an accepted
//   connection is a registrar connection like the others (keep-alives answered, the H flag
//   makes it home, re-registrations then go there), except that the PE never connects to
//   it again: it is no candidate of the round robin. Until an H keep-alive comes on it,
//   it changes nothing (its closing neither); once home, its closing is a failover to the
//   registrars the PE knows.
// - A Deregistration Response it did not ask for, from its registrar, says the registrar
//   does not hold this PE (it answers a keep-alive ack so when it removed the PE, e.g. at a
//   keep-alive timeout while a link was down): the PE registers again at once.
//
// Single-threaded; one owner.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "stack/wire/messages.hpp"

namespace rserpool::session {

// The same clock as the registrar core's, so the two can be wired together in tests.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using RegistrarIndex = std::size_t;
using std::chrono::milliseconds;

struct PeConfig {
  wire::PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  wire::Transport user_transport;
  wire::Policy policy;
  milliseconds reregistration_interval{30000};  // RSPLIB's PEs: 30 s
  milliseconds registration_life{90000};        // RSPLIB: 3 × the re-registration interval
  std::size_t registrar_count = 0;              // static list: indices 0..n-1
  milliseconds retry_delay{1000};               // after a reject or a round with no answer
  milliseconds response_timeout{5000};          // connect, registration and deregistration
};

enum class PeState : std::uint8_t {
  idle,            // before start()
  connecting,      // waiting for a connection (or for the retry delay, or an announce)
  registering,     // REGISTRATION sent to a registrar not yet holding this PE
  registered,      // a registrar holds this PE (a re-registration may be outstanding)
  deregistering,   // DEREGISTRATION sent
  done,            // deregistered, or stopped for good
};
std::string_view state_name(PeState s);

// What the shell does, in this order.
struct Op {
  // close: a goodbye after what is in flight; abort: at once, what is in flight dropped.
  enum class Kind : std::uint8_t { connect, close, abort, send };
  Kind kind;
  RegistrarIndex registrar;
  wire::Bytes message;  // send only
  bool operator==(const Op&) const = default;
};

// Results of one input. Events are JSON objects with an "event" name and its fields;
// the caller adds the time.
struct Actions {
  std::vector<Op> ops;
  std::vector<nlohmann::json> events;
  void clear() {
    ops.clear();
    events.clear();
  }
};

struct PeCounters {
  std::uint64_t registrations = 0;    // REGISTRATION messages sent
  std::uint64_t reregistrations = 0;  // accepted ones at a registrar already holding the PE
  std::uint64_t keepalives_answered = 0;
  std::uint64_t failovers = 0;
  std::uint64_t registrations_lost = 0;  // the registrar said it did not hold the PE
  std::uint64_t discarded = 0;        // malformed or unexpected messages
  std::uint64_t accepted = 0;         // registrar connections to the ASAP endpoint
};

class PeCore {
 public:
  // REQUIRES: config.registration_life and the intervals positive.
  explicit PeCore(PeConfig config);

  void start(TimePoint now, Actions& out);
  void registrar_connected(RegistrarIndex i, TimePoint now, Actions& out);
  void registrar_connect_failed(RegistrarIndex i, TimePoint now, Actions& out);
  void registrar_closed(RegistrarIndex i, TimePoint now, Actions& out);
  // A registrar connected to the PE's ASAP endpoint; the shell names the connection with an
  // index of none of the registrars it connects to (it may reuse the index of an accepted
  // connection that closed). No op: the registrar speaks first (a keep-alive, H when it
  // took the PE over); closed() and received() as for any registrar connection.
  void registrar_accepted(RegistrarIndex i, TimePoint now, Actions& out);
  // One whole ASAP message from registrar i.
  void received(RegistrarIndex i, std::span<const std::uint8_t> message, TimePoint now,
                Actions& out);
  // A registrar announced itself; the shell maps its address to index i (which may
  // extend the list). When no registrar is known the core connects to it at once.
  void announce(std::uint32_t server_id, RegistrarIndex i, TimePoint now, Actions& out);
  // For adaptive (LU-family) policies a changed load re-registers at once.
  void set_load(std::uint32_t load, TimePoint now, Actions& out);
  // Deregisters when registered, then done.
  void shutdown(TimePoint now, Actions& out);
  void tick(TimePoint now, Actions& out);
  std::optional<TimePoint> next_deadline() const;

  PeState state() const { return state_; }
  // The registrar holding this PE (registered), else nullopt.
  std::optional<RegistrarIndex> home() const;
  // The connection in use or being set up.
  std::optional<RegistrarIndex> current() const { return current_; }
  std::optional<std::uint32_t> home_server_id() const { return home_server_id_; }
  const wire::Policy& policy() const { return config_.policy; }
  const PeCounters& counters() const { return counters_; }

 private:
  void connect_next(TimePoint now, Actions& out);
  void connect_to(RegistrarIndex i, TimePoint now, Actions& out);
  void send_registration(TimePoint now, Actions& out);
  void send(RegistrarIndex i, const wire::asap::Message& m, Actions& out);
  void fail_over(std::optional<RegistrarIndex> from, std::string_view reason, TimePoint now,
                 Actions& out, bool delay = false);
  void drop_connection(Actions& out, Op::Kind how = Op::Kind::close);
  void discard(RegistrarIndex i, std::string reason, Actions& out);
  std::optional<RegistrarIndex> next_candidate() const;
  void on_registration_response(RegistrarIndex i, const wire::asap::RegistrationResponse& m,
                                TimePoint now, Actions& out);
  void on_keep_alive(RegistrarIndex i, const wire::asap::EndpointKeepAlive& m, TimePoint now,
                     Actions& out);
  void on_deregistration_response(RegistrarIndex i, const wire::asap::DeregistrationResponse& m,
                                  TimePoint now, Actions& out);
  void finish(nlohmann::json event, Actions& out);
  bool adaptive() const;

  PeConfig config_;
  PeState state_ = PeState::idle;
  std::vector<bool> known_;                     // registrars we may connect to
  std::vector<bool> accepted_;                  // accepted connections: never connected to
  std::optional<RegistrarIndex> current_;       // connecting to or connected to
  bool connected_ = false;
  RegistrarIndex cursor_ = 0;                   // where the round robin looks next
  std::size_t failures_in_row_ = 0;             // since the last registration
  bool pending_ = false;                        // a (re-)registration awaits its response
  bool load_dirty_ = false;                     // load changed while pending
  std::optional<TimePoint> retry_at_;           // connect_next() then
  std::optional<TimePoint> response_due_;       // connect or response timeout
  std::optional<TimePoint> rereg_due_;
  std::optional<std::uint32_t> home_server_id_;
  PeCounters counters_;
};

}  // namespace rserpool::session
