// `rsplab report`'s numbers: the metric catalog, each run's values read from the view
// run_metrics (results/README.md: one SQL definition of every per-run metric), the rows per
// experiment × policy × sweep point with a 95 % Student-t interval per metric
// (results/stats.hpp), and the text, CSV and JSON renderings. The closing table of
// `rsplab run` (results/summary.cpp) groups its runs with group_runs.
#include "results/report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

namespace rsplab::results {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

const std::vector<Metric> kMetrics = {
    {"handling_speed", "handling speed", "calculations/s",
     "Σ size / Σ handling time of the run's jobs completed in the measured window"},
    {"handling_speed_pct", "handling speed / mean PE capacity", "%",
     "the handling speed as a percentage of the mean capacity of the run's PEs (each PE "
     "component once): how fast a job was handled against an average PE serving it alone"},
    {"handling_time", "handling time", "s",
     "mean handling time (queuing + startup + processing) of the run's measured jobs"},
    {"queuing_delay", "queuing delay", "s", "mean time a measured job waited in its PU's queue"},
    {"startup_delay", "startup delay", "s",
     "mean time from leaving the queue to a PE accepting the job (handle resolution, REJECTs, "
     "connecting)"},
    {"processing_time", "processing time", "s",
     "mean time from a PE accepting the job to its completion (failovers included)"},
    {"utilization", "utilization", "%",
     "Σ calculations / Σ offered (capacity × time) of the PEs' usage samples in the window: "
     "weighted by capacity"},
    {"jobs_completed", "jobs completed", "jobs/run", "jobs completed inside the measured window"},
    {"jobs_unfinished", "jobs unfinished", "jobs/run", "jobs not completed when the PUs stopped"},
    {"rejects", "rejects", "REJECTs/run", "REJECTs the PEs sent in the measured window"},
    {"failovers", "failovers", "failovers/run", "the PUs' failovers written in the measured window"},
    {"detection_delay", "detection delay", "s",
     "mean detection delay (since the failed PE was last heard) of the window's failovers"},
    {"lost_exact", "work lost, exact", "calculations/run",
     "Σ lost_exact of the window's failovers; none when no failover has an exact value"},
    {"lost_lower_bound", "work lost, lower bound", "calculations/run",
     "Σ lost (the PU's lower bound) of the window's failovers"},
    {"resolutions_per_job", "handle resolutions per job", "resolutions/job",
     "the PUs' handle resolutions in the window (cache answers included) / jobs completed in "
     "the window"},
};

std::string optional_text(const std::optional<double>& v) { return v ? exact_text(*v) : ""; }

ojson optional_json(const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); }

std::string run_name(const RunMetrics& r) {
  return "run " + std::to_string(r.run_id) + " (repetition " + std::to_string(r.repetition) + ")";
}

// Decimals for a mean: 4 significant digits, none below 1 for whole thousands.
int decimals_for(double v) {
  if (v == 0 || !std::isfinite(v)) return 0;
  const int magnitude = static_cast<int>(std::floor(std::log10(std::abs(v))));
  return std::clamp(3 - magnitude, 0, 9);
}

std::string printed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return std::strcmp(buffer, "-0") == 0 ? std::string("0") : std::string(buffer);
}

// `values` with `decimals`, trailing zeros dropped where every one of them has them (so a
// mean and its half-width keep the same decimals).
std::vector<std::string> fixed(const std::vector<double>& values, int decimals) {
  std::vector<std::string> texts;
  for (; decimals > 0; --decimals) {
    texts.clear();
    bool zeros = true;
    for (const double v : values) {
      texts.push_back(printed(v, decimals));
      zeros = zeros && texts.back().back() == '0';
    }
    if (!zeros) return texts;
  }
  texts.clear();
  for (const double v : values) texts.push_back(printed(v, 0));
  return texts;
}

}  // namespace

const std::vector<Metric>& metrics() { return kMetrics; }

const Metric* find_metric(const std::string& name) {
  for (const Metric& m : kMetrics)
    if (m.name == name) return &m;
  return nullptr;
}

