// Experiment files: the examples expand as documented, every kind of mistake is reported at
// its file:line:col, seeds follow common random numbers, run keys change with anything that
// defines a run, SHA-256 meets FIPS 180-4's vectors, and mangled input never crashes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/sha256.hpp"

namespace rsplab::experiments {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using ExpRun = experiments::Run;  // inside a TEST, Run names testing::Test::Run

constexpr const char* kVersion = "0.1.0";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string example(const char* name) {
  return std::string(RSPLAB_EXPERIMENTS_DIR) + "/" + name;
}

// A small valid experiment; the error tests change one line or add some.
const std::vector<std::string> kBase = {
    "name: t",                                                                 // 1
    "duration: 10s",                                                           // 2
    "sites:",                                                                  // 3
    "  a: { isps: [x, y] }",                                                   // 4
    "  b: { isps: [x] }",                                                      // 5
    "registrars:",                                                             // 6
    "  - { site: a }",                                                         // 7
    "pools:",                                                                  // 8
    "  P:",                                                                    // 9
    "    policy: rr",                                                          // 10
    "    pes:",                                                                // 11
    "      - { site: a, count: 2, capacity: 1e6 }",                            // 12
    "    pus:",                                                                // 13
    "      - { site: b, count: 3, job-size: exp:1e6, interval: exp:1s }",     // 14
};

struct Doc {
  std::vector<std::string> lines = kBase;
  Doc& set(int line, std::string text) {
    lines.at(static_cast<std::size_t>(line - 1)) = std::move(text);
    return *this;
  }
  Doc& add(std::string text) {
    lines.push_back(std::move(text));
    return *this;
  }
  // 1-based column of `what` in line `line`.
  int col(int line, const std::string& what) const {
    const auto p = lines.at(static_cast<std::size_t>(line - 1)).find(what);
    EXPECT_NE(p, std::string::npos) << what;
    return static_cast<int>(p) + 1;
  }
  std::string text() const {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
};

Plan parse(const std::string& text, std::string_view version = kVersion) {
  return parse_plan(text, "test.yaml", version);
}

// The LoadError that `text` gives (fails the test when it loads).
LoadError error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const LoadError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded without an error:\n" << text;
  return LoadError("", -1, -1, "");
}

#define EXPECT_ERROR_AT(doc_text, line_, col_, fragment)                          \
  do {                                                                            \
    const LoadError e_ = error_of(doc_text);                                      \
    EXPECT_EQ(e_.file(), "test.yaml");                                            \
    EXPECT_EQ(e_.line(), (line_)) << e_.what();                                   \
    EXPECT_EQ(e_.column(), (col_)) << e_.what();                                  \
    EXPECT_NE(e_.message().find(fragment), std::string::npos) << e_.what();       \
  } while (0)

// ---- SHA-256 ---------------------------------------------------------------------------

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAsInPiecesOfEverySize) {
  const std::string a(1'000'000, 'a');
  Sha256 h;
  std::size_t done = 0, piece = 1;
  while (done < a.size()) {  // pieces of 1, 2, ... 127 bytes: every buffer boundary case
    const std::size_t n = std::min(piece, a.size() - done);
    h.update(std::string_view(a).substr(done, n));
    done += n;
    piece = piece % 127 + 1;
  }
  EXPECT_EQ(to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 63, 64 bytes) agree piecewise and at once.
  for (std::size_t len : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u}) {
    const std::string s(len, 'x');
    Sha256 p;
    p.update(std::string_view(s).substr(0, len / 2));
    p.update(std::string_view(s).substr(len / 2));
    EXPECT_EQ(to_hex(p.finish()), sha256_hex(s)) << len;
  }
}

// ---- the examples ------------------------------------------------------------------------

// The churn example: at one repetition and MTBF every policy meets the same crashes (the
// schedule is drawn from the run's seed); a shorter MTBF means more of them.
TEST(Examples, ChurnDrawsOneTimelinePerRepetitionForEveryPolicy) {
  const Plan plan = load_plan(example("churn.yaml"), kVersion);
  ASSERT_EQ(plan.runs.size(), 27u);
  std::map<std::pair<std::string, std::size_t>, std::vector<std::string>> timeline;
  std::map<std::string, std::size_t> faults_per_mtbf;
  for (const ExpRun& r : plan.runs) {
    std::vector<std::string> t;
    for (const auto& f : r.faults) {
      ASSERT_TRUE(f.kind == Fault::Kind::kill || f.kind == Fault::Kind::restart);
      ASSERT_TRUE(f.member.has_value());
      EXPECT_GE(f.at, Duration(10s));  // start: 10s
      EXPECT_LE(f.at, r.warmup + r.duration);
      t.push_back(std::to_string(f.at.count()) + " " + f.target + "#" +
                  std::to_string(*f.member));
    }
    const auto key = std::make_pair(r.parameters.at("mtbf"), r.repetition);
    if (const auto it = timeline.find(key); it != timeline.end())
      EXPECT_EQ(t, it->second) << "run " << r.index << " policy " << r.parameters.at("policy");
    else
      timeline.emplace(key, t);
    faults_per_mtbf[r.parameters.at("mtbf")] += r.faults.size();
  }
  EXPECT_LT(faults_per_mtbf["120s"], faults_per_mtbf["30s"]);
  EXPECT_LT(faults_per_mtbf["30s"], faults_per_mtbf["10s"]);
}

TEST(Examples, QuickstartExpandsToThreeShortRuns) {
  const Plan plan = load_plan(example("quickstart.yaml"), kVersion);
  EXPECT_EQ(plan.name, "quickstart");
  ASSERT_EQ(plan.runs.size(), 3u);
  EXPECT_EQ(plan.parameters, (std::vector<std::string>{"policy"}));
  EXPECT_LE(plan.estimated, Duration(2min));
  EXPECT_EQ(plan.estimated, 3 * (5s + 25s + kRunAllowance));
  const char* policies[] = {"lu", "rr", "random"};
  for (std::size_t i = 0; i < 3; ++i) {
    const ExpRun& r = plan.runs[i];
    EXPECT_EQ(r.index, i);
    EXPECT_EQ(r.point, i);
    EXPECT_EQ(r.repetition, 0u);
    EXPECT_EQ(r.name, "quickstart");
    EXPECT_EQ(r.parameters.at("policy"), policies[i]);
    EXPECT_EQ(r.duration, 25s);
    EXPECT_EQ(r.warmup, 5s);
    ASSERT_EQ(r.sites.size(), 2u);
    EXPECT_EQ(r.sites[1].name, "bergen");
    EXPECT_EQ(r.sites[1].isps, (std::vector<std::string>{"uninett", "bkk"}));
    ASSERT_EQ(r.registrars.size(), 1u);
    EXPECT_EQ(r.registrars[0].name, "pr0");
    EXPECT_EQ(r.registrars[0].args,
              (Args{"--keepalive-interval", "1s", "--keepalive-timeout", "1s"}));
    ASSERT_EQ(r.pes.size(), 2u);
    std::size_t pes = 0, pus = 0;
    for (const auto& g : r.pes) {
      pes += g.count;
      EXPECT_EQ(g.policy, policies[i]);
    }
    for (const auto& g : r.pus) pus += g.count;
    EXPECT_EQ(pes, 10u);
    EXPECT_EQ(pus, 30u);
    EXPECT_EQ(r.pes[0].name, "CalcAppPool/pe0");
    EXPECT_EQ(r.pes[1].args,
              (Args{"--capacity", "2e6", "--max-jobs", "10", "--cookie-max-time", "1s"}));
    EXPECT_EQ(r.pus[0].name, "CalcAppPool/pu0");
    EXPECT_EQ(r.pus[0].args, (Args{"--job-size", "exp:1e6", "--interval", "exp:2.5s",
                                   "--keepalive-interval", "1s", "--keepalive-timeout", "1s"}));
    ASSERT_EQ(r.faults.size(), 1u);
    EXPECT_EQ(r.faults[0].kind, Fault::Kind::kill);
    EXPECT_EQ(r.faults[0].target_kind, Fault::TargetKind::group);
    EXPECT_EQ(r.faults[0].target, "CalcAppPool/pe0");
    EXPECT_EQ(r.faults[0].count, 1u);
    EXPECT_GT(r.faults[0].at, r.warmup);
    EXPECT_LT(r.faults[0].at, r.warmup + r.duration);
    EXPECT_EQ(r.key.size(), 64u);
    EXPECT_EQ(r.key, run_key(r.resolved, kVersion));
    EXPECT_EQ(r.resolved["parameters"]["policy"], policies[i]);
  }
  EXPECT_EQ(plan.source["sweep"]["policy"][2], "random");
}

// A campaign resumes by key: the keys of a known plan never change with how SHA-256 is
// computed. These are the keys `rsplab plan experiments/quickstart.yaml` printed (its first
// 16 digits; the rest from run_key) with the hand-written SHA-256 that OpenSSL replaced.
// Editing quickstart.yaml changes them; recompute them with the binary before the edit.
TEST(Examples, QuickstartRunKeysAreThoseOfEarlierBuilds) {
  const Plan plan = load_plan(example("quickstart.yaml"), kVersion);
  ASSERT_EQ(plan.runs.size(), 3u);
  EXPECT_EQ(plan.runs[0].key, "1e49fa99932aa2069baac06afda40af7feedc2d704f0bb0f283dc29a5c2ecf5e");
  EXPECT_EQ(plan.runs[1].key, "55e56852b3caae6bfb954b19aae28d48b18ea099d60c69f53e9cc3d6393172bd");
  EXPECT_EQ(plan.runs[2].key, "b35ad027b6905d797977db23c27fa55a31dedfa2ccb0efd25f0aeda98a5b5fe7");
  // A plan with drawn schedules (churn), its first and last run.
  const Plan churn = load_plan(example("churn.yaml"), kVersion);
  ASSERT_EQ(churn.runs.size(), 27u);
  EXPECT_EQ(churn.runs[0].key, "9f29a45185e30d729d1744bc5a1c95fcbb3647cf80fd53a6a527051226f1f8fd");
  EXPECT_EQ(churn.runs[26].key, "71b41ca3e8c192eae192a101bc3c14cd9eaf8345dfc9f5d7c54f04046cb90eec");
}

