#include "experiments/experiment.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <tuple>
#include <type_traits>
#include <utility>  // before Asio
#include <variant>

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "experiments/sha256.hpp"
#include "options/options.hpp"
#include "options/roles.hpp"
#include "stack/common/policy_text.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::experiments {

LoadError::LoadError(std::string file, int line, int column, std::string message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message),
      file_(std::move(file)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

std::uint64_t repetition_seed(std::uint64_t base, std::size_t repetition) {
  // SplitMix64's finalizer over base + γ·(i+1): a bijection of the input, so the
  // repetitions of one plan never share a seed; 0 is reserved ("random") and remapped.
  std::uint64_t z = base + 0x9e3779b97f4a7c15ULL * (std::uint64_t{repetition} + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z != 0 ? z : 0x9e3779b97f4a7c15ULL;
}

std::string run_key(const nlohmann::json& resolved, std::string_view rsplab_version) {
  // nlohmann::json keeps object keys sorted, so dump() is canonical for the same content.
  Sha256 h;
  h.update("rsplab ");
  h.update(rsplab_version);
  h.update("\n");
  h.update(resolved.dump());
  return to_hex(h.finish());
}

namespace {
std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t schedule_seed(std::uint64_t run_seed, std::size_t position, std::string_view unit) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the unit's name
  for (const unsigned char c : unit) h = (h ^ c) * 1099511628211ULL;
  return splitmix64(splitmix64(splitmix64(run_seed) ^ (std::uint64_t{position} + 1)) ^ h);
}

Duration exponential_draw(std::uint64_t engine_output, Duration mean) {
  // u in (0, 1]: never ln(0).
  const double u = static_cast<double>((engine_output >> 11) + 1) * 0x1.0p-53;
  const double ns = -std::log(u) * static_cast<double>(mean.count());
  if (!(ns < 9.2e18)) return Duration::max();
  return Duration(static_cast<Duration::rep>(std::llround(ns)));
}

namespace {

namespace asio = boost::asio;
namespace values = rserpool::values;
namespace wire = rserpool::wire;
using namespace std::chrono_literals;

constexpr std::size_t kMaxRuns = 10000;
constexpr std::size_t kMaxCount = 10000;        // members of one group
constexpr std::size_t kMaxFaults = 100000;      // faults of one run, the schedules' included
constexpr std::size_t kMaxSourceNodes = 100000;  // YAML nodes, aliases expanded
constexpr int kMaxDepth = 64;
// The netns backend's limits (agents/sites.hpp): site names at most 32 bytes and not
// "core"; at most 8 ISPs over all sites and 63 sites (its address plan numbers them).
constexpr std::size_t kMaxNameLength = 32;
constexpr std::size_t kMaxIsps = 8;
constexpr std::size_t kMaxSites = 63;
constexpr Duration kMaxPhase = std::chrono::hours(24 * 7);  // warm-up, duration  // site + ISP name length, see README ("Sites")

// 1-based; {0, 0} where yaml-cpp has no position.
struct Pos {
  int line = 0, column = 0;
};

Pos pos_of(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::string at_text(Pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

// A scalar as written in the file. `templated`: it refers to sweep parameters.
struct Text {
  std::string text;
  Pos pos;
  bool templated = false;
};

// ---- component options ------------------------------------------------------------------
// Their keys, grammars and order are options/roles.hpp's tables; here only which role a
// component is.

enum class Role { registrar, pe, pu };

std::string_view role_name(Role r) {
  switch (r) {
    case Role::registrar: return "registrar";
    case Role::pe: return "pe";
    case Role::pu: return "pu";
  }
  return "?";
}

// The keys of `role` a file may set where `where` (options::in_file: a component;
// options::in_timers: `timers:`).
std::vector<std::string_view> file_keys(Role role, unsigned where) {
  const auto keys = [where](auto table) {
    std::vector<std::string_view> out;
    for (const auto& e : table)
      if (e.spec.where & where) out.push_back(e.spec.key);
    return out;
  };
  switch (role) {
    case Role::registrar: return keys(options::RegistrarOptions::table());
    case Role::pe: return keys(options::PeOptions::table());
    case Role::pu: return keys(options::PuOptions::table());
  }
  return {};
}

// `rsplab pe --policy`'s grammar (the one policy parser, stack/common/policy_text.hpp).
// Empty on success, else why not.
std::string check_policy(const std::string& text) {
  return options::check_value(options::Kind::policy, text, options::Source::file, nullptr);
}

// ---- names and addresses ----------------------------------------------------------------

bool is_param_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool is_param_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), is_param_char);
}

// Sites and ISPs: [a-z0-9-], not starting with '-'.
bool is_net_name(std::string_view s) {
  if (s.empty() || s[0] == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Experiment and pool names: [A-Za-z0-9._-], not starting with '-'.
bool is_plain_name(std::string_view s) {
  if (s.empty() || s[0] == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// A site's prefix4 or prefix6, as Asio parses it.
using Prefix = std::variant<asio::ip::network_v4, asio::ip::network_v6>;

bool overlap(const Prefix& a, const Prefix& b) {
  return std::visit(
      [](const auto& x, const auto& y) {
        if constexpr (std::is_same_v<decltype(x), decltype(y)>)
          return x == y || x.is_subnet_of(y) || y.is_subnet_of(x);
        else
          return false;
      },
      a, b);
}

// Why make_network_v4/v6 refused `text` (it says only "invalid argument").
std::string why_not_a_prefix(const std::string& text, bool v6) {
  const auto slash = text.find('/');
  if (slash == std::string::npos)
    return "'" + text + "' is not a prefix ADDRESS/LENGTH (e.g. " +
           (v6 ? "fd00:5253:504c:400::/56" : "198.18.4.0/22") + ")";
  const std::string address = text.substr(0, slash);
  boost::system::error_code ec;
  if (v6) asio::ip::make_address_v6(address, ec);
  else asio::ip::make_address_v4(address, ec);
  // Asio takes a scope ("fe80::1%eth0"), which no prefix has.
  if (ec || address.find('%') != std::string::npos)
    return "'" + address + "' is not an IPv" + (v6 ? "6" : "4") + " address";
  return "'" + text.substr(slash + 1) + "' is not a prefix length (0 to " +
         (v6 ? "128" : "32") + ")";
}

// "198.18.4.0/22" (v4) or "fd00:5253:504c:400::/56" (v6) with room for one /24 (/64) per
// ISP. Empty on success, else why not.
std::string parse_prefix(const std::string& text, bool v6, std::size_t isps, Prefix& out) {
  // Asio reads the length with atoi ("/4294967320" would wrap to /24) and takes a scope.
  if (const auto slash = text.find('/'); slash != std::string::npos) {
    const auto digits = text.find_first_not_of('0', slash + 1);
    if ((digits != std::string::npos && text.size() - digits > 3) || text.find('%') < slash)
      return why_not_a_prefix(text, v6);
  }
  boost::system::error_code ec;
  int len = 0;
  bool host_bits = false;
  if (v6) {
    const auto net = asio::ip::make_network_v6(text, ec);
    len = net.prefix_length();
    host_bits = net.address() != net.network();
    out = net;
  } else {
    const auto net = asio::ip::make_network_v4(text, ec);
    len = net.prefix_length();
    host_bits = net.address() != net.network();
    out = net;
  }
  if (ec) return why_not_a_prefix(text, v6);
  if (host_bits) return "'" + text + "' has host bits set";
  const int per_isp = v6 ? 64 : 24;
  int need = 0;  // bits that number the ISPs
  while ((std::size_t{1} << need) < isps) ++need;
  if (len + need > per_isp)
    return "'" + text + "' has no room for one /" + std::to_string(per_isp) + " per ISP (" +
           std::to_string(isps) + " ISP" + (isps == 1 ? "" : "s") + ": /" +
           std::to_string(per_isp - need) + " or shorter)";
  return {};
}

// ---- the file as JSON -------------------------------------------------------------------

// Scalars as strings. Bounded: aliases can make a small file a huge (or cyclic) tree.
nlohmann::json to_json(const YAML::Node& n, int depth, std::size_t& budget, bool& ok) {
  if (!ok || depth > kMaxDepth || budget == 0) {
    ok = false;
    return nullptr;
  }
  --budget;
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return n.Scalar();
    case YAML::NodeType::Sequence: {
      auto a = nlohmann::json::array();
      for (const auto& x : n) a.push_back(to_json(x, depth + 1, budget, ok));
      return a;
    }
    case YAML::NodeType::Map: {
      auto o = nlohmann::json::object();
      for (const auto& kv : n) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        if (!o.contains(key)) o[key] = to_json(kv.second, depth + 1, budget, ok);
      }
      return o;
    }
    default: return nullptr;
  }
}

// Records where a document's first node starts.
class FirstMark final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    see(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnMapEnd() override {}

 private:
  void see(const YAML::Mark& m) {
    if (!mark) mark = m;
  }
};

// ---- the file as read, before the sweep is applied --------------------------------------

struct RawOption {
  std::string key;  // a key of the role's options table
  Text value;
};

// A registrar, a PE group or a PU group.
struct RawComponent {
  Pos pos;
  std::string path;  // "pools.CalcAppPool.pes[0]", for messages
  Text site;
  std::optional<Text> count, policy;
  std::vector<RawOption> options;
};

struct RawPool {
  std::string name;
  Pos pos;
  std::optional<Text> policy;
  std::vector<RawComponent> pes, pus;
};

struct RawFault {
  Pos pos;
  std::string path;   // "faults[3]"
  std::string apath;  // "faults[3].churn": the action's
  Fault::Kind kind = Fault::Kind::kill;
  Fault::TargetKind target_kind = Fault::TargetKind::none;
  std::optional<Schedule::Kind> schedule;  // churn/flap: no `at`, mtbf and downtime instead
  Text at;
  std::optional<Text> lasts, target, site, isp, count;
  std::optional<Text> select;                        // kill/stop: random | busiest
  std::optional<std::vector<Text>> members;          // kill/stop/resume/restart: member
  Pos members_pos;
  std::optional<Text> percent;                       // loss
  std::vector<Text> sites;                           // partition: two
  std::optional<Text> mtbf, downtime, start, until;  // churn, flap
};

struct Dimension {
  std::vector<std::string> names;
  std::vector<Pos> name_pos;
  std::vector<std::vector<Text>> values;  // values[name][point]
  std::size_t size = 0;
};

struct Raw {
  std::string name;
  Text duration, warmup{"0s", {}, false}, transport{"auto", {}, false};
  std::size_t repetitions = 1;
  std::uint64_t seed = 0;
  std::vector<Site> sites;
  std::vector<Pos> site_pos;
  std::vector<RawComponent> registrars;
  std::map<Role, std::vector<RawOption>> timers;
  std::vector<RawPool> pools;
  std::vector<RawFault> faults;
  std::vector<Dimension> dims;
  Pos sweep_pos;
};

struct Entry {
  std::string key;
  Pos key_pos;
  Pos pos;  // the value's, or the key's where the value is empty
  YAML::Node value;
};

// The value of a sweep parameter at one sweep point, as written.
using Point = std::map<std::string, const Text*>;

// A value with sweep parameters substituted; `pos` and `note` say where to look when it is
// wrong (for a substituted value: the sweep's value, and where it was used).
struct Val {
  std::string text;
  Pos pos;
  std::string note;
};

class Loader {
 public:
  Loader(std::string file, std::string_view version, std::optional<std::size_t> repetitions)
      : file_(std::move(file)), version_(version), repetitions_(repetitions) {}

  Plan load(std::string_view yaml) {
    // Not YAML::LoadAll: in yaml-cpp 0.7 it loops, allocating without end, on input such as
    // "," (yaml-cpp issue 1040, fixed upstream by PR 1319). Load the first document, and ask
    // a parser whether a second one follows.
    YAML::Node root;
    std::optional<Pos> second;
    try {
      root = YAML::Load(std::string(yaml));
      std::istringstream in{std::string(yaml)};
      YAML::Parser parser(in);
      FirstMark first, next;
      if (parser.HandleNextDocument(first) && parser.HandleNextDocument(next) && next.mark)
        second = pos_of(*next.mark);
    } catch (const YAML::Exception& e) {
      fail(pos_of(e.mark), e.msg);
    }
    if (root.IsNull())
      fail({1, 1}, "no experiment here: expected a map (name, duration, sites, registrars, pools, ...)");
    if (second) fail(*second, "one experiment per file: a second document starts here");
    if (!root.IsMap())
      fail(pos_of(root.Mark()),
           "an experiment is a map (name, duration, sites, registrars, pools, ...)");

    Plan plan;
    plan.file = file_;
    std::size_t budget = kMaxSourceNodes;
    bool ok = true;
    plan.source = to_json(root, 0, budget, ok);
    if (!ok)
      fail(pos_of(root.Mark()), "too large or too deeply nested (at most " +
                                    std::to_string(kMaxSourceNodes) + " values, " +
                                    std::to_string(kMaxDepth) +
                                    " levels; is an alias recursive?)");

    Raw raw;
    const auto top = entries(root, {1, 1}, "the experiment",
                             {"name", "description", "duration", "warmup", "repetitions", "seed",
                              "transport", "sites", "registrars", "timers", "pools", "faults",
                              "sweep"});
    // The sweep first: every other value may refer to its parameters.
    if (const Entry* e = find(top, "sweep")) read_sweep(*e, raw);

    const Text name = scalar(need(top, "name", {1, 1}, "the experiment"), "name", false);
    if (!is_plain_name(name.text))
      fail(name.pos, "name: '" + name.text + "' is not a name ([A-Za-z0-9._-], not starting with '-')");
    raw.name = name.text;
    if (const Entry* e = find(top, "description")) scalar(*e, "description", false);
    raw.duration = scalar(need(top, "duration", {1, 1}, "the experiment"), "duration", true);
    if (const Entry* e = find(top, "warmup")) raw.warmup = scalar(*e, "warmup", true);
    if (const Entry* e = find(top, "transport")) raw.transport = scalar(*e, "transport", true);
    if (const Entry* e = find(top, "repetitions")) {
      const Text t = scalar(*e, "repetitions", false);
      std::string err;
      const auto v = values::parse_amount(t.text, true, &err);
      if (!v) fail(t.pos, "repetitions: " + err);
      if (*v < 1 || *v > double(kMaxRuns))
        fail(t.pos, "repetitions: '" + t.text + "' must be 1 to " + std::to_string(kMaxRuns));
      raw.repetitions = static_cast<std::size_t>(*v);
    }
    if (repetitions_) raw.repetitions = *repetitions_;
    if (const Entry* e = find(top, "seed")) {
      const Text t = scalar(*e, "seed", false);
      const auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), raw.seed);
      if (t.text.empty() || r.ec != std::errc() || r.ptr != t.text.data() + t.text.size())
        fail(t.pos, "seed: '" + t.text + "' is not a whole number 0 to 18446744073709551615");
    }
    read_sites(need(top, "sites", {1, 1}, "the experiment"), raw);
    read_registrars(need(top, "registrars", {1, 1}, "the experiment"), raw);
    if (const Entry* e = find(top, "timers")) read_timers(*e, raw);
    read_pools(need(top, "pools", {1, 1}, "the experiment"), raw);
    if (const Entry* e = find(top, "faults")) read_faults(*e, raw);

    for (const Dimension& d : raw.dims)
      for (std::size_t k = 0; k < d.names.size(); ++k)
        if (!used_.contains(d.names[k]) && !labels_.contains(d.names[k]))
          fail(d.name_pos[k], "sweep parameter '" + d.names[k] +
                                  "' is used nowhere: refer to it as $" + d.names[k] +
                                  ", or list it under sweep.labels if it only names the points");

    expand(raw, plan);
    return plan;
  }

 private:
  [[noreturn]] void fail(Pos p, const std::string& message) const {
    throw LoadError(file_, p.line, p.column, message);
  }

  // ---- structure ----

  // The map at `node` (`path` names it in messages) as entries in file order: keys are
  // names, none twice, each in `allowed` (unless `allowed` is empty).
  std::vector<Entry> entries(const YAML::Node& node, Pos where, const std::string& path,
                             std::vector<std::string_view> allowed) const {
    if (!node.IsMap())
      fail(where, path + ": expected a map" + std::string(node.IsSequence() ? ", not a list" : ""));
    std::vector<Entry> out;
    std::map<std::string, Pos> seen;
    for (const auto& kv : node) {
      const Pos key_pos = pos_of(kv.first.Mark());
      if (!kv.first.IsScalar()) fail(key_pos, path + ": a key must be a name");
      Entry e{kv.first.Scalar(), key_pos, key_pos, kv.second};
      if (!kv.second.IsNull()) {
        const Pos p = pos_of(kv.second.Mark());
        if (p.line > 0) e.pos = p;
      }
      // yaml-cpp 0.7 keeps both pairs of a duplicated key (operator[] finds the first).
      if (const auto [it, fresh] = seen.emplace(e.key, key_pos); !fresh)
        fail(key_pos, "duplicate key '" + e.key + "' in " + path + " (first at " +
                          at_text(it->second) + ")");
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
        std::string_view best;
        std::size_t best_d = 3;
        for (const auto a : allowed)
          if (const auto d = edit_distance(e.key, a); d < best_d) best = a, best_d = d;
        std::string list;
        for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(key_pos, "unknown key '" + e.key + "' in " + path +
                          (best.empty() ? " (expected one of: " + list + ")"
                                        : " (did you mean '" + std::string(best) + "'?)"));
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  static const Entry* find(const std::vector<Entry>& es, std::string_view key) {
    for (const Entry& e : es)
      if (e.key == key) return &e;
    return nullptr;
  }

  const Entry& need(const std::vector<Entry>& es, std::string_view key, Pos where,
                    const std::string& path) const {
    if (const Entry* e = find(es, key)) return *e;
    fail(where, path + ": missing '" + std::string(key) + "'");
  }

  std::vector<std::pair<YAML::Node, Pos>> list(const Entry& e, const std::string& path,
                                               bool non_empty = true) const {
    if (!e.value.IsSequence())
      fail(e.pos, path + ": expected a list" +
                      std::string(e.value.IsMap() ? ", not a map" : " ([a, b] or '- ' lines)"));
    std::vector<std::pair<YAML::Node, Pos>> out;
    for (const auto& x : e.value) {
      Pos p = pos_of(x.Mark());
      if (x.IsNull() || p.line == 0) p = e.pos;
      out.emplace_back(x, p);
    }
    if (non_empty && out.empty()) fail(e.pos, path + ": an empty list");
    return out;
  }

  // A single value; `templ`: may refer to sweep parameters.
  Text scalar(const YAML::Node& n, Pos pos, const std::string& path, bool templ) {
    if (n.IsNull()) fail(pos, path + ": needs a value");
    if (!n.IsScalar())
      fail(pos, path + ": expected a single value, not a " + (n.IsMap() ? "map" : "list"));
    Text t{n.Scalar(), pos, false};
    scan(t, path, templ);
    return t;
  }
  Text scalar(const Entry& e, const std::string& path, bool templ) {
    return scalar(e.value, e.pos, path, templ);
  }

  // Calls f(begin, end, name) for each $name / ${name} in `s`; false on a malformed one.
  template <class F>
  static bool references(const std::string& s, F&& f) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$') continue;
      std::size_t j = i + 1;
      std::string name;
      if (j < s.size() && s[j] == '{') {
        const auto close = s.find('}', j);
        if (close == std::string::npos) return false;
        name = s.substr(j + 1, close - j - 1);
        j = close + 1;
      } else {
        while (j < s.size() && is_param_char(s[j])) ++j;
        name = s.substr(i + 1, j - i - 1);
      }
      if (!is_param_name(name)) return false;
      f(i, j, name);
      i = j - 1;
    }
    return true;
  }

  void scan(Text& t, const std::string& path, bool templ) {
    if (t.text.find('$') == std::string::npos) return;
    if (!templ)
      fail(t.pos, path + ": '" + t.text + "': no $parameters here (the same in every run)");
    const bool ok = references(t.text, [&](std::size_t, std::size_t, const std::string& name) {
      if (!params_.contains(name)) {
        std::string known;
        for (const auto& [k, v] : params_) known += (known.empty() ? "" : ", ") + k;
        fail(t.pos, path + ": unknown parameter $" + name +
                        (known.empty() ? " (there is no sweep)" : " (the sweep has: " + known + ")"));
      }
      used_.insert(name);
    });
    if (!ok)
      fail(t.pos, path + ": '" + t.text +
                      "': '$' starts a sweep parameter: $name or ${name} (letters, digits, _)");
    t.templated = true;
  }

  // ---- sections ----

  void read_sweep(const Entry& e, Raw& raw) {
    raw.sweep_pos = e.pos;
    const auto es = entries(e.value, e.pos, "sweep", {});
    std::map<std::string, Pos> label_pos;
    const auto add = [&](Dimension& d, const Entry& p, const std::string& path) {
      if (!is_param_name(p.key))
        fail(p.key_pos, path + ": '" + p.key + "' is not a parameter name (letters, digits, _)");
      if (const auto it = params_.find(p.key); it != params_.end())
        fail(p.key_pos, "sweep parameter '" + p.key + "' defined twice (first at " +
                            at_text(it->second) + ")");
      params_[p.key] = p.key_pos;
      std::vector<Text> vs;
      for (const auto& [n, pos] : list(p, path + "." + p.key))
        vs.push_back(scalar(n, pos, path + "." + p.key, false));
      d.names.push_back(p.key);
      d.name_pos.push_back(p.key_pos);
      d.values.push_back(std::move(vs));
    };
    for (const Entry& p : es) {
      if (p.key == "labels") {
        for (const auto& [n, pos] : list(p, "sweep.labels"))
          label_pos[scalar(n, pos, "sweep.labels", false).text] = pos;
      } else if (p.key == "zip") {
        std::size_t i = 0;
        for (const auto& [n, pos] : list(p, "sweep.zip")) {
          const std::string path = "sweep.zip[" + std::to_string(i++) + "]";
          Dimension d;
          const auto group = entries(n, pos, path, {});
          if (group.empty()) fail(pos, path + ": an empty map");
          for (const Entry& g : group) {
            add(d, g, path);
            const std::size_t len = d.values.back().size();
            if (d.names.size() == 1) {
              d.size = len;
            } else if (len != d.size) {
              fail(g.pos, path + ": zipped lists differ in length: '" + g.key + "' has " +
                              std::to_string(len) + " values, '" + d.names[0] + "' has " +
                              std::to_string(d.size));
            }
          }
          raw.dims.push_back(std::move(d));
        }
      } else {
        Dimension d;
        add(d, p, "sweep");
        d.size = d.values[0].size();
        raw.dims.push_back(std::move(d));
      }
    }
    for (const auto& [name, pos] : label_pos) {
      if (!params_.contains(name))
        fail(pos, "sweep.labels: '" + name + "' is not a sweep parameter");
      labels_.insert(name);
    }
    std::size_t points = 1;
    for (const Dimension& d : raw.dims) {
      if (points > kMaxRuns / d.size)
        fail(e.pos, "sweep: more than " + std::to_string(kMaxRuns) + " points");
      points *= d.size;
    }
  }

  void read_sites(const Entry& e, Raw& raw) {
    const auto es = entries(e.value, e.pos, "sites", {});
    if (es.empty()) fail(e.pos, "sites: at least one site");
    for (const Entry& s : es) {
      const std::string path = "sites." + s.key;
      if (s.key.find('$') != std::string::npos)
        fail(s.key_pos, path + ": no $parameters here (the same in every run)");
      if (!is_net_name(s.key) || s.key.size() > kMaxNameLength || s.key == "core")
        fail(s.key_pos, "site name '" + s.key +
                            "': use a-z, 0-9 and '-' (not first), at most 32 characters, not 'core'");
      if (raw.sites.size() == kMaxSites)
        fail(s.key_pos, "sites: at most " + std::to_string(kMaxSites));
      const auto fields = entries(s.value, s.pos, path,
                                  {"isps", "host", "rsplab", "addresses", "interfaces", "prefix4",
                                   "prefix6"});
      Site site;
      site.name = s.key;
      const Entry& isps = need(fields, "isps", s.pos, path);
      std::vector<Pos> isp_pos;
      for (const auto& [n, pos] : list(isps, path + ".isps")) {
        const Text t = scalar(n, pos, path + ".isps", false);
        if (!is_net_name(t.text) || t.text.size() > kMaxNameLength)
          fail(t.pos, path + ".isps: '" + t.text +
                          "': use a-z, 0-9 and '-' (not first), at most 32 characters");
        for (std::size_t k = 0; k < site.isps.size(); ++k)
          if (site.isps[k] == t.text)
            fail(t.pos, path + ".isps: '" + t.text + "' twice (first at " + at_text(isp_pos[k]) + ")");
        if (!all_isps_.contains(t.text) && all_isps_.size() == kMaxIsps)
          fail(t.pos, path + ".isps: '" + t.text + "' would be ISP number " +
                          std::to_string(kMaxIsps + 1) + ": at most " +
                          std::to_string(kMaxIsps) + " ISPs over all sites");
        all_isps_.insert(t.text);
        site.isps.push_back(t.text);
        isp_pos.push_back(t.pos);
      }
      if (const Entry* h = find(fields, "host")) {
        const Text t = scalar(*h, path + ".host", false);
        if (t.text.empty() || t.text[0] == '-' ||
            std::any_of(t.text.begin(), t.text.end(),
                        [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '\''; }))
          fail(t.pos, path + ".host: '" + t.text + "' is not an ssh destination ([user@]host)");
        site.host = t.text;
      }
      for (const char* key : {"rsplab", "addresses", "interfaces"}) {
        const Entry* x = find(fields, key);
        if (x && !site.host)
          fail(x->key_pos, path + "." + key + ": only for a remote site (one with 'host')");
      }
      if (const Entry* x = find(fields, "rsplab")) {
        const Text t = scalar(*x, path + ".rsplab", false);
        if (t.text.empty() || t.text[0] == '-' ||
            std::any_of(t.text.begin(), t.text.end(), [](char c) {
              return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' ||
                     c == '$' || c == '`' || c == ';' || c == '&' || c == '|';
            }))
          fail(t.pos, path + ".rsplab: '" + t.text +
                          "' is not a path or name of the rsplab executable (no spaces or shell "
                          "characters)");
        site.rsplab = t.text;
      }
      if (const Entry* x = find(fields, "addresses")) {
        for (const auto& [n, pos] : list(*x, path + ".addresses")) {
          const Text t = scalar(n, pos, path + ".addresses", false);
          unsigned char buf[16];
          if (::inet_pton(AF_INET, t.text.c_str(), buf) != 1 &&
              ::inet_pton(AF_INET6, t.text.c_str(), buf) != 1)
            fail(t.pos, path + ".addresses: '" + t.text + "' is not an IP address");
          site.addresses.push_back(t.text);
        }
        if (site.addresses.empty()) fail(x->pos, path + ".addresses: at least one address");
      }
      if (const Entry* x = find(fields, "interfaces")) {
        for (const auto& [n, pos] : list(*x, path + ".interfaces")) {
          const Text t = scalar(n, pos, path + ".interfaces", false);
          if (t.text.empty() || t.text.size() > 15 || t.text[0] == '-' ||
              std::any_of(t.text.begin(), t.text.end(), [](char c) {
                return !(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                         c == '.' || c == '@');
              }))
            fail(t.pos, path + ".interfaces: '" + t.text + "' is not an interface name");
          site.interfaces.push_back(t.text);
        }
        if (site.interfaces.size() != site.isps.size())
          fail(x->pos, path + ".interfaces: one per ISP (" + std::to_string(site.isps.size()) +
                           " ISPs, " + std::to_string(site.interfaces.size()) + " interfaces)");
      }
      for (const bool v6 : {false, true}) {
        const char* key = v6 ? "prefix6" : "prefix4";
        if (const Entry* p = find(fields, key)) {
          const Text t = scalar(*p, path + "." + key, false);
          Prefix prefix;
          if (const auto why = parse_prefix(t.text, v6, site.isps.size(), prefix); !why.empty())
            fail(t.pos, path + "." + key + ": " + why);
          auto& seen = v6 ? prefixes6_ : prefixes4_;
          for (const auto& [other, other_pos, other_site] : seen)
            if (overlap(prefix, other))
              fail(t.pos, path + "." + key + ": '" + t.text + "' overlaps site " + other_site +
                              "'s (" + at_text(other_pos) + ")");
          seen.emplace_back(prefix, t.pos, site.name);
          (v6 ? site.prefix6 : site.prefix4) = t.text;
        }
      }
      raw.sites.push_back(std::move(site));
      raw.site_pos.push_back(s.key_pos);
    }
    for (std::size_t i = 1; i < raw.sites.size(); ++i)
      for (const bool v6 : {false, true}) {
        const auto& a = v6 ? raw.sites[0].prefix6 : raw.sites[0].prefix4;
        const auto& b = v6 ? raw.sites[i].prefix6 : raw.sites[i].prefix4;
        if (a.has_value() != b.has_value()) {
          const std::size_t without = a ? i : 0, with = a ? 0 : i;
          fail(raw.site_pos[without],
               "sites." + raw.sites[without].name + ": no " + (v6 ? "prefix6" : "prefix4") +
                   " while site " + raw.sites[with].name +
                   " has one: give every site an address plan or none");
        }
      }
  }

  RawComponent component(const YAML::Node& n, Pos pos, const std::string& path, Role role) {
    std::vector<std::string_view> allowed{"site"};
    if (role != Role::registrar) allowed.push_back("count");
    if (role == Role::pe) allowed.push_back("policy");
    for (const std::string_view key : file_keys(role, options::in_file)) allowed.push_back(key);
    const auto es = entries(n, pos, path, allowed);
    RawComponent c;
    c.pos = pos;
    c.path = path;
    c.site = scalar(need(es, "site", pos, path), path + ".site", true);
    for (const Entry& e : es) {
      if (e.key == "site") continue;
      Text t = scalar(e, path + "." + e.key, true);
      if (e.key == "count") c.count = t;
      else if (e.key == "policy") c.policy = t;
      else c.options.push_back({e.key, t});
    }
    return c;
  }

  void read_registrars(const Entry& e, Raw& raw) {
    std::size_t i = 0;
    for (const auto& [n, pos] : list(e, "registrars"))
      raw.registrars.push_back(
          component(n, pos, "registrars[" + std::to_string(i++) + "]", Role::registrar));
  }

  void read_timers(const Entry& e, Raw& raw) {
    for (const Entry& r : entries(e.value, e.pos, "timers", {"registrar", "pe", "pu"})) {
      const Role role = r.key == "registrar" ? Role::registrar : r.key == "pe" ? Role::pe : Role::pu;
      const std::string path = "timers." + r.key;
      const auto allowed = file_keys(role, options::in_timers);
      for (const Entry& o : entries(r.value, r.pos, path, allowed))
        raw.timers[role].push_back({o.key, scalar(o, path + "." + o.key, true)});
    }
  }

  void read_pools(const Entry& e, Raw& raw) {
    const auto es = entries(e.value, e.pos, "pools", {});
    if (es.empty()) fail(e.pos, "pools: at least one pool");
    for (const Entry& p : es) {
      const std::string path = "pools." + p.key;
      if (!is_plain_name(p.key) || p.key.find('$') != std::string::npos)
        fail(p.key_pos, "pool name '" + p.key + "': use A-Z, a-z, 0-9, '.', '_' and '-'");
      RawPool pool;
      pool.name = p.key;
      pool.pos = p.key_pos;
      const auto fields = entries(p.value, p.pos, path, {"policy", "pes", "pus"});
      if (const Entry* f = find(fields, "policy")) pool.policy = scalar(*f, path + ".policy", true);
      std::size_t i = 0;
      for (const auto& [n, pos] : list(need(fields, "pes", p.pos, path), path + ".pes"))
        pool.pes.push_back(component(n, pos, path + ".pes[" + std::to_string(i++) + "]", Role::pe));
      if (const Entry* f = find(fields, "pus")) {
        i = 0;
        for (const auto& [n, pos] : list(*f, path + ".pus", false))
          pool.pus.push_back(component(n, pos, path + ".pus[" + std::to_string(i++) + "]", Role::pu));
      }
      raw.pools.push_back(std::move(pool));
    }
  }

  void read_faults(const Entry& e, Raw& raw) {
    std::size_t i = 0;
    for (const auto& [n, pos] : list(e, "faults", false)) {
      const std::string path = "faults[" + std::to_string(i++) + "]";
      const auto es = entries(n, pos, path,
                              {"at", "for", "kill", "stop", "resume", "restart", "link-down",
                               "link-up", "loss", "partition", "churn", "flap"});
      RawFault f;
      f.pos = pos;
      f.path = path;
      const Entry* action = nullptr;
      for (const Entry& x : es) {
        if (x.key == "at" || x.key == "for") continue;
        if (action)
          fail(x.key_pos, path + ": one action per fault ('" + action->key + "' and '" + x.key +
                              "'): write two faults");
        action = &x;
      }
      if (!action)
        fail(pos, path + ": missing the action (kill, stop, resume, restart, link-down, link-up, "
                         "loss, partition, churn, flap)");
      const std::string apath = path + "." + action->key;
      f.apath = apath;
      if (action->key == "churn" || action->key == "flap") {
        // A schedule: its times come from mtbf and downtime, not from `at` and `for`.
        for (const char* key : {"at", "for"})
          if (const Entry* x = find(es, key))
            fail(x->key_pos, path + ": '" + key + "' is not for a schedule (" + action->key +
                                 " has mtbf, downtime, and optionally start and until)");
        const bool churn = action->key == "churn";
        f.schedule = churn ? Schedule::Kind::churn : Schedule::Kind::flap;
        std::vector<std::string_view> allowed{"mtbf", "downtime", "start", "until", "site"};
        if (churn) allowed.insert(allowed.end(), {"registrar", "group", "pool"});
        else allowed.push_back("isp");
        const auto as = entries(action->value, action->pos, apath, allowed);
        if (churn) {
          read_target(as, apath, f);
          if (f.target_kind == Fault::TargetKind::none)
            fail(action->pos, apath + ": missing the target (registrar, group or pool)");
        } else {
          f.site = scalar(need(as, "site", action->pos, apath), apath + ".site", true);
          f.isp = scalar(need(as, "isp", action->pos, apath), apath + ".isp", true);
        }
        f.mtbf = scalar(need(as, "mtbf", action->pos, apath), apath + ".mtbf", true);
        f.downtime = scalar(need(as, "downtime", action->pos, apath), apath + ".downtime", true);
        if (const Entry* x = find(as, "start")) f.start = scalar(*x, apath + ".start", true);
        if (const Entry* x = find(as, "until")) f.until = scalar(*x, apath + ".until", true);
        raw.faults.push_back(std::move(f));
        continue;
      }
      f.at = scalar(need(es, "at", pos, path), path + ".at", true);
      if (action->key == "link-down" || action->key == "link-up" || action->key == "loss") {
        f.kind = action->key == "link-down" ? Fault::Kind::link_down
                 : action->key == "link-up" ? Fault::Kind::link_up
                                            : Fault::Kind::loss;
        const bool loss = f.kind == Fault::Kind::loss;
        const auto as = entries(action->value, action->pos, apath,
                                loss ? std::vector<std::string_view>{"site", "isp", "percent"}
                                     : std::vector<std::string_view>{"site", "isp"});
        f.site = scalar(need(as, "site", action->pos, apath), apath + ".site", true);
        f.isp = scalar(need(as, "isp", action->pos, apath), apath + ".isp", true);
        if (loss)
          f.percent = scalar(need(as, "percent", action->pos, apath), apath + ".percent", true);
      } else if (action->key == "partition") {
        f.kind = Fault::Kind::partition;
        const auto as = entries(action->value, action->pos, apath, {"sites"});
        const Entry& sites = need(as, "sites", action->pos, apath);
        for (const auto& [x, xpos] : list(sites, apath + ".sites"))
          f.sites.push_back(scalar(x, xpos, apath + ".sites", true));
        if (f.sites.size() != 2)
          fail(sites.pos, apath + ".sites: two sites, [a, b] (traffic between them is dropped), not " +
                              std::to_string(f.sites.size()));
      } else {
        f.kind = action->key == "kill"      ? Fault::Kind::kill
                 : action->key == "stop"    ? Fault::Kind::stop
                 : action->key == "restart" ? Fault::Kind::restart
                                            : Fault::Kind::resume;
        const auto as =
            entries(action->value, action->pos, apath,
                    {"registrar", "group", "pool", "site", "count", "select", "member"});
        read_target(as, apath, f);
        if (f.target_kind == Fault::TargetKind::none)
          fail(action->pos, apath + ": missing the target (registrar, group or pool)");
        if (const Entry* c = find(as, "count")) f.count = scalar(*c, apath + ".count", true);
        read_selection(as, apath, f);
      }
      if (const Entry* x = find(es, "for")) {
        if (f.kind != Fault::Kind::stop && f.kind != Fault::Kind::link_down &&
            f.kind != Fault::Kind::loss && f.kind != Fault::Kind::partition)
          fail(x->key_pos, path + ": 'for' goes with stop, link-down, loss and partition only");
        f.lasts = scalar(*x, path + ".for", true);
      }
      raw.faults.push_back(std::move(f));
    }
  }

  // `select` and `member` of kill/stop/resume/restart (Fault::Select).
  void read_selection(const std::vector<Entry>& as, const std::string& apath, RawFault& f) {
    const Entry* select = find(as, "select");
    const Entry* member = find(as, "member");
    for (const Entry* x : {select, member})
      if (x && f.target_kind == Fault::TargetKind::registrar)
        fail(x->key_pos,
             apath + ": '" + x->key + "' chooses members of a group or pool, not a registrar");
    if (select) {
      if (f.kind != Fault::Kind::kill && f.kind != Fault::Kind::stop)
        fail(select->key_pos, apath + ": 'select' goes with kill and stop (restart takes "
                                      "crashed members first, resume stopped ones; name "
                                      "members with 'member')");
      f.select = scalar(*select, apath + ".select", true);
    }
    if (!member) return;
    if (select) fail(member->key_pos, apath + ": 'select' or 'member', not both");
    if (const Entry* c = find(as, "count"))
      fail(c->key_pos, apath + ": 'count' or 'member' (the list says how many), not both");
    f.members.emplace();
    f.members_pos = member->pos;
    for (const auto& [x, xpos] : list(*member, apath + ".member"))
      f.members->push_back(scalar(x, xpos, apath + ".member", true));
  }

  // The target of kill/stop/resume/restart/churn: one of registrar, group, pool; `site`
  // narrows a pool.
  void read_target(const std::vector<Entry>& as, const std::string& apath, RawFault& f) {
    const Entry* target = nullptr;
    for (const Entry& x : as) {
      if (x.key != "registrar" && x.key != "group" && x.key != "pool") continue;
      if (target)
        fail(x.key_pos, apath + ": one target ('" + target->key + "' and '" + x.key + "')");
      target = &x;
    }
    if (!target) return;
    f.target_kind = target->key == "registrar" ? Fault::TargetKind::registrar
                    : target->key == "group"   ? Fault::TargetKind::group
                                               : Fault::TargetKind::pool;
    f.target = scalar(*target, apath + "." + target->key, true);
    if (const Entry* s = find(as, "site")) {
      if (f.target_kind != Fault::TargetKind::pool)
        fail(s->key_pos, apath + ": 'site' narrows a pool target only");
      f.site = scalar(*s, apath + ".site", true);
    }
  }

  // ---- one sweep point ----

  Val get(const Text& t, const Point& point) const {
    if (!t.templated) return {t.text, t.pos, {}};
    Val v;
    const Text* first = nullptr;
    std::size_t last = 0;
    references(t.text, [&](std::size_t b, std::size_t e, const std::string& name) {
      const Text* value = point.at(name);
      if (!first) first = value;
      v.text += t.text.substr(last, b - last) + value->text;
      last = e;
    });
    v.text += t.text.substr(last);
    v.pos = first->pos;
    v.note = " (from the sweep; used at " + at_text(t.pos) + " as '" + t.text + "')";
    return v;
  }

  [[noreturn]] void bad(const Val& v, const std::string& path, const std::string& why) const {
    fail(v.pos, path + ": " + why + v.note);
  }

  Duration duration(const Text& t, const Point& point, const std::string& path) const {
    const Val v = get(t, point);
    std::string err;
    const auto d = values::parse_duration(v.text, "", &err);
    if (!d) bad(v, path, err);
    return *d;
  }

  std::size_t count(const std::optional<Text>& t, const Point& point, const std::string& path) const {
    if (!t) return 1;
    const Val v = get(*t, point);
    std::string err;
    const auto n = values::parse_amount(v.text, true, &err);
    if (!n) bad(v, path, err);
    if (*n < 1 || *n > double(kMaxCount))
      bad(v, path, "'" + v.text + "' must be 1 to " + std::to_string(kMaxCount));
    return static_cast<std::size_t>(*n);
  }

  const Site& site_ref(const Text& t, const Point& point, const std::vector<Site>& sites,
                       const std::string& path) const {
    const Val v = get(t, point);
    for (const Site& s : sites)
      if (s.name == v.text) return s;
    std::string names;
    for (const Site& s : sites) names += (names.empty() ? "" : ", ") + s.name;
    bad(v, path, "unknown site '" + v.text + "' (sites: " + names + ")");
  }

  // One component's options: its own, else its role's `timers:` default, each checked by the
  // options' grammar for files, in table order (the file's order is no part of the key).
  template <class T>
  T component_options(Role role, const std::vector<RawOption>& own,
                      const std::map<Role, std::vector<RawOption>>& timers, const Point& point,
                      const std::string& path) const {
    T out;
    const auto defaults = timers.find(role);
    for (const options::Entry<T>& e : T::table()) {
      if (!(e.spec.where & options::in_file)) continue;
      const RawOption* chosen = nullptr;
      std::string where = path;
      for (const RawOption& r : own)
        if (r.key == e.spec.key) chosen = &r;
      if (!chosen && defaults != timers.end()) {
        for (const RawOption& r : defaults->second)
          if (r.key == e.spec.key) chosen = &r;
        where = "timers." + std::string(role_name(role));
      }
      if (!chosen) continue;
      const Val v = get(chosen->value, point);
      if (const auto why = options::set(out, e.spec.key, v.text, options::Source::file); !why.empty())
        bad(v, where + "." + std::string(e.spec.key), why);
    }
    return out;
  }

  // `timers:` checked even where no component of its role would take a value.
  void check_timers(const Raw& raw, const Point& point) const {
    for (const auto& [role, list] : raw.timers) {
      switch (role) {
        case Role::registrar:
          component_options<options::RegistrarOptions>(role, {}, raw.timers, point, "timers");
          break;
        case Role::pe: component_options<options::PeOptions>(role, {}, raw.timers, point, "timers"); break;
        case Role::pu: component_options<options::PuOptions>(role, {}, raw.timers, point, "timers"); break;
      }
    }
  }

  Run resolve(const Raw& raw, const Point& point) const {
    Run run;
    run.name = raw.name;
    for (const auto& [name, value] : point) run.parameters[name] = value->text;
    run.duration = duration(raw.duration, point, "duration");
    if (run.duration <= 0ns) bad(get(raw.duration, point), "duration", "must be above 0");
    if (run.duration > kMaxPhase) bad(get(raw.duration, point), "duration", "at most 7 days");
    run.warmup = duration(raw.warmup, point, "warmup");
    if (run.warmup > kMaxPhase) bad(get(raw.warmup, point), "warmup", "at most 7 days");
    {
      const Val v = get(raw.transport, point);
      if (v.text != "auto" && v.text != "sctp" && v.text != "tcp")
        bad(v, "transport", "'" + v.text + "' is not a transport (auto, sctp, tcp)");
      run.transport = v.text;
    }
    run.sites = raw.sites;
    check_timers(raw, point);

    for (std::size_t i = 0; i < raw.registrars.size(); ++i) {
      const RawComponent& c = raw.registrars[i];
      Registrar r;
      r.name = "pr" + std::to_string(i);
      r.site = site_ref(c.site, point, run.sites, c.path + ".site").name;
      r.options = component_options<options::RegistrarOptions>(Role::registrar, c.options,
                                                               raw.timers, point, c.path);
      r.args = options::to_args(r.options);
      run.registrars.push_back(std::move(r));
    }
    for (const RawPool& pool : raw.pools) {
      std::string pool_policy = "rr";  // `rsplab pe`'s default
      if (pool.policy) {
        const Val v = get(*pool.policy, point);
        if (const auto why = check_policy(v.text); !why.empty())
          bad(v, "pools." + pool.name + ".policy", why);
        pool_policy = v.text;
      }
      for (std::size_t i = 0; i < pool.pes.size(); ++i) {
        const RawComponent& c = pool.pes[i];
        PeGroup g;
        g.name = pool.name + "/pe" + std::to_string(i);
        g.pool = pool.name;
        g.site = site_ref(c.site, point, run.sites, c.path + ".site").name;
        g.count = count(c.count, point, c.path + ".count");
        g.policy = pool_policy;
        if (c.policy) {
          const Val v = get(*c.policy, point);
          if (const auto why = check_policy(v.text); !why.empty()) bad(v, c.path + ".policy", why);
          g.policy = v.text;
        }
        g.options =
            component_options<options::PeOptions>(Role::pe, c.options, raw.timers, point, c.path);
        g.args = options::to_args(g.options);
        run.pes.push_back(std::move(g));
      }
      for (std::size_t i = 0; i < pool.pus.size(); ++i) {
        const RawComponent& c = pool.pus[i];
        PuGroup g;
        g.name = pool.name + "/pu" + std::to_string(i);
        g.pool = pool.name;
        g.site = site_ref(c.site, point, run.sites, c.path + ".site").name;
        g.count = count(c.count, point, c.path + ".count");
        g.options =
            component_options<options::PuOptions>(Role::pu, c.options, raw.timers, point, c.path);
        g.args = options::to_args(g.options);
        run.pus.push_back(std::move(g));
      }
    }

    const Duration total = run.warmup + run.duration;
    for (std::size_t position = 0; position < raw.faults.size(); ++position) {
      const RawFault& rf = raw.faults[position];
      const std::string& apath = rf.apath;
      if (rf.schedule) {
        run.schedules.push_back(schedule(rf, position, point, raw, run));
        continue;
      }
      Fault f;
      f.kind = rf.kind;
      f.target_kind = rf.target_kind;
      const std::string path = rf.path;
      f.at = duration(rf.at, point, path + ".at");
      if (f.at > total)
        bad(get(rf.at, point), path + ".at",
            "'" + get(rf.at, point).text + "' is after the run's end (warm-up + duration = " +
                values::format_duration(total) + ")");
      if (rf.lasts) {
        f.lasts = duration(*rf.lasts, point, path + ".for");
        if (*f.lasts <= 0ns) bad(get(*rf.lasts, point), path + ".for", "must be above 0");
        if (f.at + *f.lasts > total)
          bad(get(*rf.lasts, point), path + ".for",
              "ends after the run (at + for > warm-up + duration = " +
                  values::format_duration(total) + "; leave 'for' out to last to the end)");
      }
      if (rf.kind == Fault::Kind::link_down || rf.kind == Fault::Kind::link_up ||
          rf.kind == Fault::Kind::loss) {
        site_isp(rf, point, run, f);
        if (rf.kind == Fault::Kind::loss) f.percent = percent(*rf.percent, point, apath + ".percent");
      } else if (rf.kind == Fault::Kind::partition) {
        const Site& a = site_ref(rf.sites[0], point, run.sites, apath + ".sites");
        const Site& b = site_ref(rf.sites[1], point, run.sites, apath + ".sites");
        if (a.name == b.name)
          bad(get(rf.sites[1], point), apath + ".sites",
              "'" + b.name + "' twice: a partition is between two different sites");
        f.site = a.name;
        f.peer = b.name;
      } else {
        f.count = count(rf.count, point, apath + ".count");
        const Val t = get(*rf.target, point);
        f.target = t.text;
        const std::size_t members = target_members(rf, point, raw, run, f);
        if (f.count > members) {
          const Val c = rf.count ? get(*rf.count, point) : t;
          bad(c, apath + ".count",
              "'" + c.text + "' is more than the " + std::to_string(members) + " member" +
                  (members == 1 ? "" : "s") + " of " + t.text);
        }
        selection(rf, point, run, f);
      }
      f.position = position;
      run.faults.push_back(std::move(f));
    }
    std::stable_sort(run.faults.begin(), run.faults.end(),
                     [](const Fault& a, const Fault& b) { return a.at < b.at; });
    return run;
  }

  // The members of a group or pool target in file order (a pool's: its PE groups at the
  // site, each by index): what `member: [i, …]` indexes and `select: random` draws from.
  static std::vector<std::pair<std::string, std::size_t>> member_list(const Run& run,
                                                                      const Fault& f) {
    std::vector<std::pair<std::string, std::size_t>> out;
    const auto add = [&](const std::string& name, std::size_t count) {
      for (std::size_t i = 0; i < count; ++i) out.emplace_back(name, i);
    };
    for (const PeGroup& g : run.pes)
      if (f.target_kind == Fault::TargetKind::group
              ? g.name == f.target
              : g.pool == f.target && (f.site.empty() || g.site == f.site))
        add(g.name, g.count);
    if (f.target_kind == Fault::TargetKind::group)
      for (const PuGroup& g : run.pus)
        if (g.name == f.target) add(g.name, g.count);
    return out;
  }

  // `select` / `member` into f.select, f.count and (member) f.picks; random picks are drawn
  // per repetition (pick_members).
  void selection(const RawFault& rf, const Point& point, const Run& run, Fault& f) const {
    if (rf.target_kind == Fault::TargetKind::registrar) return;
    const bool hits_busiest = rf.kind == Fault::Kind::kill || rf.kind == Fault::Kind::stop;
    f.select = hits_busiest ? Fault::Select::random : Fault::Select::busiest;
    if (rf.select) {
      const Val v = get(*rf.select, point);
      if (v.text == "random") f.select = Fault::Select::random;
      else if (v.text == "busiest") f.select = Fault::Select::busiest;
      else bad(v, rf.apath + ".select", "'" + v.text + "' is not random or busiest");
    }
    if (!rf.members) return;
    f.select = Fault::Select::member;
    const auto all = member_list(run, f);
    std::set<std::size_t> seen;
    for (const Text& m : *rf.members) {
      const Val v = get(m, point);
      std::string err;
      const auto n = values::parse_amount(v.text, true, &err);
      if (!n || *n < 0 || *n >= double(all.size()) || *n != std::floor(*n))
        bad(v, rf.apath + ".member",
            "'" + v.text + "' is not a member index of " + f.target + " (0 to " +
                std::to_string(all.size() - 1) + ")");
      if (!seen.insert(static_cast<std::size_t>(*n)).second)
        bad(v, rf.apath + ".member", "member " + v.text + " twice");
    }
    for (const std::size_t i : seen) f.picks.push_back(all[i]);
    f.count = f.picks.size();
  }

  // Draws the members of every `select: random` kill/stop of the run, in time order (see
  // Fault::Select): a member an earlier one-shot kill took down is not drawn again until a
  // restart of its target. Partial Fisher–Yates with mt19937_64 (engine() mod n), so a seed
  // gives the same members everywhere.
  static void pick_members(Run& run) {
    std::set<std::pair<std::string, std::size_t>> down;
    for (Fault& f : run.faults) {
      if (f.schedule || f.target_kind == Fault::TargetKind::registrar) continue;
      if (f.select == Fault::Select::random && f.picks.empty()) {
        std::vector<std::pair<std::string, std::size_t>> pool;
        for (const auto& m : member_list(run, f))
          if (!down.count(m)) pool.push_back(m);
        std::mt19937_64 engine(schedule_seed(run.seed, f.position, "select " + f.target));
        const std::size_t n = std::min(f.count, pool.size());
        for (std::size_t i = 0; i < n; ++i)
          std::swap(pool[i], pool[i + engine() % (pool.size() - i)]);
        f.picks.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n));
        std::sort(f.picks.begin(), f.picks.end());
      }
      if (f.kind == Fault::Kind::kill) down.insert(f.picks.begin(), f.picks.end());
      if (f.kind == Fault::Kind::restart) {
        if (f.select == Fault::Select::member) {
          for (const auto& m : f.picks) down.erase(m);
        } else {
          for (const auto& m : member_list(run, f)) down.erase(m);
        }
      }
    }
  }

  // link faults, loss, flap: an existing site and one of its ISPs into f.site, f.isp.
  template <class F>
  void site_isp(const RawFault& rf, const Point& point, const Run& run, F& f) const {
    const Site& s = site_ref(*rf.site, point, run.sites, rf.apath + ".site");
    const Val isp = get(*rf.isp, point);
    if (std::find(s.isps.begin(), s.isps.end(), isp.text) == s.isps.end()) {
      std::string names;
      for (const auto& x : s.isps) names += (names.empty() ? "" : ", ") + x;
      bad(isp, rf.apath + ".isp",
          "site " + s.name + " has no ISP '" + isp.text + "' (its ISPs: " + names + ")");
    }
    f.site = s.name;
    f.isp = isp.text;
  }

  // 5, 0.5, 12.25 or 5%: a share of packets, 0.01 to 100, in steps of 0.01.
  double percent(const Text& t, const Point& point, const std::string& path) const {
    Val v = get(t, point);
    std::string text = v.text;
    if (!text.empty() && text.back() == '%') text.pop_back();
    std::string err;
    const auto p = values::parse_amount(text, false, &err);
    if (!p) bad(v, path, err);
    const double hundredths = std::round(*p * 100);
    if (!(hundredths >= 1 && hundredths <= 10000) || std::fabs(*p * 100 - hundredths) > 1e-6)
      bad(v, path, "'" + v.text + "' is not a percentage from 0.01 to 100 (in steps of 0.01)");
    return hundredths / 100;
  }

  // The members of a kill/stop/resume/restart/churn target (f.target set), checking that it
  // exists and suits the action; a pool's optional site goes into f.site.
  template <class F>
  std::size_t target_members(const RawFault& rf, const Point& point, const Raw& raw,
                             const Run& run, F& f) const {
    const std::string& apath = rf.apath;
    const Val t = get(*rf.target, point);
    const char* action = rf.schedule ? "churn" : rf.kind == Fault::Kind::restart ? "restart" : "";
    std::size_t members = 0;
    switch (rf.target_kind) {
      case Fault::TargetKind::registrar: {
        for (const Registrar& r : run.registrars)
          if (r.name == t.text) members = 1;
        if (!members)
          bad(t, apath + ".registrar",
              "unknown registrar '" + t.text + "' (registrars are pr0 to pr" +
                  std::to_string(run.registrars.size() - 1) + ", in file order)");
        break;
      }
      case Fault::TargetKind::group: {
        bool found = false;
        for (const PeGroup& g : run.pes)
          if (g.name == t.text) found = true, members = g.count;
        for (const PuGroup& g : run.pus)
          if (g.name == t.text) {
            found = true, members = g.count;
            if (*action)
              bad(t, apath + ".group",
                  std::string(action) + " takes PE groups only ('" + t.text + "' is a PU group)");
          }
        if (!found) {
          std::string names;
          for (const PeGroup& g : run.pes) names += (names.empty() ? "" : ", ") + g.name;
          for (const PuGroup& g : run.pus) names += ", " + g.name;
          bad(t, apath + ".group", "unknown group '" + t.text + "' (groups: " + names + ")");
        }
        break;
      }
      case Fault::TargetKind::pool:
      case Fault::TargetKind::none: {
        bool found = false;
        for (const RawPool& p : raw.pools) found = found || p.name == t.text;
        if (!found) bad(t, apath + ".pool", "unknown pool '" + t.text + "'");
        std::optional<std::string> site;
        if (rf.site) site = f.site = site_ref(*rf.site, point, run.sites, apath + ".site").name;
        for (const PeGroup& g : run.pes)
          if (g.pool == t.text && (!site || g.site == *site)) members += g.count;
        if (members == 0)
          bad(rf.site ? get(*rf.site, point) : t, apath + (rf.site ? ".site" : ".pool"),
              "pool " + t.text + " has no PEs" + (site ? " at site " + *site : ""));
        break;
      }
    }
    return members;
  }

  // A churn or flap entry, checked (its faults are drawn per repetition: expand_schedules).
  Schedule schedule(const RawFault& rf, std::size_t position, const Point& point, const Raw& raw,
                    const Run& run) const {
    const std::string& apath = rf.apath;
    const Duration total = run.warmup + run.duration;
    Schedule s;
    s.kind = *rf.schedule;
    s.position = position;
    if (s.kind == Schedule::Kind::churn) {
      s.target_kind = rf.target_kind;
      s.target = get(*rf.target, point).text;
      target_members(rf, point, raw, run, s);
    } else {
      site_isp(rf, point, run, s);
    }
    s.mtbf = duration(*rf.mtbf, point, apath + ".mtbf");
    if (s.mtbf <= 0ns) bad(get(*rf.mtbf, point), apath + ".mtbf", "must be above 0");
    s.downtime = duration(*rf.downtime, point, apath + ".downtime");
    if (rf.start) s.start = duration(*rf.start, point, apath + ".start");
    s.until = total;
    if (rf.until) {
      s.until = duration(*rf.until, point, apath + ".until");
      if (s.until > total)
        bad(get(*rf.until, point), apath + ".until",
            "'" + get(*rf.until, point).text + "' is after the run's end (warm-up + duration = " +
                values::format_duration(total) + ")");
    }
    if (s.start >= s.until) {
      const Text& at = rf.start ? *rf.start : *rf.until;
      bad(get(at, point), apath + (rf.start ? ".start" : ".until"),
          "the schedule's window is empty (start " + values::format_duration(s.start) +
              " >= until " + values::format_duration(s.until) + ")");
    }
    return s;
  }

  // Draws the faults of every schedule from the run's seed (see Schedule) and merges them
  // into run.faults by time.
  void expand_schedules(const Raw& raw, Run& run) const {
    if (run.schedules.empty()) return;
    const Duration total = run.warmup + run.duration;
    for (std::size_t k = 0; k < run.schedules.size(); ++k) {
      const Schedule& s = run.schedules[k];
      const auto unit = [&](const std::string& name, Fault down, Fault up) {
        down.schedule = up.schedule = k;
        std::mt19937_64 engine(schedule_seed(run.seed, s.position, name));
        Duration t = s.start;
        for (;;) {
          const Duration uptime =
              std::chrono::round<std::chrono::milliseconds>(exponential_draw(engine(), s.mtbf));
          if (uptime >= s.until - t) break;  // the next failure is not before `until`
          t += uptime;
          down.at = t;
          run.faults.push_back(down);
          if (s.downtime > total - t) break;  // back after the run's end: left out
          t += s.downtime;
          up.at = t;
          run.faults.push_back(up);
          if (run.faults.size() > kMaxFaults)
            fail(raw.faults[s.position].pos,
                 raw.faults[s.position].apath + ": more than " + std::to_string(kMaxFaults) +
                     " faults in a run (a longer mtbf, or a shorter window with start/until)");
        }
      };
      Fault down, up;
      switch (s.kind) {
        case Schedule::Kind::flap:
          down.kind = Fault::Kind::link_down;
          up.kind = Fault::Kind::link_up;
          down.site = up.site = s.site;
          down.isp = up.isp = s.isp;
          unit(s.site + "/" + s.isp, down, up);
          break;
        case Schedule::Kind::churn:
          down.kind = Fault::Kind::kill;
          up.kind = Fault::Kind::restart;
          if (s.target_kind == Fault::TargetKind::registrar) {
            down.target_kind = up.target_kind = Fault::TargetKind::registrar;
            down.target = up.target = s.target;
            unit(s.target, down, up);
            break;
          }
          // Every PE member of the group, or of the pool's groups (at the site).
          for (const PeGroup& g : run.pes) {
            const bool match = s.target_kind == Fault::TargetKind::group
                                   ? g.name == s.target
                                   : g.pool == s.target && (s.site.empty() || g.site == s.site);
            if (!match) continue;
            down.target_kind = up.target_kind = Fault::TargetKind::group;
            down.target = up.target = g.name;
            for (std::size_t m = 0; m < g.count; ++m) {
              down.member = up.member = m;
              unit(g.name + "#" + std::to_string(m), down, up);
            }
          }
          break;
      }
    }
    std::stable_sort(run.faults.begin(), run.faults.end(),
                     [](const Fault& a, const Fault& b) { return a.at < b.at; });
  }

  static nlohmann::json resolved_json(const Run& r) {
    using nlohmann::json;
    json j;
    j["name"] = r.name;
    j["duration"] = values::format_duration(r.duration);
    j["warmup"] = values::format_duration(r.warmup);
    j["transport"] = r.transport;
    j["parameters"] = r.parameters;
    j["seed"] = r.seed;
    j["repetition"] = r.repetition;
    j["sites"] = json::array();
    for (const Site& s : r.sites) {
      json x{{"name", s.name}, {"isps", s.isps}};
      if (s.host) x["host"] = *s.host;
      if (!s.addresses.empty()) x["addresses"] = s.addresses;
      if (!s.interfaces.empty()) x["interfaces"] = s.interfaces;
      if (s.prefix4) x["prefix4"] = *s.prefix4;
      if (s.prefix6) x["prefix6"] = *s.prefix6;
      j["sites"].push_back(std::move(x));
    }
    j["registrars"] = json::array();
    for (const Registrar& x : r.registrars)
      j["registrars"].push_back({{"name", x.name}, {"site", x.site}, {"args", x.args}});
    j["pes"] = json::array();
    for (const PeGroup& g : r.pes)
      j["pes"].push_back({{"name", g.name}, {"pool", g.pool}, {"site", g.site}, {"count", g.count},
                          {"policy", g.policy}, {"args", g.args}});
    j["pus"] = json::array();
    for (const PuGroup& g : r.pus)
      j["pus"].push_back({{"name", g.name}, {"pool", g.pool}, {"site", g.site}, {"count", g.count},
                          {"args", g.args}});
    j["faults"] = json::array();
    static constexpr const char* kKinds[] = {"kill",      "stop",    "resume",   "link-down",
                                             "link-up",   "restart", "loss",     "loss-end",
                                             "partition", "partition-end"};
    static constexpr const char* kTargets[] = {"", "registrar", "group", "pool"};
    // Keys only where they apply: the files of before schedules keep their run keys.
    for (const Fault& f : r.faults) {
      json x{{"kind", kKinds[static_cast<int>(f.kind)]}, {"at", values::format_duration(f.at)}};
      if (f.lasts) x["for"] = values::format_duration(*f.lasts);
      if (f.target_kind != Fault::TargetKind::none) {
        x[kTargets[static_cast<int>(f.target_kind)]] = f.target;
        x["count"] = f.count;
      }
      if (f.member) x["member"] = *f.member;
      // Files of before `select` (busiest) keep their run keys; random and member name
      // their members.
      if (f.select != Fault::Select::busiest) {
        x["select"] = f.select == Fault::Select::random ? "random" : "member";
        x["members"] = json::array();
        for (const auto& [g, i] : f.picks) x["members"].push_back(g + "#" + std::to_string(i));
      }
      if (!f.site.empty()) x["site"] = f.site;
      if (!f.isp.empty()) x["isp"] = f.isp;
      if (!f.peer.empty()) x["peer"] = f.peer;
      if (f.kind == Fault::Kind::loss) x["percent"] = f.percent;
      if (f.schedule) x["schedule"] = *f.schedule;
      j["faults"].push_back(std::move(x));
    }
    if (!r.schedules.empty()) {
      j["schedules"] = json::array();
      for (const Schedule& s : r.schedules) {
        json x{{"kind", s.kind == Schedule::Kind::churn ? "churn" : "flap"},
               {"position", s.position},
               {"mtbf", values::format_duration(s.mtbf)},
               {"downtime", values::format_duration(s.downtime)},
               {"start", values::format_duration(s.start)},
               {"until", values::format_duration(s.until)}};
        if (s.target_kind != Fault::TargetKind::none)
          x[kTargets[static_cast<int>(s.target_kind)]] = s.target;
        if (!s.site.empty()) x["site"] = s.site;
        if (!s.isp.empty()) x["isp"] = s.isp;
        j["schedules"].push_back(std::move(x));
      }
    }
    return j;
  }

  void expand(const Raw& raw, Plan& plan) const {
    plan.name = raw.name;
    plan.repetitions = raw.repetitions;
    plan.seed = raw.seed;
    std::size_t points = 1;
    for (const Dimension& d : raw.dims) {
      points *= d.size;
      for (const auto& n : d.names) plan.parameters.push_back(n);
    }
    if (points * raw.repetitions > kMaxRuns)
      fail(raw.sweep_pos.line ? raw.sweep_pos : Pos{1, 1},
           std::to_string(points) + " sweep points × " + std::to_string(raw.repetitions) +
               " repetitions: more than " + std::to_string(kMaxRuns) + " runs");
    constexpr auto kMax = Duration::max();
    for (std::size_t p = 0; p < points; ++p) {
      // Mixed radix, the first dimension slowest.
      Point point;
      std::size_t rest = p, stride = points;
      for (const Dimension& d : raw.dims) {
        stride /= d.size;
        const std::size_t k = rest / stride;
        rest %= stride;
        for (std::size_t n = 0; n < d.names.size(); ++n) point[d.names[n]] = &d.values[n][k];
      }
      const Run base = resolve(raw, point);
      for (std::size_t i = 0; i < raw.repetitions; ++i) {
        Run run = base;
        run.index = plan.runs.size();
        run.point = p;
        run.repetition = i;
        run.seed = repetition_seed(raw.seed, i);
        pick_members(run);
        expand_schedules(raw, run);
        run.resolved = resolved_json(run);
        run.key = run_key(run.resolved, version_);
        const Duration add = run.warmup + run.duration + kRunAllowance;
        plan.estimated = plan.estimated > kMax - add ? kMax : plan.estimated + add;
        plan.runs.push_back(std::move(run));
      }
    }
  }

  std::string file_;
  std::string version_;
  std::optional<std::size_t> repetitions_;  // instead of the file's
  std::map<std::string, Pos> params_;  // sweep parameters, where defined
  std::set<std::string> used_, labels_, all_isps_;
  std::vector<std::tuple<Prefix, Pos, std::string>> prefixes4_, prefixes6_;
};

}  // namespace

Plan parse_plan(std::string_view yaml, const std::string& file, std::string_view rsplab_version,
                std::optional<std::size_t> repetitions) {
  return Loader(file, rsplab_version, repetitions).load(yaml);
}

Plan load_plan(const std::string& path, std::string_view rsplab_version,
               std::optional<std::size_t> repetitions) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw LoadError(path, 0, 0, std::string("cannot read: ") + std::strerror(errno));
  std::string text;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw LoadError(path, 0, 0, "cannot read: I/O error");
  return parse_plan(text, path, rsplab_version, repetitions);
}

}  // namespace rsplab::experiments
