// A run's sites, agents and components, their readiness, and the teardown (deployment.hpp).
#include "experiments/deployment.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "experiments/progress.hpp"
#include "results/store.hpp"
#include "stack/common/split.hpp"

namespace rsplab::experiments {

agents::LinkShape link_shape(const Netem& n) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  agents::LinkShape shape;
  shape.delay = duration_cast<microseconds>(n.delay);
  shape.jitter = duration_cast<microseconds>(n.jitter);
  shape.normal = n.normal;
  shape.correlation = static_cast<int>(std::lround(n.correlation * 100));
  shape.rate = n.rate;
  return shape;
}


using json = nlohmann::json;

std::vector<std::string> asap_endpoints(const std::string& asap) {
  std::vector<std::string> out;
  const auto colon = asap.rfind(':');
  if (colon == std::string::npos) return out;
  for (const auto& a : common::split(asap.substr(0, colon), ','))
    out.push_back(a + asap.substr(colon));
  return out;
}

bool listening(const Component& c) { return !c.asap.empty(); }

void Deployment::enter(std::string step) {
  s_.record.step = std::move(step);
  if (on_step) on_step();
}

void Deployment::reset() {
  agents_.clear();
  topology_.reset();
  lost_.clear();
}

RegistrarEndpoints Deployment::deploy(const Run& r) {
  s_.record.deploy_started = s_.loop.now();
  s_.record.runner_cpu_at_deploy = own_cpu_s();
  std::map<std::string, std::string> netns;
  create_sites(r, netns);
  enter("starting the agents");
  start_agents(r, netns);
  for (const auto& s : r.sites)
    if (s.host) check_remote_site(s);
  enter("starting the registrars");
  const RegistrarEndpoints registrars = start_registrars(r);
  enter("waiting for the PEs to register");
  start_pes(r, registrars);
  return registrars;
}

void Deployment::create_sites(const Run& r, std::map<std::string, std::string>& netns) {
  std::vector<agents::SiteSpec> specs;  // the local sites
  bool remote = false;
  for (const auto& s : r.sites) {
    if (s.host) remote = true;
    else specs.push_back({s.name, s.isps});
  }
  if (remote && !specs.empty() && !s_.netns)
    throw std::runtime_error(
        "remote sites next to local ones need network namespaces (root): loopback sites "
        "cannot be reached from another host");
  if (s_.netns && !specs.empty()) {
    enter("creating the sites");
    char tag[16];
    std::snprintf(tag, sizeof tag, "%04x%02zu", static_cast<unsigned>(::getpid()) & 0xffffu,
                  r.index % 100);
    topology_ = agents::Topology::create(specs, tag, *s_.journal);
    // Remote hosts reach the emulated sites through this machine.
    if (remote) topology_->add_uplink();
    for (const Link& l : r.links) topology_->set_shape(l.site, l.isp, link_shape(l.netem));
    for (const auto& s : topology_->sites()) {
      netns[s.name] = s.netns;
      s_.record.sites[s.name] = s.ipv4_addresses();
    }
  } else {
    // Without namespaces every site is 127.0.0.1: a TCP connection leaves from that
    // address whatever the site, and a registrar accepts a PE only at an address it can
    // verify on the connection.
    for (const auto& site : r.sites)
      if (!site.host) s_.record.sites[site.name] = {"127.0.0.1"};
  }
}

// Every agent answers hello and its clock round trips (30 s).
void Deployment::start_agents(const Run& r, const std::map<std::string, std::string>& netns) {
  for (const auto& s : r.sites) {
    const auto ns = netns.find(s.name);
    const std::string log =
        s_.log_dir + "/run" + std::to_string(r.index) + "-" + s.name + ".log";
    AgentState& a = agents_[s.name];
    a.host = s.host;
    a.link = s_.starter.start(s, ns == netns.end() ? "" : ns->second, log, *this);
    a.link->hello();
  }
  const bool answered = s_.loop.pump_for(
      [&] {
        for (const auto& [site, a] : agents_)
          if (!a.estimate) return false;
        return true;
      },
      std::chrono::seconds(30));
  for (const auto& [site, a] : agents_)
    if (!answered && !a.estimate)
      throw std::runtime_error("the agent of site " + site +
                               (a.host ? " (ssh " + *a.host + ")" : "") +
                               " did not answer within 30 s");
}

