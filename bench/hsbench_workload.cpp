// The handlespace workload as the comparison's driver runs each implementation:
//   hsbench_workload <workload> <Policy> <N> [-ops=<count>] [-verify]
// prints one RESULT line (workload, policy, N, timed operations, elapsed seconds, rate,
// ns per operation, and a digest of the results). `mem` prints the memory RESULT line.
// The workload itself is in handlespace_workload.cpp. No Google Benchmark: one process,
// one measurement, so that a driver can interleave it with RSPLIB's hsbench.
#include <charconv>
#include <cstdio>
#include <exception>
#include <string_view>

#include "bench/handlespace_workload.hpp"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: hsbench_workload <workload> <Policy> <N> [-ops=<count>] [-verify]\n"
               "  workload: reg regcore rereg rereg_same hres1 hres3 dereg expire timer kaack mem\n"
               "  Policy:   RoundRobin WeightedRandom LeastUsed LeastUsedDegradation Random\n");
  return 2;
}

bool parse_count(std::string_view s, std::uint64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out > 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rserpool::bench;
  if (argc < 4) return usage();
  const auto workload = parse_workload(argv[1]);
  const auto policy = parse_policy(argv[2]);
  std::uint64_t n = 0;
  if (!workload || !policy || !parse_count(argv[3], n) || n > 10'000'000) return usage();
  std::uint64_t ops = default_ops(*workload);
  bool verify = false;
  for (int i = 4; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-verify") verify = true;
    else if (!(a.starts_with("-ops=") && parse_count(a.substr(5), ops))) return usage();
  }
  try {
    if (*workload == Workload::mem) {
      std::printf("%s\n", memory_line(n, measure_memory(n)).c_str());
    } else {
      const Timed t = run(*workload, *policy, n, ops, verify);
      std::printf("%s%s\n", result_line(*workload, *policy, n, t).c_str(),
                  verify ? " verified=1" : "");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hsbench_workload: %s\n", e.what());
    return 1;
  }
  return 0;
}
