// The handlespace's contract: registration, update in place, refusal of an
// inconsistent or unknown policy, deregistration and pool removal, the ownership index
// and its checksums, per-PE timers, and PeRef reuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
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
using hs::TimerKind;
using hs::TimePoint;
using Outcome = Handlespace::Outcome;
using std::chrono::milliseconds;
using w::PolicyType;

w::PoolElement make_pe(std::uint32_t id, PolicyType type = PolicyType::round_robin,
                       std::uint32_t home = 1) {
  w::PoolElement pe;
  pe.identifier = id;
  pe.home_server = home;
  pe.registration_life = 30000;
  pe.user_transport.port = 7;
  pe.user_transport.addresses = {w::Address::v4(10, 0, 0, static_cast<std::uint8_t>(id))};
  pe.policy.type = type;
  return pe;
}

TimePoint at(int ms) { return TimePoint(milliseconds(ms)); }

std::vector<PeRef> sorted(std::vector<PeRef> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<PeRef> members(const Handlespace& h, std::string_view pool) {
  const auto m = h.members(pool);
  return sorted(std::vector<PeRef>(m.begin(), m.end()));
}

TEST(HandlespaceTest, EmptyHandlespace) {
  Handlespace h;
  Rng rng;
  std::vector<PeRef> out;
  EXPECT_EQ(h.pool_count(), 0u);
  EXPECT_EQ(h.pe_count(), 0u);
  EXPECT_EQ(h.checksum(), 0xffff);  // the complement of an empty sum
  EXPECT_EQ(h.owner_checksum(1), 0xffff);
  EXPECT_EQ(h.owned_count(1), 0u);
  EXPECT_TRUE(h.owned_by(1).empty());
  EXPECT_TRUE(h.owners().empty());
  EXPECT_TRUE(h.members("P").empty());
  EXPECT_TRUE(h.pool_handles().empty());
  EXPECT_FALSE(h.pool_policy("P"));
  EXPECT_FALSE(h.find("P", 1));
  EXPECT_FALSE(h.deregister("P", 1));
  EXPECT_FALSE(h.next_timer());
  EXPECT_EQ(h.select("P", 3, rng, out), 0u);
}

TEST(HandlespaceTest, RegisterFindAndUpdateInPlace) {
  Handlespace h;
  auto pe = make_pe(0x1234abcd, PolicyType::least_used, 7);
  pe.policy.load = 100;
  const auto r = h.register_pe("EchoPool", pe);
  ASSERT_EQ(r.outcome, Outcome::added);
  EXPECT_EQ(h.pool_count(), 1u);
  EXPECT_EQ(h.pe_count(), 1u);
  EXPECT_EQ(h.find("EchoPool", 0x1234abcd), r.ref);
  EXPECT_FALSE(h.find("EchoPool", 0x1234abce));
  EXPECT_FALSE(h.find("EchoPoo", 0x1234abcd));
  EXPECT_EQ(h.entry(r.ref).element, pe);
  EXPECT_EQ(h.pool_handle(r.ref), "EchoPool");
  EXPECT_EQ(h.pool_policy("EchoPool"), PolicyType::least_used);
  EXPECT_EQ(members(h, "EchoPool"), std::vector<PeRef>{r.ref});
  EXPECT_EQ(h.pool_handles(), std::vector<std::string_view>{"EchoPool"});

  // A re-registration: the same ref, parameters replaced, nothing added.
  pe.policy.load = 9000;
  pe.registration_life = 5000;
  pe.user_transport.port = 8;
  const auto u = h.register_pe("EchoPool", pe);
  EXPECT_EQ(u.outcome, Outcome::updated);
  EXPECT_EQ(u.ref, r.ref);
  EXPECT_EQ(h.entry(r.ref).element, pe);
  EXPECT_EQ(h.pe_count(), 1u);
  EXPECT_EQ(h.pool_count(), 1u);

  // The new load takes effect in selection at once.
  auto other = make_pe(2, PolicyType::least_used, 7);
  other.policy.load = 5000;
  const PeRef o = h.register_pe("EchoPool", other).ref;
  Rng rng;
  std::vector<PeRef> out;
  ASSERT_EQ(h.select("EchoPool", 1, rng, out), 1u);
  EXPECT_EQ(out[0], o);
  pe.policy.load = 1;
  h.register_pe("EchoPool", pe);
  out.clear();
  ASSERT_EQ(h.select("EchoPool", 1, rng, out), 1u);
  EXPECT_EQ(out[0], r.ref);
}

TEST(HandlespaceTest, InconsistentPolicyIsRefusedAndChangesNothing) {
  Handlespace h;
  const PeRef a = h.register_pe("P", make_pe(1, PolicyType::round_robin, 3)).ref;
  const std::uint16_t sum = h.checksum();
  // A new PE, and an existing PE re-registering, with another policy type.
  for (std::uint32_t id : {2u, 1u}) {
    const auto r = h.register_pe("P", make_pe(id, PolicyType::weighted_round_robin, 4));
    EXPECT_EQ(r.outcome, Outcome::inconsistent_policy);
    EXPECT_EQ(h.pe_count(), 1u);
    EXPECT_EQ(h.pool_policy("P"), PolicyType::round_robin);
    EXPECT_EQ(h.checksum(), sum);
    EXPECT_EQ(h.owned_count(4), 0u);
    EXPECT_FALSE(h.find("P", 2));
    EXPECT_EQ(h.entry(a).element, make_pe(1, PolicyType::round_robin, 3));
  }
  // Other pools are independent.
  EXPECT_EQ(h.register_pe("Q", make_pe(1, PolicyType::weighted_round_robin)).outcome,
            Outcome::added);
}

TEST(HandlespaceTest, UnknownPolicyIsRefused) {
  Handlespace h;
  for (std::uint32_t code : {0u, 6u, 0x40000005u, 0xb0001005u, 0xb0002004u, 0xffffffffu}) {
    const auto r = h.register_pe("P", make_pe(1, static_cast<PolicyType>(code)));
    EXPECT_EQ(r.outcome, Outcome::unknown_policy) << std::hex << code;
  }
  EXPECT_EQ(h.pool_count(), 0u);
  EXPECT_EQ(h.pe_count(), 0u);
  EXPECT_FALSE(h.pool_policy("P"));
  EXPECT_EQ(h.checksum(), 0xffff);
}

TEST(HandlespaceTest, PoolGoesWithItsLastPeAndMayComeBackWithAnotherPolicy) {
  Handlespace h;
  h.register_pe("P", make_pe(1, PolicyType::least_used));
  h.register_pe("P", make_pe(2, PolicyType::least_used));
  h.register_pe("Q", make_pe(1, PolicyType::random));
  EXPECT_EQ(h.pool_count(), 2u);
  EXPECT_TRUE(h.deregister("P", 1));
  EXPECT_FALSE(h.deregister("P", 1));
  EXPECT_FALSE(h.deregister("P", 3));
  EXPECT_EQ(h.pool_count(), 2u);
  EXPECT_TRUE(h.deregister("P", 2));
  EXPECT_EQ(h.pool_count(), 1u);
  EXPECT_EQ(h.pe_count(), 1u);
  EXPECT_FALSE(h.pool_policy("P"));
  EXPECT_TRUE(h.members("P").empty());
  EXPECT_EQ(h.pool_handles(), std::vector<std::string_view>{"Q"});
  // The handle is free: a new first PE sets a new policy.
  const auto r = h.register_pe("P", make_pe(2, PolicyType::priority));
  EXPECT_EQ(r.outcome, Outcome::added);
  EXPECT_EQ(h.pool_policy("P"), PolicyType::priority);
  EXPECT_EQ(h.find("P", 2), r.ref);
  EXPECT_FALSE(h.find("P", 1));
  EXPECT_EQ(h.pool_handles(), (std::vector<std::string_view>{"P", "Q"}));
  // remove() by ref does the same as deregister().
  h.remove(r.ref);
  EXPECT_FALSE(h.pool_policy("P"));
  EXPECT_EQ(h.pe_count(), 1u);
}

// ------------------------------------------------------------------------------------
// Checksums and ownership
// ------------------------------------------------------------------------------------

TEST(HandlespaceTest, ChecksumOfTheWireFormatExample) {
  // wire-format.md: EchoPool with PE 0x1234abcd gives 0xd44f.
  EXPECT_EQ(hs::fold_checksum(hs::checksum_contribution(hs::checksum_words("EchoPool"),
                                                        0x1234abcd)),
            0xd44f);
  Handlespace h;
  h.register_pe("EchoPool", make_pe(0x1234abcd, PolicyType::round_robin, 0x42));
  EXPECT_EQ(h.checksum(), 0xd44f);
  EXPECT_EQ(h.owner_checksum(0x42), 0xd44f);
  EXPECT_EQ(h.owner_checksum(0x43), 0xffff);
}

TEST(HandlespaceTest, ChecksumWords) {
  EXPECT_EQ(hs::checksum_words(""), 0u);
  EXPECT_EQ(hs::checksum_words("A"), 0x4100u);        // odd length: zero-padded
  EXPECT_EQ(hs::checksum_words("AB"), 0x4142u);
  EXPECT_EQ(hs::checksum_words("ABC"), 0x4142u + 0x4300u);
  EXPECT_EQ(hs::checksum_words("\xff\xff\xff"), 0xffffu + 0xff00u);  // bytes are unsigned
  EXPECT_EQ(hs::checksum_contribution(0x10, 0xabcd1234), 0x10u + 0xabcdu + 0x1234u);
  EXPECT_EQ(hs::fold_checksum(0), 0xffff);
  EXPECT_EQ(hs::fold_checksum(0xffff), 0x0000);
  EXPECT_EQ(hs::fold_checksum(0x1fffe), 0x0000);  // 0xfffe + 1 carry
  EXPECT_EQ(hs::fold_checksum(0x2bae + 0x20000), 0xd44f);
}

TEST(HandlespaceTest, OwnershipListsAndChecksums) {
  Handlespace h;
  const PeRef a = h.register_pe("EchoPool", make_pe(0x1234abcd, PolicyType::random, 1)).ref;
  const PeRef b = h.register_pe("EchoPool", make_pe(0x00010002, PolicyType::random, 2)).ref;
  const PeRef c = h.register_pe("Odd", make_pe(0xffffffff, PolicyType::random, 1)).ref;
  const auto sum_of = [](std::initializer_list<std::pair<std::string_view, std::uint32_t>> pes) {
    std::uint64_t s = 0;
    for (const auto& [pool, id] : pes)
      s += hs::checksum_contribution(hs::checksum_words(pool), id);
    return hs::fold_checksum(s);
  };
  EXPECT_EQ(h.owners(), (std::vector<hs::ServerId>{1, 2}));
  EXPECT_EQ(sorted(h.owned_by(1)), sorted({a, c}));
  EXPECT_EQ(h.owned_by(2), std::vector<PeRef>{b});
  EXPECT_EQ(h.owned_count(1), 2u);
  EXPECT_EQ(h.owner_checksum(1), sum_of({{"EchoPool", 0x1234abcd}, {"Odd", 0xffffffff}}));
  EXPECT_EQ(h.owner_checksum(2), sum_of({{"EchoPool", 0x00010002}}));
  EXPECT_EQ(h.checksum(), sum_of({{"EchoPool", 0x1234abcd},
                                  {"Odd", 0xffffffff},
                                  {"EchoPool", 0x00010002}}));
  const std::uint16_t total = h.checksum();

  // A re-registration through another home registrar moves the PE between owners;
  // the overall checksum does not change.
  h.register_pe("EchoPool", make_pe(0x1234abcd, PolicyType::random, 2));
  EXPECT_EQ(h.owned_by(1), std::vector<PeRef>{c});
  EXPECT_EQ(sorted(h.owned_by(2)), sorted({a, b}));
  EXPECT_EQ(h.owner_checksum(1), sum_of({{"Odd", 0xffffffff}}));
  EXPECT_EQ(h.owner_checksum(2), sum_of({{"EchoPool", 0x1234abcd}, {"EchoPool", 0x00010002}}));
  EXPECT_EQ(h.checksum(), total);

  // Removal: the owner disappears with its last PE.
  h.remove(c);
  EXPECT_EQ(h.owners(), std::vector<hs::ServerId>{2});
  EXPECT_EQ(h.owned_count(1), 0u);
  EXPECT_EQ(h.owner_checksum(1), 0xffff);
  EXPECT_EQ(h.checksum(), h.owner_checksum(2));
  h.deregister("EchoPool", 0x1234abcd);
  h.deregister("EchoPool", 0x00010002);
  EXPECT_TRUE(h.owners().empty());
  EXPECT_EQ(h.checksum(), 0xffff);
}

TEST(HandlespaceTest, ManyPoolsWithTheSamePeIds) {
  Handlespace h;
  constexpr std::uint32_t kPools = 40, kIds = 40;
  std::vector<std::string> names;
  for (std::uint32_t p = 0; p < kPools; ++p) names.push_back("pool-" + std::to_string(p));
  std::vector<std::vector<PeRef>> refs(kPools);
  std::uint64_t sum = 0;
  for (std::uint32_t p = 0; p < kPools; ++p)
    for (std::uint32_t i = 0; i < kIds; ++i) {
      const auto r = h.register_pe(names[p], make_pe(i * 0x01010101u, PolicyType::least_used, p % 3));
      ASSERT_EQ(r.outcome, Outcome::added);
      refs[p].push_back(r.ref);
      sum += hs::checksum_contribution(hs::checksum_words(names[p]), i * 0x01010101u);
    }
  EXPECT_EQ(h.pe_count(), kPools * kIds);
  EXPECT_EQ(h.pool_count(), kPools);
  EXPECT_EQ(h.checksum(), hs::fold_checksum(sum));
  std::set<PeRef> all;
  for (std::uint32_t p = 0; p < kPools; ++p)
    for (std::uint32_t i = 0; i < kIds; ++i) {
      ASSERT_EQ(h.find(names[p], i * 0x01010101u), refs[p][i]);
      all.insert(refs[p][i]);
    }
  EXPECT_EQ(all.size(), std::size_t{kPools} * kIds);
  // Remove every other PE of every other pool: the rest are untouched.
  for (std::uint32_t p = 0; p < kPools; p += 2)
    for (std::uint32_t i = 0; i < kIds; i += 2) {
      ASSERT_TRUE(h.deregister(names[p], i * 0x01010101u));
      sum -= hs::checksum_contribution(hs::checksum_words(names[p]), i * 0x01010101u);
    }
  for (std::uint32_t p = 0; p < kPools; ++p)
    for (std::uint32_t i = 0; i < kIds; ++i) {
      const bool gone = p % 2 == 0 && i % 2 == 0;
      if (gone) {
        ASSERT_FALSE(h.find(names[p], i * 0x01010101u));
      } else {
        ASSERT_EQ(h.find(names[p], i * 0x01010101u), refs[p][i]);
      }
    }
  EXPECT_EQ(h.pe_count(), kPools * kIds - (kPools / 2) * (kIds / 2));
  EXPECT_EQ(h.checksum(), hs::fold_checksum(sum));
  std::size_t owned = 0;
  for (auto o : h.owners()) owned += h.owned_count(o);
  EXPECT_EQ(owned, h.pe_count());
}

// ------------------------------------------------------------------------------------
// Timers
// ------------------------------------------------------------------------------------

TEST(HandlespaceTest, TimersComeDueInOrder) {
  Handlespace h;
  std::vector<PeRef> r;
  for (std::uint32_t i = 0; i < 5; ++i) r.push_back(h.register_pe("P", make_pe(i)).ref);
  h.schedule(r[0], TimerKind::expiry, at(500));
  h.schedule(r[1], TimerKind::expiry, at(100));
  h.schedule(r[2], TimerKind::keep_alive_transmission, at(300));
  h.schedule(r[3], TimerKind::keep_alive_timeout, at(200));
  h.schedule(r[3], TimerKind::expiry, at(400));
  struct Due {
    int ms;
    PeRef pe;
    TimerKind kind;
  };
  const std::vector<Due> expected{{100, r[1], TimerKind::expiry},
                                  {200, r[3], TimerKind::keep_alive_timeout},
                                  {300, r[2], TimerKind::keep_alive_transmission},
                                  {400, r[3], TimerKind::expiry},
                                  {500, r[0], TimerKind::expiry}};
  for (const Due& d : expected) {
    const auto t = h.next_timer();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->due, at(d.ms));
    EXPECT_EQ(t->pe, d.pe);
    EXPECT_EQ(t->kind, d.kind);
    EXPECT_EQ(h.timer(t->pe, t->kind), at(d.ms));
    h.cancel(t->pe, t->kind);
    EXPECT_FALSE(h.timer(d.pe, d.kind));
  }
  EXPECT_FALSE(h.next_timer());
}

