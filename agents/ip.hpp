// iproute2's `ip`: the one place that finds it and builds its command lines. Every `ip` the
// project runs (sites, the journal's cleanup, the runner's `ip netns exec` of a site agent,
// the tests) goes through here, so that all of them run the same binary: find_tool("ip"),
// i.e. PATH first, then /usr/sbin, /sbin, /usr/bin and /bin (a runner started by sudo or a
// test runner often has a PATH without the sbin directories). Looked up on every call, so a
// changed PATH takes effect. Blocking; safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include "agents/command.hpp"

namespace rsplab::agents {

// The path of `ip`; "ip" when it is not installed (running it then fails with
// "ip: command not found", status 127).
std::string ip_tool();

// {ip_tool(), args...}: the argv of `ip ARGS...` for run_command or Child::spawn.
std::vector<std::string> ip_command(const std::vector<std::string>& args);

// Runs `ip ARGS...` to its end (run_command).
CommandResult run_ip(const std::vector<std::string>& args);

// {ip_tool(), "netns", "exec", netns, argv...}: runs `argv` inside network namespace `netns`
// (`ip netns exec` execs it: the child is `argv`, in the namespace).
std::vector<std::string> netns_exec(const std::string& netns, const std::vector<std::string>& argv);

}  // namespace rsplab::agents
