#include "experiments/runner.hpp"

#include <utility>  // before Asio

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agents/child.hpp"
#include "agents/ip.hpp"
#include "agents/journal.hpp"
#include "agents/remote.hpp"
#include "agents/sites.hpp"
#include "experiments/outcome.hpp"
#include "results/checks.hpp"
#include "results/store.hpp"
#include "results/summary.hpp"
#include "stack/common/split.hpp"
#include "stack/common/wall_clock.hpp"

namespace rsplab::experiments {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// This host's clock, as its events' (stack/common/wall_clock.hpp).
std::int64_t unix_us() { return common::wall_clock_us(); }

std::string ms_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + "ms";
}

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

// FNV-1a: a stable per-name offset of a run's seed (groups draw different workloads).
std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// One component process as its agent reports it.
struct Component {
  std::string name;  // "pr0", "CalcAppPool/pe0"
  std::string role;  // registrar | pe | pu
  std::string site;
  std::string pool, policy;
  std::vector<std::string> lines;  // what it printed that is not an event
  std::optional<json> summary;     // a PU's counters line
  bool exited = false;
  int code = -1;
  std::string status;
  long max_rss_kib = 0;  // from its agent, once exited
  double cpu_s = 0;
  std::map<std::size_t, std::string> members;  // member index → event id
  std::map<std::string, std::int64_t> rows;    // event id → components row
  std::vector<std::string> args;  // as started (a registrar's restart reuses them)
  std::string current_id;         // a registrar's: the id of its latest event
  std::map<std::size_t, double> capacities;  // a PE group's, by member (kept by restarts)
};

struct Member {
  std::string component;
  std::size_t index;
  std::string id;
  bool killed = false, stopped = false;
  bool replaced = false;  // restarted: a new member (new id) took its place
};

// ---- what one runner and the workers of `--jobs N` share ----------------------------------

// "run 2/5 policy=rr rep 0"
std::string run_label(const Plan& plan, const Run& r) {
  std::ostringstream s;
  s << "run " << (r.index + 1) << "/" << plan.runs.size();
  for (const auto& [k, v] : r.parameters) s << " " << k << "=" << v;
  s << " rep " << r.repetition;
  return s.str();
}

// A run's row as begin_run() stores it; `transport` is what was used.
results::RunInfo run_info(const Run& r, std::int64_t experiment_id, const std::string& transport,
                          std::int64_t start_us) {
  results::RunInfo info;
  info.experiment_id = experiment_id;
  info.index = r.stored_index.value_or(r.index);
  info.key = r.key;
  info.parameters = r.parameters;
  info.seed = r.seed;
  info.repetition = r.repetition;
  info.transport = transport;
  info.resolved = r.resolved;
  info.start_unix_us = start_us;
  info.warmup_us = std::chrono::duration_cast<std::chrono::microseconds>(r.warmup).count();
  info.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
  return info;
}

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

// What a campaign starts from, one runner or the parent of --jobs workers alike.
struct Campaign {
  bool netns = false;  // sites in network namespaces (else loopback)
  std::string log_dir;
  std::int64_t experiment_id = 0;
  std::set<std::string> completed, unfinished;  // run keys in the file (none with --fresh)
};

// Removes what dead runners left, chooses the sites' backend, takes the shared lock on the
// database (`lock_fd`; marks the runs of dead runners interrupted when no one else holds
// it), finds or adds the experiments row and reads the keys done earlier, into `store`.
// Says what it did on `out`/`err`; nullopt (after saying why) when the file is unusable.
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
        << "); link, loss and partition faults are skipped\n";
  c.log_dir = options.log_dir.empty() ? options.output + ".logs" : options.log_dir;
  try {
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
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
    return std::nullopt;
  }
  ::mkdir(c.log_dir.c_str(), 0755);
  return c;
}

// A run with a site on a remote host (reached over ssh): never side by side with another
// (the sites' uplink in the root namespace is one per machine; ssh hosts are shared).
bool remote_run(const Run& r) {
  return std::any_of(r.sites.begin(), r.sites.end(),
                     [](const Site& s) { return s.host.has_value(); });
}

// The campaign's first lines (how many runs, about how long, what is resumed); by run index
// whether it is skipped (its key completed earlier). `jobs` > 1: runs side by side.
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

void summarize(results::Store& store, const Plan& plan, const RunnerOptions& options,
               std::int64_t experiment_id, std::ostream& out, std::ostream& err);

// Set by the parent's SIGINT/SIGTERM handler under --jobs N; a worker inherits it until its
// Driver's signal_set takes over, and looks at it then.
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_parent_signal(int sig) { g_signal = sig; }

// One worker's claim, in shared memory: the run it carries out (-1: none) and that run's row
// once it exists (0: not yet), for the parent to mark should the worker die.
struct Slot {
  std::atomic<std::int64_t> run{-1};
  std::atomic<std::int64_t> row{0};
};

// The queue's state, in shared memory.
struct Board {
  std::atomic<std::size_t> next{0};      // the next position in the queue to claim
  std::atomic<int> stop{0};              // set: nobody claims another run
  std::atomic<std::int64_t> busy_us{0};  // Σ over the workers of the time in their runs
};
static_assert(std::atomic<std::int64_t>::is_always_lock_free &&
              std::atomic<std::size_t>::is_always_lock_free &&
              std::atomic<int>::is_always_lock_free);  // shared between processes

// A run's status in shared memory: 0 until it ended, then 1 + its RunStatus.
int shared_status(RunStatus s) { return 1 + static_cast<int>(s); }
std::optional<RunStatus> shared_status(int v) {
  if (v == 0) return std::nullopt;
  return static_cast<RunStatus>(v - 1);
}

// A worker's output stream: whole lines only, each written at once (one write(2) on stdout
// or stderr, else the target flushed per line), so the workers' lines never mix within a
// line. A line says which run it belongs to: "run 3/8: " before it unless it starts with
// "run " (after "rsplab run: " for error lines). Empty lines (the terminal's) are dropped.
class LineBuf : public std::streambuf {
 public:
  explicit LineBuf(std::ostream& target) : target_(target) {}
  ~LineBuf() override {
    if (!line_.empty()) emit();
  }
  void set_run(std::string prefix) { prefix_ = std::move(prefix); }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    put(traits_type::to_char_type(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) put(s[i]);
    return n;
  }

 private:
  void put(char c) {
    if (c == '\n') emit();
    else if (c != '\r') line_.push_back(c);
  }
  void emit() {
    std::string text = decorate();
    line_.clear();
    if (text.empty()) return;
    text.push_back('\n');
    const int fd = &target_ == &std::cout ? STDOUT_FILENO : &target_ == &std::cerr ? STDERR_FILENO : -1;
    if (fd < 0) {
      target_ << text << std::flush;
      return;
    }
    for (std::size_t at = 0; at < text.size();) {
      const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      at += static_cast<std::size_t>(n);
    }
  }
  std::string decorate() const {
    if (line_.find_first_not_of(" \t") == std::string::npos) return "";
    if (prefix_.empty() || line_.rfind("run ", 0) == 0) return line_;
    static const std::string tool = "rsplab run: ";
    if (line_.rfind(tool, 0) == 0)
      return line_.compare(tool.size(), 4, "run ") == 0 ? line_
                                                         : tool + prefix_ + line_.substr(tool.size());
    return prefix_ + line_;
  }
  std::ostream& target_;
  std::string line_, prefix_;
};

// What a worker's Driver takes from the parent.
struct WorkerPost {
  Board* board = nullptr;
  Slot* slot = nullptr;                            // this worker's
  std::atomic<int>* outcomes = nullptr;            // by run index (shared_status)
  const std::vector<std::size_t>* queue = nullptr;  // run indices, claimed in this order
  std::int64_t experiment_id = 0;
  bool netns = false;
  std::string log_dir;
  LineBuf* out = nullptr;
  LineBuf* err = nullptr;
};

// How long a worker's SQLite connection waits for another worker's write transaction (they
// last ~kWorkerFlush, see Driver::pump) before its write fails.
constexpr std::chrono::milliseconds kWorkerBusyTimeout{60000};
constexpr auto kWorkerFlush = std::chrono::milliseconds(100);