TEST(HandlespaceTest, ScheduleReplacesTheTimerOfItsSlot) {
  Handlespace h;
  const PeRef a = h.register_pe("P", make_pe(1)).ref;
  const PeRef b = h.register_pe("P", make_pe(2)).ref;
  h.schedule(b, TimerKind::expiry, at(250));
  h.schedule(a, TimerKind::expiry, at(100));
  h.schedule(a, TimerKind::expiry, at(300));  // later: b now comes first
  EXPECT_EQ(h.timer(a, TimerKind::expiry), at(300));
  EXPECT_EQ(h.next_timer()->pe, b);
  h.schedule(a, TimerKind::expiry, at(50));  // earlier again
  EXPECT_EQ(h.next_timer()->pe, a);
  EXPECT_EQ(h.next_timer()->due, at(50));

  // Keep-alive transmission and timeout share a slot: arming one replaces the other.
  h.schedule(a, TimerKind::keep_alive_transmission, at(10));
  EXPECT_EQ(h.timer(a, TimerKind::keep_alive_transmission), at(10));
  EXPECT_FALSE(h.timer(a, TimerKind::keep_alive_timeout));
  h.schedule(a, TimerKind::keep_alive_timeout, at(20));
  EXPECT_FALSE(h.timer(a, TimerKind::keep_alive_transmission));
  EXPECT_EQ(h.timer(a, TimerKind::keep_alive_timeout), at(20));
  EXPECT_EQ(h.timer(a, TimerKind::expiry), at(50));  // the lifetime slot is separate
  auto t = h.next_timer();
  EXPECT_EQ(t->due, at(20));
  EXPECT_EQ(t->kind, TimerKind::keep_alive_timeout);

  // Cancelling one slot leaves the other; cancelling twice is harmless.
  h.cancel(a, TimerKind::keep_alive_timeout);
  h.cancel(a, TimerKind::keep_alive_timeout);
  EXPECT_FALSE(h.timer(a, TimerKind::keep_alive_timeout));
  EXPECT_EQ(h.timer(a, TimerKind::expiry), at(50));
  h.cancel(a, TimerKind::expiry);
  EXPECT_FALSE(h.timer(a, TimerKind::expiry));
  t = h.next_timer();
  EXPECT_EQ(t->pe, b);
  EXPECT_EQ(t->due, at(250));
}

