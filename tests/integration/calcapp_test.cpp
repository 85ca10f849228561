// The CalcApp pool on real processes and sockets (TCP mapping, loopback): `rsplab registrar`,
// `rsplab pe` processes of different capacities and `rsplab pu --count N` processes
// (started by tests/integration/pool.hpp). What
// users rely on: every job completes; a PE killed (SIGKILL) or frozen (SIGSTOP) mid-job
// has its jobs fail over and resume from the latest cookie, losing at most one cookie
// interval of work, and the failover events say so; a PE that rejects sends the job
// elsewhere; the handling speed the PU reports is Σ size / Σ handling time of its jobs;
// --control stdin kills one member of a --count process as a crash would, and restarts one
// as a fresh PE with a new identity.
//
//   test ──ChildProcess──► rsplab registrar, rsplab pe ×n, rsplab pu --count m
//   test ◄── events (JSON lines files) and the PU's summary line
//
// Every wait is bounded.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stack/transport/transport.hpp"
#include "tests/integration/pool.hpp"
#include "tests/support/process.hpp"

namespace {

using json = nlohmann::json;
using rsplab::test::ChildProcess;
using rsplab::test::read_events;
using namespace std::chrono_literals;

class CalcAppPool : public rsplab::test::PoolTest {
 protected:
  CalcAppPool() : PoolTest(RSPLAB_BINARY, "calcapp") {}

  // Every job event is consistent; every failover resumed from the victim's last cookie
  // of that job and lost at most `max_lost` calculations. Returns the failover events.
  std::vector<json> check_failovers(const Pe& victim, double max_lost,
                                    const std::string& cause) {
    const auto failovers = read_events(path("pu.jsonl"), "failover");
    const auto cookies = read_events(victim.events, "cookie_sent");
    for (const auto& f : failovers) {
      SCOPED_TRACE(f.dump());
      EXPECT_EQ(f["from_pe"], victim.id);
      EXPECT_EQ(f["cause"], cause);
      EXPECT_TRUE(f["to_pe"].is_string()) << "the job never reached another PE";
      EXPECT_NE(f["to_pe"], victim.id);
      EXPECT_LE(f["lost"].get<double>(), max_lost);
      // The cookie the PU echoed is the last one the victim sent for that job.
      std::optional<std::uint64_t> last;
      const auto job = f["job"].get<std::uint64_t>();
      const auto pu = f["id"].get<std::string>();
      const auto jobs = read_events(path("pu.jsonl"), "job");
      std::uint64_t size = 0;
      for (const auto& j : jobs)
        if (j["id"] == pu && j["job"] == job) size = j["size"].get<std::uint64_t>();
      // (Before the failover: a frozen victim resumed by the test sends more afterwards.)
      for (const auto& c : cookies)
        if (c["job"] == job && c["size"] == size && c["time_us"] <= f["time_us"])
          last = c["completed"].get<std::uint64_t>();
      if (f["cookie"].get<bool>()) {
        EXPECT_TRUE(last) << "the PU echoed a cookie the victim never sent";
        if (last) {
          EXPECT_EQ(f["resumed"].get<std::uint64_t>(), *last);
        }
      } else {
        EXPECT_EQ(f["resumed"].get<std::uint64_t>(), 0u);
        EXPECT_FALSE(last) << "a cookie was sent but the PU did not use it";
      }
    }
    return failovers;
  }

