// `rsplab pe` on real sockets (TCP mapping, loopback): a PE registers at `rsplab registrar`
// and a PU (AsapPeer) resolves its pool to it; SIGTERM deregisters (exit 0, pool gone);
// with two registrars, killing the first (SIGKILL) moves the PE to the second; without
// --registrar the PE finds the registrar by its ASAP server announces.
//
//   test ──ChildProcess──► rsplab registrar --transport tcp (one or two) [--announce U]
//   test ──ChildProcess──► rsplab pe --transport tcp --registrar A[,B] | --announce U
//                                    --pool P --policy lu
//   test ──AsapPeer (PU)──TCP──► a registrar's ASAP endpoint: HANDLE_RESOLUTION of P
//
// Every wait is bounded.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"
#include "tests/support/process.hpp"

namespace {

namespace asio = boost::asio;
namespace wire = rserpool::wire;
namespace asap = rserpool::wire::asap;
namespace transport = rserpool::transport;
using rsplab::test::AsapPeer;
using rsplab::test::ChildProcess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint32_t kPeId = 0x0e0e0e01;

class Pe : public ::testing::Test {
 protected:
  // Starts a registrar with the common options plus `extra`; its ASAP endpoint.
  transport::Endpoint start_registrar(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"registrar", "--transport", "tcp",        "--asap",
                                     "127.0.0.1:0", "--enrp",    "127.0.0.1:0", "--log-level",
                                     "warning"};
    args.insert(args.end(), extra.begin(), extra.end());
    ChildProcess::Options o;
    o.echo_stderr = true;
    registrars_.push_back(std::make_unique<ChildProcess>(RSPLAB_BINARY, args, o));
    std::string error;
    const auto ready = registrars_.back()->wait_ready(10s, &error);
    EXPECT_TRUE(ready) << "registrar: " << error;
    return ready ? ready->asap : transport::Endpoint{};
  }

  // Starts the PE (with `--registrar registrars` unless empty); checks its start line.
  void start_pe(const std::string& registrars, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"pe",          "--transport", "tcp", "--pool",
                                     "P",           "--policy",    "lu",  "--identifier",
                                     wire::hex_id(kPeId), "--log-level", "info"};
    if (!registrars.empty()) args.insert(args.end(), {"--registrar", registrars});
    args.insert(args.end(), extra.begin(), extra.end());
    ChildProcess::Options o;
    o.echo_stderr = true;
    pe_ = std::make_unique<ChildProcess>(RSPLAB_BINARY, args, o);
    const auto line = pe_->read_line(10s);
    ASSERT_TRUE(line) << pe_->command() << ": no start line\nstderr:\n" << pe_->stderr_text();
    EXPECT_TRUE(std::regex_match(*line, std::regex("pe 0x0e0e0e01 [0-9.]+:[0-9]+")))
        << *line;
  }

  // Resolves P at `at` (a fresh PU connection) until `pred` holds or the timeout.
  std::optional<asap::HandleResolutionResponse> resolve_until(
      const transport::Endpoint& at,
      const std::function<bool(const asap::HandleResolutionResponse&)>& pred,
      std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::optional<asap::HandleResolutionResponse> last;
    while (true) {
      AsapPeer pu(io_, "pu");
      if (pu.connect(at, 2s)) {
        asap::HandleResolution h;
        h.pool_handle = "P";
        EXPECT_TRUE(pu.send(h));
        last = pu.receive_as<asap::HandleResolutionResponse>(2s);
        if (last && pred(*last)) return last;
      }
      if (Clock::now() >= deadline) return last;
      std::this_thread::sleep_for(100ms);
    }
  }

  // A UDP port free on 127.0.0.1 a moment ago.
  std::uint16_t free_udp_port() {
    asio::ip::udp::socket s(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint().port();
  }

  // SIGTERM: the PE exits 0 and its pool is gone from the registrar at `at`.
  void terminate_and_expect_deregistered(const transport::Endpoint& at) {
    ASSERT_TRUE(pe_->terminate());
    const auto st = pe_->wait(6s);
    ASSERT_TRUE(st) << "the PE did not exit after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << ChildProcess::describe(*st) << "\nstderr:\n" << pe_->stderr_text();
    const auto gone = resolve_until(at, unknown_pool, 2s);
    EXPECT_TRUE(gone && unknown_pool(*gone)) << "the pool is still there after the PE stopped";
  }

  static bool has_pe(const asap::HandleResolutionResponse& r) {
    return r.pool_elements.size() == 1 && r.pool_elements[0].identifier == kPeId;
  }
  static bool unknown_pool(const asap::HandleResolutionResponse& r) {
    return r.error && !r.error->causes.empty() &&
           r.error->causes[0].code == wire::CauseCode::unknown_pool_handle;
  }

  asio::io_context io_;
  std::vector<std::unique_ptr<ChildProcess>> registrars_;
  std::unique_ptr<ChildProcess> pe_;
};

