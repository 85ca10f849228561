// `rsplab hsdump`'s fetch (node/hsdump.hpp) against a scripted ENRP listener on loopback TCP:
// what it asks (Presence with R and no Server Information, List Request, Handle Table
// Requests without W, again while M is set), how pages merge, the checksums per owner, the
// text and JSON it prints, and each error (reject, ENRP Error, malformed, closed, silent,
// nobody listening). A registrar answering for real: enrp_node_test.cpp.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/hsdump.hpp"
#include "stack/handlespace/handlespace.hpp"
#include "stack/wire/messages.hpp"
#include "tests/node/harness.hpp"

namespace {

namespace enrp = rserpool::wire::enrp;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
namespace ip = boost::asio::ip;
using namespace std::chrono_literals;
using rsplab::node::HandlespaceDump;
using rsplab::node::test::run_until;

constexpr std::uint32_t kRegistrar = 0x77;

wire::PoolElement pe(std::uint32_t id, std::uint32_t home, std::uint16_t port) {
  wire::PoolElement p;
  p.identifier = id;
  p.home_server = home;
  p.registration_life = 90000;
  p.user_transport.kind = wire::TransportKind::tcp;
  p.user_transport.port = port;
  p.user_transport.addresses = {wire::Address::v4(127, 0, 0, 1)};
  p.policy.type = wire::PolicyType::least_used;
  p.policy.load = wire::kFractionOne / 4;
  wire::Transport asap = p.user_transport;
  asap.port = 40000;
  p.asap_transport = asap;
  return p;
}

// An ENRP listener answering each message it decodes with what `script` returns (raw bytes,
// each sent as one message; nothing: silence; an empty vector in the list: close).
class ScriptedRegistrar {
 public:
  using Script = std::function<std::vector<wire::Bytes>(const enrp::Message&)>;
  ScriptedRegistrar(boost::asio::io_context& io, Script script)
      : listener_(transport::Listener::open(io, transport::Kind::tcp,
                                            {{ip::make_address("127.0.0.1")}, 0},
                                            {false, wire::kPpidEnrp})),
        script_(std::move(script)) {
    listener_->start([this](std::shared_ptr<transport::Connection> c) {
      conns_.push_back(c);
      auto* raw = c.get();
      c->start({[this, raw](std::uint32_t, std::span<const std::uint8_t> m) {
                  const auto d = wire::decode_enrp(m);
                  ASSERT_TRUE(d) << d.error().message();
                  asked.push_back(d->message);
                  for (const auto& reply : script_(d->message)) {
                    if (reply.empty()) return raw->close();
                    raw->send(wire::kPpidEnrp, reply);
                  }
                },
                [](const std::error_code&) {}});
    });
  }
  ~ScriptedRegistrar() {
    for (auto& c : conns_) c->close();
    listener_->close();
  }
  transport::Endpoint endpoint() const { return listener_->local_endpoint(); }
  std::vector<enrp::Message> asked;

