// `faults:` for the Loader (experiments/loader.hpp): one-shot faults (kill, stop, resume,
// restart, link-down/up, loss, partition), their targets and member selections, and the
// churn and flap schedules, expanded per run from its seed.
#include "experiments/loader.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace rsplab::experiments::detail {

void Loader::read_faults(const Entry& e, Raw& raw) {
  std::size_t i = 0;
  for (const auto& [n, pos] : list(e, "faults", false)) {
    const std::string path = "faults[" + std::to_string(i++) + "]";
    const auto es = entries(n, pos, path,
                            {"at", "for", "kill", "stop", "resume", "restart", "link-down",
                             "link-up", "loss", "delay", "rate", "partition", "churn", "flap"});
    RawFault f;
    f.pos = pos;
    f.path = path;
    const Entry* action = nullptr;
    for (const Entry& x : es) {
      if (x.key == "at" || x.key == "for") continue;
      if (action)
        fail(x.key_pos, path + ": one action per fault ('" + action->key + "' and '" + x.key +
                            "'): write two faults");
      action = &x;
    }
    if (!action)
      fail(pos, path + ": missing the action (kill, stop, resume, restart, link-down, link-up, "
                       "loss, delay, rate, partition, churn, flap)");
    const std::string apath = path + "." + action->key;
    f.apath = apath;
    if (action->key == "churn" || action->key == "flap") {
      // A schedule: its times come from mtbf and downtime, not from `at` and `for`.
      for (const char* key : {"at", "for"})
        if (const Entry* x = find(es, key))
          fail(x->key_pos, path + ": '" + key + "' is not for a schedule (" + action->key +
                               " has mtbf, downtime, and optionally start and until)");
      const bool churn = action->key == "churn";
      f.schedule = churn ? Schedule::Kind::churn : Schedule::Kind::flap;
      std::vector<std::string_view> allowed{"mtbf", "downtime", "start", "until", "site"};
      if (churn) allowed.insert(allowed.end(), {"registrar", "group", "pool"});
      else allowed.push_back("isp");
      const auto as = entries(action->value, action->pos, apath, allowed);
      if (churn) {
        read_target(as, apath, f);
        if (f.target_kind == Fault::TargetKind::none)
          fail(action->pos, apath + ": missing the target (registrar, group or pool)");
      } else {
        f.site = scalar(need(as, "site", action->pos, apath), apath + ".site", true);
        f.isp = scalar(need(as, "isp", action->pos, apath), apath + ".isp", true);
      }
      f.mtbf = scalar(need(as, "mtbf", action->pos, apath), apath + ".mtbf", true);
      f.downtime = scalar(need(as, "downtime", action->pos, apath), apath + ".downtime", true);
      if (const Entry* x = find(as, "start")) f.start = scalar(*x, apath + ".start", true);
      if (const Entry* x = find(as, "until")) f.until = scalar(*x, apath + ".until", true);
      raw.faults.push_back(std::move(f));
      continue;
    }
    f.at = scalar(need(es, "at", pos, path), path + ".at", true);
    if (action->key == "link-down" || action->key == "link-up" || action->key == "loss" ||
        action->key == "delay" || action->key == "rate") {
      read_link_fault(*action, apath, f);
    } else if (action->key == "partition") {
      f.kind = Fault::Kind::partition;
      const auto as = entries(action->value, action->pos, apath, {"sites"});
      const Entry& sites = need(as, "sites", action->pos, apath);
      for (const auto& [x, xpos] : list(sites, apath + ".sites"))
        f.sites.push_back(scalar(x, xpos, apath + ".sites", true));
      if (f.sites.size() != 2)
        fail(sites.pos, apath + ".sites: two sites, [a, b] (traffic between them is dropped), not " +
                            std::to_string(f.sites.size()));
    } else {
      f.kind = action->key == "kill"      ? Fault::Kind::kill
               : action->key == "stop"    ? Fault::Kind::stop
               : action->key == "restart" ? Fault::Kind::restart
                                          : Fault::Kind::resume;
      const auto as =
          entries(action->value, action->pos, apath,
                  {"registrar", "group", "pool", "site", "count", "select", "member"});
      read_target(as, apath, f);
      if (f.target_kind == Fault::TargetKind::none)
        fail(action->pos, apath + ": missing the target (registrar, group or pool)");
      if (const Entry* c = find(as, "count")) f.count = scalar(*c, apath + ".count", true);
      read_selection(as, apath, f);
    }
    if (const Entry* x = find(es, "for")) {
      if (f.kind != Fault::Kind::stop && f.kind != Fault::Kind::link_down &&
          f.kind != Fault::Kind::loss && f.kind != Fault::Kind::partition &&
          f.kind != Fault::Kind::delay && f.kind != Fault::Kind::rate)
        fail(x->key_pos,
             path + ": 'for' goes with stop, link-down, loss, delay, rate and partition only");
      f.lasts = scalar(*x, path + ".for", true);
    }
    raw.faults.push_back(std::move(f));
  }
}

