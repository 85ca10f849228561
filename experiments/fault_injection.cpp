// A run's fault schedule and its faults carried out (fault_injection.hpp).
#include "experiments/fault_injection.hpp"

#include <algorithm>
#include <csignal>
#include <map>

#include "experiments/progress.hpp"
#include "stack/common/values.hpp"

namespace rsplab::experiments {

using json = nlohmann::json;

std::vector<Fault> fault_schedule(const Run& r) {
  std::vector<Fault> due;
  for (const auto& f : r.faults) {
    due.push_back(f);
    if (!f.lasts) continue;
    Fault back = f;
    back.lasts.reset();
    back.kind = f.kind == Fault::Kind::link_down   ? Fault::Kind::link_up
                : f.kind == Fault::Kind::stop      ? Fault::Kind::resume
                : f.kind == Fault::Kind::loss      ? Fault::Kind::loss_end
                : f.kind == Fault::Kind::partition ? Fault::Kind::partition_end
                : f.kind == Fault::Kind::delay     ? Fault::Kind::delay_end
                : f.kind == Fault::Kind::rate      ? Fault::Kind::rate_end
                                                   : f.kind;
    // The undo is scheduled `for` after the fault (its scheduled_us says so).
    back.at = f.at + *f.lasts;
    if (back.kind != f.kind) due.push_back(back);
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const Fault& a, const Fault& b) { return a.at < b.at; });
  return due;
}

std::string fault_kind(Fault::Kind kind) {
  switch (kind) {
    case Fault::Kind::kill: return "kill";
    case Fault::Kind::stop: return "stop";
    case Fault::Kind::resume: return "resume";
    case Fault::Kind::restart: return "restart";
    case Fault::Kind::link_down: return "link_down";
    case Fault::Kind::link_up: return "link_up";
    case Fault::Kind::loss: return "loss";
    case Fault::Kind::loss_end: return "loss_end";
    case Fault::Kind::partition: return "partition";
    case Fault::Kind::partition_end: return "partition_end";
    case Fault::Kind::delay: return "delay";
    case Fault::Kind::delay_end: return "delay_end";
    case Fault::Kind::rate: return "rate";
    case Fault::Kind::rate_end: return "rate_end";
  }
  return "";
}

bool FaultInjector::run_schedule(const std::vector<Fault>& due, Duration runtime) {
  // Schedules (churn, flap) can make hundreds of faults: beyond kMaxFaultLines of them,
  // their lines give way to a count at the end; every fault is a row in any case.
  const std::size_t scheduled = static_cast<std::size_t>(std::count_if(
      due.begin(), due.end(), [](const Fault& f) { return f.schedule.has_value(); }));
  const bool quiet = scheduled > kMaxFaultLines;
  std::map<std::string, std::size_t> unprinted;  // kind → faults applied without a line
  for (const auto& f : due) {
    const auto when = *record_.clock_started + f.at;
    const auto deadline = std::min(when, loop_.now() + runtime + std::chrono::seconds(1));
    loop_.pump([&] { return loop_.now() >= when; }, deadline);
    if (loop_.interrupted()) return false;
    const bool silent = quiet && f.schedule.has_value();
    const std::string kind = apply(f, !silent);
    if (silent) ++unprinted[kind];
  }
  if (!unprinted.empty()) {
    std::string counts;
    for (const auto& [kind, n] : unprinted)
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
    if (terminal_) out_ << "\r\033[K";
    out_ << "  scheduled faults applied (rows in the faults table): " << counts << "\n"
         << std::flush;
  }
  return true;
}

std::string FaultInjector::apply(const Fault& f, bool print_line) {
  const std::int64_t at = std::chrono::duration_cast<std::chrono::microseconds>(
                              loop_.now() - *record_.clock_started).count();
  const std::int64_t scheduled =
      std::chrono::duration_cast<std::chrono::microseconds>(f.at).count();
  json details = {{"scheduled_us", scheduled}};
  if (f.schedule) details["schedule"] = *f.schedule;  // index into the run's schedules
  if (!f.schedule && (f.target_kind == Fault::TargetKind::group ||
                      f.target_kind == Fault::TargetKind::pool))
    details["select"] = f.select == Fault::Select::random   ? "random"
                        : f.select == Fault::Select::member ? "member"
                                                            : "busiest";
  const std::string kind = fault_kind(f.kind);
  std::string target = f.target;
  auto& components = record_.components;
  if (f.kind == Fault::Kind::link_down || f.kind == Fault::Kind::link_up) {
    target = f.site + "/" + f.isp;
    apply_link(f, details);
  } else if (f.kind == Fault::Kind::loss || f.kind == Fault::Kind::loss_end) {
    target = f.site + "/" + f.isp;
    apply_loss(f, details);
  } else if (f.kind == Fault::Kind::delay || f.kind == Fault::Kind::delay_end ||
             f.kind == Fault::Kind::rate || f.kind == Fault::Kind::rate_end) {
    target = f.site + "/" + f.isp;
    apply_netem(f, details);
  } else if (f.kind == Fault::Kind::partition || f.kind == Fault::Kind::partition_end) {
    target = f.site + "," + f.peer;
    apply_partition(f, details);
  } else if (const auto pr = components.find(f.target);
             pr != components.end() && pr->second.role == "registrar") {
    apply_registrar(f, pr->second, details);
  } else if (f.member || !f.picks.empty()) {
    apply_picks(f, kind, details);
  } else {
    apply_busiest(f, kind, details);
  }
  record_.store.add_fault(*record_.run_id, kind, target, at, details);
  if (print_line) print(f, kind, target, at, details);
  return kind;
}

