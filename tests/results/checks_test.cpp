// The checks made after each run and the closing table, against real SQLite files fed with
// synthetic event streams as the components write them (docs/events.md): registered
// capacity lost without a fault warns, the same loss under a fault that explains it does
// not; the issue-12 link-down scenario (PEs removed after the link came back) warns; a
// killed registrar's registrations end with it; the closing table's rows; PE events as rows.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/checks.hpp"
#include "results/store.hpp"
#include "tests/results/support.hpp"
#include "results/summary.hpp"

namespace rsplab::results {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using testing::kSecond;
using testing::kStart;
using testing::TempDir;

json line(const std::string& component, const std::string& id, double at_s,
          const std::string& event, json fields = json::object()) {
  return testing::event_line(component, id, testing::us(at_s), event, fields);
}

// The issue's pool, shortened names: a registrar at alpha, two PEs of 1e6/s at alpha and two
// of 3e6/s at beta, all registered before the run's clock started; window 10 s + 45 s.
class Pool : public ::testing::Test {
 protected:
  void SetUp() override {
    experiment_ = store_.add_experiment({"linkdown", "linkdown.yaml", json::object(), "0.1.0",
                                         "host", "kernel"});
    run_ = begin("rr", 0);
    pr_ = store_.add_component(run_, {"pr0", "registrar", "alpha", "0x00000001", {}, "", "", 0});
    for (int i = 0; i < 4; ++i) {
      const bool beta = i >= 2;
      const std::string name = std::string("Calc/") + (beta ? "pe1#" : "pe0#") + std::to_string(i % 2);
      pes_.push_back(store_.add_component(run_, {name, "pe", beta ? "beta" : "alpha", id(i), {},
                                                 "Calc", "rr", beta ? 3e6 : 1e6}));
      registrar("registration", -1.0 + 0.1 * i, id(i), {{"conn", i + 1}});
    }
  }

  std::int64_t begin(const std::string& policy, std::size_t index) {
    RunInfo r;
    r.experiment_id = experiment_;
    r.index = index;
    r.key = "key-" + policy + std::to_string(index);
    r.parameters["policy"] = policy;
    r.transport = "tcp";
    r.resolved = json::object();
    r.start_unix_us = kStart;
    r.warmup_us = 10 * kSecond;
    r.duration_us = 45 * kSecond;
    return store_.begin_run(r);
  }

  static std::string id(int i) { return "0x0000010" + std::to_string(i); }

  void registrar(const std::string& kind, double at_s, const std::string& pe, json fields = {},
                 std::int64_t component = 0) {
    json f = {{"pool", "Calc"}, {"pe", pe}};
    if (kind != "deregistration") {
      f["policy"] = "rr";
      f["transport"] = "tcp";
    }
    for (const auto& [k, v] : fields.items()) f[k] = v;
    store_.add_event(run_, component != 0 ? component : pr_, line("registrar", "0x00000001", at_s, kind, f));
  }

  void fault(const std::string& kind, const std::string& target, double at_s, json details = {}) {
    store_.add_fault(run_, kind, target, static_cast<std::int64_t>(at_s * kSecond), details);
  }

  static json member(int i, const std::string& pe_id = "") {
    return {{"members",
             json::array({{{"component", i >= 2 ? "Calc/pe1" : "Calc/pe0"},
                           {"member", i % 2},
                           {"id", pe_id.empty() ? json(id(i)) : json(pe_id)}}})}};
  }

  // The issue's link-down: beta's link down 20 s–35 s; the registrar times the beta PEs out
  // at 25 s, they register again at 36.0 s on new connections.
  void link_down_and_back() {
    fault("link_down", "beta/uninett", 20);
    for (int i = 2; i < 4; ++i) registrar("deregistration", 25, id(i), {{"reason", "keepalive_timeout"}});
    fault("link_up", "beta/uninett", 35);
    for (int i = 2; i < 4; ++i) registrar("registration", 36.0, id(i), {{"conn", 10 + i}});
  }

  RunCheck check() {
    store_.flush();
    return check_registered_capacity(store_, run_);
  }

