// `rsplab run FILE`, `rsplab plan FILE` and `rsplab cleanup`: experiments from one YAML file
// to one SQLite file (experiments/README.md, results/README.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "agents/journal.hpp"
#include "agents/remote.hpp"
#include "agents/sites.hpp"
#include "apps/commands.hpp"
#include "experiments/experiment.hpp"
#include "experiments/runner.hpp"
#include "experiments/until_ci.hpp"
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

// --until-ci PCT, --max-repetitions N, --metric M,… of `rsplab run` and `rsplab plan`.
struct UntilCiArgs {
  experiments::UntilCiOptions options;
  CLI::Option *percent = nullptr, *max = nullptr, *metrics = nullptr;
};

void add_until_ci_options(CLI::App* cmd, UntilCiArgs& a) {
  a.percent = cmd->add_option("--until-ci", a.options.percent,
                              "Add repetitions per sweep point until each compared metric's 95 % "
                              "interval is within ±PCT % of its mean");
  a.percent->type_name("PCT");
  a.max = cmd->add_option("--max-repetitions", a.options.max_repetitions,
                          "With --until-ci: at most this many repetitions per sweep point")
              ->capture_default_str();
  a.metrics = cmd->add_option("--metric", a.options.metrics,
                              "With --until-ci: the metrics compared (rsplab report's names)")
                  ->delimiter(',')
                  ->type_name("M,...")
                  ->default_str("handling_speed,utilization");
}

// The options of --until-ci checked against the file (its repetitions) and `fresh`; nullopt
// without --until-ci. False (said on err, usage exit code) when they do not fit.
bool until_ci_of(const UntilCiArgs& a, const experiments::Plan& plan, bool fresh, Context& ctx,
                 std::optional<experiments::UntilCiOptions>& until) {
  std::string error;
  if (a.percent->count() == 0) {
    if (a.max->count() > 0 || a.metrics->count() > 0)
      error = "--max-repetitions and --metric go with --until-ci";
  } else if (fresh) {
    error = "--until-ci resumes into its database: --fresh does not go with it (use -o NEW.db)";
  } else {
    error = experiments::check_until_ci(a.options, plan.repetitions);
  }
  if (!error.empty()) {
    ctx.err << "error: " << error << "\n";
    ctx.exit_code = kExitUsage;
    return false;
  }
  if (a.percent->count() > 0) until = a.options;
  return true;
}

// The plan to --until-ci's cap (nullopt, said on err, when it is too large).
std::optional<experiments::Plan> plan_to_cap(const std::string& file,
                                             const experiments::UntilCiOptions& o, Context& ctx) {
  try {
    return experiments::load_plan(file, RSPLAB_VERSION, o.max_repetitions);
  } catch (const experiments::LoadError& e) {
    ctx.err << e.what() << " (--max-repetitions " << o.max_repetitions << ")\n";
    ctx.exit_code = kExitUsage;
    return std::nullopt;
  }
}

