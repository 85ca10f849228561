#include "results/store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "stack/common/log.hpp"

namespace rsplab::results {

namespace {

using json = nlohmann::json;

// "RSPL" in PRAGMA application_id: tells our files from other SQLite databases.
constexpr std::int64_t kApplicationId = 0x5253504c;

// Loads and other policy values on the wire are fractions of 0xFFFFFFFF.
constexpr double kLoadScale = 4294967295.0;

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

// A failover's exact loss: the PE's progress at its kill / stop (the latest such snapshot
// of the job before the PU gave the PE up, on the same session: the PU's end of it is the
// PE's peer) minus where the job resumed (0 when it never did). NULL without a snapshot.
constexpr const char* kLinkLostExact = R"sql(
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
constexpr const char* kLinkFault = R"sql(
UPDATE failovers AS f SET fault_id = (
  SELECT x.id FROM faults AS x, json_each(x.details, '$.members') AS m
  WHERE x.run_id = f.run_id AND x.kind IN ('kill', 'stop', 'restart')
    AND json_valid(x.details) AND json_extract(m.value, '$.id') = f.from_pe
    AND x.at_us <= f.detected_us
  ORDER BY x.at_us DESC, x.id DESC LIMIT 1)
WHERE f.run_id = ?1 AND f.detected_us IS NOT NULL
)sql";
constexpr const char* kLinkFaultDelay = R"sql(
UPDATE failovers AS f SET fault_to_detection_us =
  f.detected_us - (SELECT x.at_us FROM faults AS x WHERE x.id = f.fault_id)
WHERE f.run_id = ?1 AND f.fault_id IS NOT NULL
)sql";
// ---- end of v4 ---------------------------------------------------------------------------

// ---- v5 (issue 13): the file read as an OMNeT++ 6 SQLite result file ------------------------
// Views with the names and columns of OMNeT++ 6's result schema (src/common/
// sqliteresultfileschema.cc of omnetpp/omnetpp; results/README.md, "Read as an OMNeT++
// result file", has the mapping), so opp_scavetool and OMNeT++-style analysis scripts read
// emulation results as they read simulation results. Every table of that schema is here,
// the empty ones too. Times are µs: simtimeExp = -6, simtimeRaw = time_us. Module paths:
// `Lab.` + the component name with `/` → `.` and `#k` → `[k]`; a name that has several
// components rows (a restarted registrar) is one module, numbered by its first row.
// Identifiers are derived from row ids, so they are stable: run = runs.id; a module's
// results = its first component id × 256 (scalars) or × 16 (vectors, statistics,
// parameters: OMNeT++ reads vector ids as 32-bit) + a code; a run's own scalars = runs.id ×
// 256 + code. Helper views (omnetpp_*) hold each mapping once.
constexpr const char* kSchemaV5 = R"sql(
CREATE VIEW omnetpp_runs AS
SELECT r.id AS runId, r.experiment_id,
       strftime('%Y%m%d-%H:%M:%S', r.start_unix_us / 1000000, 'unixepoch') AS datetime,
       coalesce((SELECT group_concat('$' || p.name || '=' || p.value, ', ')
                 FROM (SELECT name, value FROM run_parameters
                       WHERE run_id = r.id ORDER BY name) AS p), '') AS iterationvars
FROM runs AS r;

CREATE VIEW omnetpp_modules AS
SELECT c.id AS component_id, c.run_id, c.role, c.name, c.site, c.pool, c.policy, c.capacity,
       min(c.id) OVER (PARTITION BY c.run_id, c.name) AS module_id,
       'Lab.' || CASE WHEN instr(c.name, '#') > 0
                      THEN replace(substr(c.name, 1, instr(c.name, '#') - 1), '/', '.')
                           || '[' || substr(c.name, instr(c.name, '#') + 1) || ']'
                      ELSE replace(c.name, '/', '.') END AS moduleName
FROM components AS c;

CREATE VIEW omnetpp_scalar_kinds (code, name, unit) AS
VALUES (0, 'jobs_completed', NULL), (1, 'jobs_unfinished', NULL),
       (2, 'calculations', NULL), (3, 'handling_us', 'us'),
       (4, 'handling_speed', 'calculations/s'), (5, 'failovers', NULL),
       (6, 'lost_calculations', NULL), (7, 'rejects', NULL), (8, 'utilization', NULL),
       (9, 'usage_calculations', NULL), (10, 'usage_offered', NULL), (11, 'checks', NULL),
       (12, 'warnings', NULL),
       (64, 'jobs_completed', NULL), (65, 'jobs_unfinished', NULL),
       (66, 'calculations', NULL), (67, 'handling_us', 'us'),
       (68, 'handling_speed', 'calculations/s'), (69, 'failovers', NULL),
       (70, 'handle_resolutions', NULL),
       (128, 'capacity', 'calculations/s'), (129, 'usage_calculations', NULL),
       (130, 'usage_offered', NULL), (131, 'utilization', NULL), (132, 'rejects', NULL);

