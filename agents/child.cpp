#include "agents/child.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <istream>
#include <system_error>

#include "agents/spawn.hpp"

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
  SpawnOptions o;
  o.in = options.stdin_pipe ? Redirect::pipe() : Redirect::null();
  o.out = Redirect::pipe();
  if (!options.stderr_path.empty()) o.err = Redirect::file(options.stderr_path, true);
  // New process group: a Ctrl-C at the terminal reaches the runner only, which then stops
  // its components in order.
  o.new_process_group = true;
  o.die_with_parent = true;
  const Spawned s = spawn_process(argv, o);  // an exec failure: it exited 127, reaped below
  auto c = std::shared_ptr<Child>(new Child(io));
  c->pid_ = s.pid;
  c->handlers_ = std::move(handlers);
  c->out_.assign(s.out);
  if (s.in >= 0) c->in_.assign(s.in);
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