// ---- per run ---------------------------------------------------------------------------

std::vector<RunMetrics> run_metrics(const Store& store, const std::vector<std::int64_t>& run_ids) {
  std::string sql =
      "SELECT run_id, experiment_id, idx, repetition, coalesce(policy, '-'), parameters, status,"
      " coalesce(reason, ''), warnings, checks";
  for (const Metric& m : kMetrics) sql += ", " + m.name;
  sql += " FROM run_metrics WHERE run_id IN (SELECT value FROM json_each(?1))";
  std::map<std::int64_t, RunMetrics> by_id;
  for (const auto& row : store.select(sql.c_str(), {json(run_ids).dump()})) {
    RunMetrics r;
    r.run_id = int_of(row[0]);
    r.experiment_id = int_of(row[1]);
    r.idx = int_of(row[2]);
    r.repetition = int_of(row[3]);
    r.policy = text_of(row[4]);
    const json p = json::parse(text_of(row[5]), nullptr, false);
    if (p.is_object())
      for (const auto& [name, value] : p.items())
        if (name != "policy") r.parameters[name] = value.is_string() ? value.get<std::string>() : value.dump();
    r.status = text_of(row[6]);
    r.reason = text_of(row[7]);
    r.warned = int_of(row[8]) > 0;
    r.checks = int_of(row[9]);
    for (std::size_t i = 0; i < kMetrics.size(); ++i) {
      const auto v = number_of(row[10 + i]);
      r.values[kMetrics[i].name] = v && std::isfinite(*v) ? v : std::nullopt;
    }
    by_id[r.run_id] = std::move(r);
  }
  std::vector<RunMetrics> out;
  for (const auto id : run_ids)
    if (const auto it = by_id.find(id); it != by_id.end()) out.push_back(it->second);
  return out;
}

// ---- rows ------------------------------------------------------------------------------

