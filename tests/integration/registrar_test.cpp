// `rsplab registrar` on real sockets (TCP mapping, loopback): PEs register, keep alive,
// re-register and deregister; a PE that stops acking goes after the keep-alive timeout;
// Endpoint Unreachable reports remove a PE at MaxBadPEReports; policy selection through the
// live registrar; a closed PE connection takes its PEs along; the fuzz corpus and random
// bytes get error replies while a legitimate PE stays; SIGTERM exits 0; the events file.
// RegistrarCapture (label wireshark) captures a conversation covering every ASAP message
// type a registrar sends or receives and checks it with tshark_check.sh -s.
//
//   test ──ChildProcess──► rsplab registrar --transport tcp --asap 127.0.0.1:0 ...
//   test ──AsapPeer (PE, PU)──TCP──► its ASAP endpoint
//
// Every wait is bounded; each test starts its own registrar and stops it with SIGTERM
// (exit status 0 expected), then checks the events file line by line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <functional>
#include <string>
#include <vector>

#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"
#include "tests/support/process.hpp"
#include "tests/wire/golden.hpp"

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace wire = rserpool::wire;
namespace asap = rserpool::wire::asap;
namespace transport = rserpool::transport;
using json = nlohmann::json;
using rsplab::test::AsapPeer;
using rsplab::test::ChildProcess;
using rsplab::test::run_shell;
using rsplab::test::shell_quote;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr std::uint32_t kRegistrarId = 0x5e5e5e5e;
constexpr const char* kRegistrarIdHex = "0x5e5e5e5e";

std::uint32_t percent(std::uint32_t p) {
  return static_cast<std::uint32_t>(std::uint64_t{wire::kFractionOne} * p / 100);
}

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

asap::Registration registration(const std::string& pool, std::uint32_t id,
                                wire::PolicyType policy = wire::PolicyType::round_robin,
                                std::uint32_t load = 0, std::uint16_t port = 7000) {
  asap::Registration r;
  r.pool_handle = pool;
  r.pool_element.identifier = id;
  r.pool_element.registration_life = 60000;
  r.pool_element.user_transport.kind = wire::TransportKind::tcp;
  r.pool_element.user_transport.use = wire::TransportUse::data_only;
  r.pool_element.user_transport.port = port;
  r.pool_element.user_transport.addresses = {wire::Address::v4(127, 0, 0, 1)};
  r.pool_element.policy.type = policy;
  r.pool_element.policy.load = load;
  r.pool_element.policy.weight = 1;
  return r;
}

std::vector<std::uint32_t> ids_of(const asap::HandleResolutionResponse& r) {
  std::vector<std::uint32_t> ids;
  for (const auto& pe : r.pool_elements) ids.push_back(pe.identifier);
  return ids;
}

// The events of docs/events.md (registrar).
const std::set<std::string> kDocumentedEvents = {
    "ready",        "registration",     "reregistration",    "registration_rejected",
    "deregistration", "handle_resolution", "keepalive_timeout", "unreachable_report",
    "rate_limited", "error_sent",       "message_discarded", "error_received",
    "enrp_ignored", "stopped",          "pe_not_registered", "deregistration_refused",
    // ENRP (issue 15, docs/enrp.md).
    "peer_up",      "peer_down",        "serving",           "handle_table_sync",
    "audit",        "takeover_started", "takeover",          "takeover_acked",
    "pe_adopted",   "peer_takeover"};

std::string test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string n = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(n.begin(), n.end(), '/', '_');
  return n;
}

// ---- the fixture -----------------------------------------------------------------------

