// `rsplab run` end to end, as users run it: a small experiment on emulated multi-homed sites
// (network namespaces: label netns, needs root) into SQLite, answered with SQL alone; a
// malformed file stops with file:line:col before anything starts; a SIGKILLed runner leaves
// namespaces and processes behind that `rsplab cleanup` removes, and only those; every live
// PE stays registered after a link outage (issue 12); a campaign
// SIGKILLed in its third run and run again into its database resumes; --jobs 2 runs two runs
// at once (and resumes alike; a worker SIGKILLed leaves its run failed, the others go on);
// Ctrl-C while a run is deployed marks it interrupted naming the step, on loopback sites (no
// root), with --jobs 2, and on namespaces, which it removes (issue 14).
//
//   test ──ChildProcess──► rsplab run FILE -o DB ──► agents in namespaces ──► components
//   test ──sqlite3──► DB
//
// Every wait is bounded.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agents/ip.hpp"
#include "agents/netem.hpp"
#include "stack/common/split.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

namespace {

using rsplab::test::ChildProcess;
using rsplab::test::run_shell;
using rsplab::test::shell_quote;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Two sites with two ISPs each, one registrar, PEs of two capacities, PUs at both sites;
// a PE killed (drawn from the seed: the same member under both policies) and one ISP link
// cut for a while.
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

// Two runs whose PEs can never register: the registrar accepts no address narrower than
// global scope, and on loopback sites every address is 127.0.0.1. Each run waits in its
// deployment (up to 60 s) until it is interrupted.
const char* kStuckExperiment = R"(name: stucktest
duration: 2s
warmup: 1s
repetitions: 2
seed: 3
sites:
  alpha: { isps: [red] }
registrars:
  - { site: alpha, min-address-scope: global }
pools:
  Calc:
    policy: lu
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
    pus:
      - { site: alpha, count: 1, job-size: exp:2e5, interval: exp:500ms }
)";

// What a runner says once it waits for its PEs to register (the step of its progress line).
constexpr const char* kWaitingForPes = "deploying: waiting for the PEs to register";

// Issue 7, seeded fault schedules: every PE churns (up ~ Exp(4 s) from 1 s on, down 500 ms,
// back empty with a new identity; seed 1 makes four crashes before 6 s), the registrar is
// restarted on its ports, a link loses 20 % for a while and the sites are partitioned for a
// second.
const char* kChurnExperiment = R"(name: churntest
duration: 8s
warmup: 2s
seed: 1
sites:
  alpha: { isps: [red, blue] }
  beta:  { isps: [red, green] }
registrars:
  - { site: alpha, keepalive-interval: 1s, keepalive-timeout: 1s }
timers:
  pe: { cookie-max-time: 500ms, reregistration-interval: 1s }
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Calc:
    policy: lu
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
      - { site: beta,  count: 2, capacity: 2e6 }
    pus:
      - { site: alpha, count: 3, job-size: exp:5e5, interval: exp:1s }
      - { site: beta,  count: 3, job-size: exp:5e5, interval: exp:1s }
faults:
  - { churn: { pool: Calc, mtbf: 4s, downtime: 500ms, start: 1s, until: 6s } }
  - { at: 4s, restart: { registrar: pr0 } }
  - { at: 2s, loss: { site: beta, isp: green, percent: 20 }, for: 2s }
  - { at: 6.5s, partition: { sites: [alpha, beta] }, for: 1s }
)";

// Issue 12, part 1 (shortened): over the TCP mapping, beta's first ISP, which its PEs'
// registrar connections leave from, goes down while their re-registrations are in flight
// (one re-registration interval per PE, so that each meets the outage at another moment)
// and stays down past their response timeout: they give those connections up and register
// again over new ones once the link is back, at 21 s. An alpha PE is killed meanwhile. PUs'
// unreachable reports remove no PE here (that is issue 12's part 2: a PU whose own link is
// down blames the PEs): this test is about registrations.
const char* kLinkBackExperiment = R"(name: linkback
duration: 25s
warmup: 5s
repetitions: 2
seed: 12
transport: tcp
sites:
  alpha: { isps: [uninett, telenor] }
  beta:  { isps: [uninett, bkk] }
registrars:
  - { site: alpha, max-bad-pe-reports: 1000 }
pools:
  Calc:
    policy: rr
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
      - { site: beta, capacity: 3e6, reregistration-interval: 9500ms }
      - { site: beta, capacity: 3e6, reregistration-interval: 10s }
      - { site: beta, capacity: 3e6, reregistration-interval: 10500ms }
      - { site: beta, capacity: 3e6, reregistration-interval: 11s }
    pus:
      - { site: alpha, count: 4, job-size: exp:1e6, interval: exp:1s }
      - { site: beta,  count: 4, job-size: exp:1e6, interval: exp:1s }
faults:
  - { at: 9s, link-down: { site: beta, isp: uninett }, for: 12s }
  - { at: 12s, kill: { pool: Calc, site: alpha } }
)";

// The namespaces there are, but for the short-lived probes that check whether namespaces
// work (`rsplab-probe-*`, made and deleted by any rsplab process at start).
std::set<std::string> namespaces() {
  std::set<std::string> s;
  for (const std::string& line : rsplab::common::split(rsplab::agents::run_ip({"netns", "list"}).out, '\n')) {
    const std::string name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (!name.empty() && name.rfind("rsplab-probe-", 0) != 0) s.insert(name);
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

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
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
    const std::string probe = "rsplab-probe-" + std::to_string(::getpid());
    auto r = rsplab::agents::run_ip({"netns", "add", probe});
    if (r.ok()) r = rsplab::agents::run_ip({"netns", "del", probe});
    if (!r.ok()) {
      *why = "ip netns does not work here: " + r.err;
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

  // `rsplab run FILE -o DB` to its end, exit status 0 expected: its output.
  std::string run_ok(const std::string& file, const std::string& db,
                     std::chrono::seconds limit = 120s) {
    ChildProcess::Options o;
    o.echo_stderr = true;
    ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db}, o);
    const auto st = p.wait(limit);
    EXPECT_TRUE(st) << "rsplab run did not finish";
    const std::string output = all_output(p);
    EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << (st ? ChildProcess::describe(*st) : "") << "\n" << output;
    return output;
  }

  // Waits (bounded) until no more of our processes run than `before`: what a runner started
  // dies with it or is stopped by it. Exactly as many: the tests that call it run alone
  // (RUN_SERIAL, tests/integration/CMakeLists.txt).
  static void expect_processes_gone(int before) {
    const auto until = Clock::now() + 5s;
    while (rsplab_processes() > before && Clock::now() < until) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(rsplab_processes(), before);
  }

  std::string dir_, file_;
};

// Issue 12: `rsplab plan --faults` shows how each kill/stop/restart chooses its members and
// how many; the kill's members, drawn from the seed, are the same under both policies.
TEST_F(Run, PlanFaultsShowsTheChoiceTheCountAndTheSameMembersForEveryPolicy) {
  ChildProcess p(RSPLAB_BINARY, {"plan", file_, "--faults"});
  const auto st = p.wait(30s);
  ASSERT_TRUE(st);
  const std::string out = all_output(p);
  // 0, or 1 on a machine that could not run it (no namespaces): the plan is printed anyway.
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) <= 1) << ChildProcess::describe(*st) << out;
  std::vector<std::string> kills;
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);)
    if (l.find(" kill ") != std::string::npos) kills.push_back(l);
  ASSERT_EQ(kills.size(), 2u) << out;
  EXPECT_NE(kills[0].find("5.000s kill Calc x1 (random: Calc/pe"), std::string::npos) << out;
  EXPECT_EQ(kills[0], kills[1]) << "lu and rr lose the same member";
  EXPECT_NE(out.find("7.000s restart Calc x1 (busiest)"), std::string::npos) << out;
}

