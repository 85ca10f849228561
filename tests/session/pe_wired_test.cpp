// The PE core wired in memory to a real registrar core: one injected clock, each side's
// sends delivered to the other until both are quiet. Checks that the PE registers, that
// keep-alives are acked for a long period (the registrar never times the PE out), that an
// adaptive load change reaches the registrar's handlespace, that shutdown removes it, and
// that a PE timed out during a link outage is back in the pool as soon as the link is.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "stack/registrar/core.hpp"
#include "tests/session/harness.hpp"

namespace session_test {
namespace {

namespace reg = rserpool::registrar;

class Wired {
 public:
  explicit Wired(ses::PeConfig pe_config) : pe(std::move(pe_config)), pr(make_pr_config()) {}

  static reg::Config make_pr_config() {
    reg::Config c;
    c.identifier = 0x5151;
    return c;
  }

  // Carries out the PE's ops and delivers the registrar's sends until both are quiet.
  void pump(TimePoint now) {
    while (!pe_out.ops.empty() || !pr_out.sends.empty()) {
      auto ops = std::move(pe_out.ops);
      pe_out.ops.clear();
      for (auto& op : ops) {
        switch (op.kind) {
          case Op::Kind::connect:
            ASSERT_EQ(op.registrar, 0u);
            pr.opened(kConn, reg::Peer{w::TransportKind::sctp,
                                       {*w::Address::parse("10.0.0.1")}, 40000});
            pe.registrar_connected(0, now, pe_out);
            break;
          case Op::Kind::close:
          case Op::Kind::abort: pr.closed(kConn, now, pr_out); break;
          case Op::Kind::send:
            if (link_up)
              pr.received_asap(kConn, op.message, now, pr_out);
            else
              to_pr.push_back(op.message);
            break;
        }
      }
      auto sends = std::move(pr_out.sends);
      pr_out.sends.clear();
      for (auto& s : sends) {
        if (link_up)
          pe.received(0, s.message, now, pe_out);
        else
          to_pe.push_back(s.message);
      }
      collect();
    }
    collect();
  }

  // The link comes back: what waited in the network (held while it was down, as TCP or SCTP
  // would retransmit it) is delivered, to the PE first.
  void link_back(TimePoint at_time) {
    link_up = true;
    now = at_time;
    for (auto& m : std::exchange(to_pe, {})) pe.received(0, m, now, pe_out);
    for (auto& m : std::exchange(to_pr, {})) pr.received_asap(kConn, m, now, pr_out);
    pump(now);
  }

  // Runs every timer of both cores up to and including `until`.
  void run_until(TimePoint until) {
    for (;;) {
      std::optional<TimePoint> next;
      for (const auto d : {pe.next_deadline(), pr.next_deadline()})
        if (d && (!next || *d < *next)) next = d;
      if (!next || *next > until) break;
      now = std::max(now, *next);
      pe.tick(now, pe_out);
      pr.tick(now, pr_out);
      pump(now);
    }
    now = until;
  }

  void collect() {
    for (auto& e : pe_out.events) ++pe_events[e.value("event", "")];
    for (auto& e : pr_out.events) ++pr_events[e.value("event", "")];
    pe_out.events.clear();
    pr_out.events.clear();
  }

  std::optional<rserpool::handlespace::PeRef> entry_ref() const {
    return pr.handlespace().find(kPool, kPe);
  }

  static constexpr reg::ConnId kConn = 7;
  ses::PeCore pe;
  reg::Core pr;
  ses::Actions pe_out;
  reg::Actions pr_out;
  TimePoint now = T0;
  bool link_up = true;               // else messages wait in to_pe / to_pr
  std::vector<Bytes> to_pe, to_pr;
  std::map<std::string, int> pe_events, pr_events;
};

TEST(PeWired, RegistersStaysRegisteredFollowsTheLoadAndDeregisters) {
  auto config = make_config(1, PolicyType::least_used);
  Wired net(config);
  net.pe.start(net.now, net.pe_out);
  net.pump(net.now);
  ASSERT_EQ(net.pe.state(), PeState::registered);
  EXPECT_EQ(net.pe_events["registered"], 1);
  EXPECT_EQ(net.pr_events["registration"], 1);
  ASSERT_TRUE(net.entry_ref());
  EXPECT_EQ(net.pr.handlespace().entry(*net.entry_ref()).element.policy.load, 0u);

  // Ten injected minutes: keep-alives every 5 s acked, re-registrations every 30 s.
  net.run_until(at(10 * 60 * 1000));
  EXPECT_EQ(net.pe.state(), PeState::registered);
  EXPECT_TRUE(net.entry_ref().has_value());
  EXPECT_EQ(net.pr_events["keepalive_timeout"], 0);
  EXPECT_EQ(net.pr_events["deregistration"], 0);
  EXPECT_GE(net.pe.counters().keepalives_answered, 100u);
  EXPECT_EQ(net.pe.counters().reregistrations, 20u);
  EXPECT_EQ(net.pr_events["reregistration"], 20);
  EXPECT_EQ(net.pe.counters().failovers, 0u);
  EXPECT_EQ(net.pe.counters().discarded, 0u);
  EXPECT_EQ(net.pe.home_server_id(), 0x5151u);

  // An adaptive load change shows up in the registrar's handlespace at once.
  net.pe.set_load(0x40000000, net.now, net.pe_out);
  net.pump(net.now);
  ASSERT_TRUE(net.entry_ref());
  EXPECT_EQ(net.pr.handlespace().entry(*net.entry_ref()).element.policy.load, 0x40000000u);
  EXPECT_EQ(net.pr_events["reregistration"], 21);

  // Shutdown: deregistered, gone from the handlespace, connection closed.
  net.pe.shutdown(net.now, net.pe_out);
  net.pump(net.now);
  EXPECT_EQ(net.pe.state(), PeState::done);
  EXPECT_EQ(net.pe_events["deregistered"], 1);
  EXPECT_FALSE(net.entry_ref().has_value());
  EXPECT_EQ(net.pr.handlespace().pe_count(), 0u);
  EXPECT_EQ(net.pr.next_deadline(), std::nullopt);
  EXPECT_EQ(net.pe.next_deadline(), std::nullopt);
}

// Issue 12: the link goes down long enough for the registrar to time the PE out (its
// keep-alive waits in the network); when the link is back the PE acks that keep-alive, the
// registrar tells it that it does not hold it, and the PE is registered again at once, not
// at its next re-registration 30 s in.
TEST(PeWired, RemovedDuringAnOutageIsRegisteredAgainAsSoonAsTheLinkIsBack) {
  Wired net(make_config(1));
  net.pe.start(net.now, net.pe_out);
  net.pump(net.now);
  net.run_until(at(7000));
  net.link_up = false;
  net.run_until(at(16000));
  EXPECT_EQ(net.pr_events["keepalive_timeout"], 1);
  ASSERT_FALSE(net.entry_ref().has_value());
  EXPECT_EQ(net.pe.state(), PeState::registered);  // as far as the PE knows

  net.link_back(at(16000));
  EXPECT_TRUE(net.entry_ref().has_value()) << "still out of the pool when the link is back";
  EXPECT_EQ(net.pr_events["pe_not_registered"], 1);
  EXPECT_EQ(net.pe_events["registration_lost"], 1);
  EXPECT_EQ(net.pr_events["registration"], 2);
  EXPECT_EQ(net.pe.state(), PeState::registered);
  EXPECT_EQ(net.pe.counters().failovers, 0u);
}

}  // namespace
}  // namespace session_test
