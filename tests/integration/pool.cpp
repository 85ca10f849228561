// PoolTest: the registrar, PE and PU processes of the service integration tests (pool.hpp).
#include "tests/integration/pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

namespace rsplab::test {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<json> read_events(const std::string& path, const std::string& name) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << path << ": not a JSON line: " << line;
      continue;
    }
    if (name.empty() || j.value("event", "") == name) out.push_back(std::move(j));
  }
  return out;
}

void PoolTest::SetUp() {
  std::string tmpl = "/tmp/rsplab-" + label_ + "-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
}

void PoolTest::TearDown() {
  procs_.clear();
  if (!HasFailure()) run_shell("rm -rf " + shell_quote(dir_));
  else std::fprintf(stderr, "events kept in %s\n", dir_.c_str());
}

ChildProcess& PoolTest::spawn(std::vector<std::string> args) {
  ChildProcess::Options o;
  o.echo_stderr = false;
  procs_.push_back(std::make_unique<ChildProcess>(binary_, args, o));
  return *procs_.back();
}

ChildProcess& PoolTest::start_controlled_pes(const std::string& args, int* control) {
  const std::string fifo = path("control");
  EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto& pes = *procs_.emplace_back(std::make_unique<ChildProcess>(
      "/bin/sh",
      std::vector<std::string>{
          "-c", "exec " + shell_quote(binary_) + " pe --transport tcp --registrar " +
                    registrar_ + " --pool calc --policy rr " + args + " --events " +
                    shell_quote(path("pes.jsonl")) + " --log-level warning --control stdin < " +
                    shell_quote(fifo)},
      ChildProcess::Options{}));
  *control = ::open(fifo.c_str(), O_WRONLY);
  EXPECT_GE(*control, 0);
  return pes;
}

std::string PoolTest::start_registrar() {
  auto& pr = spawn({"registrar", "--transport", transport_, "--asap", "127.0.0.1:0", "--enrp",
                    "127.0.0.1:0", "--keepalive-interval", "1s", "--keepalive-timeout", "1s",
                    "--events", path("registrar.jsonl"), "--log-level", "warning"});
  std::string error;
  const auto ready = pr.wait_ready(10s, &error);
  EXPECT_TRUE(ready) << "registrar: " << error;
  registrar_ = ready ? ready->asap.to_string() : "";
  return registrar_;
}

PoolTest::Pe PoolTest::start_pe(const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "pe",          "--transport", transport_, "--registrar", registrar_, "--pool", "calc",
      "--policy",    "rr",          "--reregistration-interval", "1s", "--events",
      path(name + ".jsonl"), "--log-level", "warning"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto& p = spawn(args);
  const auto line = p.read_line(10s);
  EXPECT_TRUE(line && line->rfind("pe 0x", 0) == 0)
      << p.command() << ": no start line\n" << p.stderr_text();
  return Pe{&p, line ? line->substr(3, 10) : "", path(name + ".jsonl")};
}

json PoolTest::run_pu(std::vector<std::string> extra, std::chrono::seconds bound) {
  std::vector<std::string> args = {"pu",          "--transport", transport_, "--registrar",
                                   registrar_,    "--pool",      "calc", "--events",
                                   path("pu.jsonl"), "--name", "pu", "--log-level", "warning"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto& pu = spawn(args);
  const auto st = pu.wait(bound);
  EXPECT_TRUE(st) << "rsplab pu did not end in time\n" << pu.stderr_text();
  if (!st) return {};
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << ChildProcess::describe(*st) << "\n" << pu.stderr_text();
  std::optional<std::string> line, last;
  while ((line = pu.read_line(1s))) last = line;
  EXPECT_TRUE(last) << "no summary line";
  return last ? json::parse(*last, nullptr, false) : json{};
}

bool PoolTest::await_event(const std::string& events, const std::function<bool(const json&)>& pred,
                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    for (const auto& e : read_events(events))
      if (pred(e)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace rsplab::test
