// Tests of the one process spawner (agents/spawn.hpp) and of its two wrappers in agents/:
// run_command (blocking, collects output) and Child (line by line on an io_context). Real
// processes (/bin/sh, /bin/cat), no namespaces, no root: labelled unit.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agents/child.hpp"
#include "agents/command.hpp"
#include "agents/spawn.hpp"

namespace rsplab::agents {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Reads `fd` to its end and closes it.
std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Runs `sh -c script` with stdout piped; {exit code (128+n when killed), stdout}.
std::pair<int, std::string> sh(const std::string& script, SpawnOptions o = {}) {
  o.out = Redirect::pipe();
  const Spawned s = spawn_process({"/bin/sh", "-c", script}, o);
  std::string out = read_all(s.out);
  return {exit_code(wait_for(s.pid)), out};
}

TEST(SpawnProcess, ExitCodeIsTheChildsAndASignalIs128PlusItsNumber) {
  EXPECT_EQ(sh("exit 0").first, 0);
  EXPECT_EQ(sh("exit 3").first, 3);
  EXPECT_EQ(sh("kill -KILL $$").first, 128 + SIGKILL);
  EXPECT_EQ(sh("kill -TERM $$").first, 128 + SIGTERM);
}

TEST(SpawnProcess, StdoutAndStderrArePipesOfTheirOwn) {
  SpawnOptions o;
  o.out = Redirect::pipe();
  o.err = Redirect::pipe();
  const Spawned s = spawn_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 5"}, o);
  EXPECT_EQ(s.exec_errno, 0);
  EXPECT_EQ(s.in, -1);
  EXPECT_EQ(read_all(s.out), "out\n");
  EXPECT_EQ(read_all(s.err), "err\n");
  EXPECT_EQ(exit_code(wait_for(s.pid)), 5);
}

TEST(SpawnProcess, StderrCanJoinStdout) {
  SpawnOptions o;
  o.err_to_out = true;
  EXPECT_EQ(sh("echo one; echo two >&2", o).second, "one\ntwo\n");
}

TEST(SpawnProcess, StdinPipeReachesTheChild) {
  SpawnOptions o;
  o.in = Redirect::pipe();
  o.out = Redirect::pipe();
  const Spawned s = spawn_process({"/bin/cat"}, o);
  const std::string text = "line one\nline two\n";
  ASSERT_EQ(::write(s.in, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(s.in);
  EXPECT_EQ(read_all(s.out), text);
  EXPECT_EQ(exit_code(wait_for(s.pid)), 0);
}

TEST(SpawnProcess, FilesForStdinStdoutAndAppendedStderr) {
  const fs::path dir = fs::temp_directory_path() / ("spawn_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in") << "from a file\n";
  std::ofstream(dir / "err") << "before\n";
  SpawnOptions o;
  o.in = Redirect::file(dir / "in");
  o.out = Redirect::file(dir / "out", false, 0600);
  o.err = Redirect::file(dir / "err", true);
  const Spawned s = spawn_process({"/bin/sh", "-c", "cat; echo after >&2"}, o);
  EXPECT_EQ(exit_code(wait_for(s.pid)), 0);
  std::stringstream out, err;
  out << std::ifstream(dir / "out").rdbuf();
  err << std::ifstream(dir / "err").rdbuf();
  EXPECT_EQ(out.str(), "from a file\n");
  EXPECT_EQ(err.str(), "before\nafter\n");
  EXPECT_EQ(fs::status(dir / "out").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}

TEST(SpawnProcess, AMissingBinaryIsExit127WithTheErrno) {
  const Spawned s = spawn_process({"/nonexistent/rsplab-no-such-tool"}, {});
  EXPECT_EQ(s.exec_errno, ENOENT);
  EXPECT_EQ(exit_code(wait_for(s.pid)), 127);
}

TEST(SpawnProcess, AMissingFileForARedirectThrowsAndStartsNothing) {
  SpawnOptions o;
  o.in = Redirect::file("/nonexistent/rsplab-no-such-file");
  EXPECT_THROW(spawn_process({"/bin/true"}, o), std::system_error);
}

TEST(SpawnProcess, NoDescriptorOfOursLeaksIntoTheChild) {
  int leaky[2];
  ASSERT_EQ(::pipe(leaky), 0);  // deliberately without O_CLOEXEC
  const auto [code, fds] = sh("ls /proc/$$/fd");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(fds, "0\n1\n2\n") << "descriptors open in the child";
  ::close(leaky[0]);
  ::close(leaky[1]);
}

TEST(SpawnProcess, KeptDescriptorsAppearUnderTheirNewNumbers) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  SpawnOptions o;
  o.keep_fds = {{p[1], 3}, {p[1], 4}};
  const auto [code, fds] = sh("echo three >&3; echo four >&4; ls /proc/$$/fd", o);
  ::close(p[1]);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(fds, "0\n1\n2\n3\n4\n");
  EXPECT_EQ(read_all(p[0]), "three\nfour\n");
}

TEST(SpawnProcess, EnvironmentIsOursPlusAddedEntriesOrOnlyThoseWhenCleared) {
  ::setenv("RSPLAB_SPAWN_TEST_OURS", "ours", 1);
  SpawnOptions o;
  o.env = {"RSPLAB_SPAWN_TEST_ADDED=added"};
  EXPECT_EQ(sh("echo $RSPLAB_SPAWN_TEST_OURS $RSPLAB_SPAWN_TEST_ADDED", o).second,
            "ours added\n");
  o.clear_env = true;
  EXPECT_EQ(sh("echo \"[$RSPLAB_SPAWN_TEST_OURS]\" $RSPLAB_SPAWN_TEST_ADDED", o).second,
            "[] added\n");
  ::unsetenv("RSPLAB_SPAWN_TEST_OURS");
}

// Whether `pid` is gone (or a zombie nobody reaped yet).
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.substr(close + 2, 1) == "Z";
}

TEST(SpawnProcess, ANewProcessGroupIsKilledWholeWithItsGrandchildren) {
  SpawnOptions o;
  o.out = Redirect::pipe();
  o.new_process_group = true;
  const Spawned s = spawn_process({"/bin/sh", "-c", "sleep 60 & echo $!; wait"}, o);
  EXPECT_EQ(::getpgid(s.pid), s.pid);
  std::string line;
  char c;
  while (::read(s.out, &c, 1) == 1 && c != '\n') line += c;
  const pid_t grandchild = std::stoi(line);
  EXPECT_EQ(::getpgid(grandchild), s.pid);
  ASSERT_EQ(::kill(-s.pid, SIGKILL), 0);
  EXPECT_EQ(exit_code(wait_for(s.pid)), 128 + SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!gone(grandchild) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(gone(grandchild));
  ::close(s.out);
}

TEST(SpawnProcess, WithoutANewGroupTheChildStaysInOurs) {
  const Spawned s = spawn_process({"/bin/sh", "-c", "exit 0"}, {});
  EXPECT_EQ(::getpgid(s.pid), ::getpgrp());
  wait_for(s.pid);
}

TEST(RunCommand, CollectsOutputErrorAndStatus) {
  const CommandResult r = run_command({"sh", "-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(run_command({"sh", "-c", "kill -KILL $$"}).status, 128 + SIGKILL);
}

TEST(RunCommand, AMissingToolIs127WithAMessage) {
  CommandResult r = run_command({"rsplab-no-such-tool"});
  EXPECT_EQ(r.status, 127);
  EXPECT_EQ(r.err, "rsplab-no-such-tool: command not found");
  r = run_command({"/nonexistent/rsplab-no-such-tool"});
  EXPECT_EQ(r.status, 127);
  EXPECT_EQ(r.err, "/nonexistent/rsplab-no-such-tool: No such file or directory");
}

TEST(ChildTest, LinesInLinesOutThenTheExitStatus) {
  boost::asio::io_context io;
  std::vector<std::string> lines;
  int status = -1;
  auto child = Child::spawn(io, {"/bin/cat"},
                            {[&](const std::string& l) { lines.push_back(l); },
                             [&](int st) { status = st; }},
                            {});
  EXPECT_EQ(::getpgid(child->pid()), child->pid());  // a group of its own
  child->write_line("hello");
  child->write_line("world");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (lines.size() < 2 && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(50ms);
  child->close_stdin();  // cat ends on the end of its input
  io.run_for(5s);
  EXPECT_EQ(lines, (std::vector<std::string>{"hello", "world"}));
  EXPECT_FALSE(child->running());
  EXPECT_EQ(exit_code(status), 0);
}

TEST(ChildTest, AMissingBinaryEndsWith127) {
  boost::asio::io_context io;
  int status = -1;
  auto child = Child::spawn(io, {"/nonexistent/rsplab-no-such-tool"},
                            {nullptr, [&](int st) { status = st; }}, {});
  io.run_for(5s);
  EXPECT_EQ(exit_code(status), 127);
}

TEST(ChildTest, SignalKillsIt) {
  boost::asio::io_context io;
  int status = -1;
  auto child = Child::spawn(io, {"/bin/sleep", "60"}, {nullptr, [&](int st) { status = st; }},
                            {});
  EXPECT_TRUE(child->signal(SIGKILL));
  io.run_for(5s);
  EXPECT_EQ(exit_code(status), 128 + SIGKILL);
  EXPECT_FALSE(child->signal(SIGKILL));
}

}  // namespace
}  // namespace rsplab::agents
