// An in-memory network for the ENRP tests: registrar cores and PE cores (session::PeCore)
// wired by in-memory connections, with a fake clock the test advances. A registrar's
// Connect links to the registrar (ENRP) or PE (ASAP) at that transport, which sees an
// accepted connection; messages are delivered in order, each through the receiving core,
// until nothing is in flight. Registrars can die (silently: no close reaches anyone, but a
// later send to one fails and closes the sender's connection), restart, and be partitioned
// from each other (connections across the cut close; dials across it fail); messages
// between two registrars can be held back and released.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "stack/registrar/core.hpp"
#include "stack/session/pe_core.hpp"
#include "tests/common/typed_events.hpp"
#include "tests/registrar/harness.hpp"

namespace registrar_test {

namespace session = rserpool::session;

class Net {
 public:
  struct Registrar {
    std::unique_ptr<reg::Core> core;
    reg::Config config;
    w::Address addr;
    bool alive = true;
    ConnId next_conn = 1;
  };
  struct Pe {
    std::unique_ptr<session::PeCore> core;
    w::Address addr;
    std::uint16_t port = 0;  // where registrars reach it (its ASAP transport)
    std::size_t offset = 0;  // its registrar index i is registrar (i + offset) % n
    bool alive = true;
    session::RegistrarIndex next_index = 1000;  // connections registrars open to it
  };
  // One end of a connection: a registrar's ConnId, or a PE's registrar index.
  struct End {
    bool pe = false;
    std::size_t who = 0;
    std::uint64_t id = 0;
    bool operator<(const End& o) const {
      return std::tie(pe, who, id) < std::tie(o.pe, o.who, o.id);
    }
  };
  struct Link {
    End other;
    bool enrp = false;
  };
  enum class What { enrp, asap, multicast, closed, connected, connect_failed };
  struct Item {
    End to;
    What what;
    w::Bytes bytes;
    w::Address source;
    std::size_t from = 0;  // the sending registrar (hold())
  };
  // An H keep-alive delivered: to which PE, from which registrar.
  struct HomeKeepAlive {
    std::size_t pe, registrar;
  };

  TimePoint now = T0;
  std::vector<Registrar> regs;
  std::vector<Pe> pes;
  std::vector<std::pair<std::size_t, json>> events;  // by registrar
  std::vector<HomeKeepAlive> home_keepalives;

  static w::Transport enrp_transport(std::size_t i) {
    w::Transport t;
    t.kind = w::TransportKind::tcp;
    t.port = w::kEnrpPort;
    t.addresses = {w::Address::v4(10, 1, 0, static_cast<std::uint8_t>(i + 1))};
    return t;
  }

  // A registrar with Server ID `id`; its static peers are the given registrars.
  std::size_t add_registrar(std::uint32_t id, std::vector<std::size_t> static_peers = {},
                            std::function<void(reg::Config&)> tweak = {}) {
    reg::Config c;
    c.identifier = id;
    c.seed = id;
    c.enrp.own = {enrp_transport(regs.size())};
    for (const auto p : static_peers) c.enrp.peers.push_back(enrp_transport(p));
    if (tweak) tweak(c);
    Registrar r;
    r.config = c;
    r.addr = c.enrp.own[0].addresses[0];
    regs.push_back(std::move(r));
    return regs.size() - 1;
  }

  void start(std::size_t r) {
    Registrar& g = regs[r];
    g.core = std::make_unique<reg::Core>(g.config);
    g.alive = true;
    reg::Actions out;
    g.core->start(now, out);
    process(r, out);
    drain();
  }

