// The Store (store.hpp): opening a results database and bringing it to kSchemaVersion (the
// steps are in schema.cpp), the batch of event rows and the transactions around everything
// else, experiments, runs and their bookkeeping (resume, interrupt, status), components,
// faults, site clocks, checks and until-ci verdicts, add_event (its rows come from
// ingest.cpp), and the read side: select, table, count.
#include "results/store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <string_view>
#include <utility>
#include <variant>

#include "results/ingest.hpp"
#include "results/schema.hpp"
#include "results/sqlite.hpp"
#include "stack/common/log.hpp"

namespace rsplab::results {

namespace {

using json = nlohmann::json;

std::int64_t now_unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// -----------------------------------------------------------------------------------------
// Opening, migrations

Store::Store(sqlite3* db) : db_(db) {}

Store::Store(Store&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      statements_(std::exchange(other.statements_, {})),
      run_start_us_(std::exchange(other.run_start_us_, {})),
      components_(std::exchange(other.components_, {})),
      batched_(std::exchange(other.batched_, 0)) {}

Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    statements_ = std::exchange(other.statements_, {});
    run_start_us_ = std::exchange(other.run_start_us_, {});
    components_ = std::exchange(other.components_, {});
    batched_ = std::exchange(other.batched_, 0);
  }
  return *this;
}

Store::~Store() { close(); }

void Store::close() noexcept {
  if (db_ == nullptr) return;
  try {
    flush();
  } catch (const std::exception& e) {
    // A destructor cannot throw; whoever needs the certainty calls flush() or end_run().
    common::Logger{"results"}(common::Level::error, "the last batch was not committed: %s",
                              e.what());
  }
  for (auto& [sql, s] : statements_) sqlite3_finalize(s);
  statements_.clear();
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

Store Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string text = "cannot open results database '" + path + "': " + sqlite3_errstr(rc);
    if (db != nullptr) {
      text += std::string(" (") + sqlite3_errmsg(db) + ")";
      sqlite3_close_v2(db);
    }
    throw StoreError(text);
  }
  Store store(db);  // owns db from here: closed on any exception below
  try {
    store.configure();
  } catch (const StoreError& e) {
    throw StoreError("results database '" + path + "': " + e.what());
  }
  return store;
}

Store Store::open_read_only(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw StoreError("no results database '" + path + "': " +
                     (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  if (std::filesystem::file_size(path, ec) == 0)
    throw StoreError("'" + path + "' is empty: not an RSerPool Lab results database");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string text = "cannot open results database '" + path + "': " + sqlite3_errstr(rc);
    if (db != nullptr) sqlite3_close_v2(db);
    throw StoreError(text);
  }
  Store store(db);
  try {
    store.check_file();
    store.exec("PRAGMA query_only = ON");
  } catch (const StoreError& e) {
    throw StoreError("results database '" + path + "': " + e.what());
  }
  return store;
}

// Read-only checks: a file that is not ours (or newer than this binary) is left as it was.
void Store::check_file() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);  // readers (analysis notebooks) may hold a lock briefly
  const std::int64_t version = query_int(db_, "PRAGMA user_version");
  if (version > kSchemaVersion)
    throw StoreError("schema version " + std::to_string(version) +
                     " is newer than this rsplab's " + std::to_string(kSchemaVersion) +
                     ": open it with a newer rsplab");
  const std::int64_t app = query_int(db_, "PRAGMA application_id");
  if (app != 0 && app != kApplicationId)
    throw StoreError("not an RSerPool Lab results database (application_id " +
                     std::to_string(app) + ")");
  if (app == 0 && (version != 0 || query_int(db_, "SELECT count(*) FROM sqlite_schema") != 0))
    throw StoreError("not an RSerPool Lab results database (it has tables but no application_id)");
}

void Store::configure() {
  check_file();

  exec("PRAGMA foreign_keys = ON");
  const std::string mode = query_text(db_, "PRAGMA journal_mode = WAL");
  // In-memory databases (":memory:", tests) answer "memory" and cannot use WAL.
  if (mode != "wal" && mode != "memory")
    throw StoreError("cannot switch to WAL: the journal mode is '" + mode + "'");
  exec("PRAGMA synchronous = NORMAL");
  migrate();
}

