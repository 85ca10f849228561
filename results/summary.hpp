// What `rsplab run` prints about its runs, read from the results database: the totals of
// one run (its completion line) and the closing table, per policy and sweep point over the
// plan's completed runs. The rows are the report's (results/report.hpp: run_metrics, then
// group_runs per experiment × policy × sweep point); handling speed and utilization are the
// mean over a row's runs with their 95 % interval when it has more than one. An echo run
// (docs/echo.md) has no jobs: what it did is its PUs' series (echo_series), counted here too.
//
//   completed_runs(keys) ─► summarize(run ids) ─► rows ─► summary_table(rows) ─► text
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "results/stats.hpp"
#include "results/store.hpp"

namespace rsplab::results {

// What the echo PUs' series of some runs did, from echo_series (one row per series, stored
// when it ended; warm-up included): series, round trips (PONGs received), duplicates (PONGs
// answered again after a failover) and PINGs never answered.
struct EchoTotals {
  std::int64_t series = 0, round_trips = 0, duplicates = 0, lost = 0;
};

// The echo series of `run_ids` (all zero for runs without echo PUs).
EchoTotals echo_totals(const Store& store, const std::vector<std::int64_t>& run_ids);

struct SummaryRow {
  std::string policy;  // "-" without one
  std::string point;   // the other sweep parameters, "ratio=10 load=0.7"; "" without any
  std::int64_t runs = 0;
  std::int64_t jobs_completed = 0;   // completed inside the measured window
  std::int64_t jobs_unfinished = 0;  // not completed when the PUs stopped
  std::int64_t rejects = 0;          // REJECTs the PEs sent in the window
  std::int64_t failovers = 0;        // PU failovers in the window
  std::int64_t warned = 0;           // runs with a check not ok
  std::int64_t unchecked = 0;        // runs without checks (stored by an older rsplab)
  // Over the runs: the mean of each run's value (handling speed: Σ size / Σ handling time
  // inside the run, calculations/s; utilization: Σ calculations / Σ offered, %) with its
  // interval (results/report.hpp, metrics handling_speed and utilization).
  Estimate handling_speed, utilization;
  EchoTotals echo;    // the echo series of the row's runs
  bool jobs = true;   // false: echo runs alone (series, no job stored): no job to count
};

// Per policy and sweep point over `run_ids`, ordered by policy, then by the plan's order.
std::vector<SummaryRow> summarize(const Store& store, const std::vector<std::int64_t>& run_ids);

// The newest completed row of each of `keys`, in experiment `experiment_id` when given.
std::vector<std::int64_t> completed_runs(const Store& store, const std::vector<std::string>& keys,
                                         std::optional<std::int64_t> experiment_id);

// The closing table with its footnote; the sweep point is a last column when some row has one.
// With echo series in some row, columns `echo series` and `round trips` come before `checks`,
// and a row of echo runs alone shows "-" for the jobs it has none of.
std::string summary_table(const std::vector<SummaryRow>& rows);

}  // namespace rsplab::results