class Driver {
 public:
  Driver(const Plan& plan, const RunnerOptions& options, std::ostream& out, std::ostream& err)
      : plan_(plan), options_(options), out_(out), err_(err), signals_(io_, SIGINT, SIGTERM) {}
  ~Driver() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // A worker of --jobs N (in its own process, forked before this Driver was made): claims
  // runs from the parent's queue and carries them out until the queue is empty or it is
  // interrupted; the parent did the rest (lock, experiments row, skipping, summary). The
  // worst of its runs' statuses (completed when it took none).
  RunStatus work(WorkerPost& post);

  // The campaign in this process: the worst of its runs' statuses.
  RunStatus run() {
    ::signal(SIGPIPE, SIG_IGN);
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) on_signal(sig);
    });
    try {
      journal_.emplace(agents::Journal::open());
    } catch (const std::exception& e) {
      err_ << "rsplab run: journal: " << e.what() << "\n";
      return RunStatus::failed;
    }
    try {
      store_.emplace(results::Store::open(options_.output));
    } catch (const std::exception& e) {
      err_ << "rsplab run: " << options_.output << ": " << e.what() << "\n";
      return RunStatus::failed;
    }
    const auto campaign = open_campaign(plan_, options_, *store_, lock_fd_, out_, err_);
    if (!campaign) return RunStatus::failed;
    netns_ = campaign->netns;
    log_dir_ = campaign->log_dir;
    experiment_id_ = campaign->experiment_id;

    // What an earlier runner did into this file: completed keys are skipped.
    skip_ = announce(plan_, options_, campaign->completed, campaign->unfinished, 1, out_);
    campaign_start_ = Clock::now();
    RunStatus status = RunStatus::completed;
    for (const Run& r : plan_.runs) {
      if (skip_[r.index]) {
        out_ << label(r) << ": skipped (completed earlier, key " << r.key.substr(0, 12)
             << "…)\n";
        continue;
      }
      if (take_signal()) {  // came between runs: none starts
        status = RunStatus::interrupted;
        break;
      }
      status = worst(status, run_one(r).status);
      if (status == RunStatus::interrupted) break;
    }
    summarize();
    return status;
  }

 private:
  // ---- the event loop -------------------------------------------------------------------
  // Runs the io_context until `done()` or `timeout` or an interrupt; whether done() held.
  // A lost agent ends the run (throws) unless the teardown is in progress.
  bool pump(const std::function<bool()>& done, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (!lost_.empty() && !tearing_down_) throw std::runtime_error(lost_);
      heartbeat();
      if ((interrupted_ && !tearing_down_) || Clock::now() >= deadline) return done();
      io_.run_one_for(milliseconds(20));
      if (io_.stopped()) io_.restart();
      progress(false);
      if (worker_) share_the_database();
    }
    return true;
  }

  // "run 2/5 policy=rr rep 0"
  std::string label(const Run& r) const { return run_label(plan_, r); }

  // ---- signals ----------------------------------------------------------------------------
  void on_signal(int sig) {
    interrupted_ = true;
    signal_ = sig;
  }

  // Whether SIGINT/SIGTERM came, also one whose handler has not run yet.
  bool take_signal() {
    if (!interrupted_) {
      io_.poll();
      if (io_.stopped()) io_.restart();
    }
    return interrupted_;
  }

  // An interrupted run's reason: the signal, and the deployment step it came in (or "during
  // the run" once the run's clock started).
  std::string interruption() const {
    const std::string sig = signal_ == SIGINT    ? "SIGINT"
                            : signal_ == SIGTERM ? "SIGTERM"
                                                 : "signal " + std::to_string(signal_);
    if (clock_started_) return sig + " during the run";
    return sig + " while deploying" + (step_.empty() ? "" : ": " + step_);
  }

  void progress(bool force) {
    if (!run_) return;
    const auto now = Clock::now();
    const auto every = options_.terminal ? milliseconds(500) : milliseconds(10000);
    if (!force && now - last_progress_ < every) return;
    last_progress_ = now;
    const double t = clock_started_ ? std::chrono::duration<double>(now - *clock_started_).count() : 0;
    const double total = std::chrono::duration<double>(run_->warmup + run_->duration).count();
    std::ostringstream line;
    line << label(*run_) << ": " << clock_text(t) << "/" << clock_text(total) << ", ";
    if (clock_started_)
      line << jobs_done_ << " jobs completed (warm-up included), " << failovers_ << " failovers";
    else
      line << "deploying: " << step_;
    double left = 0;
    for (std::size_t i = run_->index; i < plan_.runs.size(); ++i)
      if (!skip_[i])
        left += std::chrono::duration<double>(plan_.runs[i].warmup + plan_.runs[i].duration +
                                              kRunAllowance).count();
    left -= std::min(t, total);
    line << ", elapsed " << clock_text(std::chrono::duration<double>(now - campaign_start_).count());
    if (!worker_) line << ", remaining ~" << clock_text(left);  // a worker knows its run only
    if (options_.terminal)
      out_ << "\r\033[K" << line.str() << std::flush;
    else
      out_ << line.str() << "\n" << std::flush;
  }

  // ---- agents -----------------------------------------------------------------------------
  // A local site's agent runs here (in its namespace, if any); a remote site's over ssh.
  void start_agent(const Site& s, const std::string& netns) {
    const std::string& site = s.name;
    std::vector<std::string> argv;
    if (s.host) {
      // It stops by itself after 60 s without a request (heartbeat(): one every 10 s), should
      // this end vanish without closing the connection.
      argv = agents::ssh_command(*s.host, options_.ssh_config, s.rsplab,
                                 {"agent", "--stdio", "--idle-timeout", "60s"});
    } else {
      argv = {agents::Child::self_exe(), "agent", "--stdio"};
      if (!netns.empty()) argv = agents::netns_exec(netns, argv);
    }
    agents::Child::Options o;
    o.stderr_path = log_dir_ + "/run" + std::to_string(run_->index) + "-" + site + ".log";
    auto child = agents::Child::spawn(
        io_, argv,
        {[this, site](const std::string& line) { on_agent_line(site, line); },
         [this, site](int status) { on_agent_exit(site, status); }},
        o);
    const auto st = agents::process_start_time(child->pid());
    journal_->add("pid " + std::to_string(child->pid()) + " " + std::to_string(st));
    Agent& a = agents_[site];
    a.child = child;
    a.journal_entry = "pid " + std::to_string(child->pid()) + " " + std::to_string(st);
    a.host = s.host;
    a.log = o.stderr_path;
    child->write_line(json{{"op", "hello"}}.dump());
  }

  // An agent that ends before the teardown asked it to: the run cannot go on (its
  // components died with it, or a remote one is out of reach).
  void on_agent_exit(const std::string& site, int status) {
    Agent& a = agents_[site];
    a.exited = true;
    if (tearing_down_ || !lost_.empty()) return;
    std::string tail;
    if (std::FILE* f = std::fopen(a.log.c_str(), "r")) {  // the last line it (or ssh) wrote
      char line[512];
      while (std::fgets(line, sizeof line, f)) tail = line;
      std::fclose(f);
      while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    }
    lost_ = "lost the agent of site " + site +
            (a.host ? " (ssh " + *a.host + ")" : std::string()) + ": " +
            (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                               : "signal " + std::to_string(WTERMSIG(status))) +
            (tail.empty() ? std::string() : ": " + tail);
  }

  // Remote agents hear from the runner at least every 10 s (their --idle-timeout is 60 s).
  void heartbeat() {
    const auto now = Clock::now();
    if (now - last_heartbeat_ < std::chrono::seconds(10)) return;
    last_heartbeat_ = now;
    for (const auto& [site, a] : agents_)
      if (a.host && a.estimate && !a.exited) send(site, {{"op", "time"}, {"seq", -1}});
  }

  // Clock round trips with an agent: kClockSamples in a row, each sent when the last came.
  void ask_time(const std::string& site) {
    Agent& a = agents_[site];
    a.time_sent_us = unix_us();
    send(site, {{"op", "time"}, {"seq", a.clock.size()}});
  }

  void send(const std::string& site, const json& request) {
    const auto it = agents_.find(site);
    if (it != agents_.end() && it->second.child) it->second.child->write_line(request.dump());
  }

  void on_agent_line(const std::string& site, const std::string& line) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      err_ << "\nrsplab run: agent " << site << ": not a protocol line: " << line << "\n";
      return;
    }
    const std::string op = j.value("op", "");
    if (op == "stopped") {
      agents_[site].stopped = true;
      return;
    }
    if (op == "error") {
      err_ << "\nrsplab run: agent " << site << ": " << j.value("message", "") << "\n";
      return;
    }
    if (op == "link") {
      if (!j.value("ok", false))
        err_ << "\nrsplab run: agent " << site << ": link: " << j.value("error", "") << "\n";
      return;
    }
    if (op == "hello") {
      Agent& a = agents_[site];
      a.hello = j;
      ask_time(site);
      return;
    }
    if (op == "time") {
      Agent& a = agents_[site];
      if (a.estimate) return;  // a heartbeat's answer
      a.clock.push_back({a.time_sent_us, j.value("unix_us", std::int64_t{0}), unix_us()});
      if (a.clock.size() < agents::kClockSamples) ask_time(site);
      else a.estimate = agents::estimate_clock(a.clock);
      return;
    }
    if (op == "started") return;
    const std::string name = j.value("name", "");
    const auto c = components_.find(name);
    if (c == components_.end()) return;
    Component& comp = c->second;
    if (op == "line") {
      comp.lines.push_back(j.value("line", ""));
    } else if (op == "exited") {
      comp.exited = true;
      comp.code = j.value("code", -1);
      comp.status = j.value("status", "");
      comp.max_rss_kib = j.value("max_rss_kib", 0L);
      comp.cpu_s = j.value("cpu_s", 0.0);
    } else if (op == "event") {
      json e = j["event"];
      // A remote host's clock is not ours: its event times move onto the runner's clock.
      const Agent& a = agents_[site];
      if (a.host && a.estimate) results::shift_event_clock(e, a.estimate->offset_us);
      on_event(comp, e);
    }
  }

  void on_event(Component& comp, const json& e) {
    if (!e.contains("event")) {  // a PU's closing counters
      comp.summary = e;
      return;
    }
    const std::string kind = e.value("event", "");
    const std::string id = e.value("id", "");
    if (kind == "ready" && e.contains("member") && e["member"].is_number_unsigned()) {
      const auto m = e["member"].get<std::size_t>();
      comp.members[m] = id;
      members_by_id_[id] = {comp.name, m, id};
    }
    if (comp.role == "registrar") {
      if (!id.empty()) comp.current_id = id;
      if (kind == "registration") registered_.insert(e.value("pe", ""));
      if (kind == "ready") transport_used_ = e.value("transport", transport_used_);
    } else if (comp.role == "pe") {
      if (kind == "job_accepted") ++active_[id];
      if ((kind == "job_completed" || kind == "job_aborted") && active_[id] > 0) --active_[id];
    } else if (comp.role == "pu") {
      if (kind == "job" && e.value("status", "") == "completed") ++jobs_done_;
      if (kind == "failover") ++failovers_;
    }
    if (run_id_)
      store_event(comp, e);
    else
      early_.push_back({comp.name, e});
  }

  void store_event(Component& comp, const json& e) {
    ++events_stored_;
    const std::string id = e.value("id", "");
    auto row = comp.rows.find(id);
    if (row == comp.rows.end()) {
      results::ComponentInfo info;
      info.role = comp.role;
      info.site = comp.site;
      info.identity = id;
      info.pool = comp.pool;
      info.policy = comp.policy;
      info.name = comp.name;
      // A PE member's first event: "ready", or "restarted" (then "ready") when it replaces
      // a crashed one, with the same capacity.
      const std::string event = e.value("event", "");
      if ((event == "ready" || event == "restarted") && e.contains("member") &&
          e["member"].is_number_unsigned()) {
        const auto m = e["member"].get<std::size_t>();
        info.name += "#" + std::to_string(m);
        if (event == "ready") comp.capacities[m] = e.value("capacity", 0.0);
        info.capacity = comp.capacities[m];
      }
      if (const auto s = sites_.find(comp.site); s != sites_.end()) info.addresses = s->second;
      row = comp.rows.emplace(id, store_->add_component(*run_id_, info)).first;
    }
    store_->add_event(*run_id_, row->second, e);
  }

  Component& start_component(const std::string& site, const std::string& name,
                             const std::string& role, std::vector<std::string> args) {
    Component& c = components_[name];
    c.name = name;
    c.role = role;
    c.site = site;
    c.args = args;
    args.push_back("--log-level");
    args.push_back("warning");
    send(site, {{"op", "start"}, {"name", name}, {"role", role}, {"args", args}});
    return c;
  }

  // ---- one run ----------------------------------------------------------------------------
  Outcome run_one(const Run& r) {
    reset(r);
    Outcome outcome;
    try {
      deploy_and_run(r);
    } catch (const std::exception& e) {
      outcome = {RunStatus::failed, e.what()};
    }
    // A signal ends the run interrupted wherever it came: a deployment step it cut short
    // gave up (threw) without having failed.
    if (take_signal()) {
      outcome = {RunStatus::interrupted, interruption()};
    } else if (outcome.status == RunStatus::failed) {
      if (options_.terminal) out_ << "\n";
      err_ << "rsplab run: run " << (r.index + 1) << " failed: " << outcome.reason << "\n";
    }
    teardown();
    // Never reached readiness: keep a row saying so.
    if (!run_id_) begin_run(r, unix_us());
    // A completed run's checks are stored with it, before it counts as completed.
    std::vector<results::RunCheck> checks = {check_counts()};
    if (outcome.status == RunStatus::completed) {
      checks.push_back(results::check_registered_capacity(*store_, *run_id_));
      for (const auto& c : checks) store_->add_check(*run_id_, c);
    }
    store_->end_run(*run_id_, outcome.status, unix_us(), outcome.reason);
    if (options_.terminal) out_ << "\n";
    out_ << completion_line(r, outcome.status, checks) << "\n";
    for (const auto& c : checks) out_ << "  " << c.message << "\n";
    out_ << resources() << std::flush;
    run_ = nullptr;
    return outcome;
  }

  // "run 1/3 completed: 346 jobs completed (warm-up included), 300 in the measured window,
  // 2 failovers; the PUs generated 370 jobs", and the checks that warned.
  std::string completion_line(const Run& r, RunStatus status,
                              const std::vector<results::RunCheck>& checks) {
    std::ostringstream line;
    line << "run " << (r.index + 1) << "/" << plan_.runs.size() << " " << status_text(status)
         << ": " << jobs_done_ << " jobs completed (warm-up included)";
    if (status == RunStatus::completed) {
      const auto totals = results::summarize(*store_, {*run_id_});
      line << ", " << (totals.empty() ? 0 : totals[0].jobs_completed)
           << " in the measured window";
    }
    line << ", " << failovers_ << " failovers";
    if (generated_) line << "; the PUs generated " << *generated_ << " jobs";
    std::string warned;
    for (const auto& c : checks)
      if (c.status != "ok") warned += (warned.empty() ? "" : ", ") + c.name;
    if (!warned.empty()) line << "; WARNING: " << warned;
    return line.str();
  }

  void reset(const Run& r) {
    run_ = &r;
    run_id_.reset();
    clock_started_.reset();
    components_.clear();
    agents_.clear();
    sites_.clear();
    members_by_id_.clear();
    registered_.clear();
    active_.clear();
    early_.clear();
    jobs_done_ = failovers_ = 0;
    generated_.reset();
    events_stored_ = events_at_clock_start_ = 0;
    lost_.clear();
    transport_used_ = r.transport;
    topology_.reset();
    step_.clear();
  }

  // The deployment step now in progress (the progress line names it), said at once.
  void enter(std::string step) {
    step_ = std::move(step);
    progress(true);
  }

  void begin_run(const Run& r, std::int64_t start_us) {
    run_id_ = store_->begin_run(run_info(r, experiment_id_, transport_used_, start_us));
    if (worker_) worker_->slot->row = *run_id_;  // the parent marks it should we die
    for (const auto& [site, a] : agents_) {
      if (!a.estimate) continue;
      results::SiteClock c;
      c.site = site;
      c.host = a.host.value_or("");
      c.agent_version = a.hello ? a.hello->value("version", "") : "";
      c.offset_us = a.estimate->offset_us;
      c.uncertainty_us = a.estimate->uncertainty_us;
      c.rtt_us = a.estimate->rtt_us;
      c.samples = a.estimate->samples;
      store_->add_site_clock(*run_id_, c);
    }
    for (auto& [name, e] : early_) store_event(components_[name], e);
    early_.clear();
  }

  void deploy_and_run(const Run& r) {
    deploy_started_ = Clock::now();
    // Sites.
    std::map<std::string, std::string> netns;
    std::vector<agents::SiteSpec> specs;  // the local sites
    bool remote = false;
    for (const auto& s : r.sites) {
      if (s.host) remote = true;
      else specs.push_back({s.name, s.isps});
    }
    if (remote && !specs.empty() && !netns_)
      throw std::runtime_error(
          "remote sites next to local ones need network namespaces (root): loopback sites "
          "cannot be reached from another host");
    if (netns_ && !specs.empty()) {
      enter("creating the sites");
      char tag[16];
      std::snprintf(tag, sizeof tag, "%04x%02zu", static_cast<unsigned>(::getpid()) & 0xffffu,
                    r.index % 100);
      topology_ = agents::Topology::create(specs, tag, *journal_);
      // Remote hosts reach the emulated sites through this machine.
      if (remote) topology_->add_uplink();
      for (const auto& s : topology_->sites()) {
        netns[s.name] = s.netns;
        sites_[s.name] = s.ipv4_addresses();
      }
    } else {
      // Without namespaces every site is 127.0.0.1: a TCP connection leaves from that
      // address whatever the site, and a registrar accepts a PE only at an address it can
      // verify on the connection.
      for (const auto& site : r.sites)
        if (!site.host) sites_[site.name] = {"127.0.0.1"};
    }
    enter("starting the agents");
    for (const auto& s : r.sites) start_agent(s, netns[s.name]);
    // Every agent answers hello and its clock round trips; a remote site's components bind
    // the addresses the experiment gives it, else every address its agent reports.
    const bool answered = pump(
        [&] {
          for (const auto& [site, a] : agents_)
            if (!a.estimate) return false;
          return true;
        },
        std::chrono::seconds(30));
    for (const auto& [site, a] : agents_)
      if (!answered && !a.estimate)
        throw std::runtime_error("the agent of site " + site +
                                 (a.host ? " (ssh " + *a.host + ")" : "") +
                                 " did not answer within 30 s");
    for (const auto& s : r.sites) {
      if (!s.host) continue;
      const Agent& a = agents_[s.name];
      const std::string version = a.hello->value("version", "");
      if (version != options_.version)
        throw std::runtime_error("site " + s.name + " (ssh " + *s.host + "): rsplab " + version +
                                 " there, " + options_.version +
                                 " here: install the same version on both");
      // As for local sites, IPv4 unless the experiment names IPv6 addresses ([..] on the
      // command lines).
      auto& addresses = sites_[s.name];
      for (const auto& x : s.addresses.empty()
                               ? a.hello->value("addresses", std::vector<std::string>{})
                               : s.addresses) {
        if (x.find(':') == std::string::npos) addresses.push_back(x);
        else if (!s.addresses.empty()) addresses.push_back("[" + x + "]");
      }
      if (sites_[s.name].empty())
        throw std::runtime_error("site " + s.name + " (ssh " + *s.host +
                                 "): its agent reports no address; give the site 'addresses'");
      if (a.estimate)
        out_ << "  site " << s.name << " (ssh " << *s.host << ", " << a.hello->value("host", "")
             << "): clock offset " << a.estimate->offset_us / 1000.0 << " ms ± "
             << a.estimate->uncertainty_us / 1000.0 << " ms\n";
    }

    // Registrars: wait for their ASAP endpoints.
    enter("starting the registrars");
    for (const auto& pr : r.registrars) {
      start_component(pr.site, pr.name, "registrar",
                      registrar_args(r, pr, join(sites_[pr.site], ",")));
    }
    std::vector<std::string> registrar_list;
    for (const auto& pr : r.registrars) {
      Component& c = components_[pr.name];
      if (!pump([&] { return c.exited || std::any_of(c.lines.begin(), c.lines.end(), [](const std::string& l) { return l.rfind("asap ", 0) == 0; }); },
                std::chrono::seconds(30)))
        throw std::runtime_error("registrar " + pr.name + " did not start");
      if (c.exited) throw std::runtime_error("registrar " + pr.name + " exited: " + c.status);
      for (const auto& l : c.lines) {
        if (l.rfind("asap ", 0) != 0) continue;
        const std::string ep = l.substr(5);
        const auto colon = ep.rfind(':');
        for (const auto& a : common::split(ep.substr(0, colon), ','))
          registrar_list.push_back(a + ep.substr(colon));
      }
    }
    const std::string registrars = join(registrar_list, ",");

    // PEs: every one registered starts the run's clock.
    enter("waiting for the PEs to register");
    std::size_t pe_total = 0;
    for (const auto& g : r.pes) {
      Component& c = start_component(g.site, g.name, "pe",
                                     pe_args(r, g, join(sites_[g.site], ","), registrars));
      c.pool = g.pool;
      c.policy = g.policy;
      pe_total += g.count;
    }
    std::set<std::string> pe_ids;
    const bool all_registered = pump(
        [&] {
          pe_ids.clear();
          for (const auto& g : r.pes) {
            const Component& c = components_[g.name];
            if (c.exited) return true;
            for (const auto& l : c.lines)
              if (l.rfind("pe ", 0) == 0) pe_ids.insert(l.substr(3, l.find(' ', 3) - 3));
          }
          if (pe_ids.size() < pe_total) return false;
          return std::all_of(pe_ids.begin(), pe_ids.end(),
                             [&](const std::string& id) { return registered_.count(id) > 0; });
        },
        std::chrono::seconds(60));
    for (const auto& g : r.pes)
      if (components_[g.name].exited)
        throw std::runtime_error("PE group " + g.name + " exited: " + components_[g.name].status);
    if (!all_registered)
      throw std::runtime_error("not every PE registered within 60 s (" +
                               std::to_string(registered_.size()) + " of " +
                               std::to_string(pe_total) + ")");

    // The run's clock starts now.
    clock_started_ = Clock::now();
    events_at_clock_start_ = events_stored_;
    begin_run(r, unix_us());
    const auto runtime = r.warmup + r.duration;
    for (const auto& g : r.pus) {
      Component& c = start_component(g.site, g.name, "pu",
                                     pu_args(r, g, join(sites_[g.site], ","), registrars));
      c.pool = g.pool;
    }

    // Faults at their times, then the end of the PUs.
    struct Due {
      Duration at;
      Fault fault;
    };
    std::vector<Due> due;
    for (const auto& f : r.faults) {
      due.push_back({f.at, f});
      if (f.lasts) {
        Fault back = f;
        back.lasts.reset();
        back.kind = f.kind == Fault::Kind::link_down   ? Fault::Kind::link_up
                    : f.kind == Fault::Kind::stop      ? Fault::Kind::resume
                    : f.kind == Fault::Kind::loss      ? Fault::Kind::loss_end
                    : f.kind == Fault::Kind::partition ? Fault::Kind::partition_end
                                                       : f.kind;
        // The undo is scheduled `for` after the fault (its scheduled_us says so).
        back.at = f.at + *f.lasts;
        if (back.kind != f.kind) due.push_back({back.at, back});
      }
    }
    std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) { return a.at < b.at; });
    // Schedules (churn, flap) can make hundreds of faults: beyond kMaxFaultLines of them,
    // their lines give way to a count at the end; every fault is a row in any case.
    constexpr std::size_t kMaxFaultLines = 20;
    const std::size_t scheduled = static_cast<std::size_t>(std::count_if(
        due.begin(), due.end(), [](const Due& d) { return d.fault.schedule.has_value(); }));
    const bool quiet = scheduled > kMaxFaultLines;
    std::map<std::string, std::size_t> unprinted;  // kind → faults applied without a line
    for (const auto& d : due) {
      const auto when = *clock_started_ + d.at;
      pump([&] { return Clock::now() >= when; }, runtime + std::chrono::seconds(1));
      if (interrupted_) return;
      const bool silent = quiet && d.fault.schedule.has_value();
      const std::string kind = apply(d.fault, !silent);
      if (silent) ++unprinted[kind];
    }
    if (!unprinted.empty()) {
      std::string counts;
      for (const auto& [kind, n] : unprinted)
        counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
      if (options_.terminal) out_ << "\r\033[K";
      out_ << "  scheduled faults applied (rows in the faults table): " << counts << "\n"
           << std::flush;
    }
    const auto pus_done = [&] {
      for (const auto& g : r.pus)
        if (!components_[g.name].exited) return false;
      return true;
    };
    pump(pus_done, *clock_started_ + runtime + std::chrono::seconds(60) - Clock::now());
    if (interrupted_) return;
    if (!pus_done()) throw std::runtime_error("PUs did not end 60 s after their runtime");
  }

  // ---- faults -----------------------------------------------------------------------------
  // Carries out one fault and stores it as a row: kind, target, at_us (when it was applied,
  // since the run's clock started) and details (scheduled_us, the schedule it came from,
  // what it hit, or why it was skipped or failed). Prints one line about it if `print`.
  // Returns the kind as stored.
  std::string apply(const Fault& f, bool print) {
    const std::int64_t at = std::chrono::duration_cast<std::chrono::microseconds>(
                                Clock::now() - *clock_started_).count();
    const std::int64_t scheduled = std::chrono::duration_cast<std::chrono::microseconds>(f.at).count();
    json details = {{"scheduled_us", scheduled}};
    if (f.schedule) details["schedule"] = *f.schedule;  // index into the run's schedules
    if (!f.schedule && (f.target_kind == Fault::TargetKind::group ||
                        f.target_kind == Fault::TargetKind::pool))
      details["select"] = f.select == Fault::Select::random   ? "random"
                          : f.select == Fault::Select::member ? "member"
                                                              : "busiest";
    std::string kind;
    switch (f.kind) {
      case Fault::Kind::kill: kind = "kill"; break;
      case Fault::Kind::stop: kind = "stop"; break;
      case Fault::Kind::resume: kind = "resume"; break;
      case Fault::Kind::restart: kind = "restart"; break;
      case Fault::Kind::link_down: kind = "link_down"; break;
      case Fault::Kind::link_up: kind = "link_up"; break;
      case Fault::Kind::loss: kind = "loss"; break;
      case Fault::Kind::loss_end: kind = "loss_end"; break;
      case Fault::Kind::partition: kind = "partition"; break;
      case Fault::Kind::partition_end: kind = "partition_end"; break;
    }
    std::string target = f.target;
    if (f.kind == Fault::Kind::link_down || f.kind == Fault::Kind::link_up) {
      target = f.site + "/" + f.isp;
      const auto spec = std::find_if(run_->sites.begin(), run_->sites.end(),
                                     [&](const Site& x) { return x.name == f.site; });
      if (spec != run_->sites.end() && spec->host) {
        // A remote host: the interface the experiment names for the ISP, never the one
        // carrying the agent's own ssh connection (the agent refuses that too).
        const auto k = std::find(spec->isps.begin(), spec->isps.end(), f.isp) - spec->isps.begin();
        const Agent& a = agents_[f.site];
        const std::string control =
            a.hello ? a.hello->value("control_interface", std::string()) : std::string();
        if (spec->interfaces.empty()) {
          details["skipped"] = "remote site " + f.site + " names no interfaces";
        } else if (spec->interfaces[k] == control && f.kind == Fault::Kind::link_down) {
          details["interface"] = control;
          details["skipped"] = "refused: " + control + " carries the agent's ssh connection";
        } else {
          send(f.site, {{"op", "link"}, {"interface", spec->interfaces[k]},
                        {"up", f.kind == Fault::Kind::link_up}});
          details["interface"] = spec->interfaces[k];
        }
      } else if (!topology_) {
        details["skipped"] = "loopback sites have no ISP links";
      } else {
        const auto& site = topology_->site(f.site);
        for (const auto& l : site.links)
          if (l.isp == f.isp) {
            send(f.site, {{"op", "link"}, {"interface", l.interface},
                          {"up", f.kind == Fault::Kind::link_up}});
            details["interface"] = l.interface;
          }
      }
    } else if (f.kind == Fault::Kind::loss || f.kind == Fault::Kind::loss_end) {
      target = f.site + "/" + f.isp;
      const double percent = f.kind == Fault::Kind::loss ? f.percent : 0.0;
      details["percent"] = percent;
      if (remote_site(f.site)) {
        details["skipped"] = "loss is for emulated sites; " + f.site + " is a remote host";
      } else if (!topology_) {
        details["skipped"] = "loopback sites have no ISP links";
      } else {
        try {
          topology_->set_loss(f.site, f.isp, percent);
          for (const auto& l : topology_->site(f.site).links)
            if (l.isp == f.isp) details["interface"] = l.device;
        } catch (const std::exception& e) {
          details["error"] = e.what();
        }
      }
    } else if (f.kind == Fault::Kind::partition || f.kind == Fault::Kind::partition_end) {
      target = f.site + "," + f.peer;
      if (remote_site(f.site) || remote_site(f.peer)) {
        details["skipped"] = "partitions are between emulated sites; " +
                             (remote_site(f.site) ? f.site : f.peer) + " is a remote host";
      } else if (!topology_) {
        details["skipped"] = "loopback sites share one address: no partition";
      } else {
        try {
          topology_->set_partition(f.site, f.peer, f.kind == Fault::Kind::partition);
        } catch (const std::exception& e) {
          details["error"] = e.what();
        }
      }
    } else if (const auto pr = components_.find(f.target);
               pr != components_.end() && pr->second.role == "registrar") {
      Component& c = pr->second;
      if (f.kind == Fault::Kind::restart) {
        restart_registrar(c, details);
      } else if (c.exited) {
        details["skipped"] = "not running (" + c.status + ")";
      } else {
        const int sig = f.kind == Fault::Kind::kill ? SIGKILL : f.kind == Fault::Kind::stop ? SIGSTOP : SIGCONT;
        send(c.site, {{"op", "signal"}, {"name", pr->first}, {"signal", sig}});
        if (!c.current_id.empty()) details["id"] = c.current_id;
      }
    } else if (f.member || !f.picks.empty()) {
      // Exactly these members (a churn schedule's one, or those the plan picked), whatever
      // identity each has now: the PE process keeps the index across restarts.
      auto picks = f.picks;
      if (f.member) picks.emplace_back(f.target, *f.member);
      json hits = json::array(), skipped = json::array();
      for (const auto& [group, index] : picks) {
        json hit = hit_member(f, kind, group, index);
        if (hit.contains("skipped")) skipped.push_back(std::move(hit));
        else hits.push_back(std::move(hit));
      }
      if (hits.empty()) {
        std::string why;
        for (const auto& x : skipped)
          why += (why.empty() ? "" : "; ") + x["skipped"].get<std::string>();
        details["skipped"] = why;
      } else {
        details["members"] = std::move(hits);
        if (!skipped.empty()) details["skipped_members"] = std::move(skipped);
      }
    } else {
      // Members of groups: the target group, or every PE group of a pool (and site).
      std::vector<Member*> candidates;
      for (auto& [id, m] : members_by_id_) {
        const Component& c = components_[m.component];
        const bool match = c.name == f.target ||
                           (c.role == "pe" && c.pool == f.target && (f.site.empty() || c.site == f.site));
        if (!match || m.replaced) continue;
        if (f.kind == Fault::Kind::restart) {
          if (c.role == "pe") candidates.push_back(&m);
          continue;
        }
        if (m.killed) continue;
        if (f.kind == Fault::Kind::resume ? m.stopped : !m.stopped) candidates.push_back(&m);
      }
      // Restart: crashed members first (they come back); otherwise the busiest first (jobs
      // in progress), then by order.
      std::stable_sort(candidates.begin(), candidates.end(), [this](Member* a, Member* b) {
        if (a->killed != b->killed) return a->killed;
        return active_[a->id] > active_[b->id];
      });
      json hit = json::array();
      for (std::size_t i = 0; i < candidates.size() && i < f.count; ++i) {
        Member& m = *candidates[i];
        const std::string cmd = kind;
        send(components_[m.component].site,
             {{"op", "control"},
              {"name", m.component},
              {"line", json{{"cmd", cmd}, {"member", m.index}}.dump()}});
        if (f.kind == Fault::Kind::kill) m.killed = true;
        if (f.kind == Fault::Kind::stop) m.stopped = true;
        if (f.kind == Fault::Kind::resume) m.stopped = false;
        if (f.kind == Fault::Kind::restart) m.replaced = true;  // its successor reports anew
        hit.push_back({{"component", m.component}, {"member", m.index}, {"id", m.id},
                       {"jobs_in_progress", active_[m.id]}});
      }
      details["members"] = hit;
      if (hit.empty()) details["skipped"] = "no member to " + kind;
    }
    store_->add_fault(*run_id_, kind, target, at, details);
    if (!print) return kind;
    if (options_.terminal) out_ << "\r\033[K";
    out_ << "  t=" << clock_text(at / 1e6) << " " << kind << " " << target;
    if (f.member) out_ << "#" << *f.member;
    if (details.contains("members") && !details["members"].empty()) {
      const json& first = details["members"][0];
      out_ << " (" << details["members"].size() << " member(s): "
           << (first["id"].is_string() ? first["id"].get<std::string>() : std::string("new id pending"))
           << ", " << first.value("jobs_in_progress", 0) << " job(s) in progress)";
    }
    if (details.contains("asap")) out_ << " (asap " << details["asap"].get<std::string>() << ")";
    if (f.kind == Fault::Kind::loss) out_ << " (" << f.percent << "%)";
    if (details.contains("skipped")) out_ << " (skipped: " << details["skipped"].get<std::string>() << ")";
    if (details.contains("error")) out_ << " (failed: " << details["error"].get<std::string>() << ")";
    out_ << "\n" << std::flush;
    return kind;
  }

  // Carries out fault `f` (kill, stop, resume, restart) on member `index` of `group`, whatever
  // identity it has now; its newest id is the one known, unless it was restarted and has
  // not reported back yet. What it hit ({component, member, id, jobs_in_progress}), with
  // `skipped` (why) when it was not carried out.
  json hit_member(const Fault& f, const std::string& kind, const std::string& group,
                  std::size_t index) {
    Component& c = components_[group];
    Member* m = nullptr;
    if (const auto id = c.members.find(index); id != c.members.end())
      if (const auto it = members_by_id_.find(id->second); it != members_by_id_.end())
        m = &it->second;
    const bool fresh = m && !m->replaced;  // m is the member now in place
    json hit = {{"component", c.name}, {"member", index},
                {"id", fresh ? json(m->id) : json(nullptr)},
                {"jobs_in_progress", fresh ? active_[m->id] : 0}};
    if (c.exited) {
      hit["skipped"] = "the group's process is not running (" + c.status + ")";
    } else if (f.kind == Fault::Kind::kill && fresh && m->killed) {
      hit["skipped"] = "the member is down already";
    } else if (f.kind == Fault::Kind::restart && c.role != "pe") {
      hit["skipped"] = "restart takes PE members only";
    } else {
      send(c.site, {{"op", "control"},
                    {"name", c.name},
                    {"line", json{{"cmd", kind}, {"member", index}}.dump()}});
      if (fresh && f.kind == Fault::Kind::kill) m->killed = true;
      if (fresh && f.kind == Fault::Kind::stop) m->stopped = true;
      if (fresh && f.kind == Fault::Kind::resume) m->stopped = false;
      if (fresh && f.kind == Fault::Kind::restart) m->replaced = true;
    }
    return hit;
  }

  // Whether the run's site `name` is a remote host (reached over ssh), not an emulated one.
  bool remote_site(const std::string& name) const {
    for (const Site& s : run_->sites)
      if (s.name == name) return s.host.has_value();
    return false;
  }

  // A registrar killed (if alive) and started again with the arguments it had, but on the
  // ASAP and ENRP ports it had bound (its "asap ADDRS:PORT" and "enrp ..." lines), so that
  // the PEs and PUs configured with them find it again. Waits (at most 10 s) until it is
  // ready; it reports under a new id (a new components row).
  void restart_registrar(Component& c, json& details) {
    std::string asap, enrp;
    for (const auto& l : c.lines) {
      if (asap.empty() && l.rfind("asap ", 0) == 0) asap = l.substr(5);
      if (enrp.empty() && l.rfind("enrp ", 0) == 0) enrp = l.substr(5);
    }
    if (asap.empty() || enrp.empty() || c.args.empty()) {
      details["skipped"] = "its endpoints are not known (it never became ready)";
      return;
    }
    if (!c.current_id.empty()) details["previous_id"] = c.current_id;
    if (!c.exited) {
      send(c.site, {{"op", "signal"}, {"name", c.name}, {"signal", SIGKILL}});
      pump([&] { return c.exited; }, std::chrono::seconds(5));
      if (!c.exited) {
        details["error"] = "still running 5 s after SIGKILL";
        return;
      }
    }
    std::vector<std::string> args = c.args;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--asap") args[i + 1] = asap;
      if (args[i] == "--enrp") args[i + 1] = enrp;
    }
    details["asap"] = asap;
    details["enrp"] = enrp;
    c.exited = false;
    c.code = -1;
    c.status.clear();
    c.lines.clear();
    c.current_id.clear();
    start_component(c.site, c.name, c.role, args);
    const auto ready = [&] {
      return c.exited || std::any_of(c.lines.begin(), c.lines.end(), [](const std::string& l) {
               return l.rfind("asap ", 0) == 0;
             });
    };
    if (!pump(ready, std::chrono::seconds(10)) || c.exited) {
      std::string why = c.exited ? "exited: " + c.status : "not ready within 10 s";
      if (!c.lines.empty()) why += ": " + c.lines.back();
      details["error"] = why;
    }
  }

  // ---- teardown ---------------------------------------------------------------------------
  void teardown() {
    tearing_down_ = true;
    for (auto& [site, a] : agents_) send(site, {{"op", "stop"}});
    pump([&] {
      for (auto& [site, a] : agents_)
        if (!a.exited) return false;
      return true;
    }, std::chrono::seconds(15));
    for (auto& [site, a] : agents_) {
      if (!a.exited && a.child) a.child->signal(SIGKILL);
    }
    pump([&] {
      for (auto& [site, a] : agents_)
        if (!a.exited) return false;
      return true;
    }, std::chrono::seconds(3));
    for (auto& [site, a] : agents_) journal_->remove(a.journal_entry);
    tearing_down_ = false;
    if (topology_) {
      try {
        topology_->destroy();
      } catch (const std::exception& e) {
        err_ << "rsplab run: removing the sites: " << e.what() << "\n";
      }
      topology_.reset();
    }
    if (store_) store_->flush();
  }

  // The check `event_counts`: the PUs' own counters against the rows stored (nothing may
  // be lost). Sets generated_ when every PU printed its counters.
  results::RunCheck check_counts() {
    results::RunCheck c;
    c.name = "event_counts";
    c.status = "warning";
    c.value = std::numeric_limits<double>::quiet_NaN();
    std::int64_t jobs = 0, failovers = 0, resolutions = 0;
    bool all = true;
    for (const auto& [name, comp] : components_) {
      if (comp.role != "pu") continue;
      if (!comp.summary) {
        all = false;
        continue;
      }
      jobs += comp.summary->value("jobs_completed", 0) + comp.summary->value("jobs_unfinished", 0);
      failovers += comp.summary->value("failovers", 0);
      resolutions += comp.summary->value("resolutions", 0);
    }
    if (!all) {
      c.message = "WARNING: event counts: some PU printed no counters";
      return c;
    }
    generated_ = jobs;
    store_->flush();
    const auto sj = store_->count("jobs", *run_id_);
    const auto sf = store_->count("failovers", *run_id_);
    const auto sr = store_->count("handle_resolutions", *run_id_);
    c.value = static_cast<double>(sj);
    c.details = {{"counted", {{"jobs", jobs}, {"failovers", failovers}, {"handle_resolutions", resolutions}}},
                 {"stored", {{"jobs", sj}, {"failovers", sf}, {"handle_resolutions", sr}}}};
    std::ostringstream s;
    if (sj == jobs && sf == failovers && sr == resolutions) {
      c.status = "ok";
      s << "check event counts: ok, stored " << sj << " jobs (completed and unfinished), " << sf
        << " failovers, " << sr << " handle resolutions: all the PUs counted";
    } else {
      s << "WARNING: event counts: MISMATCH: PUs counted " << jobs << " jobs, " << failovers
        << " failovers, " << resolutions << " resolutions; stored " << sj << ", " << sf << ", "
        << sr;
    }
    c.message = s.str();
    return c;
  }

  void summarize();
  // Under --jobs N: commits what is batched every kWorkerFlush, so that the other workers'
  // writes wait that long at most (a batch holds SQLite's one write lock).
  void share_the_database();

  // What the run cost: deployment time, events into SQLite, peak memory and CPU time of the
  // runner and of each component role (summed over its processes; peak = the largest).
  std::string resources() {
    if (!clock_started_) return "";
    std::ostringstream s;
    const double deploy = std::chrono::duration<double>(*clock_started_ - deploy_started_).count();
    const double measured = std::chrono::duration<double>(Clock::now() - *clock_started_).count();
    char buf[160];
    std::snprintf(buf, sizeof buf, "  deployed in %.1f s; %lld events stored (%.0f/s while running)\n",
                  deploy, static_cast<long long>(events_stored_),
                  measured > 0 ? (events_stored_ - events_at_clock_start_) / measured : 0.0);
    s << buf;
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    std::snprintf(buf, sizeof buf, "  peak RSS / CPU: runner %.0f MB / %.1f s",
                  self.ru_maxrss / 1024.0,
                  self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 + self.ru_stime.tv_sec +
                      self.ru_stime.tv_usec / 1e6);
    s << buf;
    for (const char* role : {"registrar", "pe", "pu"}) {
      long rss = 0;
      double cpu = 0;
      int n = 0;
      for (const auto& [name, c] : components_)
        if (c.role == role) {
          rss = std::max(rss, c.max_rss_kib);
          cpu += c.cpu_s;
          ++n;
        }
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf, "; %s x%d %.0f MB / %.1f s", role, n, rss / 1024.0, cpu);
      s << buf;
    }
    s << "\n";
    return s.str();
  }

  struct Agent {
    std::shared_ptr<agents::Child> child;
    bool stopped = false, exited = false;
    std::string journal_entry;
    std::optional<std::string> host;  // remote: reached by ssh
    std::string log;                  // its stderr (and ssh's)
    std::optional<json> hello;
    std::vector<agents::ClockSample> clock;
    std::int64_t time_sent_us = 0;
    std::optional<agents::ClockEstimate> estimate;
  };

  const Plan& plan_;
  RunnerOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  asio::io_context io_;
  asio::signal_set signals_;
  bool interrupted_ = false;  // SIGINT/SIGTERM came (signal_): no step waits any longer
  int signal_ = 0;
  bool netns_ = false;
  bool tearing_down_ = false;  // the teardown runs to its end, interrupted or not
  std::string lost_;  // why an agent was lost mid-run (the run fails)
  Clock::time_point last_heartbeat_{};
  std::optional<agents::Journal> journal_;
  std::optional<results::Store> store_;
  std::int64_t experiment_id_ = 0;
  int lock_fd_ = -1;
  WorkerPost* worker_ = nullptr;  // set: a worker of --jobs N (work(), not run())
  Clock::time_point last_flush_;
  std::vector<bool> skip_;  // by run index: completed earlier
  std::string log_dir_;
  Clock::time_point campaign_start_, last_progress_;

  // The current run.
  const Run* run_ = nullptr;
  std::optional<std::int64_t> run_id_;
  std::optional<Clock::time_point> clock_started_;
  std::unique_ptr<agents::Topology> topology_;
  std::map<std::string, Agent> agents_;
  std::map<std::string, Component> components_;
  std::map<std::string, std::vector<std::string>> sites_;  // site → addresses
  std::map<std::string, Member> members_by_id_;
  std::set<std::string> registered_;
  std::map<std::string, int> active_;  // PE id → jobs in progress
  std::vector<std::pair<std::string, json>> early_;  // events before the run's row exists
  std::int64_t jobs_done_ = 0, failovers_ = 0;
  std::optional<std::int64_t> generated_;  // jobs the PUs generated, once all counted
  std::string step_;  // the deployment step in progress, until the run's clock starts
  std::int64_t events_stored_ = 0, events_at_clock_start_ = 0;
  Clock::time_point deploy_started_;
  std::string transport_used_;
};

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

