// `rsplab agent --stdio` as the runner drives it (agents/agent.hpp): JSON lines in, replies
// and the components' events out; components die with the agent; end of input cleans up.
//
//   Agent:    test ──agents::Child (pipes)──► rsplab agent --stdio ──► rsplab registrar / pe
//   SshAgent: test ──► ssh -F cfg alias ──► sshd (tests/support/sshd.hpp, 127.0.0.1:port)
//                        ──► rsplab agent --stdio ──► rsplab registrar
//
// SshAgent (a site reached over ssh) needs root for its throw-away sshd and skips without it:
// `agent --version` over ssh; the remote agent and its components end when ssh's stdin
// closes, and when the ssh client is SIGKILLed (the runner's connection lost abruptly).
// Every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agents/child.hpp"
#include "agents/ip.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Drives an agent through the pipes of a child process: the agent itself, or ssh to it.
class AgentDriver : public ::testing::Test {
 protected:
  void spawn(const std::vector<std::string>& argv) {
    agent_ = rsplab::agents::Child::spawn(
        io_, argv,
        {[this](const std::string& l) {
           auto j = json::parse(l, nullptr, false);
           if (j.is_discarded()) ADD_FAILURE() << "agent printed a non-JSON line: " << l;
           else lines_.push_back(std::move(j));
         },
         [this](int st) { status_ = st; }},
        {});
  }

  void request(const json& j) { ASSERT_TRUE(agent_->write_line(j.dump())); }

  // The next reply matching `pred` (others are kept for later), within `timeout`.
  std::optional<json> expect(const std::function<bool(const json&)>& pred,
                             std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      for (auto it = lines_.begin(); it != lines_.end(); ++it)
        if (pred(*it)) {
          json j = *it;
          lines_.erase(it);
          return j;
        }
      io_.run_one_for(20ms);
      if (io_.stopped()) io_.restart();
    }
    return std::nullopt;
  }
  bool wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!status_ && Clock::now() < deadline) {
      io_.run_one_for(20ms);
      if (io_.stopped()) io_.restart();
    }
    return status_.has_value();
  }
  // Whether `pid` runs (a zombie waiting for its reaper does not).
  static bool alive(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return false;
    const auto paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
  }
  bool wait_dead(int pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (alive(pid) && Clock::now() < deadline) {
      io_.run_one_for(20ms);
      if (io_.stopped()) io_.restart();
    }
    return !alive(pid);
  }
  // Starts registrar pr0 through the agent and waits for its first line; its pid (0 if not).
  int start_registrar() {
    request({{"op", "start"},
             {"name", "pr0"},
             {"role", "registrar"},
             {"args", {"--transport", "tcp", "--asap", "127.0.0.1:0", "--enrp", "127.0.0.1:0"}}});
    const auto started = expect(op("started"));
    if (!started) return 0;
    if (!expect([](const json& j) { return j.value("op", "") == "line"; })) return 0;
    return (*started)["pid"];
  }
  static std::function<bool(const json&)> op(const std::string& name) {
    return [name](const json& j) { return j.value("op", "") == name; };
  }

  boost::asio::io_context io_;
  std::shared_ptr<rsplab::agents::Child> agent_;
  std::deque<json> lines_;
  std::optional<int> status_;
};

class Agent : public AgentDriver {
 protected:
  void SetUp() override { spawn({RSPLAB_BINARY, "agent", "--stdio"}); }
};

