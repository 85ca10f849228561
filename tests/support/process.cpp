#include "tests/support/process.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "agents/spawn.hpp"

namespace rsplab::test {

namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using Clock = std::chrono::steady_clock;

// ---- ChildProcess ----------------------------------------------------------------------

ChildProcess::ChildProcess(const std::string& binary, const std::vector<std::string>& args) {
  spawn(binary, args, Options{});
}

ChildProcess::ChildProcess(const std::string& binary, const std::vector<std::string>& args,
                           Options options) {
  spawn(binary, args, std::move(options));
}

void ChildProcess::spawn(const std::string& binary, const std::vector<std::string>& args,
                         Options options) {
  if (pid_ > 0) throw std::logic_error("ChildProcess::spawn: already spawned");
  options_ = std::move(options);
  command_ = binary;
  for (const auto& a : args) command_ += " " + a;

  agents::SpawnOptions o;
  if (options_.capture_stdout) o.out = agents::Redirect::pipe();
  if (options_.capture_stderr) o.err = agents::Redirect::pipe();
  o.env = options_.env;
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  agents::Spawned s;
  try {
    s = agents::spawn_process(argv, o);
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), std::string("spawn: ") + command_);
  }
  if (s.exec_errno != 0) {  // as posix_spawn did: no process to talk about
    for (int fd : {s.out, s.err})
      if (fd >= 0) ::close(fd);
    agents::wait_for(s.pid);
    throw std::system_error(s.exec_errno, std::generic_category(), "exec: " + command_);
  }
  pid_ = s.pid;
  out_fd_ = s.out;
  err_fd_ = s.err;
  if (out_fd_ < 0) out_eof_ = true;
  if (out_fd_ >= 0 || err_fd_ >= 0) reader_ = std::thread([this] { reader(); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
  }
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::reader() {
  int out = out_fd_, err = err_fd_;
  char buf[4096];
  while (out >= 0 || err >= 0) {
    pollfd fds[2];
    int n = 0;
    if (out >= 0) fds[n++] = {out, POLLIN, 0};
    if (err >= 0) fds[n++] = {err, POLLIN, 0};
    const int rc = ::poll(fds, static_cast<nfds_t>(n), 1000);
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::lock_guard lock(mu_);
      if (got <= 0) {
        ::close(fd);
        if (fd == out) {
          out = -1;
          if (!out_partial_.empty()) lines_.push_back(std::move(out_partial_));
          out_partial_.clear();
          out_eof_ = true;
        } else {
          err = -1;
          if (!err_partial_.empty()) {
            if (options_.echo_stderr) std::fprintf(stderr, "[child %d] %s\n", pid_, err_partial_.c_str());
            err_text_ += err_partial_ + "\n";
          }
          err_partial_.clear();
        }
        cv_.notify_all();
        continue;
      }
      if (fd == out) {
        out_partial_.append(buf, static_cast<std::size_t>(got));
        std::size_t pos;
        while ((pos = out_partial_.find('\n')) != std::string::npos) {
          lines_.push_back(out_partial_.substr(0, pos));
          out_partial_.erase(0, pos + 1);
        }
      } else {
        err_partial_.append(buf, static_cast<std::size_t>(got));
        std::size_t pos;
        while ((pos = err_partial_.find('\n')) != std::string::npos) {
          const std::string line = err_partial_.substr(0, pos);
          if (options_.echo_stderr) std::fprintf(stderr, "[child %d] %s\n", pid_, line.c_str());
          err_text_ += line + "\n";
          err_partial_.erase(0, pos + 1);
        }
      }
      cv_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  out_eof_ = true;
  cv_.notify_all();
}

std::optional<std::string> ChildProcess::read_line(Duration timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || out_eof_; });
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

std::optional<std::string> ChildProcess::read_line_until(
    const std::function<bool(const std::string&)>& pred, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration::zero()) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (pred(*line)) return line;
  }
}

