// `rsplab report` and `rsplab query` as users run them: the real binary (RSPLAB_BIN) on a
// results database built here through the Store API. Text, CSV, JSON and -o FILE; exit
// status 2 with a clear message for a missing, empty or foreign file (never created or
// changed), unknown experiments, metrics and parameters, SQL errors and writes; a query
// never migrates an older file, a report migrates it (and says so).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agents/command.hpp"
#include "results/store.hpp"
#include "tests/results/support.hpp"

namespace {

namespace fs = std::filesystem;
namespace r = rsplab::results;
using json = nlohmann::json;
using r::testing::kSecond;
using r::testing::kStart;

rsplab::agents::CommandResult rsplab(std::vector<std::string> args) {
  args.insert(args.begin(), RSPLAB_BIN);
  return rsplab::agents::run_command(args);
}

json line(double at_s, const std::string& event, json fields) {
  return r::testing::event_line("pu", "pu-1", r::testing::us(at_s), event, fields);
}

// A completed job queued at `queued` s, handled in `handling` s.
json job(std::int64_t n, std::int64_t size, double queued, double handling) {
  const auto at = [](double s) { return kStart + static_cast<std::int64_t>(s * kSecond); };
  const auto us = static_cast<std::int64_t>(handling * kSecond);
  return line(queued + handling, "job",
              {{"job", n}, {"size", size}, {"status", "completed"}, {"queued_us", at(queued)},
               {"started_us", at(queued)}, {"accepted_us", at(queued)},
               {"completed_us", at(queued + handling)}, {"pe", "0x00000100"}, {"rejects", 0},
               {"failovers", 0}, {"queuing_delay_us", 0}, {"startup_delay_us", 0},
               {"processing_us", us}, {"handling_us", us},
               {"handling_speed", static_cast<double>(size) / handling}});
}

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    r::Store store = r::Store::open(db_);
    const auto e = store.add_experiment({"demo", "demo.yaml", json{{"name", "demo"}}, "0.1.0", "h", "k"});
    // lu: two repetitions, 2e6 in 2 s (1e6/s) and 3e6 in 2 s (1.5e6/s); rr: one, interrupted.
    const std::vector<std::tuple<std::string, std::size_t, std::int64_t, std::string>> runs = {
        {"lu", 0, 2'000'000, "completed"}, {"lu", 1, 3'000'000, "completed"},
        {"rr", 0, 1'000'000, "interrupted"}};
    std::size_t idx = 0;
    for (const auto& [policy, rep, size, status] : runs) {
      r::RunInfo info;
      info.experiment_id = e;
      info.index = idx++;
      info.key = policy + std::to_string(rep);
      info.parameters = {{"policy", policy}};
      info.repetition = rep;
      info.transport = "tcp";
      info.resolved = json::object();
      info.start_unix_us = kStart;
      info.warmup_us = kSecond;
      info.duration_us = 10 * kSecond;
      const auto run = store.begin_run(info);
      const auto pu = store.add_component(run, {"P/pu0#0", "pu", "a", "pu-1", {}, "P", "", 0});
      store.add_event(run, pu, job(1, size, 3, 2));
      store.end_run(run, status, kStart + 12 * kSecond, status == "completed" ? "" : "SIGINT");
    }
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  r::testing::TempDir dir_;
  std::string db_ = dir_.file("results.db");
};