namespace {

using RowKey = std::tuple<std::int64_t, std::string, std::map<std::string, std::string>>;

std::map<std::string, std::string> point_of(const RunMetrics& r,
                                            const std::optional<std::vector<std::string>>& by) {
  if (!by) return r.parameters;
  std::map<std::string, std::string> point;
  for (const auto& name : *by)
    if (const auto it = r.parameters.find(name); it != r.parameters.end()) point[name] = it->second;
  return point;
}

// The notes of a row about its counted runs.
void note_counted(ReportRow& row, const std::vector<const RunMetrics*>& runs) {
  for (const RunMetrics* r : runs) {
    const auto it = r->values.find("jobs_completed");
    if (it == r->values.end() || !it->second || *it->second == 0)
      row.notes.push_back(run_name(*r) +
                          ": no completed jobs in its window (no handling speed, times or "
                          "resolutions per job from it)");
    if (r->warned) row.notes.push_back(run_name(*r) + ": a check warned (see run_checks)");
  }
}

// The runs with jobs that still have no value of a metric (no failovers: no detection
// delay; none with an exact loss: no lost_exact), so that an n below the runs is explained.
void note_missing(ReportRow& row, const std::vector<const RunMetrics*>& runs,
                  const std::vector<std::string>& metric_names) {
  for (const auto& name : metric_names) {
    std::string missing;
    for (const RunMetrics* r : runs) {
      const auto jobs = r->values.find("jobs_completed");
      const bool has_jobs = jobs != r->values.end() && jobs->second && *jobs->second > 0;
      const auto it = r->values.find(name);
      if (has_jobs && (it == r->values.end() || !it->second))
        missing += (missing.empty() ? "" : ", ") + run_name(*r);
    }
    const Metric* m = find_metric(name);
    if (!missing.empty())
      row.notes.push_back((m ? m->label : name) + ": no value in " + missing);
  }
}

// Rows of `counted` (estimated) and of `others` (only counted in not_completed, named in the
// notes), ordered by experiment, policy, smallest idx.
std::vector<ReportRow> group(const std::vector<RunMetrics>& counted,
                             const std::vector<RunMetrics>& others,
                             const std::optional<std::vector<std::string>>& by,
                             const std::vector<std::string>& metric_names) {
  std::map<RowKey, std::vector<const RunMetrics*>> in, out;
  std::map<RowKey, std::int64_t> first_idx;
  const auto add = [&](auto& groups, const RunMetrics& r) {
    RowKey key{r.experiment_id, r.policy, point_of(r, by)};
    groups[key].push_back(&r);
    const auto it = first_idx.find(key);
    if (it == first_idx.end() || r.idx < it->second) first_idx[key] = r.idx;
  };
  for (const auto& r : counted) add(in, r);
  for (const auto& r : others) add(out, r);
  std::vector<std::pair<RowKey, std::int64_t>> order(first_idx.begin(), first_idx.end());
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a.first), std::get<1>(a.first), a.second) <
           std::tie(std::get<0>(b.first), std::get<1>(b.first), b.second);
  });
  std::vector<ReportRow> rows;
  for (const auto& [key, idx] : order) {
    ReportRow row;
    std::tie(row.experiment_id, row.policy, row.point) = key;
    const auto& runs = in[key];
    for (const RunMetrics* r : runs) {
      row.run_ids.push_back(r->run_id);
      row.warned += r->warned ? 1 : 0;
    }
    for (const auto& name : metric_names) {
      std::vector<double> sample;
      for (const RunMetrics* r : runs)
        if (const auto it = r->values.find(name); it != r->values.end() && it->second)
          sample.push_back(*it->second);
      row.estimates[name] = estimate(sample);
    }
    if (runs.empty()) row.notes.push_back("no completed run");
    note_counted(row, runs);
    note_missing(row, runs, metric_names);
    for (const RunMetrics* r : out[key]) {
      ++row.not_completed;
      row.notes.push_back(run_name(*r) + " " + r->status +
                          (r->reason.empty() ? "" : " (" + r->reason + ")") + ": not counted");
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::vector<ReportRow> group_runs(const std::vector<RunMetrics>& runs,
                                  const std::optional<std::vector<std::string>>& by,
                                  const std::vector<std::string>& metric_names) {
  return group(runs, {}, by, metric_names);
}

// ---- the report --------------------------------------------------------------------------

namespace {

std::vector<std::int64_t> ids_of(const Store& store, const char* sql, std::int64_t experiment) {
  std::vector<std::int64_t> ids;
  for (const auto& row : store.select(sql, {experiment})) ids.push_back(int_of(row[0]));
  return ids;
}

// The newest completed row of each key of the experiment.
constexpr const char* kCounted =
    "SELECT max(id) FROM runs WHERE experiment_id = ?1 AND status = 'completed'"
    " GROUP BY key ORDER BY max(id)";
// The newest row of each key of the experiment without a completed one.
constexpr const char* kNotCompleted =
    "SELECT max(id) FROM runs WHERE experiment_id = ?1 AND key NOT IN"
    " (SELECT key FROM runs WHERE experiment_id = ?1 AND status = 'completed')"
    " GROUP BY key ORDER BY max(id)";

// The parameters of `runs` in the plan's order: the slowest varying first (runs are ordered
// sweep point major, the first dimension slowest), ties by name.
std::vector<std::string> swept_of(std::vector<const RunMetrics*> runs) {
  std::sort(runs.begin(), runs.end(), [](auto* a, auto* b) { return a->idx < b->idx; });
  std::map<std::string, std::int64_t> changes;
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (const auto& [name, value] : runs[i]->parameters) {
      auto& n = changes[name];
      if (i > 0) {
        const auto it = runs[i - 1]->parameters.find(name);
        n += it == runs[i - 1]->parameters.end() || it->second != value ? 1 : 0;
      }
    }
  std::vector<std::pair<std::int64_t, std::string>> order;
  for (const auto& [name, n] : changes) order.emplace_back(n, name);
  std::sort(order.begin(), order.end());
  std::vector<std::string> names;
  for (const auto& [n, name] : order) names.push_back(name);
  return names;
}

std::vector<ExperimentSummary> select_experiments(const Store& store,
                                                  const std::optional<std::string>& wanted) {
  std::vector<ExperimentSummary> all, chosen;
  for (const auto& row : store.select("SELECT id, name, file, source FROM experiments ORDER BY id"))
    all.push_back({int_of(row[0]), text_of(row[1]), text_of(row[2]), text_of(row[3]), {}});
  if (!wanted) return all;
  for (const auto& e : all)
    if (e.name == *wanted || std::to_string(e.id) == *wanted) chosen.push_back(e);
  if (chosen.empty()) {
    std::string known;
    for (const auto& e : all)
      known += (known.empty() ? "" : ", ") + e.name + " (id " + std::to_string(e.id) + ")";
    throw ReportError("no experiment '" + *wanted + "' in this file (" +
                      (known.empty() ? "it has none" : "experiments: " + known) + ")");
  }
  return chosen;
}

std::vector<std::string> chosen_metrics(const std::vector<std::string>& wanted) {
  std::vector<std::string> names;
  for (const auto& m : kMetrics) names.push_back(m.name);
  if (wanted.empty()) return names;
  for (const auto& name : wanted)
    if (find_metric(name) == nullptr) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw ReportError("unknown metric '" + name + "' (metrics: " + known + ")");
    }
  return wanted;
}

// --by without policy (always a dimension); each name swept in some experiment.
std::optional<std::vector<std::string>> chosen_by(const std::optional<std::vector<std::string>>& by,
                                                  const std::vector<ExperimentSummary>& experiments) {
  if (!by) return by;
  std::vector<std::string> names;
  std::set<std::string> swept;
  for (const auto& e : experiments) swept.insert(e.swept.begin(), e.swept.end());
  for (const auto& name : *by) {
    if (name == "policy") continue;
    if (!swept.count(name)) {
      std::string known;
      for (const auto& s : swept) known += (known.empty() ? "" : ", ") + s;
      throw ReportError("--by: '" + name + "' is not a swept parameter (" +
                        (known.empty() ? "nothing but policy is swept" : "swept: " + known) + ")");
    }
    names.push_back(name);
  }
  return names;
}

}  // namespace

Report build_report(const Store& store, const ReportOptions& options) {
  Report report;
  report.metrics = chosen_metrics(options.metrics);
  report.experiments = select_experiments(store, options.experiment);
  std::vector<RunMetrics> counted, others;
  for (auto& e : report.experiments) {
    const auto in = run_metrics(store, ids_of(store, kCounted, e.id));
    const auto out = run_metrics(store, ids_of(store, kNotCompleted, e.id));
    std::vector<const RunMetrics*> all;
    for (const auto* list : {&in, &out})
      for (const auto& r : *list) all.push_back(&r);
    e.swept = swept_of(all);
    counted.insert(counted.end(), in.begin(), in.end());
    others.insert(others.end(), out.begin(), out.end());
  }
  report.rows = group(counted, others, chosen_by(options.by, report.experiments), report.metrics);
  return report;
}

// ---- text ------------------------------------------------------------------------------

std::size_t text_width(const std::string& text) {
  std::size_t n = 0;
  for (const unsigned char c : text) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string pad(const std::string& text, std::size_t width, bool right_align) {
  const std::size_t w = text_width(text);
  if (w >= width) return text;
  const std::string fill(width - w, ' ');
  return right_align ? fill + text : text + fill;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string exact_text(double value) {
  char buffer[400];
  // Plain digits in the usual range (1000000, not 1e+06), exponents outside it.
  const double a = std::abs(value);
  const bool plain = a == 0 || (a >= 1e-6 && a < 1e16);
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value,
                               plain ? std::chars_format::fixed : std::chars_format::general);
  return std::string(buffer, r.ptr);
}

std::string number_text(double value) { return fixed({value}, decimals_for(value))[0]; }

std::string estimate_text(const Estimate& e, bool with_n) {
  if (e.n == 0 || !e.mean) return "-";
  std::string text = number_text(*e.mean);
  if (e.half_width) {
    const auto both = fixed({*e.mean, *e.half_width}, decimals_for(*e.mean));
    text = both[0] + " ± " + both[1];
  }
  if (with_n) text += " (n = " + std::to_string(e.n) + ")";
  return text;
}

namespace {

// A table: first column left-aligned, the others right-aligned; lines without trailing blanks.
std::string aligned(const std::vector<std::vector<std::string>>& cells) {
  std::vector<std::size_t> widths;
  for (const auto& line : cells)
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], text_width(line[c]));
    }
  std::string text;
  for (const auto& line : cells) {
    std::string l;
    for (std::size_t c = 0; c < line.size(); ++c)
      l += (c == 0 ? "" : "  ") + pad(line[c], widths[c], c > 0);
    l.erase(l.find_last_not_of(' ') + 1);
    text += l + "\n";
  }
  return text;
}

