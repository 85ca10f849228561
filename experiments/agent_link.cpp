// The runner's agents as `rsplab agent --stdio` children, and the parsing of their replies
// (agent_link.hpp).
#include "experiments/agent_link.hpp"

#include <csignal>
#include <cstdio>

#include "agents/child.hpp"
#include "agents/ip.hpp"
#include "agents/journal.hpp"
#include "agents/remote.hpp"
#include "agents/sites.hpp"

namespace rsplab::experiments {
namespace {

using json = nlohmann::json;

// The last line a log file holds ("" when none): what an agent (or ssh) said last.
std::string last_line(const std::string& path) {
  std::string tail;
  if (std::FILE* f = std::fopen(path.c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f)) tail = line;
    std::fclose(f);
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  }
  return tail;
}

class ChildLink final : public AgentLink {
 public:
  ChildLink(std::shared_ptr<agents::Child> child, agents::Journal& journal, std::string entry)
      : child_(std::move(child)), journal_(journal), entry_(std::move(entry)) {}
  ~ChildLink() override { journal_.remove(entry_); }

  void hello() override { send({{"op", "hello"}}); }
  void time(std::int64_t seq) override { send({{"op", "time"}, {"seq", seq}}); }
  void start(const std::string& name, const std::string& role,
             const std::vector<std::string>& args) override {
    send({{"op", "start"}, {"name", name}, {"role", role}, {"args", args}});
  }
  void control(const std::string& name, const std::string& line) override {
    send({{"op", "control"}, {"name", name}, {"line", line}});
  }
  void signal(const std::string& name, int sig) override {
    send({{"op", "signal"}, {"name", name}, {"signal", sig}});
  }
  void link(const std::string& interface, bool up) override {
    send({{"op", "link"}, {"interface", interface}, {"up", up}});
  }
  void stop() override { send({{"op", "stop"}}); }
  void kill() override {
    if (child_->running()) child_->signal(SIGKILL);
  }

 private:
  void send(const json& request) { child_->write_line(request.dump()); }
  std::shared_ptr<agents::Child> child_;
  agents::Journal& journal_;
  std::string entry_;
};

void dispatch_component(const std::string& site, const std::string& op, const json& j,
                        AgentListener& listener) {
  const std::string name = j.value("name", "");
  if (op == "line") {
    listener.line(site, name, j.value("line", ""));
  } else if (op == "exited") {
    ComponentExit e;
    e.code = j.value("code", -1);
    e.status = j.value("status", "");
    e.max_rss_kib = j.value("max_rss_kib", 0L);
    e.cpu_s = j.value("cpu_s", 0.0);
    listener.exited(site, name, e);
  } else if (op == "event") {
    listener.event(site, name, j["event"]);
  }
}

}  // namespace

void dispatch_reply(const std::string& site, const std::string& line, AgentListener& listener) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    listener.problem(site, "not a protocol line: " + line);
    return;
  }
  const std::string op = j.value("op", "");
  if (op == "stopped") {
    listener.stopped(site);
  } else if (op == "error") {
    listener.problem(site, j.value("message", ""));
  } else if (op == "link") {
    if (!j.value("ok", false)) listener.problem(site, "link: " + j.value("error", ""));
  } else if (op == "hello") {
    listener.hello(site, j);
  } else if (op == "time") {
    listener.time(site, j.value("unix_us", std::int64_t{0}));
  } else if (op != "started") {
    dispatch_component(site, op, j, listener);
  }
}

std::unique_ptr<AgentLink> ChildAgents::start(const Site& s, const std::string& netns,
                                              const std::string& log, AgentListener& listener) {
  std::vector<std::string> argv;
  if (s.host) {
    // It stops by itself after 60 s without a request (the runner's heartbeat: one every
    // 10 s), should this end vanish without closing the connection.
    argv = agents::ssh_command(*s.host, ssh_config_, s.rsplab,
                               {"agent", "--stdio", "--idle-timeout", "60s"});
  } else {
    argv = {agents::Child::self_exe(), "agent", "--stdio"};
    if (!netns.empty()) argv = agents::netns_exec(netns, argv);
  }
  agents::Child::Options o;
  o.stderr_path = log;
  const std::string site = s.name;
  auto child = agents::Child::spawn(
      io_, argv,
      {[&listener, site](const std::string& line) { dispatch_reply(site, line, listener); },
       [&listener, site, log](int status) { listener.lost(site, status, last_line(log)); }},
      o);
  const auto st = agents::process_start_time(child->pid());
  const std::string entry = "pid " + std::to_string(child->pid()) + " " + std::to_string(st);
  journal_.add(entry);
  return std::make_unique<ChildLink>(std::move(child), journal_, entry);
}

}  // namespace rsplab::experiments
