// Tests of the journal (owner liveness, cleanup of dead runners' entries) and of the site
// topology (namespaces, addresses, reachability, link faults, teardown). Those that need root
// and network namespaces skip themselves elsewhere. Every namespace carries a tag made from
// this process's pid, so parallel runs do not collide; guards remove what a failing test left.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agents/command.hpp"
#include "agents/ip.hpp"
#include "agents/journal.hpp"
#include "agents/remote.hpp"
#include "agents/sites.hpp"
#include "stack/common/split.hpp"

extern char** environ;

namespace rsplab::agents {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- helpers -----------------------------------------------------------------------------

// A tag unique to this process and call: base36(pid) + a letter.
std::string unique_tag() {
  static int counter = 0;
  std::string digits;
  for (unsigned n = static_cast<unsigned>(::getpid()); n > 0; n /= 36) {
    digits.insert(digits.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36]);
  }
  return digits + static_cast<char>('a' + (counter++ % 26));
}

std::vector<std::string> netns_list() {
  const CommandResult r = run_ip({"netns", "list"});
  std::vector<std::string> names;
  for (const std::string& line : common::split(r.out, '\n'))
    if (!line.empty()) names.push_back(line.substr(0, line.find(' ')));  // "name (id: 3)"
  return names;
}

bool netns_exists(const std::string& name) {
  const auto names = netns_list();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> netns_with_prefix(const std::string& prefix) {
  std::vector<std::string> ours;
  for (const auto& name : netns_list()) {
    if (name.rfind(prefix, 0) == 0) ours.push_back(name);
  }
  return ours;
}

// Deletes, at scope exit, every namespace whose name starts with `prefix`: a test that
// fails half-way leaves nothing behind.
struct NetnsSweeper {
  std::string prefix;
  ~NetnsSweeper() {
    for (const auto& name : netns_with_prefix(prefix)) run_ip({"netns", "del", name});
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "rsplab-agents-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

// A child process killed (and reaped) at scope exit unless already reaped.
struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  int reap() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
};

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  return pid;
}

// A pid that belonged to a process which is gone now.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

uint16_t checksum(const unsigned char* data, std::size_t size) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (size % 2 != 0) sum += data[size - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Runs f() on a thread inside namespace `netns` (setns moves only the calling thread);
// sockets it opens stay in that namespace.
template <class F>
void in_netns(const std::string& netns, F&& f) {
  std::string error;
  std::thread worker([&] {
    const int ns_fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0 || ::setns(ns_fd, CLONE_NEWNET) != 0) {
      error = "enter " + netns + ": " + std::strerror(errno);
      if (ns_fd >= 0) ::close(ns_fd);
      return;
    }
    ::close(ns_fd);
    f();
  });
  worker.join();
  if (!error.empty()) ADD_FAILURE() << error;
}

// One ICMP echo from `src` to `dst` inside namespace `netns`, with no dependency on a ping
// binary: a thread enters the namespace and uses a raw socket. True when the reply came.
bool ping_once(const std::string& netns, const std::string& src, const std::string& dst,
               std::chrono::milliseconds timeout) {
  static std::atomic<uint16_t> next_id{static_cast<uint16_t>(::getpid() * 7)};
  const uint16_t id = next_id++;
  bool replied = false;
  std::string error;
  in_netns(netns, [&] {
    const bool v6 = dst.find(':') != std::string::npos;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC,
                            v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    if (fd < 0) {
      error = std::string("raw socket: ") + std::strerror(errno);
      return;
    }
    sockaddr_storage from_addr{}, to_addr{};
    socklen_t len = 0;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&from_addr);
      auto* b = reinterpret_cast<sockaddr_in6*>(&to_addr);
      a->sin6_family = b->sin6_family = AF_INET6;
      inet_pton(AF_INET6, src.c_str(), &a->sin6_addr);
      inet_pton(AF_INET6, dst.c_str(), &b->sin6_addr);
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&from_addr);
      auto* b = reinterpret_cast<sockaddr_in*>(&to_addr);
      a->sin_family = b->sin_family = AF_INET;
      inet_pton(AF_INET, src.c_str(), &a->sin_addr);
      inet_pton(AF_INET, dst.c_str(), &b->sin_addr);
      len = sizeof(sockaddr_in);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from_addr), len) != 0) {
      error = "bind " + src + ": " + std::strerror(errno);
      ::close(fd);
      return;
    }
    unsigned char packet[16] = {static_cast<unsigned char>(v6 ? 128 : 8), 0, 0, 0,
                                static_cast<unsigned char>(id >> 8),
                                static_cast<unsigned char>(id & 0xff), 0, 1,
                                'r', 's', 'p', 'l', 'a', 'b', '!', '!'};
    if (!v6) {  // the kernel fills in the ICMPv6 checksum, not the ICMP one
      const uint16_t sum = checksum(packet, sizeof packet);
      packet[2] = static_cast<unsigned char>(sum >> 8);
      packet[3] = static_cast<unsigned char>(sum & 0xff);
    }
    if (::sendto(fd, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&to_addr), len) < 0) {
      ::close(fd);  // unreachable (no route): not an error of the test
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      unsigned char buffer[2048];
      sockaddr_storage peer{};
      socklen_t peer_len = sizeof peer;
      const ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, 0,
                                   reinterpret_cast<sockaddr*>(&peer), &peer_len);
      if (n <= 0) continue;
      std::size_t offset = 0;
      if (!v6) offset = static_cast<std::size_t>(buffer[0] & 0x0f) * 4;  // the IP header
      if (static_cast<std::size_t>(n) < offset + 8) continue;
      const unsigned char* icmp = buffer + offset;
      const bool is_reply = icmp[0] == (v6 ? 129 : 0);
      const uint16_t reply_id = static_cast<uint16_t>((icmp[4] << 8) | icmp[5]);
      bool from_dst = false;
      if (v6) {
        const auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
        const auto* b = reinterpret_cast<sockaddr_in6*>(&to_addr);
        from_dst = std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
      } else {
        const auto* a = reinterpret_cast<sockaddr_in*>(&peer);
        const auto* b = reinterpret_cast<sockaddr_in*>(&to_addr);
        from_dst = a->sin_addr.s_addr == b->sin_addr.s_addr;
      }
      if (is_reply && reply_id == id && from_dst) {
        replied = true;
        break;
      }
    }
    ::close(fd);
  });
  if (!error.empty()) ADD_FAILURE() << error;
  return replied;
}

