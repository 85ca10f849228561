// The progress line, a run's closing lines and the campaign's summary (progress.hpp).
#include "experiments/progress.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "results/store.hpp"
#include "results/summary.hpp"

namespace rsplab::experiments {

using std::chrono::milliseconds;

std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string run_label(const Plan& plan, const Run& r) {
  std::ostringstream s;
  s << "run " << (r.index + 1) << "/" << plan.runs.size();
  for (const auto& [k, v] : r.parameters) s << " " << k << "=" << v;
  s << " rep " << r.repetition;
  return s.str();
}

bool runs_service(const Run& r, const std::string& service) {
  if (r.pus.empty()) return service == "calcapp";
  return std::any_of(r.pus.begin(), r.pus.end(),
                     [&](const PuGroup& g) { return *g.options.service == service; });
}

std::string work_text(const Run& r, const RunRecord& record,
                      std::optional<std::int64_t> measured) {
  std::vector<std::string> parts;
  if (runs_service(r, "calcapp")) {
    std::string jobs = std::to_string(record.jobs_done) + " jobs completed (warm-up included)";
    if (measured) jobs += ", " + std::to_string(*measured) + " in the measured window";
    parts.push_back(jobs);
  }
  if (runs_service(r, "echo")) {
    // Once the run's row exists, its ended series as stored (echo_series); before, as counted.
    results::EchoTotals ended{record.echo_ended, record.echo_round_trips, 0, 0};
    if (record.run_id && measured) ended = results::echo_totals(record.store, {*record.run_id});
    std::string echo = std::to_string(record.echo_series) + " echo series";
    if (ended.series > 0) {
      echo += " (" + std::to_string(ended.series) + " ended): " +
              std::to_string(ended.round_trips) + " round trips (warm-up included)";
      if (measured) echo += ", " + std::to_string(ended.duplicates) + " duplicates";
    }
    parts.push_back(echo);
  }
  return join(parts, ", ");
}

void Progress::begin(RunClock::time_point now, std::vector<bool> skip) {
  campaign_start_ = now;
  skip_ = std::move(skip);
}

void Progress::update(const RunRecord& record, RunClock::time_point now, bool force,
                      bool worker) {
  const Run* run = record.run;
  if (!run) return;
  const auto every = terminal_ ? milliseconds(500) : milliseconds(10000);
  if (!force && now - last_ < every) return;
  last_ = now;
  const auto& started = record.clock_started;
  const double t = started ? std::chrono::duration<double>(now - *started).count() : 0;
  const double total = std::chrono::duration<double>(run->warmup + run->duration).count();
  std::ostringstream line;
  line << run_label(plan_, *run) << ": " << clock_text(t) << "/" << clock_text(total) << ", ";
  if (started)
    line << work_text(*run, record, std::nullopt) << ", " << record.failovers << " failovers";
  else
    line << "deploying: " << record.step;
  double left = 0;
  for (std::size_t i = run->index; i < plan_.runs.size(); ++i)
    if (i >= skip_.size() || !skip_[i])
      left += std::chrono::duration<double>(plan_.runs[i].warmup + plan_.runs[i].duration +
                                            kRunAllowance).count();
  left -= std::min(t, total);
  line << ", elapsed "
       << clock_text(std::chrono::duration<double>(now - campaign_start_).count());
  if (!worker) line << ", remaining ~" << clock_text(left);
  if (terminal_)
    out_ << "\r\033[K" << line.str() << std::flush;
  else
    out_ << line.str() << "\n" << std::flush;
}

std::string completion_line(const Plan& plan, const Run& r, RunStatus status,
                            const std::vector<results::RunCheck>& checks,
                            const RunRecord& record) {
  std::ostringstream line;
  line << "run " << (r.index + 1) << "/" << plan.runs.size() << " " << status_text(status)
       << ": ";
  std::optional<std::int64_t> measured;
  if (status == RunStatus::completed) {
    const auto totals = results::summarize(record.store, {*record.run_id});
    measured = totals.empty() ? 0 : totals[0].jobs_completed;
  }
  line << work_text(r, record, measured) << ", " << record.failovers << " failovers";
  if (record.generated && runs_service(r, "calcapp"))
    line << "; the PUs generated " << *record.generated << " jobs";
  std::string warned;
  for (const auto& c : checks)
    if (c.status != "ok") warned += (warned.empty() ? "" : ", ") + c.name;
  if (!warned.empty()) line << "; WARNING: " << warned;
  return line.str();
}

namespace {
double cpu_s(const rusage& u) {
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}
}  // namespace

double own_cpu_s() {
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  return cpu_s(self);
}

results::RunResources run_resources(const RunRecord& record, RunClock::time_point now) {
  results::RunResources r;
  r.events_stored = record.events_stored;
  if (record.clock_started) {
    r.deploy_s =
        std::chrono::duration<double>(*record.clock_started - record.deploy_started).count();
    const double measured = std::chrono::duration<double>(now - *record.clock_started).count();
    if (measured > 0) r.events_per_s = (record.events_stored - record.events_at_clock_start) / measured;
  }
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  r.runner_max_rss_kib = self.ru_maxrss;
  r.runner_cpu_s = cpu_s(self) - record.runner_cpu_at_deploy;
  return r;
}

std::vector<results::ProcessUsage> process_usage(const RunRecord& record) {
  std::vector<results::ProcessUsage> out;
  for (const auto& [name, c] : record.components)
    out.push_back({name, c.role, c.site,
                   std::max<std::int64_t>(1, static_cast<std::int64_t>(c.members.size())),
                   c.exited, c.max_rss_kib, c.cpu_s});
  return out;
}

namespace {

// "; pe x2 12 MB / 0.5 s" for the processes of `role` (nothing when there are none).
std::string role_usage(const std::vector<results::ProcessUsage>& processes, const char* role) {
  std::int64_t rss = 0;
  double cpu = 0;
  int n = 0;
  for (const auto& p : processes)
    if (p.role == role) {
      rss = std::max(rss, p.max_rss_kib);
      cpu += p.cpu_s;
      ++n;
    }
  if (n == 0) return "";
  char buf[160];
  std::snprintf(buf, sizeof buf, "; %s x%d %.0f MB / %.1f s", role, n, rss / 1024.0, cpu);
  return buf;
}

}  // namespace

std::string resources(const results::RunResources& run,
                      const std::vector<results::ProcessUsage>& processes) {
  if (!run.deploy_s) return "";
  std::ostringstream s;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "  deployed in %.1f s; %lld events stored (%.0f/s while running)\n", *run.deploy_s,
                static_cast<long long>(run.events_stored), run.events_per_s.value_or(0.0));
  s << buf;
  std::snprintf(buf, sizeof buf, "  peak RSS / CPU: runner %.0f MB / %.1f s",
                run.runner_max_rss_kib / 1024.0, run.runner_cpu_s);
  s << buf;
  for (const char* role : {"registrar", "pe", "pu"}) s << role_usage(processes, role);
  s << "\n";
  return s.str();
}

void summarize(results::Store& store, const Plan& plan, const RunnerOptions& options,
               std::int64_t experiment_id, std::ostream& out, std::ostream& err) {
  store.flush();
  if (!options.summary) return;
  out << "\nresults: " << options.output << "\n";
  // Per policy and sweep point over the plan's completed runs, each key once (its newest
  // completed row, also one of an earlier invocation; with --fresh only this one's).
  try {
    std::vector<std::string> keys;
    for (const Run& r : plan.runs) keys.push_back(r.key);
    const auto runs = results::completed_runs(
        store, keys, options.fresh ? std::optional<std::int64_t>(experiment_id) : std::nullopt);
    out << results::summary_table(results::summarize(store, runs));
  } catch (const std::exception& e) {
    err << "rsplab run: summary: " << e.what() << "\n";
  }
}

}  // namespace rsplab::experiments
