// `rsplab run` end to end, as users run it: a small experiment on emulated multi-homed sites
// (network namespaces: label netns, needs root) into SQLite, answered with SQL alone; a
// malformed file stops with file:line:col before anything starts; a SIGKILLed runner leaves
// namespaces and processes behind that `rsplab cleanup` removes, and only those.
//
//   test ──ChildProcess──► rsplab run FILE -o DB ──► agents in namespaces ──► components
//   test ──sqlite3──► DB
//
// Every wait is bounded.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"

namespace {

using rsplab::test::ChildProcess;
using rsplab::test::run_shell;
using rsplab::test::shell_quote;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Two sites with two ISPs each, one registrar, PEs of two capacities, PUs at both sites;
// a busy PE killed and one ISP link cut for a while.
const char* kExperiment = R"(name: runtest
duration: 8s
warmup: 2s
seed: 7
sites:
  alpha: { isps: [red, blue] }
  beta:  { isps: [red, green] }
registrars:
  - { site: alpha, keepalive-interval: 1s, keepalive-timeout: 1s }
timers:
  pe: { cookie-max-time: 500ms }
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Calc:
    policy: $policy
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
      - { site: beta,  count: 2, capacity: 2e6 }
    pus:
      - { site: alpha, count: 4, job-size: exp:1e6, interval: exp:1s }
      - { site: beta,  count: 4, job-size: exp:1e6, interval: exp:1s }
faults:
  - { at: 5s, kill: { pool: Calc, count: 1 } }
  - { at: 6s, link-down: { site: beta, isp: green }, for: 1s }
sweep:
  policy: [lu, rr]
)";

// The namespaces there are, but for the short-lived probes that check whether namespaces
// work (`rsplab-probe-*`, made and deleted by any rsplab process at start).
std::set<std::string> namespaces() {
  const auto [status, out] = run_shell("ip netns list 2>/dev/null | cut -d' ' -f1");
  std::set<std::string> s;
  std::string line;
  for (char c : out) {
    if (c == '\n') {
      if (!line.empty() && line.rfind("rsplab-probe-", 0) != 0) s.insert(line);
      line.clear();
    } else {
      line.push_back(c);
    }
  }
  return s;
}

std::set<std::string> ours(const std::set<std::string>& all) {
  std::set<std::string> s;
  for (const auto& n : all)
    if (n.rfind("rsplab-", 0) == 0) s.insert(n);
  return s;
}

// Processes running our binary (ours: components and agents).
int rsplab_processes() {
  const auto [status, out] =
      run_shell("pgrep -c -f " + shell_quote(std::string(RSPLAB_BINARY) + " (agent|registrar|pe|pu)") +
                " || true");
  return std::atoi(out.c_str());
}

class Run : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rsplab-run-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ + "/runtest.yaml";
    std::ofstream(file_) << kExperiment;
  }
  void TearDown() override {
    if (!HasFailure()) run_shell("rm -rf " + shell_quote(dir_));
    else std::fprintf(stderr, "kept %s\n", dir_.c_str());
  }

  bool root_netns(std::string* why) {
    if (::geteuid() != 0) {
      *why = "needs root for network namespaces";
      return false;
    }
    const auto [st, out] = run_shell("ip netns add rsplab-probe-$$ && ip netns del rsplab-probe-$$");
    if (st != 0) {
      *why = "ip netns does not work here: " + out;
      return false;
    }
    return true;
  }

  // One value of a single-row SQL query.
  std::string sql(const std::string& db, const std::string& query) {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::string value;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    } else {
      ADD_FAILURE() << query << ": " << sqlite3_errmsg(h);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return value;
  }

  std::string dir_, file_;
};