class Registrar : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    fs::create_directories(RSPLAB_CAPTURE_DIR, ec);
    events_path_ = fs::path(RSPLAB_CAPTURE_DIR) / (test_name() + "." + std::to_string(::getpid()) + ".events.jsonl");
    fs::remove(events_path_, ec);  // the registrar appends
  }

  void TearDown() override {
    peers_.clear();
    if (pr_ && !stopped_) stop_registrar();
    if (pr_) check_events_file();
    std::error_code ec;
    if (!HasFailure()) fs::remove(events_path_, ec);  // kept for inspection on failure
  }

  // Starts the registrar with the common options plus `extra`; fails the test when it
  // does not print its endpoints within 10 s.
  void start(std::vector<std::string> extra = {},
             std::string asap = "127.0.0.1:0", std::string enrp = "127.0.0.1:0") {
    std::vector<std::string> args = {"registrar",      "--transport", "tcp",
                                     "--asap",         asap,          "--enrp",
                                     enrp,             "--identifier", kRegistrarIdHex,
                                     "--seed",         "1",           "--events",
                                     events_path_.string(), "--log-level", "warning"};
    args.insert(args.end(), extra.begin(), extra.end());
    ChildProcess::Options o;
    o.echo_stderr = true;
    pr_ = std::make_unique<ChildProcess>(RSPLAB_BINARY, args, o);
    std::string error;
    auto ready = pr_->wait_ready(10s, &error);
    ASSERT_TRUE(ready) << pr_->command() << ": " << error << "\nstderr:\n" << pr_->stderr_text();
    ep_ = *ready;
    ASSERT_EQ(ep_.asap.addresses.size(), 1u);
    EXPECT_EQ(ep_.asap.addresses[0].to_string(), "127.0.0.1");
  }

  // SIGTERM; expects exit 0 within 5 s.
  void stop_registrar() {
    stopped_ = true;
    ASSERT_TRUE(pr_->running()) << "the registrar died before SIGTERM: "
                                << ChildProcess::describe(pr_->status().value_or(-1))
                                << "\nstderr:\n" << pr_->stderr_text();
    pr_->terminate();
    const auto st = pr_->wait(10s);
    if (!st) {
      pr_->kill();
      pr_->wait(5s);
      FAIL() << "the registrar did not exit within 10 s of SIGTERM";
    }
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << "registrar: " << ChildProcess::describe(*st) << "\nstderr:\n" << pr_->stderr_text();
  }

  AsapPeer& peer(const std::string& name, bool auto_ack = false) {
    peers_.push_back(std::make_unique<AsapPeer>(io_, name));
    AsapPeer& p = *peers_.back();
    p.set_auto_ack(auto_ack);
    EXPECT_TRUE(p.connect(ep_.asap, 5s)) << name << ": cannot connect to " << ep_.asap.to_string();
    return p;
  }

  // Registers and expects an accepting response for that PE.
  static void register_pe(AsapPeer& pe, const asap::Registration& r) {
    ASSERT_TRUE(pe.send(r));
    const auto resp = pe.receive_as<asap::RegistrationResponse>(3s);
    ASSERT_TRUE(resp) << pe.name() << ": no REGISTRATION_RESPONSE";
    EXPECT_FALSE(resp->reject) << pe.name() << ": rejected: "
                               << (resp->error ? wire::cause_name(resp->error->causes.at(0).code)
                                               : "no cause");
    EXPECT_FALSE(resp->error);
    EXPECT_EQ(resp->pool_handle, r.pool_handle);
    EXPECT_EQ(resp->pe_identifier, r.pool_element.identifier);
  }

  static std::optional<asap::HandleResolutionResponse> resolve(
      AsapPeer& pu, const std::string& pool, std::optional<std::uint32_t> items = std::nullopt) {
    asap::HandleResolution h;
    h.pool_handle = pool;
    h.items = items;
    EXPECT_TRUE(pu.send(h));
    auto r = pu.receive_as<asap::HandleResolutionResponse>(3s);
    EXPECT_TRUE(r) << pu.name() << ": no HANDLE_RESOLUTION_RESPONSE for " << pool;
    if (r) {
      EXPECT_EQ(r->pool_handle, pool);
    }
    return r;
  }

  // Every PE of the pool (as many as the registrar gives: 128 at most).
  static std::vector<std::uint32_t> pool_ids(AsapPeer& pu, const std::string& pool) {
    const auto r = resolve(pu, pool, 0xffffffffu);
    if (!r) return {};
    auto ids = ids_of(*r);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  static bool resolvable(AsapPeer& pu, const std::string& pool, std::uint32_t id) {
    const auto ids = pool_ids(pu, pool);
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  // Polls (every 20 ms) until the PE is gone; the time it took, or nullopt.
  static std::optional<long long> wait_gone(AsapPeer& pu, const std::string& pool,
                                            std::uint32_t id, milliseconds timeout) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < timeout) {
      if (!resolvable(pu, pool, id)) return ms_since(t0);
      pu.pump(20ms);
    }
    return std::nullopt;
  }

  std::vector<json> events() const {
    std::vector<json> out;
    std::ifstream in(events_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = json::parse(line, nullptr, false);
      out.push_back(std::move(j));
    }
    return out;
  }

  std::vector<json> events_named(const std::string& name) const {
    std::vector<json> out;
    for (auto& e : events())
      if (e.is_object() && e.value("event", "") == name) out.push_back(e);
    return out;
  }

  // Waits until an event matching `pred` is in the file (the registrar flushes per line).
  bool wait_event(const std::function<bool(const json&)>& pred, milliseconds timeout) {
    const auto t0 = Clock::now();
    do {
      for (const auto& e : events())
        if (e.is_object() && pred(e)) return true;
      std::this_thread::sleep_for(10ms);
    } while (Clock::now() - t0 < timeout);
    return false;
  }

  // Every line: a JSON object with an integer time_us, the component, its ID and a
  // documented event name; the first is "ready", the last "stopped" (after SIGTERM).
  void check_events_file() const {
    std::ifstream in(events_path_);
    ASSERT_TRUE(in) << "no events file " << events_path_;
    std::string line;
    std::vector<std::string> names;
    std::int64_t last_time = 0;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      const auto j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << "events line " << n << " is not a JSON object: " << line;
      ASSERT_TRUE(j.contains("time_us") && j["time_us"].is_number_integer()) << line;
      const std::int64_t t = j["time_us"].get<std::int64_t>();
      EXPECT_GT(t, 1'600'000'000'000'000) << "time_us is not microseconds since 1970: " << line;
      EXPECT_GE(t + 1'000'000, last_time) << "time_us went back more than 1 s: " << line;
      last_time = t;
      EXPECT_EQ(j.value("component", ""), "registrar") << line;
      EXPECT_EQ(j.value("id", ""), kRegistrarIdHex) << line;
      const std::string ev = j.value("event", "");
      EXPECT_TRUE(kDocumentedEvents.count(ev)) << "undocumented event '" << ev << "': " << line;
      names.push_back(ev);
    }
    ASSERT_FALSE(names.empty()) << "empty events file";
    EXPECT_EQ(names.front(), "ready");
    if (stopped_) {
      EXPECT_EQ(names.back(), "stopped");
    }
  }

  asio::io_context io_;
  std::unique_ptr<ChildProcess> pr_;
  ChildProcess::ReadyEndpoints ep_;
  fs::path events_path_;
  bool stopped_ = false;
  std::vector<std::unique_ptr<AsapPeer>> peers_;
};

// ---- registration life cycle -----------------------------------------------------------