TEST(HandlespaceTest, TimersSurviveReRegistrationAndGoWithThePe) {
  Handlespace h;
  const PeRef a = h.register_pe("P", make_pe(1)).ref;
  const PeRef b = h.register_pe("P", make_pe(2)).ref;
  h.schedule(a, TimerKind::expiry, at(100));
  h.schedule(a, TimerKind::keep_alive_timeout, at(50));
  h.schedule(b, TimerKind::expiry, at(200));
  // A re-registration does not touch timers (the caller re-arms what it wants).
  h.register_pe("P", make_pe(1, PolicyType::round_robin, 5));
  EXPECT_EQ(h.timer(a, TimerKind::expiry), at(100));
  EXPECT_EQ(h.timer(a, TimerKind::keep_alive_timeout), at(50));
  // Removal cancels all its timers.
  ASSERT_TRUE(h.deregister("P", 1));
  auto t = h.next_timer();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pe, b);
  EXPECT_EQ(t->due, at(200));
  // A PeRef may be reused by a later PE, which starts without timers.
  const PeRef c = h.register_pe("Q", make_pe(9, PolicyType::random)).ref;
  EXPECT_FALSE(h.timer(c, TimerKind::expiry));
  EXPECT_FALSE(h.timer(c, TimerKind::keep_alive_transmission));
  EXPECT_FALSE(h.timer(c, TimerKind::keep_alive_timeout));
  EXPECT_EQ(h.next_timer()->pe, b);
  h.remove(b);  // the last PE of P
  EXPECT_FALSE(h.next_timer());
}

