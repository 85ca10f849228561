// The HTML page of `rsplab report results.db --html report.html`: one self-contained file a
// researcher opens in any browser, offline. Per experiment it shows the definition (the
// experiments.source JSON, laid out as YAML), the per-policy table of the Report (every
// metric as "mean ± half-width (n = k)"), the plots, the runs (id, policy, sweep point,
// repetition, status, checks) and their health checks (run_checks); a run's row links to
// its timeline figures and each figure links back to the row.
//
//   Store + Report (results/report.hpp) + Figures (results/plots.hpp's SVG files)
//      ─► html_report(): one string ─► write_html(): the file
//
// Self-contained: every figure is embedded as a data: URI (base64 SVG in an <img>), so
// gnuplot's repeated element ids cannot collide and nothing in an SVG can script or style
// the page; the CSS is inline; a Content-Security-Policy forbids scripts and every remote
// fetch. Every text taken from the database or a figure is HTML-escaped. Single-threaded;
// errors (a figure that cannot be read or is no SVG) throw HtmlError.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "results/report.hpp"
#include "results/store.hpp"

namespace rsplab::results {

struct HtmlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One plot: its SVG text, or the path of an .svg file when `svg` is empty. A figure with the
// run_id of a run on the page is that run's (a timeline): it is shown after the runs table,
// which links to it, and it links back to the run's row. Any other figure with an
// experiment_id is shown after that experiment's table; the rest at the end of the page.
struct Figure {
  std::string title, caption;
  std::string svg_path;
  std::string svg;
  std::optional<std::int64_t> run_id, experiment_id;
};

struct HtmlOptions {
  std::string title = "RSerPool Lab report";
  std::string database;  // the results file's path, shown under the title ("" : not shown)
};

// The whole page. Runs and checks are read from `store` for the experiments in `report`.
std::string html_report(const Store& store, const Report& report,
                        const std::vector<Figure>& figures, const HtmlOptions& options = {});

// Writes html_report() to `path` (through a temporary file renamed into place). Throws
// HtmlError when the file cannot be written.
void write_html(const std::string& path, const Store& store, const Report& report,
                const std::vector<Figure>& figures, const HtmlOptions& options = {});

// Text made safe for HTML content and attribute values (& < > " ').
std::string html_escape(const std::string& text);

// How the page shows a number: whole numbers as they are ("302"), otherwise every integer
// digit and 4 significant digits below 1000 ("12346", "123.5", "0.8123"); exponent notation
// beyond 1e15 or below 1e-4 ("1.235e-05").
std::string format_number(double value);

// How the page shows an estimate: "mean ± half (n = k)", "value (n = 1)", "–" for none.
std::string format_estimate(const Estimate& e);

}  // namespace rsplab::results
