// `rsplab report`'s numbers against a real SQLite file built through the Store API with known
// contents: every per-run metric (view run_metrics) recomputed here from the test's own job,
// sample, failover and resolution lists; means and 95 % intervals over the repetitions with t
// taken from a printed t table; utilization weighted by capacity; the grouping per experiment ×
// policy × sweep point (a transport sweep gives two rows), --by merging, only the newest
// completed run of a key counted, interrupted runs and runs without jobs said in the notes;
// errors for unknown experiments, metrics and parameters; CSV and JSON parsed back; the
// closing table on the same rows; the read-only open of `rsplab report` / `rsplab query`.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "results/report.hpp"
#include "results/store.hpp"
#include "results/summary.hpp"
#include "stack/common/split.hpp"
#include "tests/results/support.hpp"

namespace rsplab::results {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::kSecond;
using testing::kStart;
using testing::TempDir;
using common::split;

// t(0.975, df) from a printed Student t table (two-sided 95 %, six decimals).
const std::map<std::int64_t, double> kPrintedT = {
    {1, 12.706205}, {2, 4.302653}, {3, 3.182446}, {4, 2.776445}};

constexpr double kWarmup = 10, kDuration = 40;  // seconds: the window is [10 s, 50 s]

json line(const std::string& component, const std::string& id, double at_s,
          const std::string& event, json fields) {
  return testing::event_line(component, id, testing::us(at_s), event, fields);
}

// What the test puts into one run, in seconds and calculations.
struct Job {
  double size, queued, queuing, startup, processing;
  bool completed = true;
  double handling() const { return queuing + startup + processing; }
  double done() const { return queued + handling(); }
  bool measured() const { return completed && done() >= kWarmup && done() <= kWarmup + kDuration; }
};
struct Sample {
  int pe;  // 0: capacity 1e6, 1: capacity 3e6
  double at, calculations, offered;
};
struct Failover {
  double at, detection;
  std::int64_t lost;
  std::optional<std::int64_t> lost_exact;
};
struct RunSpec {
  std::string policy, ratio, transport = "tcp";
  std::size_t repetition = 0;
  std::vector<Job> jobs;
  std::vector<Sample> samples;
  std::vector<Failover> failovers;
  std::vector<double> resolutions, rejects;  // when
  std::string status = "completed";
  std::string reason;
};

bool in_window(double t) { return t >= kWarmup && t <= kWarmup + kDuration; }

// A typical run, varied by k: two measured jobs, one in the warm-up, one unfinished; usage
// samples of both PEs in and out of the window; two failovers in the window (one with an exact
// loss) and one in the warm-up; three resolutions and two REJECTs in the window, one of each
// before it.
RunSpec typical(const std::string& policy, const std::string& ratio, std::size_t rep, double k) {
  RunSpec r;
  r.policy = policy;
  r.ratio = ratio;
  r.repetition = rep;
  r.jobs = {{1e6 * (k + 1), 12, 0.5, 0.25, 2 + 0.25 * k},
            {2e6, 20, 0.1 * k, 0.5, 1 + 0.5 * k},
            {5e6, 2, 1, 1, 2},                            // done at 6 s: warm-up
            {3e6, 45, 1, 0, 0, false}};                   // unfinished
  r.samples = {{0, 20, 4e5 + 1e5 * k, 1e6}, {1, 20, 2.7e6, 3e6}, {0, 40, 9e5, 1e6},
               {1, 40, 1.5e6 - 5e4 * k, 3e6}, {0, 5, 1e6, 1e6}, {1, 55, 0, 3e6}};
  r.failovers = {{30, 0.5, 100, 300}, {35, 1.5 + 0.1 * k, 50, std::nullopt}, {5, 9, 7, 7}};
  r.resolutions = {11, 12, 30 + k, 3};
  r.rejects = {15, 16, 4};
  return r;
}

// ---- the metrics, computed here from the spec ------------------------------------------------

std::map<std::string, std::optional<double>> expected(const RunSpec& r) {
  std::map<std::string, std::optional<double>> m;
  double size = 0, handling = 0, queuing = 0, startup = 0, processing = 0, jobs = 0, unfinished = 0;
  for (const Job& j : r.jobs) {
    unfinished += j.completed ? 0 : 1;
    if (!j.measured()) continue;
    ++jobs;
    size += j.size;
    handling += j.handling();
    queuing += j.queuing;
    startup += j.startup;
    processing += j.processing;
  }
  const auto mean = [&](double sum) { return jobs > 0 ? std::optional(sum / jobs) : std::nullopt; };
  m["handling_speed"] = jobs > 0 ? std::optional(size / handling) : std::nullopt;
  // The mean capacity of the PEs: 1e6 and 3e6 (the restarted PE counts once).
  m["handling_speed_pct"] = jobs > 0 ? std::optional(100 * size / handling / 2e6) : std::nullopt;
  m["handling_time"] = mean(handling);
  m["queuing_delay"] = mean(queuing);
  m["startup_delay"] = mean(startup);
  m["processing_time"] = mean(processing);
  double calculations = 0, offered = 0;
  for (const Sample& s : r.samples)
    if (s.at > kWarmup && s.at <= kWarmup + kDuration) {
      calculations += s.calculations;
      offered += s.offered;
    }
  m["utilization"] = offered > 0 ? std::optional(100 * calculations / offered) : std::nullopt;
  m["jobs_completed"] = jobs;
  m["jobs_unfinished"] = unfinished;
  double rejects = 0, resolutions = 0, failovers = 0, detection = 0, lost = 0, exact = 0, known = 0;
  for (const double t : r.rejects) rejects += in_window(t) ? 1 : 0;
  for (const double t : r.resolutions) resolutions += in_window(t) ? 1 : 0;
  for (const Failover& f : r.failovers) {
    if (!in_window(f.at)) continue;
    ++failovers;
    detection += f.detection;
    lost += static_cast<double>(f.lost);
    if (f.lost_exact) {
      exact += static_cast<double>(*f.lost_exact);
      ++known;
    }
  }
  m["rejects"] = rejects;
  m["failovers"] = failovers;
  m["detection_delay"] = failovers > 0 ? std::optional(detection / failovers) : std::nullopt;
  m["lost_exact"] = known > 0 ? std::optional(exact) : std::nullopt;
  m["lost_lower_bound"] = lost;
  m["resolutions_per_job"] = jobs > 0 ? std::optional(resolutions / jobs) : std::nullopt;
  return m;
}

// Mean and half-width of the 95 % interval, from the textbook formulas.
struct Interval {
  std::size_t n = 0;
  double mean = 0, half = 0;
};
Interval interval(const std::vector<double>& x) {
  Interval i{x.size()};
  i.mean = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
  if (x.size() < 2) return i;
  double ss = 0;
  for (const double v : x) ss += (v - i.mean) * (v - i.mean);
  const double sd = std::sqrt(ss / static_cast<double>(x.size() - 1));
  i.half = kPrintedT.at(static_cast<std::int64_t>(x.size()) - 1) * sd / std::sqrt(static_cast<double>(x.size()));
  return i;
}

// ---- the database ------------------------------------------------------------------------------

class ReportTest : public ::testing::Test {
 protected:
  std::int64_t experiment(const std::string& name) {
    return store_.add_experiment({name, "experiments/" + name + ".yaml",
                                  json{{"name", name}, {"duration", "40s"}}, "0.1.0", "host", "kernel"});
  }

