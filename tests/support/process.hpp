// Test support: a child process with piped output (ChildProcess) and a blocking ASAP test
// client over the project's own transport (AsapPeer). Used by the integration tests and
// the load generator of bench/; neither knows about the other.
//
//   test ──spawn(binary, args)──► ChildProcess ──pipes──► reader thread ──► lines, stderr
//   test ──connect/send/receive(timeout)──► AsapPeer ──► transport::Connection ──► PR
//
// Every wait is bounded by a timeout. ChildProcess is safe to use from one thread (its own
// reader thread is internal); AsapPeer runs on the caller's io_context, single-threaded.
#pragma once

#include <sys/types.h>

#include <utility>  // before Asio (see stack/transport/transport.hpp)

#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"

namespace rsplab::test {

using namespace std::chrono_literals;
using Duration = std::chrono::milliseconds;

// ---- ChildProcess ----------------------------------------------------------------------

// A string quoted for /bin/sh ('...', with embedded quotes escaped).
std::string shell_quote(const std::string& s);
// Runs a shell command; its exit status (128+signal when killed) and combined output.
std::pair<int, std::string> run_shell(const std::string& command);

class ChildProcess {
 public:
  struct Options {
    bool capture_stdout = true;   // false: inherit the parent's
    bool capture_stderr = true;   // false: inherit the parent's
    bool echo_stderr = false;     // also copy captured stderr to ours, line by line
    std::vector<std::string> env; // extra "NAME=value" entries on top of ours
  };

  ChildProcess() = default;
  // Spawns at once (agents::spawn_process; stdin inherited, nothing else of ours leaks);
  // throws std::system_error when it cannot be started.
  ChildProcess(const std::string& binary, const std::vector<std::string>& args);
  ChildProcess(const std::string& binary, const std::vector<std::string>& args, Options options);
  ~ChildProcess();  // SIGKILL if still running, reaps it, joins the reader
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void spawn(const std::string& binary, const std::vector<std::string>& args, Options options);

  pid_t pid() const { return pid_; }
  // A one-line description: the command line.
  const std::string& command() const { return command_; }

  // The next line of standard output (without '\n'); nullopt on timeout or when the
  // output ended (eof()).
  std::optional<std::string> read_line(Duration timeout);
  // Reads lines until `pred` accepts one (returned) or the timeout; lines not accepted are
  // dropped.
  std::optional<std::string> read_line_until(const std::function<bool(const std::string&)>& pred,
                                             Duration timeout);
  bool stdout_eof() const;
  // Everything captured on stderr so far.
  std::string stderr_text() const;

  // The endpoints a server printed when ready: "asap ADDR:PORT" then "enrp ADDR:PORT".
  struct ReadyEndpoints {
    rserpool::transport::Endpoint asap, enrp;
  };
  // Waits for both lines (in order); nullopt on timeout, end of output or a bad line
  // (`error` says which).
  std::optional<ReadyEndpoints> wait_ready(Duration timeout, std::string* error = nullptr);

  bool signal(int sig);  // kill(pid, sig); false when not running
  bool terminate() { return signal(SIGTERM); }
  bool kill() { return signal(SIGKILL); }

  // Whether it is still running (reaps it when it has exited).
  bool running();
  // Waits for it to exit; the raw wait status, or nullopt on timeout.
  std::optional<int> wait(Duration timeout);
  // After it exited: the raw status.
  std::optional<int> status() const { return status_; }
  // Describes a raw status: "exit 0", "signal 9 (Killed)".
  static std::string describe(int status);
  // exit code when it exited normally; -1 when killed by a signal; nullopt while running.
  std::optional<int> exit_code() const;
  // SIGTERM, then wait; SIGKILL after `timeout`. Returns the status.
  std::optional<int> stop(Duration timeout);