CREATE VIEW omnetpp_vector_kinds (code, name, unit, interpolationmode) AS
VALUES (1, 'handling_us', 'us', 'none'),
       (2, 'resolution_latency_us', 'us', 'none'),
       (3, 'utilization', NULL, 'backward-sample-hold'),
       (4, 'registered_pes', NULL, 'sample-hold');

CREATE VIEW omnetpp_scalars AS
WITH summary AS MATERIALIZED (SELECT * FROM run_summary),
jobs_c AS (
  SELECT j.component_id,
         sum(j.status = 'completed' AND j.completed_us BETWEEN r.warmup_us
             AND r.warmup_us + r.duration_us) AS jobs_completed,
         sum(j.status = 'unfinished') AS jobs_unfinished,
         sum(CASE WHEN j.status = 'completed' AND j.completed_us BETWEEN r.warmup_us
                  AND r.warmup_us + r.duration_us THEN j.size END) AS calculations,
         sum(CASE WHEN j.status = 'completed' AND j.completed_us BETWEEN r.warmup_us
                  AND r.warmup_us + r.duration_us THEN j.handling_us END) AS handling_us
  FROM jobs AS j JOIN runs AS r ON r.id = j.run_id
  GROUP BY j.component_id),
failovers_c AS (
  SELECT f.component_id, count(*) AS n
  FROM failovers AS f JOIN runs AS r ON r.id = f.run_id
  WHERE f.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us
  GROUP BY f.component_id),
resolutions_c AS (
  SELECT h.component_id, count(*) AS n
  FROM handle_resolutions AS h JOIN runs AS r ON r.id = h.run_id
  WHERE h.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us
  GROUP BY h.component_id),
usage_c AS (
  SELECT p.component_id, sum(p.calculations) AS calculations, sum(p.offered) AS offered
  FROM pe_samples AS p JOIN runs AS r ON r.id = p.run_id
  WHERE p.kind = 'usage'
    AND p.time_us > r.warmup_us AND p.time_us <= r.warmup_us + r.duration_us
  GROUP BY p.component_id),
rejects_c AS (
  SELECT e.component_id, count(*) AS n
  FROM pe_events AS e JOIN runs AS r ON r.id = e.run_id
  WHERE e.kind = 'job_rejected'
    AND e.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us
  GROUP BY e.component_id),
pu AS (
  SELECT m.run_id, m.module_id, m.moduleName,
         coalesce(sum(j.jobs_completed), 0) AS jobs_completed,
         coalesce(sum(j.jobs_unfinished), 0) AS jobs_unfinished,
         coalesce(sum(j.calculations), 0) AS calculations,
         coalesce(sum(j.handling_us), 0) AS handling_us,
         coalesce(sum(f.n), 0) AS failovers, coalesce(sum(h.n), 0) AS handle_resolutions
  FROM omnetpp_modules AS m
  LEFT JOIN jobs_c AS j ON j.component_id = m.component_id
  LEFT JOIN failovers_c AS f ON f.component_id = m.component_id
  LEFT JOIN resolutions_c AS h ON h.component_id = m.component_id
  WHERE m.role = 'pu'
  GROUP BY m.module_id),
pe AS (
  SELECT m.run_id, m.module_id, m.moduleName, max(m.capacity) AS capacity,
         sum(u.calculations) AS calculations, sum(u.offered) AS offered,
         coalesce(sum(x.n), 0) AS rejects
  FROM omnetpp_modules AS m
  LEFT JOIN usage_c AS u ON u.component_id = m.component_id
  LEFT JOIN rejects_c AS x ON x.component_id = m.component_id
  WHERE m.role = 'pe'
  GROUP BY m.module_id)
SELECT * FROM (
  SELECT s.run_id * 256 + k.code AS scalarId, s.run_id AS runId, 'Lab' AS moduleName,
         k.name AS scalarName,
         CASE k.code WHEN 0 THEN s.jobs_completed WHEN 1 THEN s.jobs_unfinished
                     WHEN 2 THEN s.calculations WHEN 3 THEN s.handling_us
                     WHEN 4 THEN s.handling_speed WHEN 5 THEN s.failovers
                     WHEN 6 THEN s.lost_calculations WHEN 7 THEN s.rejects
                     WHEN 8 THEN s.utilization WHEN 9 THEN s.usage_calculations
                     WHEN 10 THEN s.usage_offered WHEN 11 THEN s.checks
                     WHEN 12 THEN s.warnings END AS scalarValue,
         k.unit
  FROM summary AS s JOIN omnetpp_scalar_kinds AS k ON k.code < 64
  UNION ALL
  SELECT p.module_id * 256 + k.code, p.run_id, p.moduleName, k.name,
         CASE k.code WHEN 64 THEN p.jobs_completed WHEN 65 THEN p.jobs_unfinished
                     WHEN 66 THEN p.calculations WHEN 67 THEN p.handling_us
                     WHEN 68 THEN CASE WHEN p.handling_us > 0
                                       THEN p.calculations * 1e6 / p.handling_us END
                     WHEN 69 THEN p.failovers WHEN 70 THEN p.handle_resolutions END,
         k.unit
  FROM pu AS p JOIN omnetpp_scalar_kinds AS k ON k.code BETWEEN 64 AND 127
  UNION ALL
  SELECT p.module_id * 256 + k.code, p.run_id, p.moduleName, k.name,
         CASE k.code WHEN 128 THEN p.capacity WHEN 129 THEN p.calculations
                     WHEN 130 THEN p.offered WHEN 131 THEN p.calculations / p.offered
                     WHEN 132 THEN p.rejects END,
         k.unit
  FROM pe AS p JOIN omnetpp_scalar_kinds AS k ON k.code >= 128
) WHERE scalarValue IS NOT NULL;

