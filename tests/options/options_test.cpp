// The options of registrar, PE and PU from their one table (options/roles.hpp): a command
// line read back to the same arguments, experiment-file maps with file:line:col errors, one
// policy grammar for both, and every row of every table reachable as a flag, in --help and
// in a file, so that an option added to a table needs nothing else.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "options/options.hpp"
#include "options/roles.hpp"

namespace rsplab::options {
namespace {

using Args = std::vector<std::string>;

template <class T>
void expect_round_trip(const Args& args) {
  const T parsed = from_args<T>(args);
  EXPECT_EQ(validate(parsed), "");
  const Args written = to_args(parsed);
  EXPECT_EQ(written, args);  // the test's args are in table order, values in canonical form
  EXPECT_EQ(to_args(from_args<T>(written)), written);
}

TEST(Options, RegistrarArgvToStructToArgsAndBack) {
  expect_round_trip<RegistrarOptions>(
      {"--transport", "tcp", "--asap", "10.0.0.1:0", "--enrp", "10.0.0.1:0",
       "--keepalive-interval", "500ms", "--max-bad-pe-reports", "2", "--max-hr-rate", "-1",
       "--max-eu-rate", "2.5", "--min-address-scope", "global", "--seed", "7"});
  const auto o = from_args<RegistrarOptions>({"--max-eu-rate", "2.5", "--seed", "7"});
  EXPECT_EQ(*o.max_eu_rate, 2.5);
  EXPECT_EQ(*o.seed, 7u);
  EXPECT_EQ(*o.keepalive_interval, "5000");  // the default, not given
  EXPECT_FALSE(o.keepalive_interval.given());
}

TEST(Options, PeArgvToStructToArgsAndBack) {
  expect_round_trip<PeOptions>(
      {"--registrar", "10.0.0.1,10.0.0.2:4000", "--pool", "P", "--policy", "wrand:5", "--count",
       "3", "--local", "10.0.1.1", "--transport", "sctp", "--seed", "99", "--control", "stdin",
       "--capacity", "uniform:1e6,4e6", "--max-jobs", "4", "--shutdown-cookie-probability", "0.5",
       "--registration-life", "90s", "--identifier", "0x1234abcd"});
  const auto o = from_args<PeOptions>({"--pool", "P", "--count", "3"});
  EXPECT_EQ(*o.count, 3u);
  EXPECT_EQ(*o.policy, "rr");
  EXPECT_EQ(to_args(o), (Args{"--pool", "P", "--count", "3"}));
}

TEST(Options, PuArgvToStructToArgsAndBack) {
  expect_round_trip<PuOptions>(
      {"--registrar", "[fd00::1]:3863", "--pool", "P", "--count", "4", "--seed", "5", "--name",
       "P/pu0", "--runtime", "10000ms", "--control", "stdin", "--job-size", "exp:1e6",
       "--interval", "exp:2s", "--stale-cache", "0s", "--resolution-items", "2", "--jobs", "10"});
}

TEST(Options, RequiredOptionsAndUnknownFlagsAreRefused) {
  EXPECT_THROW(from_args<PeOptions>({"--capacity", "2e6"}), std::invalid_argument);  // no --pool
  EXPECT_THROW(from_args<PuOptions>({"--pool", "P"}), std::invalid_argument);  // no --registrar
  EXPECT_THROW(from_args<RegistrarOptions>({"--pool", "P"}), std::invalid_argument);
}

TEST(Options, ValidateNamesTheFlagAndWhy) {
  auto o = from_args<PeOptions>({"--pool", "P", "--max-jobs", "0"});
  EXPECT_EQ(validate(o), "--max-jobs: '0' must be 1 to 4294967295");
  o = from_args<PeOptions>({"--pool", "P", "--capacity", "uniform:0,0"});
  EXPECT_EQ(validate(o), "--capacity: 'uniform:0,0': the mean capacity must be above 0");
  const auto pu = from_args<PuOptions>({"--registrar", "a", "--pool", "P", "--transport", "udp"});
  EXPECT_EQ(validate(pu), "--transport: 'udp' is not a transport (auto, sctp, tcp)");
  // Defaults are not checked: "5000" (ms, the command line's bare number) is the registrar's.
  EXPECT_EQ(validate(RegistrarOptions{}), "");
}

// The command line takes a bare number as ms; a file wants a unit and whole milliseconds.
TEST(Options, DurationsOnTheCommandLineAndInAFile) {
  EXPECT_EQ(check_value(Kind::ms1, "5000", Source::command_line, nullptr), "");
  EXPECT_NE(check_value(Kind::ms1, "5000", Source::file, nullptr), "");
  EXPECT_EQ(check_value(Kind::ms1, "1.5ms", Source::file, nullptr),
            "'1.5ms' is not a whole number of milliseconds");
  EXPECT_EQ(check_value(Kind::ms1, "0s", Source::file, nullptr),
            "'0s' must be 1ms to 2147483647ms");
  EXPECT_EQ(check_value(Kind::ms0, "0s", Source::file, nullptr), "");
  std::string arg;
  EXPECT_EQ(check_value(Kind::count1, "1e3", Source::file, &arg), "");
  EXPECT_EQ(arg, "1000");
}

TEST(Options, YamlMapToStruct) {
  const YAML::Node n = YAML::Load("capacity: 2e6\nmax-jobs: 1e3\nkeepalive-interval: 1s\n");
  const auto o = from_yaml<PeOptions>(n, "e.yaml");
  EXPECT_EQ(to_args(o), (Args{"--capacity", "2e6", "--max-jobs", "1000", "--keepalive-interval",
                              "1s"}));
}

TEST(Options, YamlBadValueSaysFileLineAndColumn) {
  const YAML::Node n = YAML::Load("capacity: 2e6\n  \nmax-jobs:   0\n");
  try {
    from_yaml<PeOptions>(n, "e.yaml");
    FAIL() << "max-jobs 0 accepted";
  } catch (const OptionError& e) {
    EXPECT_STREQ(e.what(), "e.yaml:3:13: max-jobs: '0' must be 1 to 4294967295");
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 13);
  }
  // Keys the command line has but a file does not set (the runner decides them).
  try {
    from_yaml<PeOptions>(YAML::Load("max-jobs: 2\ncount: 3\n"), "e.yaml");
    FAIL() << "count accepted";
  } catch (const OptionError& e) {
    EXPECT_STREQ(e.what(), "e.yaml:2:1: unknown option 'count'");
  }
  // `timers:` takes the durations only.
  EXPECT_THROW(from_yaml<PuOptions>(YAML::Load("job-size: exp:1e6\n"), "e.yaml", true), OptionError);
  EXPECT_NO_THROW(from_yaml<PuOptions>(YAML::Load("stale-cache: 2s\n"), "e.yaml", true));
}

// One policy grammar: " 5" (a space before the weight) is no weight, on the command line and
// in a file, with the same message.
TEST(Options, PolicyWithASpaceIsRejectedAlikeByCommandLineAndFile) {
  const std::string want = "policy wrand: bad Weight ' 5' (a whole number)";
  const auto cli = from_args<PeOptions>({"--pool", "P", "--policy", "wrand: 5"});
  EXPECT_EQ(validate(cli), "--policy: " + want);
  PeOptions file;
  EXPECT_EQ(set(file, "policy", "wrand: 5", Source::file), want);
  EXPECT_EQ(check_value(Kind::policy, "wrand: 5", Source::file, nullptr), want);
  EXPECT_EQ(check_value(Kind::policy, "wrand:5", Source::command_line, nullptr), "");
}

// Every row of every table: a flag with its help (and default), read from a command line,
// and, where the row says so, from an experiment file's map and `timers:`. A row added to a
// table is all a new option needs.
template <class T>
void expect_every_row_reachable() {
  T o;
  CLI::App app("t");
  add_to_cli(app, o);
  const std::string help = app.help();
  for (const Entry<T>& e : T::table()) {
    Args args;  // the required options but this one
    for (const Entry<T>& r : T::table())
      if ((r.spec.where & options::required) && &r != &e)
        args.insert(args.end(), {"--" + std::string(r.spec.key), "x"});
    if (e.spec.where & options::echo_only) args.insert(args.end(), {"--service", "echo"});
    const std::string key(e.spec.key);
    SCOPED_TRACE(key);
    EXPECT_NE(help.find("--" + key), std::string::npos) << help;
    EXPECT_NE(help.find(std::string(e.spec.help.substr(0, 20))), std::string::npos) << help;
    const bool numeric = std::visit(
        [](auto m) { return !std::is_same_v<decltype(m), Setting<std::string> T::*>; }, e.member);
    const std::string value = numeric && e.spec.kind == Kind::text ? "7" : std::string(example(e.spec.kind));
    args.insert(args.end(), {"--" + key, value});
    const T parsed = from_args<T>(args);
    EXPECT_EQ(validate(parsed), "");
    const Args written = to_args(parsed);
    const auto at = std::find(written.begin(), written.end(), "--" + key);
    ASSERT_NE(at, written.end());
    const YAML::Node map = YAML::Load(key + ": '" + value + "'");
    for (const bool timers : {false, true}) {
      const bool allowed = e.spec.where & (timers ? in_timers : in_file);
      if (!allowed) {
        EXPECT_THROW(from_yaml<T>(map, "f", timers), OptionError);
        continue;
      }
      const T read = from_yaml<T>(map, "f", timers);
      EXPECT_EQ(to_args(read), (Args{"--" + key, text_of(parsed, e)}));
    }
  }
}

// One service's options with the other service are refused, on the command line as in a file
// (experiments: the loader's error); the service's row comes before every such row, so that
// the loader knows the service when it reaches them.
template <class T>
void expect_service_rows_after_service() {
  bool service = false;
  for (const Entry<T>& e : T::table()) {
    if (e.spec.key == "service") service = true;
    if (e.spec.where & (options::calcapp_only | options::echo_only)) {
      EXPECT_TRUE(service) << e.spec.key;
    }
  }
}

TEST(Options, AnOptionOfTheOtherServiceIsRefused) {
  auto pe = from_args<PeOptions>({"--pool", "P", "--service", "echo", "--capacity", "2e6"});
  EXPECT_EQ(validate(pe), "--capacity: CalcApp's, not echo's");
  pe = from_args<PeOptions>({"--pool", "P", "--cookie-every", "3"});
  EXPECT_EQ(validate(pe), "--cookie-every: the echo service's, not calcapp's");
  pe = from_args<PeOptions>({"--pool", "P", "--service", "echo", "--cookie-every", "3",
                             "--keepalive-interval", "1s", "--shutdown-cookie-probability", "0"});
  EXPECT_EQ(validate(pe), "");
  EXPECT_EQ(*pe.cookie_every, 3u);
  auto pu = from_args<PuOptions>({"--registrar", "a", "--pool", "P", "--service", "echo",
                                  "--job-size", "exp:1e6"});
  EXPECT_EQ(validate(pu), "--job-size: CalcApp's, not echo's");
  pu = from_args<PuOptions>({"--registrar", "a", "--pool", "P", "--service", "echo",
                             "--ping-interval", "50ms", "--replies", "60", "--stale-cache", "1s"});
  EXPECT_EQ(validate(pu), "");
  EXPECT_EQ(to_args(pu), (Args{"--registrar", "a", "--pool", "P", "--service", "echo",
                               "--stale-cache", "1s", "--ping-interval", "50ms", "--replies",
                               "60"}));
  EXPECT_EQ(validate(from_args<PuOptions>({"--registrar", "a", "--pool", "P", "--service", "ping"})),
            "--service: 'ping' is not a service (calcapp, echo)");
  expect_service_rows_after_service<PeOptions>();
  expect_service_rows_after_service<PuOptions>();
}

TEST(Options, EveryRowIsAFlagInHelpAndInFilesWhereItSaysSo) {
  expect_every_row_reachable<RegistrarOptions>();
  expect_every_row_reachable<PeOptions>();
  expect_every_row_reachable<PuOptions>();
}

}  // namespace
}  // namespace rsplab::options
