// EchoService: the PE side of the echo service on the session layer (pe_service.hpp).
#include "stack/echo/pe_service.hpp"

#include <cassert>
#include <string>
#include <utility>

#include "stack/common/events.hpp"
#include "stack/wire/constants.hpp"

namespace rserpool::echo {

namespace common = rsplab::common;

namespace {
// A count as an event field.
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }
}  // namespace

EchoService::EchoService(ServiceConfig config)
    : config_(config), host_(config_.session, *this, counters_) {
  attach(host_);
  assert(config_.cookie_every >= 1);
}

bool EchoService::data(SessionId s, std::span<const std::uint8_t> bytes, TimePoint,
                       ServiceActions& out) {
  const auto m = decode_message(bytes);
  if (!m) {
    host_.discard(s, kPpidEcho, "echo: " + m.error().message(), out);
    return false;
  }
  switch (m->type) {
    case MessageType::ping: {
      Count& c = counts_[s];
      c.pinged = true;
      host_.send(s, encode(Message{MessageType::pong, 0, m->message_no, c.replies, m->data}), out);
      ++c.replies;
      ++counters_.pings;
      if (++c.since_cookie >= config_.cookie_every) {
        c.since_cookie = 0;
        host_.send_cookie(s, encode(Cookie{c.replies}), out);
      }
      return true;
    }
    case MessageType::keepalive:
      host_.send(s, encode(Message{MessageType::keepalive_ack, 0, 0, 0, {}}), out);
      return true;
    case MessageType::keepalive_ack:
      return true;  // heard: that is all it is for
    case MessageType::pong:
      break;
  }
  host_.discard(s, kPpidEcho, "a PE does not take " + std::string(echo::name(m->type)), out);
  return true;
}

void EchoService::cookie_echo(SessionId s, std::span<const std::uint8_t> state, TimePoint,
                              ServiceActions& out) {
  const auto cookie = decode_cookie(state);
  if (!cookie)
    return host_.discard(s, wire::kPpidAsap, "Cookie Echo: " + cookie.error().message(), out);
  Count& c = counts_[s];
  if (c.pinged) return host_.discard(s, wire::kPpidAsap, "COOKIE_ECHO after a PING", out);
  c.replies = cookie->reply_no;
  c.resumed_from = cookie->reply_no;
  ++counters_.resumed;
  out.events.push_back(common::EchoResumedEvent{i64(s), i64(c.replies)});
}

wire::Bytes EchoService::keepalive(SessionId) {
  return encode(Message{MessageType::keepalive, 0, 0, 0, {}});
}

bool EchoService::has_state(SessionId s) const {
  const auto it = counts_.find(s);
  return it != counts_.end() && it->second.replies > 0;
}

void EchoService::send_state_cookie(SessionId s, ServiceActions& out) {
  if (const auto it = counts_.find(s); it != counts_.end())
    host_.send_cookie(s, encode(Cookie{it->second.replies}), out);
}

void EchoService::ended(SessionId s, std::string_view cause, TimePoint, ServiceActions& out) {
  const auto it = counts_.find(s);
  if (it == counts_.end()) return;
  const Count c = it->second;
  counts_.erase(it);
  out.events.push_back(common::EchoEndedEvent{
      i64(s), i64(c.replies),
      c.resumed_from ? std::optional(i64(*c.resumed_from)) : std::nullopt, std::string(cause)});
}

}  // namespace rserpool::echo