CREATE VIEW omnetpp_vector_data AS
SELECT m.module_id * 16 + 1 AS vectorId, m.run_id AS runId, m.moduleName,
       j.id AS eventNumber, j.completed_us AS simtimeRaw, j.handling_us AS value
FROM jobs AS j JOIN omnetpp_modules AS m ON m.component_id = j.component_id
WHERE j.status = 'completed'
UNION ALL
SELECT m.module_id * 16 + 2, m.run_id, m.moduleName, h.id, h.time_us, h.latency_us
FROM handle_resolutions AS h JOIN omnetpp_modules AS m ON m.component_id = h.component_id
WHERE NOT h.cached
UNION ALL
SELECT m.module_id * 16 + 3, m.run_id, m.moduleName, p.id, p.time_us, p.utilization
FROM pe_samples AS p JOIN omnetpp_modules AS m ON m.component_id = p.component_id
WHERE p.kind = 'usage' AND p.utilization IS NOT NULL
UNION ALL
SELECT m.module_id * 16 + 4, m.run_id, m.moduleName, g.id, g.time_us,
       sum(CASE g.kind WHEN 'registration' THEN 1 ELSE -1 END)
         OVER (PARTITION BY m.module_id ORDER BY g.time_us, g.id)
FROM registrations AS g JOIN omnetpp_modules AS m ON m.component_id = g.component_id
WHERE g.kind <> 'reregistration';

CREATE VIEW run AS
SELECT o.runId, e.name || '-' || r.idx || '-' || o.datetime || '-' || r.id AS runName,
       -6 AS simtimeExp
FROM omnetpp_runs AS o
JOIN runs AS r ON r.id = o.runId
JOIN experiments AS e ON e.id = r.experiment_id;

CREATE VIEW runAttr AS
SELECT * FROM (
  SELECT r.id AS runId, a.column1 AS attrName,
         CAST(CASE a.column1
           WHEN 'configname' THEN e.name WHEN 'datetime' THEN o.datetime
           WHEN 'experiment' THEN e.name WHEN 'inifile' THEN e.file
           WHEN 'iterationvars' THEN o.iterationvars WHEN 'measurement' THEN o.iterationvars
           WHEN 'network' THEN 'Lab' WHEN 'replication' THEN '#' || r.repetition
           WHEN 'repetition' THEN r.repetition WHEN 'runnumber' THEN r.idx
           WHEN 'seedset' THEN r.seed WHEN 'status' THEN r.status WHEN 'reason' THEN r.reason
           WHEN 'policy' THEN r.policy WHEN 'transport' THEN r.transport WHEN 'key' THEN r.key
           WHEN 'warmup_us' THEN r.warmup_us WHEN 'duration_us' THEN r.duration_us
           WHEN 'start_unix_us' THEN r.start_unix_us WHEN 'end_unix_us' THEN r.end_unix_us
           WHEN 'rsplab_version' THEN e.rsplab_version WHEN 'host' THEN e.host
           WHEN 'kernel' THEN e.kernel END AS TEXT) AS attrValue
  FROM omnetpp_runs AS o
  JOIN runs AS r ON r.id = o.runId
  JOIN experiments AS e ON e.id = r.experiment_id
  JOIN (VALUES ('configname'), ('datetime'), ('experiment'), ('inifile'), ('iterationvars'),
               ('measurement'), ('network'), ('replication'), ('repetition'), ('runnumber'),
               ('seedset'), ('status'), ('reason'), ('policy'), ('transport'), ('key'),
               ('warmup_us'), ('duration_us'), ('start_unix_us'), ('end_unix_us'),
               ('rsplab_version'), ('host'), ('kernel')) AS a
) WHERE attrValue IS NOT NULL;

CREATE VIEW runItervar AS
SELECT run_id AS runId, name AS itervarName, value AS itervarValue FROM run_parameters;

CREATE VIEW runConfig AS
SELECT r.id AS runId, substr(t.fullkey, 3) AS configKey,
       CASE t.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                   ELSE CAST(t.atom AS TEXT) END AS configValue,
       t.id AS configOrder
