// Typed ASAP (RFC 5352) and ENRP (RFC 5353) messages, their encoder and their decoder.
//
// Pure functions over byte spans: no I/O, no logging, no exceptions, no global state;
// safe to call from any thread. The decoder takes exactly one message (framing is the
// transport's job), never reads outside the span, allocates at most in proportion to
// its size, and on malformed input returns a DecodeError naming the offending bytes
// and the RFC error cause to answer with.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "stack/wire/error.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::wire {

namespace asap {

struct Registration {                 // 0x01
  PoolHandle pool_handle;
  PoolElement pool_element;
  bool operator==(const Registration&) const = default;
};
struct Deregistration {               // 0x02
  PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  bool operator==(const Deregistration&) const = default;
};
struct RegistrationResponse {         // 0x03
  bool reject = false;                // R flag
  PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  std::optional<OperationError> error;
  bool operator==(const RegistrationResponse&) const = default;
};
struct DeregistrationResponse {       // 0x04
  PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  std::optional<OperationError> error;
  bool operator==(const DeregistrationResponse&) const = default;
};
struct HandleResolution {             // 0x05
  PoolHandle pool_handle;
  std::optional<std::uint32_t> items;  // Handle Resolution Option (0x803f)
  bool operator==(const HandleResolution&) const = default;
};
struct HandleResolutionResponse {     // 0x06
  PoolHandle pool_handle;
  std::optional<Policy> overall_policy;  // present with PEs
  std::vector<PoolElement> pool_elements;
  std::optional<OperationError> error;   // instead of policy and PEs
  bool operator==(const HandleResolutionResponse&) const = default;
};
struct EndpointKeepAlive {            // 0x07
  bool home = false;                  // H flag
  std::uint32_t server_id = 0;
  PoolHandle pool_handle;
  std::optional<std::uint32_t> pe_identifier;  // RSPLIB addition
  bool operator==(const EndpointKeepAlive&) const = default;
};
struct EndpointKeepAliveAck {         // 0x08
  PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  bool operator==(const EndpointKeepAliveAck&) const = default;
};
struct EndpointUnreachable {          // 0x09
  PoolHandle pool_handle;
  std::uint32_t pe_identifier = 0;
  bool operator==(const EndpointUnreachable&) const = default;
};
struct ServerAnnounce {               // 0x0a
  std::uint32_t server_id = 0;
  std::vector<Transport> transports;
  bool operator==(const ServerAnnounce&) const = default;
};
struct Cookie {                       // 0x0b
  Bytes cookie;
  bool operator==(const Cookie&) const = default;
};
struct CookieEcho {                   // 0x0c
  Bytes cookie;
  bool operator==(const CookieEcho&) const = default;
};
struct BusinessCard {                 // 0x0d
  PoolHandle pool_handle;
  std::optional<Policy> policy;
  std::vector<PoolElement> pool_elements;
  bool operator==(const BusinessCard&) const = default;
};
struct Error {                        // 0x0e
  OperationError error;
  bool operator==(const Error&) const = default;
};

using Message = std::variant<Registration, Deregistration, RegistrationResponse,
                             DeregistrationResponse, HandleResolution, HandleResolutionResponse,
                             EndpointKeepAlive, EndpointKeepAliveAck, EndpointUnreachable,
                             ServerAnnounce, Cookie, CookieEcho, BusinessCard, Error>;

AsapType type_of(const Message& m);

}  // namespace asap

