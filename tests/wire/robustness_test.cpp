// Randomized robustness of the decoder (seeded, so every run checks the same cases):
// random bytes, random TLV structures and mutations of the golden vectors never crash
// (the sanitizer build catches out-of-bounds reads), fail with an error that points
// inside the input, and whatever decodes re-encodes into a message that decodes to the
// same value.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "tests/wire/golden.hpp"
#include "tests/wire/test_util.hpp"

namespace {

using namespace wire_test;  // NOLINT
using w::Protocol;

struct Stats {
  std::size_t cases = 0;
  std::size_t decoded = 0;
  std::size_t failures = 0;
  std::string first_failures;
};

// The properties; returns a description of the first violated one, or "".
std::string check(Protocol p, const Bytes& input) {
  const auto r = decode_any(p, input);
  if (!r.ok) {
    const auto& e = r.error;
    const int code = static_cast<int>(e.code);
    if (code < static_cast<int>(w::Errc::truncated_message) ||
        code > static_cast<int>(w::Errc::trailing_bytes))
      return "invalid error code " + std::to_string(code);
    if (e.offset > input.size() || e.length > input.size() - e.offset)
      return "error range [" + std::to_string(e.offset) + ", +" + std::to_string(e.length) +
             ") outside the input: " + e.message();
    const auto reply = w::error_reply(e, input);
    if (reply.has_value() != e.cause.has_value()) return "error_reply disagrees with cause";
    if (reply) {
      // The reply must itself be sendable.
      w::asap::Error err;
      err.error = *reply;
      if (w::encode(w::asap::Message(err)).empty()) return "error reply does not encode";
    }
    return "";
  }
  const Bytes again = encode_any(r.message);
  if (again.empty()) {
    // Only a message already at the size limit may grow past it (PLU 12 -> 16 bytes).
    if (input.size() + 64 < w::kMaxMessageSize) return "decoded message does not re-encode";
    return "";
  }
  if (again.size() % 4 != 0) return "re-encoding not a multiple of 4";
  if ((std::size_t{again[2]} << 8 | again[3]) != again.size())
    return "re-encoding has a wrong Message Length";
  const auto second = decode_any(p, again);
  if (!second.ok) return "re-encoding does not decode: " + second.error.message() +
                         "\n  re-encoded: " + to_hex(again);
  if (!(second.message == r.message))
    return "re-encoding decodes to a different message\n  re-encoded: " + to_hex(again);
  if (!second.unrecognized.empty()) return "re-encoding carries unknown parameters";
  if (encode_any(second.message) != again) return "encoding is not stable";
  return "";
}

void run(Stats& s, Protocol p, const Bytes& input) {
  ++s.cases;
  const std::string failure = check(p, input);
  if (decode_any(p, input).ok) ++s.decoded;
  if (failure.empty()) return;
  if (++s.failures <= 5) {
    std::ostringstream os;
    os << (p == Protocol::asap ? "ASAP " : "ENRP ") << failure << "\n  input: " << to_hex(input)
       << "\n";
    s.first_failures += os.str();
  }
}

std::uint32_t pick(std::mt19937& rng, std::uint32_t n) {  // [0, n)
  return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng);
}
std::uint8_t byte(std::mt19937& rng) { return static_cast<std::uint8_t>(pick(rng, 256)); }

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = byte(rng);
  return b;
}

void fix_length(Bytes& b) {
  if (b.size() >= 4 && b.size() <= 0xffff) set16(b, 2, static_cast<std::uint16_t>(b.size()));
}

