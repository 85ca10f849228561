// Wireshark cross-check: Wireshark's own ASAP/ENRP dissectors must accept every golden
// vector, both its hand-written bytes and what our encoder makes of its expected message.
//
//   golden vectors ──► hexdump (one message per packet) ──► text2pcap -T / -S ──► capture
//   capture ──► tools/wire-check/wire-check.sh -s ──► exit 0 + per-type counts
//
// One capture per transport (TCP, SCTP) × protocol (ASAP 3863/PPID 11, ENRP 9901/PPID 12)
// × source (golden bytes, encode(expected)). text2pcap -T keeps the TCP sequence numbers
// continuous within its one flow, so the checker's Lua shim frames the stream by Message
// Length as it would a live capture. Captures stay in the build tree for inspection.
//
// Error messages (ASAP 0x0e, ENRP 0x0a) whose Unrecognized Parameter / Unrecognized Message
// causes carry deliberately unknown types are sent without those causes (encoded by us),
// or left out when nothing else is in them: see has_foreign_cause(). Every message type
// must still be counted by tshark.
//
// A second capture per transport is a registrar conversation: a registrar core driven
// with registrations refused for every reason it has (inconsistent policy, inconsistent
// transport type, inconsistent data/control configuration, registration life, an
// unverifiable address), a deregistration from a foreign connection, an unknown pool
// handle, a rate-limited resolution, a message a registrar does not take and a Pool Element
// without its policy; every request and every answer goes into the capture. Each error
// cause must carry what RFC 5354 says (the offending parameter, the offending message, or
// nothing), or Wireshark marks the frame malformed.
//
// Skips (GTEST_SKIP) when tshark, text2pcap or the checker is missing, unless
// RSPLAB_REQUIRE_WIRESHARK=1, which makes that a failure (CI sets it: setup.sh installs
// tshark, so a skip there means something is broken).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "stack/registrar/core.hpp"
#include "tests/support/process.hpp"
#include "tests/wire/golden.hpp"

