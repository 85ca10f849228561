// A randomized differential test: long seeded sequences of operations (register,
// re-register with new parameters or owner, deregister, select n with a random
// max_increment, schedule and cancel timers, pop due timers) run against the
// handlespace and against a naive model made of plain vectors and linear scans, with
// checksums recomputed from scratch. After every step the two must agree on counts,
// pools, members, owners, checksums, timers and every selection's output.
//
// Randomized policies are compared draw for draw: the model keeps a pool's members in
// the handlespace's swap-remove order, sums the weights in member order and draws
// rng.below(total) from an identical generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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
using w::PolicyType;
__extension__ using u128 = unsigned __int128;

constexpr std::uint64_t kNever = ~std::uint64_t{0};

bool randomized(PolicyType t) {
  return t == PolicyType::random || t == PolicyType::weighted_random ||
         t == PolicyType::randomized_least_used ||
         t == PolicyType::randomized_priority_least_used ||
         t == PolicyType::randomized_least_used_degradation ||
         t == PolicyType::randomized_priority_least_used_degradation ||
         t == PolicyType::weighted_random_dpf;
}

bool degrades(PolicyType t) {
  return t == PolicyType::least_used_degradation ||
         t == PolicyType::priority_least_used_degradation ||
         t == PolicyType::least_used_degradation_dpf ||
         t == PolicyType::randomized_least_used_degradation ||
         t == PolicyType::randomized_priority_least_used_degradation;
}

// ------------------------------------------------------------------------------------
// The model
// ------------------------------------------------------------------------------------

struct ModelPe {
  w::PoolElement el;
  PeRef ref;
  std::uint64_t last_selected = 0;  // ordered policies: ties by least recently selected
  std::uint64_t degradation = 0;    // accumulated since the last load report
  std::uint64_t credits = 0;        // WRR: picks left in the current round
  std::uint64_t round = 0;          // WRR: kNever when the weight is 0
  std::optional<TimePoint> expiry;
  std::optional<std::pair<TimerKind, TimePoint>> keep_alive;
};

struct ModelPool {
  std::string handle;
  PolicyType type;
  std::vector<ModelPe> members;  // in the handlespace's swap-remove order
  std::uint64_t clock = 0;
};

struct Model {
  std::vector<ModelPool> pools;

  ModelPool* pool(std::string_view handle) {
    for (auto& p : pools)
      if (p.handle == handle) return &p;
    return nullptr;
  }
  ModelPe* pe(std::string_view handle, std::uint32_t id) {
    ModelPool* p = pool(handle);
    if (p == nullptr) return nullptr;
    for (auto& m : p->members)
      if (m.el.identifier == id) return &m;
    return nullptr;
  }
  std::pair<ModelPool*, ModelPe*> by_ref(PeRef ref) {
    for (auto& p : pools)
      for (auto& m : p.members)
        if (m.ref == ref) return {&p, &m};
    return {nullptr, nullptr};
  }
  std::size_t pe_count() const {
    std::size_t n = 0;
    for (const auto& p : pools) n += p.members.size();
    return n;
  }

  static std::uint64_t wrr_current_round(const ModelPool& p, const ModelPe* except) {
    std::uint64_t r = kNever;
    for (const auto& m : p.members)
      if (&m != except) r = std::min(r, m.round);
    return r == kNever ? 0 : r;
  }

