// The HTML page of `rsplab report --html` (results/html.hpp), from a real SQLite file with
// known runs and checks, a Report built by hand and real SVG figures (gnuplot's when it is
// installed, and one written here). The unit tests read the page's text: numbers as the
// page shows them (expected strings worked out by hand), the definition as YAML, escaping,
// errors. HtmlBrowser loads the page in headless Chromium (tests/support/browser.hpp), one
// browser for every page: no console error, nothing fetched, no script, every figure drawn
// (pixels on a canvas), the table's numbers the Report's, the run ↔ figure links; and it
// loads pages made to fail, to show each check can fail.
#include "results/html.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "agents/command.hpp"
#include "results/report.hpp"
#include "results/stats.hpp"
#include "results/store.hpp"
#include "tests/results/support.hpp"
#include "tests/support/browser.hpp"

namespace rsplab::results {
namespace {

using json = nlohmann::json;
using testing::kSecond;
using testing::kStart;
using testing::TempDir;

const std::string kEvil = "<script>alert(1)</script>";

// A figure drawn by hand: a white background, one blue line, a label.
const std::string kHandSvg =
    R"(<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" )"
    R"(viewBox="0 0 320 200"><g id="gnuplot_canvas"><rect width="320" height="200" fill="white"/>)"
    R"(<polyline points="10,190 100,120 200,80 310,20" fill="none" stroke="#1f77b4" stroke-width="3"/>)"
    R"(<text x="20" y="30" font-size="14">&lt;script&gt; run</text></g></svg>)";
// Present and decodable, but nothing drawn: the browser check must call it empty.
const std::string kBlankSvg =
    "<svg xmlns='http://www.w3.org/2000/svg' width='200' height='100'><rect width='200' "
    "height='100' fill='white'/></svg>";

void spit(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A small gnuplot SVG (`dynamic`: a viewBox and no fixed size, as scaled plots have).
std::string gnuplot_svg(const TempDir& dir, const std::string& name, const std::string& terminal) {
  const std::string svg = dir.file(name + ".svg"), script = dir.file(name + ".gp");
  spit(script, "set terminal svg size 480,300 " + terminal + " font 'sans,10'\nset output '" + svg +
                   "'\nset xlabel 'ratio'\nset ylabel 'calculations/s'\n"
                   "plot '-' with linespoints title 'lu', '-' with linespoints title 'rr'\n"
                   "1 100\n10 400\ne\n1 90\n10 300\ne\n");
  const auto r = agents::run_command({"gnuplot", script});
  if (!r.ok()) throw std::runtime_error("gnuplot: " + r.err);
  return svg;
}

// The database: one experiment, policies lu and kEvil, ratio 1 and 10, 2 repetitions each
// (runs 1…8, completed, in plan order), and a ninth run interrupted. Every completed run has
// an ok event_counts check; run 2 warns about registered capacity.
class HtmlPage : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = json::parse(R"({"name": "ratio", "duration": "30s", "repetitions": 2,
      "faults": [{"at": "17.5s", "kill": {"group": "CalcAppPool/pe0", "count": 1}}],
      "pools": {"CalcAppPool": {"policy": "$policy", "pes": [{"site": "a", "count": 2, "capacity": "1e6"}]}},
      "sweep": {"policy": ["lu", "<script>alert(1)</script>"], "ratio": ["1", "10"]}})");
    experiment_ = store_.add_experiment(
        {"ratio", "experiments/ratio.yaml", source_, "0.13.0", "host", "6.1"});
    int index = 0;
    for (const std::string policy : {"lu", kEvil.c_str()})
      for (const std::string ratio : {"1", "10"})
        for (int rep = 0; rep < 2; ++rep)
          runs_.push_back(begin(policy, ratio, index++, rep, "completed"));
    runs_.push_back(begin("lu", "1", 0, 0, "interrupted"));
    for (std::size_t i = 0; i + 1 < runs_.size(); ++i)
      store_.add_check(runs_[i],
                       {"event_counts", "ok", 10, "event counts: 10 jobs", json::object()});
    store_.add_check(runs_[1], {"registered_capacity", "warning", 0.8,
                                "capacity <b>missing</b> for 6 s", json::object()});
    build_report();
  }

  std::int64_t begin(const std::string& policy, const std::string& ratio, int index, int rep,
                     const std::string& status) {
    RunInfo r;
    r.experiment_id = experiment_;
    r.index = static_cast<std::size_t>(index);
    r.key = policy + ratio + std::to_string(rep);
    r.parameters = {{"policy", policy}, {"ratio", ratio}};
    r.repetition = static_cast<std::size_t>(rep);
    r.transport = "tcp";
    r.resolved = json::object();
    r.start_unix_us = kStart;
    r.warmup_us = 5 * kSecond;
    r.duration_us = 30 * kSecond;
    const auto id = store_.begin_run(r);
    store_.end_run(id, status, kStart + 40 * kSecond, status == "completed" ? "" : "SIGINT");
    return id;
  }

  void build_report() {
    report_.experiments.push_back(
        {experiment_, "ratio", "experiments/ratio.yaml", source_.dump(), {"ratio"}});
    report_.metrics = {"handling_speed", "utilization", "failovers"};
    const std::vector<std::vector<double>> speeds = {{1000, 1200, 1100}, {0.5, 0.7}, {3}, {}};
    for (std::size_t i = 0; i < 4; ++i) {
      ReportRow row;
      row.experiment_id = experiment_;
      row.policy = i < 2 ? "lu" : kEvil;
      row.point = {{"ratio", i % 2 == 0 ? "1" : "10"}};
      row.run_ids = {runs_[2 * i], runs_[2 * i + 1]};
      row.estimates["handling_speed"] = estimate(speeds[i]);
      row.estimates["utilization"] = estimate({0.25, 0.75});
      row.estimates["failovers"] = estimate({});
      report_.rows.push_back(row);
    }
    report_.rows[0].not_completed = 1;
    report_.rows[0].warned = 1;
    report_.rows[3].notes = {"no completed jobs in 2 of 2 runs"};
  }

  TempDir dir_;
  Store store_ = Store::open(dir_.file("results.db"));
  json source_;
  std::int64_t experiment_ = 0;
  std::vector<std::int64_t> runs_;
  Report report_;
};

