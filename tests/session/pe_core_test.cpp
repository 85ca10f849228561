// The PE core driven directly with encoded registrar messages and injected time: start
// and connect, registration and its response, the re-registration cadence, adaptive load
// changes, keep-alives and the H flag, rejects, failover on close, timeout and connect
// failure, a registrar taking the PE over on a connection to its ASAP endpoint, announces,
// malformed input, and shutdown.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/session/harness.hpp"

namespace session_test {
namespace {

using A = w::AsapType;
using Ops = std::vector<std::string>;

std::string reg(std::size_t i) { return send_op(i, A::registration); }
std::string ack(std::size_t i) { return send_op(i, A::endpoint_keep_alive_ack); }
std::string conn(std::size_t i) { return "connect " + std::to_string(i); }
std::string cls(std::size_t i) { return "close " + std::to_string(i); }
std::string abt(std::size_t i) { return "abort " + std::to_string(i); }

// ---------------------------------------------------------------------------------------
// Registration

TEST(PeCoreRegistration, StartConnectsToTheFirstRegistrarAndRegisters) {
  Harness h;
  EXPECT_EQ(h.core.state(), PeState::idle);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.start(at(0));
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  EXPECT_EQ(h.core.state(), PeState::connecting);
  EXPECT_EQ(h.deadline_ms(), 5000);  // connect timeout

  h.connected(0, at(10));
  EXPECT_EQ(h.core.state(), PeState::registering);
  const auto r = h.sent<asap::Registration>(0, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_handle, kPool);
  EXPECT_EQ(r->pool_element.identifier, kPe);
  EXPECT_EQ(r->pool_element.registration_life, 90000);
  EXPECT_EQ(r->pool_element.user_transport.port, 5000);
  EXPECT_EQ(r->pool_element.policy.type, PolicyType::round_robin);
  EXPECT_FALSE(r->pool_element.asap_transport.has_value());
  EXPECT_EQ(r->pool_element.home_server, 0u);
  EXPECT_EQ(h.deadline_ms(), 5010);  // response timeout

  h.in(0, accept(), at(20));
  EXPECT_EQ(h.core.state(), PeState::registered);
  EXPECT_EQ(h.core.home(), 0u);
  EXPECT_TRUE(h.out.ops.empty());
  const auto ev = h.event("registered");
  EXPECT_EQ(ev["pr"], 0);
  EXPECT_EQ(ev["pool"], "echo");
  EXPECT_EQ(ev["pe"], "0x00000042");
  EXPECT_EQ(ev["policy"], "rr");
  EXPECT_EQ(ev["load"], 0);
  EXPECT_EQ(h.deadline_ms(), 30010);  // re-registration, from the REGISTRATION sent
}

TEST(PeCoreRegistration, ReregistersExactlyAtTheIntervalNotBefore) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  for (int round = 1; round <= 3; ++round) {
    const std::int64_t due = 30000 * round;
    EXPECT_EQ(h.deadline_ms(), due);
    h.tick(at(due - 1));
    EXPECT_TRUE(h.out.ops.empty()) << "round " << round;
    h.tick(at(due));
    EXPECT_EQ(h.ops(), Ops{reg(0)}) << "round " << round;
    h.tick(at(due + 1));  // outstanding: no second one
    EXPECT_TRUE(h.out.ops.empty());
    h.in(0, accept(), at(due + 5));
    EXPECT_EQ(h.event("reregistered")["pr"], 0);
    EXPECT_TRUE(h.events("registered").empty());
    EXPECT_EQ(h.core.state(), PeState::registered);
  }
  EXPECT_EQ(h.core.counters().reregistrations, 3u);
  EXPECT_EQ(h.core.counters().registrations, 4u);
}

TEST(PeCoreRegistration, ResponseForAnotherPeOrUnexpectedIsDiscarded) {
  Harness h;
  h.start(at(0));
  h.in(0, accept(), at(1));  // nothing sent yet
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected Registration Response");
  h.connected(0, at(1));
  h.in(0, asap::RegistrationResponse{false, kPool, kPe + 1, std::nullopt}, at(2));
  EXPECT_EQ(h.event("message_discarded")["reason"], "Registration Response for another PE");
  EXPECT_EQ(h.core.state(), PeState::registering);
  h.in(1, accept(), at(3));  // from a registrar we do not talk to
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  EXPECT_EQ(h.core.state(), PeState::registering);
}

// ---------------------------------------------------------------------------------------
// Load changes

TEST(PeCoreLoad, AdaptivePolicyReregistersAtOnceWhenTheLoadChanges) {
  Harness h(make_config(2, PolicyType::least_used));
  h.start(at(0));
  h.register_at(0, at(0));
  h.set_load(0x10000000, at(1000));
  ASSERT_EQ(h.ops(), Ops{reg(0)});
  EXPECT_EQ(h.sent<asap::Registration>(0, 0)->pool_element.policy.load, 0x10000000u);
  EXPECT_EQ(h.event("load_changed")["reregistering"], true);
  h.in(0, accept(), at(1010));
  EXPECT_EQ(h.event("reregistered")["load"], 0x10000000u);
  EXPECT_EQ(h.deadline_ms(), 31000);  // the cadence restarts from the immediate one

  h.set_load(0x10000000, at(2000));  // unchanged: nothing
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
}

TEST(PeCoreLoad, ChangeWhileOutstandingGoesOutAfterTheResponse) {
  Harness h(make_config(2, PolicyType::least_used));
  h.start(at(0));
  h.connected(0, at(0));
  h.set_load(7, at(1));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("load_changed")["reregistering"], false);
  h.in(0, accept(), at(2));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  EXPECT_EQ(h.sent<asap::Registration>(0, 0)->pool_element.policy.load, 7u);
}

