// `rsplab run --jobs N`: the parent and its worker processes (workers.hpp).
#include "experiments/workers.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <new>
#include <optional>
#include <streambuf>
#include <vector>

#include "agents/journal.hpp"
#include "experiments/campaign.hpp"
#include "experiments/progress.hpp"
#include "experiments/run_driver.hpp"
#include "results/store.hpp"

namespace rsplab::experiments {
namespace {

// Set by the parent's SIGINT/SIGTERM handler; a worker inherits it until its Loop's
// signal_set takes over, and looks at it then.
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

// What a worker takes from the parent.
struct WorkerPost {
  Board* board = nullptr;
  Slot* slot = nullptr;                             // this worker's
  std::atomic<int>* outcomes = nullptr;             // by run index (shared_status)
  const std::vector<std::size_t>* queue = nullptr;  // run indices, claimed in this order
  std::int64_t experiment_id = 0;
  bool netns = false;
  std::string log_dir;
  LineBuf* out = nullptr;
  LineBuf* err = nullptr;
};

// How long a worker's SQLite connection waits for another worker's write transaction (they
// last ~kWorkerFlush) before its write fails.
constexpr std::chrono::milliseconds kWorkerBusyTimeout{60000};
constexpr auto kWorkerFlush = std::chrono::milliseconds(100);

// Carries out run `r`, claimed in the worker's slot: its status, in shared memory too.
RunStatus work_on(const Plan& plan, const Run& r, RunDriver& driver, WorkerPost& post,
                  const RunClock& clock) {
  post.slot->row = 0;
  post.slot->run = static_cast<std::int64_t>(r.index);
  const std::string prefix =
      "run " + std::to_string(r.index + 1) + "/" + std::to_string(plan.runs.size()) + ": ";
  post.out->set_run(prefix);
  post.err->set_run(prefix);
  const auto started = clock.now();
  const RunStatus ended = driver.run_one(r).status;
  post.board->busy_us +=
      std::chrono::duration_cast<std::chrono::microseconds>(clock.now() - started).count();
  post.outcomes[r.index] = shared_status(ended);
  post.slot->run = -1;
  post.slot->row = 0;
  post.out->set_run("");
  post.err->set_run("");
  return ended;
}

// A worker (in its own process, forked before any io_context existed): claims runs from the
// parent's queue and carries them out until the queue is empty or it is interrupted; the
// parent did the rest (lock, experiments row, skipping, summary). The worst of its runs'
// statuses (completed when it took none).
RunStatus work(const Plan& plan, const RunnerOptions& options, WorkerPost& post,
               std::ostream& out, std::ostream& err) {
  SystemClock clock;
  Loop loop(clock, true);
  if (g_signal != 0) loop.interrupt(g_signal);  // came before the signal_set was there
  agents::Journal journal = agents::Journal::open();
  results::Store store = results::Store::open(options.output);
  store.set_busy_timeout(kWorkerBusyTimeout);
  ChildAgents agents(loop.io(), journal, options.ssh_config);
  RunDriver driver({plan, options, loop, agents, store, out, err, post.experiment_id,
                    post.netns, post.log_dir, &journal, true});
  driver.on_row = [&post](std::int64_t row) { post.slot->row = row; };
  // Commits what is batched every kWorkerFlush, so that the other workers' writes wait that
  // long at most (a batch holds SQLite's one write lock).
  auto last_flush = clock.now();
  driver.after_wait = [&] {
    if (clock.now() - last_flush < kWorkerFlush) return;
    last_flush = clock.now();
    store.flush();
  };
  driver.progress().begin(clock.now(), std::vector<bool>(plan.runs.size(), false));
  RunStatus status = RunStatus::completed;
  for (;;) {
    if (loop.take_signal() || post.board->stop.load() != 0) break;  // between runs
    const std::size_t at = post.board->next.fetch_add(1);
    if (at >= post.queue->size()) break;
    const RunStatus ended = work_on(plan, plan.runs[(*post.queue)[at]], driver, post, clock);
    if (ended == RunStatus::interrupted) {
      post.board->stop = 1;  // the campaign is interrupted: the parent tells the others
      return ended;
    }
    status = worst(status, ended);
  }
  return loop.interrupted() ? RunStatus::interrupted : status;
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
    code = exit_code(work(plan, o, post, wout, werr));
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

// SIGINT/SIGTERM while it lives: recorded (g_signal), forwarded to the workers (the
// terminal's reaches them anyway), who mark their runs interrupted; then waited for.
class ParentSignals {
 public:
  ParentSignals() {
    g_signal = 0;
    struct sigaction act {};
    act.sa_handler = on_parent_signal;
    sigemptyset(&act.sa_mask);
    ::sigaction(SIGINT, &act, &old_int_);
    ::sigaction(SIGTERM, &act, &old_term_);
  }
  ~ParentSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  ParentSignals(const ParentSignals&) = delete;
  ParentSignals& operator=(const ParentSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_{};
};

// The parent of the workers, from the campaign's opening to its status.
class SideBySide {
 public:
  SideBySide(const Plan& plan, const RunnerOptions& options, std::ostream& out,
             std::ostream& err)
      : plan_(plan), options_(options), out_(out), err_(err) {}
  ~SideBySide() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  RunStatus run();

 private:
  struct Orphan {
    std::size_t run;
    std::int64_t row;
    pid_t pid;
    std::string how;
  };
  bool open();
  void queue_runs();
  void phase(const std::vector<std::size_t>& queue, std::size_t n);
  pid_t fork_worker(const std::vector<std::size_t>& queue, std::size_t w);
  bool reap(std::vector<pid_t>& pids);
  void tell(const std::vector<pid_t>& pids, bool& told);
  std::optional<results::Store> mark_orphans();
  RunStatus status();

  const Plan& plan_;
  const RunnerOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  int lock_fd_ = -1;  // held for the whole campaign (the workers share it)
  std::optional<Campaign> campaign_;
  std::vector<std::size_t> local_, remote_;  // run indices, in plan order
  std::optional<SharedState> shared_;
  std::vector<Orphan> orphans_;  // runs whose worker ended before them
  int signalled_ = 0;
  SystemClock clock_;
  std::size_t ran_ = 0;  // runs that ended (status())
};

// The lock is held for the whole campaign (the workers share it): no worker marks another's
// runs, and a runner started meanwhile sees this one alive.
bool SideBySide::open() {
  try {
    // Closed again before the fork: an SQLite connection must not cross it.
    results::Store store = results::Store::open(options_.output);
    campaign_ = open_campaign(plan_, options_, store, lock_fd_, out_, err_);
  } catch (const std::exception& e) {
    err_ << "rsplab run: " << options_.output << ": " << e.what() << "\n";
    return false;
  }
  return campaign_.has_value();
}

void SideBySide::queue_runs() {
  const std::vector<bool> skip = announce(plan_, options_, campaign_->completed,
                                          campaign_->unfinished, options_.jobs, out_);
  for (const Run& r : plan_.runs) {
    if (skip[r.index]) {
      out_ << skipped_line(plan_, r) << "\n";
      continue;
    }
    (remote_run(r) ? remote_ : local_).push_back(r.index);
  }
  if (const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
      cpus > 0 && options_.jobs > static_cast<std::size_t>(cpus) && local_.size() > 1)
    err_ << "rsplab run: warning: --jobs " << options_.jobs << " on " << cpus
         << " CPU(s): the runs compete for them, and timing-sensitive results suffer\n";
  if (!remote_.empty())
    out_ << remote_.size()
         << " run(s) with sites on remote hosts (ssh) go one at a time, after the others\n";
}

RunStatus SideBySide::run() {
  ::signal(SIGPIPE, SIG_IGN);
  ParentSignals signals;
  if (!open()) return RunStatus::failed;
  queue_runs();
  try {
    shared_.emplace(options_.jobs, plan_.runs.size());
  } catch (const std::exception& e) {
    err_ << "rsplab run: " << e.what() << "\n";
    return RunStatus::failed;
  }
  const auto started = clock_.now();
  phase(local_, options_.jobs);
  phase(remote_, 1);  // one at a time
  std::optional<results::Store> store = mark_orphans();
  RunStatus status = this->status();
  const std::size_t not_run = local_.size() + remote_.size() - ran_;
  const auto wall = std::chrono::duration<double>(clock_.now() - started).count();
  if (!local_.empty() || !remote_.empty())
    out_ << "side by side: " << local_.size() + remote_.size() - not_run << " run(s) in "
         << clock_text(wall) << " (wall time), "
         << clock_text(shared_->board->busy_us.load() / 1e6) << " of run time summed (--jobs "
         << options_.jobs << ")\n";
  if (store) summarize(*store, plan_, options_, campaign_->experiment_id, out_, err_);
  out_ << std::flush;
  return status;
}

pid_t SideBySide::fork_worker(const std::vector<std::size_t>& queue, std::size_t w) {
  shared_->slot(w).run = -1;
  shared_->slot(w).row = 0;
  // fork without exec, not agents::spawn_process: the worker is this process going on with
  // the plan, the options and the shared board already in its memory (the MAP_SHARED mapping
  // is inherited, not passed), so there is no program to exec and nothing to redirect; its
  // output is ours on purpose.
  const pid_t pid = ::fork();
  if (pid == 0) {
    WorkerPost post;
    post.board = shared_->board;
    post.slot = &shared_->slot(w);
    post.outcomes = shared_->outcomes;
    post.queue = &queue;
    post.experiment_id = campaign_->experiment_id;
    post.netns = campaign_->netns;
    post.log_dir = campaign_->log_dir;
    ::_exit(worker_main(plan_, options_, out_, err_, post));
  }
  if (pid < 0) err_ << "rsplab run: fork: " << std::strerror(errno) << "\n";
  return pid;
}

// Carries out `queue` with `n` workers; returns once they all ended.
void SideBySide::phase(const std::vector<std::size_t>& queue, std::size_t n) {
  n = std::min(n, queue.size());
  if (n == 0 || g_signal != 0 || shared_->board->stop.load() != 0) return;
  shared_->board->next = 0;
  out_ << std::flush;
  err_ << std::flush;
  std::fflush(nullptr);  // else the children would write what is buffered again
  std::vector<pid_t> pids;
  for (std::size_t w = 0; w < n; ++w) {
    const pid_t pid = fork_worker(queue, w);
    if (pid < 0) break;
    pids.push_back(pid);
  }
  bool told = false;  // the workers were told to stop
  while (reap(pids)) {
    tell(pids, told);
    ::usleep(100 * 1000);
  }
}

// Reaps the workers that ended (their claimed runs become orphans); whether any lives.
bool SideBySide::reap(std::vector<pid_t>& pids) {
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
    if (const std::int64_t run = shared_->slot(w).run.load(); run >= 0)
      orphans_.push_back({static_cast<std::size_t>(run), shared_->slot(w).row.load(), pids[w],
                          p == pids[w] ? wait_status_text(status) : "lost"});
    pids[w] = -1;
    if (!normal) {  // what it left: its journal names it (the live workers' are spared)
      const auto left = agents::cleanup_dead();
      if (!left.undone.empty())
        out_ << "cleanup: removed what a dead worker left: " << join(left.undone, ", ")
             << "\n" << std::flush;
    }
  }
  return live;
}

// A signal to the parent goes to the live workers; so does a worker's interruption.
void SideBySide::tell(const std::vector<pid_t>& pids, bool& told) {
  if (const int sig = g_signal; sig != 0) {
    g_signal = 0;
    signalled_ = sig;
    shared_->board->stop = 1;
    for (const pid_t pid : pids)
      if (pid > 0) ::kill(pid, sig);
    told = true;
  } else if (!told && shared_->board->stop.load() != 0) {  // a worker was interrupted
    for (const pid_t pid : pids)
      if (pid > 0) ::kill(pid, SIGTERM);
    told = true;
  }
}

// The runs whose worker ended before them, failed with the reason (a row says so also when
// the run never reached readiness). The database, open again for the summary.
std::optional<results::Store> SideBySide::mark_orphans() {
  std::optional<results::Store> store;
  try {
    store.emplace(results::Store::open(options_.output));
    for (const Orphan& o : orphans_) {
      const Run& r = plan_.runs[o.run];
      const std::string reason =
          "its worker (pid " + std::to_string(o.pid) + ") ended before the run: " + o.how;
      const std::int64_t now = clock_.unix_us();
      if (o.row > 0) {
        if (store->run_status(o.row) == "running")
          store->end_run(o.row, RunStatus::failed, now, reason);
      } else {
        const auto id = store->begin_run(run_info(r, campaign_->experiment_id, r.transport, now));
        store->end_run(id, RunStatus::failed, clock_.unix_us(), reason);
      }
      shared_->outcomes[o.run] = shared_status(RunStatus::failed);
      err_ << "rsplab run: run " << (o.run + 1) << " failed: " << reason << "\n";
    }
  } catch (const std::exception& e) {
    err_ << "rsplab run: " << options_.output << ": " << e.what() << "\n";
  }
  return store;
}

// The campaign's status from the workers' runs (sets ran_: how many ended).
RunStatus SideBySide::status() {
  RunStatus status = signalled_ != 0    ? RunStatus::interrupted
                     : orphans_.empty() ? RunStatus::completed
                                        : RunStatus::failed;
  std::size_t not_run = 0;
  for (const auto* q : {&local_, &remote_})
    for (const std::size_t i : *q) {
      if (const auto s = shared_status(shared_->outcomes[i].load())) status = worst(status, *s);
      else ++not_run;
    }
  ran_ = local_.size() + remote_.size() - not_run;
  if (not_run > 0 && g_signal != 0) status = RunStatus::interrupted;  // before a phase began
  if (not_run > 0 && status != RunStatus::interrupted) {
    err_ << "rsplab run: " << not_run
         << " run(s) not carried out: no worker was left to take them\n";
    status = RunStatus::failed;
  }
  return status;
}

}  // namespace

// ---- LineBuf ---------------------------------------------------------------------------

LineBuf::~LineBuf() {
  if (!line_.empty()) emit();
}

LineBuf::int_type LineBuf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  put(traits_type::to_char_type(c));
  return c;
}

std::streamsize LineBuf::xsputn(const char* s, std::streamsize n) {
  for (std::streamsize i = 0; i < n; ++i) put(s[i]);
  return n;
}

void LineBuf::put(char c) {
  if (c == '\n') emit();
  else if (c != '\r') line_.push_back(c);
}

void LineBuf::emit() {
  std::string text = decorate();
  line_.clear();
  if (text.empty()) return;
  text.push_back('\n');
  const int fd = &target_ == &std::cout   ? STDOUT_FILENO
                 : &target_ == &std::cerr ? STDERR_FILENO
                                          : -1;
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

std::string LineBuf::decorate() const {
  if (line_.find_first_not_of(" \t") == std::string::npos) return "";
  if (prefix_.empty() || line_.rfind("run ", 0) == 0) return line_;
  static const std::string tool = "rsplab run: ";
  if (line_.rfind(tool, 0) == 0)
    return line_.compare(tool.size(), 4, "run ") == 0
               ? line_
               : tool + prefix_ + line_.substr(tool.size());
  return prefix_ + line_;
}

RunStatus run_side_by_side(const Plan& plan, const RunnerOptions& options, std::ostream& out,
                           std::ostream& err) {
  SideBySide parent(plan, options, out, err);
  return parent.run();
}

}  // namespace rsplab::experiments
