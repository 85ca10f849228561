// The results file read as an OMNeT++ 6 SQLite result file (schema v5, results/README.md
// "Read as an OMNeT++ result file"): every table of OMNeT++'s schema is a view with its
// documented columns in order; a file with known contents reads back through them as the
// test computes it independently; an empty file selects from every view without error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "results/store.hpp"
#include "tests/results/support.hpp"

namespace rsplab::results {
namespace {

using json = nlohmann::json;
using testing::kSecond;
using testing::kStart;
using testing::TempDir;

// OMNeT++ 6's SQLite result schema, written down from its definition: the CREATE TABLE
// statements of src/common/sqliteresultfileschema.cc in omnetpp/omnetpp (OMNeT++ 6.x, the
// file that SqliteScalarFileWriter and SqliteVectorFileWriter execute and that
// src/scave/sqliteresultfileloader.cc reads back). Each table's columns in order; the first
// `not_null` of them are declared NOT NULL there (the loader reads them as text or ids).
struct OmnetppTable {
  std::string name;
  std::vector<std::string> columns;
  std::size_t not_null;
};
const std::vector<OmnetppTable> kOmnetppSchema = {
    {"run", {"runId", "runName", "simtimeExp"}, 3},
    {"runAttr", {"runId", "attrName", "attrValue"}, 3},
    {"runItervar", {"runId", "itervarName", "itervarValue"}, 3},
    {"runConfig", {"runId", "configKey", "configValue", "configOrder"}, 4},
    {"scalar", {"scalarId", "runId", "moduleName", "scalarName", "scalarValue"}, 4},
    {"scalarAttr", {"scalarId", "attrName", "attrValue"}, 3},
    {"parameter", {"paramId", "runId", "moduleName", "paramName", "paramValue"}, 5},
    {"paramAttr", {"paramId", "attrName", "attrValue"}, 3},
    {"statistic",
     {"statId", "runId", "moduleName", "statName", "isHistogram", "isWeighted", "statCount",
      "statMean", "statStddev", "statSum", "statSqrsum", "statMin", "statMax", "statWeights",
      "statWeightedSum", "statSqrSumWeights", "statWeightedSqrSum"},
     7},
    {"statisticAttr", {"statId", "attrName", "attrValue"}, 3},
    {"histogramBin", {"statId", "lowerEdge", "binValue"}, 3},
    {"vector",
     {"vectorId", "runId", "moduleName", "vectorName", "vectorCount", "vectorMin", "vectorMax",
      "vectorSum", "vectorSumSqr", "startEventNum", "endEventNum", "startSimtimeRaw",
      "endSimtimeRaw"},
     4},
    {"vectorAttr", {"vectorId", "attrName", "attrValue"}, 3},
    {"vectorData", {"vectorId", "eventNumber", "simtimeRaw", "value"}, 3},
};

// ---- Events as docs/events.md describes them (absolute times) -------------------------------

json line(const std::string& component, const std::string& id, std::int64_t start,
          std::int64_t at_us, const std::string& event, const json& fields) {
  return testing::event_line(component, id, at_us, event, fields, start);
}

struct Job {
  std::int64_t size, queued_us, handling_us;
  std::int64_t completed_us() const { return queued_us + handling_us; }
};

json job_event(std::int64_t start, std::int64_t number, const Job& j) {
  const std::int64_t started = j.queued_us + 1'000, accepted = j.queued_us + 2'000;
  return line("pu", "pu-1", start, j.completed_us(), "job",
              {{"job", number}, {"size", j.size}, {"status", "completed"},
               {"queued_us", start + j.queued_us}, {"started_us", start + started},
               {"accepted_us", start + accepted}, {"completed_us", start + j.completed_us()},
               {"pe", "0x5e5e5e5e"}, {"rejects", 0}, {"failovers", 0},
               {"queuing_delay_us", 1'000}, {"startup_delay_us", 1'000},
               {"processing_us", j.handling_us - 2'000}, {"handling_us", j.handling_us},
               {"handling_speed", j.size * 1e6 / static_cast<double>(j.handling_us)}});
}

json usage_event(std::int64_t start, std::int64_t at, double calculations, double offered) {
  return line("pe", "0x5e5e5e5e", start, at, "usage",
              {{"calculations", calculations}, {"offered", offered},
               {"utilization", calculations / offered}});
}

json registration_event(std::int64_t start, std::int64_t at, const std::string& kind) {
  json fields = {{"pool", "CalcAppPool"}, {"pe", "0x5e5e5e5e"}};
  if (kind == "registration")
    fields.update({{"conn", 1}, {"policy", "lu"}, {"transport", "tcp"}, {"port", 5000},
                   {"addresses", {"10.0.0.2"}}, {"registration_life_ms", 90000}});
  else
    fields["reason"] = "deregistration";
  return line("registrar", "0x00000001", start, at, kind, fields);
}

// ---- Fixture: one experiment, a sweep of `ratio` over two runs --------------------------------

constexpr std::int64_t kWarmup = 10 * kSecond, kDuration = 100 * kSecond;

// Run k's jobs at its PU: one completes in the warm-up, one after the window.
std::vector<Job> jobs_of(int k) {
  return {{1'000'000, 5 * kSecond, 2 * kSecond},
          {2'000'000 + k, 20 * kSecond, 4 * kSecond},
          {3'000'000, 30 * kSecond, 5 * kSecond + 300 * k},
          {1'500'000, 50 * kSecond, 1'500'000},
          {4'000'000, 108 * kSecond, 3 * kSecond}};
}
bool measured(std::int64_t t) { return t >= kWarmup && t <= kWarmup + kDuration; }

// (time, calculations, offered) of run k's usage samples at its PE.
std::vector<std::tuple<std::int64_t, double, double>> usage_of(int k) {
  return {{5 * kSecond, 4e6, 5e6}, {15 * kSecond, 3e6 + k, 5e6}, {60 * kSecond, 2.5e6, 5e6}};
}

class OmnetppViews : public ::testing::Test {
 protected:
  struct Ids {
    std::int64_t run, pr, pe, pu;
  };

  std::int64_t start_of(int k) const { return kStart + k * 1000 * kSecond; }

  Ids add_run(Store& store, std::int64_t experiment, int k) {
    RunInfo r;
    r.experiment_id = experiment;
    r.index = static_cast<std::size_t>(k);
    r.key = "key-" + std::to_string(k);
    r.parameters = {{"policy", "lu"}, {"ratio", k == 0 ? "5" : "10"}};
    r.seed = 7 + static_cast<std::uint64_t>(k);
    r.repetition = 0;
    r.transport = "tcp";
    r.resolved = {{"duration", "100s"}, {"pes", {{{"capacity", 1e6}}}}, {"sctp", false}};
    r.start_unix_us = start_of(k);
    r.warmup_us = kWarmup;
    r.duration_us = kDuration;
    Ids ids{};
    ids.run = store.begin_run(r);
    ids.pr = store.add_component(ids.run, {"pr0", "registrar", "site-a", "0x00000001",
                                           {"10.0.0.1"}, "", "", 0});
    ids.pe = store.add_component(ids.run, {"CalcAppPool/pe0#0", "pe", "site-a", "0x5e5e5e5e",
                                           {"10.0.0.2"}, "CalcAppPool", "lu", 1e6});
    ids.pu = store.add_component(ids.run, {"CalcAppPool/pu0#0", "pu", "site-b", "pu-1",
                                           {"10.0.1.3"}, "CalcAppPool", "", 0});
    const std::int64_t start = start_of(k);
    std::int64_t number = 1;
    for (const Job& j : jobs_of(k)) store.add_event(ids.run, ids.pu, job_event(start, number++, j));
    for (const auto& [at, calculations, offered] : usage_of(k))
      store.add_event(ids.run, ids.pe, usage_event(start, at, calculations, offered));
    store.add_event(ids.run, ids.pr, registration_event(start, 1 * kSecond, "registration"));
    store.add_event(ids.run, ids.pr, registration_event(start, 90 * kSecond, "deregistration"));
    store.end_run(ids.run, "completed", start + 120 * kSecond);
    return ids;
  }

  // The one value of a query (NULL: Value's nullptr).
  static Value one(const Store& store, const char* sql, const Values& params = {}) {
    const auto rows = store.select(sql, params);
    if (rows.size() != 1 || rows[0].size() != 1)
      throw std::runtime_error(std::string("not exactly one value: ") + sql);
    return rows[0][0];
  }

  TempDir dir_;
  std::string path_ = dir_.file("results.sqlite");
};

// Every table of OMNeT++'s schema is there, as a view, with exactly its columns in order.
TEST_F(OmnetppViews, EveryTableHasTheDocumentedColumnsInOrder) {
  Store store = Store::open(path_);
  for (const auto& t : kOmnetppSchema) {
    EXPECT_EQ(text_of(one(store, "SELECT type FROM sqlite_schema WHERE name = ?1", {t.name})),
              "view")
        << t.name;
    std::vector<std::string> names;
    for (const auto& row : store.select("SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                                        {t.name}))
      names.push_back(text_of(row[0]));
    EXPECT_EQ(names, t.columns) << t.name;
  }
}

// A file without runs: every view selects fine and is empty.
TEST_F(OmnetppViews, EmptyFileSelectsFromEveryView) {
  Store store = Store::open(path_);
  for (const auto& t : kOmnetppSchema) {
    const std::string sql = "SELECT * FROM " + t.name;
    EXPECT_TRUE(store.select(sql.c_str()).empty()) << t.name;
  }
}

TEST_F(OmnetppViews, RunsAttributesAndIterationVariables) {
  Store store = Store::open(path_);
  const std::int64_t e =
      store.add_experiment({"ratio-sweep", "experiments/sweep.yaml", json::object(), "0.1.0",
                            "labhost", "6.1.0"});
  const Ids a = add_run(store, e, 0), b = add_run(store, e, 1);
  // kStart is 2023-11-14 22:13:20 UTC; run 1 starts 1000 s later.
  const auto runs = store.select("SELECT runId, runName, simtimeExp FROM run ORDER BY runId");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(text_of(runs[0][1]), "ratio-sweep-0-20231114-22:13:20-" + std::to_string(a.run));
  EXPECT_EQ(text_of(runs[1][1]), "ratio-sweep-1-20231114-22:30:00-" + std::to_string(b.run));
  EXPECT_EQ(int_of(runs[0][2]), -6);

  const auto attr = [&](std::int64_t run, const char* name) {
    return text_of(one(store, "SELECT attrValue FROM runAttr WHERE runId = ?1 AND attrName = ?2",
                       {run, std::string(name)}));
  };
  EXPECT_EQ(attr(b.run, "configname"), "ratio-sweep");
  EXPECT_EQ(attr(b.run, "runnumber"), "1");
  EXPECT_EQ(attr(b.run, "iterationvars"), "$policy=lu, $ratio=10");
  EXPECT_EQ(attr(b.run, "replication"), "#0");
  EXPECT_EQ(attr(b.run, "network"), "Lab");
  EXPECT_EQ(attr(b.run, "inifile"), "experiments/sweep.yaml");
  EXPECT_EQ(attr(b.run, "seedset"), "8");
  EXPECT_EQ(attr(b.run, "status"), "completed");
  EXPECT_EQ(int_of(one(store, "SELECT count(*) FROM runAttr WHERE attrValue IS NULL")), 0);

  EXPECT_EQ(store.select("SELECT runId, itervarName, itervarValue FROM runItervar"
                         " ORDER BY runId, itervarName"),
            (std::vector<Values>{{a.run, std::string("policy"), std::string("lu")},
                                 {a.run, std::string("ratio"), std::string("5")},
                                 {b.run, std::string("policy"), std::string("lu")},
                                 {b.run, std::string("ratio"), std::string("10")}}));
  // The resolved definition's leaves, in document order.
  EXPECT_EQ(store.select("SELECT configKey, configValue FROM runConfig WHERE runId = ?1"
                         " ORDER BY configOrder",
                         {a.run}),
            (std::vector<Values>{{std::string("duration"), std::string("100s")},
                                 {std::string("pes[0].capacity"), std::string("1000000.0")},
                                 {std::string("sctp"), std::string("false")}}));
}

TEST_F(OmnetppViews, ScalarsAndStatisticsEqualTheirDefinitions) {
  Store store = Store::open(path_);
  const std::int64_t e = store.add_experiment({"ratio-sweep", "sweep.yaml", json::object(),
                                               "0.1.0", "labhost", "6.1.0"});
  std::vector<Ids> ids;
  for (int k = 0; k < 2; ++k) ids.push_back(add_run(store, e, k));
  const auto scalar = [&](std::int64_t run, const char* module, const char* name) {
    return number_of(one(store,
                         "SELECT scalarValue FROM scalar WHERE runId = ?1 AND moduleName = ?2"
                         " AND scalarName = ?3",
                         {run, std::string(module), std::string(name)}));
  };
  for (int k = 0; k < 2; ++k) {
    double size = 0, handling = 0, sum = 0, sqrsum = 0, lo = 1e300, hi = 0;
    int n = 0;
    for (const Job& j : jobs_of(k)) {
      if (!measured(j.completed_us())) continue;
      ++n;
      size += static_cast<double>(j.size);
      handling += static_cast<double>(j.handling_us);
      sum += static_cast<double>(j.handling_us);
      sqrsum += static_cast<double>(j.handling_us) * static_cast<double>(j.handling_us);
      lo = std::min(lo, static_cast<double>(j.handling_us));
      hi = std::max(hi, static_cast<double>(j.handling_us));
    }
    double calculations = 0, offered = 0;
    for (const auto& [at, c, o] : usage_of(k))
      if (at > kWarmup && at <= kWarmup + kDuration) calculations += c, offered += o;
    const std::int64_t run = ids[k].run;
    const char* pu = "Lab.CalcAppPool.pu0[0]";
    const char* pe = "Lab.CalcAppPool.pe0[0]";
    EXPECT_DOUBLE_EQ(*scalar(run, "Lab", "handling_speed"), size * 1e6 / handling);
    EXPECT_DOUBLE_EQ(*scalar(run, "Lab", "jobs_completed"), n);
    EXPECT_DOUBLE_EQ(*scalar(run, pu, "handling_speed"), size * 1e6 / handling);
    EXPECT_DOUBLE_EQ(*scalar(run, pu, "calculations"), size);
    EXPECT_DOUBLE_EQ(*scalar(run, pe, "utilization"), calculations / offered);
    EXPECT_DOUBLE_EQ(*scalar(run, pe, "capacity"), 1e6);
    EXPECT_EQ(text_of(one(store,
                          "SELECT a.attrValue FROM scalarAttr AS a JOIN scalar AS s USING"
                          " (scalarId) WHERE s.runId = ?1 AND s.moduleName = ?2 AND"
                          " s.scalarName = 'handling_speed'",
                          {run, std::string(pu)})),
              "calculations/s");

    const auto stat = store.select(
        "SELECT statCount, statMean, statStddev, statSum, statSqrsum, statMin, statMax,"
        " isHistogram, isWeighted, statWeights FROM statistic"
        " WHERE runId = ?1 AND moduleName = ?2 AND statName = 'handling_us'",
        {run, std::string(pu)});
    ASSERT_EQ(stat.size(), 1u);
    const double mean = sum / n;
    const double stddev = std::sqrt((sqrsum - n * mean * mean) / (n - 1));
    EXPECT_EQ(int_of(stat[0][0]), n);
    EXPECT_DOUBLE_EQ(*number_of(stat[0][1]), mean);
    EXPECT_NEAR(*number_of(stat[0][2]), stddev, 1e-6 * stddev);
    EXPECT_DOUBLE_EQ(*number_of(stat[0][3]), sum);
    EXPECT_DOUBLE_EQ(*number_of(stat[0][4]), sqrsum);
    EXPECT_DOUBLE_EQ(*number_of(stat[0][5]), lo);
    EXPECT_DOUBLE_EQ(*number_of(stat[0][6]), hi);
    EXPECT_EQ(int_of(stat[0][7]), 0);
    EXPECT_EQ(int_of(stat[0][8]), 0);
    EXPECT_EQ(stat[0][9], Value(nullptr));
  }
  // Every result names a run of the file, and no scalar is NULL (OMNeT++ reads it as NaN).
  EXPECT_EQ(int_of(one(store, "SELECT count(*) FROM scalar WHERE scalarValue IS NULL")), 0);
  for (const char* table : {"scalar", "vector", "statistic", "parameter"}) {
    const std::string sql = std::string("SELECT count(*) FROM ") + table +
                            " WHERE runId NOT IN (SELECT runId FROM run)";
    EXPECT_EQ(int_of(one(store, sql.c_str())), 0) << table;
  }
  EXPECT_EQ(int_of(one(store, "SELECT count(*) - count(DISTINCT scalarId) FROM scalar")), 0);
  // What OMNeT++ declares NOT NULL is never NULL (its loader reads those as text or ids).
  for (const auto& t : kOmnetppSchema)
    for (std::size_t c = 0; c < t.not_null; ++c) {
      const std::string sql =
          "SELECT count(*) FROM " + t.name + " WHERE " + t.columns[c] + " IS NULL";
      EXPECT_EQ(int_of(one(store, sql.c_str())), 0) << t.name << "." << t.columns[c];
    }
  for (const char* table : {"run", "scalar", "vector", "statistic", "parameter", "runAttr"}) {
    const std::string sql = std::string("SELECT count(*) FROM ") + table;
    EXPECT_GT(int_of(one(store, sql.c_str())), 0) << table;
  }
  EXPECT_EQ(text_of(one(store, "SELECT paramValue FROM parameter WHERE runId = ?1 AND"
                               " moduleName = 'Lab.CalcAppPool.pe0[0]' AND paramName = 'policy'",
                        {ids[0].run})),
            "lu");
}

TEST_F(OmnetppViews, VectorsHoldEverySampleWithTheirTimes) {
  Store store = Store::open(path_);
  const std::int64_t e = store.add_experiment({"ratio-sweep", "sweep.yaml", json::object(),
                                               "0.1.0", "labhost", "6.1.0"});
  const Ids a = add_run(store, e, 0);
  add_run(store, e, 1);
  // A registrar restarted under the same name is the same module.
  const std::int64_t pr_again = store.add_component(
      a.run, {"pr0", "registrar", "site-a", "0x00000009", {"10.0.0.1"}, "", "", 0});
  store.add_event(a.run, pr_again,
                  registration_event(start_of(0), 95 * kSecond, "registration"));
  store.flush();

  const auto vector_of = [&](const char* module, const char* name) {
    return int_of(one(store, "SELECT vectorId FROM vector WHERE runId = ?1 AND moduleName = ?2"
                             " AND vectorName = ?3",
                      {a.run, std::string(module), std::string(name)}));
  };
  const std::int64_t handling = vector_of("Lab.CalcAppPool.pu0[0]", "handling_us");
  std::vector<Values> expected;  // every completed job, warm-up and after the window included
  for (const Job& j : jobs_of(0)) expected.push_back({j.completed_us(), j.handling_us});
  EXPECT_EQ(store.select("SELECT simtimeRaw, value FROM vectorData WHERE vectorId = ?1"
                         " ORDER BY eventNumber",
                         {handling}),
            expected);
  const auto v = store.select("SELECT vectorCount, vectorMin, vectorMax, startSimtimeRaw,"
                              " endSimtimeRaw FROM vector WHERE vectorId = ?1",
                              {handling});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(int_of(v[0][0]), 5);
  EXPECT_EQ(int_of(v[0][1]), 1'500'000);
  EXPECT_EQ(int_of(v[0][2]), 5 * kSecond);
  EXPECT_EQ(int_of(v[0][3]), 7 * kSecond);
  EXPECT_EQ(int_of(v[0][4]), 111 * kSecond);
  EXPECT_EQ(text_of(one(store, "SELECT attrValue FROM vectorAttr WHERE vectorId = ?1"
                               " AND attrName = 'unit'",
                        {handling})),
            "us");

  const std::int64_t utilization = vector_of("Lab.CalcAppPool.pe0[0]", "utilization");
  EXPECT_EQ(int_of(one(store, "SELECT count(*) FROM vectorData WHERE vectorId = ?1",
                       {utilization})),
            3);
  // The registrar's registered PEs over time, across both of its rows: 1, 0, 1.
  const std::int64_t pes = vector_of("Lab.pr0", "registered_pes");
  EXPECT_EQ(store.select("SELECT simtimeRaw, value FROM vectorData WHERE vectorId = ?1"
                         " ORDER BY simtimeRaw",
                         {pes}),
            (std::vector<Values>{{1 * kSecond, std::int64_t{1}},
                                 {90 * kSecond, std::int64_t{0}},
                                 {95 * kSecond, std::int64_t{1}}}));
  // What OMNeT++'s reader joins resolves: every attribute and sample names a result that
  // exists, and a vector's count is the number of its samples.
  for (const char* sql :
       {"SELECT count(*) FROM runAttr WHERE runId NOT IN (SELECT runId FROM run)",
        "SELECT count(*) FROM runItervar WHERE runId NOT IN (SELECT runId FROM run)",
        "SELECT count(*) FROM runConfig WHERE runId NOT IN (SELECT runId FROM run)",
        "SELECT count(*) FROM scalarAttr WHERE scalarId NOT IN (SELECT scalarId FROM scalar)",
        "SELECT count(*) FROM statisticAttr WHERE statId NOT IN (SELECT statId FROM statistic)",
        "SELECT count(*) FROM vectorAttr WHERE vectorId NOT IN (SELECT vectorId FROM vector)",
        "SELECT count(*) FROM vectorData WHERE vectorId NOT IN (SELECT vectorId FROM vector)",
        "SELECT count(*) FROM vector AS v WHERE vectorCount <>"
        " (SELECT count(*) FROM vectorData AS d WHERE d.vectorId = v.vectorId)"})
    EXPECT_EQ(int_of(one(store, sql)), 0) << sql;
  // Vector ids fit OMNeT++'s 32-bit reading of them, and each is one (module, name).
  EXPECT_EQ(int_of(one(store, "SELECT count(*) FROM vector WHERE vectorId > 2147483647")), 0);
  EXPECT_EQ(int_of(one(store, "SELECT count(*) - count(DISTINCT runId || moduleName ||"
                              " vectorName) FROM vector")),
            0);
}

}  // namespace
}  // namespace rsplab::results
