// What `rsplab report` computes from a results database: per experiment, per policy and
// sweep point, every metric as a mean over the completed runs (repetitions) with a 95 %
// confidence interval (Student t). The plots (results/plots.hpp), the HTML page
// (results/html.hpp), the closing table of `rsplab run` and `--until-ci` read the same
// rows; nothing else computes a metric.
//
//   Store ─► run_metrics(run ids): one value per run and metric (measured window)
//         ─► build_report(options): rows grouped per experiment × policy × sweep point
//         ─► report_text / report_csv / report_json
//
// A metric's per-run value is that run's own figure over its measured window (handling
// speed: Σ size / Σ handling time of its jobs, a ratio of sums inside the run). Over the
// runs of a row the estimate is the mean of those per-run values, with the interval
// mean ± t(0.975, n−1) · s / √n. A run without a value for a metric (no completed jobs: no
// handling speed; no failovers: no detection delay) does not count in that metric's n.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "results/stats.hpp"
#include "results/store.hpp"

namespace rsplab::results {

// One metric of the catalog: `name` as in --metric, CSV/JSON keys and the plots' file names;
// `label` and `unit` for tables and axes ("handling speed", "calculations/s").
struct Metric {
  std::string name, label, unit, description;
};

// Every metric, in the table's order: handling_speed, handling_speed_pct (of the mean
// capacity of the run's PEs), handling_time, queuing_delay, startup_delay, processing_time,
// utilization (capacity-weighted), jobs_completed, jobs_unfinished, rejects, failovers,
// detection_delay, lost_exact, lost_lower_bound, resolutions_per_job.
const std::vector<Metric>& metrics();
// The metric named `name`, or nullptr.
const Metric* find_metric(const std::string& name);

// One run's values over its measured window.
struct RunMetrics {
  std::int64_t run_id = 0, experiment_id = 0, idx = 0, repetition = 0;
  std::string policy;                               // "-" without one
  std::map<std::string, std::string> parameters;    // the sweep's values, policy excluded
  std::string status;                               // completed, interrupted, failed, running
  std::string reason;                               // why not completed, or ""
  bool warned = false;                              // some run_checks row not ok
  std::map<std::string, std::optional<double>> values;  // metric name → value (nullopt: none)
};

// The metrics of each run in `run_ids`, in that order (unknown ids are skipped).
std::vector<RunMetrics> run_metrics(const Store& store, const std::vector<std::int64_t>& run_ids);

struct ReportOptions {
  std::optional<std::string> experiment;  // a name or an id; nullopt: every experiment
  // Group by these swept parameters (policy is always a dimension); nullopt: by every swept
  // parameter, so each sweep point is a row of its own.
  std::optional<std::vector<std::string>> by;
  std::vector<std::string> metrics;  // names; empty: the whole catalog
};

// One row of the report: the completed runs of one experiment, policy and sweep point.
struct ReportRow {
  std::int64_t experiment_id = 0;
  std::string policy;
  std::map<std::string, std::string> point;  // the grouping parameters' values
  std::vector<std::int64_t> run_ids;         // the completed runs counted (newest per key)
  std::int64_t not_completed = 0;            // interrupted / failed / running runs, not counted
  std::int64_t warned = 0;                   // counted runs whose checks warned
  std::map<std::string, Estimate> estimates;  // metric name → estimate over the runs
  std::vector<std::string> notes;            // "no completed jobs in 1 of 3 runs", …
};

struct ExperimentSummary {
  std::int64_t id = 0;
  std::string name, file, source;  // source: the experiment file as JSON text
  std::vector<std::string> swept;  // the swept parameters but policy, in the plan's order
};

struct Report {
  std::vector<ExperimentSummary> experiments;
  std::vector<std::string> metrics;  // the metric names reported, in order
  std::vector<ReportRow> rows;       // per experiment, by policy, then the plan's order
};

// Throws ReportError for an unknown experiment, metric or --by parameter (message names it
// and what exists).
Report build_report(const Store& store, const ReportOptions& options);

struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Text: one table per experiment, "mean ± half-width (n = k)", "value (n = 1)", "-" for none;
// notes below. CSV: one line per row and metric (experiment, policy, the point's parameters,
// metric, n, mean, ci_low, ci_high, sd, min, max). JSON: the Report as an object.
std::string report_text(const Report& report);
std::string report_csv(const Report& report);
std::string report_json(const Report& report);

}  // namespace rsplab::results
