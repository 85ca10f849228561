// The TCP mapping's framing (docs/tcp-mapping.md): each frame is one RSerPool message,
// delimited by its own Message Length (bytes 2-3 of the message, the exact byte count,
// header included); with `ppid_prefix` a 4-byte PPID (network byte order) precedes each
// message. Pure: no I/O, no Asio; one owner, no locks.
//
//   bytes from the stream ──append()──► Deframer ──next()──► {ppid, message} ...
//
// A receiver cannot resynchronize a byte stream: the first bad Length is an error that
// stays, and the connection is to be closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace rserpool::transport {

inline constexpr std::size_t kHeaderSize = 4;         // Type, Flags, Message Length
inline constexpr std::size_t kPpidSize = 4;           // the optional prefix
inline constexpr std::size_t kMaxMessageSize = 65535; // Message Length is 16 bits

// The Message Length field of `message` (bytes 2-3, big-endian).
// REQUIRES: message.size() >= 4.
std::uint16_t message_length(std::span<const std::uint8_t> message);

// Whether `message` can be framed: at least 4 bytes, at most 65535, and its Message Length
// equals its size (the receiver frames by that field).
bool frameable(std::span<const std::uint8_t> message);

// Appends one frame (PPID prefix when `ppid_prefix`) to `out`. false (nothing appended)
// when !frameable(message).
bool append_frame(bool ppid_prefix, std::uint32_t ppid, std::span<const std::uint8_t> message,
                  std::vector<std::uint8_t>& out);

class Deframer {
 public:
  struct Frame {
    std::uint32_t ppid;                      // the prefix, or the implicit PPID
    std::span<const std::uint8_t> message;   // valid until the next append()
  };

  explicit Deframer(bool ppid_prefix, std::uint32_t implicit_ppid = 0)
      : ppid_prefix_(ppid_prefix), implicit_ppid_(implicit_ppid) {}

  // Appends bytes as they came from the stream. Ignored once in error.
  void append(std::span<const std::uint8_t> bytes);

  // The next whole frame, or nullopt when more bytes are needed or on error (`error()`).
  std::optional<Frame> next();

  // Errc::bad_length / Errc::frame_too_short once a frame was bad; sticky.
  std::error_code error() const { return error_; }
  // Bytes received but not yet returned as frames (a partial frame at the end).
  std::size_t buffered() const { return buffer_.size() - pos_; }
  bool ppid_prefix() const { return ppid_prefix_; }

 private:
  bool ppid_prefix_;
  std::uint32_t implicit_ppid_;
  std::vector<std::uint8_t> buffer_;
  std::size_t pos_ = 0;  // start of the first unreturned byte
  std::error_code error_;
};

}  // namespace rserpool::transport