namespace {

namespace fs = std::filesystem;
namespace wire = rserpool::wire;
namespace golden = rserpool::wire::testing;
using rsplab::test::run_shell;
using rsplab::test::shell_quote;

enum class Transport { tcp, sctp };
enum class Source { golden, encoded };

struct Case {
  Transport transport;
  wire::Protocol protocol;
  Source source;
};

std::string case_name(const Case& c) {
  std::string n = c.transport == Transport::tcp ? "tcp" : "sctp";
  n += c.protocol == wire::Protocol::asap ? "_asap" : "_enrp";
  n += c.source == Source::golden ? "_golden" : "_encoded";
  return n;
}

std::string checker_path() {
  if (const char* env = std::getenv("RSPLAB_TSHARK_CHECK"); env && *env) return env;
  return RSPLAB_TSHARK_CHECK;
}

bool have_command(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

bool tools_required() {
  const char* env = std::getenv("RSPLAB_REQUIRE_WIRESHARK");
  return env && std::string(env) == "1";
}

// text2pcap's hexdump input: offset + up to 16 bytes per line, a blank line between packets.
void append_hexdump(std::ostream& out, const wire::Bytes& bytes) {
  char line[24];
  for (std::size_t i = 0; i < bytes.size(); i += 16) {
    std::snprintf(line, sizeof line, "%06zx", i);
    out << line;
    for (std::size_t j = i; j < bytes.size() && j < i + 16; ++j) {
      std::snprintf(line, sizeof line, " %02x", bytes[j]);
      out << line;
    }
    out << '\n';
  }
  out << '\n';
}

using AnyMessage = std::variant<wire::asap::Message, wire::enrp::Message>;

// An error cause whose information is, by definition, something the receiver did not know:
// an Unrecognized Parameter or Unrecognized Message cause. Wireshark decodes that content
// as nested parameters or messages, so the golden vectors' deliberately unknown types in it
// (e.g. parameter 0x4030, message type 0x0f) are flagged by the strict check, and a nested
// message of an unknown type even throws a dissector exception. Such causes are dropped.
bool foreign(const wire::ErrorCause& c) {
  return c.code == wire::CauseCode::unrecognized_parameter ||
         c.code == wire::CauseCode::unrecognized_message;
}

wire::OperationError* operation_error(AnyMessage& m) {
  if (auto* a = std::get_if<wire::asap::Message>(&m)) {
    if (auto* e = std::get_if<wire::asap::Error>(a)) return &e->error;
  } else if (auto* e = std::get_if<wire::enrp::Error>(&std::get<wire::enrp::Message>(m))) {
    return &e->error;
  }
  return nullptr;
}

bool has_foreign_cause(AnyMessage m) {
  const auto* e = operation_error(m);
  return e && std::any_of(e->causes.begin(), e->causes.end(), foreign);
}

// The message without its foreign causes; nullopt when no cause is left.
std::optional<AnyMessage> without_foreign_causes(AnyMessage m) {
  auto* e = operation_error(m);
  if (!e) return m;
  std::erase_if(e->causes, foreign);
  if (e->causes.empty()) return std::nullopt;
  return m;
}

unsigned type_code(const AnyMessage& m) {
  if (const auto* a = std::get_if<wire::asap::Message>(&m)) {
    return static_cast<unsigned>(wire::asap::type_of(*a));
  }
  return static_cast<unsigned>(wire::enrp::type_of(std::get<wire::enrp::Message>(m)));
}

// Writes `dump` as a capture named `name` (ASAP on 3863 / PPID 11, ENRP on 9901 / PPID
// 12: the RFC and IANA values) and runs the checker on it, strict; returns its output.
std::string capture_and_check(const std::string& name, const std::string& dump,
                              Transport transport, wire::Protocol protocol) {
  const bool asap = protocol == wire::Protocol::asap;
  const fs::path dir = RSPLAB_CAPTURE_DIR;
  fs::create_directories(dir);
  const fs::path txt = dir / (name + ".txt");
  const fs::path pcap = dir / (name + ".pcapng");
  {
    std::ofstream out(txt, std::ios::trunc);
    out << dump;
    if (!out.good()) {
      ADD_FAILURE() << "cannot write " << txt;
      return {};
    }
  }
  const std::string port = asap ? "3863" : "9901";
  const std::string header = transport == Transport::tcp
                                 ? "-T 40000," + port
                                 : "-S 40000," + port + (asap ? ",11" : ",12");
  auto [t2p_rc, t2p_out] = run_shell("text2pcap -q -4 127.0.0.1,127.0.0.2 " + header + " " +
                                     shell_quote(txt) + " " + shell_quote(pcap));
  EXPECT_EQ(t2p_rc, 0) << "text2pcap failed:\n" << t2p_out;
  if (t2p_rc != 0) return {};
  auto [rc, out] = run_shell("bash " + shell_quote(checker_path()) + " -s " + shell_quote(pcap));
  std::printf("--- tshark_check.sh -s %s (exit %d)\n%s", pcap.c_str(), rc, out.c_str());
  EXPECT_EQ(rc, 0) << "tshark_check.sh -s rejected " << pcap;
  return out;
}

// Skips or fails (RSPLAB_REQUIRE_WIRESHARK=1) when a tool is missing.
template <class Param>
class WiresharkTools : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    std::string missing;
    if (!have_command("tshark")) missing += " tshark";
    if (!have_command("text2pcap")) missing += " text2pcap";
    if (!have_command("python3")) missing += " python3";
    if (const std::string checker = checker_path(); !fs::exists(checker)) {
      missing += ' ';  // not `" " + checker`: GCC 12 warns falsely (-Wrestrict)
      missing += checker;
    }
    if (missing.empty()) return;
    if (tools_required()) {
      FAIL() << "missing:" << missing << " (RSPLAB_REQUIRE_WIRESHARK=1; run scripts/setup.sh)";
    }
    GTEST_SKIP() << "SKIPPED: wireshark cross-check needs" << missing
                 << " (scripts/setup.sh installs tshark; another checker: RSPLAB_TSHARK_CHECK=...)";
  }
};

using WiresharkCheck = WiresharkTools<Case>;