bool ChildProcess::stdout_eof() const {
  std::lock_guard lock(mu_);
  return out_eof_ && lines_.empty();
}

std::string ChildProcess::stderr_text() const {
  std::lock_guard lock(mu_);
  return err_text_ + err_partial_;
}

std::optional<ChildProcess::ReadyEndpoints> ChildProcess::wait_ready(Duration timeout,
                                                                      std::string* error) {
  const auto deadline = Clock::now() + timeout;
  ReadyEndpoints ready;
  for (const char* what : {"asap", "enrp"}) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    const auto line = read_line(std::max(left, Duration::zero()));
    const std::string prefix = std::string(what) + " ";
    if (!line) {
      if (error) *error = std::string("no '") + what + " ADDR:PORT' line (" +
                          (stdout_eof() ? "output ended" : "timeout") + ")";
      return std::nullopt;
    }
    if (line->rfind(prefix, 0) != 0) {
      if (error) *error = "expected '" + prefix + "ADDR:PORT', got '" + *line + "'";
      return std::nullopt;
    }
    std::string parse_error;
    auto e = transport::parse_endpoint(line->substr(prefix.size()), 0, &parse_error);
    if (!e || e->port == 0) {
      if (error) *error = "bad endpoint in '" + *line + "': " + parse_error;
      return std::nullopt;
    }
    (std::string(what) == "asap" ? ready.asap : ready.enrp) = std::move(*e);
  }
  return ready;
}