  // Stores the run of `spec` as the runner would; its id.
  std::int64_t add(std::int64_t experiment_id, const RunSpec& spec, std::size_t idx,
                   std::map<std::string, std::string> parameters) {
    RunInfo info;
    info.experiment_id = experiment_id;
    info.index = idx;
    info.parameters = std::move(parameters);
    info.key = json(info.parameters).dump() + "#" + std::to_string(spec.repetition);
    info.repetition = spec.repetition;
    info.transport = spec.transport;
    info.resolved = json::object();
    info.start_unix_us = kStart;
    info.warmup_us = static_cast<std::int64_t>(kWarmup * kSecond);
    info.duration_us = static_cast<std::int64_t>(kDuration * kSecond);
    const auto run = store_.begin_run(info);
    const std::int64_t pe[2] = {
        store_.add_component(run, {"Calc/pe0#0", "pe", "a", "0x00000100", {}, "Calc", spec.policy, 1e6}),
        store_.add_component(run, {"Calc/pe1#0", "pe", "b", "0x00000101", {}, "Calc", spec.policy, 3e6})};
    // The second PE restarted under a new identity: a second row of the same name.
    store_.add_component(run, {"Calc/pe1#0", "pe", "b", "0x00000102", {}, "Calc", spec.policy, 3e6});
    const auto pu = store_.add_component(run, {"Calc/pu0#0", "pu", "a", "pu-1", {}, "Calc", "", 0});
    add_jobs(run, pu, spec);
    for (const Sample& s : spec.samples)
      store_.add_event(run, pe[s.pe], line("pe", "x", s.at, "usage",
                                           {{"calculations", s.calculations}, {"offered", s.offered},
                                            {"utilization", s.calculations / s.offered}}));
    for (const double t : spec.rejects)
      store_.add_event(run, pe[0], line("pe", "0x00000100", t, "job_rejected",
                                        {{"session", 1}, {"job", 9}, {"size", 5}, {"jobs", 4}}));
    for (const double t : spec.resolutions)
      store_.add_event(run, pu, line("pu", "pu-1", t, "handle_resolution",
                                     {{"pool", "Calc"}, {"registrar", 0}, {"cached", false},
                                      {"latency_us", 800}, {"pes", {"0x00000100"}}}));
    add_failovers(run, pu, spec);
    store_.add_check(run, {"registered_capacity", "ok", 1, "check registered capacity: ok", {}});
    if (spec.status != "running")
      store_.end_run(run, spec.status, kStart + 60 * kSecond, spec.reason);
    set_exact_losses(run, spec);
    return run;
  }

