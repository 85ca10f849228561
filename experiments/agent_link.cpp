// The runner's agents as `rsplab agent --stdio` children, and the parsing of their replies
// (agent_link.hpp).
#include "experiments/agent_link.hpp"

#include <csignal>
#include <cstdio>
#include <optional>
#include <variant>

#include "agents/child.hpp"
#include "agents/ip.hpp"
#include "agents/journal.hpp"
#include "agents/remote.hpp"
#include "agents/sites.hpp"

namespace rsplab::experiments {
namespace {

namespace protocol = agents::protocol;

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

  void hello() override { send(protocol::HelloRequest{}); }
  void time(std::int64_t seq) override { send(protocol::TimeRequest{seq}); }
  void start(const std::string& name, const std::string& role,
             const std::vector<std::string>& args) override {
    send(protocol::StartRequest{name, role, args});
  }
  void control(const std::string& name, const std::string& line) override {
    send(protocol::ControlRequest{name, line});
  }
  void signal(const std::string& name, int sig) override {
    send(protocol::SignalRequest{name, sig});
  }
  void link(const std::string& interface, bool up) override {
    send(protocol::LinkRequest{interface, up});
  }
  void stop() override { send(protocol::StopRequest{}); }
  void kill() override {
    if (child_->running()) child_->signal(SIGKILL);
  }

 private:
  template <typename Request>
  void send(const Request& request) {
    child_->write_line(protocol::encode(request));
  }
  std::shared_ptr<agents::Child> child_;
  agents::Journal& journal_;
  std::string entry_;
};

// Each reply to its listener call.
struct Dispatch {
  const std::string& site;
  AgentListener& listener;
  void operator()(const protocol::HelloReply& r) const { listener.hello(site, r); }
  void operator()(const protocol::TimeReply& r) const { listener.time(site, r.unix_us); }
  void operator()(const protocol::Started&) const {}
  void operator()(const protocol::Line& r) const { listener.line(site, r.name, r.line); }
  void operator()(const protocol::Event& r) const { listener.event(site, r.name, r.event); }
  void operator()(const protocol::Exited& r) const { listener.exited(site, r.name, r); }
  void operator()(const protocol::LinkReply& r) const {
    if (!r.ok) listener.problem(site, "link: " + r.error.value_or(""));
  }
  void operator()(const protocol::Stopped&) const { listener.stopped(site); }
  void operator()(const protocol::Error& r) const { listener.problem(site, r.message); }
};

}  // namespace

void dispatch_reply(const std::string& site, const std::string& line, AgentListener& listener) {
  std::optional<protocol::Reply> reply;
  try {
    reply = protocol::parse_reply(line);
  } catch (const protocol::Malformed& e) {
    listener.problem(site, e.what());
    return;
  }
  if (reply) std::visit(Dispatch{site, listener}, *reply);
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
