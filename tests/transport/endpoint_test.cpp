// Endpoint text, transport choices, the error category: pure parts of the interface.
#include <gtest/gtest.h>

#include "tests/transport/util.hpp"

namespace rserpool::transport {
namespace {

using testing::addr;

TEST(Endpoint, ParsesOneAddressWithPort) {
  std::string error;
  auto ep = parse_endpoint("127.0.0.1:3863", 9, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->addresses, std::vector<Address>{addr("127.0.0.1")});
  EXPECT_EQ(ep->port, 3863);
  EXPECT_EQ(ep->to_string(), "127.0.0.1:3863");
}

TEST(Endpoint, DefaultPort) {
  auto ep = parse_endpoint("10.0.0.1,10.0.1.1", 9901, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->addresses, (std::vector<Address>{addr("10.0.0.1"), addr("10.0.1.1")}));
  EXPECT_EQ(ep->port, 9901);
  EXPECT_EQ(ep->to_string(), "10.0.0.1,10.0.1.1:9901");
}

TEST(Endpoint, Ipv6InBracketsAndMixed) {
  auto ep = parse_endpoint("[::1]:3863", 9, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->addresses, std::vector<Address>{addr("::1")});
  EXPECT_EQ(ep->to_string(), "[::1]:3863");
  ep = parse_endpoint("[::1],127.0.0.1:9", 1, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->addresses, (std::vector<Address>{addr("::1"), addr("127.0.0.1")}));
  EXPECT_EQ(ep->port, 9);
  EXPECT_EQ(ep->to_string(), "[::1],127.0.0.1:9");
  ep = parse_endpoint("[2001:db8::1],[fd00::2]", 3863, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->addresses.size(), 2u);
}

TEST(Endpoint, MappedAddressesBecomeIpv4) {
  auto ep = parse_endpoint("[::ffff:127.0.0.1]:1", 9, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->addresses, std::vector<Address>{addr("127.0.0.1")});
}

TEST(Endpoint, WildcardAndPortZero) {
  auto ep = parse_endpoint("*:0", 9, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->addresses.empty());
  EXPECT_EQ(ep->port, 0);
  EXPECT_EQ(ep->to_string(), "*:0");
}

TEST(Endpoint, RejectsBadInput) {
  for (const char* bad : {"", ":3863", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                          "127.0.0.1:-1", "::1", "::1:3863", "[::1", "[zz::1]:3", "1.2.3",
                          "127.0.0.1,,127.0.0.2", "127.0.0.1,", "host.example:3863",
                          "127.0.0.1:3863:4", "[::1]x", "*,127.0.0.1"}) {
    std::string error;
    EXPECT_FALSE(parse_endpoint(bad, 9, &error)) << bad;
    EXPECT_NE(error.find("bad endpoint"), std::string::npos) << bad << ": " << error;
  }
  std::string error;
  parse_endpoint("::1", 9, &error);
  EXPECT_NE(error.find("brackets"), std::string::npos) << error;
}

TEST(Choice, ParsesAndNames) {
  EXPECT_EQ(parse_choice("auto"), Choice::automatic);
  EXPECT_EQ(parse_choice("tcp"), Choice::tcp);
  EXPECT_EQ(parse_choice("sctp"), Choice::sctp);
  EXPECT_FALSE(parse_choice("udp"));
  EXPECT_FALSE(parse_choice("SCTP"));
  EXPECT_EQ(name(Kind::tcp), "tcp");
  EXPECT_EQ(name(Kind::sctp), "sctp");
}

TEST(Choice, AutoFollowsTheKernelAndIsLogged) {
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_EQ(resolve(Choice::tcp), Kind::tcp);
  EXPECT_EQ(resolve(Choice::sctp), Kind::sctp);
  EXPECT_TRUE(lines.empty());  // explicit choices need no explanation
  const Kind k = resolve(Choice::automatic);
  set_log_sink(nullptr);
  EXPECT_EQ(k, sctp_available() ? Kind::sctp : Kind::tcp);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(sctp_available() ? "auto: sctp" : "auto: tcp (no kernel SCTP"),
            std::string::npos)
      << lines[0];
}

}  // namespace
}  // namespace rserpool::transport
