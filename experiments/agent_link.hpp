// What the runner says to a site's agent and hears back (agents/README.md has the protocol,
// agents/protocol.hpp its messages):
// AgentLink sends the requests (hello, clock round trips, start a component, a control line or
// a signal for it, an ISP link down or up, stop), AgentListener receives the replies, already
// parsed (dispatch_reply), and the agent's own end. ChildAgents reaches the agents as today:
// an `rsplab agent --stdio` child process per site (in its namespace, or over ssh), its
// JSON lines on the pipes, its pid in the journal; a test gives the runner agents of its
// own that answer in-process (tests/experiments/runner_support.hpp).
//
//   runner ─► AgentLink::start(name, role, args) ─► agent ─► component
//   runner ◄─ AgentListener::event(site, name, event) ◄─ agent ◄─ component's events
//
// Single-threaded: the listener is called on the runner's io_context.
#pragma once

#include <utility>  // before Asio

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agents/protocol.hpp"
#include "experiments/experiment.hpp"

namespace rsplab::agents {
class Journal;
}

namespace rsplab::experiments {

// A component's end, as its agent reports it (its name: the component's).
using ComponentExit = agents::protocol::Exited;

class AgentListener {
 public:
  virtual ~AgentListener() = default;
  virtual void hello(const std::string& site, const agents::protocol::HelloReply& hello) = 0;
  virtual void time(const std::string& site, std::int64_t agent_unix_us) = 0;
  // A component's output line that is not an event ("asap 10.0.0.1:3863", "pe 1a2b ...").
  virtual void line(const std::string& site, const std::string& component,
                    const std::string& text) = 0;
  virtual void event(const std::string& site, const std::string& component,
                     nlohmann::json event) = 0;
  virtual void exited(const std::string& site, const std::string& component,
                      const ComponentExit& exit) = 0;
  virtual void stopped(const std::string& site) = 0;  // its components are stopped
  // What the agent could not do, or a line that is not the protocol's: said on stderr.
  virtual void problem(const std::string& site, const std::string& text) = 0;
  // The agent ended (raw wait status); `last_words` its log's last line, if any.
  virtual void lost(const std::string& site, int wait_status, const std::string& last_words) = 0;
};

// One site's agent.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  virtual void hello() = 0;
  virtual void time(std::int64_t seq) = 0;  // seq -1: a heartbeat
  virtual void start(const std::string& name, const std::string& role,
                     const std::vector<std::string>& args) = 0;
  virtual void control(const std::string& name, const std::string& line) = 0;
  virtual void signal(const std::string& name, int sig) = 0;
  virtual void link(const std::string& interface, bool up) = 0;
  virtual void stop() = 0;  // stop the components, then end
  virtual void kill() = 0;  // end it now (the teardown's last resort)
};

// How the runner reaches its sites' agents.
class AgentStarter {
 public:
  virtual ~AgentStarter() = default;
  // The agent of site `site` (`netns`: its namespace, empty for none); `log` the file for its
  // stderr. Throws when it cannot be started.
  virtual std::unique_ptr<AgentLink> start(const Site& site, const std::string& netns,
                                           const std::string& log, AgentListener& listener) = 0;
};

// One line an agent wrote, to `listener` ("started" and unknown ops are ignored; a malformed
// line is a problem naming its op and field: agents/protocol.hpp).
void dispatch_reply(const std::string& site, const std::string& line, AgentListener& listener);

// `rsplab agent --stdio` children on `io`: a local site's here (in its namespace, if any), a
// remote site's over ssh (`ssh_config`: `ssh -F`, empty for the user's), each pid in
// `journal` while the link lives.
class ChildAgents final : public AgentStarter {
 public:
  ChildAgents(boost::asio::io_context& io, agents::Journal& journal, std::string ssh_config)
      : io_(io), journal_(journal), ssh_config_(std::move(ssh_config)) {}
  std::unique_ptr<AgentLink> start(const Site& site, const std::string& netns,
                                   const std::string& log, AgentListener& listener) override;

 private:
  boost::asio::io_context& io_;
  agents::Journal& journal_;
  std::string ssh_config_;
};

}  // namespace rsplab::experiments
