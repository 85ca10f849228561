// Emulated multi-homed sites on this machine (DESIGN.md, "Sites"): a network namespace per
// site with one interface per ISP, a bridge per ISP in a core router namespace that routes
// between the ISP networks, addresses from 198.18.0.0/15 and an IPv6 ULA prefix (one /24 and
// /64 per ISP and site). Everything created is journaled first (journal.hpp), so that
// `rsplab cleanup` can remove exactly what a dead runner left. agents/README.md draws it.
//
// ISP k (1-based, over the union of all sites' ISPs in first-seen order), site s (1-based, in
// the order given); idx = (k-1)*64 + s:
//   ISP network of (k, s)   198.(18 + idx/256).(idx%256).0/24     fd00:5253:<k>:<s>::/64 (hex)
//   site address            .2                                     ::2
//   core gateway            .1  (on bridge br<k>)                  ::1
// e.g. ISP 1, site 1: 198.18.1.2 and fd00:5253:1:1::2; ISP 2, site 1: 198.18.65.2.
// Hence at most 8 ISPs and 63 sites.
//
//   Topology::create(sites, tag, journal)
//     ─► ns rsplab-<tag>-core: forwarding on, bridge br<k> per ISP
//     ─► ns rsplab-<tag>-<site>: eth<k> per ISP of the site, a veth whose peer s<s>i<k> is a
//        port of br<k>; eth<k> is the one port of bridge isp<k>, which holds the address;
//        source routing: from the isp<k> address, table 100+k (its gateway)
//   topology.site("oslo") ─► its namespace and addresses, by ISP
//   topology.set_link("bergen", "bkk", false) ─► ip link set eth<k> down (in the site ns)
//   topology.set_shape("oslo", "telenor", {25ms}) ─► tc qdisc replace ... netem delay 25000us
//                                                    on eth<k> (site ns) and s<s>i<k> (core ns)
//   topology.set_loss("oslo", "telenor", 5)    ─► netem loss on those (netem.hpp), or where the
//                                                 kernel has no netem: nft table rsplab_loss
//   topology.set_partition("oslo", "bergen", true) ─► nft table rsplab_partition in the core
//   topology.destroy() (or ~Topology) ─► every namespace deleted, journal entries removed
//
// No interface ever exists in the root namespace: each veth is created inside a site
// namespace with its peer directly in the core namespace, so deleting the namespaces removes
// everything. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); `available()` says whether it can
// work here. Single-threaded; runs `ip` and `nft` as child processes (no shell) and writes
// sysctls from a short-lived thread that enters the namespace.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/journal.hpp"
#include "agents/netem.hpp"

