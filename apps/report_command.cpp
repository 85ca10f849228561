// `rsplab report RESULTS.db`: per experiment, policy and sweep point, every metric as a mean
// over the completed runs with its 95 % interval (results/report.hpp), as a text table, CSV
// or JSON, to stdout or a file. It opens the database read-only (a file of an older schema
// is migrated first, as `rsplab run` would), so a missing path, an empty file or another
// SQLite file is a clear error and is never created or changed.
//
//   parse ─► open ─► build_report(options) ─► render (text | csv | json) ─► stdout / -o FILE
//   (--plot DIR and --html FILE, other helpers of issue 13, render the same Report.)
#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "results/report.hpp"
#include "results/store.hpp"

namespace rsplab {
namespace {

namespace r = results;

struct ReportCommandOptions {
  std::string file;
  std::string experiment;
  std::vector<std::string> by;
  std::vector<std::string> metrics;
  bool csv = false, json = false;
  std::string output;
  CLI::Option* by_option = nullptr;
  CLI::Option* experiment_option = nullptr;
};

// The database for reading: read-only; a file of an older schema migrated first (its views
// are needed), said on stderr.
r::Store open_for_report(const std::string& file, Context& ctx) {
  r::Store store = r::Store::open_read_only(file);
  const auto version = store.schema_version();
  if (version >= r::kSchemaVersion) return store;
  store = r::Store::open(file);
  ctx.err << "rsplab report: " << file << " was of schema version " << version
          << ": migrated to " << r::kSchemaVersion << "\n";
  return r::Store::open_read_only(file);
}

std::string render(const r::Report& report, const ReportCommandOptions& o) {
  if (o.csv) return r::report_csv(report);
  if (o.json) return r::report_json(report);
  return r::report_text(report);
}

// The report of `o`, or nullopt after saying why on stderr.
std::optional<r::Report> build(const ReportCommandOptions& o, Context& ctx) {
  r::ReportOptions options;
  if (o.experiment_option->count() > 0) options.experiment = o.experiment;
  if (o.by_option->count() > 0) options.by = o.by;
  options.metrics = o.metrics;
  try {
    const r::Store store = open_for_report(o.file, ctx);
    return r::build_report(store, options);
  } catch (const r::ReportError& e) {
    ctx.err << "rsplab report: " << e.what() << "\n";
  } catch (const r::StoreError& e) {
    ctx.err << "rsplab report: " << e.what() << "\n";
  }
  return std::nullopt;
}

int write(const std::string& text, const std::string& file, Context& ctx) {
  if (file.empty()) {
    ctx.out << text;
    return kExitOk;
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    ctx.err << "rsplab report: cannot write '" << file << "'\n";
    return kExitUsage;
  }
  return kExitOk;
}

int run_report(const ReportCommandOptions& o, Context& ctx) {
  const auto report = build(o, ctx);
  if (!report) return kExitUsage;
  // Other renderings of the same Report (--plot DIR, --html FILE) go here.
  return write(render(*report, o), o.output, ctx);
}

std::string metrics_help() {
  std::string text = "Metrics (--metric), each a run's value over its measured window:\n";
  for (const auto& m : r::metrics())
    text += "  " + m.name + " (" + m.unit + "): " + m.description + "\n";
  return text;
}

}  // namespace

void add_report_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ReportCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Compare policies: each metric's mean and 95 % interval over the repetitions");
  cmd->add_option("file", o->file, "Results database (SQLite) written by rsplab run")->required();
  o->experiment_option =
      cmd->add_option("--experiment", o->experiment, "Only this experiment (its name or id)");
  o->by_option = cmd->add_option("--by", o->by,
                                 "Group by these swept parameters only (comma-separated; policy "
                                 "is always a dimension: --by policy merges every sweep point)")
                     ->delimiter(',');
  cmd->add_option("--metric", o->metrics, "Only these metrics (comma-separated), in this order")
      ->delimiter(',');
  auto* csv = cmd->add_flag("--csv", o->csv,
                            "CSV: one line per row and metric (n, mean, ci_low, ci_high, sd, min, max)");
  cmd->add_flag("--json", o->json, "JSON: the experiments, metrics and rows with their estimates")
      ->excludes(csv);
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of stdout");
  cmd->footer(metrics_help() +
              "\nRows: per experiment, policy and sweep point (every swept parameter but policy),\n"
              "over the completed runs (the newest completed row of each run key); interrupted\n"
              "and failed runs are counted apart and named in the notes. A cell is\n"
              "\"mean ± half-width (n = k)\"; n = 1: the value alone. results/README.md (view\n"
              "run_metrics) defines every metric in SQL.\n\n"
              "Exit status: 0 success; 2 usage error (unknown option, experiment, metric or\n"
              "parameter; a file that is missing or not a results database).");
  cmd->callback([o, &ctx] { ctx.exit_code = run_report(*o, ctx); });
}

}  // namespace rsplab
