// The one place that starts a child process (fork + exec) for the whole project: the agent's
// components and the runner's agents (Child, on an io_context), system tools (run_command),
// and the test support (ChildProcess, the headless browser, the CLI tests). Each caller says
// what the child's standard streams are (inherited, /dev/null, a pipe back to us, a file),
// which further descriptors it keeps, its environment, and whether it gets a process group
// of its own or dies with us; everything else of ours is closed in the child, so no socket
// or pipe of the parent leaks into it.
//
//   spawn_process(argv, options) ─► fork ─► child: redirect, close the rest, exec argv[0]
//                                 ◄─ pid, our ends of the pipes, exec's errno (0: it ran)
//
// fork + exec rather than posix_spawn because PR_SET_PDEATHSIG and the start-up check that
// the parent still lives can only run in the child. Only async-signal-safe calls run between
// fork and exec, and everything they need is prepared before the fork, so it is safe from a
// process with threads. An exec failure reaches the caller through a close-on-exec pipe
// (Spawned::exec_errno); the child has then exited 127 and is still to be reaped.
// The runner's worker processes (experiments/runner.cpp) fork without exec and are not this.
// Blocking only for as long as the exec takes; safe to call from any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace rsplab::agents {

// What one standard stream of the child is.
struct Redirect {
  enum class Kind { inherit, null, pipe, file };
  Kind kind = Kind::inherit;
  std::string path;     // file: read (stdin) or written (stdout/stderr)
  bool append = false;  // file written: append instead of truncating
  int mode = 0644;      // file created

  static Redirect inherit() { return {}; }
  static Redirect null() { return of(Kind::null); }
  static Redirect pipe() { return of(Kind::pipe); }
  static Redirect file(std::string path, bool append = false, int mode = 0644) {
    Redirect r = of(Kind::file);
    r.path = std::move(path);
    r.append = append;
    r.mode = mode;
    return r;
  }

 private:
  static Redirect of(Kind k) {
    Redirect r;
    r.kind = k;
    return r;
  }
};

struct SpawnOptions {
  Redirect in, out, err;              // each inherited unless set
  bool err_to_out = false;            // stderr is a copy of stdout (`err` is then ignored)
  std::vector<std::pair<int, int>> keep_fds;  // {our fd, its number in the child}, numbers >= 3
  bool clear_env = false;             // start from an empty environment instead of ours
  std::vector<std::string> env;       // "NAME=value" entries added on top
  bool new_process_group = false;     // setpgid(0, 0): a terminal's Ctrl-C does not reach it
  bool die_with_parent = false;       // PR_SET_PDEATHSIG(SIGKILL); exits 126 if we died first
};

struct Spawned {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;  // our ends of the pipes asked for (close-on-exec); the
                                    // caller owns them; -1 where no pipe was asked for
  int exec_errno = 0;               // nonzero: exec failed, the child exited 127
};

// argv[0] is the path run (no PATH search: see find_tool in command.hpp).
// REQUIRES: !argv.empty(). Throws std::system_error when a pipe, a file or fork fails;
// nothing is left open or running then.
Spawned spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options);

// A raw wait status as a shell would report it: the exit code, or 128+signal when killed.
int exit_code(int wait_status);

// Waits for `pid` (retrying on EINTR); its raw wait status, or -1 when waitpid fails.
int wait_for(pid_t pid);

}  // namespace rsplab::agents