  // Two PEs (cookies every 200 ms or 1e5 calculations: at most 1e5 calculations lost per
  // job), 4 PUs with one 2.5e6..3.5e6 job each; `signal` hits the victim once it has sent
  // a cookie past 2e5 calculations. The PU's summary; victim and other in `pes`.
  json fail_one_pe_mid_job(int signal, const std::string& seed, std::vector<Pe>& pes) {
    start_registrar();
    const std::vector<std::string> cookie = {"--capacity", "1e6", "--cookie-max-time", "200ms",
                                             "--cookie-max-calculations", "1e5"};
    pes = {start_pe("victim", cookie), start_pe("other", cookie)};
    if (HasFailure()) return {};
    std::thread hit([&] {
      if (await_event(pes[0].events, [](const json& e) {
            return e.value("event", "") == "cookie_sent" && e.value("completed", 0) > 200000;
          }, 20s))
        pes[0].process->signal(signal);
    });
    const json summary = run_pu({"--count", "4", "--jobs", "1", "--job-size",
                                 "uniform:2.5e6,3.5e6", "--interval", "fixed:100ms", "--seed", seed,
                                 "--keepalive-interval", "500ms", "--keepalive-timeout", "500ms",
                                 "--runtime", "50s"},
                                60s);
    hit.join();
    return summary;
  }

};

TEST_F(CalcAppPool, EveryJobCompletesAndHandlingSpeedIsSizeOverHandlingTime) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  std::vector<Pe> pes = {start_pe("pe0", {"--capacity", "1e6"}),
                         start_pe("pe1", {"--capacity", "2e6"}),
                         start_pe("pe2", {"--capacity", "4e6"})};
  ASSERT_FALSE(HasFailure());
  const json summary = run_pu({"--count", "10", "--jobs", "3", "--job-size", "exp:2e5",
                               "--interval", "exp:300ms", "--seed", "7", "--runtime", "50s"},
                              60s);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["members"], 10);
  EXPECT_EQ(summary["jobs_generated"], 30);
  EXPECT_EQ(summary["jobs_completed"], 30);
  EXPECT_EQ(summary["jobs_unfinished"], 0);

  const auto jobs = read_events(path("pu.jsonl"), "job");
  ASSERT_EQ(jobs.size(), 30u);
  double size = 0, handling = 0;
  std::set<std::string> pes_used;
  for (const auto& j : jobs) {
    SCOPED_TRACE(j.dump());
    EXPECT_EQ(j["status"], "completed");
    EXPECT_EQ(j["queuing_delay_us"].get<std::int64_t>() + j["startup_delay_us"].get<std::int64_t>() +
                  j["processing_us"].get<std::int64_t>(),
              j["handling_us"].get<std::int64_t>());
    EXPECT_EQ(j["completed_us"].get<std::int64_t>() - j["queued_us"].get<std::int64_t>(),
              j["handling_us"].get<std::int64_t>());
    size += j["size"].get<double>();
    handling += j["handling_us"].get<double>() / 1e6;
    pes_used.insert(j["pe"].get<std::string>());
  }
  // Recomputed here from the events: a ratio of sums, not a mean of ratios.
  EXPECT_NEAR(summary["handling_speed"].get<double>(), size / handling, 1e-6 * size / handling);
  EXPECT_EQ(pes_used.size(), 3u) << "round robin should use every PE";

  // Each job completed once, at the PE the PU names.
  std::size_t completed_at_pes = 0;
  for (const auto& pe : pes) completed_at_pes += read_events(pe.events, "job_completed").size();
  EXPECT_EQ(completed_at_pes, 30u);
}

TEST_F(CalcAppPool, KilledPeFailsOverAndResumesFromTheCookie) {
  std::vector<Pe> pes;
  const json summary = fail_one_pe_mid_job(SIGKILL, "3", pes);
  ASSERT_FALSE(HasFailure());
  const Pe& victim = pes[0];
  const Pe& other = pes[1];
  ASSERT_FALSE(victim.process->running()) << "the victim was never killed";
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 4);
  EXPECT_EQ(summary["jobs_unfinished"], 0);

  const auto failovers = check_failovers(victim, 1e5, "connection_lost");
  EXPECT_GE(failovers.size(), 1u) << "nothing failed over";
  EXPECT_EQ(summary["failovers"], failovers.size());
  for (const auto& f : failovers) EXPECT_TRUE(f["cookie"].get<bool>());
  for (const auto& j : read_events(path("pu.jsonl"), "job"))
    if (j["failovers"].get<int>() > 0) {
      EXPECT_EQ(j["pe"], other.id) << j.dump();
    }
}

TEST_F(CalcAppPool, StoppedPeIsDetectedByTheKeepAliveTimeout) {
  std::vector<Pe> pes;
  const json summary = fail_one_pe_mid_job(SIGSTOP, "5", pes);
  ASSERT_FALSE(HasFailure());
  const Pe& victim = pes[0];
  victim.process->signal(SIGCONT);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 4);

  const auto failovers = check_failovers(victim, 1e5, "keepalive_timeout");
  EXPECT_GE(failovers.size(), 1u) << "nothing failed over";
  for (const auto& f : failovers) {
    // Silent for the interval, then unanswered for the timeout.
    EXPECT_GE(f["detection_delay_us"].get<std::int64_t>(), 1000000 - 50000) << f.dump();
  }
}

