#include "agents/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <istream>
#include <system_error>

namespace rsplab::agents {

namespace asio = boost::asio;

std::string Child::self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "rsplab";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::shared_ptr<Child> Child::spawn(asio::io_context& io, const std::vector<std::string>& argv,
                                    Handlers handlers, Options options) {
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::system_error(errno, std::generic_category(), "pipe");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out[0], out[1], in[0], in[1]}) ::close(fd);
    throw std::system_error(e, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before the prctl
    if (options.stdin_pipe) {
      ::dup2(in[0], 0);
    } else {
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
    }
    ::dup2(out[1], 1);
    if (!options.stderr_path.empty()) {
      const int err = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, 2);
    }
    // New process group: a Ctrl-C at the terminal reaches the runner only, which then
    // stops its components in order.
    ::setpgid(0, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  auto c = std::shared_ptr<Child>(new Child(io));
  c->pid_ = pid;
  c->handlers_ = std::move(handlers);
  c->out_.assign(out[0]);
  c->in_.assign(in[1]);
  if (!options.stdin_pipe) c->close_stdin();
  c->read();
  return c;
}

Child::~Child() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

void Child::read() {
  asio::async_read_until(out_, buffer_, '\n',
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     std::size_t) {
                           if (ec) {
                             // EOF (or a broken pipe): a partial last line still counts.
                             if (self->buffer_.size() > 0) {
                               std::istream is(&self->buffer_);
                               std::string line;
                               std::getline(is, line);
                               if (self->handlers_.on_line) self->handlers_.on_line(line);
                             }
                             self->eof_ = true;
                             self->reap();
                             return;
                           }
                           std::istream is(&self->buffer_);
                           std::string line;
                           std::getline(is, line);
                           if (self->handlers_.on_line) self->handlers_.on_line(line);
                           self->read();
                         });
}

void Child::reap() {
  int st = 0;
  rusage ru{};
  const pid_t r = ::wait4(pid_, &st, WNOHANG, &ru);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exited_ = true;
    status_ = st;
    if (r == pid_) {
      usage_.max_rss_kib = ru.ru_maxrss;
      usage_.user_s = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
      usage_.system_s = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
    }
    boost::system::error_code ignored;
    in_.close(ignored);
    out_.close(ignored);
    if (handlers_.on_exit) handlers_.on_exit(st);
    return;
  }
  reaper_.expires_after(std::chrono::milliseconds(20));
  reaper_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->reap();
  });
}

bool Child::write_line(const std::string& line) {
  if (!in_.is_open()) return false;
  pending_.push_back(line + "\n");
  if (!writing_) write_next();
  return true;
}

void Child::write_next() {
  if (pending_.empty() || !in_.is_open()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto data = std::make_shared<std::string>(std::move(pending_.front()));
  pending_.erase(pending_.begin());
  asio::async_write(in_, asio::buffer(*data),
                    [self = shared_from_this(), data](const boost::system::error_code& ec,
                                                      std::size_t) {
                      if (ec) {
                        self->pending_.clear();
                        self->writing_ = false;
                        return;
                      }
                      self->write_next();
                    });
}

void Child::close_stdin() {
  boost::system::error_code ignored;
  in_.close(ignored);
  pending_.clear();
}

bool Child::signal(int sig) {
  if (exited_ || pid_ <= 0) return false;
  return ::kill(pid_, sig) == 0;
}

}  // namespace rsplab::agents
