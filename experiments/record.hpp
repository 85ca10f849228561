// One run's record as it goes: its components and their members as their agents report them,
// the counters the progress line shows, the times of its deployment, and its rows in the
// results database (the run's row once its clock starts; a components row per identity; the
// events, those that came earlier kept until the run's row exists; the event_counts check).
//
//   agent ─► Deployment (AgentListener) ─► RunRecord::on_event ─► Store::add_event
//
// Single-threaded, on the runner's loop. reset() starts the next run.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/run_clock.hpp"
#include "results/store.hpp"

namespace rsplab::experiments {

// One component process (a group of `count` members for PEs and PUs) as its agent reports it.
struct Component {
  std::string name;  // "pr0", "CalcAppPool/pe0"
  std::string role;  // registrar | pe | pu
  std::string site;
  std::string pool, policy;
  std::vector<std::string> lines;  // what it printed that is not an event
  // A registrar's endpoints ("ADDRS:PORT"), from its ready event (agents/protocol.hpp,
  // RegistrarReady); empty until it is ready.
  std::string asap, enrp;
  std::optional<nlohmann::json> summary;  // a PU's counters line
  bool exited = false;
  int code = -1;
  std::string status;
  long max_rss_kib = 0;  // from its agent, once exited
  double cpu_s = 0;
  std::map<std::size_t, std::string> members;  // member index → event id
  std::map<std::string, std::int64_t> rows;    // event id → components row
  std::vector<std::string> args;  // as started (a registrar's restart reuses them)
  std::string current_id;         // a registrar's: the id of its latest event
  std::map<std::size_t, double> capacities;  // a PE group's, by member (kept by restarts)
};

// One member of a group, by the id it reported ready with.
struct Member {
  std::string component;
  std::size_t index = 0;
  std::string id;
  bool killed = false, stopped = false;
  bool replaced = false;  // restarted: a new member (new id) took its place
};

struct RunRecord {
  explicit RunRecord(results::Store& s) : store(s) {}

  void reset(const Run& r);
  // A component being started: its entry, fresh but for what a restart keeps.
  Component& add_component(const std::string& site, const std::string& name,
                           const std::string& role, const std::vector<std::string>& args);
  // An event of `comp` (already on the runner's clock): counted, then stored (or kept until
  // begin()).
  void on_event(Component& comp, const nlohmann::json& e);
  void on_ready(Component& comp, const nlohmann::json& e);
  // The run's row (`info`), the sites' clocks, then the events that came before it.
  void begin(const results::RunInfo& info, const std::vector<results::SiteClock>& clocks);
  // The check `event_counts`: the PUs' own counters against the rows stored (nothing may be
  // lost): jobs, failovers, handle resolutions, and the echo PUs' series and round trips
  // (echo_series). Sets `generated` when every PU printed its counters.
  results::RunCheck check_counts();

  results::Store& store;
  const Run* run = nullptr;
  std::optional<std::int64_t> run_id;
  std::map<std::string, Component> components;
  std::map<std::string, std::vector<std::string>> sites;  // site → addresses
  std::map<std::string, Member> members_by_id;
  std::set<std::string> registered;  // PE ids a registrar registered
  std::map<std::string, int> active;  // PE id → jobs in progress
  std::vector<std::pair<std::string, nlohmann::json>> early;  // before the run's row exists
  std::int64_t jobs_done = 0, failovers = 0;
  // The echo PUs' series (docs/echo.md): members ready, series ended (their `done`) and the
  // round trips (PONGs) the ended ones counted.
  std::int64_t echo_series = 0, echo_ended = 0, echo_round_trips = 0;
  std::optional<std::int64_t> generated;  // jobs the PUs generated, once all counted
  std::int64_t events_stored = 0, events_at_clock_start = 0;
  std::string transport_used;
  std::string step;  // the deployment step in progress, until the run's clock starts
  RunClock::time_point deploy_started{};
  double runner_cpu_at_deploy = 0;  // own_cpu_s() then (progress.hpp)
  std::optional<RunClock::time_point> clock_started;

 private:
  void store_event(Component& comp, const nlohmann::json& e);
};

// A run's row as Store::begin_run stores it; `transport` is what was used.
results::RunInfo run_info(const Run& r, std::int64_t experiment_id, const std::string& transport,
                          std::int64_t start_us);

}  // namespace rsplab::experiments