  // What the handlespace answers, computed the plain way.
  Outcome register_pe(std::string_view handle, const w::PoolElement& el, PeRef ref_if_added) {
    if (w::policy_info(el.policy.type) == nullptr) return Outcome::unknown_policy;
    ModelPool* p = pool(handle);
    if (p != nullptr && p->type != el.policy.type) return Outcome::inconsistent_policy;
    if (p == nullptr) {
      pools.push_back(ModelPool{std::string(handle), el.policy.type, {}, 0});
      p = &pools.back();
    }
    for (auto& m : p->members) {
      if (m.el.identifier != el.identifier) continue;
      const w::Policy old = m.el.policy;
      m.el = el;
      if (old.load != el.policy.load) m.degradation = 0;
      if (p->type == PolicyType::weighted_round_robin && old.weight != el.policy.weight) {
        m.credits = el.policy.weight;
        if (el.policy.weight == 0)
          m.round = kNever;
        else if (m.round == kNever)
          m.round = wrr_current_round(*p, &m);
      }
      return Outcome::updated;
    }
    ModelPe m;
    m.el = el;
    m.ref = ref_if_added;
    m.last_selected = ++p->clock;
    m.credits = el.policy.weight;
    m.round = el.policy.weight == 0 ? kNever : wrr_current_round(*p, nullptr);
    p->members.push_back(m);
    return Outcome::added;
  }

  void remove(std::string_view handle, std::uint32_t id) {
    for (std::size_t pi = 0; pi < pools.size(); ++pi) {
      ModelPool& p = pools[pi];
      if (p.handle != handle) continue;
      for (std::size_t i = 0; i < p.members.size(); ++i) {
        if (p.members[i].el.identifier != id) continue;
        p.members[i] = p.members.back();
        p.members.pop_back();
        if (p.members.empty()) pools.erase(pools.begin() + static_cast<std::ptrdiff_t>(pi));
        return;
      }
    }
    ADD_FAILURE() << "model: no such PE";
  }

  static std::uint64_t ordered_key(PolicyType t, const ModelPe& m) {
    const w::Policy& p = m.el.policy;
    u128 k = 0;
    switch (t) {
      case PolicyType::round_robin: k = 0; break;
      case PolicyType::weighted_round_robin: return m.round;
      case PolicyType::priority: k = 0xffffffffu - p.priority; break;
      case PolicyType::least_used: k = p.load; break;
      case PolicyType::least_used_degradation: k = u128{p.load} + m.degradation; break;
      case PolicyType::priority_least_used: k = u128{p.load} + p.load_degradation; break;
      case PolicyType::priority_least_used_degradation:
        k = u128{p.load} + p.load_degradation + m.degradation;
        break;
      case PolicyType::least_used_dpf: k = u128{p.load} + u128{p.distance} * p.load_dpf; break;
      case PolicyType::least_used_degradation_dpf:
        k = u128{p.load} + m.degradation + u128{p.distance} * p.load_dpf;
        break;
      default: ADD_FAILURE() << "model: not ordered";
    }
    // Saturates below "never": a huge penalty ranks last but stays selectable.
    return k >= kNever ? kNever - 1 : static_cast<std::uint64_t>(k);
  }

  static std::uint64_t weight(PolicyType t, const ModelPe& m) {
    const w::Policy& p = m.el.policy;
    const auto headroom = [](u128 used) -> std::uint64_t {
      return used >= 0xffffffffu ? 1 : static_cast<std::uint64_t>(0xffffffffu - used + 1);
    };
    switch (t) {
      case PolicyType::random: return 1;
      case PolicyType::weighted_random: return p.weight;
      case PolicyType::randomized_least_used:
      case PolicyType::randomized_priority_least_used: return headroom(p.load);
      case PolicyType::randomized_least_used_degradation:
        return headroom(u128{p.load} + m.degradation);
      case PolicyType::randomized_priority_least_used_degradation:
        return headroom(u128{p.load} + p.load_degradation + m.degradation);
      case PolicyType::weighted_random_dpf: {
        const u128 penalty = u128{p.distance} * p.weight_dpf;
        if (penalty >= (u128{1} << 32)) return 0;
        return static_cast<std::uint64_t>((u128{p.weight} * ((u128{1} << 32) - penalty)) >> 20);
      }
      default: ADD_FAILURE() << "model: not randomized"; return 0;
    }
  }

