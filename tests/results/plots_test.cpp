// The plots of `rsplab report --plot` (results/plots.hpp), drawn by the real gnuplot from a
// real SQLite file with known contents and from Reports built here by hand: the files are
// written, each SVG is well-formed XML whose texts hold the title, axis labels and series
// names, each PNG has a PNG header and the paper's size; the numbers in the data files are
// those written into the database or the Report (computed again here); empty inputs give a
// figure that says so. Skipped when gnuplot is not installed (failed with
// RSPLAB_REQUIRE_GNUPLOT=1). RSPLAB_KEEP_PLOTS=DIR keeps the figures to look at.
#include "results/plots.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "results/store.hpp"
#include "tests/results/support.hpp"

namespace rsplab::results {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::kSecond;
using testing::kStart;
using testing::TempDir;

// Without gnuplot: skipped, or failed under RSPLAB_REQUIRE_GNUPLOT=1 (scripts/test.sh sets
// it: setup.sh installs gnuplot-nox).
bool gnuplot_required() {
  const char* env = std::getenv("RSPLAB_REQUIRE_GNUPLOT");
  return env != nullptr && std::string(env) == "1";
}

#define SKIP_WITHOUT_GNUPLOT()                                                           \
  if (!gnuplot_available()) {                                                            \
    if (gnuplot_required())                                                              \
      FAIL() << "gnuplot is not installed (RSPLAB_REQUIRE_GNUPLOT=1; "                   \
                "run scripts/setup.sh: gnuplot-nox)";                                    \
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox, scripts/setup.sh): " \
                    "the plots cannot be drawn";                                         \
  }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void texts(const boost::property_tree::ptree& node, std::set<std::string>& out) {
  if (!node.data().empty()) out.insert(node.data());
  for (const auto& [name, child] : node)
    if (name != "<xmlattr>") texts(child, out);
}

// Parses the SVG as XML (throws when it is not well-formed) and returns its text nodes.
std::set<std::string> svg_texts(const std::string& path) {
  boost::property_tree::ptree tree;
  std::ifstream in(path);
  boost::property_tree::read_xml(in, tree);
  EXPECT_EQ(tree.count("svg"), 1u) << path;
  std::set<std::string> out;
  texts(tree, out);
  return out;
}

// PNG signature, then IHDR's width and height (big-endian).
void expect_png(const std::string& path, std::uint32_t width, std::uint32_t height) {
  const std::string png = read(path);
  ASSERT_GT(png.size(), 5000u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  const auto be32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(png[at])) << 24 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 3]));
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), width) << path;
  EXPECT_EQ(be32(20), height) << path;
}

// A data file's rows (comments and blank lines dropped), split at whitespace, per block
// (blocks are separated by two blank lines, gnuplot's `index`).
std::vector<std::vector<std::vector<std::string>>> blocks(const std::string& path) {
  std::vector<std::vector<std::vector<std::string>>> out(1);
  std::istringstream in(read(path));
  std::string line;
  int blank = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (++blank == 2 && !out.back().empty()) out.emplace_back();
      continue;
    }
    blank = 0;
    if (line[0] == '#') continue;
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    out.back().push_back(row);
  }
  return out;
}