// "12.345s kill CalcAppPool/pe0#3 (churn faults[2])", "10.000s kill CalcAppPool x2 (random:
// CalcAppPool/pe0#1, CalcAppPool/pe1#0)": one fault of a run, for `plan --faults`.
std::string fault_text(const experiments::Run& r, const experiments::Fault& f) {
  using K = experiments::Fault::Kind;
  static constexpr const char* kKinds[] = {"kill",      "stop",    "resume", "link-down",
                                           "link-up",   "restart", "loss",   "loss-end",
                                           "partition", "partition-end"};
  char at[32];
  std::snprintf(at, sizeof at, "%.3fs",
                std::chrono::duration<double>(f.at).count());
  std::string s = std::string(at) + " " + kKinds[static_cast<int>(f.kind)] + " ";
  if (f.kind == K::link_down || f.kind == K::link_up || f.kind == K::loss)
    s += f.site + "/" + f.isp;
  else if (f.kind == K::partition)
    s += f.site + "," + f.peer;
  else
    s += f.target + (f.member ? "#" + std::to_string(*f.member) : std::string()) +
         (f.member || f.target_kind == experiments::Fault::TargetKind::registrar
              ? std::string()
              : " x" + std::to_string(f.count)) +
         (f.site.empty() ? std::string() : " at " + f.site);
  if (!f.schedule && (f.target_kind == experiments::Fault::TargetKind::group ||
                      f.target_kind == experiments::Fault::TargetKind::pool)) {
    using S = experiments::Fault::Select;
    s += f.select == S::busiest ? " (busiest" : f.select == S::random ? " (random:" : " (member:";
    for (std::size_t i = 0; i < f.picks.size(); ++i)
      s += (i ? ", " : " ") + f.picks[i].first + "#" + std::to_string(f.picks[i].second);
    s += ")";
  }
  if (f.kind == K::loss) {
    char p[32];
    std::snprintf(p, sizeof p, " %g%%", f.percent);
    s += p;
  }
  if (f.lasts) {
    char d[32];
    std::snprintf(d, sizeof d, " for %.3fs", std::chrono::duration<double>(*f.lasts).count());
    s += d;
  }
  if (f.schedule && *f.schedule < r.schedules.size()) {
    const auto& sch = r.schedules[*f.schedule];
    s += std::string(" (") +
         (sch.kind == experiments::Schedule::Kind::churn ? "churn" : "flap") + " faults[" +
         std::to_string(sch.position) + "])";
  }
  return s;
}

// `rsplab plan --verbose`: each component group of a run with the command line the runner
// gives it (experiments::registrar_args / pe_args / pu_args). A site's addresses and the
// registrars' endpoints are only known while the run is set up: <SITE> and <registrars>
// stand for them.
void print_command_lines(const experiments::Run& r, std::ostream& out) {
  const auto line = [&](const std::string& group, const std::string& site, const char* role,
                        const std::vector<std::string>& args) {
    out << "    " << group << " @" << site << ": rsplab " << role;
    for (const auto& a : args) {
      const bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                           "0123456789-_.,:/%=+<>@") ==
                                           std::string::npos;
      out << ' ' << (plain ? a : "'" + a + "'");
    }
    out << "\n";
  };
  // Placeholders: <pr0.enrp> for a peer's ENRP endpoint, <pr1> for a registrar's ASAP
  // endpoints where a group chose registrars, <registrars> for all of them in file order.
  std::string peers;
  experiments::RegistrarEndpoints asap;
  for (const auto& pr : r.registrars) {
    line(pr.name, pr.site, "registrar",
         experiments::registrar_args(r, pr, "<" + pr.site + ">", peers));
    peers += (peers.empty() ? "<" : ",<") + pr.name + ".enrp>";
    asap[pr.name] = {"<" + pr.name + ">"};
  }
  const auto registrars = [&](const auto& g) {
    if (g.registrars.empty() && !g.site_first) return std::string("<registrars>");
    return experiments::registrar_list(r, g.registrars, g.site_first, g.site, asap);
  };
  for (const auto& g : r.pes)
    line(g.name, g.site, "pe", experiments::pe_args(r, g, "<" + g.site + ">", registrars(g)));
  for (const auto& g : r.pus)
    line(g.name, g.site, "pu", experiments::pu_args(r, g, "<" + g.site + ">", registrars(g)));
}

// A kernel feature (SCTP, netem) against the plan: an error when the plan needs it and the
// machine lacks it (`needed`: what asks for it), else a warning that it goes without.
bool kernel_feature(Context& ctx, bool available, const std::string& needed,
                    const std::string& lacking, const std::string& without) {
  if (available) return true;
  if (!needed.empty()) {
    ctx.err << "error: " << needed << ", and " << lacking << "\n";
    return false;
  }
  if (!without.empty()) ctx.err << "warning: " << lacking << ": " << without << "\n";
  return true;
}