// Reachable: a reply to one of three echoes (the first may wait for ARP/ND).
bool reaches(const std::string& netns, const std::string& src, const std::string& dst) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (ping_once(netns, src, dst, 1000ms)) return true;
  }
  return false;
}

// Unreachable: no reply within half a second.
bool cut_off(const std::string& netns, const std::string& src, const std::string& dst) {
  return !ping_once(netns, src, dst, 500ms);
}

// No echo within `timeout` (but the path may be up: a delay longer than that).
bool cut_off_within(const std::string& netns, const std::string& src, const std::string& dst,
                    std::chrono::milliseconds timeout) {
  return !ping_once(netns, src, dst, timeout);
}

socklen_t socket_address(const std::string& ip, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
  return sizeof(sockaddr_in);
}

// A TCP listener at `address` in `netns`, on a port the kernel picks; closed at scope exit.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() = default;
  Listener(const Listener&) = delete;
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

void tcp_listen(const std::string& netns, const std::string& address, Listener& l) {
  in_netns(netns, [&] {
    sockaddr_storage a{};
    const socklen_t len = socket_address(address, 0, a);
    l.fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd < 0 || ::bind(l.fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(l.fd, 64) != 0) {
      ADD_FAILURE() << "listen on " << address << ": " << std::strerror(errno);
      return;
    }
    socklen_t got = sizeof a;
    ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &got);
    l.port = ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  });
}

// Whether a TCP connection from `src` (in `netns`) to dst:port is established in `timeout`.
bool tcp_connects(const std::string& netns, const std::string& src, const std::string& dst,
                  uint16_t port, std::chrono::milliseconds timeout) {
  bool connected = false;
  in_netns(netns, [&] {
    sockaddr_storage from{}, to{};
    const socklen_t from_len = socket_address(src, 0, from);
    const socklen_t to_len = socket_address(dst, port, to);
    const int fd = ::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&from), from_len) != 0) {
      ADD_FAILURE() << "socket/bind " << src << ": " << std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) == 0) {
      connected = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
        connected = error == 0;
      }
    }
    ::close(fd);
  });
  return connected;
}

// The names of the nftables tables in `netns` ("inet rsplab_loss", ...).
std::string nft_tables(const std::string& netns) {
  return run_command(netns_exec(netns, {"nft", "list", "tables"})).out;
}

// ---- process_start_time, Journal (no root needed) ----------------------------------------

TEST(ProcessStartTime, SelfIsPositiveDeadPidIsMinusOne) {
  EXPECT_GT(process_start_time(::getpid()), 0);
  EXPECT_EQ(process_start_time(dead_pid()), -1);
  EXPECT_EQ(process_start_time(0), -1);
  EXPECT_EQ(process_start_time(-5), -1);
}

TEST(JournalTest, FileNamedAfterOwnerHoldsLiveEntries) {
  TempDir dir;
  const std::string sub = dir.str() + "/a/b";  // created if missing
  std::string path;
  {
    Journal journal = Journal::open(sub);
    path = journal.path();
    EXPECT_EQ(fs::path(path).filename().string(),
              std::to_string(::getpid()) + "-" + std::to_string(process_start_time(::getpid())) +
                  ".journal");
    journal.add("netns rsplab-x-core");
    journal.add("pid 123 456");
    journal.add("netns rsplab-x-oslo");
    journal.remove("pid 123 456");
    journal.remove("nft never-added");  // not live: nothing written
    EXPECT_EQ(journal.live(), (std::vector<std::string>{"netns rsplab-x-core",
                                                        "netns rsplab-x-oslo"}));
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(),
              "netns rsplab-x-core\npid 123 456\nnetns rsplab-x-oslo\n-pid 123 456\n");
    journal.remove("netns rsplab-x-oslo");
    Journal moved = std::move(journal);  // the moved-from one must not remove the file
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(moved.live(), (std::vector<std::string>{"netns rsplab-x-core"}));
  }
  EXPECT_TRUE(fs::exists(path)) << "a live entry is left: the file stays";
  {
    Journal again = Journal::open(sub);  // the same process: the same file
    EXPECT_EQ(again.path(), path);
    again.remove("netns rsplab-x-core");
  }
  EXPECT_FALSE(fs::exists(path)) << "no live entry left: the file goes";
}