namespace rsplab::agents {

class SiteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SiteSpec {
  std::string name;               // [a-z0-9-], ≤ 32 bytes, not "core"
  std::vector<std::string> isps;  // 1..8 distinct names; the first carries the default route
};

struct SiteInfo {
  std::string name;
  std::string netns;  // the namespace to run its components in (`ip netns exec NETNS ...`)
  struct Link {
    std::string isp;
    std::string interface;  // the link, inside the site's namespace: eth<k>; what
                            // set_link (or `ip link set eth<k> down|up` there) cuts
    std::string device;     // isp<k>: a one-port bridge over `interface` holding the
                            // addresses and routes, so that they survive a link down
    std::string ipv4;       // e.g. "198.18.1.2" (ISP 1, site 1)
    std::string ipv6;       // e.g. "fd00:5253:1:1::2"
    std::string gateway4;   // the core's address on this network, e.g. "198.18.1.1"
    std::string gateway6;   // e.g. "fd00:5253:1:1::1"
    std::string bridge;     // the ISP's bridge in the core namespace: br<k>
    std::string port;       // the link's other end, a port of `bridge` in the core: s<s>i<k>
    int isp_index = 0;      // k
  };
  std::vector<Link> links;  // in the order of SiteSpec::isps
  // Every address of the site, IPv4 first in ISP order (what multi-homed components bind).
  std::vector<std::string> ipv4_addresses() const;
};

// Whether namespaces can be created here (root, `ip netns add/del`, veth and bridge links
// work); `why` (may be null) says otherwise.
bool available(std::string* why);

class Topology {
 public:
  // `tag` names this topology's namespaces (rsplab-<tag>-<site>, rsplab-<tag>-core):
  // [a-z0-9], 1..12 bytes, unique among the runs on this machine. Throws SiteError (a bad
  // spec before anything is created; an `ip` failure with its stderr); on failure, whatever
  // was created is removed again. A namespace that already exists is never taken over.
  static std::unique_ptr<Topology> create(const std::vector<SiteSpec>& sites,
                                          const std::string& tag, Journal& journal);
  ~Topology();  // destroy(), errors reported on stderr
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const SiteInfo& site(const std::string& name) const;  // throws SiteError if unknown
  const std::vector<SiteInfo>& sites() const { return sites_; }
  const std::string& core_netns() const { return core_netns_; }
  // ip link set <the site's interface for isp> up|down, nothing more: a plain `ip link set`
  // by the site agent has the same effect, and up restores everything. Throws SiteError.
  void set_link(const std::string& site, const std::string& isp, bool up);
  // Makes the sites reachable from this machine's root namespace (for sites on remote hosts,
  // reached over ssh): a veth pair rsp<tag> (root, kUplinkRoot/30) ↔ uplink (core,
  // kUplinkCore), a route to 198.18.0.0/15 via the core in the root namespace and the
  // core's default route back. The root end dies with the core namespace. Once; IPv4
  // only. Remote hosts elsewhere reach the sites only if this machine forwards
  // (net.ipv4.ip_forward=1) and they route 198.18.0.0/15 to it. Throws SiteError.
  void add_uplink();
  static constexpr const char* kUplinkRoot = "198.51.100.1";
  static constexpr const char* kUplinkCore = "198.51.100.2";
  // Loss on a link: drops `percent` % (0.01 steps; 0 removes it) of the packets in and out
  // of the site's link to `isp`, at random. Where the kernel has netem: netem's `loss random`
  // on both ends of the link, beside its delay and rate (set_shape). Else nftables `numgen
  // random` in the site's namespace: table inet rsplab_loss, chains input (iifname isp<k>)
  // and output (oifname isp<k>). Each call rewrites the site's table with all its losses in one nft transaction,
  // so it is idempotent and a second ISP's loss coexists. Throws SiteError (unknown site or
  // ISP, percent outside 0..100, nft failing).
  void set_loss(const std::string& site, const std::string& isp, double percent);
  // Which way set_loss drops packets: "netem" where the kernel has it (netem_available),
  // else "nftables".
  static std::string loss_method();
  // The link's delay, jitter and rate (netem.hpp), both ways: a qdisc on its interface in the
  // site's namespace (what leaves the site) and on its port in the core's (what reaches the
  // site), so a delay D adds D to each direction (2·D to a round trip over it). `shape.loss`
  // is ignored: the link keeps set_loss's. Replaces what the link had; a shape of none (and no
  // loss) removes the qdiscs. Throws SiteError (unknown site or ISP, no netem here, tc failing).
  void set_shape(const std::string& site, const std::string& isp, const LinkShape& shape);
  // What set_shape and set_loss (over netem) gave the link; none at first.
  LinkShape shape(const std::string& site, const std::string& isp) const;
  // A partition: every packet between an address of site `a` and one of site `b` (IPv4 and
  // IPv6, both ways) is dropped where the core forwards it: table inet rsplab_partition in
  // the core namespace, hook forward. false heals it. Idempotent, as set_loss; partitions of
  // several pairs coexist ({a, b} and {b, a} are the same). Throws SiteError.
  void set_partition(const std::string& a, const std::string& b, bool partitioned);
  // The nftables tables are inside this topology's namespaces: deleting those removes them
  // (no journal entries of their own).
  // Removes every namespace (with them their interfaces and bridges) and the journal entries.
  // Idempotent; throws SiteError if a namespace could not be deleted (after trying all; a
  // later call retries those).
  void destroy();

 private:
  Topology(Journal& journal, std::string tag) : journal_(journal), tag_(std::move(tag)) {}
  void build(const std::vector<SiteSpec>& specs, const std::vector<std::string>& isps);
  void add_namespace(const std::string& name);
  void add_routes(const SiteInfo& site, const SiteInfo::Link& link, int metric);
  void write_loss(const SiteInfo& site);
  const SiteInfo::Link& link_of(const std::string& site, const std::string& isp) const;
  void write_shape(const SiteInfo& site, const SiteInfo::Link& link, const LinkShape& shape);
  void write_partitions();
  Journal& journal_;
  std::string tag_;
  std::string core_netns_;
  std::vector<SiteInfo> sites_;
  std::vector<std::string> namespaces_;  // creation order
  std::string uplink_;                   // the uplink's end here, once added
  std::map<std::string, std::map<int, int>> loss_;  // site → ISP index k → 1/100 percent
  std::set<std::pair<std::string, std::string>> partitions_;  // (a, b), a < b
  std::map<std::pair<std::string, int>, LinkShape> shapes_;   // (site, ISP index k) → netem
};

}  // namespace rsplab::agents
