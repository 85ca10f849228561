#include "stack/transport/framing.hpp"

#include "stack/transport/error.hpp"

namespace rserpool::transport {

std::uint16_t message_length(std::span<const std::uint8_t> message) {
  return static_cast<std::uint16_t>((message[2] << 8) | message[3]);
}

bool frameable(std::span<const std::uint8_t> message) {
  return message.size() >= kHeaderSize && message.size() <= kMaxMessageSize &&
         message_length(message) == message.size();
}

bool append_frame(bool ppid_prefix, std::uint32_t ppid, std::span<const std::uint8_t> message,
                  std::vector<std::uint8_t>& out) {
  if (!frameable(message)) return false;
  if (ppid_prefix) {
    out.push_back(static_cast<std::uint8_t>(ppid >> 24));
    out.push_back(static_cast<std::uint8_t>(ppid >> 16));
    out.push_back(static_cast<std::uint8_t>(ppid >> 8));
    out.push_back(static_cast<std::uint8_t>(ppid));
  }
  out.insert(out.end(), message.begin(), message.end());
  return true;
}

void Deframer::append(std::span<const std::uint8_t> bytes) {
  if (error_ || bytes.empty()) return;
  // Drop what was returned already before growing: the buffer holds at most one partial
  // frame plus one read's worth of bytes.
  if (pos_ > 0 && (pos_ == buffer_.size() || pos_ >= 65536)) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Deframer::Frame> Deframer::next() {
  if (error_) return std::nullopt;
  const std::size_t prefix = ppid_prefix_ ? kPpidSize : 0;
  const std::size_t avail = buffer_.size() - pos_;
  if (avail < prefix + kHeaderSize) return std::nullopt;
  const std::uint8_t* p = buffer_.data() + pos_;
  const std::size_t length = static_cast<std::size_t>((p[prefix + 2] << 8) | p[prefix + 3]);
  if (length < kHeaderSize) {
    error_ = ppid_prefix_ ? Errc::frame_too_short : Errc::bad_length;
    return std::nullopt;
  }
  if (avail < prefix + length) return std::nullopt;
  std::uint32_t ppid = implicit_ppid_;
  if (ppid_prefix_) {
    ppid = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  }
  Frame frame{ppid, std::span<const std::uint8_t>(p + prefix, length)};
  pos_ += prefix + length;
  return frame;
}

}  // namespace rserpool::transport