void Loader::read_link_fault(const Entry& action, const std::string& apath, RawFault& f) {
  const std::string& k = action.key;
  f.kind = k == "link-down" ? Fault::Kind::link_down
           : k == "link-up" ? Fault::Kind::link_up
           : k == "loss"    ? Fault::Kind::loss
           : k == "delay"   ? Fault::Kind::delay
                            : Fault::Kind::rate;
  std::vector<std::string_view> allowed{"site", "isp"};
  if (k == "loss") allowed.push_back("percent");
  if (k == "delay") allowed.insert(allowed.end(), {"delay", "correlation"});
  if (k == "rate") allowed.push_back("rate");
  const auto as = entries(action.value, action.pos, apath, allowed);
  f.site = scalar(need(as, "site", action.pos, apath), apath + ".site", true);
  f.isp = scalar(need(as, "isp", action.pos, apath), apath + ".isp", true);
  if (k == "loss")
    f.percent = scalar(need(as, "percent", action.pos, apath), apath + ".percent", true);
  if (k == "delay" || k == "rate") {
    need(as, k, action.pos, apath);
    read_netem(as, apath, f.netem);
  }
}

void Loader::read_selection(const std::vector<Entry>& as, const std::string& apath, RawFault& f) {
  const Entry* select = find(as, "select");
  const Entry* member = find(as, "member");
  for (const Entry* x : {select, member})
    if (x && f.target_kind == Fault::TargetKind::registrar)
      fail(x->key_pos,
           apath + ": '" + x->key + "' chooses members of a group or pool, not a registrar");
  if (select) {
    if (f.kind != Fault::Kind::kill && f.kind != Fault::Kind::stop)
      fail(select->key_pos, apath + ": 'select' goes with kill and stop (restart takes "
                                    "crashed members first, resume stopped ones; name "
                                    "members with 'member')");
    f.select = scalar(*select, apath + ".select", true);
  }
  if (!member) return;
  if (select) fail(member->key_pos, apath + ": 'select' or 'member', not both");
  if (const Entry* c = find(as, "count"))
    fail(c->key_pos, apath + ": 'count' or 'member' (the list says how many), not both");
  f.members.emplace();
  f.members_pos = member->pos;
  for (const auto& [x, xpos] : list(*member, apath + ".member"))
    f.members->push_back(scalar(x, xpos, apath + ".member", true));
}

void Loader::read_target(const std::vector<Entry>& as, const std::string& apath, RawFault& f) {
  const Entry* target = nullptr;
  for (const Entry& x : as) {
    if (x.key != "registrar" && x.key != "group" && x.key != "pool") continue;
    if (target)
      fail(x.key_pos, apath + ": one target ('" + target->key + "' and '" + x.key + "')");
    target = &x;
  }
  if (!target) return;
  f.target_kind = target->key == "registrar" ? Fault::TargetKind::registrar
                  : target->key == "group"   ? Fault::TargetKind::group
                                             : Fault::TargetKind::pool;
  f.target = scalar(*target, apath + "." + target->key, true);
  if (const Entry* s = find(as, "site")) {
    if (f.target_kind != Fault::TargetKind::pool)
      fail(s->key_pos, apath + ": 'site' narrows a pool target only");
    f.site = scalar(*s, apath + ".site", true);
  }
}