TEST_F(ReportCommand, TextTableWithIntervalsUnitsAndNotes) {
  const auto out = rsplab({"report", db_});
  ASSERT_EQ(out.status, 0) << out.err;
  EXPECT_NE(out.out.find("experiment demo (id 1, demo.yaml)"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("handling speed (calculations/s)"), std::string::npos) << out.out;
  // Mean 1.25e6, s = √(2 · 0.25e6²) = 353553.39, t(0.975, 1) = 12.706205 (printed table).
  const double half = 12.706205 * std::sqrt(2 * 0.25e6 * 0.25e6) / std::sqrt(2.0);
  char cell[64];
  std::snprintf(cell, sizeof cell, "1250000 ± %.0f (n = 2)", half);
  EXPECT_NE(out.out.find(cell), std::string::npos) << cell << "\n" << out.out;
  EXPECT_NE(out.out.find("rr: run 3 (repetition 0) interrupted (SIGINT): not counted"), std::string::npos) << out.out;
  EXPECT_EQ(out.out.find("nan"), std::string::npos) << out.out;
}

TEST_F(ReportCommand, CsvJsonAndOutputFile) {
  const auto csv = rsplab({"report", db_, "--csv", "--metric", "handling_speed,jobs_completed"});
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')), "experiment,policy,metric,n,mean,ci_low,ci_high,sd,min,max");
  EXPECT_NE(csv.out.find("\ndemo,lu,handling_speed,2,1250000,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("\ndemo,rr,jobs_completed,0,,,,,,\n"), std::string::npos) << csv.out;

  const auto js = rsplab({"report", db_, "--json", "--experiment", "demo"});
  ASSERT_EQ(js.status, 0) << js.err;
  const json j = json::parse(js.out);
  EXPECT_EQ(j["rows"][0]["policy"], "lu");
  EXPECT_DOUBLE_EQ(j["rows"][0]["estimates"]["handling_speed"]["mean"].get<double>(), 1.25e6);
  EXPECT_EQ(j["rows"][1]["not_completed"], 1);

  const std::string file = dir_.file("report.txt");
  const auto to_file = rsplab({"report", db_, "-o", file});
  ASSERT_EQ(to_file.status, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(slurp(file), rsplab({"report", db_}).out);
}

// --plot DIR and --html FILE: gnuplot's figures in DIR, each SVG embedded in the page; the
// table is then printed only where asked for; --html alone leaves no scratch directory.
TEST_F(ReportCommand, PlotsAndPageFromOneCommand) {
  if (rsplab::agents::find_tool("gnuplot").empty()) GTEST_SKIP() << "gnuplot is not installed";
  const std::string plots = dir_.file("plots"), page = dir_.file("report.html");
  const auto out = rsplab({"report", db_, "--plot", plots, "--html", page});
  ASSERT_EQ(out.status, 0) << out.err;
  std::size_t svgs = 0;
  for (const auto& f : fs::directory_iterator(plots)) svgs += f.path().extension() == ".svg";
  EXPECT_EQ(out.out, "plots: " + std::to_string(std::distance(fs::directory_iterator(plots),
                                                              fs::directory_iterator())) +
                         " files in " + plots + "\nhtml: " + page + "\n");
  // Handling speed against the policies (nothing else is swept); runs 1 and 2 (completed).
  for (const char* f : {"e1-handling_speed-vs-policy.svg", "e1-handling_speed-vs-policy.png",
                        "run1-timeline.svg", "run2-utilization.png", "e1-detection_delay.svg"})
    EXPECT_TRUE(fs::exists(plots + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(plots + "/run3-timeline.svg"));  // interrupted: not in the report
  const std::string html = slurp(page);
  std::size_t embedded = 0;
  for (auto at = html.find("data:image/svg+xml;base64,"); at != std::string::npos;
       at = html.find("data:image/svg+xml;base64,", at + 1))
    ++embedded;
  EXPECT_EQ(embedded, svgs);
  EXPECT_NE(html.find("Run 1: over time"), std::string::npos);

  const auto scratch = [] {
    std::size_t n = 0;
    for (const auto& f : fs::directory_iterator(fs::temp_directory_path()))
      n += f.path().filename().string().rfind("rsplab-report.", 0) == 0;
    return n;
  };
  const std::size_t before = scratch();
  const auto alone = rsplab({"report", db_, "--html", dir_.file("alone.html")});
  ASSERT_EQ(alone.status, 0) << alone.err;
  EXPECT_EQ(slurp(dir_.file("alone.html")).find("data:image/svg+xml;base64,") != std::string::npos,
            true);
  EXPECT_EQ(scratch(), before);
  // A page that cannot be written: exit 1, and the scratch directory is gone all the same.
  const auto unwritable = rsplab({"report", db_, "--html", dir_.file("no/such/dir/x.html")});
  EXPECT_EQ(unwritable.status, 1);
  EXPECT_NE(unwritable.err.find("rsplab report: html: "), std::string::npos) << unwritable.err;
  EXPECT_EQ(scratch(), before);

  const auto unknown = rsplab({"report", db_, "--plot", plots, "--run", "99"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("rsplab report: plots: "), std::string::npos) << unknown.err;
}

TEST_F(ReportCommand, BadInputIsAUsageErrorAndNoFileIsCreatedOrChanged) {
  const std::string missing = dir_.file("missing.db");
  auto out = rsplab({"report", missing});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("no such file"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_EQ(rsplab({"query", missing, "SELECT 1"}).status, 2);
  EXPECT_FALSE(fs::exists(missing));

  const std::string empty = dir_.file("empty.db");
  std::ofstream(empty).close();
  out = rsplab({"report", empty});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("is empty: not an RSerPool Lab results database"), std::string::npos) << out.err;
  EXPECT_EQ(fs::file_size(empty), 0u);

  const std::string other = dir_.file("other.db");
  sqlite3* db = nullptr;
  sqlite3_open(other.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  out = rsplab({"report", other});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("not an RSerPool Lab results database"), std::string::npos) << out.err;

  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--experiment", "other"}, "no experiment 'other' in this file (experiments: demo (id 1))"},
           {{"--metric", "speed"}, "unknown metric 'speed'"},
           {{"--by", "ratio"}, "--by: 'ratio' is not a swept parameter (nothing but policy is swept)"}}) {
    std::vector<std::string> a = {"report", db_};
    a.insert(a.end(), args.begin(), args.end());
    out = rsplab(a);
    EXPECT_EQ(out.status, 2) << message;
    EXPECT_NE(out.err.find(message), std::string::npos) << out.err;
  }
  EXPECT_EQ(rsplab({"report", db_, "--csv", "--json"}).status, 2);
}

TEST_F(ReportCommand, QueryPrintsTableCsvAndJson) {
  const std::string sql = "SELECT policy, repetition, handling_speed, reason FROM run_metrics ORDER BY run_id";
  auto out = rsplab({"query", db_, sql});
  ASSERT_EQ(out.status, 0) << out.err;
  EXPECT_EQ(out.out,
            "policy  repetition  handling_speed  reason\n"
            "------  ----------  --------------  ------\n"
            "lu               0         1000000  NULL\n"
            "lu               1         1500000  NULL\n"
            "rr               0          500000  SIGINT\n"
            "(3 rows)\n");
  out = rsplab({"query", db_, sql, "--csv"});
  ASSERT_EQ(out.status, 0) << out.err;
  EXPECT_EQ(out.out,
            "policy,repetition,handling_speed,reason\n"
            "lu,0,1000000,\n"
            "lu,1,1500000,\n"
            "rr,0,500000,SIGINT\n");
  out = rsplab({"query", db_, sql, "--json"});
  ASSERT_EQ(out.status, 0) << out.err;
  const json j = json::parse(out.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1]["handling_speed"], 1.5e6);
  EXPECT_TRUE(j[0]["reason"].is_null());
  EXPECT_EQ(j[2]["reason"], "SIGINT");
}

TEST_F(ReportCommand, QueryIsReadOnlyAndSaysWhatSqliteSays) {
  auto out = rsplab({"query", db_, "SELECT * FROM nowhere"});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("no such table: nowhere"), std::string::npos) << out.err;
  out = rsplab({"query", db_, "DELETE FROM runs"});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("readonly"), std::string::npos) << out.err;
  EXPECT_EQ(rsplab({"query", db_, "SELECT count(*) AS n FROM runs", "--csv"}).out, "n\n3\n");
  EXPECT_EQ(rsplab({"query", db_, "SELECT 1; DELETE FROM runs"}).status, 2);
  EXPECT_EQ(rsplab({"query", db_, "SELECT count(*) AS n FROM runs", "--csv"}).out, "n\n3\n");
}

// A file of the version before run_metrics: query reads it as it is, report migrates it.
TEST_F(ReportCommand, OlderFilesAreMigratedByReportNeverByQuery) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    // Version 5: before run_metrics (v6), until_ci (v7), echo_series (v8), the ENRP
    // tables (v10; v9 replaced views only) and what runs cost (v11).
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE processes; DROP TABLE run_resources;"
                           " DROP TABLE enrp_takeovers; DROP TABLE enrp_syncs; DROP TABLE pe_adoptions;"
                           " DROP TABLE echo_series; DROP TABLE until_ci; DROP VIEW run_metrics;"
                           " PRAGMA user_version = 5",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string version = "PRAGMA user_version";
  EXPECT_EQ(rsplab({"query", db_, "SELECT count(*) AS n FROM runs", "--csv"}).out, "n\n3\n");
  const std::string before = "5";
  EXPECT_EQ(rsplab({"query", db_, version, "--csv"}).out, "user_version\n" + before + "\n");
  const auto out = rsplab({"report", db_});
  EXPECT_EQ(out.status, 0) << out.err;
  EXPECT_NE(out.err.find("was of schema version " + before + ": migrated to " + std::to_string(r::kSchemaVersion)), std::string::npos) << out.err;
  EXPECT_EQ(rsplab({"query", db_, version, "--csv"}).out, "user_version\n" + std::to_string(r::kSchemaVersion) + "\n");
}

}  // namespace