// A remote site's components bind the addresses the experiment gives it, else every address
// its agent reports; its rsplab is ours.
void Deployment::check_remote_site(const Site& s) {
  const AgentState& a = agents_[s.name];
  const std::string version = a.hello->version;
  if (version != s_.options.version)
    throw std::runtime_error("site " + s.name + " (ssh " + *s.host + "): rsplab " + version +
                             " there, " + s_.options.version +
                             " here: install the same version on both");
  // As for local sites, IPv4 unless the experiment names IPv6 addresses ([..] on the
  // command lines).
  auto& addresses = s_.record.sites[s.name];
  for (const auto& x : s.addresses.empty()
                           ? a.hello->addresses
                           : s.addresses) {
    if (x.find(':') == std::string::npos) addresses.push_back(x);
    else if (!s.addresses.empty()) addresses.push_back("[" + x + "]");
  }
  if (addresses.empty())
    throw std::runtime_error("site " + s.name + " (ssh " + *s.host +
                             "): its agent reports no address; give the site 'addresses'");
  if (a.estimate)
    s_.out << "  site " << s.name << " (ssh " << *s.host << ", " << a.hello->host
           << "): clock offset " << a.estimate->offset_us / 1000.0 << " ms ± "
           << a.estimate->uncertainty_us / 1000.0 << " ms\n";
}

// Registrars, one after the other: each waited for until its ready event reports its
// endpoints (30 s), and each given the ENRP endpoints of those before it as its peers (ENRP
// makes the peering mutual: the earlier ones learn of it when it connects).
RegistrarEndpoints Deployment::start_registrars(const Run& r) {
  RegistrarEndpoints out;
  std::vector<std::string> peers;
  for (const auto& pr : r.registrars) {
    start_component(pr.site, pr.name, "registrar",
                    registrar_args(r, pr, join(s_.record.sites[pr.site], ","), join(peers, ",")));
    Component& c = s_.record.components[pr.name];
    const auto ready = [&] { return c.exited || listening(c); };
    if (!s_.loop.pump_for(ready, std::chrono::seconds(30)))
      throw std::runtime_error("registrar " + pr.name + " did not start");
    if (c.exited) throw std::runtime_error("registrar " + pr.name + " exited: " + c.status);
    out[pr.name] = asap_endpoints(c.asap);
    const auto enrp = asap_endpoints(c.enrp);
    if (!enrp.empty()) peers.push_back(enrp.front());
  }
  return out;
}

// PEs: every one registered (60 s) starts the run's clock.
void Deployment::start_pes(const Run& r, const RegistrarEndpoints& registrars) {
  std::size_t pe_total = 0;
  for (const auto& g : r.pes) {
    const auto list = registrar_list(r, g.registrars, g.site_first, g.site, registrars);
    Component& c = start_component(g.site, g.name, "pe",
                                   pe_args(r, g, join(s_.record.sites[g.site], ","), list));
    c.pool = g.pool;
    c.policy = g.policy;
    pe_total += g.count;
  }
  auto& components = s_.record.components;
  const auto& registered = s_.record.registered;
  // The condition runs after every event: with 10,000 PEs it must not walk them all each time.
  // The PEs' identities are gathered once all are known; then a cursor passes those already
  // registered (registrations only add to `registered` while this waits).
  std::vector<std::string> pe_ids;
  std::size_t next = 0;
  const bool all_registered = s_.loop.pump_for(
      [&] {
        if (pe_ids.empty()) {
          std::size_t known = 0;
          for (const auto& g : r.pes) {
            const Component& c = components[g.name];
            if (c.exited) return true;
            known += c.members.size();
          }
          if (known < pe_total) return false;
          for (const auto& g : r.pes)
            for (const auto& [member, id] : components[g.name].members) pe_ids.push_back(id);
        }
        for (const auto& g : r.pes)
          if (components[g.name].exited) return true;
        while (next < pe_ids.size() && registered.count(pe_ids[next]) > 0) ++next;
        return next == pe_ids.size();
      },
      std::chrono::seconds(60));
  for (const auto& g : r.pes)
    if (components[g.name].exited)
      throw std::runtime_error("PE group " + g.name + " exited: " + components[g.name].status);
  if (!all_registered)
    throw std::runtime_error("not every PE registered within 60 s (" +
                             std::to_string(registered.size()) + " of " +
                             std::to_string(pe_total) + ")");
}

void Deployment::start_pus(const Run& r, const RegistrarEndpoints& registrars) {
  for (const auto& g : r.pus) {
    const auto list = registrar_list(r, g.registrars, g.site_first, g.site, registrars);
    Component& c = start_component(g.site, g.name, "pu",
                                   pu_args(r, g, join(s_.record.sites[g.site], ","), list));
    c.pool = g.pool;
  }
}

Component& Deployment::start_component(const std::string& site, const std::string& name,
                                       const std::string& role, std::vector<std::string> args) {
  Component& c = s_.record.add_component(site, name, role, args);
  args.push_back("--log-level");
  args.push_back("warning");
  if (AgentLink* l = link(site)) l->start(name, role, args);
  return c;
}

bool Deployment::all_exited() const {
  for (const auto& [site, a] : agents_)
    if (!a.exited) return false;
  return true;
}

