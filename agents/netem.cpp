// netem command lines and the probe for netem in this kernel (netem.hpp).
#include "agents/netem.hpp"

#include <unistd.h>

#include <mutex>

#include "agents/command.hpp"
#include "agents/ip.hpp"

namespace rsplab::agents {

std::string hundredths_text(int hundredths) {
  std::string text = std::to_string(hundredths / 100);
  if (const int rest = hundredths % 100; rest != 0)
    text += (rest < 10 ? ".0" : ".") + std::to_string(rest);
  return text + "%";
}

std::vector<std::string> netem_args(const std::string& netns, const std::string& device,
                                    const LinkShape& s) {
  if (s.none()) return {"-n", netns, "qdisc", "del", "dev", device, "root"};
  std::vector<std::string> args{"-n", netns, "qdisc", "replace", "dev", device, "root", "netem"};
  if (s.delay.count() > 0 || s.jitter.count() > 0) {
    args.insert(args.end(), {"delay", std::to_string(s.delay.count()) + "us"});
    if (s.jitter.count() > 0) {
      args.push_back(std::to_string(s.jitter.count()) + "us");
      if (s.correlation > 0) args.push_back(hundredths_text(s.correlation));
      if (s.normal) args.insert(args.end(), {"distribution", "normal"});
    }
  }
  if (s.rate > 0) args.insert(args.end(), {"rate", std::to_string(s.rate) + "bit"});
  if (s.loss > 0) args.insert(args.end(), {"loss", "random", hundredths_text(s.loss)});
  return args;
}

std::string tc_tool() {
  std::string path = find_tool("tc");
  return path.empty() ? "tc" : path;
}

namespace {

std::string first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.empty() ? "failed without a message" : line;
}

std::string probe_netem() {
  if (::geteuid() != 0) return "netem needs root (CAP_NET_ADMIN)";
  if (find_tool("tc").empty()) return "tc (iproute2) is not installed";
  const std::string probe = "rsplab-netem-" + std::to_string(::getpid());
  CommandResult r = run_ip({"netns", "add", probe});
  if (!r.ok()) return "ip netns add " + probe + ": " + first_line(r.err);
  LinkShape shape;
  shape.delay = std::chrono::microseconds(1000);
  std::vector<std::string> argv{tc_tool()};
  for (auto& a : netem_args(probe, "lo", shape)) argv.push_back(a);
  r = run_command(argv);
  std::string why;
  if (!r.ok()) why = "this kernel has no netem (tc qdisc add ... netem: " + first_line(r.err) + ")";
  run_ip({"netns", "del", probe});
  return why;
}

}  // namespace

bool netem_available(std::string* why) {
  static std::once_flag once;
  static std::string reason;
  std::call_once(once, [] { reason = probe_netem(); });
  if (why != nullptr) *why = reason;
  return reason.empty();
}

}  // namespace rsplab::agents
