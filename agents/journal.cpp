#include "agents/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agents/command.hpp"
#include "agents/ip.hpp"
#include "stack/common/split.hpp"

namespace rsplab::agents {
namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void make_dirs(const std::string& dir) {
  std::string prefix;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::runtime_error(errno_text("journal: cannot create " + prefix));
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error("journal: " + dir + " is not a directory");
  }
}

// Reads all of `fd` from the start (pread: leaves an O_APPEND descriptor as it was).
bool read_fd(int fd, std::string& text) {
  text.clear();
  char buffer[4096];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
}

bool read_path(const std::string& path, std::string& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    text.clear();
    return errno == ENOENT;  // no file: no entries
  }
  const bool ok = read_fd(fd, text);
  ::close(fd);
  return ok;
}

std::vector<std::string> parse_live(const std::string& text) {
  std::vector<std::string> live;
  std::vector<std::string> lines = common::split(text, '\n');
  lines.pop_back();  // what follows the last newline: nothing, or a torn line (ignored)
  for (std::string& line : lines) {
    if (line.empty()) continue;
    if (line[0] == '-') {
      const std::string removed = line.substr(1);
      for (auto it = live.rbegin(); it != live.rend(); ++it) {
        if (*it == removed) {
          live.erase(std::next(it).base());
          break;
        }
      }
    } else {
      live.push_back(std::move(line));
    }
  }
  return live;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void check_entry(std::string_view entry) {
  if (entry.empty() || entry.front() == '-' || entry.find('\n') != std::string_view::npos ||
      entry.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("journal: bad entry \"" + std::string(entry) + "\"");
  }
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// The words between runs of spaces.
std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words = common::split(text, ' ');
  std::erase(words, std::string());
  return words;
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return line.empty() ? "failed without a message" : line;
}

// Undoes one entry; "" when undone (or already gone), else why not.
std::string undo(const std::string& entry) {
  const auto words = split_words(entry);
  if (words.size() == 2 && words[0] == "netns") {
    const std::string name(words[1]);
    if (name.rfind("rsplab-", 0) != 0) return "refusing: not an rsplab namespace";
    const CommandResult r = run_ip({"netns", "del", name});
    if (r.ok() || r.err.find("No such file or directory") != std::string::npos) return {};
    return first_line(r.err);
  }
  if (words.size() == 2 && words[0] == "nft") {
    const std::string table(words[1]);
    if (table.rfind("rsplab", 0) != 0) return "refusing: not an rsplab table";
    const CommandResult r = run_command({"nft", "delete", "table", "inet", table});
    if (r.ok() || r.err.find("No such file or directory") != std::string::npos) return {};
    return first_line(r.err);
  }
  if (words.size() == 3 && words[0] == "pid") {
    int pid = 0;
    long long start = 0;
    if (!parse_number(words[1], pid) || !parse_number(words[2], start)) return "malformed";
    if (pid <= 1 || pid == ::getpid()) return "refusing to kill pid " + std::to_string(pid);
    if (process_start_time(pid) != start) return {};  // gone; the pid may be someone else's
    if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) return errno_text("kill");
    // Wait (briefly) until it is gone, so that what comes next finds it dead.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (process_start_time(pid) == start && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {};
  }
  return "unknown entry";
}

// "<pid>-<start>.journal" → owner; false when the name is not a journal's.
bool parse_journal_name(const std::string& name, int& pid, long long& start) {
  static constexpr std::string_view kSuffix = ".journal";
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return false;
  }
  const std::string_view stem(name.data(), name.size() - kSuffix.size());
  const std::size_t dash = stem.find('-');
  if (dash == std::string_view::npos) return false;
  return parse_number(stem.substr(0, dash), pid) && parse_number(stem.substr(dash + 1), start);
}

void cleanup_one(const std::string& path, CleanupReport& report) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) report.failed.push_back(errno_text(path));
    return;  // ENOENT: another cleanup finished it
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    report.failed.push_back(path + ": being cleaned up by another process");
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_nlink == 0) return;  // finished while we waited
  std::string text;
  if (!read_fd(fd, text)) {
    report.failed.push_back(errno_text(path));
    return;
  }
  const std::vector<std::string> live = parse_live(text);
  bool all_undone = true;
  for (auto it = live.rbegin(); it != live.rend(); ++it) {
    const std::string why = undo(*it);
    if (why.empty()) {
      report.undone.push_back(*it);
      if (write_all(fd, "-" + *it + "\n")) ::fsync(fd);
    } else {
      report.failed.push_back(*it + ": " + why + " (" + path + ")");
      all_undone = false;
    }
  }
  if (all_undone && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    report.failed.push_back(errno_text("cannot remove " + path));
  }
}

}  // namespace

