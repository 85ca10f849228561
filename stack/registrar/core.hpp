// The registrar (PR) core: the ASAP server side of RFC 5352 as a state machine without
// I/O. The caller feeds it what happened — a connection or association opened, a message
// arrived on it, it closed, time passed — together with `now`, and carries out what it
// returns: messages to send on connections and events to log. It never reads a clock,
// opens a socket or sleeps; `next_deadline()` says when to call `tick()` next.
//
//   PE ──REGISTRATION──────────► Core ──REGISTRATION_RESPONSE──► PE
//   PU ──HANDLE_RESOLUTION─────► Core ──HANDLE_RESOLUTION_RESPONSE (policy, PEs)──► PU
//   Core ──ENDPOINT_KEEP_ALIVE──► PE ──ENDPOINT_KEEP_ALIVE_ACK──► Core   (else: removed)
//   PU ──ENDPOINT_UNREACHABLE──► Core   (MaxBadPEReports of them: removed)
//   PE ──ENDPOINT_KEEP_ALIVE_ACK (a PE it does not hold)──► Core ──DEREGISTRATION_RESPONSE──► PE
//
// A PE lives on the newest connection or association it registered over: a registration
// over an older one is stale (refused), and closing an older one removes nothing.
//
// ENRP (RFC 5353; docs/enrp.md): the registrars of an operational scope replicate the
// handlespace and take over each other's PEs. The core names connections it wants opened
// (Actions.connects: a peer's ENRP endpoint, or an adopted PE's ASAP endpoint) with ConnIds
// of its own (kOutgoing set); the caller dials, then reports opened() or closed() for that
// id, and queues the sends for it meanwhile. ENRP presence to a multicast group goes out as
// Actions.multicast; what the caller hears there comes in by received_enrp_multicast().
//
//   start() ──Connect(peer)──► caller ──opened(conn)──► Core ──PRESENCE / LIST / HANDLE_TABLE_REQUEST──► mentor
//   PE change ──HANDLE_UPDATE──► every peer;  PRESENCE (owner checksum) ≠ ours ──► audit
//   peer silent ──PRESENCE(R)──► … ──INIT_TAKEOVER──► all ──ACK──► TAKEOVER_SERVER, ENDPOINT_KEEP_ALIVE(H)──► its PEs
//
// Single-threaded; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stack/handlespace/handlespace.hpp"
#include "stack/wire/messages.hpp"

