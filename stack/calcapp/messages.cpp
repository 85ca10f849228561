// The CalcApp codec (messages.hpp).
#include "stack/calcapp/messages.hpp"

#include <string>

#include "stack/wire/fields.hpp"

namespace rserpool::calcapp {
using wire::get_be;
using wire::put_be;

std::string_view name(MessageType t) {
  switch (t) {
    case MessageType::request: return "REQUEST";
    case MessageType::accept: return "ACCEPT";
    case MessageType::reject: return "REJECT";
    case MessageType::abort: return "ABORT";
    case MessageType::complete: return "COMPLETE";
    case MessageType::keepalive: return "KEEPALIVE";
    case MessageType::keepalive_ack: return "KEEPALIVE_ACK";
  }
  return "?";
}

void encode(const Message& m, wire::Bytes& out) {
  put_be(out, static_cast<std::uint8_t>(m.type), 1);
  put_be(out, m.flags, 1);
  put_be(out, kMessageSize, 2);
  put_be(out, m.job_id, 4);
  put_be(out, m.job_size, 8);
  put_be(out, m.completed, 8);
}

wire::Bytes encode(const Message& m) {
  wire::Bytes out;
  out.reserve(kMessageSize);
  encode(m, out);
  return out;
}

void encode(const Cookie& c, wire::Bytes& out) {
  put_be(out, c.job_id, 4);
  put_be(out, c.job_size, 8);
  put_be(out, c.completed, 8);
}

wire::Bytes encode(const Cookie& c) {
  wire::Bytes out;
  out.reserve(kCookieSize);
  encode(c, out);
  return out;
}

wire::Result<Message> decode_message(std::span<const std::uint8_t> bytes) {
  using wire::Errc;
  if (bytes.size() < 4)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp header needs 4 bytes, got " + std::to_string(bytes.size()));
  const auto type = static_cast<std::uint8_t>(get_be(bytes, 0, 1));
  const auto length = static_cast<std::size_t>(get_be(bytes, 2, 2));
  if (type < 1 || type > 7)
    return wire::app_error(Errc::unknown_message_type, 0, 1,
                 "CalcApp message type " + std::to_string(type) + " (1..7 are defined)");
  if (length != kMessageSize)
    return wire::app_error(Errc::bad_message_length, 2, 2,
                 "CalcApp Length " + std::to_string(length) + ", must be 24");
  if (bytes.size() < kMessageSize)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp Length 24 but only " + std::to_string(bytes.size()) + " bytes");
  if (bytes.size() > kMessageSize)
    return wire::app_error(Errc::trailing_bytes, kMessageSize, bytes.size() - kMessageSize,
                 std::to_string(bytes.size() - kMessageSize) + " bytes after the message");
  Message m;
  m.type = static_cast<MessageType>(type);
  m.flags = static_cast<std::uint8_t>(get_be(bytes, 1, 1));
  m.job_id = static_cast<std::uint32_t>(get_be(bytes, 4, 4));
  m.job_size = get_be(bytes, 8, 8);
  m.completed = get_be(bytes, 16, 8);
  if (m.completed > m.job_size)
    return wire::app_error(Errc::invalid_value, 16, 8,
                 "Completed " + std::to_string(m.completed) + " above Job Size " +
                     std::to_string(m.job_size));
  return m;
}

wire::Result<Cookie> decode_cookie(std::span<const std::uint8_t> bytes) {
  using wire::Errc;
  if (bytes.size() < kCookieSize)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp cookie needs 20 bytes, got " + std::to_string(bytes.size()));
  if (bytes.size() > kCookieSize)
    return wire::app_error(Errc::trailing_bytes, kCookieSize, bytes.size() - kCookieSize,
                 std::to_string(bytes.size() - kCookieSize) + " bytes after the cookie");
  Cookie c;
  c.job_id = static_cast<std::uint32_t>(get_be(bytes, 0, 4));
  c.job_size = get_be(bytes, 4, 8);
  c.completed = get_be(bytes, 12, 8);
  if (c.completed > c.job_size)
    return wire::app_error(Errc::invalid_value, 12, 8,
                 "Completed " + std::to_string(c.completed) + " above Job Size " +
                     std::to_string(c.job_size));
  return c;
}

}  // namespace rserpool::calcapp