TEST(PeCoreLoad, NonAdaptivePolicyDoesNotReregister) {
  Harness h(make_config(2, PolicyType::round_robin));
  h.start(at(0));
  h.register_at(0, at(0));
  h.set_load(0x10000000, at(1000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.deadline_ms(), 30000);
}

// ---------------------------------------------------------------------------------------
// Keep-alives and the home registrar

TEST(PeCoreKeepAlive, AnsweredWithAckOnTheSameConnection) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, keep_alive(0x1111), at(5000));
  const auto a = h.sent<asap::EndpointKeepAliveAck>(0, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pool_handle, kPool);
  EXPECT_EQ(a->pe_identifier, kPe);
  EXPECT_EQ(h.out.ops.size(), 1u);
  EXPECT_TRUE(h.out.events.empty());  // counted, not logged
  EXPECT_EQ(h.core.counters().keepalives_answered, 1u);
  EXPECT_EQ(h.core.home_server_id(), 0x1111u);
  EXPECT_EQ(h.deadline_ms(), 30000);  // no effect on the cadence
}

TEST(PeCoreKeepAlive, ForAnotherPeIsDiscarded) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, asap::EndpointKeepAlive{false, 1, "other", std::nullopt}, at(5000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("message_discarded")["reason"], "Endpoint Keep-Alive for another PE");
  h.in(0, asap::EndpointKeepAlive{false, 1, kPool, kPe + 1}, at(5000));
  EXPECT_TRUE(h.out.ops.empty());
  h.in(0, asap::EndpointKeepAlive{false, 1, kPool, std::nullopt}, at(5000));  // no id: ours
  EXPECT_EQ(h.ops(), Ops{ack(0)});
}

