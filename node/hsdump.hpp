// `rsplab hsdump`: the handlespace of a running registrar, fetched over ENRP as a peer would
// fetch it (as RSPLIB's hsdump does), and shown as text or JSON. The fetch runs on the
// caller's io_context (the command runs its own; tests share one with in-process registrars)
// and calls back once, with the dump or with one error text. Single-threaded.
//
//   hsdump ──connect (ENRP: PPID 12, or the TCP mapping)─────────────────────► registrar
//          ──PRESENCE (R) ──LIST_REQUEST ──HANDLE_TABLE_REQUEST (Sender ID 0)──►
//          ◄──[PRESENCE: its ID, the checksum of the PEs it owns]───────────────
//          ◄──LIST_RESPONSE (its ID, its peers)──◄──HANDLE_TABLE_RESPONSE──────
//          ──HANDLE_TABLE_REQUEST──► ◄──HANDLE_TABLE_RESPONSE── ... while the M flag is set
//
// Sender ID 0 marks a tool: the registrar answers its requests and does not take it for a
// peer (no peer_up, nothing to take over when it leaves); without Server Information in its
// Presence it has no transport to reach the tool by either. Our registrar answers the tool's
// Presence with its own (docs/enrp.md); another may not: the checksum it announces for
// itself is shown when it does. RSPLIB's hsdump instead poses as a peer with a random ID.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"

namespace rsplab::node {

struct HandlespaceDump {
  std::string endpoint;   // as dialled, "127.0.0.1:9901"
  std::string transport;  // tcp, sctp
  std::uint32_t registrar = 0;             // its Server ID (Sender of its responses)
  std::optional<std::uint16_t> announced_checksum;  // in its Presence: over the PEs it owns
  std::vector<rserpool::wire::ServerInformation> peers;  // its List Response
  std::vector<rserpool::wire::enrp::PoolEntry> pools;    // by handle, PEs by identifier
  std::size_t pages = 0;                   // Handle Table Responses (M flag: more than 1)
};

// The PEs of one home registrar and their checksum (RFC 5353: the one's-complement sum of
// pool handle and PE identifier words, handlespace::checksum_*).
struct OwnerSummary {
  std::uint32_t owner = 0;
  std::size_t pes = 0;
  std::uint16_t checksum = 0;
};
// Every home registrar of the dump's PEs, and the registrar itself (even with none), by ID.
std::vector<OwnerSummary> owners(const HandlespaceDump& d);

std::string to_text(const HandlespaceDump& d);
nlohmann::ordered_json to_json(const HandlespaceDump& d);

struct HsdumpRequest {
  rserpool::transport::Endpoint registrar;  // its ENRP endpoint
  rserpool::transport::Choice transport = rserpool::transport::Choice::automatic;
  std::chrono::milliseconds timeout{5000};  // the whole fetch
  std::uint32_t sender = 0;                 // 0: a tool, not a peer (see above)
};

// Exactly one of the two is set.
using HsdumpDone = std::function<void(std::optional<HandlespaceDump> dump, std::string error)>;

// Starts the fetch on `io`; `done` runs there once (errors: cannot connect, timeout, the
// registrar closed, a reject flag, an ENRP Error, a response that does not decode).
void fetch_handlespace(boost::asio::io_context& io, const HsdumpRequest& request,
                       HsdumpDone done);

}  // namespace rsplab::node
