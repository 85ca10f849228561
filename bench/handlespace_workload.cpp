// The handlespace workload of the comparison with RSPLIB's handlespace, in our calls.
//
// Data, identical for every workload. One handlespace, own registrar ID 0x0A0B0C0D, one
// pool "BenchPool" (9 bytes). N PEs, i = 0 … N-1, always registered in index order. Every
// pseudo-random input comes from splitmix64 streams:
//   - IDs: stream 0x5EED000000000001; PE i takes the high 32 bits of the next draw,
//     drawing again on 0 or on an ID already taken.
//   - attributes: stream 0x5EED000000000002, one draw r per PE: weight 1 + (r & 0x3FF),
//     load r >> 32 (of 2^32), load degradation 0x0147AE14 (0.5 %), DPFs and distance 0.
//     Every PE carries all of them; the pool's policy (one for all PEs) uses its own.
//   - re-registration loads: stream 0x5EED000000000003, one draw per operation k,
//     warm-up included.
// User transport SCTP, no control channel, port 10000 + i mod 50000, address 10.0.0.0 + i;
// ASAP transport SCTP, port 20000 + i mod 40000, same address. Home registrar: our own ID
// (owned); registration life 30 s. Synthetic clock: PE i registers at T0 + i µs, T0 = 10^12 µs;
// keep-alive interval 5 s. All inputs are built before the timed loops.
//
// Operations, and what stands for RSPLIB's calls:
//   REG      register_pe (RegisterPoolElement), then schedule(keep_alive_transmission,
//            now + 5 s), which replaces the PE's keep-alive timer in place (RSPLIB:
//            deactivate the timer if active, activate KEEPALIVE_TRANSMISSION), then
//            next_timer() (GetNextTimerTimeStamp). Our registrar also arms an expiry timer
//            at each registration; the workload, as RSPLIB's registrar, does not.
//   REGCORE  register_pe alone.
//   selection: select(pool, items, rng, out, max_increment = 1): 1 is our registrar's
//            default and what RSPLIB's MaxIncrement 0 means for RR, LU and LUD; Random and
//            WRAND advance nothing in either. RSPLIB draws from /dev/urandom, we from a
//            seeded xoshiro256**. Our LUD adds the degradation once per selection (RSPLIB
//            twice, and once at registration): we keep ours.
//   dereg    find (FindPoolElement) then remove (DeregisterPoolElementByPtr); the last
//            removal also removes the pool, in both.
//   timers   RSPLIB has one timer per PE with a code; ours are two slots per PE: expiry
//            (EXPIRY) and keep-alive (KEEPALIVE_TRANSMISSION or KEEPALIVE_TIMEOUT, the
//            TimerKind). "Fetch the successor" of the earliest timer has no counterpart:
//            next_timer() is O(1). Neither has LastKeepAliveTransmission (our registrar
//            keeps no such field) nor the connection index (our registrar core keeps the
//            PEs per connection, outside the handlespace).
// Workloads (timed: ops; warm-up untimed, a tenth of ops, the same formula continued):
//   reg, regcore  REG / REGCORE of PE 0 … N-1 into a fresh handlespace, ceil(ops / N) cycles
//                 (default 200,000 PEs); filling and clearing are not timed.
//   rereg         REG of PE j = k mod N with its settings but a new load from the third
//                 stream, now = T0 + N + k µs (200,000); rereg_same: unchanged settings.
//   hres1, hres3  one resolution of 1 or 3 PEs (500,000).
//   dereg         dereg of PE 0 … N-1 in registration order, cycles as reg.
//   expire        N PEs learnt from a peer (owner 0x0E0E0E0E, expiry timer at t_i + 30 s);
//                 with every timer due: take the earliest, remove its PE; then one
//                 next_timer(). Cycles as reg.
//   timer         with now = the earliest due time: re-arm that PE's keep-alive timer at now
//                 + 5 s with the other kind (transmission <-> timeout), then next_timer():
//                 the timers rotate FIFO (1,000,000).
//   kaack         find PE j = k mod N, schedule(keep_alive_transmission, T0 + N + k µs + 5 s),
//                 next_timer() (500,000).
//   mem           heap (mallinfo2) and RSS growth while registering N PEs by REG, per PE.
#include "bench/handlespace_workload.hpp"

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "stack/handlespace/handlespace.hpp"