namespace rserpool::registrar {

using handlespace::TimePoint;
using ConnId = std::uint64_t;
using std::chrono::milliseconds;

// Address scopes for the PE address filter, narrowest first.
enum class Scope : std::uint8_t { loopback, site_local, global };
Scope scope_of(const wire::Address& a);
std::optional<Scope> parse_scope(std::string_view text);  // loopback|site-local|global
std::string_view scope_name(Scope s);

struct Config {
  std::uint32_t identifier = 1;  // Server ID: in keep-alives and as PEs' home registrar
  // The first keep-alive of a new registration at a random point of (½, 1] interval, each
  // next one interval ±12.5 % after the ack (core.cpp, first_keep_alive).
  milliseconds keepalive_interval{5000};
  milliseconds keepalive_timeout{5000};
  std::uint32_t max_bad_pe_reports = 3;
  std::uint32_t max_hres_items = 3;     // without a Handle Resolution Option
  double max_hr_rate = -1;              // handle resolutions per second per PU; < 0: unlimited
  double max_eu_rate = -1;              // unreachable reports per second per PU; < 0: unlimited
  Scope min_address_scope = Scope::site_local;
  std::size_t max_increment = 1;        // how many resolved PEs advance their policy state
  std::uint64_t seed = 1;               // randomized policies
  // false: no event for a handle resolution (the busiest path: an event costs as much as
  // the resolution), for a caller that writes no events; everything else is unchanged.
  bool resolution_events = true;
  // ENRP (RFC 5353; behaviour.md for the defaults).
  struct Enrp {
    std::vector<wire::Transport> peers;        // static peer list (--peer): dialled at start()
    std::vector<wire::Transport> own;          // this registrar's ENRP transports (Server Information)
    // The caller sends Actions.multicast to a group and feeds what it hears there to
    // received_enrp_multicast(). Without it and without static peers there is nobody to
    // discover: start() serves at once (docs/enrp.md, Start-up).
    bool multicast = true;
    milliseconds heartbeat_interval{2440};     // Presence to every peer, ±12.5 % jitter
    milliseconds max_time_last_heard{5000};    // then a Presence with R ...
    milliseconds max_time_no_response{5000};   // ... and without an answer: takeover
    milliseconds mentor_discovery_timeout{5000};
    milliseconds takeover_expiry{5000};
    milliseconds reconnect_interval{1000};     // redial of a static peer whose connection failed
    bool takeover_suggestion = false;          // T flag in Handle Updates (see docs/enrp.md)
    std::size_t max_response_bytes = 60000;    // a Handle Table Response page (M flag beyond)
  } enrp;
};
inline constexpr std::uint32_t kMaxHresItemsCap = 128;  // even when a PU asks for more

// A path's distance as the DPF policies take it (behaviour.md, "Distance"; RSPLIB): half its
// smoothed round-trip time, rounded to the nearest 50 ms, in ms (24 ms → 0, 25 ms → 50).
std::uint32_t distance_of(std::chrono::microseconds srtt);
inline constexpr std::uint32_t kDistanceStepMs = 50;

// What the registrar can verify of a connection or association.
struct Peer {
  wire::TransportKind kind = wire::TransportKind::tcp;  // sctp or tcp
  std::vector<wire::Address> addresses;                 // every verified peer address
  std::uint16_t port = 0;
};

struct Send {
  ConnId conn;
  wire::Bytes message;
};

// ConnIds the core chooses for connections it asks the caller to open; the caller's own
// (accepted connections) stay below. Bit 48, not the top bit: ids appear in events as
// signed 64-bit numbers and stay positive there.
inline constexpr ConnId kOutgoing = ConnId{1} << 48;

// Open a connection: ENRP to a peer, or ASAP to a PE (an adopted PE's ASAP transport).
// The caller reports opened(conn, ...) or closed(conn, ...) later, and holds the sends
// for `conn` until it is open (dropped if it never opens).
struct Connect {
  ConnId conn;
  wire::Protocol protocol;
  wire::Transport to;
};

// Results of one input. Events are JSON objects with an "event" name and its fields;
// the caller adds the time.
struct Actions {
  std::vector<Send> sends;
  std::vector<nlohmann::json> events;
  std::vector<Connect> connects;
  std::vector<ConnId> closes;               // close these (a duplicate or unwanted connection)
  std::vector<wire::Bytes> multicast;       // ENRP presence to the multicast group, if any
  void clear() {
    sends.clear();
    events.clear();
    connects.clear();
    closes.clear();
    multicast.clear();
  }
};

// A peer registrar as this core knows it (hsdump, tests).
struct PeerInfo {
  std::uint32_t id = 0;
  std::optional<wire::Transport> transport;  // its ENRP transport, once it told us
  bool reachable = false;
  std::uint16_t checksum = 0;                // the owner checksum it last announced
  TimePoint last_heard{};
};

class Core {
 public:
  explicit Core(Config config);

  // ENRP begins: static peers dialled, mentor discovery (none without static peers and
  // multicast: it serves at once). Without start() the core is a stand-alone registrar (it
  // still answers ENRP requests).
  void start(TimePoint now, Actions& out);
  // The handle table is complete (mentor's downloaded, or no mentor found in time): the
  // caller announces the registrar over ASAP only from then on.
  bool serving() const;