// What a plan asks of the machine: SCTP, emulated links (link, loss, delay, rate and
// partition faults), netem (links:, delay and rate faults).
struct Needs {
  bool sctp = false, links = false, netem = false;
};
Needs needs_of(const experiments::Plan& plan) {
  using K = experiments::Fault::Kind;
  Needs n;
  for (const auto& r : plan.runs) {
    n.sctp = n.sctp || r.transport == "sctp";
    n.netem = n.netem || experiments::needs_netem(r);
    for (const auto& f : r.faults)
      n.links = n.links || f.kind == K::link_down || f.kind == K::link_up || f.kind == K::loss ||
                f.kind == K::partition || f.kind == K::delay || f.kind == K::rate;
  }
  return n;
}

// What the machine offers against what the plan needs: warnings, or errors when needed.
// `report`: also say what is fine (rsplab plan). Remote sites are probed over ssh: reachable,
// the same rsplab version, and their clock offset (agents/remote.hpp).
bool check_machine(const experiments::Plan& plan, Context& ctx, bool loopback,
                   const std::string& ssh_config, bool report) {
  bool ok = true;
  const Needs needs = needs_of(plan);
  const bool needs_sctp = needs.sctp, needs_links = needs.links, needs_netem = needs.netem;
  std::string why, netem_why;
  const bool netns = !loopback && agents::available(&why);
  const bool netem = netns && agents::netem_available(&netem_why);
  if (report) {
    ctx.out << "machine: " << (::geteuid() == 0 ? "root" : "not root") << "; network namespaces "
            << (netns ? "yes" : "no (" + (loopback ? std::string("--loopback") : why) + ")")
            << "; SCTP " << (rserpool::transport::sctp_available() ? "yes" : "no")
            << "; netem " << (netem ? "yes" : "no") << "\n";
  }
  // Remote sites: each host once.
  std::map<std::string, const experiments::Site*> hosts;
  bool local = false;
  for (const auto& r : plan.runs)
    for (const auto& s : r.sites) {
      if (s.host) hosts.emplace(*s.host, &s);
      else local = true;
    }
  if (!hosts.empty() && local && !netns) {
    ctx.err << "error: remote sites next to local ones need network namespaces (root): "
               "loopback sites cannot be reached from another host\n";
    ok = false;
  }
  for (const auto& [host, site] : hosts) {
    const auto p = agents::probe(host, ssh_config, site->rsplab);
    if (!p.error.empty()) {
      ctx.err << "error: site " << site->name << ": " << p.error << "\n";
      ok = false;
      continue;
    }
    if (p.version != RSPLAB_VERSION) {
      ctx.err << "error: site " << site->name << " (ssh " << host << "): rsplab " << p.version
              << " there, " << RSPLAB_VERSION << " here: install the same version on both\n";
      ok = false;
      continue;
    }
    char clock[96];
    std::snprintf(clock, sizeof clock, "clock offset %+.3f ms ± %.3f ms", p.clock->offset_us / 1e3,
                  p.clock->uncertainty_us / 1e3);
    ctx.out << "site " << site->name << " (ssh " << host << "): reached " << p.hostname
            << ", rsplab " << p.version << ", " << clock << ", addresses ";
    for (std::size_t i = 0; i < p.addresses.size(); ++i)
      ctx.out << (i ? "," : "") << p.addresses[i];
    ctx.out << (site->addresses.empty() ? "" : " (the experiment gives its own)") << "\n";
  }
  if (!loopback && !netns) {
    ctx.err << "warning: no network namespaces here (" << why
            << "): sites fall back to loopback addresses"
            << (needs_links || needs_netem
                    ? ", and links: and the link, loss, delay, rate and partition faults are skipped"
                    : "")
            << "\n";
  }
  for (const auto& s : plan.runs.empty() ? std::vector<experiments::Site>{} : plan.runs[0].sites)
    if (s.prefix4 || s.prefix6)
      ctx.err << "warning: site " << s.name
              << ": its address plan is not applied to emulated sites yet (they use the plan "
                 "of agents/README.md)\n";
  ok = kernel_feature(ctx, rserpool::transport::sctp_available(),
                      needs_sctp ? "the experiment asks for transport sctp" : "",
                      "this kernel has no SCTP", "transport auto uses the TCP mapping") && ok;
  // Loopback sites have no links to shape: the warning above says so.
  if (netns)
    ok = kernel_feature(ctx, netem,
                        needs_netem ? "the experiment shapes links (links:, delay or rate faults)"
                                    : "",
                        netem_why, needs_links ? "loss faults drop packets with nftables" : "") &&
         ok;
  return ok;
}

