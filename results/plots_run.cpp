// The figures read from a run's own rows (results/plots.hpp): its timeline (registered
// capacity and PEs from capacity_slots, the registered-capacity check's own reading of the
// registrations; handling speed per time bin; failovers; faults with labels laid out so that
// they never overlap), its per-PE utilization heat map, and the ECDFs of failover detection
// delay and lost work over a set of runs.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "results/checks.hpp"
#include "results/gnuplot.hpp"
#include "results/plots.hpp"

namespace rsplab::results {

namespace {

using gnuplot::Figure;
using gnuplot::number;
using gnuplot::quoted;
using gnuplot::tidy;

std::string seconds(std::int64_t us) { return number(static_cast<double>(us) / 1e6); }

struct RunHead {
  std::int64_t id = 0;
  std::string experiment, policy;
  std::int64_t warmup_us = 0, duration_us = 0, length_us = 0;
  std::string title(const std::string& what) const {
    return "run " + std::to_string(id) + " (" + experiment + ", " + policy + "): " + what;
  }
};

RunHead read_head(const Store& store, std::int64_t run_id) {
  const auto rows = store.select(
      "SELECT e.name, r.policy, r.warmup_us, r.duration_us, r.end_unix_us - r.start_unix_us"
      " FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id WHERE r.id = ?",
      {run_id});
  if (rows.empty()) throw PlotError("plot: no run " + std::to_string(run_id) + " in the file");
  RunHead h{run_id,
            text_of(rows[0][0]),
            text_of(rows[0][1]),
            int_of(rows[0][2]),
            int_of(rows[0][3]),
            int_of(rows[0][4])};
  h.length_us = std::max(h.length_us, h.warmup_us + h.duration_us);
  return h;
}

// ---- timeline ------------------------------------------------------------------------------

struct CapacityData {
  std::string text;
  double deployed = 0;
  std::size_t pes = 0;
};

// Registered capacity and PEs over [0, length]: a row at each change (gnuplot `steps`).
CapacityData capacity_steps(const Store& store, const RunHead& h) {
  CapacityData d;
  std::map<std::int64_t, std::vector<std::pair<std::size_t, int>>> changes;  // time → (slot, ±1)
  const std::vector<CapacitySlot> slots = capacity_slots(store, h.id);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    d.deployed += slots[i].capacity;
    for (const Span& s : slots[i].registered) {
      changes[std::max<std::int64_t>(s.from_us, 0)].push_back({i, +1});
      if (s.to_us < h.length_us) changes[std::max<std::int64_t>(s.to_us, 0)].push_back({i, -1});
    }
  }
  d.pes = slots.size();
  std::vector<int> held(slots.size(), 0);
  double capacity = 0;
  std::size_t pes = 0;
  d.text =
      "# registered capacity (calculations/s) and PEs over time, from the registrations\n"
      "# time_s\tcapacity\tpes\n";
  changes[0];
  for (const auto& [t, list] : changes) {
    for (const auto& [slot, delta] : list) {
      const bool was = held[slot] > 0;
      held[slot] += delta;
      if (was != (held[slot] > 0)) {
        capacity += (was ? -1 : 1) * slots[slot].capacity;
        pes = was ? pes - 1 : pes + 1;
      }
    }
    if (t <= h.length_us)
      d.text += seconds(t) + "\t" + number(capacity) + "\t" + std::to_string(pes) + "\n";
  }
  d.text += seconds(h.length_us) + "\t" + number(capacity) + "\t" + std::to_string(pes) + "\n";
  return d;
}

struct SpeedData {
  std::string text;
  std::int64_t bin_us = 0;
  double top = 0;
  std::int64_t jobs = 0;
};

// Handling speed of the jobs completed in each bin: Σ size / Σ handling.
SpeedData speed_bins(const Store& store, const RunHead& h, std::int64_t bin_us) {
  std::map<std::int64_t, std::pair<double, double>> bins;  // bin → (Σ size, Σ handling µs)
  std::map<std::int64_t, std::int64_t> counts;
  for (const auto& row :
       store.select("SELECT completed_us, size, handling_us FROM jobs WHERE run_id = ?"
                    " AND status = 'completed' AND completed_us IS NOT NULL"
                    " AND handling_us > 0",
                    {h.id})) {
    const std::int64_t b = int_of(row[0]) >= 0 ? int_of(row[0]) / bin_us : -1;
    bins[b].first += static_cast<double>(int_of(row[1]));
    bins[b].second += static_cast<double>(int_of(row[2]));
    ++counts[b];
  }
  SpeedData d;
  d.bin_us = bin_us;
  d.text =
      "# handling speed of the jobs completed in each bin: sum of sizes / sum of handling"
      " times (calculations/s)\n# from_s\tto_s\tspeed\tjobs\n";
  for (const auto& [b, sums] : bins) {
    if (b < 0) continue;
    const double speed = sums.first / sums.second * 1e6;
    d.top = std::max(d.top, speed);
    d.jobs += counts[b];
    d.text += seconds(b * bin_us) + "\t" + seconds((b + 1) * bin_us) + "\t" + number(speed) + "\t" +
              std::to_string(counts[b]) + "\n";
  }
  return d;
}

struct Fault {
  double at_s = 0;
  std::string kind, label;
};

std::vector<Fault> read_faults(const Store& store, std::int64_t run_id, std::string& text) {
  std::set<std::string> pools;
  for (const auto& row : store.select("SELECT DISTINCT pool FROM components WHERE run_id = ?"
                                      " AND pool IS NOT NULL",
                                      {run_id}))
    pools.insert(text_of(row[0]));
  std::vector<Fault> out;
  text = "# the faults applied (faults table)\n# at_s\tkind\ttarget\tskipped\n";
  for (const auto& row : store.select("SELECT at_us, kind, target,"
                                      " json_extract(details, '$.skipped') IS NOT NULL"
                                      " FROM faults WHERE run_id = ? ORDER BY at_us, id",
                                      {run_id})) {
    std::string target = text_of(row[2]);
    const std::size_t slash = target.find('/');
    if (slash != std::string::npos && pools.count(target.substr(0, slash)) > 0)
      target = target.substr(slash + 1);
    const bool skipped = int_of(row[3]) != 0;
    out.push_back({static_cast<double>(int_of(row[0])) / 1e6, text_of(row[1]),
                   text_of(row[1]) + " " + target + (skipped ? " (skipped)" : "")});
    text += seconds(int_of(row[0])) + "\t" + text_of(row[1]) + "\t" + quoted(text_of(row[2])) +
            "\t" + (skipped ? "1" : "0") + "\n";
  }
  return out;
}

// Fault labels in a strip of at most kLabelRows text rows above the plot: each label starts
// at its fault's line (or ends there near the right edge); faults whose labels cannot be
// placed without overlapping are merged with the previous group ("kill ×3", "5 faults").
constexpr int kLabelRows = 3;
constexpr double kLeft = 0.15, kRight = 0.87;  // the panels' margins (screen)
constexpr double kPlotWidthPt = (kRight - kLeft) * gnuplot::kWidthIn * 72;

struct Labels {
  std::string commands;  // set label …, y in rows counted from the top (yrange [rows:0])
  int rows = 0;
  std::vector<std::pair<double, double>> taken[kLabelRows];  // per row: the texts' extents (s)
};

std::string group_text(const std::vector<Fault>& faults, std::size_t first, std::size_t last) {
  if (first == last) return faults[first].label;
  std::vector<std::string> kinds;
  for (std::size_t i = first; i <= last; ++i)
    if (std::find(kinds.begin(), kinds.end(), faults[i].kind) == kinds.end())
      kinds.push_back(faults[i].kind);
  const std::string n = std::to_string(last - first + 1);
  if (kinds.size() > 2) return n + " faults";
  return kinds[0] + (kinds.size() == 2 ? "/" + kinds[1] : "") + " ×" + n;
}

// Places the groups' labels; returns the index of the first group that fits no row (0: all
// placed, the first always fits).
std::size_t place_labels(const std::vector<Fault>& faults,
                         const std::vector<std::pair<std::size_t, std::size_t>>& groups,
                         double span_s, Labels& out) {
  double row_end[kLabelRows];
  std::fill(row_end, row_end + kLabelRows, -1e300);
  out = {};
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const std::string text = group_text(faults, groups[k].first, groups[k].second);
    const double x = faults[groups[k].first].at_s;
    const double w =
        (static_cast<double>(text.size()) * 0.55 * gnuplot::kFontPt + 6) / kPlotWidthPt * span_s;
    const bool right = x + w > span_s;
    const double from = right ? x - w : x, to = right ? x : x + w;
    int row = 0;
    while (row < kLabelRows && row_end[row] > from) ++row;
    if (row == kLabelRows) return k;
    row_end[row] = to;
    out.taken[row].push_back({from, to});
    out.rows = std::max(out.rows, row + 1);
    out.commands += "set label " + quoted(text) + " at first " + number(x) + ", first " +
                    std::to_string(row) + ".5" +
                    (right ? " right offset -0.3,0" : " left offset 0.3,0") + "\n";
    const double last = faults[groups[k].second].at_s;
    if (last > x)  // a group's extent, under its label
      out.commands += "set arrow from first " + number(x) + ", first " + std::to_string(row) +
                      ".9 to first " + number(last) + ", first " + std::to_string(row) +
                      ".9 nohead front lw 1.5 lc rgb \"#555555\"\n";
  }
  return 0;
}