// ---- what the page says -----------------------------------------------------------------

TEST(HtmlFormat, NumbersShowWholeNumbersAsTheyAreAndFourSignificantDigitsBelowAThousand) {
  EXPECT_EQ(format_number(12345.6), "12346");
  EXPECT_EQ(format_number(1100), "1100");
  EXPECT_EQ(format_number(302), "302");
  EXPECT_EQ(format_number(12.5), "12.50");
  EXPECT_EQ(format_number(248.41385), "248.4");
  EXPECT_EQ(format_number(0.6), "0.6000");
  EXPECT_EQ(format_number(-1.27062), "-1.271");
  EXPECT_EQ(format_number(0.00012346), "0.0001235");
  EXPECT_EQ(format_number(0.000012345), "1.234e-05");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(std::nan("")), "–");
}

TEST(HtmlFormat, EstimatesReadMeanPlusMinusHalfWidthWithN) {
  // {1000, 1200, 1100}: mean 1100, sd 100, half = t(0.975, 2) · 100 / √3 = 4.302653 · 57.735 =
  // 248.41.
  EXPECT_EQ(format_estimate(estimate({1000, 1200, 1100})), "1100 ± 248.4 (n = 3)");
  // {0.5, 0.7}: mean 0.6, sd 0.14142, half = 12.7062 · 0.14142 / √2 = 1.2706.
  EXPECT_EQ(format_estimate(estimate({0.5, 0.7})), "0.6000 ± 1.271 (n = 2)");
  EXPECT_EQ(format_estimate(estimate({3})), "3 (n = 1)");
  EXPECT_EQ(format_estimate(estimate({})), "–");
}

