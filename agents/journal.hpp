// The machine-wide journal of what runners create (namespaces, processes, nftables tables),
// so that `rsplab cleanup` removes exactly what dead runners left and nothing else.
//
// One file per runner in kJournalDir ("/run/rsplab/journal"), named after its owner:
// "<pid>-<starttime>.journal", starttime = field 22 of /proc/<pid>/stat (clock ticks since
// boot), so a recycled PID is not mistaken for the owner. Each line is one entry
// ("netns NAME", "pid PID STARTTIME", "nft TABLE"), appended and fsync'ed BEFORE the thing is
// created; a removal appends "-<entry>". A runner is dead when no process has its pid with
// its start time (a zombie counts as dead). The file is the truth: live() reads it back, and
// a final line without its newline (a torn write) is ignored.
//
// What cleanup undoes, and only when the name is ours (a journal is never trusted to name
// another tool's objects):
//   "netns NAME"            `ip netns del NAME`; NAME must start with "rsplab-"
//   "nft TABLE"             `nft delete table inet TABLE` (root namespace); TABLE must start
//                           with "rsplab"
//   "pid PID STARTTIME"     SIGKILL, only while PID still has that start time
// Something already gone counts as undone.
//
//   Journal j = Journal::open();        // this process's journal
//   j.add("netns rsplab-ab12-oslo");    // then: ip netns add rsplab-ab12-oslo
//   j.remove("netns rsplab-ab12-oslo"); // after: ip netns del ...
//   cleanup_dead()                      // every dead owner's live entries undone, newest
//                                       // first; its file removed
//
// Single-threaded per process; files of different runners never interfere, and concurrent
// cleanups serialize on flock(2) of each file. Two Journal objects of one process share its
// file; the last one to go removes it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace rsplab::agents {

inline constexpr const char* kJournalDir = "/run/rsplab/journal";
// Where this user's runners journal: kJournalDir for root; "/tmp/rsplab-<uid>/journal" for
// others (who create no namespaces, only processes).
std::string default_journal_dir();

class Journal {
 public:
  // This process's journal in `dir` (created if missing). Throws std::runtime_error.
  static Journal open(const std::string& dir = default_journal_dir());
  Journal(Journal&&) noexcept;
  Journal& operator=(Journal&&) noexcept;
  ~Journal();  // removes the file when no live entry is left

  // REQUIRES: entry is one non-empty line not starting with '-' (else std::invalid_argument).
  // Throws std::runtime_error when the entry cannot be written and synced.
  void add(std::string_view entry);
  void remove(std::string_view entry);  // no-op when the entry is not live
  std::vector<std::string> live() const;  // entries added and not removed, in order
  const std::string& path() const { return path_; }

 private:
  Journal() = default;
  void append(const std::string& line);
  void close_and_maybe_unlink() noexcept;
  std::string path_;
  int fd_ = -1;
  pid_t owner_ = -1;  // a forked child's copy never removes its parent's file
};

// The start time (clock ticks since boot) of process `pid`, or -1 when there is none (no such
// process, or a zombie).
long long process_start_time(int pid);

struct CleanupReport {
  std::vector<std::string> undone;     // entries undone ("netns rsplab-ab12-oslo", ...)
  std::vector<std::string> failed;     // entries that could not be undone, with the reason
  std::vector<std::string> live_owners;  // journals spared (their paths): runner alive
};

// Undoes the live entries of every journal in `dir` whose owner is dead: kills the
// processes (SIGKILL, only when pid and start time still match), deletes the nftables
// tables and the namespaces; removes those journal files. A journal with an entry that
// could not be undone stays (with the undone ones marked removed), to be retried. A missing
// `dir` is an empty report.
CleanupReport cleanup_dead(const std::string& dir = default_journal_dir());

}  // namespace rsplab::agents