  void add_jobs(std::int64_t run, std::int64_t pu, const RunSpec& spec) {
    const auto at = [](double s) { return kStart + static_cast<std::int64_t>(std::llround(s * kSecond)); };
    const auto us = [](double s) { return static_cast<std::int64_t>(std::llround(s * kSecond)); };
    std::int64_t n = 0;
    for (const Job& j : spec.jobs) {
      const bool done = j.completed;
      store_.add_event(
          run, pu,
          line("pu", "pu-1", done ? j.done() : kWarmup + kDuration, "job",
               {{"job", ++n}, {"size", static_cast<std::int64_t>(j.size)},
                {"status", done ? "completed" : "unfinished"}, {"queued_us", at(j.queued)},
                {"started_us", at(j.queued + j.queuing)},
                {"accepted_us", done ? json(at(j.queued + j.queuing + j.startup)) : json(nullptr)},
                {"completed_us", done ? json(at(j.done())) : json(nullptr)}, {"pe", "0x00000100"},
                {"rejects", 0}, {"failovers", 0}, {"queuing_delay_us", us(j.queuing)},
                {"startup_delay_us", done ? json(us(j.startup)) : json(nullptr)},
                {"processing_us", done ? json(us(j.processing)) : json(nullptr)},
                {"handling_us", done ? json(us(j.handling())) : json(nullptr)},
                {"handling_speed", done ? json(j.size / j.handling()) : json(nullptr)}}));
    }
  }

  void add_failovers(std::int64_t run, std::int64_t pu, const RunSpec& spec) {
    for (const Failover& f : spec.failovers)
      store_.add_event(run, pu, line("pu", "pu-1", f.at, "failover",
                                     {{"job", 1}, {"from_pe", "0x00000100"}, {"cause", "connection_lost"},
                                      {"detection_delay_us", static_cast<std::int64_t>(std::llround(f.detection * kSecond))},
                                      {"to_pe", "0x00000101"}, {"cookie", false}, {"resumed", 0},
                                      {"lost", f.lost}, {"attempts", 1}}));
  }

  // end_run links exact losses from the PEs' progress; these failovers carry them directly.
  void set_exact_losses(std::int64_t run, const RunSpec& spec) {
    store_.flush();
    for (const Failover& f : spec.failovers)
      if (f.lost_exact)
        store_.select("UPDATE failovers SET lost_exact = ?1 WHERE run_id = ?2 AND time_us = ?3",
                      {*f.lost_exact, run, static_cast<std::int64_t>(std::llround(f.at * kSecond))});
  }