void Store::migrate() {
  for (;;) {
    Transaction t(db_);
    // Re-read under the write lock: another process may have migrated meanwhile.
    const std::int64_t v = query_int(db_, "PRAGMA user_version");
    if (v >= kSchemaVersion) {
      t.commit();
      return;
    }
    exec(migration_step(v));
    if (v == 0) exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
    exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    t.commit();
  }
}

void Store::exec(const char* sql) const { exec_sql(db_, sql); }

sqlite3_stmt* Store::prepared(const char* sql) {
  const auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, std::string("cannot prepare '") + sql + "'");
  statements_.emplace(sql, s);
  return s;
}

// -----------------------------------------------------------------------------------------
// Batches

void Store::begin_batch() {
  if (sqlite3_get_autocommit(db_) != 0) {
    exec("BEGIN IMMEDIATE");
    batched_ = 0;
  }
}

void Store::flush() {
  if (db_ == nullptr) return;
  if (sqlite3_get_autocommit(db_) == 0) exec("COMMIT");
  batched_ = 0;
}

void Store::set_busy_timeout(std::chrono::milliseconds wait) {
  sqlite3_busy_timeout(db_, static_cast<int>(wait.count()));
}

// -----------------------------------------------------------------------------------------
// Experiments, runs, components, faults: each in its own transaction, after the batch.

std::int64_t Store::add_experiment(const ExperimentInfo& e) {
  flush();
  Transaction t(db_);
  step(db_,
       prepared("INSERT INTO experiments (name, file, source, rsplab_version, host, kernel,"
                " created_unix_us) VALUES (?,?,?,?,?,?,?)"),
       {e.name, e.file, dump(e.source), e.rsplab_version, e.host, e.kernel,
        integer(now_unix_us())},
       "add_experiment");
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  t.commit();
  return id;
}

std::optional<std::int64_t> Store::find_experiment(const ExperimentInfo& e) const {
  const auto s = prepare_once(
      db_, "SELECT max(id) FROM experiments WHERE name = ? AND source = ? AND rsplab_version = ?");
  const std::string source = dump(e.source);
  sqlite3_bind_text64(s.get(), 1, e.name.data(), e.name.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  sqlite3_bind_text64(s.get(), 2, source.data(), source.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  sqlite3_bind_text64(s.get(), 3, e.rsplab_version.data(), e.rsplab_version.size(),
                      SQLITE_TRANSIENT, SQLITE_UTF8);
  const int rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) fail(db_, rc, "find_experiment");
  if (sqlite3_column_type(s.get(), 0) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s.get(), 0);
}

namespace {

std::set<std::string> key_set(sqlite3* db, const char* sql, const char* what) {
  const auto s = prepare_once(db, sql);
  std::set<std::string> keys;
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
    keys.emplace(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)));
  if (rc != SQLITE_DONE) fail(db, rc, what);
  return keys;
}

}  // namespace

std::set<std::string> Store::completed_keys() const {
  return key_set(db_, "SELECT DISTINCT key FROM runs WHERE status = 'completed'",
                 "completed_keys");
}

std::set<std::string> Store::unfinished_keys() const {
  return key_set(db_,
                 "SELECT key FROM runs GROUP BY key HAVING sum(status = 'completed') = 0",
                 "unfinished_keys");
}

std::int64_t Store::interrupt_running(const std::string& reason) {
  flush();
  Transaction t(db_);
  step(db_, prepared("UPDATE runs SET status = ?, reason = ? WHERE status = 'running'"),
       {std::string(status_text(RunStatus::interrupted)), reason}, "interrupt_running");
  const std::int64_t n = sqlite3_changes(db_);
  t.commit();
  return n;
}

std::optional<std::string> Store::run_status(std::int64_t run_id) const {
  const auto rows = select("SELECT status FROM runs WHERE id = ?1", {Value(run_id)});
  if (rows.empty() || !std::holds_alternative<std::string>(rows.front().front()))
    return std::nullopt;
  return std::get<std::string>(rows.front().front());
}