 private:
  std::unique_ptr<transport::Listener> listener_;
  std::vector<std::shared_ptr<transport::Connection>> conns_;
  Script script_;
};

struct Outcome {
  std::optional<HandlespaceDump> dump;
  std::string error;
};

Outcome fetch(boost::asio::io_context& io, const transport::Endpoint& at,
              std::chrono::milliseconds timeout = 2s) {
  rsplab::node::HsdumpRequest request;
  request.registrar = at;
  request.transport = transport::Choice::tcp;
  request.timeout = timeout;
  Outcome out;
  bool done = false;
  rsplab::node::fetch_handlespace(io, request, [&](std::optional<HandlespaceDump> d,
                                                   std::string e) {
    EXPECT_FALSE(done) << "called back twice";
    done = true;
    out = {std::move(d), std::move(e)};
  });
  EXPECT_TRUE(run_until(io, [&] { return done; }, timeout + 3s));
  return out;
}

wire::Bytes presence() {
  return wire::encode(enrp::Message{enrp::Presence{kRegistrar, 0, false, 0xabcd, {}}});
}
wire::Bytes list() {
  wire::ServerInformation peer;
  peer.server_id = 0x78;
  peer.transport.kind = wire::TransportKind::tcp;
  peer.transport.port = 9901;
  peer.transport.addresses = {wire::Address::v4(127, 0, 0, 2)};
  return wire::encode(enrp::Message{enrp::ListResponse{kRegistrar, 0, false, {peer}}});
}

// Two pages: pool B then pool A; the second page repeats PE 1 (replaced, not doubled).
TEST(Hsdump, AsksAsAPeerMergesPagesAndSumsEachOwner) {
  boost::asio::io_context io;
  int pages = 0;
  ScriptedRegistrar r(io, [&](const enrp::Message& m) -> std::vector<wire::Bytes> {
    if (std::holds_alternative<enrp::Presence>(m)) return {presence()};
    if (std::holds_alternative<enrp::ListRequest>(m)) return {list()};
    enrp::HandleTableResponse t{kRegistrar, 0, false, ++pages == 1, {}};
    if (pages == 1)
      t.pools = {{"B", {pe(3, 0x78, 7003)}}, {"A", {pe(1, kRegistrar, 7001)}}};
    else
      t.pools = {{"A", {pe(2, kRegistrar, 7002), pe(1, kRegistrar, 7001)}}};
    return {wire::encode(enrp::Message{t})};
  });
  const Outcome o = fetch(io, r.endpoint());
  ASSERT_TRUE(o.dump) << o.error;
  const HandlespaceDump& d = *o.dump;

  ASSERT_EQ(r.asked.size(), 4u);
  const auto& hello = std::get<enrp::Presence>(r.asked[0]);
  EXPECT_TRUE(hello.reply_required);
  EXPECT_FALSE(hello.server_information) << "no transport to reach hsdump back by";
  EXPECT_EQ(hello.sender, 0u) << "Sender ID 0: a tool, no peer";
  EXPECT_EQ(std::get<enrp::ListRequest>(r.asked[1]).sender, 0u);
  for (std::size_t i : {2u, 3u}) {
    const auto& ask = std::get<enrp::HandleTableRequest>(r.asked[i]);
    EXPECT_FALSE(ask.own_children_only);
    EXPECT_EQ(ask.sender, 0u);
    EXPECT_EQ(ask.receiver, i == 2 ? 0u : kRegistrar) << "the next page: asked of the sender";
  }

  EXPECT_EQ(d.registrar, kRegistrar);
  EXPECT_EQ(d.announced_checksum, 0xabcd);
  EXPECT_EQ(d.pages, 2u);
  ASSERT_EQ(d.pools.size(), 2u);
  EXPECT_EQ(d.pools[0].pool_handle, "A");
  ASSERT_EQ(d.pools[0].pool_elements.size(), 2u);
  EXPECT_EQ(d.pools[0].pool_elements[0].identifier, 1u);
  EXPECT_EQ(d.pools[0].pool_elements[1].identifier, 2u);

  namespace hs = rserpool::handlespace;
  const auto owners = rsplab::node::owners(d);
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(owners[0].owner, kRegistrar);
  EXPECT_EQ(owners[0].pes, 2u);
  const auto a = hs::checksum_words("A");
  EXPECT_EQ(owners[0].checksum, hs::fold_checksum(hs::checksum_contribution(a, 1) +
                                                  hs::checksum_contribution(a, 2)));
  EXPECT_EQ(owners[1].owner, 0x78u);
  EXPECT_EQ(owners[1].checksum,
            hs::fold_checksum(hs::checksum_contribution(hs::checksum_words("B"), 3)));

  const std::string text = rsplab::node::to_text(d);
  for (const char* want :
       {"registrar 0x00000077 at 127.0.0.1:", "peers: 1", "0x00000078  tcp 127.0.0.2:9901",
        "pools: 2, PEs: 3 (2 pages)", "pool A  policy lu:25%, 2 PEs",
        "pe 0x00000001  home 0x00000077  tcp 127.0.0.1:7001  lu:25%  life 90000 ms  asap tcp "
        "127.0.0.1:40000",
        "announced 0xabcd (MISMATCH)"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " in\n" << text;
  const auto j = rsplab::node::to_json(d);
  EXPECT_EQ(j["registrar"], "0x00000077");
  EXPECT_EQ(j["pes"], 3);
  EXPECT_EQ(j["pools"][1]["pes"][0]["home"], "0x00000078");
  EXPECT_NEAR(j["pools"][1]["pes"][0]["load_percent"].get<double>(), 25.0, 0.01);
  EXPECT_EQ(j["owners"][0]["announced"], "0xabcd");
  EXPECT_FALSE(j["owners"][1].contains("announced"));
}

// A registrar that answers no Presence from a tool: its ID from its List Response, no
// announced checksum.
TEST(Hsdump, WithoutAPresenceTheAnnouncedChecksumIsUnknown) {
  boost::asio::io_context io;
  ScriptedRegistrar r(io, [&](const enrp::Message& m) -> std::vector<wire::Bytes> {
    if (std::holds_alternative<enrp::ListRequest>(m)) return {list()};
    if (std::holds_alternative<enrp::HandleTableRequest>(m))
      return {wire::encode(enrp::Message{enrp::HandleTableResponse{kRegistrar, 0, false, false, {}}})};
    return {};
  });
  const Outcome o = fetch(io, r.endpoint());
  ASSERT_TRUE(o.dump) << o.error;
  EXPECT_EQ(o.dump->registrar, kRegistrar);
  EXPECT_FALSE(o.dump->announced_checksum);
  EXPECT_EQ(o.dump->pages, 1u);
  const std::string text = rsplab::node::to_text(*o.dump);
  EXPECT_NE(text.find("pools: 0, PEs: 0 (1 page)"), std::string::npos) << text;
  EXPECT_NE(text.find("0x00000077  0 PEs  checksum 0xffff  announced: none"), std::string::npos)
      << text;
  EXPECT_TRUE(rsplab::node::to_json(*o.dump)["announced_checksum"].is_null());
}

// A registrar whose Presence announces the checksum of the PEs it lists (as ours does):
// "(match)" in the text, the same value twice in the JSON row.
TEST(Hsdump, AnnouncedChecksumEqualToTheComputedOneIsAMatch) {
  namespace hs = rserpool::handlespace;
  const std::uint16_t sum =
      hs::fold_checksum(hs::checksum_contribution(hs::checksum_words("A"), 1));
  boost::asio::io_context io;
  ScriptedRegistrar r(io, [&](const enrp::Message& m) -> std::vector<wire::Bytes> {
    if (std::holds_alternative<enrp::Presence>(m))
      return {wire::encode(enrp::Message{enrp::Presence{kRegistrar, 0, false, sum, {}}})};
    if (std::holds_alternative<enrp::ListRequest>(m)) return {list()};
    const enrp::HandleTableResponse t{kRegistrar, 0, false, false,
                                      {{"A", {pe(1, kRegistrar, 7001)}}}};
    return {wire::encode(enrp::Message{t})};
  });
  const Outcome o = fetch(io, r.endpoint());
  ASSERT_TRUE(o.dump) << o.error;
  EXPECT_EQ(o.dump->announced_checksum, sum);
  const std::string text = rsplab::node::to_text(*o.dump);
  char want[80];
  std::snprintf(want, sizeof want, "0x00000077  1 PE   checksum 0x%04x  announced 0x%04x (match)",
                sum, sum);
  EXPECT_NE(text.find(want), std::string::npos) << want << " in\n" << text;
  const auto j = rsplab::node::to_json(*o.dump);
  EXPECT_EQ(j["owners"][0]["announced"], j["owners"][0]["checksum"]);
  EXPECT_EQ(j["announced_checksum"], j["owners"][0]["checksum"]);
}

// Each failure is one error text, called back once.
TEST(Hsdump, EachFailureIsOneClearError) {
  boost::asio::io_context io;
  const auto answer = [](std::vector<wire::Bytes> table) {
    return [table](const enrp::Message& m) -> std::vector<wire::Bytes> {
      if (std::holds_alternative<enrp::Presence>(m)) return {presence()};
      if (std::holds_alternative<enrp::ListRequest>(m)) return {list()};
      return table;
    };
  };
  const auto expect = [&](ScriptedRegistrar::Script script, const std::string& want,
                          std::chrono::milliseconds timeout = 2s) {
    ScriptedRegistrar r(io, std::move(script));
    const Outcome o = fetch(io, r.endpoint(), timeout);
    EXPECT_FALSE(o.dump);
    EXPECT_NE(o.error.find(want), std::string::npos) << o.error << "\nwanted: " << want;
  };
  expect(answer({wire::encode(enrp::Message{enrp::HandleTableResponse{kRegistrar, 1, true, false, {}}})}),
         "the registrar rejected the Handle Table Request (R flag)");
  expect([](const enrp::Message& m) -> std::vector<wire::Bytes> {
    if (std::holds_alternative<enrp::Presence>(m)) return {presence()};
    return {wire::encode(enrp::Message{enrp::ListResponse{kRegistrar, 1, true, {}}})};
  }, "the registrar rejected the List Request (R flag)");
  wire::OperationError error;
  error.causes.push_back({wire::CauseCode::unrecognized_message, {}});
  expect([&](const enrp::Message&) -> std::vector<wire::Bytes> {
    return {wire::encode(enrp::Message{enrp::Error{kRegistrar, 1, error}})};
  }, "the registrar answered with an ENRP Error: Unrecognized Message");
  // A Presence too short to hold its IDs and checksum.
  expect([](const enrp::Message&) -> std::vector<wire::Bytes> {
    return {wire::Bytes{0x01, 0x00, 0x00, 0x08, 0, 0, 0, 0x77}};
  }, "malformed response (8 bytes):");
  expect([](const enrp::Message&) -> std::vector<wire::Bytes> { return {wire::Bytes{}}; },
         "the registrar closed the connection while hsdump waited for its List Response");
  expect(answer({}), "within 300 ms (waiting for its Handle Table Response)", 300ms);

  // Nobody listening: a port just freed.
  ip::tcp::acceptor gone(io, {ip::make_address("127.0.0.1"), 0});
  const transport::Endpoint nobody{{ip::make_address("127.0.0.1")}, gone.local_endpoint().port()};
  gone.close();
  const Outcome o = fetch(io, nobody);
  EXPECT_FALSE(o.dump);
  EXPECT_NE(o.error.find("cannot connect to 127.0.0.1:"), std::string::npos) << o.error;
}

}  // namespace