TEST(PeCoreKeepAlive, HFlagAdoptsTheSenderAsHome) {
  Harness h(make_config(3));
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, keep_alive(0xaaaa), at(5000));
  // Registrar 0 died; registrar 2 took the PE over and says so.
  h.in(2, keep_alive(0xcccc, /*home=*/true), at(7000));
  EXPECT_EQ(h.ops(), (Ops{ack(2), abt(0)}));
  const auto ev = h.event("home_changed");
  EXPECT_EQ(ev["from_pr"], 0);
  EXPECT_EQ(ev["to_pr"], 2);
  EXPECT_EQ(ev["server_id"], "0x0000cccc");
  EXPECT_EQ(h.core.home(), 2u);
  EXPECT_EQ(h.core.home_server_id(), 0xccccu);
  EXPECT_EQ(h.core.state(), PeState::registered);
  // Registrar 0's close now is old news; the next re-registration goes to 2.
  h.closed(0, at(7001));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(2)});
  h.in(2, accept(), at(30001));
  EXPECT_EQ(h.event("reregistered")["pr"], 2);
}

TEST(PeCoreKeepAlive, HFlagFromTheCurrentRegistrarOnlyUpdatesItsId) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, keep_alive(0xaaaa), at(5000));
  h.in(0, keep_alive(0xaaaa, true), at(10000));
  EXPECT_EQ(h.ops(), Ops{ack(0)});
  EXPECT_TRUE(h.events("home_changed").empty());
  h.in(0, keep_alive(0xbbbb, true), at(15000));
  EXPECT_EQ(h.event("home_changed")["to_pr"], 0);
  EXPECT_EQ(h.core.home(), 0u);
}

// ---------------------------------------------------------------------------------------
// Rejects

TEST(PeCoreReject, TriesTheNextRegistrarAfterTheRetryDelay) {
  Harness h;
  h.start(at(0));
  h.connected(0, at(0));
  h.in(0, reject(CauseCode::invalid_values), at(10));
  const auto ev = h.event("registration_rejected");
  EXPECT_EQ(ev["cause"], "Invalid Values");
  EXPECT_EQ(ev["permanent"], false);
  const auto f = h.event("failover");
  EXPECT_EQ(f["from_pr"], 0);
  EXPECT_EQ(f["to_pr"], 1);
  EXPECT_EQ(f["reason"], "rejected");
  EXPECT_EQ(h.ops(), Ops{abt(0)});
  EXPECT_EQ(h.core.state(), PeState::connecting);
  EXPECT_EQ(h.deadline_ms(), 1010);
  h.tick(at(1009));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(1010));
  EXPECT_EQ(h.ops(), Ops{conn(1)});
  h.register_at(1, at(1020));
  EXPECT_EQ(h.core.home(), 1u);
}

TEST(PeCoreReject, InconsistentPoolingPolicyIsPermanent) {
  Harness h;
  h.start(at(0));
  h.connected(0, at(0));
  h.in(0, reject(CauseCode::inconsistent_pooling_policy), at(10));
  EXPECT_EQ(h.event("registration_rejected")["permanent"], true);
  EXPECT_EQ(h.event("stopped")["reason"], "inconsistent_pooling_policy");
  EXPECT_EQ(h.ops(), Ops{cls(0)});
  EXPECT_EQ(h.core.state(), PeState::done);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.tick(at(100000));
  EXPECT_TRUE(h.out.ops.empty());
}

// The other two causes a pool's first PE fixes end the PE as well; a refusal the PE can
// outlive (here: the registrar's security rejection) fails over instead.
TEST(PeCoreReject, InconsistentTransportOrDataControlIsPermanentOthersFailOver) {
  for (const auto& [code, reason] :
       {std::pair{CauseCode::inconsistent_transport_type, "inconsistent_transport_type"},
        std::pair{CauseCode::inconsistent_data_control_configuration,
                  "inconsistent_data_control_configuration"}}) {
    Harness h;
    h.start(at(0));
    h.connected(0, at(0));
    h.in(0, reject(code), at(10));
    EXPECT_EQ(h.event("stopped")["reason"], reason);
    EXPECT_EQ(h.core.state(), PeState::done);
    EXPECT_EQ(h.deadline_ms(), std::nullopt);
  }
  Harness h;
  h.start(at(0));
  h.connected(0, at(0));
  h.in(0, reject(CauseCode::rejection_due_to_security), at(10));
  EXPECT_EQ(h.event("registration_rejected")["permanent"], false);
  EXPECT_NE(h.core.state(), PeState::done);
}