TEST_F(Pe, RegistersAndDeregistersOnSigterm) {
  const auto asap_ep = start_registrar();
  ASSERT_FALSE(HasFailure());
  start_pe(asap_ep.to_string());
  ASSERT_FALSE(HasFailure());

  const auto r = resolve_until(asap_ep, has_pe, 5s);
  ASSERT_TRUE(r && has_pe(*r)) << "the PE did not show up\nstderr:\n" << pe_->stderr_text();
  const auto& pe = r->pool_elements[0];
  EXPECT_EQ(pe.user_transport.kind, wire::TransportKind::tcp);
  ASSERT_EQ(pe.user_transport.addresses.size(), 1u);
  EXPECT_EQ(pe.user_transport.addresses[0], wire::Address::v4(127, 0, 0, 1));
  EXPECT_EQ(pe.policy.type, wire::PolicyType::least_used);
  EXPECT_NE(pe.home_server, 0u);

  terminate_and_expect_deregistered(asap_ep);
}

TEST_F(Pe, FailsOverToTheSecondRegistrar) {
  const auto first = start_registrar();
  const auto second = start_registrar();
  ASSERT_FALSE(HasFailure());
  start_pe(first.to_string() + "," + second.to_string(),
           {"--reregistration-interval", "30s"});
  ASSERT_FALSE(HasFailure());
  auto r = resolve_until(first, has_pe, 5s);
  ASSERT_TRUE(r && has_pe(*r)) << "not registered at the first registrar";

  registrars_.front()->kill();
  registrars_.front()->wait(5s);
  const auto t0 = Clock::now();
  r = resolve_until(second, has_pe, 4s);
  ASSERT_TRUE(r && has_pe(*r)) << "not registered at the second registrar\nstderr:\n"
                               << pe_->stderr_text();
  EXPECT_LT(Clock::now() - t0, 2500ms);

  ASSERT_TRUE(pe_->terminate());
  const auto st = pe_->wait(6s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st);
  const auto gone = resolve_until(second, unknown_pool, 2s);
  EXPECT_TRUE(gone && unknown_pool(*gone));
}

// No --registrar: the PE learns the registrar from its ASAP server announces (unicast on
// loopback standing in for the multicast group: the transport parameter names its ASAP
// endpoint) and registers there. The registrar announces once it serves: at once here (no
// --peer, no --enrp-announce: no mentor to discover).
TEST_F(Pe, RegistersAtARegistrarLearntFromItsAnnounces) {
  const std::string announce = "127.0.0.1:" + std::to_string(free_udp_port());
  const auto asap_ep = start_registrar({"--identifier", "0x5e5e0001", "--announce", announce});
  ASSERT_FALSE(HasFailure());
  start_pe("", {"--announce", announce});
  ASSERT_FALSE(HasFailure());

  const auto r = resolve_until(asap_ep, has_pe, 5s);
  ASSERT_TRUE(r && has_pe(*r)) << "the PE did not register at the announced registrar\nstderr:\n"
                               << pe_->stderr_text();
  EXPECT_EQ(r->pool_elements[0].home_server, 0x5e5e0001u);

  terminate_and_expect_deregistered(asap_ep);
}

}  // namespace
