// Pool policy properties over seeded picks (at least 10^4 per policy): round robin is
// exactly cyclic, WRR gives each PE its weight per round, the weighted random family
// stays within 6 sigma of its weights, the least-used family never picks a higher key
// while a lower one exists (ties: least recently selected), degradation accumulates
// once per selection and resets on a new load, picks of n are distinct, and only the
// first max_increment of them advance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "stack/handlespace/handlespace.hpp"

namespace {

namespace hs = rserpool::handlespace;
namespace w = rserpool::wire;
using hs::Handlespace;
using hs::PeRef;
using hs::Rng;
using w::PolicyType;

constexpr std::string_view kPool = "TestPool";
constexpr std::uint32_t kOne = w::kFractionOne;

w::PoolElement make_pe(std::uint32_t id, PolicyType type, std::uint32_t home = 1) {
  w::PoolElement pe;
  pe.identifier = id;
  pe.home_server = home;
  pe.registration_life = 30000;
  pe.user_transport.port = 7;
  pe.user_transport.addresses = {w::Address::v4(10, 0, 0, static_cast<std::uint8_t>(id))};
  pe.policy.type = type;
  return pe;
}

PeRef add(Handlespace& h, const w::PoolElement& pe, std::string_view pool = kPool) {
  const auto r = h.register_pe(pool, pe);
  EXPECT_EQ(r.outcome, Handlespace::Outcome::added);
  return r.ref;
}

PeRef update(Handlespace& h, const w::PoolElement& pe, std::string_view pool = kPool) {
  const auto r = h.register_pe(pool, pe);
  EXPECT_EQ(r.outcome, Handlespace::Outcome::updated);
  return r.ref;
}

PeRef pick1(Handlespace& h, Rng& rng, std::size_t max_increment = 1) {
  std::vector<PeRef> out;
  EXPECT_EQ(h.select(kPool, 1, rng, out, max_increment), 1u);
  return out.empty() ? Handlespace::kNone : out[0];
}

// Counts drawn with probabilities weights/sum must lie within 6 sigma (+3 for
// near-zero probabilities, where the normal approximation fails) of their means: a
// correct implementation fails a bucket with probability < 1e-8.
void expect_proportional(const std::vector<std::uint64_t>& counts,
                         const std::vector<double>& weights, const std::string& what) {
  ASSERT_EQ(counts.size(), weights.size());
  double total_w = 0;
  std::uint64_t n = 0;
  for (double x : weights) total_w += x;
  for (auto c : counts) n += c;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double p = weights[i] / total_w;
    if (weights[i] == 0) {
      EXPECT_EQ(counts[i], 0u) << what << ": bucket " << i << " has weight 0";
      continue;
    }
    const double mean = static_cast<double>(n) * p;
    const double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
    EXPECT_LE(std::abs(static_cast<double>(counts[i]) - mean), 6 * sigma + 3)
        << what << ": bucket " << i << " got " << counts[i] << ", expected " << mean
        << " ± " << sigma;
  }
}

// ------------------------------------------------------------------------------------
// Round robin and weighted round robin: exact sequences are the contract.
// ------------------------------------------------------------------------------------

TEST(PolicyTest, RoundRobinIsExactlyCyclic) {
  Handlespace h;
  Rng rng(1);
  std::vector<PeRef> refs;
  for (std::uint32_t id = 1; id <= 7; ++id)
    refs.push_back(add(h, make_pe(id, PolicyType::round_robin)));
  std::vector<PeRef> seq;
  for (int i = 0; i < 10000; ++i) seq.push_back(pick1(h, rng));
  // The first cycle visits every PE once, in registration order (each new PE counts
  // as the most recently selected), and every later pick repeats it.
  EXPECT_EQ(std::vector<PeRef>(seq.begin(), seq.begin() + 7), refs);
  for (std::size_t i = 7; i < seq.size(); ++i) ASSERT_EQ(seq[i], seq[i - 7]) << i;
}