TEST(Examples, RatioZipsCountAndIntervalAcrossPolicies) {
  const Plan plan = load_plan(example("ratio.yaml"), kVersion);
  EXPECT_EQ(plan.repetitions, 5u);
  ASSERT_EQ(plan.runs.size(), 45u);  // 3 policies × 3 ratios × 5 repetitions
  EXPECT_EQ(plan.parameters, (std::vector<std::string>{"policy", "ratio", "pus", "interval"}));
  EXPECT_EQ(plan.estimated, 45 * (15s + 120s + kRunAllowance));
  const char* policies[] = {"lu", "rr", "random"};
  const char* ratios[] = {"1", "3", "10"};
  const std::size_t counts[] = {10, 30, 100};
  const char* intervals[] = {"exp:125ms", "exp:375ms", "exp:1.25s"};
  for (const ExpRun& r : plan.runs) {
    const std::size_t p = r.point / 3, k = r.point % 3;  // the policy varies slowest
    EXPECT_EQ(r.index, r.point * 5 + r.repetition);
    EXPECT_EQ(r.parameters.at("policy"), policies[p]);
    EXPECT_EQ(r.parameters.at("ratio"), ratios[k]);
    EXPECT_EQ(r.parameters.at("pus"), std::to_string(counts[k]));
    EXPECT_EQ(r.parameters.at("interval"), intervals[k]);
    ASSERT_EQ(r.pes.size(), 2u);
    EXPECT_EQ(r.pes[0].count + r.pes[1].count, 10u);
    EXPECT_EQ(r.pes[0].args, (Args{"--capacity", "1e6", "--max-jobs", "10"}));
    EXPECT_EQ(r.pes[0].policy, policies[p]);
    ASSERT_EQ(r.pus.size(), 1u);
    EXPECT_EQ(r.pus[0].count, counts[k]);
    EXPECT_EQ(r.pus[0].args, (Args{"--job-size", "exp:1e5", "--interval", intervals[k],
                                   "--reject-retry-delay", "uniform:0ms,200ms"}));
    EXPECT_EQ(r.warmup, 15s);
    EXPECT_EQ(r.duration, 120s);
    EXPECT_TRUE(r.faults.empty());
  }
}

TEST(Examples, DesignSketchLoads) {
  const Plan plan = parse(R"(name: lu-vs-rr-vs-random
duration: 120s          # measured time per run, after warm-up
warmup: 15s
repetitions: 5
seed: 42
transport: auto
sites:                  # NorNet style: every site multi-homed
  oslo:   { isps: [uninett, telenor] }
  bergen: { isps: [uninett, bkk] }
  remote: { host: nornet-node-3, isps: [uninett] }   # reached over ssh
registrars: [ { site: oslo }, { site: bergen } ]
pools:
  CalcAppPool:
    policy: $policy
    pes:
      - { site: oslo,   count: 5, capacity: 1e6, max-jobs: 10 }
      - { site: bergen, count: 5, capacity: 4e6, max-jobs: 10 }
    pus:
      - { site: oslo, count: 30, job-size: exp:1e6, interval: exp:4s }
faults:
  - { at: 60s, kill: { pool: CalcAppPool, site: oslo, count: 1 } }
  - { at: 80s, link-down: { site: bergen, isp: bkk }, for: 10s }
sweep:
  policy: [lu, rr, random]
)");
  ASSERT_EQ(plan.runs.size(), 15u);
  EXPECT_EQ(plan.runs[0].sites[2].host, "nornet-node-3");
  EXPECT_EQ(plan.runs[0].registrars[1].name, "pr1");
  EXPECT_EQ(plan.runs[0].faults[0].target_kind, Fault::TargetKind::pool);
  EXPECT_EQ(plan.runs[0].faults[1].lasts, Duration(10s));
}

// ---- seeds and keys ----------------------------------------------------------------------

TEST(Seeds, CommonRandomNumbersAcrossSweepPoints) {
  const Plan plan = load_plan(example("ratio.yaml"), kVersion);
  std::set<std::uint64_t> distinct;
  for (const ExpRun& r : plan.runs) {
    EXPECT_EQ(r.seed, repetition_seed(42, r.repetition));
    EXPECT_EQ(r.seed, plan.runs[r.repetition].seed);  // point 0's run of that repetition
    EXPECT_EQ(r.resolved["seed"], r.seed);
    EXPECT_NE(r.seed, 0u);
    distinct.insert(r.seed);
  }
  EXPECT_EQ(distinct.size(), 5u);  // one per repetition
  EXPECT_NE(repetition_seed(42, 0), repetition_seed(43, 0));
}

TEST(Keys, StableForTheSameInputAndDistinctPerRun) {
  const std::string text = read(example("ratio.yaml"));
  const Plan a = parse(text), b = parse(text);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].key, b.runs[i].key);
    keys.insert(a.runs[i].key);
  }
  EXPECT_EQ(keys.size(), a.runs.size());
  // Comments, key order and file name are no part of the definition.
  std::string reordered = "# a comment\n" + text;
  reordered.replace(reordered.find("duration: 120s\nwarmup: 15s"), 26, "warmup: 15s\nduration: 120s");
  const Plan c = parse_plan(reordered, "elsewhere.yaml", kVersion);
  for (std::size_t i = 0; i < a.runs.size(); ++i) EXPECT_EQ(a.runs[i].key, c.runs[i].key);
}

TEST(Keys, ChangeWithAnyValueAndWithTheVersion) {
  const std::string base = Doc().text();
  const std::string key = parse(base).runs[0].key;
  EXPECT_NE(parse(base, "0.1.1").runs[0].key, key);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"duration: 10s", "duration: 11s"},
      {"name: t", "name: u"},
      {"capacity: 1e6", "capacity: 2e6"},
      {"count: 2", "count: 1"},
      {"policy: rr", "policy: lu"},
      {"exp:1s", "exp:2s"},
      {"isps: [x, y]", "isps: [y, x]"},
      {"site: b, count: 3", "site: a, count: 3"},
  };
  for (const auto& [from, to] : edits) {
    std::string t = base;
    t.replace(t.find(from), from.size(), to);
    EXPECT_NE(parse(t).runs[0].key, key) << from << " -> " << to;
  }
  EXPECT_NE(parse(base + "seed: 7\n").runs[0].key, key);
  EXPECT_NE(parse(base + "warmup: 1s\n").runs[0].key, key);
  EXPECT_NE(parse(base + "transport: tcp\n").runs[0].key, key);
  EXPECT_NE(parse(base + "faults: [ { at: 5s, kill: { registrar: pr0 } } ]\n").runs[0].key, key);
  // Same parameters, same key; an added repetition leaves the earlier ones' keys alone.
  const Plan three = parse(base + "repetitions: 3\n"), four = parse(base + "repetitions: 4\n");
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(three.runs[i].key, four.runs[i].key);
  EXPECT_EQ(three.runs[0].key, key);
}

// `rsplab run --until-ci` loads the plan to its cap: repetitions given instead of the file's
// make the plan the file would make if it said so (same runs, seeds, drawn faults, keys), so a
// later round's run is the run an ordinary campaign with more repetitions has.
TEST(Seeds, RepetitionsGivenAreTheFileSayingSo) {
  Doc d;
  d.set(10, "    policy: $policy");
  d.add("seed: 5")
      .add("faults:")
      .add("  - { churn: { group: P/pe0, mtbf: 3s, downtime: 500ms } }")
      .add("sweep:")
      .add("  policy: [rr, lu]");
  const std::string text = d.text();
  const Plan says_two = parse(text + "repetitions: 2\n");
  const Plan says_six = parse(text + "repetitions: 6\n");
  const Plan given_six = parse_plan(text + "repetitions: 2\n", "test.yaml", kVersion, 6);
  const Plan given_to_one = parse_plan(text, "test.yaml", kVersion, 6);  // the file says 1
  EXPECT_EQ(given_six.repetitions, 6u);
  ASSERT_EQ(given_six.runs.size(), 12u);  // 2 policies × 6 repetitions
  ASSERT_EQ(says_six.runs.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(given_six.runs[i].key, says_six.runs[i].key) << i;
    EXPECT_EQ(given_six.runs[i].resolved, says_six.runs[i].resolved) << i;
    EXPECT_EQ(given_to_one.runs[i].key, says_six.runs[i].key) << i;
  }
  // The file's two repetitions are the first two of each point, with their seeds and keys.
  for (const ExpRun& r : says_two.runs) {
    const ExpRun& same = given_six.runs[r.point * 6 + r.repetition];
    EXPECT_EQ(same.repetition, r.repetition);
    EXPECT_EQ(same.seed, r.seed);
    EXPECT_EQ(same.key, r.key);
    EXPECT_EQ(same.faults.size(), r.faults.size());
  }
  // Repetition 5 exists only when asked for; its seed is the plan's rule for repetition 5,
  // the same at both sweep points (common random numbers), and unlike the others'.
  std::set<std::uint64_t> seeds;
  for (const ExpRun& r : given_six.runs) {
    EXPECT_EQ(r.seed, repetition_seed(5, r.repetition));
    if (r.point == 0) seeds.insert(r.seed);
  }
  EXPECT_EQ(seeds.size(), 6u);
  EXPECT_EQ(given_six.runs[5].seed, given_six.runs[11].seed);
  EXPECT_NE(given_six.runs[5].key, given_six.runs[11].key);
}

// ---- schema details ----------------------------------------------------------------------

