// Message transports for RSerPool over Boost.Asio: SCTP through lksctp (multi-homed,
// PPIDs per message) and the TCP mapping (each message framed by its own Message Length;
// optionally a 4-byte PPID in front, where control and data share one connection).
// See docs/tcp-mapping.md for the framing.
//
// Threading: everything runs on the caller's single-threaded io_context; no locks. A
// listener may hand its connections to other io_contexts (ListenOptions::connection_context):
// each connection is then used only on its own (Connection::context()).
// Handlers are called on that io_context. A Connection keeps itself alive while it has
// I/O outstanding; callers hold shared_ptrs for as long as they want to send.
//
//   Listener ──accept──► Connection ──on_message(ppid, bytes)──► owner
//                          ▲   └──────on_close(ec)─────────────► owner (once)
//   owner ──send(ppid, bytes) / close()──┘
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stack/transport/error.hpp"
#include "stack/transport/framing.hpp"

namespace rserpool::transport {

namespace asio = boost::asio;
using Address = asio::ip::address;

enum class Kind : std::uint8_t { tcp, sctp };
enum class Choice : std::uint8_t { automatic, tcp, sctp };  // --transport auto|tcp|sctp

std::string_view name(Kind k);          // "tcp", "sctp"
std::optional<Choice> parse_choice(std::string_view text);
bool sctp_available();                  // the kernel opens an SCTP socket
Kind resolve(Choice c);                 // automatic: SCTP when available, else TCP

// A (multi-homed) transport endpoint: every address shares one port.
struct Endpoint {
  std::vector<Address> addresses;
  std::uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:3863", "[::1]:3863", "10.0.0.1,10.0.1.1:3863"
};
// Parses "ADDR[,ADDR…][:PORT]" with IPv6 in brackets ("[::1]:3863", "[::1],127.0.0.1:9");
// a missing port is `default_port`. nullopt with `error` set on bad input.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port,
                                       std::string* error);

// How messages are delimited on a TCP connection (SCTP keeps message boundaries and
// carries the PPID itself).
struct Framing {
  bool ppid_prefix = false;        // each frame: PPID (u32) then the message
  std::uint32_t implicit_ppid = 0; // without a prefix: the PPID reported for every message
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Handler {
    std::function<void(std::uint32_t ppid, std::span<const std::uint8_t> message)> on_message;
    // Once, when the peer closed, the connection broke or framing failed. Not after close().
    std::function<void(const std::error_code& ec)> on_close;
  };

  virtual ~Connection() = default;
  virtual Kind kind() const = 0;
  // Starts reading. REQUIRES: called once.
  virtual void start(Handler handler) = 0;
  // Queues one message (copied). Messages go out in order. A message over 65535 bytes
  // (plus the PPID prefix) is refused: returns false.
  // Also refused (on both transports, so that what works over SCTP works over TCP): a
  // message under 4 bytes or whose Message Length (bytes 2-3) is not its size, and any
  // message once the connection is closed. `ppid` is ignored on TCP without a PPID prefix.
  virtual bool send(std::uint32_t ppid, std::span<const std::uint8_t> message) = 0;
  // Closes after nothing more is read; queued messages are dropped. Idempotent. The kernel
  // still delivers what it holds (a TCP FIN, an SCTP SHUTDOWN after the data in flight).
  virtual void close() = 0;
  // Closes at once without a goodbye: TCP RST, SCTP ABORT (SO_LINGER 0). What the kernel
  // still holds, sent or not yet acknowledged, is dropped, so nothing sent earlier on this
  // connection reaches the peer afterwards (a retransmission after a link comes back).
  // Idempotent; nothing more after close().
  virtual void abort() = 0;
  // The peer's addresses as this host can verify them: the TCP peer address, or every
  // address of the SCTP association (sctp_getpaddrs). Empty once closed.
  virtual std::vector<Address> peer_addresses() const = 0;
  virtual std::uint16_t peer_port() const = 0;
  virtual Endpoint local_endpoint() const = 0;
  // The io_context the connection lives on: its reads, writes and handlers run there, and
  // send()/close() belong there too (see ListenOptions::connection_context).
  virtual asio::io_context& context() const = 0;
};

struct ListenOptions {
  // The port is shared with this process's outgoing connections (ConnectOptions::local_port):
  // SO_REUSEADDR and SO_REUSEPORT before bind. A PE's ASAP endpoint: its registrar
  // connections leave from the port it accepts registrars on, so the port a registrar sees
  // (and records as the PE's ASAP transport) is one another registrar can connect to. Off
  // (servers): a port in use is an error, never silently shared.
  bool share_port = false;
  // Where an accepted connection lives (Connection::context()), asked once per accept:
  // several io_contexts, each run by a thread of its own, share the connections of one
  // listener. Empty: the listener's. on_accept is still called on the listener's.
  std::function<asio::io_context&()> connection_context = {};
  // SCTP: acknowledge DATA at once (SCTP_DELAYED_SACK, sack_freq 1) instead of the kernel's
  // delayed SACK (every second packet, else after sack_timeout: 200 ms on Linux). The smoothed
  // RTT the peer measures (smoothed_rtt) is made of these SACKs: without it, DATA we never
  // answer (a Registration Response, a Handle Update) adds our SACK delay to it. For the
  // associations whose peer measures a distance from its srtt: ASAP at the PE, ENRP. TCP: no
  // effect.
  bool immediate_sack = false;
};

class Listener {
 public:
  virtual ~Listener() = default;
  // Binds every address of `local` (sctp_bindx for SCTP; one TCP acceptor per address),
  // port 0 picks a free port (the same one for all addresses). Throws std::system_error.
  static std::unique_ptr<Listener> open(asio::io_context& io, Kind kind, const Endpoint& local,
                                        Framing framing, ListenOptions options = {});
  virtual void start(std::function<void(std::shared_ptr<Connection>)> on_accept) = 0;
  virtual Endpoint local_endpoint() const = 0;  // the actual port
  virtual void close() = 0;
};