TEST(JournalTest, RejectsBadEntriesAndIgnoresATornLastLine) {
  TempDir dir;
  Journal journal = Journal::open(dir.str());
  EXPECT_THROW(journal.add(""), std::invalid_argument);
  EXPECT_THROW(journal.add("-netns x"), std::invalid_argument);
  EXPECT_THROW(journal.add("netns a\nnetns b"), std::invalid_argument);
  journal.add("netns rsplab-y-core");
  {
    std::ofstream torn(journal.path(), std::ios::app);
    torn << "netns rsplab-y-os";  // a write cut short by a crash
  }
  EXPECT_EQ(journal.live(), (std::vector<std::string>{"netns rsplab-y-core"}));
  journal.remove("netns rsplab-y-core");
}

TEST(JournalTest, TwoJournalsOfOneProcessShareTheFile) {
  TempDir dir;
  Journal a = Journal::open(dir.str());
  {
    Journal b = Journal::open(dir.str());
    b.add("netns rsplab-z-b");
    b.remove("netns rsplab-z-b");
  }  // b removed the file (nothing live); a must still journal durably
  a.add("netns rsplab-z-a");
  EXPECT_TRUE(fs::exists(a.path()));
  EXPECT_EQ(a.live(), (std::vector<std::string>{"netns rsplab-z-a"}));
  a.remove("netns rsplab-z-a");
}

// ---- cleanup_dead (no root needed) ---------------------------------------------------------

TEST(CleanupDead, MissingDirectoryIsAnEmptyReport) {
  const CleanupReport report = cleanup_dead("/nonexistent/rsplab/journal");
  EXPECT_TRUE(report.undone.empty());
  EXPECT_TRUE(report.failed.empty());
  EXPECT_TRUE(report.live_owners.empty());
}

TEST(CleanupDead, SparesTheJournalOfALiveOwner) {
  TempDir dir;
  Journal journal = Journal::open(dir.str());
  journal.add("netns rsplab-" + unique_tag() + "-alive");  // never created: must stay alone
  write_file(dir.path / "notes.txt", "not a journal\n");
  const CleanupReport report = cleanup_dead(dir.str());
  EXPECT_EQ(report.live_owners, std::vector<std::string>{journal.path()});
  EXPECT_TRUE(report.undone.empty());
  EXPECT_TRUE(report.failed.empty());
  EXPECT_TRUE(fs::exists(journal.path()));
  EXPECT_EQ(journal.live().size(), 1u);
  EXPECT_TRUE(fs::exists(dir.path / "notes.txt"));
  journal.remove(journal.live().front());
}

TEST(CleanupDead, KillsAPidOnlyWhileItsStartTimeMatches) {
  TempDir dir;
  Child sleeper{spawn({"sleep", "100"})};
  ASSERT_GT(sleeper.pid, 0);
  const long long start = process_start_time(sleeper.pid);
  ASSERT_GT(start, 0);
  const std::string journal = std::to_string(dead_pid()) + "-1.journal";

  // The pid now names a different process (another start time): left alone.
  const std::string other = "pid " + std::to_string(sleeper.pid) + " " + std::to_string(start + 1);
  write_file(dir.path / journal, other + "\n");
  CleanupReport report = cleanup_dead(dir.str());
  EXPECT_EQ(report.undone, std::vector<std::string>{other});  // nothing left to do
  EXPECT_TRUE(report.failed.empty());
  EXPECT_FALSE(fs::exists(dir.path / journal));
  EXPECT_EQ(process_start_time(sleeper.pid), start) << "a stranger's process was killed";

  // The very process: killed.
  const std::string same = "pid " + std::to_string(sleeper.pid) + " " + std::to_string(start);
  write_file(dir.path / journal, same + "\n");
  report = cleanup_dead(dir.str());
  EXPECT_EQ(report.undone, std::vector<std::string>{same});
  EXPECT_TRUE(report.failed.empty());
  EXPECT_FALSE(fs::exists(dir.path / journal));
  const int status = sleeper.reap();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(CleanupDead, KeepsAJournalWithEntriesItCannotUndo) {
  TempDir dir;
  const std::string journal = std::to_string(dead_pid()) + "-1.journal";
  // Names not ours are refused before any tool runs; unknown kinds are not guessed at.
  write_file(dir.path / journal, "netns someone-elses\nbogus entry\nnft other_table\n");
  const CleanupReport report = cleanup_dead(dir.str());
  EXPECT_TRUE(report.undone.empty());
  ASSERT_EQ(report.failed.size(), 3u);
  EXPECT_NE(report.failed[0].find("nft other_table: refusing"), std::string::npos)
      << report.failed[0];  // newest first
  EXPECT_NE(report.failed[1].find("bogus entry: unknown entry"), std::string::npos);
  EXPECT_NE(report.failed[2].find("netns someone-elses: refusing"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path / journal)) << "kept, to be retried";
}

// ---- with network namespaces (root) ----------------------------------------------------------

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!available(&why)) GTEST_SKIP() << "needs root and network namespaces: " << why;
    tag_ = unique_tag();
    prefix_ = "rsplab-" + tag_ + "-";
    before_ = netns_list();
  }
  void TearDown() override {
    if (tag_.empty()) return;  // skipped
    const auto left = netns_with_prefix(prefix_);
    EXPECT_TRUE(left.empty()) << "namespaces left behind: " << left.size() << ", first "
                              << (left.empty() ? "" : left.front());
    for (const auto& name : left) run_ip({"netns", "del", name});
    EXPECT_FALSE(netns_exists("rsplab-probe-" + std::to_string(::getpid())))
        << "available() left its probe namespace";
  }
  std::string tag_, prefix_;
  std::vector<std::string> before_;
};

