// Connections that leave from a given local address (a multi-homed site's PE or PU, `--local`)
// share the kernel's ephemeral ports by their four-tuples: a site of 10,000 PUs and 3,000 PEs
// needs more such connections than the range has ports. Needs root and `ip netns` (label
// netns): the range is made 8 ports wide in a network namespace of the test's own.
#include <gtest/gtest.h>

#include <set>

#include "tests/transport/util.hpp"

namespace rserpool::transport {
namespace {

using namespace testing;

int sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

TEST(TcpPorts, ConnectionsFromALocalAddressOutnumberTheEphemeralPorts) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
  const std::string ns = "rsplab-ports-" + std::to_string(::getpid());
  if (sh("ip netns add " + ns) != 0) GTEST_SKIP() << "ip netns add fails here";
  struct Remove {
    std::string ns;
    ~Remove() { sh("ip netns del " + ns); }
  } remove{ns};
  ASSERT_EQ(sh("ip -n " + ns + " link set lo up && ip netns exec " + ns +
               " sysctl -w net.ipv4.ip_local_port_range='40000 40007'"),
            0);
  {
    InNetns in(ns);
    ASSERT_TRUE(in.ok());
    asio::io_context io;
    // Two servers on fixed ports outside the range, 6 connections to each from 127.0.0.1:
    // 12 connections, 8 ports.
    std::vector<std::unique_ptr<Listener>> servers;
    std::vector<std::shared_ptr<Connection>> accepted, connected;
    for (const std::uint16_t port : {30001, 30002}) {
      servers.push_back(Listener::open(io, Kind::tcp, Endpoint{{addr("127.0.0.1")}, port}, {}));
      servers.back()->start([&](std::shared_ptr<Connection> c) { accepted.push_back(c); });
    }
    std::set<std::uint16_t> ports;
    for (int i = 0; i < 6; ++i)
      for (const auto& server : servers) {
        auto c = connect_with(io, Kind::tcp, server->local_endpoint(), {addr("127.0.0.1")}, {});
        ASSERT_TRUE(c) << "connection " << connected.size() + 1 << " of 12";
        ports.insert(c->local_endpoint().port);
        connected.push_back(std::move(c));
      }
    EXPECT_TRUE(run_until(io, [&] { return accepted.size() == 12; }));
    EXPECT_LE(ports.size(), 8u);
    for (const auto port : ports) {
      EXPECT_GE(port, 40000);
      EXPECT_LE(port, 40007);
    }
  }
}

}  // namespace
}  // namespace rserpool::transport
