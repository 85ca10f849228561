// A multi-homed SCTP association survives one of its two paths going down.
// Needs kernel SCTP, root and network namespaces (labels sctp, netns): scripts/test.sh runs it
// inside scripts/sctp-vm.sh. Two namespaces joined by two veth pairs:
//
//   netns A (server)                       netns B (client)
//   a1 10.1.1.1/24 ──── veth ────  b1 10.1.1.2/24     ← set down mid-test
//   a2 10.1.2.1/24 ──── veth ────  b2 10.1.2.2/24
//
// The private addresses live only in these namespaces. Short RTOs and heartbeats
// (set_sctp_timers) make the failover take about a second instead of minutes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "tests/transport/util.hpp"

namespace rserpool::transport {
namespace {

using namespace testing;
using namespace std::chrono_literals;

int sh(const std::string& command) {
  const int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return rc;
}

class SctpFailover : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sctp_available()) {
      GTEST_SKIP() << "the kernel has no SCTP (socket(IPPROTO_SCTP) fails): run inside "
                      "scripts/sctp-vm.sh, as scripts/test.sh does";
    }
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth)";
    const std::string suffix = std::to_string(::getpid());
    a_ = "rsplab-fa-" + suffix;
    b_ = "rsplab-fb-" + suffix;
    if (sh("ip netns add " + a_) != 0) GTEST_SKIP() << "ip netns add fails here";
    created_ = true;
    ASSERT_EQ(sh("ip netns add " + b_), 0);
    for (const char* n : {"1", "2"}) {
      const std::string an = std::string("a") + n, bn = std::string("b") + n;
      ASSERT_EQ(sh("ip -n " + a_ + " link add " + an + " type veth peer name " + bn + " netns " +
                   b_), 0);
      ASSERT_EQ(sh("ip -n " + a_ + " addr add 10.1." + n + ".1/24 dev " + an), 0);
      ASSERT_EQ(sh("ip -n " + b_ + " addr add 10.1." + n + ".2/24 dev " + bn), 0);
      ASSERT_EQ(sh("ip -n " + a_ + " link set " + an + " up"), 0);
      ASSERT_EQ(sh("ip -n " + b_ + " link set " + bn + " up"), 0);
    }
    sh("ip -n " + a_ + " link set lo up");
    sh("ip -n " + b_ + " link set lo up");
  }
  // On failure: the paths as the kernel sees them, in both namespaces.
  void dump() {
    for (const auto& ns : {a_, b_}) {
      std::cout << "---- " << ns << " /proc/net/sctp/{assocs,remaddr}, links\n" << std::flush;
      std::system(("ip netns exec " + ns + " cat /proc/net/sctp/assocs /proc/net/sctp/remaddr;"
                   " ip netns exec " + ns + " sysctl net.ipv4.conf.all.rp_filter;"
                   " ip netns exec " + ns + " grep -E 'Timeout|Abort|OutOfBlue|Retrans|Fast' /proc/net/sctp/snmp;"
                   " ip -n " + ns + " -br link; ip -n " + ns + " route").c_str());
    }
  }
  // Whether every path in both namespaces is confirmed and active (STATE 2 = SCTP_ACTIVE).
  bool all_paths_active() {
    for (const auto& ns : {a_, b_}) {
      if (sh("test -n \"$(ip netns exec " + ns + " cat /proc/net/sctp/remaddr | awk 'NR>1')\"" +
             " && test -z \"$(ip netns exec " + ns +
             " cat /proc/net/sctp/remaddr | awk 'NR>1 && $NF != 2')\"") != 0) {
        return false;
      }
    }
    return true;
  }
  void TearDown() override {
    set_default_sctp_timers(SctpTimers{});
    if (HasFailure()) dump();
    if (!created_) return;
    sh("ip netns del " + a_);
    sh("ip netns del " + b_);
  }

  std::string a_, b_;
  bool created_ = false;
};

