// `sites:` for the Loader (experiments/loader.hpp): site and ISP names, remote sites (ssh
// host, rsplab, addresses, interfaces) and address plans (prefix4/prefix6, parsed by Asio,
// none overlapping another site's).
#include "experiments/loader.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <type_traits>

namespace rsplab::experiments::detail {

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

void Loader::read_sites(const Entry& e, Raw& raw) {
  const auto es = entries(e.value, e.pos, "sites", {});
  if (es.empty()) fail(e.pos, "sites: at least one site");
  for (const Entry& s : es) {
    raw.sites.push_back(read_site(s, raw));
    raw.site_pos.push_back(s.key_pos);
  }
  for (std::size_t i = 1; i < raw.sites.size(); ++i)
    for (const bool v6 : {false, true}) {
      const auto& a = v6 ? raw.sites[0].prefix6 : raw.sites[0].prefix4;
      const auto& b = v6 ? raw.sites[i].prefix6 : raw.sites[i].prefix4;
      if (a.has_value() != b.has_value()) {
        const std::size_t without = a ? i : 0, with = a ? 0 : i;
        fail(raw.site_pos[without], "sites." + raw.sites[without].name + ": no " +
                                        (v6 ? "prefix6" : "prefix4") + " while site " +
                                        raw.sites[with].name +
                                        " has one: give every site an address plan or none");
      }
    }
}

Site Loader::read_site(const Entry& s, const Raw& raw) {
  const std::string path = "sites." + s.key;
  if (s.key.find('$') != std::string::npos)
    fail(s.key_pos, path + ": no $parameters here (the same in every run)");
  if (!is_net_name(s.key) || s.key.size() > kMaxNameLength || s.key == "core")
    fail(s.key_pos, "site name '" + s.key +
                        "': use a-z, 0-9 and '-' (not first), at most 32 characters, not 'core'");
  if (raw.sites.size() == kMaxSites)
    fail(s.key_pos, "sites: at most " + std::to_string(kMaxSites));
  const auto fields =
      entries(s.value, s.pos, path,
              {"isps", "host", "rsplab", "addresses", "interfaces", "prefix4", "prefix6"});
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
        fail(t.pos,
             path + ".isps: '" + t.text + "' twice (first at " + at_text(isp_pos[k]) + ")");
    if (!all_isps_.contains(t.text) && all_isps_.size() == kMaxIsps)
      fail(t.pos, path + ".isps: '" + t.text + "' would be ISP number " +
                      std::to_string(kMaxIsps + 1) + ": at most " + std::to_string(kMaxIsps) +
                      " ISPs over all sites");
    all_isps_.insert(t.text);
    site.isps.push_back(t.text);
    isp_pos.push_back(t.pos);
  }
  read_remote(fields, path, site);
  read_prefixes(fields, path, site);
  return site;
}

void Loader::read_remote(const std::vector<Entry>& fields, const std::string& path, Site& site) {
  if (const Entry* h = find(fields, "host")) {
    const Text t = scalar(*h, path + ".host", false);
    if (t.text.empty() || t.text[0] == '-' ||
        std::any_of(t.text.begin(), t.text.end(), [](char c) {
          return std::isspace(static_cast<unsigned char>(c)) || c == '\'';
        }))
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
}

void Loader::read_prefixes(const std::vector<Entry>& fields, const std::string& path, Site& site) {
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
}

const Site& Loader::site_ref(const Text& t, const Point& point, const std::vector<Site>& sites,
                     const std::string& path) const {
  const Val v = get(t, point);
  for (const Site& s : sites)
    if (s.name == v.text) return s;
  std::string names;
  for (const Site& s : sites) names += (names.empty() ? "" : ", ") + s.name;
  bad(v, path, "unknown site '" + v.text + "' (sites: " + names + ")");
}

}  // namespace rsplab::experiments::detail
