// The results database (SQLite, documented in results/README.md): one file per campaign
// holding the experiment, its runs, their components and one table per event kind. The
// runner opens it, records the experiment and each run, and feeds every event line the
// components wrote (docs/events.md) to add_event(); rows are inserted in batched
// transactions. WAL journal; the schema version is PRAGMA user_version and migrate()
// brings an older file up to date. Times in rows are microseconds since the run's start.
//
//   runner ─► Store::open(path) ─► begin_experiment(plan) ─► begin_run(run)
//          ─► add_component(...) ─► add_event(run, component, json) ... ─► end_run(run, status)
//
// Single-threaded; one owner. Errors (cannot open, disk full, SQL error) throw StoreError.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "results/run_status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace rsplab::results {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kSchemaVersion = 11;

struct ExperimentInfo {
  std::string name;
  std::string file;
  nlohmann::json source;  // the experiment file as JSON
  std::string rsplab_version, host, kernel;
};

struct RunInfo {
  std::int64_t experiment_id = 0;
  std::size_t index = 0;
  std::string key;
  std::map<std::string, std::string> parameters;  // sweep values (policy, ratio, ...)
  std::uint64_t seed = 0;
  std::size_t repetition = 0;
  std::string transport;        // what was actually used: tcp or sctp
  nlohmann::json resolved;      // the run's resolved definition
  std::int64_t start_unix_us = 0;  // the run clock's zero (readiness), UTC µs
  std::int64_t warmup_us = 0, duration_us = 0;
};

struct ComponentInfo {
  std::string name;   // "pr0", "CalcAppPool/pe0#3" (group member 3), "CalcAppPool/pu0#12"
  std::string role;   // registrar | pe | pu
  std::string site;
  std::string identity;  // the "id" of its events (PE id hex, PU name, registrar id hex)
  std::vector<std::string> addresses;
  std::string pool, policy;  // PEs and PUs
  double capacity = 0;       // PEs
};

// A site agent's clock against the runner's (`rsplab run` measures it by round trips when
// the agent starts): agent clock − runner clock = offset_us ± uncertainty_us (half the
// shortest round trip, rtt_us, of `samples` tries).
struct SiteClock {
  std::string site, host, agent_version;
  std::int64_t offset_us = 0, uncertainty_us = 0, rtt_us = 0;
  int samples = 0;
};

// What one process of a run cost (table processes): a registrar, or a group of `members` PEs
// or PUs in one process; peak memory and CPU time as its agent measured them when it exited
// (exited false: it did not, e.g. its agent was lost, and both are unknown).
struct ProcessUsage {
  std::string name, role, site;
  std::int64_t members = 1;
  bool exited = false;
  std::int64_t max_rss_kib = 0;
  double cpu_s = 0;
};

// What a run cost as a whole (table run_resources): the deployment (to the run's clock
// start; unset when it never started), the events stored and their rate while the run ran,
// and the runner's peak memory and its CPU time from the deployment to the end.
struct RunResources {
  std::optional<double> deploy_s, events_per_s;
  std::int64_t events_stored = 0;
  std::int64_t runner_max_rss_kib = 0;
  double runner_cpu_s = 0;
};

// One SQL value (NULL, integer, real, text), bound to or read from a statement.
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
using Values = std::vector<Value>;

// A query's value as an integer (a real truncated; NULL and text: 0), a number (NULL and
// text: nullopt) and text (otherwise "").
inline std::int64_t int_of(const Value& v) {
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return 0;
}
inline std::optional<double> number_of(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  return std::nullopt;
}
inline std::string text_of(const Value& v) {
  const auto* t = std::get_if<std::string>(&v);
  return t == nullptr ? std::string() : *t;
}

// What the runner checked about a run (results/checks.hpp), a row of run_checks: `name`
// (registered_capacity, event_counts), `status` ok or warning, the check's `value` (NaN:
// none), the line printed, and details as JSON.
struct RunCheck {
  std::string name, status;
  double value = 0;
  std::string message;
  nlohmann::json details;
};

