// The HTML page of `rsplab report --html` (results/html.hpp): the page's layout (which
// figure goes where and its number), its sections, the experiment definition as YAML, the
// embedded SVG figures and the CSS. Reads the runs and their checks from the Store; the
// numbers come from the Report as they are.
#include "results/html.hpp"

#include <time.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace rsplab::results {
namespace {

using ordered_json = nlohmann::ordered_json;

// Columns of the per-policy table before it continues in a table of its own (print width).
constexpr std::size_t kColumnsPerTable = 6;

// ---- text -------------------------------------------------------------------------------

std::string integer_text(std::int64_t v) { return std::to_string(v); }

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

// A value at full precision for data- attributes (what a script or test reads back).
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string utc_time(std::int64_t unix_us) {
  const time_t seconds = static_cast<time_t>(unix_us / 1'000'000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// "handling_speed" → "handling speed" (the exact name is the cell's title).
// The metric's label and unit from the report's catalog; its definition as the tooltip.
std::string metric_header(const std::string& name) {
  const Metric* m = find_metric(name);
  const std::string label = m ? m->label + " (" + m->unit + ")" : name;
  const std::string tip = m ? name + ": " + m->description : name;
  return "<th scope=\"row\" title=\"" + html_escape(tip) + "\">" + html_escape(label) + "</th>";
}

// ---- the definition as YAML -------------------------------------------------------------

std::string yaml_scalar(const ordered_json& v) {
  if (!v.is_string()) return v.dump();
  const std::string& s = v.get_ref<const std::string&>();
  const bool plain = !s.empty() && s.find_first_of(":#\n\"'{}[],&*!|>%@`") == std::string::npos &&
                     s.front() != ' ' && s.back() != ' ' && s.front() != '-';
  return plain ? s : ordered_json(s).dump();
}

// `{a: 1, b: x}` / `[lu, rr]` when every member is a scalar; "" otherwise.
std::string yaml_flow(const ordered_json& v) {
  if (!v.is_structured()) return yaml_scalar(v);
  std::string out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it->is_structured()) return "";
    if (!out.empty()) out += ", ";
    if (v.is_object()) out += yaml_scalar(it.key()) + ": ";
    out += yaml_scalar(*it);
  }
  return v.is_object() ? "{" + out + "}" : "[" + out + "]";
}

void yaml_block(const ordered_json& v, int indent, std::string& out);

// One "key: value" or "- value" entry: inline when short and flat, else a nested block.
void yaml_entry(const std::string& lead, const ordered_json& v, int indent, std::string& out) {
  const std::string flow = yaml_flow(v);
  if (!flow.empty() && indent + lead.size() + flow.size() <= 90) {
    out += std::string(indent, ' ') + lead + flow + "\n";
  } else if (lead == "- " && v.is_object() && !v.empty()) {
    std::string nested;
    yaml_block(v, indent + 2, nested);
    nested.replace(static_cast<std::size_t>(indent), 2, "- ");
    out += nested;
  } else {
    out += std::string(indent, ' ') + lead.substr(0, lead.size() - 1) + "\n";
    yaml_block(v, indent + 2, out);
  }
}

void yaml_block(const ordered_json& v, int indent, std::string& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      yaml_entry(yaml_scalar(it.key()) + ": ", *it, indent, out);
  } else if (v.is_array()) {
    for (const auto& item : v) yaml_entry("- ", item, indent, out);
  } else {
    out += std::string(indent, ' ') + yaml_scalar(v) + "\n";
  }
}

// The experiments.source JSON laid out as YAML; the text itself when it is no JSON.
std::string definition_text(const std::string& source) {
  const auto parsed = ordered_json::parse(source, nullptr, false);
  if (parsed.is_discarded()) return source;
  std::string out;
  yaml_block(parsed, 0, out);
  return out;
}

// ---- the page's layout ------------------------------------------------------------------

struct RunRow {
  std::int64_t id = 0, idx = 0, repetition = 0;
  std::string policy, point, status, reason;
  std::vector<RunCheck> checks;
};

struct Placed {
  const Figure* figure = nullptr;
  int number = 0;
  std::string anchor;  // "figure-N"
};

struct ExperimentPart {
  const ExperimentSummary* summary = nullptr;
  std::vector<const ReportRow*> rows;
  std::vector<RunRow> runs;
  std::vector<Placed> plots, timelines;
};

