// The registrar node in-process (node/registrar.hpp): it binds on loopback, reports its
// endpoints in its `ready` event, serves an ASAP client (tests/support's AsapPeer, on the
// same io_context) and stops as SIGTERM stops `rsplab registrar`.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <set>
#include <thread>

#include "node/registrar.hpp"
#include "node/shell.hpp"
#include "tests/support/process.hpp"
#include "tests/node/harness.hpp"
#include "stack/common/events.hpp"
#include "stack/wire/messages.hpp"

namespace {

namespace asap = rserpool::wire::asap;
namespace wire = rserpool::wire;
using namespace std::chrono_literals;
using rsplab::node::RegistrarNode;
using rsplab::node::test::Recorder;
using rsplab::node::test::run_until;

asap::Registration registration(const std::string& pool, std::uint32_t id) {
  asap::Registration r;
  r.pool_handle = pool;
  r.pool_element.identifier = id;
  r.pool_element.registration_life = 60000;
  r.pool_element.user_transport.kind = wire::TransportKind::tcp;
  r.pool_element.user_transport.use = wire::TransportUse::data_only;
  r.pool_element.user_transport.port = 7000;
  r.pool_element.user_transport.addresses = {wire::Address::v4(127, 0, 0, 1)};
  r.pool_element.policy.type = wire::PolicyType::round_robin;
  return r;
}

TEST(RegistrarNode, ServesAPeOnLoopbackAndStopsAsSigtermDoes) {
  boost::asio::io_context io;
  Recorder events;
  RegistrarNode registrar(io, rsplab::node::test::registrar_options(), events.sink());
  ASSERT_NE(registrar.asap_endpoint().port, 0);
  EXPECT_EQ(registrar.identifier(), 0x5eedu);
  registrar.start();
  ASSERT_EQ(events.count("ready"), 1u);
  const auto line = events.named("ready").front();
  EXPECT_EQ(line.value("component", ""), "registrar");
  EXPECT_EQ(line.value("id", ""), "0x00005eed");
  const auto ready = events.as<rsplab::common::RegistrarReady>("ready").front();
  EXPECT_EQ(ready.asap, registrar.asap_endpoint().to_string());
  EXPECT_EQ(ready.enrp, registrar.enrp_endpoint().to_string());
  EXPECT_EQ(ready.transport, "tcp");

  rsplab::test::AsapPeer pe(io, "pe");
  ASSERT_TRUE(pe.connect(registrar.asap_endpoint(), 5s));
  ASSERT_TRUE(pe.send(registration("NodePool", 0x1234abcd)));
  const auto response = pe.receive_as<asap::RegistrationResponse>(3s);
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->reject);
  const auto regs = events.as<rsplab::common::RegistrationEvent>("registration");
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].pool, "NodePool");
  EXPECT_EQ(regs[0].pe, "0x1234abcd");

  registrar.stop(SIGTERM);
  const auto stopped = events.as<rsplab::common::RegistrarStoppedEvent>("stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].signal, SIGTERM);
  EXPECT_TRUE(run_until(io, [&] { return !pe.connected(); }, 5s)) << "connection kept open";
  rsplab::test::AsapPeer late(io, "late");
  EXPECT_FALSE(late.connect(registrar.asap_endpoint(), 1s)) << "still listening";
}

TEST(RegistrarNode, MoreThan64ThreadsIsAUsageError) {
  boost::asio::io_context io;
  auto options = rsplab::node::test::registrar_options();
  options.threads = 65;
  try {
    RegistrarNode r(io, options);
    FAIL() << "65 threads accepted";
  } catch (const rsplab::node::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--threads"), std::string::npos) << e.what();
  }
}

// A blocking TCP-mapping client on its own io_context: one thread each in the test below.
class BlockingClient {
 public:
  explicit BlockingClient(const rserpool::transport::Endpoint& at) : socket_(io_) {
    socket_.connect({at.addresses.front(), at.port});
  }
  void send(const asap::Message& m) { boost::asio::write(socket_, boost::asio::buffer(wire::encode(m))); }
  // The next message (its Message Length frames it); nullopt when it does not decode.
  std::optional<asap::Message> receive() {
    wire::Bytes b(4);
    boost::asio::read(socket_, boost::asio::buffer(b));
    const std::size_t length = static_cast<std::size_t>(b[2] << 8 | b[3]);
    if (length < 4) return std::nullopt;
    b.resize(length);
    boost::asio::read(socket_, boost::asio::buffer(b.data() + 4, length - 4));
    auto d = wire::decode_asap(b);
    if (!d) return std::nullopt;
    return d->message;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
};

// A PE's port follows from its load: an answer whose PE carries a port of another load
// would show a registration half applied.
std::uint16_t port_of(std::uint32_t load) { return static_cast<std::uint16_t>(10000 + load % 50000); }

// --threads 2: one thread registers, re-registers (new load, new port) and deregisters PEs
// while two resolve over connections of their own; the registrar's ASAP connections are
// spread over its two threads. Every answer is a state between two registrations: each PE
// with the port of its load, no PE twice, at most the 3 asked for.
TEST(RegistrarNode, ThreadsResolveOnlyWholeRegistrations) {
  boost::asio::io_context io;
  auto options = rsplab::node::test::registrar_options();
  options.threads = 2;
  RegistrarNode registrar(io, options);
  registrar.start();
  auto work = boost::asio::make_work_guard(io);
  std::thread main([&] { io.run(); });
  const auto at = registrar.asap_endpoint();

  std::atomic<bool> done{false};
  std::atomic<int> answers{0}, bad{0};
  auto resolver = [&] {
    BlockingClient c(at);
    asap::HandleResolution hr;
    hr.pool_handle = "Threads";
    while (!done) {
      c.send(hr);
      const auto m = c.receive();
      const auto* r = m ? std::get_if<asap::HandleResolutionResponse>(&*m) : nullptr;
      if (r == nullptr) {
        ++bad;
        continue;
      }
      if (r->error) continue;  // no PE registered at that moment: Unknown Pool Handle
      std::set<std::uint32_t> ids;
      for (const auto& pe : r->pool_elements) {
        const auto load = wire::policy_field(pe.policy, wire::PolicyField::load);
        if (pe.user_transport.port != port_of(load) || !ids.insert(pe.identifier).second) ++bad;
      }
      if (r->pool_elements.empty() || r->pool_elements.size() > 3) ++bad;
      ++answers;
    }
  };
  std::thread r1(resolver), r2(resolver);
  {
    BlockingClient pe(at);
    std::uint32_t load = 1;
    for (int round = 0; round < 300 && bad == 0; ++round) {
      for (std::uint32_t id = 1; id <= 6; ++id) {
        if ((round + id) % 5 == 0) {
          asap::Deregistration d;
          d.pool_handle = "Threads";
          d.pe_identifier = id;
          pe.send(d);
        } else {
          auto r = registration("Threads", id);
          r.pool_element.policy.type = wire::PolicyType::least_used;
          load = load * 1103515245u + 12345u;
          wire::set_policy_field(r.pool_element.policy, wire::PolicyField::load, load);
          r.pool_element.user_transport.port = port_of(load);
          pe.send(r);
        }
        if (!pe.receive()) ++bad;  // the response: one change at a time
      }
    }
    while (answers < 200 && bad == 0) std::this_thread::sleep_for(1ms);  // resolvers had turns
    done = true;
  }
  r1.join();
  r2.join();
  EXPECT_GE(answers, 200);
  EXPECT_EQ(bad, 0);
  boost::asio::post(io, [&] { registrar.stop(SIGTERM); });
  work.reset();
  main.join();
}

}  // namespace
