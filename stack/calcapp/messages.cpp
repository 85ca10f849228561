#include "stack/calcapp/messages.hpp"

#include <string>

namespace rserpool::calcapp {
namespace {

void put(wire::Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

wire::DecodeError error(wire::Errc code, std::size_t offset, std::size_t length,
                        std::string detail) {
  return wire::DecodeError{code, offset, length, std::nullopt, std::move(detail)};
}

}  // namespace

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
  put(out, static_cast<std::uint8_t>(m.type), 1);
  put(out, m.flags, 1);
  put(out, kMessageSize, 2);
  put(out, m.job_id, 4);
  put(out, m.job_size, 8);
  put(out, m.completed, 8);
}

wire::Bytes encode(const Message& m) {
  wire::Bytes out;
  out.reserve(kMessageSize);
  encode(m, out);
  return out;
}

void encode(const Cookie& c, wire::Bytes& out) {
  put(out, c.job_id, 4);
  put(out, c.job_size, 8);
  put(out, c.completed, 8);
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
    return error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp header needs 4 bytes, got " + std::to_string(bytes.size()));
  const auto type = static_cast<std::uint8_t>(get(bytes, 0, 1));
  const auto length = static_cast<std::size_t>(get(bytes, 2, 2));
  if (type < 1 || type > 7)
    return error(Errc::unknown_message_type, 0, 1,
                 "CalcApp message type " + std::to_string(type) + " (1..7 are defined)");
  if (length != kMessageSize)
    return error(Errc::bad_message_length, 2, 2,
                 "CalcApp Length " + std::to_string(length) + ", must be 24");
  if (bytes.size() < kMessageSize)
    return error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp Length 24 but only " + std::to_string(bytes.size()) + " bytes");
  if (bytes.size() > kMessageSize)
    return error(Errc::trailing_bytes, kMessageSize, bytes.size() - kMessageSize,
                 std::to_string(bytes.size() - kMessageSize) + " bytes after the message");
  Message m;
  m.type = static_cast<MessageType>(type);
  m.flags = static_cast<std::uint8_t>(get(bytes, 1, 1));
  m.job_id = static_cast<std::uint32_t>(get(bytes, 4, 4));
  m.job_size = get(bytes, 8, 8);
  m.completed = get(bytes, 16, 8);
  if (m.completed > m.job_size)
    return error(Errc::invalid_value, 16, 8,
                 "Completed " + std::to_string(m.completed) + " above Job Size " +
                     std::to_string(m.job_size));
  return m;
}

wire::Result<Cookie> decode_cookie(std::span<const std::uint8_t> bytes) {
  using wire::Errc;
  if (bytes.size() < kCookieSize)
    return error(Errc::truncated_message, 0, bytes.size(),
                 "CalcApp cookie needs 20 bytes, got " + std::to_string(bytes.size()));
  if (bytes.size() > kCookieSize)
    return error(Errc::trailing_bytes, kCookieSize, bytes.size() - kCookieSize,
                 std::to_string(bytes.size() - kCookieSize) + " bytes after the cookie");
  Cookie c;
  c.job_id = static_cast<std::uint32_t>(get(bytes, 0, 4));
  c.job_size = get(bytes, 4, 8);
  c.completed = get(bytes, 12, 8);
  if (c.completed > c.job_size)
    return error(Errc::invalid_value, 12, 8,
                 "Completed " + std::to_string(c.completed) + " above Job Size " +
                     std::to_string(c.job_size));
  return c;
}

}  // namespace rserpool::calcapp