FROM runs AS r, json_tree(r.resolved) AS t
WHERE json_valid(r.resolved) AND t.type NOT IN ('object', 'array');

CREATE VIEW scalar AS
SELECT scalarId, runId, moduleName, scalarName, scalarValue FROM omnetpp_scalars;

CREATE VIEW scalarAttr AS
SELECT scalarId, 'unit' AS attrName, unit AS attrValue
FROM omnetpp_scalars WHERE unit IS NOT NULL;

CREATE VIEW parameter AS
SELECT * FROM (
  SELECT m.module_id * 16 + a.column1 AS paramId, m.run_id AS runId, m.moduleName,
         a.column2 AS paramName,
         CAST(CASE a.column1 WHEN 1 THEN m.site WHEN 2 THEN m.pool WHEN 3 THEN m.policy
                             WHEN 4 THEN CASE m.role WHEN 'pe' THEN m.capacity END
                             END AS TEXT) AS paramValue
  FROM omnetpp_modules AS m
  JOIN (VALUES (1, 'site'), (2, 'pool'), (3, 'policy'), (4, 'capacity')) AS a
  WHERE m.component_id = m.module_id
) WHERE paramValue IS NOT NULL AND paramValue <> '';

CREATE VIEW paramAttr AS
SELECT CAST(NULL AS INTEGER) AS paramId, CAST(NULL AS TEXT) AS attrName,
       CAST(NULL AS TEXT) AS attrValue
WHERE 0;

CREATE VIEW statistic AS
SELECT statId, runId, moduleName, statName, 0 AS isHistogram, 0 AS isWeighted, statCount,
       statSum * 1.0 / statCount AS statMean,
       CASE WHEN statCount > 1
            THEN sqrt(max(statSqrsum - statSum * 1.0 * statSum / statCount, 0) / (statCount - 1))
       END AS statStddev,
       statSum, statSqrsum, statMin, statMax,
       CAST(NULL AS REAL) AS statWeights, CAST(NULL AS REAL) AS statWeightedSum,
       CAST(NULL AS REAL) AS statSqrSumWeights, CAST(NULL AS REAL) AS statWeightedSqrSum
FROM (
  SELECT m.module_id * 16 + 1 AS statId, m.run_id AS runId, m.moduleName,
         'handling_us' AS statName, count(*) AS statCount, sum(j.handling_us) AS statSum,
         sum(j.handling_us * 1.0 * j.handling_us) AS statSqrsum, min(j.handling_us) AS statMin,
         max(j.handling_us) AS statMax
  FROM jobs AS j
  JOIN runs AS r ON r.id = j.run_id
  JOIN omnetpp_modules AS m ON m.component_id = j.component_id
  WHERE j.status = 'completed'
    AND j.completed_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us
  GROUP BY m.module_id
  UNION ALL
  SELECT m.module_id * 16 + 2, m.run_id, m.moduleName, 'resolution_latency_us', count(*),
         sum(h.latency_us), sum(h.latency_us * 1.0 * h.latency_us), min(h.latency_us),
         max(h.latency_us)
  FROM handle_resolutions AS h
  JOIN runs AS r ON r.id = h.run_id
  JOIN omnetpp_modules AS m ON m.component_id = h.component_id
  WHERE NOT h.cached AND h.time_us BETWEEN r.warmup_us AND r.warmup_us + r.duration_us
  GROUP BY m.module_id
);

CREATE VIEW statisticAttr AS
SELECT statId, 'unit' AS attrName, 'us' AS attrValue FROM statistic;

CREATE VIEW histogramBin AS
SELECT CAST(NULL AS INTEGER) AS statId, CAST(NULL AS REAL) AS lowerEdge,
       CAST(NULL AS REAL) AS binValue
WHERE 0;

CREATE VIEW vector AS
SELECT d.vectorId, d.runId, d.moduleName, k.name AS vectorName, count(*) AS vectorCount,
       min(d.value) AS vectorMin, max(d.value) AS vectorMax, sum(d.value) AS vectorSum,
       sum(d.value * 1.0 * d.value) AS vectorSumSqr, min(d.eventNumber) AS startEventNum,
       max(d.eventNumber) AS endEventNum, min(d.simtimeRaw) AS startSimtimeRaw,
       max(d.simtimeRaw) AS endSimtimeRaw
FROM omnetpp_vector_data AS d
JOIN omnetpp_vector_kinds AS k ON k.code = d.vectorId % 16
GROUP BY d.vectorId;

CREATE VIEW vectorAttr AS
SELECT * FROM (
  SELECT v.vectorId, a.column1 AS attrName,
         CASE a.column1 WHEN 'unit' THEN k.unit ELSE k.interpolationmode END AS attrValue
  FROM vector AS v
  JOIN omnetpp_vector_kinds AS k ON k.code = v.vectorId % 16
  JOIN (VALUES ('unit'), ('interpolationmode')) AS a
) WHERE attrValue IS NOT NULL;