std::string point_text(const std::map<std::string, std::string>& point,
                       const std::vector<std::string>& order) {
  std::string text;
  for (const auto& name : order)
    if (const auto it = point.find(name); it != point.end())
      text += (text.empty() ? "" : " ") + name + "=" + it->second;
  for (const auto& [name, value] : point)  // any not in `order`
    if (std::find(order.begin(), order.end(), name) == order.end())
      text += (text.empty() ? "" : " ") + name + "=" + value;
  return text;
}

// One table of up to kColumns rows of the report, side by side.
constexpr std::size_t kColumns = 4;

std::string table_of(const Report& report, const ExperimentSummary& e,
                     const std::vector<const ReportRow*>& rows) {
  std::vector<std::vector<std::string>> cells(2), body;
  cells[0] = {"policy"};
  cells[1] = {"sweep point"};
  bool points = false;
  std::vector<std::string> runs = {"runs counted"}, missing = {"runs not completed"};
  for (const ReportRow* r : rows) {
    cells[0].push_back(r->policy);
    cells[1].push_back(point_text(r->point, e.swept));
    points = points || !r->point.empty();
    runs.push_back(std::to_string(r->run_ids.size()));
    missing.push_back(std::to_string(r->not_completed));
  }
  if (!points) cells.pop_back();
  cells.push_back(runs);
  cells.push_back(missing);
  for (const auto& name : report.metrics) {
    const Metric* m = find_metric(name);
    std::vector<std::string> line = {m->label + " (" + m->unit + ")"};
    for (const ReportRow* r : rows) {
      const auto it = r->estimates.find(name);
      line.push_back(it == r->estimates.end() ? "-" : estimate_text(it->second));
    }
    cells.push_back(std::move(line));
  }
  return aligned(cells);
}

