// The results database's schema (results/README.md documents every table and view): the
// DDL of each schema version as one migration step, the statements end_run uses to link
// failovers to what was lost and to their fault (they read the v4 tables), and the list of
// tables count() knows. This file owns versions 1–4 and 6–11 and the list of steps; the
// OMNeT++ result views of version 5 are in schema_omnetpp.cpp. Never edit a released step:
// append one (and document it in results/README.md). Constant data only; no state.
#include "results/schema.hpp"

#include <iterator>

namespace rsplab::results {

namespace {

// ---------------------------------------------------------------------------------------
// Schema. Each entry is one migration step: entry i takes user_version i to i + 1, run in
// one BEGIN IMMEDIATE transaction together with the user_version update. Never edit a
// released step; append a new one (and document it in results/README.md).

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL,
  file            TEXT NOT NULL,
  source          TEXT NOT NULL,
  rsplab_version  TEXT NOT NULL,
  host            TEXT NOT NULL,
  kernel          TEXT NOT NULL,
  created_unix_us INTEGER NOT NULL
);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  idx           INTEGER NOT NULL,
  key           TEXT NOT NULL,
  parameters    TEXT NOT NULL,
  policy        TEXT,
  seed          INTEGER NOT NULL,
  repetition    INTEGER NOT NULL,
  transport     TEXT NOT NULL,
  resolved      TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
  reason        TEXT,
  start_unix_us INTEGER NOT NULL,
  end_unix_us   INTEGER,
  warmup_us     INTEGER NOT NULL,
  duration_us   INTEGER NOT NULL
);
CREATE INDEX runs_by_experiment ON runs(experiment_id, idx);
CREATE INDEX runs_by_key ON runs(key);
CREATE INDEX runs_by_policy ON runs(policy, experiment_id);

CREATE TABLE run_parameters (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX run_parameters_by_name ON run_parameters(name, value);

CREATE TABLE components (
  id        INTEGER PRIMARY KEY,
  run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  role      TEXT NOT NULL CHECK (role IN ('registrar', 'pe', 'pu')),
  site      TEXT NOT NULL,
  identity  TEXT,
  addresses TEXT NOT NULL,
  pool      TEXT,
  policy    TEXT,
  capacity  REAL
);
CREATE INDEX components_by_run ON components(run_id, role, name);
CREATE INDEX components_by_identity ON components(run_id, identity);

CREATE TABLE handle_resolutions (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  pool         TEXT NOT NULL,
  registrar    INTEGER,
  cached       INTEGER NOT NULL,
  latency_us   INTEGER NOT NULL,
  pes          TEXT NOT NULL,
  pe_count     INTEGER NOT NULL,
  error        TEXT
);
CREATE INDEX handle_resolutions_by_run ON handle_resolutions(run_id, time_us);

CREATE TABLE failovers (
  id                 INTEGER PRIMARY KEY,
  run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id       INTEGER NOT NULL,
  time_us            INTEGER NOT NULL,
  job                INTEGER NOT NULL,
  from_pe            TEXT NOT NULL,
  cause              TEXT NOT NULL,
  detection_delay_us INTEGER NOT NULL,
  to_pe              TEXT,
  cookie             INTEGER NOT NULL,
  resumed            INTEGER,
  lost               INTEGER NOT NULL,
  attempts           INTEGER NOT NULL
);
CREATE INDEX failovers_by_run ON failovers(run_id, time_us);
CREATE INDEX failovers_by_pe ON failovers(run_id, from_pe, time_us);

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,
  run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id     INTEGER NOT NULL,
  time_us          INTEGER NOT NULL,
  job              INTEGER NOT NULL,
  size             INTEGER NOT NULL,
  status           TEXT NOT NULL,
  queued_us        INTEGER NOT NULL,
  started_us       INTEGER,
  accepted_us      INTEGER,
  completed_us     INTEGER,
  pe               TEXT,
  rejects          INTEGER NOT NULL,
  failovers        INTEGER NOT NULL,
  queuing_delay_us INTEGER,
  startup_delay_us INTEGER,
  processing_us    INTEGER,
  handling_us      INTEGER,
  handling_speed   REAL
);
CREATE INDEX jobs_by_run ON jobs(run_id, status, completed_us);