Fault Loader::resolve_fault(const RawFault& rf, std::size_t position, const Point& point, const Raw& raw,
                    const Run& run) const {
  const std::string& apath = rf.apath;
  const Duration total = run.warmup + run.duration;
  Fault f;
  f.kind = rf.kind;
  f.target_kind = rf.target_kind;
  const std::string path = rf.path;
  f.at = duration(rf.at, point, path + ".at");
  if (f.at > total)
    bad(get(rf.at, point), path + ".at",
        "'" + get(rf.at, point).text + "' is after the run's end (warm-up + duration = " +
            values::format_duration(total) + ")");
  if (rf.lasts) {
    f.lasts = duration(*rf.lasts, point, path + ".for");
    if (*f.lasts <= 0ns) bad(get(*rf.lasts, point), path + ".for", "must be above 0");
    if (f.at + *f.lasts > total)
      bad(get(*rf.lasts, point), path + ".for",
          "ends after the run (at + for > warm-up + duration = " +
              values::format_duration(total) + "; leave 'for' out to last to the end)");
  }
  if (rf.kind == Fault::Kind::link_down || rf.kind == Fault::Kind::link_up ||
      rf.kind == Fault::Kind::loss || rf.kind == Fault::Kind::delay ||
      rf.kind == Fault::Kind::rate) {
    site_isp(*rf.site, *rf.isp, apath, point, run, f);
    if (rf.kind == Fault::Kind::loss) f.percent = percent(*rf.percent, point, apath + ".percent");
    if (rf.kind == Fault::Kind::delay || rf.kind == Fault::Kind::rate) {
      for (const Site& s : run.sites)
        if (s.name == f.site && s.host)
          bad(get(*rf.site, point), apath + ".site",
              "site " + s.name + " is a remote host: delay and rate are for emulated sites");
      f.netem = netem(rf.netem, point, apath);
    }
  } else if (rf.kind == Fault::Kind::partition) {
    const Site& a = site_ref(rf.sites[0], point, run.sites, apath + ".sites");
    const Site& b = site_ref(rf.sites[1], point, run.sites, apath + ".sites");
    if (a.name == b.name)
      bad(get(rf.sites[1], point), apath + ".sites",
          "'" + b.name + "' twice: a partition is between two different sites");
    f.site = a.name;
    f.peer = b.name;
  } else {
    f.count = count(rf.count, point, apath + ".count");
    const Val t = get(*rf.target, point);
    f.target = t.text;
    const std::size_t members = target_members(rf, point, raw, run, f);
    if (f.count > members) {
      const Val c = rf.count ? get(*rf.count, point) : t;
      bad(c, apath + ".count",
          "'" + c.text + "' is more than the " + std::to_string(members) + " member" +
              (members == 1 ? "" : "s") + " of " + t.text);
    }
    selection(rf, point, run, f);
  }
  f.position = position;
  return f;
}

std::vector<std::pair<std::string, std::size_t>> Loader::member_list(const Run& run,
                                                                    const Fault& f) {
  std::vector<std::pair<std::string, std::size_t>> out;
  const auto add = [&](const std::string& name, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) out.emplace_back(name, i);
  };
  for (const PeGroup& g : run.pes)
    if (f.target_kind == Fault::TargetKind::group
            ? g.name == f.target
            : g.pool == f.target && (f.site.empty() || g.site == f.site))
      add(g.name, g.count);
  if (f.target_kind == Fault::TargetKind::group)
    for (const PuGroup& g : run.pus)
      if (g.name == f.target) add(g.name, g.count);
  return out;
}

void Loader::selection(const RawFault& rf, const Point& point, const Run& run, Fault& f) const {
  if (rf.target_kind == Fault::TargetKind::registrar) return;
  const bool hits_busiest = rf.kind == Fault::Kind::kill || rf.kind == Fault::Kind::stop;
  f.select = hits_busiest ? Fault::Select::random : Fault::Select::busiest;
  if (rf.select) {
    const Val v = get(*rf.select, point);
    if (v.text == "random") f.select = Fault::Select::random;
    else if (v.text == "busiest") f.select = Fault::Select::busiest;
    else bad(v, rf.apath + ".select", "'" + v.text + "' is not random or busiest");
  }
  if (!rf.members) return;
  f.select = Fault::Select::member;
  const auto all = member_list(run, f);
  std::set<std::size_t> seen;
  for (const Text& m : *rf.members) {
    const Val v = get(m, point);
    std::string err;
    const auto n = values::parse_amount(v.text, true, &err);
    if (!n || *n < 0 || *n >= double(all.size()) || *n != std::floor(*n))
      bad(v, rf.apath + ".member",
          "'" + v.text + "' is not a member index of " + f.target + " (0 to " +
              std::to_string(all.size() - 1) + ")");
    if (!seen.insert(static_cast<std::size_t>(*n)).second)
      bad(v, rf.apath + ".member", "member " + v.text + " twice");
  }
  for (const std::size_t i : seen) f.picks.push_back(all[i]);
  f.count = f.picks.size();
}

