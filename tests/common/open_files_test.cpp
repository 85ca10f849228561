// common::raise_open_files, which every process hosting thousands of connections calls
// first (rsplab, the load generators): it raises the soft limit, the hard one too where it
// may (root), never lowers either, and says what is in force. Each case runs in a forked
// child, whose limits it may lower to start from a known point.
#include "stack/common/open_files.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace rsplab::common {
namespace {

// Runs `body` in a child with the limits {soft, hard}; the child's exit status is the
// number of the first failed check (0: all held).
int in_child(rlim_t soft, rlim_t hard, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit start{soft, hard};
    if (::setrlimit(RLIMIT_NOFILE, &start) != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

rlimit now() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  return r;
}

TEST(OpenFiles, RaisesTheSoftLimitUpToTheHardOneAndNeverLowersIt) {
  EXPECT_EQ(in_child(256, 1024, [] {
              if (raise_open_files(512) != 512 || now().rlim_cur != 512) return 1;
              if (raise_open_files(300) != 512 || now().rlim_cur != 512) return 2;  // not lowered
              if (now().rlim_max != 1024) return 3;
              return 0;
            }),
            0);
}

// Raising the hard limit takes CAP_SYS_RESOURCE (root, unless a container withholds it, as
// this project's machines do): with it both limits reach 4096, without it the hard limit
// is taken.
TEST(OpenFiles, BeyondTheHardLimitBothAreRaisedWherePermittedElseTheHardLimitIsTaken) {
  EXPECT_EQ(in_child(256, 1024,
                     [] {
                       const auto got = raise_open_files(4096);
                       const rlimit r = now();
                       if (got != r.rlim_cur) return 1;
                       if (got == 4096) return r.rlim_max == 4096 ? 0 : 2;
                       return got == 1024 && r.rlim_max == 1024 ? 0 : 3;
                     }),
            0);
}

}  // namespace
}  // namespace rsplab::common