  TempDir dir_;
  Store store_ = Store::open(dir_.file("results.sqlite"));
  std::int64_t experiment_ = 0, run_ = 0, pr_ = 0;
  std::vector<std::int64_t> pes_;
};

TEST(RegisteredCapacity, MissingCapacityWithoutAFaultWarnsAndIsWeightedByCapacity) {
  const Span window{10 * kSecond, 55 * kSecond};
  std::vector<CapacitySlot> slots = {
      {"a", 1e6, {{0, 60 * kSecond}}, {}},
      {"b", 3e6, {{0, 36 * kSecond}}, {}},                      // gone at 36 s: 19 s of 45
      {"c", 0, {}, {}}};                                         // no capacity: nothing to miss
  auto f = registered_capacity(slots, window);
  EXPECT_EQ(f.slots, 3u);
  EXPECT_DOUBLE_EQ(f.deployed, 4e6);
  EXPECT_EQ(f.unexplained_us, 19 * kSecond);
  EXPECT_DOUBLE_EQ(f.registered_fraction, (1.0 * 45 + 3.0 * 26) / (4.0 * 45));
  EXPECT_DOUBLE_EQ(f.unexplained_fraction, 3.0 * 19 / (4.0 * 45));
  EXPECT_TRUE(f.warning());

  slots.pop_back();
  slots[1].explained = {{30 * kSecond, 50 * kSecond}};  // explains 36–50 s, not 50–55 s
  f = registered_capacity(slots, window);
  EXPECT_EQ(f.unexplained_us, 5 * kSecond);
  ASSERT_EQ(f.gaps.size(), 1u);
  EXPECT_EQ(f.gaps[0].slot, "b");
  EXPECT_EQ(f.gaps[0].span, (Span{50 * kSecond, 55 * kSecond}));
  EXPECT_DOUBLE_EQ(f.explained_fraction, 3.0 * 14 / (4.0 * 45));
  EXPECT_TRUE(f.warning());  // 5 s of 45 > 5 %

  slots[1].explained = {{30 * kSecond, 53 * kSecond}};  // 2 s of 45 < 5 %
  EXPECT_FALSE(registered_capacity(slots, window).warning());
}

TEST_F(Pool, EveryPeRegisteredIsOk) {
  const RunCheck c = check();
  EXPECT_EQ(c.name, "registered_capacity");
  EXPECT_EQ(c.status, "ok");
  EXPECT_DOUBLE_EQ(c.value, 1.0);
  EXPECT_EQ(c.message, "check registered capacity: ok, 100.0 % of the deployed capacity "
                       "registered over the window");
  EXPECT_EQ(c.details["deployed"], 8e6);
}

// Issue 12: after the link came back, a re-registration on the old connections and the
// registrar removed the PEs (connection_closed); they never came back.
TEST_F(Pool, PesRemovedAfterTheLinkCameBackWarn) {
  link_down_and_back();
  for (int i = 2; i < 4; ++i) {
    registrar("reregistration", 36.5, id(i), {{"conn", i + 1}});
    registrar("deregistration", 36.5, id(i), {{"reason", "connection_closed"}});
  }
  const RunCheck c = check();
  EXPECT_EQ(c.status, "warning");
  // Explained until link_up + 5 s (40 s); missing to the end (55 s): 15 s of 45.
  EXPECT_EQ(c.details["unexplained_us"], 15 * kSecond);
  EXPECT_EQ(c.details["gaps"].size(), 2u);
  EXPECT_EQ(c.details["gaps"][0], (json{{"pe", "Calc/pe1#0"}, {"from_us", 40 * kSecond}, {"to_us", 55 * kSecond}}));
  EXPECT_NEAR(c.value, (2.0 * 45 + 6.0 * (15 + 0.5)) / (8.0 * 45), 1e-9);
  EXPECT_EQ(c.message.rfind("WARNING: registered capacity: capacity missing without a fault "
                            "that explains it for 15.0 s (33.3 % of the window): 2 PEs "
                            "(Calc/pe1#0 40.0–55.0 s, Calc/pe1#1 40.0–55.0 s); ", 0),
            0u) << c.message;
}

TEST_F(Pool, PesBackAfterTheLinkCameBackAreExplained) {
  link_down_and_back();
  const RunCheck c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  EXPECT_NEAR(c.details["explained_fraction"].get<double>(), 6.0 * 11 / (8.0 * 45), 1e-9);
  EXPECT_EQ(c.details["unexplained_us"], 0);
  EXPECT_NE(c.message.find("missing while faults explain it"), std::string::npos) << c.message;
}

// A link of the registrar's own site explains every PE's absence.
TEST_F(Pool, LinkOfTheRegistrarsSiteExplainsEveryPe) {
  fault("link_down", "alpha/red", 20);
  for (int i = 0; i < 4; ++i) registrar("deregistration", 25, id(i), {{"reason", "keepalive_timeout"}});
  fault("link_up", "alpha/red", 30);
  for (int i = 0; i < 4; ++i) registrar("registration", 32, id(i));
  EXPECT_EQ(check().status, "ok");
}

TEST_F(Pool, PeGoneWithoutAFaultWarnsAndWithAKillIsExplained) {
  registrar("deregistration", 30.1, id(3), {{"reason", "connection_closed"}});
  EXPECT_EQ(check().status, "warning");
  fault("kill", "Calc", 30, member(3));
  const RunCheck c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  EXPECT_NEAR(c.value, 1 - 3.0 * 24.9 / (8.0 * 45), 1e-9);
}

// A member killed and restarted comes back under a new identity (a components row of the
// same name): explained until the restart + 5 s, not later.
TEST_F(Pool, RestartedMemberHasTheGraceToRegisterAgain) {
  fault("kill", "Calc", 20, member(2));
  registrar("deregistration", 20.1, id(2), {{"reason", "connection_closed"}});
  fault("restart", "Calc", 25, member(2));
  store_.add_component(run_, {"Calc/pe1#0", "pe", "beta", "0x00000200", {}, "Calc", "rr", 3e6});
  registrar("registration", 40, "0x00000200");
  RunCheck c = check();
  EXPECT_EQ(c.status, "warning");
  EXPECT_EQ(c.details["gaps"], json::array({{{"pe", "Calc/pe1#0"}, {"from_us", 30 * kSecond}, {"to_us", 40 * kSecond}}}));
}

TEST_F(Pool, RestartedMemberBackInTimeIsOk) {
  fault("kill", "Calc", 20, member(2));
  registrar("deregistration", 20.1, id(2), {{"reason", "connection_closed"}});
  fault("restart", "Calc", 25, member(2));
  store_.add_component(run_, {"Calc/pe1#0", "pe", "beta", "0x00000200", {}, "Calc", "rr", 3e6});
  registrar("registration", 25.5, "0x00000200");
  EXPECT_EQ(check().status, "ok");
}

// A restarted registrar forgets its handlespace without a deregistration event: its
// registrations end at the restart; the PEs have 5 s to register with the new one.
TEST_F(Pool, RegistrarRestartEndsItsRegistrations) {
  fault("restart", "pr0", 30, {{"previous_id", "0x00000001"}});
  const auto pr1 = store_.add_component(run_, {"pr0", "registrar", "alpha", "0x00000002", {}, "", "", 0});
  store_.add_event(run_, pr1, line("registrar", "0x00000002", 30.2, "ready"));
  for (int i = 0; i < 3; ++i) registrar("registration", 31, id(i), {}, pr1);
  const RunCheck c = check();
  EXPECT_EQ(c.status, "warning");
  EXPECT_EQ(c.details["gaps"], json::array({{{"pe", "Calc/pe1#1"}, {"from_us", 35 * kSecond}, {"to_us", 55 * kSecond}}}));
  registrar("registration", 34, id(3), {}, pr1);
  EXPECT_EQ(check().status, "ok");
}

// With a second registrar (ENRP peers), a registrar killed for good explains its PEs'
// absence only for kRehomeUs: a peer takes them over (pe_adopted) or they register there.
TEST_F(Pool, KilledRegistrarWithAPeerExplainsOnlyUntilTheTakeover) {
  const auto pr1 = store_.add_component(run_, {"pr1", "registrar", "beta", "0x00000002", {}, "", "", 0});
  store_.add_event(run_, pr1, line("registrar", "0x00000002", -2, "ready"));
  fault("kill", "pr0", 20);
  // PE 0 re-registers at pr1 at once; PEs 1 and 2 are adopted by its takeover 10 s later;
  // PE 3 is never seen again: from 20 s + 20 s it is missing unexplained.
  registrar("reregistration", 20.1, id(0), {}, pr1);
  for (int i = 1; i < 3; ++i)
    store_.add_event(run_, pr1, line("registrar", "0x00000002", 30, "pe_adopted",
                                     {{"pool", "Calc"}, {"pe", id(i)}, {"from", "0x00000001"}}));
  RunCheck c = check();
  EXPECT_EQ(c.status, "warning") << c.message;
  EXPECT_EQ(c.details["gaps"], json::array({{{"pe", "Calc/pe1#1"}, {"from_us", 40 * kSecond}, {"to_us", 55 * kSecond}}}));
  store_.add_event(run_, pr1, line("registrar", "0x00000002", 30, "pe_adopted",
                                   {{"pool", "Calc"}, {"pe", id(3)}, {"from", "0x00000001"}}));
  c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  // Missing, explained: PE 0 (1e6) 0.1 s, PE 1 (1e6) and PEs 2, 3 (3e6) 10 s each.
  EXPECT_NEAR(c.value, 1 - (0.1 + 10 + 30 + 30) / (8.0 * 45), 1e-9);
}

// Without a peer the same kill explains the absence until the run's end.
TEST_F(Pool, KilledLoneRegistrarExplainsUntilTheEnd) {
  fault("kill", "pr0", 20);
  const RunCheck c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  EXPECT_NEAR(c.value, 10.0 / 45, 1e-9);  // registered from the window's start (10 s) to 20 s
}

// A skipped fault explains nothing.
TEST_F(Pool, SkippedFaultExplainsNothing) {
  fault("link_down", "beta/uninett", 20, {{"skipped", "loopback sites have no ISP links"}});
  for (int i = 2; i < 4; ++i) registrar("deregistration", 25, id(i), {{"reason", "keepalive_timeout"}});
  EXPECT_EQ(check().status, "warning");
}

TEST_F(Pool, ChecksAreStoredPerRunAndReplaced) {
  RunCheck c = check();
  store_.add_check(run_, c);
  c.status = "warning";
  c.message = "WARNING: again";
  store_.add_check(run_, c);
  store_.add_check(run_, {"event_counts", "ok", 370, "check event counts: ok", json::object()});
  const auto checks = store_.checks(run_);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "event_counts");
  EXPECT_DOUBLE_EQ(checks[0].value, 370);
  EXPECT_EQ(checks[1].name, "registered_capacity");
  EXPECT_EQ(checks[1].status, "warning");
  EXPECT_EQ(checks[1].message, "WARNING: again");
  EXPECT_EQ(checks[1].details["deployed"], 8e6);
  EXPECT_EQ(store_.count("run_checks", run_), 2);
  EXPECT_THROW(store_.add_check(run_, {"x", "bad", 0, "", {}}), StoreError);
}

