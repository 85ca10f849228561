// The results store against real SQLite files in a temporary directory: schema and
// pragmas, every event kind into its table, batching, malformed input, reopening,
// version checks, run status and lock waits as a second connection sees them, the views,
// and the example queries of results/README.md verbatim.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "results/store.hpp"
#include "stack/common/events.hpp"
#include "tests/results/support.hpp"

namespace rsplab::results {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using testing::kSecond;
using testing::kStart;
using testing::TempDir;

// ---- SQL helpers: the test reads with plain SQLite, not through the Store. ------------

using Param = std::variant<std::int64_t, std::string>;
using Rows = std::vector<std::vector<std::string>>;  // NULL as "NULL"

Rows query(sqlite3* db, const std::string& sql,
           const std::vector<std::pair<std::string, Param>>& params = {}) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error("prepare: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
  for (const auto& [name, value] : params) {
    const int i = sqlite3_bind_parameter_index(s, name.c_str());
    if (i == 0) throw std::runtime_error("no parameter " + name);
    if (const auto* n = std::get_if<std::int64_t>(&value))
      sqlite3_bind_int64(s, i, *n);
    else
      sqlite3_bind_text(s, i, std::get<std::string>(value).c_str(), -1, SQLITE_TRANSIENT);
  }
  Rows rows;
  int rc = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int c = 0; c < sqlite3_column_count(s); ++c) {
      const auto* t = sqlite3_column_text(s, c);
      row.push_back(t == nullptr ? "NULL" : reinterpret_cast<const char*>(t));
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) throw std::runtime_error("step: " + std::string(sqlite3_errmsg(db)));
  return rows;
}

std::string one(sqlite3* db, const std::string& sql,
                const std::vector<std::pair<std::string, Param>>& params = {}) {
  const auto rows = query(db, sql, params);
  if (rows.size() != 1 || rows[0].size() != 1)
    throw std::runtime_error("not exactly one value: " + sql);
  return rows[0][0];
}

std::int64_t integer(sqlite3* db, const std::string& sql,
                     const std::vector<std::pair<std::string, Param>>& params = {}) {
  return std::stoll(one(db, sql, params));
}

