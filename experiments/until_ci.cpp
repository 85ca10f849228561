// `rsplab run --until-ci`: the rounds around run_plan, the decision per sweep point and what
// is printed about it (experiments/until_ci.hpp).
#include "experiments/until_ci.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "results/report.hpp"
#include "results/store.hpp"
#include "results/summary.hpp"

namespace rsplab::experiments {

namespace {

// "±3.12 %" (relative half-width), or why there is none.
std::string width_text(const results::Estimate& e) {
  char buf[64];
  if (e.n == 0) return "no value";
  if (!e.half_width) return "one value, no interval";
  if (const auto rel = e.relative_half_width()) {
    std::snprintf(buf, sizeof buf, "±%.2f %%", *rel * 100);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "±%g around a mean of 0", *e.half_width);
  return buf;
}

// `last`: at the campaign's end, where a group still `more` was cut short.
const char* verdict_word(Verdict v, bool last) {
  switch (v) {
    case Verdict::reached: return "target reached";
    case Verdict::cap: return "cap reached, target NOT met";
    case Verdict::no_value: return "stopped, a metric has no value: target NOT met";
    case Verdict::more: break;
  }
  return last ? "undecided (the campaign stopped early)" : "too wide, one more repetition";
}

// "policy=lu: target reached (n = 4): handling_speed ±3.10 %, utilization ±0.80 %"
std::string group_line(const Group& g, const UntilCiOptions& o, bool last) {
  std::ostringstream s;
  s << g.label << ": " << verdict_word(g.verdict, last) << " (n = " << g.completed << ")";
  const char* sep = ": ";
  for (const auto& m : o.metrics) {
    const auto it = g.estimates.find(m);
    const results::Estimate e = it == g.estimates.end() ? results::Estimate{} : it->second;
    s << sep << m << " " << width_text(e);
    if (e.n != 0 && e.n != static_cast<std::int64_t>(g.completed)) s << " (n = " << e.n << ")";
    sep = ", ";
  }
  return s.str();
}

// "handling_speed, utilization"; with `last` = " or ": "handling_speed or utilization".
std::string metric_list(const std::vector<std::string>& metrics, const char* last = ", ") {
  std::string s;
  for (std::size_t i = 0; i < metrics.size(); ++i)
    s += (i == 0 ? "" : i + 1 == metrics.size() ? last : ", ") + metrics[i];
  return s;
}

// The compared metrics' estimates over the completed runs of the repetitions `g` asked for
// (the newest completed row of each key, from any invocation, as the closing table counts).
void assess(const results::Store& store, const Plan& full, const UntilCiOptions& o, Group& g) {
  std::vector<std::string> keys;
  for (const Run& r : full.runs)
    if (r.point == g.point && r.repetition < g.target) keys.push_back(r.key);
  const auto ids = results::completed_runs(store, keys, std::nullopt);
  g.completed = ids.size();
  // One row, as the report groups: the point's runs share its policy; whichever experiments
  // row an earlier invocation stored a run under, it is this point's.
  auto runs = results::run_metrics(store, ids);
  for (auto& r : runs) r.experiment_id = 0;
  const auto rows = results::group_runs(runs, std::vector<std::string>{}, o.metrics);
  g.estimates = rows.size() == 1 ? rows[0].estimates : std::map<std::string, results::Estimate>{};
  g.verdict = decide(g.estimates, o.metrics, o.percent, g.target, o.max_repetitions);
  if (g.verdict == Verdict::more) ++g.target;
}

// After a round: the groups it ran decided, one line each. False when the database could not
// be read (said on `err`).
bool assess_round(const Plan& full, const UntilCiOptions& o, const std::string& output,
                  std::vector<Group>& groups, std::ostream& out, std::ostream& err) {
  try {
    const results::Store store = results::Store::open_read_only(output);
    for (Group& g : groups) {
      if (g.verdict != Verdict::more) continue;
      assess(store, full, o, g);
      out << "until-ci: " << group_line(g, o, false) << "\n";
    }
    return true;
  } catch (const std::exception& e) {
    err << "rsplab run: until-ci: " << output << ": " << e.what() << "\n";
    return false;
  }
}

// Each group's verdict into the until_ci table, under the campaign's experiments row.
void store_verdicts(const Plan& full, const std::vector<Group>& groups, const UntilCiOptions& o,
                    const RunnerOptions& options, std::ostream& err) {
  try {
    results::Store store = results::Store::open(options.output);
    const auto experiment = campaign_experiment(store, full, options);
    if (!experiment) return;  // nothing ran
    const auto number = [](const std::optional<double>& v) {
      return v ? nlohmann::json(*v) : nlohmann::json();
    };
    for (const Group& g : groups) {
      results::UntilCiVerdict v;
      v.experiment_id = *experiment;
      v.parameters = g.parameters;
      v.percent = o.percent;
      v.max_repetitions = static_cast<std::int64_t>(o.max_repetitions);
      v.metrics = o.metrics;
      v.verdict = verdict_name(g.verdict);
      v.runs = static_cast<std::int64_t>(g.completed);
      v.estimates = nlohmann::json::object();
      for (const auto& [m, e] : g.estimates)
        v.estimates[m] = {{"n", e.n},
                          {"mean", number(e.mean)},
                          {"half_width", number(e.half_width)},
                          {"relative_half_width", number(e.relative_half_width())}};
      store.set_until_ci(v);
    }
  } catch (const std::exception& e) {
    err << "rsplab run: until-ci: " << options.output << ": " << e.what() << "\n";
  }
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::reached: return "reached";
    case Verdict::cap: return "cap";
    case Verdict::no_value: return "no_value";
    case Verdict::more: break;
  }
  return "undecided";
}

std::size_t first_round(std::size_t file_repetitions) {
  return file_repetitions < 2 ? 2 : file_repetitions;
}

std::string check_until_ci(const UntilCiOptions& o, std::size_t file_repetitions) {
  if (!(o.percent > 0) || !std::isfinite(o.percent))
    return "--until-ci: want a percentage above 0 (the interval's half-width in % of the mean)";
  const std::size_t first = first_round(file_repetitions);
  if (o.max_repetitions <= first)
    return "--max-repetitions " + std::to_string(o.max_repetitions) +
           ": want more than the first round's " + std::to_string(first) + " repetitions" +
           (file_repetitions < 2 ? " (the file says " + std::to_string(file_repetitions) +
                                       "; an interval needs 2)"
                                 : " (the file's)");
  if (o.metrics.empty()) return "--metric: name at least one metric";
  std::set<std::string> seen;
  for (const auto& m : o.metrics) {
    if (!results::find_metric(m)) {
      std::string known;
      for (const auto& k : results::metrics()) known += (known.empty() ? "" : ", ") + k.name;
      return "--metric: unknown metric '" + m + "' (known: " + known + ")";
    }
    if (!seen.insert(m).second) return "--metric: '" + m + "' named twice";
  }
  return "";
}

std::string until_ci_intro(std::size_t file_repetitions, std::size_t points,
                           const UntilCiOptions& o) {
  const std::size_t first = first_round(file_repetitions);
  char pct[32];
  std::snprintf(pct, sizeof pct, "%g", o.percent);
  std::ostringstream s;
  s << "until-ci: " << first << " repetitions per sweep point first";
  if (first != file_repetitions)
    s << " (the file says " << file_repetitions << ": an interval needs 2)";
  s << ", then one more at a time for each point where the 95 % interval of "
    << metric_list(o.metrics, " or ") << " is wider than ±" << pct << " % of its mean, at most "
    << o.max_repetitions << " per point: " << points * first << " to "
    << points * o.max_repetitions << " run(s)\n";
  return s.str();
}

std::vector<Group> make_groups(const Plan& full, std::size_t first) {
  std::vector<Group> groups;
  for (const Run& r : full.runs) {
    if (!groups.empty() && groups.back().point == r.point) continue;
    Group g;
    g.point = r.point;
    g.parameters = r.parameters;
    for (const auto& [k, v] : r.parameters) g.label += (g.label.empty() ? "" : " ") + k + "=" + v;
    if (g.label.empty()) g.label = "(no sweep)";
    g.target = first;
    groups.push_back(std::move(g));
  }
  return groups;
}

Verdict decide(const std::map<std::string, results::Estimate>& estimates,
               const std::vector<std::string>& metrics, double percent, std::size_t target,
               std::size_t cap) {
  bool narrow = true;
  for (const auto& m : metrics) {
    const auto it = estimates.find(m);
    if (it == estimates.end() || it->second.n == 0) return Verdict::no_value;
    const results::Estimate& e = it->second;
    narrow = narrow && e.half_width && *e.half_width <= percent / 100 * std::abs(*e.mean);
  }
  if (narrow) return Verdict::reached;
  return target >= cap ? Verdict::cap : Verdict::more;
}

Plan round_plan(const Plan& full, std::vector<Group>& groups) {
  Plan p = full;
  p.runs.clear();
  p.estimated = {};
  for (Group& g : groups) {
    if (g.verdict != Verdict::more) continue;
    for (const Run& r : full.runs) {
      if (r.point != g.point || r.repetition < g.asked || r.repetition >= g.target) continue;
      Run run = r;
      run.stored_index = r.index;
      run.index = p.runs.size();
      p.estimated += run.warmup + run.duration + kRunAllowance;
      p.runs.push_back(std::move(run));
    }
    g.asked = g.target;
  }
  return p;
}

Plan asked_plan(const Plan& full, const std::vector<Group>& groups) {
  Plan p = full;
  p.runs.clear();
  for (const Group& g : groups)
    for (const Run& r : full.runs)
      if (r.point == g.point && r.repetition < g.target) p.runs.push_back(r);
  return p;
}

std::string verdict_text(const std::vector<Group>& groups, const UntilCiOptions& o) {
  std::ostringstream s;
  char pct[32];
  std::snprintf(pct, sizeof pct, "%g", o.percent);
  s << "\nuntil-ci: target: 95 % intervals within ±" << pct << " % of the mean for "
    << metric_list(o.metrics) << ", at most " << o.max_repetitions
    << " repetitions per sweep point\n";
  std::size_t reached = 0, cap = 0, none = 0, open = 0;
  for (const Group& g : groups) {
    s << "  " << group_line(g, o, true) << "\n";
    (g.verdict == Verdict::reached ? reached
     : g.verdict == Verdict::cap   ? cap
     : g.verdict == Verdict::no_value ? none
                                      : open)++;
  }
  s << "until-ci: " << reached << " of " << groups.size() << " sweep point(s) reached the target";
  if (cap > 0) s << "; " << cap << " stopped at the cap without it";
  if (none > 0) s << "; " << none << " stopped for a metric without values";
  if (open > 0) s << "; " << open << " undecided (the campaign stopped early)";
  s << "\n";
  return s.str();
}

RunStatus run_until_ci(const Plan& full, std::size_t first, const UntilCiOptions& o,
                       const RunnerOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<Group> groups = make_groups(full, first);
  RunnerOptions round_options = options;
  round_options.summary = false;
  RunStatus status = RunStatus::completed;
  for (std::size_t round = 1; status == RunStatus::completed; ++round) {
    const Plan p = round_plan(full, groups);
    if (p.runs.empty()) break;
    out << "until-ci: round " << round << ": " << p.runs.size() << " run(s), "
        << (round == 1 ? std::to_string(first) + " repetition(s) of each sweep point"
                       : "one more repetition of each sweep point still too wide")
        << "\n";
    status = run_plan(p, round_options, out, err);
    if (status == RunStatus::completed &&
        !assess_round(full, o, options.output, groups, out, err))
      status = RunStatus::failed;
  }
  print_summary(asked_plan(full, groups), options, out, err);
  out << verdict_text(groups, o) << std::flush;
  store_verdicts(full, groups, o, options, err);
  return status;
}

}  // namespace rsplab::experiments