// ---------------------------------------------------------------------------------------
// Failover

TEST(PeCoreFailover, OnCloseRegistersAtTheNextRegistrarAtOnce) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.closed(0, at(12000));
  const auto f = h.event("failover");
  EXPECT_EQ(f["from_pr"], 0);
  EXPECT_EQ(f["to_pr"], 1);
  EXPECT_EQ(f["reason"], "closed");
  EXPECT_EQ(h.ops(), Ops{conn(1)});  // no close: it is closed
  EXPECT_EQ(h.core.home(), std::nullopt);
  h.connected(1, at(12010));
  EXPECT_EQ(h.ops(), Ops{reg(1)});
  h.in(1, accept(), at(12020));
  EXPECT_EQ(h.event("registered")["pr"], 1);
  EXPECT_EQ(h.core.home(), 1u);
  EXPECT_EQ(h.deadline_ms(), 42010);
  // And back to 0 when 1 goes.
  h.closed(1, at(50000));
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  EXPECT_EQ(h.core.counters().failovers, 2u);
}

TEST(PeCoreFailover, OnRegistrationTimeout) {
  Harness h;
  h.start(at(0));
  h.connected(0, at(0));
  h.tick(at(4999));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(5000));
  EXPECT_EQ(h.event("failover")["reason"], "timeout");
  EXPECT_EQ(h.ops(), (Ops{abt(0), conn(1)}));
  h.register_at(1, at(5010));
}

TEST(PeCoreFailover, OnReregistrationTimeout) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  h.tick(at(34999));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(35000));
  const auto f = h.event("failover");
  EXPECT_EQ(f["from_pr"], 0);
  EXPECT_EQ(f["to_pr"], 1);
  EXPECT_EQ(f["reason"], "timeout");
  EXPECT_EQ(h.ops(), (Ops{abt(0), conn(1)}));
  // A late response from the abandoned registrar is ignored.
  h.in(0, accept(), at(35001));
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  h.register_at(1, at(35010));
}

TEST(PeCoreFailover, ConnectFailureAndConnectTimeout) {
  Harness h;
  h.start(at(0));
  h.connect_failed(0, at(3));
  EXPECT_EQ(h.event("failover")["reason"], "connect_failed");
  EXPECT_EQ(h.ops(), Ops{conn(1)});
  h.tick(at(5003));  // registrar 1 never answers the connect
  EXPECT_EQ(h.event("failover")["reason"], "timeout");
  // A whole round failed: wait the retry delay, then start over at 0.
  EXPECT_EQ(h.ops(), Ops{abt(1)});
  EXPECT_EQ(h.event("failover")["delay_ms"], 1000);
  EXPECT_EQ(h.deadline_ms(), 6003);
  h.tick(at(6003));
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  h.register_at(0, at(6010));
}