TEST_F(HtmlPage, TableCellsShowTheReportsEstimatesInPlanOrder) {
  const std::string page = html_report(store_, report_, {});
  // Row "handling speed": the four columns lu/1, lu/10, evil/1, evil/10.
  const auto speed = page.find("title=\"handling_speed: ");
  ASSERT_NE(speed, std::string::npos);
  EXPECT_EQ(page.substr(page.find('>', speed) + 1, 35), "handling speed (calculations/s)</th");
  std::size_t at = speed;
  for (const std::string text :
       {"1100 ± 248.4 (n = 3)", "0.6000 ± 1.271 (n = 2)", "3 (n = 1)", "–"}) {
    at = page.find("data-metric=\"handling_speed\"", at + 1);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(page.substr(page.find('>', at) + 1, text.size()), text);
  }
  EXPECT_NE(page.find("data-mean=\"1100\" data-half=\"248.41"), std::string::npos);
  EXPECT_NE(page.find("lu, ratio = 1: 1 run(s) not completed, not counted"), std::string::npos);
  EXPECT_NE(page.find("lu, ratio = 1: 1 counted run(s) warned (see the checks)"),
            std::string::npos);
  EXPECT_NE(
      page.find(
          "&lt;script&gt;alert(1)&lt;/script&gt;, ratio = 10: no completed jobs in 2 of 2 runs"),
      std::string::npos);
}

// The stored source (nlohmann::json: keys sorted) as YAML: flat lists and maps on one line,
// strings quoted where YAML would read them otherwise, escaped for HTML.
TEST_F(HtmlPage, DefinitionReadsAsYaml) {
  const std::string page = html_report(store_, report_, {});
  const std::string yaml =
      "duration: 30s\nfaults:\n  - at: 17.5s\n    kill: {count: 1, group: CalcAppPool/pe0}\n"
      "name: ratio\npools:\n  CalcAppPool:\n    pes:\n"
      "      - {capacity: 1e6, count: 2, site: a}\n    policy: $policy\nrepetitions: 2\n"
      "sweep:\n  policy: [lu, &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;]\n  ratio: [1, "
      "10]\n";
  EXPECT_NE(page.find("<pre class=\"source\">" + yaml + "</pre>"), std::string::npos) << page;
}

TEST_F(HtmlPage, EverythingFromTheDatabaseIsEscapedAndThePageHasNoScript) {
  const std::string page =
      html_report(store_, report_, {{kEvil, kEvil, "", kHandSvg, runs_[0], {}}});
  std::string lower = page;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<b>missing"), std::string::npos);
  EXPECT_NE(page.find("capacity &lt;b&gt;missing&lt;/b&gt; for 6 s"), std::string::npos);
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos) << "no Content-Security-Policy";
}

TEST_F(HtmlPage, RunsTableLinksToTimelinesAndTheyLinkBack) {
  const std::string page = html_report(store_, report_,
                                       {{"plot", "", "", kHandSvg, {}, experiment_},
                                        {"timeline", "", "", kHandSvg, runs_[2], experiment_}});
  const std::string run = std::to_string(runs_[2]);
  EXPECT_NE(page.find("<tr id=\"run-" + run + "\">"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"#figure-2\">Figure 2</a>"), std::string::npos);
  const auto figure = page.find("<figure id=\"figure-2\"");
  ASSERT_NE(figure, std::string::npos);
  EXPECT_NE(page.find("<a class=\"back\" href=\"#run-" + run + "\">", figure), std::string::npos);
  // Run 2's checks: a warning, linked from its row.
  EXPECT_NE(page.find("<td class=\"warning\"><a href=\"#run-" + std::to_string(runs_[1]) +
                      "-checks\">warning: registered_capacity</a>"),
            std::string::npos);
}

TEST_F(HtmlPage, WideReportsContinueInAnotherTable) {
  for (int i = 0; i < 3; ++i) report_.rows.push_back(report_.rows.back());  // 7 columns
  const std::string page = html_report(store_, report_, {});
  std::size_t tables = 0;
  for (auto at = page.find("<table class=\"estimates\">"); at != std::string::npos;
       at = page.find("<table class=\"estimates\">", at + 1))
    ++tables;
  EXPECT_EQ(tables, 2u);
}