void Loader::pick_members(Run& run) {
  std::set<std::pair<std::string, std::size_t>> down;
  for (Fault& f : run.faults) {
    if (f.schedule || f.target_kind == Fault::TargetKind::registrar) continue;
    if (f.select == Fault::Select::random && f.picks.empty()) {
      std::vector<std::pair<std::string, std::size_t>> pool;
      for (const auto& m : member_list(run, f))
        if (!down.count(m)) pool.push_back(m);
      std::mt19937_64 engine(schedule_seed(run.seed, f.position, "select " + f.target));
      const std::size_t n = std::min(f.count, pool.size());
      for (std::size_t i = 0; i < n; ++i)
        std::swap(pool[i], pool[i + engine() % (pool.size() - i)]);
      f.picks.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n));
      std::sort(f.picks.begin(), f.picks.end());
    }
    if (f.kind == Fault::Kind::kill) down.insert(f.picks.begin(), f.picks.end());
    if (f.kind == Fault::Kind::restart) {
      if (f.select == Fault::Select::member) {
        for (const auto& m : f.picks) down.erase(m);
      } else {
        for (const auto& m : member_list(run, f)) down.erase(m);
      }
    }
  }
}

template <class F>
void Loader::site_isp(const Text& site, const Text& isp_text, const std::string& apath,
                      const Point& point, const Run& run, F& f) const {
  const Site& s = site_ref(site, point, run.sites, apath + ".site");
  const Val isp = get(isp_text, point);
  if (std::find(s.isps.begin(), s.isps.end(), isp.text) == s.isps.end()) {
    std::string names;
    for (const auto& x : s.isps) names += (names.empty() ? "" : ", ") + x;
    bad(isp, apath + ".isp",
        "site " + s.name + " has no ISP '" + isp.text + "' (its ISPs: " + names + ")");
  }
  f.site = s.name;
  f.isp = isp.text;
}
template void Loader::site_isp<Link>(const Text&, const Text&, const std::string&,
                                      const Point&, const Run&, Link&) const;

double Loader::percent(const Text& t, const Point& point, const std::string& path) const {
  Val v = get(t, point);
  std::string text = v.text;
  if (!text.empty() && text.back() == '%') text.pop_back();
  std::string err;
  const auto p = values::parse_amount(text, false, &err);
  if (!p) bad(v, path, err);
  const double hundredths = std::round(*p * 100);
  if (!(hundredths >= 1 && hundredths <= 10000) || std::fabs(*p * 100 - hundredths) > 1e-6)
    bad(v, path, "'" + v.text + "' is not a percentage from 0.01 to 100 (in steps of 0.01)");
  return hundredths / 100;
}

template <class F>
std::size_t Loader::target_members(const RawFault& rf, const Point& point, const Raw& raw,
                           const Run& run, F& f) const {
  const std::string& apath = rf.apath;
  const Val t = get(*rf.target, point);
  const char* action = rf.schedule ? "churn" : rf.kind == Fault::Kind::restart ? "restart" : "";
  std::size_t members = 0;
  switch (rf.target_kind) {
    case Fault::TargetKind::registrar: {
      for (const Registrar& r : run.registrars)
        if (r.name == t.text) members = 1;
      if (!members)
        bad(t, apath + ".registrar",
            "unknown registrar '" + t.text + "' (registrars are pr0 to pr" +
                std::to_string(run.registrars.size() - 1) + ", in file order)");
      break;
    }
    case Fault::TargetKind::group: {
      bool found = false;
      for (const PeGroup& g : run.pes)
        if (g.name == t.text) found = true, members = g.count;
      for (const PuGroup& g : run.pus)
        if (g.name == t.text) {
          found = true, members = g.count;
          if (*action)
            bad(t, apath + ".group",
                std::string(action) + " takes PE groups only ('" + t.text + "' is a PU group)");
        }
      if (!found) {
        std::string names;
        for (const PeGroup& g : run.pes) names += (names.empty() ? "" : ", ") + g.name;
        for (const PuGroup& g : run.pus) names += ", " + g.name;
        bad(t, apath + ".group", "unknown group '" + t.text + "' (groups: " + names + ")");
      }
      break;
    }
    case Fault::TargetKind::pool:
    case Fault::TargetKind::none: {
      bool found = false;
      for (const RawPool& p : raw.pools) found = found || p.name == t.text;
      if (!found) bad(t, apath + ".pool", "unknown pool '" + t.text + "'");
      std::optional<std::string> site;
      if (rf.site) site = f.site = site_ref(*rf.site, point, run.sites, apath + ".site").name;
      for (const PeGroup& g : run.pes)
        if (g.pool == t.text && (!site || g.site == *site)) members += g.count;
      if (members == 0)
        bad(rf.site ? get(*rf.site, point) : t, apath + (rf.site ? ".site" : ".pool"),
            "pool " + t.text + " has no PEs" + (site ? " at site " + *site : ""));
      break;
    }
  }
  return members;
}