TEST(Schema, TimersAreDefaultsThatGroupsOverride) {
  const Plan plan = parse(Doc()
                              .set(12, "      - { site: a, count: 2, capacity: 1e6, keepalive-timeout: 3s }")
                              .add("timers:")
                              .add("  pe: { keepalive-interval: 1s, keepalive-timeout: 2s }")
                              .add("  registrar: { keepalive-interval: 500ms }")
                              .text());
  const ExpRun& r = plan.runs[0];
  EXPECT_EQ(r.pes[0].args, (Args{"--capacity", "1e6", "--keepalive-interval", "1s",
                                 "--keepalive-timeout", "3s"}));
  EXPECT_EQ(r.registrars[0].args, (Args{"--keepalive-interval", "500ms"}));
  EXPECT_EQ(r.pus[0].args, (Args{"--job-size", "exp:1e6", "--interval", "exp:1s"}));
}

// `service: echo` per group: `rsplab pe/pu --service echo` with echo's options; a `timers:`
// default of CalcApp's (cookie-max-time) does not reach an echo group; one of CalcApp's
// options in an echo group's own keys is an error there.
TEST(Schema, EchoGroupsGetTheServiceAndItsOptionsOnly) {
  const Plan plan =
      parse(Doc()
                .set(12, "      - { site: a, count: 2, service: echo, cookie-every: 3 }\n"
                         "      - { site: b, capacity: 2e6 }")
                .set(14, "      - { site: b, service: echo, ping-interval: 100ms, replies: 50 }")
                .add("timers:")
                .add("  pe: { cookie-max-time: 1s, keepalive-interval: 1s }")
                .text());
  const ExpRun& r = plan.runs[0];
  ASSERT_EQ(r.pes.size(), 2u);
  EXPECT_EQ(r.pes[0].args,
            (Args{"--service", "echo", "--keepalive-interval", "1s", "--cookie-every", "3"}));
  EXPECT_EQ(r.pes[1].args, (Args{"--capacity", "2e6", "--cookie-max-time", "1s",
                                 "--keepalive-interval", "1s"}));
  EXPECT_EQ(r.pus[0].args,
            (Args{"--service", "echo", "--ping-interval", "100ms", "--replies", "50"}));

  Doc bad;
  bad.set(12, "      - { site: a, service: echo, capacity: 1e6 }");
  EXPECT_ERROR_AT(bad.text(), 12, bad.col(12, "1e6"), "CalcApp's, not echo's");
  Doc pu;
  pu.set(14, "      - { site: b, replies: 5, job-size: exp:1e6 }");
  EXPECT_ERROR_AT(pu.text(), 14, pu.col(14, "5,"), "the echo service's, not calcapp's");
  Doc unknown;
  unknown.set(12, "      - { site: a, service: ping }");
  EXPECT_ERROR_AT(unknown.text(), 12, unknown.col(12, "ping"), "not a service (calcapp, echo)");
}

TEST(Schema, CrossProductZipAndTemplatesInsideScalars) {
  const Plan plan = parse(Doc()
                              .set(10, "    policy: $policy")
                              .set(14, "      - { site: b, count: $n, job-size: exp:$size, interval: 'exp:${mean}s' }")
                              .add("repetitions: 2")
                              .add("sweep:")
                              .add("  policy: [lu, 'wrand:10']")
                              .add("  size: [1e5, 1M]")
                              .add("  zip:")
                              .add("    - { n: [1, 2, 3], mean: [1, 2, 3] }")
                              .text());
  ASSERT_EQ(plan.runs.size(), 2u * 2u * 3u * 2u);
  const ExpRun& last = plan.runs.back();
  EXPECT_EQ(last.parameters.at("policy"), "wrand:10");
  EXPECT_EQ(last.pes[0].policy, "wrand:10");
  EXPECT_EQ(last.pus[0].count, 3u);
  EXPECT_EQ(last.pus[0].args, (Args{"--job-size", "exp:1M", "--interval", "exp:3s"}));
  EXPECT_EQ(last.repetition, 1u);
  EXPECT_EQ(plan.runs[2].parameters.at("n"), "2");  // the zipped dimension varies fastest
  EXPECT_EQ(plan.runs[2].parameters.at("size"), "1e5");
}

TEST(Schema, FaultsResolveAndSortByTime) {
  const Plan plan = parse(Doc()
                              .add("warmup: 5s")
                              .add("faults:")
                              .add("  - { at: 12s, link-down: { site: a, isp: y }, for: 2s }")
                              .add("  - { at: 6s, stop: { pool: P, site: a, count: 2 }, for: 1s }")
                              .add("  - { at: 7s, kill: { group: P/pu0, count: 3 } }")
                              .add("  - { at: 8s, resume: { registrar: pr0 } }")
                              .text());
  const auto& f = plan.runs[0].faults;
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].kind, Fault::Kind::stop);
  EXPECT_EQ(f[0].target_kind, Fault::TargetKind::pool);
  EXPECT_EQ(f[0].target, "P");
  EXPECT_EQ(f[0].site, "a");
  EXPECT_EQ(f[0].count, 2u);
  EXPECT_EQ(f[0].lasts, Duration(1s));
  EXPECT_EQ(f[1].target, "P/pu0");
  EXPECT_EQ(f[2].target_kind, Fault::TargetKind::registrar);
  EXPECT_EQ(f[3].kind, Fault::Kind::link_down);
  EXPECT_EQ(f[3].site, "a");
  EXPECT_EQ(f[3].isp, "y");
  EXPECT_EQ(f[3].at, Duration(12s));
  EXPECT_EQ(f[3].lasts, Duration(2s));
}

TEST(Schema, RestartTakesPeMembersAndRegistrars) {
  const Plan plan = parse(Doc()
                              .add("faults:")
                              .add("  - { at: 2s, kill: { group: P/pe0 } }")
                              .add("  - { at: 4s, restart: { group: P/pe0 } }")
                              .text());
  const auto& f = plan.runs[0].faults;
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].kind, Fault::Kind::restart);
  EXPECT_EQ(f[1].target, "P/pe0");
  EXPECT_EQ(plan.runs[0].resolved["faults"][1]["kind"], "restart");
  // A registrar restarts too (started again on its ports).
  const Plan pr = parse(Doc().add("faults:").add("  - { at: 2s, restart: { registrar: pr0 } }").text());
  ASSERT_EQ(pr.runs[0].faults.size(), 1u);
  EXPECT_EQ(pr.runs[0].faults[0].kind, Fault::Kind::restart);
  EXPECT_EQ(pr.runs[0].faults[0].target_kind, Fault::TargetKind::registrar);
  const LoadError pu = error_of(Doc().add("faults:").add("  - { at: 2s, restart: { group: P/pu0 } }").text());
  EXPECT_NE(pu.message().find("PE groups only"), std::string::npos) << pu.what();
}

TEST(Schema, AddressPlanAndRemoteHost) {
  const Plan plan = parse(Doc()
                              .set(4, "  a: { isps: [x, y], prefix4: 198.18.4.0/23, prefix6: 'fd00:1:2:100::/56', host: me@node3 }")
                              .set(5, "  b: { isps: [x], prefix4: 198.18.8.0/24, prefix6: 'fd00:1:2:200::/56' }")
                              .text());
  const Site& a = plan.runs[0].sites[0];
  EXPECT_EQ(a.prefix4, "198.18.4.0/23");
  EXPECT_EQ(a.prefix6, "fd00:1:2:100::/56");
  EXPECT_EQ(a.host, "me@node3");
  EXPECT_EQ(plan.runs[0].resolved["sites"][0]["host"], "me@node3");
}

// ---- fault schedules, loss and partitions ----------------------------------------------

// A run's faults, comparable: "at kind target#member site/isp".
std::vector<std::string> timeline(const ExpRun& r) {
  std::vector<std::string> out;
  for (const Fault& f : r.faults)
    out.push_back(std::to_string(f.at.count()) + " " + std::to_string(static_cast<int>(f.kind)) +
                  " " + f.target + "#" + (f.member ? std::to_string(*f.member) : "-") + " " +
                  f.site + "/" + f.isp);
  return out;
}