 private:
  void reader();

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string command_;
  Options options_;
  int out_fd_ = -1, err_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::string out_partial_, err_text_, err_partial_;
  bool out_eof_ = false;
};

// ---- AsapPeer -------------------------------------------------------------------------

// A PE or PU talking ASAP to a registrar over TCP (the TCP mapping, no PPID prefix),
// blocking: each call runs the shared io_context until its condition holds or the timeout.
// Received messages queue up until taken; while any call runs, every peer on the same
// io_context keeps receiving (and auto-acking keep-alives when asked to).
class AsapPeer {
 public:
  struct Received {
    std::vector<std::uint8_t> bytes;
    std::optional<rserpool::wire::asap::Message> message;  // nullopt: did not decode
  };

  explicit AsapPeer(boost::asio::io_context& io, std::string name = "peer");
  ~AsapPeer();
  AsapPeer(const AsapPeer&) = delete;
  AsapPeer& operator=(const AsapPeer&) = delete;

  const std::string& name() const { return name_; }

  bool connect(const rserpool::transport::Endpoint& remote, Duration timeout = 5s,
               rserpool::transport::Kind kind = rserpool::transport::Kind::tcp);
  bool connected() const { return conn_ != nullptr && !closed_; }
  // Closes our side; the registrar sees the connection end.
  void close();

  // Queues one message; false when it cannot be encoded or the connection refused it.
  bool send(const rserpool::wire::asap::Message& m);
  // Queues raw bytes as one message. The transport frames by Message Length, so it refuses
  // (false) bytes whose Length (bytes 2-3) is not their size; see fix_length().
  bool send_raw(std::span<const std::uint8_t> bytes);
  // Sets bytes 2-3 to the size (REQUIRES: 4 <= size <= 65535).
  static void fix_length(std::vector<std::uint8_t>& bytes);

  // The next received message (decoded or not), or nullopt on timeout / close.
  std::optional<Received> receive_raw(Duration timeout = 2s);
  // The next message that decodes; undecodable ones are skipped.
  std::optional<rserpool::wire::asap::Message> receive(Duration timeout = 2s);
  // The next message of type T; other messages are dropped (counted in dropped()).
  template <class T>
  std::optional<T> receive_as(Duration timeout = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<Duration>(deadline -
                                                             std::chrono::steady_clock::now());
      if (left <= Duration::zero()) return std::nullopt;
      auto m = receive(left);
      if (!m) return std::nullopt;
      if (auto* t = std::get_if<T>(&*m)) return std::move(*t);
      ++dropped_;
    }
  }

  // Runs the io_context for `d` (keep-alives get acked meanwhile when enabled).
  void pump(Duration d);
  // Runs the io_context until `done()` or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, Duration timeout);
  // Waits until the registrar closed the connection.
  bool wait_closed(Duration timeout);
  bool closed_by_peer() const { return closed_; }
  std::error_code close_reason() const { return close_ec_; }

  // Answer every ENDPOINT_KEEP_ALIVE at once with an ENDPOINT_KEEP_ALIVE_ACK (for the
  // PE identifier it names, or every PE this peer registered in that pool when it names
  // none). Keep-alives still queue up for receive().
  void set_auto_ack(bool on) { auto_ack_ = on; }
  std::size_t keep_alives() const { return keep_alives_; }
  std::size_t acks_sent() const { return acks_sent_; }
  std::size_t queued() const { return inbox_.size(); }
  std::size_t dropped() const { return dropped_; }
  std::size_t received_total() const { return received_total_; }
  void clear() { inbox_.clear(); }

 private:
  void on_message(std::span<const std::uint8_t> bytes);

  boost::asio::io_context& io_;
  std::string name_;
  std::shared_ptr<rserpool::transport::Connection> conn_;
  bool closed_ = false;
  std::error_code close_ec_;
  std::deque<Received> inbox_;
  bool auto_ack_ = false;
  std::size_t keep_alives_ = 0, acks_sent_ = 0, dropped_ = 0, received_total_ = 0;
  // Pool handle -> PE identifiers registered through this peer (for auto-acks).
  std::vector<std::pair<std::string, std::uint32_t>> registered_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rsplab::test