CREATE TABLE registrations (
  id                   INTEGER PRIMARY KEY,
  run_id               INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id         INTEGER NOT NULL,
  time_us              INTEGER NOT NULL,
  kind                 TEXT NOT NULL
                       CHECK (kind IN ('registration', 'reregistration', 'deregistration')),
  conn                 INTEGER,
  pool                 TEXT NOT NULL,
  pe                   TEXT NOT NULL,
  policy               TEXT,
  transport            TEXT,
  port                 INTEGER,
  addresses            TEXT,
  registration_life_ms INTEGER,
  load                 REAL,
  reason               TEXT
);
CREATE INDEX registrations_by_run ON registrations(run_id, pe, time_us);

CREATE TABLE registrar_actions (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  pool         TEXT,
  pe           TEXT,
  event        TEXT NOT NULL
);
CREATE INDEX registrar_actions_by_run ON registrar_actions(run_id, kind, time_us);

CREATE TABLE pe_samples (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('usage', 'load_changed')),
  calculations REAL,
  offered      REAL,
  utilization  REAL,
  load         REAL,
  jobs         INTEGER
);
CREATE INDEX pe_samples_by_run ON pe_samples(run_id, kind, component_id, time_us);

CREATE TABLE faults (
  id      INTEGER PRIMARY KEY,
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind    TEXT NOT NULL,
  target  TEXT NOT NULL,
  at_us   INTEGER NOT NULL,
  details TEXT
);
CREATE INDEX faults_by_run ON faults(run_id, at_us);

CREATE TABLE event_counts (
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  event        TEXT NOT NULL,
  n            INTEGER NOT NULL,
  PRIMARY KEY (run_id, component_id, event)
) WITHOUT ROWID;

CREATE TABLE malformed_events (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  event        TEXT NOT NULL,
  error        TEXT NOT NULL
);
CREATE INDEX malformed_events_by_run ON malformed_events(run_id);

CREATE VIEW measured_jobs AS
SELECT j.*, r.experiment_id, r.policy
FROM jobs AS j JOIN runs AS r ON r.id = j.run_id
WHERE j.status = 'completed'
  AND j.completed_us >= r.warmup_us
  AND j.completed_us <= r.warmup_us + r.duration_us;

CREATE VIEW policy_summary AS
SELECT s.*,
       CASE WHEN s.handling_us > 0 THEN s.calculations * 1e6 / s.handling_us END
         AS handling_speed