// A file that shapes links needs netem: `rsplab plan` says whether this machine has it, and
// refuses the file where the kernel lacks it (as it refuses transport sctp without SCTP).
TEST_F(Run, PlanRefusesLinksWithoutNetem) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  std::string text = kExperiment;
  text.insert(text.find("registrars:"), "links:\n  - { site: alpha, isp: red, delay: 25ms }\n");
  const std::string file = dir_ + "/links.yaml";
  std::ofstream(file) << text;
  ChildProcess p(RSPLAB_BINARY, {"plan", file});
  const auto st = p.wait(30s);
  ASSERT_TRUE(st);
  const std::string out = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st)) << ChildProcess::describe(*st);
  if (rsplab::agents::netem_available(&why)) {
    EXPECT_NE(out.find("; netem yes"), std::string::npos) << out;
    EXPECT_EQ(WEXITSTATUS(*st), 0) << p.stderr_text();
  } else {
    EXPECT_NE(out.find("; netem no"), std::string::npos) << out;
    EXPECT_EQ(WEXITSTATUS(*st), 1) << p.stderr_text();
    EXPECT_NE(p.stderr_text().find("error: the experiment shapes links (links:, delay or rate "
                                   "faults), and this kernel has no netem"),
              std::string::npos)
        << p.stderr_text();
  }
}

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
  // Both policies lost the same member (select: random, drawn from the repetition's seed).
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT json_extract(details, '$.members[0].component') || '#' ||"
                    " json_extract(details, '$.members[0].member')) || ' ' || min(json_extract(details, '$.select'))"
                    " FROM faults WHERE kind = 'kill'"),
            "1 random");
  const auto failovers = sql(
      db,
      "SELECT count(*) FROM failovers f JOIN faults k ON k.run_id = f.run_id AND k.kind = 'kill' "
      "WHERE json_extract(k.details, '$.members[0].id') = f.from_pe "
      "AND f.detection_delay_us IS NOT NULL AND f.lost IS NOT NULL");
  EXPECT_EQ(failovers, sql(db, "SELECT count(*) FROM failovers"))
      << "every failover comes from the killed PEs";
  // Issue 12: the PE member, killed inside its process, wrote its jobs' progress; every
  // failover away from it whose job it had gets the exact loss (progress at the kill −
  // where the job resumed), never below the PU's lower bound, and the kill as its fault.
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM pe_progress WHERE cause = 'killed'")), 0);
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM failovers WHERE lost_exact IS NOT NULL")), 0)
      << "no failover with an exact loss";
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers f JOIN pe_progress p"
                    " ON p.run_id = f.run_id AND p.pe = f.from_pe AND p.job = f.job"
                    " AND p.pu_port = f.local_port"
                    " WHERE f.lost_exact IS NOT NULL AND f.lost_exact = p.completed - coalesce(f.resumed, 0)"
                    " AND f.lost_exact >= f.lost"),
            sql(db, "SELECT count(*) FROM failovers f WHERE EXISTS (SELECT 1 FROM pe_progress p"
                    " WHERE p.run_id = f.run_id AND p.pe = f.from_pe AND p.job = f.job"
                    " AND p.pu_port = f.local_port)"))
      << sql(db, "SELECT group_concat(job || ':' || coalesce(lost_exact, 'NULL') || '/' || lost, ' ')"
                 " FROM failovers");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers f JOIN faults k ON k.id = f.fault_id"
                    " WHERE k.kind = 'kill' AND f.fault_to_detection_us = f.detected_us - k.at_us"
                    " AND f.fault_to_detection_us >= 0"),
            sql(db, "SELECT count(*) FROM failovers"))
      << "every failover is linked to the kill";
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
  // Each run's checks are stored with it; the faults explain the capacity that was missing.
  EXPECT_EQ(sql(db, "SELECT group_concat(name || ':' || status) FROM (SELECT name, status FROM "
                    "run_checks ORDER BY run_id, name)"),
            "event_counts:ok,registered_capacity:ok,event_counts:ok,registered_capacity:ok")
      << output;
  EXPECT_EQ(occurrences(output, "  check registered capacity: ok, "), 2u) << output;
  // The PEs' side of their registrations: every PE the registrar registered says so too.
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT run_id || pe) FROM registrations WHERE kind = 'registration'"),
            sql(db, "SELECT count(DISTINCT e.run_id || e.pe) FROM pe_events e WHERE e.kind = 'registered'"
                    " AND EXISTS (SELECT 1 FROM registrations g WHERE g.run_id = e.run_id"
                    " AND g.pe = e.pe AND g.kind = 'registration')"));
  // What each run cost (issue 16): a processes row per component process, measured by its
  // agent when it exited; a PU group's members are its PUs; the run's row is what the
  // closing lines printed.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM processes WHERE exited = 1 AND max_rss_kib > 0 AND cpu_s >= 0"),
            sql(db, "SELECT count(*) FROM processes"));
  EXPECT_EQ(sql(db, "SELECT group_concat(role || ':' || n) FROM (SELECT role, count(DISTINCT run_id) AS n"
                    " FROM processes GROUP BY role ORDER BY role)"),
            "pe:2,pu:2,registrar:2");
  EXPECT_EQ(sql(db, "SELECT group_concat(n) FROM (SELECT sum(members) AS n FROM processes"
                    " WHERE role = 'pu' GROUP BY run_id ORDER BY run_id)"),
            sql(db, "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM components"
                    " WHERE role = 'pu' GROUP BY run_id ORDER BY run_id)"));
  EXPECT_EQ(sql(db, "SELECT count(*) FROM run_resources WHERE deploy_s > 0 AND events_per_s > 0"
                    " AND runner_max_rss_kib > 0 AND runner_cpu_s > 0"),
            "2");
  for (const std::string& n :
       {sql(db, "SELECT events_stored FROM run_resources ORDER BY run_id LIMIT 1"),
        sql(db, "SELECT events_stored FROM run_resources ORDER BY run_id DESC LIMIT 1")})
    EXPECT_NE(output.find(" s; " + n + " events stored ("), std::string::npos) << n << "\n" << output;
  // Nothing left behind.
  EXPECT_EQ(namespaces(), before);
}

TEST_F(Run, ChurnScheduleRegistrarRestartLossAndPartitionAreRowsAndJobsGoOn) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const std::string file = dir_ + "/churn.yaml";
  std::ofstream(file) << kChurnExperiment;
  const std::string db = dir_ + "/churn.db";
  ChildProcess::Options o;
  o.echo_stderr = true;
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db}, o);
  const auto st = p.wait(90s);
  ASSERT_TRUE(st) << "rsplab run did not finish";
  const std::string output = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output;
  std::printf("%s", output.c_str());  // the fault lines, kept in the test log
  EXPECT_NE(output.find("all the PUs counted"), std::string::npos) << output;
  EXPECT_NE(output.find(" restart pr0 (asap "), std::string::npos) << output;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "1");

  // Every fault of the run's definition is a row, and so is the undo of each one with `for`.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults"),
            sql(db, "SELECT count(*) + sum(json_extract(value, '$.for') IS NOT NULL) "
                    "FROM runs, json_each(runs.resolved, '$.faults')"));
  // The churn's faults, drawn when the plan was made: one row each, each at its member.
  const std::string churn = sql(db, "SELECT count(*) FROM runs, json_each(runs.resolved, '$.faults') "
                                    "WHERE json_extract(value, '$.schedule') = 0");
  EXPECT_GE(std::stoi(churn), 7) << "seed 1: four crashes before 6 s, their restarts";
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE json_extract(details, '$.schedule') = 0"),
            churn);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE json_extract(details, '$.schedule') = 0 "
                    "AND (kind NOT IN ('kill', 'restart') OR json_extract(details, '$.skipped') "
                    "IS NOT NULL OR json_extract(details, '$.members[0].member') IS NULL)"),
            "0");
  // Each applied when scheduled (and not before), with both times in the row.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE json_extract(details, '$.scheduled_us') "
                    "IS NULL OR at_us < json_extract(details, '$.scheduled_us') "
                    "OR at_us > json_extract(details, '$.scheduled_us') + 2000000"),
            "0");
  // The crashed PEs came back with new identities (a components row each), and every
  // identity registered.
  const int restarts = std::stoi(sql(db, "SELECT count(*) FROM faults WHERE kind = 'restart' "
                                         "AND json_extract(details, '$.schedule') = 0"));
  EXPECT_GE(restarts, 3);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE role = 'pe'"), std::to_string(4 + restarts));
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT pe) FROM registrations WHERE kind = 'registration'"),
            std::to_string(4 + restarts));
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE role = 'pe' AND name NOT LIKE 'Calc/pe_#_'"),
            "0") << "every identity is named after its member";
  // The registrar came back on its ports under a new id (a second row); the PEs found it.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE role = 'registrar'"), "2");
  EXPECT_EQ(sql(db, "SELECT json_extract(details, '$.error') IS NULL AND "
                    "json_extract(details, '$.asap') IS NOT NULL FROM faults WHERE target = 'pr0'"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT r.pe) >= 4 FROM registrations r JOIN components c "
                    "ON c.id = r.component_id WHERE c.role = 'registrar' AND c.identity != "
                    "(SELECT json_extract(details, '$.previous_id') FROM faults WHERE target = 'pr0')"),
            "1");
  // Jobs went on: after the registrar's restart, and on the PEs that came back.
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed' AND "
                              "completed_us > (SELECT at_us FROM faults WHERE target = 'pr0')")),
            0);
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed' AND pe IN "
                              "(SELECT identity FROM components WHERE role = 'pe' AND id NOT IN "
                              "(SELECT id FROM components WHERE role = 'pe' ORDER BY id LIMIT 4))")),
            0);
  // Loss and partition applied and undone, in order, without errors.
  EXPECT_EQ(sql(db, "SELECT group_concat(kind) FROM (SELECT kind FROM faults WHERE kind LIKE "
                    "'loss%' OR kind LIKE 'partition%' ORDER BY at_us)"),
            "loss,loss_end,partition,partition_end");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE json_extract(details, '$.error') IS NOT NULL "
                    "OR json_extract(details, '$.skipped') IS NOT NULL"),
            "0");
  EXPECT_EQ(sql(db, "SELECT json_extract(details, '$.percent') || ' ' || json_extract(details, "
                    "'$.interface') FROM faults WHERE kind = 'loss'"),
            "20.0 isp3");
  // Nothing of this runner's left (its namespaces are tagged with its pid: other runners
  // may be at work on this machine meanwhile).
  char tag[32];
  std::snprintf(tag, sizeof tag, "rsplab-%04x", static_cast<unsigned>(p.pid()) & 0xffffu);
  for (const auto& n : namespaces())
    EXPECT_TRUE(before.count(n) || n.rfind(tag, 0) != 0) << n << " left behind";
}