TEST_F(NetnsTest, CleanupDeadRemovesADeadOwnersNamespaceAndSparesTheLiveOne) {
  TempDir dir;
  NetnsSweeper sweeper{prefix_};
  const std::string dead_ns = prefix_ + "dead";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  Child runner{::fork()};
  ASSERT_GE(runner.pid, 0);
  if (runner.pid == 0) {  // a runner that journals, creates, and is then killed
    ::close(ready[0]);
    char ok = '0';
    try {
      Journal journal = Journal::open(dir.str());
      journal.add("netns " + dead_ns);
      if (run_ip({"netns", "add", dead_ns}).ok()) ok = '1';
      if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(ok, '1');
  const std::string dead_journal = dir.str() + "/" + std::to_string(runner.pid) + "-" +
                                   std::to_string(process_start_time(runner.pid)) + ".journal";
  ::kill(runner.pid, SIGKILL);
  runner.reap();
  ASSERT_TRUE(netns_exists(dead_ns));
  ASSERT_TRUE(fs::exists(dead_journal));

  Journal mine = Journal::open(dir.str());  // alive: spared with what it names
  const std::string live_ns = prefix_ + "live";
  mine.add("netns " + live_ns);
  ASSERT_TRUE(run_ip({"netns", "add", live_ns}).ok());

  const CleanupReport report = cleanup_dead(dir.str());
  EXPECT_EQ(report.undone, std::vector<std::string>{"netns " + dead_ns});
  EXPECT_TRUE(report.failed.empty()) << report.failed.front();
  EXPECT_EQ(report.live_owners, std::vector<std::string>{mine.path()});
  EXPECT_FALSE(netns_exists(dead_ns));
  EXPECT_FALSE(fs::exists(dead_journal));
  EXPECT_TRUE(netns_exists(live_ns));

  // Idempotent: nothing left to do.
  const CleanupReport again = cleanup_dead(dir.str());
  EXPECT_TRUE(again.undone.empty());
  EXPECT_TRUE(netns_exists(live_ns));

  run_ip({"netns", "del", live_ns});
  mine.remove("netns " + live_ns);
}

TEST(TopologyTest, RejectsBadSpecsBeforeCreatingAnything) {
  TempDir dir;
  Journal journal = Journal::open(dir.str());
  auto rejects = [&](const std::vector<SiteSpec>& sites, const std::string& tag) {
    EXPECT_THROW(Topology::create(sites, tag, journal), SiteError) << tag;
  };
  rejects({{"a", {"x"}}}, "");
  rejects({{"a", {"x"}}}, "Bad");
  rejects({{"a", {"x"}}}, "toolongtag1234");
  rejects({}, "t1");
  rejects({{"core", {"x"}}}, "t1");
  rejects({{"A", {"x"}}}, "t1");
  rejects({{"a", {"x"}}, {"a", {"y"}}}, "t1");
  rejects({{"a", {}}}, "t1");
  rejects({{"a", {"x", "x"}}}, "t1");
  rejects({{"a", {"x y"}}}, "t1");
  rejects({{"a", {"i1", "i2", "i3", "i4", "i5"}}, {"b", {"i6", "i7", "i8", "i9"}}}, "t1");
  std::vector<SiteSpec> many;
  for (int i = 0; i < 64; ++i) many.push_back({"s" + std::to_string(i), {"x"}});
  rejects(many, "t1");
  EXPECT_TRUE(journal.live().empty());
}

class TwoSites : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    journal_.emplace(Journal::open());  // the machine's: `rsplab cleanup` covers a crash
    topology_ = Topology::create({{"oslo", {"uninett", "telenor"}},
                                  {"bergen", {"telenor", "uninett"}}},
                                 tag_, *journal_);
  }
  void TearDown() override {
    topology_.reset();
    journal_.reset();
    NetnsTest::TearDown();
  }
  struct Address {
    std::string netns, address;
  };
  std::vector<Address> addresses(bool v6) const {
    std::vector<Address> all;
    for (const auto& site : topology_->sites()) {
      for (const auto& link : site.links) all.push_back({site.netns, v6 ? link.ipv6 : link.ipv4});
    }
    return all;
  }
  std::optional<Journal> journal_;
  std::unique_ptr<Topology> topology_;
};