TEST(Schedules, ChurnIsDrawnPerMemberFromTheRunSeed) {
  Doc d;
  d.set(10, "    policy: $policy");
  d.add("warmup: 5s")
      .add("repetitions: 2")
      .add("faults:")
      .add("  - { churn: { group: P/pe0, mtbf: 3s, downtime: 500ms } }")
      .add("sweep:")
      .add("  policy: [rr, lu]");
  const Plan plan = parse(d.text());
  ASSERT_EQ(plan.runs.size(), 4u);  // (rr, rep 0), (rr, rep 1), (lu, rep 0), (lu, rep 1)
  // Common random numbers: every policy sees the same timeline; repetitions differ.
  EXPECT_EQ(timeline(plan.runs[0]), timeline(plan.runs[2]));
  EXPECT_EQ(timeline(plan.runs[1]), timeline(plan.runs[3]));
  EXPECT_NE(timeline(plan.runs[0]), timeline(plan.runs[1]));
  EXPECT_EQ(timeline(parse(d.text()).runs[0]), timeline(plan.runs[0]));  // reproducible
  for (const ExpRun& r : plan.runs) {
    ASSERT_EQ(r.schedules.size(), 1u);
    EXPECT_EQ(r.schedules[0].until, Duration(15s));  // the run's end by default
    ASSERT_FALSE(r.faults.empty());
    EXPECT_TRUE(std::is_sorted(r.faults.begin(), r.faults.end(),
                               [](const Fault& a, const Fault& b) { return a.at < b.at; }));
    std::map<std::size_t, std::vector<const Fault*>> by_member;
    for (const Fault& f : r.faults) {
      ASSERT_TRUE(f.member.has_value());
      EXPECT_LT(*f.member, 2u);
      EXPECT_EQ(f.target, "P/pe0");
      EXPECT_EQ(f.target_kind, Fault::TargetKind::group);
      EXPECT_EQ(f.count, 1u);
      EXPECT_EQ(f.schedule, std::optional<std::size_t>(0));
      EXPECT_LE(f.at, Duration(15s));
      EXPECT_EQ(f.at % 1ms, 0ns) << "whole milliseconds";
      by_member[*f.member].push_back(&f);
    }
    EXPECT_EQ(by_member.size(), 2u) << "both members fail in 15 s at an MTBF of 3 s";
    // Each member: kill, restart after the downtime, kill, ...
    for (const auto& [m, fs] : by_member)
      for (std::size_t i = 0; i < fs.size(); ++i) {
        EXPECT_EQ(fs[i]->kind, i % 2 == 0 ? Fault::Kind::kill : Fault::Kind::restart);
        if (i % 2 == 1) {
          EXPECT_EQ(fs[i]->at, fs[i - 1]->at + 500ms);
        }
      }
    // The definition names the schedule and every fault drawn, with its member.
    EXPECT_EQ(r.resolved["schedules"][0]["kind"], "churn");
    EXPECT_EQ(r.resolved["schedules"][0]["group"], "P/pe0");
    EXPECT_EQ(r.resolved["schedules"][0]["mtbf"], "3s");
    EXPECT_EQ(r.resolved["schedules"][0]["downtime"], "500ms");
    EXPECT_EQ(r.resolved["faults"].size(), r.faults.size());
    EXPECT_EQ(r.resolved["faults"][0]["member"], *r.faults[0].member);
    EXPECT_EQ(r.resolved["faults"][0]["schedule"], 0);
  }
  // Another base seed: other times, other keys.
  const Plan other = parse(d.text() + "seed: 1\n");
  EXPECT_NE(timeline(other.runs[0]), timeline(plan.runs[0]));
  EXPECT_NE(other.runs[0].key, plan.runs[0].key);
}

TEST(Schedules, GeneratorIsPinned) {
  // The inverse CDF at the ends of its 53-bit grid, and at one half.
  EXPECT_EQ(exponential_draw(~std::uint64_t{0}, 1s), 0ns);
  EXPECT_NEAR(static_cast<double>(exponential_draw(0, 1s).count()), 53 * std::log(2.0) * 1e9, 2);
  EXPECT_NEAR(static_cast<double>(exponential_draw(std::uint64_t{1} << 63, 2s).count()),
              2 * std::log(2.0) * 1e9, 2);
  EXPECT_NE(schedule_seed(1, 0, "P/pe0#0"), schedule_seed(1, 0, "P/pe0#1"));
  EXPECT_NE(schedule_seed(1, 0, "P/pe0#0"), schedule_seed(1, 1, "P/pe0#0"));
  EXPECT_NE(schedule_seed(1, 0, "P/pe0#0"), schedule_seed(2, 0, "P/pe0#0"));
  // The drawn times are part of run keys: changing how schedules are drawn changes the
  // faults (and the keys) of existing files. Do it knowingly, and update these.
  const Plan plan = parse(Doc()
                              .add("seed: 9")
                              .add("faults:")
                              .add("  - { churn: { group: P/pe0, mtbf: 8s, downtime: 1s } }")
                              .text());
  EXPECT_EQ(plan.runs[0].seed, 12587370737594032228ULL);
  ASSERT_EQ(plan.runs[0].faults.size(), 1u);
  EXPECT_EQ(plan.runs[0].faults[0].at, Duration(9019ms));
  EXPECT_EQ(plan.runs[0].faults[0].member, std::optional<std::size_t>(1));
}

TEST(Schedules, MeanUptimeIsTheMtbf) {
  // 2000 PEs for 100 s at an MTBF of 10 s: about 18000 failures.
  const Plan plan = parse(Doc()
                              .set(2, "duration: 100s")
                              .set(12, "      - { site: a, count: 2000, capacity: 1e6 }")
                              .add("faults:")
                              .add("  - { churn: { pool: P, site: a, mtbf: 10s, downtime: 1s } }")
                              .text());
  const ExpRun& r = plan.runs[0];
  // Up from 0 to the first kill, from each restart to the next kill, from the last restart
  // to the end. The exponential's estimate: time up / failures (the last uptimes are cut
  // off by the end, not over).
  std::vector<Duration> up_since(2000, 0ns), first(2000, Duration::max());
  std::vector<bool> up(2000, true);
  Duration total_up{};
  std::size_t kills = 0;
  for (const Fault& f : r.faults) {
    ASSERT_TRUE(f.member.has_value());
    const std::size_t m = *f.member;
    ASSERT_LT(m, 2000u);
    if (f.kind == Fault::Kind::kill) {
      ASSERT_TRUE(up[m]);
      total_up += f.at - up_since[m];
      if (first[m] == Duration::max()) first[m] = f.at;
      up[m] = false;
      ++kills;
    } else {
      ASSERT_FALSE(up[m]);
      up_since[m] = f.at;
      up[m] = true;
    }
  }
  for (std::size_t m = 0; m < 2000; ++m)
    if (up[m]) total_up += 100s - up_since[m];
  ASSERT_GT(kills, 10000u);
  const double mtbf = std::chrono::duration<double>(total_up).count() / static_cast<double>(kills);
  EXPECT_NEAR(mtbf, 10.0, 0.5) << kills << " failures";
  // The first uptimes, each a plain draw: their mean, and P(uptime < mean) = 1 - 1/e.
  double sum = 0;
  std::size_t shorter = 0;
  for (const Duration d : first) {
    ASSERT_NE(d, Duration::max()) << "a member never failed in 10 MTBFs";
    sum += std::chrono::duration<double>(d).count();
    shorter += d < 10s;
  }
  EXPECT_NEAR(sum / 2000, 10.0, 1.0);
  EXPECT_NEAR(static_cast<double>(shorter) / 2000, 1 - std::exp(-1.0), 0.05);
}

TEST(Schedules, RegistrarChurnFlapLossAndPartition) {
  const Plan plan = parse(Doc()
                              .add("faults:")
                              .add("  - { churn: { registrar: pr0, mtbf: 2s, downtime: 1s, start: 1s } }")
                              .add("  - { flap: { site: a, isp: y, mtbf: 2s, downtime: 1s, start: 1s, until: 8s } }")
                              .add("  - { at: 2s, loss: { site: a, isp: x, percent: 2.5% }, for: 3s }")
                              .add("  - { at: 3s, loss: { site: b, isp: x, percent: 100 } }")
                              .add("  - { at: 4s, partition: { sites: [b, a] }, for: 1s }")
                              .text());
  const ExpRun& r = plan.runs[0];
  ASSERT_EQ(r.schedules.size(), 2u);
  EXPECT_EQ(r.schedules[1].kind, Schedule::Kind::flap);
  EXPECT_EQ(r.schedules[1].position, 1u);
  std::size_t registrar = 0, link = 0;
  Duration last_down{};
  for (const Fault& f : r.faults) {
    if (f.schedule == std::optional<std::size_t>(0)) {
      ++registrar;
      EXPECT_EQ(f.target_kind, Fault::TargetKind::registrar);
      EXPECT_EQ(f.target, "pr0");
      EXPECT_FALSE(f.member.has_value());
      EXPECT_GE(f.at, Duration(1s));
    } else if (f.schedule == std::optional<std::size_t>(1)) {
      EXPECT_EQ(f.site, "a");
      EXPECT_EQ(f.isp, "y");
      if (link++ % 2 == 0) {
        EXPECT_EQ(f.kind, Fault::Kind::link_down);
        EXPECT_GE(f.at, Duration(1s));
        EXPECT_LT(f.at, Duration(8s));
        last_down = f.at;
      } else {
        EXPECT_EQ(f.kind, Fault::Kind::link_up);
        EXPECT_EQ(f.at, last_down + 1s);
      }
    } else if (f.kind == Fault::Kind::loss) {
      EXPECT_EQ(f.isp, "x");
      EXPECT_EQ(f.percent, f.site == "a" ? 2.5 : 100.0);
      EXPECT_EQ(f.lasts, f.site == "a" ? std::optional<Duration>(3s) : std::nullopt);
    } else {
      EXPECT_EQ(f.kind, Fault::Kind::partition);
      EXPECT_EQ(f.site, "b");
      EXPECT_EQ(f.peer, "a");
      EXPECT_EQ(f.lasts, Duration(1s));
      EXPECT_FALSE(f.schedule.has_value());
    }
  }
  EXPECT_GT(registrar, 0u);
  EXPECT_GT(link, 0u);
  bool percent = false, peer = false;
  for (const auto& f : r.resolved["faults"]) {
    percent = percent || (f["kind"] == "loss" && f["percent"] == 2.5);
    peer = peer || (f["kind"] == "partition" && f["peer"] == "a");
  }
  EXPECT_TRUE(percent);
  EXPECT_TRUE(peer);
}

TEST(Keys, OneShotFaultsKeepTheKeysTheyHadBeforeSchedules) {
  // Computed by rsplab 0.1.0 before fault schedules existed: a file without the new keys
  // keeps its runs' keys (resuming a campaign still skips what it completed).
  const Plan plan = parse(Doc()
                              .add("warmup: 2s")
                              .add("seed: 9")
                              .add("faults:")
                              .add("  - { at: 3s, kill: { group: P/pe0, count: 2, select: busiest } }")
                              .add("  - { at: 4s, stop: { registrar: pr0 }, for: 1s }")
                              .add("  - { at: 5s, link-down: { site: a, isp: y }, for: 2s }")
                              .add("  - { at: 6s, restart: { pool: P, site: a } }")
                              .add("  - { at: 7s, resume: { group: P/pu0, count: 3 } }")
                              .text());
  EXPECT_EQ(plan.runs[0].key, "1047da7b93b428d2c68af71437b023ec963e882e0fba308a511e6fe6d2af93f6");
  // Issue 12: a kill or stop of a group or pool without `select` now hits members drawn
  // from the seed, not the busiest: a different run, a different key. `select: busiest`
  // (above) is what such a file meant before and keeps the old key.
  Doc random;
  random.add("warmup: 2s").add("seed: 9").add("faults:").add("  - { at: 3s, kill: { group: P/pe0, count: 2 } }");
  Doc busiest;
  busiest.add("warmup: 2s").add("seed: 9").add("faults:").add("  - { at: 3s, kill: { group: P/pe0, count: 2, select: busiest } }");
  EXPECT_NE(parse(random.text()).runs[0].key, parse(busiest.text()).runs[0].key);
}