namespace rserpool::bench {

namespace {

using handlespace::Handlespace;
using handlespace::PeRef;
using handlespace::TimePoint;
using handlespace::TimerKind;
using std::chrono::microseconds;
using wire::PolicyType;

constexpr std::string_view kPool = "BenchPool";
constexpr std::uint32_t kOwnId = 0x0A0B0C0D;
constexpr std::uint32_t kPeerId = 0x0E0E0E0E;
constexpr std::int64_t kT0 = 1'000'000'000'000;  // µs
constexpr auto kKeepAlive = std::chrono::seconds(5);
constexpr auto kLife = std::chrono::milliseconds(30000);
constexpr std::uint64_t kSeedIds = 0x5EED000000000001ULL;
constexpr std::uint64_t kSeedAttributes = 0x5EED000000000002ULL;
constexpr std::uint64_t kSeedLoads = 0x5EED000000000003ULL;

constexpr std::array<std::string_view, 11> kWorkloads = {
    "reg", "regcore", "rereg", "rereg_same", "hres1", "hres3",
    "dereg", "expire", "timer", "kaack", "mem"};
constexpr std::array<std::pair<std::string_view, PolicyType>, 5> kPolicies = {{
    {"RoundRobin", PolicyType::round_robin},
    {"WeightedRandom", PolicyType::weighted_random},
    {"LeastUsed", PolicyType::least_used},
    {"LeastUsedDegradation", PolicyType::least_used_degradation},
    {"Random", PolicyType::random},
}};

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

TimePoint at_us(std::int64_t us) { return TimePoint(microseconds(us)); }
std::uint64_t ticks(TimePoint t) { return static_cast<std::uint64_t>(t.time_since_epoch().count()); }

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("verify: ") + what);
}

double clock_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall time (CLOCK_MONOTONIC) of the timed loops only, and the thread's CPU time in them:
// on a shared machine the process may wait for a core, and the CPU time leaves that out.
class Stopwatch {
 public:
  void start() {
    wall0_ = clock_s(CLOCK_MONOTONIC);
    cpu0_ = clock_s(CLOCK_THREAD_CPUTIME_ID);
  }
  void stop() {
    wall_ += clock_s(CLOCK_MONOTONIC) - wall0_;
    cpu_ += clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0_;
  }
  void report(Timed& t) const {
    t.seconds = wall_;
    t.cpu_seconds = cpu_;
  }

 private:
  double wall0_ = 0, cpu0_ = 0, wall_ = 0, cpu_ = 0;
};

// REG: what the registrar does with the handlespace for one registration.
std::uint64_t reg(Handlespace& hs, const wire::PoolElement& pe, TimePoint now) {
  const auto r = hs.register_pe(kPool, pe);
  hs.schedule(r.ref, TimerKind::keep_alive_transmission, now + kKeepAlive);
  return r.ref + ticks(hs.next_timer()->due);
}

void fill(Handlespace& hs, const std::vector<wire::PoolElement>& pes) {
  for (std::size_t i = 0; i < pes.size(); ++i) reg(hs, pes[i], at_us(kT0 + static_cast<std::int64_t>(i)));
}

// reg, regcore, dereg, expire: ceil(ops / N) cycles of N operations, each cycle in a fresh
// handlespace; `prepare` fills it untimed, `op(hs, i)` is operation i.
template <class Prepare, class Op>
Timed cycles(std::size_t n, std::uint64_t ops, Prepare prepare, Op op) {
  Timed t;
  Stopwatch sw;
  const std::uint64_t count = (ops + n - 1) / n;
  for (std::uint64_t c = 0; c < count; ++c) {
    auto hs = std::make_unique<Handlespace>();
    prepare(*hs);
    sw.start();
    for (std::size_t i = 0; i < n; ++i) t.check += op(*hs, i);
    sw.stop();
    t.check += hs->pe_count();
  }
  t.ops = count * n;
  sw.report(t);
  return t;
}

// rereg, rereg_same, hres, timer, kaack: ops / 10 untimed operations, then ops timed;
// `op(k)` is operation k, counting from the first warm-up one.
template <class Op>
Timed steady(std::uint64_t ops, Op op) {
  Timed t;
  const std::uint64_t warm = ops / 10;
  for (std::uint64_t k = 0; k < warm; ++k) t.check += op(k);
  Stopwatch sw;
  sw.start();
  for (std::uint64_t k = warm; k < warm + ops; ++k) t.check += op(k);
  sw.stop();
  t.ops = ops;
  sw.report(t);
  return t;
}

