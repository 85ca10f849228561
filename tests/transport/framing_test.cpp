// The TCP mapping's deframer without sockets: golden messages split at every byte boundary,
// several frames per read, bad lengths, the PPID prefix, frames refused on the way out.
#include <gtest/gtest.h>

#include <random>

#include "stack/transport/error.hpp"
#include "stack/transport/framing.hpp"
#include "tests/transport/util.hpp"
#include "tests/wire/golden.hpp"

namespace rserpool::transport {
namespace {

using testing::Bytes;
using testing::make_message;

struct Expected {
  std::uint32_t ppid;
  Bytes message;
};

// Every golden message (ASAP with PPID 11, ENRP with 12), plus a 65535-byte one.
std::vector<Expected> golden_stream_messages() {
  std::vector<Expected> out;
  for (const auto& v : wire::testing::golden_vectors()) {
    Bytes b = wire::testing::golden_bytes(v);
    out.push_back({v.protocol == wire::Protocol::enrp ? 12u : 11u, std::move(b)});
  }
  out.push_back({0x12345678u, make_message(kMaxMessageSize, 0x42)});
  return out;
}

Bytes encode_all(const std::vector<Expected>& messages, bool prefix) {
  Bytes stream;
  for (const auto& m : messages) {
    EXPECT_TRUE(append_frame(prefix, m.ppid, m.message, stream));
  }
  return stream;
}

// Feeds `stream` in the pieces that `cuts` (ascending offsets) make and checks the frames.
void expect_frames(const Bytes& stream, const std::vector<std::size_t>& cuts, bool prefix,
                   const std::vector<Expected>& expected, std::uint32_t implicit_ppid) {
  Deframer d(prefix, implicit_ppid);
  std::size_t got = 0, from = 0;
  auto drain = [&] {
    while (auto f = d.next()) {
      ASSERT_LT(got, expected.size());
      EXPECT_EQ(f->ppid, prefix ? expected[got].ppid : implicit_ppid);
      ASSERT_TRUE(std::equal(f->message.begin(), f->message.end(),
                             expected[got].message.begin(), expected[got].message.end()))
          << "frame " << got;
      ++got;
    }
    ASSERT_FALSE(d.error()) << d.error().message();
  };
  for (std::size_t cut : cuts) {
    d.append(std::span<const std::uint8_t>(stream.data() + from, cut - from));
    from = cut;
    drain();
  }
  d.append(std::span<const std::uint8_t>(stream.data() + from, stream.size() - from));
  drain();
  EXPECT_EQ(got, expected.size());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Framing, GoldenMessagesAreFrameable) {
  for (const auto& v : wire::testing::golden_vectors()) {
    EXPECT_TRUE(frameable(wire::testing::golden_bytes(v))) << v.name;
  }
}

TEST(Framing, EveryTwoWaySplitOfTheGoldenStream) {
  const auto messages = golden_stream_messages();
  for (bool prefix : {false, true}) {
    const Bytes stream = encode_all(messages, prefix);
    // Each cut position once; the 65535-byte tail is covered by the byte-wise test below.
    const std::size_t limit = stream.size() - kMaxMessageSize + 64;
    for (std::size_t cut = 0; cut <= limit; ++cut) {
      expect_frames(stream, {cut}, prefix, messages, 11);
      if (::testing::Test::HasFailure()) {
        FAIL() << "split at " << cut << (prefix ? " (PPID prefix)" : "");
      }
    }
  }
}

TEST(Framing, ByteByByteAndRandomChunks) {
  const auto messages = golden_stream_messages();
  std::mt19937 rng(42);
  for (bool prefix : {false, true}) {
    const Bytes stream = encode_all(messages, prefix);
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    expect_frames(stream, every, prefix, messages, 12);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::size_t> cuts;
      std::size_t at = 0;
      while (true) {
        at += 1 + rng() % (round % 2 ? 7000 : 97);
        if (at >= stream.size()) break;
        cuts.push_back(at);
      }
      expect_frames(stream, cuts, prefix, messages, 12);
    }
  }
}

TEST(Framing, SeveralFramesInOneRead) {
  const auto messages = golden_stream_messages();
  const Bytes stream = encode_all(messages, true);
  Deframer d(true);
  d.append(stream);
  std::size_t n = 0;
  while (d.next()) ++n;
  EXPECT_EQ(n, messages.size());
  EXPECT_FALSE(d.error());
}

TEST(Framing, ImplicitPpidWithoutPrefix) {
  Deframer d(false, 12);
  const Bytes m = make_message(8);
  d.append(m);
  auto f = d.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->ppid, 12u);
  EXPECT_EQ(f->message.size(), 8u);
  EXPECT_FALSE(d.next());
}

TEST(Framing, PrefixIsBigEndian) {
  Bytes out;
  ASSERT_TRUE(append_frame(true, 0x0000000b, make_message(4), out));
  EXPECT_EQ(out, (Bytes{0, 0, 0, 0x0b, 1, 0, 0, 4}));
}

TEST(Framing, PartialHeaderWaits) {
  for (bool prefix : {false, true}) {
    Deframer d(prefix);
    const Bytes b{0, 0, 0, 11, 1, 0};
    d.append(std::span<const std::uint8_t>(b.data(), prefix ? 7u - 1 : 3u));
    EXPECT_FALSE(d.next());
    EXPECT_FALSE(d.error());
  }
}

TEST(Framing, LengthBelowFourIsAnErrorThatStays) {
  for (std::uint8_t length = 0; length < 4; ++length) {
    Deframer d(false);
    Bytes stream = make_message(8);
    const Bytes bad{1, 0, 0, length, 9, 9, 9, 9};
    stream.insert(stream.end(), bad.begin(), bad.end());
    d.append(stream);
    EXPECT_TRUE(d.next());  // the good frame before it
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), Errc::bad_length);
    d.append(make_message(4));  // no resynchronization
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), Errc::bad_length);
  }
}

TEST(Framing, PrefixedFrameTooShort) {
  for (std::uint8_t length = 0; length < 4; ++length) {
    Deframer d(true);
    d.append(Bytes{0, 0, 0, 11, 1, 0, 0, length});
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), Errc::frame_too_short);
    EXPECT_NE(d.error().message().find("PPID"), std::string::npos);
  }
}

TEST(Framing, LengthIsExactNotPadded) {
  // A Length of 5 frames exactly 5 bytes; the next frame starts right after.
  Deframer d(false);
  Bytes stream{1, 0, 0, 5, 0xaa};
  const Bytes next = make_message(4, 2);
  stream.insert(stream.end(), next.begin(), next.end());
  d.append(stream);
  auto a = d.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->message.size(), 5u);
  auto b = d.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->message[0], 2);
}

TEST(Framing, SendSideRefusals) {
  Bytes out;
  EXPECT_FALSE(append_frame(false, 0, Bytes{1, 0, 0}, out));               // < 4 bytes
  EXPECT_FALSE(append_frame(false, 0, Bytes{1, 0, 0, 8, 0, 0, 0}, out));   // Length 8, 7 bytes
  Bytes big(kMaxMessageSize + 1, 0);
  EXPECT_FALSE(append_frame(true, 0, big, out));                            // > 65535
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(append_frame(true, 11, make_message(kMaxMessageSize), out));
  EXPECT_EQ(out.size(), kMaxMessageSize + kPpidSize);
}

TEST(Framing, ErrorCategory) {
  const std::error_code ec = Errc::bad_length;
  EXPECT_STREQ(ec.category().name(), "rserpool.transport");
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(std::error_code(Errc::peer_closed).message(), "closed by the peer");
}

}  // namespace
}  // namespace rserpool::transport
