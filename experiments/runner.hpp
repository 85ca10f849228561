// `rsplab run`: carries out a Plan, run by run, into one results database.
//
//   per run: sites (network namespaces, or loopback without root) ─► one agent per site
//     ─► registrars (wait for their ASAP endpoints) ─► PE groups (wait until every PE is
//        registered: the run's clock starts) ─► PU groups (--runtime warm-up + duration)
//     ─► faults at their times ─► PUs end ─► agents stop their components ─► sites removed
//   every event of every component ─► results::Store (rows in µs since the run's start)
//
// The driver is single-threaded: one io_context for the agents' pipes and the timers; the
// steps wait on it with bounded deadlines. With --jobs N, N drivers run side by side, each
// in a worker process of its own (run_plan).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/outcome.hpp"

namespace rsplab::results {
class Store;
}

namespace rsplab::experiments {

struct RunnerOptions {
  std::string output = "results.db";
  std::string version;       // rsplab's, stored with the experiment
  bool terminal = false;     // progress on one updated line; else plain lines
  bool loopback = false;     // force loopback sites even as root
  std::string log_dir;       // components' stderr files (default: beside the database)
  bool fresh = false;        // ignore earlier results in `output`: run every run again
  // Runs side by side, each in a worker process of its own (>= 1). 1: one at a time in this
  // process, for timing-sensitive results.
  std::size_t jobs = 1;
  std::string ssh_config;    // remote sites: `ssh -F` this file (empty: the user's own)
  // At the end, where the results are and the closing table; false: neither (a round of
  // --until-ci, which prints them once after its last round: print_summary).
  bool summary = true;
};

// Runs every run of `plan`; prints progress to `out`, problems to `err`, and at the end where
// the results are and a table per policy. Returns the campaign's status (outcome.hpp: its
// exit_code is `rsplab run`'s): completed when every run completed, failed when one failed,
// interrupted on SIGINT/SIGTERM — the current run is marked interrupted, whether its clock
// had started or it was still being deployed (its reason names the signal and the step), and
// what it deployed is removed; no further run starts.
//
// Resuming: run again into the same database (unless `fresh`), a run whose key has a
// completed row there is skipped, and said so; interrupted and failed ones run again (a new
// row each attempt). The campaign keeps its experiments row (same name, source and
// version). Every runner holds a shared flock(2) on the database's log directory
// ("<output>.logs") while it runs; one that finds no other holder marks the runs left
// `running` (their runner died) interrupted, reason "runner died".
//
// Side by side (`jobs` > 1): this process opens the database, takes the lock, records the
// experiment and skips the completed keys as above, then closes its connection and forks
// min(jobs, runs to do) workers (before any io_context or thread exists here: a worker's
// agents die with the thread that forked them). Each worker is a driver of its own (its
// SQLite connection, committing every 100 ms so the others' writes wait briefly; its
// journal; its runs' namespaces, tagged by its pid) that claims the next run of a queue in
// shared memory until none is left, and prints whole lines, each starting with "run i/N".
// No progress line is updated in place. Runs with a site on a remote host (Site::host) go
// one at a time after the others. SIGINT/SIGTERM are forwarded to the workers, which mark
// their runs interrupted; the parent waits for them. A run whose worker ended before it
// (killed, crashed) is marked failed with the reason. Then the summary, once; the status as
// above.
RunStatus run_plan(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                   std::ostream& err);

// The experiments row run_plan records `plan` under in `store` (options.output): the newest
// with its name, file contents and version; nullopt before the first run_plan.
std::optional<std::int64_t> campaign_experiment(const results::Store& store, const Plan& plan,
                                                const RunnerOptions& options);

// What run_plan prints at its end (where the results are, the closing table over the plan's
// completed runs), for a plan carried out by several run_plan calls (--until-ci's rounds).
void print_summary(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                   std::ostream& err);

// The arguments after `rsplab registrar|pe|pu` the runner gives each component group of
// run `r`: `addresses` the site's addresses (a comma list, known once its namespace
// exists), `registrars` the registrars' ASAP endpoints (known once they listen), `peers`
// the ENRP endpoints of the registrars started before this one (its static ENRP peers; the
// later ones find it by its own). `rsplab plan --verbose` prints them with placeholders.
std::vector<std::string> registrar_args(const Run& r, const Registrar& pr,
                                        const std::string& addresses, const std::string& peers);

std::vector<std::string> pe_args(const Run& r, const PeGroup& g, const std::string& addresses,
                                 const std::string& registrars);
std::vector<std::string> pu_args(const Run& r, const PuGroup& g, const std::string& addresses,
                                 const std::string& registrars);

}  // namespace rsplab::experiments
