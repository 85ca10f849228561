// A run's deployment and teardown: its sites (network namespaces through agents::Topology, or
// loopback addresses), one agent per site (AgentStarter) with its clock round trips, then the
// components in order, each step waiting for its readiness with a bounded deadline:
// registrars (their "asap" endpoints, 30 s), PE groups (every PE registered, 60 s), PU groups
// (started once the run's clock runs). It hears the agents (AgentListener) and passes what
// their components report to the RunRecord; an agent lost before the teardown ends the run
// (lost(), thrown by the run's loop). teardown() stops the agents and removes the sites.
//
//   sites (their `links:` shaped) ─► agents (hello, kClockSamples time round trips) ─► registrars ─► PEs registered
//     ─► [the run's clock starts] ─► PUs ─► ... ─► teardown: stop ─► kill ─► sites removed
//
// Single-threaded, on the runner's Loop. Throws std::runtime_error with the reason a step failed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "agents/remote.hpp"
#include "agents/sites.hpp"
#include "experiments/agent_link.hpp"
#include "experiments/loop.hpp"
#include "experiments/record.hpp"
#include "experiments/runner.hpp"

namespace rsplab::agents {
class Journal;
}

namespace rsplab::experiments {

// A `links:` shape (or a delay or rate fault's) as the Topology applies it.
agents::LinkShape link_shape(const Netem& n);

// One site's agent as the runner knows it.
struct AgentState {
  std::unique_ptr<AgentLink> link;
  bool stopped = false, exited = false;
  std::optional<std::string> host;  // remote: reached by ssh
  std::optional<agents::protocol::HelloReply> hello;
  std::vector<agents::ClockSample> clock;
  std::int64_t time_sent_us = 0;
  std::optional<agents::ClockEstimate> estimate;
};

class Deployment final : public AgentListener {
 public:
  struct Setup {
    Loop& loop;
    AgentStarter& starter;
    RunRecord& record;
    const RunnerOptions& options;
    std::ostream& out;
    std::ostream& err;
    std::string log_dir;
    bool netns = false;                  // sites in network namespaces (else loopback)
    agents::Journal* journal = nullptr;  // for the namespaces (REQUIRES: set when netns)
  };
  explicit Deployment(Setup setup) : s_(std::move(setup)) {}

  // Called when a step begins (RunRecord::step says which).
  std::function<void()> on_step;

  // Everything up to the PEs' registration: the registrars' ASAP endpoints by name.
  RegistrarEndpoints deploy(const Run& r);
  void start_pus(const Run& r, const RegistrarEndpoints& registrars);
  Component& start_component(const std::string& site, const std::string& name,
                             const std::string& role, std::vector<std::string> args);
  // Stops the agents (15 s, then SIGKILL and 3 s) and removes the sites; never throws.
  void teardown();
  void reset();

  // Why an agent was lost mid-run ("" while none was).
  const std::string& lost() const { return lost_; }
  bool tearing_down() const { return tearing_down_; }
  // Remote agents hear from the runner at least every 10 s (their --idle-timeout is 60 s).
  void heartbeat();
  std::vector<results::SiteClock> site_clocks() const;

  AgentLink* link(const std::string& site);
  const AgentState* agent(const std::string& site) const;
  agents::Topology* topology() { return topology_.get(); }
  bool remote_site(const std::string& name) const;

  void hello(const std::string& site, const agents::protocol::HelloReply& hello) override;
  void time(const std::string& site, std::int64_t agent_unix_us) override;
  void line(const std::string& site, const std::string& component,
            const std::string& text) override;
  void event(const std::string& site, const std::string& component,
             nlohmann::json event) override;
  void exited(const std::string& site, const std::string& component,
              const ComponentExit& exit) override;
  void stopped(const std::string& site) override;
  void problem(const std::string& site, const std::string& text) override;
  void lost(const std::string& site, int wait_status, const std::string& last_words) override;

 private:
  void enter(std::string step);
  void create_sites(const Run& r, std::map<std::string, std::string>& netns);
  void start_agents(const Run& r, const std::map<std::string, std::string>& netns);
  void check_remote_site(const Site& s);
  RegistrarEndpoints start_registrars(const Run& r);
  void start_pes(const Run& r, const RegistrarEndpoints& registrars);
  void ask_time(const std::string& site);
  bool all_exited() const;

  Setup s_;
  std::map<std::string, AgentState> agents_;
  std::unique_ptr<agents::Topology> topology_;
  std::string lost_;
  bool tearing_down_ = false;
  RunClock::time_point last_heartbeat_{};
};

// A registrar's ASAP endpoints, one per address, from the "ADDRS:PORT" of its ready event
// (Component::asap): "10.0.0.1,10.1.0.1:3863" → 10.0.0.1:3863, 10.1.0.1:3863.
std::vector<std::string> asap_endpoints(const std::string& asap);
// Whether a registrar reported its ASAP endpoint (it listens).
bool listening(const Component& registrar);

}  // namespace rsplab::experiments
