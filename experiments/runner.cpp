// `rsplab run`'s entry points (runner.hpp): one process or --jobs N workers, the summary
// of a campaign carried out in rounds, and the components' command lines. The parts are
// campaign.hpp (the campaign loop), run_driver.hpp (one run), deployment.hpp, fault_injection.hpp,
// progress.hpp, workers.hpp; the clock and the agents are injected (run_clock.hpp,
// agent_link.hpp).
#include "experiments/runner.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/campaign.hpp"
#include "experiments/progress.hpp"
#include "experiments/workers.hpp"
#include "results/store.hpp"

namespace rsplab::experiments {
namespace {

using std::chrono::milliseconds;

std::string ms_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + "ms";
}

// FNV-1a: a stable per-name offset of a run's seed (groups draw different workloads).
std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

RunStatus run_plan(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                   std::ostream& err) {
  if (options.jobs > 1) return run_side_by_side(plan, options, out, err);
  return run_campaign(plan, options, out, err);
}

std::optional<std::int64_t> campaign_experiment(const results::Store& store, const Plan& plan,
                                                const RunnerOptions& options) {
  return store.find_experiment(experiment_info(plan, options));
}

void print_summary(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                   std::ostream& err) {
  try {
    results::Store store = results::Store::open(options.output);
    const auto id = campaign_experiment(store, plan, options);
    RunnerOptions o = options;
    o.summary = true;
    summarize(store, plan, o, id.value_or(0), out, err);
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
  }
}

std::vector<std::string> registrar_args(const Run& r, const Registrar& pr,
                                        const std::string& addresses, const std::string& peers) {
  options::RegistrarOptions o = pr.options;
  o.transport = r.transport;
  o.asap = addresses + ":0";
  o.enrp = addresses + ":0";
  if (!peers.empty()) o.peer = peers;
  if (announced(r)) o.announce = kAnnounceGroup;
  return options::to_args(o);
}

std::vector<std::string> pe_args(const Run& r, const PeGroup& g, const std::string& addresses,
                                 const std::string& registrars) {
  options::PeOptions o = g.options;
  if (g.announce) o.announce = kAnnounceGroup;
  else o.registrar = registrars;
  o.pool = g.pool;
  o.policy = g.policy;
  o.count = g.count;
  o.local = addresses;
  o.transport = r.transport;
  o.seed = (r.seed ^ name_hash(g.name)) | 1;
  o.control = "stdin";
  return options::to_args(o);
}

std::vector<std::string> pu_args(const Run& r, const PuGroup& g, const std::string& addresses,
                                 const std::string& registrars) {
  options::PuOptions o = g.options;
  o.registrar = registrars;
  o.pool = g.pool;
  o.count = g.count;
  o.local = addresses;
  o.transport = r.transport;
  o.seed = (r.seed ^ name_hash(g.name)) | 1;
  o.name = g.name;
  o.runtime = ms_text(r.warmup + r.duration);
  o.control = "stdin";
  return options::to_args(o);
}

}  // namespace rsplab::experiments