FROM (
  SELECT r.id AS run_id, r.experiment_id, r.idx, r.key, r.policy, r.repetition, r.seed,
         r.status,
         (SELECT count(*) FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS jobs_completed,
         (SELECT coalesce(sum(j.size), 0) FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS calculations,
         (SELECT coalesce(sum(j.handling_us), 0) FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS handling_us,
         (SELECT count(*) FROM failovers AS f
           WHERE f.run_id = r.id
             AND f.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS failovers,
         (SELECT coalesce(sum(f.lost), 0) FROM failovers AS f
           WHERE f.run_id = r.id
             AND f.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS lost_calculations,
         (SELECT sum(p.calculations) / sum(p.offered) FROM pe_samples AS p
           WHERE p.run_id = r.id AND p.kind = 'usage'
             AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us)
           AS utilization
  FROM runs AS r
) AS s;

CREATE VIEW pe_utilization AS
SELECT p.run_id, p.component_id, c.name, c.identity, c.capacity, r.policy,
       sum(p.calculations) AS calculations, sum(p.offered) AS offered,
       sum(p.calculations) / sum(p.offered) AS utilization
FROM pe_samples AS p
JOIN runs AS r ON r.id = p.run_id
JOIN components AS c ON c.id = p.component_id
WHERE p.kind = 'usage'
  AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us
GROUP BY p.run_id, p.component_id;
)sql";

// v2 (issue 7): when each fault was scheduled next to when it was applied, and the clock of
// every site's agent against the runner's (remote sites: their events are corrected by it).
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE faults ADD COLUMN scheduled_us INTEGER;
UPDATE faults SET scheduled_us = json_extract(details, '$.scheduled_us')
  WHERE details IS NOT NULL AND json_valid(details);

CREATE TABLE site_clocks (
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  site           TEXT NOT NULL,
  host           TEXT,
  agent_version  TEXT,
  offset_us      INTEGER NOT NULL,
  uncertainty_us INTEGER NOT NULL,
  rtt_us         INTEGER NOT NULL,
  samples        INTEGER NOT NULL,
  PRIMARY KEY (run_id, site)
) WITHOUT ROWID;
)sql";

// ---- v3 (issue 12, part 5): PE events as rows, per-run checks, the closing table's view ----
// pe_events: every PE event but the samples (usage, load_changed → pe_samples), so a PE's
// view of its registration, the REJECTs it sent and the sessions it took over (a job
// accepted from a cookie) can be read next to the registrar's and the PUs' rows.
// run_checks: what the runner checked after each run (results/checks.hpp). run_summary:
// policy_summary plus what the closing table shows besides.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE pe_events (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  pe           TEXT,
  pr           INTEGER,
  session      INTEGER,
  job          INTEGER,
  event        TEXT NOT NULL
);
CREATE INDEX pe_events_by_run ON pe_events(run_id, kind, time_us);
CREATE INDEX pe_events_by_pe ON pe_events(run_id, pe, time_us);

CREATE TABLE run_checks (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name    TEXT NOT NULL,
  status  TEXT NOT NULL CHECK (status IN ('ok', 'warning')),
  value   REAL,
  message TEXT NOT NULL,
  details TEXT,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE VIEW run_summary AS
SELECT s.*,
       (SELECT count(*) FROM jobs AS j WHERE j.run_id = s.run_id AND j.status = 'unfinished')
         AS jobs_unfinished,
       (SELECT count(*) FROM pe_events AS e
         WHERE e.run_id = s.run_id AND e.kind = 'job_rejected'
           AND e.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
         AS rejects,
       (SELECT sum(p.calculations) FROM pe_samples AS p
         WHERE p.run_id = s.run_id AND p.kind = 'usage'
           AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us)
         AS usage_calculations,
       (SELECT sum(p.offered) FROM pe_samples AS p
         WHERE p.run_id = s.run_id AND p.kind = 'usage'
           AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us)
         AS usage_offered,
       (SELECT count(*) FROM run_checks AS c WHERE c.run_id = s.run_id) AS checks,
       (SELECT count(*) FROM run_checks AS c WHERE c.run_id = s.run_id AND c.status <> 'ok')
         AS warnings
FROM policy_summary AS s
JOIN runs AS r ON r.id = s.run_id;
)sql";
// ---- end of v3 ----------------------------------------------------------------------------

// ---- v4 (issue 12, parts 3-4): lost work, exactly ------------------------------------------------
// What a PE had in progress when it was killed or stopped inside its process (pe_progress,
// from its `killed` / `stopped` events), and per failover: when the PU gave the PE up
// (detected_us), the PU's end of the failed session (local_addresses, local_port), the
// calculations lost exactly (lost_exact; `lost` stays the PU's lower bound) and the fault
// that hit the PE (fault_id, fault_to_detection_us). end_run links them (link_failovers).
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE pe_progress (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  pe           TEXT NOT NULL,
  cause        TEXT NOT NULL CHECK (cause IN ('killed', 'stopped')),
  session      INTEGER NOT NULL,
  job          INTEGER NOT NULL,
  size         INTEGER NOT NULL,
  completed    INTEGER NOT NULL,
  pu_addresses TEXT,
  pu_port      INTEGER
);
CREATE INDEX pe_progress_by_job ON pe_progress(run_id, pe, job);

ALTER TABLE failovers ADD COLUMN detected_us INTEGER;
ALTER TABLE failovers ADD COLUMN local_addresses TEXT;
ALTER TABLE failovers ADD COLUMN local_port INTEGER;
ALTER TABLE failovers ADD COLUMN lost_exact INTEGER;
ALTER TABLE failovers ADD COLUMN fault_id INTEGER;
ALTER TABLE failovers ADD COLUMN fault_to_detection_us INTEGER;
)sql";
// ---- end of v4 ---------------------------------------------------------------------------

// ---- v6 (issue 13): the report's per-run metrics ------------------------------------------
// run_metrics: one row per run with every metric of `rsplab report` (results/report.hpp) over
// the run's measured window, in the report's units (seconds, %, calculations/s), so SQL
// users read the same per-run numbers the report averages over repetitions.
constexpr const char* kSchemaV6 = R"sql(
CREATE VIEW run_metrics AS
SELECT s.run_id, s.experiment_id, s.idx, s.key, s.policy, s.repetition, s.status, r.reason,
       r.parameters, r.transport,
       s.handling_speed,
       100.0 * s.handling_speed / c.pe_capacity AS handling_speed_pct,
       j.handling_time, j.queuing_delay, j.startup_delay, j.processing_time,
       100.0 * s.usage_calculations / s.usage_offered AS utilization,
       s.jobs_completed, s.jobs_unfinished, s.rejects, s.failovers,
       f.detection_delay, f.lost_exact, s.lost_calculations AS lost_lower_bound,
       CASE WHEN s.jobs_completed > 0 THEN h.resolutions * 1.0 / s.jobs_completed END
         AS resolutions_per_job,
       s.calculations, s.handling_us, c.pes, c.pe_capacity, s.usage_calculations,
       s.usage_offered, coalesce(f.lost_exact_known, 0) AS lost_exact_known,
       coalesce(h.resolutions, 0) AS resolutions, s.checks, s.warnings
FROM run_summary AS s
JOIN runs AS r ON r.id = s.run_id
LEFT JOIN (
  SELECT run_id, count(*) AS pes, avg(capacity) AS pe_capacity
  FROM (SELECT run_id, name, max(capacity) AS capacity FROM components
        WHERE role = 'pe' GROUP BY run_id, name)
  GROUP BY run_id) AS c ON c.run_id = s.run_id
LEFT JOIN (
  SELECT run_id, avg(handling_us) / 1e6 AS handling_time,
         avg(queuing_delay_us) / 1e6 AS queuing_delay,
         avg(startup_delay_us) / 1e6 AS startup_delay,
         avg(processing_us) / 1e6 AS processing_time
  FROM measured_jobs GROUP BY run_id) AS j ON j.run_id = s.run_id
LEFT JOIN (
  SELECT x.run_id, avg(x.detection_delay_us) / 1e6 AS detection_delay,
         sum(x.lost_exact) AS lost_exact, count(x.lost_exact) AS lost_exact_known
  FROM failovers AS x JOIN runs AS y ON y.id = x.run_id
  WHERE x.time_us BETWEEN y.warmup_us AND y.warmup_us + y.duration_us
  GROUP BY x.run_id) AS f ON f.run_id = s.run_id
LEFT JOIN (
  SELECT x.run_id, count(*) AS resolutions
  FROM handle_resolutions AS x JOIN runs AS y ON y.id = x.run_id
  WHERE x.time_us BETWEEN y.warmup_us AND y.warmup_us + y.duration_us
  GROUP BY x.run_id) AS h ON h.run_id = s.run_id;
)sql";
// ---- end of v6 ---------------------------------------------------------------------------

// ---- v7 (issue 13): what `rsplab run --until-ci` decided per sweep point ------------------
// One row per experiment, sweep point and target (percent, cap, compared metrics), replaced
// when the same campaign is run again: whether the point reached the target or stopped at
// the cap without it, over how many runs, each metric's estimate (results/README.md).
constexpr const char* kSchemaV7 = R"sql(
CREATE TABLE until_ci (
  id              INTEGER PRIMARY KEY,
  experiment_id   INTEGER NOT NULL REFERENCES experiments(id),
  parameters      TEXT NOT NULL,
  percent         REAL NOT NULL,
  max_repetitions INTEGER NOT NULL,
  metrics         TEXT NOT NULL,
  verdict         TEXT NOT NULL CHECK (verdict IN ('reached', 'cap', 'no_value', 'undecided')),
  runs            INTEGER NOT NULL,
  estimates       TEXT NOT NULL,
  decided_unix_us INTEGER NOT NULL,
  UNIQUE (experiment_id, parameters, percent, max_repetitions, metrics)
);
)sql";
// ---- end of v7 ---------------------------------------------------------------------------