Labels fault_labels(const std::vector<Fault>& faults, double span_s) {
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [first, last]
  for (std::size_t i = 0; i < faults.size(); ++i) groups.push_back({i, i});
  Labels labels;
  for (std::size_t failed; (failed = place_labels(faults, groups, span_s, labels)) != 0;) {
    groups[failed - 1].second = groups[failed].second;
    groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(failed));
  }
  return labels;
}

std::string fault_lines(const std::vector<Fault>& faults) {
  std::string s;
  for (const Fault& f : faults)
    s += "set arrow from first " + number(f.at_s) + ", graph 0 to first " + number(f.at_s) +
         ", graph 1 nohead back dt 2 lc rgb \"#555555\" lw 0.8\n";
  return s;
}

// Each fault's line in the strip: from the bottom up to the first label in its way (a
// label starts or ends just beside its own fault's line, which passes it).
std::string strip_lines(const std::vector<Fault>& faults, const Labels& labels) {
  std::string s;
  const int rows = std::max(labels.rows, 1);
  for (const Fault& f : faults) {
    int top = rows;  // y grows downwards: row r spans [r, r + 1]
    while (top > 0 &&
           std::none_of(labels.taken[top - 1].begin(), labels.taken[top - 1].end(),
                        [&](const auto& t) { return t.first < f.at_s && f.at_s < t.second; }))
      --top;
    if (top < rows)
      s += "set arrow from first " + number(f.at_s) + ", first " + std::to_string(rows) +
           " to first " + number(f.at_s) + ", first " + std::to_string(top) +
           " nohead back dt 2 lc rgb \"#555555\" lw 0.8\n";
  }
  return s;
}

