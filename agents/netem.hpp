// netem (tc-netem(8)) on the emulated sites' ISP links: the shape of one link (delay, its
// jitter and their distribution and correlation, a rate, random loss), the `tc` command line
// that gives a device that shape, and whether this machine's kernel has netem at all. The
// Topology (sites.hpp) applies a shape to both ends of a site's link; this file only builds
// the command lines and probes. Pure apart from netem_available(), which creates and removes
// a probe namespace. Thread-safe.
//
//   LinkShape{delay 25ms, jitter 5ms, normal, 25 %, 10 Mbit/s}
//     ─► netem_args("rsplab-x-oslo", "eth1", shape)
//     ─► tc -n rsplab-x-oslo qdisc replace dev eth1 root netem delay 25000us 5000us 25%
//              distribution normal rate 10000000bit
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rsplab::agents {

// What netem does to the packets of one ISP link, in each direction.
struct LinkShape {
  std::chrono::microseconds delay{0};   // added to every packet
  std::chrono::microseconds jitter{0};  // ± this around `delay` (netem's uniform, or normal)
  bool normal = false;                  // the jitter normally distributed (SD = jitter)
  int correlation = 0;                  // of each delay with the last, 1/100 % (0..10000)
  std::uint64_t rate = 0;               // bits per second; 0: not limited
  int loss = 0;                         // 1/100 % of the packets dropped at random (0..10000)
  bool none() const { return *this == LinkShape{}; }
  bool operator==(const LinkShape&) const = default;
};

// `tc` arguments (without the tool) that give `device` in namespace `netns` this shape:
// "-n NETNS qdisc replace dev DEVICE root netem [delay Dus [Jus [C%]] [distribution normal]]
// [rate Rbit] [loss random P%]"; for a shape of none, "-n NETNS qdisc del dev DEVICE root".
std::vector<std::string> netem_args(const std::string& netns, const std::string& device,
                                    const LinkShape& shape);

// "1.25%" from 125 hundredths of a percent: the form tc reads back exactly.
std::string hundredths_text(int hundredths);

// The path of `tc` (find_tool), or "tc" when it is not installed.
std::string tc_tool();

// Whether netem can shape links here: root, namespaces, `tc`, and a kernel with sch_netem
// (built in or loadable: the probe's `tc qdisc add ... netem` loads it). `why` (may be
// null) says otherwise. Probed once per process (a probe namespace created and deleted).
bool netem_available(std::string* why);

}  // namespace rsplab::agents