TEST(HandlespaceTest, PeRefReuse) {
  Handlespace h;
  std::vector<PeRef> r;
  for (std::uint32_t i = 0; i < 10; ++i) r.push_back(h.register_pe("P", make_pe(i, PolicyType::least_used, 1)).ref);
  EXPECT_EQ(std::set<PeRef>(r.begin(), r.end()).size(), 10u);
  for (std::uint32_t i = 0; i < 10; i += 2) h.deregister("P", i);
  // New PEs, here in another pool with another owner: whatever refs they get, each
  // resolves to its own entry, and no state leaks from the previous holder.
  for (std::uint32_t i = 0; i < 5; ++i) {
    auto pe = make_pe(100 + i, PolicyType::least_used_degradation, 2);
    pe.policy.load = i;
    const PeRef ref = h.register_pe("Q", pe).ref;
    EXPECT_EQ(h.entry(ref).element, pe);
    EXPECT_EQ(h.entry(ref).state, 0u);
    EXPECT_EQ(h.pool_handle(ref), "Q");
    EXPECT_EQ(h.find("Q", 100 + i), ref);
    for (std::uint32_t j = 1; j < 10; j += 2) EXPECT_NE(ref, r[j]);
  }
  EXPECT_EQ(h.owned_count(1), 5u);
  EXPECT_EQ(h.owned_count(2), 5u);
  for (std::uint32_t j = 1; j < 10; j += 2) {
    EXPECT_EQ(h.find("P", j), r[j]);
    EXPECT_EQ(h.entry(r[j]).element.identifier, j);
  }
  Rng rng;
  std::vector<PeRef> out;
  EXPECT_EQ(h.select("Q", 10, rng, out, 10), 5u);
  EXPECT_EQ(h.entry(out[0]).element.identifier, 100u);  // the lowest load
}

