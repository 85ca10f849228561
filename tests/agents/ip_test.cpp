// agents/ip.hpp: every `ip` the project runs is iproute2's as find_tool finds it (PATH
// first, then the sbin and bin directories). Real processes, no root needed (label unit).
#include "agents/ip.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rsplab::agents {
namespace {

namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

TEST(Ip, IsIproute2s) {
  const std::string ip = ip_tool();
  ASSERT_EQ(ip.front(), '/') << ip << ": iproute2 is not installed (scripts/setup.sh)";
  EXPECT_EQ(fs::path(ip).filename(), "ip");
  EXPECT_EQ(::access(ip.c_str(), X_OK), 0) << ip;
  const CommandResult r = run_ip({"-V"});
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_NE(r.out.find("iproute2"), std::string::npos) << r.out;
}

TEST(Ip, CommandLinesStartWithTheSameIp) {
  const std::string ip = ip_tool();
  EXPECT_EQ(ip_command({"-n", "x", "link", "show"}), (Argv{ip, "-n", "x", "link", "show"}));
  EXPECT_EQ(ip_command({}), (Argv{ip}));
  EXPECT_EQ(netns_exec("rsplab-t-oslo", {"/usr/bin/rsplab", "agent", "--stdio"}),
            (Argv{ip, "netns", "exec", "rsplab-t-oslo", "/usr/bin/rsplab", "agent", "--stdio"}));
}

// PATH comes first, as for every tool run_command runs: an `ip` earlier on PATH is the one
// run, by run_ip and by what netns_exec builds alike.
TEST(Ip, PathComesFirst) {
  char tmpl[] = "/tmp/rsplab-ip-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string fake = dir + "/ip";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\necho \"fake ip $*\"\n";
  }
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", (dir + ":" + saved).c_str(), 1);
  EXPECT_EQ(ip_tool(), fake);
  const CommandResult r = run_ip({"netns", "list"});
  EXPECT_EQ(r.out, "fake ip netns list\n") << r.err;
  EXPECT_EQ(netns_exec("n", {"nft", "list", "tables"}).front(), fake);
  const CommandResult exec = run_command(netns_exec("n", {"nft", "list", "tables"}));
  EXPECT_EQ(exec.out, "fake ip netns exec n nft list tables\n") << exec.err;
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(ip_tool(), fake);  // looked up on every call
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rsplab::agents