// What `rsplab run --until-ci` decided for one sweep point (table until_ci).
struct UntilCiVerdict {
  std::int64_t experiment_id = 0;
  std::map<std::string, std::string> parameters;  // the sweep point, as RunInfo's
  double percent = 0;                              // the target, in % of |mean|
  std::int64_t max_repetitions = 0;
  std::vector<std::string> metrics;                // compared, in order
  std::string verdict;    // reached | cap (target not met) | no_value | undecided
  std::int64_t runs = 0;  // completed runs counted
  nlohmann::json estimates;  // metric → {n, mean, half_width, relative_half_width}
};

// Moves an event's absolute times (time_us, and a job's queued_us, started_us, accepted_us,
// completed_us, a failover's detected_us: every field add_event converts to run-relative)
// by −offset_us: a remote agent's events onto the runner's clock (SiteClock::offset_us).
// Null or missing fields stay as they are.
void shift_event_clock(nlohmann::json& event, std::int64_t offset_us);

// The rows of a query with its column names (Store::table, `rsplab query`).
struct Table {
  std::vector<std::string> columns;
  std::vector<Values> rows;
};

class Store {
 public:
  // Creates or opens; migrates to kSchemaVersion; WAL.
  static Store open(const std::string& path);
  // Opens an existing results database for reading only (`rsplab report`, `rsplab query`):
  // never creates, migrates or writes it (SQLITE_OPEN_READONLY, PRAGMA query_only). Throws
  // StoreError for a missing file, an empty one, one that is not an RSerPool Lab results
  // database and one newer than this binary. An older file is read as it is (its schema
  // version: schema_version()); only the writing methods need a current one.
  static Store open_read_only(const std::string& path);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();  // flushes

  std::int64_t add_experiment(const ExperimentInfo& e);
  // The newest experiment with this name, source and rsplab version, or nullopt: a campaign
  // run again into its file continues that row instead of adding one.
  std::optional<std::int64_t> find_experiment(const ExperimentInfo& e) const;
  std::int64_t begin_run(const RunInfo& r);  // status "running"
  // Ends the run with `status` (and `reason`: why it was interrupted or failed). First links
  // the run's failovers to what their PEs had in progress (lost_exact) and to the fault that
  // hit the PE (fault_id, fault_to_detection_us): results/README.md, "failovers".
  void end_run(std::int64_t run_id, RunStatus status, std::int64_t end_unix_us,
               const std::string& reason = "");
  // The same with the status as text (parse_status); StoreError if it names none.
  void end_run(std::int64_t run_id, const std::string& status, std::int64_t end_unix_us,
               const std::string& reason = "");
  // Resuming a campaign. A run key is done once one of its rows (in any experiment of the
  // file) is completed; it is unfinished when it has rows and none is completed
  // (interrupted, failed, or still `running`: a runner that died).
  std::set<std::string> completed_keys() const;
  std::set<std::string> unfinished_keys() const;
  // Marks every run still `running` interrupted with `reason` (end_unix_us stays NULL);
  // how many. REQUIRES: no live runner writes to this file (its runs would be marked too).
  std::int64_t interrupt_running(const std::string& reason);
  // The status of run row `run_id` (running, completed, interrupted, failed), or nullopt
  // when the file has no such row: the parent of `rsplab run --jobs N` asks it of the run
  // a dead worker held, which is failed only if it is still `running`.
  std::optional<std::string> run_status(std::int64_t run_id) const;

  void add_site_clock(std::int64_t run_id, const SiteClock& c);
  // What the run's processes and the run as a whole cost (tables processes, run_resources);
  // the run's resources row is replaced when stored again.
  void add_process_usage(std::int64_t run_id, const ProcessUsage& p);
  void set_run_resources(std::int64_t run_id, const RunResources& r);