Schedule Loader::schedule(const RawFault& rf, std::size_t position, const Point& point, const Raw& raw,
                  const Run& run) const {
  const std::string& apath = rf.apath;
  const Duration total = run.warmup + run.duration;
  Schedule s;
  s.kind = *rf.schedule;
  s.position = position;
  if (s.kind == Schedule::Kind::churn) {
    s.target_kind = rf.target_kind;
    s.target = get(*rf.target, point).text;
    target_members(rf, point, raw, run, s);
  } else {
    site_isp(*rf.site, *rf.isp, apath, point, run, s);
  }
  s.mtbf = duration(*rf.mtbf, point, apath + ".mtbf");
  if (s.mtbf <= 0ns) bad(get(*rf.mtbf, point), apath + ".mtbf", "must be above 0");
  s.downtime = duration(*rf.downtime, point, apath + ".downtime");
  if (rf.start) s.start = duration(*rf.start, point, apath + ".start");
  s.until = total;
  if (rf.until) {
    s.until = duration(*rf.until, point, apath + ".until");
    if (s.until > total)
      bad(get(*rf.until, point), apath + ".until",
          "'" + get(*rf.until, point).text + "' is after the run's end (warm-up + duration = " +
              values::format_duration(total) + ")");
  }
  if (s.start >= s.until) {
    const Text& at = rf.start ? *rf.start : *rf.until;
    bad(get(at, point), apath + (rf.start ? ".start" : ".until"),
        "the schedule's window is empty (start " + values::format_duration(s.start) +
            " >= until " + values::format_duration(s.until) + ")");
  }
  return s;
}

void Loader::expand_schedules(const Raw& raw, Run& run) const {
  if (run.schedules.empty()) return;
  const Duration total = run.warmup + run.duration;
  for (std::size_t k = 0; k < run.schedules.size(); ++k) {
    const Schedule& s = run.schedules[k];
    const auto unit = [&](const std::string& name, Fault down, Fault up) {
      down.schedule = up.schedule = k;
      std::mt19937_64 engine(schedule_seed(run.seed, s.position, name));
      Duration t = s.start;
      for (;;) {
        const Duration uptime =
            std::chrono::round<std::chrono::milliseconds>(exponential_draw(engine(), s.mtbf));
        if (uptime >= s.until - t) break;  // the next failure is not before `until`
        t += uptime;
        down.at = t;
        run.faults.push_back(down);
        if (s.downtime > total - t) break;  // back after the run's end: left out
        t += s.downtime;
        up.at = t;
        run.faults.push_back(up);
        if (run.faults.size() > kMaxFaults)
          fail(raw.faults[s.position].pos,
               raw.faults[s.position].apath + ": more than " + std::to_string(kMaxFaults) +
                   " faults in a run (a longer mtbf, or a shorter window with start/until)");
      }
    };
    Fault down, up;
    switch (s.kind) {
      case Schedule::Kind::flap:
        down.kind = Fault::Kind::link_down;
        up.kind = Fault::Kind::link_up;
        down.site = up.site = s.site;
        down.isp = up.isp = s.isp;
        unit(s.site + "/" + s.isp, down, up);
        break;
      case Schedule::Kind::churn:
        down.kind = Fault::Kind::kill;
        up.kind = Fault::Kind::restart;
        if (s.target_kind == Fault::TargetKind::registrar) {
          down.target_kind = up.target_kind = Fault::TargetKind::registrar;
          down.target = up.target = s.target;
          unit(s.target, down, up);
          break;
        }
        // Every PE member of the group, or of the pool's groups (at the site).
        for (const PeGroup& g : run.pes) {
          const bool match = s.target_kind == Fault::TargetKind::group
                                 ? g.name == s.target
                                 : g.pool == s.target && (s.site.empty() || g.site == s.site);
          if (!match) continue;
          down.target_kind = up.target_kind = Fault::TargetKind::group;
          down.target = up.target = g.name;
          for (std::size_t m = 0; m < g.count; ++m) {
            down.member = up.member = m;
            unit(g.name + "#" + std::to_string(m), down, up);
          }
        }
        break;
    }
  }
  std::stable_sort(run.faults.begin(), run.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at < b.at; });
}

}  // namespace rsplab::experiments::detail
