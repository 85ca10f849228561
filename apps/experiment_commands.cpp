// `rsplab run FILE`, `rsplab plan FILE` and `rsplab cleanup`: experiments from one YAML file
// to one SQLite file (experiments/README.md, results/README.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "agents/journal.hpp"
#include "agents/sites.hpp"
#include "apps/commands.hpp"
#include "experiments/experiment.hpp"
#include "experiments/runner.hpp"
#include "stack/transport/transport.hpp"

namespace rsplab {
namespace {

std::string seconds_text(experiments::Duration d) {
  const long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

std::optional<experiments::Plan> load(const std::string& file, Context& ctx) {
  try {
    return experiments::load_plan(file, RSPLAB_VERSION);
  } catch (const experiments::LoadError& e) {
    ctx.err << e.what() << "\n";
    ctx.exit_code = kExitUsage;
    return std::nullopt;
  }
}

// What the machine offers against what the plan needs: warnings, or errors when needed.
bool check_machine(const experiments::Plan& plan, Context& ctx, bool loopback) {
  bool ok = true;
  bool needs_sctp = false, needs_links = false;
  for (const auto& r : plan.runs) {
    needs_sctp = needs_sctp || r.transport == "sctp";
    for (const auto& f : r.faults)
      needs_links = needs_links || f.kind == experiments::Fault::Kind::link_down ||
                    f.kind == experiments::Fault::Kind::link_up;
  }
  std::string why;
  if (!loopback && !agents::available(&why)) {
    ctx.err << "warning: no network namespaces here (" << why
            << "): sites fall back to loopback addresses"
            << (needs_links ? ", and the link faults are skipped" : "") << "\n";
  }
  for (const auto& s : plan.runs.empty() ? std::vector<experiments::Site>{} : plan.runs[0].sites)
    if (s.prefix4 || s.prefix6)
      ctx.err << "warning: site " << s.name
              << ": its address plan is not applied to emulated sites yet (they use the plan "
                 "of agents/README.md)\n";
  if (!rserpool::transport::sctp_available()) {
    if (needs_sctp) {
      ctx.err << "error: the experiment asks for transport sctp, and this kernel has no SCTP\n";
      ok = false;
    } else {
      ctx.err << "warning: no SCTP in this kernel: transport auto uses the TCP mapping\n";
    }
  }
  return ok;
}

}  // namespace

void add_experiment_commands(CLI::App& app, Context& ctx) {
  {
    auto file = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>("results.db");
    auto loopback = std::make_shared<bool>(false);
    auto fresh = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "run", "Run an experiment file: every run of its sweep, every event into SQLite");
    cmd->footer(
        "Sites are network namespaces (root), else loopback addresses. Ctrl-C stops cleanly\n"
        "and marks the run interrupted. Run again into the same database, it resumes: runs\n"
        "completed there (same key) are skipped, interrupted and failed ones run again.\n"
        "Exit status: 0 every run completed; 1 a run failed; 2 the experiment file is invalid\n"
        "(file:line:col on stderr); 130 interrupted.");
    cmd->add_option("file", *file, "Experiment file (YAML)")->required();
    cmd->add_option("-o,--output", *output, "Results database (SQLite), appended to")
        ->capture_default_str();
    cmd->add_flag("--loopback", *loopback, "Loopback addresses for the sites even as root");
    cmd->add_flag("--fresh", *fresh,
                  "Ignore earlier results in the database: run every run again (new experiment row)");
    cmd->callback([file, output, loopback, fresh, &ctx] {
      const auto plan = load(*file, ctx);
      if (!plan) return;
      if (!check_machine(*plan, ctx, *loopback)) {
        ctx.exit_code = kExitFailed;
        return;
      }
      experiments::RunnerOptions o;
      o.output = *output;
      o.version = RSPLAB_VERSION;
      o.terminal = ::isatty(STDOUT_FILENO) != 0;
      o.loopback = *loopback;
      o.fresh = *fresh;
      ctx.exit_code = experiments::run_plan(*plan, o, ctx.out, ctx.err);
    });
  }
  {
    auto file = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "plan", "Check an experiment file and print its runs, without starting anything");
    cmd->footer(
        "Prints each run (index, parameters, repetition, seed, key) and the estimated time.\n"
        "Exit status: 0 valid; 1 valid but this machine cannot run it; 2 invalid (file:line:col).");
    cmd->add_option("file", *file, "Experiment file (YAML)")->required();
    cmd->callback([file, &ctx] {
      const auto plan = load(*file, ctx);
      if (!plan) return;
      ctx.out << plan->name << ": " << plan->runs.size() << " run(s) ("
              << plan->runs.size() / std::max<std::size_t>(1, plan->repetitions)
              << " sweep point(s) x " << plan->repetitions << " repetition(s)), estimated "
              << seconds_text(plan->estimated) << "\n";
      for (const auto& r : plan->runs) {
        ctx.out << "  run " << r.index << ":";
        for (const auto& [k, v] : r.parameters) ctx.out << " " << k << "=" << v;
        ctx.out << " rep=" << r.repetition << " seed=" << r.seed << " key=" << r.key.substr(0, 16)
                << "\n";
      }
      ctx.out << std::flush;
      if (!check_machine(*plan, ctx, false)) ctx.exit_code = kExitFailed;
    });
  }
  {
    CLI::App* cmd = app.add_subcommand(
        "cleanup", "Remove what dead `rsplab run`s left: namespaces, processes, rules");
    cmd->footer(
        "Reads the journals in /run/rsplab/journal; a live runner's are spared.\n"
        "Exit status: 0 done (also when nothing was left); 1 something could not be removed.");
    cmd->callback([&ctx] {
      const auto r = agents::cleanup_dead();
      for (const auto& u : r.undone) ctx.out << "removed " << u << "\n";
      for (const auto& f : r.failed) ctx.err << "could not remove " << f << "\n";
      for (const auto& l : r.live_owners) ctx.out << "spared (runner alive): " << l << "\n";
      if (r.undone.empty() && r.failed.empty()) ctx.out << "nothing left by dead runners\n";
      ctx.exit_code = r.failed.empty() ? kExitOk : kExitFailed;
    });
  }
}

}  // namespace rsplab