std::string experiment_text(const Report& report, const ExperimentSummary& e) {
  std::vector<const ReportRow*> rows;
  for (const auto& r : report.rows)
    if (r.experiment_id == e.id) rows.push_back(&r);
  std::string text = "experiment " + e.name + " (id " + std::to_string(e.id) + ", " + e.file + ")";
  if (rows.empty()) return text + ": no runs\n";
  text += "\n";
  for (std::size_t i = 0; i < rows.size(); i += kColumns) {
    const std::vector<const ReportRow*> part(rows.begin() + i,
                                             rows.begin() + std::min(rows.size(), i + kColumns));
    text += (i == 0 ? "" : "\n") + table_of(report, e, part);
  }
  std::string notes;
  for (const ReportRow* r : rows)
    for (const auto& n : r->notes) {
      const std::string point = point_text(r->point, e.swept);
      notes += "  " + r->policy + (point.empty() ? "" : " " + point) + ": " + n + "\n";
    }
  if (!notes.empty()) text += "notes:\n" + notes;
  return text;
}

}  // namespace

std::string report_text(const Report& report) {
  if (report.experiments.empty()) return "no experiments in this file\n";
  std::string text;
  for (const auto& e : report.experiments)
    text += (text.empty() ? "" : "\n") + experiment_text(report, e);
  text +=
      "\n(each cell: the mean over the completed runs (repetitions) of the run's own value over\n"
      " its measured window ± the half-width of its 95 % confidence interval (Student t);\n"
      " n: the runs with a value; n = 1: no interval. `rsplab report --help` lists the\n"
      " metrics; results/README.md, view run_metrics, defines each.)\n";
  return text;
}

