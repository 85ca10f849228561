// The experiment loader's inside, shared by its parts (private to rsplab_experiments): the
// limits, the file as read before the sweep is applied (Raw*), and the Loader, whose member
// functions live by responsibility in
//   experiment.cpp   the plan: load(), one sweep point resolved, expansion, run keys
//   structure.cpp    maps, lists, scalars, $parameter references, `sweep:`
//   sites.cpp        `sites:`, names and address plans
//   components.cpp   registrars, pools, PE and PU groups and their options (options/)
//   faults.cpp       `faults:`: one-shot faults, targets and selections, churn and flap
// Errors are LoadError at file:line:col (fail, bad). Not thread-safe: one Loader per file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>  // before Asio
#include <variant>
#include <vector>

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "experiments/experiment.hpp"
#include "options/options.hpp"
#include "options/roles.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::experiments::detail {

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
constexpr Duration kMaxPhase = std::chrono::hours(24 * 7);  // warm-up, duration

// 1-based; {0, 0} where yaml-cpp has no position.
struct Pos {
  int line = 0, column = 0;
};

inline Pos pos_of(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

inline std::string at_text(Pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

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

// A site's prefix4 or prefix6, as Asio parses it.
using Prefix = std::variant<asio::ip::network_v4, asio::ip::network_v6>;

// components.cpp
std::string_view role_name(Role r);
// The keys of `role` a file may set where `where` (options::in_file: a component;
// options::in_timers: `timers:`).
std::vector<std::string_view> file_keys(Role role, unsigned where);
// `rsplab pe --policy`'s grammar (the one policy parser). Empty on success, else why not.
std::string check_policy(const std::string& text);

// structure.cpp
bool is_param_char(char c);
bool is_param_name(std::string_view s);
std::size_t edit_distance(std::string_view a, std::string_view b);

// sites.cpp
bool is_net_name(std::string_view s);    // a site or ISP name: [a-z0-9-], not starting with '-'
bool is_plain_name(std::string_view s);  // [A-Za-z0-9._-], not starting with '-'
bool overlap(const Prefix& a, const Prefix& b);
// Empty when `text` is a prefix with room for `isps` /24s (/64s), `out` set; else why not.
std::string parse_prefix(const std::string& text, bool v6, std::size_t isps, Prefix& out);

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
  std::optional<Text> count, policy, registrars;
  std::vector<RawOption> options;
};

struct RawPool {
  std::string name;
  Pos pos;
  std::optional<Text> policy;
  std::vector<RawComponent> pes, pus;
};

// A link's delay, correlation and rate as written (a `links:` entry, a delay or rate fault).
struct RawNetem {
  std::optional<Text> delay, correlation, rate;
};

struct RawLink {
  Pos pos;
  std::string path;  // "links[0]"
  Text site, isp;
  RawNetem netem;
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
  RawNetem netem;                                    // delay, rate
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
  std::vector<RawLink> links;
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

  Plan load(std::string_view yaml);

 private:
  [[noreturn]] void fail(Pos p, const std::string& message) const {
    throw LoadError(file_, p.line, p.column, message);
  }

  // ---- structure.cpp: maps, lists, values, $parameters, the sweep ----
  // The map at `node` (`path` names it in messages) as entries in file order: keys are
  // names, none twice, each in `allowed` (unless `allowed` is empty).
  std::vector<Entry> entries(const YAML::Node& node, Pos where, const std::string& path,
                             std::vector<std::string_view> allowed) const;

  static const Entry* find(const std::vector<Entry>& es, std::string_view key) {
    for (const Entry& e : es)
      if (e.key == key) return &e;
    return nullptr;
  }

  const Entry& need(const std::vector<Entry>& es, std::string_view key, Pos where,
                    const std::string& path) const;

  std::vector<std::pair<YAML::Node, Pos>> list(const Entry& e, const std::string& path,
                                               bool non_empty = true) const;

  // A single value; `templ`: may refer to sweep parameters.
  Text scalar(const YAML::Node& n, Pos pos, const std::string& path, bool templ);
  Text scalar(const Entry& e, const std::string& path, bool templ);

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

  void scan(Text& t, const std::string& path, bool templ);

  void read_sweep(const Entry& e, Raw& raw);

  // ---- sites.cpp ----
  void read_sites(const Entry& e, Raw& raw);

  // One site of `sites:` (`raw`: the sites before it).
  Site read_site(const Entry& s, const Raw& raw);

  // A remote site's host, rsplab, addresses and interfaces.
  void read_remote(const std::vector<Entry>& fields, const std::string& path, Site& site);

  // A site's address plan: prefix4 and prefix6, none overlapping another site's.
  void read_prefixes(const std::vector<Entry>& fields, const std::string& path, Site& site);

  const Site& site_ref(const Text& t, const Point& point, const std::vector<Site>& sites,
                       const std::string& path) const;

  // ---- links.cpp: `links:` and the values netem takes ----
  void read_links(const Entry& e, Raw& raw);

  // delay, correlation and rate of a `links:` entry or a delay/rate fault (`as`: its keys).
  void read_netem(const std::vector<Entry>& as, const std::string& apath, RawNetem& n);

  // The values resolved at `point` and checked (Netem's comment has the delay's forms).
  Netem netem(const RawNetem& n, const Point& point, const std::string& path) const;

  // The run's links (`links:`): each an emulated site's ISP, once.
  void resolve_links(const Raw& raw, const Point& point, Run& run) const;

  // ---- components.cpp: registrars, pools, groups, their options ----
  RawComponent component(const YAML::Node& n, Pos pos, const std::string& path, Role role);

  void read_registrars(const Entry& e, Raw& raw);

  void read_timers(const Entry& e, Raw& raw);

  void read_pools(const Entry& e, Raw& raw);

  // One component's options: its own, else its role's `timers:` default, each checked by the
  // options' grammar for files, in table order (the file's order is no part of the key).
  template <class T>
  T component_options(Role role, const std::vector<RawOption>& own,
                      const std::map<Role, std::vector<RawOption>>& timers, const Point& point,
                      const std::string& path) const;

  // `timers:` checked even where no component of its role would take a value.
  void check_timers(const Raw& raw, const Point& point) const;

  // A group's `registrars:` (PeGroup::registrars, site_first).
  template <class G>
  void registrar_choice(const Text& t, const Point& point, const Run& run,
                        const std::string& path, G& g) const;

  // A PE or PU group's name, pool, site, count and options (PeGroup, PuGroup).
  template <class G>
  void group(G& g, Role role, std::string name, const std::string& pool, const RawComponent& c,
             const Raw& raw, const Point& point, const Run& run) const;

  // The registrars, PE and PU groups of `run` at `point`.
  void resolve_components(const Raw& raw, const Point& point, Run& run) const;

  // ---- faults.cpp ----
  void read_faults(const Entry& e, Raw& raw);

  // link-down, link-up, loss, delay, rate: the site, the ISP and the action's value.
  void read_link_fault(const Entry& action, const std::string& apath, RawFault& f);

  // `select` and `member` of kill/stop/resume/restart (Fault::Select).
  void read_selection(const std::vector<Entry>& as, const std::string& apath, RawFault& f);

  // The target of kill/stop/resume/restart/churn: one of registrar, group, pool; `site`
  // narrows a pool.
  void read_target(const std::vector<Entry>& as, const std::string& apath, RawFault& f);

  // One one-shot fault (the file's `faults[position]`) at `point`.
  Fault resolve_fault(const RawFault& rf, std::size_t position, const Point& point, const Raw& raw,
                      const Run& run) const;

  // The members of a group or pool target in file order (a pool's: its PE groups at the
  // site, each by index): what `member: [i, …]` indexes and `select: random` draws from.
  static std::vector<std::pair<std::string, std::size_t>> member_list(const Run& run,
                                                                      const Fault& f);

  // `select` / `member` into f.select, f.count and (member) f.picks; random picks are drawn
  // per repetition (pick_members).
  void selection(const RawFault& rf, const Point& point, const Run& run, Fault& f) const;

  // Draws the members of every `select: random` kill/stop of the run, in time order (see
  // Fault::Select): a member an earlier one-shot kill took down is not drawn again until a
  // restart of its target. Partial Fisher–Yates with mt19937_64 (engine() mod n), so a seed
  // gives the same members everywhere.
  static void pick_members(Run& run);

  // link faults, loss, delay, rate, flap, `links:`: an existing site and one of its ISPs
  // into f.site, f.isp (`apath`: where, for messages).
  template <class F>
  void site_isp(const Text& site, const Text& isp, const std::string& apath, const Point& point,
                const Run& run, F& f) const;

  // 5, 0.5, 12.25 or 5%: a share of packets, 0.01 to 100, in steps of 0.01.
  double percent(const Text& t, const Point& point, const std::string& path) const;

  // The members of a kill/stop/resume/restart/churn target (f.target set), checking that it
  // exists and suits the action; a pool's optional site goes into f.site.
  template <class F>
  std::size_t target_members(const RawFault& rf, const Point& point, const Raw& raw,
                             const Run& run, F& f) const;

  // A churn or flap entry, checked (its faults are drawn per repetition: expand_schedules).
  Schedule schedule(const RawFault& rf, std::size_t position, const Point& point, const Raw& raw,
                    const Run& run) const;

  // Draws the faults of every schedule from the run's seed (see Schedule) and merges them
  // into run.faults by time.
  void expand_schedules(const Raw& raw, Run& run) const;

  // ---- experiment.cpp: one sweep point, the plan ----
  Val get(const Text& t, const Point& point) const;

  [[noreturn]] void bad(const Val& v, const std::string& path, const std::string& why) const;

  Duration duration(const Text& t, const Point& point, const std::string& path) const;

  std::size_t count(const std::optional<Text>& t, const Point& point, const std::string& path) const;

  Run resolve(const Raw& raw, const Point& point) const;

  static nlohmann::json resolved_json(const Run& r);

  void expand(const Raw& raw, Plan& plan) const;
  std::string file_;
  std::string version_;
  std::optional<std::size_t> repetitions_;  // instead of the file's
  std::map<std::string, Pos> params_;  // sweep parameters, where defined
  std::set<std::string> used_, labels_, all_isps_;
  std::vector<std::tuple<Prefix, Pos, std::string>> prefixes4_, prefixes6_;
};

}  // namespace rsplab::experiments::detail
