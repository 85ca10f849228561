// `rsplab agent --stdio` as the runner drives it (agents/agent.hpp): JSON lines in, replies
// and the components' events out; components die with the agent; end of input cleans up.
//
//   test ──agents::Child (pipes)──► rsplab agent --stdio ──► rsplab registrar / pe
//
// Every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agents/child.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class Agent : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = rsplab::agents::Child::spawn(
        io_, {RSPLAB_BINARY, "agent", "--stdio"},
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

}  // namespace