TEST_F(Agent, StartsComponentsStreamsTheirEventsAndStops) {
  request({{"op", "hello"}});
  const auto hello = expect(op("hello"));
  ASSERT_TRUE(hello);
  EXPECT_EQ((*hello)["version"], RSPLAB_VERSION);

  request({{"op", "start"},
           {"name", "pr0"},
           {"role", "registrar"},
           {"args", {"--transport", "tcp", "--asap", "127.0.0.1:0", "--enrp", "127.0.0.1:0"}}});
  const auto started = expect(op("started"));
  ASSERT_TRUE(started);
  const int pid = (*started)["pid"];
  const auto asap = expect([](const json& j) {
    return j.value("op", "") == "line" && j.value("line", "").rfind("asap ", 0) == 0;
  });
  ASSERT_TRUE(asap);
  const auto ready = expect([](const json& j) {
    return j.value("op", "") == "event" && j["event"].value("event", "") == "ready";
  });
  ASSERT_TRUE(ready) << "the registrar's events are streamed";
  EXPECT_EQ((*ready)["name"], "pr0");
  EXPECT_EQ((*ready)["event"]["component"], "registrar");

  // A PE registers there; its registration shows up as a registrar event.
  const std::string ep = (*asap)["line"].get<std::string>().substr(5);
  request({{"op", "start"},
           {"name", "pool/pe0"},
           {"role", "pe"},
           {"args", {"--transport", "tcp", "--registrar", ep, "--pool", "pool", "--count", "2",
                     "--control", "stdin"}}});
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(expect([](const json& j) {
      return j.value("op", "") == "event" && j["event"].value("event", "") == "registration";
    })) << "registration " << i;
  // --control through the agent: member 1 killed like a crash.
  request({{"op", "control"}, {"name", "pool/pe0"}, {"line", R"({"cmd":"kill","member":1})"}});
  ASSERT_TRUE(expect([](const json& j) {
    return j.value("op", "") == "event" && j["event"].value("event", "") == "killed" &&
           j["event"].value("member", -1) == 1;
  }));

  // Bad requests are answered, and nothing else changes.
  request({{"op", "fly"}});
  EXPECT_TRUE(expect(op("error")));
  agent_->write_line("not json");
  EXPECT_TRUE(expect(op("error")));
  request({{"op", "signal"}, {"name", "nobody"}, {"signal", 9}});
  EXPECT_TRUE(expect(op("error")));

  request({{"op", "stop"}});
  ASSERT_TRUE(expect(op("stopped"), 15s));
  // Each component's end, with its peak memory and CPU time.
  const auto exited = expect([](const json& j) {
    return j.value("op", "") == "exited" && j.value("name", "") == "pr0";
  }, 1s);
  ASSERT_TRUE(exited);
  EXPECT_EQ((*exited)["status"], "exit 0");
  EXPECT_GT((*exited)["max_rss_kib"].get<long>(), 0);
  EXPECT_GE((*exited)["cpu_s"].get<double>(), 0.0);
  ASSERT_TRUE(wait_exit(5s));
  EXPECT_TRUE(WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0);
  EXPECT_TRUE(wait_dead(pid, 2s)) << "the registrar outlived the agent";
}

// A runner that vanished without closing its end (a half-open ssh connection) is noticed:
// no request for --idle-timeout stops everything, as end of input does.
class IdleAgent : public AgentDriver {
 protected:
  void SetUp() override { spawn({RSPLAB_BINARY, "agent", "--stdio", "--idle-timeout", "1s"}); }
};

TEST_F(IdleAgent, NoRequestForTheIdleTimeoutStopsEverything) {
  const int pid = start_registrar();
  ASSERT_GT(pid, 0);
  // Requests keep it alive.
  for (int i = 0; i < 4; ++i) {
    request({{"op", "time"}, {"seq", i}});
    ASSERT_TRUE(expect(op("time"))) << i;
    std::this_thread::sleep_for(400ms);
  }
  EXPECT_FALSE(status_) << "stopped while it got requests";
  ASSERT_TRUE(wait_exit(10s)) << "still running without requests";
  EXPECT_TRUE(WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0);
  EXPECT_TRUE(wait_dead(pid, 5s)) << "its registrar survived";
}

TEST_F(Agent, EndOfInputStopsEverything) {
  const int pid = start_registrar();
  ASSERT_GT(pid, 0);
  agent_->close_stdin();
  ASSERT_TRUE(wait_exit(10s));
  EXPECT_TRUE(wait_dead(pid, 2s)) << "the registrar outlived the agent";
}

