// `rsplab run` end to end, as users run it: a small experiment on emulated multi-homed sites
// (network namespaces: label netns, needs root) into SQLite, answered with SQL alone; a
// malformed file stops with file:line:col before anything starts; a SIGKILLed runner leaves
// namespaces and processes behind that `rsplab cleanup` removes, and only those; a campaign
// SIGKILLed in its third run and run again into its database resumes.
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
#include <sstream>
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
  - { at: 7s, restart: { pool: Calc } }
sweep:
  policy: [lu, rr]
)";

// Four short runs (two policies x two repetitions) at one site, for resuming.
const char* kResumeExperiment = R"(name: resumetest
duration: 2s
warmup: 1s
repetitions: 2
seed: 11
sites:
  alpha: { isps: [red] }
registrars:
  - { site: alpha }
pools:
  Calc:
    policy: $policy
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
    pus:
      - { site: alpha, count: 2, job-size: exp:2e5, interval: exp:500ms }
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

  // One value of a query while a runner may be creating the file: nullopt on any error.
  static std::optional<std::string> peek(const std::string& db, const std::string& query) {
    if (::access(db.c_str(), F_OK) != 0) return std::nullopt;
    sqlite3* h = nullptr;
    std::optional<std::string> value;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(h, 1000);
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW)
        value = sqlite3_column_text(st, 0) ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
                                           : "";
      sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return value;
  }

  static std::string all_output(ChildProcess& p) {
    std::string output;
    while (auto l = p.read_line(100ms)) output += *l + "\n";
    return output;
  }

  std::string dir_, file_;
};

TEST_F(Run, MalformedFileNamesLineAndColumnAndStartsNothing) {
  const std::string bad = dir_ + "/bad.yaml";
  std::string text = kExperiment;
  text.replace(text.find("capacity: 2e6"), 13, "capacity: 2ee6");
  std::ofstream(bad) << text;
  ChildProcess p(RSPLAB_BINARY, {"run", bad, "-o", dir_ + "/bad.db"});
  const auto st = p.wait(30s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << ChildProcess::describe(*st);
  // capacity is on line 18 of the file.
  EXPECT_NE(p.stderr_text().find(bad + ":18:"), std::string::npos) << p.stderr_text();
  EXPECT_EQ(::access((dir_ + "/bad.db").c_str(), F_OK), -1) << "a database was created";
  std::string out;
  while (auto l = p.read_line(100ms)) out += *l + "\n";
  EXPECT_EQ(out.find("run 1"), std::string::npos) << "a run started:\n" << out;
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
  // The killed PE came back with a new identity and registered: 5 PEs per run.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'restart' AND "
                    "json_extract(details, '$.members[0].id') = "
                    "(SELECT json_extract(k.details, '$.members[0].id') FROM faults k "
                    " WHERE k.run_id = faults.run_id AND k.kind = 'kill')"),
            "2");
  EXPECT_EQ(sql(db, "SELECT min(n) || ',' || max(n) FROM (SELECT count(DISTINCT pe) AS n FROM "
                    "registrations WHERE kind = 'registration' GROUP BY run_id)"),
            "5,5");
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

