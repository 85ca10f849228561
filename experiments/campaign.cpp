// A campaign in one process, and the steps every campaign begins with (campaign.hpp).
#include "experiments/campaign.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "agents/journal.hpp"
#include "agents/sites.hpp"
#include "experiments/progress.hpp"
#include "experiments/run_driver.hpp"

namespace rsplab::experiments {
namespace {

// Whether other runners are writing to the database, by a shared flock(2) on its log
// directory that every runner holds while it lives (the kernel drops a dead one's). Not on
// the database file itself: closing any descriptor of it would drop SQLite's own locks.
// `fd` holds the lock (-1 when it could not be opened). Workers forked later share it.
enum class Owners { none, others, unknown };
Owners lock_database(const std::string& output, std::ostream& err, int& fd) {
  const std::string dir = output + ".logs";
  ::mkdir(dir.c_str(), 0755);
  fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err << "rsplab run: warning: " << dir << ": " << std::strerror(errno)
        << ": runs left running by dead runners stay so\n";
    return Owners::unknown;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_SH);  // a conversion: others may now share it
    return Owners::none;
  }
  ::flock(fd, LOCK_SH | LOCK_NB);
  return Owners::others;
}

// The lock taken, the dead runners' runs marked, the experiments row and the keys read.
void open_database(const Plan& plan, const RunnerOptions& options, results::Store& store,
                   int& lock_fd, Campaign& c, std::ostream& out, std::ostream& err) {
  const Owners owners = lock_database(options.output, err, lock_fd);
  if (owners == Owners::none) {
    if (const auto n = store.interrupt_running("runner died"); n > 0)
      out << options.output << ": " << n
          << " run(s) left running by a runner that died: marked interrupted\n";
  } else if (owners == Owners::others) {
    err << "rsplab run: warning: another rsplab run is writing " << options.output
        << ": its runs in progress count as not done\n";
  }
  const results::ExperimentInfo e = experiment_info(plan, options);
  const auto earlier = options.fresh ? std::nullopt : store.find_experiment(e);
  c.experiment_id = earlier ? *earlier : store.add_experiment(e);
  if (!options.fresh) {
    c.completed = store.completed_keys();
    c.unfinished = store.unfinished_keys();
  }
}

// The runs of `plan` one after the other on `driver`, until one is interrupted.
RunStatus run_all(const Plan& plan, const std::vector<bool>& skip, Loop& loop,
                  RunDriver& driver, std::ostream& out) {
  RunStatus status = RunStatus::completed;
  for (const Run& r : plan.runs) {
    if (skip[r.index]) {
      out << skipped_line(plan, r) << "\n";
      continue;
    }
    if (loop.take_signal()) return RunStatus::interrupted;  // came between runs: none starts
    status = worst(status, driver.run_one(r).status);
    if (status == RunStatus::interrupted) break;
  }
  return status;
}

}  // namespace

results::ExperimentInfo experiment_info(const Plan& plan, const RunnerOptions& options) {
  results::ExperimentInfo e;
  e.name = plan.name;
  e.file = plan.file;
  e.source = plan.source;
  e.rsplab_version = options.version;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  e.host = host;
  utsname u{};
  if (::uname(&u) == 0) e.kernel = std::string(u.sysname) + " " + u.release;
  return e;
}

std::optional<Campaign> open_campaign(const Plan& plan, const RunnerOptions& options,
                                      results::Store& store, int& lock_fd, std::ostream& out,
                                      std::ostream& err) {
  const auto cleaned = agents::cleanup_dead();
  if (!cleaned.undone.empty())
    out << "cleanup: removed what dead runners left: " << join(cleaned.undone, ", ") << "\n";
  Campaign c;
  std::string why;
  c.netns = !options.loopback && agents::available(&why);
  if (!c.netns)
    out << "sites: loopback addresses (" << (options.loopback ? "--loopback" : why)
        << "); links: and the link, loss, delay, rate and partition faults are skipped\n";
  c.log_dir = options.log_dir.empty() ? options.output + ".logs" : options.log_dir;
  try {
    open_database(plan, options, store, lock_fd, c, out, err);
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
    return std::nullopt;
  }
  ::mkdir(c.log_dir.c_str(), 0755);
  return c;
}

bool remote_run(const Run& r) {
  return std::any_of(r.sites.begin(), r.sites.end(),
                     [](const Site& s) { return s.host.has_value(); });
}

std::vector<bool> announce(const Plan& plan, const RunnerOptions& options,
                           const std::set<std::string>& completed,
                           const std::set<std::string>& unfinished, std::size_t jobs,
                           std::ostream& out) {
  std::vector<bool> skip(plan.runs.size(), false);
  std::size_t done = 0, rerun = 0, local = 0;
  Duration left{}, left_local{};
  for (const Run& r : plan.runs) {
    if (completed.count(r.key) > 0) {
      skip[r.index] = true;
      ++done;
      continue;
    }
    if (unfinished.count(r.key) > 0) ++rerun;
    left += r.warmup + r.duration + kRunAllowance;
    if (!remote_run(r)) {
      left_local += r.warmup + r.duration + kRunAllowance;
      ++local;
    }
  }
  if (jobs > 1 && local > 1)  // the local runs side by side, the remote ones one at a time
    left = left - left_local + left_local / std::min(jobs, local);
  out << plan.name << ": " << plan.runs.size() << " run(s), about "
      << clock_text(std::chrono::duration<double>(left).count());
  if (jobs > 1) out << ", up to " << jobs << " at a time";
  out << "; results in " << options.output << "\n";
  if (done > 0 || rerun > 0) {
    out << "resuming: " << done << " of " << plan.runs.size() << " runs completed earlier in "
        << options.output << ", " << plan.runs.size() - done << " to run";
    if (rerun > 0) out << " (" << rerun << " interrupted/failed earlier: rerun)";
    out << "\n";
  }
  return skip;
}

std::string skipped_line(const Plan& plan, const Run& r) {
  return run_label(plan, r) + ": skipped (completed earlier, key " + r.key.substr(0, 12) +
         "…)";
}

RunStatus run_campaign(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                       std::ostream& err) {
  ::signal(SIGPIPE, SIG_IGN);
  SystemClock clock;
  Loop loop(clock, true);
  std::optional<agents::Journal> journal;
  try {
    journal.emplace(agents::Journal::open());
  } catch (const std::exception& e) {
    err << "rsplab run: journal: " << e.what() << "\n";
    return RunStatus::failed;
  }
  std::optional<results::Store> store;
  try {
    store.emplace(results::Store::open(options.output));
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
    return RunStatus::failed;
  }
  int lock_fd = -1;
  const auto campaign = open_campaign(plan, options, *store, lock_fd, out, err);
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{lock_fd};
  if (!campaign) return RunStatus::failed;
  // What an earlier runner did into this file: completed keys are skipped.
  const auto skip = announce(plan, options, campaign->completed, campaign->unfinished, 1, out);
  ChildAgents agents(loop.io(), *journal, options.ssh_config);
  RunDriver driver({plan, options, loop, agents, *store, out, err, campaign->experiment_id,
                    campaign->netns, campaign->log_dir, &*journal});
  driver.progress().begin(loop.now(), skip);
  const RunStatus status = run_all(plan, skip, loop, driver, out);
  summarize(*store, plan, options, campaign->experiment_id, out, err);
  return status;
}

}  // namespace rsplab::experiments