  // The sweep experiment: policy × ratio, repetitions as below. Returns its id.
  std::int64_t sweep() {
    const auto e = experiment("sweep");
    std::size_t idx = 0;
    const auto put = [&](const RunSpec& s) {
      specs_.push_back(s);
      ids_.push_back(add(e, s, idx++, {{"policy", s.policy}, {"ratio", s.ratio}}));
    };
    for (std::size_t rep = 0; rep < 3; ++rep) put(typical("lu", "1", rep, static_cast<double>(rep)));
    put(typical("lu", "3", 0, 5));
    RunSpec idle = typical("lu", "3", 1, 6);  // no job completed in its window
    idle.jobs = {{5e6, 2, 1, 1, 2}, {3e6, 45, 1, 0, 0, false}};
    idle.failovers.clear();
    put(idle);
    RunSpec stopped = typical("lu", "3", 2, 7);
    stopped.status = "interrupted";
    stopped.reason = "SIGINT";
    put(stopped);
    RunSpec failed = typical("rr", "1", 0, 8);  // a failed attempt, then the rerun completed
    failed.status = "failed";
    failed.reason = "a PE died";
    put(failed);
    put(typical("rr", "1", 0, 9));
    put(typical("rr", "3", 0, 10));  // an older completed row of the key ...
    put(typical("rr", "3", 0, 11));  // ... and the newest, which counts
    store_.flush();
    return e;
  }

  // The expected per-run values of the runs at `positions` of specs_.
  std::vector<double> values(const std::vector<std::size_t>& positions, const std::string& metric) {
    std::vector<double> out;
    for (const auto p : positions)
      if (const auto v = expected(specs_[p]).at(metric)) out.push_back(*v);
    return out;
  }

  static const ReportRow& row(const Report& r, const std::string& policy,
                              const std::map<std::string, std::string>& point) {
    for (const auto& x : r.rows)
      if (x.policy == policy && x.point == point) return x;
    throw std::runtime_error("no row " + policy);
  }

  TempDir dir_;
  std::string path_ = dir_.file("results.sqlite");
  Store store_ = Store::open(path_);
  std::vector<RunSpec> specs_;
  std::vector<std::int64_t> ids_;
};

void expect_estimate(const Estimate& e, const std::vector<double>& sample, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(e.n, static_cast<std::int64_t>(sample.size()));
  if (sample.empty()) {
    EXPECT_FALSE(e.mean);
    return;
  }
  const Interval i = interval(sample);
  ASSERT_TRUE(e.mean);
  EXPECT_NEAR(*e.mean, i.mean, 1e-9 * std::max(1.0, std::abs(i.mean)));
  if (sample.size() < 2) {
    EXPECT_FALSE(e.half_width);
    return;
  }
  ASSERT_TRUE(e.half_width);
  // The printed t has 7 significant digits.
  EXPECT_NEAR(*e.half_width, i.half, 1e-6 * i.half + 1e-12);
}

// ---- per run -------------------------------------------------------------------------------------

TEST_F(ReportTest, EveryPerRunMetricMatchesTheSpec) {
  sweep();
  const auto runs = run_metrics(store_, ids_);
  ASSERT_EQ(runs.size(), ids_.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    SCOPED_TRACE("run " + std::to_string(ids_[i]));
    const auto want = expected(specs_[i]);
    ASSERT_EQ(runs[i].values.size(), metrics().size());
    for (const auto& [name, value] : want) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(runs[i].values.count(name));
      const auto got = runs[i].values.at(name);
      ASSERT_EQ(got.has_value(), value.has_value());
      if (value) {
        EXPECT_NEAR(*got, *value, 1e-9 * std::max(1.0, std::abs(*value)));
      }
    }
    EXPECT_EQ(runs[i].policy, specs_[i].policy);
    EXPECT_EQ(runs[i].parameters, (std::map<std::string, std::string>{{"ratio", specs_[i].ratio}}));
    EXPECT_EQ(runs[i].status, specs_[i].status);
    EXPECT_EQ(runs[i].checks, 1);
  }
  // Spot checks by hand: run 0 (k = 0). Jobs of 1e6 in 2.75 s and 2e6 in 1.5 s.
  EXPECT_DOUBLE_EQ(*runs[0].values.at("handling_speed"), 3e6 / 4.25);
  EXPECT_DOUBLE_EQ(*runs[0].values.at("handling_speed_pct"), 100 * 3e6 / 4.25 / 2e6);
  // Capacity-weighted: (4e5 + 2.7e6 + 9e5 + 1.5e6) / (1e6 + 3e6 + 1e6 + 3e6) = 68.75 %, not the
  // mean of the PEs' own utilizations ((65 % + 70 %) / 2 = 67.5 %).
  EXPECT_DOUBLE_EQ(*runs[0].values.at("utilization"), 68.75);
  EXPECT_EQ(runs[0].values.at("lost_exact"), 300);
  EXPECT_EQ(runs[0].values.at("lost_lower_bound"), 150);
  EXPECT_DOUBLE_EQ(*runs[0].values.at("resolutions_per_job"), 1.5);
  // The run without completed jobs: no speed, no times, but counts of 0.
  EXPECT_FALSE(runs[4].values.at("handling_speed"));
  EXPECT_FALSE(runs[4].values.at("detection_delay"));
  EXPECT_FALSE(runs[4].values.at("lost_exact"));
  EXPECT_EQ(runs[4].values.at("jobs_completed"), 0);
  EXPECT_EQ(runs[4].values.at("lost_lower_bound"), 0);
  // Unknown ids are skipped; the order is the caller's.
  const auto two = run_metrics(store_, {ids_[3], 9999, ids_[1]});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].run_id, ids_[3]);
  EXPECT_EQ(two[1].run_id, ids_[1]);
}

