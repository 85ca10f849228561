#include "agents/sites.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>

#include "agents/command.hpp"
#include "agents/ip.hpp"
#include "stack/common/log.hpp"

namespace rsplab::agents {
namespace {

constexpr int kMaxIsps = 8;
constexpr int kMaxSites = 63;
constexpr int kSitesPerIsp = 64;  // idx = (k-1)*64 + s
constexpr int kTableBase = 100;   // policy routing table of ISP k: 100+k
constexpr int kRuleBase = 1000;   // its rule's preference: 1000+k (before main at 32766)
constexpr int kUnreachableMetric = 4096;

bool matches(const std::string& s, std::size_t max, bool allow_dash, bool allow_upper_dot) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (allow_dash && c == '-') ||
           (allow_upper_dot && ((c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-'));
  });
}

std::string ipv4_of(int k, int s, int host) {
  const int idx = (k - 1) * kSitesPerIsp + s;
  return "198." + std::to_string(18 + idx / 256) + "." + std::to_string(idx % 256) + "." +
         std::to_string(host);
}

std::string hex(int n) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%x", n);
  return buffer;
}

std::string ipv6_of(int k, int s, int host) {
  return "fd00:5253:" + hex(k) + ":" + hex(s) + "::" + hex(host);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "failed without a message" : text;
}

// Runs `ip ARGS...`; SiteError with the command and its stderr on failure.
void ip(const std::vector<std::string>& args) {
  const CommandResult r = run_ip(args);
  if (!r.ok()) {
    throw SiteError("ip " + join_command(args) + ": " + trimmed(r.err) + " (exit status " +
                    std::to_string(r.status) + ")");
  }
}

bool namespace_exists(const std::string& name) {
  struct stat st {};
  return ::lstat(("/run/netns/" + name).c_str(), &st) == 0;
}

// Writes /proc/sys/<key> = value for each pair inside namespace `netns`: a thread enters the
// namespace (setns affects only the calling thread) and /proc/sys/net follows the writer's
// namespace. Spares a `sysctl` binary and an `ip netns exec` per setting.
void write_sysctls(const std::string& netns,
                   const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string error;
  std::thread worker([&] {
    const std::string ns_path = "/run/netns/" + netns;
    const int ns_fd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      error = ns_path + ": " + std::strerror(errno);
      return;
    }
    const int rc = ::setns(ns_fd, CLONE_NEWNET);
    const int setns_errno = errno;
    ::close(ns_fd);
    if (rc != 0) {
      error = "setns " + netns + ": " + std::strerror(setns_errno);
      return;
    }
    for (const auto& [key, value] : settings) {
      const std::string path = "/proc/sys/" + key;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        error = "sysctl " + key + "=" + value + " in " + netns + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return;
      }
      ::close(fd);
    }
  });
  worker.join();
  if (!error.empty()) throw SiteError(error);
}

void validate(const std::vector<SiteSpec>& specs, const std::string& tag,
              std::vector<std::string>& isps) {
  if (!matches(tag, 12, false, false)) {
    throw SiteError("topology tag \"" + tag + "\": want 1..12 characters [a-z0-9]");
  }
  if (specs.empty()) throw SiteError("topology: no sites");
  if (specs.size() > kMaxSites) {
    throw SiteError("topology: " + std::to_string(specs.size()) + " sites, at most " +
                    std::to_string(kMaxSites) + " (address plan)");
  }
  std::vector<std::string> names;
  for (const auto& spec : specs) {
    if (!matches(spec.name, 32, true, false) || spec.name == "core") {
      throw SiteError("site name \"" + spec.name +
                      "\": want 1..32 characters [a-z0-9-], and not \"core\"");
    }
    if (std::find(names.begin(), names.end(), spec.name) != names.end()) {
      throw SiteError("site \"" + spec.name + "\" given twice");
    }
    names.push_back(spec.name);
    if (spec.isps.empty()) throw SiteError("site \"" + spec.name + "\": no ISP");
    for (std::size_t i = 0; i < spec.isps.size(); ++i) {
      const std::string& isp = spec.isps[i];
      if (!matches(isp, 32, true, true)) {
        throw SiteError("site \"" + spec.name + "\": ISP name \"" + isp +
                        "\": want 1..32 characters [A-Za-z0-9._-]");
      }
      if (std::find(spec.isps.begin(), spec.isps.begin() + static_cast<long>(i), isp) !=
          spec.isps.begin() + static_cast<long>(i)) {
        throw SiteError("site \"" + spec.name + "\": ISP \"" + isp + "\" given twice");
      }
      if (std::find(isps.begin(), isps.end(), isp) == isps.end()) isps.push_back(isp);
    }
  }
  if (isps.size() > kMaxIsps) {
    throw SiteError("topology: " + std::to_string(isps.size()) + " ISPs, at most " +
                    std::to_string(kMaxIsps) + " (address plan)");
  }
}

}  // namespace

