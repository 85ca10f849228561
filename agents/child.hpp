// A child process with its standard input and output as pipes on an io_context, read line
// by line: what the agent uses for components and the runner for agents. The child gets
// PR_SET_PDEATHSIG(SIGKILL), so it dies with its parent however the parent ends (the
// journal is the second line of defence, for what reparents).
//
//   Child::spawn(io, argv, handlers) ─► spawn_process ─► on_line(line) per stdout line ...
//                                                  ─► on_exit(status) once, after EOF and reaping
//   child.write_line(text) ─► its stdin;  child.signal(SIGKILL)
//
// Single-threaded on the caller's io_context. stderr is inherited unless `stderr_path`;
// nothing else of ours leaks into the child (spawn.hpp).
#pragma once

#include <utility>  // before Asio

#include <sys/types.h>

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rsplab::agents {

class Child : public std::enable_shared_from_this<Child> {
 public:
  struct Handlers {
    std::function<void(const std::string& line)> on_line;
    std::function<void(int status)> on_exit;  // raw wait status; usage() is then final
  };
  struct Options {
    std::string stderr_path;   // empty: inherit; else appended to that file
    bool stdin_pipe = true;    // false: /dev/null
  };

  // Throws std::system_error when fork, the pipes or the stderr file fail; an exec failure
  // shows as exit 127.
  static std::shared_ptr<Child> spawn(boost::asio::io_context& io,
                                      const std::vector<std::string>& argv, Handlers handlers,
                                      Options options);
  ~Child();

  pid_t pid() const { return pid_; }
  bool running() const { return !exited_; }
  // Queues a line (a '\n' is added) for its stdin; false when stdin is closed.
  bool write_line(const std::string& line);
  void close_stdin();
  bool signal(int sig);
  // After on_exit: its resources as wait4 reported them (peak RSS in KiB, CPU seconds).
  struct Usage {
    long max_rss_kib = 0;
    double user_s = 0, system_s = 0;
  };
  const Usage& usage() const { return usage_; }
  // The path of this executable (/proc/self/exe), for spawning our own subcommands.
  static std::string self_exe();

 private:
  Child(boost::asio::io_context& io) : io_(io), out_(io), in_(io), reaper_(io) {}
  void read();
  void write_next();
  void reap();

  boost::asio::io_context& io_;
  pid_t pid_ = -1;
  boost::asio::posix::stream_descriptor out_, in_;
  boost::asio::streambuf buffer_;
  std::vector<std::string> pending_;
  bool writing_ = false;
  bool eof_ = false, exited_ = false;
  int status_ = 0;
  Usage usage_;
  boost::asio::steady_timer reaper_;
  Handlers handlers_;
};

}  // namespace rsplab::agents