// ---- which members a kill or stop hits (issue 12) ------------------------------------------

// "P/pe0#1 P/pe1#0": a fault's picks.
std::string picks(const Fault& f) {
  std::string s;
  for (const auto& [g, i] : f.picks) s += (s.empty() ? "" : " ") + g + "#" + std::to_string(i);
  return s;
}

TEST(Selection, DefaultsMembersAndBusiest) {
  Doc d;
  d.set(12, "      - { site: a, count: 4, capacity: 1e6 }\n"
            "      - { site: b, count: 3, capacity: 3e6 }")
      .add("faults:")
      .add("  - { at: 1s, kill: { group: P/pe0, count: 2 } }")
      .add("  - { at: 2s, stop: { group: P/pe0, select: busiest }, for: 1s }")
      .add("  - { at: 3s, kill: { pool: P, member: [5, 0] } }")
      .add("  - { at: 4s, restart: { group: P/pe0, member: [3] } }")
      .add("  - { at: 5s, resume: { group: P/pe0 } }")
      .add("  - { at: 6s, kill: { pool: P, site: b, member: [2] } }");
  const Plan plan = parse(d.text());
  const auto& f = plan.runs[0].faults;
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].select, Fault::Select::random);  // the default of kill and stop
  EXPECT_EQ(f[0].picks.size(), 2u);
  EXPECT_EQ(f[0].count, 2u);
  for (const auto& [g, i] : f[0].picks) {
    EXPECT_EQ(g, "P/pe0");
    EXPECT_LT(i, 4u);
  }
  EXPECT_EQ(f[1].select, Fault::Select::busiest);
  EXPECT_TRUE(f[1].picks.empty());
  // A pool's members: its groups in file order, each by index (P/pe0 #0-3, then P/pe1).
  EXPECT_EQ(f[2].select, Fault::Select::member);
  EXPECT_EQ(picks(f[2]), "P/pe0#0 P/pe1#1");
  EXPECT_EQ(f[2].count, 2u);
  EXPECT_EQ(picks(f[3]), "P/pe0#3");
  EXPECT_EQ(f[4].select, Fault::Select::busiest);  // the default of resume and restart
  EXPECT_EQ(picks(f[5]), "P/pe1#2");  // at site b only
  const auto& resolved = plan.runs[0].resolved["faults"];
  EXPECT_EQ(resolved[2]["select"], "member");
  EXPECT_EQ(resolved[2]["members"], (nlohmann::json{"P/pe0#0", "P/pe1#1"}));
  EXPECT_FALSE(resolved[1].contains("select"));
}

// Every policy of a repetition loses the same members; repetitions draw anew; a member an
// earlier kill took down is not drawn again until a restart brings it back.
TEST(Selection, RandomIsDrawnFromTheRunSeedTheSameForEveryPolicy) {
  Doc d;
  d.set(10, "    policy: $policy")
      .set(12, "      - { site: a, count: 8, capacity: 1e6 }")
      .add("repetitions: 6")
      .add("faults:")
      .add("  - { at: 1s, kill: { pool: P } }")
      .add("  - { at: 2s, stop: { group: P/pe0, count: 3 }, for: 1s }")
      .add("  - { at: 4s, kill: { group: P/pe0, count: 7 } }")
      .add("sweep:")
      .add("  policy: [rr, lu, 'wrand:1']");
  const Plan plan = parse(d.text());
  ASSERT_EQ(plan.runs.size(), 18u);
  std::set<std::string> draws;
  for (const ExpRun& r : plan.runs) {
    const ExpRun& first = plan.runs[r.repetition];  // rr of the same repetition
    ASSERT_EQ(r.faults.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k)
      EXPECT_EQ(picks(r.faults[k]), picks(first.faults[k]))
          << "run " << r.index << " (" << r.parameters.at("policy") << ") fault " << k;
    EXPECT_EQ(r.faults[1].picks.size(), 3u);
    // The second kill leaves the first one's member out: 7 of the 7 others.
    ASSERT_EQ(r.faults[0].picks.size(), 1u);
    EXPECT_EQ(r.faults[2].picks.size(), 7u);
    for (const auto& m : r.faults[2].picks) EXPECT_NE(m, r.faults[0].picks[0]);
    draws.insert(picks(r.faults[0]) + " / " + picks(r.faults[1]));
  }
  EXPECT_GT(draws.size(), 1u) << "repetitions draw anew";
  EXPECT_EQ(picks(parse(d.text()).runs[4].faults[1]), picks(plan.runs[4].faults[1]));
}

TEST(Errors, SelectAndMember) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"  - { at: 1s, kill: { group: P/pe0, select: fastest } }", "fastest",
       "'fastest' is not random or busiest"},
      {"  - { at: 1s, kill: { group: P/pe0, member: [2] } }", "2]",
       "'2' is not a member index of P/pe0 (0 to 1)"},
      {"  - { at: 1s, stop: { pool: P, member: [0, -1] } }", "-1",
       "not a member index of P (0 to 1)"},
      {"  - { at: 1s, kill: { group: P/pe0, member: [1, 1] } }", "1] }", "member 1 twice"},
      {"  - { at: 1s, kill: { group: P/pe0, member: [x] } }", "x]", "not a member index"},
      {"  - { at: 1s, kill: { group: P/pe0, member: 1 } }", "1 }", "expected a list"},
      {"  - { at: 1s, kill: { group: P/pe0, count: 1, member: [1] } }", "count",
       "'count' or 'member'"},
      {"  - { at: 1s, kill: { group: P/pe0, select: random, member: [1] } }", "member",
       "'select' or 'member'"},
      {"  - { at: 1s, restart: { group: P/pe0, select: random } }", "select",
       "'select' goes with kill and stop"},
      {"  - { at: 1s, kill: { registrar: pr0, select: random } }", "select",
       "not a registrar"},
      {"  - { at: 1s, stop: { registrar: pr0, member: [0] } }", "member", "not a registrar"},
  };
  for (const auto& [fault, where, fragment] : cases) {
    SCOPED_TRACE(fault);
    Doc d;
    d.add("faults:").add(fault);
    EXPECT_ERROR_AT(d.text(), 16, d.col(16, where), fragment);
  }
}

// ---- errors: file:line:col ---------------------------------------------------------------

TEST(Errors, ReadAsFileLineColumnMessage) {
  const LoadError e = error_of(Doc().set(2, "duration: 10x").text());
  EXPECT_EQ(std::string(e.what()), "test.yaml:2:11: " + e.message());
  try {
    load_plan("/nonexistent/x.yaml", kVersion);
    ADD_FAILURE();
  } catch (const LoadError& u) {
    EXPECT_EQ(u.line(), 0);
    EXPECT_EQ(u.file(), "/nonexistent/x.yaml");
  }
}

TEST(Errors, UnknownKey) {
  Doc d;
  d.set(12, "      - { site: a, count: 2, capacty: 1e6 }");
  EXPECT_ERROR_AT(d.text(), 12, d.col(12, "capacty"), "did you mean 'capacity'");
  Doc top;
  top.add("durations: 5s");
  EXPECT_ERROR_AT(top.text(), 15, 1, "unknown key 'durations'");
  Doc far;
  far.set(7, "  - { site: a, cookie-max-time: 1s }");  // a PE option on a registrar
  EXPECT_ERROR_AT(far.text(), 7, far.col(7, "cookie"), "unknown key 'cookie-max-time'");
}

TEST(Errors, DuplicateKey) {
  Doc d;
  d.set(12, "      - { site: a, count: 2, count: 3 }");
  EXPECT_ERROR_AT(d.text(), 12, 30, "duplicate key 'count'");
  EXPECT_ERROR_AT(Doc().add("duration: 5s").text(), 15, 1, "(first at 2:1)");
  EXPECT_ERROR_AT(Doc().set(5, "  a: { isps: [z] }").text(), 5, 3, "duplicate key 'a'");
}

TEST(Errors, BadUnits) {
  EXPECT_ERROR_AT(Doc().set(2, "duration: 10x").text(), 2, 11, "unknown unit 'x'");
  EXPECT_ERROR_AT(Doc().set(2, "duration: 10").text(), 2, 11, "a unit is needed");
  Doc cap;
  cap.set(12, "      - { site: a, count: 2, capacity: 1e6x }");
  EXPECT_ERROR_AT(cap.text(), 12, cap.col(12, "1e6x"), "unknown suffix 'x'");
  Doc ka;
  ka.set(7, "  - { site: a, keepalive-interval: 0.5ms }");
  EXPECT_ERROR_AT(ka.text(), 7, ka.col(7, "0.5ms"), "whole number of milliseconds");
}

TEST(Errors, BadDistribution) {
  Doc d;
  d.set(14, "      - { site: b, count: 3, job-size: exp:1e6, interval: 'exp:' }");
  EXPECT_ERROR_AT(d.text(), 14, d.col(14, "'exp:'"), "exp needs a value");
  Doc u;
  u.set(14, "      - { site: b, count: 3, job-size: 'uniform:5,1', interval: exp:1s }");
  EXPECT_ERROR_AT(u.text(), 14, u.col(14, "'uniform"), "minimum is above the maximum");
  Doc t;  // a time distribution needs units
  t.set(14, "      - { site: b, count: 3, job-size: exp:1e6, interval: exp:4 }");
  EXPECT_ERROR_AT(t.text(), 14, t.col(14, "exp:4"), "a unit is needed");
}