TEST_F(Agent, ComponentsDieWithAKilledAgent) {
  const int pid = start_registrar();
  ASSERT_GT(pid, 0);
  agent_->signal(SIGKILL);
  EXPECT_TRUE(wait_dead(pid, 5s)) << "the registrar outlived a SIGKILLed agent";
}

// ---- SshAgent: a site reached over ssh ---------------------------------------------------

// The parent pid and command name of `pid` (from /proc); {-1, ""} when it is gone.
std::pair<int, std::string> parent_and_name(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return {-1, ""};
  const auto open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {-1, ""};
  std::istringstream rest(line.substr(close + 1));
  char state = 0;
  int ppid = -1;
  rest >> state >> ppid;
  return {ppid, line.substr(open + 1, close - open - 1)};
}

// Gone for good: kill(pid, 0) fails with ESRCH (exited and reaped).
bool reaped(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }
// Exited: reaped, or a zombie. What a SIGKILLed remote agent leaves (it and its components
// are orphans then) is reaped by PID 1, whenever that gets round to it.
bool exited(int pid) {
  if (reaped(pid)) return true;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

class SshAgent : public AgentDriver {
 protected:
  void SetUp() override {
    std::string why;
    if (!rsplab::test::Sshd::available(&why)) GTEST_SKIP() << why;
    sshd_ = std::make_unique<rsplab::test::Sshd>();
  }
  void TearDown() override {
    if (HasFailure() && sshd_) std::cerr << "---- sshd's log:\n" << sshd_->log();
  }
  // ssh -F CONFIG ALIAS /abs/rsplab agent ARG: what the runner runs for a remote site.
  std::vector<std::string> ssh_agent(const std::string& arg) const {
    return sshd_->ssh_argv({rsplab::test::shell_quote(RSPLAB_BINARY), "agent", arg});
  }
  // Over ssh: hello (the remote agent's pid, a child of an sshd session) and a registrar.
  void start_remote(int* agent_pid, int* registrar_pid) {
    spawn(ssh_agent("--stdio"));
    request({{"op", "hello"}});
    const auto hello = expect(op("hello"), 20s);
    ASSERT_TRUE(hello) << "no hello through ssh";
    EXPECT_EQ((*hello)["version"], RSPLAB_VERSION);
    *agent_pid = (*hello)["pid"];
    ASSERT_GT(*agent_pid, 0);
    EXPECT_NE(*agent_pid, agent_->pid()) << "that is the ssh client, not the agent";
    const int ppid = parent_and_name(*agent_pid).first;
    const std::string parent = parent_and_name(ppid).second;
    EXPECT_EQ(parent.rfind("sshd", 0), 0u)
        << "the agent's parent is " << ppid << " (" << parent << "), not an sshd session";
    *registrar_pid = start_registrar();
    ASSERT_GT(*registrar_pid, 0) << "no registrar started through ssh";
    EXPECT_TRUE(alive(*registrar_pid));
  }
  // Waits, at most `timeout`, for kill(pid, 0) → ESRCH; then whether `done(pid)` holds:
  // reaped, or `exited` where a zombie will do.
  bool wait_gone(int pid, std::chrono::milliseconds timeout, bool (*done)(int) = reaped) {
    const auto deadline = Clock::now() + timeout;
    while (!reaped(pid) && Clock::now() < deadline) {
      io_.run_one_for(20ms);
      if (io_.stopped()) io_.restart();
    }
    return done(pid);
  }

  std::unique_ptr<rsplab::test::Sshd> sshd_;
};

TEST_F(SshAgent, VersionOverSsh) {
  const auto argv = ssh_agent("--version");
  rsplab::test::ChildProcess ssh(argv.front(), {argv.begin() + 1, argv.end()});
  const auto line = ssh.read_line(20s);
  const auto st = ssh.wait(10s);
  ASSERT_TRUE(st) << "ssh still running: " << ssh.command();
  EXPECT_EQ(ssh.exit_code(), 0) << ssh.command() << ": " << ssh.stderr_text();
  ASSERT_TRUE(line) << "no output from " << ssh.command() << ": " << ssh.stderr_text();
  EXPECT_EQ(*line, RSPLAB_VERSION);
  EXPECT_FALSE(ssh.read_line(1s)) << "exactly one line";
}

// Over ssh the agent knows its control path (SSH_CONNECTION: 127.0.0.1 on lo here), answers
// clock requests with its clock, and refuses to take that interface down.
TEST_F(SshAgent, ReportsItsControlPathAnswersTimeAndRefusesToCutIt) {
  spawn(ssh_agent("--stdio"));
  request({{"op", "hello"}});
  const auto hello = expect(op("hello"), 20s);
  ASSERT_TRUE(hello) << "no hello through ssh";
  EXPECT_EQ((*hello)["control_address"], "127.0.0.1");
  EXPECT_EQ((*hello)["control_interface"], "lo");
  ASSERT_TRUE((*hello)["addresses"].is_array());
  for (const auto& a : (*hello)["addresses"])
    EXPECT_NE(a.get<std::string>().rfind("127.", 0), 0u) << "loopback reported: " << a;

  const auto before = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  request({{"op", "time"}, {"seq", 7}});
  const auto time = expect(op("time"));
  const auto after = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_TRUE(time);
  EXPECT_EQ((*time)["seq"], 7);
  EXPECT_GE((*time)["unix_us"].get<std::int64_t>(), before);  // one machine, one clock
  EXPECT_LE((*time)["unix_us"].get<std::int64_t>(), after);

  request({{"op", "link"}, {"interface", "lo"}, {"up", false}});
  const auto link = expect(op("link"));
  ASSERT_TRUE(link);
  EXPECT_FALSE((*link)["ok"].get<bool>());
  EXPECT_NE((*link)["error"].get<std::string>().find("refused"), std::string::npos) << *link;
  EXPECT_NE(rsplab::agents::run_ip({"link", "show", "lo"}).out.find("UP"), std::string::npos)
      << "lo went down";
  agent_->close_stdin();
  EXPECT_TRUE(wait_exit(20s));
}

TEST_F(SshAgent, ClosedInputStopsTheRemoteAgentAndItsComponents) {
  int agent_pid = 0, registrar_pid = 0;
  ASSERT_NO_FATAL_FAILURE(start_remote(&agent_pid, &registrar_pid));
  // The runner closes its end: ssh sends EOF, the agent stops everything and exits 0,
  // and ssh ends with its exit status.
  agent_->close_stdin();
  ASSERT_TRUE(wait_exit(20s)) << "ssh did not end after its input closed";
  EXPECT_TRUE(WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0)
      << "ssh: " << rsplab::test::ChildProcess::describe(*status_);
  // Orderly: the agent reaps the registrar, the sshd session the agent.
  EXPECT_TRUE(wait_gone(registrar_pid, 10s)) << "the remote registrar outlived the agent";
  EXPECT_TRUE(wait_gone(agent_pid, 10s)) << "the remote agent outlived its input";
}

TEST_F(SshAgent, KilledSshClientStopsTheRemoteAgentAndItsComponents) {
  int agent_pid = 0, registrar_pid = 0;
  ASSERT_NO_FATAL_FAILURE(start_remote(&agent_pid, &registrar_pid));
  // The runner's connection is lost abruptly: no EOF on the channel, only the TCP close.
  // sshd's session process sees the TCP connection close and exits; the agent, its child,
  // gets its parent-death signal (SIGKILL), and the registrar its own.
  ASSERT_TRUE(agent_->signal(SIGKILL));
  ASSERT_TRUE(wait_exit(10s));
  // Waits for ESRCH; a zombie left to a slow PID 1 also counts as gone.
  EXPECT_TRUE(wait_gone(registrar_pid, 15s, exited))
      << "the remote registrar outlived the connection";
  EXPECT_TRUE(wait_gone(agent_pid, 15s, exited)) << "the remote agent outlived the connection";
}

}  // namespace
