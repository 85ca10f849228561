// Descriptions behind `rsplab decode`: every golden vector describes in text and JSON,
// every field by its RFC name, and the special cases (percentages, hex handles, flags,
// unrecognized parameters, nested messages, decode errors) show as documented.
#include "stack/wire/describe.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/wire/golden.hpp"

namespace {

namespace w = rserpool::wire;
namespace wt = rserpool::wire::testing;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

w::Field describe_ok(w::Protocol p, const w::Bytes& b) {
  auto r = w::decode_and_describe(p, b);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : w::Field{};
}

TEST(Describe, EveryGoldenVectorInTextAndJson) {
  for (const auto& v : wt::golden_vectors()) {
    SCOPED_TRACE(std::string(v.name));
    const w::Bytes b = wt::golden_bytes(v);
    const w::Field f = describe_ok(v.protocol, b);
    const std::string name(w::message_type_name(v.protocol, b[0]));
    ASSERT_FALSE(name.empty());
    const std::string text = w::to_text(f);
    EXPECT_TRUE(contains(text, "Message Type: " + name)) << text;
    EXPECT_TRUE(contains(text, "Message Length: " + std::to_string(b.size()))) << text;
    EXPECT_FALSE(contains(text, ": \n")) << text;  // no field without a value
    const auto j = w::to_json(f);
    EXPECT_EQ(j.at("message_type").at("name"), name);
    EXPECT_EQ(j.at("message_length"), b.size());
    EXPECT_EQ(nlohmann::json::parse(j.dump()).at("protocol"),
              v.protocol == w::Protocol::asap ? "ASAP" : "ENRP");
  }
}

TEST(Describe, EveryGoldenTruncationIsAnErrorWithItsOffset) {
  for (const auto& v : wt::golden_vectors()) {
    const w::Bytes b = wt::golden_bytes(v);
    for (std::size_t n = 0; n < b.size(); ++n) {
      auto r = w::decode_and_describe(v.protocol, {b.data(), n});
      ASSERT_FALSE(r.ok()) << v.name << " cut to " << n;
      const auto j = w::to_json(w::describe(r.error()));
      EXPECT_LE(j.at("offset").get<std::size_t>(), n) << v.name << " cut to " << n;
      EXPECT_TRUE(contains(j.at("message").get<std::string>(), " at byte "));
    }
  }
}

TEST(Describe, EveryPolicyByNameWithPercentages) {
  for (const auto& info : w::all_policies()) {
    SCOPED_TRACE(std::string(info.name));
    w::Policy p;
    p.type = info.type;
    p.weight = 7;
    p.priority = 3;
    p.load = 0x40000000;
    p.load_degradation = w::kFractionOne;
    p.load_dpf = 0;
    p.weight_dpf = 0x80000000;
    p.distance = 25;
    const w::Field f = w::describe(p);
    const std::string text = w::to_text(f);
    EXPECT_TRUE(contains(text, "Member Selection Policy: " + std::string(info.name))) << text;
    const auto j = w::to_json(f);
    EXPECT_EQ(j.at("policy_type").at("short_name"), info.short_name);
    for (std::size_t i = 0; i < info.field_count; ++i) {
      const std::string label(w::field_name(info.fields[i]));
      EXPECT_TRUE(contains(text, "  " + label + ": ")) << text;
      switch (info.fields[i]) {
        case w::PolicyField::load:
          EXPECT_TRUE(contains(text, "Load: 25.00% (0x40000000)")) << text;
          EXPECT_EQ(j.at("load").at("raw"), 0x40000000u);
          EXPECT_DOUBLE_EQ(j.at("load").at("percent").get<double>(), 25.0);
          break;
        case w::PolicyField::load_degradation:
          EXPECT_TRUE(contains(text, "Load Degradation: 100.00% (0xffffffff)")) << text;
          EXPECT_DOUBLE_EQ(j.at("load_degradation").at("percent").get<double>(), 100.0);
          break;
        case w::PolicyField::load_dpf:
          EXPECT_TRUE(contains(text, "Load DPF: 0.00% (0x00000000)")) << text;
          break;
        case w::PolicyField::weight_dpf:
          EXPECT_TRUE(contains(text, "Weight DPF: 50.00% (0x80000000)")) << text;
          break;
        case w::PolicyField::distance:
          EXPECT_TRUE(contains(text, "Distance: 25 ms")) << text;
          EXPECT_EQ(j.at("distance"), 25);
          break;
        case w::PolicyField::weight: EXPECT_EQ(j.at("weight"), 7); break;
        case w::PolicyField::priority: EXPECT_EQ(j.at("priority"), 3); break;
      }
    }
  }
}

TEST(Describe, TransportsByKind) {
  w::Transport t;
  t.kind = w::TransportKind::dccp;
  t.port = 5000;
  t.service_code = 42;
  t.addresses = {w::Address::v4(10, 0, 0, 1)};
  auto j = w::to_json(w::describe(t));
  EXPECT_EQ(j.at("kind"), "dccp");
  EXPECT_EQ(j.at("service_code"), 42);
  EXPECT_FALSE(j.contains("transport_use"));
  EXPECT_TRUE(contains(w::to_text(w::describe(t)), "Transport: DCCP Transport (0x0003)"));

  t.kind = w::TransportKind::sctp;
  t.use = w::TransportUse::data_plus_control;
  t.addresses.push_back(*w::Address::parse("2001:db8::1"));
  j = w::to_json(w::describe(t));
  EXPECT_EQ(j.at("transport_use").at("name"), "DATA plus CONTROL");
  EXPECT_EQ(j.at("addresses"), nlohmann::json({"10.0.0.1", "2001:db8::1"}));
  EXPECT_TRUE(contains(w::to_text(w::describe(t)), "Addresses: 10.0.0.1, 2001:db8::1"));
}

TEST(Describe, UnprintablePoolHandleAsHex) {
  w::asap::Deregistration m;
  m.pool_handle = std::string("\x01\xff", 2);
  m.pe_identifier = 0xabcdef01;
  const w::Bytes b = w::encode(w::asap::Message{m});
  const w::Field f = describe_ok(w::Protocol::asap, b);
  EXPECT_TRUE(contains(w::to_text(f), "Pool Handle: 0x01ff (2 bytes, not printable)"));
  EXPECT_TRUE(contains(w::to_text(f), "PE Identifier: 0xabcdef01"));
  EXPECT_EQ(w::to_json(f).at("pool_handle"), "0x01ff");
}

TEST(Describe, FlagsByName) {
  w::enrp::HandleTableResponse m;
  m.sender = 1;
  m.reject = true;
  m.more = true;
  const w::Bytes b = w::encode(w::enrp::Message{m});
  const w::Field f = describe_ok(w::Protocol::enrp, b);
  EXPECT_TRUE(contains(w::to_text(f), "Flags: 0x03 (R: reject, M: more to send)\n"))
      << w::to_text(f);
  const auto j = w::to_json(f);
  EXPECT_EQ(j.at("flags").at("value"), "0x03");
  EXPECT_EQ(j.at("flags").at("r_bit"), true);
  EXPECT_EQ(j.at("flags").at("m_bit"), true);
  EXPECT_TRUE(contains(w::to_text(f), "Receiver Server's ID: 0x00000000 (unknown or all)"));
}

TEST(Describe, UndefinedFlagBitsShow) {
  w::Bytes b = w::encode(w::asap::Message{w::asap::Deregistration{"P", 1}});
  b[1] = 0x80;
  const w::Field f = describe_ok(w::Protocol::asap, b);
  EXPECT_TRUE(contains(w::to_text(f), "Flags: 0x80 (undefined bits 0x80)")) << w::to_text(f);
}

TEST(Describe, UnrecognizedParametersToReport) {
  w::Bytes b = w::encode(w::asap::Message{w::asap::Deregistration{"EchoPool", 0x1234abcd}});
  const w::Bytes extra = {0xc0, 0xff, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04};
  b.insert(b.end(), extra.begin(), extra.end());
  b[3] = static_cast<std::uint8_t>(b.size());
  const w::Field f = describe_ok(w::Protocol::asap, b);
  const auto j = w::to_json(f);
  ASSERT_EQ(j.at("unrecognized_parameters").size(), 1u);
  EXPECT_EQ(j.at("unrecognized_parameters")[0].at("parameter_type"), "0xc0ff");
  EXPECT_EQ(j.at("unrecognized_parameters")[0].at("value"), "0x01020304");
  EXPECT_TRUE(contains(w::to_text(f), "Parameter Type 0xc0ff, Length 8, Value 0x01020304"))
      << w::to_text(f);
}

TEST(Describe, UnrecognizedMessageDecodedWhenItDecodes) {
  const w::Bytes inner = w::encode(w::asap::Message{w::asap::Deregistration{"EchoPool", 7}});
  w::asap::Error m;
  m.error.causes.push_back({w::CauseCode::unrecognized_message, inner});
  m.error.causes.push_back({w::CauseCode::invalid_values, {0x00, 0x0e, 0x00, 0x08, 0, 0, 0, 7}});
  const w::Field f = describe_ok(w::Protocol::asap, w::encode(w::asap::Message{m}));
  const auto j = w::to_json(f);
  const auto& causes = j.at("operation_error").at("causes");
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].at("cause_code").at("name"), "Unrecognized Message");
  EXPECT_EQ(causes[0].at("message").at("message_type").at("name"), "ASAP_DEREGISTRATION");
  EXPECT_EQ(causes[0].at("message").at("pe_identifier"), "0x00000007");
  EXPECT_EQ(causes[1].at("info"), "0x000e000800000007");
  EXPECT_EQ(causes[1].at("offending_parameter").at("parameter_type").at("name"),
            "PE Identifier");
  const std::string text = w::to_text(f);
  EXPECT_TRUE(contains(text, "Error Cause #1: Unrecognized Message (0x0002)")) << text;
  EXPECT_TRUE(contains(text, "Message: ASAP_DEREGISTRATION (0x02)")) << text;
  EXPECT_TRUE(contains(text, "Error Cause #2: Invalid Values (0x0003)")) << text;
  EXPECT_TRUE(contains(text, "Offending Parameter: PE Identifier (0x000e)")) << text;
}