TEST(Errors, UnknownPolicyAndBadPolicyValues) {
  EXPECT_ERROR_AT(Doc().set(10, "    policy: lru").text(), 10, 13, "unknown policy 'lru'");
  EXPECT_ERROR_AT(Doc().set(10, "    policy: rr:1").text(), 10, 13, "takes at most 0 values");
  EXPECT_ERROR_AT(Doc().set(10, "    policy: wrand:x").text(), 10, 13, "bad Weight 'x'");
  // A weight has no default: a PE of weight 0 is never selected.
  EXPECT_ERROR_AT(Doc().set(10, "    policy: wrand").text(), 10, 13,
                  "policy wrand needs a Weight, a whole number (e.g. wrand:10)");
  EXPECT_ERROR_AT(Doc().set(10, "    policy: wrr").text(), 10, 13, "policy wrr needs a Weight");
  EXPECT_ERROR_AT(Doc().set(10, "    policy: wrand-dpf").text(), 10, 13,
                  "policy wrand-dpf needs a Weight");
  // An explicit 0 takes a PE out of selection on purpose: accepted.
  EXPECT_EQ(parse(Doc().set(10, "    policy: 'wrand:0'").text()).runs.at(0).pes.at(0).policy,
            "wrand:0");
  // A bad value in the sweep is reported at the sweep's value.
  Doc s;
  s.set(10, "    policy: $policy").add("sweep:").add("  policy: [lu, lru]");
  EXPECT_ERROR_AT(s.text(), 16, s.col(16, "lru"), "unknown policy 'lru'");
  EXPECT_NE(error_of(s.text()).message().find("used at 10:13"), std::string::npos);
}

TEST(Errors, UnknownAndUnusedParameters) {
  Doc d;
  d.set(10, "    policy: $polcy").add("sweep:").add("  policy: [lu, rr]");
  EXPECT_ERROR_AT(d.text(), 10, 13, "unknown parameter $polcy");
  EXPECT_ERROR_AT(Doc().set(10, "    policy: $p").text(), 10, 13, "there is no sweep");
  Doc u;
  u.add("sweep:").add("  policy: [lu, rr]");
  EXPECT_ERROR_AT(u.text(), 16, 3, "'policy' is used nowhere");
  Doc bad;
  bad.set(10, "    policy: $").add("sweep:").add("  policy: [lu]");
  EXPECT_ERROR_AT(bad.text(), 10, 13, "$name or ${name}");
  Doc fixed;  // no parameters where a value is the same in every run
  fixed.set(1, "name: $policy").set(10, "    policy: $policy").add("sweep:").add("  policy: [lu]");
  EXPECT_ERROR_AT(fixed.text(), 1, 7, "no $parameters here");
  Doc label;  // a label names points, and must be a parameter
  label.add("sweep:").add("  zip: [ { r: [1, 2], n: [1, 2] } ]").add("  labels: [r, q]");
  label.set(14, "      - { site: b, count: $n, job-size: exp:1e6, interval: exp:1s }");
  EXPECT_ERROR_AT(label.text(), 17, label.col(17, "q"), "'q' is not a sweep parameter");
}

TEST(Errors, ZipListsOfDifferentLengths) {
  Doc d;
  d.set(14, "      - { site: b, count: $n, job-size: exp:1e6, interval: $i }")
      .add("sweep:")
      .add("  zip:")
      .add("    - n: [1, 2, 3]")
      .add("      i: [exp:1s, exp:2s]");
  EXPECT_ERROR_AT(d.text(), 18, 10, "'i' has 2 values, 'n' has 3");
}

TEST(Errors, ReferencesToWhatDoesNotExist) {
  Doc g;
  g.add("faults:").add("  - { at: 5s, kill: { group: P/pe7 } }");
  EXPECT_ERROR_AT(g.text(), 16, g.col(16, "P/pe7"), "unknown group 'P/pe7'");
  Doc s;
  s.set(12, "      - { site: c, count: 2, capacity: 1e6 }");
  EXPECT_ERROR_AT(s.text(), 12, 17, "unknown site 'c'");
  Doc r;
  r.add("faults:").add("  - { at: 5s, stop: { registrar: pr1 } }");
  EXPECT_ERROR_AT(r.text(), 16, r.col(16, "pr1"), "unknown registrar 'pr1'");
  Doc i;
  i.add("faults:").add("  - { at: 5s, link-up: { site: b, isp: y } }");
  EXPECT_ERROR_AT(i.text(), 16, i.col(16, "y }"), "site b has no ISP 'y'");
  Doc p;
  p.add("faults:").add("  - { at: 5s, kill: { pool: P, site: b } }");
  EXPECT_ERROR_AT(p.text(), 16, p.col(16, "b }"), "pool P has no PEs at site b");
  Doc n;
  n.add("faults:").add("  - { at: 5s, kill: { group: P/pe0, count: 3 } }");
  EXPECT_ERROR_AT(n.text(), 16, n.col(16, "3 }"), "more than the 2 members");
}

// A group's `registrars:` (all, site, or names in order) and the list each gets from the
// registrars' endpoints; the run key changes with it, and only where the file sets it.
TEST(Schema, GroupsChooseTheirRegistrars) {
  Doc d;
  d.set(7, "  - { site: a }\n  - { site: b }\n  - { site: b }");
  const Plan all = parse(d.text());
  Doc site = d;
  site.set(12, "      - { site: b, count: 2, capacity: 1e6, registrars: site }");
  Doc named = d;
  named.set(14, "      - { site: b, count: 3, job-size: exp:1e6, interval: exp:1s, registrars: 'pr2,pr0' }");
  const Plan s = parse(site.text()), n = parse(named.text());
  const ExpRun& r = all.runs.at(0);
  ASSERT_EQ(r.registrars.size(), 3u);
  const RegistrarEndpoints e = {{"pr0", {"10.0.0.1:1", "10.1.0.1:1"}}, {"pr1", {"10.0.1.1:2"}},
                                {"pr2", {"10.0.1.1:3"}}};
  EXPECT_EQ(registrar_list(r, r.pes.at(0).registrars, r.pes.at(0).site_first, "a", e),
            "10.0.0.1:1,10.1.0.1:1,10.0.1.1:2,10.0.1.1:3");
  const PeGroup& pe = s.runs.at(0).pes.at(0);
  EXPECT_TRUE(pe.site_first);
  EXPECT_EQ(registrar_list(s.runs.at(0), pe.registrars, pe.site_first, pe.site, e),
            "10.0.1.1:2,10.0.1.1:3,10.0.0.1:1,10.1.0.1:1");
  const PuGroup& pu = n.runs.at(0).pus.at(0);
  EXPECT_EQ(pu.registrars, (std::vector<std::string>{"pr2", "pr0"}));
  EXPECT_EQ(registrar_list(n.runs.at(0), pu.registrars, pu.site_first, pu.site, e),
            "10.0.1.1:3,10.0.0.1:1,10.1.0.1:1");
  EXPECT_NE(s.runs.at(0).key, r.key);
  EXPECT_NE(n.runs.at(0).key, r.key);
  Doc explicit_all = d;
  explicit_all.set(12, "      - { site: a, count: 2, capacity: 1e6, registrars: all }");
  EXPECT_EQ(parse(explicit_all.text()).runs.at(0).key, r.key);
  // announce: the PEs learn the registrars from their ASAP announces, which every registrar
  // of the run then sends; no list.
  Doc heard = d;
  heard.set(12, "      - { site: a, count: 2, capacity: 1e6, registrars: announce }");
  const Plan a = parse(heard.text());
  const ExpRun& ra = a.runs.at(0);
  EXPECT_TRUE(ra.pes.at(0).announce);
  EXPECT_TRUE(announced(ra));
  EXPECT_FALSE(announced(r));
  EXPECT_NE(ra.key, r.key);
}

TEST(Errors, RegistrarChoices) {
  Doc unknown;
  unknown.set(12, "      - { site: a, count: 2, capacity: 1e6, registrars: 'pr0,pr3' }");
  EXPECT_ERROR_AT(unknown.text(), 12, unknown.col(12, "'pr0"), "'pr3' is no registrar");
  Doc twice;
  twice.set(14, "      - { site: b, count: 3, job-size: exp:1e6, interval: exp:1s, registrars: 'pr0,pr0' }");
  EXPECT_ERROR_AT(twice.text(), 14, twice.col(14, "'pr0"), "'pr0' twice");
  Doc pu;
  pu.set(14, "      - { site: b, count: 3, job-size: exp:1e6, interval: exp:1s, registrars: announce }");
  EXPECT_ERROR_AT(pu.text(), 14, pu.col(14, "announce"), "PUs take registrars by name");
  Doc registrar;
  registrar.set(7, "  - { site: a, registrars: site }");
  EXPECT_ERROR_AT(registrar.text(), 7, registrar.col(7, "registrars"), "registrars");
}

TEST(Errors, CountsAndTimes) {
  Doc zero;
  zero.set(12, "      - { site: a, count: 0, capacity: 1e6 }");
  EXPECT_ERROR_AT(zero.text(), 12, 27, "must be 1 to");
  Doc negative;
  negative.set(14, "      - { site: b, count: -3, job-size: exp:1e6, interval: exp:1s }");
  EXPECT_ERROR_AT(negative.text(), 14, 27, "must be 1 to");
  EXPECT_ERROR_AT(Doc().set(12, "      - { site: a, count: 1.5, capacity: 1e6 }").text(), 12, 27,
                  "not a whole number");
  EXPECT_ERROR_AT(Doc().add("repetitions: 0").text(), 15, 14, "must be 1 to");
  Doc late;
  late.add("faults:").add("  - { at: 11s, kill: { registrar: pr0 } }");
  EXPECT_ERROR_AT(late.text(), 16, late.col(16, "11s"), "after the run's end");
  Doc longer;
  longer.add("faults:").add("  - { at: 5s, link-down: { site: a, isp: x }, for: 6s }");
  EXPECT_ERROR_AT(longer.text(), 16, longer.col(16, "6s"), "ends after the run");
  Doc kill_for;
  kill_for.add("faults:").add("  - { at: 5s, kill: { registrar: pr0 }, for: 1s }");
  EXPECT_ERROR_AT(kill_for.text(), 16, kill_for.col(16, "for"), "'for' goes with stop, link-down");
}

