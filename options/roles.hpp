// The options of `rsplab registrar`, `rsplab pe` and `rsplab pu`: one struct per role, its
// fields with their defaults, and its table (options/roles.cpp: key, grammar, help, where
// it may be set) that the generic functions of options/options.hpp work from. A field is a
// Setting: the default until given. Adding an option: a field here and a row in roles.cpp;
// the command's flags and --help, experiment files and the runner's command lines follow.
// Plain values; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "options/options.hpp"

namespace rsplab::options {

struct RegistrarOptions {
  Setting<std::string> transport{"auto"};
  Setting<std::string> asap{"0.0.0.0:3863"};
  Setting<std::string> enrp{"0.0.0.0:9901"};
  Setting<std::string> keepalive_interval{"5000"};
  Setting<std::string> keepalive_timeout{"5000"};
  Setting<std::uint32_t> max_bad_pe_reports{3};
  Setting<std::uint32_t> max_hres_items{3};
  Setting<double> max_hr_rate{-1};
  Setting<double> max_eu_rate{-1};
  Setting<std::string> min_address_scope{""};  // default: site-local, or loopback on loopback only
  Setting<std::string> announce{"off"};
  // ENRP (RFC 5353): peers, presence by multicast, timers (behaviour.md's defaults).
  Setting<std::string> peer{""};  // none: peers from --enrp-announce only
  Setting<std::string> enrp_announce{"off"};
  Setting<std::string> peer_heartbeat_interval{"2440"};
  Setting<std::string> peer_max_time_last_heard{"5000"};
  Setting<std::string> peer_max_time_no_response{"5000"};
  Setting<std::string> mentor_discovery_timeout{"5000"};
  Setting<std::string> takeover_expiry{"5000"};
  Setting<std::string> takeover_suggestion{"off"};
  Setting<std::string> identifier{""};  // default: random
  Setting<std::string> events{""};
  Setting<std::string> log_level{"info"};
  Setting<std::uint64_t> seed{0};  // 0: random
  Setting<std::uint32_t> threads{1};  // handle ASAP connections on this many threads

  static std::span<const Entry<RegistrarOptions>> table();
};

struct PeOptions {
  Setting<std::string> registrar{""};
  Setting<std::string> pool{""};
  Setting<std::string> policy{"rr"};
  Setting<std::uint64_t> count{1};
  Setting<std::string> local{""};  // empty: every address of the host
  Setting<std::string> transport{"auto"};
  Setting<std::uint64_t> seed{0};
  Setting<std::string> control{""};
  Setting<std::string> service{"calcapp"};
  Setting<std::string> capacity{"1e6"};
  Setting<std::uint64_t> max_jobs{10};
  Setting<std::string> cookie_max_time{"5s"};
  Setting<std::string> cookie_max_calculations{"5e6"};
  Setting<double> shutdown_cookie_probability{1.0};
  Setting<std::string> keepalive_interval{"2.5s"};
  Setting<std::string> keepalive_timeout{"2.5s"};
  Setting<std::string> reregistration_interval{"30s"};
  Setting<std::string> registration_life{""};  // default: 3 × the interval
  Setting<std::string> usage_interval{"5s"};
  Setting<std::uint64_t> cookie_every{1};  // echo
  Setting<std::string> announce{"off"};
  Setting<std::string> identifier{""};  // default: random
  Setting<std::string> events{""};
  Setting<std::string> log_level{"info"};

  static std::span<const Entry<PeOptions>> table();
};

struct PuOptions {
  Setting<std::string> registrar{""};
  Setting<std::string> pool{""};
  Setting<std::uint64_t> count{1};
  Setting<std::string> local{""};
  Setting<std::string> transport{"auto"};
  Setting<std::uint64_t> seed{0};
  Setting<std::string> name{""};     // default: pu-<pid>
  Setting<std::string> runtime{""};  // default: no limit
  Setting<std::string> control{""};
  Setting<std::string> service{"calcapp"};
  Setting<std::string> job_size{"exp:5e6"};
  Setting<std::string> interval{"exp:15s"};
  Setting<std::string> reject_retry_delay{"fixed:1s"};
  Setting<std::string> keepalive_interval{"5s"};
  Setting<std::string> keepalive_timeout{"5s"};
  Setting<std::string> stale_cache{"0s"};
  Setting<std::uint32_t> resolution_items{0};
  Setting<std::uint64_t> jobs{0};
  Setting<std::string> ping_interval{"1s"};  // echo
  Setting<std::uint64_t> replies{0};         // echo; 0: no limit
  Setting<std::string> events{""};
  Setting<std::string> log_level{"info"};

  static std::span<const Entry<PuOptions>> table();
};

}  // namespace rsplab::options
