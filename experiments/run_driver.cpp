// One run, deployment to outcome (run_driver.hpp).
#include "experiments/run_driver.hpp"

#include <stdexcept>

#include "results/store.hpp"

namespace rsplab::experiments {

RunDriver::RunDriver(const Setup& s)
    : plan_(s.plan),
      options_(s.options),
      loop_(s.loop),
      out_(s.out),
      err_(s.err),
      experiment_id_(s.experiment_id),
      worker_(s.worker),
      record_(s.store),
      progress_(s.plan, s.options.terminal, s.out),
      deployment_({s.loop, s.agents, record_, s.options, s.out, s.err, s.log_dir, s.netns,
                   s.journal}),
      faults_(s.loop, deployment_, record_, s.options.terminal, s.out) {
  deployment_.on_step = [this] { progress_.update(record_, loop_.now(), true, worker_); };
  // A lost agent ends the run unless the teardown is in progress.
  loop_.before_wait = [this] {
    if (!deployment_.lost().empty() && !deployment_.tearing_down())
      throw std::runtime_error(deployment_.lost());
    deployment_.heartbeat();
  };
  loop_.after_wait = [this] {
    progress_.update(record_, loop_.now(), false, worker_);
    if (after_wait) after_wait();
  };
}

Outcome RunDriver::run_one(const Run& r) {
  record_.reset(r);
  deployment_.reset();
  Outcome outcome;
  try {
    deploy_and_run(r);
  } catch (const std::exception& e) {
    outcome = {RunStatus::failed, e.what()};
  }
  // A signal ends the run interrupted wherever it came: a deployment step it cut short gave
  // up (threw) without having failed.
  if (loop_.take_signal()) {
    outcome = {RunStatus::interrupted, interruption()};
  } else if (outcome.status == RunStatus::failed) {
    if (options_.terminal) out_ << "\n";
    err_ << "rsplab run: run " << (r.index + 1) << " failed: " << outcome.reason << "\n";
  }
  deployment_.teardown();
  close_run(r, outcome);
  record_.run = nullptr;
  return outcome;
}

void RunDriver::deploy_and_run(const Run& r) {
  const RegistrarEndpoints registrars = deployment_.deploy(r);
  // The run's clock starts now.
  record_.clock_started = loop_.now();
  record_.events_at_clock_start = record_.events_stored;
  begin_run(r);
  const auto runtime = r.warmup + r.duration;
  deployment_.start_pus(r, registrars);
  // Faults at their times, then the end of the PUs.
  if (!faults_.run_schedule(fault_schedule(r), runtime)) return;
  const auto pus_done = [&] {
    for (const auto& g : r.pus)
      if (!record_.components[g.name].exited) return false;
    return true;
  };
  loop_.pump(pus_done, *record_.clock_started + runtime + std::chrono::seconds(60));
  if (loop_.interrupted()) return;
  if (!pus_done()) throw std::runtime_error("PUs did not end 60 s after their runtime");
}

void RunDriver::begin_run(const Run& r) {
  record_.begin(run_info(r, experiment_id_, record_.transport_used, loop_.unix_us()),
                deployment_.site_clocks());
  if (on_row) on_row(*record_.run_id);
}

// The run's row ended with `outcome` (one saying so when it never reached readiness), its
// checks stored with it, and its closing lines.
void RunDriver::close_run(const Run& r, const Outcome& outcome) {
  if (!record_.run_id) begin_run(r);
  results::Store& store = record_.store;
  // A completed run's checks are stored with it, before it counts as completed.
  std::vector<results::RunCheck> checks = {record_.check_counts()};
  if (outcome.status == RunStatus::completed) {
    checks.push_back(results::check_registered_capacity(store, *record_.run_id));
    for (const auto& c : checks) store.add_check(*record_.run_id, c);
  }
  const auto run_cost = run_resources(record_, loop_.now());
  const auto processes = process_usage(record_);
  for (const auto& p : processes) store.add_process_usage(*record_.run_id, p);
  store.set_run_resources(*record_.run_id, run_cost);
  store.end_run(*record_.run_id, outcome.status, loop_.unix_us(), outcome.reason);
  if (options_.terminal) out_ << "\n";
  out_ << completion_line(plan_, r, outcome.status, checks, record_) << "\n";
  for (const auto& c : checks) out_ << "  " << c.message << "\n";
  out_ << resources(run_cost, processes) << std::flush;
}

// An interrupted run's reason: the signal, and the deployment step it came in (or "during the
// run" once the run's clock started).
std::string RunDriver::interruption() const {
  const std::string sig = loop_.signal_name();
  if (record_.clock_started) return sig + " during the run";
  return sig + " while deploying" + (record_.step.empty() ? "" : ": " + record_.step);
}

}  // namespace rsplab::experiments