std::vector<std::string> SiteInfo::ipv4_addresses() const {
  std::vector<std::string> addresses;
  for (const auto& link : links) addresses.push_back(link.ipv4);
  return addresses;
}

bool available(std::string* why) {
  auto fail = [&](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
  };
  if (::geteuid() != 0) return fail("network namespaces need root (CAP_NET_ADMIN, CAP_SYS_ADMIN)");
  const std::string probe = "rsplab-probe-" + std::to_string(::getpid());
  CommandResult r = run_ip({"netns", "add", probe});
  if (!r.ok()) return fail("ip netns add " + probe + ": " + trimmed(r.err));
  std::string problem;
  r = run_ip({"-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1"});
  if (!r.ok()) problem = "veth: " + trimmed(r.err);
  if (problem.empty()) {
    r = run_ip({"-n", probe, "link", "add", "pbr", "type", "bridge"});
    if (!r.ok()) problem = "bridge: " + trimmed(r.err);
  }
  r = run_ip({"netns", "del", probe});
  if (!r.ok() && problem.empty()) problem = "ip netns del " + probe + ": " + trimmed(r.err);
  if (!problem.empty()) return fail(problem);
  return true;
}

std::unique_ptr<Topology> Topology::create(const std::vector<SiteSpec>& sites,
                                           const std::string& tag, Journal& journal) {
  std::vector<std::string> isps;
  validate(sites, tag, isps);
  std::unique_ptr<Topology> topology(new Topology(journal, tag));
  try {
    topology->build(sites, isps);
  } catch (const std::exception& e) {
    std::string message = e.what();
    try {
      topology->destroy();
    } catch (const std::exception& cleanup) {
      message += "; and removing what was created failed: " + std::string(cleanup.what());
    }
    throw SiteError(message);
  }
  return topology;
}

Topology::~Topology() {
  try {
    destroy();
  } catch (const std::exception& e) {
    common::Logger{"rsplab"}.write(common::Level::error, e.what());
  }
}

void Topology::add_namespace(const std::string& name) {
  if (namespace_exists(name)) {
    throw SiteError("namespace " + name +
                    " already exists (left by a dead run? `rsplab cleanup` removes those)");
  }
  const std::string entry = "netns " + name;
  try {
    journal_.add(entry);
  } catch (const std::exception& e) {
    throw SiteError(e.what());
  }
  const CommandResult r = run_ip({"netns", "add", name});
  if (!r.ok()) {
    try {
      journal_.remove(entry);  // not ours: never delete it
    } catch (const std::exception&) {
    }
    throw SiteError("ip netns add " + name + ": " + trimmed(r.err));
  }
  namespaces_.push_back(name);
}

