// Handlespace benchmarks in Google Benchmark: handlespace/<workload>/<Policy>/<N>, each
// iteration one run of the comparison workload (handlespace_workload.cpp) with the
// comparison's counts, timed by the workload's own timed loops (manual time), so a case
// measures what hsbench_workload measures. mem reports heap_bytes_per_pe and
// rss_bytes_per_pe as counters.
//
//   build/release/bench/handlespace_bench --benchmark_filter='/10000$'
//   (add --benchmark_repetitions=5 --benchmark_report_aggregates_only=true for medians)
#include <benchmark/benchmark.h>

#include <string>

#include "bench/handlespace_workload.hpp"

namespace {

using namespace rserpool::bench;
using rserpool::wire::PolicyType;

void BM_workload(benchmark::State& state, Workload w, PolicyType policy) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t ops = 0;
  for (auto _ : state) {
    const Timed t = run(w, policy, n, default_ops(w), false);
    state.SetIterationTime(t.seconds);
    ops += t.ops;
    benchmark::DoNotOptimize(t.check);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
}

void BM_mem(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Memory m;
  for (auto _ : state) m = measure_memory(n);
  state.counters["heap_bytes_per_pe"] = static_cast<double>(m.heap_bytes) / static_cast<double>(n);
  state.counters["rss_bytes_per_pe"] = static_cast<double>(m.rss_bytes) / static_cast<double>(n);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : {100, 1000, 10000, 100000}) b->Arg(n);
}

}  // namespace

int main(int argc, char** argv) {
  const PolicyType all[] = {PolicyType::round_robin, PolicyType::weighted_random,
                            PolicyType::least_used, PolicyType::least_used_degradation,
                            PolicyType::random};
  for (int i = 0; i <= static_cast<int>(Workload::kaack); ++i) {
    const auto w = static_cast<Workload>(i);
    const bool policy_free = w == Workload::timer || w == Workload::kaack;
    for (const PolicyType p : all) {
      if (policy_free && p != PolicyType::round_robin) continue;
      const std::string name = "handlespace/" + std::string(workload_name(w)) + "/" +
                               std::string(policy_name(p));
      benchmark::RegisterBenchmark(name.c_str(), BM_workload, w, p)
          ->Apply(sizes)
          ->UseManualTime()
          ->Unit(benchmark::kNanosecond);
    }
  }
  benchmark::RegisterBenchmark("handlespace/mem/RoundRobin", BM_mem)->Apply(sizes)->Iterations(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
