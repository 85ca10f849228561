// Fixed-layout fields for the application protocols beside ASAP and ENRP (CalcApp, echo):
// big-endian unsigned integers appended to a buffer or read at an offset the caller has
// checked, and a DecodeError without an RFC cause. Header-only, pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "stack/wire/error.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::wire {

// Appends the low `bytes` bytes of v, most significant first.
inline void put_be(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// REQUIRES: at + bytes <= b.size().
inline std::uint64_t get_be(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

// An application protocol's decode error: no RFC 5352 cause to answer with.
inline DecodeError app_error(Errc code, std::size_t offset, std::size_t length,
                             std::string detail) {
  return DecodeError{code, offset, length, std::nullopt, std::move(detail)};
}

}  // namespace rserpool::wire