// Resuming (issue 7): a campaign SIGKILLed in its third run and started again into the same
// database skips the two completed runs, saying so, reruns the killed one and runs the last:
// one completed row per key.
TEST_F(Run, RunAgainSkipsCompletedRunsAndRerunsTheOneKilledInTheThird) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const std::string file = dir_ + "/resume.yaml";
  std::ofstream(file) << kResumeExperiment;
  const std::string db = dir_ + "/resume.db";
  const auto before = namespaces();

  std::string first_output;
  pid_t first_pid = -1;
  {
    ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db});
    first_pid = p.pid();
    // The third run's clock has started once its row exists (rows are written at readiness).
    bool third = false;
    const auto deadline = Clock::now() + 90s;
    while (!third && Clock::now() < deadline && p.running()) {
      third = peek(db, "SELECT count(*) = 3 AND sum(status = 'completed') = 2 AND "
                       "sum(idx = 2 AND status = 'running') = 1 FROM runs") == "1";
      if (!third) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(third) << "the third run never started\n" << all_output(p) << p.stderr_text();
    ASSERT_TRUE(p.kill());
    ASSERT_TRUE(p.wait(5s));
    first_output = all_output(p);
  }
  EXPECT_EQ(sql(db, "SELECT group_concat(status) FROM (SELECT status FROM runs ORDER BY id)"),
            "completed,completed,running")
      << first_output;
  const auto [cleanup_status, cleanup_out] = run_shell(shell_quote(RSPLAB_BINARY) + " cleanup");
  EXPECT_EQ(cleanup_status, 0) << cleanup_out;
  EXPECT_EQ(run_shell("ls /run/rsplab/journal 2>/dev/null | grep -c '^" + std::to_string(first_pid) +
                      "-' || true").second,
            "0\n")
      << "the killed runner's journal is still there: " << cleanup_out;
  EXPECT_EQ(ours(namespaces()), ours(before)) << cleanup_out;

  // Again, into the same database.
  ChildProcess q(RSPLAB_BINARY, {"run", file, "-o", db});
  const auto st = q.wait(90s);
  ASSERT_TRUE(st) << "the resumed rsplab run did not finish";
  const std::string output = all_output(q);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output << q.stderr_text();
  std::printf("%s", output.c_str());  // what a user sees, kept in the test log
  EXPECT_NE(output.find(db + ": 1 run(s) left running by a runner that died: marked interrupted"),
            std::string::npos) << output;
  EXPECT_NE(output.find("resuming: 2 of 4 runs completed earlier in " + db +
                        ", 2 to run (1 interrupted/failed earlier: rerun)"),
            std::string::npos) << output;
  EXPECT_NE(output.find("run 1/4 policy=lu rep 0: skipped (completed earlier, key "),
            std::string::npos) << output;
  EXPECT_NE(output.find("run 2/4 policy=lu rep 1: skipped (completed earlier, key "),
            std::string::npos) << output;
  EXPECT_EQ(output.find("run 3/4 policy=rr rep 0: skipped"), std::string::npos) << output;
  EXPECT_NE(output.find("run 3/4 completed"), std::string::npos) << output;
  EXPECT_NE(output.find("run 4/4 completed"), std::string::npos) << output;
  EXPECT_EQ(output.find("run 1/4 completed"), std::string::npos) << output;

  // Exactly one completed row per key, for all four keys; the killed key has two rows.
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT key) FROM runs"), "4");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "4");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM (SELECT key FROM runs GROUP BY key "
                    "HAVING sum(status = 'completed') = 1)"),
            "4");
  EXPECT_EQ(sql(db, "SELECT group_concat(status || ':' || coalesce(reason, '-')) FROM "
                    "(SELECT status, reason FROM runs WHERE idx = 2 ORDER BY id)"),
            "interrupted:runner died,completed:-");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "5");
  // One campaign: the experiments row was kept, and its summary counts each key once.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM experiments"), "1");
  for (const char* policy : {"lu", "rr"}) {
    const auto at = output.find(std::string("\n") + policy + " ");
    ASSERT_NE(at, std::string::npos) << output;
    std::istringstream row(output.substr(at + 1));
    std::string name;
    int runs = 0;
    row >> name >> runs;
    EXPECT_EQ(runs, 2) << policy << " in the summary\n" << output;
  }
  EXPECT_EQ(namespaces(), before);

  // Once more: nothing left to run.
  ChildProcess r(RSPLAB_BINARY, {"run", file, "-o", db});
  const auto st2 = r.wait(30s);
  ASSERT_TRUE(st2);
  const std::string again = all_output(r);
  EXPECT_TRUE(WIFEXITED(*st2) && WEXITSTATUS(*st2) == 0) << ChildProcess::describe(*st2) << again;
  EXPECT_NE(again.find("resuming: 4 of 4 runs completed earlier in " + db + ", 0 to run\n"),
            std::string::npos) << again;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "5");
}

// Without namespaces (no root, or --loopback) the sites are loopback addresses; link faults
// are skipped and say so; the rest works the same.
TEST_F(Run, LoopbackSitesWhenNamespacesAreNotUsed) {
  std::string text = kExperiment;
  text.replace(text.find("duration: 8s"), 12, "duration: 5s");
  text.replace(text.find("  policy: [lu, rr]"), 18, "  policy: [lu]");
  const std::string file = dir_ + "/loopback.yaml";
  std::ofstream(file) << text;
  const std::string db = dir_ + "/loopback.db";
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db});
  const auto st = p.wait(60s);
  ASSERT_TRUE(st) << "rsplab run --loopback did not finish";
  std::string out;
  while (auto l = p.read_line(100ms)) out += *l + "\n";
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_NE(out.find("sites: loopback addresses"), std::string::npos) << out;
  EXPECT_NE(out.find("all the PUs counted"), std::string::npos) << out;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "1");
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed'")), 0);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'link_down' AND "
                    "json_extract(details, '$.skipped') IS NOT NULL"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE addresses NOT LIKE '%127.0.0.1%'"), "0");
}

}  // namespace