bool ChildProcess::signal(int sig) {
  if (pid_ <= 0 || status_) return false;
  return ::kill(pid_, sig) == 0;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

std::optional<int> ChildProcess::exit_code() const {
  if (!status_) return std::nullopt;
  if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  return -1;
}

std::string ChildProcess::describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

std::optional<int> ChildProcess::stop(Duration timeout) {
  if (!running()) return status_;
  terminate();
  if (auto st = wait(timeout)) return st;
  kill();
  return wait(5s);
}

// ---- AsapPeer -------------------------------------------------------------------------

AsapPeer::AsapPeer(boost::asio::io_context& io, std::string name)
    : io_(io), name_(std::move(name)) {}

AsapPeer::~AsapPeer() {
  *alive_ = false;
  if (conn_) conn_->close();
}

bool AsapPeer::run_until(const std::function<bool()>& done, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  // A timer keeps the io_context busy until the deadline, so that run_one_for waits
  // instead of returning at once when nothing else is outstanding.
  boost::asio::steady_timer guard(io_, deadline);
  guard.async_wait([](const boost::system::error_code&) {});
  bool ok = done();
  while (!ok && Clock::now() < deadline) {
    if (io_.stopped()) io_.restart();
    io_.run_one_until(deadline);
    ok = done();
  }
  guard.cancel();
  // Let the cancelled wait complete now, so that it does not linger.
  if (io_.stopped()) io_.restart();
  io_.poll();
  return ok;
}

void AsapPeer::pump(Duration d) { run_until([] { return false; }, d); }

bool AsapPeer::connect(const transport::Endpoint& remote, Duration timeout,
                       transport::Kind kind) {
  if (conn_) {  // a second connect replaces the first connection
    conn_->close();
    conn_.reset();
  }
  struct State {
    bool done = false;
    std::error_code ec;
    std::shared_ptr<transport::Connection> conn;
  };
  auto state = std::make_shared<State>();
  transport::async_connect(io_, kind, remote, {},
                           transport::Framing{false, wire::kPpidAsap},
                           [state](std::error_code ec, std::shared_ptr<transport::Connection> c) {
                             state->done = true;
                             state->ec = ec;
                             state->conn = std::move(c);
                             // Late (after a timeout): nobody takes it.
                           });
  if (!run_until([&] { return state->done; }, timeout)) return false;
  if (state->ec || !state->conn) return false;
  auto conn = std::move(state->conn);
  conn_ = std::move(conn);
  closed_ = false;
  close_ec_ = {};
  auto self_alive = alive_;
  conn_->start({[this, self_alive](std::uint32_t, std::span<const std::uint8_t> m) {
                  if (*self_alive) on_message(m);
                },
                [this, self_alive](const std::error_code& ec) {
                  if (!*self_alive) return;
                  closed_ = true;
                  close_ec_ = ec;
                }});
  return true;
}

void AsapPeer::close() {
  if (conn_) conn_->close();
  closed_ = true;
}

void AsapPeer::fix_length(std::vector<std::uint8_t>& bytes) {
  const std::size_t n = bytes.size();
  bytes[2] = static_cast<std::uint8_t>(n >> 8);
  bytes[3] = static_cast<std::uint8_t>(n & 0xff);
}

bool AsapPeer::send(const wire::asap::Message& m) {
  const auto bytes = wire::encode(m);
  if (bytes.empty()) return false;
  if (const auto* r = std::get_if<wire::asap::Registration>(&m)) {
    const std::pair<std::string, std::uint32_t> key{r->pool_handle, r->pool_element.identifier};
    if (std::find(registered_.begin(), registered_.end(), key) == registered_.end())
      registered_.push_back(key);
  }
  return send_raw(bytes);
}

bool AsapPeer::send_raw(std::span<const std::uint8_t> bytes) {
  if (!conn_ || closed_) return false;
  return conn_->send(wire::kPpidAsap, bytes);
}

void AsapPeer::on_message(std::span<const std::uint8_t> bytes) {
  ++received_total_;
  Received r;
  r.bytes.assign(bytes.begin(), bytes.end());
  if (auto d = wire::decode_asap(bytes)) r.message = std::move(d->message);
  if (r.message) {
    if (const auto* ka = std::get_if<wire::asap::EndpointKeepAlive>(&*r.message)) {
      ++keep_alives_;
      if (auto_ack_ && conn_ && !closed_) {
        std::vector<std::uint32_t> ids;
        if (ka->pe_identifier) {
          ids.push_back(*ka->pe_identifier);
        } else {
          for (const auto& [pool, id] : registered_)
            if (pool == ka->pool_handle) ids.push_back(id);
        }
        for (const auto id : ids) {
          wire::asap::EndpointKeepAliveAck ack;
          ack.pool_handle = ka->pool_handle;
          ack.pe_identifier = id;
          if (conn_->send(wire::kPpidAsap, wire::encode(wire::asap::Message{ack}))) ++acks_sent_;
        }
      }
    }
  }
  inbox_.push_back(std::move(r));
}

std::optional<AsapPeer::Received> AsapPeer::receive_raw(Duration timeout) {
  run_until([&] { return !inbox_.empty() || closed_; }, timeout);
  if (inbox_.empty()) return std::nullopt;
  Received r = std::move(inbox_.front());
  inbox_.pop_front();
  return r;
}

std::optional<wire::asap::Message> AsapPeer::receive(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration::zero() && inbox_.empty()) return std::nullopt;
    auto r = receive_raw(std::max(left, Duration::zero()));
    if (!r) return std::nullopt;
    if (r->message) return std::move(r->message);
    ++dropped_;
  }
}

bool AsapPeer::wait_closed(Duration timeout) {
  return run_until([&] { return closed_; }, timeout);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

std::pair<int, std::string> run_shell(const std::string& command) {
  agents::SpawnOptions o;
  o.out = agents::Redirect::pipe();
  o.err_to_out = true;
  agents::Spawned s;
  try {
    s = agents::spawn_process({"/bin/sh", "-c", command}, o);
  } catch (const std::system_error&) {
    return {-1, "spawn failed"};
  }
  std::string output;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = ::read(s.out, buf.data(), buf.size())) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(s.out);
  return {agents::exit_code(agents::wait_for(s.pid)), output};
}

}  // namespace rsplab::test
