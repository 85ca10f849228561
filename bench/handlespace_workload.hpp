// The handlespace workload of the side-by-side comparison with RSPLIB's handlespace
// (librsphsmgt, as its hsbench drives it): the same pool, PEs, pseudo-random streams,
// synthetic clock, operations and batch sizes, each operation mapped to the calls our
// registrar makes. hsbench_workload (the comparison's command-line interface) and
// handlespace_bench (Google Benchmark) both run it from here; handlespace_workload.cpp
// describes the workload and the mapping. Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/wire/parameters.hpp"

namespace rserpool::bench {

// Names as in the comparison: reg, regcore, rereg, rereg_same, hres1, hres3, dereg,
// expire, timer, kaack, mem.
enum class Workload : std::uint8_t {
  reg, regcore, rereg, rereg_same, hres1, hres3, dereg, expire, timer, kaack, mem
};
std::optional<Workload> parse_workload(std::string_view name);
std::string_view workload_name(Workload w);
// RoundRobin, WeightedRandom, LeastUsed, LeastUsedDegradation, Random.
std::optional<wire::PolicyType> parse_policy(std::string_view name);
std::string_view policy_name(wire::PolicyType type);

// PE i = 0 … n-1 as REG registers it: identifier, policy parameters, transports, home.
std::vector<wire::PoolElement> make_pes(std::size_t n, wire::PolicyType policy);

// The comparison's timed operations per run: PEs for reg, regcore, dereg and expire
// (ceil(ops / N) cycles of N), calls or operations for the others. Warm-up is a tenth.
std::uint64_t default_ops(Workload w);

struct Timed {
  std::uint64_t ops = 0;    // timed operations
  double seconds = 0;       // timed seconds (CLOCK_MONOTONIC around the timed loops)
  double cpu_seconds = 0;   // the thread's CPU time in them (CLOCK_THREAD_CPUTIME_ID)
  std::uint64_t check = 0;  // a digest of what the operations returned: equal for equal behaviour
};
// Runs workload w (not mem). With `verify`, checks each step's result and throws
// std::runtime_error on a mismatch (not for timing).
Timed run(Workload w, wire::PolicyType policy, std::size_t n, std::uint64_t ops, bool verify);

struct Memory {
  std::int64_t heap_bytes = 0;  // mallinfo2().uordblks growth
  std::int64_t rss_bytes = 0;   // /proc/self/statm resident growth
};
// Registers n PEs by REG into an empty handlespace and measures the growth.
Memory measure_memory(std::size_t n);

// The comparison's RESULT line (without a trailing newline).
std::string result_line(Workload w, wire::PolicyType policy, std::size_t n, const Timed& t);
std::string memory_line(std::size_t n, const Memory& m);

}  // namespace rserpool::bench
