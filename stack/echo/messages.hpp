// The echo (ping-pong) protocol: RSPLIB's ping-pong service (PPID 33; message layout and
// cookie as RSPLIB's pingpongpackets.h has them) plus a keep-alive pair of our own for the
// session layer. Pure functions over byte spans, in the style of stack/wire: no I/O, no
// exceptions, never a read outside the span; malformed bytes give a wire::DecodeError.
// Thread-safe. docs/echo.md describes the service.
//
//   header:        u8 type | u8 flags | u16 length (the whole message, header included)
//   PING (1):      header | u64 message no | data (any bytes)
//   PONG (2):      header | u64 message no (the PING's) | u64 reply no | data (the PING's)
//   KEEPALIVE (3), KEEPALIVE_ACK (4): header only (ours; RSPLIB's ping-pong has none)
//   cookie:        8 bytes "<PP-TD1>" | u64 reply no (the PE's next reply number)
//                  (all big-endian)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "stack/wire/error.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::echo {

// On the wire; never renumber.
inline constexpr std::uint32_t kPpidEcho = 33;  // RSPLIB's PPID_PPP (formerly 0x29097602)

enum class MessageType : std::uint8_t {
  ping = 1,
  pong = 2,
  keepalive = 3,
  keepalive_ack = 4,
};
std::string_view name(MessageType t);  // "PING", ...; "?" for an unknown value

inline constexpr std::size_t kHeaderSize = 4;
inline constexpr std::size_t kCookieSize = 16;
inline constexpr std::string_view kCookieId = "<PP-TD1>";

struct Message {
  MessageType type = MessageType::ping;
  std::uint8_t flags = 0;        // none defined: sent as 0, ignored on receipt
  std::uint64_t message_no = 0;  // PING, PONG
  std::uint64_t reply_no = 0;    // PONG: the PE's count of replies before this one
  wire::Bytes data;              // PING, PONG
  bool operator==(const Message&) const = default;
};

// The state a PE sends as an ASAP Cookie: the number its next PONG carries.
struct Cookie {
  std::uint64_t reply_no = 0;
  bool operator==(const Cookie&) const = default;
};

wire::Bytes encode(const Message& m);
wire::Bytes encode(const Cookie& c);

// Exactly one message / cookie. Errors: truncated_message (fewer bytes than the header, its
// length or the type's fields), bad_message_length (a length below the type's fields, or
// data on a keep-alive), unknown_message_type, trailing_bytes (more bytes than the length or
// the cookie), invalid_value (a cookie without the "<PP-TD1>" identifier).
wire::Result<Message> decode_message(std::span<const std::uint8_t> bytes);
wire::Result<Cookie> decode_cookie(std::span<const std::uint8_t> bytes);

}  // namespace rserpool::echo