void FaultInjector::apply_link(const Fault& f, json& details) {
  const auto& sites = record_.run->sites;
  const auto spec = std::find_if(sites.begin(), sites.end(),
                                 [&](const Site& x) { return x.name == f.site; });
  const bool up = f.kind == Fault::Kind::link_up;
  AgentLink* link = deployment_.link(f.site);
  if (spec != sites.end() && spec->host) {
    // A remote host: the interface the experiment names for the ISP, never the one
    // carrying the agent's own ssh connection (the agent refuses that too).
    const auto k = std::find(spec->isps.begin(), spec->isps.end(), f.isp) - spec->isps.begin();
    const AgentState* a = deployment_.agent(f.site);
    const std::string control =
        a && a->hello ? a->hello->control_interface.value_or("") : std::string();
    if (spec->interfaces.empty()) {
      details["skipped"] = "remote site " + f.site + " names no interfaces";
    } else if (spec->interfaces[k] == control && f.kind == Fault::Kind::link_down) {
      details["interface"] = control;
      details["skipped"] = "refused: " + control + " carries the agent's ssh connection";
    } else {
      if (link) link->link(spec->interfaces[k], up);
      details["interface"] = spec->interfaces[k];
    }
  } else if (!deployment_.topology()) {
    details["skipped"] = "loopback sites have no ISP links";
  } else {
    for (const auto& l : deployment_.topology()->site(f.site).links)
      if (l.isp == f.isp) {
        if (link) link->link(l.interface, up);
        details["interface"] = l.interface;
      }
  }
}

void FaultInjector::apply_loss(const Fault& f, json& details) {
  const double percent = f.kind == Fault::Kind::loss ? f.percent : 0.0;
  details["percent"] = percent;
  if (deployment_.remote_site(f.site)) {
    details["skipped"] = "loss is for emulated sites; " + f.site + " is a remote host";
  } else if (!deployment_.topology()) {
    details["skipped"] = "loopback sites have no ISP links";
  } else {
    try {
      deployment_.topology()->set_loss(f.site, f.isp, percent);
      const std::string method = agents::Topology::loss_method();
      details["method"] = method;
      for (const auto& l : deployment_.topology()->site(f.site).links)
        if (l.isp == f.isp) details["interface"] = method == "netem" ? l.interface : l.device;
    } catch (const std::exception& e) {
      details["error"] = e.what();
    }
  }
}

// delay and rate: the part of the link's shape the fault names, from the fault (delay, rate)
// or from `links:` (delay_end, rate_end); the other part stays as it is.
void FaultInjector::apply_netem(const Fault& f, json& details) {
  const bool delay = f.kind == Fault::Kind::delay || f.kind == Fault::Kind::delay_end;
  const bool end = f.kind == Fault::Kind::delay_end || f.kind == Fault::Kind::rate_end;
  const Netem n = end ? link_netem(*record_.run, f.site, f.isp) : f.netem;
  if (delay) {
    details["delay_us"] = std::chrono::duration_cast<std::chrono::microseconds>(n.delay).count();
    if (n.jitter != Duration::zero())
      details["jitter_us"] = std::chrono::duration_cast<std::chrono::microseconds>(n.jitter).count();
  } else {
    details["rate"] = n.rate;
  }
  if (!deployment_.topology()) {
    details["skipped"] = "loopback sites have no ISP links";
    return;
  }
  try {
    agents::Topology& t = *deployment_.topology();
    agents::LinkShape shape = t.shape(f.site, f.isp);
    const agents::LinkShape from = link_shape(n);
    if (delay) {
      shape.delay = from.delay;
      shape.jitter = from.jitter;
      shape.normal = from.normal;
      shape.correlation = from.correlation;
    } else {
      shape.rate = from.rate;
    }
    t.set_shape(f.site, f.isp, shape);
    for (const auto& l : t.site(f.site).links)
      if (l.isp == f.isp) details["interface"] = l.interface;
  } catch (const std::exception& e) {
    details["error"] = e.what();
  }
}

