#include "results/checks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "stack/common/split.hpp"

namespace rsplab::results {

namespace {

using json = nlohmann::json;
using Spans = std::vector<Span>;

// ---- interval sets: sorted, disjoint, non-empty [from, to) spans ----------------------------

Spans normalized(Spans s) {
  std::sort(s.begin(), s.end(), [](const Span& a, const Span& b) { return a.from_us < b.from_us; });
  Spans out;
  for (const Span& x : s) {
    if (x.to_us <= x.from_us) continue;
    if (!out.empty() && x.from_us <= out.back().to_us)
      out.back().to_us = std::max(out.back().to_us, x.to_us);
    else
      out.push_back(x);
  }
  return out;
}

Spans intersect(const Spans& a, const Spans& b) {
  Spans out;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    const std::int64_t from = std::max(a[i].from_us, b[j].from_us);
    const std::int64_t to = std::min(a[i].to_us, b[j].to_us);
    if (from < to) out.push_back({from, to});
    (a[i].to_us < b[j].to_us) ? ++i : ++j;
  }
  return out;
}

// a \ b
Spans subtract(const Spans& a, const Spans& b) {
  Spans out;
  std::size_t j = 0;
  for (Span x : a) {
    while (j < b.size() && b[j].to_us <= x.from_us) ++j;
    for (std::size_t k = j; k < b.size() && b[k].from_us < x.to_us; ++k) {
      if (b[k].from_us > x.from_us) out.push_back({x.from_us, b[k].from_us});
      x.from_us = std::max(x.from_us, b[k].to_us);
    }
    if (x.from_us < x.to_us) out.push_back(x);
  }
  return out;
}

std::int64_t length(const Spans& s) {
  std::int64_t n = 0;
  for (const Span& x : s) n += x.to_us - x.from_us;
  return n;
}

// ---- reading a run's rows --------------------------------------------------------------------

struct Fault {
  std::string kind, target;
  std::int64_t at_us = 0;
  json details;
  std::set<std::string> slots;  // the members it hit
};

struct RunRows {
  Span window;
  std::map<std::string, CapacitySlot> slots;          // by name
  std::map<std::string, std::string> slot_of_identity;  // PE id → slot name
  std::map<std::string, std::string> site_of_slot;
  std::map<std::int64_t, std::string> registrar_name;  // registrar component → name
  std::map<std::int64_t, std::int64_t> registrar_since;  // registrar component → first event
  std::set<std::string> registrar_sites, registrar_names;
  std::vector<Fault> faults;
};

// The slot names of a fault's `details.members` (component#member, else by identity).
std::set<std::string> member_slots(const json& details, const RunRows& r) {
  std::set<std::string> out;
  if (!details.is_object() || !details.contains("members") || !details["members"].is_array())
    return out;
  for (const json& m : details["members"]) {
    if (!m.is_object()) continue;
    if (m.contains("component") && m["component"].is_string() && m.contains("member") &&
        m["member"].is_number_unsigned()) {
      const std::string name = m["component"].get<std::string>() + "#" +
                               std::to_string(m["member"].get<std::uint64_t>());
      if (r.slots.count(name) > 0) {
        out.insert(name);
        continue;
      }
    }
    if (m.contains("id") && m["id"].is_string())
      if (const auto it = r.slot_of_identity.find(m["id"].get<std::string>());
          it != r.slot_of_identity.end())
        out.insert(it->second);
  }
  return out;
}

RunRows read_run(const Store& store, std::int64_t run_id) {
  RunRows r;
  const auto run = store.select("SELECT warmup_us, warmup_us + duration_us FROM runs WHERE id = ?",
                                {run_id});
  if (run.empty()) throw StoreError("check: no run " + std::to_string(run_id));
  r.window = {int_of(run[0][0]), int_of(run[0][1])};
  for (const auto& row : store.select("SELECT id, name, role, site, identity, capacity"
                                      " FROM components WHERE run_id = ? ORDER BY id",
                                      {run_id})) {
    const std::string name = text_of(row[1]), role = text_of(row[2]), site = text_of(row[3]);
    if (role == "registrar") {
      r.registrar_name[int_of(row[0])] = name;
      r.registrar_names.insert(name);
      r.registrar_sites.insert(site);
    } else if (role == "pe") {
      CapacitySlot& s = r.slots[name];
      s.name = name;
      if (const auto* c = std::get_if<double>(&row[5])) s.capacity = std::max(s.capacity, *c);
      r.slot_of_identity[text_of(row[4])] = name;
      r.site_of_slot[name] = site;
    }
  }
  for (const auto& row : store.select("SELECT component_id, min(time_us) FROM registrar_actions"
                                      " WHERE run_id = ? GROUP BY component_id",
                                      {run_id}))
    r.registrar_since[int_of(row[0])] = int_of(row[1]);
  for (const auto& row : store.select("SELECT kind, target, at_us, details FROM faults"
                                      " WHERE run_id = ? ORDER BY at_us, id",
                                      {run_id})) {
    Fault f{text_of(row[0]), text_of(row[1]), int_of(row[2]),
            json::parse(text_of(row[3]), nullptr, false), {}};
    if (f.details.is_object() && f.details.contains("skipped")) continue;
    f.slots = member_slots(f.details, r);
    r.faults.push_back(std::move(f));
  }
  return r;
}

// When a registrar component's registrations ended: the first kill or restart of its name
// after its first event; nullopt while it ran to the end.
std::optional<std::int64_t> registrar_end(const RunRows& r, std::int64_t component_id) {
  const auto first = r.registrar_since.find(component_id);
  const std::int64_t since = first == r.registrar_since.end() ? 0 : first->second;
  const std::string& name = r.registrar_name.at(component_id);
  for (const Fault& f : r.faults)
    if (f.target == name && (f.kind == "kill" || f.kind == "restart") && f.at_us >= since)
      return f.at_us;
  return std::nullopt;
}

// Registered spans per slot, from every registrar's registration events and ENRP adoptions
// (a takeover makes the adopting registrar hold the PE as a registration would).
void add_registered(const Store& store, RunRows& r, std::int64_t run_id) {
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> open;  // (registrar, pe) → since
  const auto close = [&](const std::string& pe, std::int64_t since, std::int64_t until) {
    const auto slot = r.slot_of_identity.find(pe);
    if (slot != r.slot_of_identity.end())
      r.slots[slot->second].registered.push_back({since, until});
  };
  for (const auto& row :
       store.select("SELECT component_id, time_us, kind, pe, 0 AS source, id FROM registrations"
                    " WHERE run_id = ? UNION ALL"
                    " SELECT component_id, time_us, 'adoption', pe, 1, id FROM pe_adoptions"
                    " WHERE run_id = ? ORDER BY time_us, source, id",
                    {run_id, run_id})) {
    const std::pair key{int_of(row[0]), text_of(row[3])};
    const std::string kind = text_of(row[2]);
    const auto it = open.find(key);
    if (kind == "deregistration") {
      if (it != open.end()) {
        close(key.second, it->second, int_of(row[1]));
        open.erase(it);
      }
    } else if (it == open.end()) {
      open.emplace(key, int_of(row[1]));
    }
  }
  for (const auto& [key, since] : open) {
    const auto end =
        r.registrar_name.count(key.first) > 0 ? registrar_end(r, key.first) : std::nullopt;
    close(key.second, since, end.value_or(std::numeric_limits<std::int64_t>::max()));
  }
}

// The faults that undo `f` (by kind), nullptr when none does.
const char* undo_of(const std::string& kind) {
  if (kind == "kill") return "restart";
  if (kind == "stop") return "resume";
  if (kind == "link_down") return "link_up";
  if (kind == "loss") return "loss_end";
  if (kind == "partition") return "partition_end";
  return nullptr;
}

// The slots a fault explains the absence of.
std::set<std::string> slots_hit(const Fault& f, const RunRows& r) {
  std::set<std::string> out;
  const bool registrar = r.registrar_names.count(f.target) > 0;
  const bool process = f.kind == "kill" || f.kind == "stop" || f.kind == "restart";
  std::set<std::string> sites;
  if (f.kind == "link_down" || f.kind == "loss") sites.insert(f.target.substr(0, f.target.find('/')));
  if (f.kind == "partition")
    for (auto& site : common::split(f.target, ',')) sites.insert(std::move(site));
  const bool everyone =
      (process && registrar) ||
      std::any_of(sites.begin(), sites.end(), [&](const std::string& s) { return r.registrar_sites.count(s) > 0; });
  for (const auto& [name, slot] : r.slots) {
    const bool at_site = sites.count(r.site_of_slot.at(name)) > 0;
    if (everyone || at_site || (process && !registrar && f.slots.count(name) > 0)) out.insert(name);
  }
  return out;
}

// When `slot` hit by faults[i] is back: the first later fault that undoes it (a restart
// undoes itself), else nullopt.
std::optional<std::int64_t> undone_at(const RunRows& r, std::size_t i, const std::string& slot) {
  const Fault& f = r.faults[i];
  if (f.kind == "restart") return f.at_us;
  const char* undo = undo_of(f.kind);
  if (undo == nullptr) return std::nullopt;
  for (std::size_t j = i + 1; j < r.faults.size(); ++j) {
    const Fault& g = r.faults[j];
    if (g.kind != undo || g.at_us < f.at_us) continue;
    // An undo of members undoes those; one of a registrar, link or partition its target.
    if (g.slots.empty() ? g.target == f.target : g.slots.count(slot) > 0) return g.at_us;
  }
  return std::nullopt;
}

void add_explained(RunRows& r, std::int64_t grace_us) {
  // With peers to take over, a registrar's kill, stop or restart explains its PEs' absence
  // only until they could be re-homed (kRehomeUs), not until it is back.
  const bool peers = r.registrar_names.size() > 1;
  for (std::size_t i = 0; i < r.faults.size(); ++i) {
    const Fault& f = r.faults[i];
    if (f.kind != "restart" && undo_of(f.kind) == nullptr) continue;  // an undo, or unknown
    const bool rehomed = peers && r.registrar_names.count(f.target) > 0 &&
                         (f.kind == "kill" || f.kind == "stop" || f.kind == "restart");
    for (const std::string& slot : slots_hit(f, r)) {
      const auto back = undone_at(r, i, slot);
      std::int64_t until = back ? *back + grace_us : std::max(f.at_us, r.window.to_us);
      if (rehomed) until = std::min(until, f.at_us + kRehomeUs);
      r.slots[slot].explained.push_back({f.at_us, until});
    }
  }
}

std::pair<std::vector<CapacitySlot>, Span> slots_and_window(const Store& store,
                                                            std::int64_t run_id,
                                                            std::int64_t grace_us) {
  RunRows r = read_run(store, run_id);
  add_registered(store, r, run_id);
  add_explained(r, grace_us);
  std::vector<CapacitySlot> out;
  for (auto& [name, slot] : r.slots) {
    slot.without_capacity = slot.capacity <= 0;  // NULL in every row of it: an echo PE
    out.push_back(std::move(slot));
  }
  return {std::move(out), r.window};
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100 * fraction);
  return buf;
}

