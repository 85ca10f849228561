// `rsplab report RESULTS.db`: per experiment, policy and sweep point, every metric as a mean
// over the completed runs with its 95 % interval (results/report.hpp), as a text table, CSV
// or JSON, to stdout or a file. It opens the database read-only (a file of an older schema
// is migrated first, as `rsplab run` would), so a missing path, an empty file or another
// SQLite file is a clear error and is never created or changed.
//
//   parse ─► open ─► build_report(options) ─► render (text | csv | json) ─► stdout / -o FILE
//                                          ─► --plot DIR: write_plots (results/plots.hpp)
//                                          ─► --html FILE: write_html (results/html.hpp), its
//                                             figures from --plot DIR or a temporary directory
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "results/html.hpp"
#include "results/plots.hpp"
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
  std::string plot_dir, html_file, x;
  std::optional<std::int64_t> run;
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

// The report of `o` from `store`, or nullopt after saying why on stderr.
std::optional<r::Report> build(const r::Store& store, const ReportCommandOptions& o,
                               Context& ctx) {
  r::ReportOptions options;
  if (o.experiment_option->count() > 0) options.experiment = o.experiment;
  if (o.by_option->count() > 0) options.by = o.by;
  options.metrics = o.metrics;
  try {
    return r::build_report(store, options);
  } catch (const r::ReportError& e) {
    ctx.err << "rsplab report: " << e.what() << "\n";
  } catch (const r::StoreError& e) {
    ctx.err << "rsplab report: " << e.what() << "\n";
  }
  return std::nullopt;
}

// The metrics of --metric against the sweep; handling speed without it.
r::PlotOptions plot_options(const ReportCommandOptions& o) {
  r::PlotOptions p;
  for (const auto& name : o.metrics.empty() ? std::vector<std::string>{"handling_speed"} : o.metrics)
    p.metrics.push_back(*r::find_metric(name));
  p.run = o.run;
  if (!o.x.empty()) p.x = o.x;
  return p;
}

// A figure of the page for each SVG write_plots drew, titled by its file name (README,
// "Plots": eE-METRIC-vs-PARAM, eE-detection_delay, eE-lost_work, runR-timeline,
// runR-utilization).
std::vector<r::Figure> figures_of(const std::vector<std::string>& files) {
  std::vector<r::Figure> figures;
  for (const auto& file : files) {
    const std::filesystem::path path(file);
    if (path.extension() != ".svg") continue;
    const std::string name = path.stem().string();
    r::Figure f;
    f.svg_path = file;
    const auto dash = name.find('-');
    const std::string what = dash == std::string::npos ? name : name.substr(dash + 1);
    const auto id = [&](std::size_t skip) {
      return std::stoll(name.substr(skip, dash - skip));
    };
    if (name.rfind("run", 0) == 0) {
      f.run_id = id(3);
      f.title = "Run " + std::to_string(*f.run_id) +
                (what == "timeline" ? ": over time" : ": utilization per PE");
      f.caption = what == "timeline"
                      ? "Registered capacity and PEs, handling speed per time bin, failovers "
                        "(ticks) and faults (dashed lines); the measured window shaded."
                      : "Each PE's utilization (calculations / offered) per usage sample; "
                        "blank: no sample.";
    } else {
      f.experiment_id = id(1);
      if (what == "detection_delay") {
        f.title = "Failover detection delay";
        f.caption = "ECDF per policy over the experiment's failovers.";
      } else if (what == "lost_work") {
        f.title = "Work lost per failover";
        f.caption = "ECDF per policy: exact where known, else the PU's lower bound (legend).";
      } else {
        const auto vs = what.find("-vs-");
        const r::Metric* m = r::find_metric(what.substr(0, vs));
        f.title = (m ? m->label : what.substr(0, vs)) +
                  (vs == std::string::npos ? "" : " against " + what.substr(vs + 4));
        f.caption = "Mean per policy with its 95 % interval over the repetitions (Student t).";
      }
    }
    figures.push_back(std::move(f));
  }
  return figures;
}

// A directory of our own for the figures of `--html` alone, removed with its contents
// however draw() ends.
class ScratchDir {
 public:
  ScratchDir() {
    std::string t = (std::filesystem::temp_directory_path() / "rsplab-report.XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw r::PlotError("cannot create a temporary directory");
    path_ = t;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// --plot DIR and --html FILE. Throws PlotError, HtmlError.
void draw(const r::Store& store, const r::Report& report, const ReportCommandOptions& o,
          Context& ctx) {
  std::optional<ScratchDir> scratch;
  if (o.plot_dir.empty()) scratch.emplace();
  const std::string dir = scratch ? scratch->path() : o.plot_dir;
  std::vector<std::string> files;
  if (!o.plot_dir.empty() || r::gnuplot_available()) {
    files = r::write_plots(store, report, dir, plot_options(o));
    if (!o.plot_dir.empty())
      ctx.out << "plots: " << files.size() << " files in " << o.plot_dir << "\n";
  } else {
    ctx.err << "rsplab report: gnuplot not found (scripts/setup.sh installs it): the page has "
               "no plots\n";
  }
  if (!o.html_file.empty()) {
    r::write_html(o.html_file, store, report, figures_of(files), {.database = o.file});
    ctx.out << "html: " << o.html_file << "\n";
  }
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
  try {
    const r::Store store = open_for_report(o.file, ctx);
    const auto report = build(store, o, ctx);
    if (!report) return kExitUsage;
    const bool figures = !o.plot_dir.empty() || !o.html_file.empty();
    if (figures) draw(store, *report, o, ctx);
    // With --plot or --html the table is written only where asked for (-o, --csv, --json).
    if (figures && o.output.empty() && !o.csv && !o.json) return kExitOk;
    return write(render(*report, o), o.output, ctx);
  } catch (const r::StoreError& e) {
    ctx.err << "rsplab report: " << e.what() << "\n";
    return kExitUsage;
  } catch (const r::PlotError& e) {
    ctx.err << "rsplab report: plots: " << e.what() << "\n";
  } catch (const r::HtmlError& e) {
    ctx.err << "rsplab report: html: " << e.what() << "\n";
  }
  return kExitFailed;
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
  cmd->add_option("--plot", o->plot_dir,
                  "Draw the figures (gnuplot: SVG, PNG, their .gp and .dat) into DIR");
  cmd->add_option("--run", o->run, "--plot/--html: the timeline and heat map of this run only");
  cmd->add_option("--x", o->x, "--plot/--html: the swept parameter on the sweep plots' x axis");
  cmd->add_option("--html", o->html_file,
                  "Write one self-contained HTML page (tables, plots, runs, checks) to FILE");
  cmd->footer(metrics_help() +
              "\nRows: per experiment, policy and sweep point (every swept parameter but policy),\n"
              "over the completed runs (the newest completed row of each run key); interrupted\n"
              "and failed runs are counted apart and named in the notes. A cell is\n"
              "\"mean ± half-width (n = k)\"; n = 1: the value alone. results/README.md (view\n"
              "run_metrics) defines every metric in SQL.\n\n"
              "Exit status: 0 success; 1 the plots or the page could not be written (gnuplot\n"
              "missing or failing, an unknown --run or --x, a path that cannot be written);\n"
              "2 usage error (unknown option, experiment, metric or parameter; a file that is\n"
              "missing or not a results database).");
  cmd->callback([o, &ctx] { ctx.exit_code = run_report(*o, ctx); });
}

}  // namespace rsplab