// ---- rows --------------------------------------------------------------------------------------

TEST_F(ReportTest, RowsPerPolicyAndSweepPointWithStudentIntervals) {
  sweep();
  const Report report = build_report(store_, {});
  ASSERT_EQ(report.experiments.size(), 1u);
  EXPECT_EQ(report.experiments[0].swept, std::vector<std::string>{"ratio"});
  EXPECT_EQ(report.metrics.size(), metrics().size());
  ASSERT_EQ(report.rows.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> order = {
      {"lu", "1"}, {"lu", "3"}, {"rr", "1"}, {"rr", "3"}};
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(report.rows[i].policy, order[i].first);
    EXPECT_EQ(report.rows[i].point.at("ratio"), order[i].second);
  }
  const std::map<std::string, std::vector<std::size_t>> counted = {
      {"lu1", {0, 1, 2}}, {"lu3", {3, 4}}, {"rr1", {7}}, {"rr3", {9}}};
  for (const auto& r : report.rows) {
    const auto& positions = counted.at(r.policy + r.point.at("ratio"));
    std::vector<std::int64_t> ids;
    for (const auto p : positions) ids.push_back(ids_[p]);
    EXPECT_EQ(r.run_ids, ids) << r.policy;
    for (const auto& m : metrics())
      expect_estimate(r.estimates.at(m.name), values(positions, m.name),
                      r.policy + " ratio=" + r.point.at("ratio") + " " + m.name);
  }
  // Three repetitions: t(0.975, 2) = 4.303 from the table.
  const auto& lu1 = row(report, "lu", {{"ratio", "1"}}).estimates.at("handling_speed");
  const Interval want = interval(values({0, 1, 2}, "handling_speed"));
  EXPECT_NEAR(*lu1.low(), want.mean - want.half, 1e-3 * want.half);
  EXPECT_NEAR(*lu1.high(), want.mean + want.half, 1e-3 * want.half);
  // The run without jobs counts for the counts, not for the speed.
  const auto& lu3 = row(report, "lu", {{"ratio", "3"}});
  EXPECT_EQ(lu3.estimates.at("handling_speed").n, 1);
  EXPECT_EQ(lu3.estimates.at("jobs_completed").n, 2);
  EXPECT_EQ(lu3.not_completed, 1);
  std::string notes;
  for (const auto& n : lu3.notes) notes += n + "\n";
  EXPECT_NE(notes.find("run " + std::to_string(ids_[4]) + " (repetition 1): no completed jobs"), std::string::npos) << notes;
  EXPECT_NE(notes.find("run " + std::to_string(ids_[5]) + " (repetition 2) interrupted (SIGINT): not counted"), std::string::npos) << notes;
  // The failed attempt of a key that completed later is history, not "not completed".
  EXPECT_EQ(row(report, "rr", {{"ratio", "1"}}).not_completed, 0);
}

// A run with jobs but no failover has no detection delay: its n is one less, and the notes
// say which run; the run without jobs is explained once, by its own note.
TEST_F(ReportTest, NotesNameTheRunsWithoutAValueOfAMetric) {
  const auto e = experiment("gap");
  add(e, typical("lu", "", 0, 0), 0, {{"policy", "lu"}});
  RunSpec quiet = typical("lu", "", 1, 1);
  quiet.failovers.clear();
  const auto q = add(e, quiet, 1, {{"policy", "lu"}});
  store_.flush();
  const Report report = build_report(store_, {});
  ASSERT_EQ(report.rows.size(), 1u);
  const ReportRow& row = report.rows[0];
  EXPECT_EQ(row.estimates.at("detection_delay").n, 1);
  EXPECT_EQ(row.estimates.at("failovers").n, 2);
  const std::string name = "run " + std::to_string(q) + " (repetition 1)";
  EXPECT_EQ(row.notes, (std::vector<std::string>{"detection delay: no value in " + name,
                                                 "work lost, exact: no value in " + name}));
}