// The PU side: cached entries that expire after the stale-cache time, selected
// locally with the pool's policy.
TEST(HandlespaceTest, PoolUserCacheExpiresStaleEntries) {
  Handlespace cache;
  Rng rng(3);
  constexpr int kStaleMs = 3000;
  const auto resolve = [&](int now_ms, std::vector<std::uint32_t> ids) {
    for (auto id : ids) {
      const auto r = cache.register_pe("EchoPool", make_pe(id, PolicyType::round_robin));
      cache.schedule(r.ref, TimerKind::expiry, at(now_ms + kStaleMs));
    }
  };
  const auto expire = [&](int now_ms) {
    while (const auto t = cache.next_timer()) {
      if (t->due > at(now_ms)) break;
      ASSERT_EQ(t->kind, TimerKind::expiry);
      cache.remove(t->pe);
    }
  };
  resolve(0, {1, 2, 3});
  resolve(2000, {2, 3});  // 1 was not in the new answer
  expire(3000);
  EXPECT_FALSE(cache.find("EchoPool", 1));
  std::vector<PeRef> out;
  ASSERT_EQ(cache.select("EchoPool", 1, rng, out), 1u);
  EXPECT_EQ(cache.entry(out[0]).element.identifier, 2u);
  expire(5000);
  EXPECT_EQ(cache.pool_count(), 0u);
  EXPECT_FALSE(cache.next_timer());
}

}  // namespace