void Deployment::teardown() {
  tearing_down_ = true;
  s_.loop.draining = true;
  for (auto& [site, a] : agents_)
    if (a.link) a.link->stop();
  s_.loop.pump_for([&] { return all_exited(); }, std::chrono::seconds(15));
  for (auto& [site, a] : agents_)
    if (!a.exited && a.link) a.link->kill();
  s_.loop.pump_for([&] { return all_exited(); }, std::chrono::seconds(3));
  for (auto& [site, a] : agents_) a.link.reset();  // out of the journal
  tearing_down_ = false;
  s_.loop.draining = false;
  if (topology_) {
    try {
      topology_->destroy();
    } catch (const std::exception& e) {
      s_.err << "rsplab run: removing the sites: " << e.what() << "\n";
    }
    topology_.reset();
  }
  s_.record.store.flush();
}

void Deployment::heartbeat() {
  const auto now = s_.loop.now();
  if (now - last_heartbeat_ < std::chrono::seconds(10)) return;
  last_heartbeat_ = now;
  for (const auto& [site, a] : agents_)
    if (a.host && a.estimate && !a.exited && a.link) a.link->time(-1);
}

std::vector<results::SiteClock> Deployment::site_clocks() const {
  std::vector<results::SiteClock> clocks;
  for (const auto& [site, a] : agents_) {
    if (!a.estimate) continue;
    results::SiteClock c;
    c.site = site;
    c.host = a.host.value_or("");
    c.agent_version = a.hello ? a.hello->version : "";
    c.offset_us = a.estimate->offset_us;
    c.uncertainty_us = a.estimate->uncertainty_us;
    c.rtt_us = a.estimate->rtt_us;
    c.samples = a.estimate->samples;
    clocks.push_back(c);
  }
  return clocks;
}

AgentLink* Deployment::link(const std::string& site) {
  const auto it = agents_.find(site);
  return it == agents_.end() ? nullptr : it->second.link.get();
}

const AgentState* Deployment::agent(const std::string& site) const {
  const auto it = agents_.find(site);
  return it == agents_.end() ? nullptr : &it->second;
}

bool Deployment::remote_site(const std::string& name) const {
  for (const Site& s : s_.record.run->sites)
    if (s.name == name) return s.host.has_value();
  return false;
}

// ---- what the agents say ------------------------------------------------------------------

// Clock round trips with an agent: kClockSamples in a row, each sent when the last came.
void Deployment::ask_time(const std::string& site) {
  AgentState& a = agents_[site];
  a.time_sent_us = s_.loop.unix_us();
  if (a.link) a.link->time(static_cast<std::int64_t>(a.clock.size()));
}

void Deployment::hello(const std::string& site, const agents::protocol::HelloReply& hello) {
  agents_[site].hello = hello;
  ask_time(site);
}

void Deployment::time(const std::string& site, std::int64_t agent_unix_us) {
  AgentState& a = agents_[site];
  if (a.estimate) return;  // a heartbeat's answer
  a.clock.push_back({a.time_sent_us, agent_unix_us, s_.loop.unix_us()});
  if (a.clock.size() < agents::kClockSamples) ask_time(site);
  else a.estimate = agents::estimate_clock(a.clock);
}

void Deployment::line(const std::string& /*site*/, const std::string& component,
                      const std::string& text) {
  if (const auto c = s_.record.components.find(component); c != s_.record.components.end())
    c->second.lines.push_back(text);
}

void Deployment::event(const std::string& site, const std::string& component, json event) {
  const auto c = s_.record.components.find(component);
  if (c == s_.record.components.end()) return;
  // A remote host's clock is not ours: its event times move onto the runner's clock.
  const AgentState& a = agents_[site];
  if (a.host && a.estimate) results::shift_event_clock(event, a.estimate->offset_us);
  s_.record.on_event(c->second, event);
}

void Deployment::exited(const std::string& /*site*/, const std::string& component,
                        const ComponentExit& exit) {
  const auto it = s_.record.components.find(component);
  if (it == s_.record.components.end()) return;
  Component& c = it->second;
  c.exited = true;
  c.code = exit.code;
  c.status = exit.status;
  c.max_rss_kib = exit.max_rss_kib;
  c.cpu_s = exit.cpu_s;
}

void Deployment::stopped(const std::string& site) { agents_[site].stopped = true; }

void Deployment::problem(const std::string& site, const std::string& text) {
  s_.err << "\nrsplab run: agent " << site << ": " << text << "\n";
}

// An agent that ends before the teardown asked it to: the run cannot go on (its components
// died with it, or a remote one is out of reach).
void Deployment::lost(const std::string& site, int status, const std::string& last_words) {
  AgentState& a = agents_[site];
  a.exited = true;
  if (tearing_down_ || !lost_.empty()) return;
  lost_ = "lost the agent of site " + site +
          (a.host ? " (ssh " + *a.host + ")" : std::string()) + ": " +
          (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status))) +
          (last_words.empty() ? std::string() : ": " + last_words);
}

}  // namespace rsplab::experiments