// Echo PEs (docs/echo.md) have no capacity (components.capacity NULL): checked by registered
// time, each the same weight, instead of counting as 0 capacity (issue 14: the check said
// "ok, 0.0 % of the deployed capacity registered" whatever they did).
TEST(RegisteredCapacity, SlotsWithoutCapacityCountByRegisteredTime) {
  const Span window{10 * kSecond, 55 * kSecond};
  std::vector<CapacitySlot> slots = {
      {"e0", 0, {{0, 60 * kSecond}}, {}, true},
      {"e1", 0, {{0, 21 * kSecond}}, {{20 * kSecond, 55 * kSecond}}, true}};  // killed at 20 s
  auto f = registered_capacity(slots, window);
  EXPECT_EQ(f.without_capacity, 2u);
  EXPECT_DOUBLE_EQ(f.deployed, 0);
  EXPECT_DOUBLE_EQ(f.registered_time_fraction, (45.0 + 11) / (2 * 45));
  EXPECT_EQ(f.unexplained_us, 0);
  slots[1].explained.clear();  // gone at 21 s with nothing to explain it: 34 s of 45
  f = registered_capacity(slots, window);
  EXPECT_EQ(f.unexplained_us, 34 * kSecond);
  ASSERT_EQ(f.gaps.size(), 1u);
  EXPECT_EQ(f.gaps[0].slot, "e1");
  EXPECT_TRUE(f.warning());
}