// Sequence numbers are 32 bits and renumbered before they run out; the renumbering must
// keep every selection as it would have been. A handlespace whose limit is 16 makes the
// same choices as one that never reaches its limit.
TEST(HandlespaceTest, SequenceRenumberingKeepsTheSelectionOrder) {
  for (const PolicyType type : {PolicyType::least_used, PolicyType::priority,
                                PolicyType::weighted_round_robin,
                                PolicyType::least_used_degradation}) {
    Handlespace plain;
    Handlespace wrapping(16);
    Rng r1(1), r2(1);
    Rng g(7);
    for (std::uint32_t id = 1; id <= 9; ++id) {
      w::PoolElement pe = make_pe(id, type);
      pe.policy.load = static_cast<std::uint32_t>(g.below(3)) << 28;  // ties on purpose
      pe.policy.priority = static_cast<std::uint32_t>(g.below(3));
      pe.policy.weight = 1 + static_cast<std::uint32_t>(g.below(3));
      pe.policy.load_degradation = 1u << 26;
      plain.register_pe("P", pe);
      wrapping.register_pe("P", pe);
    }
    std::vector<PeRef> a, b;
    for (int i = 0; i < 10000; ++i) {
      if (i % 97 == 0) {  // a re-registration with a new load now and then
        w::PoolElement pe = make_pe(1 + static_cast<std::uint32_t>(g.below(9)), type);
        pe.policy.load = static_cast<std::uint32_t>(g.below(3)) << 28;
        pe.policy.weight = 1 + static_cast<std::uint32_t>(g.below(3));
        pe.policy.load_degradation = 1u << 26;
        plain.register_pe("P", pe);
        wrapping.register_pe("P", pe);
      }
      const std::size_t n = 1 + g.below(3);
      const std::size_t inc = g.below(4);
      a.clear();
      b.clear();
      plain.select("P", n, r1, a, inc);
      wrapping.select("P", n, r2, b, inc);
      ASSERT_EQ(a, b) << "policy 0x" << std::hex << static_cast<std::uint32_t>(type)
                      << std::dec << ", selection " << i;
    }
  }
}

