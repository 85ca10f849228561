// A run's faults: the schedule (the plan's faults with the undo of each `for:` fault added,
// in time order) and carrying them out at their times on the run's clock: kill / stop /
// resume / restart of registrars and PE or PU members (through their agents' control lines,
// or signals for registrars), ISP links down and up (the site's agent), loss, delay, rate and
// partitions (the Topology). Each fault becomes a row of the faults table (when it was applied, what it
// hit, or why it was skipped) and, unless a schedule makes too many, a line of output.
//
//   fault_schedule(run) ─► FaultInjector::run_schedule ─► at each time: apply(fault)
//     ─► AgentLink::control / signal / link, Topology ─► Store::add_fault ─► "  t=… kill …"
//
// Single-threaded, on the runner's Loop.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/deployment.hpp"
#include "experiments/experiment.hpp"
#include "experiments/loop.hpp"
#include "experiments/record.hpp"

namespace rsplab::experiments {

// The run's faults in the order they are applied: by time (stable), each `for:` fault followed
// by its undo (link_up, resume, loss_end, partition_end) scheduled `for` after it.
std::vector<Fault> fault_schedule(const Run& r);

// The kind as the faults table stores it ("kill", "link_down", ...).
std::string fault_kind(Fault::Kind kind);

class FaultInjector {
 public:
  FaultInjector(Loop& loop, Deployment& deployment, RunRecord& record, bool terminal,
                std::ostream& out)
      : loop_(loop), deployment_(deployment), record_(record), terminal_(terminal), out_(out) {}

  // Applies `due` (fault_schedule) at their times after the record's clock_started; false
  // when interrupted meanwhile. Beyond kMaxFaultLines schedule faults, their lines give way
  // to a count at the end.
  bool run_schedule(const std::vector<Fault>& due, Duration runtime);

  // Carries out one fault now and stores it as a row: kind, target, at_us (since the run's
  // clock started) and details (scheduled_us, the schedule it came from, what it hit, or why
  // it was skipped or failed). Prints one line about it if `print`. Returns the kind.
  std::string apply(const Fault& f, bool print);

  static constexpr std::size_t kMaxFaultLines = 20;

 private:
  void apply_link(const Fault& f, nlohmann::json& details);
  void apply_loss(const Fault& f, nlohmann::json& details);
  void apply_partition(const Fault& f, nlohmann::json& details);
  void apply_netem(const Fault& f, nlohmann::json& details);
  void apply_registrar(const Fault& f, Component& c, nlohmann::json& details);
  void apply_picks(const Fault& f, const std::string& kind, nlohmann::json& details);
  void apply_busiest(const Fault& f, const std::string& kind, nlohmann::json& details);
  nlohmann::json hit_member(const Fault& f, const std::string& kind, const std::string& group,
                            std::size_t index);
  void restart_registrar(Component& c, nlohmann::json& details);
  void control(const Component& c, const std::string& kind, std::size_t member);
  void print(const Fault& f, const std::string& kind, const std::string& target,
             std::int64_t at, const nlohmann::json& details);

  Loop& loop_;
  Deployment& deployment_;
  RunRecord& record_;
  bool terminal_;
  std::ostream& out_;
};

}  // namespace rsplab::experiments