TEST(PeCoreFailover, SingleRegistrarReconnectsAfterTheRetryDelay) {
  Harness h(make_config(1));
  h.start(at(0));
  h.register_at(0, at(0));
  h.closed(0, at(1000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.deadline_ms(), 2000);
  h.tick(at(2000));
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  // A connection that is not the one wanted is ignored.
  h.connected(1, at(2001));
  EXPECT_TRUE(h.out.ops.empty());
  h.register_at(0, at(2002));
  EXPECT_EQ(h.event("registered")["pr"], 0);
}

// Issue 12: the only registrar's link went down with a re-registration in flight. The PE
// gives the connection up with an abort (TCP RST / SCTP ABORT), not a close: after a close
// the kernel would still deliver the re-registration, and then the close, once the link is
// back, after the PE registered again over a new connection.
TEST(PeCoreFailover, GivesUpTheConnectionWithAnAbortBeforeConnectingAgain) {
  Harness h(make_config(1));
  h.start(at(0));
  h.register_at(0, at(0));
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  h.tick(at(35000));
  EXPECT_EQ(h.event("failover")["reason"], "timeout");
  EXPECT_EQ(h.ops(), Ops{abt(0)});
  h.tick(at(36000));
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  h.register_at(0, at(36010));
  EXPECT_EQ(h.event("registered")["pr"], 0);
}

// ---------------------------------------------------------------------------------------
// The registrar does not hold the PE (an unasked Deregistration Response)

TEST(PeCoreRegistrationLost, RegistersAgainAtOnceNotAnIntervalLater) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, keep_alive(0xaaaa), at(5000));
  // The registrar removed the PE (a keep-alive timeout while a link was down) and answers
  // the ack of a keep-alive that reached the PE late.
  h.in(0, asap::DeregistrationResponse{kPool, kPe, std::nullopt}, at(12000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  const auto ev = h.event("registration_lost");
  EXPECT_EQ(ev["pr"], 0);
  EXPECT_EQ(ev["reregistering"], true);
  EXPECT_EQ(h.core.state(), PeState::registering);
  EXPECT_EQ(h.core.counters().registrations_lost, 1u);
  h.in(0, accept(), at(12010));
  EXPECT_EQ(h.event("registered")["pr"], 0);  // registered anew, not "reregistered"
  EXPECT_EQ(h.core.home(), 0u);
  EXPECT_EQ(h.deadline_ms(), 42000);  // the cadence runs from this registration
}

TEST(PeCoreRegistrationLost, WhileARegistrationIsOutstandingItsAnswerIsAwaited) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  h.in(0, asap::DeregistrationResponse{kPool, kPe, std::nullopt}, at(30001));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("registration_lost")["reregistering"], false);
  h.in(0, accept(), at(30002));
  EXPECT_EQ(h.event("registered")["pr"], 0);
  EXPECT_EQ(h.core.state(), PeState::registered);
}

TEST(PeCoreRegistrationLost, FromAnotherRegistrarOrForAnotherPeIsDiscarded) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(1, asap::DeregistrationResponse{kPool, kPe, std::nullopt}, at(100));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected Deregistration Response");
  h.in(0, asap::DeregistrationResponse{kPool, kPe + 1, std::nullopt}, at(200));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("message_discarded")["reason"], "Deregistration Response for another PE");
  EXPECT_EQ(h.core.state(), PeState::registered);
}

// ---------------------------------------------------------------------------------------
// Announces

TEST(PeCoreAnnounce, WithoutAStaticListWaitsForAnAnnounce) {
  Harness h(make_config(0));
  h.start(at(0));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.events("no_registrar").size(), 1u);
  EXPECT_EQ(h.core.state(), PeState::connecting);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.announce(0x77, 3, at(500));
  EXPECT_EQ(h.event("registrar_learnt")["pr"], 3);
  EXPECT_EQ(h.ops(), Ops{conn(3)});
  h.register_at(3, at(510));
  h.announce(0x77, 3, at(1500));  // known: nothing
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  h.announce(0x88, 1, at(1600));  // a second one: a failover target
  EXPECT_TRUE(h.out.ops.empty());
  h.closed(3, at(2000));
  EXPECT_EQ(h.event("failover")["to_pr"], 1);
  EXPECT_EQ(h.ops(), Ops{conn(1)});
}

// ---------------------------------------------------------------------------------------
// Takeover: a registrar that adopted the PE connects to its ASAP endpoint (index 2 here,
// beside the static registrars 0 and 1) and says so with an H keep-alive.