void Topology::build(const std::vector<SiteSpec>& specs, const std::vector<std::string>& isps) {
  core_netns_ = "rsplab-" + tag_ + "-core";
  const std::string& core = core_netns_;
  add_namespace(core);
  write_sysctls(core, {{"net/ipv4/ip_forward", "1"},
                       {"net/ipv6/conf/all/forwarding", "1"},
                       {"net/ipv6/conf/all/accept_dad", "0"},
                       {"net/ipv6/conf/default/accept_dad", "0"},
                       {"net/ipv4/conf/all/rp_filter", "0"},
                       {"net/ipv4/conf/default/rp_filter", "0"},
                       // Sites of one ISP share its bridge but not a subnet: no redirects.
                       {"net/ipv4/conf/all/send_redirects", "0"},
                       {"net/ipv4/conf/default/send_redirects", "0"}});
  ip({"-n", core, "link", "set", "lo", "up"});
  for (std::size_t i = 0; i < isps.size(); ++i) {
    const std::string bridge = "br" + std::to_string(i + 1);
    ip({"-n", core, "link", "add", bridge, "type", "bridge", "forward_delay", "0",
        "mcast_snooping", "0"});
    ip({"-n", core, "link", "set", bridge, "up"});
  }

  for (std::size_t si = 0; si < specs.size(); ++si) {
    const SiteSpec& spec = specs[si];
    const int s = static_cast<int>(si) + 1;
    SiteInfo info;
    info.name = spec.name;
    info.netns = "rsplab-" + tag_ + "-" + spec.name;
    for (const auto& isp : spec.isps) {
      const int k = static_cast<int>(std::find(isps.begin(), isps.end(), isp) - isps.begin()) + 1;
      SiteInfo::Link link;
      link.isp = isp;
      link.isp_index = k;
      link.interface = "eth" + std::to_string(k);
      link.device = "isp" + std::to_string(k);
      link.ipv4 = ipv4_of(k, s, 2);
      link.ipv6 = ipv6_of(k, s, 2);
      link.gateway4 = ipv4_of(k, s, 1);
      link.gateway6 = ipv6_of(k, s, 1);
      link.bridge = "br" + std::to_string(k);
      link.port = "s" + std::to_string(s) + "i" + std::to_string(k);
      info.links.push_back(std::move(link));
    }
    sites_.push_back(info);

    const std::string& ns = info.netns;
    add_namespace(ns);
    write_sysctls(ns, {{"net/ipv6/conf/all/accept_dad", "0"},
                       {"net/ipv6/conf/default/accept_dad", "0"},
                       // A link down leaves its routes in place, marked linkdown (see
                       // below): skipped, so that traffic from its address meets the
                       // unreachable fallback and unbound traffic takes the next ISP.
                       {"net/ipv4/conf/all/ignore_routes_with_linkdown", "1"},
                       {"net/ipv4/conf/default/ignore_routes_with_linkdown", "1"},
                       {"net/ipv6/conf/all/ignore_routes_with_linkdown", "1"},
                       {"net/ipv6/conf/default/ignore_routes_with_linkdown", "1"},
                       {"net/ipv4/conf/all/rp_filter", "0"},
                       {"net/ipv4/conf/default/rp_filter", "0"}});
    ip({"-n", ns, "link", "set", "lo", "up"});
    for (std::size_t li = 0; li < info.links.size(); ++li) {
      const SiteInfo::Link& link = info.links[li];
      const std::string& port = link.port;
      const std::string table = std::to_string(kTableBase + link.isp_index);
      const std::string pref = std::to_string(kRuleBase + link.isp_index);
      // Created inside the site namespace with the peer placed straight into the core's:
      // no end of the pair ever lives in the root namespace.
      ip({"-n", ns, "link", "add", link.interface, "type", "veth", "peer", "name", port,
          "netns", core});
      // The addresses and routes sit on a one-port bridge over the link: taking the link
      // down (here, or a plain `ip link set` by the site agent) only takes the bridge's
      // carrier away, so the kernel keeps the routes and bringing the link up restores
      // everything. On the veth itself an admin down would flush its routes for good.
      ip({"-n", ns, "link", "add", link.device, "type", "bridge", "forward_delay", "0",
          "mcast_snooping", "0"});
      ip({"-n", ns, "link", "set", link.interface, "master", link.device});
      ip({"-n", core, "link", "set", port, "master", link.bridge});
      ip({"-n", core, "link", "set", port, "up"});
      ip({"-n", core, "addr", "add", link.gateway4 + "/24", "dev", link.bridge});
      ip({"-n", core, "-6", "addr", "add", link.gateway6 + "/64", "dev", link.bridge, "nodad"});
      ip({"-n", ns, "addr", "add", link.ipv4 + "/24", "dev", link.device});
      ip({"-n", ns, "-6", "addr", "add", link.ipv6 + "/64", "dev", link.device, "nodad"});
      ip({"-n", ns, "link", "set", link.device, "up"});
      ip({"-n", ns, "link", "set", link.interface, "up"});
      // Traffic from this address leaves over this ISP, or not at all (the unreachable
      // fallback keeps it from leaking out over another ISP while this link is down).
      ip({"-n", ns, "rule", "add", "from", link.ipv4, "lookup", table, "pref", pref});
      ip({"-n", ns, "-6", "rule", "add", "from", link.ipv6, "lookup", table, "pref", pref});
      ip({"-n", ns, "route", "add", "unreachable", "default", "metric",
          std::to_string(kUnreachableMetric), "table", table});
      ip({"-n", ns, "-6", "route", "add", "unreachable", "default", "metric",
          std::to_string(kUnreachableMetric), "table", table});
      add_routes(info, link, static_cast<int>(li) + 1);
    }
  }
}