// ---- CSV and JSON ------------------------------------------------------------------------

namespace {

const ExperimentSummary* experiment_of(const Report& report, std::int64_t id) {
  for (const auto& e : report.experiments)
    if (e.id == id) return &e;
  return nullptr;
}

// Every parameter of a point in the report: the experiments' swept order, then any other.
std::vector<std::string> point_columns(const Report& report) {
  std::vector<std::string> names;
  const auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  for (const auto& e : report.experiments)
    for (const auto& n : e.swept)
      for (const auto& r : report.rows)
        if (r.point.count(n)) add(n);
  for (const auto& r : report.rows)
    for (const auto& [n, v] : r.point) add(n);
  return names;
}

}  // namespace

std::string report_csv(const Report& report) {
  const auto params = point_columns(report);
  std::string text = "experiment,policy";
  for (const auto& p : params) text += "," + csv_field(p);
  text += ",metric,n,mean,ci_low,ci_high,sd,min,max\n";
  for (const auto& r : report.rows) {
    const auto* e = experiment_of(report, r.experiment_id);
    std::string prefix = csv_field(e ? e->name : std::to_string(r.experiment_id)) + "," +
                         csv_field(r.policy);
    for (const auto& p : params) {
      const auto it = r.point.find(p);
      prefix += "," + (it == r.point.end() ? std::string() : csv_field(it->second));
    }
    for (const auto& name : report.metrics) {
      const auto it = r.estimates.find(name);
      const Estimate est = it == r.estimates.end() ? Estimate{} : it->second;
      text += prefix + "," + name + "," + std::to_string(est.n) + "," + optional_text(est.mean) +
              "," + optional_text(est.low()) + "," + optional_text(est.high()) + "," +
              optional_text(est.sd) + "," + optional_text(est.min) + "," + optional_text(est.max) +
              "\n";
    }
  }
  return text;
}

namespace {

ojson estimate_json(const Estimate& e) {
  return {{"n", e.n},
          {"mean", optional_json(e.mean)},
          {"half_width", optional_json(e.half_width)},
          {"ci_low", optional_json(e.low())},
          {"ci_high", optional_json(e.high())},
          {"sd", optional_json(e.sd)},
          {"min", optional_json(e.min)},
          {"max", optional_json(e.max)}};
}

ojson row_json(const Report& report, const ReportRow& r) {
  const auto* e = experiment_of(report, r.experiment_id);
  ojson estimates = ojson::object();
  for (const auto& name : report.metrics)
    if (const auto it = r.estimates.find(name); it != r.estimates.end())
      estimates[name] = estimate_json(it->second);
  return {{"experiment_id", r.experiment_id},
          {"experiment", e ? ojson(e->name) : ojson(nullptr)},
          {"policy", r.policy},
          {"point", r.point},
          {"run_ids", r.run_ids},
          {"not_completed", r.not_completed},
          {"warned", r.warned},
          {"estimates", estimates},
          {"notes", r.notes}};
}

}  // namespace

std::string report_json(const Report& report) {
  ojson out = {{"experiments", ojson::array()}, {"metrics", ojson::array()}, {"rows", ojson::array()}};
  for (const auto& e : report.experiments) {
    const ojson source = ojson::parse(e.source, nullptr, false);
    out["experiments"].push_back({{"id", e.id},
                                  {"name", e.name},
                                  {"file", e.file},
                                  {"swept", e.swept},
                                  {"source", source.is_discarded() ? ojson(nullptr) : source}});
  }
  for (const auto& name : report.metrics) {
    const Metric* m = find_metric(name);
    out["metrics"].push_back(
        {{"name", m->name}, {"label", m->label}, {"unit", m->unit}, {"description", m->description}});
  }
  for (const auto& r : report.rows) out["rows"].push_back(row_json(report, r));
  return out.dump(2) + "\n";
}

}  // namespace rsplab::results
