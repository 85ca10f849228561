// Handlespace benchmarks: handlespace/<operation>/<policy>/<PEs>.
//
// One pool ("CalcAppPool"); N PEs with distinct random 32-bit IDs, one IPv4 transport
// each, random weights (1–1024) and loads. Operations: register (into an empty pool),
// reregister (one PE with a new load), resolve1 / resolve3 (handle resolution of 1 and
// 3 PEs), deregister (all), next_timer (take the next due expiry timer and re-arm it),
// and the bytes each PE costs (counter bytes_per_pe, from the allocator's statistics).
// Policy-independent operations run on a Least Used pool and are named "-".
//
//   build/release/bench/handlespace_bench --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true --benchmark_filter="/10000$"
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "stack/handlespace/handlespace.hpp"

namespace {

using namespace rserpool;
using handlespace::Handlespace;
using handlespace::PeRef;
using handlespace::Rng;
using wire::PolicyType;

constexpr std::string_view kPool = "CalcAppPool";

std::vector<wire::PoolElement> make_pes(std::size_t n, PolicyType type, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::unordered_set<std::uint32_t> ids;
  std::vector<wire::PoolElement> pes;
  pes.reserve(n);
  while (pes.size() < n) {
    const auto id = static_cast<std::uint32_t>(g());
    if (id == 0 || !ids.insert(id).second) continue;
    wire::PoolElement pe;
    pe.identifier = id;
    pe.home_server = 0x5e5e5e5e;
    pe.registration_life = 300000;
    pe.user_transport.kind = wire::TransportKind::sctp;
    pe.user_transport.port = static_cast<std::uint16_t>(1024 + g() % 60000);
    pe.user_transport.use = wire::TransportUse::data_plus_control;
    pe.user_transport.addresses = {wire::Address::v4(10, static_cast<std::uint8_t>(g()),
                                                     static_cast<std::uint8_t>(g()),
                                                     static_cast<std::uint8_t>(g()))};
    pe.policy.type = type;
    pe.policy.weight = static_cast<std::uint32_t>(1 + g() % 1024);
    pe.policy.load = static_cast<std::uint32_t>(g());
    // Degradation of 1–5 % of full load per accepted request, as a PE with 20–100
    // job slots would announce.
    pe.policy.load_degradation = static_cast<std::uint32_t>(
        (wire::kFractionOne / 100) * (1 + g() % 5));
    pes.push_back(std::move(pe));
  }
  return pes;
}

// Registers every PE with its registration-expiry timer, as a registrar does.
void fill(Handlespace& hs, const std::vector<wire::PoolElement>& pes) {
  const auto now = handlespace::TimePoint(std::chrono::hours(1));
  for (const auto& pe : pes) {
    const auto reg = hs.register_pe(kPool, pe);
    hs.schedule(reg.ref, handlespace::TimerKind::expiry,
                now + std::chrono::milliseconds(pe.registration_life));
  }
}

void BM_register(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto pes = make_pes(n, PolicyType::least_used, 1);
  for (auto _ : state) {
    auto hs = std::make_unique<Handlespace>();
    fill(*hs, pes);
    benchmark::DoNotOptimize(hs->pe_count());
    state.PauseTiming();
    hs.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  // Bytes per PE: what the allocator holds for a filled handlespace, over N.
  const std::size_t before = mallinfo2().uordblks;
  {
    auto hs = std::make_unique<Handlespace>();
    fill(*hs, pes);
    const std::size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_pe"] =
        static_cast<double>(after - before + sizeof(Handlespace)) / static_cast<double>(n);
  }
}

void BM_reregister(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto pes = make_pes(n, PolicyType::least_used, 2);
  Handlespace hs;
  fill(hs, pes);
  std::mt19937 g(3);
  for (auto& pe : pes) pe.policy.load = static_cast<std::uint32_t>(g());
  std::size_t i = 0;
  for (auto _ : state) {
    auto& pe = pes[i];
    pe.policy.load += 0x01000000;  // a new load every time
    benchmark::DoNotOptimize(hs.register_pe(kPool, pe));
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_resolve(benchmark::State& state, std::size_t items, PolicyType type) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Handlespace hs;
  fill(hs, make_pes(n, type, 4));
  Rng rng(5);
  std::vector<PeRef> out;
  out.reserve(8);
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(hs.select(kPool, items, rng, out));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_deregister(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto pes = make_pes(n, PolicyType::least_used, 6);
  std::vector<std::uint32_t> order;
  for (const auto& pe : pes) order.push_back(pe.identifier);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (auto _ : state) {
    state.PauseTiming();
    auto hs = std::make_unique<Handlespace>();
    fill(*hs, pes);
    state.ResumeTiming();
    for (auto id : order) hs->deregister(kPool, id);
    benchmark::DoNotOptimize(hs->pe_count());
    state.PauseTiming();
    hs.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_next_timer(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto pes = make_pes(n, PolicyType::least_used, 8);
  Handlespace hs;
  std::mt19937_64 g(9);
  using std::chrono::milliseconds;
  for (const auto& pe : pes) {
    const auto reg = hs.register_pe(kPool, pe);
    hs.schedule(reg.ref, handlespace::TimerKind::expiry,
                handlespace::TimePoint(milliseconds(g() % 300000)));
  }
  for (auto _ : state) {
    const auto t = hs.next_timer();
    hs.schedule(t->pe, handlespace::TimerKind::expiry, t->due + milliseconds(300000));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : {100, 1000, 10000, 100000}) b->Arg(n);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("handlespace/register/-", BM_register)->Apply(sizes);
  benchmark::RegisterBenchmark("handlespace/reregister/-", BM_reregister)->Apply(sizes);
  benchmark::RegisterBenchmark("handlespace/deregister/-", BM_deregister)->Apply(sizes);
  benchmark::RegisterBenchmark("handlespace/next_timer/-", BM_next_timer)->Apply(sizes);
  const std::pair<const char*, PolicyType> policies[] = {
      {"rr", PolicyType::round_robin},
      {"wrand", PolicyType::weighted_random},
      {"lu", PolicyType::least_used},
      {"lud", PolicyType::least_used_degradation},
      {"random", PolicyType::random},
  };
  for (std::size_t items : {1, 3})
    for (const auto& [name, type] : policies)
      benchmark::RegisterBenchmark(
          ("handlespace/resolve" + std::to_string(items) + "/" + name).c_str(), BM_resolve,
          items, type)
          ->Apply(sizes);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