TEST_F(TwoSites, NamespacesAndAddressPlan) {
  EXPECT_EQ(topology_->core_netns(), prefix_ + "core");
  EXPECT_TRUE(netns_exists(prefix_ + "core"));
  EXPECT_TRUE(netns_exists(prefix_ + "oslo"));
  EXPECT_TRUE(netns_exists(prefix_ + "bergen"));
  EXPECT_EQ(journal_->live(), (std::vector<std::string>{"netns " + prefix_ + "core",
                                                        "netns " + prefix_ + "oslo",
                                                        "netns " + prefix_ + "bergen"}));

  const SiteInfo& oslo = topology_->site("oslo");  // site 1; uninett is ISP 1, telenor 2
  EXPECT_EQ(oslo.netns, prefix_ + "oslo");
  ASSERT_EQ(oslo.links.size(), 2u);
  EXPECT_EQ(oslo.links[0].isp, "uninett");
  EXPECT_EQ(oslo.links[0].interface, "eth1");
  EXPECT_EQ(oslo.links[0].ipv4, "198.18.1.2");
  EXPECT_EQ(oslo.links[0].gateway4, "198.18.1.1");
  EXPECT_EQ(oslo.links[0].ipv6, "fd00:5253:1:1::2");
  EXPECT_EQ(oslo.links[0].bridge, "br1");
  EXPECT_EQ(oslo.links[0].device, "isp1");
  EXPECT_EQ(oslo.links[1].ipv4, "198.18.65.2");
  EXPECT_EQ(oslo.links[1].ipv6, "fd00:5253:2:1::2");
  EXPECT_EQ(oslo.ipv4_addresses(), (std::vector<std::string>{"198.18.1.2", "198.18.65.2"}));

  const SiteInfo& bergen = topology_->site("bergen");  // site 2, links in its own order
  ASSERT_EQ(bergen.links.size(), 2u);
  EXPECT_EQ(bergen.links[0].isp, "telenor");
  EXPECT_EQ(bergen.links[0].interface, "eth2");
  EXPECT_EQ(bergen.links[0].ipv4, "198.18.66.2");
  EXPECT_EQ(bergen.links[1].ipv4, "198.18.2.2");
  EXPECT_EQ(bergen.links[1].ipv6, "fd00:5253:1:2::2");

  EXPECT_THROW(topology_->site("trondheim"), SiteError);
  EXPECT_THROW(topology_->set_link("oslo", "nextgentel", false), SiteError);

  // The address really is on the interface.
  const CommandResult r = run_ip({"-n", oslo.netns, "-o", "addr", "show", "isp2"});
  EXPECT_NE(r.out.find("198.18.65.2/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fd00:5253:2:1::2/64"), std::string::npos) << r.out;
}

TEST_F(TwoSites, EveryAddressReachesEveryOther) {
  for (const bool v6 : {false, true}) {
    const auto all = addresses(v6);
    for (const auto& from : all) {
      for (const auto& to : all) {
        if (from.address == to.address) continue;
        EXPECT_TRUE(reaches(from.netns, from.address, to.address))
            << from.address << " -> " << to.address;
      }
    }
  }
}