TEST_F(CalcAppPool, RejectedJobsLandElsewhere) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  Pe small = start_pe("small", {"--capacity", "1e6", "--max-jobs", "1"});
  Pe large = start_pe("large", {"--capacity", "4e6", "--max-jobs", "20"});
  ASSERT_FALSE(HasFailure());
  const json summary =
      run_pu({"--count", "6", "--jobs", "2", "--job-size", "fixed:1e6", "--interval",
              "fixed:200ms", "--seed", "9", "--reject-retry-delay", "uniform:50ms,100ms",
              "--runtime", "50s"},
             60s);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 12);
  EXPECT_GE(summary["rejects"].get<int>(), 1) << "the small PE never rejected";
  EXPECT_EQ(summary["failovers"], 0) << "a reject is not a failover";
  EXPECT_EQ(summary["unreachable_reports"], 0) << "a reject is not an unreachable PE";
  const auto rejected = read_events(path("pu.jsonl"), "job_rejected");
  EXPECT_EQ(rejected.size(), summary["rejects"].get<std::size_t>());
  for (const auto& r : rejected) EXPECT_EQ(r["pe"], small.id);
  EXPECT_EQ(read_events(small.events, "job_rejected").size(), rejected.size());
  for (const auto& j : read_events(path("pu.jsonl"), "job"))
    if (j["rejects"].get<int>() > 0) {
      EXPECT_EQ(j["pe"], large.id) << j.dump();
    }
}

TEST_F(CalcAppPool, ControlKillsOneMemberLikeACrash) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  // Three PEs in one process, commands from the FIFO.
  int control = -1;
  auto& pes = start_controlled_pes(
      "--count 3 --identifier 0x100 --cookie-max-time 200ms --cookie-max-calculations 1e5",
      &control);
  ASSERT_GE(control, 0);
  for (int i = 0; i < 3; ++i) {
    const auto line = pes.read_line(10s);
    ASSERT_TRUE(line) << pes.stderr_text();
  }
  std::thread killer([&] {
    if (await_event(path("pes.jsonl"), [](const json& e) {
          return e.value("event", "") == "cookie_sent" && e.value("id", "") == "0x00000100" &&
                 e.value("completed", 0) > 100000;
        }, 20s)) {
      const std::string cmd = "{\"cmd\":\"kill\",\"member\":0}\n";
      EXPECT_EQ(::write(control, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
    }
  });
  const json summary = run_pu({"--count", "6", "--jobs", "1", "--job-size", "uniform:1.5e6,2e6",
                               "--interval", "fixed:100ms", "--seed", "11", "--runtime", "50s"},
                              60s);
  killer.join();
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 6);
  EXPECT_EQ(read_events(path("pes.jsonl"), "killed").size(), 1u);
  const auto failovers = read_events(path("pu.jsonl"), "failover");
  EXPECT_GE(failovers.size(), 1u);
  for (const auto& f : failovers) {
    EXPECT_EQ(f["from_pe"], "0x00000100");
    EXPECT_EQ(f["cause"], "connection_lost");
  }
  EXPECT_TRUE(pes.running()) << "the other members should keep running";
  ::close(control);
}

// `restart` brings a member back as a fresh PE: a new identifier, registered again from
// scratch; the pool serves jobs afterwards.
TEST_F(CalcAppPool, RestartedMemberComesBackWithANewIdentity) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  int control = -1;
  auto& pes = start_controlled_pes("--count 2 --identifier 0x200", &control);
  ASSERT_GE(control, 0);
  for (int i = 0; i < 2; ++i) {
    const auto line = pes.read_line(10s);
    ASSERT_TRUE(line) << pes.stderr_text();
  }
  const auto registered = [&](const std::string& id) {
    return await_event(path("registrar.jsonl"), [&](const json& e) {
      return e.value("event", "") == "registration" && e.value("pe", "") == id;
    }, 10s);
  };
  ASSERT_TRUE(registered("0x00000200"));
  const std::string cmd = "{\"cmd\":\"restart\",\"member\":0}\n";
  ASSERT_EQ(::write(control, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
  ASSERT_TRUE(await_event(path("pes.jsonl"), [](const json& e) {
    return e.value("event", "") == "restarted" && e.value("previous", "") == "0x00000200";
  }, 10s)) << pes.stderr_text();
  // The new identity: the ready event of member 0 after the restarted one.
  std::string fresh;
  ASSERT_TRUE(await_event(path("pes.jsonl"), [&](const json&) {
    bool after = false;
    for (const auto& e : read_events(path("pes.jsonl"))) {
      if (e.value("event", "") == "restarted" && e.value("member", -1) == 0) after = true;
      else if (after && e.value("event", "") == "ready" && e.value("member", -1) == 0) {
        fresh = e.value("id", "");
        return true;
      }
    }
    return false;
  }, 10s));
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, "0x00000200");
  EXPECT_NE(fresh, "0x00000000");
  for (const auto& e : read_events(path("pes.jsonl"), "restarted")) {
    EXPECT_EQ(e["id"], fresh);
    EXPECT_EQ(e["member"], 0);
  }
  EXPECT_EQ(read_events(path("pes.jsonl"), "killed").size(), 1u);
  EXPECT_TRUE(registered(fresh)) << "the registrar never accepted " << fresh;
  const json summary = run_pu({"--count", "4", "--jobs", "1", "--job-size", "fixed:5e5",
                               "--interval", "fixed:100ms", "--seed", "5", "--runtime", "30s"},
                              40s);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 4);
  EXPECT_TRUE(pes.running());
  ::close(control);
}