TEST_F(HtmlPage, AFigureThatCannotBeReadOrIsNoSvgIsAnError) {
  const std::string missing = dir_.file("missing.svg");
  try {
    html_report(store_, report_, {{"speed", "", missing, "", {}, {}}});
    FAIL() << "no error";
  } catch (const HtmlError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  spit(dir_.file("text.svg"), "not a picture");
  EXPECT_THROW(html_report(store_, report_, {{"speed", "", dir_.file("text.svg"), "", {}, {}}}),
               HtmlError);
  EXPECT_THROW(write_html(dir_.file("no-such-dir/report.html"), store_, report_, {}), HtmlError);
}

TEST(HtmlEmpty, AReportWithoutExperimentsSaysSo) {
  TempDir dir;
  const Store store = Store::open(dir.file("empty.db"));
  EXPECT_NE(html_report(store, Report{}, {}).find("The report holds no experiments."),
            std::string::npos);
}

// ---- in a browser -----------------------------------------------------------------------

// Evaluated in each loaded page: its figures (rendered size, decoded size, pixels not white
// on a canvas, back link), the estimate tables' cells, internal links without a target,
// the runs' figure links, the scripts in the document and its visible text.
const char* kMeasure = R"js((() => {
  const ink = img => {
    if (!img || !img.complete || !img.naturalWidth) return 0;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
    return n;
  };
  const figures = [...document.querySelectorAll('figure')].map(f => {
    const img = f.querySelector('img'), r = img ? img.getBoundingClientRect() : {width: 0, height: 0};
    const back = f.querySelector('a.back');
    return {id: f.id, width: r.width, height: r.height, natural: img ? img.naturalWidth : 0, ink: ink(img),
            back: back ? back.getAttribute('href') : ''};
  });
  const cells = [...document.querySelectorAll('table.estimates tbody tr')].map(tr =>
    [...tr.querySelectorAll('td')].map(td => ({metric: td.dataset.metric, n: Number(td.dataset.n),
      mean: td.dataset.mean === undefined ? null : Number(td.dataset.mean),
      half: td.dataset.half === undefined ? null : Number(td.dataset.half), text: td.textContent})));
  const dangling = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'))
    .filter(h => !document.getElementById(h.slice(1)));
  const runs = [...document.querySelectorAll('table.runs tbody tr')].map(tr =>
    ({id: tr.id, plots: [...tr.cells[6].querySelectorAll('a')].map(a => a.getAttribute('href'))}));
  return {scripts: document.scripts.length, text: document.body.innerText, figures, cells, dangling, runs};
})())js";

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST_F(HtmlPage, HtmlBrowserRendersThePageWithoutErrorsAndEveryFigureDrawn) {
  const std::string binary = test::HeadlessBrowser::find();
  if (binary.empty()) {
    const char* required = std::getenv("RSPLAB_REQUIRE_CHROMIUM");
    if (required != nullptr && std::string(required) == "1")
      FAIL() << "chromium is not installed (RSPLAB_REQUIRE_CHROMIUM=1; run scripts/setup.sh)";
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  }
  std::vector<Figure> figures;
  if (!agents::find_tool("gnuplot").empty()) {
    figures.push_back({"handling speed against ratio",
                       "one line per policy",
                       gnuplot_svg(dir_, "plot", "fixed"),
                       "",
                       {},
                       experiment_});
    figures.push_back(
        {"run over time", "", gnuplot_svg(dir_, "timeline", "dynamic"), "", runs_[0], experiment_});
  } else {
    std::cout << "gnuplot is not installed: hand-written SVGs only\n";
  }
  figures.push_back({"run " + kEvil + " over time", kEvil, "", kHandSvg, runs_[3], {}});
  figures.push_back({"not an experiment's", "", "", kHandSvg, {}, {}});
  write_html(dir_.file("report.html"), store_, report_, figures);
  spit(dir_.file("error.html"), "<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>");
  const std::string blank = "data:image/svg+xml," + kBlankSvg;
  spit(dir_.file("broken.html"),
       "<!DOCTYPE html><figure id=f1><img src=\"" + blank +
           "\"></figure><figure id=f2><img src=\"data:image/svg+xml;base64,AAAA\">"
           "</figure><img src=\"http://example.invalid/logo.png\">");

  const auto t0 = std::chrono::steady_clock::now();
  test::HeadlessBrowser browser(binary);
  const auto t1 = std::chrono::steady_clock::now();
  const auto page = browser.load(dir_.file("report.html"), kMeasure);
  const auto t2 = std::chrono::steady_clock::now();
  const auto error = browser.load(dir_.file("error.html"), kMeasure);
  const auto broken = browser.load(dir_.file("broken.html"), kMeasure);
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::cout << "chromium: started in " << ms(t1 - t0) << " ms, report loaded and measured in "
            << ms(t2 - t1) << " ms, 3 pages in " << ms(std::chrono::steady_clock::now() - t1)
            << " ms\n";

  for (const auto& f : page.value["figures"])
    std::cout << "figure " << f["id"].get<std::string>() << ": " << f["width"] << "×" << f["height"]
              << " px on the page, " << f["ink"] << " pixels drawn\n";
  std::cout << "the page with a JavaScript error: " << joined(error.errors);
  std::cout << "the page fetching a remote image: " << joined(broken.requests);

  // The report: no error, nothing fetched, no script (the evil policy is text).
  EXPECT_TRUE(page.errors.empty()) << joined(page.errors);
  EXPECT_TRUE(page.requests.empty()) << joined(page.requests);
  const json& v = page.value;
  EXPECT_EQ(v["scripts"], 0);
  EXPECT_NE(v["text"].get<std::string>().find("run " + kEvil + " over time"), std::string::npos);
  EXPECT_TRUE(v["dangling"].empty()) << v["dangling"].dump();
  ASSERT_EQ(v["figures"].size(), figures.size());
  for (const auto& f : v["figures"]) {
    EXPECT_GT(f["width"].get<double>(), 100) << f.dump();
    EXPECT_GT(f["height"].get<double>(), 50) << f.dump();
    EXPECT_GT(f["natural"].get<double>(), 0) << f.dump();
    EXPECT_GT(f["ink"].get<double>(), 100) << "nothing drawn: " << f.dump();
  }
  // The table: one row per metric, one cell per Report row, the Report's values exactly.
  ASSERT_EQ(v["cells"].size(), report_.metrics.size());
  for (std::size_t m = 0; m < report_.metrics.size(); ++m) {
    ASSERT_EQ(v["cells"][m].size(), report_.rows.size());
    for (std::size_t r = 0; r < report_.rows.size(); ++r) {
      const json& cell = v["cells"][m][r];
      const Estimate& e = report_.rows[r].estimates.at(report_.metrics[m]);
      EXPECT_EQ(cell["metric"], report_.metrics[m]);
      EXPECT_EQ(cell["n"], e.n);
      EXPECT_EQ(cell["text"], format_estimate(e));
      if (e.mean) {
        EXPECT_DOUBLE_EQ(cell["mean"].get<double>(), *e.mean);
      }
      if (e.half_width) {
        EXPECT_DOUBLE_EQ(cell["half"].get<double>(), *e.half_width);
      }
    }
  }
  EXPECT_EQ(v["cells"][0][0]["text"], "1100 ± 248.4 (n = 3)");
  // Run rows ↔ their figures: each run with a figure links to it, and it links back.
  std::size_t linked = 0;
  for (const auto& run : v["runs"]) {
    for (const auto& href : run["plots"]) {
      const auto f = std::find_if(v["figures"].begin(), v["figures"].end(), [&](const json& x) {
        return "#" + x["id"].get<std::string>() == href;
      });
      ASSERT_NE(f, v["figures"].end()) << href;
      EXPECT_EQ((*f)["back"], "#" + run["id"].get<std::string>());
      ++linked;
    }
  }
  EXPECT_EQ(linked, static_cast<std::size_t>(
                        std::count_if(figures.begin(), figures.end(),
                                      [](const Figure& f) { return f.run_id.has_value(); })));

  // Pages made to fail: each check notices.
  EXPECT_FALSE(error.errors.empty()) << "a page with a JavaScript error passed";
  ASSERT_EQ(broken.value["figures"].size(), 2u);
  EXPECT_EQ(broken.value["figures"][0]["ink"], 0) << "a blank figure counted as drawn";
  EXPECT_GT(broken.value["figures"][0]["natural"].get<double>(), 0);
  EXPECT_EQ(broken.value["figures"][1]["natural"], 0) << "an undecodable figure counted as present";
  EXPECT_EQ(broken.requests, std::vector<std::string>{"http://example.invalid/logo.png"});
}

}  // namespace
}  // namespace rsplab::results