std::string seconds(std::int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(us) / 1e6);
  return buf;
}

// "3 PEs (Calc/pe1#0 36.5–55.0 s, Calc/pe1#1 36.5–55.0 s, …)": the first gap of each.
std::string gap_text(const CapacityFindings& f) {
  std::vector<const CapacityFindings::Gap*> first;
  for (const auto& g : f.gaps)
    if (first.empty() || first.back()->slot != g.slot) first.push_back(&g);
  std::string text = std::to_string(first.size()) + (first.size() == 1 ? " PE (" : " PEs (");
  for (std::size_t i = 0; i < first.size() && i < 4; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f–%.1f s", first[i]->span.from_us / 1e6,
                  first[i]->span.to_us / 1e6);
    text += (i > 0 ? ", " : "") + first[i]->slot + " " + buf;
  }
  return text + (first.size() > 4 ? ", …)" : ")");
}

// "95.0 % of the deployed capacity registered over the window", "2 PEs without capacity
// (echo) registered 100.0 % of the time over the window", or both joined by "; ".
std::string registered_text(const CapacityFindings& f) {
  std::string text;
  if (f.deployed > 0 || f.without_capacity == 0)
    text = percent(f.registered_fraction) + " of the deployed capacity registered over the window";
  if (f.without_capacity > 0)
    text += (text.empty() ? "" : "; ") + std::to_string(f.without_capacity) +
            (f.without_capacity == 1 ? " PE" : " PEs") + " without capacity (echo) registered " +
            percent(f.registered_time_fraction) + " of the time over the window";
  return text;
}

}  // namespace

