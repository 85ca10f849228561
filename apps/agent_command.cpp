// `rsplab agent --stdio`: the site agent (agents/agent.hpp), started by `rsplab run` in a
// site's network namespace (or over ssh): JSON-line requests on stdin, replies and the
// components' events on stdout.
#include <CLI/CLI.hpp>

#include "agents/agent.hpp"
#include "apps/commands.hpp"

namespace rsplab {

void add_agent_command(CLI::App& app, Context& ctx) {
  auto stdio = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "agent", "Run a site agent: starts components and injects faults for `rsplab run`");
  cmd->footer(
      "The protocol (JSON lines; requests hello, start, signal, control, link, stop) is\n"
      "described in agents/agent.hpp. Exit status: 0 after stop or end of input; 2 usage error.");
  cmd->add_flag("--stdio", *stdio, "Serve the protocol on standard input and output")->required();
  cmd->callback([stdio, &ctx] { ctx.exit_code = agents::run_agent(RSPLAB_VERSION); });
}

}  // namespace rsplab