void Driver::summarize() {
  if (store_) experiments::summarize(*store_, plan_, options_, experiment_id_, out_, err_);
}

// ---- --jobs N ---------------------------------------------------------------------------
//
//   parent (no io_context, no threads): store ─► lock ─► experiments row ─► completed keys
//     │   skipped ─► queue of run indices (local runs; then the remote ones, one worker)
//     ├─fork─► worker 1: Driver::work ─ claims queue[next++] ─► run_one ─► claims again ...
//     ├─fork─► worker 2: ...          (own SQLite connection, journal and namespaces)
//     └─ waitpid every 100 ms, SIGINT/SIGTERM forwarded ─► runs of workers that died marked
//        failed ─► the summary, once ─► 0 / 1 / 130

void Driver::share_the_database() {
  const auto now = Clock::now();
  if (!store_ || now - last_flush_ < kWorkerFlush) return;
  last_flush_ = now;
  store_->flush();
}

RunStatus Driver::work(WorkerPost& post) {
  worker_ = &post;
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) on_signal(sig);
  });
  if (g_signal != 0) on_signal(g_signal);  // came before the signal_set was there
  journal_.emplace(agents::Journal::open());
  netns_ = post.netns;
  log_dir_ = post.log_dir;
  experiment_id_ = post.experiment_id;
  store_.emplace(results::Store::open(options_.output));
  store_->set_busy_timeout(kWorkerBusyTimeout);
  skip_.assign(plan_.runs.size(), false);
  campaign_start_ = Clock::now();
  RunStatus status = RunStatus::completed;
  for (;;) {
    io_.poll();  // a signal that came between runs
    if (io_.stopped()) io_.restart();
    if (interrupted_ || post.board->stop.load() != 0) break;
    const std::size_t at = post.board->next.fetch_add(1);
    if (at >= post.queue->size()) break;
    const Run& r = plan_.runs[(*post.queue)[at]];
    post.slot->row = 0;
    post.slot->run = static_cast<std::int64_t>(r.index);
    const std::string prefix =
        "run " + std::to_string(r.index + 1) + "/" + std::to_string(plan_.runs.size()) + ": ";
    post.out->set_run(prefix);
    post.err->set_run(prefix);
    const auto started = Clock::now();
    const RunStatus ended = run_one(r).status;
    post.board->busy_us +=
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
    post.outcomes[r.index] = shared_status(ended);
    post.slot->run = -1;
    post.slot->row = 0;
    post.out->set_run("");
    post.err->set_run("");
    if (ended == RunStatus::interrupted) {
      post.board->stop = 1;  // the campaign is interrupted: the parent tells the others
      return ended;
    }
    status = worst(status, ended);
  }
  return interrupted_ ? RunStatus::interrupted : status;
}