std::string window_box(const RunHead& h) {
  return "set object 1 rect from first " + seconds(h.warmup_us) + ", graph 0 to first " +
         seconds(h.warmup_us + h.duration_us) +
         ", graph 1 behind fc rgb \"#e4e4e4\" fs solid noborder\n";
}

// The timeline's panels from the top, as screen fractions: a title line, the fault labels'
// rows, then each panel with its heading line above it, the time axis with its label, and
// the key (3 rows). Title and time-axis label are placed at screen positions: the terminals
// differ in how far from a plot they put its own title and xlabel.
struct Layout {
  double title = 0, strip_top = 0, strip_bottom = 0, cap_top = 0, cap_bottom = 0, speed_top = 0,
         speed_bottom = 0, xlabel = 0;
};

Layout layout(int label_rows, double height_in) {
  const double h = height_in * 72, line = gnuplot::kFontPt * 1.25;
  const double strip = std::max(label_rows, 1) * line + 3, heading = 1.4 * line;
  const double key = 3.3 * line, axis = 3.0 * line;
  const double panel = (h - 1.8 * line - strip - 2 * heading - axis - key) / 2;
  Layout l;
  l.title = (h - 0.9 * line) / h;
  double y = h - 1.8 * line;
  l.strip_top = y / h;
  l.strip_bottom = (y -= strip) / h;
  l.cap_top = (y -= heading) / h;
  l.cap_bottom = (y -= panel) / h;
  l.speed_top = (y -= heading) / h;
  l.speed_bottom = (y -= panel) / h;
  l.xlabel = (key + 0.8 * line) / h;
  return l;
}