void Topology::add_routes(const SiteInfo& site, const SiteInfo::Link& link, int metric) {
  const std::string& ns = site.netns;
  const std::string table = std::to_string(kTableBase + link.isp_index);
  ip({"-n", ns, "route", "add", "default", "via", link.gateway4, "dev", link.device, "table",
      table});
  ip({"-n", ns, "-6", "route", "add", "default", "via", link.gateway6, "dev", link.device,
      "table", table});
  // Unbound traffic: the first ISP's default, the others' as fallbacks while it is down.
  ip({"-n", ns, "route", "add", "default", "via", link.gateway4, "dev", link.device, "metric",
      std::to_string(metric)});
  ip({"-n", ns, "-6", "route", "add", "default", "via", link.gateway6, "dev", link.device,
      "metric", std::to_string(metric)});
}

const SiteInfo& Topology::site(const std::string& name) const {
  for (const auto& info : sites_) {
    if (info.name == name) return info;
  }
  throw SiteError("unknown site \"" + name + "\"");
}

void Topology::add_uplink() {
  const std::string root = "rsp" + tag_;  // ≤ 15 bytes: tags are ≤ 12
  // Created in the core namespace with the peer placed into ours (by our pid: `ip -n`
  // itself runs in the core's): it is deleted with the core.
  ip({"-n", core_netns_, "link", "add", "uplink", "type", "veth", "peer", "name", root,
      "netns", std::to_string(::getpid())});
  ip({"link", "set", root, "up"});
  ip({"addr", "add", std::string(kUplinkRoot) + "/30", "dev", root});
  ip({"-n", core_netns_, "addr", "add", std::string(kUplinkCore) + "/30", "dev", "uplink"});
  ip({"-n", core_netns_, "link", "set", "uplink", "up"});
  ip({"-n", core_netns_, "route", "add", "default", "via", kUplinkRoot, "dev", "uplink"});
  // replace: a dead run's uplink may linger while the kernel tears its namespace down.
  ip({"route", "replace", "198.18.0.0/15", "via", kUplinkCore, "dev", root});
  uplink_ = root;
}

void Topology::set_link(const std::string& site_name, const std::string& isp, bool up) {
  const SiteInfo& info = site(site_name);
  for (const SiteInfo::Link& link : info.links) {
    if (link.isp != isp) continue;
    if (namespaces_.empty()) throw SiteError("topology " + tag_ + " was destroyed");
    // Exactly what the site agent does: nothing else needs restoring (see build()).
    ip({"-n", info.netns, "link", "set", link.interface, up ? "up" : "down"});
    return;
  }
  throw SiteError("site \"" + site_name + "\" has no ISP \"" + isp + "\"");
}