  std::vector<PeRef> select(std::string_view handle, std::size_t n, Rng& rng,
                            std::size_t max_increment) {
    std::vector<PeRef> out;
    ModelPool* p = pool(handle);
    if (p == nullptr || n == 0) return out;
    std::vector<ModelPe*> picked;
    if (randomized(p->type)) {
      std::vector<std::uint64_t> wts;
      for (const auto& m : p->members) wts.push_back(weight(p->type, m));
      while (picked.size() < n) {
        std::uint64_t total = 0;
        for (auto x : wts) total += x;
        if (total == 0) break;
        std::uint64_t r = rng.below(total);
        std::size_t i = 0;
        while (r >= wts[i]) r -= wts[i++];
        picked.push_back(&p->members[i]);
        wts[i] = 0;
      }
    } else {
      std::vector<ModelPe*> c;
      for (auto& m : p->members)
        if (ordered_key(p->type, m) != kNever) c.push_back(&m);
      std::sort(c.begin(), c.end(), [&](const ModelPe* a, const ModelPe* b) {
        const auto ka = ordered_key(p->type, *a), kb = ordered_key(p->type, *b);
        return ka != kb ? ka < kb : a->last_selected < b->last_selected;
      });
      if (c.size() > n) c.resize(n);
      picked = c;
    }
    for (std::size_t i = 0; i < picked.size(); ++i) {
      ModelPe& m = *picked[i];
      out.push_back(m.ref);
      if (i >= max_increment) continue;
      m.last_selected = ++p->clock;
      if (degrades(p->type)) m.degradation += m.el.policy.load_degradation;
      if (p->type == PolicyType::weighted_round_robin && m.credits > 0 && --m.credits == 0) {
        m.credits = m.el.policy.weight;
        ++m.round;
      }
    }
    return out;
  }
};

// One PE's unfolded contribution to the one's-complement checksum: big-endian words
// of the pool handle (an odd last byte padded with zero), then the PE ID's two words.
std::uint64_t words_of(const std::string& handle, std::uint32_t id) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < handle.size(); i += 2) {
    const auto hi = static_cast<std::uint8_t>(handle[i]);
    const auto lo = i + 1 < handle.size() ? static_cast<std::uint8_t>(handle[i + 1]) : 0;
    sum += std::uint64_t{hi} << 8 | lo;
  }
  return sum + (id >> 16) + (id & 0xffff);
}