std::string margins(double top, double bottom) {
  return "set tmargin at screen " + tidy(top) + "\nset bmargin at screen " + tidy(bottom) + "\n";
}

std::string heading(const std::string& left, const std::string& right = "") {
  std::string s = "set label 11 " + quoted(left) + " at graph 0, graph 1 left offset 0,0.7\n";
  if (!right.empty())
    s += "set label 12 " + quoted(right) + " at graph 1, graph 1 right offset 0,0.7\n";
  return s;
}

// The strip of fault labels on top of the timeline.
std::string strip_panel(const RunHead& h, const std::vector<Fault>& faults, const Labels& labels,
                        const Layout& l) {
  const double span = static_cast<double>(h.length_us) / 1e6;
  std::string s = "set multiplot\nset lmargin at screen " + tidy(kLeft) +
                  "\nset rmargin at screen " + tidy(kRight) + "\nset xrange [0:" + tidy(span) +
                  "]\n";
  s += "set label 20 " + quoted(h.title("timeline")) + " at screen 0.5, screen " + tidy(l.title) +
       " center\n" + margins(l.strip_top, l.strip_bottom);
  s += "set border 0\nunset xtics\nunset ytics\nunset key\n";
  s += "set yrange [" + std::to_string(std::max(labels.rows, 1)) + ":0]\n";
  if (faults.empty())
    s += "set label " + quoted("no faults") + " at graph 0, first 0.5 left offset 0.3,0\n";
  s += strip_lines(faults, labels) + labels.commands + "plot -1 notitle\n";
  return s + "unset label\nunset arrow\nset border\n";
}

std::string capacity_panel(const RunHead& h, const CapacityData& cap,
                           const std::vector<Fault>& faults, const Layout& l,
                           const std::string& name) {
  const gnuplot::Scale sc = gnuplot::scale_for(cap.deployed);
  const double top = std::max(cap.deployed, 1.0) * 1.15 / sc.factor;
  const double pes = static_cast<double>(std::max<std::size_t>(cap.pes, 1));
  std::string s = margins(l.cap_top, l.cap_bottom) + "set xtics format \"\"\nset xtics nomirror\n";
  s += "set ytics nomirror " + tidy(gnuplot::tic_step(top, 4)) + "\nset y2tics " +
       tidy(std::max(1.0, gnuplot::tic_step(pes * 1.15, 3))) + "\nset format y2 \"%.0f\"\n";
  s += heading("registered " + gnuplot::axis_label("capacity", "calc./s", sc), "PEs");
  s += "set yrange [0:" + tidy(top) + "]\nset y2range [0:" + tidy(pes * 1.15) + "]\n";
  s += window_box(h) + fault_lines(faults);
  const std::string dat = quoted(gnuplot::data_name(name, "capacity"));
  s += "plot " + dat + " using 1:($2/" + number(sc.factor) +
       ") with steps ls 1 lw 1.5 notitle, \\\n     " + dat +
       " using 1:3 axes x1y2 with steps ls 2 dt 2 lw 1.5 notitle\n";
  return s + "unset arrow\nunset object 1\nunset label\nunset y2tics\n";
}