  // Also for an outgoing connection (a kOutgoing id from Actions.connects) once open.
  void opened(ConnId conn, Peer peer);
  // The connection's smoothed RTT as the caller measured it (transport::smoothed_rtt), before
  // passing it a message that needs_distance(): its distance_of() becomes the Distance of the
  // PEs registering over it (ASAP), or is added to that of the PEs a peer announces over it
  // (ENRP: the home registrar's distance to the PE plus ours to the home). Until told: 0.
  void set_rtt(ConnId conn, std::chrono::microseconds srtt);
  // Whether `message` (ASAP on an ASAP connection, else ENRP) uses its connection's distance:
  // an ASAP Registration, an ENRP Handle Update or Handle Table Response.
  static bool needs_distance(bool asap, std::span<const std::uint8_t> message);
  void received_asap(ConnId conn, std::span<const std::uint8_t> message, TimePoint now,
                     Actions& out);
  // The busiest input split in three for a caller that keeps the core under a lock (the
  // node with --threads): plain_resolution() decodes a message without the core, resolve()
  // is the core's part (the selection, and the answer encoded from the selected PEs as they
  // are now: its bytes appended to `answer`, not to out.sends; events to `out`), and the
  // caller sends the answer on `conn`. received_asap() does the same for a resolution.
  // plain_resolution(): the message if it is a Handle Resolution that decodes with nothing
  // to report (no unrecognized parameter); nullopt for anything else.
  static std::optional<wire::asap::HandleResolution> plain_resolution(
      std::span<const std::uint8_t> message);
  void resolve(ConnId conn, const wire::asap::HandleResolution& m, TimePoint now,
               wire::Bytes& answer, Actions& out);
  void received_enrp(ConnId conn, std::span<const std::uint8_t> message, TimePoint now,
                     Actions& out);
  // ENRP Presence heard on the multicast group, from `source`.
  void received_enrp_multicast(std::span<const std::uint8_t> message,
                               const wire::Address& source, TimePoint now, Actions& out);
  // The connection closed or broke, or (a kOutgoing id) could not be opened: the PEs it
  // holds go (a PE lives on the newest connection it registered over; closing an older one
  // removes nothing).
  void closed(ConnId conn, TimePoint now, Actions& out);
  // Runs every timer due at `now` (keep-alives, their timeouts, registration expiry).
  void tick(TimePoint now, Actions& out);
  std::optional<TimePoint> next_deadline() const;

  const handlespace::Handlespace& handlespace() const { return hs_; }
  const Config& config() const { return config_; }
  std::vector<PeerInfo> peers() const;

 private:
  struct TokenBucket {
    double tokens = 0;
    TimePoint last{};
    bool started = false;
    bool take(double rate, TimePoint now);
  };
  struct Connection {
    Peer peer;
    std::uint64_t order = 0;  // 1, 2, ... in the order this core first saw them
    std::uint32_t distance = 0;  // ms (set_rtt)
    std::unordered_set<handlespace::PeRef> pes;  // the PEs it holds (see stale())
    TokenBucket hr_bucket, eu_bucket;
  };
  struct PeState {
    ConnId conn = 0;
    std::uint32_t bad_reports = 0;
  };