Timed run_cycles(Workload w, const std::vector<wire::PoolElement>& pes, std::uint64_t ops,
                 bool verify) {
  const std::size_t n = pes.size();
  const auto nothing = [](Handlespace&) {};
  const auto filled = [&](Handlespace& hs) { fill(hs, pes); };
  switch (w) {
    case Workload::reg:
      return cycles(n, ops, nothing, [&](Handlespace& hs, std::size_t i) {
        return reg(hs, pes[i], at_us(kT0 + static_cast<std::int64_t>(i)));
      });
    case Workload::regcore:
      return cycles(n, ops, nothing, [&](Handlespace& hs, std::size_t i) {
        return std::uint64_t{hs.register_pe(kPool, pes[i]).ref};
      });
    case Workload::dereg:
      return cycles(n, ops, filled, [&](Handlespace& hs, std::size_t i) {
        const auto ref = hs.find(kPool, pes[i].identifier);
        if (verify) require(ref.has_value(), "dereg: PE not found");
        hs.remove(*ref);
        return std::uint64_t{*ref} + hs.pool_count();
      });
    default: break;
  }
  // expire: PEs learnt from a peer, each with its expiry timer; all due at once.
  std::vector<wire::PoolElement> learnt = pes;
  for (auto& pe : learnt) pe.home_server = kPeerId;
  const auto prepare = [&](Handlespace& hs) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto r = hs.register_pe(kPool, learnt[i]);
      hs.schedule(r.ref, TimerKind::expiry, at_us(kT0 + static_cast<std::int64_t>(i)) + kLife);
    }
  };
  return cycles(n, ops, prepare, [&](Handlespace& hs, std::size_t i) {
    const auto t = hs.next_timer();
    if (verify) require(t && t->pe == i && t->kind == TimerKind::expiry, "expire: timer order");
    hs.remove(t->pe);
    std::uint64_t c = ticks(t->due);
    if (i + 1 == n) c += hs.next_timer().has_value();  // the handler's final look
    return c;
  });
}

Timed run_steady(Workload w, PolicyType policy, std::vector<wire::PoolElement>& pes,
                 std::uint64_t ops, bool verify) {
  const std::size_t n = pes.size();
  Handlespace hs;
  fill(hs, pes);
  const auto now_k = [n](std::uint64_t k) {
    return at_us(kT0 + static_cast<std::int64_t>(n + k));
  };
  switch (w) {
    case Workload::rereg: {
      std::vector<std::uint32_t> loads(ops / 10 + ops);
      std::uint64_t u = kSeedLoads;
      for (auto& l : loads) l = static_cast<std::uint32_t>(splitmix64(u) >> 32);
      return steady(ops, [&](std::uint64_t k) {
        wire::PoolElement& pe = pes[k % n];
        pe.policy.load = loads[k];
        return reg(hs, pe, now_k(k));
      });
    }
    case Workload::rereg_same:
      return steady(ops, [&](std::uint64_t k) { return reg(hs, pes[k % n], now_k(k)); });
    case Workload::hres1:
    case Workload::hres3: {
      const std::size_t items = w == Workload::hres1 ? 1 : 3;
      handlespace::Rng rng(0x5EED000000000004ULL);
      std::vector<PeRef> out;
      out.reserve(8);
      return steady(ops, [&](std::uint64_t) {
        out.clear();
        const std::size_t got = hs.select(kPool, items, rng, out);
        if (verify) require(got == std::min(items, n), "hres: PE count");
        std::uint64_t c = got;
        for (const PeRef r : out) c = c * 31 + r;
        return c;
      });
    }
    case Workload::timer:
      return steady(ops, [&](std::uint64_t) {
        const auto t = *hs.next_timer();
        const TimerKind other = t.kind == TimerKind::keep_alive_transmission
                                    ? TimerKind::keep_alive_timeout
                                    : TimerKind::keep_alive_transmission;
        hs.schedule(t.pe, other, t.due + kKeepAlive);
        const auto next = hs.next_timer();
        if (verify) require(next->pe != t.pe || n == 1, "timer: FIFO rotation");
        return ticks(t.due) + t.pe + ticks(next->due);
      });
    case Workload::kaack:
      return steady(ops, [&](std::uint64_t k) {
        const auto ref = hs.find(kPool, pes[k % n].identifier);
        if (verify) require(ref.has_value(), "kaack: PE not found");
        hs.schedule(*ref, TimerKind::keep_alive_transmission, now_k(k) + kKeepAlive);
        return std::uint64_t{*ref} + ticks(hs.next_timer()->due);
      });
    default:
      (void)policy;
      throw std::logic_error("run_steady: not a steady workload");
  }
}

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

std::optional<Workload> parse_workload(std::string_view name) {
  for (std::size_t i = 0; i < kWorkloads.size(); ++i)
    if (kWorkloads[i] == name) return static_cast<Workload>(i);
  return std::nullopt;
}

std::string_view workload_name(Workload w) { return kWorkloads[static_cast<std::size_t>(w)]; }

std::optional<PolicyType> parse_policy(std::string_view name) {
  for (const auto& [n, type] : kPolicies)
    if (n == name) return type;
  return std::nullopt;
}

std::string_view policy_name(PolicyType type) {
  for (const auto& [n, t] : kPolicies)
    if (t == type) return n;
  return "?";
}