TEST_F(Registrar, RegisterReregisterDeregisterWithLeastUsed) {
  start();
  auto& pe = peer("pe");
  auto& pu = peer("pu");
  const std::string pool = "LuPool";
  register_pe(pe, registration(pool, 0xa1, wire::PolicyType::least_used, percent(50), 7001));
  register_pe(pe, registration(pool, 0xa2, wire::PolicyType::least_used, percent(10), 7002));

  // LU: the least loaded first.
  auto r = resolve(pu, pool);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->error);
  ASSERT_TRUE(r->overall_policy);
  EXPECT_EQ(r->overall_policy->type, wire::PolicyType::least_used);
  EXPECT_EQ(ids_of(*r), (std::vector<std::uint32_t>{0xa2, 0xa1}));
  for (const auto& e : r->pool_elements) {
    EXPECT_EQ(e.home_server, kRegistrarId);
    EXPECT_EQ(e.user_transport.kind, wire::TransportKind::tcp);
    EXPECT_EQ(e.user_transport.port, e.identifier == 0xa1 ? 7001 : 7002);
    ASSERT_EQ(e.user_transport.addresses.size(), 1u);
    EXPECT_EQ(e.user_transport.addresses[0].to_string(), "127.0.0.1");
  }

  // Re-registration with a new load: the order follows.
  register_pe(pe, registration(pool, 0xa2, wire::PolicyType::least_used, percent(90), 7002));
  r = resolve(pu, pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(ids_of(*r), (std::vector<std::uint32_t>{0xa1, 0xa2}));
  for (const auto& e : r->pool_elements)
    if (e.identifier == 0xa2) {
      EXPECT_EQ(e.policy.load, percent(90));
    }

  // Deregistration: answered, the PE is gone; the last one takes the pool along.
  asap::Deregistration d{pool, 0xa1};
  ASSERT_TRUE(pe.send(d));
  auto dr = pe.receive_as<asap::DeregistrationResponse>(3s);
  ASSERT_TRUE(dr);
  EXPECT_EQ(dr->pool_handle, pool);
  EXPECT_EQ(dr->pe_identifier, 0xa1u);
  EXPECT_FALSE(dr->error);
  EXPECT_EQ(pool_ids(pu, pool), (std::vector<std::uint32_t>{0xa2}));
  ASSERT_TRUE(pe.send(asap::Deregistration{pool, 0xa2}));
  ASSERT_TRUE(pe.receive_as<asap::DeregistrationResponse>(3s));
  r = resolve(pu, pool);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->error) << "an empty pool resolves to Unknown Pool Handle";
  ASSERT_FALSE(r->error->causes.empty());
  EXPECT_EQ(r->error->causes[0].code, wire::CauseCode::unknown_pool_handle);
  EXPECT_TRUE(r->pool_elements.empty());

  stop_registrar();
  EXPECT_EQ(events_named("registration").size(), 2u);
  EXPECT_EQ(events_named("reregistration").size(), 1u);
  const auto deregs = events_named("deregistration");
  ASSERT_EQ(deregs.size(), 2u);
  for (const auto& e : deregs) EXPECT_EQ(e.value("reason", ""), "deregistration") << e;
}

TEST_F(Registrar, InconsistentPolicyIsRejected) {
  start();
  auto& pe = peer("pe");
  register_pe(pe, registration("MixPool", 1, wire::PolicyType::round_robin));
  ASSERT_TRUE(pe.send(registration("MixPool", 2, wire::PolicyType::least_used)));
  const auto resp = pe.receive_as<asap::RegistrationResponse>(3s);
  ASSERT_TRUE(resp);
  EXPECT_TRUE(resp->reject);
  ASSERT_TRUE(resp->error);
  EXPECT_EQ(resp->error->causes.at(0).code, wire::CauseCode::inconsistent_pooling_policy);
}

// ---- keep-alive --------------------------------------------------------------------------

TEST_F(Registrar, KeepAliveAckedKeepsThePeRegistered) {
  start({"--keepalive-interval", "200", "--keepalive-timeout", "300"});
  auto& pe = peer("pe", /*auto_ack=*/true);
  auto& pu = peer("pu");
  register_pe(pe, registration("KaPool", 0x77));

  const auto ka = pe.receive_as<asap::EndpointKeepAlive>(2s);
  ASSERT_TRUE(ka) << "no ENDPOINT_KEEP_ALIVE within 2 s (interval 200 ms)";
  EXPECT_EQ(ka->server_id, kRegistrarId);
  EXPECT_EQ(ka->pool_handle, "KaPool");
  EXPECT_EQ(ka->pe_identifier.value_or(0), 0x77u);
  EXPECT_FALSE(ka->home);

  // Several intervals (and several timeouts' worth): still there.
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < 1500ms) {
    EXPECT_TRUE(resolvable(pu, "KaPool", 0x77)) << "after " << ms_since(t0) << " ms";
    pu.pump(100ms);
  }
  EXPECT_GE(pe.keep_alives(), 4u) << "about one keep-alive per 200 ms expected";
  EXPECT_LE(pe.keep_alives(), 12u);
  EXPECT_GE(pe.acks_sent(), pe.keep_alives());
  stop_registrar();
  EXPECT_TRUE(events_named("keepalive_timeout").empty());
  EXPECT_TRUE(events_named("deregistration").empty());
}

TEST_F(Registrar, PeThatStopsAckingIsRemovedAfterIntervalPlusTimeout) {
  start({"--keepalive-interval", "200", "--keepalive-timeout", "300"});
  auto& good = peer("good-pe", /*auto_ack=*/true);
  auto& silent = peer("silent-pe", /*auto_ack=*/false);
  auto& pu = peer("pu");
  register_pe(good, registration("KaPool", 0x01));
  const auto t0 = Clock::now();
  register_pe(silent, registration("KaPool", 0x02));
  EXPECT_TRUE(resolvable(pu, "KaPool", 0x02));

  // Removed a timeout after its first keep-alive, which goes in the interval's later half:
  // 400-500 ms after registering.
  std::optional<long long> gone_after;
  while (ms_since(t0) < 3000) {
    if (!resolvable(pu, "KaPool", 0x02)) {
      gone_after = ms_since(t0);
      break;
    }
    pu.pump(20ms);
  }
  ASSERT_TRUE(gone_after) << "the silent PE was still registered after 3 s";
  EXPECT_GE(*gone_after, 350) << "removed before half the interval + timeout";
  EXPECT_LE(*gone_after, 1500);
  EXPECT_GE(silent.keep_alives(), 1u) << "the silent PE got no keep-alive";
  EXPECT_TRUE(silent.connected()) << "its connection stays: only the PE goes";

  // The acking PE stays.
  pu.pump(700ms);
  EXPECT_TRUE(resolvable(pu, "KaPool", 0x01));

  stop_registrar();
  const auto timeouts = events_named("keepalive_timeout");
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_EQ(timeouts[0].value("pe", ""), "0x00000002");
  EXPECT_EQ(timeouts[0].value("pool", ""), "KaPool");
  const auto deregs = events_named("deregistration");
  ASSERT_EQ(deregs.size(), 1u);
  EXPECT_EQ(deregs[0].value("pe", ""), "0x00000002");
  EXPECT_EQ(deregs[0].value("reason", ""), "keepalive_timeout");
}

// ---- failure reports --------------------------------------------------------------------