long long process_start_time(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return -1;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  const auto fields = split_words(std::string_view(stat).substr(close + 1));
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields.size() < 20) return -1;
  if (fields[0] == "Z" || fields[0] == "X" || fields[0] == "x") return -1;
  std::string_view start_text = fields[19];
  if (!start_text.empty() && start_text.back() == '\n') start_text.remove_suffix(1);
  long long start = -1;
  if (!parse_number(start_text, start)) return -1;
  return start;
}

Journal Journal::open(const std::string& dir) {
  make_dirs(dir);
  const pid_t pid = ::getpid();
  const long long start = process_start_time(pid);
  if (start < 0) throw std::runtime_error("journal: cannot read this process's start time");
  Journal journal;
  journal.path_ = dir + "/" + std::to_string(pid) + "-" + std::to_string(start) + ".journal";
  journal.owner_ = pid;
  journal.fd_ = ::open(journal.path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (journal.fd_ < 0) throw std::runtime_error(errno_text("journal: cannot open " + journal.path_));
  // The name must survive a crash as much as the entries do.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return journal;
}

Journal::Journal(Journal&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), owner_(other.owner_) {
  other.fd_ = -1;
  other.path_.clear();
}

Journal& Journal::operator=(Journal&& other) noexcept {
  if (this != &other) {
    close_and_maybe_unlink();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    owner_ = other.owner_;
    other.fd_ = -1;
    other.path_.clear();
  }
  return *this;
}

Journal::~Journal() { close_and_maybe_unlink(); }

void Journal::close_and_maybe_unlink() noexcept {
  if (fd_ < 0) return;
  if (::getpid() == owner_) {
    std::string text;
    if (read_fd(fd_, text) && parse_live(text).empty()) ::unlink(path_.c_str());
  }
  ::close(fd_);
  fd_ = -1;
}

void Journal::append(const std::string& line) {
  if (fd_ < 0) throw std::runtime_error("journal: not open");
  // Another Journal of this process may have removed the file when its entries were gone.
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_nlink == 0) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(errno_text("journal: cannot reopen " + path_));
    ::close(fd_);
    fd_ = fd;
  }
  if (!write_all(fd_, line + "\n") || ::fsync(fd_) != 0) {
    throw std::runtime_error(errno_text("journal: cannot write " + path_));
  }
}

void Journal::add(std::string_view entry) {
  check_entry(entry);
  append(std::string(entry));
}

void Journal::remove(std::string_view entry) {
  check_entry(entry);
  const auto entries = live();
  for (const auto& e : entries) {
    if (e == entry) {
      append("-" + std::string(entry));
      return;
    }
  }
}

std::vector<std::string> Journal::live() const {
  std::string text;
  if (!read_path(path_, text)) throw std::runtime_error(errno_text("journal: cannot read " + path_));
  return parse_live(text);
}

std::string default_journal_dir() {
  if (::geteuid() == 0) return kJournalDir;
  return "/tmp/rsplab-" + std::to_string(::geteuid()) + "/journal";
}

CleanupReport cleanup_dead(const std::string& dir) {
  CleanupReport report;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) report.failed.push_back(errno_text(dir));
    return report;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    int pid = 0;
    long long start = 0;
    if (!parse_journal_name(name, pid, start)) continue;
    const std::string path = dir + "/" + name;
    if (process_start_time(pid) == start) {
      report.live_owners.push_back(path);
      continue;
    }
    cleanup_one(path, report);
  }
  // The probes of available() ("rsplab-probe-<pid>") live for milliseconds and are not
  // journaled; one whose process is gone was left by a process killed in between.
  if (dir == kJournalDir && ::geteuid() == 0) {
    const CommandResult list = run_ip({"netns", "list"});
    for (const std::string& line : common::split(list.out, '\n')) {
      const std::string ns = line.substr(0, line.find(' '));
      constexpr std::string_view prefix = "rsplab-probe-";
      if (ns.rfind(prefix, 0) != 0) continue;
      int pid = 0;
      const auto* first = ns.data() + prefix.size();
      const auto [p, ec] = std::from_chars(first, ns.data() + ns.size(), pid);
      if (ec != std::errc() || p != ns.data() + ns.size() || process_start_time(pid) >= 0) continue;
      const CommandResult del = run_ip({"netns", "del", ns});
      if (del.ok()) report.undone.push_back("netns " + ns);
      else report.failed.push_back("netns " + ns + ": " + del.err);
    }
  }
  return report;
}

}  // namespace rsplab::agents