CapacityFindings registered_capacity(const std::vector<CapacitySlot>& slots, Span window) {
  CapacityFindings f;
  f.slots = slots.size();
  f.window_us = window.to_us - window.from_us;
  const Spans w{window};
  double registered = 0, explained = 0, unexplained = 0, registered_time = 0;
  Spans any_unexplained;
  for (const CapacitySlot& s : slots) {
    f.deployed += s.capacity;
    const Spans reg = intersect(normalized(s.registered), w);
    const Spans missing = subtract(w, reg);
    const Spans excused = intersect(missing, normalized(s.explained));
    const Spans gaps = subtract(missing, excused);
    registered += s.capacity * static_cast<double>(length(reg));
    explained += s.capacity * static_cast<double>(length(excused));
    unexplained += s.capacity * static_cast<double>(length(gaps));
    if (s.without_capacity) {
      ++f.without_capacity;
      registered_time += static_cast<double>(length(reg));
    } else if (s.capacity <= 0) {
      continue;  // nothing to miss
    }
    for (const Span& g : gaps) {
      f.gaps.push_back({s.name, g});
      any_unexplained.push_back(g);
    }
  }
  f.unexplained_us = length(normalized(any_unexplained));
  const double whole = f.deployed * static_cast<double>(f.window_us);
  if (whole > 0) {
    f.registered_fraction = registered / whole;
    f.explained_fraction = explained / whole;
    f.unexplained_fraction = unexplained / whole;
  }
  if (f.without_capacity > 0 && f.window_us > 0)
    f.registered_time_fraction =
        registered_time / (static_cast<double>(f.without_capacity) * static_cast<double>(f.window_us));
  return f;
}

