// The sweep plots (a metric of the Report against a swept parameter) and write_plots, which
// draws every figure of a report. The per-run figures are in plots_run.cpp.
#include "results/plots.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "results/gnuplot.hpp"

namespace rsplab::results {

namespace {

using gnuplot::Figure;
using gnuplot::number;
using gnuplot::quoted;
using gnuplot::tidy;

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

// The value of the x parameter in a row ("policy": the row's policy); nullopt without one.
std::optional<std::string> x_of(const ReportRow& row, const std::string& x) {
  if (x == "policy") return row.policy;
  const auto it = row.point.find(x);
  if (it == row.point.end()) return std::nullopt;
  return it->second;
}

// One line of the plot: the rows of a policy (and of the values of the parameters that vary
// at a fixed x).
struct Series {
  std::string title;
  std::vector<const ReportRow*> rows;
};

// The other parameters that take several values at one (policy, x): they split the lines.
std::set<std::string> splitting(const std::vector<const ReportRow*>& rows, const std::string& x) {
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::set<std::string>>> seen;
  for (const ReportRow* r : rows)
    for (const auto& [k, v] : r->point)
      if (k != x) seen[{r->policy, *x_of(*r, x)}][k].insert(v);
  std::set<std::string> out;
  for (const auto& [key, params] : seen)
    for (const auto& [k, values] : params)
      if (values.size() > 1) out.insert(k);
  return out;
}

std::vector<Series> series_of(const std::vector<const ReportRow*>& rows, const std::string& x) {
  const std::set<std::string> split = splitting(rows, x);
  std::vector<Series> out;
  for (const ReportRow* r : rows) {
    std::string title = x == "policy" ? "" : r->policy;
    for (const std::string& k : split)
      title += (title.empty() ? "" : ", ") + k + "=" + r->point.at(k);
    auto it =
        std::find_if(out.begin(), out.end(), [&](const Series& s) { return s.title == title; });
    if (it == out.end()) it = out.insert(out.end(), Series{title, {}});
    it->rows.push_back(r);
  }
  return out;
}

struct Axis {
  bool numeric = true;
  std::vector<std::string> categories;  // in the rows' order, when not numeric
  double position(const std::string& v) const {
    if (numeric) return std::strtod(v.c_str(), nullptr);
    return static_cast<double>(std::find(categories.begin(), categories.end(), v) -
                               categories.begin());
  }
};

Axis axis_of(const std::vector<const ReportRow*>& rows, const std::string& x) {
  Axis a;
  for (const ReportRow* r : rows) {
    const std::string v = *x_of(*r, x);
    a.numeric = a.numeric && is_number(v);
    if (std::find(a.categories.begin(), a.categories.end(), v) == a.categories.end())
      a.categories.push_back(v);
  }
  return a;
}

// NAME.dat: a block per series (gnuplot's `index`), rows sorted by x.
std::string sweep_data(const std::vector<Series>& series, const Axis& axis, const Metric& m,
                       const std::string& x) {
  std::string s = "# " + m.name + " (" + m.label + (m.unit.empty() ? "" : ", " + m.unit) +
                  ") against " + x +
                  ": mean and 95 % interval over the runs of each point\n"
                  "# a block per line of the plot; ci_low/ci_high \"-\" when n < 2\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    s += (i > 0 ? "\n\n" : "") + std::string("# ") +
         (series[i].title.empty() ? "all" : series[i].title) +
         "\n# x\tx_value\tmean\tci_low\tci_high\tn\n";
    std::vector<const ReportRow*> rows = series[i].rows;
    std::stable_sort(rows.begin(), rows.end(), [&](const ReportRow* a, const ReportRow* b) {
      return axis.position(*x_of(*a, x)) < axis.position(*x_of(*b, x));
    });
    for (const ReportRow* r : rows) {
      const auto it = r->estimates.find(m.name);
      const Estimate e = it == r->estimates.end() ? Estimate{} : it->second;
      const std::string v = *x_of(*r, x);
      s += number(axis.position(v)) + "\t" + quoted(v) + "\t" + number(e.mean) + "\t" +
           number(e.n >= 2 ? e.low() : std::nullopt) + "\t" +
           number(e.n >= 2 ? e.high() : std::nullopt) + "\t" + std::to_string(e.n) + "\n";
    }
  }
  return s;
}

double largest(const std::vector<const ReportRow*>& rows, const std::string& metric) {
  double m = 0;
  for (const ReportRow* r : rows)
    if (const auto it = r->estimates.find(metric); it != r->estimates.end())
      for (const auto& v : {it->second.mean, it->second.high(), it->second.low()})
        if (v) m = std::max(m, std::fabs(*v));
  return m;
}

// Tics at the swept values, as written, when there are few and they lie apart (8 % of the
// range); else gnuplot's own.
std::string value_tics(const Axis& axis) {
  std::vector<std::pair<double, std::string>> v;
  for (const std::string& c : axis.categories) v.push_back({axis.position(c), c});
  std::sort(v.begin(), v.end());
  const double range = v.back().first - v.front().first;
  if (v.size() > 10 || range <= 0) return "";
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i].first - v[i - 1].first < 0.08 * range) return "";
  std::string s = "set xtics (";
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i > 0 ? ", " : "") + gnuplot::quoted(v[i].second) + " " + number(v[i].first);
  return s + ")\n";
}