  // A PE of `pool` registering with registrar `first` first.
  std::size_t add_pe(const std::string& pool, std::uint32_t id, std::size_t first,
                     std::function<void(session::PeConfig&)> tweak = {}) {
    session::PeConfig c;
    c.pool_handle = pool;
    c.pe_identifier = id;
    Pe p;
    p.addr = w::Address::v4(10, 2, static_cast<std::uint8_t>(pes.size() / 250),
                            static_cast<std::uint8_t>(pes.size() % 250 + 1));
    p.port = 7000;
    p.offset = first;
    c.user_transport.kind = w::TransportKind::tcp;
    c.user_transport.port = 6000;
    c.user_transport.addresses = {p.addr};
    c.registrar_count = regs.size();
    c.reregistration_interval = milliseconds(60000);
    c.registration_life = milliseconds(180000);
    if (tweak) tweak(c);
    p.core = std::make_unique<session::PeCore>(c);
    pes.push_back(std::move(p));
    const std::size_t i = pes.size() - 1;
    session::Actions out;
    pes[i].core->start(now, out);
    process_pe(i, out);
    drain();
    return i;
  }

  void shutdown_pe(std::size_t i) {
    session::Actions out;
    pes[i].core->shutdown(now, out);
    process_pe(i, out);
    drain();
  }

  // The PE process dies: its connections close (the kernel resets them), or, silent,
  // nothing reaches its registrar (its keep-alives then time out).
  void kill_pe(std::size_t i, bool silent = false) {
    pes[i].alive = false;
    drop_links([&](const End& e) { return e.pe && e.who == i; }, !silent);
    drain();
  }

  // The registrar dies silently: nothing it had in flight or open says so.
  void kill(std::size_t r) {
    regs[r].alive = false;
    drop_links([&](const End& e) { return !e.pe && e.who == r; }, false);
    std::erase_if(queue_, [&](const Item& it) { return !it.to.pe && it.to.who == r; });
  }

  void partition(const std::set<std::size_t>& side) {
    side_ = side;
    drop_links(
        [&](const End& e) {
          if (e.pe) return false;
          const auto l = links_.find(e);
          return l != links_.end() && !l->second.other.pe && cut(e.who, l->second.other.who);
        },
        true);
    drain();
  }
  void heal() { side_.clear(); }

  // ENRP from a to b (and from b to a too, unless one_way; of one message type only, if
  // given) waits until release().
  void hold(std::size_t a, std::size_t b, bool one_way = false,
            std::optional<w::EnrpType> type = std::nullopt) {
    held_from_ = a;
    held_to_ = b;
    held_one_way_ = one_way;
    held_type_ = type;
  }
  void release() {
    held_from_.reset();
    for (auto& it : held_) queue_.push_back(std::move(it));
    held_.clear();
    drain();
  }