// ---- v8 (issue 14): the echo service's series ---------------------------------------------
// One row per echo PU member's series, from its `done` event: how it ended and what it
// counted (docs/echo.md). A failover of a series is a row of failovers (job 1).
constexpr const char* kSchemaV8 = R"sql(
CREATE TABLE echo_series (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  requests     INTEGER NOT NULL,
  answers      INTEGER NOT NULL,
  duplicates   INTEGER NOT NULL,
  lost         INTEGER NOT NULL,
  replies      INTEGER NOT NULL,
  failovers    INTEGER NOT NULL
);
CREATE INDEX echo_series_by_run ON echo_series(run_id, component_id);
)sql";
// ---- end of v8 ---------------------------------------------------------------------------

// ---- v9 (issue 14): sums that do not overflow ---------------------------------------------
// SQLite's sum() of integers fails the whole query ("integer overflow") once a partial sum
// leaves 64 bits, so one job of a size near INT64_MAX made run_metrics (and the report, the
// closing table, --until-ci) unreadable. The views' sums of integer columns (job sizes,
// handling times, calculations lost) are total(), cast back to an integer while it is one
// exactly (below 2^53, every realistic run): the same integers as before, a real beyond.
// policy_summary is v1's and run_metrics v6's otherwise; run_summary reads policy_summary
// by name and stays as it is.
constexpr const char* kSchemaV9 = R"sql(
DROP VIEW run_metrics;
DROP VIEW policy_summary;