struct Layout {
  std::vector<ExperimentPart> experiments;
  std::vector<Placed> others;
  std::map<std::int64_t, std::vector<Placed>> by_run;  // run id → its figures
  std::set<std::int64_t> runs_shown;
};

// "ratio = 10, transport = tcp": a run's parameters but its policy, in their stored order.
std::string point_of(const std::string& parameters_json) {
  const auto p = ordered_json::parse(parameters_json, nullptr, false);
  if (!p.is_object()) return "";
  std::string out;
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (it.key() == "policy") continue;
    if (!out.empty()) out += ", ";
    out += it.key() + " = " + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return out;
}

std::vector<RunRow> runs_of(const Store& store, std::int64_t experiment_id) {
  std::vector<RunRow> runs;
  for (const auto& r : store.select("SELECT id, idx, policy, parameters, repetition, status, reason"
                                    " FROM runs WHERE experiment_id = ?1 ORDER BY idx, id",
                                    {Value(experiment_id)})) {
    RunRow run{int_of(r[0]),
               int_of(r[1]),
               int_of(r[4]),
               text_of(r[2]),
               point_of(text_of(r[3])),
               text_of(r[5]),
               text_of(r[6]),
               {}};
    run.checks = store.checks(run.id);
    runs.push_back(std::move(run));
  }
  return runs;
}

Layout lay_out(const Store& store, const Report& report, const std::vector<Figure>& figures) {
  Layout layout;
  std::map<std::int64_t, std::size_t> part_of_run, part_of_experiment;
  for (const auto& e : report.experiments) {
    ExperimentPart part{&e, {}, runs_of(store, e.id), {}, {}};
    for (const auto& row : report.rows)
      if (row.experiment_id == e.id) part.rows.push_back(&row);
    for (const auto& run : part.runs) {
      part_of_run[run.id] = layout.experiments.size();
      layout.runs_shown.insert(run.id);
    }
    part_of_experiment[e.id] = layout.experiments.size();
    layout.experiments.push_back(std::move(part));
  }
  for (const auto& f : figures) {
    const Placed placed{&f, 0, ""};
    if (f.run_id && part_of_run.count(*f.run_id)) {
      layout.experiments[part_of_run[*f.run_id]].timelines.push_back(placed);
    } else if (f.experiment_id && part_of_experiment.count(*f.experiment_id)) {
      layout.experiments[part_of_experiment[*f.experiment_id]].plots.push_back(placed);
    } else {
      layout.others.push_back(placed);
    }
  }
  // Numbers in the order the figures appear on the page.
  int number = 0;
  auto number_all = [&](std::vector<Placed>& list) {
    for (auto& p : list) {
      p.number = ++number;
      p.anchor = "figure-" + std::to_string(number);
      if (p.figure->run_id) layout.by_run[*p.figure->run_id].push_back(p);
    }
  };
  for (auto& part : layout.experiments) {
    number_all(part.plots);
    number_all(part.timelines);
  }
  number_all(layout.others);
  return layout;
}

// ---- sections ---------------------------------------------------------------------------

std::string svg_text(const Figure& f) {
  std::string svg = f.svg;
  if (svg.empty()) {
    std::ifstream in(f.svg_path, std::ios::binary);
    if (!in) throw HtmlError("figure \"" + f.title + "\": cannot read " + f.svg_path);
    std::ostringstream text;
    text << in.rdbuf();
    svg = text.str();
  }
  if (svg.find("<svg") == std::string::npos)
    throw HtmlError("figure \"" + f.title +
                    "\": " + (f.svg.empty() ? f.svg_path : std::string("its text")) + " is no SVG");
  return svg;
}

std::string figure_html(const Placed& p, const Layout& layout) {
  const Figure& f = *p.figure;
  std::string out =
      "<figure id=\"" + p.anchor + "\" class=\"plot\">\n<img src=\"data:image/svg+xml;base64," +
      base64(svg_text(f)) + "\" alt=\"" + html_escape(f.title) + "\">\n<figcaption><b>Figure " +
      std::to_string(p.number) + ".</b> " + html_escape(f.title);
  if (!f.caption.empty()) out += ". " + html_escape(f.caption);
  if (f.run_id && layout.runs_shown.count(*f.run_id))
    out += " <a class=\"back\" href=\"#run-" + integer_text(*f.run_id) + "\">↩ run " +
           integer_text(*f.run_id) + "</a>";
  return out + "</figcaption>\n</figure>\n";
}