void FaultInjector::apply_partition(const Fault& f, json& details) {
  if (deployment_.remote_site(f.site) || deployment_.remote_site(f.peer)) {
    details["skipped"] = "partitions are between emulated sites; " +
                         (deployment_.remote_site(f.site) ? f.site : f.peer) +
                         " is a remote host";
  } else if (!deployment_.topology()) {
    details["skipped"] = "loopback sites share one address: no partition";
  } else {
    try {
      deployment_.topology()->set_partition(f.site, f.peer, f.kind == Fault::Kind::partition);
    } catch (const std::exception& e) {
      details["error"] = e.what();
    }
  }
}

void FaultInjector::apply_registrar(const Fault& f, Component& c, json& details) {
  if (f.kind == Fault::Kind::restart) {
    restart_registrar(c, details);
  } else if (c.exited) {
    details["skipped"] = "not running (" + c.status + ")";
  } else {
    const int sig = f.kind == Fault::Kind::kill   ? SIGKILL
                    : f.kind == Fault::Kind::stop ? SIGSTOP
                                                  : SIGCONT;
    if (AgentLink* link = deployment_.link(c.site)) link->signal(c.name, sig);
    if (!c.current_id.empty()) details["id"] = c.current_id;
  }
}

// Exactly these members (a churn schedule's one, or those the plan picked), whatever identity
// each has now: the PE process keeps the index across restarts.
void FaultInjector::apply_picks(const Fault& f, const std::string& kind, json& details) {
  auto picks = f.picks;
  if (f.member) picks.emplace_back(f.target, *f.member);
  json hits = json::array(), skipped = json::array();
  for (const auto& [group, index] : picks) {
    json hit = hit_member(f, kind, group, index);
    if (hit.contains("skipped")) skipped.push_back(std::move(hit));
    else hits.push_back(std::move(hit));
  }
  if (hits.empty()) {
    std::string why;
    for (const auto& x : skipped)
      why += (why.empty() ? "" : "; ") + x["skipped"].get<std::string>();
    details["skipped"] = why;
  } else {
    details["members"] = std::move(hits);
    if (!skipped.empty()) details["skipped_members"] = std::move(skipped);
  }
}

// Members of groups: the target group, or every PE group of a pool (and site); the busiest
// first.
void FaultInjector::apply_busiest(const Fault& f, const std::string& kind, json& details) {
  auto& components = record_.components;
  auto& active = record_.active;
  std::vector<Member*> candidates;
  for (auto& [id, m] : record_.members_by_id) {
    const Component& c = components[m.component];
    const bool match = c.name == f.target || (c.role == "pe" && c.pool == f.target &&
                                              (f.site.empty() || c.site == f.site));
    if (!match || m.replaced) continue;
    if (f.kind == Fault::Kind::restart) {
      if (c.role == "pe") candidates.push_back(&m);
      continue;
    }
    if (m.killed) continue;
    if (f.kind == Fault::Kind::resume ? m.stopped : !m.stopped) candidates.push_back(&m);
  }
  // Restart: crashed members first (they come back); otherwise the busiest first (jobs in
  // progress), then by order.
  std::stable_sort(candidates.begin(), candidates.end(), [&](Member* a, Member* b) {
    if (a->killed != b->killed) return a->killed;
    return active[a->id] > active[b->id];
  });
  json hit = json::array();
  for (std::size_t i = 0; i < candidates.size() && i < f.count; ++i) {
    Member& m = *candidates[i];
    control(components[m.component], kind, m.index);
    if (f.kind == Fault::Kind::kill) m.killed = true;
    if (f.kind == Fault::Kind::stop) m.stopped = true;
    if (f.kind == Fault::Kind::resume) m.stopped = false;
    if (f.kind == Fault::Kind::restart) m.replaced = true;  // its successor reports anew
    hit.push_back({{"component", m.component}, {"member", m.index}, {"id", m.id},
                   {"jobs_in_progress", active[m.id]}});
  }
  details["members"] = hit;
  if (hit.empty()) details["skipped"] = "no member to " + kind;
}

void FaultInjector::control(const Component& c, const std::string& kind, std::size_t member) {
  if (AgentLink* link = deployment_.link(c.site))
    link->control(c.name, json{{"cmd", kind}, {"member", member}}.dump());
}