CREATE VIEW vectorData AS
SELECT vectorId, eventNumber, simtimeRaw, value FROM omnetpp_vector_data;
)sql";
// ---- end of v5 ---------------------------------------------------------------------------

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

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4,
                                       kSchemaV5, kSchemaV6, kSchemaV7};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration step per version");

// The tables count() knows, and the column that names their run.
constexpr std::pair<std::string_view, const char*> kTables[] = {
    {"experiments", nullptr},      {"runs", "id"},
    {"run_parameters", "run_id"},  {"components", "run_id"},
    {"handle_resolutions", "run_id"}, {"failovers", "run_id"},
    {"jobs", "run_id"},            {"registrations", "run_id"},
    {"registrar_actions", "run_id"}, {"pe_samples", "run_id"},
    {"faults", "run_id"},          {"event_counts", "run_id"},
    {"malformed_events", "run_id"}, {"site_clocks", "run_id"},
    {"pe_events", "run_id"},       {"run_checks", "run_id"},
    {"pe_progress", "run_id"},     {"until_ci", nullptr},
};

constexpr const char* kInsertHandleResolution =
    "INSERT INTO handle_resolutions (run_id, component_id, time_us, pool, registrar, cached,"
    " latency_us, pes, pe_count, error) VALUES (?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertFailover =
    "INSERT INTO failovers (run_id, component_id, time_us, job, from_pe, cause,"
    " detection_delay_us, to_pe, cookie, resumed, lost, attempts, detected_us,"
    " local_addresses, local_port) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertPeProgress =
    "INSERT INTO pe_progress (run_id, component_id, time_us, pe, cause, session, job, size,"
    " completed, pu_addresses, pu_port) VALUES (?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertJob =
    "INSERT INTO jobs (run_id, component_id, time_us, job, size, status, queued_us,"
    " started_us, accepted_us, completed_us, pe, rejects, failovers, queuing_delay_us,"
    " startup_delay_us, processing_us, handling_us, handling_speed)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertRegistration =
    "INSERT INTO registrations (run_id, component_id, time_us, kind, conn, pool, pe, policy,"
    " transport, port, addresses, registration_life_ms, load, reason)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertRegistrarAction =
    "INSERT INTO registrar_actions (run_id, component_id, time_us, kind, pool, pe, event)"
    " VALUES (?,?,?,?,?,?,?)";
constexpr const char* kInsertPeSample =
    "INSERT INTO pe_samples (run_id, component_id, time_us, kind, calculations, offered,"
    " utilization, load, jobs) VALUES (?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertPeEvent =
    "INSERT INTO pe_events (run_id, component_id, time_us, kind, pe, pr, session, job, event)"
    " VALUES (?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertMalformed =
    "INSERT INTO malformed_events (run_id, component_id, event, error) VALUES (?,?,?,?)";
constexpr const char* kCountEvent =
    "INSERT INTO event_counts (run_id, component_id, event, n) VALUES (?,?,?,1)"
    " ON CONFLICT (run_id, component_id, event) DO UPDATE SET n = n + 1";

// ---------------------------------------------------------------------------------------
// SQLite helpers

[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what) {
  std::string text = what + ": " + sqlite3_errstr(rc);
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc))
      text += std::string(" (") + detail + ")";
  }
  throw StoreError(text);
}

void exec_sql(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return;
  std::string text = std::string("SQL failed: ") + sqlite3_errstr(rc);
  if (message != nullptr) {
    text += std::string(" (") + message + ")";
    sqlite3_free(message);
  }
  const std::string_view shown(sql);
  text += " in: " + std::string(shown.substr(0, 120));
  throw StoreError(text);
}

struct FinalizeStatement {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

StatementPtr prepare_once(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, std::string("cannot prepare '") + sql + "'");
  return StatementPtr(s);
}

// The first column of the first row of `sql`, as an integer (0 when there is no row).
std::int64_t query_int(sqlite3* db, const char* sql) {
  const auto s = prepare_once(db, sql);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(s.get(), 0);
  if (rc != SQLITE_DONE) fail(db, rc, std::string("'") + sql + "' failed");
  return 0;
}

std::string query_text(sqlite3* db, const char* sql) {
  const auto s = prepare_once(db, sql);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(s.get(), 0);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
  }
  if (rc != SQLITE_DONE) fail(db, rc, std::string("'") + sql + "' failed");
  return {};
}


Value integer(std::int64_t v) { return v; }
Value boolean(bool v) { return std::int64_t{v ? 1 : 0}; }
Value text_or_null(const std::string& v) { return v.empty() ? Value(nullptr) : Value(v); }
template <class T>
Value optional_value(const std::optional<T>& v) {
  if (!v) return nullptr;
  if constexpr (std::is_same_v<T, bool>)
    return boolean(*v);
  else if constexpr (std::is_integral_v<T>)
    return static_cast<std::int64_t>(*v);
  else
    return *v;
}

