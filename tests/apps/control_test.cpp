// The `--control stdin` command lines of `rsplab pe` and `rsplab pu` (node/control.hpp):
// what is accepted, and that every mistake is refused with a reason.
#include <gtest/gtest.h>

#include <string>

#include "node/control.hpp"

namespace {

using rsplab::node::ControlCommand;
using rsplab::node::parse_control;

TEST(Control, ParsesEveryCommand) {
  std::string error;
  const std::pair<const char*, ControlCommand::Kind> cases[] = {
      {"kill", ControlCommand::Kind::kill},
      {"stop", ControlCommand::Kind::stop},
      {"resume", ControlCommand::Kind::resume},
      {"shutdown", ControlCommand::Kind::shutdown},
      {"restart", ControlCommand::Kind::restart}};
  for (const auto& [name, kind] : cases) {
    const auto c = parse_control(std::string("{\"cmd\": \"") + name + "\", \"member\": 2}", 3,
                                 &error);
    ASSERT_TRUE(c) << name << ": " << error;
    EXPECT_EQ(c->kind, kind);
    EXPECT_EQ(c->member, 2u);
  }
}

TEST(Control, RefusesBadLinesWithAReason) {
  for (const char* line :
       {"", "kill 2", "[1]", "{\"member\": 0}", "{\"cmd\": \"pause\", \"member\": 0}",
        "{\"cmd\": 3, \"member\": 0}", "{\"cmd\": \"kill\"}", "{\"cmd\": \"kill\", \"member\": 3}",
        "{\"cmd\": \"kill\", \"member\": -1}", "{\"cmd\": \"kill\", \"member\": \"0\"}",
        "{\"cmd\": \"kill\", \"member\": 0.5}"}) {
    std::string error;
    EXPECT_FALSE(parse_control(line, 3, &error)) << line;
    EXPECT_FALSE(error.empty()) << line;
  }
}

}  // namespace
