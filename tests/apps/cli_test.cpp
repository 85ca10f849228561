// Runs the real `rsplab` binary (RSPLAB_BIN, from CMake) as a user would: every golden
// vector decodes (text and JSON), every truncation of every golden vector is rejected
// with a byte offset, bad input is a usage error, and the help and version texts exist.
//
// Each run spawns the binary with stdin, stdout and stderr redirected to files in a
// private temporary directory, so large outputs cannot deadlock on pipes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "agents/spawn.hpp"
#include "stack/wire/describe.hpp"
#include "tests/wire/golden.hpp"

extern char** environ;

namespace {

template <class M>
concept HasPeId = requires { requires std::is_same_v<decltype(M::pe_identifier), std::uint32_t>; };

namespace w = rserpool::wire;
namespace wt = rserpool::wire::testing;
namespace fs = std::filesystem;

struct Outcome {
  int status = -1;  // exit status; 128 + signal when killed
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rsplab-cli-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `rsplab args...` with `input` on stdin.
Outcome rsplab(const std::vector<std::string>& args, const std::string& input = {}) {
  static TempDir dir;
  const fs::path in = dir.path() / "stdin", out = dir.path() / "stdout",
                 err = dir.path() / "stderr";
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f << input;
  }
  rsplab::agents::SpawnOptions o;
  o.in = rsplab::agents::Redirect::file(in);
  o.out = rsplab::agents::Redirect::file(out, false, 0600);
  o.err = rsplab::agents::Redirect::file(err, false, 0600);
  std::vector<std::string> argv{RSPLAB_BIN};
  argv.insert(argv.end(), args.begin(), args.end());