  std::int64_t add_component(std::int64_t run_id, const ComponentInfo& c);
  // A fault as applied: kind (kill, stop, resume, link_down, link_up, ...), target, at (µs
  // since the run's start); details["scheduled_us"] (when given) fills scheduled_us.
  void add_fault(std::int64_t run_id, const std::string& kind, const std::string& target,
                 std::int64_t at_us, const nlohmann::json& details = {});

  // One event line of a component (docs/events.md), with its "time_us" (UTC µs) converted
  // to µs since the run's start. Events the schema has a table for go there (registrar:
  // registration/reregistration/deregistration → registrations, every registrar event →
  // registrar_actions, handle_resolution → registrar_actions; PU handle_resolution →
  // handle_resolutions, failover → failovers, job → jobs; PE usage/load_changed →
  // pe_samples, every other PE event → pe_events, PE killed/stopped also → pe_progress, a
  // row per job in progress); all others are counted only (event_counts). Returns whether a row was
  // written to an event table. A malformed event (not an object, a field missing or of the
  // wrong type) never throws: it is kept in malformed_events and counted as "malformed".
  // Throws StoreError for a run or component this file does not have (the caller's bug) and
  // for database errors.
  // REQUIRES: component_id was added to run_id.
  bool add_event(std::int64_t run_id, std::int64_t component_id, const nlohmann::json& event);

  // Adds or replaces the check `c.name` of a run (run_checks).
  void add_check(std::int64_t run_id, const RunCheck& c);
  // Adds or replaces the verdict of the same experiment, point, percent, cap and metrics.
  void set_until_ci(const UntilCiVerdict& v);
  // The checks of a run, by name.
  std::vector<RunCheck> checks(std::int64_t run_id) const;

  // Commits what is batched (also done every 1000 rows and by end_run).
  void flush();
  // How long a statement waits for another connection's lock before it fails with
  // SQLITE_BUSY (a StoreError): 5 s from open. The workers of `rsplab run --jobs N`, which
  // write one file side by side, wait longer.
  void set_busy_timeout(std::chrono::milliseconds wait);

  // The rows of a read-only query (results/checks.cpp, results/summary.cpp) with `params`
  // bound to ?1…?n; integers, reals, text and NULL as Value. Throws StoreError.
  std::vector<Values> select(const char* sql, const Values& params = {}) const;
  // One statement's rows with their column names (`rsplab query`): the text may end with
  // ';', white space and comments, but holds one statement. Throws StoreError with SQLite's
  // message (a syntax error, no such table, a write on a read-only store).
  Table table(const std::string& sql) const;
  // PRAGMA user_version: kSchemaVersion, or lower for an older file opened read-only.
  std::int64_t schema_version() const;

  // Rows per table, for tests and the runner's summary. `table` is one of the schema's
  // tables (anything else throws StoreError); with `run_id`, only that run's rows (for
  // `runs`: the run itself; `experiments` has no run and throws).
  std::int64_t count(const std::string& table, std::optional<std::int64_t> run_id = {}) const;

  // Rows are committed once this many are batched (flush() and end_run() commit earlier).
  static constexpr std::size_t kBatchRows = 1000;

 private:
  struct Component {
    std::int64_t run_id = 0;
    std::string role;
  };

  explicit Store(sqlite3* db);
  void close() noexcept;
  void configure();
  void check_file();
  void migrate();
  void exec(const char* sql) const;
  void begin_batch();
  // The statement for `sql`, prepared on first use and kept (reset after each step).
  sqlite3_stmt* prepared(const char* sql);
  std::int64_t run_start(std::int64_t run_id);
  const Component& component(std::int64_t run_id, std::int64_t component_id);

  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> statements_;
  std::map<std::int64_t, std::int64_t> run_start_us_;
  std::map<std::int64_t, Component> components_;
  std::size_t batched_ = 0;
};

}  // namespace rsplab::results
