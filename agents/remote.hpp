// Sites on remote hosts, reached over ssh (experiments/README.md, "Remote sites"): the
// command lines, the clock offset estimate, and a blocking probe for `rsplab plan` and the
// runner's check before a campaign.
//
//   ssh_command(host, config, rsplab, {"agent", "--stdio"})
//     ─► ssh [-F CONFIG] -T -o BatchMode=yes -o ServerAliveInterval=5
//            -o ServerAliveCountMax=3 HOST RSPLAB agent --stdio
//   probe(host, config, rsplab) ─► RSPLAB agent --version there, then an agent over ssh:
//     hello (its host name, addresses) and kClockSamples time round trips ─► Probe
//
// Everything else (keys, ProxyJump, ports, user names) is the user's OpenSSH configuration
// (~/.ssh/config, or CONFIG): nothing here overrides it but BatchMode (never prompt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rsplab::agents {

// argv of `ssh` running RSPLAB with `args` on `host`; `config` (may be empty) is passed as
// -F. REQUIRES: host and rsplab are validated (no leading '-', no spaces).
std::vector<std::string> ssh_command(const std::string& host, const std::string& config,
                                     const std::string& rsplab,
                                     const std::vector<std::string>& args);

// One clock round trip: the runner's clock when it asked, the agent's clock in the answer,
// the runner's clock when the answer came (all UTC µs).
struct ClockSample {
  std::int64_t sent_us = 0, agent_us = 0, received_us = 0;
};

// The agent's clock against ours from the shortest round trip (the least queued one):
// offset = agent − midpoint of the round trip, uncertainty = half of it (the answer was
// taken somewhere inside it). agent time − offset_us = our time.
struct ClockEstimate {
  std::int64_t offset_us = 0, uncertainty_us = 0, rtt_us = 0;
  int samples = 0;
};
// REQUIRES: !samples.empty().
ClockEstimate estimate_clock(const std::vector<ClockSample>& samples);

inline constexpr int kClockSamples = 8;

struct Probe {
  std::string error;   // empty: reached
  std::string version; // `RSPLAB agent --version` there
  std::string hostname;
  std::vector<std::string> addresses;  // what its agent reports
  std::optional<ClockEstimate> clock;
};
// Blocking, bounded (about 20 s at most per step): checks that `host` answers over ssh, its
// rsplab version, and measures its clock offset with a short-lived agent.
Probe probe(const std::string& host, const std::string& config, const std::string& rsplab);

}  // namespace rsplab::agents