  // ENRP state (enrp.cpp, docs/enrp.md).
  // An ENRP connection: accepted (the caller's id) or dialled (kOutgoing).
  struct EnrpConn {
    std::uint32_t peer = 0;  // the Sender Server ID heard on it; 0 until then
    std::string via;         // static, multicast, list, incoming
  };
  // A peer ENRP endpoint to keep a connection to: a static peer, or one learnt from a
  // multicast Presence or a List Response. Redialled every reconnect_interval while
  // neither it nor the peer behind it (once known) has a connection.
  struct Dial {
    wire::Transport to;
    std::string via;
    ConnId conn = 0;             // being dialled or open; 0: none
    std::uint32_t peer = 0;      // heard behind it
    bool failed = false;         // a dial of it failed (start-up ends early when all did)
    std::optional<TimePoint> redial;
  };
  struct PeerEntry {
    std::optional<wire::Transport> transport;
    std::uint16_t checksum = 0;
    TimePoint last_heard{};
    std::optional<TimePoint> probed;  // Presence with R sent then, unanswered
    bool down = false;                // peer_down logged
  };
  // A Handle Table download from a peer, page by page (M flag).
  struct Fetch {
    std::string reason;  // mentor, audit
    bool own_only = false;
    TimePoint started{};
    std::int64_t pages = 0, pes = 0;
    std::unordered_set<handlespace::PeRef> seen;  // for the audit's mark-and-sweep
  };
  // Where a paged Handle Table Response continues for one requester: after (pool, id), for
  // requests over the same connection.
  struct Cursor {
    bool own_only = false;
    ConnId conn = 0;
    std::string pool;
    std::uint32_t id = 0;
    bool started = false;
  };
  // This registrar's takeover of a silent peer.
  struct Takeover {
    TimePoint started{};
    std::int64_t silent_ms = 0;
    std::vector<std::uint32_t> awaiting;
    std::int64_t acks = 0;
  };
  // Another registrar's takeover this one acknowledged or yielded to: if its Takeover
  // Server does not come by `until`, this registrar takes the target over itself.
  struct Awaited {
    std::uint32_t by = 0;
    TimePoint until{};
  };

  void on_registration(ConnId conn, Connection& c, wire::asap::Registration& m, TimePoint now,
                       Actions& out);
  void on_deregistration(ConnId conn, const wire::asap::Deregistration& m, Actions& out);
  void resolve(ConnId conn, Connection& c, const wire::asap::HandleResolution& m, TimePoint now,
               wire::Bytes& answer, Actions& out);
  void on_keep_alive_ack(ConnId conn, const wire::asap::EndpointKeepAliveAck& m, TimePoint now,
                         Actions& out);
  void on_unreachable(ConnId conn, Connection& c, const wire::asap::EndpointUnreachable& m,
                      TimePoint now, Actions& out);
  TimePoint first_keep_alive(TimePoint now);  // of a new registration
  TimePoint next_keep_alive(TimePoint now);   // after an ack
  TimePoint::duration random_below(TimePoint::duration bound);
  void remove(handlespace::PeRef ref, std::string_view reason, Actions& out);
  bool owns(ConnId conn, handlespace::PeRef ref) const;
  bool stale(ConnId conn, handlespace::PeRef ref) const;
  Connection& connection(ConnId conn);
  void send(ConnId conn, const wire::asap::Message& m, Actions& out);
  void send_error(ConnId conn, wire::Protocol protocol, const wire::OperationError& e,
                  std::string_view why, Actions& out);
  bool address_filter(const Connection& c, wire::Transport& t) const;
  // A registration refused for what the pool already is: the cause, its information
  // and the reason for the event.
  struct Conflict {
    wire::CauseCode code;
    wire::Bytes info;
    std::string why;
  };
  std::optional<Conflict> transport_conflict(const wire::PoolHandle& pool,
                                             const wire::Transport& t) const;