// A worker's life in the forked child: its exit status. A run it claimed and did not end
// (an exception here) stays in its slot: the parent marks it failed.
int worker_main(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                std::ostream& err, WorkerPost post) {
  LineBuf out_buf(out), err_buf(err);
  std::ostream wout(&out_buf), werr(&err_buf);
  post.out = &out_buf;
  post.err = &err_buf;
  RunnerOptions o = options;
  o.terminal = false;  // one progress line updated in place would be garbled by the others
  int code = exit_code(RunStatus::failed);
  try {
    Driver d(plan, o, wout, werr);
    code = exit_code(d.work(post));
  } catch (const std::exception& e) {
    werr << "rsplab run: worker " << ::getpid() << ": " << e.what() << "\n";
  }
  wout.flush();
  werr.flush();
  return code;
}

// The Board, one Slot per worker and one outcome per run, in memory shared with the workers
// forked after it was made.
class SharedState {
 public:
  SharedState(std::size_t slots, std::size_t runs)
      : size_(sizeof(Board) + slots * sizeof(Slot) + runs * sizeof(std::atomic<int>)) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
    base_ = p;
    auto* bytes = static_cast<unsigned char*>(p);
    board = new (bytes) Board;
    slots_ = reinterpret_cast<Slot*>(bytes + sizeof(Board));
    for (std::size_t i = 0; i < slots; ++i) new (slots_ + i) Slot;
    outcomes = reinterpret_cast<std::atomic<int>*>(bytes + sizeof(Board) + slots * sizeof(Slot));
    for (std::size_t i = 0; i < runs; ++i) new (outcomes + i) std::atomic<int>(0);
  }
  ~SharedState() { ::munmap(base_, size_); }
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;
  Slot& slot(std::size_t i) { return slots_[i]; }

  Board* board = nullptr;
  std::atomic<int>* outcomes = nullptr;

 private:
  std::size_t size_;
  void* base_ = nullptr;
  Slot* slots_ = nullptr;
};