namespace {

// Least Used with Degradation keeps PEs that selection moves on in a sorted run beside
// the heap. Whichever holds a PE, a selection must return the PEs in the order of
// (load + accumulated degradation, least recently selected), exactly as a plain sort
// over all PEs says, through new loads (back to the heap), refreshes with the same load
// (staying put), removals and new PEs.
TEST(HandlespaceTest, DegradationOrderHoldsAcrossRunAndHeap) {
  for (const PolicyType type :
       {PolicyType::least_used_degradation, PolicyType::priority_least_used_degradation}) {
    Handlespace h;
    Rng g(11), rng(1);
    std::map<std::uint32_t, std::uint64_t> stamp;  // id -> when last selected (or added)
    std::uint64_t clock = 0;
    const auto make = [&](std::uint32_t id) {
      w::PoolElement pe = make_pe(id, type);
      pe.policy.load = static_cast<std::uint32_t>(g.below(4)) << 27;  // ties on purpose
      pe.policy.load_degradation = g.below(4) == 0 ? 3u << 25 : 1u << 25;
      return pe;
    };
    const auto key = [&](std::uint32_t id) {
      const auto& e = h.entry(*h.find("P", id));
      const auto& p = e.element.policy;
      const std::uint64_t base = type == PolicyType::least_used_degradation
                                     ? p.load
                                     : std::uint64_t{p.load} + p.load_degradation;
      return std::pair{base + e.state, stamp[id]};
    };
    for (std::uint32_t id = 1; id <= 40; ++id) {
      h.register_pe("P", make(id));
      stamp[id] = ++clock;
    }
    std::vector<PeRef> got;
    for (int i = 0; i < 3000; ++i) {
      const auto roll = g.below(20);
      const auto id = 1 + static_cast<std::uint32_t>(g.below(40));
      const bool present = stamp.contains(id);
      if (roll == 0 && present) {  // a new load, or the same one again
        w::PoolElement pe = h.entry(*h.find("P", id)).element;
        if (g.below(2) == 0) pe.policy.load = static_cast<std::uint32_t>(g.below(4)) << 27;
        h.register_pe("P", pe);
      } else if (roll == 1 && present && stamp.size() > 3) {
        ASSERT_TRUE(h.deregister("P", id));
        stamp.erase(id);
      } else if (roll == 2 && !present) {
        h.register_pe("P", make(id));
        stamp[id] = ++clock;
      }
      std::vector<std::uint32_t> want;
      for (const auto& [pe_id, when] : stamp) want.push_back(pe_id);
      std::sort(want.begin(), want.end(),
                [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });
      const std::size_t n = 1 + g.below(3);
      want.resize(std::min(n, want.size()));
      got.clear();
      h.select("P", n, rng, got);
      std::vector<std::uint32_t> got_ids;
      for (const PeRef r : got) got_ids.push_back(h.entry(r).element.identifier);
      ASSERT_EQ(got_ids, want) << "policy 0x" << std::hex << static_cast<std::uint32_t>(type)
                               << std::dec << ", selection " << i;
      stamp[got_ids.front()] = ++clock;
    }
  }
}

// Timers armed in due order queue apart from the heap of the others; cancelled and
// re-armed ones leave either. Whatever the mix, they come out by due time, each once, and
// timer() answers each PE's as armed.
TEST(HandlespaceTest, TimersInAndOutOfOrderFireByDueTime) {
  Handlespace h;
  Rng g(5);
  std::map<PeRef, int> due;  // the expiry each PE has armed, in ms
  int clock = 1000;
  for (std::uint32_t id = 1; id <= 300; ++id) {
    const PeRef ref = h.register_pe("P", make_pe(id)).ref;
    clock += 1 + static_cast<int>(g.below(5));
    due[ref] = g.below(5) == 0 ? clock - static_cast<int>(g.below(900)) : clock;  // some early
    h.schedule(ref, TimerKind::expiry, at(due[ref]));
  }
  for (int i = 0; i < 400; ++i) {  // cancel some, re-arm others (later or earlier)
    const PeRef ref = static_cast<PeRef>(g.below(300));
    if (!due.contains(ref)) continue;
    if (g.below(3) == 0) {
      h.cancel(ref, TimerKind::expiry);
      due.erase(ref);
    } else {
      due[ref] = g.below(2) == 0 ? ++clock + 10000 : due[ref] - static_cast<int>(g.below(50));
      h.schedule(ref, TimerKind::expiry, at(due[ref]));
    }
  }
  for (const auto& [ref, ms] : due) ASSERT_EQ(h.timer(ref, TimerKind::expiry), at(ms));
  int last = 0;
  std::size_t fired = 0;
  while (const auto t = h.next_timer()) {
    const int ms = static_cast<int>(
        std::chrono::duration_cast<milliseconds>(t->due.time_since_epoch()).count());
    ASSERT_GE(ms, last);
    ASSERT_EQ(due.at(t->pe), ms);
    last = ms;
    ++fired;
    h.cancel(t->pe, TimerKind::expiry);
  }
  EXPECT_EQ(fired, due.size());
}

// A timer re-armed as the next one is taken (the registrar's keep-alive cycle) goes
// behind the others: with distinct due times the PEs come round in order, each time
// with the other keep-alive kind.
TEST(HandlespaceTest, ReArmedTimersComeRoundInOrder) {
  Handlespace h;
  std::vector<PeRef> refs;
  for (std::uint32_t id = 1; id <= 100; ++id) {
    refs.push_back(h.register_pe("P", make_pe(id)).ref);
    h.schedule(refs.back(), TimerKind::keep_alive_transmission, at(static_cast<int>(id)));
  }
  for (int k = 0; k < 1000; ++k) {
    const auto t = h.next_timer();
    ASSERT_TRUE(t);
    ASSERT_EQ(t->pe, refs[static_cast<std::size_t>(k % 100)]) << "turn " << k;
    ASSERT_EQ(t->kind, (k / 100) % 2 == 0 ? TimerKind::keep_alive_transmission
                                          : TimerKind::keep_alive_timeout);
    h.schedule(t->pe,
               t->kind == TimerKind::keep_alive_transmission ? TimerKind::keep_alive_timeout
                                                             : TimerKind::keep_alive_transmission,
               t->due + milliseconds(100));
  }
}

}  // namespace