std::string speed_panel(const RunHead& h, const SpeedData& speed, bool failovers,
                        const std::vector<Fault>& faults, const Layout& l,
                        const std::string& name) {
  const gnuplot::Scale sc = gnuplot::scale_for(speed.top);
  const double top = speed.top > 0 ? speed.top * 1.15 / sc.factor : 1;
  std::string s = margins(l.speed_top, l.speed_bottom) + "set xtics format \"% h\"\n";
  s += "set label 21 " + quoted("time since the run's start (s)") + " at screen 0.5, screen " +
       tidy(l.xlabel) + " center\n";
  s += heading(speed.jobs == 0 ? "handling speed: no completed jobs"
                               : gnuplot::axis_label("handling speed", "calc./s", sc) + ", per " +
                                     seconds(speed.bin_us) + " s");
  s += "set yrange [0:" + tidy(top) + "]\nset ytics " + tidy(gnuplot::tic_step(top, 4)) + "\n";
  s += "set style fill solid 0.55 noborder\n";
  s += window_box(h) + fault_lines(faults);
  s += "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols 2 reverse Left samplen "
       "1.2 width 1\n";
  s += "plot ";
  if (speed.jobs == 0) s += "-1 notitle, \\\n     ";  // keyentry alone sets no axis: gnuplot fails
  if (speed.jobs > 0)
    s += quoted(gnuplot::data_name(name, "speed")) + " using (($1+$2)/2):($3/" + number(sc.factor) +
         "):($2-$1) with boxes fc rgb \"#009E73\" notitle, \\\n     ";
  if (failovers)
    s += quoted(gnuplot::data_name(name, "failovers")) + " using 1:(0):(0):(" + tidy(top * 0.12) +
         ") with vectors nohead lc rgb \"#000000\" lw 1.5 notitle, \\\n     ";
  s += "keyentry with lines ls 1 lw 1.5 title \"capacity\", \\\n"
       "     keyentry with lines ls 2 dt 2 lw 1.5 title \"PEs\", \\\n"
       "     keyentry with boxes fc rgb \"#009E73\" title \"speed\", \\\n"
       "     keyentry with lines lc rgb \"#000000\" lw 1.5 title \"failover\", \\\n"
       "     keyentry with lines dt 2 lc rgb \"#555555\" title \"fault\", \\\n"
       "     keyentry with boxes fc rgb \"#e4e4e4\" title \"measured\"\n";
  return s;
}

std::string failover_times(const Store& store, std::int64_t run_id, std::size_t& n) {
  std::string s =
      "# failovers: when the PU noticed the PE's failure (detected_us, else time_us)\n"
      "# time_s\tfrom_pe\tcause\n";
  const auto rows = store.select(
      "SELECT coalesce(detected_us, time_us), from_pe, cause FROM failovers"
      " WHERE run_id = ? ORDER BY 1",
      {run_id});
  for (const auto& row : rows)
    s += seconds(int_of(row[0])) + "\t" + quoted(text_of(row[1])) + "\t" + quoted(text_of(row[2])) +
         "\n";
  n = rows.size();
  return s;
}

}  // namespace

std::vector<std::string> plot_run_timeline(const Store& store, std::int64_t run_id,
                                           const std::string& dir) {
  const RunHead h = read_head(store, run_id);
  Figure f;
  f.name = "run" + std::to_string(run_id) + "-timeline";
  f.description =
      h.title("registered capacity and PEs, handling speed per time bin, failovers and faults");
  f.height_in = 3.5;
  const CapacityData cap = capacity_steps(store, h);
  const SpeedData speed = speed_bins(store, h, gnuplot::bin_width_us(h.length_us, 40));
  std::string fault_text;
  const std::vector<Fault> faults = read_faults(store, run_id, fault_text);
  const Labels labels = fault_labels(faults, static_cast<double>(h.length_us) / 1e6);
  const Layout l = layout(labels.rows, f.height_in);
  std::size_t failovers = 0;
  const std::string failover_text = failover_times(store, run_id, failovers);
  f.data = {{"capacity", cap.text},
            {"speed", speed.text},
            {"failovers", failover_text},
            {"faults", fault_text}};
  f.body = strip_panel(h, faults, labels, l) + capacity_panel(h, cap, faults, l, f.name) +
           speed_panel(h, speed, failovers > 0, faults, l, f.name);
  return gnuplot::render(f, dir);
}

