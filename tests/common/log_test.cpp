// Tests of the one logger (stack/common/log.hpp): what lands on the real stderr (fd 2,
// redirected to a pipe for the test), the level filter and the level names.
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "stack/common/log.hpp"

namespace rsplab::common {
namespace {

// Runs `f` with fd 2 going into a pipe; what it wrote there.
template <class F>
std::string captured_stderr(F f) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(p[1], STDERR_FILENO);
  ::close(p[1]);
  f();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  return text;
}

TEST(Logger, ComponentLevelAndTextOnStderrOneLineEach) {
  const Logger log{"rsplab pe"};
  EXPECT_EQ(captured_stderr([&] {
              log(Level::warning, "registrar %zu closed: %s", std::size_t{2}, "reset");
              log(Level::error, "no format 100%");
              log.write(Level::info, "as it is: %s");
            }),
            "rsplab pe: warning: registrar 2 closed: reset\n"
            "rsplab pe: error: no format 100%\n"
            "rsplab pe: info: as it is: %s\n");
}

TEST(Logger, PrintsItsLevelAndAboveOnly) {
  Logger log{"rsplab registrar", Level::warning};
  const auto all = [&] {
    log(Level::error, "e");
    log(Level::warning, "w");
    log(Level::info, "i");
    log(Level::debug, "d");
  };
  EXPECT_EQ(captured_stderr(all), "rsplab registrar: error: e\nrsplab registrar: warning: w\n");
  log.level = Level::debug;
  EXPECT_EQ(captured_stderr(all), "rsplab registrar: error: e\nrsplab registrar: warning: w\n"
                                  "rsplab registrar: info: i\nrsplab registrar: debug: d\n");
  EXPECT_EQ(Logger{"x"}.level, Level::info);  // the default
}

TEST(Logger, ALongLineArrivesWhole) {
  const std::string text(3000, 'x');
  EXPECT_EQ(captured_stderr([&] { Logger{"c"}(Level::info, "%s", text.c_str()); }),
            "c: info: " + text + "\n");
}

TEST(Logger, LevelNamesRoundTripAndNothingElseParses) {
  for (Level l : {Level::error, Level::warning, Level::info, Level::debug})
    EXPECT_EQ(parse_level(level_name(l)), l);
  EXPECT_EQ(parse_level("warn"), std::nullopt);
  EXPECT_EQ(parse_level("INFO"), std::nullopt);
  EXPECT_EQ(parse_level(""), std::nullopt);
}

}  // namespace
}  // namespace rsplab::common