namespace enrp {

// Every ENRP message starts with the sender's and the receiver's server IDs
// (receiver 0: unknown or all).
struct Presence {                     // 0x01
  std::uint32_t sender = 0, receiver = 0;
  bool reply_required = false;        // R flag
  std::uint16_t pe_checksum = 0;
  std::optional<ServerInformation> server_information;
  bool operator==(const Presence&) const = default;
};
struct HandleTableRequest {           // 0x02
  std::uint32_t sender = 0, receiver = 0;
  bool own_children_only = false;     // W flag
  bool operator==(const HandleTableRequest&) const = default;
};
struct PoolEntry {
  PoolHandle pool_handle;
  std::vector<PoolElement> pool_elements;  // 1..n
  bool operator==(const PoolEntry&) const = default;
};
struct HandleTableResponse {          // 0x03
  std::uint32_t sender = 0, receiver = 0;
  bool reject = false;                // R flag
  bool more = false;                  // M flag
  std::vector<PoolEntry> pools;
  bool operator==(const HandleTableResponse&) const = default;
};
struct HandleUpdate {                 // 0x04
  std::uint32_t sender = 0, receiver = 0;
  bool takeover_suggested = false;    // T flag (RSPLIB)
  UpdateAction action = UpdateAction::add_pe;
  PoolHandle pool_handle;
  PoolElement pool_element;
  bool operator==(const HandleUpdate&) const = default;
};
struct ListRequest {                  // 0x05
  std::uint32_t sender = 0, receiver = 0;
  bool operator==(const ListRequest&) const = default;
};
struct ListResponse {                 // 0x06
  std::uint32_t sender = 0, receiver = 0;
  bool reject = false;                // R flag
  std::vector<ServerInformation> servers;
  bool operator==(const ListResponse&) const = default;
};
struct InitTakeover {                 // 0x07
  std::uint32_t sender = 0, receiver = 0;
  std::uint32_t target = 0;
  bool operator==(const InitTakeover&) const = default;
};
struct InitTakeoverAck {              // 0x08
  std::uint32_t sender = 0, receiver = 0;
  std::uint32_t target = 0;
  bool operator==(const InitTakeoverAck&) const = default;
};
struct TakeoverServer {               // 0x09
  std::uint32_t sender = 0, receiver = 0;
  std::uint32_t target = 0;
  bool operator==(const TakeoverServer&) const = default;
};
struct Error {                        // 0x0a
  std::uint32_t sender = 0, receiver = 0;
  OperationError error;
  bool operator==(const Error&) const = default;
};

using Message = std::variant<Presence, HandleTableRequest, HandleTableResponse, HandleUpdate,
                             ListRequest, ListResponse, InitTakeover, InitTakeoverAck,
                             TakeoverServer, Error>;

EnrpType type_of(const Message& m);

}  // namespace enrp

// A decoded message plus what the receiver must report although it accepted the
// message: the unknown parameters whose action bits say "skip and report" (each the
// whole offending TLV, for an Unrecognized Parameter cause).
template <class M>
struct Decoded {
  M message;
  std::vector<Bytes> unrecognized;
};

Result<Decoded<asap::Message>> decode_asap(std::span<const std::uint8_t> bytes);
Result<Decoded<enrp::Message>> decode_enrp(std::span<const std::uint8_t> bytes);

// Encoders append one message to `out`; every parameter padded, Message Length a
// multiple of 4. REQUIRES: the message fits 65535 bytes (checked: returns false and
// leaves `out` unchanged otherwise) and its transports hold the address counts their
// kinds allow.
bool encode(const asap::Message& m, Bytes& out);
bool encode(const enrp::Message& m, Bytes& out);
Bytes encode(const asap::Message& m);  // empty when it does not fit
Bytes encode(const enrp::Message& m);

// A Handle Resolution Response with an overall policy and PEs kept elsewhere (a registrar's
// handlespace), encoded without copying them into a message: the bytes encode() makes of
// the HandleResolutionResponse holding copies of them, each PE without its ASAP transport
// (a pool user needs its user transport only). The same REQUIRES and result as encode().
bool encode_resolution(const PoolHandle& pool_handle, const Policy& overall_policy,
                       std::span<const PoolElement* const> pool_elements, Bytes& out);

// One parameter as a TLV with its pad, as it would appear inside a message: the
// offending parameter an error cause carries (RFC 5354: Invalid Values, Inconsistent
// Pooling Policy, Inconsistent Transport Type). Empty when it does not encode.
Bytes encode_parameter(const Transport& t);
Bytes encode_parameter(const Policy& p);
Bytes encode_parameter(const PoolElement& pe);

// The Operation Error that answers a failed decode of `bytes` (the offending parameter
// or message as cause information); nullopt when the error says discard silently.
std::optional<OperationError> error_reply(const DecodeError& e,
                                          std::span<const std::uint8_t> bytes);

}  // namespace rserpool::wire
