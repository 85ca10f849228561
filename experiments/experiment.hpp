// An experiment file (YAML, documented in experiments/README.md) loaded, validated and
// expanded into a Plan: one fully resolved Run per sweep point and repetition. Nothing here
// starts anything; `rsplab plan` prints a Plan and `rsplab run` carries it out.
//
//   experiment.yaml ─► load_plan() ─► validate every key and value (file:line:col errors)
//                                  ─► expand the sweep (cross product of the lists; zipped
//                                     groups vary together) × repetitions
//                                  ─► substitute $parameters, resolve defaults ─► Run[]
//
// Pure apart from reading the file: no clock; the only randomness is the fault schedules',
// drawn from the runs' seeds (Schedule).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "options/roles.hpp"

namespace rsplab::experiments {

using Duration = std::chrono::nanoseconds;

// Every problem with an experiment file: where and what. what() reads
// "FILE:LINE:COL: MESSAGE" (LINE and COL 1-based).
class LoadError : public std::runtime_error {
 public:
  LoadError(std::string file, int line, int column, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_, column_;
  std::string message_;
};

struct Site {
  std::string name;
  std::vector<std::string> isps;    // at least one; the order numbers the interfaces
  // Reached over ssh: `ssh HOST RSPLAB agent --stdio` ([user@]host as the user's OpenSSH
  // configuration knows it); nullopt: a local namespace (or loopback).
  std::optional<std::string> host;
  std::string rsplab = "rsplab";        // the rsplab executable on `host` (a path or a name)
  std::vector<std::string> addresses;   // host: what its components bind (empty: the agent's)
  std::vector<std::string> interfaces;  // host: its interface per ISP (link faults), or none
  // The address plan, when the file gives one: the site's IPv4 / IPv6 prefix, one /24 (/64)
  // per ISP carved from it in ISP order ("198.18.4.0/22", "fd00:5253:504c:400::/56").
  // nullopt: the runner's default plan. Either every site has one or none has.
  std::optional<std::string> prefix4, prefix6;
};

// What netem does to an ISP link of a site, both ways (`links:`, and the `delay` and `rate`
// faults). The file's delay is a duration or a distribution of durations: fixed:D (D),
// uniform:A,B (delay (A+B)/2, jitter (B-A)/2, netem's uniform) or normal:M,SD (delay M,
// jitter SD, netem's normal table).
struct Netem {
  Duration delay{}, jitter{};  // whole microseconds (tc's unit)
  bool normal = false;         // the jitter normally distributed, else uniform
  double correlation = 0;      // percent (0.01 steps), of each delay with the one before
  std::uint64_t rate = 0;      // bits per second; 0: not limited
  bool operator==(const Netem&) const = default;
};

// A `links:` entry: an emulated site's link to one of its ISPs, shaped for the whole run.
struct Link {
  std::string site, isp;
  Netem netem;
};

// A component's options: typed (options/roles.hpp), the file's only (given: those it sets,
// directly or by `timers:`; every value checked against the role's table), and `args`, the
// same as `rsplab <role>` arguments ("--capacity", "2e6", ..., options::to_args, in table
// order): what the run key hashes and `rsplab plan --verbose` shows. The runner adds what
// the deployment decides (registrars, addresses, seeds) and starts the component.
struct Registrar {
  std::string name;  // "pr0", "pr1", ... in file order
  std::string site;
  options::RegistrarOptions options;
  std::vector<std::string> args;
};

struct PeGroup {
  std::string name;   // "<pool>/pe<i>": i-th PE group of the pool, in file order
  std::string pool;
  std::string site;
  std::size_t count = 1;
  std::string policy;  // NAME[:V1,...], as `rsplab pe --policy` (not in options or args)
  // The registrars its members use, in order (`registrars:`): names ("pr1", ...), or empty
  // for every registrar in file order; `site_first`: the group's site's registrars first.
  std::vector<std::string> registrars;
  bool site_first = false;
  // `registrars: announce`: the registrars announce themselves by ASAP multicast
  // (kAnnounceGroup) and the members learn them there, without a list.
  bool announce = false;
  options::PeOptions options;     // --capacity (amount or distribution), --max-jobs, ...
  std::vector<std::string> args;
};

struct PuGroup {
  std::string name;  // "<pool>/pu<i>"
  std::string pool;
  std::string site;
  std::size_t count = 1;
  std::vector<std::string> registrars;  // as PeGroup's
  bool site_first = false;
  options::PuOptions options;     // --job-size, --interval, --reject-retry-delay, ...
  std::vector<std::string> args;
};

struct Fault {
  // loss_end and partition_end undo loss and partition (the runner adds them after `for`).
  enum class Kind {
    kill, stop, resume, link_down, link_up, restart,  // append only
    loss, loss_end, partition, partition_end,
    delay, delay_end, rate, rate_end,
  };
  // What `target` names (kill/stop/resume/restart); none for network faults.
  enum class TargetKind { none, registrar, group, pool };
  Kind kind = Kind::kill;
  TargetKind target_kind = TargetKind::none;
  Duration at{};                  // since the run's clock started (readiness; warm-up included)
  // `for:` stop → resume, link-down → link-up, loss → loss_end, partition → partition_end,
  // delay → delay_end, rate → rate_end after it.
  std::optional<Duration> lasts;
  // restart: PE members (a group or a pool) killed if alive, back with a new identity; or a
  // registrar, killed if alive and started again on the same ASAP and ENRP ports.
  // kill/stop/resume: a registrar ("pr0") or a PE/PU group ("CalcAppPool/pe0"), or a pool
  // and optionally a site, meaning its PE groups; `count` members of it (default 1).
  std::string target;
  std::size_t count = 1;
  // A group target and this: exactly member `*member` of the group (0..count-1), whatever
  // identity it has now (a restarted PE keeps its member index). Faults of churn schedules.
  std::optional<std::size_t> member;
  // link_down/link_up/loss/loss_end: the site's ISP interface. For a pool target, `site`
  // (optional) narrows it to the pool's PE groups at that site. partition/partition_end:
  // traffic between `site` and `peer` (another site).
  std::string site, isp, peer;
  double percent = 0;  // loss: the share of packets dropped, 0 < percent <= 100 (0.01 steps)
  // delay: the link's delay, jitter, distribution and correlation from now on; rate: its
  // rate. Their undo (delay_end, rate_end) restores what `links:` gives the link (or none).
  Netem netem;
  // The schedule (Run::schedules) this fault came from; nullopt: a one-shot fault.
  std::optional<std::size_t> schedule;