// `rsplab run`: every run of a plan (or --until-ci rounds) into SQLite.
void add_run_command(CLI::App& app, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>("results.db");
  auto loopback = std::make_shared<bool>(false);
  auto fresh = std::make_shared<bool>(false);
  auto ssh_config = std::make_shared<std::string>();
  auto jobs = std::make_shared<std::size_t>(1);
  auto until_ci = std::make_shared<UntilCiArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an experiment file: every run of its sweep, every event into SQLite");
  cmd->footer(
      "Sites are network namespaces (root), else loopback addresses. Ctrl-C stops cleanly\n"
      "and marks the run interrupted. Run again into the same database, it resumes: runs\n"
      "completed there (same key) are skipped, interrupted and failed ones run again.\n"
      "--jobs N runs N runs side by side, each in a worker process (plain lines, each\n"
      "starting \"run i/N\"; the summary once at the end); runs with sites on remote hosts\n"
      "still go one at a time. The default, one at a time, keeps the runs from competing for\n"
      "the CPUs: use it for timing-sensitive results.\n"
      "--until-ci PCT: the file's repetitions (at least 2) first, then one more at a time\n"
      "for each sweep point where a compared metric's 95 % interval is wider than ±PCT % of\n"
      "its mean, up to --max-repetitions; run again, it resumes the same rounds. At the end,\n"
      "which points reached the target and which stopped at the cap without it (also\n"
      "stored: table until_ci); exit status 0 either way.\n"
      "Exit status: 0 every run completed; 1 a run failed; 2 the experiment file is invalid\n"
      "(file:line:col on stderr) or an option is; 130 interrupted.");
  cmd->add_option("file", *file, "Experiment file (YAML)")->required();
  cmd->add_option("-o,--output", *output, "Results database (SQLite), appended to")
      ->capture_default_str();
  cmd->add_flag("--loopback", *loopback, "Loopback addresses for the sites even as root");
  cmd->add_option("--ssh-config", *ssh_config,
                  "Remote sites: ssh client configuration file (ssh -F; default: your own)");
  cmd->add_flag("--fresh", *fresh,
                "Ignore earlier results in the database: run every run again (new experiment row)");
  cmd->add_option("-j,--jobs", *jobs, "Runs side by side (worker processes); 1: one at a time")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find_first_not_of("0123456789") == std::string::npos &&
                           v.find_first_not_of('0') != std::string::npos
                       ? std::string()
                       : "want a whole number of runs, 1 or more: " + v;
          },
          "N>=1"))
      ->capture_default_str();
  add_until_ci_options(cmd, *until_ci);
  cmd->callback([file, output, loopback, fresh, ssh_config, jobs, until_ci, &ctx] {
    const auto plan = load(*file, ctx);
    if (!plan) return;
    std::optional<experiments::UntilCiOptions> until;
    if (!until_ci_of(*until_ci, *plan, *fresh, ctx, until)) return;
    const auto full = until ? plan_to_cap(*file, *until, ctx) : std::nullopt;
    if (until && !full) return;
    if (!check_machine(*plan, ctx, *loopback, *ssh_config, false)) {
      ctx.exit_code = kExitFailed;
      return;
    }
    experiments::RunnerOptions o;
    o.output = *output;
    o.version = RSPLAB_VERSION;
    o.terminal = ::isatty(STDOUT_FILENO) != 0;
    o.loopback = *loopback;
    o.fresh = *fresh;
    o.ssh_config = *ssh_config;
    o.jobs = *jobs;
    if (until) {
      ctx.out << experiments::until_ci_intro(plan->repetitions,
                                             plan->runs.size() / plan->repetitions, *until);
      ctx.exit_code = experiments::exit_code(experiments::run_until_ci(
          *full, experiments::first_round(plan->repetitions), *until, o, ctx.out, ctx.err));
      return;
    }
    ctx.exit_code = experiments::exit_code(experiments::run_plan(*plan, o, ctx.out, ctx.err));
  });
}