std::vector<wire::PoolElement> make_pes(std::size_t n, PolicyType policy) {
  std::uint64_t ids = kSeedIds, attributes = kSeedAttributes;
  std::unordered_set<std::uint32_t> taken;
  std::vector<wire::PoolElement> pes(n);
  for (std::size_t i = 0; i < n; ++i) {
    wire::PoolElement& pe = pes[i];
    do pe.identifier = static_cast<std::uint32_t>(splitmix64(ids) >> 32);
    while (pe.identifier == 0 || !taken.insert(pe.identifier).second);
    const std::uint64_t r = splitmix64(attributes);
    pe.policy.type = policy;
    pe.policy.weight = 1 + static_cast<std::uint32_t>(r & 0x3FF);
    pe.policy.load = static_cast<std::uint32_t>(r >> 32);
    pe.policy.load_degradation = 0x0147AE14;
    pe.home_server = kOwnId;
    pe.registration_life = static_cast<std::int32_t>(kLife.count());
    const auto a = static_cast<std::uint32_t>(0x0A000000 + i);
    const auto address = wire::Address::v4(static_cast<std::uint8_t>(a >> 24),
                                           static_cast<std::uint8_t>(a >> 16),
                                           static_cast<std::uint8_t>(a >> 8),
                                           static_cast<std::uint8_t>(a));
    pe.user_transport.kind = wire::TransportKind::sctp;
    pe.user_transport.use = wire::TransportUse::data_only;
    pe.user_transport.port = static_cast<std::uint16_t>(10000 + i % 50000);
    pe.user_transport.addresses = {address};
    wire::Transport asap = pe.user_transport;
    asap.port = static_cast<std::uint16_t>(20000 + i % 40000);
    pe.asap_transport = std::move(asap);
  }
  return pes;
}

std::uint64_t default_ops(Workload w) {
  switch (w) {
    case Workload::rereg:
    case Workload::rereg_same: return 200'000;
    case Workload::hres1:
    case Workload::hres3:
    case Workload::kaack: return 500'000;
    case Workload::timer: return 1'000'000;
    default: return 200'000;
  }
}

Timed run(Workload w, PolicyType policy, std::size_t n, std::uint64_t ops, bool verify) {
  if (n == 0 || ops == 0 || w == Workload::mem) throw std::invalid_argument("run: N, ops");
  auto pes = make_pes(n, policy);
  switch (w) {
    case Workload::reg:
    case Workload::regcore:
    case Workload::dereg:
    case Workload::expire: return run_cycles(w, pes, ops, verify);
    default: return run_steady(w, policy, pes, ops, verify);
  }
}

Memory measure_memory(std::size_t n) {
  const auto pes = make_pes(n, PolicyType::round_robin);
  auto hs = std::make_unique<Handlespace>();
  malloc_trim(0);
  const auto heap0 = static_cast<std::int64_t>(mallinfo2().uordblks);
  const auto rss0 = rss_bytes();
  fill(*hs, pes);
  Memory m;
  m.heap_bytes = static_cast<std::int64_t>(mallinfo2().uordblks) - heap0;
  m.rss_bytes = rss_bytes() - rss0;
  return m;
}

std::string result_line(Workload w, PolicyType policy, std::size_t n, const Timed& t) {
  const bool pes = w == Workload::reg || w == Workload::regcore || w == Workload::dereg ||
                   w == Workload::expire;
  const bool calls = w == Workload::hres1 || w == Workload::hres3;
  const double rate = t.seconds > 0 ? static_cast<double>(t.ops) / t.seconds : 0;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "RESULT workload=%s policy=%s N=%zu %s=%llu elapsed_s=%.6f rate_per_s=%.1f "
                "ns_per_op=%.2f cpu_ns_per_op=%.2f check=%016llx",
                std::string(workload_name(w)).c_str(), std::string(policy_name(policy)).c_str(),
                n, pes ? "pes" : calls ? "calls" : "ops",
                static_cast<unsigned long long>(t.ops), t.seconds, rate,
                rate > 0 ? 1e9 / rate : 0.0,
                t.ops > 0 ? t.cpu_seconds * 1e9 / static_cast<double>(t.ops) : 0.0,
                static_cast<unsigned long long>(t.check));
  return buf;
}

std::string memory_line(std::size_t n, const Memory& m) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "RESULT workload=mem policy=RoundRobin N=%zu heap_bytes=%lld "
                "heap_bytes_per_pe=%.1f rss_bytes=%lld rss_bytes_per_pe=%.1f sizeof_entry=%zu",
                n, static_cast<long long>(m.heap_bytes),
                static_cast<double>(m.heap_bytes) / static_cast<double>(n),
                static_cast<long long>(m.rss_bytes),
                static_cast<double>(m.rss_bytes) / static_cast<double>(n),
                sizeof(Handlespace::Entry));
  return buf;
}

}  // namespace rserpool::bench