TEST_F(ReportTest, ByMergesSweepPointsAndErrorsNameWhatExists) {
  sweep();
  ReportOptions options;
  options.by = std::vector<std::string>{};  // by policy only
  options.metrics = {"handling_speed", "utilization"};
  const Report merged = build_report(store_, options);
  ASSERT_EQ(merged.rows.size(), 2u);
  EXPECT_EQ(merged.metrics, (std::vector<std::string>{"handling_speed", "utilization"}));
  EXPECT_EQ(merged.rows[0].point, (std::map<std::string, std::string>{}));
  EXPECT_EQ(merged.rows[0].run_ids.size(), 5u);
  EXPECT_EQ(merged.rows[0].not_completed, 1);
  expect_estimate(merged.rows[0].estimates.at("handling_speed"), values({0, 1, 2, 3, 4}, "handling_speed"), "lu merged");
  expect_estimate(merged.rows[1].estimates.at("utilization"), values({7, 9}, "utilization"), "rr merged");
  EXPECT_EQ(merged.rows[0].estimates.count("failovers"), 0u);

  options.by = std::vector<std::string>{"ratio", "policy"};  // policy: always a dimension
  EXPECT_EQ(build_report(store_, options).rows.size(), 4u);

  const auto error = [&](ReportOptions o) {
    try {
      build_report(store_, o);
    } catch (const ReportError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ReportOptions bad;
  bad.experiment = "nope";
  EXPECT_EQ(error(bad), "no experiment 'nope' in this file (experiments: sweep (id 1))");
  bad = {};
  bad.metrics = {"speed"};
  EXPECT_NE(error(bad).find("unknown metric 'speed' (metrics: handling_speed, handling_speed_pct,"), std::string::npos);
  bad = {};
  bad.by = std::vector<std::string>{"load"};
  EXPECT_EQ(error(bad), "--by: 'load' is not a swept parameter (swept: ratio)");
  bad = {};
  bad.experiment = "1";  // by id
  EXPECT_EQ(build_report(store_, bad).rows.size(), 4u);
}

// The issue: a sweep over transport was merged into one row by the closing table.
TEST_F(ReportTest, ATransportSweepGivesARowPerTransportHereAndInTheClosingTable) {
  const auto e = experiment("transports");
  std::vector<std::int64_t> ids;
  for (const char* transport : {"sctp", "tcp"}) {
    RunSpec s = typical("lu", "", 0, transport == std::string("tcp") ? 1 : 0);
    s.transport = transport;
    ids.push_back(add(e, s, ids.size(), {{"policy", "lu"}, {"transport", transport}}));
  }
  store_.flush();
  const Report report = build_report(store_, {});
  ASSERT_EQ(report.rows.size(), 2u);
  EXPECT_EQ(report.rows[0].point, (std::map<std::string, std::string>{{"transport", "sctp"}}));
  EXPECT_EQ(report.rows[1].point, (std::map<std::string, std::string>{{"transport", "tcp"}}));
  const auto rows = summarize(store_, ids);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].point, "transport=sctp");
  EXPECT_EQ(rows[1].point, "transport=tcp");
  EXPECT_EQ(rows[0].runs, 1);
}

// The closing table: the report's rows, totals of the counts, intervals with repetitions.
TEST_F(ReportTest, ClosingTableShowsIntervalsWhenARowHasRepetitions) {
  sweep();
  const auto rows = summarize(store_, {ids_[0], ids_[1], ids_[2], ids_[7]});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].runs, 3);
  double jobs = 0;
  for (const std::size_t p : {0, 1, 2}) jobs += *expected(specs_[p]).at("jobs_completed");
  EXPECT_EQ(rows[0].jobs_completed, static_cast<std::int64_t>(jobs));
  expect_estimate(rows[0].handling_speed, values({0, 1, 2}, "handling_speed"), "lu speed");
  expect_estimate(rows[0].utilization, values({0, 1, 2}, "utilization"), "lu utilization");
  const Interval speed = interval(values({0, 1, 2}, "handling_speed"));
  const Interval use = interval(values({0, 1, 2}, "utilization"));
  char cell[128];
  std::snprintf(cell, sizeof cell, "%.0f ± %.0f", speed.mean, speed.half);
  const std::string table = summary_table(rows);
  EXPECT_NE(table.find(cell), std::string::npos) << cell << "\n" << table;
  std::snprintf(cell, sizeof cell, "%.1f ± %.1f %%", use.mean, use.half);
  EXPECT_NE(table.find(cell), std::string::npos) << cell << "\n" << table;
  // The one-run row has no interval.
  const std::string rr = table.substr(table.find("\nrr"), table.find('\n', table.find("\nrr") + 1) - table.find("\nrr"));
  EXPECT_EQ(rr.find("±"), std::string::npos) << table;
  EXPECT_EQ(table.find("nan"), std::string::npos) << table;
}