// Binds `values` to ?1…?n; on an error resets the statement and throws.
void bind_and_check(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what) {
  int rc = SQLITE_OK;
  int i = 1;
  for (const auto& v : values) {
    if (std::holds_alternative<std::nullptr_t>(v))
      rc = sqlite3_bind_null(s, i);
    else if (const auto* n = std::get_if<std::int64_t>(&v))
      rc = sqlite3_bind_int64(s, i, *n);
    else if (const auto* d = std::get_if<double>(&v))
      rc = std::isfinite(*d) ? sqlite3_bind_double(s, i, *d) : sqlite3_bind_null(s, i);
    else {
      const auto& t = std::get<std::string>(v);
      rc = sqlite3_bind_text64(s, i, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      fail(db, rc, std::string(what) + ": cannot bind value " + std::to_string(i));
    }
    ++i;
  }
}

// Binds `values` to ?1…?n, steps once and resets. Returns whether a row came back.
bool step(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what) {
  bind_and_check(db, s, values, what);
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    std::string text = std::string(what) + ": " + sqlite3_errstr(rc);
    if (const char* detail = sqlite3_errmsg(db); detail != nullptr)
      text += std::string(" (") + detail + ")";
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    throw StoreError(text);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_ROW;
}

// Rolls back unless committed (SQLiteCpp's Transaction).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec_sql(db_, "BEGIN IMMEDIATE"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!committed_ && sqlite3_get_autocommit(db_) == 0)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec_sql(db_, "COMMIT");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::int64_t now_unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------
// Event parsing: an event line becomes rows, or Malformed says why it cannot. Parsing
// happens before anything is written, so a malformed event leaves no partial rows.

class Malformed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string quoted(const char* key) { return std::string("'") + key + "'"; }

const json* find(const json& e, const char* key) {
  const auto it = e.find(key);
  return it == e.end() ? nullptr : &*it;
}

const json& required(const json& e, const char* key) {
  const json* v = find(e, key);
  if (v == nullptr) throw Malformed("missing " + quoted(key));
  return *v;
}

// Null or absent: nullptr.
const json* optional_field(const json& e, const char* key) {
  const json* v = find(e, key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::int64_t to_int(const json& v, const char* key) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw Malformed(quoted(key) + " is out of range");
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    // An integral value written as a float (5e6) is still an integer.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
      return static_cast<std::int64_t>(d);
  }
  throw Malformed(quoted(key) + " is not an integer");
}

double to_number(const json& v, const char* key) {
  if (!v.is_number()) throw Malformed(quoted(key) + " is not a number");
  return v.get<double>();
}

std::string to_string(const json& v, const char* key) {
  if (!v.is_string()) throw Malformed(quoted(key) + " is not a string");
  return v.get<std::string>();
}

bool to_bool(const json& v, const char* key) {
  if (!v.is_boolean()) throw Malformed(quoted(key) + " is not a boolean");
  return v.get<bool>();
}

std::int64_t req_int(const json& e, const char* key) { return to_int(required(e, key), key); }
std::string req_string(const json& e, const char* key) {
  return to_string(required(e, key), key);
}
bool req_bool(const json& e, const char* key) { return to_bool(required(e, key), key); }
double req_number(const json& e, const char* key) { return to_number(required(e, key), key); }

std::optional<std::int64_t> opt_int(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_int(*v, key));
}
std::optional<double> opt_number(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_number(*v, key));
}
std::optional<std::string> opt_string(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  return v == nullptr ? std::nullopt : std::optional(to_string(*v, key));
}
// An array of strings as JSON text, or NULL when missing or null.
Value optional_array(const json& e, const char* key) {
  const json* v = optional_field(e, key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) throw Malformed(quoted(key) + " is not an array");
  for (const auto& x : *v)
    if (!x.is_string()) throw Malformed(quoted(key) + " holds a non-string");
  return dump(*v);
}
// For registrar_actions' convenience columns: a string when it is one, else NULL.
Value string_if_any(const json& e, const char* key) {
  const json* v = find(e, key);
  return v != nullptr && v->is_string() ? Value(v->get<std::string>()) : Value(nullptr);
}

// For pe_events' convenience columns: an integer when it is one, else NULL.
Value integer_if_any(const json& e, const char* key) {
  const json* v = find(e, key);
  if (v == nullptr || !(v->is_number_integer() || v->is_number_unsigned())) return nullptr;
  try {
    return integer(to_int(*v, key));
  } catch (const Malformed&) {
    return nullptr;  // out of range: the whole line is in `event`
  }
}

// Absolute UTC µs → µs since the run's start.
// The absolute times of events (docs/events.md), which add_event makes run-relative.
constexpr const char* kAbsoluteTimes[] = {"time_us", "queued_us", "started_us", "accepted_us",
                                          "completed_us", "detected_us"};