TEST_F(Pool, EchoPesAreCheckedByTheirRegisteredTime) {
  // Beside the CalcApp PEs: both fractions.
  const auto echo_pe = [&](int i) {
    return store_.add_component(run_, {"Echo/pe0#" + std::to_string(i), "pe", "alpha",
                                       "0x0000020" + std::to_string(i), {}, "Echo", "rr", 0});
  };
  for (int i = 0; i < 2; ++i) {
    echo_pe(i);
    registrar("registration", -0.5, "0x0000020" + std::to_string(i), {{"conn", 20 + i}});
  }
  RunCheck c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  EXPECT_EQ(c.message, "check registered capacity: ok, 100.0 % of the deployed capacity registered"
                       " over the window; 2 PEs without capacity (echo) registered 100.0 % of"
                       " the time over the window");
  EXPECT_DOUBLE_EQ(c.value, 1.0);
  EXPECT_EQ(c.details["pes_without_capacity"], 2);

  // An echo run alone: its value is the registered time; one PE killed at 20 s (explained),
  // the other gone at 30 s without a fault: a warning naming it.
  run_ = begin("rr", 1);
  pr_ = store_.add_component(run_, {"pr0", "registrar", "alpha", "0x00000001", {}, "", "", 0});
  for (int i = 0; i < 2; ++i) {
    echo_pe(i);
    registrar("registration", -0.5, "0x0000020" + std::to_string(i), {{"conn", 20 + i}});
  }
  fault("kill", "Echo", 20, {{"members", json::array({{{"component", "Echo/pe0"}, {"member", 1},
                                                        {"id", "0x00000201"}}})}});
  registrar("deregistration", 21, "0x00000201", {{"reason", "keepalive_timeout"}});
  c = check();
  EXPECT_EQ(c.status, "ok") << c.message;
  EXPECT_EQ(c.message, "check registered capacity: ok, 2 PEs without capacity (echo) registered"
                       " 62.2 % of the time over the window");
  EXPECT_DOUBLE_EQ(c.value, (45.0 + 11) / 90);
  EXPECT_EQ(c.details["deployed"], 0.0);
  registrar("deregistration", 30, "0x00000200", {{"reason", "connection_closed"}});
  c = check();
  EXPECT_EQ(c.status, "warning");
  EXPECT_EQ(c.message, "WARNING: registered capacity: capacity missing without a fault that"
                       " explains it for 25.0 s (55.6 % of the window): 1 PE (Echo/pe0#0"
                       " 30.0–55.0 s); 2 PEs without capacity (echo) registered 34.4 % of the"
                       " time over the window");
}