// ---- text, CSV, JSON ---------------------------------------------------------------------------

TEST_F(ReportTest, TextSaysMeanHalfWidthAndNAndTheNotes) {
  sweep();
  experiment("empty");  // an experiment without runs
  const std::string text = report_text(build_report(store_, {}));
  const Interval speed = interval(values({0, 1, 2}, "handling_speed"));
  char cell[128];
  std::snprintf(cell, sizeof cell, "%.0f ± %.0f (n = 3)", speed.mean, speed.half);
  EXPECT_NE(text.find(cell), std::string::npos) << cell << "\n" << text;
  EXPECT_NE(text.find("handling speed (calculations/s)"), std::string::npos) << text;
  EXPECT_NE(text.find("utilization (%)"), std::string::npos) << text;
  EXPECT_NE(text.find("sweep point"), std::string::npos) << text;
  EXPECT_NE(text.find("ratio=3"), std::string::npos) << text;
  const double rr1 = *expected(specs_[7]).at("handling_speed");
  std::snprintf(cell, sizeof cell, "%.0f (n = 1)", rr1);
  EXPECT_NE(text.find(cell), std::string::npos) << cell << "\n" << text;
  EXPECT_NE(text.find("notes:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("interrupted (SIGINT): not counted"), std::string::npos) << text;
  EXPECT_NE(text.find("experiment empty (id 2, experiments/empty.yaml): no runs"), std::string::npos) << text;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
  EXPECT_EQ(text.find("inf"), std::string::npos) << text;
}

TEST_F(ReportTest, CsvAndJsonReadBackToTheSameNumbers) {
  sweep();
  const Report report = build_report(store_, {});
  const auto lines = split(report_csv(report), '\n');
  ASSERT_EQ(lines[0], "experiment,policy,ratio,metric,n,mean,ci_low,ci_high,sd,min,max");
  ASSERT_EQ(lines.size(), 1 + report.rows.size() * metrics().size() + 1);  // and the final ""
  const Interval speed = interval(values({0, 1, 2}, "handling_speed"));
  bool seen = false;
  for (const auto& l : lines) {
    const auto f = split(l, ',');
    if (f.size() != 11 || f[1] != "lu" || f[2] != "1" || f[3] != "handling_speed") continue;
    seen = true;
    EXPECT_EQ(f[0], "sweep");
    EXPECT_EQ(f[4], "3");
    EXPECT_NEAR(std::stod(f[5]), speed.mean, 1e-9 * speed.mean);
    EXPECT_NEAR(std::stod(f[6]), speed.mean - speed.half, 1e-3 * speed.half);
    EXPECT_NEAR(std::stod(f[7]), speed.mean + speed.half, 1e-3 * speed.half);
  }
  EXPECT_TRUE(seen);
  // A value that does not exist is an empty field: rr ratio=1 has n = 1, no interval.
  for (const auto& l : lines) {
    if (l.rfind("sweep,rr,1,handling_speed,", 0) == 0) {
      EXPECT_EQ(split(l, ',')[6], "") << l;
    }
  }

  const json j = json::parse(report_json(report));
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["experiments"][0]["name"], "sweep");
  EXPECT_EQ(j["experiments"][0]["swept"], json::array({"ratio"}));
  EXPECT_EQ(j["metrics"][0]["name"], "handling_speed");
  EXPECT_EQ(j["metrics"][0]["unit"], "calculations/s");
  const json& lu1 = j["rows"][0];
  EXPECT_EQ(lu1["policy"], "lu");
  EXPECT_EQ(lu1["point"]["ratio"], "1");
  EXPECT_EQ(lu1["run_ids"], json(std::vector<std::int64_t>{ids_[0], ids_[1], ids_[2]}));
  EXPECT_EQ(lu1["estimates"]["handling_speed"]["n"], 3);
  EXPECT_NEAR(lu1["estimates"]["handling_speed"]["mean"].get<double>(), speed.mean, 1e-9 * speed.mean);
  EXPECT_NEAR(lu1["estimates"]["handling_speed"]["half_width"].get<double>(), speed.half, 2e-4 * speed.half);
  EXPECT_TRUE(j["rows"][2]["estimates"]["handling_speed"]["half_width"].is_null());
  EXPECT_EQ(j["rows"][1]["not_completed"], 1);
}

// An experiment whose only run was interrupted: a row without runs, "-" and a note.
TEST_F(ReportTest, AnExperimentWithoutACompletedRunSaysSo) {
  RunSpec s = typical("lu", "", 0, 0);
  s.status = "interrupted";
  s.reason = "runner died";
  const auto run = add(experiment("cut"), s, 0, {{"policy", "lu"}});
  store_.flush();
  const Report report = build_report(store_, {});
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_TRUE(report.rows[0].run_ids.empty());
  EXPECT_EQ(report.rows[0].not_completed, 1);
  EXPECT_EQ(report.rows[0].estimates.at("handling_speed").n, 0);
  EXPECT_EQ(report.rows[0].notes,
            (std::vector<std::string>{"no completed run", "run " + std::to_string(run) +
                                          " (repetition 0) interrupted (runner died): not counted"}));
  const std::string text = report_text(report);
  const auto at = text.find("\nhandling speed (calculations/s) ");
  ASSERT_NE(at, std::string::npos) << text;
  const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  EXPECT_EQ(line.substr(line.find_last_not_of(' ') ), "-") << line;
  EXPECT_EQ(line.find_first_not_of(' ', std::string("handling speed (calculations/s)").size()), line.size() - 1) << line;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
  const std::string csv = report_csv(report);
  EXPECT_NE(csv.find("\ncut,lu,handling_speed,0,,,,,,\n"), std::string::npos) << csv;
}

TEST_F(ReportTest, AFileWithoutExperimentsIsAnEmptyReport) {
  const Report report = build_report(store_, {});
  EXPECT_TRUE(report.rows.empty());
  EXPECT_EQ(report_text(report), "no experiments in this file\n");
  EXPECT_EQ(report_csv(report), "experiment,policy,metric,n,mean,ci_low,ci_high,sd,min,max\n");
  EXPECT_EQ(json::parse(report_json(report))["rows"], json::array());
}

// ---- reading only --------------------------------------------------------------------------------

TEST(ReadOnly, NeverCreatesWritesOrMigratesAFile) {
  TempDir dir;
  const std::string missing = dir.file("missing.db");
  EXPECT_THROW(Store::open_read_only(missing), StoreError);
  EXPECT_FALSE(fs::exists(missing));
  const std::string empty = dir.file("empty.db");
  std::ofstream(empty).close();
  try {
    Store::open_read_only(empty);
    ADD_FAILURE() << "an empty file opened";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("is empty: not an RSerPool Lab results database"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fs::file_size(empty), 0u);
  const std::string other = dir.file("other.db");
  sqlite3* db = nullptr;
  sqlite3_open(other.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_THROW(Store::open_read_only(other), StoreError);

  const std::string ours = dir.file("ours.db");
  Store::open(ours).add_experiment({"x", "x.yaml", json::object(), "0.1.0", "h", "k"});
  Store store = Store::open_read_only(ours);
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
  const Table t = store.table("SELECT id, name, NULL AS none, 1.5 AS half FROM experiments;  -- done\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"id", "name", "none", "half"}));
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], (Values{std::int64_t{1}, std::string("x"), nullptr, 1.5}));
  for (const char* write : {"DELETE FROM experiments", "CREATE TABLE y (z)", "PRAGMA user_version = 9"})
    EXPECT_THROW(store.table(write), StoreError) << write;
  EXPECT_THROW(store.table("SELECT 1; SELECT 2"), StoreError);
  EXPECT_THROW(store.table("SELECT * FROM nowhere"), StoreError);
  EXPECT_EQ(store.table("SELECT count(*) FROM experiments").rows[0][0], Value(std::int64_t{1}));
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
}

}  // namespace
}  // namespace rsplab::results
