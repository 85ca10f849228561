// A registrar that takes a PE over reaches it (RFC 5353 takeover, the PE's side): a PE node
// registered at registrar node A, in-process, on real sockets. The test plays the adopting
// registrar B with its own socket and the wire codec: it connects to the PE's ASAP transport
// as A recorded it (the peer port of A's connection from the PE), sends an Endpoint
// Keep-Alive with the H flag and B's server id, and checks that the ack comes back on that
// connection, that the PE logs home_changed to B and leaves A, and that its next
// re-registration and its deregistration come to B. Over TCP, and over SCTP where the kernel
// has it (scripts/sctp-vm.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "node/pe.hpp"
#include "node/registrar.hpp"
#include "stack/common/events.hpp"
#include "stack/wire/messages.hpp"
#include "tests/node/harness.hpp"
#include "tests/support/process.hpp"

namespace {

namespace asap = rserpool::wire::asap;
namespace transport = rserpool::transport;
using namespace std::chrono_literals;
using rsplab::common::DeregistrationEvent;
using rsplab::common::HomeChangedEvent;
using rsplab::common::MemberReady;
using rsplab::node::PeNode;
using rsplab::node::RegistrarNode;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;
namespace test = rsplab::node::test;

constexpr std::uint32_t kB = 0xb0b;  // registrar B's server id

// The ports of the peers of `port`'s connections (TCP) or associations (SCTP), as this
// host's kernel lists them (/proc/net): what a server on `port` records as its peers'
// ports, as getpeername(2) and sctp_getpaddrs(3) tell the registrar, whose core takes
// them for a PE's ASAP transport (stack/registrar/core.cpp).
std::vector<std::uint16_t> peer_ports_at(transport::Kind kind, std::uint16_t port) {
  std::vector<std::uint16_t> out;
  if (kind == transport::Kind::tcp) {
    for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
      std::ifstream in(file);
      std::string line;
      std::getline(in, line);  // the header
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        const auto port_of = [](const std::string& a) {
          return static_cast<std::uint16_t>(std::stoul(a.substr(a.rfind(':') + 1), nullptr, 16));
        };
        if (state == "01" && port_of(local) == port) out.push_back(port_of(remote));
      }
    }
    return out;
  }
  std::ifstream in("/proc/net/sctp/assocs");
  std::string line;
  std::getline(in, line);
  std::istringstream header(line);
  std::vector<std::string> columns;
  for (std::string c; header >> c;) columns.push_back(c);
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), name) -
                                    columns.begin());
  };
  const std::size_t lport = column("LPORT"), rport = column("RPORT");
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (rport < f.size() && std::stoul(f[lport]) == port)
      out.push_back(static_cast<std::uint16_t>(std::stoul(f[rport])));
  }
  return out;
}

void takeover_reaches_the_pe(const std::string& kind_name) {
  const transport::Kind kind =
      kind_name == "sctp" ? transport::Kind::sctp : transport::Kind::tcp;
  boost::asio::io_context io;
  Recorder a_events, pe_events;
  auto ro = test::registrar_options("0xa");
  ro.transport = kind_name;
  RegistrarNode a(io, ro, a_events.sink());
  a.start();
  auto o = test::pe_options(a.asap_endpoint().to_string(), "TakeoverPool", "0x7e");
  o.transport = kind_name;
  o.reregistration_interval = "1s";
  bool finished = false;
  PeNode pe(io, o, pe_events.sink(), [&] { finished = true; });
  pe.start();
  ASSERT_TRUE(run_until(io, [&] { return a_events.count("registration") == 1; }));

  // The PE's ASAP transport, as A recorded it: the port A's connection from the PE comes
  // from, which is the PE's ASAP endpoint (its ready event says so).
  const auto ports = peer_ports_at(kind, a.asap_endpoint().port);
  ASSERT_EQ(ports.size(), 1u) << "one connection at A: the PE's";
  const auto ready = pe_events.as<MemberReady>("ready");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].asap, pe.member(0).asap().to_string());
  EXPECT_EQ(ports[0], pe.member(0).asap().port);
  EXPECT_NE(ports[0], pe.member(0).user().port);

  // Registrar B adopts the PE: it connects there and says it is the PE's home now.
  rsplab::test::AsapPeer b(io, "registrar B");
  b.set_auto_ack(false);
  ASSERT_TRUE(b.connect(transport::Endpoint{{boost::asio::ip::make_address("127.0.0.1")},
                                            ports[0]},
                        5s, kind))
      << "nothing listens on the PE's ASAP transport";
  ASSERT_TRUE(b.send(asap::EndpointKeepAlive{true, kB, "TakeoverPool", 0x7e}));
  const auto ack = b.receive_as<asap::EndpointKeepAliveAck>(5s);
  ASSERT_TRUE(ack) << "no ack on B's connection";
  EXPECT_EQ(ack->pool_handle, "TakeoverPool");
  EXPECT_EQ(ack->pe_identifier, 0x7eu);
  ASSERT_TRUE(run_until(io, [&] { return pe_events.count("home_changed") == 1; }));
  const auto home = pe_events.as<HomeChangedEvent>("home_changed")[0];
  EXPECT_EQ(home.from_pr, 0);
  EXPECT_EQ(home.to_pr, 1) << "the accepted connection: after the one --registrar";
  EXPECT_EQ(home.server_id, "0x00000b0b");
  // The PE left A (its connection there aborted): A drops it as RSPLIB's registrar does.
  ASSERT_TRUE(run_until(io, [&] { return a_events.count("deregistration") == 1; }));
  EXPECT_EQ(a_events.as<DeregistrationEvent>("deregistration")[0].reason, "connection_closed");

  // Its next re-registration, and its deregistration, come to B.
  const auto reg = b.receive_as<asap::Registration>(5s);
  ASSERT_TRUE(reg) << "no re-registration on B's connection";
  EXPECT_EQ(reg->pool_handle, "TakeoverPool");
  EXPECT_EQ(reg->pool_element.identifier, 0x7eu);
  ASSERT_TRUE(b.send(asap::RegistrationResponse{false, "TakeoverPool", 0x7e, std::nullopt}));
  ASSERT_TRUE(run_until(io, [&] { return pe_events.count("reregistered") == 1; }));
  EXPECT_EQ(pe_events.named("reregistered")[0].value("pr", -1), 1);
  EXPECT_EQ(a_events.count("registration"), 1u) << "nothing more at A";

  pe.stop();
  const auto dereg = b.receive_as<asap::Deregistration>(5s);
  ASSERT_TRUE(dereg) << "no deregistration on B's connection";
  ASSERT_TRUE(b.send(asap::DeregistrationResponse{"TakeoverPool", 0x7e, std::nullopt}));
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  EXPECT_EQ(pe_events.named("deregistered").at(0).value("confirmed", false), true);
  a.stop(SIGTERM);
}

TEST(PeTakeover, AnAdoptingRegistrarReachesThePeAtItsAsapTransportOverTcp) {
  takeover_reaches_the_pe("tcp");
}

TEST(PeTakeover, AnAdoptingRegistrarReachesThePeAtItsAsapTransportOverSctp) {
  if (!transport::sctp_available())
    GTEST_SKIP() << "the kernel has no SCTP (socket(IPPROTO_SCTP) fails): run inside "
                    "scripts/sctp-vm.sh, as scripts/test.sh does";
  takeover_reaches_the_pe("sctp");
}

}  // namespace