// Issue 12, part 1: no PE vanishes from its pool after a link comes back. Before the fix a
// PE's re-registration sent over its old connection during the outage reached the
// registrar after the PE had registered again over a new one, took the PE over to the old
// connection, and that connection's close then removed it: 4 of 6 PEs gone for the rest of
// the run, their processes alive. Read from the registrar's own events (`registrations`).
TEST_F(Run, LinkBackKeepsEveryLivePeRegistered) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const std::string file = dir_ + "/linkback.yaml";
  std::ofstream(file) << kLinkBackExperiment;
  const std::string db = dir_ + "/linkback.db";
  ChildProcess::Options o;
  o.echo_stderr = true;
  // The two repetitions side by side (each in its own namespaces, on its own clock): the
  // test's 30 s rather than a minute.
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--jobs", "2"}, o);
  const auto st = p.wait(150s);
  ASSERT_TRUE(st) << "rsplab run did not finish";
  const std::string output = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output;
  ASSERT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "2");
  ASSERT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'link_up' AND at_us < 22000000"),
            "2");
  // What the registrar did from 1 s before the link came back until 1 s before the end.
  const std::string rows = sql(
      db, "SELECT group_concat(run_id || ' ' || round(time_us / 1e6, 3) || ' ' || kind || ' ' || "
          "pe || ' conn ' || ifnull(conn, '-') || ' ' || ifnull(reason, ''), char(10)) FROM "
          "(SELECT * FROM registrations WHERE time_us BETWEEN 20000000 AND 29000000 "
          "ORDER BY run_id, time_us)");
  // The killed PE per run.
  const std::string killed = "(SELECT json_extract(k.details, '$.members[0].id') FROM faults k "
                             "WHERE k.run_id = registrations.run_id AND k.kind = 'kill')";
  // No live PE left the pool after the link came back ...
  EXPECT_EQ(sql(db, "SELECT count(*) FROM registrations WHERE kind = 'deregistration' AND "
                    "time_us BETWEEN 21000000 AND 29000000 AND pe IS NOT " + killed),
            "0")
      << rows;
  // ... and 1 s before the end each run's pool holds every PE but the killed one: the
  // registrar's last word on each of the other five is a registration.
  EXPECT_EQ(sql(db, "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM (SELECT run_id, pe, "
                    "(SELECT kind FROM registrations x WHERE x.run_id = registrations.run_id AND "
                    "x.pe = registrations.pe AND x.time_us <= 29000000 ORDER BY x.time_us DESC, "
                    "x.id DESC LIMIT 1) AS last FROM registrations WHERE pe IS NOT " + killed +
                    " GROUP BY run_id, pe) WHERE last != 'deregistration' GROUP BY run_id "
                    "ORDER BY run_id)"),
            "5,5")
      << rows;
  // The run's own health check agrees: the link fault and the kill explain every gap in the
  // registered capacity (before the fix it warned about the PEs lost after the link's return).
  EXPECT_EQ(sql(db, "SELECT group_concat(status) FROM run_checks WHERE name = "
                    "'registered_capacity' GROUP BY name"),
            "ok,ok")
      << output;
  EXPECT_EQ(output.find("WARNING"), std::string::npos) << output;
  EXPECT_EQ(namespaces(), before);
}

TEST_F(Run, CleanupRemovesWhatASigkilledRunLeftAndNothingElse) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  const int processes_before = rsplab_processes();
  // A namespace of someone else's that cleanup must not touch.
  const std::string bystander = "rsplab-bystander-" + std::to_string(::getpid());
  ASSERT_EQ(rsplab::agents::run_ip({"netns", "add", bystander}).status, 0);

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
  rsplab::agents::run_ip({"netns", "del", bystander});
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

// ---- --jobs N (issue 7) -------------------------------------------------------------------

// Runs one statement that changes the database (the test's own edits).
void change(const std::string& db, const std::string& statement) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << statement << ": " << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(h);
}

// Four short runs, two at a time: every run completed once, with its events; two of them
// overlapped in time (their runs rows say so); every line of a worker is whole and names
// its run; the summary comes once, at the end.
TEST_F(Run, JobsTwoRunsSideBySide) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const std::string file = dir_ + "/jobs.yaml";
  std::ofstream(file) << kResumeExperiment;
  const std::string db = dir_ + "/jobs.db";
  const auto before = namespaces();
  const auto started = Clock::now();
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--jobs", "2"});
  const auto st = p.wait(90s);
  ASSERT_TRUE(st) << "rsplab run --jobs 2 did not finish";
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string output = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output << p.stderr_text();
  std::printf("%s", output.c_str());

  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "4");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT key) FROM runs WHERE status = 'completed'"), "4");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM experiments"), "1");
  // Each run has its own events: handle resolutions and jobs.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE "
                    "(SELECT count(*) FROM handle_resolutions h WHERE h.run_id = runs.id) > 0 AND "
                    "(SELECT count(*) FROM jobs j WHERE j.run_id = runs.id) > 0"),
            "4");
  // At some moment two runs were running at once.
  EXPECT_NE(sql(db, "SELECT count(*) FROM runs a JOIN runs b ON a.id < b.id "
                    "WHERE a.start_unix_us < b.end_unix_us AND b.start_unix_us < a.end_unix_us"),
            "0")
      << "no two runs overlapped";
  const double measured = std::stod(sql(db, "SELECT sum(end_unix_us - start_unix_us) FROM runs")) / 1e6;
  std::printf("--jobs 2: 4 runs in %.1f s wall time; their measured windows sum to %.1f s\n", wall,
              measured);

  for (int i = 1; i <= 4; ++i)
    EXPECT_EQ(occurrences(output, "\nrun " + std::to_string(i) + "/4 completed: "), 1u) << output;
  // A plain run's checks: stored with it, ok, printed below its completion line.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM run_checks WHERE status = 'ok' AND "
                    "name IN ('event_counts', 'registered_capacity')"),
            "8");
  EXPECT_EQ(sql(db, "SELECT min(value) FROM run_checks WHERE name = 'registered_capacity'"), "1.0");
  EXPECT_EQ(occurrences(output, "check registered capacity: ok, 100.0 % of the deployed "
                                "capacity registered over the window\n"),
            4u) << output;
  EXPECT_EQ(output.find("WARNING"), std::string::npos) << output;
  EXPECT_EQ(occurrences(output, "handling speed (calc/s)"), 1u) << output;
  EXPECT_EQ(occurrences(output, "results: " + db + "\n"), 1u) << output;
  EXPECT_EQ(output.find('\r'), std::string::npos) << "a progress line updated in place";
  // The workers' lines are whole and say which run they belong to.
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("jobs completed (warm-up included)") != std::string::npos ||
        line.find("check registered capacity") != std::string::npos ||
        line.find("deployed in") != std::string::npos || line.find("peak RSS") != std::string::npos) {
      EXPECT_EQ(line.rfind("run ", 0), 0u) << line;
    }
  }
  const auto summary = output.find("side by side: 4 run(s) in ");
  EXPECT_NE(summary, std::string::npos) << output;
  EXPECT_LT(summary, output.find("handling speed (calc/s)")) << output;
  EXPECT_EQ(namespaces(), before);
}

