// The handlespace fetch of `rsplab hsdump` (hsdump.hpp): one ENRP conversation with a
// registrar as a small state machine, the pages merged into pools, and the two renderings.
#include "node/hsdump.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "node/shell.hpp"
#include "stack/handlespace/handlespace.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rsplab::node {
namespace {

namespace asio = boost::asio;
namespace enrp = rserpool::wire::enrp;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;

// "rr", "wrand:5", "lu:25%": the --policy grammar of `rsplab pe` (loads as percentages).
std::string policy_text(const wire::Policy& p) {
  const wire::PolicyInfo* info = wire::policy_info(p.type);
  if (info == nullptr) return wire::hex_id(static_cast<std::uint32_t>(p.type));
  std::string text(info->short_name);
  for (std::uint8_t i = 0; i < info->field_count; ++i) {
    const auto f = info->fields[i];
    const std::uint32_t v = wire::policy_field(p, f);
    char buf[32];
    if (f == wire::PolicyField::weight || f == wire::PolicyField::priority ||
        f == wire::PolicyField::distance)
      std::snprintf(buf, sizeof buf, "%u", v);
    else
      std::snprintf(buf, sizeof buf, "%.4g%%", wire::percent(v));
    text += (i == 0 ? ":" : ",") + std::string(buf);
  }
  return text;
}

std::string kind_name(wire::TransportKind k) {
  switch (k) {
    case wire::TransportKind::sctp: return "sctp";
    case wire::TransportKind::tcp: return "tcp";
    case wire::TransportKind::udp: return "udp";
    case wire::TransportKind::dccp: return "dccp";
    case wire::TransportKind::udp_lite: return "udp-lite";
  }
  return "?";
}

// "tcp 127.0.0.1:7000"
std::string transport_text(const wire::Transport& t) {
  return kind_name(t.kind) + " " + to_endpoint(t).to_string();
}

nlohmann::ordered_json transport_json(const wire::Transport& t) {
  return {{"transport", kind_name(t.kind)}, {"endpoint", to_endpoint(t).to_string()}};
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

std::size_t pe_count(const HandlespaceDump& d) {
  std::size_t n = 0;
  for (const auto& p : d.pools) n += p.pool_elements.size();
  return n;
}

// A Handle Table Response page into the pools: a PE seen again replaces the earlier entry.
void merge(std::vector<enrp::PoolEntry>& pools, std::vector<enrp::PoolEntry> page) {
  for (auto& entry : page) {
    auto pool = std::find_if(pools.begin(), pools.end(), [&](const enrp::PoolEntry& p) {
      return p.pool_handle == entry.pool_handle;
    });
    if (pool == pools.end()) {
      pools.push_back(enrp::PoolEntry{entry.pool_handle, {}});
      pool = pools.end() - 1;
    }
    for (auto& pe : entry.pool_elements) {
      auto& members = pool->pool_elements;
      const auto same = std::find_if(members.begin(), members.end(), [&](const auto& m) {
        return m.identifier == pe.identifier;
      });
      if (same != members.end())
        *same = std::move(pe);
      else
        members.push_back(std::move(pe));
    }
  }
}

void sort(std::vector<enrp::PoolEntry>& pools) {
  std::sort(pools.begin(), pools.end(),
            [](const auto& a, const auto& b) { return a.pool_handle < b.pool_handle; });
  for (auto& p : pools)
    std::sort(p.pool_elements.begin(), p.pool_elements.end(),
              [](const auto& a, const auto& b) { return a.identifier < b.identifier; });
}

// One fetch: owns the connection and the deadline; keeps itself alive through its handlers.
class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(asio::io_context& io, HsdumpRequest request, HsdumpDone done)
      : io_(io), request_(std::move(request)), done_(std::move(done)), timer_(io) {
    dump_.endpoint = request_.registrar.to_string();
  }

  void start();

 private:
  const char* waiting_for() const {
    if (!conn_) return "the connection";
    return got_list_ ? "its Handle Table Response" : "its List Response";
  }

  void connected(std::shared_ptr<transport::Connection> c);
  void received(std::span<const std::uint8_t> bytes);
  void on(const enrp::Message& m);
  void send(const enrp::Message& m);
  void fail(std::string error);
  void finish();

  asio::io_context& io_;
  HsdumpRequest request_;
  HsdumpDone done_;
  asio::steady_timer timer_;
  std::shared_ptr<transport::Connection> conn_;
  HandlespaceDump dump_;
  bool got_list_ = false, got_table_ = false;
  bool over_ = false;
};

void Fetch::start() {
  auto self = shared_from_this();
  timer_.expires_after(request_.timeout);
  timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->over_) return;
    self->fail("no answer from " + self->dump_.endpoint + " within " +
               std::to_string(self->request_.timeout.count()) + " ms (waiting for " +
               self->waiting_for() + ")");
  });
  transport::async_connect_auto(
      io_, request_.transport, request_.registrar, {}, {false, wire::kPpidEnrp},
      [self](std::error_code ec, std::shared_ptr<transport::Connection> c) {
        if (self->over_) {
          if (c) c->close();
          return;
        }
        if (ec || !c)
          return self->fail("cannot connect to " + self->dump_.endpoint + ": " +
                            (ec ? ec.message() : "no connection"));
        self->connected(std::move(c));
      },
      request_.timeout);
}

