// The PE node in-process (node/pe.hpp) beside a registrar node on one io_context: its
// members listen and register, report themselves in their `ready` events, a killed member
// (as `--control` kill) says so and leaves the others alone, and stop() (as SIGTERM)
// deregisters the rest and finishes the node.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>

#include "node/pe.hpp"
#include "node/registrar.hpp"
#include "stack/common/events.hpp"
#include "tests/node/harness.hpp"

namespace {

using namespace std::chrono_literals;
using rsplab::common::DeregistrationEvent;
using rsplab::common::MemberReady;
using rsplab::common::StoppedEvent;
using rsplab::common::RegistrationEvent;
using rsplab::node::PeNode;
using rsplab::node::RegistrarNode;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;
namespace test = rsplab::node::test;

TEST(PeNode, MembersRegisterAndAKilledOneLeavesTheOthersWhichDeregisterOnStop) {
  boost::asio::io_context io;
  Recorder registrar_events, pe_events;
  RegistrarNode registrar(io, test::registrar_options(), registrar_events.sink());
  registrar.start();
  auto o = test::pe_options(registrar.asap_endpoint().to_string(), "PePool", "0x100");
  o.count = 2;
  bool finished = false;
  PeNode pe(io, o, pe_events.sink(), [&] { finished = true; });
  ASSERT_EQ(pe.size(), 2u);
  EXPECT_EQ(pe.member(0).id(), "0x00000100");
  EXPECT_EQ(pe.member(1).id(), "0x00000101");
  pe.start();

  ASSERT_TRUE(run_until(io, [&] { return registrar_events.count("registration") == 2; }));
  const auto ready = pe_events.as<MemberReady>("ready");
  ASSERT_EQ(ready.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ready[i].member, i);
    EXPECT_EQ(ready[i].id, pe.member(i).id());
    EXPECT_EQ(ready[i].user_transport, pe.member(i).user().to_string());
    EXPECT_EQ(ready[i].transport, "tcp");
    EXPECT_EQ(ready[i].pool, "PePool");
    EXPECT_EQ(ready[i].policy, "rr");
    EXPECT_EQ(ready[i].capacity, 1e6);
    EXPECT_EQ(ready[i].max_jobs, 10);
    EXPECT_FALSE(ready[i].service) << "an echo field";
    EXPECT_EQ(pe_events.named("ready")[i].value("component", ""), "pe");
  }
  for (const auto& r : registrar_events.as<RegistrationEvent>("registration")) {
    EXPECT_EQ(r.pool, "PePool");
    EXPECT_TRUE(r.pe == "0x00000100" || r.pe == "0x00000101") << r.pe;
  }

  pe.member(1).kill();
  const auto killed = pe_events.as<StoppedEvent>("killed");
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(killed[0].member, 1);
  EXPECT_EQ(killed[0].id, "0x00000101");
  EXPECT_TRUE(killed[0].has_jobs) << "a CalcApp PE tells its jobs, none here";
  EXPECT_TRUE(killed[0].jobs.empty());
  EXPECT_TRUE(pe.member(1).done());
  EXPECT_FALSE(finished);

  pe.stop();
  ASSERT_TRUE(run_until(io, [&] { return finished; })) << "no deregistration within 20 s";
  EXPECT_FALSE(pe.failed());
  // The killed member said no goodbye: the registrar dropped it with its connection.
  std::map<std::string, std::string> reasons;
  for (const auto& d : registrar_events.as<DeregistrationEvent>("deregistration"))
    reasons[d.pe] = d.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{{"0x00000100", "deregistration"},
                                                        {"0x00000101", "connection_closed"}}));
  registrar.stop(SIGTERM);
}

TEST(PeNode, OptionsThatDoNotFitAreAUsageError) {
  boost::asio::io_context io;
  rsplab::options::PeOptions o;
  o.pool = "P";
  EXPECT_THROW(PeNode(io, o), rsplab::node::UsageError) << "no --registrar nor --announce";
  o.registrar = "127.0.0.1:1";
  o.pool = "";
  EXPECT_THROW(PeNode(io, o), rsplab::node::UsageError);
}

}  // namespace
