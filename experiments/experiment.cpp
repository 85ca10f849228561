// The plan of an experiment file (experiments/experiment.hpp): load_plan/parse_plan, the
// Loader's load() (the file read section by section), each sweep point resolved into a Run,
// the expansion over sweep points and repetitions, seeds and run keys. The sections are read
// in structure.cpp, sites.cpp, components.cpp and faults.cpp (experiments/loader.hpp).
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

#include "experiments/loader.hpp"
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

bool announced(const Run& r) {
  return std::any_of(r.pes.begin(), r.pes.end(), [](const PeGroup& g) { return g.announce; });
}

std::string registrar_list(const Run& r, const std::vector<std::string>& chosen, bool site_first,
                           const std::string& site, const RegistrarEndpoints& endpoints) {
  std::vector<std::string> names = chosen;
  if (names.empty()) {
    for (const auto& pr : r.registrars)
      if (!site_first || pr.site == site) names.push_back(pr.name);
    if (site_first)
      for (const auto& pr : r.registrars)
        if (pr.site != site) names.push_back(pr.name);
  }
  std::vector<std::string> list;
  for (const auto& name : names)
    if (const auto it = endpoints.find(name); it != endpoints.end())
      list.insert(list.end(), it->second.begin(), it->second.end());
  std::string out;
  for (const auto& e : list) out += (out.empty() ? "" : ",") + e;
  return out;
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

namespace detail {
namespace {

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

}  // namespace

Plan Loader::load(std::string_view yaml) {
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
                            "transport", "sites", "links", "registrars", "timers", "pools",
                            "faults", "sweep"});
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
  if (const Entry* e = find(top, "links")) read_links(*e, raw);
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

Val Loader::get(const Text& t, const Point& point) const {
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

void Loader::bad(const Val& v, const std::string& path, const std::string& why) const {
  fail(v.pos, path + ": " + why + v.note);
}

Duration Loader::duration(const Text& t, const Point& point, const std::string& path) const {
  const Val v = get(t, point);
  std::string err;
  const auto d = values::parse_duration(v.text, "", &err);
  if (!d) bad(v, path, err);
  return *d;
}

std::size_t Loader::count(const std::optional<Text>& t, const Point& point, const std::string& path) const {
  if (!t) return 1;
  const Val v = get(*t, point);
  std::string err;
  const auto n = values::parse_amount(v.text, true, &err);
  if (!n) bad(v, path, err);
  if (*n < 1 || *n > double(kMaxCount))
    bad(v, path, "'" + v.text + "' must be 1 to " + std::to_string(kMaxCount));
  return static_cast<std::size_t>(*n);
}

Run Loader::resolve(const Raw& raw, const Point& point) const {
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
  resolve_links(raw, point, run);
  check_timers(raw, point);

  resolve_components(raw, point, run);
  for (std::size_t position = 0; position < raw.faults.size(); ++position) {
    const RawFault& rf = raw.faults[position];
    if (rf.schedule) run.schedules.push_back(schedule(rf, position, point, raw, run));
    else run.faults.push_back(resolve_fault(rf, position, point, raw, run));
  }
  std::stable_sort(run.faults.begin(), run.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at < b.at; });
  return run;
}

nlohmann::json Loader::resolved_json(const Run& r) {
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
  // Keys only where the file has them: files without links keep their run keys.
  const auto netem_json = [](json& x, const Netem& n, bool delay, bool rate) {
    if (delay) {
      x["delay"] = values::format_duration(n.delay);
      if (n.jitter != Duration::zero()) {
        x["jitter"] = values::format_duration(n.jitter);
        x["distribution"] = n.normal ? "normal" : "uniform";
      }
      if (n.correlation != 0) x["correlation"] = n.correlation;
    }
    if (rate) x["rate"] = n.rate;
  };
  if (!r.links.empty()) {
    j["links"] = json::array();
    for (const Link& l : r.links) {
      json x{{"site", l.site}, {"isp", l.isp}};
      netem_json(x, l.netem, l.netem.delay != Duration::zero() || l.netem.jitter != Duration::zero(),
                 l.netem.rate != 0);
      j["links"].push_back(std::move(x));
    }
  }
  j["registrars"] = json::array();
  for (const Registrar& x : r.registrars)
    j["registrars"].push_back({{"name", x.name}, {"site", x.site}, {"args", x.args}});
  j["pes"] = json::array();
  // `registrars` only where the file chose them: the files of before keep their run keys.
  const auto registrars = [](json& x, const auto& g) {
    if (g.site_first) x["registrars"] = "site";
    else if (!g.registrars.empty()) x["registrars"] = g.registrars;
    if constexpr (std::is_same_v<std::decay_t<decltype(g)>, PeGroup>)
      if (g.announce) x["registrars"] = "announce";
  };
  for (const PeGroup& g : r.pes) {
    json x{{"name", g.name}, {"pool", g.pool}, {"site", g.site}, {"count", g.count},
           {"policy", g.policy}, {"args", g.args}};
    registrars(x, g);
    j["pes"].push_back(std::move(x));
  }
  j["pus"] = json::array();
  for (const PuGroup& g : r.pus) {
    json x{{"name", g.name}, {"pool", g.pool}, {"site", g.site}, {"count", g.count},
           {"args", g.args}};
    registrars(x, g);
    j["pus"].push_back(std::move(x));
  }
  j["faults"] = json::array();
  static constexpr const char* kKinds[] = {"kill",      "stop",    "resume",   "link-down",
                                           "link-up",   "restart", "loss",     "loss-end",
                                           "partition", "partition-end", "delay",
                                           "delay-end", "rate",      "rate-end"};
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
    if (f.kind == Fault::Kind::delay || f.kind == Fault::Kind::rate)
      netem_json(x, f.netem, f.kind == Fault::Kind::delay, f.kind == Fault::Kind::rate);
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

void Loader::expand(const Raw& raw, Plan& plan) const {
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

}  // namespace detail

Plan parse_plan(std::string_view yaml, const std::string& file, std::string_view rsplab_version,
                std::optional<std::size_t> repetitions) {
  return detail::Loader(file, rsplab_version, repetitions).load(yaml);
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