// The three requests at once; the registrar answers them in order, its Presence (when it
// answers one from a tool) before its List Response.
void Fetch::connected(std::shared_ptr<transport::Connection> c) {
  conn_ = std::move(c);
  dump_.transport = std::string(transport::name(conn_->kind()));
  auto self = shared_from_this();
  conn_->start({[self](std::uint32_t, std::span<const std::uint8_t> m) {
                  if (!self->over_) self->received(m);
                },
                [self](const std::error_code& ec) {
                  if (self->over_) return;
                  self->fail("the registrar closed the connection while hsdump waited for " +
                             std::string(self->waiting_for()) +
                             (ec ? " (" + ec.message() + ")" : ""));
                }});
  const std::uint32_t me = request_.sender;
  // Our own handlespace is empty: the checksum of nothing.
  send(enrp::Presence{me, 0, true, rserpool::handlespace::fold_checksum(0), {}});
  send(enrp::ListRequest{me, 0});
  send(enrp::HandleTableRequest{me, 0, false});
}

void Fetch::received(std::span<const std::uint8_t> bytes) {
  auto decoded = wire::decode_enrp(bytes);
  if (!decoded)
    return fail("malformed response (" + std::to_string(bytes.size()) +
                " bytes): " + decoded.error().message());
  if (const auto* e = std::get_if<enrp::Error>(&decoded->message)) {
    std::string causes;
    for (const auto& c : e->error.causes)
      causes += (causes.empty() ? "" : ", ") + std::string(wire::cause_name(c.code));
    return fail("the registrar answered with an ENRP Error: " + causes);
  }
  on(decoded->message);
  if (!over_ && got_list_ && got_table_) finish();
}

// One answer; other messages (a Handle Update) are passed over.
void Fetch::on(const enrp::Message& m) {
  if (const auto* p = std::get_if<enrp::Presence>(&m); p && p->sender != 0 && !got_list_) {
    dump_.registrar = p->sender;
    dump_.announced_checksum = p->pe_checksum;
  } else if (const auto* l = std::get_if<enrp::ListResponse>(&m); l && !got_list_) {
    if (l->reject) return fail("the registrar rejected the List Request (R flag)");
    got_list_ = true;
    dump_.registrar = l->sender;
    dump_.peers = l->servers;
  } else if (const auto* t = std::get_if<enrp::HandleTableResponse>(&m); t && !got_table_) {
    if (t->reject) return fail("the registrar rejected the Handle Table Request (R flag)");
    ++dump_.pages;
    merge(dump_.pools, t->pools);
    if (t->more)
      send(enrp::HandleTableRequest{request_.sender, t->sender, false});
    else
      got_table_ = true;
  }
}

void Fetch::send(const enrp::Message& m) {
  if (!conn_->send(wire::kPpidEnrp, wire::encode(m)))
    fail("cannot send " + std::string(wire::message_type_name(
                              wire::Protocol::enrp, static_cast<std::uint8_t>(enrp::type_of(m)))));
}

void Fetch::fail(std::string error) {
  if (over_) return;
  over_ = true;
  timer_.cancel();
  // Its handlers hold this fetch: let the connection go.
  if (conn_) conn_->close();
  conn_.reset();
  done_(std::nullopt, std::move(error));
}

void Fetch::finish() {
  if (over_) return;
  over_ = true;
  timer_.cancel();
  conn_->close();
  conn_.reset();
  sort(dump_.pools);
  std::sort(dump_.peers.begin(), dump_.peers.end(),
            [](const auto& a, const auto& b) { return a.server_id < b.server_id; });
  done_(std::move(dump_), {});
}

}  // namespace

std::vector<OwnerSummary> owners(const HandlespaceDump& d) {
  std::map<std::uint32_t, std::pair<std::size_t, std::uint64_t>> sums;
  sums[d.registrar];  // the registrar's own row, even without PEs
  for (const auto& pool : d.pools) {
    const std::uint64_t words = rserpool::handlespace::checksum_words(pool.pool_handle);
    for (const auto& pe : pool.pool_elements) {
      auto& [n, sum] = sums[pe.home_server];
      ++n;
      sum += rserpool::handlespace::checksum_contribution(words, pe.identifier);
    }
  }
  std::vector<OwnerSummary> out;
  for (const auto& [owner, s] : sums)
    out.push_back({owner, s.first, rserpool::handlespace::fold_checksum(s.second)});
  return out;
}

