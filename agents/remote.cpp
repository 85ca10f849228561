#include "agents/remote.hpp"

#include <utility>  // before Asio

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <variant>

#include "agents/child.hpp"
#include "agents/command.hpp"
#include "agents/protocol.hpp"
#include "stack/common/wall_clock.hpp"

namespace rsplab::agents {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::vector<std::string> ssh_command(const std::string& host, const std::string& config,
                                     const std::string& rsplab,
                                     const std::vector<std::string>& args) {
  const std::string ssh = find_tool("ssh");
  std::vector<std::string> argv = {ssh.empty() ? "/usr/bin/ssh" : ssh};
  if (!config.empty()) {
    argv.push_back("-F");
    argv.push_back(config);
  }
  for (const char* o : {"BatchMode=yes", "ServerAliveInterval=5", "ServerAliveCountMax=3"}) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  argv.push_back("-T");
  argv.push_back(host);
  argv.push_back(rsplab);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ClockEstimate estimate_clock(const std::vector<ClockSample>& samples) {
  const auto best = std::min_element(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
    return a.received_us - a.sent_us < b.received_us - b.sent_us;
  });
  ClockEstimate e;
  e.rtt_us = std::max<std::int64_t>(0, best->received_us - best->sent_us);
  e.offset_us = best->agent_us - (best->sent_us + best->received_us) / 2;
  e.uncertainty_us = (e.rtt_us + 1) / 2;
  e.samples = static_cast<int>(samples.size());
  return e;
}

Probe probe(const std::string& host, const std::string& config, const std::string& rsplab) {
  Probe p;
  const CommandResult v = run_command(ssh_command(host, config, rsplab, {"agent", "--version"}));
  if (!v.ok()) {
    p.error = "ssh " + host + " " + rsplab + " agent --version: " +
              (v.status == 255 ? "ssh failed" : "exit " + std::to_string(v.status)) +
              (trimmed(v.err).empty() ? "" : ": " + trimmed(v.err));
    return p;
  }
  p.version = trimmed(v.out);

  boost::asio::io_context io;
  std::vector<ClockSample> samples;
  std::int64_t sent = 0;
  bool ended = false, hello = false;
  std::shared_ptr<Child> agent;
  const auto ask_time = [&] {
    sent = common::wall_clock_us();
    agent->write_line(
        protocol::encode(protocol::TimeRequest{static_cast<std::int64_t>(samples.size())}));
  };
  agent = Child::spawn(
      io, ssh_command(host, config, rsplab, {"agent", "--stdio"}),
      {[&](const std::string& line) {
         std::optional<protocol::Reply> reply;
         try {
           reply = protocol::parse_reply(line);
         } catch (const protocol::Malformed&) {
           return;  // not the protocol (ssh's own words go to stderr)
         }
         if (const auto* h = reply ? std::get_if<protocol::HelloReply>(&*reply) : nullptr) {
           hello = true;
           p.hostname = h->host;
           p.addresses = h->addresses;
           ask_time();
         } else if (const auto* t = reply ? std::get_if<protocol::TimeReply>(&*reply) : nullptr) {
           samples.push_back({sent, t->unix_us, common::wall_clock_us()});
           if (samples.size() < kClockSamples) ask_time();
         }
       },
       [&](int) { ended = true; }},
      {});
  agent->write_line(protocol::encode(protocol::HelloRequest{}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ended && samples.size() < kClockSamples && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(50));
  agent->close_stdin();  // the agent ends on end of input
  const auto end_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!ended && std::chrono::steady_clock::now() < end_by)
    io.run_one_for(std::chrono::milliseconds(50));
  if (!ended) agent->signal(9);
  while (!ended) io.run_one_for(std::chrono::milliseconds(50));
  if (samples.empty())
    p.error = hello ? "its agent did not answer time requests"
                    : "no agent answered over ssh (" + rsplab + " agent --stdio)";
  else
    p.clock = estimate_clock(samples);
  return p;
}

}  // namespace rsplab::agents