// ---- the closing table ------------------------------------------------------------------------

json job(std::int64_t n, const std::string& status, double queued_s, double completed_s,
         std::int64_t size) {
  const auto at = [](double s) { return kStart + static_cast<std::int64_t>(s * kSecond); };
  const bool done = status == "completed";
  const std::int64_t handling = static_cast<std::int64_t>((completed_s - queued_s) * kSecond);
  return line("pu", "pu-1", completed_s, "job",
              {{"job", n}, {"size", size}, {"status", status}, {"queued_us", at(queued_s)},
               {"started_us", at(queued_s)}, {"accepted_us", at(queued_s)},
               {"completed_us", done ? json(at(completed_s)) : json(nullptr)}, {"pe", "0x00000100"},
               {"rejects", 0}, {"failovers", 0}, {"queuing_delay_us", 0}, {"startup_delay_us", 0},
               {"processing_us", done ? json(handling) : json(nullptr)},
               {"handling_us", done ? json(handling) : json(nullptr)},
               {"handling_speed", done ? json(size * 1e6 / handling) : json(nullptr)}});
}

TEST_F(Pool, ClosingTableCountsTheWindowPerPolicyAndSweepPoint) {
  const auto pu = store_.add_component(run_, {"Calc/pu0#0", "pu", "alpha", "pu-1", {}, "Calc", "", 0});
  store_.add_event(run_, pu, job(1, "completed", 5, 7, 2'000'000));       // warm-up: not counted
  store_.add_event(run_, pu, job(2, "completed", 20, 22, 4'000'000));     // 2e6/s
  store_.add_event(run_, pu, job(3, "completed", 30, 34, 4'000'000));     // 1e6/s
  store_.add_event(run_, pu, job(4, "unfinished", 54, 56, 1'000'000));
  store_.add_event(run_, pes_[0], line("pe", id(0), 8, "job_rejected", {{"session", 1}, {"job", 9}, {"size", 5}, {"jobs", 4}}));
  store_.add_event(run_, pes_[0], line("pe", id(0), 21, "job_rejected", {{"session", 2}, {"job", 9}, {"size", 5}, {"jobs", 4}}));
  for (double t : {11.0, 55.0, 56.0})  // 56 s: after the window
    store_.add_event(run_, pes_[0], line("pe", id(0), t, "usage", {{"calculations", 3e5}, {"offered", 1e6}, {"utilization", 0.3}}));
  store_.add_event(run_, pes_[2], line("pe", id(2), 11, "usage", {{"calculations", 3e6}, {"offered", 3e6}, {"utilization", 1.0}}));
  store_.add_check(run_, check());
  const auto other = begin("lu", 1);  // another policy, no jobs, a warning
  store_.add_check(other, {"registered_capacity", "warning", 0.5, "WARNING: x", {}});
  store_.end_run(run_, "completed", kStart + 60 * kSecond);
  store_.end_run(other, "completed", kStart + 60 * kSecond);
  const auto failed = begin("rr", 2);
  store_.end_run(failed, "failed", kStart + 60 * kSecond, "test");

  const auto runs = completed_runs(store_, {"key-rr0", "key-lu1", "key-rr2"}, std::nullopt);
  EXPECT_EQ(runs, (std::vector<std::int64_t>{run_, other}));
  const auto rows = summarize(store_, runs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].policy, "lu");
  EXPECT_EQ(rows[0].warned, 1);
  EXPECT_FALSE(rows[0].handling_speed.mean);
  const SummaryRow& rr = rows[1];
  EXPECT_EQ(rr.policy, "rr");
  EXPECT_EQ(rr.point, "");
  EXPECT_EQ(rr.runs, 1);
  EXPECT_EQ(rr.jobs_completed, 2);
  EXPECT_EQ(rr.jobs_unfinished, 1);
  EXPECT_EQ(rr.rejects, 1);
  EXPECT_EQ(rr.warned, 0);
  EXPECT_DOUBLE_EQ(*rr.handling_speed.mean, 8e6 / 6);  // Σ size / Σ handling
  EXPECT_EQ(rr.handling_speed.n, 1);
  EXPECT_FALSE(rr.handling_speed.half_width);  // one run: no interval
  EXPECT_DOUBLE_EQ(*rr.utilization.mean, 100 * 3.6e6 / 5e6);  // Σ calculations / Σ offered, %

  const std::string table = summary_table(rows);
  EXPECT_EQ(table.substr(0, table.find("(completed runs")),
            "policy      runs  completed  unfinished  rejects  handling speed (calc/s)  utilization  failovers  checks\n"
            "lu             1          0           0        0                        -            -          0  WARNING (1 run)\n"
            "rr             1          2           1        1                  1333333       72.0 %          0  ok\n")
      << table;
}

