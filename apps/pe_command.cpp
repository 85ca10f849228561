// `rsplab pe`: its options (options/roles.hpp) and its help; the pool elements themselves,
// their signals, `--control stdin` and their output are node::run_pe's (node/run.hpp,
// node/pe.hpp).
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.hpp"
#include "node/run.hpp"
#include "options/roles.hpp"

namespace rsplab {

void add_pe_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<options::PeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pe", "Run a pool element (PE): registers at a registrar and keeps the registration");
  cmd->footer(
      "When started it prints 'pe 0x<id> <user transport endpoint>' per member (flushed).\n"
      "SIGINT or SIGTERM: fresh cookies to the sessions (see --shutdown-cookie-probability),\n"
      "deregistration, exit 0 once deregistered (at most 5 s later).\n"
      "--control stdin takes JSON lines: {\"cmd\":\"kill\"|\"stop\"|\"resume\"|\"shutdown\"|\n"
      "\"restart\",\"member\":I}: kill = a crash (connections dropped, no goodbye), stop/resume\n"
      "= as SIGSTOP/SIGCONT, shutdown = as SIGTERM for that member only, restart = killed if\n"
      "alive, then back as a fresh PE (new random id, no jobs, new listener, registers anew).\n"
      "With --control the process outlives its members (they may be restarted) until its\n"
      "input ends or a signal comes.\n"
      "--service echo answers PINGs (docs/echo.md); --capacity, --max-jobs, --cookie-max-*\n"
      "and --usage-interval are CalcApp's (refused with echo), --cookie-every is echo's.\n"
      "Durations need a unit or are milliseconds: 30s, 500ms, 2min.\n"
      "Policies: NAME or NAME:V1[,V2...], values in the policy's field order; loads,\n"
      "degradations and DPFs as fractions 0..1 or percentages (5%), weights, priorities\n"
      "and distances (ms) as whole numbers. E.g. rr, lu, wrand:10, priority:3, lud:0,5%.\n"
      "Exit status: 0 success; 1 cannot listen, or the registration can never succeed\n"
      "(inconsistent pooling policy); 2 usage error.");
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = node::run_pe(*o, ctx.out, ctx.err); });
}

}  // namespace rsplab
