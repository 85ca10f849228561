// Test support: a real OpenSSH server on loopback (Sshd), for the tests of sites reached with
// `ssh HOST rsplab agent --stdio`. It lives in a fresh temporary directory holding a host key,
// a client key, authorized_keys, an sshd_config and a throw-away ssh client config; it listens
// on 127.0.0.1 only, on a free port it picks, and accepts that one key and nothing else
// (no passwords, no PAM). The system's sshd, /etc/ssh and port 22 are never used.
//
//   Sshd sshd;                                     keys, configs, /usr/sbin/sshd -D -e -f ...
//   ssh -F sshd.config_path() sshd.alias() CMD     → runs CMD as the current user (root)
//   ~Sshd()                                        sessions and sshd SIGTERMed, reaped; dir gone
//
// sshd needs root (it binds, switches users and chroots its pre-auth child into /run/sshd,
// created here when missing): available() says why it cannot run, and tests skip then.
// sshd is started with PR_SET_PDEATHSIG(SIGKILL) (through setpriv, when present), so a
// crashed test does not leave a root sshd listening. Every wait is bounded. Use from one
// thread: the one that constructs it, which sshd's parent-death signal is tied to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace rsplab::test {

class Sshd {
 public:
  // Whether a test sshd can run here: root, /usr/sbin/sshd, ssh and ssh-keygen. When not,
  // `why` (if given) says what is missing, for GTEST_SKIP().
  static bool available(std::string* why = nullptr);

  // Generates the keys and configs, starts sshd and waits (at most `timeout` per attempt)
  // until it listens; retries with another port when the one picked was taken meanwhile.
  // Throws std::runtime_error (with sshd's log) when it cannot be started.
  explicit Sshd(std::string alias = "rsplab-remote", Duration timeout = 10s);
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  // The ssh client config: `Host alias` → 127.0.0.1:port, our key, no host key checks,
  // BatchMode, ConnectTimeout 5. Use as `ssh -F config_path() alias() ...`.
  const std::string& config_path() const { return client_config_; }
  const std::string& alias() const { return alias_; }
  int port() const { return port_; }
  // The temporary directory (removed by the destructor).
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return sshd_ ? sshd_->pid() : -1; }
  // What sshd logged so far (it runs with -e: its log goes to stderr, captured).
  std::string log() const;

  // The absolute path of ssh (found on PATH), or "" when there is none.
  static std::string ssh_binary();
  // argv of `ssh -F config_path() alias() remote...`, for ChildProcess or agents::Child.
  std::vector<std::string> ssh_argv(const std::vector<std::string>& remote) const;

 private:
  bool start_once(Duration timeout, bool* retry, std::string* error);
  void stop_sessions();

  std::string alias_;
  std::string dir_;
  std::string sshd_config_, client_config_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> sshd_;
};

}  // namespace rsplab::test