TEST_F(SctpFailover, AssociationSurvivesOnePathDown) {
  // Short timers from the start: paths are confirmed with the RTO the association began with.
  SctpTimers timers;
  timers.rto_initial_ms = 200;
  timers.rto_min_ms = 100;
  timers.rto_max_ms = 400;
  timers.heartbeat_interval_ms = 100;
  timers.path_max_retrans = 1;
  set_default_sctp_timers(timers);
  asio::io_context io;
  Side client, server;
  std::unique_ptr<Listener> listener;
  const Endpoint server_ep{{addr("10.1.1.1"), addr("10.1.2.1")}, 0};
  {
    InNetns in(a_);
    ASSERT_TRUE(in.ok());
    listener = Listener::open(io, Kind::sctp, server_ep, Framing{});
  }
  listener->start([&](std::shared_ptr<Connection> c) {
    server.connection = std::move(c);
    server.start();
  });
  Endpoint remote = server_ep;
  remote.port = listener->local_endpoint().port;
  std::error_code connect_error;
  bool connected = false;
  {
    InNetns in(b_);
    ASSERT_TRUE(in.ok());
    async_connect(io, Kind::sctp, remote, {addr("10.1.1.2"), addr("10.1.2.2")}, Framing{},
                  [&](std::error_code ec, std::shared_ptr<Connection> c) {
                    connected = true;
                    connect_error = ec;
                    if (c) {
                      client.connection = std::move(c);
                      client.start();
                    }
                  });
  }
  ASSERT_TRUE(run_until(io, [&] { return connected && server.connection; }));
  ASSERT_FALSE(connect_error) << connect_error.message();
  EXPECT_EQ(client.connection->peer_addresses().size(), 2u);
  EXPECT_EQ(server.connection->peer_addresses().size(), 2u);

  ASSERT_FALSE(set_sctp_timers(*client.connection, timers));
  ASSERT_FALSE(set_sctp_timers(*server.connection, timers));

  // Both paths up: a round trip.
  ASSERT_TRUE(client.connection->send(11, make_message(16, 1, 0)));
  ASSERT_TRUE(run_until(io, [&] { return server.received.size() == 1; }));
  ASSERT_TRUE(server.connection->send(11, make_message(16, 2, 0)));
  ASSERT_TRUE(run_until(io, [&] { return client.received.size() == 1; }));

  // Both paths confirmed (heartbeats) before one fails: data never goes to unconfirmed ones.
  const auto confirm_deadline = std::chrono::steady_clock::now() + 10s;
  while (!all_paths_active()) {
    ASSERT_LT(std::chrono::steady_clock::now(), confirm_deadline) << "paths not confirmed";
    io.run_for(50ms);
  }

  // The first path (connectx's primary) goes down.
  ASSERT_EQ(sh("ip -n " + b_ + " link set b1 down"), 0);
  const auto down_at = std::chrono::steady_clock::now();

  // Keep sending both ways, one message every 20 ms for 2 s.
  constexpr std::uint32_t n = 100;
  asio::steady_timer tick(io);
  std::uint32_t sent = 0;
  std::function<void()> send_next = [&] {
    ++sent;
    EXPECT_TRUE(client.connection->send(11, make_message(64, 1, sent)));
    EXPECT_TRUE(server.connection->send(12, make_message(64, 2, sent)));
    if (sent == n) return;
    tick.expires_after(20ms);
    tick.async_wait([&](boost::system::error_code ec) {
      if (!ec) send_next();
    });
  };
  send_next();
  std::chrono::steady_clock::duration first_after_down{};
  bool dumped = false;
  ASSERT_TRUE(run_until(io, [&] {
    if (!dumped && std::chrono::steady_clock::now() - down_at > 6s) {
      dumped = true;  // still not through: show the paths while the association lives
      dump();
    }
    if (first_after_down == first_after_down.zero() && server.received.size() > 1 &&
        client.received.size() > 1) {
      first_after_down = std::chrono::steady_clock::now() - down_at;
    }
    return server.received.size() == n + 1 && client.received.size() == n + 1;
  }, 30s)) << "server got " << server.received.size() << ", client got "
           << client.received.size() << " of " << n + 1 << "; closes " << client.closes
           << "/" << server.closes << " (" << client.close_error.message() << " / "
           << server.close_error.message() << ")";
  EXPECT_EQ(client.closes + server.closes, 0) << client.close_error.message() << " / "
                                              << server.close_error.message();
  for (std::uint32_t i = 1; i <= n; ++i) {
    EXPECT_EQ(server.received[i].message, make_message(64, 1, i)) << i;
    EXPECT_EQ(client.received[i].message, make_message(64, 2, i)) << i;
    EXPECT_EQ(client.received[i].ppid, 12u);
  }
  const auto total = std::chrono::steady_clock::now() - down_at;
  std::cout << "failover: first message both ways "
            << std::chrono::duration_cast<std::chrono::milliseconds>(first_after_down).count()
            << " ms after link down; all " << n << " in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(total).count() << " ms\n";
  // Both addresses still belong to the association (a path down is not an address removed).
  EXPECT_EQ(client.connection->peer_addresses().size(), 2u);
  client.connection->close();
  server.connection->close();
}

}  // namespace
}  // namespace rserpool::transport
