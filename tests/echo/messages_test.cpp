// The echo codec: golden bytes written by hand from the layout in messages.hpp (RSPLIB's
// ping-pong packets), round trips, every truncation, wrong type and length, the cookie.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "stack/echo/messages.hpp"

namespace {

namespace echo = rserpool::echo;
using echo::MessageType;
using rserpool::wire::Bytes;
using rserpool::wire::Errc;

TEST(EchoMessage, GoldenBytes) {
  const Bytes ping = {0x01, 0x00, 0x00, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0x07, 'h', 'i'};
  EXPECT_EQ(echo::encode(echo::Message{MessageType::ping, 0, 7, 0, {'h', 'i'}}), ping);
  const Bytes pong = {0x02, 0x00, 0x00, 0x14, 0, 0, 0, 0, 0, 0, 0, 0x07,
                      0,    0,    0,    0,    0, 0, 0x01, 0x02};
  EXPECT_EQ(echo::encode(echo::Message{MessageType::pong, 0, 7, 0x102, {}}), pong);
  EXPECT_EQ(echo::encode(echo::Message{MessageType::keepalive, 0, 0, 0, {}}),
            (Bytes{0x03, 0x00, 0x00, 0x04}));
  EXPECT_EQ(echo::encode(echo::Message{MessageType::keepalive_ack, 0, 0, 0, {}}),
            (Bytes{0x04, 0x00, 0x00, 0x04}));
  EXPECT_EQ(echo::kPpidEcho, 33u);  // RSPLIB's PPID_PPP
}

TEST(EchoMessage, EveryTypeRoundTrips) {
  const std::vector<echo::Message> all = {
      {MessageType::ping, 0, 1, 0, {}},
      {MessageType::ping, 0, 0xffffffffffffffffULL, 0, {1, 2, 3}},
      {MessageType::pong, 0, 9, 8, {4, 5}},
      {MessageType::keepalive, 0, 0, 0, {}},
      {MessageType::keepalive_ack, 0x80, 0, 0, {}},
  };
  for (const auto& m : all) {
    const auto d = echo::decode_message(echo::encode(m));
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, m);
  }
}

TEST(EchoMessage, EveryTruncationRejected) {
  const Bytes pong = echo::encode(echo::Message{MessageType::pong, 0, 7, 3, {'x', 'y'}});
  for (std::size_t n = 0; n < pong.size(); ++n) {
    const auto d = echo::decode_message(std::span(pong).first(n));
    ASSERT_FALSE(d) << n;
    EXPECT_EQ(d.error().code, Errc::truncated_message) << n;
  }
}

TEST(EchoMessage, BadTypeLengthAndTrailing) {
  auto d = echo::decode_message(Bytes{0x05, 0, 0, 4});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::unknown_message_type);
  d = echo::decode_message(Bytes{0x01, 0, 0, 8, 0, 0, 0, 0});  // PING shorter than its number
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::bad_message_length);
  d = echo::decode_message(Bytes{0x03, 0, 0, 5, 0});  // data on a keep-alive
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::bad_message_length);
  d = echo::decode_message(Bytes{0x04, 0, 0, 4, 0});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::trailing_bytes);
}

TEST(EchoCookie, GoldenBytesRoundTripAndErrors) {
  const Bytes golden = {'<', 'P', 'P', '-', 'T', 'D', '1', '>', 0, 0, 0, 0, 0, 0, 0x01, 0x00};
  EXPECT_EQ(echo::encode(echo::Cookie{256}), golden);
  const auto c = echo::decode_cookie(golden);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reply_no, 256u);
  for (std::size_t n = 0; n < golden.size(); ++n) {
    const auto d = echo::decode_cookie(std::span(golden).first(n));
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::truncated_message);
  }
  Bytes longer = golden;
  longer.push_back(0);
  EXPECT_EQ(echo::decode_cookie(longer).error().code, Errc::trailing_bytes);
  Bytes other = golden;
  other[1] = 'Q';
  EXPECT_EQ(echo::decode_cookie(other).error().code, Errc::invalid_value);
}

}  // namespace