TEST_P(WiresharkCheck, AcceptsEveryMessageType) {
  const Case c = GetParam();
  const bool asap = c.protocol == wire::Protocol::asap;
  const unsigned type_count = asap ? 14 : 10;  // ASAP 0x01–0x0e, ENRP 0x01–0x0a

  // 1. The hexdump: one message per packet, in vector order.
  std::ostringstream dump;
  std::map<unsigned, int> expected;  // type code -> vectors of that type
  int messages = 0;
  std::vector<std::string> derived, left_out;
  for (const auto& v : golden::golden_vectors()) {
    if (v.protocol != c.protocol) continue;
    wire::Bytes bytes;
    AnyMessage message = v.expected;
    if (has_foreign_cause(v.expected)) {
      // Deliberately foreign content (see has_foreign_cause): send what is left without it.
      auto clean = without_foreign_causes(v.expected);
      if (!clean) {
        left_out.emplace_back(v.name);
        continue;
      }
      message = *clean;
      bytes = std::visit([](const auto& m) { return wire::encode(m); }, message);
      ASSERT_FALSE(bytes.empty()) << v.name << " without foreign causes: encode failed";
      derived.emplace_back(v.name);
    } else if (c.source == Source::golden) {
      bytes = golden::from_hex(v.hex);
    } else {
      bytes = std::visit([](const auto& m) { return wire::encode(m); }, v.expected);
      ASSERT_FALSE(bytes.empty()) << v.name << ": encode(expected) failed";
    }
    append_hexdump(dump, bytes);
    ++expected[type_code(message)];
    ++messages;
  }
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? std::string("none") : out;
  };
  std::printf("vectors sent: %d; encoded without their Unrecognized Parameter/Message causes: %s;"
              " left out (nothing else in them): %s\n",
              messages, join(derived).c_str(), join(left_out).c_str());
  for (unsigned t = 1; t <= type_count; ++t) {
    EXPECT_TRUE(expected.count(t)) << "no golden vector of " << (asap ? "ASAP" : "ENRP")
                                   << " type 0x" << std::hex << t;
  }
  ASSERT_GT(messages, 0);

  // 2.–3. The capture and Wireshark's verdict.
  std::string out;
  ASSERT_NO_FATAL_FAILURE(out = capture_and_check(case_name(c), dump.str(), c.transport,
                                                  c.protocol));

  // 4. Every type counted at least as often as we sent it (an Error carrying an
  //    Unrecognized Message cause adds a nested count: pitfall 8 of wire-format.md).
  std::map<unsigned, int> counted;
  const std::regex row(asap ? R"(^ASAP 0x([0-9a-f]{2}) +\S+ +(\d+)$)"
                            : R"(^ENRP 0x([0-9a-f]{2}) +\S+ +(\d+)$)");
  std::istringstream lines(out);
  std::string line;
  int framed = -1;
  const std::regex framing(R"(tcp messages framed: (\d+))");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      counted[std::stoul(m[1], nullptr, 16)] += std::stoi(m[2]);
    } else if (std::regex_search(line, m, framing)) {
      framed = std::stoi(m[1]);
    }
  }
  for (const auto& [type, n] : expected) {
    EXPECT_GE(counted[type], n) << (asap ? "ASAP" : "ENRP") << " type 0x" << std::hex << type
                                << std::dec << ": sent " << n << ", tshark counted " << counted[type];
  }
  if (c.transport == Transport::tcp) {
    EXPECT_EQ(framed, messages) << "the checker's framing pass should see every message";
  }
}

void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (auto t : {Transport::tcp, Transport::sctp}) {
    for (auto p : {wire::Protocol::asap, wire::Protocol::enrp}) {
      for (auto s : {Source::golden, Source::encoded}) cases.push_back({t, p, s});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Captures, WiresharkCheck, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return case_name(info.param);
                         });

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------
// A registrar conversation with every refusal

namespace reg = rserpool::registrar;
namespace asap = wire::asap;

wire::Address ip(std::string_view text) { return *wire::Address::parse(text); }

asap::Registration registration(std::uint32_t id, wire::PolicyType policy,
                                wire::TransportKind kind, std::string_view address,
                                std::int32_t life = 30000) {
  asap::Registration r;
  r.pool_handle = "CalcAppPool";
  r.pool_element.identifier = id;
  r.pool_element.registration_life = life;
  r.pool_element.user_transport.kind = kind;
  r.pool_element.user_transport.use = wire::TransportUse::data_plus_control;
  r.pool_element.user_transport.port = 5000;
  r.pool_element.user_transport.addresses = {ip(address)};
  r.pool_element.policy.type = policy;
  return r;
}

// The conversation, in order, with what the registrar answered; `causes` collects the
// error causes it sent.
struct Conversation {
  std::ostringstream dump;
  int messages = 0;
  std::vector<wire::CauseCode> causes;
};