// A random parameter: mostly known types with plausible bodies, nested up to `depth`.
Bytes random_tlv(std::mt19937& rng, int depth) {
  static const std::uint16_t kTypes[] = {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006,
                                         0x0007, 0x0008, 0x0009, 0x000a, 0x000b, 0x000c,
                                         0x000d, 0x000e, 0x000f, 0x803f, 0x0030, 0x4030,
                                         0x8030, 0xc030};
  const std::uint16_t type = kTypes[pick(rng, std::size(kTypes))];
  Bytes value;
  switch (type) {
    case 0x0001: value = random_bytes(rng, 4); break;
    case 0x0002: value = random_bytes(rng, 16); break;
    case 0x0003:
    case 0x0004:
    case 0x0005:
    case 0x0006:
    case 0x0007:
      value = cat({u16(static_cast<std::uint16_t>(pick(rng, 65536))),
                   u16(static_cast<std::uint16_t>(pick(rng, 3)))});
      if (type == 0x0003) value = cat({value, random_bytes(rng, 4)});
      for (std::uint32_t i = pick(rng, 3); i > 0; --i)
        value = cat({value, tlv(pick(rng, 2) ? 0x0001 : 0x0002,
                                random_bytes(rng, pick(rng, 2) ? 4 : 16))});
      break;
    case 0x0008: {
      static const std::uint32_t kPolicies[] = {1, 2, 3, 4, 5, 0x40000001, 0x40000002,
                                                0x40000003, 0x40000004, 0xb0001001,
                                                0xb0001002, 0xb0001003, 0xb0001004,
                                                0xb0002001, 0xb0002002, 0xb0002003, 6};
      value = u32(kPolicies[pick(rng, std::size(kPolicies))]);
      for (std::uint32_t i = pick(rng, 5); i > 0; --i) value = cat({value, u32(rng())});
      break;
    }
    case 0x000a:
      value = cat({u32(rng()), u32(rng()), u32(rng())});
      if (depth > 0)
        for (std::uint32_t i = pick(rng, 4); i > 0; --i)
          value = cat({value, random_tlv(rng, depth - 1)});
      break;
    case 0x000b:
      value = u32(rng());
      if (depth > 0) value = cat({value, random_tlv(rng, depth - 1)});
      break;
    case 0x000c:
      for (std::uint32_t i = pick(rng, 3); i > 0; --i)
        value = cat({value, tlv(static_cast<std::uint16_t>(pick(rng, 12)),
                                random_bytes(rng, pick(rng, 10)))});
      break;
    case 0x000f: value = random_bytes(rng, 2); break;
    case 0x000e:
    case 0x803f: value = random_bytes(rng, 4); break;
    default: value = random_bytes(rng, pick(rng, 12)); break;
  }
  if (pick(rng, 16) == 0) value = random_bytes(rng, pick(rng, 24));  // a wrong body
  return tlv(type, value);
}

TEST(Robustness, RandomBytes) {
  std::mt19937 rng(20240501);
  Stats s;
  for (int i = 0; i < 40000; ++i) {
    Bytes b = random_bytes(rng, pick(rng, 64));
    if (b.size() >= 1 && pick(rng, 4) != 0) b[0] = static_cast<std::uint8_t>(pick(rng, 17));
    if (pick(rng, 2) == 0) fix_length(b);
    run(s, pick(rng, 2) ? Protocol::asap : Protocol::enrp, b);
  }
  EXPECT_EQ(s.failures, 0u) << s.first_failures;
}

TEST(Robustness, RandomParameterStructures) {
  std::mt19937 rng(7);
  Stats s;
  for (int i = 0; i < 60000; ++i) {
    const Protocol p = pick(rng, 2) ? Protocol::asap : Protocol::enrp;
    const std::uint8_t type = static_cast<std::uint8_t>(1 + pick(rng, p == Protocol::asap ? 14 : 10));
    Bytes body;
    if (p == Protocol::enrp) body = cat({u32(rng()), u32(rng())});
    if ((p == Protocol::asap && (type == 0x07 || type == 0x0a)) ||
        (p == Protocol::enrp && type >= 0x04 && type != 0x05 && type != 0x06 && type != 0x0a))
      body = cat({body, u32(type == 0x04 && p == Protocol::enrp ? pick(rng, 3) << 16 : rng())});
    for (std::uint32_t n = pick(rng, 5); n > 0; --n) body = cat({body, random_tlv(rng, 2)});
    Bytes b = message(type, static_cast<std::uint8_t>(pick(rng, 4)), body);
    if (pick(rng, 8) == 0 && !b.empty()) b.resize(pick(rng, static_cast<std::uint32_t>(b.size())));
    run(s, p, b);
  }
  EXPECT_EQ(s.failures, 0u) << s.first_failures;
  EXPECT_GT(s.decoded, 100u) << "the generator should produce some valid messages";
}

