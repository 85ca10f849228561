// ip_tool() and the command lines built on it: see ip.hpp.
#include "agents/ip.hpp"

namespace rsplab::agents {

std::string ip_tool() {
  std::string path = find_tool("ip");
  return path.empty() ? "ip" : path;
}

std::vector<std::string> ip_command(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ip_tool()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult run_ip(const std::vector<std::string>& args) { return run_command(ip_command(args)); }

std::vector<std::string> netns_exec(const std::string& netns, const std::vector<std::string>& argv) {
  std::vector<std::string> out = ip_command({"netns", "exec", netns});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace rsplab::agents
