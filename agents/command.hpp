// Runs a system tool (`ip`, `nft`, `sysctl`) as a child process (spawn_process, spawn.hpp)
// and collects its output. No shell is involved: arguments go to the tool exactly as given.
// The tool is looked up in PATH, then in /usr/sbin, /sbin, /usr/bin and /bin (test runners
// often start with a PATH that lacks the sbin directories). Blocking; safe from any thread.
#pragma once

#include <string>
#include <vector>

namespace rsplab::agents {

struct CommandResult {
  int status = 0;    // exit code; 128+signal when killed; 127 when it could not be started
  std::string out;   // its standard output
  std::string err;   // its standard error (or why it could not be started)
  bool ok() const { return status == 0; }
};

// The path of `name` as run_command looks it up (PATH, then the sbin and bin directories);
// `name` itself if it holds a '/'; empty if not found.
std::string find_tool(const std::string& name);

// REQUIRES: !argv.empty().
CommandResult run_command(const std::vector<std::string>& argv);

// "ip -n x link ..." for messages.
std::string join_command(const std::vector<std::string>& argv);

}  // namespace rsplab::agents