TEST_F(TwoSites, LinkDownCutsOnlyThatAddress) {
  const SiteInfo& oslo = topology_->site("oslo");
  const SiteInfo& bergen = topology_->site("bergen");
  for (const bool v6 : {false, true}) {
    auto addr = [&](const SiteInfo& site, int i) {
      return v6 ? site.links[i].ipv6 : site.links[i].ipv4;
    };
    const std::string oslo_uninett = addr(oslo, 0), oslo_telenor = addr(oslo, 1);
    const std::string bergen_telenor = addr(bergen, 0), bergen_uninett = addr(bergen, 1);
    ASSERT_TRUE(reaches(oslo.netns, oslo_uninett, bergen_uninett));
    // Source routing: towards a Telenor address, but from the Uninett one: over Uninett.
    const std::vector<std::string> route_get = ip_command({"-n", bergen.netns, "route", "get",
                                                           oslo_telenor, "from", bergen_uninett});
    CommandResult route = run_command(route_get);
    EXPECT_NE(route.out.find("dev " + bergen.links[1].device), std::string::npos)
        << route.out << route.err;

    topology_->set_link("bergen", "uninett", false);
    // The bridge's carrier follows within a second (the kernel's linkwatch delay); packets
    // from the address die on the port-less bridge meanwhile.
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    do {
      route = run_command(route_get);
      if (!route.ok()) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_FALSE(route.ok()) << route.out;
    EXPECT_TRUE(route.err.find("No route to host") != std::string::npos ||
                route.err.find("unreachable") != std::string::npos)
        << route.err;  // the unreachable fallback, not a leak over Telenor
    EXPECT_TRUE(cut_off(oslo.netns, oslo_uninett, bergen_uninett));
    EXPECT_TRUE(cut_off(oslo.netns, oslo_telenor, bergen_uninett));
    EXPECT_TRUE(cut_off(bergen.netns, bergen_uninett, oslo_uninett))
        << "traffic from the cut address must not leak out over the other ISP";
    EXPECT_TRUE(reaches(oslo.netns, oslo_uninett, bergen_telenor));
    EXPECT_TRUE(reaches(oslo.netns, oslo_telenor, bergen_telenor));
    EXPECT_TRUE(reaches(bergen.netns, bergen_telenor, oslo_uninett));

    // Up is a plain `ip link set up` too (what the site agent does): the routes survived.
    topology_->set_link("bergen", "uninett", true);
    EXPECT_TRUE(reaches(oslo.netns, oslo_uninett, bergen_uninett));
    EXPECT_TRUE(reaches(oslo.netns, oslo_telenor, bergen_uninett));
    EXPECT_TRUE(reaches(bergen.netns, bergen_uninett, oslo_telenor));
    EXPECT_TRUE(reaches(bergen.netns, bergen_telenor, oslo_uninett));
  }
  // Down twice, up twice: harmless.
  topology_->set_link("oslo", "telenor", false);
  topology_->set_link("oslo", "telenor", false);
  topology_->set_link("oslo", "telenor", true);
  topology_->set_link("oslo", "telenor", true);
  EXPECT_TRUE(reaches(oslo.netns, oslo.links[1].ipv4, bergen.links[0].ipv4));
}

TEST_F(TwoSites, LossDropsAShareOfALinksPacketsUntilRemoved) {
  if (Topology::loss_method() == "netem")
    GTEST_SKIP() << "this kernel has netem: loss is netem's (TwoSitesNetem.*, label sctp)";
  const SiteInfo& oslo = topology_->site("oslo");
  const SiteInfo& bergen = topology_->site("bergen");
  const std::string oslo_uninett = oslo.links[0].ipv4, oslo_telenor = oslo.links[1].ipv4;
  const std::string bergen_telenor = bergen.links[0].ipv4, bergen_uninett = bergen.links[1].ipv4;
  EXPECT_EQ(nft_tables(oslo.netns).find("rsplab_loss"), std::string::npos);

  // All of telenor's packets at oslo: that address is cut off, the other still works.
  topology_->set_loss("oslo", "telenor", 100);
  topology_->set_loss("oslo", "telenor", 100);  // idempotent
  EXPECT_NE(nft_tables(oslo.netns).find("table inet rsplab_loss"), std::string::npos);
  EXPECT_TRUE(cut_off(oslo.netns, oslo_telenor, bergen_telenor));
  EXPECT_TRUE(cut_off(oslo.netns, oslo.links[1].ipv6, bergen.links[0].ipv6));
  EXPECT_TRUE(reaches(oslo.netns, oslo_uninett, bergen_uninett));
  EXPECT_TRUE(cut_off(bergen.netns, bergen_telenor, oslo_telenor)) << "inbound too";

  // A share: 30 % each way lets about half the echoes through (0.7²).
  topology_->set_loss("oslo", "telenor", 30);
  topology_->set_loss("oslo", "uninett", 0.5);  // a second link's coexists
  const std::string table =
      run_command(netns_exec(oslo.netns, {"nft", "list", "table", "inet", "rsplab_loss"})).out;
  EXPECT_NE(table.find("iifname \"isp2\" numgen random mod 10000 < 3000 drop"), std::string::npos) << table;
  EXPECT_NE(table.find("oifname \"isp2\" numgen random mod 10000 < 3000 drop"), std::string::npos) << table;
  EXPECT_NE(table.find("iifname \"isp1\" numgen random mod 10000 < 50 drop"), std::string::npos) << table;
  int replies = 0;
  for (int i = 0; i < 40; ++i) replies += ping_once(oslo.netns, oslo_telenor, bergen_telenor, 150ms);
  EXPECT_GE(replies, 8);
  EXPECT_LE(replies, 32);

  // 0 removes a link's loss; the table goes with the last one.
  topology_->set_loss("oslo", "uninett", 0);
  EXPECT_NE(nft_tables(oslo.netns).find("rsplab_loss"), std::string::npos);
  topology_->set_loss("oslo", "telenor", 0);
  topology_->set_loss("oslo", "telenor", 0);
  EXPECT_EQ(nft_tables(oslo.netns).find("rsplab_loss"), std::string::npos);
  EXPECT_TRUE(reaches(oslo.netns, oslo_telenor, bergen_telenor));

  EXPECT_THROW(topology_->set_loss("oslo", "nextgentel", 5), SiteError);
  EXPECT_THROW(topology_->set_loss("trondheim", "telenor", 5), SiteError);
  EXPECT_THROW(topology_->set_loss("oslo", "telenor", 101), SiteError);
}

// netem on a link, both ways (label sctp: run in the SCTP VM, whose kernel has netem; skips
// where there is none).
class TwoSitesNetem : public TwoSites {
 protected:
  void SetUp() override {
    std::string why;
    if (!netem_available(&why)) GTEST_SKIP() << why;
    TwoSites::SetUp();
  }
  std::string qdisc(const std::string& netns, const std::string& device) {
    return run_command({tc_tool(), "-n", netns, "qdisc", "show", "dev", device}).out;
  }
};

TEST_F(TwoSitesNetem, DelayRateAndLossOnBothEndsOfALinkUntilRemoved) {
  const SiteInfo& oslo = topology_->site("oslo");
  const SiteInfo& bergen = topology_->site("bergen");
  const SiteInfo::Link& link = oslo.links[1];  // telenor
  ASSERT_TRUE(reaches(oslo.netns, link.ipv4, bergen.links[0].ipv4));
  LinkShape shape;
  shape.delay = 50ms;
  shape.rate = 10'000'000;
  topology_->set_shape("oslo", "telenor", shape);
  for (const auto& [ns, device] : {std::pair{oslo.netns, link.interface},
                                   std::pair{topology_->core_netns(), link.port}}) {
    const std::string q = qdisc(ns, device);
    EXPECT_NE(q.find("netem"), std::string::npos) << q;
    EXPECT_NE(q.find("delay 50ms"), std::string::npos) << q;
    EXPECT_NE(q.find("rate 10Mbit"), std::string::npos) << q;
  }
  EXPECT_EQ(qdisc(oslo.netns, oslo.links[0].interface).find("netem"), std::string::npos)
      << "the other ISP's link is untouched";
  // 50 ms each way: never an echo within 80 ms over that link; one within 2 s.
  EXPECT_TRUE(cut_off_within(oslo.netns, link.ipv4, bergen.links[0].ipv4, 80ms));
  EXPECT_TRUE(ping_once(oslo.netns, link.ipv4, bergen.links[0].ipv4, 2000ms));
  EXPECT_TRUE(ping_once(oslo.netns, oslo.links[0].ipv4, bergen.links[1].ipv4, 80ms));

  // Loss joins the shape (netem here); the shape keeps it; all of it cuts the link off.
  EXPECT_EQ(Topology::loss_method(), "netem");
  topology_->set_loss("oslo", "telenor", 100);
  EXPECT_EQ(topology_->shape("oslo", "telenor").loss, 10000);
  EXPECT_NE(qdisc(oslo.netns, link.interface).find("loss 100%"), std::string::npos);
  EXPECT_TRUE(cut_off(oslo.netns, link.ipv4, bergen.links[0].ipv4));
  shape.delay = 0ms;
  topology_->set_shape("oslo", "telenor", shape);
  EXPECT_EQ(topology_->shape("oslo", "telenor").loss, 10000) << "set_shape keeps the loss";
  topology_->set_loss("oslo", "telenor", 0);
  topology_->set_shape("oslo", "telenor", {});
  EXPECT_TRUE(topology_->shape("oslo", "telenor").none());
  EXPECT_EQ(qdisc(oslo.netns, link.interface).find("netem"), std::string::npos);
  EXPECT_EQ(qdisc(topology_->core_netns(), link.port).find("netem"), std::string::npos);
  EXPECT_TRUE(ping_once(oslo.netns, link.ipv4, bergen.links[0].ipv4, 80ms));
  topology_->set_shape("oslo", "telenor", {});  // nothing there: fine
  EXPECT_THROW(topology_->set_shape("oslo", "nextgentel", shape), SiteError);
}

TEST_F(TwoSites, PartitionBlocksTrafficBetweenTwoSitesUntilHealed) {
  const SiteInfo& oslo = topology_->site("oslo");
  const SiteInfo& bergen = topology_->site("bergen");
  Listener v4, v6;
  tcp_listen(bergen.netns, bergen.links[1].ipv4, v4);
  tcp_listen(bergen.netns, bergen.links[0].ipv6, v6);
  ASSERT_GT(v4.port, 0);
  ASSERT_GT(v6.port, 0);
  const auto connects = [&] {
    const bool a = tcp_connects(oslo.netns, oslo.links[0].ipv4, bergen.links[1].ipv4, v4.port, 1000ms);
    const bool b = tcp_connects(oslo.netns, oslo.links[1].ipv6, bergen.links[0].ipv6, v6.port, 1000ms);
    EXPECT_EQ(a, b) << "IPv4 and IPv6 alike";
    return a && b;
  };
  EXPECT_TRUE(connects());
  EXPECT_EQ(nft_tables(topology_->core_netns()).find("rsplab_partition"), std::string::npos);

  topology_->set_partition("oslo", "bergen", true);
  topology_->set_partition("bergen", "oslo", true);  // the same pair: idempotent
  EXPECT_NE(nft_tables(topology_->core_netns()).find("table inet rsplab_partition"),
            std::string::npos);
  EXPECT_FALSE(connects());
  EXPECT_TRUE(cut_off(bergen.netns, bergen.links[0].ipv4, oslo.links[1].ipv4)) << "both ways";
  // Each site still reaches its own gateways: only the traffic between the two is dropped.
  EXPECT_TRUE(reaches(oslo.netns, oslo.links[0].ipv4, oslo.links[0].gateway4));

  topology_->set_partition("bergen", "oslo", false);
  EXPECT_EQ(nft_tables(topology_->core_netns()).find("rsplab_partition"), std::string::npos);
  EXPECT_TRUE(connects());
  topology_->set_partition("oslo", "bergen", false);  // healed already: nothing to do

  EXPECT_THROW(topology_->set_partition("oslo", "oslo", true), SiteError);
  EXPECT_THROW(topology_->set_partition("oslo", "trondheim", true), SiteError);
}

// Remote hosts reach the emulated sites through this machine: every site address and this
// namespace's end of the uplink reach each other; the uplink goes with the topology.
TEST_F(TwoSites, UplinkJoinsTheSitesToThisMachineUntilDestroyed) {
  topology_->add_uplink();
  const std::string root_end = "rsp" + tag_;
  EXPECT_EQ(run_ip({"link", "show", root_end}).status, 0);
  for (const auto& a : addresses(false))
    EXPECT_TRUE(reaches(a.netns, a.address, Topology::kUplinkRoot)) << a.address;
  const auto route = run_ip({"route", "get", "198.18.65.2"});
  EXPECT_NE(route.out.find("dev " + root_end), std::string::npos) << route.out;
  topology_->destroy();
  EXPECT_NE(run_ip({"link", "show", root_end}).status, 0) << root_end << " left";
  EXPECT_EQ(run_ip({"route", "get", "198.18.65.2"}).out.find(root_end),
            std::string::npos);
}

TEST_F(TwoSites, DestroyRemovesNamespacesAndJournalEntries) {
  const std::string path = journal_->path();
  topology_->destroy();
  EXPECT_TRUE(netns_with_prefix(prefix_).empty());
  EXPECT_TRUE(journal_->live().empty());
  topology_->destroy();  // idempotent
  EXPECT_THROW(topology_->set_link("oslo", "uninett", false), SiteError);
  topology_.reset();
  journal_.reset();
  EXPECT_FALSE(fs::exists(path)) << "an empty journal is removed";
  const auto after = netns_list();
  for (const auto& name : after) {
    EXPECT_TRUE(name.rfind(prefix_, 0) != 0 ||
                std::find(before_.begin(), before_.end(), name) != before_.end())
        << name;
  }
}

TEST_F(NetnsTest, FailedCreateRemovesWhatItCreatedAndNeverTakesOverANamespace) {
  NetnsSweeper sweeper{prefix_};
  TempDir dir;
  Journal journal = Journal::open(dir.str());
  const std::string foreign = prefix_ + "bergen";
  ASSERT_TRUE(run_ip({"netns", "add", foreign}).ok());
  try {
    Topology::create({{"oslo", {"a", "b"}}, {"bergen", {"a"}}}, tag_, journal);
    ADD_FAILURE() << "create succeeded over an existing namespace";
  } catch (const SiteError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(netns_exists(prefix_ + "core"));
  EXPECT_FALSE(netns_exists(prefix_ + "oslo"));
  EXPECT_TRUE(netns_exists(foreign)) << "someone else's namespace was deleted";
  EXPECT_TRUE(journal.live().empty());
  run_ip({"netns", "del", foreign});
}

TEST(TopologyTest, NetemAvailableExplainsItself) {
  std::string why;
  const bool yes = netem_available(&why);
  EXPECT_EQ(yes, why.empty()) << why;
  EXPECT_EQ(netem_available(nullptr), yes) << "probed once";
  EXPECT_EQ(Topology::loss_method(), yes ? "netem" : "nftables");
}

TEST(TopologyTest, AvailableExplainsItself) {
  std::string why;
  if (available(&why)) {
    EXPECT_TRUE(why.empty());
  } else {
    EXPECT_FALSE(why.empty());
  }
}

// ---- Remote sites (agents/remote.hpp) ------------------------------------------------------

TEST(RemoteClock, TheShortestRoundTripSetsOffsetAndUncertainty) {
  // The agent's clock 1 s ahead; the second exchange was queued least.
  const std::vector<ClockSample> samples = {{1'000, 1'001'600, 2'000},
                                            {5'000, 1'005'150, 5'300},
                                            {9'000, 1'010'000, 11'000}};
  const ClockEstimate e = estimate_clock(samples);
  EXPECT_EQ(e.rtt_us, 300);
  EXPECT_EQ(e.offset_us, 1'005'150 - 5'150);
  EXPECT_EQ(e.uncertainty_us, 150);
  EXPECT_EQ(e.samples, 3);
  // A clock behind ours gives a negative offset.
  EXPECT_EQ(estimate_clock({{10'000, 7'000, 10'200}}).offset_us, -3'100);
}

TEST(RemoteCommand, SshWithBatchModeAndTheUsersConfiguration) {
  const auto argv = ssh_command("admin@node3", "", "/opt/rsplab", {"agent", "--stdio"});
  ASSERT_GE(argv.size(), 5u);
  EXPECT_NE(argv[0].find("ssh"), std::string::npos);
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-F"), argv.end()) << "no -F without a file";
  EXPECT_NE(std::find(argv.begin(), argv.end(), "BatchMode=yes"), argv.end());
  EXPECT_EQ(std::vector<std::string>(argv.end() - 4, argv.end()),
            (std::vector<std::string>{"admin@node3", "/opt/rsplab", "agent", "--stdio"}));
  const auto with = ssh_command("h", "/tmp/cfg", "rsplab", {"agent", "--version"});
  const auto f = std::find(with.begin(), with.end(), "-F");
  ASSERT_NE(f, with.end());
  EXPECT_EQ(*(f + 1), "/tmp/cfg");
}

}  // namespace
}  // namespace rsplab::agents