std::uint16_t fold(std::uint64_t sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// ------------------------------------------------------------------------------------
// The comparison
// ------------------------------------------------------------------------------------

::testing::AssertionResult agree(const Handlespace& h, Model& m) {
  using ::testing::AssertionFailure;
  if (h.pe_count() != m.pe_count())
    return AssertionFailure() << "pe_count " << h.pe_count() << " vs " << m.pe_count();
  if (h.pool_count() != m.pools.size())
    return AssertionFailure() << "pool_count " << h.pool_count() << " vs " << m.pools.size();
  std::vector<std::string_view> handles;
  for (const auto& p : m.pools) handles.emplace_back(p.handle);
  std::sort(handles.begin(), handles.end());
  if (h.pool_handles() != handles) return AssertionFailure() << "pool handles differ";

  std::map<hs::ServerId, std::vector<PeRef>> owned;
  std::map<hs::ServerId, std::uint64_t> owned_sum;
  std::uint64_t total_sum = 0;
  std::optional<TimePoint> next;
  for (const auto& p : m.pools) {
    if (h.pool_policy(p.handle) != p.type) return AssertionFailure() << "policy of " << p.handle;
    const auto span = h.members(p.handle);
    std::vector<PeRef> got(span.begin(), span.end()), want;
    for (const auto& pe : p.members) want.push_back(pe.ref);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got != want) return AssertionFailure() << "members of " << p.handle;
    for (const auto& pe : p.members) {
      if (h.find(p.handle, pe.el.identifier) != pe.ref)
        return AssertionFailure() << "find " << p.handle << "/" << pe.el.identifier;
      if (!(h.entry(pe.ref).element == pe.el))
        return AssertionFailure() << "element of " << p.handle << "/" << pe.el.identifier;
      if (h.pool_handle(pe.ref) != p.handle) return AssertionFailure() << "pool_handle";
      if (h.timer(pe.ref, TimerKind::expiry) != pe.expiry)
        return AssertionFailure() << "expiry timer of " << pe.ref;
      for (TimerKind k : {TimerKind::keep_alive_transmission, TimerKind::keep_alive_timeout}) {
        const std::optional<TimePoint> want_t =
            pe.keep_alive && pe.keep_alive->first == k ? std::optional(pe.keep_alive->second)
                                                       : std::nullopt;
        if (h.timer(pe.ref, k) != want_t)
          return AssertionFailure() << "keep-alive timer of " << pe.ref;
      }
      for (const auto& t : {pe.expiry, pe.keep_alive ? std::optional(pe.keep_alive->second)
                                                     : std::nullopt})
        if (t && (!next || *t < *next)) next = t;
      owned[pe.el.home_server].push_back(pe.ref);
      const std::uint64_t c = words_of(p.handle, pe.el.identifier);
      owned_sum[pe.el.home_server] += c;
      total_sum += c;
    }
    if (h.find(p.handle, 0xdeadbeef) && m.pe(p.handle, 0xdeadbeef) == nullptr)
      return AssertionFailure() << "found an absent PE";
  }
  std::vector<hs::ServerId> owners;
  for (auto& [owner, refs] : owned) {
    owners.push_back(owner);
    std::sort(refs.begin(), refs.end());
    auto got = h.owned_by(owner);
    std::sort(got.begin(), got.end());
    if (got != refs) return AssertionFailure() << "owned_by " << owner;
    if (h.owned_count(owner) != refs.size()) return AssertionFailure() << "owned_count";
    if (h.owner_checksum(owner) != fold(owned_sum[owner]))
      return AssertionFailure() << "owner_checksum " << owner << ": " << std::hex
                                << h.owner_checksum(owner) << " vs " << fold(owned_sum[owner]);
  }
  if (h.owners() != owners) return AssertionFailure() << "owners";
  if (h.checksum() != fold(total_sum)) return AssertionFailure() << "checksum";
  const auto t = h.next_timer();
  if (t.has_value() != next.has_value()) return AssertionFailure() << "next_timer presence";
  if (t) {
    if (t->due != *next) return AssertionFailure() << "next_timer due";
    if (h.timer(t->pe, t->kind) != t->due) return AssertionFailure() << "next_timer entry";
  }
  return ::testing::AssertionSuccess();
}

// ------------------------------------------------------------------------------------
// The random operations
// ------------------------------------------------------------------------------------

const std::array<std::string, 7> kHandles{"EchoPool", "A", "pool-3", "odd", "\xff\x80\x01",
                                          "DaytimePool", "x"};

PolicyType random_policy(Rng& r) {
  const auto& all = w::all_policies();
  return all[static_cast<std::size_t>(r.below(all.size()))].type;
}

std::uint32_t fraction(Rng& r) {
  switch (r.below(6)) {
    case 0: return 0;
    case 1: return 0xffffffffu;
    case 2: return static_cast<std::uint32_t>(r.next());
    default: return static_cast<std::uint32_t>(r.below(4)) * 0x10000000u;  // ties
  }
}

void randomize_policy(w::Policy& p, Rng& r) {
  p.weight = r.below(4) == 0 ? static_cast<std::uint32_t>(r.next()) : static_cast<std::uint32_t>(r.below(5));
  p.priority = static_cast<std::uint32_t>(r.below(4));
  p.load = fraction(r);
  p.load_degradation = r.below(3) == 0 ? 0 : static_cast<std::uint32_t>(r.below(4)) << 26;
  if (r.below(20) == 0) p.load_degradation = 0xffffffffu;
  p.load_dpf = r.below(10) == 0 ? fraction(r) : static_cast<std::uint32_t>(r.below(3)) << 20;
  p.weight_dpf = r.below(10) == 0 ? fraction(r) : static_cast<std::uint32_t>(r.below(3)) << 20;
  p.distance = r.below(10) == 0 ? static_cast<std::uint32_t>(r.next())
                                : static_cast<std::uint32_t>(r.below(5)) * 50;
}