TEST(Robustness, MutatedGoldenVectors) {
  std::mt19937 rng(42);
  const auto& vectors = w::testing::golden_vectors();
  std::vector<Bytes> originals;
  for (const auto& v : vectors) originals.push_back(w::testing::from_hex(v.hex));
  Stats s;
  for (int i = 0; i < 120000; ++i) {
    const std::size_t which = pick(rng, static_cast<std::uint32_t>(vectors.size()));
    Bytes b = originals[which];
    for (std::uint32_t m = 1 + pick(rng, 4); m > 0; --m) {
      const auto size = static_cast<std::uint32_t>(b.size());
      switch (pick(rng, 8)) {
        case 0:  // flip a bit
          if (size) b[pick(rng, size)] ^= static_cast<std::uint8_t>(1u << pick(rng, 8));
          break;
        case 1:  // overwrite a byte
          if (size) b[pick(rng, size)] = byte(rng);
          break;
        case 2:  // a Length or type field to an interesting value
          if (size >= 2) {
            static const std::uint16_t kValues[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 12, 20, 0xffff};
            const std::uint32_t at = pick(rng, size / 2) * 2;
            std::uint16_t v = kValues[pick(rng, std::size(kValues))];
            if (pick(rng, 3) == 0) v = static_cast<std::uint16_t>((b[at] << 8 | b[at + 1]) +
                                                                  (pick(rng, 2) ? 1 : -1));
            set16(b, at, v);
          }
          break;
        case 3:  // truncate
          b.resize(pick(rng, size + 1));
          break;
        case 4: {  // insert random bytes
          const Bytes extra = random_bytes(rng, 1 + pick(rng, 8));
          b.insert(b.begin() + pick(rng, size + 1), extra.begin(), extra.end());
          break;
        }
        case 5:  // delete a range
          if (size) {
            const std::uint32_t at = pick(rng, size);
            b.erase(b.begin() + at, b.begin() + at + 1 + pick(rng, std::min(8u, size - at)));
          }
          break;
        case 6:  // duplicate an aligned word group
          if (size >= 4) {
            const std::uint32_t at = pick(rng, size / 4) * 4;
            const std::uint32_t n = 4 * (1 + pick(rng, std::min(4u, (size - at) / 4)));
            const Bytes chunk(b.begin() + at, b.begin() + at + n);
            b.insert(b.begin() + at, chunk.begin(), chunk.end());
          }
          break;
        case 7: {  // splice in a parameter-aligned piece of another vector
          const Bytes& other = originals[pick(rng, static_cast<std::uint32_t>(originals.size()))];
          if (other.size() > 4) {
            const std::uint32_t from = 4 * (1 + pick(rng, static_cast<std::uint32_t>(other.size() / 4 - 1)));
            const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(
                4 * (1 + pick(rng, 6)), other.size() - from));
            b.insert(b.begin() + pick(rng, size / 4 + 1) * 4, other.begin() + from,
                     other.begin() + from + n);
          }
          break;
        }
      }
    }
    if (pick(rng, 2) == 0) fix_length(b);
    const Protocol p = pick(rng, 4) == 0
                           ? (vectors[which].protocol == Protocol::asap ? Protocol::enrp
                                                                        : Protocol::asap)
                           : vectors[which].protocol;
    run(s, p, b);
  }
  EXPECT_EQ(s.failures, 0u) << s.first_failures;
  // Many single mutations (a flipped bit in an ID or address) leave a valid message.
  EXPECT_GT(s.decoded, s.cases / 20) << "too few mutants decode: " << s.decoded;
}

TEST(Robustness, EveryGoldenVectorWithEveryByteReplaced) {
  // Exhaustive single-byte substitutions with a few values per position.
  Stats s;
  for (const auto& v : w::testing::golden_vectors()) {
    const Bytes g = w::testing::from_hex(v.hex);
    for (std::size_t at = 0; at < g.size(); ++at) {
      for (std::uint8_t x : {0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xc0, 0xff}) {
        Bytes b = g;
        b[at] = x;
        run(s, v.protocol, b);
      }
    }
  }
  EXPECT_EQ(s.failures, 0u) << s.first_failures;
}

}  // namespace