  // kill/stop/resume/restart of a group or a pool: which `count` members it hits.
  //   random: drawn when the plan is made, from the run's seed (schedule_seed with the
  //     fault's position and "select " + target), among the target's members in file
  //     order (a pool's: its groups in file order, each by index) less those an earlier
  //     one-shot kill took down and no restart brought back. The same in every run of a
  //     repetition that has the same targets: every policy loses the same members.
  //     The default of kill and stop.
  //   busiest: the runner's choice when the fault comes: the members with the most jobs in
  //     progress (restart: crashed members first; resume: stopped ones). The default of
  //     restart and resume.
  //   member: the file's list (`member: [i, …]`, indexes as for random).
  enum class Select { busiest, random, member };
  Select select = Select::busiest;
  // random, member: the members, as (group, index in the group), in index order.
  std::vector<std::pair<std::string, std::size_t>> picks;
  std::size_t position = 0;  // a one-shot fault's index in the file's `faults` list
};

// A fault schedule (`churn:` or `flap:` in `faults`), expanded when the plan is made into
// one-shot Faults: each unit (a PE member, a registrar, an ISP link) independently stays up
// for a time ~ Exp(mean `mtbf`), goes down (kill / link-down), comes back after `downtime`
// (restart: a PE with a new identity, a registrar on its ports / link-up), and so on. Failures
// fall in [start, until); a recovery after the run's end is left out. Deterministic from the
// run's seed, the schedule's position in `faults` and the unit's name (schedule_seed), with
// std::mt19937_64 (fully specified by the standard) and an inverse-CDF exponential.
struct Schedule {
  enum class Kind { churn, flap };
  Kind kind = Kind::churn;
  std::size_t position = 0;  // its index in the file's `faults` list
  Fault::TargetKind target_kind = Fault::TargetKind::none;  // churn: registrar, group, pool
  std::string target;                                       // churn: "pr0", "P/pe0", "P"
  std::string site, isp;  // churn of a pool: the optional site; flap: the link
  Duration mtbf{}, downtime{}, start{}, until{};  // until: resolved (default: the run's end)
};

// One run: everything resolved, no $parameters left.
struct Run {
  std::size_t index = 0;       // 0..N-1 in plan order
  // What is stored as the run's index (runs.idx) when not `index`: a round of
  // `rsplab run --until-ci` is a part of the plan to the cap, re-indexed 0..M-1 for the
  // runner, and keeps each run's index in that plan here.
  std::optional<std::size_t> stored_index;
  std::size_t point = 0;       // sweep point 0..P-1
  std::size_t repetition = 0;  // 0..R-1
  // The sweep's values at this point, by parameter name (as written: "lu", "3", "4s").
  std::map<std::string, std::string> parameters;
  // Common random numbers: repetition i has the same seed at every sweep point.
  std::uint64_t seed = 0;
  std::string key;  // hex SHA-256 of `resolved` and the rsplab version (see run_key)