// ---- utilization heat map ------------------------------------------------------------------

namespace {

// Each usage sample as a cell: its PE (index into the sorted component names) and the
// interval it covers, (t − offered / capacity, t], coloured by calculations / offered.
struct Heat {
  std::vector<std::string> pes;
  std::string cells;  // from_s, to_s, pe, utilization
  std::size_t samples = 0;
};

Heat read_usage(const Store& store, std::int64_t run_id) {
  Heat heat;
  for (const auto& row :
       store.select("SELECT DISTINCT name FROM components WHERE run_id = ? AND role = 'pe'"
                    " ORDER BY name",
                    {run_id}))
    heat.pes.push_back(text_of(row[0]));
  heat.cells =
      "# utilization of each PE usage sample: calculations / offered (capacity × interval)\n"
      "# over the interval it covers, from_s to to_s = time_us\n";
  for (std::size_t i = 0; i < heat.pes.size(); ++i)
    heat.cells += "# pe " + std::to_string(i) + ": " + heat.pes[i] + "\n";
  heat.cells += "# from_s\tto_s\tpe\tutilization\n";
  for (const auto& row :
       store.select("SELECT c.name, s.time_us, s.calculations, s.offered, c.capacity"
                    " FROM pe_samples AS s JOIN components AS c ON c.id = s.component_id"
                    " WHERE s.run_id = ? AND s.kind = 'usage' AND s.offered > 0"
                    " AND c.capacity > 0 ORDER BY c.name, s.time_us",
                    {run_id})) {
    const auto it = std::find(heat.pes.begin(), heat.pes.end(), text_of(row[0]));
    const double offered = number_of(row[3]).value_or(0),
                 to = static_cast<double>(int_of(row[1])) / 1e6;
    const double from = std::max(0.0, to - offered / number_of(row[4]).value_or(1));
    if (it == heat.pes.end() || to <= 0) continue;
    heat.cells += number(from) + "\t" + number(to) + "\t" + std::to_string(it - heat.pes.begin()) +
                  "\t" + number(number_of(row[2]).value_or(0) / offered) + "\n";
    ++heat.samples;
  }
  return heat;
}

// PE names on the y axis: the part after the pool ("pe0#3"), at most about 20 of them.
std::string pe_tics(const std::vector<std::string>& pes) {
  const std::size_t every = (pes.size() + 19) / 20;
  std::string s = "set ytics (";
  for (std::size_t i = 0; i < pes.size(); i += every) {
    const std::size_t slash = pes[i].rfind('/');
    s += (i > 0 ? ", " : "") +
         quoted(slash == std::string::npos ? pes[i] : pes[i].substr(slash + 1)) + " " +
         std::to_string(i);
  }
  return s + ") nomirror scale 0\n";
}

}  // namespace