  Outcome r;
  const auto child = rsplab::agents::spawn_process(argv, o);
  const int wstatus = rsplab::agents::wait_for(child.pid);
  if (child.exec_errno != 0) {
    r.err = "exec failed: " + std::to_string(child.exec_errno);
    return r;
  }
  r.status = rsplab::agents::exit_code(wstatus);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string protocol_arg(w::Protocol p) { return p == w::Protocol::asap ? "asap" : "enrp"; }

std::vector<std::string> decode_args(const wt::GoldenVector& v, std::string hex,
                                     bool json = false) {
  std::vector<std::string> a{"decode", "--protocol", protocol_arg(v.protocol)};
  if (json) a.push_back("--json");
  a.push_back(std::move(hex));
  return a;
}

std::string type_name(const wt::GoldenVector& v) {
  const w::Bytes b = wt::golden_bytes(v);
  return std::string(w::message_type_name(v.protocol, b.at(0)));
}

std::string id_hex(std::uint32_t id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", id);
  return buf;
}

// What --json must show of the expected message: the pool handle and PE identifiers.
void expect_json_fields(const wt::GoldenVector& v, const nlohmann::json& j) {
  std::visit(
      [&](const auto& variant) {
        std::visit(
            [&](const auto& m) {
              using M = std::decay_t<decltype(m)>;
              if constexpr (requires { m.pool_handle; }) {
                EXPECT_EQ(j.at("pool_handle"), w::show_handle(m.pool_handle));
              }
              if constexpr (requires { m.pool_element; }) {
                EXPECT_EQ(j.at("pool_element").at("pe_identifier"),
                          id_hex(m.pool_element.identifier));
              }
              if constexpr (requires { m.pool_elements; }) {
                ASSERT_EQ(j.at("pool_elements").size(), m.pool_elements.size());
                for (std::size_t i = 0; i < m.pool_elements.size(); ++i)
                  EXPECT_EQ(j.at("pool_elements")[i].at("pe_identifier"),
                            id_hex(m.pool_elements[i].identifier));
              }
              if constexpr (HasPeId<M>) {
                EXPECT_EQ(j.at("pe_identifier"), id_hex(m.pe_identifier));
              }
              if constexpr (requires { m.sender; }) {
                EXPECT_EQ(j.at("sender_server_id"), id_hex(m.sender));
                EXPECT_EQ(j.at("receiver_server_id"), id_hex(m.receiver));
              }
              if constexpr (requires { m.target; }) {
                EXPECT_EQ(j.at("target_server_id"), id_hex(m.target));
              }
            },
            variant);
      },
      v.expected);
}

class GoldenCli : public ::testing::TestWithParam<wt::GoldenVector> {};

TEST_P(GoldenCli, DecodesToText) {
  const auto& v = GetParam();
  const Outcome r = rsplab(decode_args(v, std::string(v.hex)));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("Message Type: " + type_name(v)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Message Length: " + std::to_string(wt::golden_bytes(v).size())),
            std::string::npos)
      << r.out;
}

TEST_P(GoldenCli, DecodesToJson) {
  const auto& v = GetParam();
  const Outcome r = rsplab(decode_args(v, std::string(v.hex), true));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("protocol"), v.protocol == w::Protocol::asap ? "ASAP" : "ENRP");
  EXPECT_EQ(j.at("message_type").at("name"), type_name(v));
  EXPECT_EQ(j.at("message_length"), wt::golden_bytes(v).size());
  EXPECT_TRUE(j.at("unrecognized_parameters").is_array());
  expect_json_fields(v, j);
}

TEST_P(GoldenCli, ReadsStdinWithAnyWhitespace) {
  const auto& v = GetParam();
  const Outcome by_arg = rsplab(decode_args(v, std::string(v.hex)));
  std::string spaced;
  for (const char c : v.hex) {
    spaced += c;
    if (c == ' ') spaced += "\n\t";
  }
  const Outcome by_stdin =
      rsplab({"decode", "--protocol", protocol_arg(v.protocol)}, "\n  " + spaced + "\r\n");
  ASSERT_EQ(by_stdin.status, 0) << by_stdin.err;
  EXPECT_EQ(by_stdin.out, by_arg.out);
  const Outcome dash = rsplab({"decode", "-p", protocol_arg(v.protocol), "-"}, spaced);
  EXPECT_EQ(dash.status, 0) << dash.err;
  EXPECT_EQ(dash.out, by_arg.out);
}

// The codec's own test (tests/wire, in-process) rejects every truncation of every vector;
// here the binary's handling of one: exit 1, nothing on stdout, the byte offset named. A
// process per cut is slow under the sanitizers, so the cuts are a sample that reaches
// every layer: inside the common header (1, 3), right after it (4, 5), inside the first
// parameter's header (7) and at its end (8, 9), and through the body (1/3, 1/2, 2/3, the
// last two bytes).
std::vector<std::size_t> truncations(std::size_t size) {
  std::set<std::size_t> cuts = {1, 3, 4, 5, 7, 8, 9, size / 3, size / 2, 2 * size / 3,
                                size - 2, size - 1};
  std::vector<std::size_t> out;
  for (const std::size_t n : cuts)
    if (n >= 1 && n < size) out.push_back(n);
  return out;
}

TEST_P(GoldenCli, RejectsTruncations) {
  const auto& v = GetParam();
  const w::Bytes b = wt::golden_bytes(v);
  const std::regex offset("^rsplab decode: [a-z ]+ at byte [0-9]+: .+");
  for (const std::size_t n : truncations(b.size())) {
    const std::string hex = w::hex_bytes({b.data(), n}).substr(2);
    const Outcome r = rsplab(decode_args(v, hex));
    EXPECT_EQ(r.status, 1) << v.name << " cut to " << n << " bytes: " << r.out << r.err;
    EXPECT_EQ(r.out, "") << v.name << " cut to " << n;
    const std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_TRUE(std::regex_match(first, offset))
        << v.name << " cut to " << n << " bytes: " << r.err;
    EXPECT_NE(r.err.find("a receiver "), std::string::npos) << r.err;
  }
}

std::string vector_name(const ::testing::TestParamInfo<wt::GoldenVector>& info) {
  return std::string(info.param.name);
}

INSTANTIATE_TEST_SUITE_P(All, GoldenCli, ::testing::ValuesIn(wt::golden_vectors()),
                         vector_name);

TEST(Cli, GoldenVectorsCoverEveryMessageType) {
  std::set<std::pair<int, int>> seen;
  for (const auto& v : wt::golden_vectors())
    seen.insert({static_cast<int>(v.protocol), wt::golden_bytes(v).at(0)});
  for (int t = 1; t <= 0x0e; ++t) EXPECT_TRUE(seen.count({0, t})) << "ASAP type " << t;
  for (int t = 1; t <= 0x0a; ++t) EXPECT_TRUE(seen.count({1, t})) << "ENRP type " << t;
}

TEST(Cli, DefaultProtocolIsAsap) {
  const Outcome r = rsplab({"decode", "0e00000c 000c0008 00060004"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ASAP_ERROR"), std::string::npos);
  EXPECT_NE(r.out.find("Lack of Resources"), std::string::npos);
}

TEST(Cli, ProtocolSelectsTheTypeCodes) {
  // Type 0x0a is ASAP_SERVER_ANNOUNCE and ENRP_ERROR; 12 bytes fit both bodies' fixed part.
  const Outcome asap = rsplab({"decode", "0a00000c 11111111 22222222"});
  EXPECT_EQ(asap.status, 1) << asap.out << asap.err;  // 4 bytes after the Server ID: no TLV
  const Outcome enrp = rsplab({"decode", "--protocol", "enrp", "07000010 11111111 22222222 33333333"});
  ASSERT_EQ(enrp.status, 0) << enrp.err;
  EXPECT_NE(enrp.out.find("ENRP_INIT_TAKEOVER"), std::string::npos) << enrp.out;
  EXPECT_NE(enrp.out.find("Target Server's ID: 0x33333333"), std::string::npos) << enrp.out;
  const Outcome asap7 = rsplab({"decode", "--protocol=asap", "07000010 11111111 22222222 33333333"});
  EXPECT_EQ(asap7.status, 1);  // ASAP_ENDPOINT_KEEP_ALIVE wants a Pool Handle
}

TEST(Cli, EmptyInputIsAUsageError) {
  for (const std::string& in : {std::string(), std::string(" \n\t ")}) {
    const Outcome r = rsplab({"decode"}, in);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("empty input at byte 0"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  const Outcome arg = rsplab({"decode", ""});
  EXPECT_EQ(arg.status, 2) << arg.err;
  EXPECT_NE(arg.err.find("empty input"), std::string::npos) << arg.err;
}

TEST(Cli, BadHexNamesTheCharacter) {
  const Outcome odd = rsplab({"decode", "0e00000c 000c0008 0006000"});
  EXPECT_EQ(odd.status, 2);
  EXPECT_NE(odd.err.find("odd number of hex digits"), std::string::npos) << odd.err;
  EXPECT_NE(odd.err.find("at character 24"), std::string::npos) << odd.err;

  const Outcome bad = rsplab({"decode", "0e00000c 000c0008 0006000x"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("at character 25: 'x' is not a hex digit"), std::string::npos)
      << bad.err;

  const Outcome prefixed = rsplab({"decode"}, "0x0e00000c");
  EXPECT_EQ(prefixed.status, 2);
  EXPECT_NE(prefixed.err.find("at character 1: 'x'"), std::string::npos) << prefixed.err;
}

TEST(Cli, MalformedMessageNamesOffsetAndCause) {
  // ASAP_REGISTRATION whose Pool Handle Length 21 runs past the 20-byte message.
  const Outcome r = rsplab({"decode", "01000014 00090015 4563686f 506f6f6c 00000000"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("rsplab decode: truncated parameter at byte 4: Pool Handle Length 21"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Invalid Values"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offending bytes 4..19: 0x00090015"), std::string::npos) << r.err;

  const Outcome j = rsplab({"decode", "--json", "01000014 00090015 4563686f 506f6f6c 00000000"});
  EXPECT_EQ(j.status, 1);
  const auto doc = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc.at("error").at("code"), "truncated_parameter");
  EXPECT_EQ(doc.at("error").at("offset"), 4);
  EXPECT_EQ(doc.at("error").at("cause").at("name"), "Invalid Values");
}

TEST(Cli, UnknownMessageTypeIsMalformed) {
  const Outcome r = rsplab({"decode", "0f000008 deadbeef"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown message type at byte 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Unrecognized Message"), std::string::npos) << r.err;
}

TEST(Cli, Help) {
  const Outcome r = rsplab({"--help"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("decode"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
}

TEST(Cli, Version) {
  const Outcome r = rsplab({"--version"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string("rsplab ") + RSPLAB_VERSION + "\n");
}

// What a runner compares before starting an agent over ssh: `rsplab agent --version` is the
// bare version that the agent's hello reports, the same as `rsplab --version` names.
TEST(Cli, AgentVersionIsTheVersion) {
  const Outcome top = rsplab({"--version"});
  const Outcome agent = rsplab({"agent", "--version"});
  EXPECT_EQ(agent.status, 0) << agent.err;
  EXPECT_EQ(agent.out, std::string(RSPLAB_VERSION) + "\n");
  EXPECT_EQ("rsplab " + agent.out, top.out);
}

// `rsplab agent` needs exactly one of --stdio and --version.
TEST(Cli, AgentNeedsStdioOrVersion) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"agent"}, {"agent", "--stdio", "--version"}}) {
    const Outcome r = rsplab(args);
    EXPECT_EQ(r.status, 2) << args.size() << " args: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("--stdio"), std::string::npos) << r.err;
  }
  const Outcome help = rsplab({"agent", "--help"});
  EXPECT_EQ(help.status, 0) << help.err;
  for (const char* want : {"--stdio", "--version", "ssh", "Exit status"})
    EXPECT_NE(help.out.find(want), std::string::npos) << want << " in\n" << help.out;
}

TEST(Cli, DecodeHelp) {
  const Outcome r = rsplab({"decode", "--help"});
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* want : {"--protocol", "--json", "asap", "enrp", "stdin", "Exit status",
                           "1 malformed message", "2 usage error"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " in\n" << r.out;
}

TEST(Cli, UsageErrorsExit2) {
  EXPECT_EQ(rsplab({}).status, 2);
  EXPECT_EQ(rsplab({"no-such-command"}).status, 2);
  EXPECT_EQ(rsplab({"decode", "--protocol", "sctp", "00"}).status, 2);
  EXPECT_EQ(rsplab({"decode", "--no-such-flag", "00"}).status, 2);
}

// `rsplab pe` and `rsplab pu`: every option in --help with its default; a bad value is a
// usage error (exit 2) naming the option, before anything is opened or sent.
TEST(Cli, PeAndPuHelpListEveryOptionWithItsDefault) {
  const Outcome pe = rsplab({"pe", "--help"});
  EXPECT_EQ(pe.status, 0) << pe.err;
  for (const char* want :
       {"--capacity", "1e6", "--max-jobs", "--cookie-max-time", "5s", "--cookie-max-calculations",
        "5e6", "--shutdown-cookie-probability", "--keepalive-interval", "2.5s", "--count",
        "--control", "--seed", "--transport", "--local", "--policy", "--announce", "Exit status"})
    EXPECT_NE(pe.out.find(want), std::string::npos) << want << " in\n" << pe.out;
  const Outcome pu = rsplab({"pu", "--help"});
  EXPECT_EQ(pu.status, 0) << pu.err;
  for (const char* want :
       {"--job-size", "exp:5e6", "--interval", "exp:15s", "--runtime", "--jobs",
        "--keepalive-interval", "--keepalive-timeout", "--reject-retry-delay", "fixed:1s",
        "--stale-cache", "--count", "--control", "--seed", "--transport", "--local",
        "Exit status"})
    EXPECT_NE(pu.out.find(want), std::string::npos) << want << " in\n" << pu.out;
}

// `rsplab plan --verbose` prints each group's command line as the runner builds it: the
// file's options resolved for each sweep point, the seed per group, the run's transport.
TEST(Cli, PlanVerbosePrintsEachGroupsResolvedArguments) {
  TempDir dir;
  const fs::path file = dir.path() / "e.yaml";
  {
    std::ofstream f(file);
    f << "name: verbose\nduration: 10s\nseed: 7\ntransport: tcp\n"
         "sites:\n  a: { isps: [x] }\n"
         "registrars:\n  - { site: a, max-bad-pe-reports: 2 }\n"
         "pools:\n  P:\n    policy: $policy\n"
         "    pes:\n      - { site: a, count: 3, capacity: 2e6 }\n"
         "    pus:\n      - { site: a, count: 4, job-size: 'exp:1e6', interval: exp:2s }\n"
         "sweep:\n  policy: [lu, 'wrand:5']\n";
  }
  const Outcome r = rsplab({"plan", file.string(), "--verbose"});
  EXPECT_NE(r.status, 2) << r.err;  // 1 is fine: this machine may not run it
  EXPECT_NE(r.out.find("    pr0 @a: rsplab registrar --transport tcp --asap <a>:0 --enrp <a>:0"
                       " --max-bad-pe-reports 2\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    P/pe0 @a: rsplab pe --registrar <registrars> --pool P --policy lu"
                       " --count 3 --local <a> --transport tcp --seed "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--policy wrand:5 --count 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" --control stdin --capacity 2e6\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    P/pu0 @a: rsplab pu --registrar <registrars> --pool P --count 4"
                       " --local <a> --transport tcp --seed "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" --name P/pu0 --runtime 10000ms --control stdin --job-size exp:1e6"
                       " --interval exp:2s\n"),
            std::string::npos)
      << r.out;
  // Without --verbose: no command lines.
  const Outcome quiet = rsplab({"plan", file.string()});
  EXPECT_EQ(quiet.out.find("rsplab pe "), std::string::npos) << quiet.out;
}

// Several registrars: each peers with those before it (ENRP); a group that chose its
// registrars gets them in its order.
TEST(Cli, PlanVerbosePeersRegistrarsAndGroupsTheirChoice) {
  TempDir dir;
  const fs::path file = dir.path() / "e.yaml";
  {
    std::ofstream f(file);
    f << "name: peers\nduration: 10s\ntransport: tcp\n"
         "sites:\n  a: { isps: [x] }\n  b: { isps: [x] }\n"
         "registrars:\n  - { site: a }\n  - { site: b }\n  - { site: b }\n"
         "pools:\n  P:\n"
         "    pes:\n      - { site: b, count: 3, capacity: 2e6, registrars: site }\n"
         "    pus:\n      - { site: a, job-size: 'exp:1e6', interval: exp:2s, registrars: 'pr2,pr0' }\n"
         "  Q:\n    pes:\n      - { site: a, registrars: announce }\n";
  }
  const Outcome r = rsplab({"plan", file.string(), "--verbose"});
  EXPECT_NE(r.status, 2) << r.err;
  // A PE group learns its registrars from announces: every registrar announces itself.
  EXPECT_NE(r.out.find("    pr0 @a: rsplab registrar --transport tcp --asap <a>:0 --enrp <a>:0"
                       " --announce 239.0.0.50:3863\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    Q/pe0 @a: rsplab pe --pool Q --policy rr --count 1 --local <a>"
                       " --transport tcp --seed "),
            std::string::npos)
      << r.out;
  const auto q = r.out.find("    Q/pe0 @a: ");
  ASSERT_NE(q, std::string::npos) << r.out;
  const std::string q_line = r.out.substr(q, r.out.find('\n', q) - q);
  EXPECT_NE(q_line.find(" --control stdin --announce 239.0.0.50:3863"), std::string::npos) << q_line;
  EXPECT_EQ(q_line.find("--registrar"), std::string::npos) << q_line;
  EXPECT_NE(r.out.find("    pr2 @b: rsplab registrar --transport tcp --asap <b>:0 --enrp <b>:0"
                       " --announce 239.0.0.50:3863 --peer <pr0.enrp>,<pr1.enrp>\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    P/pe0 @b: rsplab pe --registrar <pr1>,<pr2>,<pr0> --pool P"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    P/pu0 @a: rsplab pu --registrar <pr2>,<pr0> --pool P"), std::string::npos)
      << r.out;
}

TEST(Cli, PeAndPuBadValuesAreUsageErrorsNamingTheOption) {
  const std::vector<std::string> pe = {"pe", "--registrar", "127.0.0.1:1", "--pool", "p"};
  const std::vector<std::string> pu = {"pu", "--registrar", "127.0.0.1:1", "--pool", "p"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--capacity", "fast"}, "--capacity"},
      {{"--capacity", "0"}, "--capacity"},
      {{"--max-jobs", "0"}, "--max-jobs"},
      {{"--cookie-max-time", "5 parsecs"}, "--cookie-max-time"},
      {{"--shutdown-cookie-probability", "1.5"}, "--shutdown-cookie-probability"},
      {{"--policy", "fastest"}, "--policy"},
      {{"--policy", "wrand"}, "needs a Weight"},  // no default weight: 0 is never selected
      {{"--policy", "wrr"}, "needs a Weight"},
      {{"--count", "0"}, "--count"},
      {{"--control", "tcp"}, "--control"},
  };
  for (const auto& [extra, option] : cases) {
    auto args = pe;
    args.insert(args.end(), extra.begin(), extra.end());
    const Outcome r = rsplab(args);
    EXPECT_EQ(r.status, 2) << option << ": " << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
  }
  // Registrars come from --registrar or --announce: neither is a usage error.
  const Outcome none = rsplab({"pe", "--pool", "p"});
  EXPECT_EQ(none.status, 2) << none.err;
  EXPECT_NE(none.err.find("--registrar"), std::string::npos) << none.err;
  const Outcome bad_announce = rsplab({"pe", "--pool", "p", "--announce", "239.0.0.50:port"});
  EXPECT_EQ(bad_announce.status, 2) << bad_announce.err;
  EXPECT_NE(bad_announce.err.find("--announce"), std::string::npos) << bad_announce.err;
  const std::vector<std::pair<std::vector<std::string>, std::string>> pu_cases = {
      {{"--job-size", "exp:"}, "--job-size"},
      {{"--job-size", "exp:5s"}, "--job-size"},
      {{"--interval", "exp:5e6"}, "--interval"},
      {{"--interval", "fixed:0s"}, "--interval"},
      {{"--runtime", "soon"}, "--runtime"},
      {{"--reject-retry-delay", "sometimes"}, "--reject-retry-delay"},
      {{"--keepalive-timeout", "0"}, "--keepalive-timeout"},
      {{"--transport", "udp"}, "--transport"},
      {{"--count", "0"}, "--count"},
  };
  for (const auto& [extra, option] : pu_cases) {
    auto args = pu;
    args.insert(args.end(), extra.begin(), extra.end());
    const Outcome r = rsplab(args);
    EXPECT_EQ(r.status, 2) << option << ": " << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
  }
}

// One policy grammar (stack/common/policy_text.hpp) behind `rsplab pe --policy` and an
// experiment file's `policy`: " 5" is not a weight in either, with the same words.
TEST(Cli, PolicyWithASpaceIsRejectedAlikeByPeAndPlan) {
  const std::string why = "policy wrand: bad Weight ' 5' (a whole number)";
  const Outcome pe =
      rsplab({"pe", "--registrar", "127.0.0.1:1", "--pool", "p", "--policy", "wrand: 5"});
  EXPECT_EQ(pe.status, 2) << pe.err;
  EXPECT_NE(pe.err.find("rsplab pe: --policy: " + why + "\n"), std::string::npos) << pe.err;
  TempDir dir;
  const fs::path file = dir.path() / "e.yaml";
  std::ofstream(file) << "name: space\nduration: 10s\nsites:\n  a: { isps: [x] }\n"
                         "registrars:\n  - { site: a }\n"
                         "pools:\n  P:\n    policy: 'wrand: 5'\n    pes:\n      - { site: a }\n";
  const Outcome plan = rsplab({"plan", file.string()});
  EXPECT_EQ(plan.status, 2) << plan.err;
  EXPECT_NE(plan.err.find("e.yaml:9:13: pools.P.policy: " + why), std::string::npos) << plan.err;
}

// `rsplab hsdump`: bad options are usage errors naming the option; a registrar that cannot be
// reached is exit 1 with the reason (a dump itself: tests/node/enrp_node_test.cpp).
TEST(Cli, HsdumpUsageAndUnreachableRegistrar) {
  const Outcome help = rsplab({"hsdump", "--help"});
  EXPECT_EQ(help.status, 0) << help.err;
  for (const char* want : {"--registrar", "--json", "--transport", "--timeout", "Sender ID 0",
                           "Exit status"})
    EXPECT_NE(help.out.find(want), std::string::npos) << want << " in\n" << help.out;
  EXPECT_EQ(rsplab({"hsdump"}).status, 2);
  const Outcome bad = rsplab({"hsdump", "--registrar", "127.0.0.1:x"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("rsplab hsdump: --registrar:"), std::string::npos) << bad.err;
  const Outcome transport = rsplab({"hsdump", "--registrar", "127.0.0.1", "--transport", "udp"});
  EXPECT_EQ(transport.status, 2);
  EXPECT_NE(transport.err.find("--transport: 'udp'"), std::string::npos) << transport.err;
  EXPECT_EQ(rsplab({"hsdump", "--registrar", "127.0.0.1", "--timeout", "0"}).status, 2);
  // Port 1: nobody listens there.
  const Outcome gone = rsplab({"hsdump", "--registrar", "127.0.0.1:1", "--transport", "tcp"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("rsplab hsdump: cannot connect to 127.0.0.1:1:"), std::string::npos)
      << gone.err;
  EXPECT_TRUE(gone.out.empty()) << gone.out;
}

}  // namespace
