// What the runner prints, from its parts alone: the campaign's first lines (how many runs,
// how long, what resumes) and which runs are skipped, the durations as printed, a worker's
// lines under --jobs N (whole, each naming its run), and a run's completion line; what an echo
// run (docs/echo.md) did: its series and round trips, not "0 jobs".
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "experiments/campaign.hpp"
#include "experiments/progress.hpp"
#include "experiments/workers.hpp"
#include "runner_support.hpp"

namespace rsplab::experiments::testing {
namespace {

const std::string kSweep =
    Fixture{.name = "sweep",
            .policy = "$policy",
            .pes = {"{ site: a, count: 1, capacity: 1e6 }"},
            .pus = {"{ site: a, count: 1, job-size: exp:1e6, interval: exp:1s }"},
            .sweep = {"policy: [rr, lu, random]"}}
        .yaml();

TEST(RunnerOutput, ClockTextRoundsToSecondsMinutesOrHours) {
  EXPECT_EQ(clock_text(-3), "0s");
  EXPECT_EQ(clock_text(59.4), "59s");
  EXPECT_EQ(clock_text(59.6), "1m00s");
  EXPECT_EQ(clock_text(125), "2m05s");
  EXPECT_EQ(clock_text(3 * 3600 + 7 * 60 + 59), "3h07m");
}

TEST(RunnerOutput, AnnounceSaysHowLongAndSkipsTheKeysCompletedEarlier) {
  const Plan plan = parse_plan(kSweep, "s.yaml", "test");
  ASSERT_EQ(plan.runs.size(), 3u);
  RunnerOptions o;
  o.output = "s.db";
  std::ostringstream out;
  const auto skip = announce(plan, o, {plan.runs[1].key}, {plan.runs[2].key}, 1, out);
  EXPECT_EQ(skip, (std::vector<bool>{false, true, false}));
  // Two runs of 25 s and 10 s allowance each.
  EXPECT_EQ(out.str(),
            "sweep: 3 run(s), about 1m10s; results in s.db\n"
            "resuming: 1 of 3 runs completed earlier in s.db, 2 to run (1 interrupted/failed "
            "earlier: rerun)\n");
  std::ostringstream side;
  announce(plan, o, {}, {}, 2, side);  // 3 × 35 s, two at a time: 105 s / 2
  EXPECT_EQ(side.str(), "sweep: 3 run(s), about 53s, up to 2 at a time; results in s.db\n");
  EXPECT_EQ(skipped_line(plan, plan.runs[1]),
            "run 2/3 policy=lu rep 0: skipped (completed earlier, key " +
                plan.runs[1].key.substr(0, 12) + "…)");
}

TEST(RunnerOutput, AWorkersLinesAreWholeAndNameTheirRun) {
  std::ostringstream target;
  {
    LineBuf buf(target);
    std::ostream out(&buf);
    out << "before any run\n";
    buf.set_run("run 3/8: ");
    out << "  t=5s kill " << "P/pe0\n";
    out << "\n   \n";  // empty lines: dropped
    out << "rsplab run: agent a: link: no such device\n";
    out << "rsplab run: run 3 failed: x\n";
    out << "run 3/8 completed: 0 jobs\n";
    out << "unterminated";
  }
  EXPECT_EQ(target.str(),
            "before any run\n"
            "run 3/8:   t=5s kill P/pe0\n"
            "rsplab run: run 3/8: agent a: link: no such device\n"
            "rsplab run: run 3 failed: x\n"
            "run 3/8 completed: 0 jobs\n"
            "run 3/8: unterminated\n");
}

TEST(RunnerOutput, TheCompletionLineCountsJobsFailoversAndWarnings) {
  Harness h(kSweep);
  RunRecord record(h.store);
  record.reset(h.plan.runs[0]);
  record.jobs_done = 12;
  record.failovers = 3;
  record.generated = 15;
  results::RunCheck ok, bad;
  ok.name = "event_counts";
  ok.status = "ok";
  bad.name = "registered_capacity";
  bad.status = "warning";
  EXPECT_EQ(completion_line(h.plan, h.plan.runs[0], RunStatus::failed, {ok, bad}, record),
            "run 1/3 failed: 12 jobs completed (warm-up included), 3 failovers; the PUs "
            "generated 15 jobs; WARNING: registered_capacity");
}

const std::string kEcho =
    Fixture{.name = "echo",
            .pool = "E",
            .pes = {"{ site: a, count: 2, service: echo }"},
            .pus = {"{ site: a, count: 2, service: echo, ping-interval: 100ms }"}}
        .yaml();

// Issue 14: an echo run printed "0 jobs completed" and its capacity check "0.0 % of the
// deployed capacity registered"; now its series, their round trips, and its PEs' registered
// time; the closing table counts its series.
TEST(RunnerOutput, AnEchoRunSaysWhatItsSeriesDid) {
  Harness h(kEcho);
  const Outcome o = h.run();
  ASSERT_EQ(o.status, RunStatus::completed) << o.reason << h.err.str();
  const std::string out = h.out.str();
  std::printf("%s", out.c_str());  // what a user sees, kept in the test log
  EXPECT_NE(out.find("run 1/1 completed: 2 echo series (2 ended): 201 round trips (warm-up "
                     "included), 0 duplicates, 0 failovers\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("  check registered capacity: ok, 2 PEs without capacity (echo) "
                     "registered 100.0 % of the time over the window\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("  check event counts: ok, stored 2 echo series (201 round trips), 0 "
                     "failovers, 0 handle resolutions: all the PUs counted\n"),
            std::string::npos) << out;
  EXPECT_EQ(out.find("jobs completed"), std::string::npos) << out;
  // A round trip the PUs counted and the store has not: a mismatch naming both.
  RunRecord again(h.store);
  again.reset(h.plan.runs[0]);
  again.run_id = h.driver().record().run_id;
  again.components = h.driver().record().components;
  (*again.components.at("E/pu0").summary)["answers"] = 202;
  const auto counts = again.check_counts();
  EXPECT_EQ(counts.status, "warning");
  EXPECT_EQ(counts.message, "WARNING: event counts: MISMATCH: PUs counted 2 echo series (202 round "
                            "trips), 0 failovers, 0 resolutions; stored 2 echo series (201 round "
                            "trips), 0, 0");
  EXPECT_EQ(counts.details["stored"]["round_trips"], 201);

  // The progress line: members ready, then their series as they end.
  RunRecord record(h.store);
  record.reset(h.plan.runs[0]);
  record.clock_started = h.clock.now();
  record.echo_series = 2;
  record.failovers = 1;
  std::ostringstream line;
  Progress p(h.plan, false, line);
  p.begin(h.clock.now(), {});
  p.update(record, h.clock.now() + 10s, true, false);
  record.echo_ended = 2;
  record.echo_round_trips = 201;
  p.update(record, h.clock.now() + 25s, true, false);
  EXPECT_EQ(line.str(),
            "run 1/1 rep 0: 10s/25s, 2 echo series, 1 failovers, elapsed 10s, remaining ~25s\n"
            "run 1/1 rep 0: 25s/25s, 2 echo series (2 ended): 201 round trips (warm-up "
            "included), 1 failovers, elapsed 25s, remaining ~10s\n");

  RunnerOptions o2 = h.options;
  o2.summary = true;
  std::ostringstream table, err;
  summarize(h.store, h.plan, o2, h.experiment_id, table, err);
  std::printf("%s", table.str().c_str());
  EXPECT_NE(table.str().find("failovers  echo series  round trips  checks\n"
                             "rr             1          -           -        -                  "
                             "      -            -          0            2          201  ok\n"),
            std::string::npos) << table.str() << err.str();
}

}  // namespace
}  // namespace rsplab::experiments::testing