std::string figures_html(const std::vector<Placed>& list, const Layout& layout) {
  std::string out;
  for (const auto& p : list) out += figure_html(p, layout);
  return out;
}

std::string definition_html(const ExperimentSummary& e, const Store& store) {
  std::string out =
      "<dl class=\"meta\">\n<dt>file</dt><dd><code>" + html_escape(e.file) + "</code></dd>\n";
  const auto meta = store.select(
      "SELECT rsplab_version, host, kernel, created_unix_us FROM experiments"
      " WHERE id = ?1",
      {Value(e.id)});
  if (!meta.empty()) {
    const auto& m = meta.front();
    out += "<dt>rsplab</dt><dd>" + html_escape(text_of(m[0])) + "</dd>\n<dt>host</dt><dd>" +
           html_escape(text_of(m[1])) + " (" + html_escape(text_of(m[2])) +
           ")</dd>\n<dt>written</dt><dd>" + utc_time(int_of(m[3])) + "</dd>\n";
  }
  return out + "</dl>\n<h3>Definition</h3>\n<pre class=\"source\">" +
         html_escape(definition_text(e.source)) + "</pre>\n";
}

// A row's sweep point, "ratio = 10" per grouping parameter, in the plan's order.
std::vector<std::string> point_parts(const ReportRow& row, const ExperimentSummary& e) {
  std::vector<std::string> parts;
  for (const auto& name : e.swept)
    if (const auto it = row.point.find(name); it != row.point.end())
      parts.push_back(name + " = " + it->second);
  return parts;
}

// The column header of one report row: policy, the sweep point, the runs it counts.
std::string column_header(const ReportRow& row, const ExperimentSummary& e) {
  std::string out =
      "<th scope=\"col\"><span class=\"policy\">" + html_escape(row.policy) + "</span>";
  for (const auto& part : point_parts(row, e)) out += "<br>" + html_escape(part);
  out += "<br><span class=\"runs\">runs";
  for (const auto id : row.run_ids)
    out += " <a href=\"#run-" + integer_text(id) + "\">" + integer_text(id) + "</a>";
  if (row.run_ids.empty()) out += ": none completed";
  return out + "</span></th>";
}

std::string estimate_cell(const std::string& metric, const ReportRow& row) {
  const auto it = row.estimates.find(metric);
  const Estimate e = it == row.estimates.end() ? Estimate{} : it->second;
  std::string attrs =
      " data-metric=\"" + html_escape(metric) + "\" data-n=\"" + integer_text(e.n) + "\"";
  if (e.mean && std::isfinite(*e.mean)) attrs += " data-mean=\"" + exact(*e.mean) + "\"";
  if (e.half_width && std::isfinite(*e.half_width))
    attrs += " data-half=\"" + exact(*e.half_width) + "\"";
  return "<td" + attrs + ">" + html_escape(format_estimate(e)) + "</td>";
}