// A process whose every member crashed stays for its controller (PE churn restarts them),
// and ends when its control input does.
TEST_F(CalcAppPool, ProcessWithEveryMemberDownWaitsForARestart) {
  start_registrar();
  ASSERT_FALSE(HasFailure());
  int control = -1;
  auto& pes = start_controlled_pes("--count 1 --identifier 0x300", &control);
  ASSERT_GE(control, 0);
  ASSERT_TRUE(pes.read_line(10s)) << pes.stderr_text();
  const auto send = [&](const std::string& cmd) {
    const std::string line = cmd + "\n";
    ASSERT_EQ(::write(control, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  };
  const auto killed = [&](std::size_t n) {
    return await_event(path("pes.jsonl"), [&](const json&) {
      return read_events(path("pes.jsonl"), "killed").size() >= n;
    }, 10s);
  };
  send(R"({"cmd":"kill","member":0})");
  ASSERT_TRUE(killed(1));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(pes.running()) << "exited with its only member down";
  send(R"({"cmd":"restart","member":0})");
  ASSERT_TRUE(await_event(path("pes.jsonl"), [](const json& e) {
    return e.value("event", "") == "restarted" && e.value("previous", "") == "0x00000300";
  }, 10s)) << pes.stderr_text();
  const std::string fresh = read_events(path("pes.jsonl"), "restarted").at(0).value("id", "");
  EXPECT_TRUE(await_event(path("registrar.jsonl"), [&](const json& e) {
    return e.value("event", "") == "registration" && e.value("pe", "") == fresh;
  }, 10s)) << "the restarted member never registered";
  // Down again, and the controller goes: nothing can bring it back, the process ends.
  send(R"({"cmd":"kill","member":0})");
  ASSERT_TRUE(killed(2));
  ::close(control);
  const auto st = pes.wait(10s);
  ASSERT_TRUE(st) << "still running after its control input ended";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st);
}

// The same pool over SCTP (label sctp: run in the VM whose kernel has it): PEs register
// SCTP user transports, PUs reach them over SCTP, a killed PE's associations abort.
class CalcAppPoolSctp : public CalcAppPool {
 protected:
  void SetUp() override {
    if (!rserpool::transport::sctp_available())
      GTEST_SKIP() << "the kernel has no SCTP (socket(..., IPPROTO_SCTP) fails); "
                      "scripts/test.sh runs this in scripts/sctp-vm.sh";
    transport_ = "sctp";
    CalcAppPool::SetUp();
  }
};

TEST_F(CalcAppPoolSctp, JobsCompleteAndAKilledPeFailsOverFromTheCookie) {
  std::vector<Pe> pes;
  const json summary = fail_one_pe_mid_job(SIGKILL, "3", pes);
  ASSERT_FALSE(HasFailure());
  const Pe& victim = pes[0];
  const Pe& other = pes[1];
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["jobs_completed"], 4);
  for (const auto& e : read_events(other.events, "ready")) EXPECT_EQ(e["transport"], "sctp");
  const auto failovers = check_failovers(victim, 1e5, "connection_lost");
  EXPECT_GE(failovers.size(), 1u) << "nothing failed over";
}

}  // namespace
