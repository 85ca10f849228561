// What bench/registrar_load and bench/enrp_load share (load_support.hpp): process CPU time,
// pinning, the descriptor limit, number formatting, a simulated PE's messages.
#include "bench/load_support.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace rsplab::bench {

namespace wire = rserpool::wire;

// The process's CPU clock (nanoseconds) where the kernel gives it, else /proc/<pid>/stat in
// clock ticks (10 ms).
std::optional<double> process_cpu_seconds(int pid) {
  clockid_t clock{};
  timespec ts{};
  if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &ts) == 0)
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return std::nullopt;
  const auto paren = line.rfind(')');  // the command name may hold spaces and parens
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(paren + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15, in clock ticks
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

bool pin(int pid, int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(pid, sizeof set, &set) == 0;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s(buf);
  const auto dot = s.find('.');
  const std::size_t end = dot == std::string::npos ? s.size() : dot;
  const std::size_t start = s[0] == '-' ? 1 : 0;
  for (std::size_t i = end; i > start + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

bool encode_registration(const SimulatedPe& pe, wire::Bytes& out) {
  wire::asap::Registration r;
  r.pool_handle = pe.pool;
  auto& e = r.pool_element;
  e.identifier = pe.id;
  e.registration_life = static_cast<std::int32_t>(pe.registration_life_ms);
  e.user_transport.kind = wire::TransportKind::tcp;
  e.user_transport.use = wire::TransportUse::data_only;
  e.user_transport.port = pe.port;
  e.user_transport.addresses = {pe.address};
  e.policy = pe.policy;
  return wire::encode(wire::asap::Message{r}, out);
}

bool encode_keep_alive_ack(const wire::asap::EndpointKeepAlive& ka, std::uint32_t pe_id,
                           wire::Bytes& out) {
  wire::asap::EndpointKeepAliveAck ack;
  ack.pool_handle = ka.pool_handle;
  ack.pe_identifier = ka.pe_identifier.value_or(pe_id);
  return wire::encode(wire::asap::Message{ack}, out);
}

}  // namespace rsplab::bench