// RSPLAB_KEEP_PLOTS=DIR keeps a copy of each test's figures there, to look at them.
void keep(const std::string& plots) {
  const char* to = std::getenv("RSPLAB_KEEP_PLOTS");
  if (to == nullptr || !fs::exists(plots)) return;
  const fs::path dest =
      fs::path(to) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::create_directories(dest);
  fs::copy(plots, dest, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
}

double num(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

json line(const std::string& id, double at_s, const std::string& event, json fields) {
  return testing::event_line("", id, testing::us(at_s), event, fields);
}

// One run of 30 s (warm-up 5 s, window 20 s): a registrar, two PEs of 1e6 and 2e6
// calculations/s (pe0#1 deregistered at 12 s after a kill at 11 s, registered again at
// 16 s), a PU with three completed jobs and two failovers, usage samples of both PEs.
class PlotRun : public ::testing::Test {
 protected:
  void SetUp() override {
    experiment_ =
        store_.add_experiment({"plotcase", "plotcase.yaml", json::object(), "0.1", "h", "k"});
    run_ = begin(0, "lu");
    pr_ = store_.add_component(run_, {"pr0", "registrar", "a", "0x00000001", {}, "", "", 0});
    pe_[0] = store_.add_component(run_, {"Calc/pe0#0", "pe", "a", "0x100", {}, "Calc", "lu", 1e6});
    pe_[1] = store_.add_component(run_, {"Calc/pe0#1", "pe", "a", "0x101", {}, "Calc", "lu", 2e6});
    pu_ = store_.add_component(run_, {"Calc/pu0#0", "pu", "a", "pu-1", {}, "Calc", "lu", 0});
  }

  std::int64_t begin(std::size_t index, const std::string& policy) {
    RunInfo r;
    r.experiment_id = experiment_;
    r.index = index;
    r.key = "k" + std::to_string(index);
    r.parameters["policy"] = policy;
    r.transport = "tcp";
    r.resolved = json::object();
    r.start_unix_us = kStart;
    r.warmup_us = 5 * kSecond;
    r.duration_us = 20 * kSecond;
    return store_.begin_run(r);
  }

  void registrar(const std::string& kind, double at_s, const std::string& pe) {
    json f = {{"pool", "Calc"}, {"pe", pe}};
    if (kind == "deregistration")
      f["reason"] = "keepalive_timeout";
    else
      f.update({{"policy", "lu"}, {"transport", "tcp"}, {"conn", 1}});
    store_.add_event(run_, pr_, line("0x00000001", at_s, kind, f));
  }

  void job(int n, double queued_s, double completed_s, std::int64_t size) {
    const auto at = [](double s) {
      return kStart + static_cast<std::int64_t>(std::llround(s * kSecond));
    };
    const auto handling =
        static_cast<std::int64_t>(std::llround((completed_s - queued_s) * kSecond));
    store_.add_event(run_, pu_,
                     line("pu-1", completed_s, "job",
                          {{"job", n},
                           {"size", size},
                           {"status", "completed"},
                           {"queued_us", at(queued_s)},
                           {"started_us", at(queued_s)},
                           {"accepted_us", at(queued_s)},
                           {"completed_us", at(completed_s)},
                           {"pe", "0x100"},
                           {"rejects", 0},
                           {"failovers", 0},
                           {"queuing_delay_us", 0},
                           {"startup_delay_us", 0},
                           {"processing_us", handling},
                           {"handling_us", handling},
                           {"handling_speed",
                            static_cast<double>(size) * 1e6 / static_cast<double>(handling)}}));
  }

  void failover(int n, double at_s, std::int64_t delay_us, std::int64_t lost) {
    store_.add_event(run_, pu_,
                     line("pu-1", at_s, "failover",
                          {{"job", n},
                           {"from_pe", "0x101"},
                           {"cause", "connection_lost"},
                           {"detection_delay_us", delay_us},
                           {"to_pe", "0x100"},
                           {"cookie", false},
                           {"resumed", 0},
                           {"lost", lost},
                           {"attempts", 1}}));
  }

  void usage(int pe, double at_s, double calculations, double offered) {
    store_.add_event(run_, pe_[pe],
                     line(pe == 0 ? "0x100" : "0x101", at_s, "usage",
                          {{"calculations", calculations},
                           {"offered", offered},
                           {"utilization", calculations / offered}}));
  }

  void fill() {
    registrar("registration", -1, "0x100");
    registrar("registration", 2, "0x101");
    store_.add_fault(
        run_, "kill", "Calc/pe0", 11 * kSecond,
        {{"members", json::array({{{"component", "Calc/pe0"}, {"member", 1}, {"id", "0x101"}}})}});
    registrar("deregistration", 12, "0x101");
    registrar("registration", 16, "0x101");
    job(1, 6, 8, 2'000'000);  // bin 8 s: 2e6 / 2 s = 1e6/s
    job(2, 9, 9.5, 500'000);  // bin 9 s: 1e6/s
    job(3, 7, 9.8, 900'000);  // bin 9 s too: (5e5 + 9e5) / (0.5 + 2.8) s
    failover(2, 11.5, 300'000, 100);
    failover(3, 11.6, 500'000, 200);
    usage(0, 10, 4e6, 5e6);  // pe 0: 0.8 over 5…10 s
    usage(1, 10, 5e6, 1e7);  // pe 1: 0.5 over 5…10 s
    store_.end_run(run_, "completed", kStart + 30 * kSecond);
    // The exact loss is known for the first failover only.
    // (with a connection of the test's own: the store has no method that writes this)
    store_.flush();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE failovers SET lost_exact = 700 WHERE job = 2", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }

  void TearDown() override { keep(plots_); }

  std::string out(const std::string& name) const { return (fs::path(plots_) / name).string(); }

  TempDir dir_;
  const std::string db_path_ = dir_.file("plots.db");
  Store store_ = Store::open(db_path_);
  const std::string plots_ = dir_.file("plots");
  std::int64_t experiment_ = 0, run_ = 0, pr_ = 0, pu_ = 0, pe_[2] = {0, 0};
};

TEST_F(PlotRun, TimelineStepsFollowTheRegistrations) {
  SKIP_WITHOUT_GNUPLOT();
  fill();
  const auto files = plot_run_timeline(store_, run_, plots_);
  for (const char* f :
       {"run1-timeline.svg", "run1-timeline.png", "run1-timeline.gp", "run1-timeline-capacity.dat",
        "run1-timeline-speed.dat", "run1-timeline-failovers.dat", "run1-timeline-faults.dat"}) {
    EXPECT_TRUE(fs::exists(out(f))) << f;
    EXPECT_NE(std::find(files.begin(), files.end(), out(f)), files.end()) << f;
  }
  // Registered: pe0#0 (1e6) from before 0, pe0#1 (2e6) 2–12 s and from 16 s on.
  const std::vector<std::vector<double>> expected = {
      {0, 1e6, 1}, {2, 3e6, 2}, {12, 1e6, 1}, {16, 3e6, 2}, {30, 3e6, 2}};
  const auto rows = blocks(out("run1-timeline-capacity.dat"))[0];
  ASSERT_EQ(rows.size(), expected.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t c = 0; c < 3; ++c)
      EXPECT_DOUBLE_EQ(num(rows[i][c]), expected[i][c]) << i << "," << c;
  // Handling speed per 1 s bin, Σ size / Σ handling.
  const auto speed = blocks(out("run1-timeline-speed.dat"))[0];
  ASSERT_EQ(speed.size(), 2u);
  EXPECT_EQ(speed[0][0], "8");
  EXPECT_DOUBLE_EQ(num(speed[0][2]), 1e6);
  EXPECT_EQ(speed[1][0], "9");
  EXPECT_NEAR(num(speed[1][2]), 1.4e6 / 3.3, 1e-6);
  EXPECT_EQ(speed[1][3], "2");
  EXPECT_EQ(blocks(out("run1-timeline-failovers.dat"))[0].size(), 2u);
  const auto t = svg_texts(out("run1-timeline.svg"));
  for (const char* s :
       {"run 1 (plotcase, lu): timeline", "registered capacity (10⁶ calc./s)", "PEs",
        "time since the run's start (s)", "kill pe0", "capacity", "failover", "fault", "measured"})
    EXPECT_EQ(t.count(s), 1u) << s;
  expect_png(out("run1-timeline.png"), 1050, 1050);
}

TEST_F(PlotRun, HeatMapCellsAreTheUsageSamples) {
  SKIP_WITHOUT_GNUPLOT();
  fill();
  plot_utilization_heatmap(store_, run_, plots_);
  // Each sample covers offered / capacity seconds before its time.
  const auto rows = blocks(out("run1-utilization.dat"))[0];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"5", "10", "0", "0.8"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"5", "10", "1", "0.5"}));
  const auto t = svg_texts(out("run1-utilization.svg"));
  for (const char* s : {"run 1 (plotcase, lu): utilization per PE", "pe0#0", "pe0#1", "utilization",
                        "measured window", "no sample"})
    EXPECT_EQ(t.count(s), 1u) << s;
  expect_png(out("run1-utilization.png"), 1050, 558);  // 1.6 in + 0.13 in per PE
}

TEST_F(PlotRun, DistributionsSayWhichLossesAreExact) {
  SKIP_WITHOUT_GNUPLOT();
  fill();
  plot_distributions(store_, {run_}, plots_, "e1", "plotcase");
  // ECDF: (first value, 0), then each sorted value with its fraction.
  const auto delay = blocks(out("e1-detection_delay.dat"));
  ASSERT_EQ(delay.size(), 1u);
  EXPECT_EQ(delay[0],
            (std::vector<std::vector<std::string>>{{"300", "0"}, {"300", "0.5"}, {"500", "1"}}));
  const auto lost = blocks(out("e1-lost_work.dat"));
  EXPECT_EQ(lost[0],
            (std::vector<std::vector<std::string>>{{"200", "0"}, {"200", "0.5"}, {"700", "1"}}));
  const auto t = svg_texts(out("e1-lost_work.svg"));
  for (const char* s : {"plotcase: work lost per failover", "lu: 1 exact, 1 lower bound",
                        "work lost (calculations)", "fraction of failovers ≤ x"})
    EXPECT_EQ(t.count(s), 1u) << s;
  EXPECT_EQ(svg_texts(out("e1-detection_delay.svg")).count("lu (n = 2)"), 1u);
}

TEST_F(PlotRun, EmptyRunsGiveFiguresThatSaySo) {
  SKIP_WITHOUT_GNUPLOT();
  store_.end_run(run_, "completed", kStart + 30 * kSecond);  // nothing happened
  plot_run_timeline(store_, run_, plots_);
  const auto t = svg_texts(out("run1-timeline.svg"));
  EXPECT_EQ(t.count("handling speed: no completed jobs"), 1u);
  EXPECT_EQ(t.count("no faults"), 1u);
  plot_utilization_heatmap(store_, run_, plots_);
  EXPECT_EQ(svg_texts(out("run1-utilization.svg")).count("no PE usage samples in this run"), 1u);
  plot_distributions(store_, {run_}, plots_);
  EXPECT_EQ(svg_texts(out("runs-detection_delay.svg")).count("no failovers in run 1"), 1u);
  EXPECT_EQ(svg_texts(out("runs-lost_work.svg")).count("no failovers in run 1"), 1u);
  plot_distributions(store_, {}, plots_, "none");
  EXPECT_TRUE(fs::exists(out("none-lost_work.png")));
  EXPECT_THROW(plot_run_timeline(store_, 99, plots_), PlotError);
  EXPECT_THROW(plot_utilization_heatmap(store_, 99, plots_), PlotError);
}

TEST_F(PlotRun, EveryFaultIsMarkedAndLabelledWithoutOverlap) {
  SKIP_WITHOUT_GNUPLOT();
  // Churn: 40 kills and restarts, 0.5 s apart, far more than one label each can fit.
  for (int i = 0; i < 40; ++i)
    store_.add_fault(run_, i % 2 == 0 ? "kill" : "restart", "Calc/pe0", (3 + i / 2.0) * kSecond,
                     {{"members", json::array({{{"component", "Calc/pe0"}, {"member", i % 2}}})}});
  store_.end_run(run_, "completed", kStart + 30 * kSecond);
  plot_run_timeline(store_, run_, plots_);
  const std::string gp = read(out("run1-timeline.gp"));
  // A dashed line per fault through each of the two panels.
  std::size_t lines = 0;
  std::istringstream all(gp);
  for (std::string l; std::getline(all, l);)
    if (l.find("set arrow from first ") != std::string::npos &&
        l.find(", graph 0 to first ") != std::string::npos && l.find("dt 2") != std::string::npos)
      ++lines;
  EXPECT_EQ(lines, 2u * 40u);
  // The strip's labels account for every fault ("kill ×3", "12 faults", or one fault each),
  // and no two labels of a row overlap (their text at 0.55 em a character, 9 pt, over a
  // plot 0.72 × 3.5 in wide for 30 s, must not reach the next label's start).
  std::size_t counted = 0;
  std::map<std::string, std::vector<std::pair<double, double>>> rows;
  std::vector<std::string>
      strip_lines;  // "set arrow from first X, first BOTTOM to first X, first TOP"
  std::istringstream in(gp);
  for (std::string l; std::getline(in, l);) {
    if (l.find("set arrow from first ") != std::string::npos &&
        l.find("graph") == std::string::npos && l.find("dt 2") != std::string::npos)
      strip_lines.push_back(l);
    const auto at = l.find("set label \"");
    if (at == std::string::npos || l.find(" at first ") == std::string::npos) continue;
    const std::string text = l.substr(at + 11, l.find('"', at + 11) - at - 11);
    const auto times = text.find(" ×"), faults = text.find(" faults");
    counted += times != std::string::npos    ? std::stoul(text.substr(times + 3))
               : faults != std::string::npos ? std::stoul(text)
                                             : 1;
    const double x = std::strtod(l.c_str() + l.find(" at first ") + 10, nullptr);
    const std::string row = l.substr(l.find(", first ") + 8, 3);
    const double width = (static_cast<double>(text.size()) * 0.55 * 9) / (0.72 * 3.5 * 72) * 30;
    rows[row].push_back(l.find(" right ") != std::string::npos ? std::pair{x - width, x}
                                                               : std::pair{x, x + width});
  }
  EXPECT_EQ(counted, 40u);
  for (auto& [row, spans] : rows) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
      EXPECT_LE(spans[i - 1].second, spans[i].first) << row;
  }
  // In the strip a fault's line rises from the bottom and stops under the first label in its
  // way: it crosses no label's text.
  ASSERT_FALSE(strip_lines.empty());
  for (const std::string& l : strip_lines) {
    double x = 0, bottom = 0, top = 0;
    ASSERT_EQ(
        std::sscanf(l.c_str(), "%*[ ]set arrow from first %lf, first %lf to first %*f, first %lf",
                    &x, &bottom, &top),
        3)
        << l;
    for (int r = static_cast<int>(top); r < static_cast<int>(bottom); ++r)
      for (const auto& [from, to] : rows[std::to_string(r) + ".5"])
        EXPECT_FALSE(from < x && x < to) << l << " crosses a label of row " << r;
  }
  svg_texts(out("run1-timeline.svg"));
}

// A Report built by hand: experiment 7 swept ratio 1, 3, 10 for lu and rr.
Estimate made(std::int64_t n, double mean, double half_width) {
  Estimate e;
  e.n = n;
  if (n > 0) e.mean = mean;
  if (n > 1) e.half_width = half_width;
  return e;
}

Report sweep_report() {
  Report r;
  r.experiments = {{7, "ratio", "ratio.yaml", "{}", {"ratio"}}};
  r.metrics = {"handling_speed", "failovers"};
  const auto row = [](const std::string& policy, const std::string& ratio, Estimate e) {
    ReportRow x;
    x.experiment_id = 7;
    x.policy = policy;
    x.point = {{"ratio", ratio}};
    x.estimates["handling_speed"] = e;
    x.estimates["failovers"] = Estimate{};
    return x;
  };
  r.rows = {row("lu", "1", made(3, 8.5e5, 2.5e4)), row("lu", "3", made(3, 8.0e5, 4e4)),
            row("lu", "10", made(1, 7.25e5, 0)),   row("rr", "1", made(3, 7e5, 1.5e4)),
            row("rr", "3", made(0, 0, 0)),         row("rr", "10", made(2, 5e5, 1e5))};
  return r;
}

const Metric kSpeed{"handling_speed", "handling speed", "calculations/s", ""};

TEST(PlotSweep, DataFileHoldsTheReportsMeansAndIntervals) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const Report report = sweep_report();
  const auto files = plot_sweep(report, kSpeed, "ratio", dir.file("p"));
  EXPECT_EQ(files.size(), 4u);
  const auto b = blocks(dir.file("p/e7-handling_speed-vs-ratio.dat"));
  ASSERT_EQ(b.size(), 2u);
  // x, the value as written, mean, mean − half-width, mean + half-width, n; "-" for none.
  const auto expect_row = [](const std::vector<std::string>& row, double x,
                             const std::string& value, std::optional<double> mean,
                             std::optional<double> low, std::optional<double> high,
                             const std::string& n) {
    ASSERT_EQ(row.size(), 6u);
    EXPECT_DOUBLE_EQ(num(row[0]), x);
    EXPECT_EQ(row[1], "\"" + value + "\"");
    const std::optional<double> got[] = {mean, low, high};
    for (int i = 0; i < 3; ++i) {
      if (got[i])
        EXPECT_DOUBLE_EQ(num(row[2 + i]), *got[i]) << value << " column " << 2 + i;
      else
        EXPECT_EQ(row[2 + i], "-") << value << " column " << 2 + i;
    }
    EXPECT_EQ(row[5], n);
  };
  ASSERT_EQ(b[0].size(), 3u);
  expect_row(b[0][0], 1, "1", 8.5e5, 8.5e5 - 2.5e4, 8.5e5 + 2.5e4, "3");
  expect_row(b[0][1], 3, "3", 8.0e5, 8.0e5 - 4e4, 8.0e5 + 4e4, "3");
  expect_row(b[0][2], 10, "10", 7.25e5, std::nullopt, std::nullopt, "1");  // n = 1: no bar
  ASSERT_EQ(b[1].size(), 3u);
  expect_row(b[1][0], 1, "1", 7e5, 7e5 - 1.5e4, 7e5 + 1.5e4, "3");
  expect_row(b[1][1], 3, "3", std::nullopt, std::nullopt, std::nullopt, "0");
  expect_row(b[1][2], 10, "10", 5e5, 4e5, 6e5, "2");
  const auto t = svg_texts(dir.file("p/e7-handling_speed-vs-ratio.svg"));
  for (const char* s :
       {"ratio: handling speed", "handling speed (10³ calc./s)", "ratio", "lu", "rr"})
    EXPECT_EQ(t.count(s), 1u) << s;
  expect_png(dir.file("p/e7-handling_speed-vs-ratio.png"), 1050, 768);  // 2.4 in + a key row
  // A metric without any value: a figure that says so.
  plot_sweep(report, {"failovers", "failovers", "", ""}, "ratio", dir.file("p"));
  EXPECT_EQ(svg_texts(dir.file("p/e7-failovers-vs-ratio.svg"))
                .count("no values of failovers in these runs"),
            1u);
  keep(dir.file("p"));
  EXPECT_THROW(plot_sweep(report, kSpeed, "transport", dir.file("p")), PlotError);
  EXPECT_THROW(plot_sweep(report, {"utilization", "utilization", "", ""}, "ratio", dir.file("p")),
               PlotError);
}

TEST(PlotSweep, CategoricalParameterAndLinesSplitByAnotherParameter) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  Report report = sweep_report();
  // transport is categorical; ratio varies at a fixed transport, so it splits the lines.
  for (ReportRow& r : report.rows) r.point["transport"] = r.point["ratio"] == "3" ? "sctp" : "tcp";
  plot_sweep(report, kSpeed, "transport", dir.file("p"));
  const auto b = blocks(dir.file("p/e7-handling_speed-vs-transport.dat"));
  ASSERT_EQ(b.size(), 6u);     // lu and rr × ratio 1, 3, 10
  EXPECT_EQ(b[0][0][0], "0");  // tcp, the first value in the rows' order
  EXPECT_EQ(b[1][0][0], "1");  // sctp
  const auto t = svg_texts(dir.file("p/e7-handling_speed-vs-transport.svg"));
  for (const char* s : {"tcp", "sctp", "lu, ratio=1", "rr, ratio=10"})
    EXPECT_EQ(t.count(s), 1u) << s;
  keep(dir.file("p"));
}

TEST_F(PlotRun, WritePlotsDrawsEverythingOfAReport) {
  SKIP_WITHOUT_GNUPLOT();
  fill();
  Report report;
  report.experiments = {{experiment_, "plotcase", "plotcase.yaml", "{}", {}}};
  report.metrics = {"handling_speed"};
  ReportRow row;
  row.experiment_id = experiment_;
  row.policy = "lu";
  row.run_ids = {run_};
  row.estimates["handling_speed"] = made(1, 123456, 0);
  report.rows = {row};
  const auto files = write_plots(store_, report, plots_, {{kSpeed}, std::nullopt, std::nullopt});
  std::set<std::string> names;
  for (const auto& f : files) names.insert(fs::path(f).filename().string());
  for (const char* f : {"e1-handling_speed-vs-policy.svg", "e1-detection_delay.png",
                        "e1-lost_work.gp", "run1-timeline.svg", "run1-utilization.png"})
    EXPECT_EQ(names.count(f), 1u) << f;
  for (const auto& f : files) EXPECT_TRUE(fs::exists(f)) << f;
}

// The ratio example zips interval, pus and ratio and names its points by ratio (sweep.labels):
// ratio is the default x, not pus (the first numeric one by name).
TEST_F(PlotRun, DefaultXIsTheParameterTheFileNamesItsPointsBy) {
  SKIP_WITHOUT_GNUPLOT();
  Report report = sweep_report();
  for (ReportRow& r : report.rows) {
    r.point["pus"] = std::to_string(10 * std::stoi(r.point["ratio"]));
    r.point["interval"] = "exp:" + r.point["ratio"] + "s";
  }
  report.experiments[0].swept = {"interval", "pus", "ratio"};
  const auto sweep_files = [&](const std::string& dir) {
    std::set<std::string> names;
    for (const auto& f : write_plots(store_, report, dir, {{kSpeed}, std::nullopt, std::nullopt}))
      if (f.find("-vs-") != std::string::npos) names.insert(fs::path(f).filename().string());
    return names;
  };
  EXPECT_EQ(sweep_files(plots_ + "/a").count("e7-handling_speed-vs-pus.svg"), 1u);
  report.experiments[0].source = R"({"sweep": {"labels": ["ratio"]}})";
  const auto labelled = sweep_files(plots_ + "/b");
  EXPECT_EQ(labelled.count("e7-handling_speed-vs-ratio.svg"), 1u);
  EXPECT_EQ(labelled.count("e7-handling_speed-vs-pus.svg"), 0u);
}

}  // namespace
}  // namespace rsplab::results