std::int64_t relative(std::int64_t absolute, std::int64_t start, const char* key) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(absolute, start, &r)) throw Malformed(quoted(key) + " is out of range");
  return r;
}
std::optional<std::int64_t> relative(std::optional<std::int64_t> absolute, std::int64_t start,
                                     const char* key) {
  if (!absolute) return std::nullopt;
  return relative(*absolute, start, key);
}

struct Row {
  const char* sql;
  Values values;
};

struct Parsed {
  std::string name;
  std::vector<Row> rows;
};

// The rows of one event of a component with `role` (docs/events.md). Throws Malformed.
Parsed parse_event(const std::string& role, const json& e, std::int64_t run_id,
                   std::int64_t component_id, std::int64_t start) {
  if (!e.is_object()) throw Malformed("not a JSON object");
  Parsed p;
  p.name = req_string(e, "event");
  if (p.name.empty()) throw Malformed("empty 'event'");
  const std::int64_t t = relative(req_int(e, "time_us"), start, "time_us");
  const Value run = integer(run_id), component = integer(component_id), time = integer(t);

  if (role == "pu") {
    if (p.name == "handle_resolution") {
      const json& pes = required(e, "pes");
      if (!pes.is_array()) throw Malformed("'pes' is not an array");
      for (const auto& pe : pes)
        if (!pe.is_string()) throw Malformed("'pes' holds a non-string");
      p.rows.push_back({kInsertHandleResolution,
                        {run, component, time, req_string(e, "pool"),
                         optional_value(opt_int(e, "registrar")), boolean(req_bool(e, "cached")),
                         integer(req_int(e, "latency_us")), dump(pes),
                         integer(static_cast<std::int64_t>(pes.size())),
                         optional_value(opt_string(e, "error"))}});
    } else if (p.name == "failover") {
      p.rows.push_back({kInsertFailover,
                        {run, component, time, integer(req_int(e, "job")),
                         req_string(e, "from_pe"), req_string(e, "cause"),
                         integer(req_int(e, "detection_delay_us")),
                         optional_value(opt_string(e, "to_pe")), boolean(req_bool(e, "cookie")),
                         optional_value(opt_int(e, "resumed")), integer(req_int(e, "lost")),
                         integer(req_int(e, "attempts")),
                         optional_value(relative(opt_int(e, "detected_us"), start, "detected_us")),
                         optional_array(e, "local_addresses"),
                         optional_value(opt_int(e, "local_port"))}});
    } else if (p.name == "job") {
      p.rows.push_back(
          {kInsertJob,
           {run, component, time, integer(req_int(e, "job")), integer(req_int(e, "size")),
            req_string(e, "status"),
            integer(relative(req_int(e, "queued_us"), start, "queued_us")),
            optional_value(relative(opt_int(e, "started_us"), start, "started_us")),
            optional_value(relative(opt_int(e, "accepted_us"), start, "accepted_us")),
            optional_value(relative(opt_int(e, "completed_us"), start, "completed_us")),
            optional_value(opt_string(e, "pe")), integer(req_int(e, "rejects")),
            integer(req_int(e, "failovers")), optional_value(opt_int(e, "queuing_delay_us")),
            optional_value(opt_int(e, "startup_delay_us")),
            optional_value(opt_int(e, "processing_us")),
            optional_value(opt_int(e, "handling_us")),
            optional_value(opt_number(e, "handling_speed"))}});
    }
  } else if (role == "registrar") {
    if (p.name == "registration" || p.name == "reregistration") {
      const json* addresses = optional_field(e, "addresses");
      if (addresses != nullptr && !addresses->is_array())
        throw Malformed("'addresses' is not an array");
      const auto load = opt_int(e, "load");
      p.rows.push_back(
          {kInsertRegistration,
           {run, component, time, p.name, optional_value(opt_int(e, "conn")),
            req_string(e, "pool"), req_string(e, "pe"), req_string(e, "policy"),
            optional_value(opt_string(e, "transport")), optional_value(opt_int(e, "port")),
            addresses != nullptr ? Value(dump(*addresses)) : Value(nullptr),
            optional_value(opt_int(e, "registration_life_ms")),
            load ? Value(static_cast<double>(*load) / kLoadScale) : Value(nullptr), nullptr}});
    } else if (p.name == "deregistration") {
      p.rows.push_back({kInsertRegistration,
                        {run, component, time, p.name, nullptr, req_string(e, "pool"),
                         req_string(e, "pe"), nullptr, nullptr, nullptr, nullptr, nullptr,
                         nullptr, req_string(e, "reason")}});
    }
    // Every registrar event is an action, the rows above included.
    p.rows.push_back({kInsertRegistrarAction,
                      {run, component, time, p.name, string_if_any(e, "pool"),
                       string_if_any(e, "pe"), dump(e)}});
  } else if (role == "pe") {
    if (p.name == "usage") {
      p.rows.push_back({kInsertPeSample,
                        {run, component, time, p.name, req_number(e, "calculations"),
                         req_number(e, "offered"), optional_value(opt_number(e, "utilization")),
                         nullptr, nullptr}});
    } else if (p.name == "load_changed") {
      // Two writers: the CalcApp service ({load 0…1, jobs}) and the registration core
      // ({load as a raw 32-bit fraction, reregistering}). Stored as 0…1 either way.
      const double load = req_number(e, "load");
      const auto jobs = opt_int(e, "jobs");
      const bool raw = find(e, "jobs") == nullptr;
      p.rows.push_back({kInsertPeSample,
                        {run, component, time, p.name, nullptr, nullptr, nullptr,
                         raw ? load / kLoadScale : load, optional_value(jobs)}});
    } else {
      // Every other PE event is a row of its own (registration state, REJECTs sent, jobs
      // taken over from a cookie, sessions, shell events).
      p.rows.push_back({kInsertPeEvent,
                        {run, component, time, p.name, string_if_any(e, "id"),
                         integer_if_any(e, "pr"), integer_if_any(e, "session"),
                         integer_if_any(e, "job"), dump(e)}});
      if (p.name == "killed" || p.name == "stopped") {
        // A member killed or stopped in its process: its jobs' progress just then.
        const json* jobs = optional_field(e, "jobs");
        if (jobs != nullptr && !jobs->is_array()) throw Malformed("'jobs' is not an array");
        for (const json& j : jobs != nullptr ? *jobs : json::array()) {
          if (!j.is_object()) throw Malformed("'jobs' holds a non-object");
          p.rows.push_back({kInsertPeProgress,
                            {run, component, time, req_string(e, "id"), p.name,
                             integer(req_int(j, "session")), integer(req_int(j, "job")),
                             integer(req_int(j, "size")), integer(req_int(j, "completed")),
                             optional_array(j, "pu_addresses"),
                             optional_value(opt_int(j, "pu_port"))}});
        }
      }
    }
  }
  return p;
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
    exec(kMigrations[v]);
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

// -----------------------------------------------------------------------------------------
// Events

void shift_event_clock(nlohmann::json& event, std::int64_t offset_us) {
  if (!event.is_object()) return;
  for (const char* key : kAbsoluteTimes) {
    const auto it = event.find(key);
    if (it != event.end() && it->is_number_integer())
      *it = it->get<std::int64_t>() - offset_us;
  }
}

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
  const std::int64_t start = run_start(run_id);
  Parsed parsed;
  std::string error;
  try {
    parsed = parse_event(c.role, event, run_id, component_id, start);
  } catch (const Malformed& e) {
    error = e.what();
  } catch (const json::exception& e) {  // a conversion the checks above did not foresee
    error = e.what();
  }

  begin_batch();
  try {
    if (!error.empty()) {
      step(db_, prepared(kInsertMalformed),
           {integer(run_id), integer(component_id), dump(event), error}, "add_event: malformed");
      step(db_, prepared(kCountEvent), {integer(run_id), integer(component_id), "malformed"},
           "add_event: count");
      batched_ += 2;
    } else {
      for (const auto& row : parsed.rows) step(db_, prepared(row.sql), row.values, "add_event");
      step(db_, prepared(kCountEvent), {integer(run_id), integer(component_id), parsed.name},
           "add_event: count");
      batched_ += parsed.rows.size() + 1;
    }
  } catch (const StoreError&) {
    // Some errors (disk full, I/O) roll the whole transaction back.
    if (sqlite3_get_autocommit(db_) != 0) batched_ = 0;
    throw;
  }
  if (batched_ >= kBatchRows) flush();
  return error.empty() && !parsed.rows.empty();
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

namespace {

// The current row of `s` as Values (a BLOB as its bytes, as text).
Values row_values(sqlite3_stmt* s) {
  Values row;
  for (int c = 0; c < sqlite3_column_count(s); ++c) {
    switch (sqlite3_column_type(s, c)) {
      case SQLITE_INTEGER: row.emplace_back(integer(sqlite3_column_int64(s, c))); break;
      case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(s, c)); break;
      case SQLITE_NULL: row.emplace_back(nullptr); break;
      default: {
        const auto* t = static_cast<const char*>(sqlite3_column_blob(s, c));
        row.emplace_back(t == nullptr ? std::string()
                                      : std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, c))));
      }
    }
  }
  return row;
}

}  // namespace

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
  for (const auto& [name, run_column] : kTables) {
    if (name != table) continue;
    std::string sql = "SELECT count(*) FROM " + table;
    if (run_id) {
      if (run_column == nullptr) throw StoreError("count: " + table + " has no run");
      sql += std::string(" WHERE ") + run_column + " = ?";
    }
    const auto s = prepare_once(db_, sql.c_str());
    if (run_id) sqlite3_bind_int64(s.get(), 1, *run_id);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) fail(db_, rc, "count(" + table + ")");
    return sqlite3_column_int64(s.get(), 0);
  }
  throw StoreError("count: no table '" + table + "'");
}

}  // namespace rsplab::results