TEST(Errors, SchedulesLossAndPartitions) {
  // Each: the fault (line 16), where the error must point, and what it must say.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"  - { at: 2s, churn: { group: P/pe0, mtbf: 1s, downtime: 1s } }", "at:",
       "'at' is not for a schedule"},
      {"  - { churn: { group: P/pe0, mtbf: 1s, downtime: 1s }, for: 2s }", "for:",
       "'for' is not for a schedule"},
      {"  - { churn: { group: P/pe0, mtbf: 0s, downtime: 1s } }", "0s", "must be above 0"},
      {"  - { churn: { group: P/pe0, mtbf: 1x, downtime: 1s } }", "1x", "not a duration"},
      {"  - { churn: { group: P/pu0, mtbf: 1s, downtime: 1s } }", "P/pu0",
       "churn takes PE groups only"},
      {"  - { churn: { registrar: pr3, mtbf: 1s, downtime: 1s } }", "pr3",
       "unknown registrar 'pr3'"},
      {"  - { churn: { pool: Q, mtbf: 1s, downtime: 1s } }", "Q,", "unknown pool 'Q'"},
      {"  - { churn: { mtbf: 1s, downtime: 1s } }", "{ mtbf", "missing the target"},
      {"  - { churn: { group: P/pe0, mtbf: 1s } }", "{ group", "missing 'downtime'"},
      {"  - { churn: { group: P/pe0, mtbf: 1s, downtime: 1s, count: 1 } }", "count",
       "unknown key 'count'"},
      {"  - { churn: { group: P/pe0, mtbf: 1s, downtime: 1s, until: 11s } }", "11s",
       "after the run's end"},
      {"  - { churn: { group: P/pe0, mtbf: 1s, downtime: 1s, start: 5s, until: 5s } }", "5s,",
       "the schedule's window is empty"},
      {"  - { flap: { site: a, isp: z, mtbf: 1s, downtime: 1s } }", "z,", "site a has no ISP 'z'"},
      {"  - { flap: { site: c, isp: x, mtbf: 1s, downtime: 1s } }", "c,", "unknown site 'c'"},
      {"  - { flap: { site: a, isp: x, downtime: 1s } }", "{ site", "missing 'mtbf'"},
      {"  - { at: 1s, loss: { site: a, isp: x, percent: 0 } }", "0 }", "not a percentage"},
      {"  - { at: 1s, loss: { site: a, isp: x, percent: 101 } }", "101", "not a percentage"},
      {"  - { at: 1s, loss: { site: a, isp: x, percent: 0.001 } }", "0.001", "not a percentage"},
      {"  - { at: 1s, loss: { site: a, isp: x, percent: lots } }", "lots", "not an amount"},
      {"  - { at: 1s, loss: { site: a, isp: x } }", "{ site", "missing 'percent'"},
      {"  - { at: 1s, loss: { site: b, isp: y, percent: 5 } }", "y,", "site b has no ISP 'y'"},
      {"  - { at: 1s, loss: { site: a, isp: x, percent: 5 }, for: 10s }", "10s",
       "ends after the run"},
      {"  - { at: 1s, partition: { sites: [a] } }", "[a]", "two sites"},
      {"  - { at: 1s, partition: { sites: [a, b, a] } }", "[a, b, a]", "two sites"},
      {"  - { at: 1s, partition: { sites: [a, a] } }", "a] }", "'a' twice"},
      {"  - { at: 1s, partition: { sites: [a, c] } }", "c]", "unknown site 'c'"},
      {"  - { at: 1s, partition: { sites: a } }", "a }", "expected a list"},
      {"  - { at: 1s, partition: { site: a } }", "site", "unknown key 'site'"},
  };
  for (const auto& [fault, where, fragment] : cases) {
    SCOPED_TRACE(fault);
    Doc d;
    d.add("faults:").add(fault);
    EXPECT_ERROR_AT(d.text(), 16, d.col(16, where), fragment);
  }
  // A schedule that would make too many faults is refused at its entry.
  Doc many;
  many.set(12, "      - { site: a, count: 10000, capacity: 1e6 }")
      .add("faults:")
      .add("  - { churn: { group: P/pe0, mtbf: 1ms, downtime: 1ms } }");
  EXPECT_ERROR_AT(many.text(), 16, 5, "more than 100000 faults");
}

TEST(Errors, SitesAndStructure) {
  EXPECT_ERROR_AT(Doc().set(5, "  core: { isps: [x] }").text(), 5, 3, "not 'core'");
  EXPECT_ERROR_AT(Doc().set(5, "  b: { isps: [x, i2, i3, i4, i5, i6, i7, i8] }").text(), 5, 42,
                  "at most 8 ISPs");
  EXPECT_ERROR_AT(Doc().set(5, "  b: { isps: [] }").text(), 5, 14, "empty list");
  EXPECT_ERROR_AT(Doc().set(5, "  B: { isps: [x] }").text(), 5, 3, "site name 'B'");
  EXPECT_ERROR_AT(Doc().set(4, "  a: { isps: [x, x] }").text(), 4, 18, "'x' twice");
  EXPECT_ERROR_AT(Doc().set(4, "  a: { isps: [x, y], prefix4: 198.18.4.0/23 }").text(), 5, 3,
                  "give every site an address plan or none");
  EXPECT_ERROR_AT(Doc()
                      .set(4, "  a: { isps: [x, y], prefix4: 198.18.4.0/23 }")
                      .set(5, "  b: { isps: [x], prefix4: 198.18.5.0/24 }")
                      .text(),
                  5, 28, "overlaps site a's");
  EXPECT_ERROR_AT(Doc().set(5, "  b: { isps: [x, y, z], prefix4: 198.18.8.0/23 }").text(), 5, 34,
                  "no room for one /24 per ISP");
  EXPECT_ERROR_AT(Doc().set(5, "  b: { isps: [x], host: -oProxyCommand=x }").text(), 5, 25,
                  "not an ssh destination");
  // A missing key is reported at its parent.
  EXPECT_ERROR_AT(Doc().set(12, "      - { count: 2, capacity: 1e6 }").text(), 12, 9, "missing 'site'");
  EXPECT_ERROR_AT(Doc().set(2, "warmup: 1s").text(), 1, 1, "missing 'duration'");
  EXPECT_ERROR_AT(Doc().set(2, "duration:").text(), 2, 1, "needs a value");
  EXPECT_ERROR_AT(Doc().set(3, "sites: [a, b]").set(4, "#").set(5, "#").text(), 3, 8,
                  "expected a map, not a list");
}

// Each way a site's prefix can be wrong, with the message users get and its position.
TEST(Errors, SitePrefixes) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"prefix4: 198.18.8.0", "198.18.8.0", "'198.18.8.0' is not a prefix ADDRESS/LENGTH (e.g. 198.18.4.0/22)"},
      {"prefix4: 198.18.8/24", "198.18.8/24", "'198.18.8' is not an IPv4 address"},
      {"prefix4: 'fd00::/56'", "'fd00", "'fd00::' is not an IPv4 address"},
      {"prefix6: 198.18.8.0/24", "198.18.8.0", "'198.18.8.0' is not an IPv6 address"},
      {"prefix6: 'fd00::%1/56'", "'fd00", "'fd00::%1' is not an IPv6 address"},
      {"prefix4: 198.18.8.0/", "198.18.8.0", "'' is not a prefix length (0 to 32)"},
      {"prefix4: 198.18.8.0/33", "198.18.8.0", "'33' is not a prefix length (0 to 32)"},
      {"prefix4: 198.18.8.0/-1", "198.18.8.0", "'-1' is not a prefix length (0 to 32)"},
      {"prefix4: 198.18.8.0/4294967320", "198.18.8.0", "'4294967320' is not a prefix length"},
      {"prefix4: 198.18.8.0/24/1", "198.18.8.0", "'24/1' is not a prefix length"},
      {"prefix6: 'fd00::/129'", "'fd00", "'129' is not a prefix length (0 to 128)"},
      {"prefix4: 198.18.8.1/24", "198.18.8.1", "'198.18.8.1/24' has host bits set"},
      {"prefix6: 'fd00::1/64'", "'fd00", "'fd00::1/64' has host bits set"},
      {"prefix6: 'fd00::/65'", "'fd00", "no room for one /64 per ISP (1 ISP: /64 or shorter)"},
  };
  for (const auto& [prefix, where, fragment] : cases) {
    SCOPED_TRACE(prefix);
    Doc d;
    d.set(5, "  b: { isps: [x], " + prefix + " }");
    EXPECT_ERROR_AT(d.text(), 5, d.col(5, where), fragment);
  }
  // Equal and nested prefixes overlap; neighbours and the other family do not.
  EXPECT_ERROR_AT(Doc()
                      .set(4, "  a: { isps: [x, y], prefix6: 'fd00:0:0:100::/56' }")
                      .set(5, "  b: { isps: [x], prefix6: 'fd00:0:0:100::/60' }")
                      .text(),
                  5, 28, "overlaps site a's");
  EXPECT_ERROR_AT(Doc()
                      .set(4, "  a: { isps: [x, y], prefix4: 198.18.8.0/23 }")
                      .set(5, "  b: { isps: [x], prefix4: 198.18.8.0/23 }")
                      .text(),
                  5, 28, "overlaps site a's");
  const Plan p = parse(Doc()
                           .set(4, "  a: { isps: [x, y], prefix4: 198.18.8.0/23, prefix6: 'fd00::/56' }")
                           .set(5, "  b: { isps: [x], prefix4: 198.18.10.0/24, prefix6: 'fd00:0:0:100::/56' }")
                           .text());
  EXPECT_EQ(p.runs.at(0).sites.at(1).prefix4, "198.18.10.0/24");
}

