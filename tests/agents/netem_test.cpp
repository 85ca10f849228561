// netem's command lines (agents/netem.hpp): what Topology::set_shape and set_loss run on each
// end of a link. The real qdiscs: TwoSitesNetem.* in agents_test.cpp (label sctp, in the VM).
#include "agents/netem.hpp"

#include <gtest/gtest.h>

namespace rsplab::agents {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;

TEST(Netem, DelayJitterCorrelationDistributionRateAndLoss) {
  LinkShape s;
  s.delay = 25ms;
  EXPECT_EQ(netem_args("ns", "eth1", s),
            (Args{"-n", "ns", "qdisc", "replace", "dev", "eth1", "root", "netem", "delay",
                  "25000us"}));
  s.jitter = 5ms;
  s.correlation = 2550;
  s.normal = true;
  s.rate = 10'000'000;
  s.loss = 5;
  EXPECT_EQ(netem_args("ns", "s1i2", s),
            (Args{"-n", "ns", "qdisc", "replace", "dev", "s1i2", "root", "netem", "delay",
                  "25000us", "5000us", "25.50%", "distribution", "normal", "rate",
                  "10000000bit", "loss", "random", "0.05%"}));
}

TEST(Netem, RateOrLossAloneAndNoneDeletesTheQdisc) {
  LinkShape s;
  s.rate = 1000;
  EXPECT_EQ(netem_args("ns", "eth1", s),
            (Args{"-n", "ns", "qdisc", "replace", "dev", "eth1", "root", "netem", "rate",
                  "1000bit"}));
  s = {};
  s.loss = 10000;
  EXPECT_EQ(netem_args("ns", "eth1", s),
            (Args{"-n", "ns", "qdisc", "replace", "dev", "eth1", "root", "netem", "loss",
                  "random", "100%"}));
  // A correlation without jitter means nothing to netem: left out.
  s = {};
  s.delay = 1ms;
  s.correlation = 1000;
  EXPECT_EQ(netem_args("ns", "eth1", s).back(), "1000us");
  EXPECT_TRUE(LinkShape{}.none());
  EXPECT_EQ(netem_args("ns", "eth1", {}), (Args{"-n", "ns", "qdisc", "del", "dev", "eth1", "root"}));
}

TEST(Netem, HundredthsReadBackExactly) {
  EXPECT_EQ(hundredths_text(0), "0%");
  EXPECT_EQ(hundredths_text(1), "0.01%");
  EXPECT_EQ(hundredths_text(250), "2.50%");
  EXPECT_EQ(hundredths_text(10000), "100%");
}

}  // namespace
}  // namespace rsplab::agents
