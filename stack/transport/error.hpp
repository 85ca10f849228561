// Error codes of the transport layer (framing, send refusals, clean peer close), as a
// std::error_code category of their own. Socket errors arrive as std::system_category
// (errno values). Pure: no Asio, no lksctp.
#pragma once

#include <string>
#include <system_error>

namespace rserpool::transport {

enum class Errc {
  // Values start at 1 (0 is success). Local only, never on the wire.
  bad_length = 1,     // a frame's Message Length is below 4 (the header alone)
  frame_too_short,    // a PPID-prefixed frame whose message is shorter than its header
  message_too_large,  // a received SCTP message over 65535 bytes
  peer_closed,        // the peer closed the connection (TCP FIN, SCTP SHUTDOWN)
  no_sctp,            // the kernel has no SCTP
  no_address,         // an endpoint without addresses where one is needed
  timed_out,          // a connection attempt took too long
};

const std::error_category& transport_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), transport_category()};
}

}  // namespace rserpool::transport

template <>
struct std::is_error_code_enum<rserpool::transport::Errc> : std::true_type {};