TEST(Errors, YamlSyntaxAndOddDocuments) {
  EXPECT_ERROR_AT(Doc().set(4, "  a: { isps: [x, y }").text(), 4, 20, "");
  EXPECT_ERROR_AT("", 1, 1, "no experiment here");
  EXPECT_ERROR_AT(",\n", 1, 1, "no experiment here");  // yaml-cpp 0.7's LoadAll loops on this
  EXPECT_ERROR_AT("- a\n- b\n", 1, 1, "is a map");
  EXPECT_ERROR_AT(Doc().add("---").add("name: u").text(), 16, 1, "one experiment per file");
  // Aliases that multiply (a "billion laughs") are refused, not expanded.
  std::string laughs = Doc().text() + "description: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    laughs += "d" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) laughs += ", " + prev;
    laughs += "]\n";
  }
  EXPECT_ERROR_AT(laughs, 1, 1, "too large");
  // A recursive alias is refused, not followed forever.
  EXPECT_ERROR_AT(Doc().add("description: &x [ *x ]").text(), 1, 1, "recursive");
}

// ---- robustness --------------------------------------------------------------------------

TEST(Robustness, MutatedQuickstartNeverCrashes) {
  const std::string text = read(example("quickstart.yaml"));
  ASSERT_FALSE(text.empty());
  std::mt19937_64 rng(20240601);
  const std::string alphabet = "{}[]:,-'\"$&*!|>#% \n\t0123456789azAZ.";
  std::size_t loaded = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string t = text;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !t.empty(); ++k) {
      const std::size_t at = rng() % t.size();
      switch (rng() % 4) {
        case 0: t[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: t.erase(at, 1 + rng() % 8); break;
        case 3: t[at] = static_cast<char>(rng() & 0xff); break;
      }
    }
    // RSPLAB_MUTATION_DUMP=FILE keeps the input being parsed, to find the one that hangs.
    if (const char* dump = std::getenv("RSPLAB_MUTATION_DUMP")) std::ofstream(dump) << t;
    try {
      const Plan p = parse(t);
      EXPECT_FALSE(p.runs.empty());
      ++loaded;
    } catch (const LoadError& e) {
      EXPECT_GE(e.line(), 0);
      EXPECT_GE(e.column(), 0);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(loaded, 0u);
}

// ---- links: delay, jitter, rate (netem) --------------------------------------------------

TEST(Links, DelayDistributionsCorrelationAndRateResolve) {
  const Plan plan = parse(Doc()
                              .add("links:")
                              .add("  - { site: a, isp: x, delay: 25ms }")
                              .add("  - { site: a, isp: y, delay: 'uniform:20ms,30ms', correlation: 25% }")
                              .add("  - { site: b, isp: x, delay: 'normal:$d,5ms', rate: 10M }")
                              .add("sweep:")
                              .add("  d: [50ms, 100ms]")
                              .text());
  ASSERT_EQ(plan.runs.size(), 2u);
  const ExpRun& r = plan.runs[1];
  ASSERT_EQ(r.links.size(), 3u);
  EXPECT_EQ(r.links[0].site, "a");
  EXPECT_EQ(r.links[0].isp, "x");
  EXPECT_EQ(r.links[0].netem, (Netem{25ms, 0ms, false, 0, 0}));
  EXPECT_EQ(r.links[1].netem, (Netem{25ms, 5ms, false, 25, 0}));
  EXPECT_EQ(r.links[2].netem, (Netem{100ms, 5ms, true, 0, 10'000'000}));
  EXPECT_EQ(plan.runs[0].links[2].netem.delay, Duration(50ms));
  EXPECT_EQ(link_netem(r, "b", "x").rate, 10'000'000u);
  EXPECT_EQ(link_netem(r, "b", "y"), Netem{});
  EXPECT_TRUE(needs_netem(r));
  // In the run's definition (and key): only what the file sets.
  const auto& j = r.resolved["links"];
  EXPECT_EQ(j[0], (nlohmann::json{{"site", "a"}, {"isp", "x"}, {"delay", "25ms"}}));
  EXPECT_EQ(j[1]["jitter"], "5ms");
  EXPECT_EQ(j[1]["distribution"], "uniform");
  EXPECT_EQ(j[1]["correlation"], 25.0);
  EXPECT_EQ(j[2]["distribution"], "normal");
  EXPECT_EQ(j[2]["rate"], 10'000'000u);
  EXPECT_NE(plan.runs[0].key, plan.runs[1].key);
  // A file without links has none, needs no netem, and no "links" key.
  const Plan plain = parse(Doc().text());
  EXPECT_FALSE(needs_netem(plain.runs[0]));
  EXPECT_FALSE(plain.runs[0].resolved.contains("links"));
}

TEST(Links, DelayAndRateFaultsWithTheirUndo) {
  const Plan plan = parse(Doc()
                              .add("faults:")
                              .add("  - { at: 2s, delay: { site: a, isp: x, delay: 200ms }, for: 3s }")
                              .add("  - { at: 3s, rate: { site: b, isp: x, rate: 1M } }")
                              .text());
  const ExpRun& r = plan.runs[0];
  ASSERT_EQ(r.faults.size(), 2u);
  EXPECT_EQ(r.faults[0].kind, Fault::Kind::delay);
  EXPECT_EQ(r.faults[0].netem.delay, Duration(200ms));
  EXPECT_EQ(r.faults[0].lasts, std::optional<Duration>(3s));
  EXPECT_EQ(r.faults[1].kind, Fault::Kind::rate);
  EXPECT_EQ(r.faults[1].netem.rate, 1'000'000u);
  EXPECT_TRUE(needs_netem(r));
  EXPECT_EQ(r.resolved["faults"][0]["kind"], "delay");
  EXPECT_EQ(r.resolved["faults"][0]["delay"], "200ms");
  EXPECT_FALSE(r.resolved["faults"][0].contains("rate"));
  EXPECT_EQ(r.resolved["faults"][1]["rate"], 1'000'000u);
  EXPECT_FALSE(r.resolved["faults"][1].contains("delay"));
}

TEST(Errors, LinksAndNetemFaults) {
  // Each: the line added after `links:` (line 16), where the error must point, what it says.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"  - { site: a, isp: x }", "{ site", "a delay, a rate or both"},
      {"  - { site: a, isp: z, delay: 1ms }", "z,", "site a has no ISP 'z'"},
      {"  - { site: c, isp: x, delay: 1ms }", "c,", "unknown site 'c'"},
      {"  - { isp: x, delay: 1ms }", "{ isp", "missing 'site'"},
      {"  - { site: a, isp: x, delay: 5 }", "5 }", "duration"},
      {"  - { site: a, isp: x, delay: 'exp:5ms' }", "'exp", "not exp"},
      {"  - { site: a, isp: x, delay: 'normal:5ms' }", "'normal", "distribution"},
      {"  - { site: a, isp: x, delay: 2min }", "2min", "at most 1min"},
      {"  - { site: a, isp: x, delay: 5ms, correlation: 10% }", "10%", "give the delay as uniform"},
      {"  - { site: a, isp: x, rate: 10M, correlation: 10% }", "correlation",
       "'correlation' goes with a delay"},
      {"  - { site: a, isp: x, delay: 'uniform:1ms,3ms', correlation: 101 }", "101",
       "not a percentage"},
      {"  - { site: a, isp: x, rate: 0 }", "0 }", "want 1 to 1e12"},
      {"  - { site: a, isp: x, rate: 1.5 }", "1.5", "whole"},
      {"  - { site: a, isp: x, loss: 5 }", "loss", "unknown key 'loss'"},
  };
  for (const auto& [link, where, fragment] : cases) {
    SCOPED_TRACE(link);
    Doc d;
    d.add("links:").add(link);
    EXPECT_ERROR_AT(d.text(), 16, d.col(16, where), fragment);
  }
  Doc twice;
  twice.add("links:").add("  - { site: a, isp: x, delay: 1ms }").add("  - { site: a, isp: x, rate: 1M }");
  EXPECT_ERROR_AT(twice.text(), 17, twice.col(17, "x,"), "twice");
  Doc remote;
  remote.set(5, "  b: { isps: [x], host: h }").add("links:").add("  - { site: b, isp: x, delay: 1ms }");
  EXPECT_ERROR_AT(remote.text(), 16, remote.col(16, "b,"), "remote host");
  // The faults (line 16 after `faults:`).
  const std::vector<std::tuple<std::string, std::string, std::string>> faults = {
      {"  - { at: 1s, delay: { site: a, isp: x } }", "{ site", "missing 'delay'"},
      {"  - { at: 1s, rate: { site: a, isp: x, delay: 1ms } }", "delay", "unknown key 'delay'"},
      {"  - { at: 1s, delay: { site: a, isp: q, delay: 1ms } }", "q,", "site a has no ISP 'q'"},
      {"  - { at: 1s, delay: { site: a, isp: x, delay: 1ms }, for: 10s }", "10s",
       "ends after the run"},
      {"  - { at: 1s, rate: { site: a, isp: x, rate: -1 } }", "-1", "rate"},
  };
  for (const auto& [fault, where, fragment] : faults) {
    SCOPED_TRACE(fault);
    Doc d;
    d.add("faults:").add(fault);
    EXPECT_ERROR_AT(d.text(), 16, d.col(16, where), fragment);
  }
}

}  // namespace
}  // namespace rsplab::experiments
