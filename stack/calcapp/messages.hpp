// The CalcApp protocol (behaviour.md, "CalcApp"): the 24-byte message PUs and PEs exchange
// (PPID 34, wire::kPpidCalcApp) and the 20-byte state a PE hands its PU inside an ASAP
// Cookie parameter. Pure functions over byte spans, in the style of stack/wire: no I/O, no
// exceptions, never a read outside the span; malformed bytes give a wire::DecodeError.
// Thread-safe.
//
//   message:  u8 type | u8 flags | u16 length (= 24) | u32 job id | u64 job size | u64 completed
//   cookie:   u32 job id | u64 job size | u64 completed          (all big-endian)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "stack/wire/error.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::calcapp {

// On the wire; never renumber.
enum class MessageType : std::uint8_t {
  request = 1,
  accept = 2,
  reject = 3,
  abort = 4,
  complete = 5,
  keepalive = 6,
  keepalive_ack = 7,
};
std::string_view name(MessageType t);  // "REQUEST", ...; "?" for an unknown value

inline constexpr std::size_t kMessageSize = 24;
inline constexpr std::size_t kCookieSize = 20;

struct Message {
  MessageType type = MessageType::request;
  std::uint8_t flags = 0;  // none defined: sent as 0, ignored on receipt
  std::uint32_t job_id = 0;
  std::uint64_t job_size = 0;   // calculations
  std::uint64_t completed = 0;  // calculations done so far; <= job_size
  bool operator==(const Message&) const = default;
};

// The state a PE sends as an ASAP Cookie and a new PE resumes from after a failover.
struct Cookie {
  std::uint32_t job_id = 0;
  std::uint64_t job_size = 0;
  std::uint64_t completed = 0;  // <= job_size
  bool operator==(const Cookie&) const = default;
};

// Encoders append (24 and 20 bytes).
void encode(const Message& m, wire::Bytes& out);
wire::Bytes encode(const Message& m);
void encode(const Cookie& c, wire::Bytes& out);
wire::Bytes encode(const Cookie& c);

// Exactly one message / cookie. Errors: truncated_message (fewer bytes than the header or
// its length), bad_message_length (length field not 24), unknown_message_type,
// trailing_bytes (more bytes than one message or cookie), invalid_value (completed above
// the job size). DecodeError::cause is always nullopt: CalcApp has no error causes.
wire::Result<Message> decode_message(std::span<const std::uint8_t> bytes);
wire::Result<Cookie> decode_cookie(std::span<const std::uint8_t> bytes);

}  // namespace rserpool::calcapp
