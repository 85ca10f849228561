// `links:` for the Loader (experiments/loader.hpp), and the netem values they and the delay
// and rate faults take: a delay as a duration or a distribution of durations (fixed, uniform,
// normal: netem's delay, jitter and distribution), a correlation in percent, a rate in bits
// per second.
#include <cmath>

#include "experiments/loader.hpp"

namespace rsplab::experiments {

Netem link_netem(const Run& r, const std::string& site, const std::string& isp) {
  for (const Link& l : r.links)
    if (l.site == site && l.isp == isp) return l.netem;
  return {};
}

bool needs_netem(const Run& r) {
  if (!r.links.empty()) return true;
  for (const Fault& f : r.faults)
    if (f.kind == Fault::Kind::delay || f.kind == Fault::Kind::rate) return true;
  return false;
}

namespace detail {
namespace {

constexpr Duration kMaxDelay = std::chrono::minutes(1);
constexpr double kMaxRate = 1e12;  // bits per second

Duration whole_us(double seconds) {
  return std::chrono::microseconds(std::llround(seconds * 1e6));
}

}  // namespace

void Loader::read_links(const Entry& e, Raw& raw) {
  std::size_t i = 0;
  for (const auto& [n, pos] : list(e, "links", false)) {
    RawLink l;
    l.pos = pos;
    l.path = "links[" + std::to_string(i++) + "]";
    const auto as = entries(n, pos, l.path, {"site", "isp", "delay", "correlation", "rate"});
    l.site = scalar(need(as, "site", pos, l.path), l.path + ".site", true);
    l.isp = scalar(need(as, "isp", pos, l.path), l.path + ".isp", true);
    if (!find(as, "delay") && !find(as, "rate"))
      fail(pos, l.path + ": a delay, a rate or both (e.g. { site: oslo, isp: uninett, delay: "
                         "25ms, rate: 10M })");
    read_netem(as, l.path, l.netem);
    raw.links.push_back(std::move(l));
  }
}

void Loader::read_netem(const std::vector<Entry>& as, const std::string& apath, RawNetem& n) {
  if (const Entry* x = find(as, "delay")) n.delay = scalar(*x, apath + ".delay", true);
  if (const Entry* x = find(as, "rate")) n.rate = scalar(*x, apath + ".rate", true);
  if (const Entry* x = find(as, "correlation")) {
    if (!n.delay) fail(x->key_pos, apath + ": 'correlation' goes with a delay");
    n.correlation = scalar(*x, apath + ".correlation", true);
  }
}

Netem Loader::netem(const RawNetem& n, const Point& point, const std::string& path) const {
  Netem out;
  if (n.delay) {
    const Val v = get(*n.delay, point);
    const std::string where = path + ".delay";
    std::string err;
    if (v.text.find(':') == std::string::npos) {
      const auto d = values::parse_duration(v.text, "", &err);
      if (!d) bad(v, where, err);
      out.delay = whole_us(std::chrono::duration<double>(*d).count());
    } else {
      const auto d = values::parse_distribution(v.text, values::ValueKind::duration, &err);
      if (!d) bad(v, where, err);
      switch (d->kind) {
        case values::Distribution::fixed: out.delay = whole_us(d->a); break;
        case values::Distribution::uniform:
          out.delay = whole_us((d->a + d->b) / 2);
          out.jitter = whole_us((d->b - d->a) / 2);
          break;
        case values::Distribution::normal:
          out.delay = whole_us(d->a);
          out.jitter = whole_us(d->b);
          out.normal = true;
          break;
        case values::Distribution::exponential:
          bad(v, where, "'" + v.text + "': netem draws delays from fixed:D, uniform:MIN,MAX or "
                        "normal:MEAN,SD, not exp");
      }
    }
    if (out.delay > kMaxDelay || out.jitter > kMaxDelay)
      bad(v, where, "'" + v.text + "': at most 1min of delay and of jitter");
  }
  if (n.correlation) {
    out.correlation = percent(*n.correlation, point, path + ".correlation");
    if (out.jitter == Duration::zero())
      bad(get(*n.correlation, point), path + ".correlation",
          "correlates the jitter of successive delays: give the delay as uniform:MIN,MAX or "
          "normal:MEAN,SD");
  }
  if (n.rate) {
    const Val v = get(*n.rate, point);
    std::string err;
    const auto r = values::parse_amount(v.text, true, &err);
    if (!r) bad(v, path + ".rate", err);
    if (*r < 1 || *r > kMaxRate)
      bad(v, path + ".rate", "'" + v.text + "' bits per second: want 1 to 1e12 (10M: 10 Mbit/s)");
    out.rate = static_cast<std::uint64_t>(*r);
  }
  return out;
}

void Loader::resolve_links(const Raw& raw, const Point& point, Run& run) const {
  for (const RawLink& rl : raw.links) {
    Link l;
    site_isp(rl.site, rl.isp, rl.path, point, run, l);
    for (const Site& s : run.sites)
      if (s.name == l.site && s.host)
        bad(get(rl.site, point), rl.path + ".site",
            "site " + s.name + " is a remote host: links are shaped at emulated sites only");
    for (const Link& other : run.links)
      if (other.site == l.site && other.isp == l.isp)
        bad(get(rl.isp, point), rl.path + ".isp",
            "the link " + l.site + "/" + l.isp + " twice: one entry per site and ISP");
    l.netem = netem(rl.netem, point, rl.path);
    run.links.push_back(std::move(l));
  }
}

}  // namespace detail
}  // namespace rsplab::experiments