// A second, independent connection: sees only what was committed.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open reader");
  }
  ~Reader() { sqlite3_close_v2(db_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// The test's own read-write connection to a store's file, for what the Store has no method
// for (reading tables back, undoing migrations): the store's batch is committed first, so it
// sees every row written so far.
class Connection {
 public:
  Connection(Store& store, const std::string& path) {
    store.flush();
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  operator sqlite3*() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A pragma of the store's own connection (synchronous, foreign_keys are per connection).
std::int64_t pragma(const Store& store, const char* sql) {
  return std::get<std::int64_t>(store.select(sql).at(0).at(0));
}

// ---- Events as docs/events.md describes them ---------------------------------------------

json line(const std::string& component, const std::string& id, std::int64_t at_us,
          const std::string& event, json fields = json::object()) {
  return testing::event_line(component, id, at_us, event, fields);
}

json pu_job(std::int64_t job, std::int64_t size, std::int64_t queued, std::int64_t handling,
            const std::string& pe = "0x5e5e5e5e") {
  // queued, +0.1 s started, +0.2 s accepted, queued + handling completed (rel. µs)
  const std::int64_t started = queued + 100'000, accepted = queued + 200'000,
                     completed = queued + handling;
  return line("pu", "pu-1", completed, "job",
              {{"job", job},
               {"size", size},
               {"status", "completed"},
               {"queued_us", kStart + queued},
               {"started_us", kStart + started},
               {"accepted_us", kStart + accepted},
               {"completed_us", kStart + completed},
               {"pe", pe},
               {"rejects", 0},
               {"failovers", 0},
               {"queuing_delay_us", started - queued},
               {"startup_delay_us", accepted - started},
               {"processing_us", completed - accepted},
               {"handling_us", handling},
               {"handling_speed", static_cast<double>(size) / (static_cast<double>(handling) / 1e6)}});
}

json pu_resolution(std::int64_t at, bool cached, std::int64_t latency = 800) {
  return line("pu", "pu-1", at, "handle_resolution",
              {{"registrar", cached ? json(nullptr) : json(0)},
               {"pool", "CalcAppPool"},
               {"pes", {"0x5e5e5e5e", "0x00000002"}},
               {"cached", cached},
               {"latency_us", cached ? 0 : latency}});
}

json pu_failover(std::int64_t at, const std::string& from_pe, std::int64_t delay,
                 std::int64_t lost) {
  return line("pu", "pu-1", at, "failover",
              {{"job", 7},
               {"from_pe", from_pe},
               {"cause", "keepalive_timeout"},
               {"detection_delay_us", delay},
               {"to_pe", "0x00000002"},
               {"cookie", true},
               {"resumed", 2'000'000},
               {"lost", lost},
               {"attempts", 1}});
}

json pe_usage(const std::string& pe, std::int64_t at, double calculations, double offered) {
  return line("pe", pe, at, "usage",
              {{"calculations", calculations},
               {"offered", offered},
               {"utilization", calculations / offered}});
}

// What schema v9 changed (sums that do not overflow), taken back: a file of version 8. Its
// run_metrics summed job sizes with sum(), as v6's did (here a stand-in of that view, with
// the one column that shows it).
// What schema v10 added (ENRP's takeovers, syncs and adoptions), taken away again: a file
// of version 9.
// What schema v11 added (what runs and their processes cost), taken away again: a file of
// version 10.
const std::string kUndoV11 = "DROP TABLE processes; DROP TABLE run_resources;";

const std::string kUndoV10 = kUndoV11 +
    " DROP TABLE enrp_takeovers; DROP TABLE enrp_syncs; DROP TABLE pe_adoptions;";

const std::string kUndoV9 = kUndoV10 +
    " DROP VIEW run_metrics; CREATE VIEW run_metrics AS SELECT r.id AS run_id,"
    " (SELECT sum(j.size) FROM jobs AS j WHERE j.run_id = r.id) AS calculations FROM runs AS r;";

// What schema v8 added (the echo service's series), taken away again: a file of version 7.
const std::string kUndoV8 = kUndoV9 + " DROP TABLE echo_series;";

// What schema v7 added (--until-ci's verdicts), taken away again: a file of version 6.
const std::string kUndoV7 = kUndoV8 + " DROP TABLE until_ci;";

// What schema v6 added (the report's view), taken away again: a file of version 5.
const std::string kUndoV6 = kUndoV7 + " DROP VIEW run_metrics;";

// What schema v5 added (the OMNeT++ result views), taken away again: a file of version 4.
const std::string kUndoV5 = kUndoV6 +
    "DROP VIEW vectorData; DROP VIEW vectorAttr; DROP VIEW vector; DROP VIEW histogramBin;"
    " DROP VIEW statisticAttr; DROP VIEW statistic; DROP VIEW paramAttr; DROP VIEW parameter;"
    " DROP VIEW scalarAttr; DROP VIEW scalar; DROP VIEW runConfig; DROP VIEW runItervar;"
    " DROP VIEW runAttr; DROP VIEW run; DROP VIEW omnetpp_vector_data;"
    " DROP VIEW omnetpp_scalars; DROP VIEW omnetpp_vector_kinds;"
    " DROP VIEW omnetpp_scalar_kinds; DROP VIEW omnetpp_modules; DROP VIEW omnetpp_runs;";

// What schema v4 added, taken away again: a file of version 3.
const std::string kUndoV4 = kUndoV5 +
    "DROP TABLE pe_progress; ALTER TABLE failovers DROP COLUMN detected_us;"
    " ALTER TABLE failovers DROP COLUMN local_addresses;"
    " ALTER TABLE failovers DROP COLUMN local_port; ALTER TABLE failovers DROP COLUMN lost_exact;"
    " ALTER TABLE failovers DROP COLUMN fault_id;"
    " ALTER TABLE failovers DROP COLUMN fault_to_detection_us;";

// A PU failover with the fields of issue 12: when the PU gave the PE up and its end of the
// failed session.
json pu_failover_at(std::int64_t job, const std::string& from_pe, std::int64_t detected,
                    std::optional<std::int64_t> resumed, std::int64_t lost, std::int64_t port) {
  json e = line("pu", "pu-1", detected + 300'000, "failover",
                {{"job", job},
                 {"from_pe", from_pe},
                 {"cause", "connection_lost"},
                 {"detection_delay_us", 200'000},
                 {"to_pe", resumed ? json("0x00000002") : json(nullptr)},
                 {"cookie", resumed.value_or(0) > 0},
                 {"resumed", resumed ? json(*resumed) : json(nullptr)},
                 {"lost", lost},
                 {"attempts", 1},
                 {"detected_us", kStart + detected},
                 {"local_addresses", {"10.0.1.3"}},
                 {"local_port", port}});
  return e;
}

// A PE's `killed` event with its jobs in progress (job, completed, the PU's port at 10.0.1.3).
json pe_killed(const std::string& pe, std::int64_t at,
               const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>& jobs) {
  json list = json::array();
  std::int64_t session = 1;
  for (const auto& [job, completed, port] : jobs)
    list.push_back({{"session", session++}, {"job", job}, {"size", 9'000'000},
                    {"completed", completed}, {"pu_addresses", {"10.0.1.3"}}, {"pu_port", port}});
  return line("pe", pe, at, "killed", {{"member", 0}, {"jobs", list}});
}

// ---- Fixture ----------------------------------------------------------------------------------

class StoreTest : public ::testing::Test {
 protected:
  std::int64_t experiment(Store& store) {
    return store.add_experiment({"failover-study", "experiments/failover.yaml",
                                 json{{"name", "failover-study"}, {"duration", "60s"}},
                                 "0.1.0", "labhost", "6.1.0-18-amd64"});
  }

  std::int64_t run(Store& store, std::int64_t experiment_id, const std::string& policy,
                   std::size_t index = 0, std::int64_t warmup = 10 * kSecond,
                   std::int64_t duration = 100 * kSecond) {
    RunInfo r;
    r.experiment_id = experiment_id;
    r.index = index;
    r.key = "key-" + policy + "-" + std::to_string(index);
    if (!policy.empty()) r.parameters["policy"] = policy;
    r.parameters["ratio"] = "10";
    r.seed = 42 + index;
    r.repetition = index;
    r.transport = "tcp";
    r.resolved = {{"pools", json::array()}};
    r.start_unix_us = kStart;
    r.warmup_us = warmup;
    r.duration_us = duration;
    return store.begin_run(r);
  }

  struct Components {
    std::int64_t pr, pe, pe2, pu;
  };

  Components components(Store& store, std::int64_t run_id, const std::string& policy = "lu") {
    Components c{};
    c.pr = store.add_component(run_id, {"pr0", "registrar", "site-a", "0x00000001",
                                        {"10.0.0.1:3863"}, "", "", 0});
    c.pe = store.add_component(run_id, {"CalcAppPool/pe0#0", "pe", "site-a", "0x5e5e5e5e",
                                        {"10.0.0.2"}, "CalcAppPool", policy, 1e6});
    c.pe2 = store.add_component(run_id, {"CalcAppPool/pe1#0", "pe", "site-b", "0x00000002",
                                         {"10.0.1.2"}, "CalcAppPool", policy, 4e6});
    c.pu = store.add_component(run_id, {"CalcAppPool/pu0#0", "pu", "site-b", "pu-1",
                                        {"10.0.1.3"}, "CalcAppPool", "", 0});
    return c;
  }

  TempDir dir_;
  std::string path_ = dir_.file("results.sqlite");
};

// ---- Schema and opening -------------------------------------------------------------------

TEST_F(StoreTest, CreatesVersionedWalDatabaseWithEveryTableAndView) {
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(kSchemaVersion, 11);
  EXPECT_EQ(one(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma(store, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(pragma(store, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(integer(db, "PRAGMA application_id"), 0x5253504c);
  for (const char* table :
       {"experiments", "runs", "run_parameters", "components", "handle_resolutions",
        "failovers", "jobs", "registrations", "registrar_actions", "pe_samples", "faults",
        "event_counts", "malformed_events", "site_clocks", "pe_events", "run_checks",
        "pe_progress", "until_ci", "echo_series", "enrp_takeovers", "enrp_syncs",
        "pe_adoptions", "processes", "run_resources"}) {
    EXPECT_EQ(integer(db, std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                      " AND name = '") + table + "'"), 1) << table;
    EXPECT_EQ(store.count(table), 0) << table;
  }
  for (const char* view : {"measured_jobs", "policy_summary", "pe_utilization", "run_summary", "run_metrics"})
    EXPECT_EQ(integer(db, std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'view'"
                                      " AND name = '") + view + "'"), 1) << view;
  for (const char* index : {"runs_by_key", "runs_by_policy", "handle_resolutions_by_run",
                            "failovers_by_pe", "jobs_by_run", "pe_samples_by_run"})
    EXPECT_EQ(integer(db, std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                      " AND name = '") + index + "'"), 1) << index;
  EXPECT_THROW(store.count("sqlite_schema"), StoreError);
  EXPECT_THROW(store.count("experiments", 1), StoreError);
}

TEST_F(StoreTest, RefusesNewerSchemaVersionNamingBoth) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  try {
    Store::open(path_);
    FAIL() << "opened a version 99 file";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("99"), std::string::npos) << what;
    EXPECT_NE(what.find("newer than this rsplab's " + std::to_string(kSchemaVersion)), std::string::npos) << what;
    EXPECT_NE(what.find(path_), std::string::npos) << what;
  }
  // Left as it was: no WAL switch, no migration.
  Reader r(path_);
  EXPECT_EQ(integer(r.get(), "PRAGMA user_version"), 99);
  EXPECT_EQ(one(r.get(), "PRAGMA journal_mode"), "delete");
}

// A version 1 file (faults without scheduled_us, no site_clocks) opened by this build: it
// is migrated in place and keeps its rows; the scheduled time moves from the details into
// the new column.
TEST_F(StoreTest, MigratesVersionOneFilesKeepingTheirFaults) {
  {
    Store store = Store::open(path_);
    const auto r = run(store, experiment(store), "lu");
    store.add_fault(r, "kill", "CalcAppPool/pe0", 45 * kSecond, {{"scheduled_us", 44 * kSecond}});
    store.add_fault(r, "link_down", "site-a/isp0", 46 * kSecond);
    store.flush();
    // Back to what version 1 had.
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db,
                           (kUndoV4 + "ALTER TABLE faults DROP COLUMN scheduled_us;"
                                      " DROP TABLE site_clocks; DROP VIEW run_summary;"
                                      " DROP TABLE pe_events; DROP TABLE run_checks;"
                                      " PRAGMA user_version = 1")
                               .c_str(),
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(query(db, "SELECT kind, at_us, scheduled_us FROM faults ORDER BY id"),
            (Rows{{"kill", "45000000", "44000000"}, {"link_down", "46000000", "NULL"}}));
  EXPECT_EQ(store.count("site_clocks"), 0);
}

// A version 2 file (PE events counted only, no checks) opened by this build: migrated in
// place, its runs summarized with 0 rejects and no warnings.
TEST_F(StoreTest, MigratesVersionTwoFilesToPeEventsAndChecks) {
  std::int64_t r = 0;
  {
    Store store = Store::open(path_);
    r = run(store, experiment(store), "lu");
    store.flush();
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db,
                           (kUndoV4 + " DROP VIEW run_summary; DROP TABLE pe_events;"
                                      " DROP TABLE run_checks; PRAGMA user_version = 2")
                               .c_str(),
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(store.count("pe_events"), 0);
  EXPECT_EQ(store.count("run_checks"), 0);
  EXPECT_EQ(query(db, "SELECT run_id, jobs_unfinished, rejects, warnings FROM run_summary"),
            (Rows{{std::to_string(r), "0", "0", "0"}}));
}

TEST_F(StoreTest, KeepsFaultScheduleAndSiteClocksPerRun) {
  Store store = Store::open(path_);
  const auto e = experiment(store);
  const auto r1 = run(store, e, "lu", 0);
  const auto r2 = run(store, e, "rr", 1);
  store.add_fault(r1, "restart", "CalcAppPool/pe0", 12'345'678, {{"scheduled_us", 12'300'000}});
  store.add_site_clock(r1, {"remote", "node1.example", "1.2.3", -1500, 40, 80, 8});
  store.add_site_clock(r1, {"local", "", "1.2.3", 0, 5, 10, 8});
  store.add_site_clock(r2, {"remote", "node1.example", "1.2.3", 2500, 60, 120, 8});
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT kind, at_us - scheduled_us FROM faults"),
            (Rows{{"restart", "45678"}}));
  EXPECT_EQ(query(db, "SELECT run_id, site, host, agent_version, offset_us, uncertainty_us,"
                      " rtt_us, samples FROM site_clocks ORDER BY run_id, site"),
            (Rows{{std::to_string(r1), "local", "NULL", "1.2.3", "0", "5", "10", "8"},
                  {std::to_string(r1), "remote", "node1.example", "1.2.3", "-1500", "40", "80", "8"},
                  {std::to_string(r2), "remote", "node1.example", "1.2.3", "2500", "60", "120", "8"}}));
  EXPECT_EQ(store.count("site_clocks", r1), 2);
}

// What a run cost: a row per process (unknown figures NULL for one whose agent never said it
// exited), the run's row replaced when stored again, both gone with the run.
TEST_F(StoreTest, KeepsWhatRunsAndTheirProcessesCost) {
  Store store = Store::open(path_);
  const auto r = run(store, experiment(store), "lu");
  store.add_process_usage(r, {"pr0", "registrar", "a", 1, true, 90'000, 15.5});
  store.add_process_usage(r, {"Scale/pe0", "pe", "b", 1667, true, 38'000, 25.0});
  store.add_process_usage(r, {"Scale/pu0", "pu", "b", 2500, false, 0, 0});
  EXPECT_THROW(store.add_process_usage(r, {"x", "runner", "a", 1, true, 1, 1}), StoreError);
  store.set_run_resources(r, {std::nullopt, std::nullopt, 10, 0, 0});
  store.set_run_resources(r, {2.5, 8939.0, 867'395, 77'000, 38.4});
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT name, role, site, members, exited, max_rss_kib, cpu_s FROM processes"
                      " ORDER BY id"),
            (Rows{{"pr0", "registrar", "a", "1", "1", "90000", "15.5"},
                  {"Scale/pe0", "pe", "b", "1667", "1", "38000", "25.0"},
                  {"Scale/pu0", "pu", "b", "2500", "0", "NULL", "NULL"}}));
  EXPECT_EQ(query(db, "SELECT deploy_s, events_per_s, events_stored, runner_max_rss_kib,"
                      " runner_cpu_s FROM run_resources"),
            (Rows{{"2.5", "8939.0", "867395", "77000", "38.4"}}));
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM runs", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(store.count("processes"), 0);
  EXPECT_EQ(store.count("run_resources"), 0);
}

// A remote site's events move onto the runner's clock: every absolute time, no duration.
TEST(ShiftEventClock, MovesAbsoluteTimesOnly) {
  json job = {{"event", "job"},          {"time_us", 5'000'000},   {"queued_us", 1'000'000},
              {"started_us", 2'000'000}, {"accepted_us", nullptr}, {"completed_us", 4'000'000},
              {"handling_us", 3'000'000}, {"processing_us", 1'500'000},
              {"latency_us", 70}};
  shift_event_clock(job, 1'500'000);
  EXPECT_EQ(job["time_us"], 3'500'000);
  EXPECT_EQ(job["queued_us"], -500'000);
  EXPECT_EQ(job["started_us"], 500'000);
  EXPECT_TRUE(job["accepted_us"].is_null());
  EXPECT_EQ(job["completed_us"], 2'500'000);
  EXPECT_EQ(job["handling_us"], 3'000'000);
  EXPECT_EQ(job["processing_us"], 1'500'000);
  EXPECT_EQ(job["latency_us"], 70);
  json odd = json::array({1, 2});
  shift_event_clock(odd, 10);  // not an event: untouched, no throw
  EXPECT_EQ(odd, json::array({1, 2}));
}

TEST_F(StoreTest, RefusesForeignDatabasesAndNonDatabases) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_THROW(Store::open(path_), StoreError);
  const std::string text = dir_.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text long enough to have a header\n";
  EXPECT_THROW(Store::open(text), StoreError);
  EXPECT_THROW(Store::open(dir_.file("no/such/dir/results.sqlite")), StoreError);
}

TEST_F(StoreTest, ReopeningKeepsDataAndARerunOfAKeyAddsARow) {
  std::int64_t run_id = 0, pu = 0;
  {
    Store store = Store::open(path_);
    run_id = run(store, experiment(store), "lu");
    pu = components(store, run_id).pu;
    for (int i = 0; i < 10; ++i) store.add_event(run_id, pu, pu_resolution(i * kSecond, false));
    // No flush: the destructor commits the batch.
  }
  Store store = Store::open(path_);
  EXPECT_EQ(store.count("experiments"), 1);
  EXPECT_EQ(store.count("runs"), 1);
  EXPECT_EQ(store.count("components", run_id), 4);
  EXPECT_EQ(store.count("handle_resolutions", run_id), 10);
  // The reopened store finds the run's start and the component's role in the file.
  EXPECT_TRUE(store.add_event(run_id, pu, pu_resolution(42 * kSecond, true)));
  store.flush();
  EXPECT_EQ(integer(Connection(store, path_), "SELECT max(time_us) FROM handle_resolutions"), 42 * kSecond);
  // An interrupted key run again: a second row with the same key.
  store.end_run(run_id, "interrupted", kStart + 50 * kSecond, "SIGINT");
  const std::int64_t again = run(store, 1, "lu");
  EXPECT_NE(again, run_id);
  EXPECT_EQ(integer(Connection(store, path_), "SELECT count(*) FROM runs WHERE key = 'key-lu-0'"), 2);
  // Moving keeps one owner.
  Store moved = std::move(store);
  EXPECT_EQ(moved.count("runs"), 2);
}

// ---- Resuming a campaign ----------------------------------------------------------------------

TEST_F(StoreTest, CompletedKeysAreDoneAndInterruptedFailedOrRunningOnesUnfinished) {
  using Keys = std::set<std::string>;
  std::int64_t e = 0;
  {
    Store store = Store::open(path_);
    EXPECT_EQ(store.completed_keys(), Keys{});
    EXPECT_EQ(store.unfinished_keys(), Keys{});
    e = experiment(store);
    const std::int64_t lu = run(store, e, "lu", 0), rr = run(store, e, "rr", 1);
    run(store, e, "wrr", 2);
    EXPECT_EQ(store.completed_keys(), Keys{});
    EXPECT_EQ(store.unfinished_keys(), (Keys{"key-lu-0", "key-rr-1", "key-wrr-2"}));

    store.end_run(lu, "completed", kStart + 110 * kSecond);
    store.end_run(rr, "failed", kStart + 20 * kSecond, "pe0 did not start");
    EXPECT_EQ(store.completed_keys(), Keys{"key-lu-0"});
    EXPECT_EQ(store.unfinished_keys(), (Keys{"key-rr-1", "key-wrr-2"}));
    // The failed key run again and completed: done, though one of its rows failed.
    store.end_run(run(store, e, "rr", 1), "completed", kStart + 110 * kSecond);
    EXPECT_EQ(store.completed_keys(), (Keys{"key-lu-0", "key-rr-1"}));
    EXPECT_EQ(store.unfinished_keys(), Keys{"key-wrr-2"});
    // The store goes with key-wrr-2 still running, as a SIGKILLed runner leaves it.
  }
  Store store = Store::open(path_);
  EXPECT_EQ(store.completed_keys(), (Keys{"key-lu-0", "key-rr-1"}));
  EXPECT_EQ(store.unfinished_keys(), Keys{"key-wrr-2"});
  EXPECT_EQ(store.interrupt_running("runner died"), 1);
  EXPECT_EQ(store.interrupt_running("runner died"), 0);
  EXPECT_EQ(query(Connection(store, path_), "SELECT status, reason, end_unix_us FROM runs WHERE key = 'key-wrr-2'"),
            (Rows{{"interrupted", "runner died", "NULL"}}));
  EXPECT_EQ(store.unfinished_keys(), Keys{"key-wrr-2"});
  // Completed rows are never touched.
  EXPECT_EQ(integer(Connection(store, path_), "SELECT count(*) FROM runs WHERE status = 'completed'"), 2);
}

TEST_F(StoreTest, RunStatusIsTheRowsStatusAsAnotherConnectionSeesIt) {
  // A worker of `rsplab run --jobs N` writes; the parent reads with its own connection.
  Store worker = Store::open(path_);
  Store parent = Store::open(path_);
  const std::int64_t e = experiment(worker);
  const std::int64_t lu = run(worker, e, "lu", 0), rr = run(worker, e, "rr", 1),
                     wrr = run(worker, e, "wrr", 2);
  worker.flush();
  EXPECT_EQ(parent.run_status(lu), "running");
  worker.end_run(lu, "completed", kStart + 110 * kSecond);
  worker.end_run(rr, "failed", kStart + 20 * kSecond, "pe0 did not start");
  worker.end_run(wrr, "interrupted", kStart + 30 * kSecond);
  EXPECT_EQ(parent.run_status(lu), "completed");
  EXPECT_EQ(parent.run_status(rr), "failed");
  EXPECT_EQ(parent.run_status(wrr), "interrupted");
  // No such row: nothing, not an empty status.
  EXPECT_EQ(parent.run_status(wrr + 1), std::nullopt);
  EXPECT_EQ(parent.run_status(0), std::nullopt);
}

TEST_F(StoreTest, BusyTimeoutBoundsTheWaitForAnotherConnectionsWriteLock) {
  Store store = Store::open(path_);
  experiment(store);
  // Another connection (plain SQLite) holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  store.set_busy_timeout(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(experiment(store), StoreError);
  const auto waited = std::chrono::steady_clock::now() - start;
  // It waited for the lock, about 300 ms: not failed at once, not the 5 s set at open.
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::milliseconds(4000));
  // The lock released, the same write goes through.
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(experiment(store), 2);
  EXPECT_EQ(store.count("experiments"), 2);
}

TEST_F(StoreTest, FindExperimentMatchesNameSourceAndVersion) {
  Store store = Store::open(path_);
  ExperimentInfo info{"failover-study", "experiments/failover.yaml",
                      json{{"name", "failover-study"}, {"duration", "60s"}}, "0.1.0", "labhost",
                      "6.1.0-18-amd64"};
  EXPECT_EQ(store.find_experiment(info), std::nullopt);
  const std::int64_t first = store.add_experiment(info);
  EXPECT_EQ(store.find_experiment(info), first);
  // Where and from which path it ran does not matter; what it is does.
  ExperimentInfo elsewhere = info;
  elsewhere.host = "otherhost";
  elsewhere.file = "/tmp/copy.yaml";
  EXPECT_EQ(store.find_experiment(elsewhere), first);
  ExperimentInfo changed = info;
  changed.source["duration"] = "30s";
  EXPECT_EQ(store.find_experiment(changed), std::nullopt);
  ExperimentInfo renamed = info;
  renamed.name = "other";
  EXPECT_EQ(store.find_experiment(renamed), std::nullopt);
  ExperimentInfo newer = info;
  newer.rsplab_version = "0.2.0";
  EXPECT_EQ(store.find_experiment(newer), std::nullopt);
  // Two rows alike (a --fresh campaign): the newest.
  const std::int64_t second = store.add_experiment(info);
  EXPECT_EQ(store.find_experiment(info), second);
}

// ---- Runs and components --------------------------------------------------------------------

TEST_F(StoreTest, RunsRecordParametersAndEndRunSetsStatus) {
  Store store = Store::open(path_);
  const std::int64_t e = experiment(store);
  const std::int64_t r = run(store, e, "lu");
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT name, file, rsplab_version, host, kernel, json_extract(source, "
                      "'$.duration') FROM experiments"),
            (Rows{{"failover-study", "experiments/failover.yaml", "0.1.0", "labhost",
                   "6.1.0-18-amd64", "60s"}}));
  EXPECT_EQ(query(db, "SELECT experiment_id, idx, key, policy, seed, repetition, transport, status,"
                      " reason, start_unix_us, end_unix_us, warmup_us, duration_us,"
                      " json_extract(parameters, '$.ratio') FROM runs"),
            (Rows{{std::to_string(e), "0", "key-lu-0", "lu", "42", "0", "tcp", "running", "NULL",
                   std::to_string(kStart), "NULL", "10000000", "100000000", "10"}}));
  EXPECT_EQ(query(db, "SELECT name, value FROM run_parameters WHERE run_id = :r ORDER BY name",
                  {{":r", r}}),
            (Rows{{"policy", "lu"}, {"ratio", "10"}}));

  store.end_run(r, "completed", kStart + 111 * kSecond);
  EXPECT_EQ(query(db, "SELECT status, end_unix_us, reason FROM runs"),
            (Rows{{"completed", std::to_string(kStart + 111 * kSecond), "NULL"}}));
  store.end_run(r, "failed", kStart + 112 * kSecond, "pe0 did not start");
  EXPECT_EQ(query(db, "SELECT status, reason FROM runs"), (Rows{{"failed", "pe0 did not start"}}));
  EXPECT_THROW(store.end_run(r, "done", kStart), StoreError);
  EXPECT_THROW(store.end_run(r + 1, "completed", kStart), StoreError);
  EXPECT_THROW(run(store, e + 1, "lu"), StoreError);  // no such experiment
  // The runner's typed outcome is stored as the same text.
  store.end_run(r, RunStatus::interrupted, kStart + 113 * kSecond,
                "SIGINT while deploying: waiting for the PEs to register");
  EXPECT_EQ(query(db, "SELECT status, reason FROM runs"),
            (Rows{{"interrupted", "SIGINT while deploying: waiting for the PEs to register"}}));
}

// runs.status has one text per outcome, and reading it back gives the outcome again.
TEST(RunStatus, TextAndParseAreOneMapping) {
  for (const RunStatus s : {RunStatus::completed, RunStatus::interrupted, RunStatus::failed})
    EXPECT_EQ(parse_status(status_text(s)), s) << status_text(s);
  EXPECT_EQ(status_text(RunStatus::completed), "completed");
  EXPECT_EQ(status_text(RunStatus::interrupted), "interrupted");
  EXPECT_EQ(status_text(RunStatus::failed), "failed");
  for (const char* other : {"running", "done", "", "Completed", "failed "})
    EXPECT_EQ(parse_status(other), std::nullopt) << other;
}

TEST_F(StoreTest, ComponentsAndTheRunPolicyFromThemWhenNotAParameter) {
  Store store = Store::open(path_);
  const std::int64_t e = experiment(store);
  const std::int64_t swept = run(store, e, "lu", 0);
  components(store, swept, "rr");  // the sweep parameter wins
  const std::int64_t fixed = run(store, e, "", 1);
  components(store, fixed, "wrand");
  const Connection db(store, path_);
  EXPECT_EQ(one(db, "SELECT policy FROM runs WHERE id = :r", {{":r", swept}}), "lu");
  EXPECT_EQ(one(db, "SELECT policy FROM runs WHERE id = :r", {{":r", fixed}}), "wrand");
  store.add_component(fixed, {"other/pe0#0", "pe", "site-a", "0x7", {}, "other", "rr", 1e6});
  EXPECT_EQ(one(db, "SELECT policy FROM runs WHERE id = :r", {{":r", fixed}}), "mixed");

  EXPECT_EQ(query(db, "SELECT name, role, site, identity, addresses, pool, policy, capacity"
                      " FROM components WHERE run_id = :r ORDER BY id",
                  {{":r", swept}}),
            (Rows{{"pr0", "registrar", "site-a", "0x00000001", "[\"10.0.0.1:3863\"]", "NULL",
                   "NULL", "NULL"},
                  {"CalcAppPool/pe0#0", "pe", "site-a", "0x5e5e5e5e", "[\"10.0.0.2\"]",
                   "CalcAppPool", "rr", "1000000.0"},
                  {"CalcAppPool/pe1#0", "pe", "site-b", "0x00000002", "[\"10.0.1.2\"]",
                   "CalcAppPool", "rr", "4000000.0"},
                  {"CalcAppPool/pu0#0", "pu", "site-b", "pu-1", "[\"10.0.1.3\"]", "CalcAppPool",
                   "NULL", "NULL"}}));
  EXPECT_THROW(store.add_component(fixed, {"x", "client", "site-a", "", {}, "", "", 0}),
               StoreError);
  EXPECT_THROW(store.add_component(fixed + 7, {"x", "pe", "site-a", "", {}, "", "", 0}),
               StoreError);
}

// ---- Events -----------------------------------------------------------------------------------

TEST_F(StoreTest, EventsOfEveryKindLandInTheirTablesWithRelativeTimes) {
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "lu");
  const Components c = components(store, r);
  const std::string pr_id = "0x00000001", pe_id = "0x5e5e5e5e";

  // Registrar
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, -5'000, "ready",
                                            {{"asap", "0.0.0.0:3863"}, {"enrp", "0.0.0.0:9901"},
                                             {"transport", "tcp"}})));
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, 1'000, "registration",
                                            {{"conn", 1}, {"pool", "CalcAppPool"}, {"pe", pe_id},
                                             {"policy", "lu"}, {"transport", "tcp"}, {"port", 5000},
                                             {"addresses", {"10.0.0.2"}},
                                             {"registration_life_ms", 90000},
                                             {"load", 2147483648u}})));
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, 31'000, "reregistration",
                                            {{"conn", 1}, {"pool", "CalcAppPool"}, {"pe", pe_id},
                                             {"policy", "lu"}, {"transport", "tcp"}, {"port", 5000},
                                             {"addresses", {"10.0.0.2"}},
                                             {"registration_life_ms", 90000}, {"load", 0}})));
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, 40'000, "handle_resolution",
                                            {{"conn", 2}, {"pool", "CalcAppPool"},
                                             {"requested", nullptr}, {"items", 3},
                                             {"pes", {pe_id}}, {"policy", "lu"}})));
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, 50'000, "keepalive_timeout",
                                            {{"pool", "CalcAppPool"}, {"pe", pe_id}})));
  EXPECT_TRUE(store.add_event(r, c.pr, line("registrar", pr_id, 50'001, "deregistration",
                                            {{"pool", "CalcAppPool"}, {"pe", pe_id},
                                             {"reason", "keepalive_timeout"}})));

  // PE
  EXPECT_TRUE(store.add_event(r, c.pe, line("pe", pe_id, 900, "registered",
                                             {{"pr", 0}, {"pool", "CalcAppPool"}, {"pe", pe_id},
                                              {"policy", "lu"}, {"load", 0}})));
  EXPECT_TRUE(store.add_event(r, c.pe, line("pe", pe_id, 2'000, "job_accepted",
                                             {{"session", 1}, {"job", 1}, {"size", 5000000},
                                              {"completed", 0}, {"resumed", false}, {"jobs", 1},
                                              {"load", 0.25}})));
  EXPECT_TRUE(store.add_event(r, c.pe, line("pe", pe_id, 2'001, "load_changed",
                                            {{"load", 0.25}, {"jobs", 1}})));
  EXPECT_TRUE(store.add_event(r, c.pe, line("pe", pe_id, 2'002, "load_changed",
                                            {{"load", 1073741824}, {"reregistering", true}})));
  EXPECT_TRUE(store.add_event(r, c.pe, pe_usage(pe_id, 10 * kSecond, 7.5e6, 1e7)));

  // PU
  EXPECT_TRUE(store.add_event(r, c.pu, pu_resolution(1'500, false, 812)));
  EXPECT_TRUE(store.add_event(r, c.pu, pu_resolution(2'500, true)));
  EXPECT_TRUE(store.add_event(r, c.pu, line("pu", "pu-1", 3'000, "handle_resolution",
                                            {{"registrar", 1}, {"pool", "CalcAppPool"},
                                             {"pes", json::array()}, {"cached", false},
                                             {"latency_us", 300}, {"error", "empty pool"}})));
  EXPECT_FALSE(store.add_event(r, c.pu, line("pu", "pu-1", 3'500, "job_rejected",
                                             {{"job", 1}, {"pe", pe_id}})));
  EXPECT_TRUE(store.add_event(r, c.pu, pu_failover(55 * kSecond, pe_id, 7'500'000, 1'234'567)));
  EXPECT_TRUE(store.add_event(r, c.pu, line("pu", "pu-1", 56 * kSecond, "failover",
                                            {{"job", 8}, {"from_pe", pe_id},
                                             {"cause", "connection_lost"},
                                             {"detection_delay_us", 1000}, {"to_pe", nullptr},
                                             {"cookie", false}, {"resumed", nullptr},
                                             {"lost", 300}, {"attempts", 3}})));
  EXPECT_TRUE(store.add_event(r, c.pu, pu_job(1, 5'000'000, 1'000, 6 * kSecond)));
  EXPECT_TRUE(store.add_event(r, c.pu, line("pu", "pu-1", 111 * kSecond, "job",
                                            {{"job", 9}, {"size", 10}, {"status", "unfinished"},
                                             {"queued_us", kStart + 100 * kSecond},
                                             {"started_us", nullptr}, {"accepted_us", nullptr},
                                             {"completed_us", nullptr}, {"pe", nullptr},
                                             {"rejects", 2}, {"failovers", 0},
                                             {"queuing_delay_us", nullptr},
                                             {"startup_delay_us", nullptr},
                                             {"processing_us", nullptr}, {"handling_us", nullptr},
                                             {"handling_speed", nullptr}})));
  EXPECT_FALSE(store.add_event(r, c.pu, line("pu", "pu-1", 112 * kSecond, "done",
                                             {{"reason", "stop"}, {"jobs_completed", 1},
                                              {"jobs_unfinished", 1}})));
  store.add_fault(r, "kill", "CalcAppPool/pe0", 45 * kSecond, {{"member", 0}, {"signal", "KILL"}});
  store.add_fault(r, "link_down", "site-a/isp0", 46 * kSecond);
  store.flush();

  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT time_us, kind, conn, pool, pe, policy, transport, port, addresses,"
                      " registration_life_ms, round(load, 6), reason FROM registrations ORDER BY id"),
            (Rows{{"1000", "registration", "1", "CalcAppPool", pe_id, "lu", "tcp", "5000",
                   "[\"10.0.0.2\"]", "90000", "0.5", "NULL"},
                  {"31000", "reregistration", "1", "CalcAppPool", pe_id, "lu", "tcp", "5000",
                   "[\"10.0.0.2\"]", "90000", "0.0", "NULL"},
                  {"50001", "deregistration", "NULL", "CalcAppPool", pe_id, "NULL", "NULL", "NULL",
                   "NULL", "NULL", "NULL", "keepalive_timeout"}}));
  EXPECT_EQ(query(db, "SELECT time_us, kind, pool, pe, json_extract(event, '$.event'),"
                      " json_extract(event, '$.time_us') FROM registrar_actions ORDER BY id"),
            (Rows{{"-5000", "ready", "NULL", "NULL", "ready", std::to_string(kStart - 5'000)},
                  {"1000", "registration", "CalcAppPool", pe_id, "registration",
                   std::to_string(kStart + 1'000)},
                  {"31000", "reregistration", "CalcAppPool", pe_id, "reregistration",
                   std::to_string(kStart + 31'000)},
                  {"40000", "handle_resolution", "CalcAppPool", "NULL", "handle_resolution",
                   std::to_string(kStart + 40'000)},
                  {"50000", "keepalive_timeout", "CalcAppPool", pe_id, "keepalive_timeout",
                   std::to_string(kStart + 50'000)},
                  {"50001", "deregistration", "CalcAppPool", pe_id, "deregistration",
                   std::to_string(kStart + 50'001)}}));
  EXPECT_EQ(one(db, "SELECT json_extract(event, '$.items') FROM registrar_actions"
                    " WHERE kind = 'handle_resolution'"),
            "3");

  EXPECT_EQ(query(db, "SELECT time_us, kind, calculations, offered, utilization, round(load, 6), jobs"
                      " FROM pe_samples ORDER BY id"),
            (Rows{{"2001", "load_changed", "NULL", "NULL", "NULL", "0.25", "1"},
                  {"2002", "load_changed", "NULL", "NULL", "NULL", "0.25", "NULL"},
                  {"10000000", "usage", "7500000.0", "10000000.0", "0.75", "NULL", "NULL"}}));

  // The PE's other events, each a row (the samples above are not).
  EXPECT_EQ(query(db, "SELECT component_id, time_us, kind, pe, pr, session, job,"
                      " json_extract(event, '$.size') FROM pe_events ORDER BY id"),
            (Rows{{std::to_string(c.pe), "900", "registered", pe_id, "0", "NULL", "NULL", "NULL"},
                  {std::to_string(c.pe), "2000", "job_accepted", pe_id, "NULL", "1", "1",
                   "5000000"}}));

  EXPECT_EQ(query(db, "SELECT component_id, time_us, pool, registrar, cached, latency_us, pes,"
                      " pe_count, error FROM handle_resolutions ORDER BY id"),
            (Rows{{std::to_string(c.pu), "1500", "CalcAppPool", "0", "0", "812",
                   "[\"0x5e5e5e5e\",\"0x00000002\"]", "2", "NULL"},
                  {std::to_string(c.pu), "2500", "CalcAppPool", "NULL", "1", "0",
                   "[\"0x5e5e5e5e\",\"0x00000002\"]", "2", "NULL"},
                  {std::to_string(c.pu), "3000", "CalcAppPool", "1", "0", "300", "[]", "0",
                   "empty pool"}}));
  EXPECT_EQ(query(db, "SELECT time_us, job, from_pe, cause, detection_delay_us, to_pe, cookie,"
                      " resumed, lost, attempts FROM failovers ORDER BY id"),
            (Rows{{"55000000", "7", pe_id, "keepalive_timeout", "7500000", "0x00000002", "1",
                   "2000000", "1234567", "1"},
                  {"56000000", "8", pe_id, "connection_lost", "1000", "NULL", "0", "NULL", "300",
                   "3"}}));
  EXPECT_EQ(query(db, "SELECT time_us, job, size, status, queued_us, started_us, accepted_us,"
                      " completed_us, pe, rejects, failovers, queuing_delay_us, startup_delay_us,"
                      " processing_us, handling_us, round(handling_speed, 3) FROM jobs ORDER BY id"),
            (Rows{{"6001000", "1", "5000000", "completed", "1000", "101000", "201000", "6001000",
                   pe_id, "0", "0", "100000", "100000", "5800000", "6000000", "833333.333"},
                  {"111000000", "9", "10", "unfinished", "100000000", "NULL", "NULL", "NULL",
                   "NULL", "2", "0", "NULL", "NULL", "NULL", "NULL", "NULL"}}));
  EXPECT_EQ(query(db, "SELECT kind, target, at_us, json_extract(details, '$.signal') FROM faults"
                      " ORDER BY id"),
            (Rows{{"kill", "CalcAppPool/pe0", "45000000", "KILL"},
                  {"link_down", "site-a/isp0", "46000000", "NULL"}}));

  // Every event is counted, those with a table and those without.
  EXPECT_EQ(query(db, "SELECT component_id, event, n FROM event_counts ORDER BY component_id, event"),
            (Rows{{std::to_string(c.pr), "deregistration", "1"},
                  {std::to_string(c.pr), "handle_resolution", "1"},
                  {std::to_string(c.pr), "keepalive_timeout", "1"},
                  {std::to_string(c.pr), "ready", "1"},
                  {std::to_string(c.pr), "registration", "1"},
                  {std::to_string(c.pr), "reregistration", "1"},
                  {std::to_string(c.pe), "job_accepted", "1"},
                  {std::to_string(c.pe), "load_changed", "2"},
                  {std::to_string(c.pe), "registered", "1"},
                  {std::to_string(c.pe), "usage", "1"},
                  {std::to_string(c.pu), "done", "1"},
                  {std::to_string(c.pu), "failover", "2"},
                  {std::to_string(c.pu), "handle_resolution", "3"},
                  {std::to_string(c.pu), "job", "2"},
                  {std::to_string(c.pu), "job_rejected", "1"}}));
  EXPECT_EQ(store.count("malformed_events"), 0);
}

// The echo service's events as `rsplab pe/pu --service echo` writes them (docs/events.md):
// the PE's are rows of pe_events, the PU's failover a row of failovers (job 1, replies)
// and its series' done a row of echo_series; none is malformed. CalcApp's done (no
// `requests`) stays counted only.
TEST_F(StoreTest, EchoEventsLandInPeEventsFailoversAndEchoSeries) {
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "rr");
  const Components c = components(store, r, "rr");
  const std::string pe = "0x00000002";
  for (const json& e :
       {line("pe", pe, 100, "ready",
             {{"member", 0}, {"user_transport", "10.0.1.2:39357"}, {"transport", "tcp"},
              {"pool", "EchoPool"}, {"policy", "rr"}, {"service", "echo"}, {"cookie_every", 3}}),
        line("pe", pe, 2'000'000, "session_opened", {{"session", 2}}),
        line("pe", pe, 2'000'001, "echo_resumed", {{"session", 2}, {"replies", 15}}),
        line("pe", pe, 4'000'000, "echo_ended",
             {{"session", 2}, {"replies", 40}, {"resumed_from", 15}, {"cause", "session_lost"}}),
        line("pe", pe, 5'000'000, "killed", {{"member", 0}})})
    EXPECT_TRUE(store.add_event(r, c.pe2, e)) << e.dump();
  json failover = pu_failover_at(1, "0x5e5e5e5e", 1'990'000, 15, 2, 40938);
  // A PU's ready and CalcApp's done are counted only: no row of a table (false).
  EXPECT_FALSE(store.add_event(r, c.pu, line("pu", "pu-1", 50, "ready",
                                            {{"member", 0}, {"service", "echo"}})));
  EXPECT_TRUE(store.add_event(r, c.pu, failover));
  EXPECT_TRUE(store.add_event(r, c.pu, line("pu", "pu-1", 4'000'000, "done",
                                            {{"reason", "count"}, {"requests", 42},
                                             {"answers", 42}, {"duplicates", 2}, {"lost", 0},
                                             {"replies", 40}, {"failovers", 1},
                                             {"resolutions", 2}, {"cache_hits", 0},
                                             {"unreachable_reports", 1}, {"rejects", 0},
                                             {"registrar_failovers", 0}, {"discarded", 0}})));
  EXPECT_FALSE(store.add_event(r, c.pu, line("pu", "pu-1", 4'000'001, "done",
                                            {{"reason", "max_jobs"}, {"jobs_completed", 3},
                                             {"jobs_unfinished", 0}, {"failovers", 0}})));
  const Connection db(store, path_);

  EXPECT_EQ(query(db, "SELECT kind, pe, session, json_extract(event, '$.replies'),"
                      " json_extract(event, '$.resumed_from') FROM pe_events ORDER BY id"),
            (Rows{{"ready", pe, "NULL", "NULL", "NULL"},
                  {"session_opened", pe, "2", "NULL", "NULL"},
                  {"echo_resumed", pe, "2", "15", "NULL"},
                  {"echo_ended", pe, "2", "40", "15"},
                  {"killed", pe, "NULL", "NULL", "NULL"}}));
  EXPECT_EQ(store.count("pe_progress"), 0);
  EXPECT_EQ(query(db, "SELECT job, from_pe, to_pe, cookie, resumed, lost FROM failovers"),
            (Rows{{"1", "0x5e5e5e5e", "0x00000002", "1", "15", "2"}}));
  EXPECT_EQ(query(db, "SELECT component_id, time_us, reason, requests, answers, duplicates,"
                      " lost, replies, failovers FROM echo_series"),
            (Rows{{std::to_string(c.pu), "4000000", "count", "42", "42", "2", "0", "40", "1"}}));
  EXPECT_EQ(query(db, "SELECT n FROM event_counts WHERE component_id = :c AND event = 'done'",
                  {{":c", c.pu}}),
            (Rows{{"2"}}));
  EXPECT_EQ(store.count("malformed_events"), 0);
}

// ENRP: a takeover, a handle table download and an adoption are rows of their own tables,
// and every ENRP event is a registrar action.
TEST_F(StoreTest, EnrpEventsLandInTakeoversSyncsAndAdoptions) {
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "lu");
  const Components c = components(store, r, "lu");
  const std::string pr = "0x00000001";
  for (const json& e :
       {line("registrar", pr, 1'000, "serving", {{"mentor", nullptr}, {"pes", 0}, {"waited_ms", 0}}),
        line("registrar", pr, 2'000, "handle_table_sync",
             {{"peer", "0x00000002"}, {"reason", "mentor"}, {"pes", 1200}, {"pages", 3},
              {"removed", 0}, {"duration_ms", 41}}),
        line("registrar", pr, 9'000'000, "takeover_started",
             {{"target", "0x00000003"}, {"awaiting", {"0x00000002"}}, {"silent_ms", 10010}}),
        line("registrar", pr, 9'040'000, "pe_adopted",
             {{"pool", "CalcAppPool"}, {"pe", "0x5e5e5e5e"}, {"from", "0x00000003"}}),
        line("registrar", pr, 9'040'000, "takeover",
             {{"target", "0x00000003"}, {"outcome", "completed"}, {"pes", 1}, {"acks", 1},
              {"duration_ms", 40}})})
    EXPECT_TRUE(store.add_event(r, c.pr, e)) << e.dump();
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT time_us, started_us, target, outcome, pes, acks FROM enrp_takeovers"),
            (Rows{{"9040000", "9000000", "0x00000003", "completed", "1", "1"}}));
  EXPECT_EQ(query(db, "SELECT time_us, peer, reason, pes, pages, removed, duration_us FROM enrp_syncs"),
            (Rows{{"2000", "0x00000002", "mentor", "1200", "3", "0", "41000"}}));
  EXPECT_EQ(query(db, "SELECT time_us, pool, pe, from_registrar FROM pe_adoptions"),
            (Rows{{"9040000", "CalcAppPool", "0x5e5e5e5e", "0x00000003"}}));
  EXPECT_EQ(query(db, "SELECT kind FROM registrar_actions ORDER BY id"),
            (Rows{{"serving"}, {"handle_table_sync"}, {"takeover_started"}, {"pe_adopted"},
                  {"takeover"}}));
  // A malformed one is kept as such, not half a row.
  EXPECT_FALSE(store.add_event(r, c.pr, line("registrar", pr, 9'050'000, "takeover",
                                             {{"target", "0x00000003"}, {"outcome", "completed"}})));
  EXPECT_EQ(store.count("enrp_takeovers"), 1);
  EXPECT_EQ(store.count("malformed_events"), 1);
}

// The events the stack writes through its structs (stack/common/events.hpp), as they come
// out of the producers, land where the hand-written lines above do: the registration core's
// load_changed scaled to 0…1 in pe_samples, the service's as it is; message_discarded and the
// echo PE's events whole in pe_events; an echo series' done in echo_series, CalcApp's counted.
TEST_F(StoreTest, EventsWrittenThroughTheStacksStructsLandAsBefore) {
  namespace ev = rsplab::common;
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "lu");
  const Components c = components(store, r);
  const auto stamp = [](json e, std::int64_t at_us) {
    e["time_us"] = kStart + at_us;
    e["component"] = e.value("component", "pe");
    return e;
  };
  ev::MessageDiscardedEvent discarded;
  discarded.session = 3;
  discarded.ppid = 33;
  discarded.reason = "unknown session";
  for (const json& e : {stamp(ev::LoadChangedEvent{1073741824.0, std::nullopt, false, true}, 10),
                        stamp(ev::LoadChangedEvent{0.5, 2, true}, 11)})
    EXPECT_TRUE(store.add_event(r, c.pe, e)) << e.dump();
  for (const json& e : {stamp(discarded, 12), stamp(ev::EchoResumedEvent{3, 15}, 13),
                        stamp(ev::EchoEndedEvent{3, 40, 15, "shutdown"}, 14)})
    EXPECT_TRUE(store.add_event(r, c.pe2, e)) << e.dump();
  ev::CalcAppDoneEvent calcapp;
  calcapp.reason = "stop";
  calcapp.jobs_completed = 3;
  EXPECT_FALSE(store.add_event(r, c.pu, stamp(calcapp, 20)));
  ev::EchoDoneEvent echo{"count", 42, 42, 2, 0, 40, 1};
  echo.resolutions = 2;
  EXPECT_TRUE(store.add_event(r, c.pu, stamp(echo, 21)));
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT time_us, round(load, 6), jobs FROM pe_samples ORDER BY id"),
            (Rows{{"10", "0.25", "NULL"}, {"11", "0.5", "2"}}));
  EXPECT_EQ(query(db, "SELECT kind, session, json_extract(event, '$.ppid') FROM pe_events"
                      " ORDER BY id"),
            (Rows{{"message_discarded", "3", "33"}, {"echo_resumed", "3", "NULL"},
                  {"echo_ended", "3", "NULL"}}));
  EXPECT_EQ(query(db, "SELECT reason, requests, replies, failovers FROM echo_series"),
            (Rows{{"count", "42", "40", "1"}}));
  EXPECT_EQ(store.count("malformed_events"), 0);
}

TEST_F(StoreTest, RowCountsEqualEventsFedAcrossBatchBoundaries) {
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "lu");
  const Components c = components(store, r);
  Reader reader(path_);

  constexpr int kResolutions = 2'345, kFailovers = 1'201, kJobs = 1'777, kUsage = 1'003,
                kRegistrations = 1'111;
  for (int i = 0; i < kResolutions; ++i)
    ASSERT_TRUE(store.add_event(r, c.pu, pu_resolution(i * 1'000, i % 3 == 0)));
  // Batches were committed on the way (another connection sees them) but not the tail.
  const std::int64_t seen = integer(reader.get(), "SELECT count(*) FROM handle_resolutions");
  EXPECT_GT(seen, 0);
  EXPECT_LT(seen, kResolutions);
  // The writer's own connection sees everything.
  EXPECT_EQ(store.count("handle_resolutions", r), kResolutions);

  for (int i = 0; i < kFailovers; ++i)
    ASSERT_TRUE(store.add_event(r, c.pu, pu_failover(i * 1'000, "0x5e5e5e5e", 5'000 + i, i)));
  for (int i = 0; i < kJobs; ++i)
    ASSERT_TRUE(store.add_event(r, c.pu, pu_job(i + 1, 1'000 + i, i * 1'000, 2'000'000)));
  for (int i = 0; i < kUsage; ++i)
    ASSERT_TRUE(store.add_event(r, c.pe, pe_usage("0x5e5e5e5e", i * kSecond, 5e5, 1e6)));
  for (int i = 0; i < kRegistrations; ++i)
    ASSERT_TRUE(store.add_event(
        r, c.pr, line("registrar", "0x00000001", i, i == 0 ? "registration" : "reregistration",
                      {{"conn", 1}, {"pool", "CalcAppPool"}, {"pe", "0x5e5e5e5e"},
                       {"policy", "lu"}, {"load", i}})));
  store.flush();

  sqlite3* db = reader.get();
  EXPECT_EQ(integer(db, "SELECT count(*) FROM handle_resolutions"), kResolutions);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM failovers"), kFailovers);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM jobs"), kJobs);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM pe_samples"), kUsage);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM registrations"), kRegistrations);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM registrar_actions"), kRegistrations);
  EXPECT_EQ(store.count("failovers", r), kFailovers);
  EXPECT_EQ(store.count("jobs", r), kJobs);
  EXPECT_EQ(store.count("jobs", r + 1), 0);
  // The counters agree with the rows: what a later test compares with the components' own.
  EXPECT_EQ(query(db, "SELECT event, n FROM event_counts ORDER BY event"),
            (Rows{{"failover", std::to_string(kFailovers)},
                  {"handle_resolution", std::to_string(kResolutions)},
                  {"job", std::to_string(kJobs)},
                  {"registration", "1"},
                  {"reregistration", std::to_string(kRegistrations - 1)},
                  {"usage", std::to_string(kUsage)}}));
  EXPECT_EQ(integer(db, "SELECT sum(cached) FROM handle_resolutions"), (kResolutions + 2) / 3);
  EXPECT_EQ(integer(db, "SELECT sum(size) FROM jobs"),
            static_cast<std::int64_t>(kJobs) * 1'000 + (kJobs - 1) * kJobs / 2);
}

TEST_F(StoreTest, MalformedEventsDoNotThrowAndAreCountedAndKept) {
  Store store = Store::open(path_);
  const std::int64_t r = run(store, experiment(store), "lu");
  const Components c = components(store, r);
  json missing_size = pu_job(1, 100, 0, 1'000);
  missing_size.erase("size");
  json string_size = pu_job(1, 100, 0, 1'000);
  string_size["size"] = "100";
  json fractional_queued = pu_job(1, 100, 0, 1'000);
  fractional_queued["queued_us"] = 1.5;
  json bad_pes = pu_resolution(0, false);
  bad_pes["pes"] = "0x5e5e5e5e";
  json numeric_pe = pu_resolution(0, false);
  numeric_pe["pes"] = {1, 2};
  json failover_numeric_pe = pu_failover(0, "x", 0, 0);
  failover_numeric_pe["from_pe"] = 1234;
  json failover_no_lost = pu_failover(0, "x", 0, 0);
  failover_no_lost.erase("lost");
  json huge_time = pu_resolution(0, false);
  huge_time["time_us"] = 18'000'000'000'000'000'000u;  // > INT64_MAX
  json overflowing_time = pu_resolution(0, false);
  overflowing_time["time_us"] = std::numeric_limits<std::int64_t>::min();
  json no_event = pu_resolution(0, false);
  no_event.erase("event");

  const std::vector<std::pair<std::int64_t, json>> bad = {
      {c.pu, json::array({1, 2})},
      {c.pu, json("a string")},
      {c.pu, json(nullptr)},
      {c.pu, no_event},
      {c.pu, line("pu", "pu-1", 0, "") },
      {c.pu, json{{"event", 5}, {"time_us", kStart}}},
      {c.pu, json{{"event", "job"}}},
      {c.pu, json{{"event", "ready"}, {"time_us", "yesterday"}}},
      {c.pu, missing_size},
      {c.pu, string_size},
      {c.pu, fractional_queued},
      {c.pu, bad_pes},
      {c.pu, numeric_pe},
      {c.pu, failover_numeric_pe},
      {c.pu, failover_no_lost},
      {c.pu, huge_time},
      {c.pu, overflowing_time},
      {c.pr, line("registrar", "0x1", 0, "registration", {{"pe", "0x5e5e5e5e"}, {"policy", "lu"}})},
      {c.pr, line("registrar", "0x1", 0, "deregistration", {{"pool", "p"}, {"pe", "0x5e"}})},
      {c.pe, line("pe", "0x5e", 0, "usage", {{"calculations", "many"}, {"offered", 1.0}})},
      {c.pe, line("pe", "0x5e", 0, "load_changed", {{"load", true}})},
  };
  for (const auto& [component, event] : bad) {
    bool wrote = true;
    EXPECT_NO_THROW(wrote = store.add_event(r, component, event)) << event.dump();
    EXPECT_FALSE(wrote) << event.dump();
  }
  // Good events still go in afterwards.
  EXPECT_TRUE(store.add_event(r, c.pu, pu_job(2, 100, 0, 1'000)));
  store.flush();

  const Connection db(store, path_);
  const auto n = static_cast<std::int64_t>(bad.size());
  EXPECT_EQ(integer(db, "SELECT sum(n) FROM event_counts WHERE event = 'malformed'"), n);
  EXPECT_EQ(store.count("malformed_events", r), n);
  EXPECT_EQ(integer(db, "SELECT count(*) FROM malformed_events WHERE error = ''"), 0);
  EXPECT_EQ(one(db, "SELECT error FROM malformed_events WHERE event LIKE '%\"yesterday\"%'"),
            "'time_us' is not an integer");
  for (const char* error : {"missing 'size'", "'size' is not an integer",
                            "'queued_us' is not an integer", "'pes' is not an array",
                            "'pes' holds a non-string", "'from_pe' is not a string",
                            "missing 'lost'", "'time_us' is out of range", "missing 'event'",
                            "not a JSON object", "missing 'pool'", "missing 'reason'",
                            "'calculations' is not a number", "'load' is not a number"})
    EXPECT_GE(integer(db, "SELECT count(*) FROM malformed_events WHERE error = :e",
                      {{":e", std::string(error)}}), 1) << error;
  // No partial rows: the malformed registration left no registrar action either.
  EXPECT_EQ(store.count("registrations"), 0);
  EXPECT_EQ(store.count("registrar_actions"), 0);
  EXPECT_EQ(store.count("pe_samples"), 0);
  EXPECT_EQ(store.count("handle_resolutions"), 0);
  EXPECT_EQ(store.count("failovers"), 0);
  EXPECT_EQ(store.count("jobs"), 1);
}

TEST_F(StoreTest, UnknownRunOrComponentIsTheCallersBugAndThrows) {
  Store store = Store::open(path_);
  const std::int64_t e = experiment(store);
  const std::int64_t r1 = run(store, e, "lu", 0), r2 = run(store, e, "rr", 1);
  const Components c1 = components(store, r1);
  EXPECT_THROW(store.add_event(r1, 999, pu_resolution(0, false)), StoreError);
  EXPECT_THROW(store.add_event(r2, c1.pu, pu_resolution(0, false)), StoreError);
  EXPECT_THROW(store.add_event(99, c1.pu, pu_resolution(0, false)), StoreError);
  EXPECT_EQ(store.count("event_counts"), 0);
}

// ---- Views ----------------------------------------------------------------------------------

TEST_F(StoreTest, PolicySummaryIsTheRatioOfSumsOverTheMeasuredWindow) {
  Store store = Store::open(path_);
  const std::int64_t e = experiment(store);
  // Warm-up 10 s, measured 100 s: jobs count when completed in [10 s, 110 s].
  const std::int64_t lu = run(store, e, "lu", 0), rr = run(store, e, "rr", 1);
  const Components a = components(store, lu), b = components(store, rr, "rr");

  // run lu: completion time = queued + handling
  store.add_event(lu, a.pu, pu_job(1, 1'000'000, 3 * kSecond, 2 * kSecond));    // 5 s: warm-up
  store.add_event(lu, a.pu, pu_job(2, 4'000'000, 16 * kSecond, 4 * kSecond));   // 20 s
  store.add_event(lu, a.pu, pu_job(3, 2'000'000, 49 * kSecond, 1 * kSecond));   // 50 s
  store.add_event(lu, a.pu, pu_job(4, 6'000'000, 105 * kSecond, 5 * kSecond));  // 110 s: the end
  store.add_event(lu, a.pu, pu_job(5, 9'000'000, 110 * kSecond, 1 * kSecond));  // 111 s: after
  store.add_event(lu, a.pu, line("pu", "pu-1", 111 * kSecond, "job",
                                 {{"job", 6}, {"size", 7'000'000}, {"status", "unfinished"},
                                  {"queued_us", kStart + 60 * kSecond}, {"started_us", nullptr},
                                  {"accepted_us", nullptr}, {"completed_us", nullptr},
                                  {"pe", nullptr}, {"rejects", 0}, {"failovers", 0},
                                  {"queuing_delay_us", nullptr}, {"startup_delay_us", nullptr},
                                  {"processing_us", nullptr}, {"handling_us", nullptr},
                                  {"handling_speed", nullptr}}));
  store.add_event(lu, a.pu, pu_failover(5 * kSecond, "0x5e5e5e5e", 1'000, 50));   // warm-up
  store.add_event(lu, a.pu, pu_failover(30 * kSecond, "0x5e5e5e5e", 2'000, 100));
  store.add_event(lu, a.pu, pu_failover(60 * kSecond, "0x00000002", 3'000, 300));
  // Usage: capacity 1e6 at 50 %, capacity 4e6 at 75 %; the sample ending at the warm-up
  // covers warm-up time only.
  store.add_event(lu, a.pe, pe_usage("0x5e5e5e5e", 10 * kSecond, 1e7, 1e7));
  store.add_event(lu, a.pe, pe_usage("0x5e5e5e5e", 20 * kSecond, 5e6, 1e7));
  store.add_event(lu, a.pe2, pe_usage("0x00000002", 20 * kSecond, 3e7, 4e7));
  // run rr: one job, 3e6 in 3 s
  store.add_event(rr, b.pu, pu_job(1, 3'000'000, 20 * kSecond, 3 * kSecond));
  store.flush();

  const Connection db(store, path_);
  // lu: Σsize = 4e6 + 2e6 + 6e6 = 12e6 over Σhandling = 4 + 1 + 5 = 10 s → 1.2e6/s (the
  // mean of the per-job speeds would be 1.4e6/s); utilization 35e6 / 50e6 = 0.7 (the mean
  // of the per-PE values would be 0.625).
  EXPECT_EQ(query(db, "SELECT run_id, policy, jobs_completed, calculations, handling_us,"
                      " handling_speed, failovers, lost_calculations, utilization"
                      " FROM policy_summary ORDER BY run_id"),
            (Rows{{std::to_string(lu), "lu", "3", "12000000", "10000000", "1200000.0", "2", "400",
                   "0.7"},
                  {std::to_string(rr), "rr", "1", "3000000", "3000000", "1000000.0", "0", "0",
                   "NULL"}}));
  EXPECT_EQ(query(db, "SELECT name, calculations, offered, utilization FROM pe_utilization"
                      " WHERE run_id = :r ORDER BY name",
                  {{":r", lu}}),
            (Rows{{"CalcAppPool/pe0#0", "5000000.0", "10000000.0", "0.5"},
                  {"CalcAppPool/pe1#0", "30000000.0", "40000000.0", "0.75"}}));
  EXPECT_EQ(integer(db, "SELECT count(*) FROM measured_jobs"), 4);
}

std::string readme_query(const std::string& name);  // below

// Issue 12: a PE killed in its process reports its jobs' progress; end_run matches each
// failover away from it to that progress (same PE, job and PU session end) for the exact
// loss, next to the PU's lower bound, and links the kill fault with its delay to detection.
// A failover without such a report (a PE killed from outside) keeps NULL, never 0.
TEST_F(StoreTest, FailoversGetTheirExactLossAndFaultAtTheEndOfTheRun) {
  Store store = Store::open(path_);
  const auto r = run(store, experiment(store), "lu");
  const auto c = components(store, r);
  store.add_fault(r, "kill", "CalcAppPool/pe0", 30 * kSecond,
                  {{"scheduled_us", 30 * kSecond},
                   {"members", {{{"component", "CalcAppPool/pe0"}, {"member", 0},
                                 {"id", "0x5e5e5e5e"}, {"jobs_in_progress", 3}}}}});
  // Job 7 had reached 3.2e6 (cookie at 2e6; the PU had heard of 2.5e6); job 8 0.9e6 with no
  // cookie yet; job 9 1.5e6, never accepted again; another PU's job 7 (port 40009).
  EXPECT_TRUE(store.add_event(
      r, c.pe,
      pe_killed("0x5e5e5e5e", 30 * kSecond + 1'000,
                {{7, 3'200'000, 40001}, {8, 900'000, 40002}, {9, 1'500'000, 40003},
                 {7, 100, 40009}})));
  store.add_event(r, c.pu, pu_failover_at(7, "0x5e5e5e5e", 31 * kSecond, 2'000'000, 500'000, 40001));
  store.add_event(r, c.pu, pu_failover_at(8, "0x5e5e5e5e", 32 * kSecond, 0, 0, 40002));
  store.add_event(r, c.pu, pu_failover_at(9, "0x5e5e5e5e", 33 * kSecond, std::nullopt, 1'000'000, 40003));
  // Failed before the kill was reported (an earlier connection loss): no exact value.
  store.add_event(r, c.pu, pu_failover_at(7, "0x5e5e5e5e", 20 * kSecond, 0, 0, 40001));
  // A PE stopped in its process (--control stop) reports too; no fault row names it here.
  json stopped = pe_killed("0x00000002", 39 * kSecond, {{4, 700, 40005}});
  stopped["event"] = "stopped";
  EXPECT_TRUE(store.add_event(r, c.pe2, stopped));
  store.add_event(r, c.pu, pu_failover_at(4, "0x00000002", 40 * kSecond, 0, 0, 40005));
  // A PE killed from outside (no report, no fault naming it).
  store.add_event(r, c.pu, pu_failover_at(5, "0x0000dead", 41 * kSecond, 0, 0, 40007));
  store.end_run(r, "completed", kStart + 111 * kSecond);
  const Connection db(store, path_);
  EXPECT_EQ(store.count("pe_progress", r), 5);
  EXPECT_EQ(query(db, "SELECT job, detected_us, resumed, lost, lost_exact, fault_id,"
                      " fault_to_detection_us FROM failovers ORDER BY detected_us"),
            (Rows{{"7", "20000000", "0", "0", "NULL", "NULL", "NULL"},
                  {"7", "31000000", "2000000", "500000", "1200000", "1", "1000000"},
                  {"8", "32000000", "0", "0", "900000", "1", "2000000"},
                  {"9", "33000000", "NULL", "1000000", "1500000", "1", "3000000"},
                  {"4", "40000000", "0", "0", "700", "NULL", "NULL"},
                  {"5", "41000000", "0", "0", "NULL", "NULL", "NULL"}}));
  EXPECT_EQ(query(db, readme_query("exact_lost_work"), {{":run_id", r}}),
            (Rows{{"0x0000dead", "1", "0", "NULL", "0", "NULL"},
                  {"CalcAppPool/pe0#0", "4", "1500000", "3600000", "3", "2000000.0"},
                  {"CalcAppPool/pe1#0", "1", "0", "700", "1", "NULL"}}));
}

// A file of version 3 is migrated: its failovers are kept, the new columns NULL.
TEST_F(StoreTest, MigratesVersionThreeFilesKeepingTheirFailovers) {
  {
    Store store = Store::open(path_);
    const auto r = run(store, experiment(store), "lu");
    const auto c = components(store, r);
    store.add_event(r, c.pu, pu_failover(55 * kSecond, "0x5e5e5e5e", 7'500'000, 1'234'567));
    store.flush();
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db, (kUndoV4 + " PRAGMA user_version = 3").c_str(), nullptr,
                           nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(query(db, "SELECT lost, detected_us, lost_exact, fault_id FROM failovers"),
            (Rows{{"1234567", "NULL", "NULL", "NULL"}}));
  EXPECT_EQ(store.count("pe_progress"), 0);
}

// A version 4 file opened by this build: migrated in place, its runs read through the
// OMNeT++ views at once.
TEST_F(StoreTest, MigratesVersionFourFilesToTheOmnetppViews) {
  std::int64_t r = 0;
  {
    Store store = Store::open(path_);
    r = run(store, experiment(store), "lu");
    store.flush();
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db, (kUndoV5 + " PRAGMA user_version = 4").c_str(), nullptr,
                           nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_EQ(integer(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'run'"), 0);
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(query(db, "SELECT runId, simtimeExp FROM run"),
            (Rows{{std::to_string(r), "-6"}}));
  EXPECT_EQ(query(db, "SELECT itervarName, itervarValue FROM runItervar ORDER BY 1"),
            (Rows{{"policy", "lu"}, {"ratio", "10"}}));
}

// A version 5 file opened by this build: migrated in place, its runs' metrics read through
// run_metrics at once (a run without jobs: no handling speed, 0 jobs).
TEST_F(StoreTest, MigratesVersionFiveFilesToRunMetrics) {
  std::int64_t r = 0;
  {
    Store store = Store::open(path_);
    r = run(store, experiment(store), "lu");
    store.flush();
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db, (kUndoV6 + " PRAGMA user_version = 5").c_str(), nullptr,
                           nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_EQ(integer(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'run_metrics'"), 0);
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(query(db, "SELECT run_id, policy, jobs_completed, handling_speed FROM run_metrics"),
            (Rows{{std::to_string(r), "lu", "0", "NULL"}}));
}

// A file of the version before a table came (6: --until-ci's verdicts, 7: the echo
// service's series) is migrated: its runs kept, the new table empty.
struct OlderFile {
  const char* name;
  std::int64_t version;
  const std::string* undo;  // what takes a file back to `version`
  const char* table;        // the table the next version added
};

class MigratesOlderFile : public StoreTest, public ::testing::WithParamInterface<OlderFile> {};

TEST_P(MigratesOlderFile, KeepingItsRunsWithTheNewTableEmpty) {
  const OlderFile& f = GetParam();
  {
    Store store = Store::open(path_);
    run(store, experiment(store), "lu");
    store.flush();
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db,
                           (*f.undo + " PRAGMA user_version = " + std::to_string(f.version)).c_str(),
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  Store store = Store::open(path_);
  EXPECT_EQ(integer(Connection(store, path_), "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(store.count("runs"), 1);
  EXPECT_EQ(store.count(f.table), 0);
}

INSTANTIATE_TEST_SUITE_P(StoreTest, MigratesOlderFile,
                         ::testing::Values(OlderFile{"VersionSixToUntilCi", 6, &kUndoV7, "until_ci"},
                                           OlderFile{"VersionSevenToEchoSeries", 7, &kUndoV8,
                                                     "echo_series"},
                                           OlderFile{"VersionNineToEnrpTakeovers", 9, &kUndoV10,
                                                     "enrp_takeovers"},
                                           OlderFile{"VersionTenToProcesses", 10, &kUndoV11,
                                                     "processes"}),
                         [](const ::testing::TestParamInfo<OlderFile>& i) { return std::string(i.param.name); });

// Issue 14: job sizes near INT64_MAX made SQLite's sum() fail every read of run_metrics
// ("integer overflow"). Since version 9 such sums are reals; realistic ones stay integers.
constexpr std::int64_t kHugeSize = std::numeric_limits<std::int64_t>::max() - 10;

TEST_F(StoreTest, RunMetricsReadsSumsPastInt64Max) {
  Store store = Store::open(path_);
  const auto e = experiment(store);
  const auto big = run(store, e, "lu", 0), small = run(store, e, "rr", 1);
  const auto cb = components(store, big), cs = components(store, small);
  for (std::int64_t i = 0; i < 2; ++i) {
    store.add_event(big, cb.pu, pu_job(i + 1, kHugeSize, (20 + 10 * i) * kSecond, 2 * kSecond));
    store.add_event(big, cb.pu, pu_failover((40 + 10 * i) * kSecond, "0x5e5e5e5e", 100'000, kHugeSize));
    store.add_event(small, cs.pu, pu_job(i + 1, 1'000'000 + 2'000'000 * i, (20 + 10 * i) * kSecond, 2 * kSecond));
  }
  store.add_event(small, cs.pu, pu_failover(40 * kSecond, "0x5e5e5e5e", 100'000, 500));
  const Connection db(store, path_);
  EXPECT_EQ(query(db, "SELECT * FROM run_metrics").size(), 2u);
  EXPECT_EQ(query(db, "SELECT typeof(calculations), calculations, typeof(lost_lower_bound),"
                      " lost_lower_bound, typeof(handling_us), handling_us, jobs_completed"
                      " FROM run_metrics ORDER BY run_id"),
            (Rows{{"real", "1.84467440737096e+19", "real", "1.84467440737096e+19", "integer",
                   "4000000", "2"},
                  {"integer", "4000000", "integer", "500", "integer", "4000000", "2"}}));
  EXPECT_EQ(query(db, "SELECT handling_speed FROM policy_summary WHERE run_id = :r",
                  {{":r", small}}),
            (Rows{{"1000000.0"}}));
}

// A version 8 file whose run_metrics overflows: migrated, it reads.
TEST_F(StoreTest, MigratesVersionEightFilesToSumsThatDoNotOverflow) {
  {
    Store store = Store::open(path_);
    const auto r = run(store, experiment(store), "lu");
    const auto c = components(store, r);
    for (std::int64_t i = 0; i < 2; ++i)
      store.add_event(r, c.pu, pu_job(i + 1, kHugeSize, (20 + 10 * i) * kSecond, 2 * kSecond));
    const Connection db(store, path_);
    ASSERT_EQ(sqlite3_exec(db, (kUndoV9 + " PRAGMA user_version = 8").c_str(), nullptr,
                           nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    try {
      query(db, "SELECT * FROM run_metrics");
      ADD_FAILURE() << "the version 8 view read sums past INT64_MAX";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("integer overflow"), std::string::npos) << e.what();
    }
  }
  Store store = Store::open(path_);
  const Connection db(store, path_);
  EXPECT_EQ(integer(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(query(db, "SELECT typeof(calculations), jobs_completed FROM run_metrics"),
            (Rows{{"real", "2"}}));
}

// --until-ci's verdict per sweep point: one row per experiment, point and target, the newest
// kept; a verdict that is not one of the four is refused by the table.
TEST_F(StoreTest, UntilCiVerdictsReplaceTheSameTargetsAndKeepOthers) {
  Store store = Store::open(path_);
  const auto e = experiment(store);
  UntilCiVerdict v;
  v.experiment_id = e;
  v.parameters = {{"policy", "lu"}, {"ratio", "10"}};
  v.percent = 5;
  v.max_repetitions = 20;
  v.metrics = {"handling_speed", "utilization"};
  v.verdict = "more runs";
  EXPECT_THROW(store.set_until_ci(v), StoreError);
  v.verdict = "cap";
  v.runs = 20;
  v.estimates = {{"handling_speed", {{"n", 20}, {"mean", 1000.0}, {"half_width", 62.5}}}};
  store.set_until_ci(v);
  v.verdict = "reached";  // the same campaign run again (a run was added meanwhile, say)
  store.set_until_ci(v);
  v.percent = 10;  // another target: a row of its own
  v.runs = 4;
  store.set_until_ci(v);
  v.parameters = {{"policy", "rr"}, {"ratio", "10"}};
  v.verdict = "no_value";
  store.set_until_ci(v);
  EXPECT_EQ(query(Connection(store, path_),
                  "SELECT json_extract(parameters, '$.policy'), percent, verdict, runs, metrics,"
                  " json_extract(estimates, '$.handling_speed.half_width')"
                  " FROM until_ci ORDER BY id"),
            (Rows{{"lu", "5.0", "reached", "20", "[\"handling_speed\",\"utilization\"]", "62.5"},
                  {"lu", "10.0", "reached", "4", "[\"handling_speed\",\"utilization\"]", "62.5"},
                  {"rr", "10.0", "no_value", "4", "[\"handling_speed\",\"utilization\"]",
                   "62.5"}}));
}

// ---- The example queries of results/README.md, verbatim ---------------------------------------

// The ```sql block after "<!-- query: NAME -->".
std::string readme_query(const std::string& name) {
  std::ifstream in(RSPLAB_RESULTS_README);
  if (!in) throw std::runtime_error("cannot read " RSPLAB_RESULTS_README);
  std::string l, sql;
  bool found = false, inside = false;
  while (std::getline(in, l)) {
    if (!found) {
      found = l == "<!-- query: " + name + " -->";
    } else if (!inside) {
      if (l == "```sql") inside = true;
    } else if (l == "```") {
      return sql;
    } else {
      sql += l + "\n";
    }
  }
  throw std::runtime_error("results/README.md has no query " + name);
}

// Every ```sql block of the README, named or not, compiles against the schema (names of
// tables, columns and views included: SQLite resolves them when preparing).
TEST_F(StoreTest, EverySqlBlockOfTheReadmePrepares) {
  Store store = Store::open(path_);
  std::ifstream in(RSPLAB_RESULTS_README);
  ASSERT_TRUE(in);
  std::vector<std::string> blocks;
  std::string l;
  bool inside = false;
  while (std::getline(in, l)) {
    if (!inside && l == "```sql") {
      inside = true;
      blocks.emplace_back();
    } else if (inside && l == "```") {
      inside = false;
    } else if (inside) {
      blocks.back() += l + "\n";
    }
  }
  EXPECT_GE(blocks.size(), 5u);
  const Connection db(store, path_);
  for (const auto& block : blocks) {
    const char* sql = block.c_str();
    while (*sql != '\0') {
      sqlite3_stmt* s = nullptr;
      const char* tail = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, &tail), SQLITE_OK)
          << sqlite3_errmsg(db) << "\n" << sql;
      sqlite3_finalize(s);
      sql = tail;
    }
  }
}

class ReadmeQueries : public StoreTest {
 protected:
  void SetUp() override {
    store_ = std::make_unique<Store>(Store::open(path_));
    Store& s = *store_;
    experiment_ = experiment(s);
    lu_ = run(s, experiment_, "lu", 0);
    lu2_ = run(s, experiment_, "lu", 1);
    rr_ = run(s, experiment_, "rr", 2);
    const Components a = components(s, lu_), a2 = components(s, lu2_),
                     b = components(s, rr_, "rr");
    // lu: 3 resolutions (1 cached) + 1 in its repetition; rr: 2, one with an error.
    s.add_event(lu_, a.pu, pu_resolution(1'000, false, 1'000));
    s.add_event(lu_, a.pu, pu_resolution(2'000, false, 3'000));
    s.add_event(lu_, a.pu, pu_resolution(3'000, true));
    s.add_event(lu2_, a2.pu, pu_resolution(1'000, false, 2'000));
    s.add_event(rr_, b.pu, pu_resolution(1'000, false, 500));
    s.add_event(rr_, b.pu, line("pu", "pu-1", 2'000, "handle_resolution",
                                {{"registrar", 0}, {"pool", "CalcAppPool"},
                                 {"pes", json::array()}, {"cached", false},
                                 {"latency_us", 1'500}, {"error", "Unknown Pool Handle"}}));
    // Failovers away from pe0 (0x5e5e5e5e) in lu, one from pe1, one in another run.
    s.add_event(lu_, a.pu, pu_failover(40 * kSecond, "0x5e5e5e5e", 7'000'000, 1'000'000));
    s.add_event(lu_, a.pu, pu_failover(30 * kSecond, "0x5e5e5e5e", 5'000'000, 3'000'000));
    s.add_event(lu_, a.pu, pu_failover(35 * kSecond, "0x00000002", 1'000'000, 9));
    s.add_event(rr_, b.pu, pu_failover(30 * kSecond, "0x5e5e5e5e", 1, 1));
    s.flush();
  }

  std::unique_ptr<Store> store_;
  std::int64_t experiment_ = 0, lu_ = 0, lu2_ = 0, rr_ = 0;
};

TEST_F(ReadmeQueries, HandleResolutionsPerPolicy) {
  const auto rows = query(Connection(*store_, path_), readme_query("handle_resolutions_per_policy"),
                          {{":experiment_id", experiment_}});
  // policy, runs, resolutions, per run, from cache, failed, mean latency (registrar answers)
  EXPECT_EQ(rows, (Rows{{"lu", "2", "4", "2.0", "1", "0", "2000.0"},
                        {"rr", "1", "2", "2.0", "0", "1", "1000.0"}}));
}

TEST_F(ReadmeQueries, FailoversOfOnePeWithDetectionDelayAndLostWork) {
  const auto rows = query(Connection(*store_, path_), readme_query("failovers_of_one_pe"),
                          {{":run_id", lu_}, {":pe", std::string("CalcAppPool/pe0#0")}});
  EXPECT_EQ(rows, (Rows{{"30000000", "CalcAppPool/pu0#0", "7", "keepalive_timeout", "5000000",
                         "CalcAppPool/pe1#0", "1", "2000000", "3000000", "1"},
                        {"40000000", "CalcAppPool/pu0#0", "7", "keepalive_timeout", "7000000",
                         "CalcAppPool/pe1#0", "1", "2000000", "1000000", "1"}}));
}

TEST_F(ReadmeQueries, FailoverTotalsPerPe) {
  const auto rows = query(Connection(*store_, path_), readme_query("failovers_per_pe"),
                          {{":run_id", lu_}});
  EXPECT_EQ(rows, (Rows{{"CalcAppPool/pe0#0", "2", "6000000.0", "7000000", "4000000", "0"},
                        {"CalcAppPool/pe1#0", "1", "1000000.0", "1000000", "9", "0"}}));
}

TEST_F(ReadmeQueries, HandlingSpeedPerPolicyOverRepetitions) {
  Store& s = *store_;
  const auto pu = [&](std::int64_t run_id) {
    return integer(Connection(s, path_), "SELECT id FROM components WHERE role = 'pu' AND run_id = " +
                                   std::to_string(run_id));
  };
  s.add_event(lu_, pu(lu_), pu_job(1, 4'000'000, 20 * kSecond, 4 * kSecond));   // 1e6/s
  s.add_event(lu2_, pu(lu2_), pu_job(1, 6'000'000, 20 * kSecond, 2 * kSecond));  // 3e6/s
  s.add_event(rr_, pu(rr_), pu_job(1, 1'000'000, 20 * kSecond, 2 * kSecond));    // 0.5e6/s
  for (const auto r : {lu_, lu2_, rr_}) s.end_run(r, "completed", kStart + 111 * kSecond);
  const auto rows = query(Connection(s, path_), readme_query("handling_speed_per_policy"),
                          {{":experiment_id", experiment_}});
  EXPECT_EQ(rows, (Rows{{"lu", "2", "2000000.0", "1000000.0", "3000000.0"},
                        {"rr", "1", "500000.0", "500000.0", "500000.0"}}));
}

// A PE's view of its registration next to the registrar's: the issue-12 race as both sides
// logged it (a re-registration on the old connection, the registrar removes the PE).
// The OMNeT++-style query of "Read as an OMNeT++ result file": the run's handling speed
// through scalar, runAttr and runItervar, over the completed runs only.
TEST_F(ReadmeQueries, OmnetppScalarsByIterationVariable) {
  Store& s = *store_;
  const auto pu = [&](std::int64_t run_id) {
    return integer(Connection(s, path_), "SELECT id FROM components WHERE role = 'pu' AND run_id = " +
                                   std::to_string(run_id));
  };
  s.add_event(lu_, pu(lu_), pu_job(1, 4'000'000, 20 * kSecond, 4 * kSecond));   // 1e6/s
  s.add_event(lu2_, pu(lu2_), pu_job(1, 6'000'000, 20 * kSecond, 2 * kSecond));  // 3e6/s
  s.add_event(rr_, pu(rr_), pu_job(1, 1'000'000, 20 * kSecond, 2 * kSecond));    // not counted
  s.end_run(lu_, "completed", kStart + 111 * kSecond);
  s.end_run(lu2_, "completed", kStart + 111 * kSecond);
  s.end_run(rr_, "interrupted", kStart + 50 * kSecond, "SIGINT");
  EXPECT_EQ(query(Connection(s, path_), readme_query("omnetpp_scalars_by_itervar")),
            (Rows{{"failover-study", "lu", "Lab", "handling_speed", "2", "2000000.0"}}));
}

TEST_F(ReadmeQueries, EchoSeriesPerRun) {
  const auto done = [](std::int64_t at, const char* reason, int requests, int duplicates) {
    return line("pu", "pu-1", at, "done",
                {{"reason", reason}, {"requests", requests}, {"answers", requests - 1},
                 {"duplicates", duplicates}, {"lost", 1}, {"replies", requests - 1 - duplicates},
                 {"failovers", duplicates > 0 ? 1 : 0}});
  };
  const Components a = components(*store_, lu_), b = components(*store_, rr_, "rr");
  store_->add_event(rr_, b.pu, done(9 * kSecond, "count", 31, 0));
  store_->add_event(lu_, a.pu, done(8 * kSecond, "stop", 42, 2));
  const auto rows = query(Connection(*store_, path_), readme_query("echo_series_per_run"),
                          {{":experiment_id", experiment_}});
  EXPECT_EQ(rows, (Rows{{"0", "CalcAppPool/pu0#0", "stop", "42", "41", "2", "1", "39", "1"},
                        {"2", "CalcAppPool/pu0#0", "count", "31", "30", "0", "1", "30", "0"}}));
}

TEST_F(ReadmeQueries, CostPerSiteAndRole) {
  store_->add_process_usage(lu_, {"pr0", "registrar", "a", 1, true, 90 * 1024, 15.5});
  store_->add_process_usage(lu_, {"Scale/pe0", "pe", "a", 1667, true, 38 * 1024, 25.0});
  store_->add_process_usage(lu_, {"Scale/pe1", "pe", "a", 1667, true, 36 * 1024, 24.5});
  store_->add_process_usage(lu_, {"Scale/pe2", "pe", "b", 1666, false, 0, 0});
  store_->add_process_usage(rr_, {"pr0", "registrar", "a", 1, true, 80 * 1024, 1.25});
  const auto rows = query(Connection(*store_, path_), readme_query("cost_per_site_and_role"),
                          {{":experiment_id", experiment_}});
  // run index, site, role, processes, members, peak MB, CPU s, unmeasured
  EXPECT_EQ(rows, (Rows{{"0", "a", "pe", "2", "3334", "38.0", "49.5", "0"},
                        {"0", "a", "registrar", "1", "1", "90.0", "15.5", "0"},
                        {"0", "b", "pe", "1", "1666", "NULL", "0.0", "1"},
                        {"2", "a", "registrar", "1", "1", "80.0", "1.3", "0"}}));
}

TEST_F(ReadmeQueries, RegistrationSeenByThePeAndByTheRegistrar) {
  Store& s = *store_;
  const auto id_of = [&](const std::string& name) {
    return integer(Connection(s, path_), "SELECT id FROM components WHERE run_id = " +
                                   std::to_string(lu_) + " AND name = '" + name + "'");
  };
  const std::int64_t pr = id_of("pr0"), pe = id_of("CalcAppPool/pe0#0");
  const std::string pe_id = "0x5e5e5e5e";
  const json registered = {{"pr", 0}, {"pool", "CalcAppPool"}, {"pe", pe_id}, {"policy", "lu"},
                           {"load", 0}};
  s.add_event(lu_, pe, line("pe", pe_id, 36'000'000, "registered", registered));
  s.add_event(lu_, pr, line("registrar", "0x00000001", 36'001'000, "registration",
                            {{"conn", 9}, {"pool", "CalcAppPool"}, {"pe", pe_id}, {"policy", "lu"}}));
  s.add_event(lu_, pe, line("pe", pe_id, 36'500'000, "reregistered", registered));
  s.add_event(lu_, pr, line("registrar", "0x00000001", 36'501'000, "reregistration",
                            {{"conn", 3}, {"pool", "CalcAppPool"}, {"pe", pe_id}, {"policy", "lu"}}));
  s.add_event(lu_, pr, line("registrar", "0x00000001", 36'502'000, "deregistration",
                            {{"pool", "CalcAppPool"}, {"pe", pe_id}, {"reason", "connection_closed"}}));
  s.flush();
  const auto rows = query(Connection(s, path_), readme_query("registration_seen_by_both"),
                          {{":run_id", lu_}, {":pe", std::string("CalcAppPool/pe0#0")}});
  EXPECT_EQ(rows, (Rows{{"36000000", "pe", "registered", "pr 0"},
                        {"36001000", "registrar", "registration", "conn 9"},
                        {"36500000", "pe", "reregistered", "pr 0"},
                        {"36501000", "registrar", "reregistration", "conn 3"},
                        {"36502000", "registrar", "deregistration", "connection_closed"}}));
}

}  // namespace
}  // namespace rsplab::results