TEST_F(Run, MalformedFileNamesLineAndColumnAndStartsNothing) {
  const std::string bad = dir_ + "/bad.yaml";
  std::string text = kExperiment;
  text.replace(text.find("capacity: 2e6"), 13, "capacity: 2ee6");
  std::ofstream(bad) << text;
  const auto before = ours(namespaces());
  ChildProcess p(RSPLAB_BINARY, {"run", bad, "-o", dir_ + "/bad.db"});
  const auto st = p.wait(30s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << ChildProcess::describe(*st);
  // capacity is on line 18 of the file.
  EXPECT_NE(p.stderr_text().find(bad + ":18:"), std::string::npos) << p.stderr_text();
  EXPECT_EQ(::access((dir_ + "/bad.db").c_str(), F_OK), -1) << "a database was created";
  EXPECT_EQ(ours(namespaces()), before);
}

TEST_F(Run, SmallExperimentOnNamespacesAnswersWithSql) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const std::string db = dir_ + "/results.db";
  ChildProcess::Options o;
  o.echo_stderr = true;
  ChildProcess p(RSPLAB_BINARY, {"run", file_, "-o", db}, o);
  const auto st = p.wait(120s);
  ASSERT_TRUE(st) << "rsplab run did not finish";
  std::string output;
  while (auto l = p.read_line(100ms)) output += *l + "\n";
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output;
  EXPECT_NE(output.find("all the PUs counted"), std::string::npos) << output;
  EXPECT_EQ(output.find("MISMATCH"), std::string::npos) << output;
  EXPECT_NE(output.find("results: " + db), std::string::npos) << output;

  // SQL alone: two completed runs, one per policy, on namespaces with both sites.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "2");
  EXPECT_EQ(sql(db, "SELECT group_concat(policy) FROM (SELECT policy FROM runs ORDER BY policy)"),
            "lu,rr");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT site) FROM components"), "2");
  // Components bound their site's addresses (198.18.0.0/15), not loopback.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE addresses LIKE '%127.%'"), "0");
  // Handle resolutions per policy.
  EXPECT_GT(std::stoi(sql(db, "SELECT min(n) FROM (SELECT count(*) AS n FROM handle_resolutions "
                              "JOIN runs ON runs.id = handle_resolutions.run_id GROUP BY policy)")),
            0);
  // The failovers of the killed PE, with detection delay and lost work.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'kill'"), "2");
  const auto failovers = sql(
      db,
      "SELECT count(*) FROM failovers f JOIN faults k ON k.run_id = f.run_id AND k.kind = 'kill' "
      "WHERE json_extract(k.details, '$.members[0].id') = f.from_pe "
      "AND f.detection_delay_us IS NOT NULL AND f.lost IS NOT NULL");
  EXPECT_EQ(failovers, sql(db, "SELECT count(*) FROM failovers"))
      << "every failover comes from the killed PEs";
  // The link fault was applied, with its interface.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind IN ('link_down', 'link_up') AND "
                    "json_extract(details, '$.interface') IS NOT NULL"),
            "4");
  // Handling speed per policy, over the measured window.
  EXPECT_GT(std::stod(sql(db, "SELECT min(handling_speed) FROM policy_summary")), 0);
  // Nothing left behind.
  EXPECT_EQ(namespaces(), before);
}

TEST_F(Run, CleanupRemovesWhatASigkilledRunLeftAndNothingElse) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const int processes_before = rsplab_processes();
  // A namespace of someone else's that cleanup must not touch.
  const std::string bystander = "rsplab-bystander-" + std::to_string(::getpid());
  ASSERT_EQ(run_shell("ip netns add " + bystander).first, 0);

  ChildProcess p(RSPLAB_BINARY, {"run", file_, "-o", dir_ + "/killed.db"});
  // Wait until its namespaces and components exist.
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    if (ours(namespaces()).size() > ours(before).size() + 1 && rsplab_processes() > processes_before + 3)
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GT(ours(namespaces()).size(), ours(before).size() + 1) << "the run never deployed";
  p.kill();
  p.wait(5s);
  std::this_thread::sleep_for(500ms);

  const auto [status, out] = run_shell(shell_quote(RSPLAB_BINARY) + " cleanup");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("removed netns"), std::string::npos) << out;
  auto after = namespaces();
  EXPECT_TRUE(after.count(bystander)) << "cleanup removed a namespace it did not create";
  after.erase(bystander);
  EXPECT_EQ(after, before) << out;
  // Processes die with their parents; give the last ones a moment.
  const auto until = Clock::now() + 5s;
  while (rsplab_processes() > processes_before && Clock::now() < until)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rsplab_processes(), processes_before);
  run_shell("ip netns del " + bystander);
}

TEST_F(Run, InterruptStopsCleanlyAndMarksTheRunInterrupted) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const std::string db = dir_ + "/interrupted.db";
  ChildProcess p(RSPLAB_BINARY, {"run", file_, "-o", db});
  // Interrupt once the first run's clock has started (its progress line says so).
  const auto line = p.read_line_until(
      [](const std::string& l) { return l.rfind("run 1/2", 0) == 0 && l.find(" 0s/") == std::string::npos; },
      60s);
  ASSERT_TRUE(line) << p.stderr_text();
  ASSERT_TRUE(p.signal(SIGINT));
  const auto st = p.wait(30s);
  ASSERT_TRUE(st) << "rsplab run did not stop after SIGINT";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130) << ChildProcess::describe(*st);
  EXPECT_EQ(sql(db, "SELECT group_concat(status) FROM runs"), "interrupted");
  EXPECT_EQ(namespaces(), before) << "namespaces left after an interrupted run";
}

}  // namespace
