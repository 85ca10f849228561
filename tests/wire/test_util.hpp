// Helpers of the wire tests: a tiny byte builder that frames TLVs and messages by the
// rules of wire-format.md §2.2 (written independently of the codec, so tests can sweep
// lengths without calling the encoder), protocol-generic decode/encode, hex printing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "stack/wire/messages.hpp"
#include "tests/wire/golden.hpp"

namespace wire_test {

namespace w = rserpool::wire;
using w::Bytes;

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes u16(std::uint16_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
inline Bytes u32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes hex(std::string_view h) { return w::testing::from_hex(h); }

inline std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// A TLV with Length = 4 + value.size() followed by zero padding to a multiple of 4.
inline Bytes tlv(std::uint16_t type, const Bytes& value) {
  Bytes out = cat({u16(type), u16(static_cast<std::uint16_t>(4 + value.size())), value});
  out.resize(pad4(out.size()), 0);
  return out;
}

// A message whose Length counts the header and the (already padded) body.
inline Bytes message(std::uint8_t type, std::uint8_t flags, const Bytes& body) {
  return cat({{type, flags}, u16(static_cast<std::uint16_t>(4 + body.size())), body});
}

// Adds `delta` to the big-endian u16 at `at`.
inline void bump16(Bytes& b, std::size_t at, int delta) {
  const int v = (b[at] << 8 | b[at + 1]) + delta;
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

inline std::string to_hex(std::span<const std::uint8_t> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i != 0) s += (i % 4 == 0) ? "  " : " ";
    s += digits[b[i] >> 4];
    s += digits[b[i] & 0xf];
  }
  return s;
}

using AnyMessage = std::variant<w::asap::Message, w::enrp::Message>;

struct AnyDecoded {
  bool ok = false;
  AnyMessage message;
  std::vector<Bytes> unrecognized;
  w::DecodeError error;
};

inline AnyDecoded decode_any(w::Protocol p, std::span<const std::uint8_t> b) {
  AnyDecoded out;
  if (p == w::Protocol::asap) {
    auto r = w::decode_asap(b);
    out.ok = r.ok();
    if (r) {
      out.message = std::move(r->message);
      out.unrecognized = std::move(r->unrecognized);
    } else {
      out.error = r.error();
    }
  } else {
    auto r = w::decode_enrp(b);
    out.ok = r.ok();
    if (r) {
      out.message = std::move(r->message);
      out.unrecognized = std::move(r->unrecognized);
    } else {
      out.error = r.error();
    }
  }
  return out;
}

inline Bytes encode_any(const AnyMessage& m) {
  return std::visit([](const auto& x) { return w::encode(x); }, m);
}

inline w::Protocol protocol_of(const AnyMessage& m) {
  return m.index() == 0 ? w::Protocol::asap : w::Protocol::enrp;
}

inline const w::testing::GoldenVector& golden(std::string_view name) {
  const auto* v = w::testing::find_golden(name);
  if (v == nullptr) std::abort();
  return *v;
}

}  // namespace wire_test
