// The plots of `rsplab report --plot DIR`, drawn by gnuplot (Debian's gnuplot-nox): each
// figure is written as DIR/NAME.svg and DIR/NAME.png together with the gnuplot script that
// drew them (NAME.gp) and its data (NAME.dat, NAME-*.dat), so that a researcher can edit the
// script for a paper and run `gnuplot NAME.gp` in DIR again. Sizes and fonts fit one column
// of a two-column paper (3.5 in wide, 9 pt text). This component owns the figures' content
// and layout; the numbers come from the Report (results/report.hpp: means and intervals are
// computed there, never here) and from a run's own rows in the Store.
//
//   Report ──► plot_sweep: a metric against a swept parameter, a line per policy, 95 % bars
//   Store  ──► plot_run_timeline: registered capacity and PEs, handling speed, faults, failovers
//          ──► plot_utilization_heatmap: PE × time
//          ──► plot_distributions: ECDFs of failover detection delay and of lost work
//   write_plots: all of them for a report (README.md, "Plots", lists the file names)
//
// Empty inputs (no failovers, no jobs, no samples) give a figure that says so. Each function
// returns the paths it wrote. Errors (gnuplot missing or failing, an unknown run, parameter
// or metric, a directory that cannot be written) throw PlotError. Single-threaded; runs one
// gnuplot process per figure.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "results/report.hpp"
#include "results/store.hpp"

namespace rsplab::results {

struct PlotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whether gnuplot can be run (it is looked up as agents::run_command does).
bool gnuplot_available();

// For each experiment of `report` whose rows have the parameter `x`: `metric` (its label and
// unit label the y axis) against `x`, one line per policy (and per value of any other
// parameter that varies at a fixed x), 95 % interval bars where n ≥ 2, no bar where n = 1.
// x is numeric when every value parses as a number, else categorical in the rows' order;
// x = "policy" puts the policies on the x axis. Files: e<experiment id>-<metric>-vs-<x>.*
// Throws PlotError when no row has `x` or the report does not hold `metric`.
std::vector<std::string> plot_sweep(const Report& report, const Metric& metric,
                                    const std::string& x, const std::string& dir);

// One run over time: registered capacity and PEs (from the registrations), handling speed
// of the jobs completed in each time bin (Σ size / Σ handling), failovers (when the PU
// noticed them) and every fault on the time axis, the measured window shaded.
// Files: run<id>-timeline.*
std::vector<std::string> plot_run_timeline(const Store& store, std::int64_t run_id,
                                           const std::string& dir);

// Per-PE utilization (Σ calculations / Σ offered of the usage samples) per time bin.
// Files: run<id>-utilization.*
std::vector<std::string> plot_utilization_heatmap(const Store& store, std::int64_t run_id,
                                                  const std::string& dir);

// Over the failovers of `run_ids`, per policy: the ECDF of the detection delay and the ECDF
// of the work lost per failover (lost_exact where known, else the lower bound `lost`; the
// legend says how many of each). Files: <name>-detection_delay.*, <name>-lost_work.*;
// titled `title` ("" : "runs 1, 2, 3").
std::vector<std::string> plot_distributions(const Store& store,
                                            const std::vector<std::int64_t>& run_ids,
                                            const std::string& dir,
                                            const std::string& name = "runs",
                                            const std::string& title = "");

struct PlotOptions {
  // The metrics to plot against the sweep (label and unit from the report's catalog,
  // find_metric); those the report does not hold are skipped. Empty: none.
  std::vector<Metric> metrics;
  std::optional<std::int64_t> run;  // timeline and heat map of this run only
  std::optional<std::string> x;     // the swept parameter on the x axis (default below)
};

// Everything for a report, into `dir` (created): per experiment the sweep plot of each
// metric against options.x, else its first numeric swept parameter (those the file names
// its points by, sweep.labels, first), else its first swept one, else the policy; per
// completed run counted in the report (or options.run) its
// timeline and heat map; per experiment the distributions over its runs (e<id>-…).
std::vector<std::string> write_plots(const Store& store, const Report& report,
                                     const std::string& dir, const PlotOptions& options = {});

}  // namespace rsplab::results