CREATE VIEW policy_summary AS
SELECT s.*,
       CASE WHEN s.handling_us > 0 THEN s.calculations * 1e6 / s.handling_us END
         AS handling_speed
FROM (
  SELECT r.id AS run_id, r.experiment_id, r.idx, r.key, r.policy, r.repetition, r.seed,
         r.status,
         (SELECT count(*) FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS jobs_completed,
         (SELECT CASE WHEN abs(total(j.size)) < 9007199254740992
                      THEN CAST(total(j.size) AS INTEGER) ELSE total(j.size) END
           FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS calculations,
         (SELECT CASE WHEN abs(total(j.handling_us)) < 9007199254740992
                      THEN CAST(total(j.handling_us) AS INTEGER) ELSE total(j.handling_us) END
           FROM jobs AS j
           WHERE j.run_id = r.id AND j.status = 'completed'
             AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS handling_us,
         (SELECT count(*) FROM failovers AS f
           WHERE f.run_id = r.id
             AND f.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS failovers,
         (SELECT CASE WHEN abs(total(f.lost)) < 9007199254740992
                      THEN CAST(total(f.lost) AS INTEGER) ELSE total(f.lost) END
           FROM failovers AS f
           WHERE f.run_id = r.id
             AND f.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us)
           AS lost_calculations,
         (SELECT sum(p.calculations) / sum(p.offered) FROM pe_samples AS p
           WHERE p.run_id = r.id AND p.kind = 'usage'
             AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us)
           AS utilization
  FROM runs AS r
) AS s;

CREATE VIEW run_metrics AS
SELECT s.run_id, s.experiment_id, s.idx, s.key, s.policy, s.repetition, s.status, r.reason,
       r.parameters, r.transport,
       s.handling_speed,
       100.0 * s.handling_speed / c.pe_capacity AS handling_speed_pct,
       j.handling_time, j.queuing_delay, j.startup_delay, j.processing_time,
       100.0 * s.usage_calculations / s.usage_offered AS utilization,
       s.jobs_completed, s.jobs_unfinished, s.rejects, s.failovers,
       f.detection_delay, f.lost_exact, s.lost_calculations AS lost_lower_bound,
       CASE WHEN s.jobs_completed > 0 THEN h.resolutions * 1.0 / s.jobs_completed END
         AS resolutions_per_job,
       s.calculations, s.handling_us, c.pes, c.pe_capacity, s.usage_calculations,
       s.usage_offered, coalesce(f.lost_exact_known, 0) AS lost_exact_known,
       coalesce(h.resolutions, 0) AS resolutions, s.checks, s.warnings
FROM run_summary AS s
JOIN runs AS r ON r.id = s.run_id
LEFT JOIN (
  SELECT run_id, count(*) AS pes, avg(capacity) AS pe_capacity
  FROM (SELECT run_id, name, max(capacity) AS capacity FROM components
        WHERE role = 'pe' GROUP BY run_id, name)
  GROUP BY run_id) AS c ON c.run_id = s.run_id
LEFT JOIN (
  SELECT run_id, avg(handling_us) / 1e6 AS handling_time,
         avg(queuing_delay_us) / 1e6 AS queuing_delay,
         avg(startup_delay_us) / 1e6 AS startup_delay,
         avg(processing_us) / 1e6 AS processing_time
  FROM measured_jobs GROUP BY run_id) AS j ON j.run_id = s.run_id
LEFT JOIN (
  SELECT x.run_id, avg(x.detection_delay_us) / 1e6 AS detection_delay,
         CASE WHEN count(x.lost_exact) = 0 THEN NULL
              WHEN abs(total(x.lost_exact)) < 9007199254740992
              THEN CAST(total(x.lost_exact) AS INTEGER) ELSE total(x.lost_exact) END
           AS lost_exact,
         count(x.lost_exact) AS lost_exact_known
  FROM failovers AS x JOIN runs AS y ON y.id = x.run_id
  WHERE x.time_us BETWEEN y.warmup_us AND y.warmup_us + y.duration_us
  GROUP BY x.run_id) AS f ON f.run_id = s.run_id
LEFT JOIN (
  SELECT x.run_id, count(*) AS resolutions
  FROM handle_resolutions AS x JOIN runs AS y ON y.id = x.run_id
  WHERE x.time_us BETWEEN y.warmup_us AND y.warmup_us + y.duration_us
  GROUP BY x.run_id) AS h ON h.run_id = s.run_id;
)sql";
// ---- end of v9 ---------------------------------------------------------------------------

// ---- v10 (issue 15): ENRP -------------------------------------------------------------------
// What the registrars' ENRP did: each takeover a registrar attempted (its `takeover` event:
// when it started and ended, the outcome, the PEs adopted), each handle table it downloaded
// from a peer (`handle_table_sync`: at start-up from its mentor, or by an audit), and each
// PE it adopted (`pe_adopted`: from then on it holds the PE, as a registration would make it).
constexpr const char* kSchemaV10 = R"sql(
CREATE TABLE enrp_takeovers (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  started_us   INTEGER NOT NULL,
  target       TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  pes          INTEGER NOT NULL,
  acks         INTEGER NOT NULL
);
CREATE INDEX enrp_takeovers_by_run ON enrp_takeovers(run_id, time_us);

CREATE TABLE enrp_syncs (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  peer         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  pes          INTEGER NOT NULL,
  pages        INTEGER NOT NULL,
  removed      INTEGER NOT NULL,
  duration_us  INTEGER NOT NULL
);
CREATE INDEX enrp_syncs_by_run ON enrp_syncs(run_id, time_us);

CREATE TABLE pe_adoptions (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  component_id INTEGER NOT NULL,
  time_us      INTEGER NOT NULL,
  pool         TEXT NOT NULL,
  pe           TEXT NOT NULL,
  from_registrar TEXT NOT NULL
);
CREATE INDEX pe_adoptions_by_run ON pe_adoptions(run_id, pe, time_us);
)sql";
// ---- end of v10 --------------------------------------------------------------------------

// Version 11: what a run cost (issue 16, the pool at scale): one row per process the run
// started (a registrar, a group of PEs or PUs with its member count) with the peak memory
// and CPU time its agent measured when it exited, and one row per run with the deployment
// time, the events stored and the runner's own peak memory and CPU during the run.
constexpr const char* kSchemaV11 = R"sql(
CREATE TABLE processes (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('registrar', 'pe', 'pu')),
  site        TEXT NOT NULL,
  members     INTEGER NOT NULL,
  exited      INTEGER NOT NULL,
  max_rss_kib INTEGER,
  cpu_s       REAL
);
CREATE INDEX processes_by_run ON processes(run_id, role, site);

CREATE TABLE run_resources (
  run_id             INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  deploy_s           REAL,
  events_stored      INTEGER NOT NULL,
  events_per_s       REAL,
  runner_max_rss_kib INTEGER NOT NULL,
  runner_cpu_s       REAL NOT NULL
);
)sql";
// ---- end of v11 --------------------------------------------------------------------------

}  // namespace