  void advance(std::int64_t ms) {
    const TimePoint until = now + milliseconds(ms);
    for (int guard = 0; guard < 1000000; ++guard) {
      std::optional<TimePoint> next;
      const auto consider = [&](std::optional<TimePoint> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      for (const auto& g : regs)
        if (g.alive && g.core) consider(g.core->next_deadline());
      for (const auto& p : pes)
        if (p.alive) consider(p.core->next_deadline());
      if (!next || *next > until) break;
      now = std::max(now, *next);
      for (std::size_t r = 0; r < regs.size(); ++r) {
        if (!regs[r].alive || !regs[r].core) continue;
        if (const auto d = regs[r].core->next_deadline(); d && *d <= now) {
          reg::Actions out;
          regs[r].core->tick(now, out);
          process(r, out);
        }
      }
      for (std::size_t i = 0; i < pes.size(); ++i) {
        if (!pes[i].alive) continue;
        if (const auto d = pes[i].core->next_deadline(); d && *d <= now) {
          session::Actions out;
          pes[i].core->tick(now, out);
          process_pe(i, out);
        }
      }
      drain();
    }
    now = until;
  }

  // Events of that name from registrar r (any registrar: r = npos), from index `since`.
  std::vector<json> events_of(std::string_view name, std::size_t r = std::string::npos,
                              std::size_t since = 0) const {
    std::vector<json> v;
    for (std::size_t i = since; i < events.size(); ++i)
      if ((r == std::string::npos || events[i].first == r) && events[i].second["event"] == name)
        v.push_back(events[i].second);
    return v;
  }

  // What a registrar holds: (pool, PE id, home), sorted.
  std::vector<std::tuple<std::string, std::uint32_t, std::uint32_t>> table(std::size_t r) const {
    std::vector<std::tuple<std::string, std::uint32_t, std::uint32_t>> t;
    const auto& hs = regs[r].core->handlespace();
    for (const auto pool : hs.pool_handles())
      for (const auto ref : hs.members(pool))
        t.emplace_back(std::string(pool), hs.entry(ref).element.identifier,
                       hs.entry(ref).element.home_server);
    std::sort(t.begin(), t.end());
    return t;
  }

 private:
  bool cut(std::size_t a, std::size_t b) const {
    return !side_.empty() && side_.contains(a) != side_.contains(b);
  }

  template <class Pred>
  void drop_links(Pred pred, bool notify) {
    std::vector<End> ends;
    for (const auto& [e, l] : links_)
      if (pred(e)) ends.push_back(e);
    for (const auto& e : ends) {
      const auto l = links_.find(e);
      if (l == links_.end()) continue;
      const End other = l->second.other;
      links_.erase(l);
      links_.erase(other);
      if (notify) {
        queue_.push_back(Item{other, What::closed, {}, {}, 0});
        queue_.push_back(Item{e, What::closed, {}, {}, 0});
      }
    }
  }

  void link(End a, End b, bool enrp) {
    links_[a] = Link{b, enrp};
    links_[b] = Link{a, enrp};
  }

  void connect_from(std::size_t r, const reg::Connect& c) {
    const End self{false, r, c.conn};
    const auto& to = c.to;
    if (c.protocol == w::Protocol::enrp) {
      for (std::size_t o = 0; o < regs.size(); ++o) {
        if (o == r || !regs[o].alive || !regs[o].core || cut(r, o)) continue;
        if (to.addresses.empty() || to.addresses[0] != regs[o].addr || to.port != w::kEnrpPort)
          continue;
        const End peer{false, o, regs[o].next_conn++};
        link(self, peer, true);
        regs[o].core->opened(peer.id, reg::Peer{w::TransportKind::tcp, {regs[r].addr}, 40000});
        regs[r].core->opened(c.conn,
                             reg::Peer{w::TransportKind::tcp, {regs[o].addr}, w::kEnrpPort});
        return;
      }
    } else {
      for (std::size_t i = 0; i < pes.size(); ++i) {
        if (!pes[i].alive || to.addresses.empty() || to.addresses[0] != pes[i].addr ||
            to.port != pes[i].port)
          continue;
        const session::RegistrarIndex index = pes[i].next_index++;
        link(self, End{true, i, index}, false);
        regs[r].core->opened(c.conn, reg::Peer{w::TransportKind::tcp, {pes[i].addr}, pes[i].port});
        // The PE's shell names the accepted connection to its core (which never dials it).
        session::Actions accepted;
        pes[i].core->registrar_accepted(index, now, accepted);
        process_pe(i, accepted);
        return;
      }
    }
    queue_.push_back(Item{self, What::closed, {}, {}, 0});
  }

  void process(std::size_t r, reg::Actions& out) {
    for (const auto& c : out.connects) connect_from(r, c);
    for (auto& s : out.sends) {
      const auto l = links_.find(End{false, r, s.conn});
      if (l == links_.end()) {  // the other side is gone: the send fails, and says so
        if (!dead_.contains(End{false, r, s.conn}))
          queue_.push_back(Item{End{false, r, s.conn}, What::closed, {}, {}, 0});
        dead_.insert(End{false, r, s.conn});
        continue;
      }
      if (l->second.other.pe) {
        if (const auto d = w::decode_asap(s.message)) {
          const auto* ka = std::get_if<asap::EndpointKeepAlive>(&d->message);
          if (ka && ka->home) home_keepalives.push_back({l->second.other.who, r});
        }
      }
      const What what = l->second.enrp ? What::enrp : What::asap;
      Item it{l->second.other, what, std::move(s.message), {}, r};
      const bool held = held_from_ && what == What::enrp && !it.to.pe &&
                        ((r == *held_from_ && it.to.who == held_to_) ||
                         (!held_one_way_ && r == held_to_ && it.to.who == *held_from_)) &&
                        (!held_type_ || (!it.bytes.empty() &&
                                         it.bytes[0] == static_cast<std::uint8_t>(*held_type_)));
      (held ? held_ : queue_).push_back(std::move(it));
    }
    for (const auto c : out.closes)
      drop_links([&](const End& e) { return !e.pe && e.who == r && e.id == c; }, true);
    for (auto& m : out.multicast)
      for (std::size_t o = 0; o < regs.size(); ++o)
        if (o != r && !cut(r, o))
          queue_.push_back(Item{End{false, o, 0}, What::multicast, m, regs[r].addr, r});
    for (auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::registrar, e);
      events.emplace_back(r, std::move(e));
    }
    out.clear();
  }