// Resuming with --jobs 2: the keys completed earlier are skipped (said so), the others run,
// side by side; one completed row per key, one experiments row.
TEST_F(Run, JobsTwoSkipsCompletedKeys) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const std::string file = dir_ + "/jobs.yaml";
  std::ofstream(file) << kResumeExperiment;
  const std::string db = dir_ + "/jobs.db";
  {
    ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--jobs", "2"});
    const auto st = p.wait(90s);
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << all_output(p) << p.stderr_text();
  }
  // As if runs 1 and 3 had failed.
  change(db, "UPDATE runs SET status = 'failed', reason = 'test' WHERE idx IN (0, 2)");

  ChildProcess q(RSPLAB_BINARY, {"run", file, "-o", db, "--jobs", "2"});
  const auto st = q.wait(90s);
  ASSERT_TRUE(st) << "the resumed rsplab run --jobs 2 did not finish";
  const std::string output = all_output(q);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << output << q.stderr_text();
  std::printf("%s", output.c_str());
  EXPECT_NE(output.find("resuming: 2 of 4 runs completed earlier in " + db +
                        ", 2 to run (2 interrupted/failed earlier: rerun)"),
            std::string::npos) << output;
  EXPECT_NE(output.find("run 2/4 policy=lu rep 1: skipped (completed earlier, key "),
            std::string::npos) << output;
  EXPECT_NE(output.find("run 4/4 policy=rr rep 1: skipped (completed earlier, key "),
            std::string::npos) << output;
  EXPECT_NE(output.find("run 1/4 completed"), std::string::npos) << output;
  EXPECT_NE(output.find("run 3/4 completed"), std::string::npos) << output;
  EXPECT_EQ(output.find("run 2/4 completed"), std::string::npos) << output;
  EXPECT_EQ(output.find("run 4/4 completed"), std::string::npos) << output;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM (SELECT key FROM runs GROUP BY key "
                    "HAVING sum(status = 'completed') = 1)"),
            "4");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "6");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM experiments"), "1");
  EXPECT_EQ(occurrences(output, "handling speed (calc/s)"), 1u) << output;
  for (const char* policy : {"lu", "rr"}) {
    const auto at = output.find(std::string("\n") + policy + " ");
    ASSERT_NE(at, std::string::npos) << output;
    std::istringstream row(output.substr(at + 1));
    std::string name;
    int runs = 0;
    row >> name >> runs;
    EXPECT_EQ(runs, 2) << policy << " in the summary\n" << output;
  }
}

// A worker SIGKILLed in its run: the parent marks that run failed with the reason, removes
// what the worker left (namespaces, processes), lets the other run complete and exits 1.
TEST_F(Run, JobsTwoWorkerKilledItsRunFailsTheOtherCompletes) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  std::string text = kResumeExperiment;
  text.replace(text.find("repetitions: 2"), 14, "repetitions: 1");
  const std::string file = dir_ + "/jobs.yaml";
  std::ofstream(file) << text;
  const std::string db = dir_ + "/jobs.db";
  const auto before = namespaces();
  const int processes_before = rsplab_processes();
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--jobs", "2"});
  bool both = false;
  const auto deadline = Clock::now() + 60s;
  while (!both && Clock::now() < deadline && p.running()) {
    both = peek(db, "SELECT count(*) FROM runs WHERE status = 'running'") == "2";
    if (!both) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(both) << "the two runs never ran at once\n" << all_output(p) << p.stderr_text();
  // The workers are the runner's children (the agents are theirs).
  const auto [status, children] = run_shell("pgrep -P " + std::to_string(p.pid()));
  const int worker = std::atoi(children.c_str());
  ASSERT_GT(worker, 0) << children;
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  const auto st = p.wait(60s);
  ASSERT_TRUE(st) << "rsplab run --jobs 2 did not finish";
  const std::string output = all_output(p);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 1) << ChildProcess::describe(*st) << "\n"
                                                       << output << p.stderr_text();
  const std::string reason = "its worker (pid " + std::to_string(worker) +
                             ") ended before the run: killed by signal 9";
  EXPECT_NE(p.stderr_text().find(reason), std::string::npos) << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT group_concat(status) FROM (SELECT status FROM runs ORDER BY status)"),
            "completed,failed");
  EXPECT_EQ(sql(db, "SELECT reason LIKE '" + reason + "%' FROM runs WHERE status = 'failed'"), "1");
  EXPECT_EQ(occurrences(output, "handling speed (calc/s)"), 1u) << output;
  EXPECT_EQ(namespaces(), before) << output;
  const auto until = Clock::now() + 5s;
  while (rsplab_processes() > processes_before && Clock::now() < until)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rsplab_processes(), processes_before);
}

// Without namespaces (no root, or --loopback) the sites are loopback addresses; link faults
// are skipped and say so; the rest works the same.
TEST_F(Run, LoopbackSitesWhenNamespacesAreNotUsed) {
  std::string text = kExperiment;
  text.replace(text.find("duration: 8s"), 12, "duration: 5s");
  text.replace(text.find("  policy: [lu, rr]"), 18, "  policy: [lu]");
  // Loss and partitions need links too; a registrar restarts on loopback as anywhere.
  text.replace(text.find("sweep:"), 0,
               "  - { at: 3s, loss: { site: beta, isp: green, percent: 10 }, for: 1s }\n"
               "  - { at: 3s, partition: { sites: [alpha, beta] } }\n"
               "  - { at: 4s, restart: { registrar: pr0 } }\n");
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
  EXPECT_EQ(sql(db, "SELECT group_concat(kind) FROM (SELECT kind FROM faults WHERE "
                    "json_extract(details, '$.skipped') IS NOT NULL AND (kind LIKE 'loss%' OR "
                    "kind LIKE 'partition%') ORDER BY kind)"),
            "loss,loss_end,partition");
  EXPECT_EQ(sql(db, "SELECT json_extract(details, '$.asap') LIKE '127.0.0.1:%' AND "
                    "json_extract(details, '$.error') IS NULL FROM faults WHERE target = 'pr0'"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM components WHERE addresses NOT LIKE '%127.0.0.1%'"), "0");
}


// Issue 15: three registrars under ENRP on loopback sites. pr0 is killed with SIGKILL (its
// PEs' connections break: they register at pr1, the next of their list), then pr1 freezes
// (SIGSTOP: its connections stay up, only an ENRP takeover can move its PEs): pr2 takes it
// over and each PE re-homes on pr2's Endpoint Keep-Alive with the H flag. The PUs ask pr2
// and go on: no PE lost, no failover, jobs completed to the end, every live PE registered
// somewhere all along.
const char* kRegistrarsExperiment = R"(name: registrarstest
duration: 8s
warmup: 2s
seed: 5
sites:
  alpha: { isps: [red] }
registrars:
  - { site: alpha }
  - { site: alpha }
  - { site: alpha }
timers:
  registrar: { keepalive-interval: 1s, keepalive-timeout: 1s, peer-heartbeat-interval: 200ms,
               peer-max-time-last-heard: 500ms, peer-max-time-no-response: 500ms,
               takeover-expiry: 500ms, mentor-discovery-timeout: 200ms }
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Calc:
    policy: lu
    pes:
      - { site: alpha, count: 4, capacity: 1e6, registrars: 'pr0,pr1,pr2' }
    pus:
      - { site: alpha, count: 4, job-size: exp:5e5, interval: exp:1s, registrars: pr2 }
faults:
  - { at: 3s, kill: { registrar: pr0 } }
  - { at: 5s, stop: { registrar: pr1 } }
)";

TEST_F(Run, LoopbackRegistrarKilledAndFrozenPesReHomedPusGoOn) {
  const std::string file = dir_ + "/registrars.yaml";
  std::ofstream(file) << kRegistrarsExperiment;
  const std::string db = dir_ + "/registrars.db";
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db});
  const auto st = p.wait(90s);
  ASSERT_TRUE(st) << "rsplab run --loopback did not finish";
  const std::string out = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  ASSERT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "1");
  const std::string pr1 = "(SELECT identity FROM components WHERE name = 'pr1')";
  const std::string actions =
      sql(db, "SELECT group_concat(c.name || ' ' || round(a.time_us / 1e6, 2) || ' ' || a.kind, "
              "char(10)) FROM registrar_actions a JOIN components c ON c.id = a.component_id "
              "WHERE a.kind IN ('peer_up', 'peer_down', 'serving', 'takeover_started', "
              "'takeover', 'pe_adopted', 'handle_table_sync')");
  // The PEs moved to pr1 when pr0 died (by registering there), then pr2 took pr1 over.
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT pe) FROM registrations r JOIN components c ON "
                    "c.id = r.component_id WHERE c.name = 'pr1' AND r.kind != 'deregistration' "
                    "AND r.time_us BETWEEN 3000000 AND 5000000"),
            "4")
      << actions;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM enrp_takeovers WHERE target = " + pr1 +
                    " AND outcome IN ('completed', 'recovered')"),
            "1")
      << actions;
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT pe) || ' ' || min(c.name) FROM pe_adoptions a JOIN "
                    "components c ON c.id = a.component_id WHERE a.from_registrar = " + pr1),
            "4 pr2")
      << actions;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM pe_events WHERE kind = 'home_changed' AND "
                    "json_extract(event, '$.server_id') = (SELECT identity FROM components "
                    "WHERE name = 'pr2')"),
            "4")
      << actions;
  // The PUs went on: no failover, jobs completed after the takeover too.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers"), "0");
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed' AND "
                              "completed_us > 7000000")),
            0);
  EXPECT_EQ(sql(db, "SELECT status FROM run_checks WHERE name = 'registered_capacity'"), "ok")
      << out;
  EXPECT_EQ(out.find("WARNING"), std::string::npos) << out;
}


