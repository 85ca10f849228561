#include "agents/command.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "agents/spawn.hpp"
#include "stack/common/split.hpp"

namespace rsplab::agents {

std::string find_tool(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs;
  if (const char* path = std::getenv("PATH")) dirs = path;
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  for (const std::string& dir : common::split(dirs, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Reads both pipes at once until both end: a tool that fills one while we block on the
// other would hang.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_fds;
      }
    }
  }
}

}  // namespace

std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  std::vector<std::string> args = argv;
  args.at(0) = find_tool(argv.at(0));
  if (args[0].empty()) {
    result.status = 127;
    result.err = argv[0] + ": command not found";
    return result;
  }
  SpawnOptions options;
  options.in = Redirect::null();
  options.out = Redirect::pipe();
  options.err = Redirect::pipe();
  Spawned child;
  try {
    child = spawn_process(args, options);
  } catch (const std::system_error& e) {
    result.status = 127;
    result.err = e.what();
    return result;
  }
  Fd out_r{child.out}, err_r{child.err};
  drain(out_r.fd, err_r.fd, result.out, result.err);
  const int status = wait_for(child.pid);
  if (child.exec_errno != 0) {
    result.status = 127;
    result.err = args[0] + ": " + std::strerror(child.exec_errno);
  } else if (status < 0) {
    result.status = 127;
    result.err += std::string("waitpid: ") + std::strerror(errno);
  } else {
    result.status = exit_code(status);
  }
  return result;
}

}  // namespace rsplab::agents