TEST(Describe, DeeplyNestedMessagesStop) {
  w::Bytes msg = w::encode(w::asap::Message{w::asap::Deregistration{"P", 1}});
  for (int i = 0; i < 20; ++i) {
    w::asap::Error e;
    e.error.causes.push_back({w::CauseCode::unrecognized_message, msg});
    msg = w::encode(w::asap::Message{e});
  }
  const w::Field f = describe_ok(w::Protocol::asap, msg);
  EXPECT_TRUE(contains(w::to_text(f), "nested too deep"));
}

TEST(Describe, DecodeErrorsSayWhatAReceiverDoes) {
  w::DecodeError e;
  e.code = w::Errc::truncated_parameter;
  e.offset = 12;
  e.detail = "Pool Handle Length 15 runs past the message";
  e.cause = w::CauseCode::invalid_values;
  EXPECT_EQ(w::receiver_reaction(e),
            "a receiver answers with an Operation Error: Invalid Values (0x0003)");
  const auto j = w::to_json(w::describe(e));
  EXPECT_EQ(j.at("code"), "truncated_parameter");
  EXPECT_EQ(j.at("offset"), 12);
  EXPECT_EQ(j.at("message"),
            "truncated parameter at byte 12: Pool Handle Length 15 runs past the message");
  e.cause.reset();
  EXPECT_EQ(w::receiver_reaction(e), "a receiver discards the message silently");
  EXPECT_FALSE(w::to_json(w::describe(e)).contains("cause"));
}

TEST(Describe, Names) {
  EXPECT_EQ(w::message_type_name(w::Protocol::asap, 0x0a), "ASAP_SERVER_ANNOUNCE");
  EXPECT_EQ(w::message_type_name(w::Protocol::enrp, 0x0a), "ENRP_ERROR");
  EXPECT_EQ(w::message_type_name(w::Protocol::asap, 0x0f), "");
  EXPECT_EQ(w::parameter_name(0x803f), "Handle Resolution Option");
  EXPECT_EQ(w::cause_name(w::CauseCode::rejection_due_to_security),
            "Rejection due to security considerations");
  EXPECT_EQ(w::hex_id(0x1234abcd), "0x1234abcd");
  EXPECT_EQ(w::show_handle("EchoPool"), "EchoPool");
  EXPECT_DOUBLE_EQ(w::percent(w::kFractionOne), 100.0);
}

}  // namespace