// `registrars: announce`: the PEs get no registrar list; every registrar announces itself
// by ASAP multicast (on loopback sites all of them are heard) and each PE registers at one.
TEST_F(Run, LoopbackPesLearnTheirRegistrarsFromAnnounces) {
  const std::string file = dir_ + "/announce.yaml";
  std::ofstream(file) << "name: announcetest\nduration: 2s\nwarmup: 1s\nseed: 3\n"
                         "sites:\n  alpha: { isps: [red] }\n"
                         "registrars:\n  - { site: alpha }\n  - { site: alpha }\n"
                         "pools:\n  Calc:\n    pes:\n"
                         "      - { site: alpha, count: 3, capacity: 1e6, registrars: announce }\n"
                         "    pus:\n"
                         "      - { site: alpha, count: 2, job-size: exp:2e5, interval: exp:500ms }\n";
  const std::string db = dir_ + "/announce.db";
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db});
  const auto st = p.wait(60s);
  ASSERT_TRUE(st) << "rsplab run --loopback did not finish";
  const std::string out = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT pe) FROM registrations WHERE kind = 'registration'"),
            "3");
  // Each PE member learnt both registrars from their announces.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM pe_events WHERE kind = 'registrar_learnt'"), "6");
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed'")), 0);
  EXPECT_EQ(sql(db, "SELECT status FROM run_checks WHERE name = 'registered_capacity'"), "ok")
      << out;
}

// An echo pool in an experiment (`service: echo` per group, issue 14) on loopback sites: the
// runner starts `rsplab pe/pu --service echo` (a CalcApp `timers:` default does not reach
// them), kills one PE member; the series on it fails over and resumes from the cookie (every
// 3 replies), and the store has each PU's series (echo_series) and the failovers, whose
// lost replies are the series' duplicates.
TEST_F(Run, LoopbackEchoPoolFailsOverAndStoresItsSeries) {
  const std::string file = dir_ + "/echo.yaml";
  std::ofstream(file) << R"(name: echotest
duration: 4s
warmup: 1s
seed: 5
sites:
  alpha: { isps: [red] }
registrars:
  - { site: alpha, keepalive-interval: 1s, keepalive-timeout: 1s }
timers:
  pe: { cookie-max-time: 500ms }
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Echo:
    policy: rr
    pes:
      - { site: alpha, count: 2, service: echo, cookie-every: 3 }
    pus:
      - { site: alpha, count: 2, service: echo, ping-interval: 50ms }
faults:
  - { at: 3s, kill: { pool: Echo, count: 1 } }
)";
  const std::string db = dir_ + "/echo.db";
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db});
  const auto st = p.wait(60s);
  ASSERT_TRUE(st) << "rsplab run --loopback did not finish";
  const std::string out = all_output(p);
  std::printf("%s", out.c_str());  // what a user sees, kept in the test log
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM malformed_events"), "0");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM pe_events WHERE kind = 'ready' AND"
                    " json_extract(event, '$.service') = 'echo' AND"
                    " json_extract(event, '$.cookie_every') = 3"),
            "2");
  // Each PU member's series ran to the end of the run, about 100 PINGs.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM echo_series WHERE reason = 'stop' AND replies > 20"),
            "2");
  // Round robin put the two series on the two PEs: the killed one's series failed over.
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers WHERE job = 1 AND cookie = 1 AND"
                    " to_pe IS NOT NULL AND to_pe <> from_pe AND resumed % 3 = 0 AND lost < 3"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers"), "1");
  EXPECT_EQ(sql(db, "SELECT (SELECT sum(duplicates) FROM echo_series) ="
                    " (SELECT sum(lost) FROM failovers)"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM pe_events WHERE kind = 'echo_resumed' AND"
                    " json_extract(event, '$.replies') = (SELECT resumed FROM failovers)"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM jobs"), "0");
  // What the run printed says what the series did (not "0 jobs completed"), with the
  // database's numbers, and the closing table has the echo columns.
  const std::string trips = sql(db, "SELECT sum(answers) FROM echo_series");
  EXPECT_NE(out.find("completed: 2 echo series (2 ended): " + trips + " round trips"),
            std::string::npos) << out;
  EXPECT_EQ(out.find("0 jobs completed"), std::string::npos) << out;
  EXPECT_NE(out.find("echo series  round trips"), std::string::npos) << out;
}

// Issue 14: Ctrl-C while a run is being deployed (its PEs are not all registered: the run's
// clock has not started) marks it interrupted, not failed, with the signal and the step as
// its reason; the campaign exits 130, starts no further run and leaves nothing running.
TEST_F(Run, LoopbackInterruptWhileDeployingMarksTheRunInterruptedNamingTheStep) {
  const std::string file = dir_ + "/stuck.yaml";
  std::ofstream(file) << kStuckExperiment;
  const std::string db = dir_ + "/stuck.db";
  const int processes_before = rsplab_processes();
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db});
  // Its PEs cannot register: once the runner says it waits for them, it waits there.
  const auto waiting = p.read_line_until(
      [](const std::string& l) {
        return l.rfind("run 1/2", 0) == 0 && l.find(kWaitingForPes) != std::string::npos;
      },
      30s);
  ASSERT_TRUE(waiting) << "the runner never said it waits for the PEs\n" << p.stderr_text();
  ASSERT_TRUE(p.signal(SIGINT));
  const auto st = p.wait(30s);
  ASSERT_TRUE(st) << "rsplab run did not stop after SIGINT";
  const std::string out = *waiting + "\n" + all_output(p);
  std::printf("%s", out.c_str());  // what a user sees, kept in the test log
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT group_concat(idx || ' ' || status || ': ' || reason) FROM runs"),
            "0 interrupted: SIGINT while deploying: waiting for the PEs to register");
  EXPECT_NE(out.find("run 1/2 interrupted: "), std::string::npos) << out;
  EXPECT_EQ(out.find("run 2/2"), std::string::npos) << "a run started after the interrupt\n"
                                                    << out;
  EXPECT_EQ(p.stderr_text().find("failed"), std::string::npos) << p.stderr_text();
  expect_processes_gone(processes_before);
}

// The same with --jobs 2: both runs wait in their deployment, each in its worker; the
// parent's SIGINT reaches both, and each marks its run interrupted, naming the step.
TEST_F(Run, LoopbackJobsTwoInterruptWhileDeployingMarksEachWorkersRunInterrupted) {
  const std::string file = dir_ + "/stuck.yaml";
  std::ofstream(file) << kStuckExperiment;
  const std::string db = dir_ + "/stuck-jobs.db";
  const int processes_before = rsplab_processes();
  ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db, "--jobs", "2"});
  std::set<std::string> waiting;  // "run 1/2", "run 2/2"
  const auto both = p.read_line_until(
      [&](const std::string& l) {
        if (l.find(kWaitingForPes) != std::string::npos) waiting.insert(l.substr(0, 7));
        return waiting.size() == 2;
      },
      30s);
  ASSERT_TRUE(both) << "not both runs said they wait for their PEs\n" << p.stderr_text();
  ASSERT_TRUE(p.signal(SIGINT));
  const auto st = p.wait(30s);
  ASSERT_TRUE(st) << "rsplab run --jobs 2 did not stop after SIGINT";
  const std::string out = all_output(p);
  std::printf("%s", out.c_str());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT group_concat(idx || ' ' || status || ': ' || reason, '; ') FROM "
                    "(SELECT * FROM runs ORDER BY idx)"),
            "0 interrupted: SIGINT while deploying: waiting for the PEs to register; "
            "1 interrupted: SIGINT while deploying: waiting for the PEs to register");
  EXPECT_EQ(occurrences(out, " interrupted: "), 2u) << out;
  EXPECT_EQ(p.stderr_text().find("failed"), std::string::npos) << p.stderr_text();
  expect_processes_gone(processes_before);
}