double lowest(const std::vector<const ReportRow*>& rows, const std::string& metric) {
  double m = 0;
  for (const ReportRow* r : rows)
    if (const auto it = r->estimates.find(metric); it != r->estimates.end())
      for (const auto& v : {it->second.mean, it->second.low()})
        if (v) m = std::min(m, *v);
  return m;
}

// The x axis: categories as tics, numbers as they come; a small shift per series keeps the
// interval bars of different policies apart.
std::string x_axis(const Axis& axis, const std::vector<const ReportRow*>& rows,
                   const std::string& x, std::size_t n_series, std::vector<double>& shift) {
  std::string s;
  double lo = 0, hi = 0;
  if (axis.numeric) {
    lo = hi = axis.position(*x_of(*rows.front(), x));
    for (const ReportRow* r : rows) {
      lo = std::min(lo, axis.position(*x_of(*r, x)));
      hi = std::max(hi, axis.position(*x_of(*r, x)));
    }
    const double pad = hi > lo ? (hi - lo) * 0.06 : 1;
    s += "set xrange [" + tidy(lo - pad) + ":" + tidy(hi + pad) + "]\n" + value_tics(axis);
    s += "# set logscale x   # for a parameter over decades\n";
  } else {
    s += "set xrange [-0.5:" + tidy(static_cast<double>(axis.categories.size()) - 0.5) +
         "]\nset xtics (";
    for (std::size_t i = 0; i < axis.categories.size(); ++i)
      s += (i > 0 ? ", " : "") + quoted(axis.categories[i]) + " " + std::to_string(i);
    s += ")\n";
  }
  const double step = axis.numeric ? (hi > lo ? hi - lo : 1) * 0.012 : 0.06;
  for (std::size_t i = 0; i < n_series; ++i)
    shift.push_back(step * (static_cast<double>(i) - (static_cast<double>(n_series) - 1) / 2));
  return s;
}

// "calculations/s" → "calc./s": a y axis label must fit the plot's height.
std::string short_unit(std::string unit) {
  if (const auto at = unit.find("calculations"); at != std::string::npos)
    unit.replace(at, 12, "calc.");
  return unit;
}

// A name as part of a file name: letters, digits, '_', '.', '-'; anything else becomes '_'.
std::string file_part(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
  return s;
}

Figure sweep_figure(const ExperimentSummary& e, const std::vector<const ReportRow*>& rows,
                    const Metric& m, const std::string& x) {
  const std::string name =
      "e" + std::to_string(e.id) + "-" + file_part(m.name) + "-vs-" + file_part(x);
  const std::string title = e.name + ": " + m.label;
  const double top = largest(rows, m.name);
  bool any = false;
  for (const ReportRow* r : rows)
    if (const auto it = r->estimates.find(m.name); it != r->estimates.end() && it->second.n > 0)
      any = true;
  if (!any)
    return gnuplot::message_figure(name, title, "no values of " + m.label + " in these runs");
  const std::vector<Series> series = series_of(rows, x);
  const Axis axis = axis_of(rows, x);
  const gnuplot::Scale sc = gnuplot::scale_for(top);
  Figure f;
  f.name = name;
  f.description =
      m.label + " against " + x + " in experiment " + e.name +
      ", a line per policy, bars: 95 % confidence interval of the mean (none where n = 1)";
  f.data.push_back({"", sweep_data(series, axis, m, x)});
  f.height_in = 2.4 + 0.16 * static_cast<double>((series.size() + 1) / 2);  // the key's rows
  std::vector<double> shift;
  f.body = "set title " + quoted(title) + "\n" + x_axis(axis, rows, x, series.size(), shift);
  f.body += "set xlabel " + quoted(x == "policy" ? "policy" : x) + "\nset ylabel " +
            quoted(gnuplot::axis_label(m.label, short_unit(m.unit), sc)) + "\n";
  // From 0 unless some interval reaches below it.
  f.body += "scale = " + number(sc.factor) + "\nset yrange [" +
            (lowest(rows, m.name) < 0 ? "*" : "0") + ":*]\nset grid ytics lc rgb \"#dddddd\"\n";
  f.body += series.size() > 1 || !series[0].title.empty()
                ? "set key outside bottom center horizontal maxcols 2 reverse Left samplen 2\n"
                : "unset key\n";
  std::string plot = "plot ";
  const std::string dat = quoted(gnuplot::data_name(name));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string ls = std::to_string(i % 8 + 1),
                      xs = shift[i] == 0 ? std::string("1")
                                         : "($1" + std::string(shift[i] < 0 ? "-" : "+") +
                                               tidy(std::fabs(shift[i])) + ")";
    plot += (i > 0 ? ", \\\n     " : "") + dat + " index " + std::to_string(i) + " using " + xs +
            ":($3/scale) with linespoints ls " + ls + " title " + quoted(series[i].title) +
            ", \\\n     " + dat + " index " + std::to_string(i) + " using " + xs +
            ":($3/scale):($4/scale):($5/scale) with yerrorbars ls " + ls + " notitle";
  }
  f.body += plot + "\n";
  return f;
}