std::string policy_table(const ExperimentPart& part, std::size_t from, const Report& report) {
  const std::size_t to = std::min(part.rows.size(), from + kColumnsPerTable);
  std::string out = "<div class=\"wide\"><table class=\"estimates\">\n<thead><tr><th>metric</th>";
  for (std::size_t i = from; i < to; ++i) out += column_header(*part.rows[i], *part.summary);
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& metric : report.metrics) {
    out += "<tr>" + metric_header(metric);
    for (std::size_t i = from; i < to; ++i) out += estimate_cell(metric, *part.rows[i]);
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

// "lu, ratio = 10": which row a note is about.
std::string row_name(const ReportRow& row, const ExperimentSummary& e) {
  std::string out = row.policy;
  for (const auto& part : point_parts(row, e)) out += ", " + part;
  return out;
}

std::string notes_html(const ExperimentPart& part) {
  std::string items;
  for (const auto* row : part.rows) {
    std::vector<std::string> notes = row->notes;
    if (row->not_completed > 0)
      notes.push_back(integer_text(row->not_completed) + " run(s) not completed, not counted");
    if (row->warned > 0)
      notes.push_back(integer_text(row->warned) + " counted run(s) warned (see the checks)");
    for (const auto& n : notes)
      items +=
          "<li>" + html_escape(row_name(*row, *part.summary)) + ": " + html_escape(n) + "</li>\n";
  }
  return items.empty() ? "" : "<ul class=\"notes\">\n" + items + "</ul>\n";
}

std::string results_html(const ExperimentPart& part, const Report& report) {
  std::string out = "<h3>Per policy: mean ± half-width of the 95 % interval (n runs)</h3>\n";
  if (part.rows.empty())
    return out + "<p class=\"empty\">No completed runs: nothing to compare.</p>\n";
  for (std::size_t from = 0; from < part.rows.size(); from += kColumnsPerTable)
    out += policy_table(part, from, report);
  return out + notes_html(part);
}

std::string checks_cell(const RunRow& run) {
  if (run.checks.empty()) return "<td class=\"none\">–</td>";
  std::string warned;
  for (const auto& c : run.checks)
    if (c.status != "ok") warned += (warned.empty() ? "" : ", ") + c.name;
  const std::string text = warned.empty() ? "ok" : "warning: " + warned;
  return "<td class=\"" + std::string(warned.empty() ? "ok" : "warning") + "\"><a href=\"#run-" +
         integer_text(run.id) + "-checks\">" + html_escape(text) + "</a></td>";
}

std::string run_row(const RunRow& run, const Layout& layout) {
  std::string status = html_escape(run.status);
  if (!run.reason.empty()) status += ": " + html_escape(run.reason);
  std::string plots;
  if (const auto it = layout.by_run.find(run.id); it != layout.by_run.end())
    for (const auto& p : it->second)
      plots += "<a href=\"#" + p.anchor + "\">Figure " + std::to_string(p.number) + "</a> ";
  return "<tr id=\"run-" + integer_text(run.id) + "\"><td>" + integer_text(run.id) + "</td><td>" +
         html_escape(run.policy) + "</td><td>" +
         (run.point.empty() ? "–" : html_escape(run.point)) + "</td><td>" +
         integer_text(run.repetition) + "</td><td class=\"" +
         (run.status == "completed" ? "ok" : "warning") + "\">" + status + "</td>" +
         checks_cell(run) + "<td>" + (plots.empty() ? "–" : plots) + "</td></tr>\n";
}

std::string runs_html(const ExperimentPart& part, const Layout& layout) {
  std::string out = "<h3>Runs</h3>\n";
  if (part.runs.empty()) return out + "<p class=\"empty\">No runs stored.</p>\n";
  out +=
      "<table class=\"runs\">\n<thead><tr><th>run</th><th>policy</th><th>sweep point</th>"
      "<th>repetition</th><th>status</th><th>checks</th><th>plots</th></tr></thead>\n<tbody>\n";
  for (const auto& run : part.runs) out += run_row(run, layout);
  return out + "</tbody></table>\n";
}

std::string health_html(const ExperimentPart& part) {
  std::string rows;
  for (const auto& run : part.runs) {
    bool first = true;
    for (const auto& c : run.checks) {
      const std::string id = first ? " id=\"run-" + integer_text(run.id) + "-checks\"" : "";
      first = false;
      const bool ok = c.status == "ok";
      rows += "<tr" + id + "><td><a href=\"#run-" + integer_text(run.id) + "\">" +
              integer_text(run.id) + "</a></td><td>" + html_escape(c.name) + "</td><td class=\"" +
              (ok ? "ok" : "warning") + "\">" + html_escape(c.status) + "</td><td>" +
              html_escape(c.message) + "</td></tr>\n";
    }
  }
  const std::string head = "<h3>Run health checks</h3>\n";
  if (rows.empty()) return head + "<p class=\"empty\">No checks stored for these runs.</p>\n";
  return head +
         "<table class=\"checks\">\n<thead><tr><th>run</th><th>check</th><th>status</th>"
         "<th>message</th></tr></thead>\n<tbody>\n" +
         rows + "</tbody></table>\n";
}

std::string experiment_html(const ExperimentPart& part, const Layout& layout, const Report& report,
                            const Store& store) {
  const ExperimentSummary& e = *part.summary;
  std::string out = "<section id=\"experiment-" + integer_text(e.id) + "\">\n<h2>Experiment " +
                    html_escape(e.name) + " <span class=\"id\">(id " + integer_text(e.id) +
                    ")</span></h2>\n";
  out += definition_html(e, store) + results_html(part, report);
  if (!part.plots.empty()) out += "<h3>Plots</h3>\n" + figures_html(part.plots, layout);
  out += runs_html(part, layout);
  if (!part.timelines.empty())
    out += "<h3>Runs over time</h3>\n" + figures_html(part.timelines, layout);
  return out + health_html(part) + "</section>\n";
}

// A list of the experiments (and other figures) when there is more than one thing to go to.
std::string contents_html(const Layout& layout) {
  if (layout.experiments.size() + (layout.others.empty() ? 0 : 1) < 2) return "";
  std::string out = "<nav><ul>\n";
  for (const auto& part : layout.experiments)
    out += "<li><a href=\"#experiment-" + integer_text(part.summary->id) + "\">" +
           html_escape(part.summary->name) + "</a></li>\n";
  if (!layout.others.empty()) out += "<li><a href=\"#figures\">Other figures</a></li>\n";
  return out + "</ul></nav>\n";
}

constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, "DejaVu Sans", sans-serif; color: #1a1a1a; background: #fff;
       max-width: 74rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #444; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
.id, .subtitle { color: #555; font-weight: normal; }
nav ul { padding-left: 1.2rem; }
a { color: #0645ad; }
code, pre { font: 13px/1.35 "DejaVu Sans Mono", monospace; }
pre.source { background: #f6f6f4; border: 1px solid #ddd; padding: .6rem .8rem; overflow-x: auto; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; margin: .5rem 0; }
dl.meta dt { color: #555; } dl.meta dd { margin: 0; }
.wide { overflow-x: auto; margin-bottom: .8rem; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #444; }
table.estimates td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.estimates th[scope=row] { font-weight: normal; white-space: nowrap; }
.policy { font-weight: bold; } .runs { font-size: 12px; color: #555; font-weight: normal; }
td.warning { background: #fff3cd; } td.none, .empty { color: #777; }
tr:target { outline: 2px solid #0645ad; }
figure.plot { margin: 1rem 0 1.5rem; }
figure.plot img { display: block; width: 100%; max-width: 42rem; height: auto; border: 1px solid #eee; }
figcaption { font-size: 14px; margin-top: .3rem; }
figcaption a.back { margin-left: .5rem; white-space: nowrap; }
ul.notes { font-size: 14px; color: #444; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; }
  nav, a.back { display: none; }
  a { color: inherit; text-decoration: none; }
  figure.plot, table { break-inside: avoid; }
  .wide { overflow: visible; }
  td.warning { background: none; font-weight: bold; }
}
)css";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_number(double value) {
  if (!std::isfinite(value)) return "–";
  if (value == 0) return "0";
  const double magnitude = std::fabs(value);
  char buf[64];
  if (magnitude < 1e15 && value == std::round(value)) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else if (magnitude >= 1e15 || magnitude < 1e-4) {
    std::snprintf(buf, sizeof buf, "%.4g", value);
  } else {
    const int digits = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, 4 - digits), value);
  }
  return buf;
}

std::string format_estimate(const Estimate& e) {
  if (e.n == 0 || !e.mean) return "–";
  const std::string n = " (n = " + std::to_string(e.n) + ")";
  if (!e.half_width) return format_number(*e.mean) + n;
  return format_number(*e.mean) + " ± " + format_number(*e.half_width) + n;
}

std::string html_report(const Store& store, const Report& report,
                        const std::vector<Figure>& figures, const HtmlOptions& options) {
  const Layout layout = lay_out(store, report, figures);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      html_escape(options.title) + "</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n<h1>" + html_escape(options.title) + "</h1>\n";
  if (!options.database.empty())
    out += "<p class=\"subtitle\">from <code>" + html_escape(options.database) + "</code></p>\n";
  if (layout.experiments.empty())
    out += "<p class=\"empty\">The report holds no experiments.</p>\n";
  out += contents_html(layout);
  for (const auto& part : layout.experiments) out += experiment_html(part, layout, report, store);
  if (!layout.others.empty())
    out += "<section id=\"figures\">\n<h2>Other figures</h2>\n" +
           figures_html(layout.others, layout) + "</section>\n";
  return out + "</body>\n</html>\n";
}

void write_html(const std::string& path, const Store& store, const Report& report,
                const std::vector<Figure>& figures, const HtmlOptions& options) {
  const std::string page = html_report(store, report, figures, options);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << page;
    out.flush();
    if (!out) throw HtmlError("cannot write " + temporary + ": " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    throw HtmlError("cannot write " + path + ": " + ec.message());
  }
}

}  // namespace rsplab::results