// --until-ci on loopback sites (no root needed): one sweep point, the file's 1 repetition, a
// target (0.001 %) that 3 runs never meet. Round 1 runs repetitions 0 and 1, round 2 the
// third, and the cap stops it, said as such with the interval computed here from the runs'
// handling speeds. Run again into the same file: the rounds replay and nothing runs again;
// compared on detection_delay too (no faults, no failovers: no value) it stops after round 1.
TEST_F(Run, LoopbackUntilCiStopsAtTheCapAndRunsNothingAgain) {
  std::string text = kResumeExperiment;
  text.replace(text.find("repetitions: 2"), 14, "repetitions: 1");
  text.replace(text.find("  policy: [lu, rr]"), 18, "  policy: [lu]");
  const std::string file = dir_ + "/untilci.yaml";
  std::ofstream(file) << text;
  const std::string db = dir_ + "/untilci.db";
  const auto until_ci = [&](const std::string& metrics) {
    ChildProcess p(RSPLAB_BINARY, {"run", "--loopback", file, "-o", db, "--until-ci", "0.001",
                                   "--max-repetitions", "3", "--metric", metrics});
    const auto st = p.wait(90s);
    EXPECT_TRUE(st) << "rsplab run --until-ci did not finish";
    const std::string out = all_output(p);
    EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << (st ? ChildProcess::describe(*st) : "") << "\n" << out << p.stderr_text();
    std::printf("%s", out.c_str());  // what a user sees, kept in the test log
    return out;
  };

  const std::string out = until_ci("handling_speed");
  EXPECT_NE(out.find("2 repetitions per sweep point first (the file says 1: an interval needs 2)"),
            std::string::npos) << out;
  EXPECT_NE(out.find("until-ci: round 1: 2 run(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("until-ci: round 2: 1 run(s)"), std::string::npos) << out;
  EXPECT_EQ(out.find("until-ci: round 3"), std::string::npos) << out;
  EXPECT_EQ(sql(db, "SELECT group_concat(repetition || ':' || idx || ':' || status, ' ') FROM "
                    "(SELECT * FROM runs ORDER BY repetition)"),
            "0:0:completed 1:1:completed 2:2:completed");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT seed) || ' ' || count(DISTINCT key) FROM runs"), "3 3");

  // The 95 % interval of the three runs' handling speeds, from the database: t(0.975, 2) =
  // 4.3027 (a printed t table), half-width t · s / √3, relative to the mean.
  std::vector<double> speeds;
  for (int rep = 0; rep < 3; ++rep)
    speeds.push_back(std::stod(sql(db, "SELECT s.handling_speed FROM policy_summary AS s JOIN runs "
                                       "AS r ON r.id = s.run_id WHERE r.repetition = " +
                                           std::to_string(rep))));
  const double mean = (speeds[0] + speeds[1] + speeds[2]) / 3;
  double squares = 0;
  for (const double v : speeds) squares += (v - mean) * (v - mean);
  const double relative = 4.302652729911275 * std::sqrt(squares / 2) / std::sqrt(3.0) / mean * 100;
  const std::string line = "policy=lu: cap reached, target NOT met (n = 3): handling_speed ±";
  const auto at = out.rfind(line);
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_NEAR(std::stod(out.substr(at + line.size())), relative, 0.006) << out;
  EXPECT_NE(out.find("until-ci: 0 of 1 sweep point(s) reached the target; 1 stopped at the cap "
                     "without it"),
            std::string::npos) << out;

  // Stored as it was: the cap, not the target.
  EXPECT_EQ(sql(db, "SELECT group_concat(verdict || ' ' || runs || ' ' || percent || ' ' || "
                    "max_repetitions || ' ' || metrics, '; ') FROM until_ci"),
            "cap 3 0.001 3 [\"handling_speed\"]");

  // Again: every round's runs completed earlier, the same verdict.
  const std::string again = until_ci("handling_speed");
  EXPECT_EQ(occurrences(again, "skipped (completed earlier"), 3u) << again;
  EXPECT_NE(again.find(out.substr(at, out.find('\n', at) - at)), std::string::npos) << again;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "3");

  const std::string none = until_ci("handling_speed,detection_delay");
  EXPECT_NE(none.find("policy=lu: stopped, a metric has no value: target NOT met (n = 2)"),
            std::string::npos) << none;
  EXPECT_NE(none.find("detection_delay no value"), std::string::npos) << none;
  EXPECT_EQ(none.find("until-ci: round 2"), std::string::npos) << none;
  EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "3");
  EXPECT_EQ(sql(db, "SELECT group_concat(verdict || ' ' || runs, '; ') FROM (SELECT * FROM "
                    "until_ci ORDER BY id)"),
            "cap 3; no_value 2");
  EXPECT_EQ(sql(db, "SELECT json_extract(estimates, '$.detection_delay.n') FROM until_ci WHERE "
                    "verdict = 'no_value'"),
            "0");
}

}  // namespace

// ---- Remote sites over ssh (issue 7) ------------------------------------------------------

// A local (emulated) site and one reached over ssh: a real sshd on loopback whose sessions
// run `rsplab agent --stdio` in this machine's root namespace, with its event clock set 5 s
// ahead (RSPLAB_CLOCK_OFFSET_US through the ssh configuration's SetEnv).
std::string mixed_experiment(const std::string& alias, const std::string& duration) {
  return R"(name: mixedtest
duration: )" + duration + R"(
warmup: 1s
seed: 5
sites:
  alpha: { isps: [red] }
  far:   { host: )" + alias + ", rsplab: " + RSPLAB_BINARY + R"(, isps: [red], interfaces: [lo] }
registrars:
  - { site: alpha, keepalive-interval: 1s, keepalive-timeout: 1s }
timers:
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Calc:
    policy: lu
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
      - { site: far,   count: 2, capacity: 1e6 }
    pus:
      - { site: alpha, count: 3, job-size: exp:5e5, interval: exp:700ms }
      - { site: far,   count: 3, job-size: exp:5e5, interval: exp:700ms }
faults:
  # lo carries the agent's own ssh connection: refused, the run goes on.
  - { at: 2s, link-down: { site: far, isp: red }, for: 1s }
)";
}

constexpr std::int64_t kSkewUs = 5'000'000;

// The fixture's client configuration with the remote clock skew on top.
std::string skewed_config(const rsplab::test::Sshd& sshd, const std::string& dir) {
  const std::string path = dir + "/ssh_config_skewed";
  std::ofstream(path) << "Host " << sshd.alias() << "\n  SetEnv RSPLAB_CLOCK_OFFSET_US="
                      << kSkewUs << "\nInclude " << sshd.config_path() << "\n";
  return path;
}

