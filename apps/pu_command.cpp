// `rsplab pu`: its options (options/roles.hpp) and its help; the pool users themselves,
// their signals, --runtime, `--control stdin` and their summary line are node::run_pu's
// (node/run.hpp, node/pu.hpp).
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.hpp"
#include "node/run.hpp"
#include "options/roles.hpp"

namespace rsplab {

void add_pu_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<options::PuOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pu", "Run pool users (PUs): CalcApp jobs (or echo series) on a pool's PEs, with failover");
  cmd->footer(
      "Jobs arrive with --interval, are queued FIFO and served one at a time: handle\n"
      "resolution at a registrar, a session with the PE, cookies, failover on a lost session\n"
      "(resumed from the latest cookie), a retry elsewhere after a reject.\n"
      "The run ends after --runtime, when all --jobs are finished, or on SIGINT/SIGTERM: jobs\n"
      "not completed are recorded as unfinished, and one JSON line of counters is printed\n"
      "(members, jobs_generated, jobs_completed, jobs_unfinished, handling_speed, rejects,\n"
      "failovers, ...).\n"
      "Values: sizes 5e6, 250k; durations 15s, 250ms; distributions exp:MEAN, uniform:MIN,MAX,\n"
      "fixed:V, normal:MEAN,SD (exp:5e6, exp:15s, uniform:0ms,200ms).\n"
      "--control stdin takes JSON lines {\"cmd\":\"kill\"|\"stop\"|\"resume\"|\"shutdown\",\n"
      "\"member\":I} (kill = a crash, stop/resume = SIGSTOP/SIGCONT, shutdown = end its run).\n"
      "--service echo: each member runs one series of PINGs (--ping-interval) on a PE,\n"
      "failing over like a job, until --replies replies; its line counts requests,\n"
      "answers, duplicates, lost (PINGs never answered), replies. --job-size, --interval\n"
      "and --jobs are CalcApp's, --ping-interval and --replies echo's (docs/echo.md).\n"
      "Exit status: 0 success; 1 jobs were generated (echo: a series begun) but no\n"
      "registrar ever answered; 2 usage error.");
  options::add_to_cli(*cmd, *o);
  cmd->callback([o, &ctx] { ctx.exit_code = node::run_pu(*o, ctx.out, ctx.err); });
}

}  // namespace rsplab