namespace {

// Runs an nft script (one transaction) inside namespace `netns`.
void nft(const std::string& netns, const std::string& script) {
  const CommandResult r = run_command(netns_exec(netns, {"nft", script}));
  if (!r.ok()) {
    throw SiteError("ip netns exec " + netns + " nft: " + trimmed(r.err) + " (exit status " +
                    std::to_string(r.status) + ")");
  }
}

// "table inet T" then "delete table inet T": the table is gone whether it existed or not,
// and what follows in the same script replaces it atomically.
std::string replace_table(const std::string& table) {
  return "table inet " + table + "\ndelete table inet " + table + "\n";
}

std::string address_set(const std::vector<std::string>& addresses) {
  std::string s = "{ ";
  for (std::size_t i = 0; i < addresses.size(); ++i) s += (i ? ", " : "") + addresses[i];
  return s + " }";
}

}  // namespace

const SiteInfo::Link& Topology::link_of(const std::string& site_name,
                                        const std::string& isp) const {
  const SiteInfo& info = site(site_name);
  const auto link = std::find_if(info.links.begin(), info.links.end(),
                                 [&](const SiteInfo::Link& l) { return l.isp == isp; });
  if (link == info.links.end())
    throw SiteError("site \"" + site_name + "\" has no ISP \"" + isp + "\"");
  if (namespaces_.empty()) throw SiteError("topology " + tag_ + " was destroyed");
  return *link;
}

std::string Topology::loss_method() { return netem_available(nullptr) ? "netem" : "nftables"; }

void Topology::set_loss(const std::string& site_name, const std::string& isp, double percent) {
  const SiteInfo& info = site(site_name);
  const SiteInfo::Link& link = link_of(site_name, isp);
  if (!(percent >= 0 && percent <= 100))
    throw SiteError("loss of " + std::to_string(percent) + "%: want 0 to 100");
  const int hundredths = static_cast<int>(std::lround(percent * 100));
  if (netem_available(nullptr)) {
    LinkShape shape = this->shape(site_name, isp);
    shape.loss = hundredths;
    return write_shape(info, link, shape);
  }
  auto& losses = loss_[site_name];
  const auto before = losses;
  if (hundredths == 0) losses.erase(link.isp_index);
  else losses[link.isp_index] = hundredths;
  try {
    write_loss(info);
  } catch (...) {
    losses = before;
    throw;
  }
}

void Topology::set_shape(const std::string& site_name, const std::string& isp,
                         const LinkShape& shape) {
  const SiteInfo::Link& link = link_of(site_name, isp);
  std::string why;
  if (!netem_available(&why)) throw SiteError("link " + site_name + "/" + isp + ": " + why);
  LinkShape next = shape;
  next.loss = this->shape(site_name, isp).loss;
  write_shape(site(site_name), link, next);
}

LinkShape Topology::shape(const std::string& site_name, const std::string& isp) const {
  const auto it = shapes_.find({site_name, link_of(site_name, isp).isp_index});
  return it == shapes_.end() ? LinkShape{} : it->second;
}

// Both ends: the site's interface (egress from the site) and the core's port (egress
// towards it). A qdisc that is not there is fine to delete.
void Topology::write_shape(const SiteInfo& info, const SiteInfo::Link& link,
                           const LinkShape& shape) {
  const auto key = std::make_pair(info.name, link.isp_index);
  const LinkShape before = shapes_.count(key) ? shapes_[key] : LinkShape{};
  if (before.none() && shape.none()) return;
  for (const auto& [ns, device] : {std::pair{info.netns, link.interface},
                                   std::pair{core_netns_, link.port}}) {
    std::vector<std::string> argv{tc_tool()};
    for (auto& a : netem_args(ns, device, shape)) argv.push_back(std::move(a));
    const CommandResult r = run_command(argv);
    if (!r.ok() && !(shape.none() && (r.err.find("No such file") != std::string::npos ||
                                      r.err.find("handle of zero") != std::string::npos)))
      throw SiteError("tc " + join_command({argv.begin() + 1, argv.end()}) + ": " +
                      trimmed(r.err) + " (exit status " + std::to_string(r.status) + ")");
  }
  if (shape.none()) shapes_.erase(key);
  else shapes_[key] = shape;
}

