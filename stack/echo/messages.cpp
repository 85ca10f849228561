// The echo protocol's codec (messages.hpp).
#include "stack/echo/messages.hpp"

#include <algorithm>
#include <string>

#include "stack/wire/fields.hpp"

namespace rserpool::echo {
namespace {

using wire::get_be;
using wire::put_be;

// The bytes of the fixed fields after the header.
std::size_t fields(MessageType t) {
  switch (t) {
    case MessageType::ping: return 8;
    case MessageType::pong: return 16;
    case MessageType::keepalive:
    case MessageType::keepalive_ack: return 0;
  }
  return 0;
}

bool has_data(MessageType t) { return t == MessageType::ping || t == MessageType::pong; }

}  // namespace

std::string_view name(MessageType t) {
  switch (t) {
    case MessageType::ping: return "PING";
    case MessageType::pong: return "PONG";
    case MessageType::keepalive: return "KEEPALIVE";
    case MessageType::keepalive_ack: return "KEEPALIVE_ACK";
  }
  return "?";
}

wire::Bytes encode(const Message& m) {
  const bool data = has_data(m.type);
  const std::size_t length = kHeaderSize + fields(m.type) + (data ? m.data.size() : 0);
  wire::Bytes out;
  out.reserve(length);
  put_be(out, static_cast<std::uint8_t>(m.type), 1);
  put_be(out, m.flags, 1);
  put_be(out, length, 2);
  if (m.type == MessageType::ping || m.type == MessageType::pong) put_be(out, m.message_no, 8);
  if (m.type == MessageType::pong) put_be(out, m.reply_no, 8);
  if (data) out.insert(out.end(), m.data.begin(), m.data.end());
  return out;
}

wire::Bytes encode(const Cookie& c) {
  wire::Bytes out(kCookieId.begin(), kCookieId.end());
  put_be(out, c.reply_no, 8);
  return out;
}

wire::Result<Message> decode_message(std::span<const std::uint8_t> bytes) {
  using wire::Errc;
  if (bytes.size() < kHeaderSize)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "echo header needs 4 bytes, got " + std::to_string(bytes.size()));
  const auto type = static_cast<std::uint8_t>(get_be(bytes, 0, 1));
  const auto length = static_cast<std::size_t>(get_be(bytes, 2, 2));
  if (type < 1 || type > 4)
    return wire::app_error(Errc::unknown_message_type, 0, 1,
                 "echo message type " + std::to_string(type) + " (1..4 are defined)");
  Message m;
  m.type = static_cast<MessageType>(type);
  m.flags = static_cast<std::uint8_t>(get_be(bytes, 1, 1));
  const std::size_t fixed = kHeaderSize + fields(m.type);
  if (length < fixed || (!has_data(m.type) && length != fixed))
    return wire::app_error(Errc::bad_message_length, 2, 2,
                 std::string(name(m.type)) + " Length " + std::to_string(length) +
                     (has_data(m.type) ? ", must be at least " : ", must be ") +
                     std::to_string(fixed));
  if (bytes.size() < length)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "echo Length " + std::to_string(length) + " but only " +
                     std::to_string(bytes.size()) + " bytes");
  if (bytes.size() > length)
    return wire::app_error(Errc::trailing_bytes, length, bytes.size() - length,
                 std::to_string(bytes.size() - length) + " bytes after the message");
  if (m.type == MessageType::ping || m.type == MessageType::pong) m.message_no = get_be(bytes, 4, 8);
  if (m.type == MessageType::pong) m.reply_no = get_be(bytes, 12, 8);
  m.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(fixed), bytes.end());
  return m;
}

wire::Result<Cookie> decode_cookie(std::span<const std::uint8_t> bytes) {
  using wire::Errc;
  if (bytes.size() < kCookieSize)
    return wire::app_error(Errc::truncated_message, 0, bytes.size(),
                 "echo cookie needs 16 bytes, got " + std::to_string(bytes.size()));
  if (bytes.size() > kCookieSize)
    return wire::app_error(Errc::trailing_bytes, kCookieSize, bytes.size() - kCookieSize,
                 std::to_string(bytes.size() - kCookieSize) + " bytes after the cookie");
  if (!std::equal(kCookieId.begin(), kCookieId.end(), bytes.begin()))
    return wire::app_error(Errc::invalid_value, 0, kCookieId.size(), "not an echo cookie (\"<PP-TD1>\")");
  return Cookie{get_be(bytes, 8, 8)};
}

}  // namespace rserpool::echo