TEST_F(Registrar, UnreachableReportsRemoveAPeAtMaxBadPeReports) {
  start({"--max-bad-pe-reports", "3"});
  auto& pe = peer("pe", true);
  auto& pu = peer("pu");
  register_pe(pe, registration("EuPool", 0x10));
  register_pe(pe, registration("EuPool", 0x11));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(pu.send(asap::EndpointUnreachable{"EuPool", 0x10}));
    // Handled in order on the connection: the resolution sees the report.
    const bool still = resolvable(pu, "EuPool", 0x10);
    EXPECT_EQ(still, i < 3) << "after " << i << " report(s)";
  }
  EXPECT_TRUE(resolvable(pu, "EuPool", 0x11));
  // A report on an unknown PE is harmless.
  ASSERT_TRUE(pu.send(asap::EndpointUnreachable{"EuPool", 0x99}));
  EXPECT_TRUE(resolvable(pu, "EuPool", 0x11));

  stop_registrar();
  const auto reports = events_named("unreachable_report");
  ASSERT_EQ(reports.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(reports[i].value("pe", ""), "0x00000010");
    EXPECT_EQ(reports[i].value("reports", 0), i + 1);
    EXPECT_EQ(reports[i].value("max_bad_pe_reports", 0), 3);
    EXPECT_TRUE(reports[i].value("known", false));
  }
  EXPECT_FALSE(reports[3].value("known", true));
  const auto deregs = events_named("deregistration");
  ASSERT_EQ(deregs.size(), 1u);
  EXPECT_EQ(deregs[0].value("reason", ""), "unreachable");
}

// ---- policy selection ----------------------------------------------------------------------

TEST_F(Registrar, RoundRobinCyclesAndTheHandleResolutionOptionAsksForN) {
  start({"--max-hres-items", "2"});
  auto& pe = peer("pe", true);
  auto& pu = peer("pu");
  for (std::uint32_t id : {0x21u, 0x22u, 0x23u}) register_pe(pe, registration("RrPool", id));

  std::vector<std::uint32_t> seq;
  for (int i = 0; i < 9; ++i) {
    const auto r = resolve(pu, "RrPool", 1);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->overall_policy);
    EXPECT_EQ(r->overall_policy->type, wire::PolicyType::round_robin);
    ASSERT_EQ(r->pool_elements.size(), 1u) << "the option asked for 1";
    seq.push_back(r->pool_elements[0].identifier);
  }
  const std::set<std::uint32_t> first(seq.begin(), seq.begin() + 3);
  EXPECT_EQ(first, (std::set<std::uint32_t>{0x21, 0x22, 0x23})) << "one round visits each PE";
  for (std::size_t i = 3; i < seq.size(); ++i)
    EXPECT_EQ(seq[i], seq[i - 3]) << "round robin repeats its rotation (pick " << i << ")";

  // Without the option: --max-hres-items; with it: n (all three when asking for more).
  auto r = resolve(pu, "RrPool");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_elements.size(), 2u);
  r = resolve(pu, "RrPool", 3);
  ASSERT_TRUE(r);
  auto ids = ids_of(*r);
  EXPECT_EQ(std::set<std::uint32_t>(ids.begin(), ids.end()).size(), 3u);
  r = resolve(pu, "RrPool", 0xffffffffu);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool_elements.size(), 3u);

  stop_registrar();
  const auto hr = events_named("handle_resolution");
  ASSERT_EQ(hr.size(), 12u);
  EXPECT_EQ(hr[0].value("requested", 0), 1);
  EXPECT_EQ(hr[0].value("policy", ""), "rr");
  EXPECT_TRUE(hr[9]["requested"].is_null());
  EXPECT_EQ(hr[9].value("items", 0), 2);
}

// ---- connection loss ------------------------------------------------------------------------

TEST_F(Registrar, ClosedPeConnectionTakesItsPesAlong) {
  start();
  auto& pe = peer("pe");
  auto& other = peer("other-pe", true);
  auto& pu = peer("pu");
  register_pe(pe, registration("ClosePool", 0x31));
  register_pe(pe, registration("ClosePool", 0x32));
  register_pe(other, registration("ClosePool", 0x33));
  EXPECT_EQ(pool_ids(pu, "ClosePool"), (std::vector<std::uint32_t>{0x31, 0x32, 0x33}));

  const auto t0 = Clock::now();
  pe.close();
  std::vector<std::uint32_t> ids;
  do {
    pu.pump(10ms);
    ids = pool_ids(pu, "ClosePool");
  } while (ids.size() != 1 && Clock::now() - t0 < 1s);
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{0x33})) << "after " << ms_since(t0) << " ms";

  stop_registrar();
  const auto deregs = events_named("deregistration");
  ASSERT_EQ(deregs.size(), 2u);
  for (const auto& e : deregs) EXPECT_EQ(e.value("reason", ""), "connection_closed");
}

// ---- robustness ----------------------------------------------------------------------------

// How many ASAP Errors the registrar answers `bytes` with (as its core does: the decoder's
// error reply, an Unrecognized Parameter report, and an Unrecognized Message for a type a
// registrar does not take).
int expected_errors(std::span<const std::uint8_t> bytes) {
  auto d = wire::decode_asap(bytes);
  if (!d) return wire::error_reply(d.error(), bytes) ? 1 : 0;
  int n = d->unrecognized.empty() ? 0 : 1;
  const auto& m = d->message;
  const bool taken = std::holds_alternative<asap::Registration>(m) ||
                     std::holds_alternative<asap::Deregistration>(m) ||
                     std::holds_alternative<asap::HandleResolution>(m) ||
                     std::holds_alternative<asap::EndpointKeepAliveAck>(m) ||
                     std::holds_alternative<asap::EndpointUnreachable>(m) ||
                     std::holds_alternative<asap::Error>(m);
  return n + (taken ? 0 : 1);
}