// Carries out fault `f` (kill, stop, resume, restart) on member `index` of `group`, whatever
// identity it has now; its newest id is the one known, unless it was restarted and has not
// reported back yet. What it hit ({component, member, id, jobs_in_progress}), with `skipped`
// (why) when it was not carried out.
json FaultInjector::hit_member(const Fault& f, const std::string& kind, const std::string& group,
                               std::size_t index) {
  Component& c = record_.components[group];
  Member* m = nullptr;
  if (const auto id = c.members.find(index); id != c.members.end())
    if (const auto it = record_.members_by_id.find(id->second); it != record_.members_by_id.end())
      m = &it->second;
  const bool fresh = m && !m->replaced;  // m is the member now in place
  json hit = {{"component", c.name}, {"member", index},
              {"id", fresh ? json(m->id) : json(nullptr)},
              {"jobs_in_progress", fresh ? record_.active[m->id] : 0}};
  if (c.exited) {
    hit["skipped"] = "the group's process is not running (" + c.status + ")";
  } else if (f.kind == Fault::Kind::kill && fresh && m->killed) {
    hit["skipped"] = "the member is down already";
  } else if (f.kind == Fault::Kind::restart && c.role != "pe") {
    hit["skipped"] = "restart takes PE members only";
  } else {
    control(c, kind, index);
    if (fresh && f.kind == Fault::Kind::kill) m->killed = true;
    if (fresh && f.kind == Fault::Kind::stop) m->stopped = true;
    if (fresh && f.kind == Fault::Kind::resume) m->stopped = false;
    if (fresh && f.kind == Fault::Kind::restart) m->replaced = true;
  }
  return hit;
}

// A registrar killed (if alive) and started again with the arguments it had, but on the ASAP
// and ENRP ports it had bound (as its ready event reported them), so that the PEs and PUs
// configured with them find it again. Waits (at most 10 s) until it is ready; it reports
// under a new id (a new components row).
void FaultInjector::restart_registrar(Component& c, json& details) {
  const std::string asap = c.asap, enrp = c.enrp;
  if (asap.empty() || enrp.empty() || c.args.empty()) {
    details["skipped"] = "its endpoints are not known (it never became ready)";
    return;
  }
  if (!c.current_id.empty()) details["previous_id"] = c.current_id;
  if (!c.exited) {
    if (AgentLink* link = deployment_.link(c.site)) link->signal(c.name, SIGKILL);
    loop_.pump_for([&] { return c.exited; }, std::chrono::seconds(5));
    if (!c.exited) {
      details["error"] = "still running 5 s after SIGKILL";
      return;
    }
  }
  std::vector<std::string> args = c.args;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--asap") args[i + 1] = asap;
    if (args[i] == "--enrp") args[i + 1] = enrp;
  }
  details["asap"] = asap;
  details["enrp"] = enrp;
  c.exited = false;
  c.code = -1;
  c.status.clear();
  c.lines.clear();
  c.asap.clear();
  c.enrp.clear();
  c.current_id.clear();
  deployment_.start_component(c.site, c.name, c.role, args);
  if (!loop_.pump_for([&] { return c.exited || listening(c); }, std::chrono::seconds(10)) ||
      c.exited) {
    std::string why = c.exited ? "exited: " + c.status : "not ready within 10 s";
    if (!c.lines.empty()) why += ": " + c.lines.back();
    details["error"] = why;
  }
}

void FaultInjector::print(const Fault& f, const std::string& kind, const std::string& target,
                          std::int64_t at, const json& details) {
  if (terminal_) out_ << "\r\033[K";
  out_ << "  t=" << clock_text(at / 1e6) << " " << kind << " " << target;
  if (f.member) out_ << "#" << *f.member;
  if (details.contains("members") && !details["members"].empty()) {
    const json& first = details["members"][0];
    out_ << " (" << details["members"].size() << " member(s): "
         << (first["id"].is_string() ? first["id"].get<std::string>()
                                     : std::string("new id pending"))
         << ", " << first.value("jobs_in_progress", 0) << " job(s) in progress)";
  }
  if (details.contains("asap")) out_ << " (asap " << details["asap"].get<std::string>() << ")";
  if (f.kind == Fault::Kind::loss) out_ << " (" << f.percent << "%)";
  if (f.kind == Fault::Kind::delay) out_ << " (" << rserpool::values::format_duration(f.netem.delay) << ")";
  if (f.kind == Fault::Kind::rate) out_ << " (" << f.netem.rate << " bit/s)";
  if (details.contains("skipped"))
    out_ << " (skipped: " << details["skipped"].get<std::string>() << ")";
  if (details.contains("error"))
    out_ << " (failed: " << details["error"].get<std::string>() << ")";
  out_ << "\n" << std::flush;
}

}  // namespace rsplab::experiments