std::int64_t Store::begin_run(const RunInfo& r) {
  flush();
  json parameters = json::object();
  for (const auto& [name, value] : r.parameters) parameters[name] = value;
  const auto policy = r.parameters.find("policy");
  Transaction t(db_);
  step(db_,
       prepared("INSERT INTO runs (experiment_id, idx, key, parameters, policy, seed,"
                " repetition, transport, resolved, start_unix_us, warmup_us, duration_us)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"),
       {integer(r.experiment_id), integer(static_cast<std::int64_t>(r.index)), r.key,
        dump(parameters), policy == r.parameters.end() ? Value(nullptr) : Value(policy->second),
        // SQLite integers are signed: a seed >= 2^63 is stored as its two's complement.
        integer(static_cast<std::int64_t>(r.seed)),
        integer(static_cast<std::int64_t>(r.repetition)), r.transport, dump(r.resolved),
        integer(r.start_unix_us), integer(r.warmup_us), integer(r.duration_us)},
       "begin_run");
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  auto* insert = prepared("INSERT INTO run_parameters (run_id, name, value) VALUES (?,?,?)");
  for (const auto& [name, value] : r.parameters)
    step(db_, insert, {integer(id), name, value}, "begin_run: parameters");
  t.commit();
  run_start_us_[id] = r.start_unix_us;
  return id;
}

void Store::end_run(std::int64_t run_id, const std::string& status, std::int64_t end_unix_us,
                    const std::string& reason) {
  const auto s = parse_status(status);
  if (!s)
    throw StoreError("end_run: status '" + status +
                     "' is not one of completed, interrupted, failed");
  end_run(run_id, *s, end_unix_us, reason);
}

void Store::end_run(std::int64_t run_id, RunStatus status, std::int64_t end_unix_us,
                    const std::string& reason) {
  flush();
  Transaction t(db_);
  for (const char* sql : {kLinkLostExact, kLinkFault, kLinkFaultDelay})
    step(db_, prepared(sql), {integer(run_id)}, "end_run: linking failovers");
  step(db_, prepared("UPDATE runs SET status = ?, end_unix_us = ?, reason = ? WHERE id = ?"),
       {std::string(status_text(status)), integer(end_unix_us), text_or_null(reason),
        integer(run_id)},
       "end_run");
  if (sqlite3_changes(db_) == 0) throw StoreError("end_run: no run " + std::to_string(run_id));
  t.commit();
}

std::int64_t Store::add_component(std::int64_t run_id, const ComponentInfo& c) {
  if (c.role != "registrar" && c.role != "pe" && c.role != "pu")
    throw StoreError("add_component: role '" + c.role + "' is not registrar, pe or pu");
  flush();
  json addresses = json::array();
  for (const auto& a : c.addresses) addresses.push_back(a);
  Transaction t(db_);
  step(db_,
       prepared("INSERT INTO components (run_id, name, role, site, identity, addresses, pool,"
                " policy, capacity) VALUES (?,?,?,?,?,?,?,?,?)"),
       {integer(run_id), c.name, c.role, c.site, text_or_null(c.identity), dump(addresses),
        text_or_null(c.pool), text_or_null(c.policy),
        c.role == "pe" && c.capacity > 0 ? Value(c.capacity) : Value(nullptr)},
       "add_component");
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  if (c.role == "pe" && !c.policy.empty()) {
    // A run whose policy is not a sweep parameter takes it from its PEs ("mixed" when
    // they differ), so that per-policy queries see every run.
    step(db_,
         prepared("UPDATE runs SET policy = ("
                  "  SELECT CASE WHEN count(DISTINCT policy) = 1 THEN min(policy)"
                  "              ELSE 'mixed' END"
                  "  FROM components WHERE run_id = ?1 AND role = 'pe' AND policy IS NOT NULL)"
                  " WHERE id = ?1 AND json_extract(parameters, '$.policy') IS NULL"),
         {integer(run_id)}, "add_component: run policy");
  }
  t.commit();
  components_[id] = Component{run_id, c.role};
  return id;
}

void Store::add_fault(std::int64_t run_id, const std::string& kind, const std::string& target,
                      std::int64_t at_us, const nlohmann::json& details) {
  flush();
  Transaction t(db_);
  step(db_,
       prepared("INSERT INTO faults (run_id, kind, target, at_us, scheduled_us, details) "
                "VALUES (?,?,?,?,?,?)"),
       {integer(run_id), kind, target, integer(at_us),
        details.is_object() && details.contains("scheduled_us") &&
                details["scheduled_us"].is_number_integer()
            ? Value(integer(details["scheduled_us"].get<std::int64_t>()))
            : Value(nullptr),
        details.is_null() ? Value(nullptr) : Value(dump(details))},
       "add_fault");
  t.commit();
}