// The fuzz corpus: golden vectors as they are, mutated, and seeded random bytes, each
// framed (its Message Length set to its size) so that the stream stays in sync.
std::vector<std::vector<std::uint8_t>> fuzz_corpus(std::size_t count, std::uint32_t seed) {
  namespace golden = rserpool::wire::testing;
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const auto& v : golden::golden_vectors()) seeds.push_back(golden::golden_bytes(v));
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  auto byte = [&] { return static_cast<std::uint8_t>(pick(256)); };
  std::vector<std::vector<std::uint8_t>> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::uint8_t> m;
    const std::size_t kind = pick(8);
    if (kind == 0) {
      m = seeds[pick(seeds.size())];
    } else if (kind <= 5) {
      m = seeds[pick(seeds.size())];
      const std::size_t mutations = 1 + pick(4);
      for (std::size_t k = 0; k < mutations && !m.empty(); ++k) {
        switch (pick(6)) {
          case 0: m[pick(m.size())] ^= static_cast<std::uint8_t>(1u << pick(8)); break;
          case 1: m[pick(m.size())] = byte(); break;
          case 2: m.insert(m.begin() + static_cast<long>(pick(m.size() + 1)), byte()); break;
          case 3: m.erase(m.begin() + static_cast<long>(pick(m.size()))); break;
          case 4: m.resize(pick(m.size() + 1)); break;
          case 5: {  // a parameter Length byte (offsets 6/7 are the first TLV's length)
            const std::size_t at = 4 + 2 + 4 * pick(std::max<std::size_t>(1, m.size() / 4));
            if (at < m.size()) m[at] = byte();
            break;
          }
        }
      }
    } else {
      m.resize(4 + pick(120));
      for (auto& b : m) b = byte();
      if (pick(2) == 0) m[0] = static_cast<std::uint8_t>(pick(16));
    }
    if (m.size() < 4) m.resize(4, 0);
    // Mostly padded to a multiple of 4: an unpadded message is discarded silently as
    // truncated (its padding is missing), which would hide the deeper paths.
    if (pick(5) != 0) m.resize((m.size() + 3) / 4 * 4, 0);
    if (m.size() > 65532) m.resize(65532);
    AsapPeer::fix_length(m);
    out.push_back(std::move(m));
  }
  return out;
}

TEST_F(Registrar, FuzzCorpusGetsErrorRepliesAndLegitimatePeStays) {
  start({"--keepalive-interval", "500", "--keepalive-timeout", "500"});
  auto& pe = peer("legit-pe", true);
  auto& pu = peer("pu");
  register_pe(pe, registration("LegitPool", 0xc0ffee, wire::PolicyType::least_used, percent(20)));

  const auto corpus = fuzz_corpus(3000, 20240611);
  int want_errors = 0, malformed = 0, silent = 0;
  std::map<std::string, int> why;  // decode failures by kind, for the log
  for (const auto& m : corpus) {
    want_errors += expected_errors(m);
    const auto d = wire::decode_asap(m);
    if (d) continue;
    ++malformed;
    const bool answered = wire::error_reply(d.error(), m).has_value();
    if (!answered) ++silent;
    ++why[wire::make_error_code(d.error().code).message() + (answered ? "" : " (silent)")];
  }
  for (const auto& [k, n] : why) std::printf("  %5d %s\n", n, k.c_str());
  auto& fuzzer = peer("fuzzer");
  const auto t0 = Clock::now();
  std::size_t sent = 0;
  for (const auto& m : corpus) {
    ASSERT_TRUE(fuzzer.send_raw(m)) << "message " << sent << " refused by the transport";
    ++sent;
    if (sent % 200 == 0) fuzzer.pump(1ms);  // let the replies flow meanwhile
  }
  // Every reply that is an ASAP Error (counted by type byte: an echo need not decode).
  int errors = 0;
  auto count = [&] {
    while (fuzzer.queued() > 0) {
      auto r = fuzzer.receive_raw(0ms);
      if (r && !r->bytes.empty() && r->bytes[0] == 0x0e) ++errors;
    }
    return errors >= want_errors;
  };
  fuzzer.run_until(count, 20s);
  fuzzer.pump(200ms);  // anything beyond the expected count shows up now
  count();
  std::printf("fuzz: %zu messages (%d malformed) in %lld ms; %d ASAP errors back (expected %d)\n",
              sent, malformed, ms_since(t0), errors, want_errors);
  EXPECT_GT(malformed, 1000);
  EXPECT_EQ(errors, want_errors);
  EXPECT_TRUE(fuzzer.connected()) << "well-framed input must not cost the connection: "
                                  << fuzzer.close_reason().message();
  ASSERT_TRUE(pr_->running()) << ChildProcess::describe(pr_->status().value_or(-1));

  // The legitimate PE: still registered, still resolvable, still acking keep-alives.
  EXPECT_TRUE(resolvable(pu, "LegitPool", 0xc0ffee));
  pu.pump(1200ms);
  EXPECT_TRUE(resolvable(pu, "LegitPool", 0xc0ffee));
  EXPECT_GE(pe.keep_alives(), 1u);

  // A bad Message Length (< 4) cannot be framed: the registrar closes that connection and
  // takes the PE registered over it along; the others stay.
  asio::ip::tcp::socket raw(io_);
  raw.connect({ep_.asap.addresses[0], ep_.asap.port});
  const auto reg = wire::encode(asap::Message{registration("LegitPool", 0xbad, wire::PolicyType::least_used)});
  asio::write(raw, asio::buffer(reg));
  const std::uint8_t bad[] = {0x05, 0x00, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef};
  std::vector<std::uint8_t> got(4096);
  std::size_t received = 0;
  bool eof = false;
  std::function<void()> read = [&] {
    raw.async_read_some(asio::buffer(got.data() + received, got.size() - received),
                        [&](const boost::system::error_code& ec, std::size_t n) {
                          received += n;
                          if (ec) {
                            eof = true;
                            return;
                          }
                          read();
                        });
  };
  read();
  ASSERT_TRUE(pu.run_until([&] { return received >= 4; }, 3s)) << "no registration response";
  EXPECT_TRUE(resolvable(pu, "LegitPool", 0xbad));
  asio::write(raw, asio::buffer(bad));
  EXPECT_TRUE(pu.run_until([&] { return eof; }, 3s)) << "the registrar kept a connection "
                                                        "whose framing broke";
  EXPECT_TRUE(wait_gone(pu, "LegitPool", 0xbad, 1s));
  EXPECT_TRUE(resolvable(pu, "LegitPool", 0xc0ffee));
  raw.close();
  ASSERT_TRUE(pr_->running());

  stop_registrar();  // exit 0: it did not crash (ASan/UBSan would fail it)
  EXPECT_EQ(events_named("error_sent").size(), static_cast<std::size_t>(want_errors));
  EXPECT_EQ(events_named("message_discarded").size(), static_cast<std::size_t>(silent))
      << "malformed messages whose unknown parameter says 'discard silently'";
}

