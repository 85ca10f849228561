// Registrars, pools, PE and PU groups for the Loader (experiments/loader.hpp): their keys
// and values come from the options tables (options/roles.hpp), checked per sweep point with
// options::set and written with options::to_args in table order (what the run key hashes).
#include "experiments/loader.hpp"

#include <algorithm>
#include <type_traits>

#include "stack/common/split.hpp"

namespace rsplab::experiments::detail {

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

RawComponent Loader::component(const YAML::Node& n, Pos pos, const std::string& path, Role role) {
  std::vector<std::string_view> allowed{"site"};
  if (role != Role::registrar) allowed.insert(allowed.end(), {"count", "registrars"});
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
    else if (e.key == "registrars") c.registrars = t;
    else if (e.key == "policy") c.policy = t;
    else c.options.push_back({e.key, t});
  }
  return c;
}

void Loader::read_registrars(const Entry& e, Raw& raw) {
  std::size_t i = 0;
  for (const auto& [n, pos] : list(e, "registrars"))
    raw.registrars.push_back(
        component(n, pos, "registrars[" + std::to_string(i++) + "]", Role::registrar));
}

void Loader::read_timers(const Entry& e, Raw& raw) {
  for (const Entry& r : entries(e.value, e.pos, "timers", {"registrar", "pe", "pu"})) {
    const Role role = r.key == "registrar" ? Role::registrar : r.key == "pe" ? Role::pe : Role::pu;
    const std::string path = "timers." + r.key;
    const auto allowed = file_keys(role, options::in_timers);
    for (const Entry& o : entries(r.value, r.pos, path, allowed))
      raw.timers[role].push_back({o.key, scalar(o, path + "." + o.key, true)});
  }
}

void Loader::read_pools(const Entry& e, Raw& raw) {
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

template <class T>
T Loader::component_options(Role role, const std::vector<RawOption>& own,
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
    // Another service's option (the service's row came first): an error among the
    // component's own keys; a `timers:` default of the role that does not concern it.
    if (const auto why = options::out_of_service(out, e); !why.empty()) {
      if (where != path) continue;
      bad(v, where + "." + std::string(e.spec.key), why);
    }
    if (const auto why = options::set(out, e.spec.key, v.text, options::Source::file); !why.empty())
      bad(v, where + "." + std::string(e.spec.key), why);
  }
  return out;
}

void Loader::check_timers(const Raw& raw, const Point& point) const {
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

// `registrars:` of a group: `all` (every registrar in file order, as without the key),
// `site` (those at the group's site first, then the others), names in the order to try
// them ("pr1,pr0"), or (PEs) `announce`: those heard by ASAP server announces.
template <class G>
void Loader::registrar_choice(const Text& t, const Point& point, const Run& run,
                              const std::string& path, G& g) const {
  const Val v = get(t, point);
  if (v.text == "all") return;
  if (v.text == "site") {
    g.site_first = true;
    return;
  }
  if (v.text == "announce") {
    if constexpr (std::is_same_v<G, PeGroup>) {
      g.announce = true;
      return;
    } else {
      bad(v, path, "PUs take registrars by name (all, site or names): `rsplab pu` hears no announces");
    }
  }
  for (const auto& name : common::split(v.text, ',')) {
    const bool known = std::any_of(run.registrars.begin(), run.registrars.end(),
                                   [&](const Registrar& r) { return r.name == name; });
    if (!known)
      bad(v, path,
          "'" + name + "' is no registrar: all, site, or names of registrars (pr0" +
              (run.registrars.size() > 1 ? " to pr" + std::to_string(run.registrars.size() - 1) : "") +
              ") separated by commas");
    if (std::find(g.registrars.begin(), g.registrars.end(), name) != g.registrars.end())
      bad(v, path, "'" + name + "' twice");
    g.registrars.push_back(name);
  }
}

template <class G>
void Loader::group(G& g, Role role, std::string name, const std::string& pool,
                   const RawComponent& c, const Raw& raw, const Point& point,
                   const Run& run) const {
  g.name = std::move(name);
  g.pool = pool;
  g.site = site_ref(c.site, point, run.sites, c.path + ".site").name;
  g.count = count(c.count, point, c.path + ".count");
  if (c.registrars) registrar_choice(*c.registrars, point, run, c.path + ".registrars", g);
  g.options = component_options<decltype(g.options)>(role, c.options, raw.timers, point, c.path);
  g.args = options::to_args(g.options);
}

void Loader::resolve_components(const Raw& raw, const Point& point, Run& run) const {
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
      g.policy = pool_policy;
      if (c.policy) {
        const Val v = get(*c.policy, point);
        if (const auto why = check_policy(v.text); !why.empty()) bad(v, c.path + ".policy", why);
        g.policy = v.text;
      }
      group(g, Role::pe, pool.name + "/pe" + std::to_string(i), pool.name, c, raw, point, run);
      run.pes.push_back(std::move(g));
    }
    for (std::size_t i = 0; i < pool.pus.size(); ++i) {
      PuGroup g;
      group(g, Role::pu, pool.name + "/pu" + std::to_string(i), pool.name, pool.pus[i], raw, point,
            run);
      run.pus.push_back(std::move(g));
    }
  }
}

}  // namespace rsplab::experiments::detail