std::vector<const ReportRow*> rows_of(const Report& report, std::int64_t experiment_id,
                                      const std::string& x) {
  std::vector<const ReportRow*> rows;
  for (const ReportRow& r : report.rows)
    if (r.experiment_id == experiment_id && x_of(r, x)) rows.push_back(&r);
  return rows;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// The parameters the experiment file names its points by (`sweep.labels`), then the others.
std::vector<std::string> labels_first(const ExperimentSummary& e) {
  const auto source = nlohmann::json::parse(e.source, nullptr, false);
  std::vector<std::string> order;
  if (source.is_object() && source.contains("sweep") && source["sweep"].is_object() &&
      source["sweep"].contains("labels") && source["sweep"]["labels"].is_array())
    for (const auto& l : source["sweep"]["labels"])
      if (l.is_string() && std::find(e.swept.begin(), e.swept.end(), l) != e.swept.end())
        order.push_back(l.get<std::string>());
  for (const std::string& p : e.swept)
    if (std::find(order.begin(), order.end(), p) == order.end()) order.push_back(p);
  return order;
}

// The default x of an experiment: its first numeric swept parameter, the labels of its
// points (sweep.labels) first; its first one; policy.
std::string default_x(const Report& report, const ExperimentSummary& e) {
  for (const std::string& p : labels_first(e)) {
    const auto rows = rows_of(report, e.id, p);
    if (!rows.empty() && axis_of(rows, p).numeric) return p;
  }
  return e.swept.empty() ? "policy" : e.swept.front();
}

}  // namespace

std::vector<std::string> plot_sweep(const Report& report, const Metric& metric,
                                    const std::string& x, const std::string& dir) {
  if (std::find(report.metrics.begin(), report.metrics.end(), metric.name) == report.metrics.end())
    throw PlotError("plot: the report holds no metric '" + metric.name + "'");
  std::vector<std::string> written;
  for (const ExperimentSummary& e : report.experiments) {
    const auto rows = rows_of(report, e.id, x);
    if (!rows.empty()) append(written, gnuplot::render(sweep_figure(e, rows, metric, x), dir));
  }
  if (written.empty()) {
    std::string swept;
    for (const ExperimentSummary& e : report.experiments)
      for (const std::string& p : e.swept) swept += (swept.empty() ? "" : ", ") + p;
    throw PlotError("plot: no row of the report has the parameter '" + x +
                    "' (swept: " + (swept.empty() ? "policy only" : swept) + ")");
  }
  return written;
}

std::vector<std::string> write_plots(const Store& store, const Report& report,
                                     const std::string& dir, const PlotOptions& options) {
  if (options.x && !report.rows.empty() &&
      std::none_of(report.rows.begin(), report.rows.end(),
                   [&](const ReportRow& r) { return x_of(r, *options.x); }))
    throw PlotError("plot: no row of the report has the parameter '" + *options.x + "'");
  std::vector<std::string> written;
  for (const ExperimentSummary& e : report.experiments) {
    const std::string x = options.x.value_or(default_x(report, e));
    const auto rows = rows_of(report, e.id, x);
    std::vector<std::int64_t> runs;
    for (const ReportRow& r : report.rows)
      if (r.experiment_id == e.id) runs.insert(runs.end(), r.run_ids.begin(), r.run_ids.end());
    for (const Metric& m : options.metrics)
      if (!rows.empty() && std::count(report.metrics.begin(), report.metrics.end(), m.name) > 0)
        append(written, gnuplot::render(sweep_figure(e, rows, m, x), dir));
    append(written, plot_distributions(store, runs, dir, "e" + std::to_string(e.id), e.name));
    if (!options.run)
      for (const std::int64_t run : runs) {
        append(written, plot_run_timeline(store, run, dir));
        append(written, plot_utilization_heatmap(store, run, dir));
      }
  }
  if (options.run) {
    append(written, plot_run_timeline(store, *options.run, dir));
    append(written, plot_utilization_heatmap(store, *options.run, dir));
  }
  return written;
}

}  // namespace rsplab::results
