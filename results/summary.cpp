#include "results/summary.hpp"

#include <cstdio>

namespace rsplab::results {

namespace {

using json = nlohmann::json;

// {"ratio": "10", "load": "0.7"} → "load=0.7 ratio=10"
std::string point_text(const std::string& parameters) {
  const json p = json::parse(parameters, nullptr, false);
  std::string text;
  if (!p.is_object()) return text;
  for (const auto& [name, value] : p.items())
    text += (text.empty() ? "" : " ") + name + "=" +
            (value.is_string() ? value.get<std::string>() : value.dump());
  return text;
}

// Ratios of sums over the runs of a group, never means of per-run values.
constexpr const char* kSummary = R"sql(
SELECT coalesce(s.policy, '-'), json_remove(r.parameters, '$.policy') AS point, count(*),
       sum(s.jobs_completed), sum(s.jobs_unfinished), sum(s.rejects), sum(s.failovers),
       sum(s.warnings > 0), sum(s.checks = 0),
       CASE WHEN sum(s.handling_us) > 0 THEN sum(s.calculations) * 1e6 / sum(s.handling_us) END,
       sum(s.usage_calculations) / sum(s.usage_offered)
FROM run_summary AS s
JOIN runs AS r ON r.id = s.run_id
WHERE s.run_id IN (SELECT value FROM json_each(?1))
GROUP BY s.policy, point
ORDER BY coalesce(s.policy, '-'), min(r.idx)
)sql";

}  // namespace

std::vector<SummaryRow> summarize(const Store& store, const std::vector<std::int64_t>& run_ids) {
  const std::string ids = json(run_ids).dump();
  std::vector<SummaryRow> out;
  for (const auto& row : store.select(kSummary, {ids})) {
    SummaryRow s;
    s.policy = std::get<std::string>(row[0]);
    if (const auto* p = std::get_if<std::string>(&row[1])) s.point = point_text(*p);
    s.runs = int_of(row[2]);
    s.jobs_completed = int_of(row[3]);
    s.jobs_unfinished = int_of(row[4]);
    s.rejects = int_of(row[5]);
    s.failovers = int_of(row[6]);
    s.warned = int_of(row[7]);
    s.unchecked = int_of(row[8]);
    s.handling_speed = number_of(row[9]);
    s.utilization = number_of(row[10]);
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

std::string summary_table(const std::vector<SummaryRow>& rows) {
  bool points = false;
  for (const auto& r : rows) points = points || !r.point.empty();
  char line[512];
  std::snprintf(line, sizeof line, "%-10s %5s %10s %11s %8s %24s %12s %10s  %-16s%s\n", "policy",
                "runs", "completed", "unfinished", "rejects", "handling speed (calc/s)",
                "utilization", "failovers", "checks", points ? "  sweep point" : "");
  std::string text = line;
  text.erase(text.find_last_not_of(" \n") + 1);
  text += "\n";
  for (const auto& r : rows) {
    char speed[32] = "-", utilization[32] = "-", checks[64] = "ok";
    if (r.handling_speed) std::snprintf(speed, sizeof speed, "%.0f", *r.handling_speed);
    if (r.utilization) std::snprintf(utilization, sizeof utilization, "%.1f %%", 100 * *r.utilization);
    if (r.warned > 0)
      std::snprintf(checks, sizeof checks, "WARNING (%lld run%s)", static_cast<long long>(r.warned),
                    r.warned == 1 ? "" : "s");
    else if (r.unchecked == r.runs)
      std::snprintf(checks, sizeof checks, "-");
    else if (r.unchecked > 0)
      std::snprintf(checks, sizeof checks, "ok (%lld unchecked)", static_cast<long long>(r.unchecked));
    std::snprintf(line, sizeof line, "%-10s %5lld %10lld %11lld %8lld %24s %12s %10lld  %-16s%s%s\n",
                  r.policy.c_str(), static_cast<long long>(r.runs),
                  static_cast<long long>(r.jobs_completed), static_cast<long long>(r.jobs_unfinished),
                  static_cast<long long>(r.rejects), speed, utilization,
                  static_cast<long long>(r.failovers), checks, points ? "  " : "",
                  r.point.c_str());
    std::string l = line;
    l.erase(l.find_last_not_of(" \n") + 1);
    text += l + "\n";
  }
  text +=
      "(completed runs, each key once, over the measured window after warm-up. completed: jobs\n"
      " completed in the window; unfinished: jobs not completed when the PUs stopped; rejects:\n"
      " REJECTs the PEs sent; handling speed: Σ size / Σ handling time of the completed jobs;\n"
      " utilization: Σ calculations / Σ capacity × time of the PEs' usage samples; failovers:\n"
      " the PUs' failovers; checks: runs whose checks warned, printed after each run and kept\n"
      " in run_checks; - for runs stored without checks)\n";
  return text;
}

}  // namespace rsplab::results
