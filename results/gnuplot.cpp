// One gnuplot figure: data files, the script (SVG and PNG from one body), running gnuplot.
#include "results/gnuplot.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agents/command.hpp"
#include "results/plots.hpp"
#include "stack/common/split.hpp"

namespace rsplab::results {

bool gnuplot_available() { return !agents::find_tool("gnuplot").empty(); }

namespace gnuplot {

namespace {

// SVG: 72 user units per inch, doubled so that browsers show it at a legible size; the
// paper scales it to 3.5 in and the text comes out at 9 pt. PNG: 300 dpi; pngcairo takes
// font sizes at 96 dpi, hence the font scale 300 / 96.
std::string terminals(const Figure& f) {
  const int svg_w = static_cast<int>(std::lround(kWidthIn * 72 * 2));
  const int svg_h = static_cast<int>(std::lround(f.height_in * 72 * 2));
  const int png_w = static_cast<int>(std::lround(kWidthIn * 300));
  const int png_h = static_cast<int>(std::lround(f.height_in * 300));
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "  if (format eq \"svg\") {\n"
                "    set terminal svg size %d,%d font \"Helvetica,%g\" linewidth 1.6 noenhanced"
                " background \"white\"\n"
                "  } else {\n"
                "    set terminal pngcairo size %d,%d font \"Helvetica,%g\" fontscale %g"
                " linewidth %g noenhanced background \"white\"\n"
                "  }\n",
                svg_w, svg_h, kFontPt * 2, png_w, png_h, kFontPt, 300.0 / 96.0, 300.0 / 96.0 * 0.9);
  return buf;
}

std::string script(const Figure& f) {
  std::string s = "# " + f.name + ".gp: " + f.description + "\n";
  s += "# Written by `rsplab report --plot`. Edit it and run `gnuplot " + f.name +
       ".gp` in this directory:\n# it draws " + f.name + ".svg and " + f.name +
       ".png again from its data files (\"-\" marks a missing value).\n";
  s += "set encoding utf8\n";
  s += "do for [format in \"svg png\"] {\n  reset\n";
  s += terminals(f);
  s += "  set output \"" + f.name + ".\" . format\n";
  s += "  set datafile missing \"-\"\n";
  s += "  set datafile separator whitespace\n";
  std::vector<std::string> lines = common::split(line_styles() + f.body, '\n');
  if (lines.back().empty()) lines.pop_back();  // the body's last newline ends a line
  for (const std::string& line : lines) s += "  " + line + "\n";
  s += "  unset multiplot\n  set output\n}\n";
  return s;
}

void write_file(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) throw PlotError("plot: cannot write " + path.string());
}

}  // namespace

std::string data_name(const std::string& name, const std::string& suffix) {
  return name + (suffix.empty() ? "" : "-" + suffix) + ".dat";
}

std::vector<std::string> render(const Figure& figure, const std::string& dir) {
  const std::string tool = agents::find_tool("gnuplot");
  if (tool.empty())
    throw PlotError("plot: gnuplot not found (install Debian's gnuplot-nox: scripts/setup.sh)");
  const std::filesystem::path base = std::filesystem::absolute(dir);
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  if (ec) throw PlotError("plot: cannot create " + base.string() + ": " + ec.message());
  std::vector<std::string> written;
  for (const DataFile& d : figure.data) {
    write_file(base / data_name(figure.name, d.suffix), d.contents);
    written.push_back((base / data_name(figure.name, d.suffix)).string());
  }
  const std::filesystem::path gp = base / (figure.name + ".gp");
  write_file(gp, script(figure));
  const agents::CommandResult r =
      agents::run_command({tool, "-e", "cd " + quoted(base.string()), gp.string()});
  if (!r.ok())
    throw PlotError("plot: gnuplot failed on " + gp.string() + " (status " +
                    std::to_string(r.status) + "): " + r.err);
  for (const char* ext : {".svg", ".png"}) {
    const std::filesystem::path out = base / (figure.name + ext);
    if (!std::filesystem::exists(out))
      throw PlotError("plot: gnuplot wrote no " + out.string() + ": " + r.err);
    written.push_back(out.string());
  }
  written.push_back(gp.string());
  return written;
}

Figure message_figure(const std::string& name, const std::string& title,
                      const std::string& message) {
  Figure f;
  f.name = name;
  f.description = title + ": " + message;
  f.height_in = 1.2;
  f.body = "set title " + quoted(title) + "\nset label 1 " + quoted(message) +
           " at graph 0.5, graph 0.5 center\nunset border\nunset tics\nunset key\n"
           "set xrange [0:1]\nset yrange [0:1]\nplot 2 notitle\n";
  return f;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string number(const std::optional<double>& v) { return v ? number(*v) : "-"; }

std::string tidy(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Scale scale_for(double max_abs) {
  if (max_abs >= 1e9) return {1e9, "10⁹ "};
  if (max_abs >= 1e6) return {1e6, "10⁶ "};
  if (max_abs >= 1e4) return {1e3, "10³ "};
  return {1, ""};
}

std::string axis_label(const std::string& label, const std::string& unit, const Scale& s) {
  if (!unit.empty()) return label + " (" + s.prefix + unit + ")";
  if (!s.prefix.empty()) return label + " (×" + s.prefix.substr(0, s.prefix.size() - 1) + ")";
  return label;
}

std::int64_t bin_width_us(std::int64_t span_us, int bins) {
  const double raw = static_cast<double>(std::max<std::int64_t>(span_us, 1)) / std::max(bins, 1);
  double step = 1e6;
  for (double decade = 1e6; step < raw; decade *= 10)
    for (const double m : {1.0, 2.0, 5.0})
      if (step < raw) step = m * decade;
  return static_cast<std::int64_t>(step);
}

double tic_step(double top, int intervals) {
  if (!(top > 0)) return 1;
  double step = std::pow(10.0, std::floor(std::log10(top / std::max(intervals, 1))));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (top / (m * step) <= intervals) return m * step;
  return 10 * step;
}

std::string line_styles() {
  // Okabe–Ito colours; filled circle, square, triangle, diamond, ...
  static const char* colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                  "#E69F00", "#56B4E9", "#000000", "#999999"};
  static const int points[] = {7, 5, 9, 13, 11, 15, 6, 4};
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += "set style line " + std::to_string(i + 1) + " lc rgb \"" + colours[i] + "\" lw 1.2 pt " +
         std::to_string(points[i]) + " ps 1.3\n";
  return s;
}

}  // namespace gnuplot
}  // namespace rsplab::results
