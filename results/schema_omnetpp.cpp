// The OMNeT++ 6 result views of the results database (schema version 5; results/README.md,
// "Read as an OMNeT++ result file", has the mapping): the one migration step that lets
// opp_scavetool and OMNeT++-style scripts read an emulation's results as a simulation's.
// The other versions and the list of steps are in schema.cpp. Constant data only.
#include "results/schema.hpp"

namespace rsplab::results {

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
extern const char* const kSchemaV5 = R"sql(
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

}  // namespace rsplab::results
