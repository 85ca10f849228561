// spawn_process: fork + exec with redirections, kept descriptors, environment and process
// group, and the exec's errno carried back over a close-on-exec pipe (see spawn.hpp).
#include "agents/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

extern char** environ;

namespace rsplab::agents {

namespace {

// A descriptor of ours that closes unless released.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int release() { return std::exchange(fd, -1); }
};

[[noreturn]] void fail(const std::string& what, int e) {
  throw std::system_error(e, std::generic_category(), what);
}

// For one standard stream: the descriptor the child gets (-1: inherit) and our pipe end.
struct Prepared {
  Fd child, ours;
};

void prepare(const Redirect& r, bool input, Prepared& p) {
  switch (r.kind) {
    case Redirect::Kind::inherit:
      return;
    case Redirect::Kind::null:
      p.child.fd = ::open("/dev/null", (input ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      if (p.child.fd < 0) fail("open /dev/null", errno);
      return;
    case Redirect::Kind::pipe: {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) fail("pipe", errno);
      p.child.fd = input ? fds[0] : fds[1];
      p.ours.fd = input ? fds[1] : fds[0];
      return;
    }
    case Redirect::Kind::file: {
      const int flags = input ? O_RDONLY
                              : O_WRONLY | O_CREAT | (r.append ? O_APPEND : O_TRUNC);
      p.child.fd = ::open(r.path.c_str(), flags | O_CLOEXEC, r.mode);
      if (p.child.fd < 0) fail("open " + r.path, errno);
      return;
    }
  }
}

// Everything the child needs, made before the fork: it may only use async-signal-safe calls.
struct Plan {
  std::vector<char*> argv, envp;
  int stdio[3] = {-1, -1, -1};
  bool err_to_out = false;
  std::vector<std::pair<int, int>> keep;
  int high = 3;         // the lowest descriptor above every target
  int fd_limit = 1024;  // for the fallback when close_range cannot mark
  bool group = false, die = false;
  pid_t parent = -1;
};

// Moves `fd` above every target so that no dup2 overwrites it; close-on-exec.
int move_high(int fd, int high) { return fd < 0 ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, high); }

// Dups `from` onto `to` without close-on-exec (also when they are the same descriptor).
void place(int from, int to) {
  if (from == to) ::fcntl(to, F_SETFD, 0);
  else ::dup2(from, to);
}

[[noreturn]] void run_child(Plan& plan, int error_pipe) {
  if (plan.die) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != plan.parent) ::_exit(126);  // the parent died before the prctl
  }
  error_pipe = move_high(error_pipe, plan.high);
  for (int& s : plan.stdio) s = move_high(s, plan.high);
  for (auto& [from, to] : plan.keep) from = move_high(from, plan.high);
  for (int i = 0; i < 3; ++i)
    if (plan.stdio[i] >= 0) place(plan.stdio[i], i);
  if (plan.err_to_out) ::dup2(1, 2);
  // Nothing else of ours stays open in the child past exec (sockets, other children's pipes).
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < plan.fd_limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  for (const auto& [from, to] : plan.keep) place(from, to);
  if (plan.group) ::setpgid(0, 0);
  ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
  const int e = errno;
  [[maybe_unused]] const ssize_t n = ::write(error_pipe, &e, sizeof e);
  ::_exit(127);
}

int descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 65536;
  return static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 65536));
}

}  // namespace

Spawned spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  Prepared in, out, err;
  prepare(options.in, true, in);
  prepare(options.out, false, out);
  if (!options.err_to_out) prepare(options.err, false, err);
  int error_fds[2];
  if (::pipe2(error_fds, O_CLOEXEC) != 0) fail("pipe", errno);
  Fd error_read{error_fds[0]}, error_write{error_fds[1]};

  std::vector<std::string> env;
  if (!options.clear_env)
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), options.env.begin(), options.env.end());
  Plan plan;
  for (const auto& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (auto& e : env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.stdio[0] = in.child.fd;
  plan.stdio[1] = out.child.fd;
  plan.stdio[2] = err.child.fd;
  plan.err_to_out = options.err_to_out;
  plan.keep = options.keep_fds;
  for (const auto& [from, to] : plan.keep) plan.high = std::max(plan.high, to + 1);
  plan.fd_limit = descriptor_limit();
  plan.group = options.new_process_group;
  plan.die = options.die_with_parent;
  plan.parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) fail("fork " + argv.at(0), errno);
  if (pid == 0) run_child(plan, error_write.fd);

  error_write.reset();
  Spawned s;
  s.pid = pid;
  int e = 0;
  ssize_t n;
  while ((n = ::read(error_read.fd, &e, sizeof e)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof e)) s.exec_errno = e;
  s.in = in.ours.release();
  s.out = out.ours.release();
  s.err = err.ours.release();
  return s;
}

int exit_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 127;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

}  // namespace rsplab::agents