// ---- events and clean stop -----------------------------------------------------------------

TEST_F(Registrar, EventsFileAndSigtermExitZero) {
  start();
  auto& pe = peer("pe", true);
  auto& pu = peer("pu");
  register_pe(pe, registration("EvPool", 0x1234abcd, wire::PolicyType::least_used, percent(25), 7777));
  ASSERT_TRUE(resolve(pu, "EvPool"));
  ASSERT_TRUE(resolve(pu, "NoSuchPool"));
  ASSERT_TRUE(pe.send(asap::Deregistration{"EvPool", 0x1234abcd}));
  ASSERT_TRUE(pe.receive_as<asap::DeregistrationResponse>(3s));
  ASSERT_TRUE(wait_event([](const json& e) { return e.value("event", "") == "deregistration"; }, 2s));
  stop_registrar();

  const auto all = events();
  ASSERT_GE(all.size(), 6u);
  EXPECT_EQ(all.front().value("event", ""), "ready");
  EXPECT_EQ(all.front().value("transport", ""), "tcp");
  EXPECT_EQ(all.front().value("asap", ""), ep_.asap.to_string());
  EXPECT_EQ(all.front().value("enrp", ""), ep_.enrp.to_string());
  EXPECT_EQ(all.back().value("event", ""), "stopped");
  EXPECT_EQ(all.back().value("signal", 0), SIGTERM);

  const auto regs = events_named("registration");
  ASSERT_EQ(regs.size(), 1u);
  const auto& r = regs[0];
  EXPECT_EQ(r.value("pool", ""), "EvPool");
  EXPECT_EQ(r.value("pe", ""), "0x1234abcd");
  EXPECT_EQ(r.value("policy", ""), "lu");
  EXPECT_EQ(r.value("transport", ""), "tcp");
  EXPECT_EQ(r.value("port", 0), 7777);
  EXPECT_EQ(r.value("registration_life_ms", 0), 60000);
  EXPECT_EQ(r["addresses"], json::array({"127.0.0.1"}));
  EXPECT_EQ(r.value("load", 0u), percent(25));
  EXPECT_TRUE(r.contains("conn"));

  const auto hr = events_named("handle_resolution");
  ASSERT_EQ(hr.size(), 2u);
  EXPECT_EQ(hr[0]["pes"], json::array({"0x1234abcd"}));
  EXPECT_EQ(hr[0].value("policy", ""), "lu");
  EXPECT_EQ(hr[1].value("error", ""), "Unknown Pool Handle");
  const auto deregs = events_named("deregistration");
  ASSERT_EQ(deregs.size(), 1u);
  EXPECT_EQ(deregs[0].value("reason", ""), "deregistration");
}

TEST_F(Registrar, SigintAlsoStopsCleanly) {
  start();
  auto& pe = peer("pe", true);
  register_pe(pe, registration("IntPool", 5));
  stopped_ = true;
  ASSERT_TRUE(pr_->signal(SIGINT));
  const auto st = pr_->wait(10s);
  ASSERT_TRUE(st) << "no exit within 10 s of SIGINT";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st);
  EXPECT_TRUE(pe.wait_closed(2s)) << "the registrar's exit closes the PE's connection";
}

// ASAP server announces: UDP datagrams carrying the registrar's ID and its ASAP endpoint as
// a transport parameter (TCP here, data only), about once a second. On loopback a unicast
// receiver stands in for the multicast group. They begin once the registrar serves: at once
// here (no --peer, no --enrp-announce: no mentor to discover).
TEST_F(Registrar, AnnouncesItselfByUdpAboutOnceASecond) {
  namespace ip = boost::asio::ip;
  ip::udp::socket rx(io_, ip::udp::endpoint(ip::make_address("127.0.0.1"), 0));
  const auto port = rx.local_endpoint().port();
  start({"--announce", "127.0.0.1:" + std::to_string(port)});
  rx.non_blocking(true);
  std::vector<Clock::time_point> seen;
  const auto deadline = Clock::now() + 5s;
  while (seen.size() < 3 && Clock::now() < deadline) {
    std::array<std::uint8_t, 2048> buf{};
    boost::system::error_code ec;
    const std::size_t n = rx.receive(boost::asio::buffer(buf), 0, ec);
    if (ec == boost::asio::error::would_block) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    ASSERT_FALSE(ec) << ec.message();
    const auto d = rserpool::wire::decode_asap(std::span(buf.data(), n));
    ASSERT_TRUE(d) << d.error().message();
    const auto* a = std::get_if<asap::ServerAnnounce>(&d->message);
    ASSERT_NE(a, nullptr) << "not a server announce";
    EXPECT_EQ(a->server_id, kRegistrarId);
    ASSERT_EQ(a->transports.size(), 1u) << "one TCP transport: --transport tcp, one address";
    const auto& t = a->transports[0];
    EXPECT_EQ(t.kind, wire::TransportKind::tcp);
    EXPECT_EQ(t.use, wire::TransportUse::data_only);
    EXPECT_EQ(t.port, ep_.asap.port) << "the ASAP port printed";
    EXPECT_EQ(t.addresses, std::vector<wire::Address>{wire::Address::v4(127, 0, 0, 1)});
    seen.push_back(Clock::now());
  }
  ASSERT_EQ(seen.size(), 3u) << "fewer than 3 announces in 5 s";
  for (std::size_t i = 1; i < seen.size(); ++i) {
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(seen[i] - seen[i - 1]);
    EXPECT_GE(gap.count(), 700) << "announces 1 s ± 12.5 % apart";
    EXPECT_LE(gap.count(), 1600) << "announces 1 s ± 12.5 % apart";
  }
}

// ---- SCTP (label sctp: runs inside sctp-vm.sh) ---------------------------------------------