// The statements of end_run: see schema.hpp.
// A failover's exact loss: the PE's progress at its kill / stop (the latest such snapshot
// of the job before the PU gave the PE up, on the same session: the PU's end of it is the
// PE's peer) minus where the job resumed (0 when it never did). NULL without a snapshot.
extern const char* const kLinkLostExact = R"sql(
UPDATE failovers AS f SET lost_exact = (
  SELECT CASE WHEN p.completed >= coalesce(f.resumed, 0)
              THEN p.completed - coalesce(f.resumed, 0) END
  FROM pe_progress AS p
  WHERE p.run_id = f.run_id AND p.pe = f.from_pe AND p.job = f.job
    AND p.pu_port = f.local_port AND p.time_us <= f.detected_us
    AND EXISTS (SELECT 1 FROM json_each(p.pu_addresses) AS a, json_each(f.local_addresses) AS b
                WHERE a.value = b.value)
  ORDER BY p.time_us DESC, p.id DESC LIMIT 1)
WHERE f.run_id = ?1 AND f.detected_us IS NOT NULL AND f.local_port IS NOT NULL
)sql";
// The fault behind a failover: the latest kill, stop or restart that hit the failed PE's
// identity (details.members[].id) at or before the PU gave it up.
extern const char* const kLinkFault = R"sql(
UPDATE failovers AS f SET fault_id = (
  SELECT x.id FROM faults AS x, json_each(x.details, '$.members') AS m
  WHERE x.run_id = f.run_id AND x.kind IN ('kill', 'stop', 'restart')
    AND json_valid(x.details) AND json_extract(m.value, '$.id') = f.from_pe
    AND x.at_us <= f.detected_us
  ORDER BY x.at_us DESC, x.id DESC LIMIT 1)