  void process_pe(std::size_t i, session::Actions& out) {
    for (auto& op : out.ops) {
      const End self{true, i, op.registrar};
      switch (op.kind) {
        case session::Op::Kind::connect: {
          const std::size_t o = (op.registrar + pes[i].offset) % regs.size();
          if (!regs[o].alive || !regs[o].core) {
            queue_.push_back(Item{self, What::connect_failed, {}, {}, 0});
            break;
          }
          const End peer{false, o, regs[o].next_conn++};
          link(self, peer, false);
          regs[o].core->opened(peer.id,
                               reg::Peer{w::TransportKind::tcp, {pes[i].addr}, pes[i].port});
          queue_.push_back(Item{self, What::connected, {}, {}, 0});
          break;
        }
        case session::Op::Kind::close:
        case session::Op::Kind::abort:
          drop_links([&](const End& e) { return e.pe && e.who == i && e.id == op.registrar; },
                     true);
          std::erase_if(queue_, [&](const Item& it) {
            return it.to.pe && it.to.who == i && it.to.id == op.registrar &&
                   it.what == What::closed;
          });
          break;
        case session::Op::Kind::send: {
          const auto l = links_.find(self);
          if (l != links_.end())
            queue_.push_back(Item{l->second.other, What::asap, op.message, {}, 0});
          break;
        }
      }
    }
    out.clear();
  }

  void deliver(Item& it) {
    if (it.to.pe) {
      Pe& p = pes[it.to.who];
      if (!p.alive) return;
      session::Actions out;
      switch (it.what) {
        case What::asap:
          p.core->received(it.to.id, it.bytes, now, out);
          break;
        case What::closed:
          p.core->registrar_closed(it.to.id, now, out);
          break;
        case What::connected:
          p.core->registrar_connected(it.to.id, now, out);
          break;
        case What::connect_failed:
          p.core->registrar_connect_failed(it.to.id, now, out);
          break;
        default:
          break;
      }
      process_pe(it.to.who, out);
      return;
    }
    Registrar& g = regs[it.to.who];
    if (!g.alive || !g.core) return;
    reg::Actions out;
    switch (it.what) {
      case What::enrp:
        g.core->received_enrp(it.to.id, it.bytes, now, out);
        break;
      case What::asap:
        g.core->received_asap(it.to.id, it.bytes, now, out);
        break;
      case What::multicast:
        g.core->received_enrp_multicast(it.bytes, it.source, now, out);
        break;
      case What::closed:
        g.core->closed(it.to.id, now, out);
        break;
      default:
        break;
    }
    process(it.to.who, out);
  }

  void drain() {
    for (int guard = 0; guard < 10000000 && !queue_.empty(); ++guard) {
      Item it = std::move(queue_.front());
      queue_.pop_front();
      deliver(it);
    }
  }

  std::map<End, Link> links_;
  std::set<End> dead_;  // ends whose failed send was reported
  std::deque<Item> queue_;
  std::set<std::size_t> side_;
  std::optional<std::size_t> held_from_;
  std::size_t held_to_ = 0;
  bool held_one_way_ = false;
  std::optional<w::EnrpType> held_type_;
  std::deque<Item> held_;
};

}  // namespace registrar_test
