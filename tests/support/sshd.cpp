#include "tests/support/sshd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "stack/common/split.hpp"

namespace rsplab::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kSshd = "/usr/sbin/sshd";  // sshd re-executes itself: absolute path
constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr int kAttempts = 5;

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (const std::string& d : common::split(path && *path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (d.empty()) continue;
    const std::string candidate = d + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Runs a short helper to its end (at most `timeout`); throws with its stderr when it fails.
void run_checked(const std::string& binary, const std::vector<std::string>& args,
                 Duration timeout = 10s) {
  ChildProcess p(binary, args);
  const auto st = p.wait(timeout);
  if (!st) {
    p.kill();
    p.wait(2s);
    throw std::runtime_error(p.command() + ": still running after " +
                             std::to_string(timeout.count()) + " ms");
  }
  if (p.exit_code() != 0)
    throw std::runtime_error(p.command() + ": " + ChildProcess::describe(*st) + ": " +
                             p.stderr_text());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path);
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Whether 127.0.0.1:port accepts a TCP connection now (loopback: answers at once).
bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The parent pid in /proc/PID/stat (field 4, after the parenthesised name); -1 if gone.
pid_t parent_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const auto paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(line.substr(paren + 1));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (parent_of(pid) == parent) out.push_back(pid);
  }
  return out;
}

}  // namespace

bool Sshd::available(std::string* why) {
  std::string missing;
  if (::geteuid() != 0) missing += " root";
  if (::access(kSshd, X_OK) != 0) missing += std::string(" ") + kSshd;
  if (ssh_binary().empty()) missing += " ssh";
  if (find_in_path("ssh-keygen").empty()) missing += " ssh-keygen";
  if (missing.empty()) return true;
  if (why)
    *why = "a test sshd needs" + missing +
           " (scripts/setup.sh installs openssh-server and openssh-client; run as root)";
  return false;
}

std::string Sshd::ssh_binary() { return find_in_path("ssh"); }