TEST(PolicyTest, RoundRobinMembershipChangesKeepTheRotation) {
  Handlespace h;
  Rng rng(2);
  const PeRef a = add(h, make_pe(1, PolicyType::round_robin));
  const PeRef b = add(h, make_pe(2, PolicyType::round_robin));
  const PeRef c = add(h, make_pe(3, PolicyType::round_robin));
  EXPECT_EQ(pick1(h, rng), a);
  // A newcomer counts as just selected: it joins the end of the rotation (b c a d).
  const PeRef d = add(h, make_pe(4, PolicyType::round_robin));
  // A re-registration keeps the PE's place.
  update(h, make_pe(2, PolicyType::round_robin, 9));
  EXPECT_EQ(pick1(h, rng), b);
  // Removing the next one skips it; the rotation goes on (a d b).
  ASSERT_TRUE(h.deregister(kPool, 3));
  std::vector<PeRef> seq;
  for (int i = 0; i < 10000; ++i) seq.push_back(pick1(h, rng));
  EXPECT_EQ(seq[0], a);
  EXPECT_EQ(seq[1], d);
  EXPECT_EQ(seq[2], b);
  for (std::size_t i = 3; i < seq.size(); ++i) ASSERT_EQ(seq[i], seq[i - 3]) << i;
  (void)c;
}

TEST(PolicyTest, RoundRobinMaxIncrementAdvancesOnlyTheFirst) {
  Handlespace h;
  Rng rng(3);
  std::vector<PeRef> r;
  for (std::uint32_t id = 1; id <= 5; ++id) r.push_back(add(h, make_pe(id, PolicyType::round_robin)));
  std::vector<PeRef> out;
  ASSERT_EQ(h.select(kPool, 3, rng, out), 3u);
  EXPECT_EQ(out, (std::vector<PeRef>{r[0], r[1], r[2]}));
  out.clear();
  ASSERT_EQ(h.select(kPool, 3, rng, out, 2), 3u);
  EXPECT_EQ(out, (std::vector<PeRef>{r[1], r[2], r[3]}));
  out.clear();  // r1 and r2 went to the end, in that order
  ASSERT_EQ(h.select(kPool, 9, rng, out, 0), 5u);
  EXPECT_EQ(out, (std::vector<PeRef>{r[3], r[4], r[0], r[1], r[2]}));
  out.clear();  // max_increment 0 moved nothing
  ASSERT_EQ(h.select(kPool, 2, rng, out, 5), 2u);
  EXPECT_EQ(out, (std::vector<PeRef>{r[3], r[4]}));
}

TEST(PolicyTest, WeightedRoundRobinGivesEachPeItsWeightPerRound) {
  Handlespace h;
  Rng rng(4);
  const std::vector<std::uint32_t> weights{1, 2, 3, 0, 5, 1};
  std::map<PeRef, std::uint32_t> weight_of;
  for (std::uint32_t i = 0; i < weights.size(); ++i) {
    auto pe = make_pe(i + 1, PolicyType::weighted_round_robin);
    pe.policy.weight = weights[i];
    weight_of[add(h, pe)] = weights[i];
  }
  const std::uint32_t round = 12;  // sum of the weights
  std::vector<PeRef> seq;
  for (int i = 0; i < 12000; ++i) seq.push_back(pick1(h, rng));
  for (std::size_t start = 0; start < seq.size(); start += round) {
    std::map<PeRef, std::uint32_t> count;
    for (std::size_t i = start; i < start + round; ++i) ++count[seq[i]];
    for (const auto& [ref, wgt] : weight_of)
      ASSERT_EQ(count[ref], wgt) << "round starting at pick " << start;
  }
  // Interleaved, not in blocks: within a round no PE is picked twice in a row while
  // another PE still has picks left in it.
  for (std::size_t i = 1; i < round; ++i) {
    if (seq[i] != seq[i - 1]) continue;
    std::map<PeRef, std::uint32_t> left = weight_of;
    for (std::size_t j = 0; j < i; ++j) --left[seq[j]];
    for (const auto& [ref, n] : left) EXPECT_TRUE(ref == seq[i] || n == 0) << i;
  }
}