std::vector<std::string> plot_utilization_heatmap(const Store& store, std::int64_t run_id,
                                                  const std::string& dir) {
  const RunHead h = read_head(store, run_id);
  const std::string name = "run" + std::to_string(run_id) + "-utilization";
  const Heat heat = read_usage(store, run_id);
  if (heat.samples == 0)
    return gnuplot::render(gnuplot::message_figure(name, h.title("utilization per PE"),
                                                   "no PE usage samples in this run"),
                           dir);
  Figure f;
  f.name = name;
  f.description = h.title("utilization per PE (calculations / offered) of each usage sample");
  f.height_in = std::min(5.0, 1.6 + 0.13 * static_cast<double>(heat.pes.size()));
  f.data = {{"", heat.cells}};
  f.body = "set title " + quoted(h.title("utilization per PE")) + "\n";
  f.body += "set xlabel " + quoted("time since the run's start (s)") + " offset 0,0.3\n";
  const double span = static_cast<double>(h.length_us) / 1e6;
  f.body +=
      "set xrange [0:" + tidy(span) + "]\nset xtics " + tidy(gnuplot::tic_step(span, 6)) + "\n";
  f.body += "set yrange [" + tidy(static_cast<double>(heat.pes.size()) - 0.5) + ":-0.5]\n";
  f.body += pe_tics(heat.pes) + "set xtics nomirror out\n";
  f.body += "set key outside bottom center horizontal reverse Left samplen 1.5\n";
  f.body += "set cbrange [0:1]\nset cblabel " + quoted("utilization") + "\nset cbtics 0.25\n";
  f.body +=
      "set palette defined (0 \"#440154\", 0.25 \"#3B528B\", 0.5 \"#21918C\", 0.75 \"#5EC962\", 1 "
      "\"#FDE725\")\n";
  for (const std::int64_t t : {h.warmup_us, h.warmup_us + h.duration_us})
    f.body += "set arrow from first " + seconds(t) + ", graph 0 to first " + seconds(t) +
              ", graph 1 nohead front dt 2 lc rgb \"#000000\" lw 1\n";
  f.body += "plot " + quoted(gnuplot::data_name(name)) +
            " using (($1+$2)/2):3:(($2-$1)/2):(0.5):4 with boxxyerror fs solid 1 noborder lc "
            "palette notitle, \\\n"
            "     keyentry with lines dt 2 lc rgb \"#000000\" title \"measured window\", \\\n"
            "     keyentry with boxes lc rgb \"#000000\" fs empty title \"no sample\"\n";
  return gnuplot::render(f, dir);
}

// ---- distributions over runs ---------------------------------------------------------------

namespace {

struct Sample {
  std::vector<double> values;
  std::int64_t exact = 0, lower_bound = 0;
};

// The ECDF of each policy's values: a block per policy of (value, fraction ≤ value), starting
// at (first value, 0) for gnuplot's `steps`.
std::string ecdf_data(const std::map<std::string, Sample>& by_policy, const std::string& what) {
  std::string s = "# empirical distribution (ECDF) of " + what + ", a block per policy\n";
  bool first = true;
  for (const auto& [policy, sample] : by_policy) {
    std::vector<double> v = sample.values;
    std::sort(v.begin(), v.end());
    s += (first ? "" : "\n\n") + std::string("# ") + policy + " (n = " + std::to_string(v.size()) +
         ")\n# value\tfraction\n" + number(v.front()) + "\t0\n";
    for (std::size_t i = 0; i < v.size(); ++i)
      s += number(v[i]) + "\t" +
           number(static_cast<double>(i + 1) / static_cast<double>(v.size())) + "\n";
    first = false;
  }
  return s;
}

// The ECDF figure of `by_policy`, or a figure saying `empty` when it holds nothing.
Figure ecdf_figure(const std::string& name, const std::string& title, const std::string& empty,
                   const Metric& axis, const std::map<std::string, Sample>& by_policy,
                   const std::vector<std::string>& legend) {
  if (by_policy.empty()) return gnuplot::message_figure(name, title, empty);
  const std::string& what = axis.description;
  double top = 0;
  for (const auto& [p, s] : by_policy)
    for (const double v : s.values) top = std::max(top, std::fabs(v));
  const gnuplot::Scale sc = gnuplot::scale_for(top);
  Figure f;
  f.name = name;
  f.description = title + ": ECDF of " + what + " per policy";
  f.height_in = 2.3 + 0.16 * static_cast<double>(legend.size());
  f.data = {{"", ecdf_data(by_policy, what)}};
  f.body = "set title " + quoted(title) + "\nset xlabel " +
           quoted(gnuplot::axis_label(axis.label, axis.unit, sc)) + "\n";
  f.body += "set ylabel " + quoted("fraction of failovers ≤ x") + "\nset yrange [0:1.02]\n";
  f.body += "set xrange [0:" + tidy(top > 0 ? top * 1.05 / sc.factor : 1) + "]\nset xtics " +
            tidy(gnuplot::tic_step(top > 0 ? top * 1.05 / sc.factor : 1, 6)) + "\nset mxtics 2\n";
  f.body +=
      "set grid lc rgb \"#dddddd\"\nset key at screen 0.5, screen 0.01 center bottom vertical "
      "samplen 2 reverse Left\n";
  // The key below the x axis's label, at the bottom: a line of 9 pt is about 0.16 in.
  f.body += "set bmargin at screen " +
            tidy((0.16 * static_cast<double>(legend.size()) + 0.6) / f.height_in) + "\n";
  std::string plot = "plot ";
  for (std::size_t i = 0; i < legend.size(); ++i)
    plot += (i > 0 ? ", \\\n     " : "") + quoted(gnuplot::data_name(name)) + " index " +
            std::to_string(i) + " using ($1/" + number(sc.factor) + "):2 with steps ls " +
            std::to_string(i % 8 + 1) + " lw 1.5 title " + quoted(legend[i]);
  f.body += plot + "\n";
  return f;
}

// "run 3", "runs 1, 2, 3", "18 runs".
std::string run_list(const std::vector<std::int64_t>& run_ids) {
  if (run_ids.size() > 3) return std::to_string(run_ids.size()) + " runs";
  std::string s = run_ids.size() == 1 ? "run " : "runs ";
  for (std::size_t i = 0; i < run_ids.size(); ++i)
    s += (i > 0 ? ", " : "") + std::to_string(run_ids[i]);
  return run_ids.empty() ? "no runs" : s;
}

}  // namespace