TEST_F(Run, MixedLocalAndSshSiteInOneDatabaseOnTheRunnersClock) {
  std::string why;
  if (!root_netns(&why) || !rsplab::test::Sshd::available(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  rsplab::test::Sshd sshd;
  const std::string config = skewed_config(sshd, dir_);
  const std::string file = dir_ + "/mixed.yaml";
  std::ofstream(file) << mixed_experiment(sshd.alias(), "5s");

  // `rsplab plan` checks the remote site first: reached, same version, its clock 5 s ahead.
  {
    ChildProcess plan(RSPLAB_BINARY, {"plan", file, "--ssh-config", config});
    const auto st = plan.wait(60s);
    ASSERT_TRUE(st);
    const std::string out = all_output(plan);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << out << plan.stderr_text();
    EXPECT_NE(out.find("site far (ssh " + sshd.alias() + "): reached"), std::string::npos) << out;
    const auto at = out.find("clock offset +");
    ASSERT_NE(at, std::string::npos) << out;
    EXPECT_NEAR(std::stod(out.substr(at + 14)), kSkewUs / 1e3, 20.0) << out;  // ms
  }

  const std::string db = dir_ + "/mixed.db";
  ChildProcess::Options o;
  o.echo_stderr = true;
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--ssh-config", config}, o);
  const auto st = p.wait(120s);
  ASSERT_TRUE(st) << "rsplab run did not finish";
  const std::string out = all_output(p);
  ASSERT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st) << "\n"
                                                       << out;
  EXPECT_NE(out.find("all the PUs counted"), std::string::npos) << out;
  EXPECT_EQ(sql(db, "SELECT status FROM runs"), "completed");
  EXPECT_EQ(sql(db, "SELECT json_extract(details, '$.skipped') FROM faults WHERE kind = 'link_down'"),
            "refused: lo carries the agent's ssh connection");

  // The clocks: the remote agent 5 s ahead (± its uncertainty and a margin), the local one
  // about 0; both measured with 8 round trips.
  EXPECT_EQ(sql(db, "SELECT host FROM site_clocks WHERE site = 'far'"), sshd.alias());
  const std::int64_t offset = std::stoll(sql(db, "SELECT offset_us FROM site_clocks WHERE site = 'far'"));
  const std::int64_t uncertainty =
      std::stoll(sql(db, "SELECT uncertainty_us FROM site_clocks WHERE site = 'far'"));
  EXPECT_LT(std::llabs(offset - kSkewUs), uncertainty + 20'000) << offset << " ± " << uncertainty;
  EXPECT_LT(std::llabs(std::stoll(sql(db, "SELECT offset_us FROM site_clocks WHERE site = 'alpha'"))),
            20'000);
  EXPECT_EQ(sql(db, "SELECT min(samples) FROM site_clocks"), "8");

  // Both sites' components in one run; the remote PEs registered at the local registrar and
  // served jobs.
  EXPECT_EQ(sql(db, "SELECT group_concat(site) FROM (SELECT DISTINCT site FROM components "
                    "WHERE role = 'pe' ORDER BY site)"),
            "alpha,far");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT pe) FROM registrations WHERE kind = 'registration' "
                    "AND pe IN (SELECT identity FROM components WHERE site = 'far')"),
            "2");
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed' AND pe IN "
                              "(SELECT identity FROM components WHERE site = 'far')")),
            0);
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs j JOIN components c ON c.id = "
                              "j.component_id WHERE c.site = 'far' AND j.status = 'completed'")),
            0);
  // Corrected: the remote PUs' jobs lie within the run (1 s warm-up + 5 s) on the runner's
  // clock, like the local ones; uncorrected they would end up to 5 s after it.
  for (const char* site : {"alpha", "far"}) {
    const std::string where = std::string(" FROM jobs j JOIN components c ON c.id = j.component_id "
                                          "WHERE c.site = '") + site + "'";
    EXPECT_GE(std::stoll(sql(db, "SELECT min(queued_us)" + where)), -1'000'000) << site;
    EXPECT_LE(std::stoll(sql(db, "SELECT max(time_us)" + where)), 6'000'000 + 1'500'000) << site;
    EXPECT_LE(std::stoll(sql(db, "SELECT max(completed_us)" + where)), 6'000'000 + 1'500'000)
        << site;
  }
  EXPECT_EQ(namespaces(), before);
}

// Issue 14 on namespaces: a run with an emulated site and a remote one whose agent (a
// wrapper on the far side) never answers: the runner has created the site's namespaces and
// the uplink and waits for that agent (up to 30 s). SIGINT there marks the run interrupted,
// naming the step, exits 130 and removes every namespace it created.
TEST_F(Run, InterruptWhileDeployingRemovesTheSitesAndMarksTheRunInterrupted) {
  std::string why;
  if (!root_netns(&why) || !rsplab::test::Sshd::available(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  rsplab::test::Sshd sshd;
  // `agent --version` and the probe's `agent --stdio` are the real ones; the runner's agent
  // (`--idle-timeout`) reads its requests and answers none, until told to stop.
  const std::string wrapper = dir_ + "/silent-agent.sh";
  std::ofstream(wrapper) << "#!/bin/sh\ncase \"$*\" in *--idle-timeout*)\n"
                            "  while read -r line; do case \"$line\" in *'\"stop\"'*) exit 0;; "
                            "esac; done; exit 0;;\nesac\nexec "
                         << shell_quote(RSPLAB_BINARY) << " \"$@\"\n";
  ASSERT_EQ(::chmod(wrapper.c_str(), 0755), 0);
  std::string text = mixed_experiment(sshd.alias(), "5s");
  text.replace(text.find(std::string("rsplab: ") + RSPLAB_BINARY), 8 + std::strlen(RSPLAB_BINARY),
               "rsplab: " + wrapper);
  const std::string file = dir_ + "/silent.yaml";
  std::ofstream(file) << text;
  const std::string db = dir_ + "/silent.db";
  const int processes_before = rsplab_processes();
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--ssh-config", sshd.config_path()});
  const auto waiting = p.read_line_until(
      [](const std::string& l) {
        return l.rfind("run 1/1", 0) == 0 &&
               l.find("deploying: starting the agents") != std::string::npos;
      },
      60s);
  ASSERT_TRUE(waiting) << "the runner never said it starts the agents\n" << p.stderr_text();
  ASSERT_NE(ours(namespaces()), ours(before)) << "no namespace while deploying";
  ASSERT_TRUE(p.signal(SIGINT));
  const auto st = p.wait(30s);
  ASSERT_TRUE(st) << "rsplab run did not stop after SIGINT";
  const std::string out = *waiting + "\n" + all_output(p);
  std::printf("%s", out.c_str());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130)
      << ChildProcess::describe(*st) << "\n" << out << p.stderr_text();
  EXPECT_EQ(sql(db, "SELECT group_concat(status || ': ' || reason) FROM runs"),
            "interrupted: SIGINT while deploying: starting the agents");
  EXPECT_EQ(ours(namespaces()), ours(before)) << "namespaces left after an interrupted deployment";
  expect_processes_gone(processes_before);
}

// The agent's ssh connection dies mid-run: the run fails with the reason, nothing is left
// on either side, and the campaign's exit status says so.
TEST_F(Run, LostSshAgentFailsTheRunWithTheReasonAndLeavesNothing) {
  std::string why;
  if (!root_netns(&why) || !rsplab::test::Sshd::available(&why)) GTEST_SKIP() << why;
  const auto before = namespaces();
  rsplab::test::Sshd sshd;
  const std::string file = dir_ + "/lost.yaml";
  std::ofstream(file) << mixed_experiment(sshd.alias(), "30s");
  const std::string db = dir_ + "/lost.db";
  const int processes_before = rsplab_processes();
  ChildProcess p(RSPLAB_BINARY, {"run", file, "-o", db, "--ssh-config", sshd.config_path()});
  // Once the run's clock started (its row exists), the remote agent is killed: the one
  // rsplab agent with SSH_CONNECTION in its environment.
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && peek(db, "SELECT count(*) FROM runs").value_or("0") == "0")
    std::this_thread::sleep_for(100ms);
  ASSERT_EQ(peek(db, "SELECT count(*) FROM runs").value_or("0"), "1") << all_output(p);
  const auto [st_kill, killed] = run_shell(
      "for p in $(pgrep -f 'agent --stdio'); do "
      "  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -q '^SSH_CONNECTION=' && "
      "  kill -9 $p && echo $p; done");
  ASSERT_FALSE(killed.empty()) << "no remote agent found";
  const auto st = p.wait(60s);
  ASSERT_TRUE(st) << "rsplab run did not finish";
  const std::string out = all_output(p);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 1) << ChildProcess::describe(*st) << out;
  EXPECT_EQ(sql(db, "SELECT status FROM runs"), "failed");
  const std::string reason = sql(db, "SELECT reason FROM runs");
  EXPECT_NE(reason.find("lost the agent of site far (ssh " + sshd.alias() + ")"), std::string::npos)
      << reason;
  // The remote components went with their agent; the local site is gone too.
  const auto gone_by = Clock::now() + 10s;
  while (Clock::now() < gone_by && rsplab_processes() > processes_before)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rsplab_processes(), processes_before)
      << run_shell("pgrep -af " + shell_quote(RSPLAB_BINARY)).second;
  EXPECT_EQ(namespaces(), before);
}