// The registrar on SCTP, and on `auto` where the kernel has SCTP: a PE registers over an
// SCTP association, a PU resolves over SCTP, and (auto) another PU over the TCP mapping on
// the same port, as clients that fall back do.
TEST(RegistrarSctp, PeAndPuOverSctpAndTcpBesideItOnAuto) {
  if (!rserpool::transport::sctp_available())
    GTEST_SKIP() << "SKIPPED: this kernel has no SCTP; scripts/test.sh runs the tests labelled "
                    "sctp inside scripts/sctp-vm.sh";
  for (const std::string mode : {"sctp", "auto"}) {
    SCOPED_TRACE("--transport " + mode);
    ChildProcess pr(RSPLAB_BINARY, {"registrar", "--transport", mode, "--asap", "127.0.0.1:0",
                                    "--enrp", "127.0.0.1:0", "--log-level", "warning"});
    std::string error;
    const auto ready = pr.wait_ready(20s, &error);
    ASSERT_TRUE(ready) << error << "\nstderr:\n" << pr.stderr_text();
    boost::asio::io_context io;
    AsapPeer pe(io, "pe"), pu(io, "pu");
    ASSERT_TRUE(pe.connect(ready->asap, 5s, rserpool::transport::Kind::sctp));
    ASSERT_TRUE(pu.connect(ready->asap, 5s, rserpool::transport::Kind::sctp));
    auto reg = registration("SctpPool", 0x5c7b0001, wire::PolicyType::round_robin, 0, 7000);
    reg.pool_element.user_transport.kind = wire::TransportKind::sctp;
    ASSERT_TRUE(pe.send(reg));
    const auto resp = pe.receive_as<asap::RegistrationResponse>(5s);
    ASSERT_TRUE(resp);
    EXPECT_FALSE(resp->reject);
    asap::HandleResolution hr;
    hr.pool_handle = "SctpPool";
    ASSERT_TRUE(pu.send(hr));
    const auto r = pu.receive_as<asap::HandleResolutionResponse>(5s);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->pool_elements.size(), 1u);
    EXPECT_EQ(r->pool_elements[0].identifier, 0x5c7b0001u);
    EXPECT_EQ(r->pool_elements[0].user_transport.kind, wire::TransportKind::sctp);
    if (mode == "auto") {
      AsapPeer tcp_pu(io, "tcp-pu");
      ASSERT_TRUE(tcp_pu.connect(ready->asap, 5s, rserpool::transport::Kind::tcp))
          << "auto listens on TCP beside SCTP";
      ASSERT_TRUE(tcp_pu.send(hr));
      const auto r2 = tcp_pu.receive_as<asap::HandleResolutionResponse>(5s);
      ASSERT_TRUE(r2);
      EXPECT_EQ(r2->pool_elements.size(), 1u);
    }
    const auto st = pr.stop(10s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ChildProcess::describe(*st);
  }
}

// ---- the capture (label wireshark) ---------------------------------------------------------