// Connects to `remote`: SCTP with sctp_connectx over all its addresses (binding `local`
// addresses with sctp_bindx when given); TCP tries the addresses in order. The handler gets
// the connection (not yet started) or the last error.
void async_connect(asio::io_context& io, Kind kind, const Endpoint& remote,
                   const std::vector<Address>& local, Framing framing,
                   std::function<void(std::error_code, std::shared_ptr<Connection>)> handler);

// ---- additions beyond the original interface -------------------------------------------

// A (local, remote) pair a connect tried in vain: what a multi-homed client reports before
// it calls a peer unreachable. TCP: one address each (`local` empty: the kernel's choice);
// SCTP: the association's address lists. to_string: "198.18.65.2->198.18.1.2: Network is
// unreachable", "*->10.0.0.1: connection attempt timed out".
struct PathFailure {
  std::vector<Address> local;
  std::vector<Address> remote;
  std::error_code error;
  std::string to_string() const;
  bool operator==(const PathFailure&) const = default;
};
struct ConnectOptions {
  // TCP: each local address of the remote address's family in turn (for every remote
  // address), binding it as the source; false: only the first (async_connect's behaviour).
  bool every_local = false;
  // The whole connect (0: no limit: the kernel's SYN or INIT retries, minutes). TCP: shared
  // equally by the pairs, each given up after its share.
  std::chrono::milliseconds timeout{0};
  // Leave from this local port (0: one the kernel picks): the port of a listener opened with
  // ListenOptions::share_port (SO_REUSEADDR and SO_REUSEPORT before bind; without local
  // addresses the wildcard of the remote's family is bound). When the port cannot be bound,
  // or (TCP) the pair of endpoints is still in use, the connect leaves from a port the kernel
  // picks, and the transport logs it.
  std::uint16_t local_port = 0;
  // As ListenOptions::immediate_sack, for the association this connect opens.
  bool immediate_sack = false;
};
using PathsHandler = std::function<void(std::error_code, std::shared_ptr<Connection>,
                                        std::vector<PathFailure> failed)>;
// async_connect with the failed pairs reported: over TCP the pairs are tried in order (each
// remote address; for it each local address, see ConnectOptions), over SCTP one association
// over all of them (one PathFailure when it fails). `failed` also comes with a connection:
// the pairs tried before the one that worked.
void async_connect_paths(asio::io_context& io, Kind kind, const Endpoint& remote,
                         const std::vector<Address>& local, Framing framing,
                         ConnectOptions options, PathsHandler handler);

// Where the transport logs its choices (`auto` resolved, a per-peer fallback to TCP) and
// accept errors: one line each, without a newline. Default: std::clog, "transport: " prefix.
// An empty sink restores the default.
using LogSink = std::function<void(std::string_view line)>;
void set_log_sink(LogSink sink);

// `choice` resolved per peer, for clients (PE→PR, PU→PR, PU→PE): tcp and sctp connect as
// async_connect does; automatic tries SCTP when the kernel has it and falls back to TCP for
// this peer when SCTP fails or takes longer than `sctp_timeout` (an SCTP INIT that nobody
// answers is retried for minutes). Logs the outcome. The peer must listen on TCP too (a
// server on `auto` opens both listeners; SCTP and TCP port spaces are separate).
void async_connect_auto(asio::io_context& io, Choice choice, const Endpoint& remote,
                        const std::vector<Address>& local, Framing framing,
                        std::function<void(std::error_code, std::shared_ptr<Connection>)> handler,
                        std::chrono::milliseconds sctp_timeout = std::chrono::seconds(5));

// SCTP failover timing of one association (SCTP_RTOINFO, SCTP_PEER_ADDR_PARAMS,
// SCTP_ASSOCINFO); a 0 field keeps the kernel's value. The kernel defaults take minutes to
// give up a path (RTO max 60 s, 5 retransmissions per path); tests and experiments shorten them.
struct SctpTimers {
  std::uint32_t rto_initial_ms = 0;
  std::uint32_t rto_min_ms = 0;
  std::uint32_t rto_max_ms = 0;
  std::uint32_t heartbeat_interval_ms = 0;
  std::uint16_t path_max_retrans = 0;   // retransmissions before a path counts as down
  std::uint16_t assoc_max_retrans = 0;  // before the association is given up
};
// std::errc::operation_not_supported on a TCP connection; the errno of a failed setsockopt.
// Paths are confirmed (heartbeat) with the RTO in force when the association came up: to
// have short timers from the start, set the defaults below before listening/connecting.
std::error_code set_sctp_timers(Connection& connection, const SctpTimers& timers);
// Process-wide defaults applied to every SCTP socket opened afterwards (listeners and
// connects; accepted associations inherit the listener's). All zero (the default): kernel's.
void set_default_sctp_timers(const SctpTimers& timers);

// The kernel's smoothed round-trip time of a connection: TCP_INFO's tcpi_rtt (µs; the
// handshake gives the first sample) or SCTP_STATUS's primary path srtt (0 until a DATA
// chunk was acknowledged, the handshake gives none; Linux gives it in jiffies: converted
// with the kernel's HZ, read from /proc/timer_list, as root, else taken as 250). It holds
// the peer's SACK delay unless the peer SACKs at once (ListenOptions::immediate_sack).
// nullopt once closed or when the kernel does not say. What a registrar's distance (the DPF
// policies) is made of.
std::optional<std::chrono::microseconds> smoothed_rtt(Connection& connection);

}  // namespace rserpool::transport
