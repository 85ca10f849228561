// `rsplab agent --stdio`: the site agent (agents/agent.hpp), started by `rsplab run` in a
// site's network namespace (or over ssh): JSON-line requests on stdin, replies and the
// components' events on stdout. `rsplab agent --version` prints the version the agent's
// hello reports, so that a runner can compare a remote host's rsplab with its own before
// starting an agent there.
#include <CLI/CLI.hpp>

#include <ostream>

#include "agents/agent.hpp"
#include "apps/commands.hpp"
#include "node/shell.hpp"

namespace rsplab {

void add_agent_command(CLI::App& app, Context& ctx) {
  auto stdio = std::make_shared<bool>(false);
  auto version = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "agent", "Run a site agent: starts components and injects faults for `rsplab run`");
  cmd->footer(
      "Exactly one of --stdio and --version. The protocol (JSON lines; requests hello, start,\n"
      "signal, control, link, stop) is described in agents/agent.hpp. A runner reaches a\n"
      "remote site with `ssh HOST rsplab agent --stdio`, after comparing\n"
      "`ssh HOST rsplab agent --version` with its own version; end of input (the runner or\n"
      "its ssh connection gone) stops every component and exits.\n"
      "Exit status: 0 after stop or end of input, or after --version; 2 usage error.");
  auto idle = std::make_shared<std::string>("0");
  CLI::Option_group* mode = cmd->add_option_group("mode", "one of");
  mode->add_flag("--stdio", *stdio, "Serve the protocol on standard input and output");
  mode->add_flag("--version", *version,
                 "Print the version (what the protocol's hello reports: " RSPLAB_VERSION
                 ") and exit");
  mode->require_option(1);  // exactly one of them: a usage error names both
  cmd->add_option("--idle-timeout", *idle,
                  "With --stdio: stop everything and exit after this long without a request "
                  "(0: never). `rsplab run` gives remote agents 60s and sends a request every "
                  "10 s: a runner whose connection vanished without closing is noticed")
      ->capture_default_str();
  cmd->callback([stdio, version, idle, &ctx] {
    if (*version) {
      ctx.out << RSPLAB_VERSION << '\n' << std::flush;
      ctx.exit_code = kExitOk;
      return;
    }
    std::string error;
    const auto timeout = node::parse_ms(*idle, true, &error);
    if (!timeout) {
      ctx.err << "rsplab agent: --idle-timeout: " << error << "\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = agents::run_agent(RSPLAB_VERSION, *timeout);
  });
}

}  // namespace rsplab