std::string wait_status_text(int status) {
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

// `rsplab run --jobs N` (N > 1): the parent of the workers.
RunStatus run_side_by_side(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                     std::ostream& err) {
  ::signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM from here on: recorded, forwarded to the workers (the terminal's reaches
  // them anyway), who mark their runs interrupted; then waited for.
  g_signal = 0;
  struct sigaction act {}, old_int{}, old_term{};
  act.sa_handler = on_parent_signal;
  sigemptyset(&act.sa_mask);
  ::sigaction(SIGINT, &act, &old_int);
  ::sigaction(SIGTERM, &act, &old_term);
  struct Restore {
    struct sigaction &i, &t;
    ~Restore() {
      ::sigaction(SIGINT, &i, nullptr);
      ::sigaction(SIGTERM, &t, nullptr);
    }
  } restore{old_int, old_term};

  // The lock is held for the whole campaign (the workers share it): no worker marks another's
  // runs, and a runner started meanwhile sees this one alive.
  int lock_fd = -1;
  struct Closer {
    int& fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{lock_fd};
  std::optional<Campaign> campaign;
  try {
    // Closed again before the fork: an SQLite connection must not cross it.
    results::Store store = results::Store::open(options.output);
    campaign = open_campaign(plan, options, store, lock_fd, out, err);
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
    return RunStatus::failed;
  }
  if (!campaign) return RunStatus::failed;
  const bool netns = campaign->netns;
  const std::string& log_dir = campaign->log_dir;
  const std::int64_t experiment_id = campaign->experiment_id;

  const std::vector<bool> skip =
      announce(plan, options, campaign->completed, campaign->unfinished, options.jobs, out);
  std::vector<std::size_t> local, remote;  // run indices, in plan order
  for (const Run& r : plan.runs) {
    if (skip[r.index]) {
      out << run_label(plan, r) << ": skipped (completed earlier, key " << r.key.substr(0, 12)
          << "…)\n";
      continue;
    }
    (remote_run(r) ? remote : local).push_back(r.index);
  }
  if (const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
      cpus > 0 && options.jobs > static_cast<std::size_t>(cpus) && local.size() > 1)
    err << "rsplab run: warning: --jobs " << options.jobs << " on " << cpus
        << " CPU(s): the runs compete for them, and timing-sensitive results suffer\n";
  if (!remote.empty())
    out << remote.size()
        << " run(s) with sites on remote hosts (ssh) go one at a time, after the others\n";

  std::optional<SharedState> shared;
  try {
    shared.emplace(options.jobs, plan.runs.size());
  } catch (const std::exception& e) {
    err << "rsplab run: " << e.what() << "\n";
    return RunStatus::failed;
  }
  struct Orphan {
    std::size_t run;
    std::int64_t row;
    pid_t pid;
    std::string how;
  };
  std::vector<Orphan> orphans;  // runs whose worker ended before them
  int signalled = 0;
  const auto started = Clock::now();

  // Carries out `queue` with `n` workers; returns once they all ended.
  const auto phase = [&](const std::vector<std::size_t>& queue, std::size_t n) {
    n = std::min(n, queue.size());
    if (n == 0 || g_signal != 0 || shared->board->stop.load() != 0) return;
    shared->board->next = 0;
    out << std::flush;
    err << std::flush;
    std::fflush(nullptr);  // else the children would write what is buffered again
    std::vector<pid_t> pids;
    for (std::size_t w = 0; w < n; ++w) {
      shared->slot(w).run = -1;
      shared->slot(w).row = 0;
      // fork without exec, not agents::spawn_process: the worker is this process going on
      // with the plan, the options and the shared board already in its memory (the
      // MAP_SHARED mapping is inherited, not passed), so there is no program to exec and
      // nothing to redirect; its output is ours on purpose.
      const pid_t pid = ::fork();
      if (pid < 0) {
        err << "rsplab run: fork: " << std::strerror(errno) << "\n";
        break;
      }
      if (pid == 0) {
        WorkerPost post;
        post.board = shared->board;
        post.slot = &shared->slot(w);
        post.outcomes = shared->outcomes;
        post.queue = &queue;
        post.experiment_id = experiment_id;
        post.netns = netns;
        post.log_dir = log_dir;
        ::_exit(worker_main(plan, options, out, err, post));
      }
      pids.push_back(pid);
    }
    bool told = false;  // the workers were told to stop
    for (;;) {
      bool live = false;
      for (std::size_t w = 0; w < pids.size(); ++w) {
        if (pids[w] < 0) continue;
        int status = 0;
        const pid_t p = ::waitpid(pids[w], &status, WNOHANG);
        if (p == 0 || (p < 0 && errno == EINTR)) {
          live = true;
          continue;
        }
        const bool normal = p == pids[w] && WIFEXITED(status) &&
                            std::any_of(std::begin(results::kRunStatuses),
                                        std::end(results::kRunStatuses), [&](RunStatus s) {
                                          return WEXITSTATUS(status) == exit_code(s);
                                        });
        if (const std::int64_t run = shared->slot(w).run.load(); run >= 0)
          orphans.push_back({static_cast<std::size_t>(run), shared->slot(w).row.load(), pids[w],
                             p == pids[w] ? wait_status_text(status) : "lost"});
        pids[w] = -1;
        if (!normal) {  // what it left: its journal names it (the live workers' are spared)
          const auto left = agents::cleanup_dead();
          if (!left.undone.empty())
            out << "cleanup: removed what a dead worker left: " << join(left.undone, ", ")
                << "\n" << std::flush;
        }
      }
      if (!live) break;
      if (const int sig = g_signal; sig != 0) {
        g_signal = 0;
        signalled = sig;
        shared->board->stop = 1;
        for (const pid_t pid : pids)
          if (pid > 0) ::kill(pid, sig);
        told = true;
      } else if (!told && shared->board->stop.load() != 0) {  // a worker was interrupted
        for (const pid_t pid : pids)
          if (pid > 0) ::kill(pid, SIGTERM);
        told = true;
      }
      ::usleep(100 * 1000);
    }
  };
  phase(local, options.jobs);
  phase(remote, 1);  // one at a time

  std::optional<results::Store> store;
  try {
    store.emplace(results::Store::open(options.output));
    for (const Orphan& o : orphans) {
      const Run& r = plan.runs[o.run];
      const std::string reason =
          "its worker (pid " + std::to_string(o.pid) + ") ended before the run: " + o.how;
      if (o.row > 0) {
        if (store->run_status(o.row) == "running")
          store->end_run(o.row, RunStatus::failed, unix_us(), reason);
      } else {  // never reached readiness: a row says so, as a runner's own failure does
        const auto id = store->begin_run(run_info(r, experiment_id, r.transport, unix_us()));
        store->end_run(id, RunStatus::failed, unix_us(), reason);
      }
      shared->outcomes[o.run] = shared_status(RunStatus::failed);
      err << "rsplab run: run " << (o.run + 1) << " failed: " << reason << "\n";
    }
  } catch (const std::exception& e) {
    err << "rsplab run: " << options.output << ": " << e.what() << "\n";
  }

  RunStatus status = signalled != 0   ? RunStatus::interrupted
                     : orphans.empty() ? RunStatus::completed
                                       : RunStatus::failed;
  std::size_t not_run = 0;
  for (const auto* q : {&local, &remote})
    for (const std::size_t i : *q) {
      if (const auto s = shared_status(shared->outcomes[i].load())) status = worst(status, *s);
      else ++not_run;
    }
  if (not_run > 0 && g_signal != 0) status = RunStatus::interrupted;  // before a phase began
  if (not_run > 0 && status != RunStatus::interrupted) {
    err << "rsplab run: " << not_run << " run(s) not carried out: no worker was left to take them\n";
    status = RunStatus::failed;
  }
  const auto wall = std::chrono::duration<double>(Clock::now() - started).count();
  if (!local.empty() || !remote.empty())
    out << "side by side: " << local.size() + remote.size() - not_run << " run(s) in "
        << clock_text(wall) << " (wall time), "
        << clock_text(shared->board->busy_us.load() / 1e6) << " of run time summed (--jobs "
        << options.jobs << ")\n";
  if (store) summarize(*store, plan, options, experiment_id, out, err);
  out << std::flush;
  return status;
}

}  // namespace

RunStatus run_plan(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                   std::ostream& err) {
  if (options.jobs > 1) return run_side_by_side(plan, options, out, err);
  Driver d(plan, options, out, err);
  return d.run();
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
                                        const std::string& addresses) {
  options::RegistrarOptions o = pr.options;
  o.transport = r.transport;
  o.asap = addresses + ":0";
  o.enrp = addresses + ":0";
  return options::to_args(o);
}

std::vector<std::string> pe_args(const Run& r, const PeGroup& g, const std::string& addresses,
                                 const std::string& registrars) {
  options::PeOptions o = g.options;
  o.registrar = registrars;
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