// Registered at 0, which has sent a keep-alive (server id 0xaaaa); registrar 2 connected.
void registered_at_0_with_2_accepted(Harness& h) {
  h.start(at(0));
  h.register_at(0, at(0));
  h.in(0, keep_alive(0xaaaa), at(5000));
  h.accepted(2, at(6000));
  EXPECT_TRUE(h.out.ops.empty()) << "the registrar speaks first";
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.counters().accepted, 1u);
}

TEST(PeCoreTakeover, HKeepAliveOnAnAcceptedConnectionMakesItHomeAndReregistrationsGoThere) {
  Harness h(make_config(2));
  registered_at_0_with_2_accepted(h);
  h.in(2, keep_alive(0xbbbb, /*home=*/true), at(7000));
  EXPECT_EQ(h.ops(), (Ops{ack(2), abt(0)}));
  const auto ev = h.event("home_changed");
  EXPECT_EQ(ev["from_pr"], 0);
  EXPECT_EQ(ev["to_pr"], 2);
  EXPECT_EQ(ev["server_id"], "0x0000bbbb");
  EXPECT_EQ(h.core.home(), 2u);
  EXPECT_EQ(h.core.home_server_id(), 0xbbbbu);
  EXPECT_EQ(h.deadline_ms(), 30000) << "the cadence goes on";
  h.closed(0, at(7001));  // the abort's close: old news
  EXPECT_TRUE(h.out.ops.empty());
  h.in(2, keep_alive(0xbbbb), at(12000));  // the new home's keep-alives
  EXPECT_EQ(h.ops(), Ops{ack(2)});
  EXPECT_TRUE(h.out.events.empty());
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(2)});
  h.in(2, accept(), at(30001));
  EXPECT_EQ(h.event("reregistered")["pr"], 2);
  EXPECT_EQ(h.core.state(), PeState::registered);
  h.shutdown(at(40000));  // deregisters there too
  EXPECT_EQ(h.ops(), Ops{send_op(2, A::deregistration)});
}

TEST(PeCoreTakeover, KeepAliveWithoutHOnAnAcceptedConnectionIsAckedAndChangesNothing) {
  Harness h(make_config(2));
  registered_at_0_with_2_accepted(h);
  h.in(2, keep_alive(0xbbbb), at(7000));
  EXPECT_EQ(h.ops(), Ops{ack(2)});
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.home(), 0u);
  EXPECT_EQ(h.core.home_server_id(), 0xaaaau);
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
}

TEST(PeCoreTakeover, GarbageOnAnAcceptedConnectionIsDiscarded) {
  Harness h(make_config(2));
  registered_at_0_with_2_accepted(h);
  const Bytes ka = w::encode(asap::Message{keep_alive(0xbbbb, true)});
  for (std::size_t n = 0; n < ka.size(); ++n) {  // every truncation of an H keep-alive
    h.raw(2, Bytes(ka.begin(), ka.begin() + static_cast<std::ptrdiff_t>(n)), at(7000));
    EXPECT_TRUE(h.out.ops.empty()) << n;
  }
  h.raw(2, Bytes{0xff, 0xff, 0x00, 0x04}, at(7001));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  h.in(2, accept(), at(7002));  // a response to nothing sent there
  EXPECT_EQ(h.event("message_discarded")["reason"], "unexpected Registration Response");
  h.in(2, asap::HandleResolution{kPool, std::nullopt}, at(7003));
  EXPECT_EQ(h.event("message_discarded")["pr"], 2);
  h.in(2, asap::EndpointKeepAlive{true, 0xbbbb, "other", std::nullopt}, at(7004));
  EXPECT_EQ(h.event("message_discarded")["reason"], "Endpoint Keep-Alive for another PE");
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.core.home(), 0u);
  EXPECT_EQ(h.core.state(), PeState::registered);
}