Sshd::Sshd(std::string alias, Duration timeout) : alias_(std::move(alias)) {
  std::string why;
  if (!available(&why)) throw std::runtime_error(why);
  std::string tmpl = (fs::temp_directory_path() / "rsplab-sshd-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  dir_ = tmpl;
  try {
    const std::string keygen = find_in_path("ssh-keygen");
    for (const char* key : {"host_key", "client_key"})
      run_checked(keygen, {"-q", "-t", "ed25519", "-N", "", "-C", std::string("rsplab-") + key,
                           "-f", dir_ + "/" + key});
    fs::copy_file(dir_ + "/client_key.pub", dir_ + "/authorized_keys");
    // sshd chroots its unprivileged pre-auth child here; the package's service would
    // create it, but we never start that service.
    if (::mkdir("/run/sshd", 0755) != 0 && errno != EEXIST)
      throw std::system_error(errno, std::generic_category(), "mkdir /run/sshd");
    ::chmod("/run/sshd", 0755);

    const passwd* pw = ::getpwuid(::geteuid());
    const std::string user = pw ? pw->pw_name : "root";
    sshd_config_ = dir_ + "/sshd_config";
    client_config_ = dir_ + "/ssh_config";

    std::string error;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      port_ = free_port();
      write_file(sshd_config_,
                 "# A throw-away sshd for rsplab's tests (tests/support/sshd.hpp).\n"
                 "ListenAddress 127.0.0.1\n"
                 "Port " + std::to_string(port_) + "\n"
                 "HostKey " + dir_ + "/host_key\n"
                 "AuthorizedKeysFile " + dir_ + "/authorized_keys\n"
                 "AllowUsers " + user + "\n"
                 "PermitRootLogin prohibit-password\n"
                 "PubkeyAuthentication yes\n"
                 "PasswordAuthentication no\n"
                 "KbdInteractiveAuthentication no\n"
                 "UsePAM no\n"
                 "StrictModes no\n"
                 "PrintMotd no\n"
                 "X11Forwarding no\n"
                 "AllowTcpForwarding no\n"
                 // Tests may emulate a remote clock that is off (SetEnv on the client side).
                 "AcceptEnv RSPLAB_*\n"
                 "PidFile " + dir_ + "/sshd.pid\n");
      bool retry = false;
      if (start_once(timeout, &retry, &error)) break;
      if (!retry || attempt == kAttempts)
        throw std::runtime_error("sshd did not start (attempt " + std::to_string(attempt) +
                                 "): " + error);
    }
    write_file(client_config_,
               "# A throw-away ssh client config for rsplab's tests (tests/support/sshd.hpp).\n"
               "Host " + alias_ + "\n"
               "  HostName 127.0.0.1\n"
               "  Port " + std::to_string(port_) + "\n"
               "  User " + user + "\n"
               "  IdentityFile " + dir_ + "/client_key\n"
               "  IdentitiesOnly yes\n"
               "  StrictHostKeyChecking no\n"
               "  UserKnownHostsFile /dev/null\n"
               "  BatchMode yes\n"
               "  LogLevel ERROR\n"
               "  ConnectTimeout 5\n");
  } catch (...) {
    sshd_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

bool Sshd::start_once(Duration timeout, bool* retry, std::string* error) {
  std::vector<std::string> args = {"-D", "-e", "-f", sshd_config_};
  std::string binary = kSshd;
  if (::access(kSetpriv, X_OK) == 0) {
    // Dies with us (this thread), even when the test crashes before ~Sshd.
    args.insert(args.begin(), {"--pdeathsig", "KILL", kSshd});
    binary = kSetpriv;
  }
  sshd_ = std::make_unique<ChildProcess>(binary, args);
  const std::string listening = "Server listening on 127.0.0.1 port " + std::to_string(port_);
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!sshd_->running()) {
      std::this_thread::sleep_for(100ms);  // let the reader take in its last words
      const std::string log = sshd_->stderr_text();
      *retry = log.find("Address already in use") != std::string::npos ||
               log.find("Cannot bind any address") != std::string::npos;
      *error = "sshd " + ChildProcess::describe(sshd_->status().value_or(0)) + " on port " +
               std::to_string(port_) + ":\n" + log;
      sshd_.reset();
      return false;
    }
    // Its own line first: something else answering on a port sshd failed to bind is not it.
    if (sshd_->stderr_text().find(listening) != std::string::npos && accepts(port_)) return true;
    std::this_thread::sleep_for(20ms);
  }
  *retry = false;
  *error = "not listening on 127.0.0.1:" + std::to_string(port_) + " after " +
           std::to_string(timeout.count()) + " ms:\n" + sshd_->stderr_text();
  sshd_->stop(2s);
  sshd_.reset();
  return false;
}

void Sshd::stop_sessions() {
  // One sshd process per connection, a child of the listener; a session whose client is
  // still connected would outlive the listener. SIGTERM them (their commands lose their
  // parent and their input), while the listener still reaps them.
  const pid_t listener = sshd_->pid();
  auto sessions = children_of(listener);
  if (sessions.empty()) return;
  for (const pid_t p : sessions) ::kill(p, SIGTERM);
  const auto deadline = Clock::now() + 5s;
  while (!sessions.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    sessions = children_of(listener);
  }
  for (const pid_t p : sessions) ::kill(p, SIGKILL);
}

Sshd::~Sshd() {
  if (sshd_) {
    if (sshd_->running()) stop_sessions();
    sshd_->stop(5s);  // SIGTERM, SIGKILL after 5 s, reaped
    sshd_.reset();
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string Sshd::log() const { return sshd_ ? sshd_->stderr_text() : std::string(); }

std::vector<std::string> Sshd::ssh_argv(const std::vector<std::string>& remote) const {
  std::vector<std::string> argv = {ssh_binary(), "-F", client_config_, alias_};
  argv.insert(argv.end(), remote.begin(), remote.end());
  return argv;
}

}  // namespace rsplab::test
