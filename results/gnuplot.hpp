// Writing one gnuplot figure (results/plots.hpp's building block): its data files, a script
// that draws it as SVG and PNG in the paper's size (3.5 in wide, 9 pt text), and running
// gnuplot on that script in the figure's directory. Also the small text and number helpers
// the figures share: gnuplot string quoting, exact numbers for data files, axis scaling and
// time bins. Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rsplab::results::gnuplot {

// The figure's width in inches (one column of a two-column paper) and its text size in pt.
inline constexpr double kWidthIn = 3.5;
inline constexpr double kFontPt = 9;

struct DataFile {
  std::string suffix;    // "" → NAME.dat, "x" → NAME-x.dat
  std::string contents;  // whitespace-separated columns, '#' comments, "-" for missing
};

struct Figure {
  std::string name;         // file stem: NAME.svg, NAME.png, NAME.gp
  std::string description;  // the script's opening comment: what the figure shows
  double height_in = 2.6;
  std::vector<DataFile> data;
  std::string body;  // gnuplot commands run once per format, after `reset` and the terminal
};

// The data file name of `suffix` for figure `name` (as written into `dir`, without it).
std::string data_name(const std::string& name, const std::string& suffix = "");

// Writes the data files and NAME.gp into `dir`, runs gnuplot there, and returns the paths of
// everything written (NAME.svg, NAME.png, NAME.gp, the data files). Throws PlotError when
// gnuplot is missing or fails, or when a file cannot be written.
std::vector<std::string> render(const Figure& figure, const std::string& dir);

// A figure that only says `message` (empty data: "no failovers in run 3"), titled `title`.
Figure message_figure(const std::string& name, const std::string& title,
                      const std::string& message);

// `s` as a gnuplot double-quoted string literal (the terminals are noenhanced: no markup).
std::string quoted(const std::string& s);
// A number for a data file: the shortest text that reads back as the same double.
std::string number(double v);
// An optional number, "-" (gnuplot's missing value here) when empty.
std::string number(const std::optional<double>& v);
// A number for a script (ranges, steps, offsets): 6 significant digits.
std::string tidy(double v);

// A power of ten to divide values by so that ticks stay short (1, 10³, 10⁶, 10⁹), for the
// largest magnitude `max_abs`, and its axis text ("10⁶ ", "" for 1).
struct Scale {
  double factor = 1;
  std::string prefix;
};
Scale scale_for(double max_abs);
// "label (10⁶ unit)", "label (unit)", "label (×10³)", "label".
std::string axis_label(const std::string& label, const std::string& unit, const Scale& s);

// A round time-bin width (1, 2, 5 × 10^k µs, at least 1 s) giving about `bins` bins over
// `span_us`.
std::int64_t bin_width_us(std::int64_t span_us, int bins);

// A round tic step (1, 2, 5 × 10^k) giving at most `intervals` intervals over [0, top].
double tic_step(double top, int intervals);

// The line styles 1…8 (colour-blind safe colours, distinct point types) as gnuplot commands.
std::string line_styles();

}  // namespace rsplab::results::gnuplot