TEST(PeCoreTakeover, AcceptedConnectionClosingBeforeAnHChangesNothing) {
  Harness h(make_config(2));
  registered_at_0_with_2_accepted(h);
  h.closed(2, at(7000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.core.home(), 0u);
  h.tick(at(30000));
  EXPECT_EQ(h.ops(), Ops{reg(0)});
  // The index comes back for the next accepted connection.
  h.in(0, accept(), at(30001));
  h.accepted(2, at(31000));
  h.in(2, keep_alive(0xcccc, true), at(31001));
  EXPECT_EQ(h.ops(), (Ops{ack(2), abt(0)}));
  EXPECT_EQ(h.core.home(), 2u);
}

// Home on the accepted connection, which then closes: a failover to the registrars the PE
// knows, and never a connect to the accepted connection's index.
TEST(PeCoreTakeover, AcceptedHomeClosingFailsOverToTheKnownRegistrars) {
  Harness h(make_config(2));
  registered_at_0_with_2_accepted(h);
  h.in(2, keep_alive(0xbbbb, true), at(7000));
  h.closed(2, at(8000));
  const auto f = h.event("failover");
  EXPECT_EQ(f["from_pr"], 2);
  EXPECT_EQ(f["to_pr"], 0);
  EXPECT_EQ(f["reason"], "closed");
  EXPECT_EQ(h.ops(), Ops{conn(0)});
  EXPECT_EQ(h.core.home(), std::nullopt);
  h.connect_failed(0, at(8001));  // two failures, two known registrars: the retry delay
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(9001));
  EXPECT_EQ(h.ops(), Ops{conn(1)});
  h.register_at(1, at(9002));
  EXPECT_EQ(h.core.home(), 1u);
  h.closed(1, at(10000));  // and round the static list, past index 2
  EXPECT_EQ(h.ops(), Ops{conn(0)});
}

// The PE was failing over (connecting to 1) when the adopting registrar's H came: home at
// once, the connect in progress given up.
TEST(PeCoreTakeover, HWhileConnectingElsewhereEndsTheFailover) {
  Harness h(make_config(2));
  h.start(at(0));
  h.register_at(0, at(0));
  h.closed(0, at(1000));
  EXPECT_EQ(h.ops(), Ops{conn(1)});
  h.accepted(2, at(1001));
  h.in(2, keep_alive(0xbbbb, true), at(1002));
  EXPECT_EQ(h.ops(), (Ops{ack(2), abt(1)}));
  EXPECT_EQ(h.core.home(), 2u);
  EXPECT_EQ(h.event("home_changed")["from_pr"], 1);
  EXPECT_EQ(h.deadline_ms(), 31002) << "an interval after becoming registered there";
  h.connected(1, at(1003));  // the abandoned attempt: ignored
  EXPECT_TRUE(h.out.ops.empty());
}

// ---------------------------------------------------------------------------------------
// Malformed and unexpected input

TEST(PeCoreInput, MalformedAndUnexpectedMessagesAreDiscardedWithoutAnswer) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.raw(0, Bytes{0x07, 0x00, 0x00}, at(1));  // truncated
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  h.raw(0, Bytes{}, at(1));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  h.in(0, asap::HandleResolution{kPool, std::nullopt}, at(2));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("message_discarded")["reason"], "a PE does not take ASAP_HANDLE_RESOLUTION");
  h.in(0, asap::Error{w::OperationError{{w::ErrorCause{CauseCode::invalid_values, {}}}}}, at(3));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.event("error_received")["causes"], json::array({"Invalid Values"}));
  EXPECT_EQ(h.core.state(), PeState::registered);
  EXPECT_EQ(h.core.counters().discarded, 3u);
}