  // ENRP (enrp.cpp): peers and their connections.
  void dispatch_enrp(ConnId conn, wire::enrp::Message& m, TimePoint now, Actions& out);
  void heard(ConnId conn, std::uint32_t id, TimePoint now, Actions& out);
  void dial(Dial& d, TimePoint now, Actions& out);
  void add_dial(const wire::Transport& to, std::string_view via, TimePoint now, Actions& out);
  void enrp_closed(ConnId conn, TimePoint now, Actions& out);
  std::optional<ConnId> route(std::uint32_t peer) const;
  void send_enrp(ConnId conn, const wire::enrp::Message& m, Actions& out);
  bool to_peer(std::uint32_t peer, wire::enrp::Message m, Actions& out);
  wire::enrp::Presence presence(std::uint32_t receiver, bool reply_required) const;
  void heartbeat(TimePoint now, Actions& out);
  void enrp_tick(TimePoint now, Actions& out);
  std::optional<TimePoint> enrp_deadline() const;
  void check_peer(std::uint32_t id, PeerEntry& p, TimePoint now, Actions& out);
  void become_serving(std::optional<std::uint32_t> mentor, TimePoint now, Actions& out);
  void choose_mentor(TimePoint now, Actions& out);
  // Start-up and audits: handle tables, paged.
  void on_presence(ConnId conn, const wire::enrp::Presence& m, TimePoint now, Actions& out);
  void on_list_request(ConnId conn, const wire::enrp::ListRequest& m, Actions& out);
  void on_list_response(const wire::enrp::ListResponse& m, TimePoint now, Actions& out);
  void on_table_request(ConnId conn, const wire::enrp::HandleTableRequest& m, Actions& out);
  void on_table_response(ConnId conn, const wire::enrp::HandleTableResponse& m, TimePoint now,
                         Actions& out);
  void start_fetch(std::uint32_t peer, bool own_only, std::string reason, TimePoint now,
                   Actions& out);
  void finish_fetch(std::uint32_t peer, TimePoint now, Actions& out);
  std::vector<handlespace::PeRef> table_order(bool own_only) const;
  // Handle Updates: what this registrar owns goes out; what peers own comes in.
  void announce_update(handlespace::PeRef ref, wire::UpdateAction action, Actions& out);
  void on_update(ConnId conn, const wire::enrp::HandleUpdate& m, TimePoint now, Actions& out);
  std::optional<handlespace::PeRef> learn(const std::string& pool, wire::PoolElement pe,
                                          ConnId conn, TimePoint now);
  // Takeover.
  void start_takeover(std::uint32_t target, TimePoint now, Actions& out);
  void finish_takeover(std::uint32_t target, std::string_view outcome, TimePoint now,
                       Actions& out);
  void end_takeover(std::uint32_t target, std::string_view outcome, TimePoint now, Actions& out);
  void on_init_takeover(ConnId conn, const wire::enrp::InitTakeover& m, TimePoint now,
                        Actions& out);
  void on_takeover_ack(const wire::enrp::InitTakeoverAck& m, TimePoint now, Actions& out);
  void on_takeover_server(ConnId conn, const wire::enrp::TakeoverServer& m, TimePoint now,
                          Actions& out);
  bool adopt(handlespace::PeRef ref, std::uint32_t from, TimePoint now, Actions& out);
  void forget_peer(std::uint32_t id);

  Config config_;
  handlespace::Handlespace hs_;
  handlespace::Rng rng_;
  std::unordered_map<ConnId, Connection> conns_;
  std::uint64_t connections_seen_ = 0;
  std::unordered_map<handlespace::PeRef, PeState> pes_;
  std::vector<handlespace::PeRef> selected_;  // scratch
  std::vector<const wire::PoolElement*> selected_elements_;  // scratch

  // ENRP.
  bool started_ = false;
  bool serving_ = true;  // until start(); then once the start-up sync ends
  TimePoint started_at_{};
  std::uint32_t mentor_ = 0;
  std::optional<TimePoint> discovery_deadline_;
  std::optional<TimePoint> next_presence_;
  ConnId next_outgoing_ = kOutgoing;
  std::unordered_map<ConnId, EnrpConn> enrp_conns_;
  std::vector<Dial> dials_;
  std::map<std::uint32_t, PeerEntry> peers_;
  std::map<std::uint32_t, Fetch> fetches_;
  std::map<std::pair<std::uint32_t, ConnId>, Cursor> cursors_;
  std::map<std::uint32_t, Takeover> takeovers_;
  std::map<std::uint32_t, Awaited> awaited_;
};

}  // namespace rserpool::registrar