std::string to_text(const HandlespaceDump& d) {
  std::string t = "registrar " + wire::hex_id(d.registrar) + " at " + d.endpoint + " (" +
                  d.transport + ")\n";
  t += "peers: " + std::to_string(d.peers.size()) + "\n";
  for (const auto& p : d.peers)
    t += "  " + wire::hex_id(p.server_id) + "  " + transport_text(p.transport) + "\n";
  t += "pools: " + std::to_string(d.pools.size()) + ", PEs: " + std::to_string(pe_count(d)) +
       " (" + std::to_string(d.pages) + (d.pages == 1 ? " page)\n" : " pages)\n");
  for (const auto& pool : d.pools) {
    const auto& members = pool.pool_elements;
    t += "  pool " + wire::show_handle(pool.pool_handle) + "  policy " +
         (members.empty() ? "-" : policy_text(members.front().policy)) + ", " +
         std::to_string(members.size()) + (members.size() == 1 ? " PE\n" : " PEs\n");
    for (const auto& pe : members)
      t += "    pe " + wire::hex_id(pe.identifier) + "  home " + wire::hex_id(pe.home_server) +
           "  " + transport_text(pe.user_transport) + "  " + policy_text(pe.policy) + "  life " +
           std::to_string(pe.registration_life) + " ms  asap " +
           (pe.asap_transport ? transport_text(*pe.asap_transport) : "-") + "\n";
  }
  t += "owners:\n";
  for (const auto& o : owners(d)) {
    t += "  " + wire::hex_id(o.owner) + "  " + std::to_string(o.pes) +
         (o.pes == 1 ? " PE   " : " PEs  ") + "checksum " + hex16(o.checksum);
    if (o.owner == d.registrar && d.announced_checksum)
      t += "  announced " + hex16(*d.announced_checksum) +
           (o.checksum == *d.announced_checksum ? " (match)" : " (MISMATCH)");
    else if (o.owner == d.registrar)
      t += "  announced: none (no Presence to a tool)";
    t += "\n";
  }
  return t;
}

nlohmann::ordered_json to_json(const HandlespaceDump& d) {
  using J = nlohmann::ordered_json;
  J peers = J::array();
  for (const auto& p : d.peers) {
    J one = {{"id", wire::hex_id(p.server_id)}};
    one.update(transport_json(p.transport));
    peers.push_back(std::move(one));
  }
  J pools = J::array();
  for (const auto& pool : d.pools) {
    J pes = J::array();
    for (const auto& pe : pool.pool_elements) {
      J one = {{"id", wire::hex_id(pe.identifier)}, {"home", wire::hex_id(pe.home_server)}};
      one.update(transport_json(pe.user_transport));
      one["policy"] = policy_text(pe.policy);
      one["load_percent"] = wire::percent(pe.policy.load);
      one["registration_life_ms"] = pe.registration_life;
      one["asap"] = pe.asap_transport ? transport_json(*pe.asap_transport) : J(nullptr);
      pes.push_back(std::move(one));
    }
    const auto& members = pool.pool_elements;
    pools.push_back({{"handle", wire::show_handle(pool.pool_handle)},
                     {"policy", members.empty() ? J(nullptr) : J(policy_text(members.front().policy))},
                     {"pes", std::move(pes)}});
  }
  J owner_rows = J::array();
  for (const auto& o : owners(d)) {
    J one = {{"id", wire::hex_id(o.owner)}, {"pes", o.pes}, {"checksum", hex16(o.checksum)}};
    if (o.owner == d.registrar)
      one["announced"] = d.announced_checksum ? J(hex16(*d.announced_checksum)) : J(nullptr);
    owner_rows.push_back(std::move(one));
  }
  return {{"registrar", wire::hex_id(d.registrar)}, {"endpoint", d.endpoint},
          {"transport", d.transport}, {"announced_checksum", d.announced_checksum ? J(hex16(*d.announced_checksum)) : J(nullptr)},
          {"peers", std::move(peers)}, {"pools", std::move(pools)},
          {"pes", pe_count(d)}, {"pages", d.pages}, {"owners", std::move(owner_rows)}};
}

void fetch_handlespace(asio::io_context& io, const HsdumpRequest& request, HsdumpDone done) {
  std::make_shared<Fetch>(io, request, std::move(done))->start();
}

}  // namespace rsplab::node