// Producer and store agree (tests/common/typed_events.hpp; the harness checks every event):
// the registration core's load_changed and message_discarded read back through their structs
// with the core's own fields.
TEST(PeCoreEvents, LoadChangedAndMessageDiscardedParseBackThroughTheirStructs) {
  namespace ev = rsplab::common;
  Harness h(make_config(2, PolicyType::least_used));
  h.start(at(0));
  h.register_at(0, at(0));
  h.set_load(0x10000000, at(1000));
  const json load = h.event("load_changed");
  EXPECT_TRUE(typed_events::expect_typed(typed_events::Role::pe, load));
  EXPECT_TRUE(load.at("load").is_number_integer());  // the raw fraction, as on the wire
  const auto l = load.get<ev::LoadChangedEvent>();
  EXPECT_FALSE(l.from_service);
  EXPECT_EQ(l.load, 268435456.0);
  EXPECT_TRUE(l.reregistering);
  h.raw(0, Bytes{0x07, 0x00, 0x00}, at(1001));
  const json discarded = h.event("message_discarded");
  EXPECT_TRUE(typed_events::expect_typed(typed_events::Role::pe, discarded));
  const auto d = discarded.get<ev::MessageDiscardedEvent>();
  EXPECT_EQ(d.pr, 0);
  EXPECT_FALSE(d.session || d.conn || d.from);
  EXPECT_FALSE(d.reason.empty());
}

TEST(PeCoreInput, EveryTruncationOfAKeepAliveIsDiscardedCleanly) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  const Bytes full = w::encode(asap::Message{keep_alive(1)});
  for (std::size_t n = 0; n < full.size(); ++n) {
    h.raw(0, Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)), at(1));
    EXPECT_TRUE(h.out.ops.empty()) << n;
  }
  EXPECT_EQ(h.core.state(), PeState::registered);
}

// ---------------------------------------------------------------------------------------
// Shutdown

TEST(PeCoreShutdown, DeregistersThenDone) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.shutdown(at(1000));
  EXPECT_EQ(h.ops(), Ops{send_op(0, A::deregistration)});
  const auto d = h.sent<asap::Deregistration>(0, 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pool_handle, kPool);
  EXPECT_EQ(d->pe_identifier, kPe);
  EXPECT_EQ(h.core.state(), PeState::deregistering);
  EXPECT_EQ(h.deadline_ms(), 6000);
  h.in(0, asap::DeregistrationResponse{kPool, kPe, std::nullopt}, at(1010));
  EXPECT_EQ(h.ops(), Ops{cls(0)});
  const auto ev = h.event("deregistered");
  EXPECT_EQ(ev["pr"], 0);
  EXPECT_EQ(ev["confirmed"], true);
  EXPECT_EQ(h.core.state(), PeState::done);
  EXPECT_EQ(h.deadline_ms(), std::nullopt);
  h.in(0, keep_alive(1), at(2000));  // done: no answer
  EXPECT_TRUE(h.out.ops.empty());
}

TEST(PeCoreShutdown, ResponseTimeoutOrCloseStillEnds) {
  Harness h;
  h.start(at(0));
  h.register_at(0, at(0));
  h.shutdown(at(1000));
  h.tick(at(6000));
  EXPECT_EQ(h.ops(), Ops{cls(0)});
  EXPECT_EQ(h.event("deregistered")["confirmed"], false);
  EXPECT_EQ(h.core.state(), PeState::done);

  Harness g;
  g.start(at(0));
  g.register_at(0, at(0));
  g.shutdown(at(1000));
  g.closed(0, at(1001));
  EXPECT_TRUE(g.out.ops.empty());
  EXPECT_EQ(g.event("deregistered")["confirmed"], false);
  EXPECT_EQ(g.core.state(), PeState::done);
}

TEST(PeCoreShutdown, BeforeRegistrationJustStops) {
  Harness h;
  h.start(at(0));
  h.shutdown(at(10));
  EXPECT_EQ(h.ops(), Ops{cls(0)});  // cancels the connect
  EXPECT_EQ(h.event("stopped")["reason"], "shutdown");
  EXPECT_EQ(h.core.state(), PeState::done);
  h.shutdown(at(20));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
}

}  // namespace
}  // namespace session_test