// ---------------------------------------------------------------------------------------
// Multi-homed sites over the TCP mapping: a PU tries each of its site's addresses (and each
// of the PE's) before it calls a PE unreachable.
namespace {

// The PUs' site loses its first ISP upstream (every packet over it dropped; the interface
// stays up, so the kernel keeps routing over it): the PUs reach the registrar and the PE
// from their second address. No failover, no Endpoint Unreachable, jobs complete.
const char* kPuUplinkLostExperiment = R"(name: pulink
duration: 6s
warmup: 1s
seed: 3
transport: tcp
sites:
  alpha: { isps: [red, blue] }
  beta:  { isps: [red, green] }
registrars:
  - { site: alpha }
pools:
  Calc:
    policy: rr
    pes:
      - { site: alpha, count: 1, capacity: 2e6 }
    pus:
      - { site: beta, count: 2, job-size: exp:5e5, interval: exp:1s }
faults:
  - { at: 0s, loss: { site: beta, isp: red, percent: 100 }, for: 7s }
)";

// Issue 12's two sites, shortened: the PUs' site `beta` loses an ISP link for 4 s while its
// PUs have sessions with `alpha`'s PEs. Those PEs are healthy: none is removed for being
// unreachable (one report is enough to remove a PE here).
const char* kTwoSitesLinkDownExperiment = R"(name: twosites
duration: 10s
warmup: 1s
seed: 5
transport: tcp
sites:
  alpha: { isps: [uninett, telenor] }
  beta:  { isps: [uninett, bkk] }
registrars:
  - { site: alpha, max-bad-pe-reports: 1 }
timers:
  pe: { cookie-max-time: 500ms }
  pu: { keepalive-interval: 500ms, keepalive-timeout: 500ms }
pools:
  Calc:
    policy: rr
    pes:
      - { site: alpha, count: 2, capacity: 1e6 }
      - { site: beta,  count: 2, capacity: 3e6 }
    pus:
      - { site: alpha, count: 4, job-size: exp:2e6, interval: exp:2s }
      - { site: beta,  count: 6, job-size: exp:2e6, interval: exp:2s }
faults:
  - { at: 4s, link-down: { site: beta, isp: uninett }, for: 4s }
)";

}  // namespace

TEST_F(Run, PuReachesThePeFromItsSecondAddressWhenItsFirstIspIsLost) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const std::string file = dir_ + "/pulink.yaml", db = dir_ + "/pulink.db";
  std::ofstream(file) << kPuUplinkLostExperiment;
  run_ok(file, db);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'loss' AND "
                    "json_extract(details, '$.percent') = 100 AND "
                    "json_extract(details, '$.interface') IS NOT NULL"),
            "1");
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed'")), 0);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers"), "0");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM registrar_actions WHERE kind = 'unreachable_report'"),
            "0");
}

TEST_F(Run, LinkDownAtThePusSiteRemovesNoHealthyPeAtTheOtherSite) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const std::string file = dir_ + "/twosites.yaml", db = dir_ + "/twosites.db";
  std::ofstream(file) << kTwoSitesLinkDownExperiment;
  run_ok(file, db);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind = 'link_down'"), "1");
  // beta's PUs had sessions with alpha's PEs.
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs j JOIN components pu ON pu.id = "
                              "j.component_id JOIN components pe ON pe.run_id = j.run_id AND "
                              "pe.identity = j.pe WHERE pu.site = 'beta' AND pe.site = 'alpha'")),
            0);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM registrations r JOIN components pe ON pe.run_id = "
                    "r.run_id AND pe.identity = r.pe WHERE pe.site = 'alpha' AND "
                    "r.kind = 'deregistration' AND r.reason = 'unreachable'"),
            "0")
      << sql(db, "SELECT group_concat(pe || ' ' || reason) FROM registrations WHERE kind = "
                 "'deregistration'");
}

// Over SCTP the association's multi-homing carries the sessions through a lost ISP link of
// the PEs' site (experiments/multihome.yaml, 15 s down): every job goes on, no failover.
// Label sctp: run in the SCTP VM (root, namespaces); skips without kernel SCTP.
class RunSctp : public Run {};

TEST_F(RunSctp, MultiHomedPeSiteLosesAnIspWithoutAFailover) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  const int fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  if (fd < 0) GTEST_SKIP() << "no kernel SCTP";
  ::close(fd);
  const std::string db = dir_ + "/multihome.db";
  const std::string output = run_ok(RSPLAB_EXPERIMENTS "/multihome.yaml", db, 240s);
  EXPECT_NE(output.find("all the PUs counted"), std::string::npos) << output;
  EXPECT_EQ(sql(db, "SELECT transport FROM runs"), "sctp");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM faults WHERE kind IN ('link_down', 'link_up') AND "
                    "json_extract(details, '$.interface') IS NOT NULL"),
            "2");
  // Jobs went on completing while the link was down (over TCP: none), with no failover.
  EXPECT_GT(std::stoi(sql(db, "SELECT count(*) FROM jobs j, faults d, faults u WHERE "
                              "d.kind = 'link_down' AND u.kind = 'link_up' AND j.status = "
                              "'completed' AND j.completed_us BETWEEN d.at_us AND u.at_us")),
            0);
  EXPECT_EQ(sql(db, "SELECT count(*) FROM failovers"), "0");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM registrar_actions WHERE kind = 'unreachable_report'"),
            "0");
}

namespace {

// experiments/delay.yaml, shortened: two sites 50 ms apart, PEs at both, the registrar near.
TEST_F(RunSctp, DelayShowsInResolutionsAndStartupsAndLuDpfKeepsJobsNear) {
  std::string why;
  if (!root_netns(&why)) GTEST_SKIP() << why;
  if (!rsplab::agents::netem_available(&why)) GTEST_SKIP() << why;
  std::ifstream in(RSPLAB_EXPERIMENTS "/delay.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(text.find("duration: 20s"), std::string::npos);
  text.replace(text.find("duration: 20s"), 13, "duration: 6s");
  const std::string file = dir_ + "/delay.yaml", db = dir_ + "/delay.db";
  std::ofstream(file) << text;
  run_ok(file, db, 240s);
  // Resolutions (not from a cache) of the PUs at the far site take a round trip of at least
  // 100 ms; those at the registrar's site less on average.
  const auto latency = [&](const char* aggregate, const char* site) {
    return std::stod(sql(db, std::string("SELECT ") + aggregate +
                                 "(h.latency_us) FROM handle_resolutions h JOIN components c "
                                 "ON c.id = h.component_id WHERE h.cached = 0 AND c.site = '" +
                                 site + "'"));
  };
  EXPECT_GE(latency("min", "far"), 100000);
  EXPECT_LT(latency("avg", "near"), latency("avg", "far"));
  // A job's startup at a far PE (the PU connects to it, sends the job and hears ACCEPT)
  // takes at least a round trip.
  const std::string by_pe_site =
      "FROM jobs j JOIN components pc ON pc.run_id = j.run_id AND pc.identity = j.pe "
      "JOIN runs r ON r.id = j.run_id WHERE j.status = 'completed'";
  const std::string far_startup =
      sql(db, "SELECT min(j.startup_delay_us) " + by_pe_site + " AND pc.site = 'far'");
  ASSERT_FALSE(far_startup.empty()) << "no job at a far PE";
  EXPECT_GE(std::stoll(far_startup), 100000);
  // The registrar measured the near PEs at 0 and the far ones at 50 ms (half the 100 ms
  // round trip: SCTP's srtt, the PEs SACKing at once). A PE's first registration comes before
  // any RTT sample of its association (0 wherever it is); its re-registrations (LU-DPF: on
  // each load change) carry the measurement. The distinct distances of each kind and site:
  const auto distances = [&](const char* site, const char* kind) {
    return sql(db, std::string("SELECT group_concat(DISTINCT json_extract(a.event, "
                               "'$.distance')) FROM registrar_actions a JOIN components c ON "
                               "c.run_id = a.run_id AND c.identity = a.pe WHERE c.site = '") +
                       site + "' AND a.kind = '" + kind +
                       "' AND json_extract(a.event, '$.distance') IS NOT NULL");
  };
  EXPECT_EQ(distances("near", "registration"), "0");
  EXPECT_EQ(distances("near", "reregistration"), "0");
  EXPECT_EQ(distances("far", "reregistration"), "50");
  // LU-DPF keeps a larger share of the jobs at the near PEs than LU.
  const auto near_share = [&](const std::string& policy) {
    return std::stod(sql(db, "SELECT avg(pc.site = 'near') " + by_pe_site + " AND r.policy = '" +
                                 policy + "'"));
  };
  EXPECT_GT(near_share("lu-dpf:0,1%"), near_share("lu"));
}

}  // namespace
