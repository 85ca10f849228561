// `rsplab registrar`: its options (options/roles.hpp) and its help; the registrar itself,
// its signals and its output are node::run_registrar's (node/run.hpp, node/registrar.hpp).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "node/run.hpp"
#include "options/roles.hpp"

namespace rsplab {

void add_registrar_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<options::RegistrarOptions>();
  CLI::App* cmd = app.add_subcommand(
      "registrar", "Run a pool registrar (PR): the ASAP server for PEs and PUs");
  cmd->footer(
      "When ready it prints one line per endpoint, ASAP first ('asap 127.0.0.1:41234', then\n"
      "'enrp ...'); port 0 picks a free port. SIGINT or SIGTERM stop it cleanly.\n"
      "Durations take a unit (250ms, 5s) or a bare number of milliseconds.\n" +
      std::string(kExitCodesHelp));
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = node::run_registrar(*o, ctx.out, ctx.err); });
}

}  // namespace rsplab
