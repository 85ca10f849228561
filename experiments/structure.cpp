// The experiment file's structure for the Loader (experiments/loader.hpp): maps with known
// keys and no duplicates (a close misspelling named), lists, single values, $parameter
// references and the `sweep:` section they refer to.
#include "experiments/loader.hpp"

#include <algorithm>
#include <cctype>

namespace rsplab::experiments::detail {

// ---- names and addresses ----------------------------------------------------------------

bool is_param_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool is_param_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), is_param_char);
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

std::vector<Entry> Loader::entries(const YAML::Node& node, Pos where, const std::string& path,
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

const Entry& Loader::need(const std::vector<Entry>& es, std::string_view key, Pos where,
                  const std::string& path) const {
  if (const Entry* e = find(es, key)) return *e;
  fail(where, path + ": missing '" + std::string(key) + "'");
}

std::vector<std::pair<YAML::Node, Pos>> Loader::list(const Entry& e, const std::string& path,
                                             bool non_empty) const {
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

Text Loader::scalar(const YAML::Node& n, Pos pos, const std::string& path, bool templ) {
  if (n.IsNull()) fail(pos, path + ": needs a value");
  if (!n.IsScalar())
    fail(pos, path + ": expected a single value, not a " + (n.IsMap() ? "map" : "list"));
  Text t{n.Scalar(), pos, false};
  scan(t, path, templ);
  return t;
}

Text Loader::scalar(const Entry& e, const std::string& path, bool templ) {
  return scalar(e.value, e.pos, path, templ);
}

void Loader::scan(Text& t, const std::string& path, bool templ) {
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

void Loader::read_sweep(const Entry& e, Raw& raw) {
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

}  // namespace rsplab::experiments::detail