// An echo run (docs/echo.md) has no jobs: its row says what its series did (echo_series),
// "-" for the jobs; a CalcApp row beside it reads as before, with 0 series.
TEST_F(Pool, ClosingTableShowsWhatTheEchoSeriesDid) {
  const auto pu = store_.add_component(run_, {"Calc/pu0#0", "pu", "alpha", "pu-1", {}, "Calc", "", 0});
  store_.add_event(run_, pu, job(2, "completed", 20, 22, 4'000'000));
  store_.end_run(run_, "completed", kStart + 60 * kSecond);
  const auto echo = begin("lu", 1);
  for (int i = 0; i < 2; ++i) {
    const std::string name = "echo-" + std::to_string(i);
    const auto c = store_.add_component(echo, {"Echo/pu0#" + std::to_string(i), "pu", "alpha",
                                               name, {}, "Echo", "", 0});
    store_.add_event(echo, c, line("pu", name, 55.5, "done",
                                   {{"reason", "stop"}, {"requests", 900 + i}, {"answers", 898},
                                    {"duplicates", 2 * i}, {"lost", 2 + i}, {"replies", 896},
                                    {"failovers", i}}));
  }
  store_.end_run(echo, "completed", kStart + 60 * kSecond);
  EXPECT_EQ(echo_totals(store_, {echo}).series, 2);
  EXPECT_EQ(echo_totals(store_, {run_}).series, 0);

  const auto rows = summarize(store_, {run_, echo});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].policy, "lu");
  EXPECT_FALSE(rows[0].jobs);
  EXPECT_EQ(rows[0].echo.series, 2);
  EXPECT_EQ(rows[0].echo.round_trips, 1796);
  EXPECT_EQ(rows[0].echo.duplicates, 2);
  EXPECT_EQ(rows[0].echo.lost, 5);
  EXPECT_TRUE(rows[1].jobs);
  EXPECT_EQ(rows[1].echo.series, 0);
  const std::string table = summary_table(rows);
  EXPECT_EQ(table.substr(0, table.find("(completed runs")),
            "policy      runs  completed  unfinished  rejects  handling speed (calc/s)  utilization  failovers  echo series  round trips  checks\n"
            "lu             1          -           -        -                        -            -          0            2         1796  -\n"
            "rr             1          1           0        0                  2000000            -          0            0            0  -\n")
      << table;
  EXPECT_NE(table.find("round trips:\n the PONGs they received"), std::string::npos) << table;
  // Without echo series, no echo column.
  EXPECT_EQ(summary_table({rows[1]}).find("echo"), std::string::npos);
}

