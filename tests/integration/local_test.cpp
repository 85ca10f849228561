// `rsplab pe` and `rsplab pu` without --local bind every address of the host, so they reach
// a registrar on another host. Two network namespaces joined by a veth pair stand for two
// hosts (label netns: needs root; SKIPS without):
//
//   namespace "pr" 10.99.0.1/24 ──veth── 10.99.0.2/24 namespace "pool"
//     rsplab registrar --asap 10.99.0.1:0      rsplab pe --registrar 10.99.0.1:PORT
//                                              rsplab pu --registrar 10.99.0.1:PORT --jobs 2
//
// The PE registers (the registrar's event names the address it verified, 10.99.0.2) and
// the PU's jobs complete at it. Before the default changed the PE bound 127.0.0.1 and
// could not reach the registrar ("Network is unreachable"). TCP mapping (no SCTP here).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agents/ip.hpp"
#include "tests/support/process.hpp"

namespace {

using json = nlohmann::json;
using rsplab::test::ChildProcess;
using rsplab::test::run_shell;
using rsplab::test::shell_quote;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class LocalDefault : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    const std::string tag = std::to_string(::getpid() % 100000);
    pr_ = "rsplab-local-" + tag + "-pr";
    pool_ = "rsplab-local-" + tag + "-pool";
    char tmpl[] = "/tmp/rsplab-local-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string a = "vlp" + tag, b = "vlq" + tag;  // ≤ 15 bytes
    const std::vector<std::vector<std::string>> steps = {
        {"netns", "add", pr_},
        {"netns", "add", pool_},
        {"link", "add", a, "netns", pr_, "type", "veth", "peer", "name", b, "netns", pool_},
        {"-n", pr_, "addr", "add", "10.99.0.1/24", "dev", a},
        {"-n", pool_, "addr", "add", "10.99.0.2/24", "dev", b},
        {"-n", pr_, "link", "set", "lo", "up"},
        {"-n", pool_, "link", "set", "lo", "up"},
        {"-n", pr_, "link", "set", a, "up"},
        {"-n", pool_, "link", "set", b, "up"}};
    created_ = true;
    for (const auto& step : steps) {
      const auto r = rsplab::agents::run_ip(step);
      ASSERT_EQ(r.status, 0) << "cannot set up the namespaces:\nip "
                             << rsplab::agents::join_command(step) << ": " << r.err;
    }
  }
  void TearDown() override {
    procs_.clear();  // SIGKILL what is still running
    if (created_)
      for (const auto& ns : {pr_, pool_}) rsplab::agents::run_ip({"netns", "del", ns});
    if (!dir_.empty()) {
      if (!HasFailure()) run_shell("rm -rf " + shell_quote(dir_));
      else std::fprintf(stderr, "events kept in %s\n", dir_.c_str());
    }
  }

  // `rsplab ARGS` inside namespace `ns`.
  ChildProcess& spawn(const std::string& ns, const std::vector<std::string>& args) {
    std::vector<std::string> argv{RSPLAB_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv = rsplab::agents::netns_exec(ns, argv);
    procs_.push_back(std::make_unique<ChildProcess>(
        argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()), ChildProcess::Options{}));
    return *procs_.back();
  }

  std::vector<json> events(const std::string& file, const std::string& name) {
    std::vector<json> out;
    std::ifstream in(dir_ + "/" + file);
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("event", "") == name) out.push_back(std::move(j));
    }
    return out;
  }

  std::string pr_, pool_, dir_;
  bool created_ = false;
  std::vector<std::unique_ptr<ChildProcess>> procs_;
};

TEST_F(LocalDefault, PeAndPuReachARegistrarOnAnotherHost) {
  auto& pr = spawn(pr_, {"registrar", "--transport", "tcp", "--asap", "10.99.0.1:0", "--enrp",
                         "10.99.0.1:0", "--events", dir_ + "/registrar.jsonl", "--log-level",
                         "warning"});
  std::string error;
  const auto ready = pr.wait_ready(10s, &error);
  ASSERT_TRUE(ready) << "registrar: " << error << "\n" << pr.stderr_text();
  const std::string registrar = ready->asap.to_string();

  // No --local on either: every address of the host.
  auto& pe = spawn(pool_, {"pe", "--transport", "tcp", "--registrar", registrar, "--pool",
                           "calc", "--policy", "rr", "--events", dir_ + "/pe.jsonl"});
  const auto line = pe.read_line(10s);
  ASSERT_TRUE(line && line->rfind("pe 0x", 0) == 0) << "no start line\n" << pe.stderr_text();

  const auto deadline = Clock::now() + 10s;
  while (events("registrar.jsonl", "registration").empty() && Clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  const auto regs = events("registrar.jsonl", "registration");
  ASSERT_EQ(regs.size(), 1u) << "the PE did not register\nPE stderr:\n" << pe.stderr_text();
  EXPECT_EQ(regs[0]["addresses"], json({"10.99.0.2"})) << regs[0];

  auto& pu = spawn(pool_, {"pu", "--transport", "tcp", "--registrar", registrar, "--pool",
                           "calc", "--jobs", "2", "--job-size", "fixed:1e5", "--interval",
                           "fixed:100ms", "--runtime", "20s", "--log-level", "warning"});
  const auto st = pu.wait(30s);
  ASSERT_TRUE(st) << "rsplab pu did not end\n" << pu.stderr_text();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << pu.stderr_text();
  std::optional<std::string> out, last;
  while ((out = pu.read_line(1s))) last = out;
  ASSERT_TRUE(last) << "no summary line\n" << pu.stderr_text();
  const auto summary = json::parse(*last, nullptr, false);
  EXPECT_EQ(summary.value("jobs_completed", -1), 2) << *last;
}

}  // namespace