WHERE f.run_id = ?1 AND f.detected_us IS NOT NULL
)sql";
extern const char* const kLinkFaultDelay = R"sql(
UPDATE failovers AS f SET fault_to_detection_us =
  f.detected_us - (SELECT x.at_us FROM faults AS x WHERE x.id = f.fault_id)
WHERE f.run_id = ?1 AND f.fault_id IS NOT NULL
)sql";

const char* migration_step(std::int64_t version) {
  const char* const steps[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4,
                               kSchemaV5, kSchemaV6, kSchemaV7, kSchemaV8, kSchemaV9,
                               kSchemaV10, kSchemaV11};
  static_assert(std::size(steps) == kSchemaVersion, "one migration step per version");
  return steps[version];
}

const SchemaTable* find_table(std::string_view name) {
  // The tables count() knows, and the column that names their run.
  static constexpr SchemaTable kTables[] = {
      {"experiments", nullptr},      {"runs", "id"},
      {"run_parameters", "run_id"},  {"components", "run_id"},
      {"handle_resolutions", "run_id"}, {"failovers", "run_id"},
      {"jobs", "run_id"},            {"registrations", "run_id"},
      {"registrar_actions", "run_id"}, {"pe_samples", "run_id"},
      {"faults", "run_id"},          {"event_counts", "run_id"},
      {"malformed_events", "run_id"}, {"site_clocks", "run_id"},
      {"pe_events", "run_id"},       {"run_checks", "run_id"},
      {"pe_progress", "run_id"},     {"until_ci", nullptr},
      {"echo_series", "run_id"},     {"enrp_takeovers", "run_id"},
      {"enrp_syncs", "run_id"},      {"pe_adoptions", "run_id"},
      {"processes", "run_id"},       {"run_resources", "run_id"},
  };
  for (const auto& t : kTables)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace rsplab::results
