// The CalcApp message and cookie codecs: golden bytes written by hand from behaviour.md's
// layout, round trips, every truncation, wrong lengths and types, seeded random bytes.
#include "stack/calcapp/messages.hpp"

#include <gtest/gtest.h>

#include "stack/handlespace/rng.hpp"

namespace rserpool::calcapp {
namespace {

using wire::Bytes;
using wire::Errc;

// REQUEST, job 0x01020304, size 5,000,000 (0x4c4b40), completed 1,000,000 (0xf4240).
const Bytes kRequest = {
    0x01, 0x00, 0x00, 0x18,                          // type 1, flags 0, length 24
    0x01, 0x02, 0x03, 0x04,                          // job id
    0x00, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x4b, 0x40,  // job size
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,  // completed
};
const Message kRequestMsg{MessageType::request, 0, 0x01020304, 5'000'000, 1'000'000};

// Cookie: job 7, size 2^40 + 1, completed 2^33.
const Bytes kCookie = {
    0x00, 0x00, 0x00, 0x07,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
};
const Cookie kCookieVal{7, (std::uint64_t{1} << 40) + 1, std::uint64_t{1} << 33};

TEST(CalcAppMessage, GoldenBytes) {
  EXPECT_EQ(encode(kRequestMsg), kRequest);
  const auto m = decode_message(kRequest);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*m, kRequestMsg);
}

TEST(CalcAppMessage, EveryTypeRoundTrips) {
  for (int t = 1; t <= 7; ++t) {
    const Message m{static_cast<MessageType>(t), static_cast<std::uint8_t>(t * 17),
                    0xffffffffu - static_cast<std::uint32_t>(t), ~std::uint64_t{0} - 5,
                    static_cast<std::uint64_t>(t)};
    const Bytes b = encode(m);
    ASSERT_EQ(b.size(), kMessageSize);
    EXPECT_EQ(b[0], t);
    const auto d = decode_message(b);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, m);
    EXPECT_EQ(encode(*d), b);
    EXPECT_NE(name(m.type), "?");
  }
  EXPECT_EQ(name(MessageType::keepalive_ack), "KEEPALIVE_ACK");
  EXPECT_EQ(name(static_cast<MessageType>(9)), "?");
}

TEST(CalcAppMessage, EveryTruncationRejected) {
  for (std::size_t n = 0; n < kRequest.size(); ++n) {
    const auto d = decode_message(std::span(kRequest).first(n));
    ASSERT_FALSE(d) << n;
    EXPECT_EQ(d.error().code, Errc::truncated_message) << n;
    EXPECT_FALSE(d.error().cause);
    EXPECT_LE(d.error().offset + d.error().length, n);
  }
}

TEST(CalcAppMessage, BadLengthTypeTrailingAndValue) {
  Bytes b = kRequest;
  b[3] = 0x14;  // length 20
  auto d = decode_message(b);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::bad_message_length);
  EXPECT_EQ(d.error().message(), "bad message length at byte 2: CalcApp Length 20, must be 24");

  for (std::uint8_t t : {0, 8, 255}) {
    b = kRequest;
    b[0] = t;
    d = decode_message(b);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::unknown_message_type);
  }
  EXPECT_EQ(d.error().message(),
            "unknown message type at byte 0: CalcApp message type 255 (1..7 are defined)");

  b = kRequest;
  b.push_back(0);
  d = decode_message(b);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::trailing_bytes);
  EXPECT_EQ(d.error().offset, 24u);

  d = decode_message(encode(Message{MessageType::complete, 0, 1, 10, 11}));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::invalid_value);
  EXPECT_EQ(d.error().message(), "invalid value at byte 16: Completed 11 above Job Size 10");

  EXPECT_EQ(decode_message({}).error().message(),
            "truncated message at byte 0: CalcApp header needs 4 bytes, got 0");
  EXPECT_EQ(decode_message(std::span(kRequest).first(10)).error().message(),
            "truncated message at byte 0: CalcApp Length 24 but only 10 bytes");
}

TEST(CalcAppMessage, FlagsKept) {
  Bytes b = kRequest;
  b[1] = 0xa5;
  const auto d = decode_message(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->flags, 0xa5);
  EXPECT_EQ(encode(*d), b);
}

TEST(CalcAppCookie, GoldenBytesAndRoundTrip) {
  EXPECT_EQ(encode(kCookieVal), kCookie);
  const auto c = decode_cookie(kCookie);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, kCookieVal);
  const Cookie zero{};
  EXPECT_EQ(*decode_cookie(encode(zero)), zero);
  const Cookie done{0xffffffffu, ~std::uint64_t{0}, ~std::uint64_t{0}};
  EXPECT_EQ(*decode_cookie(encode(done)), done);
}

TEST(CalcAppCookie, TruncationsTrailingAndValue) {
  for (std::size_t n = 0; n < kCookie.size(); ++n) {
    const auto c = decode_cookie(std::span(kCookie).first(n));
    ASSERT_FALSE(c) << n;
    EXPECT_EQ(c.error().code, Errc::truncated_message);
  }
  Bytes b = kCookie;
  b.push_back(1);
  EXPECT_EQ(decode_cookie(b).error().code, Errc::trailing_bytes);
  const auto c = decode_cookie(encode(Cookie{1, 5, 6}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::invalid_value);
  EXPECT_EQ(c.error().offset, 12u);
}

// Seeded random and mutated bytes: never a crash (the sanitizer build watches), errors
// inside the buffer, and whatever decodes re-encodes to the same bytes.
TEST(CalcAppMessage, RandomBytes) {
  handlespace::Rng rng(34);
  std::size_t decoded = 0;
  for (int i = 0; i < 50'000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(rng.below(40));
      for (auto& x : b) x = static_cast<std::uint8_t>(rng.next());
    } else {
      b = i % 4 == 1 ? kRequest : kCookie;
      const auto flips = 1 + rng.below(3);
      for (std::uint64_t k = 0; k < flips; ++k)
        b[rng.below(b.size())] ^= static_cast<std::uint8_t>(1 + rng.below(255));
      if (rng.below(4) == 0) b.resize(rng.below(b.size() + 2));
    }
    if (const auto m = decode_message(b)) {
      ++decoded;
      EXPECT_EQ(encode(*m), b);
    } else {
      EXPECT_LE(m.error().offset + m.error().length, b.size());
    }
    if (const auto c = decode_cookie(b)) {
      ++decoded;
      EXPECT_EQ(encode(*c), b);
    } else {
      EXPECT_LE(c.error().offset + c.error().length, b.size());
    }
  }
  EXPECT_GT(decoded, 1000u);  // the mutations do reach the success paths
}

}  // namespace
}  // namespace rserpool::calcapp