TEST(PolicyTest, WeightedRoundRobinWeightChanges) {
  Handlespace h;
  Rng rng(5);
  auto a = make_pe(1, PolicyType::weighted_round_robin);
  auto b = make_pe(2, PolicyType::weighted_round_robin);
  auto c = make_pe(3, PolicyType::weighted_round_robin);
  a.policy.weight = 2;
  b.policy.weight = 1;
  c.policy.weight = 0;
  const PeRef ra = add(h, a), rb = add(h, b), rc = add(h, c);
  for (int i = 0; i < 300; ++i) ASSERT_NE(pick1(h, rng), rc);
  // A weight of 0 raised to 3: the PE joins and gets its 3 picks per round.
  c.policy.weight = 3;
  update(h, c);
  std::map<PeRef, int> count;
  for (int i = 0; i < 600; ++i) ++count[pick1(h, rng)];
  EXPECT_EQ(count[ra], 200);
  EXPECT_EQ(count[rb], 100);
  EXPECT_EQ(count[rc], 300);
  // A weight lowered to 0: never picked again.
  a.policy.weight = 0;
  update(h, a);
  count.clear();
  for (int i = 0; i < 400; ++i) ++count[pick1(h, rng)];
  EXPECT_EQ(count[ra], 0);
  EXPECT_EQ(count[rb], 100);
  EXPECT_EQ(count[rc], 300);
  // Nothing selectable: an empty answer.
  b.policy.weight = 0;
  c.policy.weight = 0;
  update(h, b);
  update(h, c);
  std::vector<PeRef> out;
  EXPECT_EQ(h.select(kPool, 3, rng, out), 0u);
  EXPECT_TRUE(out.empty());
}

// ------------------------------------------------------------------------------------
// Ordered policies: the lowest key always, ties by least recently selected.
// ------------------------------------------------------------------------------------

struct OrderedCase {
  PolicyType type;
  const char* name;
  bool degrades;
};

void PrintTo(const OrderedCase& c, std::ostream* os) { *os << c.name; }

class PolicyOrderedTest : public ::testing::TestWithParam<OrderedCase> {};

// The key the policy orders by, from the PE's parameters and its degradation
// accumulated since its last load report (u128: no wrap-around to hide a bug).
__extension__ using u128 = unsigned __int128;

u128 key_of(PolicyType t, const w::Policy& p, std::uint64_t acc) {
  switch (t) {
    case PolicyType::priority: return kOne - p.priority;
    case PolicyType::least_used: return p.load;
    case PolicyType::least_used_degradation: return u128{p.load} + acc;
    case PolicyType::priority_least_used: return u128{p.load} + p.load_degradation;
    case PolicyType::priority_least_used_degradation:
      return u128{p.load} + p.load_degradation + acc;
    case PolicyType::least_used_dpf: return u128{p.load} + u128{p.distance} * p.load_dpf;
    case PolicyType::least_used_degradation_dpf:
      return u128{p.load} + acc + u128{p.distance} * p.load_dpf;
    default: ADD_FAILURE() << "not an ordered policy"; return 0;
  }
}