std::vector<std::string> plot_distributions(const Store& store,
                                            const std::vector<std::int64_t>& run_ids,
                                            const std::string& dir, const std::string& name,
                                            const std::string& title) {
  std::map<std::string, Sample> delay, lost;
  for (const std::int64_t run : run_ids)
    for (const auto& row :
         store.select("SELECT r.policy, f.detection_delay_us, f.lost, f.lost_exact"
                      " FROM failovers AS f JOIN runs AS r ON r.id = f.run_id"
                      " WHERE f.run_id = ?",
                      {run})) {
      const std::string policy = text_of(row[0]);
      if (const auto d = number_of(row[1])) delay[policy].values.push_back(*d / 1e3);
      Sample& l = lost[policy];
      const auto exact = number_of(row[3]);
      l.values.push_back(exact.value_or(number_of(row[2]).value_or(0)));
      ++(exact ? l.exact : l.lower_bound);
    }
  const std::string runs = run_list(run_ids);
  const std::string none = "no failovers in " + runs, heading = title.empty() ? runs : title;
  std::vector<std::string> delay_legend, lost_legend;
  for (const auto& [p, s] : delay)
    delay_legend.push_back(p + " (n = " + std::to_string(s.values.size()) + ")");
  for (const auto& [p, s] : lost)
    lost_legend.push_back(s.lower_bound == 0 ? p + ": exact (n = " + std::to_string(s.exact) + ")"
                          : s.exact == 0
                              ? p + ": lower bound (n = " + std::to_string(s.lower_bound) + ")"
                              : p + ": " + std::to_string(s.exact) + " exact, " +
                                    std::to_string(s.lower_bound) + " lower bound");
  std::vector<std::string> written = gnuplot::render(
      ecdf_figure(name + "-detection_delay", heading + ": failover detection delay", none,
                  {"", "detection delay", "ms", "failover detection delays (ms)"}, delay,
                  delay_legend),
      dir);
  const auto more =
      gnuplot::render(ecdf_figure(name + "-lost_work", heading + ": work lost per failover", none,
                                  {"", "work lost", "calculations",
                                   "work lost per failover (calculations; lost_exact where known, "
                                   "else the lower bound lost)"},
                                  lost, lost_legend),
                      dir);
  written.insert(written.end(), more.begin(), more.end());
  return written;
}

}  // namespace rsplab::results