std::string command_path(const std::string& name) {
  auto [rc, out] = run_shell("command -v " + name);
  if (rc != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::uint16_t free_tcp_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class RegistrarCapture : public Registrar {};

TEST_F(RegistrarCapture, ConversationPassesTsharkCheckStrict) {
  const char* req = std::getenv("RSPLAB_REQUIRE_WIRESHARK");
  const bool required = req && std::string(req) == "1";
  std::string missing;
  const std::string dumpcap = command_path("dumpcap");
  if (dumpcap.empty()) missing += " dumpcap";
  if (command_path("tshark").empty()) missing += " tshark";
  if (command_path("python3").empty()) missing += " python3";
  const std::string checker = std::getenv("RSPLAB_TSHARK_CHECK") && *std::getenv("RSPLAB_TSHARK_CHECK")
                                  ? std::getenv("RSPLAB_TSHARK_CHECK")
                                  : RSPLAB_TSHARK_CHECK;
  if (!fs::exists(checker)) missing += " " + checker;
  if (::geteuid() != 0) missing += " root (capturing on lo)";
  if (!missing.empty()) {
    if (required) FAIL() << "missing:" << missing << " (RSPLAB_REQUIRE_WIRESHARK=1)";
    GTEST_SKIP() << "SKIPPED: the registrar capture needs" << missing
                 << " (scripts/setup.sh installs tshark; run as root)";
  }

  const std::uint16_t asap_port = free_tcp_port();
  std::uint16_t enrp_port = free_tcp_port();
  if (enrp_port == asap_port) enrp_port = free_tcp_port();
  const fs::path pcap = fs::path(RSPLAB_CAPTURE_DIR) / "registrar_conversation.pcapng";
  fs::remove(pcap);
  ChildProcess::Options dopt;
  dopt.capture_stdout = false;
  ChildProcess cap(dumpcap,
                   {"-q", "-i", "lo", "-f", "tcp port " + std::to_string(asap_port), "-w",
                    pcap.string()},
                   dopt);
  {
    const auto t0 = Clock::now();
    while (cap.stderr_text().find("Capturing on") == std::string::npos) {
      ASSERT_TRUE(cap.running()) << "dumpcap exited: " << cap.stderr_text();
      ASSERT_LT(ms_since(t0), 10000) << "dumpcap did not start capturing: " << cap.stderr_text();
      std::this_thread::sleep_for(10ms);
    }
    // "Capturing on" comes before packets are really taken (seen on a loaded machine: the
    // first registrations were missing). Knock on the still closed port (SYN, RST: no
    // payload, nothing for the checker) until the capture file grows.
    std::error_code ec;
    const auto header = fs::exists(pcap, ec) ? fs::file_size(pcap, ec) : 0;
    for (;;) {
      boost::asio::ip::tcp::socket knock(io_);
      boost::system::error_code ignored;
      knock.connect({boost::asio::ip::make_address("127.0.0.1"), asap_port}, ignored);
      std::this_thread::sleep_for(50ms);
      if (fs::exists(pcap, ec) && fs::file_size(pcap, ec) > header) break;
      ASSERT_TRUE(cap.running()) << "dumpcap exited: " << cap.stderr_text();
      ASSERT_LT(ms_since(t0), 15000) << "dumpcap captured nothing of the probes";
    }
  }

  start({"--keepalive-interval", "300", "--keepalive-timeout", "1000"},
        "127.0.0.1:" + std::to_string(asap_port), "127.0.0.1:" + std::to_string(enrp_port));
  ASSERT_EQ(ep_.asap.port, asap_port);
  {
    auto pe = std::make_unique<AsapPeer>(io_, "pe");
    auto pu = std::make_unique<AsapPeer>(io_, "pu");
    pe->set_auto_ack(true);
    ASSERT_TRUE(pe->connect(ep_.asap));
    ASSERT_TRUE(pu->connect(ep_.asap));
    // REGISTRATION / REGISTRATION_RESPONSE (two PEs).
    register_pe(*pe, registration("CapturePool", 0x1234abcd, wire::PolicyType::least_used, percent(25), 7000));
    register_pe(*pe, registration("CapturePool", 0x1234abce, wire::PolicyType::least_used, percent(50), 7001));
    // ENDPOINT_KEEP_ALIVE / ENDPOINT_KEEP_ALIVE_ACK.
    ASSERT_TRUE(pe->run_until([&] { return pe->acks_sent() >= 2; }, 3s));
    // HANDLE_RESOLUTION without and with the option; RESPONSE with PEs and with an error.
    auto r = resolve(*pu, "CapturePool");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pool_elements.size(), 2u);
    r = resolve(*pu, "CapturePool", 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pool_elements.size(), 1u);
    r = resolve(*pu, "NoSuchPool");
    ASSERT_TRUE(r && r->error);
    // ENDPOINT_UNREACHABLE (one report: below MaxBadPEReports).
    ASSERT_TRUE(pu->send(asap::EndpointUnreachable{"CapturePool", 0x1234abce}));
    // ERROR: answers a registration whose transport has an undefined Transport Use (2);
    // Wireshark decodes that message without complaint (it shows the value as unknown).
    auto bad = registration("CapturePool", 0x1234abcf);
    bad.pool_element.user_transport.use = static_cast<wire::TransportUse>(2);
    ASSERT_TRUE(pe->send(bad));
    const auto err = pe->receive_as<asap::Error>(3s);
    ASSERT_TRUE(err) << "no ASAP_ERROR for the invalid Transport Use";
    EXPECT_EQ(err->error.causes.at(0).code, wire::CauseCode::invalid_values);
    // DEREGISTRATION / DEREGISTRATION_RESPONSE.
    ASSERT_TRUE(pe->send(asap::Deregistration{"CapturePool", 0x1234abcd}));
    ASSERT_TRUE(pe->receive_as<asap::DeregistrationResponse>(3s));
    ASSERT_TRUE(pe->send(asap::Deregistration{"CapturePool", 0x1234abce}));
    ASSERT_TRUE(pe->receive_as<asap::DeregistrationResponse>(3s));
    pe->close();
    pu->close();
    pe->pump(100ms);
  }
  stop_registrar();
  std::this_thread::sleep_for(200ms);  // the last FINs reach the capture
  ASSERT_TRUE(cap.signal(SIGINT));
  const auto st = cap.wait(10s);
  ASSERT_TRUE(st) << "dumpcap did not stop";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "dumpcap: " << ChildProcess::describe(*st)
                                                       << "\n" << cap.stderr_text();
  ASSERT_TRUE(fs::exists(pcap));

  const auto [rc, out] = run_shell("bash " + shell_quote(checker) + " -s -a " +
                                   std::to_string(asap_port) + " -e " + std::to_string(enrp_port) +
                                   " " + shell_quote(pcap.string()));
  std::printf("--- tshark_check.sh -s -a %u -e %u %s (exit %d)\n%s", asap_port, enrp_port,
              pcap.c_str(), rc, out.c_str());
  EXPECT_EQ(rc, 0) << "tshark_check.sh -s rejected the capture";
  std::map<unsigned, int> counted;
  const std::regex row(R"(^ASAP 0x([0-9a-f]{2}) +\S+ +(\d+)$)");
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, row)) counted[std::stoul(m[1], nullptr, 16)] += std::stoi(m[2]);
  }
  for (unsigned t : {0x01u, 0x02u, 0x03u, 0x04u, 0x05u, 0x06u, 0x07u, 0x08u, 0x09u, 0x0eu})
    EXPECT_GE(counted[t], 1) << "ASAP type 0x" << std::hex << t << " missing from the capture";
  EXPECT_GE(counted[0x01], 3);

  // What rides inside: the Handle Resolution Option (0x803f) on a resolution, Unknown Pool
  // Handle (cause 0x9) on a response, Invalid Values (0x3) in the ASAP_ERROR.
  const char* lua_env = std::getenv("RSERPOOL_TCP_LUA");
  const std::string lua = lua_env && *lua_env
                              ? std::string(lua_env)
                              : (fs::path(checker).parent_path() / "rserpool_tcp.lua").string();
  const auto [frc, fields] = run_shell(
      "tshark -n -r " + shell_quote(pcap.string()) + " -X " + shell_quote("lua_script:" + lua) +
      " -o rsptcp.asap_ports:" + std::to_string(asap_port) + " -o rsptcp.enrp_ports:" +
      std::to_string(enrp_port) +
      " -T fields -E occurrence=a -E aggregator='|' -e asap.message_type -e asap.parameter_type"
      " -e asap.cause_code -e asap.hropt_items | grep -v 'Running as user'");
  ASSERT_EQ(frc, 0) << fields;
  EXPECT_NE(fields.find("5\t0x0009|0x803f\t\t1"), std::string::npos)
      << "no HANDLE_RESOLUTION with the option asking for 1:\n" << fields;
  EXPECT_NE(fields.find("6\t0x0009|0x000c\t0x0009"), std::string::npos)
      << "no HANDLE_RESOLUTION_RESPONSE with Unknown Pool Handle:\n" << fields;
  EXPECT_NE(fields.find("14\t0x000c|0x0005|0x0001\t0x0003"), std::string::npos)
      << "no ASAP_ERROR with Invalid Values echoing the transport:\n" << fields;
  EXPECT_GE(counted[0x05], 3);
  EXPECT_GE(counted[0x06], 3);
}

}  // namespace