void Topology::write_loss(const SiteInfo& info) {
  const auto& losses = loss_[info.name];
  std::string script = replace_table("rsplab_loss");
  if (!losses.empty()) {
    // Inbound and outbound, each packet dropped with probability P/10000.
    std::string in, out;
    for (const auto& [k, hundredths] : losses) {
      const std::string device = "isp" + std::to_string(k);
      // numgen's values are 0..9999: 100 % is every packet.
      const std::string draw =
          hundredths >= 10000
              ? std::string(" drop\n")
              : " numgen random mod 10000 < " + std::to_string(hundredths) + " drop\n";
      in += "    iifname \"" + device + "\"" + draw;
      out += "    oifname \"" + device + "\"" + draw;
    }
    script += "table inet rsplab_loss {\n"
              "  chain input {\n    type filter hook input priority -10; policy accept;\n" +
              in + "  }\n"
              "  chain output {\n    type filter hook output priority -10; policy accept;\n" +
              out + "  }\n}\n";
  }
  nft(info.netns, script);
}

void Topology::set_partition(const std::string& a, const std::string& b, bool partitioned) {
  site(a);
  site(b);
  if (a == b) throw SiteError("partition of site \"" + a + "\" from itself");
  if (namespaces_.empty()) throw SiteError("topology " + tag_ + " was destroyed");
  const auto pair = a < b ? std::make_pair(a, b) : std::make_pair(b, a);
  const auto before = partitions_;
  if (partitioned) partitions_.insert(pair);
  else partitions_.erase(pair);
  try {
    write_partitions();
  } catch (...) {
    partitions_ = before;
    throw;
  }
}

void Topology::write_partitions() {
  std::string script = replace_table("rsplab_partition");
  if (!partitions_.empty()) {
    std::string rules;
    for (const auto& [a, b] : partitions_) {
      const SiteInfo& x = site(a);
      const SiteInfo& y = site(b);
      for (const bool v6 : {false, true}) {
        std::vector<std::string> xs, ys;
        for (const auto& l : x.links) xs.push_back(v6 ? l.ipv6 : l.ipv4);
        for (const auto& l : y.links) ys.push_back(v6 ? l.ipv6 : l.ipv4);
        const std::string family = v6 ? "ip6" : "ip";
        rules += "    " + family + " saddr " + address_set(xs) + " " + family + " daddr " +
                 address_set(ys) + " drop\n";
        rules += "    " + family + " saddr " + address_set(ys) + " " + family + " daddr " +
                 address_set(xs) + " drop\n";
      }
    }
    script += "table inet rsplab_partition {\n"
              "  chain forward {\n    type filter hook forward priority -10; policy accept;\n" +
              rules + "  }\n}\n";
  }
  nft(core_netns_, script);
}

void Topology::destroy() {
  std::vector<std::string> left;  // newest first
  std::string errors;
  // The uplink's root end at once (with its route): a namespace's interfaces are removed
  // by the kernel some time after `ip netns del`, and the next run adds its own.
  if (!uplink_.empty()) {
    const CommandResult r = run_ip({"link", "del", uplink_});
    if (!r.ok() && r.err.find("Cannot find device") == std::string::npos)
      errors = "ip link del " + uplink_ + ": " + trimmed(r.err);
    uplink_.clear();
  }
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
    const CommandResult r = run_ip({"netns", "del", *it});
    if (!r.ok() && r.err.find("No such file or directory") == std::string::npos) {
      left.push_back(*it);
      errors += (errors.empty() ? "" : "; ") + ("ip netns del " + *it + ": " + trimmed(r.err));
      continue;
    }
    try {
      journal_.remove("netns " + *it);
    } catch (const std::exception& e) {
      errors += (errors.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  namespaces_.assign(left.rbegin(), left.rend());
  if (namespaces_.empty()) {  // the nftables tables went with the namespaces
    loss_.clear();
    partitions_.clear();
    shapes_.clear();
  }
  if (!errors.empty()) throw SiteError(errors);
}

}  // namespace rsplab::agents