Conversation registrar_conversation() {
  reg::Config config;
  config.identifier = 0x1234abcd;
  config.max_hr_rate = 1;  // one resolution per second per PU: the second is refused
  reg::Core core(config);
  const reg::ConnId pe = 1, tcp_pe = 2, pu = 3;
  core.opened(pe, reg::Peer{wire::TransportKind::sctp, {ip("10.0.0.1")}, 40000});
  core.opened(tcp_pe, reg::Peer{wire::TransportKind::tcp, {ip("10.0.1.1")}, 40001});
  core.opened(pu, reg::Peer{wire::TransportKind::sctp, {ip("10.0.2.1")}, 40002});
  const auto now = reg::TimePoint(std::chrono::hours(1));
  Conversation c;
  auto exchange = [&](reg::ConnId conn, const wire::Bytes& request) {
    append_hexdump(c.dump, request);
    ++c.messages;
    reg::Actions out;
    core.received_asap(conn, request, now, out);
    for (const auto& send : out.sends) {
      append_hexdump(c.dump, send.message);
      ++c.messages;
      const auto d = wire::decode_asap(send.message);
      EXPECT_TRUE(d.ok()) << "the registrar sent what it cannot decode";
      if (!d) continue;
      std::visit(
          [&](const auto& m) {
            if constexpr (requires { m.error; }) {
              using E = std::decay_t<decltype(m.error)>;
              if constexpr (std::is_same_v<E, wire::OperationError>) {
                for (const auto& k : m.error.causes) c.causes.push_back(k.code);
              } else {
                if (m.error)
                  for (const auto& k : m.error->causes) c.causes.push_back(k.code);
              }
            }
          },
          d->message);
    }
  };
  auto send = [&](reg::ConnId conn, const asap::Message& m) { exchange(conn, wire::encode(m)); };
  using P = wire::PolicyType;
  using K = wire::TransportKind;
  send(pe, registration(1, P::round_robin, K::sctp, "10.0.0.1"));             // accepted
  send(pe, registration(2, P::least_used, K::sctp, "10.0.0.1"));              // policy
  send(tcp_pe, registration(3, P::round_robin, K::tcp, "10.0.1.1"));          // transport type
  auto data_only = registration(4, P::round_robin, K::sctp, "10.0.0.1");
  data_only.pool_element.user_transport.use = wire::TransportUse::data_only;
  send(pe, data_only);                                                        // data/control
  send(pe, registration(5, P::round_robin, K::sctp, "10.0.0.1", 0));          // life
  send(pe, registration(6, P::round_robin, K::sctp, "10.0.9.9"));             // address
  send(pu, asap::Deregistration{"CalcAppPool", 1});                           // security
  send(pu, asap::HandleResolution{"NoSuchPool", std::nullopt});               // unknown pool
  send(pu, asap::HandleResolution{"CalcAppPool", std::nullopt});              // rate limited
  send(pu, asap::CookieEcho{{1, 2, 3, 4}});                                   // not taken
  // A Pool Element without its policy: Invalid Values carrying the Pool Element.
  wire::Bytes no_policy = wire::encode(registration(8, P::round_robin, K::sctp, "10.0.0.1"));
  no_policy.resize(no_policy.size() - 8);  // the policy (RR, 8 bytes) is last
  no_policy[3] = static_cast<std::uint8_t>(no_policy[3] - 8);    // Message Length
  no_policy[23] = static_cast<std::uint8_t>(no_policy[23] - 8);  // Pool Element Length (after
                                                                  // the 16-byte Pool Handle)
  exchange(pe, no_policy);
  return c;
}

using RegistrarConversation = WiresharkTools<Transport>;

TEST_P(RegistrarConversation, EveryRefusalIsWellFormed) {
  const Conversation c = registrar_conversation();
  ASSERT_FALSE(HasFailure());
  using C = wire::CauseCode;
  const std::vector<C> want = {C::inconsistent_pooling_policy,
                               C::inconsistent_transport_type,
                               C::inconsistent_data_control_configuration,
                               C::invalid_values,
                               C::invalid_values,
                               C::rejection_due_to_security,
                               C::unknown_pool_handle,
                               C::rejection_due_to_security,
                               C::unrecognized_message,
                               C::invalid_values};
  EXPECT_EQ(c.causes, want) << "the conversation no longer refuses each kind once";
  const std::string name = std::string("registrar_") +
                           (GetParam() == Transport::tcp ? "tcp" : "sctp");
  std::string out;
  ASSERT_NO_FATAL_FAILURE(out = capture_and_check(name, c.dump.str(), GetParam(),
                                                  wire::Protocol::asap));
  EXPECT_NE(out.find("malformed or error frames: 0"), std::string::npos) << out;
  if (GetParam() == Transport::tcp) {
    EXPECT_NE(out.find("tcp messages framed: " + std::to_string(c.messages)), std::string::npos)
        << "the checker's framing pass should see all " << c.messages << " messages";
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, RegistrarConversation,
                         ::testing::Values(Transport::tcp, Transport::sctp),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return std::string(info.param == Transport::tcp ? "tcp" : "sctp");
                         });

}  // namespace