void Store::add_site_clock(std::int64_t run_id, const SiteClock& c) {
  flush();
  Transaction t(db_);
  step(db_,
       prepared("INSERT OR REPLACE INTO site_clocks (run_id, site, host, agent_version, "
                "offset_us, uncertainty_us, rtt_us, samples) VALUES (?,?,?,?,?,?,?,?)"),
       {integer(run_id), c.site, text_or_null(c.host), text_or_null(c.agent_version),
        integer(c.offset_us), integer(c.uncertainty_us), integer(c.rtt_us),
        integer(c.samples)},
       "add_site_clock");
  t.commit();
}

void Store::add_process_usage(std::int64_t run_id, const ProcessUsage& p) {
  if (p.role != "registrar" && p.role != "pe" && p.role != "pu")
    throw StoreError("add_process_usage: role '" + p.role + "' is not registrar, pe or pu");
  flush();
  Transaction t(db_);
  step(db_,
       prepared("INSERT INTO processes (run_id, name, role, site, members, exited, max_rss_kib,"
                " cpu_s) VALUES (?,?,?,?,?,?,?,?)"),
       {integer(run_id), p.name, p.role, p.site, integer(p.members), boolean(p.exited),
        p.exited ? integer(p.max_rss_kib) : Value(nullptr),
        p.exited ? Value(p.cpu_s) : Value(nullptr)},
       "add_process_usage");
  t.commit();
}

void Store::set_run_resources(std::int64_t run_id, const RunResources& r) {
  flush();
  const auto real_or_null = [](const std::optional<double>& v) {
    return v ? Value(*v) : Value(nullptr);
  };
  Transaction t(db_);
  step(db_,
       prepared("INSERT OR REPLACE INTO run_resources (run_id, deploy_s, events_stored,"
                " events_per_s, runner_max_rss_kib, runner_cpu_s) VALUES (?,?,?,?,?,?)"),
       {integer(run_id), real_or_null(r.deploy_s), integer(r.events_stored),
        real_or_null(r.events_per_s), integer(r.runner_max_rss_kib), r.runner_cpu_s},
       "set_run_resources");
  t.commit();
}

// -----------------------------------------------------------------------------------------
// Events

std::int64_t Store::run_start(std::int64_t run_id) {
  if (const auto it = run_start_us_.find(run_id); it != run_start_us_.end()) return it->second;
  // A run begun by an earlier Store on this file.
  const auto s = prepared("SELECT start_unix_us FROM runs WHERE id = ?");
  sqlite3_bind_int64(s, 1, run_id);
  const int rc = sqlite3_step(s);
  const std::int64_t start = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc == SQLITE_DONE) throw StoreError("add_event: no run " + std::to_string(run_id));
  if (rc != SQLITE_ROW) fail(db_, rc, "add_event: reading run " + std::to_string(run_id));
  run_start_us_[run_id] = start;
  return start;
}

const Store::Component& Store::component(std::int64_t run_id, std::int64_t component_id) {
  auto it = components_.find(component_id);
  if (it == components_.end()) {
    const auto s = prepared("SELECT run_id, role FROM components WHERE id = ?");
    sqlite3_bind_int64(s, 1, component_id);
    const int rc = sqlite3_step(s);
    Component c;
    if (rc == SQLITE_ROW) {
      c.run_id = sqlite3_column_int64(s, 0);
      const auto* role = sqlite3_column_text(s, 1);
      c.role = role == nullptr ? "" : reinterpret_cast<const char*>(role);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE)
      throw StoreError("add_event: no component " + std::to_string(component_id));
    if (rc != SQLITE_ROW) fail(db_, rc, "add_event: reading component");
    it = components_.emplace(component_id, std::move(c)).first;
  }
  if (it->second.run_id != run_id)
    throw StoreError("add_event: component " + std::to_string(component_id) +
                     " belongs to run " + std::to_string(it->second.run_id) + ", not " +
                     std::to_string(run_id));
  return it->second;
}

bool Store::add_event(std::int64_t run_id, std::int64_t component_id,
                      const nlohmann::json& event) {
  const Component& c = component(run_id, component_id);
  const EventRows out = event_rows(c.role, event, run_id, component_id, run_start(run_id));
  begin_batch();
  try {
    for (const auto& row : out.rows) step(db_, prepared(row.sql), row.values, row.what);
    batched_ += out.rows.size();
  } catch (const StoreError&) {
    // Some errors (disk full, I/O) roll the whole transaction back.
    if (sqlite3_get_autocommit(db_) != 0) batched_ = 0;
    throw;
  }
  if (batched_ >= kBatchRows) flush();
  return out.event_rows;
}