std::vector<CapacitySlot> capacity_slots(const Store& store, std::int64_t run_id,
                                         std::int64_t grace_us) {
  return slots_and_window(store, run_id, grace_us).first;
}

RunCheck check_registered_capacity(const Store& store, std::int64_t run_id) {
  const auto [slots, w] = slots_and_window(store, run_id, kReregistrationGraceUs);
  RunCheck c;
  c.name = "registered_capacity";
  c.status = "ok";
  c.value = std::numeric_limits<double>::quiet_NaN();
  if (slots.empty() || w.to_us <= w.from_us) {
    c.message = "check registered capacity: ok, no PE deployed";
    return c;
  }
  const CapacityFindings f = registered_capacity(slots, w);
  json gaps = json::array();
  for (const auto& g : f.gaps) gaps.push_back({{"pe", g.slot}, {"from_us", g.span.from_us}, {"to_us", g.span.to_us}});
  c.details = {{"window_us", {w.from_us, w.to_us}},       {"pes", f.slots},
               {"deployed", f.deployed},                  {"registered_fraction", f.registered_fraction},
               {"explained_fraction", f.explained_fraction},
               {"unexplained_fraction", f.unexplained_fraction},
               {"unexplained_us", f.unexplained_us},      {"limit", kMissingCapacityLimit},
               {"grace_us", kReregistrationGraceUs},      {"gaps", gaps},
               {"pes_without_capacity", f.without_capacity},
               {"registered_time_fraction", f.registered_time_fraction}};
  c.value = f.deployed > 0 ? f.registered_fraction : f.registered_time_fraction;
  const std::string registered = registered_text(f);
  if (f.warning()) {
    c.status = "warning";
    c.message = "WARNING: registered capacity: capacity missing without a fault that explains it "
                "for " + seconds(f.unexplained_us) + " (" +
                percent(static_cast<double>(f.unexplained_us) / static_cast<double>(f.window_us)) +
                " of the window): " + gap_text(f) + "; " + registered;
  } else {
    c.message = "check registered capacity: ok, " + registered;
    if (f.explained_fraction > 0)
      c.message += " (" + percent(f.explained_fraction) + " missing while faults explain it)";
    if (f.unexplained_us > 0)
      c.message += " (missing unexplained for " + seconds(f.unexplained_us) + ", under " +
                   percent(kMissingCapacityLimit) + " of the window)";
  }
  return c;
}

}  // namespace rsplab::results
