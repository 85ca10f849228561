// The runs' totals and the closing table of `rsplab run` (summary.hpp).
#include "results/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <variant>

#include "results/report.hpp"

namespace rsplab::results {

namespace {

using json = nlohmann::json;

// {"load": "0.7", "ratio": "10"} → "load=0.7 ratio=10"
std::string point_text(const std::map<std::string, std::string>& point) {
  std::string text;
  for (const auto& [name, value] : point) text += (text.empty() ? "" : " ") + name + "=" + value;
  return text;
}

std::int64_t total(const std::map<std::int64_t, const RunMetrics*>& runs,
                   const std::vector<std::int64_t>& ids, const char* metric) {
  double sum = 0;
  for (const auto id : ids) sum += runs.at(id)->values.at(metric).value_or(0);
  return static_cast<std::int64_t>(std::llround(sum));
}

// The jobs rows of `run_ids`, whenever they ended.
std::int64_t stored_jobs(const Store& store, const std::vector<std::int64_t>& run_ids) {
  return int_of(store.select("SELECT count(*) FROM jobs WHERE run_id IN"
                             " (SELECT value FROM json_each(?1))",
                             {json(run_ids).dump()})[0][0]);
}

}  // namespace

EchoTotals echo_totals(const Store& store, const std::vector<std::int64_t>& run_ids) {
  const auto rows = store.select(
      "SELECT count(*), total(answers), total(duplicates), total(lost) FROM echo_series"
      " WHERE run_id IN (SELECT value FROM json_each(?1))",
      {json(run_ids).dump()});
  const auto n = [&](std::size_t i) {
    const auto* v = std::get_if<double>(&rows[0][i]);
    return v ? static_cast<std::int64_t>(std::llround(*v)) : int_of(rows[0][i]);
  };
  return {n(0), n(1), n(2), n(3)};
}

std::vector<SummaryRow> summarize(const Store& store, const std::vector<std::int64_t>& run_ids) {
  const auto runs = run_metrics(store, run_ids);
  std::map<std::int64_t, const RunMetrics*> by_id;
  for (const auto& r : runs) by_id[r.run_id] = &r;
  std::vector<SummaryRow> out;
  for (const auto& row : group_runs(runs, std::nullopt, {"handling_speed", "utilization"})) {
    SummaryRow s;
    s.policy = row.policy;
    s.point = point_text(row.point);
    s.runs = static_cast<std::int64_t>(row.run_ids.size());
    s.jobs_completed = total(by_id, row.run_ids, "jobs_completed");
    s.jobs_unfinished = total(by_id, row.run_ids, "jobs_unfinished");
    s.rejects = total(by_id, row.run_ids, "rejects");
    s.failovers = total(by_id, row.run_ids, "failovers");
    s.warned = row.warned;
    for (const auto id : row.run_ids) s.unchecked += by_id.at(id)->checks == 0 ? 1 : 0;
    s.handling_speed = row.estimates.at("handling_speed");
    s.utilization = row.estimates.at("utilization");
    s.echo = echo_totals(store, row.run_ids);
    s.jobs = s.echo.series == 0 || stored_jobs(store, row.run_ids) > 0;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::int64_t> completed_runs(const Store& store, const std::vector<std::string>& keys,
                                         std::optional<std::int64_t> experiment_id) {
  std::vector<std::int64_t> ids;
  for (const auto& row : store.select(
           "SELECT max(id) FROM runs WHERE status = 'completed'"
           " AND key IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR experiment_id = ?2)"
           " GROUP BY key ORDER BY max(id)",
           {json(keys).dump(), experiment_id ? Value(*experiment_id) : Value(nullptr)}))
    ids.push_back(int_of(row[0]));
  return ids;
}

namespace {

// "604150", "604150 ± 1200" (more than one run), "-" without a value; `decimals` after the
// point and `unit` after the number(s).
std::string cell(const Estimate& e, int decimals, const char* unit) {
  if (!e.mean) return "-";
  char text[96];
  if (e.half_width)
    std::snprintf(text, sizeof text, "%.*f ± %.*f%s", decimals, *e.mean, decimals, *e.half_width, unit);
  else
    std::snprintf(text, sizeof text, "%.*f%s", decimals, *e.mean, unit);
  return text;
}

std::string checks_cell(const SummaryRow& r) {
  char checks[64] = "ok";
  if (r.warned > 0)
    std::snprintf(checks, sizeof checks, "WARNING (%lld run%s)", static_cast<long long>(r.warned),
                  r.warned == 1 ? "" : "s");
  else if (r.unchecked == r.runs)
    std::snprintf(checks, sizeof checks, "-");
  else if (r.unchecked > 0)
    std::snprintf(checks, sizeof checks, "ok (%lld unchecked)", static_cast<long long>(r.unchecked));
  return checks;
}

}  // namespace

namespace {

// A column of the closing table: its minimum width (each as wide as before intervals
// existed: one-run rows read as then); numbers are right-aligned with a blank beside their
// single-space separator, the texts after them (checks, sweep point) two spaces apart.
struct Column {
  const char* header;
  std::size_t width;
  bool number;
};

// The row's cells in the order of `columns` (see summary_table).
std::vector<std::string> cells(const SummaryRow& r, bool echo, bool points) {
  const auto jobs = [&](std::int64_t n) { return r.jobs ? std::to_string(n) : "-"; };
  std::vector<std::string> l = {r.policy, std::to_string(r.runs), jobs(r.jobs_completed),
                                jobs(r.jobs_unfinished), jobs(r.rejects),
                                cell(r.handling_speed, 0, ""), cell(r.utilization, 1, " %"),
                                std::to_string(r.failovers)};
  if (echo) {
    l.push_back(std::to_string(r.echo.series));
    l.push_back(std::to_string(r.echo.round_trips));
  }
  l.push_back(checks_cell(r));
  if (points) l.push_back(r.point);
  return l;
}

}  // namespace

std::string summary_table(const std::vector<SummaryRow>& rows) {
  bool points = false, echo = false;
  for (const auto& r : rows) {
    points = points || !r.point.empty();
    echo = echo || r.echo.series > 0;
  }
  std::vector<Column> columns = {{"policy", 10, false},   {"runs", 5, true},
                                 {"completed", 10, true}, {"unfinished", 11, true},
                                 {"rejects", 8, true},    {"handling speed (calc/s)", 24, true},
                                 {"utilization", 12, true}, {"failovers", 10, true}};
  if (echo) columns.insert(columns.end(), {{"echo series", 12, true}, {"round trips", 12, true}});
  columns.push_back({"checks", 16, false});
  if (points) columns.push_back({"sweep point", 0, false});
  std::vector<std::vector<std::string>> lines = {{}};
  for (const auto& c : columns) lines[0].push_back(c.header);
  for (const auto& r : rows) lines.push_back(cells(r, echo, points));
  std::vector<std::size_t> widths;
  for (const auto& c : columns) widths.push_back(c.width);
  for (const auto& l : lines)
    for (std::size_t c = 0; c < l.size(); ++c)
      widths[c] = std::max(widths[c], text_width(l[c]) + (columns[c].number ? 1 : 0));
  std::string text;
  for (const auto& l : lines) {
    std::string out;
    for (std::size_t c = 0; c < l.size(); ++c)
      out += (c == 0 ? "" : columns[c].number ? " " : "  ") +
             pad(l[c], widths[c], columns[c].number);
    out.erase(out.find_last_not_of(' ') + 1);
    text += out + "\n";
  }
  text +=
      "(completed runs, each key once, over the measured window after warm-up; a row per\n"
      " policy and sweep point. completed: jobs completed in the window; unfinished: jobs not\n"
      " completed when the PUs stopped; rejects: REJECTs the PEs sent; handling speed: Σ size /\n"
      " Σ handling time of each run's completed jobs; utilization: Σ calculations / Σ capacity ×\n"
      " time of each run's PE usage samples; both the mean over the row's runs, ± the 95 %\n"
      " interval (Student t) with more than one run (rsplab report shows every metric);\n"
      " failovers: the PUs' failovers; checks: runs whose checks warned, printed after each run\n"
      " and kept in run_checks; - for runs stored without checks)\n";
  if (echo)
    text +=
        "(echo series: the echo PUs' series (docs/echo.md, table echo_series); round trips:\n"
        " the PONGs they received, warm-up included; - for the jobs of echo runs: they have none)\n";
  return text;
}

}  // namespace rsplab::results