// `rsplab plan`: the machine checked, the runs listed, nothing started.
void add_plan_command(CLI::App& app, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto faults = std::make_shared<bool>(false);
  auto verbose = std::make_shared<bool>(false);
  auto ssh_config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Check an experiment file and print its runs, without starting anything");
  cmd->footer(
      "Checks the machine first (root for namespaces, SCTP, and each remote site over ssh:\n"
      "reached, its rsplab version, its clock offset), then prints each run (index,\n"
      "parameters, repetition, seed, number of faults, key) and the estimated time; with\n"
      "--faults each run's faults too, the schedules' drawn from its seed; with --verbose\n"
      "each component group's command line as the runner starts it (<SITE>: the site's\n"
      "addresses, <registrars>: the registrars' ASAP endpoints, known at run time).\n"
      "With --until-ci PCT: the runs of the first round (the file's repetitions, at least 2)\n"
      "and how many --max-repetitions allows.\n"
      "Exit status: 0 valid; 1 valid but this machine cannot run it; 2 invalid (file:line:col).");
  cmd->add_option("file", *file, "Experiment file (YAML)")->required();
  cmd->add_flag("--faults", *faults, "List every run's faults in time order");
  cmd->add_flag("-v,--verbose", *verbose,
                "Print each component group's resolved command-line arguments");
  cmd->add_option("--ssh-config", *ssh_config,
                  "Remote sites: ssh client configuration file (ssh -F; default: your own)");
  auto until_ci = std::make_shared<UntilCiArgs>();
  add_until_ci_options(cmd, *until_ci);
  cmd->callback([file, faults, verbose, ssh_config, until_ci, &ctx] {
    auto plan = load(*file, ctx);
    if (!plan) return;
    std::optional<experiments::UntilCiOptions> until;
    if (!until_ci_of(*until_ci, *plan, false, ctx, until)) return;
    std::optional<experiments::Plan> full;
    const std::size_t file_repetitions = plan->repetitions;
    if (until) {
      // The first round's runs are the plan's, to the cap its later rounds'.
      full = plan_to_cap(*file, *until, ctx);
      if (!full) return;
      plan = experiments::load_plan(*file, RSPLAB_VERSION,
                                    experiments::first_round(file_repetitions));
    }
    const bool machine_ok = check_machine(*plan, ctx, false, *ssh_config, true);
    if (until)
      ctx.out << experiments::until_ci_intro(
          file_repetitions, plan->runs.size() / plan->repetitions, *until);
    ctx.out << plan->name << ": " << plan->runs.size() << " run(s) ("
            << plan->runs.size() / std::max<std::size_t>(1, plan->repetitions)
            << " sweep point(s) x " << plan->repetitions << " repetition(s)), estimated "
            << seconds_text(plan->estimated);
    if (full)
      ctx.out << "; with --until-ci up to " << full->runs.size() << " run(s), estimated up to "
              << seconds_text(full->estimated);
    ctx.out << "\n";
    for (const auto& r : plan->runs) {
      ctx.out << "  run " << r.index << ":";
      for (const auto& [k, v] : r.parameters) ctx.out << " " << k << "=" << v;
      ctx.out << " rep=" << r.repetition << " seed=" << r.seed;
      if (!r.faults.empty()) ctx.out << " faults=" << r.faults.size();
      ctx.out << " key=" << r.key.substr(0, 16) << "\n";
      if (*faults)
        for (const auto& f : r.faults) ctx.out << "    " << fault_text(r, f) << "\n";
      if (*verbose) print_command_lines(r, ctx.out);
    }
    ctx.out << std::flush;
    if (!machine_ok) ctx.exit_code = kExitFailed;
  });
}

// `rsplab cleanup`: what dead runners left, removed.
void add_cleanup_command(CLI::App& app, Context& ctx) {
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

}  // namespace

void add_experiment_commands(CLI::App& app, Context& ctx) {
  add_run_command(app, ctx);
  add_plan_command(app, ctx);
  add_cleanup_command(app, ctx);
}

}  // namespace rsplab