void run(std::uint64_t seed, int steps) {
  Rng r(seed);
  Rng hs_rng(seed ^ 0xabcdef), model_rng(seed ^ 0xabcdef);
  Handlespace h;
  Model m;
  std::int64_t now_ms = 0;
  std::size_t peak = 0;
  const auto when = [&] { return TimePoint(std::chrono::milliseconds(now_ms + static_cast<std::int64_t>(r.below(5000)))); };
  const auto random_pe = [&]() -> std::pair<ModelPool*, ModelPe*> {
    if (m.pe_count() == 0) return {nullptr, nullptr};
    std::size_t k = static_cast<std::size_t>(r.below(m.pe_count()));
    for (auto& p : m.pools) {
      if (k < p.members.size()) return {&p, &p.members[k]};
      k -= p.members.size();
    }
    return {nullptr, nullptr};
  };

  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " step " << step);
    // Phases of growth and of shrinking: pools fill up, empty, and come back (maybe
    // with another policy), and the handlespace stays small enough to check in full.
    auto op = r.below(100);
    if ((step / 600) % 2 == 1 && op < 22) op = 50 + op % 10;
    if (op < 30) {  // register (mostly new PEs; sometimes a clash)
      const std::string& handle = kHandles[static_cast<std::size_t>(r.below(kHandles.size()))];
      w::PoolElement el;
      el.identifier = r.below(8) == 0 ? static_cast<std::uint32_t>(r.next())
                                      : static_cast<std::uint32_t>(r.below(40));
      el.home_server = 1 + static_cast<std::uint32_t>(r.below(4));
      el.registration_life = static_cast<std::int32_t>(r.below(60000));
      el.user_transport.port = static_cast<std::uint16_t>(r.below(65536));
      const ModelPool* p = m.pool(handle);
      const auto roll = r.below(40);
      el.policy.type = p != nullptr && roll != 0 ? p->type : random_policy(r);
      if (roll == 1) el.policy.type = static_cast<PolicyType>(0x40000000u + r.below(8));
      randomize_policy(el.policy, r);
      const auto got = h.register_pe(handle, el);
      const Outcome want = m.register_pe(handle, el, got.ref);
      ASSERT_EQ(got.outcome, want);
      if (want == Outcome::updated) {
        ASSERT_EQ(got.ref, m.pe(handle, el.identifier)->ref);
      }
    } else if (op < 50) {  // re-register an existing PE with new parameters
      auto [p, pe] = random_pe();
      if (pe == nullptr) continue;
      w::PoolElement el = pe->el;
      const auto what = r.below(6);
      if (what == 0) el.home_server = 1 + static_cast<std::uint32_t>(r.below(4));
      if (what == 1) el.policy.load = fraction(r);
      if (what == 2) el.policy.weight = static_cast<std::uint32_t>(r.below(4));
      if (what == 3) randomize_policy(el.policy, r);
      if (what == 4) el.registration_life = static_cast<std::int32_t>(r.below(60000));
      // what == 5: the very same parameters again
      const PeRef ref = pe->ref;
      const std::string handle = p->handle;
      const auto got = h.register_pe(handle, el);
      ASSERT_EQ(got.outcome, Outcome::updated);
      ASSERT_EQ(got.ref, ref);
      ASSERT_EQ(m.register_pe(handle, el, ref), Outcome::updated);
    } else if (op < 60) {  // deregister (sometimes an absent PE)
      if (r.below(5) == 0) {
        const std::string& handle = kHandles[static_cast<std::size_t>(r.below(kHandles.size()))];
        const auto id = static_cast<std::uint32_t>(r.below(40));
        const bool present = m.pe(handle, id) != nullptr;
        ASSERT_EQ(h.deregister(handle, id), present);
        if (present) m.remove(handle, id);
      } else {
        auto [p, pe] = random_pe();
        if (pe == nullptr) continue;
        const std::string handle = p->handle;
        const auto id = pe->el.identifier;
        if (r.below(2) == 0) {
          ASSERT_TRUE(h.deregister(handle, id));
        } else {
          h.remove(pe->ref);
        }
        m.remove(handle, id);
      }
    } else if (op < 85) {  // select
      const std::string& handle = r.below(10) == 0
                                      ? kHandles[static_cast<std::size_t>(r.below(kHandles.size()))]
                                      : (m.pools.empty() ? kHandles[0]
                                                         : m.pools[static_cast<std::size_t>(r.below(m.pools.size()))].handle);
      // Mostly as MaxHResItems is set; sometimes more than 8 (the handlespace's
      // fixed scratch for n − 1 zeroed weights) or more than the pool has.
      const std::size_t n = static_cast<std::size_t>(r.below(8) == 0 ? r.below(20) : r.below(7));
      const std::size_t max_inc = static_cast<std::size_t>(r.below(n + 2));
      std::vector<PeRef> got;
      const std::size_t count = h.select(handle, n, hs_rng, got, max_inc);
      const std::vector<PeRef> want = m.select(handle, n, model_rng, max_inc);
      ASSERT_EQ(count, got.size());
      ASSERT_EQ(got, want) << "select " << n << " of " << handle << ", policy "
                           << (m.pool(handle) ? w::policy_info(m.pool(handle)->type)->short_name
                                              : "none");
    } else if (op < 92) {  // schedule
      auto [p, pe] = random_pe();
      if (pe == nullptr) continue;
      const TimePoint due = when();
      const auto k = r.below(3);
      const TimerKind kind = k == 0 ? TimerKind::expiry
                             : k == 1 ? TimerKind::keep_alive_transmission
                                      : TimerKind::keep_alive_timeout;
      h.schedule(pe->ref, kind, due);
      if (kind == TimerKind::expiry)
        pe->expiry = due;
      else
        pe->keep_alive = std::pair{kind, due};
    } else if (op < 95) {  // cancel
      auto [p, pe] = random_pe();
      if (pe == nullptr) continue;
      if (r.below(2) == 0) {
        h.cancel(pe->ref, TimerKind::expiry);
        pe->expiry.reset();
      } else if (pe->keep_alive) {
        h.cancel(pe->ref, pe->keep_alive->first);
        pe->keep_alive.reset();
      }
    } else {  // time passes: expiries remove their PE, keep-alives are answered
      now_ms += static_cast<std::int64_t>(r.below(3000));
      const TimePoint now{std::chrono::milliseconds(now_ms)};
      while (const auto t = h.next_timer()) {
        if (t->due > now) break;
        auto [p, pe] = m.by_ref(t->pe);
        ASSERT_NE(pe, nullptr);
        if (t->kind == TimerKind::expiry) {
          ASSERT_EQ(pe->expiry, t->due);
          const std::string handle = p->handle;
          const auto id = pe->el.identifier;
          h.remove(t->pe);
          m.remove(handle, id);
        } else {
          ASSERT_TRUE(pe->keep_alive);
          ASSERT_EQ(pe->keep_alive->first, t->kind);
          ASSERT_EQ(pe->keep_alive->second, t->due);
          h.cancel(t->pe, t->kind);
          pe->keep_alive.reset();
        }
        ASSERT_TRUE(agree(h, m));
      }
    }
    ASSERT_TRUE(agree(h, m));
    peak = std::max(peak, m.pe_count());
  }
  // The run reached a handlespace of some size (else it proves little).
  EXPECT_GE(peak, 50u);
  ::testing::Test::RecordProperty("peak_pes", static_cast<int>(peak));
}

class DifferentialTest : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(DifferentialTest, AgreesWithANaiveModel) { run(GetParam(), 4000); }

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialTest,
                         ::testing::Values(1, 2, 3, 0x5eed, 0xfeedface, 20240601, 77, 4242));

}  // namespace
