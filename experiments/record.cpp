// One run's record: components, members, counters and rows (record.hpp).
#include "experiments/record.hpp"

#include <limits>
#include <sstream>

#include "agents/protocol.hpp"
#include "results/summary.hpp"
#include "stack/common/events.hpp"

namespace rsplab::experiments {

using json = nlohmann::json;

void RunRecord::reset(const Run& r) {
  run = &r;
  run_id.reset();
  clock_started.reset();
  components.clear();
  sites.clear();
  members_by_id.clear();
  registered.clear();
  active.clear();
  early.clear();
  jobs_done = failovers = 0;
  echo_series = echo_ended = echo_round_trips = 0;
  generated.reset();
  events_stored = events_at_clock_start = 0;
  transport_used = r.transport;
  step.clear();
}

Component& RunRecord::add_component(const std::string& site, const std::string& name,
                                    const std::string& role,
                                    const std::vector<std::string>& args) {
  Component& c = components[name];
  c.name = name;
  c.role = role;
  c.site = site;
  c.args = args;
  return c;
}

// What a component's ready event says it is: a member's index and id, a registrar's
// endpoints. One that does not say it (agents::protocol::Malformed) is stored all the same.
void RunRecord::on_ready(Component& comp, const json& e) {
  namespace protocol = agents::protocol;
  try {
    if (e.contains("member")) {
      const auto m = e.get<protocol::MemberReady>();
      comp.members[m.member] = m.id;
      members_by_id[m.id] = {comp.name, m.member, m.id};
    } else if (comp.role == "registrar") {
      const auto r = e.get<protocol::RegistrarReady>();
      comp.asap = r.asap;
      comp.enrp = r.enrp;
    }
  } catch (const protocol::Malformed&) {
  }
}

void RunRecord::on_event(Component& comp, const json& e) {
  if (!e.contains("event")) {  // a PU's closing counters
    comp.summary = e;
    return;
  }
  const std::string kind = e.value("event", "");
  const std::string id = e.value("id", "");
  if (kind == "ready") on_ready(comp, e);
  if (comp.role == "registrar") {
    if (!id.empty()) comp.current_id = id;
    if (kind == "registration") registered.insert(e.value("pe", ""));
    if (kind == "ready") transport_used = e.value("transport", transport_used);
  } else if (comp.role == "pe") {
    if (kind == "job_accepted") ++active[id];
    if ((kind == "job_completed" || kind == "job_aborted") && active[id] > 0) --active[id];
  } else if (comp.role == "pu") {
    if (kind == "job" && e.value("status", "") == "completed") ++jobs_done;
    if (kind == "failover") ++failovers;
    if (kind == "ready" && e.value("service", "") == "echo") ++echo_series;
    if (kind == common::EchoDoneEvent::kName && common::EchoDoneEvent::matches(e)) {
      ++echo_ended;
      echo_round_trips += e.value("answers", std::int64_t{0});
    }
  }
  if (run_id)
    store_event(comp, e);
  else
    early.push_back({comp.name, e});
}

void RunRecord::store_event(Component& comp, const json& e) {
  ++events_stored;
  const std::string id = e.value("id", "");
  auto row = comp.rows.find(id);
  if (row == comp.rows.end()) {
    results::ComponentInfo info;
    info.role = comp.role;
    info.site = comp.site;
    info.identity = id;
    info.pool = comp.pool;
    info.policy = comp.policy;
    info.name = comp.name;
    // A PE member's first event: "ready", or "restarted" (then "ready") when it replaces
    // a crashed one, with the same capacity.
    const std::string event = e.value("event", "");
    if ((event == "ready" || event == "restarted") && e.contains("member") &&
        e["member"].is_number_unsigned()) {
      const auto m = e["member"].get<std::size_t>();
      info.name += "#" + std::to_string(m);
      if (event == "ready") comp.capacities[m] = e.value("capacity", 0.0);
      info.capacity = comp.capacities[m];
    }
    if (const auto s = sites.find(comp.site); s != sites.end()) info.addresses = s->second;
    row = comp.rows.emplace(id, store.add_component(*run_id, info)).first;
  }
  store.add_event(*run_id, row->second, e);
}

void RunRecord::begin(const results::RunInfo& info,
                      const std::vector<results::SiteClock>& clocks) {
  run_id = store.begin_run(info);
  for (const auto& c : clocks) store.add_site_clock(*run_id, c);
  for (auto& [name, e] : early) store_event(components[name], e);
  early.clear();
}

results::RunCheck RunRecord::check_counts() {
  results::RunCheck c;
  c.name = "event_counts";
  c.status = "warning";
  c.value = std::numeric_limits<double>::quiet_NaN();
  // An echo group's counters (apps: members, answers, ...) count its series and round trips.
  std::int64_t jobs = 0, failovers_counted = 0, resolutions = 0, series = 0, round_trips = 0;
  bool all = true, echo = false, calcapp = false;
  for (const auto& [name, comp] : components) {
    if (comp.role != "pu") continue;
    if (!comp.summary) {
      all = false;
      continue;
    }
    jobs += comp.summary->value("jobs_completed", 0) + comp.summary->value("jobs_unfinished", 0);
    failovers_counted += comp.summary->value("failovers", 0);
    resolutions += comp.summary->value("resolutions", 0);
    if (comp.summary->contains("answers")) {
      echo = true;
      series += comp.summary->value("members", 0);
      round_trips += comp.summary->value("answers", std::int64_t{0});
    } else {
      calcapp = true;
    }
  }
  if (!all) {
    c.message = "WARNING: event counts: some PU printed no counters";
    return c;
  }
  generated = jobs;
  store.flush();
  const auto sj = store.count("jobs", *run_id);
  const auto sf = store.count("failovers", *run_id);
  const auto sr = store.count("handle_resolutions", *run_id);
  const auto se = results::echo_totals(store, {*run_id});
  c.value = static_cast<double>(sj);
  c.details = {{"counted", {{"jobs", jobs}, {"failovers", failovers_counted},
                            {"handle_resolutions", resolutions}}},
               {"stored", {{"jobs", sj}, {"failovers", sf}, {"handle_resolutions", sr}}}};
  if (echo) {
    c.details["counted"].update({{"echo_series", series}, {"round_trips", round_trips}});
    c.details["stored"].update({{"echo_series", se.series}, {"round_trips", se.round_trips}});
  }
  // "N jobs (completed and unfinished), " for CalcApp PUs, "N echo series (M round trips), "
  // for echo PUs.
  const auto work = [&](std::int64_t n, std::int64_t sn, std::int64_t trips, const char* jobs_unit) {
    std::string text;
    if (calcapp) text += std::to_string(n) + jobs_unit;
    if (echo) text += std::to_string(sn) + " echo series (" + std::to_string(trips) + " round trips), ";
    return text;
  };
  std::ostringstream s;
  if (sj == jobs && sf == failovers_counted && sr == resolutions &&
      (!echo || (se.series == series && se.round_trips == round_trips))) {
    c.status = "ok";
    s << "check event counts: ok, stored "
      << work(sj, se.series, se.round_trips, " jobs (completed and unfinished), ") << sf
      << " failovers, " << sr << " handle resolutions: all the PUs counted";
  } else {
    s << "WARNING: event counts: MISMATCH: PUs counted "
      << work(jobs, series, round_trips, " jobs, ") << failovers_counted << " failovers, "
      << resolutions << " resolutions; stored " << work(sj, se.series, se.round_trips, ", ")
      << sf << ", " << sr;
  }
  c.message = s.str();
  return c;
}

results::RunInfo run_info(const Run& r, std::int64_t experiment_id, const std::string& transport,
                          std::int64_t start_us) {
  results::RunInfo info;
  info.experiment_id = experiment_id;
  info.index = r.stored_index.value_or(r.index);
  info.key = r.key;
  info.parameters = r.parameters;
  info.seed = r.seed;
  info.repetition = r.repetition;
  info.transport = transport;
  info.resolved = r.resolved;
  info.start_unix_us = start_us;
  info.warmup_us = std::chrono::duration_cast<std::chrono::microseconds>(r.warmup).count();
  info.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
  return info;
}

}  // namespace rsplab::experiments
