// The registrar node in-process (node/registrar.hpp): it binds on loopback, reports its
// endpoints in its `ready` event, serves an ASAP client (tests/support's AsapPeer, on the
// same io_context) and stops as SIGTERM stops `rsplab registrar`.
#include <gtest/gtest.h>

#include <csignal>

#include "node/registrar.hpp"
#include "node/shell.hpp"
#include "tests/support/process.hpp"
#include "tests/node/harness.hpp"
#include "stack/common/events.hpp"
#include "stack/wire/messages.hpp"

namespace {

namespace asap = rserpool::wire::asap;
namespace wire = rserpool::wire;
using namespace std::chrono_literals;
using rsplab::node::RegistrarNode;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;

asap::Registration registration(const std::string& pool, std::uint32_t id) {
  asap::Registration r;
  r.pool_handle = pool;
  r.pool_element.identifier = id;
  r.pool_element.registration_life = 60000;
  r.pool_element.user_transport.kind = wire::TransportKind::tcp;
  r.pool_element.user_transport.use = wire::TransportUse::data_only;
  r.pool_element.user_transport.port = 7000;
  r.pool_element.user_transport.addresses = {wire::Address::v4(127, 0, 0, 1)};
  r.pool_element.policy.type = wire::PolicyType::round_robin;
  return r;
}

TEST(RegistrarNode, ServesAPeOnLoopbackAndStopsAsSigtermDoes) {
  boost::asio::io_context io;
  Recorder events;
  RegistrarNode registrar(io, rsplab::node::test::registrar_options(), events.sink());
  ASSERT_NE(registrar.asap_endpoint().port, 0);
  EXPECT_EQ(registrar.identifier(), 0x5eedu);
  registrar.start();
  ASSERT_EQ(events.count("ready"), 1u);
  const auto line = events.named("ready").front();
  EXPECT_EQ(line.value("component", ""), "registrar");
  EXPECT_EQ(line.value("id", ""), "0x00005eed");
  const auto ready = events.as<rsplab::common::RegistrarReady>("ready").front();
  EXPECT_EQ(ready.asap, registrar.asap_endpoint().to_string());
  EXPECT_EQ(ready.enrp, registrar.enrp_endpoint().to_string());
  EXPECT_EQ(ready.transport, "tcp");

  rsplab::test::AsapPeer pe(io, "pe");
  ASSERT_TRUE(pe.connect(registrar.asap_endpoint(), 5s));
  ASSERT_TRUE(pe.send(registration("NodePool", 0x1234abcd)));
  const auto response = pe.receive_as<asap::RegistrationResponse>(3s);
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->reject);
  const auto regs = events.as<rsplab::common::RegistrationEvent>("registration");
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].pool, "NodePool");
  EXPECT_EQ(regs[0].pe, "0x1234abcd");

  registrar.stop(SIGTERM);
  const auto stopped = events.as<rsplab::common::RegistrarStoppedEvent>("stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].signal, SIGTERM);
  EXPECT_TRUE(run_until(io, [&] { return !pe.connected(); }, 5s)) << "connection kept open";
  rsplab::test::AsapPeer late(io, "late");
  EXPECT_FALSE(late.connect(registrar.asap_endpoint(), 1s)) << "still listening";
}

}  // namespace