TEST_F(Pool, SweepPointsAreRowsOfTheirOwn) {
  std::vector<std::int64_t> runs;
  for (const char* ratio : {"10", "2"}) {
    RunInfo r;
    r.experiment_id = experiment_;
    r.index = runs.size();
    r.key = std::string("k") + ratio;
    r.parameters = {{"policy", "lu"}, {"ratio", ratio}};
    r.resolved = json::object();
    r.start_unix_us = kStart;
    r.warmup_us = 0;
    r.duration_us = kSecond;
    runs.push_back(store_.begin_run(r));
  }
  store_.add_check(runs[1], {"registered_capacity", "ok", 1, "check registered capacity: ok", {}});
  const auto rows = summarize(store_, runs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].unchecked, 1);
  EXPECT_EQ(rows[1].unchecked, 0);
  EXPECT_EQ(rows[0].point, "ratio=10");
  EXPECT_EQ(rows[1].point, "ratio=2");
  const std::string table = summary_table(rows);
  EXPECT_NE(table.find("checks            sweep point\n"), std::string::npos) << table;
  EXPECT_NE(table.find("  -                 ratio=10\n"), std::string::npos) << table;
  EXPECT_NE(table.find("  ok                ratio=2\n"), std::string::npos) << table;
}

// ---- PE events as rows ---------------------------------------------------------------------

TEST_F(Pool, PeEventsAreRowsBesideTheRegistrars) {
  const auto pe = pes_[2];
  store_.add_event(run_, pe, line("pe", id(2), -1.1, "registered", {{"pr", 0}, {"pool", "Calc"}, {"pe", id(2)}, {"policy", "rr"}, {"load", 0}}));
  store_.add_event(run_, pe, line("pe", id(2), 36.0, "failover", {{"from_pr", 0}, {"to_pr", 0}, {"reason", "closed"}, {"delay_ms", 0}}));
  store_.add_event(run_, pe, line("pe", id(2), 36.4, "reregistered", {{"pr", 0}, {"pool", "Calc"}, {"pe", id(2)}, {"policy", "rr"}, {"load", 0}}));
  store_.add_event(run_, pe, line("pe", id(2), 40, "job_accepted", {{"session", 3}, {"job", 7}, {"size", 100}, {"completed", 50}, {"resumed", true}, {"jobs", 1}, {"load", 0.5}}));
  store_.add_event(run_, pe, line("pe", id(2), 41, "job_rejected", {{"session", 4}, {"job", 8}, {"size", 100}, {"jobs", 4}}));
  EXPECT_TRUE(store_.add_event(run_, pe, line("pe", id(2), 42, "session_closed", {{"session", 3}, {"cause", "peer"}})));
  store_.flush();
  EXPECT_EQ(store_.count("pe_events", run_), 6);
  const auto rows = store_.select(
      "SELECT time_us, kind, pe, pr, session, job, json_extract(event, '$.resumed') FROM pe_events"
      " WHERE run_id = ? ORDER BY time_us", {run_});
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0], (Values{std::int64_t{-1'100'000}, std::string("registered"), id(2), std::int64_t{0}, nullptr, nullptr, nullptr}));
  EXPECT_EQ(rows[3], (Values{40 * kSecond, std::string("job_accepted"), id(2), nullptr, std::int64_t{3}, std::int64_t{7}, std::int64_t{1}}));
  // Samples stay in pe_samples only.
  store_.add_event(run_, pe, line("pe", id(2), 43, "usage", {{"calculations", 1.0}, {"offered", 2.0}, {"utilization", 0.5}}));
  store_.flush();
  EXPECT_EQ(store_.count("pe_events", run_), 6);
}

}  // namespace
}  // namespace rsplab::results