  std::string name;
  Duration duration{}, warmup{};
  std::string transport = "auto";  // auto | sctp | tcp
  std::vector<Site> sites;
  std::vector<Link> links;          // `links:`, in file order, each (site, ISP) once
  std::vector<Registrar> registrars;
  std::vector<PeGroup> pes;
  std::vector<PuGroup> pus;
  std::vector<Schedule> schedules;  // in file order; expanded into `faults`
  std::vector<Fault> faults;        // by `at` (one-shot faults and the schedules' faults)
  nlohmann::json resolved;          // this run's definition as JSON (what the key hashes)
};

struct Plan {
  std::string file;
  std::string name;
  nlohmann::json source;       // the whole file as JSON (stored with the results)
  std::size_t repetitions = 1;
  std::uint64_t seed = 0;      // the base seed (Run::seed derives from it)
  // The sweep's parameter names, the slowest varying first (zipped ones side by side).
  std::vector<std::string> parameters;
  std::vector<Run> runs;       // sweep point major, repetition minor
  // Σ (warm-up + duration) plus an allowance per run for deployment and teardown.
  Duration estimated{};
};

// What `rsplab plan` adds per run to Σ(warm-up + duration): deployment and teardown.
inline constexpr Duration kRunAllowance = std::chrono::seconds(10);

// Common random numbers: the seed of repetition `repetition`, the same at every sweep point.
// Never 0 (0 asks the components for a random seed).
std::uint64_t repetition_seed(std::uint64_t base, std::size_t repetition);

// The seed of one unit's stream in schedule `position` of a run with seed `run_seed`
// (SplitMix64 over the three; `unit` names the unit: "P/pe0#3", "pr0", "oslo/telenor").
std::uint64_t schedule_seed(std::uint64_t run_seed, std::size_t position, std::string_view unit);

// One draw ~ Exp(mean): -mean · ln(u), u uniform in (0, 1] from the engine's next 53 bits.
// Defined here (not std::exponential_distribution, whose output the standard leaves to the
// library) so that a seed gives the same schedule everywhere.
Duration exponential_draw(std::uint64_t engine_output, Duration mean);

// Reads and expands `path`; throws LoadError (also for an unreadable file: line 0, col 0).
// `repetitions` (REQUIRES: >= 1): that many instead of the file's (`rsplab run --until-ci`: the cap). A run's
// seed and key depend on its repetition, not on how many there are: repetition i is the same
// run, with the same key, whatever the count.
Plan load_plan(const std::string& path, std::string_view rsplab_version,
               std::optional<std::size_t> repetitions = std::nullopt);
// The same from text; `file` names it in errors.
Plan parse_plan(std::string_view yaml, const std::string& file, std::string_view rsplab_version,
                std::optional<std::size_t> repetitions = std::nullopt);

// The run key: hex SHA-256 over the canonical JSON of `resolved` (sorted keys) and the
// version.
std::string run_key(const nlohmann::json& resolved, std::string_view rsplab_version);

// Where the registrars of a run announce themselves when a PE group learns them so
// (`registrars: announce`): RSPLIB's default ASAP announce group.
inline constexpr const char* kAnnounceGroup = "239.0.0.50:3863";
// The shape `links:` gives the site's link to `isp` in `r` (none when it names no such link).
Netem link_netem(const Run& r, const std::string& site, const std::string& isp);
// Whether `r` needs netem: `links:` or a delay or rate fault.
bool needs_netem(const Run& r);

// Whether some PE group of `r` learns its registrars from announces.
bool announced(const Run& r);

// Endpoints by registrar name ("pr0" → {"10.0.0.1:3863", "10.1.0.1:3863"}).
using RegistrarEndpoints = std::map<std::string, std::vector<std::string>>;
// A group's registrar list (`rsplab pe|pu --registrar`): the endpoints of the registrars it
// chose (`chosen`; none: every registrar in file order, those at `site` first when
// `site_first`), in that order.
std::string registrar_list(const Run& r, const std::vector<std::string>& chosen, bool site_first,
                           const std::string& site, const RegistrarEndpoints& endpoints);

}  // namespace rsplab::experiments