// -----------------------------------------------------------------------------------------
// Checks, queries

void Store::add_check(std::int64_t run_id, const RunCheck& c) {
  if (c.status != "ok" && c.status != "warning")
    throw StoreError("add_check: status '" + c.status + "' is not ok or warning");
  flush();
  Transaction t(db_);
  step(db_,
       prepared("INSERT OR REPLACE INTO run_checks (run_id, name, status, value, message, "
                "details) VALUES (?,?,?,?,?,?)"),
       {integer(run_id), c.name, c.status, c.value, c.message,
        c.details.is_null() ? Value(nullptr) : Value(dump(c.details))},
       "add_check");
  t.commit();
}

void Store::set_until_ci(const UntilCiVerdict& v) {
  flush();
  json parameters = json::object();
  for (const auto& [name, value] : v.parameters) parameters[name] = value;
  Transaction t(db_);
  step(db_,
       prepared("INSERT OR REPLACE INTO until_ci (experiment_id, parameters, percent,"
                " max_repetitions, metrics, verdict, runs, estimates, decided_unix_us)"
                " VALUES (?,?,?,?,?,?,?,?,?)"),
       {integer(v.experiment_id), dump(parameters), v.percent, integer(v.max_repetitions),
        dump(json(v.metrics)), v.verdict, integer(v.runs), dump(v.estimates),
        integer(now_unix_us())},
       "set_until_ci");
  t.commit();
}

std::vector<RunCheck> Store::checks(std::int64_t run_id) const {
  std::vector<RunCheck> out;
  for (const auto& row : select("SELECT name, status, value, message, details FROM run_checks"
                                " WHERE run_id = ? ORDER BY name",
                                {integer(run_id)})) {
    RunCheck c;
    c.name = std::get<std::string>(row[0]);
    c.status = std::get<std::string>(row[1]);
    c.value = number_of(row[2]).value_or(std::numeric_limits<double>::quiet_NaN());
    c.message = std::get<std::string>(row[3]);
    if (const auto* d = std::get_if<std::string>(&row[4])) c.details = json::parse(*d, nullptr, false);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Values> Store::select(const char* sql, const Values& params) const {
  const auto s = prepare_once(db_, sql);
  bind_and_check(db_, s.get(), params, "select");
  std::vector<Values> rows;
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) rows.push_back(row_values(s.get()));
  if (rc != SQLITE_DONE) fail(db_, rc, std::string("'") + sql + "' failed");
  return rows;
}

Table Store::table(const std::string& sql) const {
  const char* tail = nullptr;
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
  if (rc != SQLITE_OK) throw StoreError(sqlite3_errmsg(db_));
  const StatementPtr s(raw);
  if (!s) throw StoreError("no SQL statement");
  // Whatever follows must be nothing but white space and comments.
  sqlite3_stmt* next = nullptr;
  if (sqlite3_prepare_v2(db_, tail, -1, &next, nullptr) != SQLITE_OK || next != nullptr) {
    sqlite3_finalize(next);
    throw StoreError("one SQL statement at a time (more follows: '" +
                     std::string(std::string_view(tail).substr(0, 60)) + "')");
  }
  Table t;
  for (int c = 0; c < sqlite3_column_count(s.get()); ++c)
    t.columns.emplace_back(sqlite3_column_name(s.get(), c));
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) t.rows.push_back(row_values(s.get()));
  if (rc != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_));
  return t;
}

std::int64_t Store::schema_version() const { return query_int(db_, "PRAGMA user_version"); }

// -----------------------------------------------------------------------------------------

std::int64_t Store::count(const std::string& table, std::optional<std::int64_t> run_id) const {
  const SchemaTable* known = find_table(table);
  if (known == nullptr) throw StoreError("count: no table '" + table + "'");
  std::string sql = "SELECT count(*) FROM " + table;
  if (run_id) {
    if (known->run_column == nullptr) throw StoreError("count: " + table + " has no run");
    sql += std::string(" WHERE ") + known->run_column + " = ?";
  }
  const auto s = prepare_once(db_, sql.c_str());
  if (run_id) sqlite3_bind_int64(s.get(), 1, *run_id);
  const int rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) fail(db_, rc, "count(" + table + ")");
  return sqlite3_column_int64(s.get(), 0);
}

}  // namespace rsplab::results