TEST_P(PolicyOrderedTest, NeverPicksAHigherKeyWhileALowerExists) {
  const OrderedCase c = GetParam();
  Handlespace h;
  Rng rng(0x5eed0000 + static_cast<std::uint32_t>(c.type));
  Rng params(77);
  constexpr std::uint32_t kPes = 6;
  // Few distinct values: ties are common, so the tie rule is exercised too.
  const auto small = [&](std::uint32_t scale) {
    return static_cast<std::uint32_t>(params.below(4)) * scale;
  };
  std::vector<w::PoolElement> pes;
  std::vector<PeRef> refs;
  std::vector<std::uint64_t> acc(kPes, 0), last(kPes, 0);
  std::uint64_t clock = 0;
  const auto randomize = [&](w::PoolElement& pe) {
    pe.policy.load = small(1000);
    pe.policy.priority = small(1);
    pe.policy.load_degradation = small(300);
    pe.policy.load_dpf = small(2);
    pe.policy.distance = small(250);
  };
  for (std::uint32_t i = 0; i < kPes; ++i) {
    pes.push_back(make_pe(100 + i, c.type));
    randomize(pes.back());
    refs.push_back(add(h, pes.back()));
    last[i] = ++clock;  // a newcomer counts as just selected
  }
  for (int pick = 0; pick < 10000; ++pick) {
    if (pick % 7 == 6) {  // a re-registration: new parameters, same or new load
      const auto i = static_cast<std::size_t>(params.below(kPes));
      const std::uint32_t old_load = pes[i].policy.load;
      randomize(pes[i]);
      if (params.below(2) == 0) pes[i].policy.load = old_load;
      ASSERT_EQ(update(h, pes[i]), refs[i]);
      if (pes[i].policy.load != old_load) acc[i] = 0;
    }
    const PeRef got = pick1(h, rng);
    const auto gi = static_cast<std::size_t>(std::find(refs.begin(), refs.end(), got) - refs.begin());
    ASSERT_LT(gi, kPes);
    const auto gkey = key_of(c.type, pes[gi].policy, acc[gi]);
    for (std::size_t j = 0; j < kPes; ++j) {
      const auto k = key_of(c.type, pes[j].policy, acc[j]);
      ASSERT_LE(gkey, k) << "pick " << pick << " chose a higher key";
      if (k == gkey && j != gi) {
        ASSERT_LT(last[gi], last[j]) << "pick " << pick << ": not the least recently selected";
      }
    }
    last[gi] = ++clock;
    if (c.degrades) acc[gi] += pes[gi].policy.load_degradation;
    // Degradation is added exactly once per selection (not twice, as in RSPLIB).
    for (std::size_t j = 0; j < kPes; ++j)
      ASSERT_EQ(h.entry(refs[j]).state, c.degrades ? acc[j] : 0u) << "pick " << pick;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ordered, PolicyOrderedTest,
    ::testing::Values(OrderedCase{PolicyType::priority, "priority", false},
                      OrderedCase{PolicyType::least_used, "lu", false},
                      OrderedCase{PolicyType::least_used_degradation, "lud", true},
                      OrderedCase{PolicyType::priority_least_used, "plu", false},
                      OrderedCase{PolicyType::priority_least_used_degradation, "plud", true},
                      OrderedCase{PolicyType::least_used_dpf, "lu_dpf", false},
                      OrderedCase{PolicyType::least_used_degradation_dpf, "lud_dpf", true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyTest, PriorityPrefersHigherPriorityThenRotatesAmongEquals) {
  Handlespace h;
  Rng rng(6);
  const std::vector<std::uint32_t> prio{5, 5, 9, 3, 5};
  std::vector<PeRef> r;
  for (std::uint32_t i = 0; i < prio.size(); ++i) {
    auto pe = make_pe(i + 1, PolicyType::priority);
    pe.policy.priority = prio[i];
    r.push_back(add(h, pe));
  }
  std::vector<PeRef> out;
  ASSERT_EQ(h.select(kPool, 5, rng, out, 0), 5u);
  EXPECT_EQ(out, (std::vector<PeRef>{r[2], r[0], r[1], r[4], r[3]}));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(pick1(h, rng), r[2]);
  ASSERT_TRUE(h.deregister(kPool, 3));
  for (int i = 0; i < 300; ++i) ASSERT_EQ(pick1(h, rng), (std::vector<PeRef>{r[0], r[1], r[4]})[i % 3]);
}

TEST(PolicyTest, LeastUsedDegradationResetsOnlyOnANewLoad) {
  Handlespace h;
  Rng rng(7);
  auto a = make_pe(1, PolicyType::least_used_degradation);
  auto b = make_pe(2, PolicyType::least_used_degradation);
  a.policy.load = 1000;
  a.policy.load_degradation = 100;
  b.policy.load = 1250;
  b.policy.load_degradation = 100;
  const PeRef ra = add(h, a), rb = add(h, b);
  // 1000, 1100, 1200 < 1250, then b (1250 < 1300).
  EXPECT_EQ(pick1(h, rng), ra);
  EXPECT_EQ(pick1(h, rng), ra);
  EXPECT_EQ(pick1(h, rng), ra);
  EXPECT_EQ(h.entry(ra).state, 300u);
  EXPECT_EQ(pick1(h, rng), rb);
  EXPECT_EQ(h.entry(rb).state, 100u);
  // The same load again (another field changed): the degradation stays.
  a.policy.load_degradation = 50;
  update(h, a);
  EXPECT_EQ(h.entry(ra).state, 300u);
  EXPECT_EQ(pick1(h, rng), ra);  // a 1300 < b 1350
  EXPECT_EQ(h.entry(ra).state, 350u);
  EXPECT_EQ(pick1(h, rng), rb);  // 1350 each: b was selected less recently
  // A new load: a's degradation starts again from 0 (2000 + 0 > b's 1250 + 200).
  a.policy.load = 2000;
  update(h, a);
  EXPECT_EQ(h.entry(ra).state, 0u);
  EXPECT_EQ(pick1(h, rng), rb);
  a.policy.load = 1000;
  update(h, a);
  EXPECT_EQ(pick1(h, rng), ra);
  EXPECT_EQ(h.entry(ra).state, 50u);
}

TEST(PolicyTest, DistancePenaltySaturatesButStaysSelectable) {
  for (PolicyType t : {PolicyType::least_used_dpf, PolicyType::least_used_degradation_dpf}) {
    Handlespace h;
    Rng rng(14);
    auto far = make_pe(1, t);
    far.policy.load = kOne;
    far.policy.load_degradation = kOne;
    far.policy.load_dpf = kOne;
    far.policy.distance = kOne;
    const PeRef rf = add(h, far);
    // Alone, it is picked however far its key saturates (LUD-DPF passes 2^64 − 1
    // after one selection).
    for (int i = 0; i < 100; ++i) ASSERT_EQ(pick1(h, rng), rf) << i;
    auto near = make_pe(2, t);
    near.policy.load = kOne;
    const PeRef rn = add(h, near);
    std::vector<PeRef> out;
    ASSERT_EQ(h.select(kPool, 2, rng, out), 2u);
    EXPECT_EQ(out, (std::vector<PeRef>{rn, rf}));
  }
}

// ------------------------------------------------------------------------------------
// Randomized policies: proportional to their weights, within tolerance.
// ------------------------------------------------------------------------------------

// Picks `picks` times with max_increment 0 (no state change) and counts per PE.
std::vector<std::uint64_t> draw(Handlespace& h, const std::vector<PeRef>& refs, Rng& rng,
                                int picks) {
  std::vector<std::uint64_t> counts(refs.size(), 0);
  for (int i = 0; i < picks; ++i) {
    const PeRef got = pick1(h, rng, 0);
    const auto it = std::find(refs.begin(), refs.end(), got);
    EXPECT_NE(it, refs.end());
    if (it != refs.end()) ++counts[static_cast<std::size_t>(it - refs.begin())];
  }
  return counts;
}

TEST(PolicyTest, RandomIsUniform) {
  Handlespace h;
  Rng rng(8);
  std::vector<PeRef> refs;
  for (std::uint32_t i = 0; i < 7; ++i) refs.push_back(add(h, make_pe(i, PolicyType::random)));
  expect_proportional(draw(h, refs, rng, 70000), std::vector<double>(7, 1.0), "random");
}

TEST(PolicyTest, WeightedRandomFollowsTheWeights) {
  Handlespace h;
  Rng rng(9);
  const std::vector<std::uint32_t> weights{1, 2, 3, 0, 10, 4000000000u, 1000000000u};
  std::vector<PeRef> refs;
  for (std::uint32_t i = 0; i < weights.size(); ++i) {
    auto pe = make_pe(i, PolicyType::weighted_random);
    pe.policy.weight = weights[i];
    refs.push_back(add(h, pe));
  }
  // Two regimes: the small weights alone, then with the large ones.
  {
    Handlespace small;
    std::vector<PeRef> sr;
    for (std::uint32_t i = 0; i < 5; ++i) {
      auto pe = make_pe(i, PolicyType::weighted_random);
      pe.policy.weight = weights[i];
      sr.push_back(add(small, pe));
    }
    expect_proportional(draw(small, sr, rng, 50000), {1, 2, 3, 0, 10}, "wrand small");
  }
  expect_proportional(draw(h, refs, rng, 50000),
                      std::vector<double>(weights.begin(), weights.end()), "wrand");
}

TEST(PolicyTest, WeightedRandomPairsAreDrawnWithoutReplacement) {
  Handlespace h;
  Rng rng(10);
  const std::vector<double> wts{1, 2, 3, 4};
  std::vector<PeRef> refs;
  for (std::uint32_t i = 0; i < wts.size(); ++i) {
    auto pe = make_pe(i, PolicyType::weighted_random);
    pe.policy.weight = static_cast<std::uint32_t>(wts[i]);
    refs.push_back(add(h, pe));
  }
  // P(first i, then j) = w_i / W · w_j / (W − w_i).
  std::vector<std::uint64_t> counts(16, 0);
  std::vector<double> expected(16, 0);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      if (i != j) expected[i * 4 + j] = wts[i] / 10 * wts[j] / (10 - wts[i]);
  for (int k = 0; k < 40000; ++k) {
    std::vector<PeRef> out;
    ASSERT_EQ(h.select(kPool, 2, rng, out), 2u);
    const auto i = std::find(refs.begin(), refs.end(), out[0]) - refs.begin();
    const auto j = std::find(refs.begin(), refs.end(), out[1]) - refs.begin();
    ASSERT_NE(i, j);
    ++counts[static_cast<std::size_t>(i * 4 + j)];
  }
  expect_proportional(counts, expected, "wrand pairs");
}

TEST(PolicyTest, RandomizedLeastUsedFollowsTheHeadroom) {
  for (PolicyType t : {PolicyType::randomized_least_used,
                       PolicyType::randomized_priority_least_used}) {
    Handlespace h;
    Rng rng(11);
    const std::vector<std::uint32_t> loads{0, 0x7fffffff, 0xbfffffff, 0xffffffff, 0xfffffff0};
    std::vector<PeRef> refs;
    std::vector<double> expected;
    for (std::uint32_t i = 0; i < loads.size(); ++i) {
      auto pe = make_pe(i, t);
      pe.policy.load = loads[i];
      pe.policy.load_degradation = 0x10000000;  // PLU's static term: not in RPLU's weight
      refs.push_back(add(h, pe));
      expected.push_back(static_cast<double>(kOne - loads[i]) + 1);
    }
    expect_proportional(draw(h, refs, rng, 50000), expected,
                        std::string(w::policy_info(t)->short_name));
  }
}

TEST(PolicyTest, RandomizedDegradationPoliciesFollowTheDegradedHeadroom) {
  for (PolicyType t : {PolicyType::randomized_least_used_degradation,
                       PolicyType::randomized_priority_least_used_degradation}) {
    const bool plud = t == PolicyType::randomized_priority_least_used_degradation;
    Handlespace h;
    Rng rng(12);
    const std::vector<std::uint32_t> loads{0, 0x40000000, 0x80000000, 0xc0000000};
    const std::vector<std::uint32_t> degr{0x08000000, 0x10000000, 0, 0x20000000};
    std::vector<PeRef> refs;
    for (std::uint32_t i = 0; i < loads.size(); ++i) {
      auto pe = make_pe(i, t);
      pe.policy.load = loads[i];
      pe.policy.load_degradation = degr[i];
      refs.push_back(add(h, pe));
    }
    // Build up degradation: each selection adds the PE's degradation exactly once.
    std::vector<std::uint64_t> acc(refs.size(), 0);
    for (int i = 0; i < 10000; ++i) {
      const PeRef got = pick1(h, rng);
      const auto k = static_cast<std::size_t>(std::find(refs.begin(), refs.end(), got) - refs.begin());
      ASSERT_LT(k, refs.size());
      acc[k] += degr[k];
      ASSERT_EQ(h.entry(got).state, acc[k]);
      if (i % 50 == 49) {  // a load report resets it
        auto pe = make_pe(static_cast<std::uint32_t>(k), t);
        pe.policy.load = loads[k] + 1;
        pe.policy.load_degradation = degr[k];
        update(h, pe);
        pe.policy.load = loads[k];
        update(h, pe);
        acc[k] = 0;
        ASSERT_EQ(h.entry(got).state, 0u);
      }
    }
    // Then, frozen (max_increment 0), the picks follow headroom(load [+ degr] + acc).
    std::vector<double> expected;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const double used = static_cast<double>(loads[i]) + (plud ? degr[i] : 0) +
                          static_cast<double>(acc[i]);
      expected.push_back(used >= kOne ? 1.0 : kOne - used + 1);
    }
    expect_proportional(draw(h, refs, rng, 50000), expected,
                        std::string(w::policy_info(t)->short_name));
  }
}

TEST(PolicyTest, WeightedRandomDpfPenalizesDistance) {
  Handlespace h;
  Rng rng(13);
  struct P {
    std::uint32_t weight, dpf, distance;
  };
  // Penalty = distance × DPF, a fraction of 2^32; at 2^32 or more the PE is never picked.
  const std::vector<P> ps{{10, 0, 0},
                          {10, 0x00100000, 1000},    // penalty 2^32·1000/4096 ≈ 24%
                          {20, 0x00400000, 512},     // exactly half
                          {10, 0x00400000, 1024},    // exactly 2^32: never
                          {10, 0xffffffff, 0xffffffff},
                          {0, 0, 0}};
  std::vector<PeRef> refs;
  std::vector<double> expected;
  for (std::uint32_t i = 0; i < ps.size(); ++i) {
    auto pe = make_pe(i, PolicyType::weighted_random_dpf);
    pe.policy.weight = ps[i].weight;
    pe.policy.weight_dpf = ps[i].dpf;
    pe.policy.distance = ps[i].distance;
    refs.push_back(add(h, pe));
    const double penalty = static_cast<double>(ps[i].dpf) * ps[i].distance;
    expected.push_back(penalty >= 4294967296.0 ? 0 : ps[i].weight * (1 - penalty / 4294967296.0));
  }
  expect_proportional(draw(h, refs, rng, 50000), expected, "wrand-dpf");
}

// ------------------------------------------------------------------------------------
// Every policy: n distinct picks, and max_increment.
// ------------------------------------------------------------------------------------

class PolicyAllTest : public ::testing::TestWithParam<PolicyType> {};

std::vector<PolicyType> all_policy_types() {
  std::vector<PolicyType> v;
  for (const auto& p : w::all_policies()) v.push_back(p.type);
  return v;
}

bool is_randomized(PolicyType t) {
  switch (t) {
    case PolicyType::random:
    case PolicyType::weighted_random:
    case PolicyType::randomized_least_used:
    case PolicyType::randomized_priority_least_used:
    case PolicyType::randomized_least_used_degradation:
    case PolicyType::randomized_priority_least_used_degradation:
    case PolicyType::weighted_random_dpf:
      return true;
    default:
      return false;
  }
}

bool degrades(PolicyType t) {
  return t == PolicyType::least_used_degradation ||
         t == PolicyType::priority_least_used_degradation ||
         t == PolicyType::least_used_degradation_dpf ||
         t == PolicyType::randomized_least_used_degradation ||
         t == PolicyType::randomized_priority_least_used_degradation;
}

w::PoolElement varied_pe(std::uint32_t id, PolicyType t, Rng& params) {
  auto pe = make_pe(id, t);
  pe.policy.weight = 1 + static_cast<std::uint32_t>(params.below(5));
  pe.policy.priority = static_cast<std::uint32_t>(params.below(3));
  pe.policy.load = static_cast<std::uint32_t>(params.below(4)) << 28;
  pe.policy.load_degradation = static_cast<std::uint32_t>(params.below(3)) << 24;
  pe.policy.load_dpf = static_cast<std::uint32_t>(params.below(3)) << 16;
  pe.policy.weight_dpf = static_cast<std::uint32_t>(params.below(3)) << 16;
  pe.policy.distance = static_cast<std::uint32_t>(params.below(3)) * 50;
  return pe;
}

TEST_P(PolicyAllTest, PicksOfNAreDistinctMembers) {
  const PolicyType t = GetParam();
  Handlespace h;
  Rng rng(100 + static_cast<std::uint32_t>(t));
  Rng params(5);
  constexpr std::size_t kPes = 6;
  std::set<PeRef> members;
  for (std::uint32_t i = 0; i < kPes; ++i) members.insert(add(h, varied_pe(i, t, params)));
  std::size_t picks = 0;
  for (int k = 0; picks < 10000; ++k) {
    const std::size_t n = 1 + static_cast<std::size_t>(rng.below(8));
    std::vector<PeRef> out{Handlespace::kNone};  // appended to, never overwritten
    ASSERT_EQ(h.select(kPool, n, rng, out, static_cast<std::size_t>(rng.below(n + 2))),
              std::min(n, kPes));
    ASSERT_EQ(out.size(), 1 + std::min(n, kPes));
    EXPECT_EQ(out[0], Handlespace::kNone);
    const std::set<PeRef> distinct(out.begin() + 1, out.end());
    ASSERT_EQ(distinct.size(), out.size() - 1) << "a PE picked twice in one selection";
    for (PeRef r : distinct) ASSERT_TRUE(members.count(r));
    picks += out.size() - 1;
  }
  // n = 0, or an unknown pool: nothing.
  std::vector<PeRef> out;
  EXPECT_EQ(h.select(kPool, 0, rng, out), 0u);
  EXPECT_EQ(h.select("NoSuchPool", 3, rng, out), 0u);
  EXPECT_TRUE(out.empty());
}

TEST_P(PolicyAllTest, OnlyTheFirstMaxIncrementAdvance) {
  const PolicyType t = GetParam();
  Rng params(6);
  constexpr std::uint32_t kPes = 6;
  for (std::size_t max_inc = 0; max_inc <= 4; ++max_inc) {
    Handlespace h;
    Rng rng(200 + max_inc);
    std::vector<w::PoolElement> pes;
    for (std::uint32_t i = 0; i < kPes; ++i) {
      pes.push_back(varied_pe(i, t, params));
      pes.back().policy.load_degradation = 0x01000000 * (i + 1);  // every PE degrades
      add(h, pes.back());
    }
    for (int round = 0; round < 200; ++round) {
      std::vector<std::uint64_t> before;
      for (PeRef r : h.members(kPool)) before.push_back(h.entry(r).state);
      std::vector<PeRef> out;
      ASSERT_EQ(h.select(kPool, 4, rng, out, max_inc), 4u);
      std::vector<PeRef> again;
      Rng rng_copy = rng;
      h.select(kPool, 4, rng_copy, again, 0);
      if (max_inc == 0 && !is_randomized(t)) {
        // No state moved: a deterministic policy answers the same again.
        ASSERT_EQ(again, out);
      }
      std::size_t i = 0;
      for (PeRef r : h.members(kPool)) {
        const auto pos = std::find(out.begin(), out.end(), r) - out.begin();
        const bool advanced = static_cast<std::size_t>(pos) < max_inc;
        std::uint64_t expect = before[i++];
        if (degrades(t) && advanced) expect += h.entry(r).element.policy.load_degradation;
        if (t == PolicyType::weighted_round_robin && advanced)
          expect = expect == 1 ? h.entry(r).element.policy.weight : expect - 1;
        ASSERT_EQ(h.entry(r).state, expect) << "max_increment " << max_inc << " pos " << pos;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, PolicyAllTest, ::testing::ValuesIn(all_policy_types()),
                         [](const auto& info) {
                           std::string s(w::policy_info(info.param)->short_name);
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

// The parameterized suites above run over all 16 codes, and the handlespace takes each.
TEST(PolicyTest, AllSixteenPoliciesAreCoveredAndAccepted) {
  const auto types = all_policy_types();
  EXPECT_EQ(std::set<PolicyType>(types.begin(), types.end()).size(), 16u);
  Handlespace h;
  for (PolicyType t : types) {
    const std::string pool(w::policy_info(t)->short_name);
    EXPECT_EQ(h.register_pe(pool, make_pe(1, t)).outcome, Handlespace::Outcome::added) << pool;
    EXPECT_EQ(h.pool_policy(pool), t);
  }
}

}  // namespace
