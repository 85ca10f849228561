// ASAP/ENRP codec tests: golden bytes (decode, encode, round trip, every truncation),
// unknown-parameter action bits, padding, policies, and malformed input.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "tests/wire/golden.hpp"
#include "tests/wire/test_util.hpp"

namespace {

using namespace wire_test;  // NOLINT
using w::CauseCode;
using w::Errc;
using w::Protocol;
namespace asap = w::asap;
namespace enrp = w::enrp;

const w::testing::GoldenVector& vec(std::size_t i) { return w::testing::golden_vectors()[i]; }

bool valid_errc(Errc e) {
  const int v = static_cast<int>(e);
  return v >= static_cast<int>(Errc::truncated_message) && v <= static_cast<int>(Errc::trailing_bytes);
}

// What every failed decode must satisfy, whatever the input: a real error code, the
// offending bytes inside the buffer, and an error reply whose cause information is a
// slice of the buffer.
::testing::AssertionResult sane_error(const w::DecodeError& e, std::span<const std::uint8_t> b) {
  if (!valid_errc(e.code))
    return ::testing::AssertionFailure() << "error code " << static_cast<int>(e.code);
  if (e.offset > b.size() || e.length > b.size() - e.offset)
    return ::testing::AssertionFailure() << "error at [" << e.offset << ", +" << e.length
                                         << ") outside the " << b.size() << "-byte buffer";
  const std::string text = e.message();
  if (text.find("at byte " + std::to_string(e.offset)) == std::string::npos)
    return ::testing::AssertionFailure() << "message() lacks the offset: " << text;
  const auto reply = w::error_reply(e, b);
  if (reply.has_value() != e.cause.has_value())
    return ::testing::AssertionFailure() << "error_reply disagrees with cause";
  if (reply) {
    if (reply->causes.size() != 1 || reply->causes[0].code != *e.cause)
      return ::testing::AssertionFailure() << "error_reply does not carry the cause";
    if (reply->causes[0].info.size() > b.size())
      return ::testing::AssertionFailure() << "error_reply info larger than the input";
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------
// The golden vectors themselves.
// ---------------------------------------------------------------------------------

TEST(GoldenVectors, CoverEveryMessageTypeOfBothProtocols) {
  std::set<int> asap_types, enrp_types;
  for (const auto& v : w::testing::golden_vectors()) {
    if (v.protocol == Protocol::asap)
      asap_types.insert(static_cast<int>(asap::type_of(std::get<0>(v.expected))));
    else
      enrp_types.insert(static_cast<int>(enrp::type_of(std::get<1>(v.expected))));
  }
  for (int t = 0x01; t <= 0x0e; ++t) EXPECT_TRUE(asap_types.count(t)) << "ASAP type " << t;
  for (int t = 0x01; t <= 0x0a; ++t) EXPECT_TRUE(enrp_types.count(t)) << "ENRP type " << t;
}

TEST(GoldenVectors, CoverEveryPolicyAndTransportKind) {
  std::set<w::PolicyType> policies;
  std::set<w::TransportKind> transports;
  bool ipv6 = false, multihomed = false;
  auto see_transport = [&](const w::Transport& t) {
    transports.insert(t.kind);
    multihomed |= t.addresses.size() > 1;
    for (const auto& a : t.addresses) ipv6 |= a.family == w::Address::Family::v6;
  };
  auto see_pe = [&](const w::PoolElement& pe) {
    policies.insert(pe.policy.type);
    see_transport(pe.user_transport);
    if (pe.asap_transport) see_transport(*pe.asap_transport);
  };
  for (const auto& v : w::testing::golden_vectors()) {
    if (const auto* m = std::get_if<0>(&v.expected)) {
      if (const auto* r = std::get_if<asap::Registration>(m)) see_pe(r->pool_element);
      if (const auto* r = std::get_if<asap::HandleResolutionResponse>(m))
        for (const auto& pe : r->pool_elements) see_pe(pe);
      if (const auto* r = std::get_if<asap::BusinessCard>(m))
        for (const auto& pe : r->pool_elements) see_pe(pe);
    } else if (const auto* m = std::get_if<1>(&v.expected)) {
      if (const auto* r = std::get_if<enrp::HandleUpdate>(m)) see_pe(r->pool_element);
      if (const auto* r = std::get_if<enrp::HandleTableResponse>(m))
        for (const auto& pool : r->pools)
          for (const auto& pe : pool.pool_elements) see_pe(pe);
    }
  }
  for (const auto& p : w::all_policies())
    EXPECT_TRUE(policies.count(p.type)) << "no golden vector with policy " << p.name;
  EXPECT_EQ(policies.size(), 16u);
  EXPECT_EQ(transports.size(), 5u);
  EXPECT_TRUE(ipv6);
  EXPECT_TRUE(multihomed);
}

TEST(GoldenVectors, FromHexIgnoresWhitespace) {
  EXPECT_EQ(w::testing::from_hex(" 0a 0B\n\tff00 "), (Bytes{0x0a, 0x0b, 0xff, 0x00}));
  EXPECT_TRUE(w::testing::from_hex("").empty());
}

class GoldenTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  const w::testing::GoldenVector& v() const { return vec(GetParam()); }
  Bytes bytes() const { return w::testing::from_hex(v().hex); }
  AnyMessage expected() const {
    return std::visit([](const auto& m) { return AnyMessage(m); }, v().expected);
  }
};

TEST_P(GoldenTest, IsOneWholeMessage) {
  const Bytes b = bytes();
  ASSERT_GE(b.size(), 4u);
  EXPECT_EQ(b.size() % 4, 0u);
  EXPECT_EQ(std::size_t{b[2]} << 8 | b[3], b.size()) << "Message Length";
  const int type = v().protocol == Protocol::asap
                       ? static_cast<int>(asap::type_of(std::get<0>(v().expected)))
                       : static_cast<int>(enrp::type_of(std::get<1>(v().expected)));
  EXPECT_EQ(b[0], type) << "message type byte";
}

TEST_P(GoldenTest, DecodesToExpected) {
  const Bytes b = bytes();
  const auto r = decode_any(v().protocol, b);
  ASSERT_TRUE(r.ok) << r.error.message();
  EXPECT_TRUE(r.message == expected())
      << "decoded message re-encodes as\n  " << to_hex(encode_any(r.message))
      << "\nexpected\n  " << to_hex(b);
  EXPECT_TRUE(r.unrecognized.empty());
}

TEST_P(GoldenTest, EncodesToGoldenBytes) {
  const Bytes b = bytes();
  const Bytes out = encode_any(expected());
  EXPECT_EQ(to_hex(out), to_hex(b));
}

TEST_P(GoldenTest, RoundTrips) {
  const auto first = decode_any(v().protocol, bytes());
  ASSERT_TRUE(first.ok) << first.error.message();
  const Bytes again = encode_any(first.message);
  EXPECT_EQ(to_hex(again), to_hex(bytes()));
  const auto second = decode_any(v().protocol, again);
  ASSERT_TRUE(second.ok) << second.error.message();
  EXPECT_TRUE(second.message == first.message);
}

TEST_P(GoldenTest, AsTheOtherProtocolFailsCleanlyOrRoundTrips) {
  // The type codes overlap, so the same bytes may be a valid message of the other
  // protocol (same port on TCP, pitfall 5); either way the decoder stays consistent.
  const Bytes b = bytes();
  const Protocol other = v().protocol == Protocol::asap ? Protocol::enrp : Protocol::asap;
  const auto r = decode_any(other, b);
  if (!r.ok) {
    EXPECT_TRUE(sane_error(r.error, b));
  } else {
    const auto again = decode_any(other, encode_any(r.message));
    ASSERT_TRUE(again.ok) << again.error.message();
    EXPECT_TRUE(again.message == r.message);
  }
}

TEST_P(GoldenTest, EveryTruncationIsRejected) {
  const Bytes full = bytes();
  for (std::size_t k = 0; k < full.size(); ++k) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(k));
    const auto r = decode_any(v().protocol, prefix);
    ASSERT_FALSE(r.ok) << "prefix of " << k << " bytes decoded";
    EXPECT_TRUE(r.error.code == Errc::truncated_message || r.error.code == Errc::bad_message_length)
        << "prefix " << k << ": " << r.error.message();
    EXPECT_TRUE(sane_error(r.error, prefix)) << "prefix " << k;
  }
}

TEST_P(GoldenTest, EveryTruncationWithPatchedLengthIsRejected) {
  // With the Message Length patched to the prefix, a prefix may only decode if it is
  // itself a whole canonical message (a cut between parameters of a message whose tail
  // is optional or repeated); anything else, a cut inside a parameter or its pad above
  // all, must fail with an error that names bytes inside the prefix.
  const Bytes full = bytes();
  for (std::size_t k = 0; k < full.size(); ++k) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(k));
    if (k >= 4) set16(prefix, 2, static_cast<std::uint16_t>(k));
    const auto r = decode_any(v().protocol, prefix);
    if (r.ok) {
      EXPECT_EQ(to_hex(encode_any(r.message)), to_hex(prefix))
          << "prefix of " << k << " bytes (Length patched) decoded but is not a whole message";
      EXPECT_FALSE(r.message == expected()) << "prefix " << k;
    } else {
      EXPECT_TRUE(sane_error(r.error, prefix)) << "prefix " << k << ": " << r.error.message();
    }
  }
}

TEST(GoldenVectors, EncodeAppendsAfterExistingBytes) {
  // encode(m, out) appends one message: padding is relative to the message, not to
  // whatever `out` already holds (e.g. a stream buffer with 2 bytes of something else).
  for (const Bytes& prefix : {Bytes{}, Bytes{0xaa, 0xbb}, Bytes{0xaa, 0xbb, 0xcc, 0xdd}}) {
    for (const auto& v : w::testing::golden_vectors()) {
      SCOPED_TRACE(std::string(v.name) + " after " + std::to_string(prefix.size()) + " bytes");
      Bytes out = prefix;
      const bool ok = std::visit([&](const auto& m) { return w::encode(m, out); }, v.expected);
      ASSERT_TRUE(ok);
      ASSERT_EQ(to_hex(out), to_hex(cat({prefix, w::testing::from_hex(v.hex)})));
    }
  }
}

// Every PE of the golden vectors: every policy, every transport kind, IPv6, multihoming,
// ASAP transports.
std::vector<w::PoolElement> golden_pool_elements() {
  std::vector<w::PoolElement> out;
  const auto add = [&](const std::vector<w::PoolElement>& pes) {
    out.insert(out.end(), pes.begin(), pes.end());
  };
  for (const auto& v : w::testing::golden_vectors()) {
    if (const auto* m = std::get_if<0>(&v.expected)) {
      if (const auto* r = std::get_if<asap::Registration>(m)) out.push_back(r->pool_element);
      if (const auto* r = std::get_if<asap::HandleResolutionResponse>(m)) add(r->pool_elements);
      if (const auto* r = std::get_if<asap::BusinessCard>(m)) add(r->pool_elements);
    } else if (const auto* m = std::get_if<1>(&v.expected)) {
      if (const auto* r = std::get_if<enrp::HandleUpdate>(m)) out.push_back(r->pool_element);
      if (const auto* r = std::get_if<enrp::HandleTableResponse>(m))
        for (const auto& pool : r->pools) add(pool.pool_elements);
    }
  }
  return out;
}

// encode_resolution() against encode() of the message holding copies of the PEs, their
// ASAP transports taken out (as the registrar's answer had them before it encoded from
// the handlespace): the same bytes, appended after what `out` holds.
Bytes resolution_by_copies(const w::PoolHandle& handle, const w::Policy& policy,
                           const std::vector<const w::PoolElement*>& pes) {
  asap::HandleResolutionResponse r;
  r.pool_handle = handle;
  r.overall_policy = policy;
  for (const auto* pe : pes) {
    r.pool_elements.push_back(*pe);
    r.pool_elements.back().asap_transport.reset();
  }
  return w::encode(asap::Message{r});
}

TEST(EncodeResolution, GoldenAnswerFromPointersToItsPes) {
  const auto& v = golden("asap_handle_resolution_response_two_pes");
  const auto& m = std::get<asap::HandleResolutionResponse>(std::get<0>(v.expected));
  // As a registrar keeps them: with an ASAP transport, which the answer leaves out.
  std::vector<w::PoolElement> kept = m.pool_elements;
  for (auto& pe : kept) pe.asap_transport = pe.user_transport;
  const std::vector<const w::PoolElement*> pes{&kept[0], &kept[1]};
  Bytes out;
  ASSERT_TRUE(w::encode_resolution(m.pool_handle, *m.overall_policy, pes, out));
  EXPECT_EQ(to_hex(out), to_hex(w::testing::from_hex(v.hex)));
}

TEST(EncodeResolution, EveryGoldenPeAsEncodeWithCopies) {
  const auto all = golden_pool_elements();
  ASSERT_GE(all.size(), 20u);
  for (const auto& info : w::all_policies()) {
    SCOPED_TRACE(std::string(info.name));
    w::Policy overall;
    overall.type = info.type;
    // Windows of 0 to 5 PEs over the list, at every start, after 0, 2 or 4 other bytes.
    for (std::size_t n = 0; n <= 5; ++n) {
      for (std::size_t at = 0; at + n <= all.size(); ++at) {
        std::vector<const w::PoolElement*> pes;
        for (std::size_t i = at; i < at + n; ++i) pes.push_back(&all[i]);
        const Bytes prefix(at % 3 * 2, 0xee);
        Bytes out = prefix;
        ASSERT_TRUE(w::encode_resolution("pool-" + std::to_string(at), overall, pes, out));
        ASSERT_EQ(to_hex(out),
                  to_hex(cat({prefix, resolution_by_copies("pool-" + std::to_string(at),
                                                           overall, pes)})))
            << n << " PEs from " << at;
      }
    }
  }
}

TEST(EncodeResolution, TooLargeOrUnencodableLeavesOutUnchanged) {
  const auto all = golden_pool_elements();
  std::vector<const w::PoolElement*> pes;
  for (std::size_t i = 0; pes.size() < 2000; i = (i + 1) % all.size()) pes.push_back(&all[i]);
  Bytes out{1, 2, 3};
  EXPECT_FALSE(w::encode_resolution("big", w::Policy{}, pes, out));
  EXPECT_EQ(out, (Bytes{1, 2, 3}));
  w::Policy unknown;
  unknown.type = static_cast<w::PolicyType>(6);
  EXPECT_FALSE(w::encode_resolution("pool", unknown, {}, out));
  EXPECT_FALSE(w::encode_resolution("", w::Policy{}, {}, out));
  EXPECT_EQ(out, (Bytes{1, 2, 3}));
}

std::string golden_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return std::string(vec(info.param).name);
}

std::vector<std::size_t> golden_indices() {
  std::vector<std::size_t> out(w::testing::golden_vectors().size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::ValuesIn(golden_indices()), golden_name);

// ---------------------------------------------------------------------------------
// Unknown parameters: the two action bits, at top level and nested.
// ---------------------------------------------------------------------------------

struct Placement {
  const char* name;
  const char* golden;                 // the base message
  std::size_t insert_at;              // where the unknown TLV goes
  std::vector<std::size_t> lengths;   // Length fields (besides Message Length) that grow
};

// Offsets in asap_deregistration: 0 header, 4 Pool Handle (12), 16 PE Identifier (8).
// In asap_registration_sctp_lu: 4 Pool Handle, 16 Pool Element (Length at 18),
// 32 SCTP Transport (Length at 34), 40 IPv4 Address, 48 Policy, 60 end.
// In enrp_presence_checksum_only: 12 PE Checksum (8 with pad), 20 end.
const Placement kPlacements[] = {
    {"top_level_end", "asap_deregistration", 24, {}},
    {"top_level_middle", "asap_deregistration", 16, {}},
    {"top_level_first", "asap_deregistration", 4, {}},
    {"enrp_top_level", "enrp_presence_checksum_only", 20, {}},
    {"enrp_after_header", "enrp_presence_checksum_only", 12, {}},
    {"in_pool_element_end", "asap_registration_sctp_lu", 60, {18}},
    {"in_pool_element_before_policy", "asap_registration_sctp_lu", 48, {18}},
    {"in_pool_element_before_transport", "asap_registration_sctp_lu", 32, {18}},
    {"in_transport_after_address", "asap_registration_sctp_lu", 48, {18, 34}},
    {"in_transport_before_address", "asap_registration_sctp_lu", 40, {18, 34}},
};

Bytes with_tlv(const Placement& p, const Bytes& tlv_bytes) {
  Bytes b = w::testing::from_hex(golden(p.golden).hex);
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(p.insert_at), tlv_bytes.begin(),
           tlv_bytes.end());
  const int grow = static_cast<int>(tlv_bytes.size());
  bump16(b, 2, grow);
  for (auto at : p.lengths) bump16(b, at, grow);
  return b;
}

class UnknownParameterTest
    : public ::testing::TestWithParam<std::tuple<std::size_t, bool>> {
 protected:
  const Placement& placement() const { return kPlacements[std::get<0>(GetParam())]; }
  // The unknown TLV without its pad (what a report carries) and padded (what is sent).
  Bytes tlv_value() const {
    return std::get<1>(GetParam()) ? hex("de ad be ef") : hex("99 88 77 66 55");
  }
  Bytes unpadded(std::uint16_t type) const {
    const Bytes value = tlv_value();
    return cat({u16(type), u16(static_cast<std::uint16_t>(4 + value.size())), value});
  }
  Bytes input(std::uint16_t type) const { return with_tlv(placement(), tlv(type, tlv_value())); }
  const w::testing::GoldenVector& base() const { return golden(placement().golden); }
  AnyMessage base_message() const {
    return std::visit([](const auto& m) { return AnyMessage(m); }, base().expected);
  }
};

TEST_P(UnknownParameterTest, Action00StopsSilently) {
  const Bytes b = input(0x0030);
  const auto r = decode_any(base().protocol, b);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, Errc::unrecognized_parameter) << r.error.message();
  EXPECT_FALSE(r.error.cause.has_value());
  EXPECT_FALSE(w::error_reply(r.error, b).has_value());
  EXPECT_EQ(r.error.offset, placement().insert_at);
  EXPECT_TRUE(sane_error(r.error, b));
}

TEST_P(UnknownParameterTest, Action01StopsAndReports) {
  const Bytes b = input(0x4030);
  const auto r = decode_any(base().protocol, b);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, Errc::unrecognized_parameter) << r.error.message();
  EXPECT_EQ(r.error.cause, CauseCode::unrecognized_parameter);
  EXPECT_EQ(r.error.offset, placement().insert_at);
  const auto reply = w::error_reply(r.error, b);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->causes.size(), 1u);
  EXPECT_EQ(reply->causes[0].code, CauseCode::unrecognized_parameter);
  EXPECT_EQ(to_hex(reply->causes[0].info), to_hex(unpadded(0x4030)));
}

TEST_P(UnknownParameterTest, Action10IsSkipped) {
  const Bytes b = input(0x8030);
  const auto r = decode_any(base().protocol, b);
  ASSERT_TRUE(r.ok) << r.error.message();
  EXPECT_TRUE(r.message == base_message());
  EXPECT_TRUE(r.unrecognized.empty());
}

TEST_P(UnknownParameterTest, Action11IsSkippedAndReported) {
  const Bytes b = input(0xc030);
  const auto r = decode_any(base().protocol, b);
  ASSERT_TRUE(r.ok) << r.error.message();
  EXPECT_TRUE(r.message == base_message());
  ASSERT_EQ(r.unrecognized.size(), 1u);
  EXPECT_EQ(to_hex(r.unrecognized[0]), to_hex(unpadded(0xc030)));
}

TEST_P(UnknownParameterTest, ZeroLengthUnknownIsRejected) {
  // A skippable type with Length 0 must not loop forever or be skipped as 0 bytes.
  for (std::uint16_t type : {0x0030, 0x4030, 0x8030, 0xc030}) {
    for (std::uint16_t len : {0, 1, 2, 3}) {
      const Bytes bad = cat({u16(type), u16(len)});
      const Bytes b = with_tlv(placement(), bad);
      const auto r = decode_any(base().protocol, b);
      ASSERT_FALSE(r.ok) << "type " << type << " Length " << len;
      EXPECT_EQ(r.error.code, Errc::bad_parameter_length) << r.error.message();
      EXPECT_TRUE(sane_error(r.error, b));
    }
  }
}

std::string placement_name(
    const ::testing::TestParamInfo<std::tuple<std::size_t, bool>>& info) {
  return std::string(kPlacements[std::get<0>(info.param)].name) +
         (std::get<1>(info.param) ? "_aligned" : "_odd_length");
}

INSTANTIATE_TEST_SUITE_P(
    Placements, UnknownParameterTest,
    ::testing::Combine(::testing::Range<std::size_t>(0, std::size(kPlacements)),
                       ::testing::Bool()),
    placement_name);

TEST(UnknownParameter, SeveralSkipAndReportAreAllReportedInOrder) {
  Bytes b = w::testing::from_hex(golden("asap_deregistration").hex);
  const Bytes first = tlv(0xc031, hex("01"));
  const Bytes second = tlv(0xffff, hex("02 03 04 05 06 07"));
  const Bytes skipped = tlv(0x8032, {});
  b.insert(b.begin() + 16, first.begin(), first.end());
  b.insert(b.end(), skipped.begin(), skipped.end());
  b.insert(b.end(), second.begin(), second.end());
  bump16(b, 2, static_cast<int>(first.size() + second.size() + skipped.size()));
  const auto r = w::decode_asap(b);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->message == std::get<0>(golden("asap_deregistration").expected));
  ASSERT_EQ(r->unrecognized.size(), 2u);
  EXPECT_EQ(to_hex(r->unrecognized[0]), "c0 31 00 05  01");
  EXPECT_EQ(to_hex(r->unrecognized[1]), "ff ff 00 0a  02 03 04 05  06 07");
}

TEST(UnknownParameter, HandleResolutionOptionIsKnownNotSkipped) {
  // 0x803f has the "skip" bits but is a parameter this codec knows: it is decoded.
  const auto r = w::decode_asap(w::testing::from_hex(golden("asap_handle_resolution_option_all").hex));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->unrecognized.empty());
  EXPECT_EQ(std::get<asap::HandleResolution>(r->message).items, w::kAllItems);
}

// ---------------------------------------------------------------------------------
// Padding: own pads excluded from a Length, nested pads included.
// ---------------------------------------------------------------------------------

TEST(Padding, PoolHandleLengths1To8) {
  const std::string letters = "ABCDEFGH";
  for (std::size_t n = 1; n <= 8; ++n) {
    const std::string handle = letters.substr(0, n);
    SCOPED_TRACE("handle length " + std::to_string(n));

    // Deregistration: the handle is followed by the PE Identifier.
    const Bytes dereg = message(0x02, 0, cat({tlv(0x0009, text(handle)),
                                              tlv(0x000e, u32(0x01020304))}));
    EXPECT_EQ(dereg.size(), 4 + pad4(4 + n) + 8);
    const auto r = w::decode_asap(dereg);
    ASSERT_TRUE(r.ok()) << r.error().message();
    asap::Deregistration want;
    want.pool_handle = handle;
    want.pe_identifier = 0x01020304;
    EXPECT_TRUE(r->message == asap::Message(want));
    EXPECT_EQ(to_hex(w::encode(asap::Message(want))), to_hex(dereg));

    // Keep-alive: bare Server ID, the handle, then the optional PE Identifier.
    const Bytes keep = message(0x07, 0x01, cat({u32(7), tlv(0x0009, text(handle)),
                                                tlv(0x000e, u32(9))}));
    const auto k = w::decode_asap(keep);
    ASSERT_TRUE(k.ok()) << k.error().message();
    asap::EndpointKeepAlive ka;
    ka.home = true;
    ka.server_id = 7;
    ka.pool_handle = handle;
    ka.pe_identifier = 9;
    EXPECT_TRUE(k->message == asap::Message(ka));
    EXPECT_EQ(to_hex(w::encode(asap::Message(ka))), to_hex(keep));

    // ENRP handle table response: handle, then a Pool Element (and its nested TLVs).
    const auto& golden_pe = std::get<enrp::HandleUpdate>(
        std::get<1>(golden("enrp_handle_update_takeover_del_pe").expected));
    const Bytes gb = w::testing::from_hex(golden("enrp_handle_update_takeover_del_pe").hex);
    const Bytes pe_tlv(gb.begin() + 28, gb.end());  // the Pool Element, 60 bytes
    const Bytes table = cat({{0x03, 0x00}, u16(0), u32(1), u32(2), tlv(0x0009, text(handle)),
                             pe_tlv});
    Bytes t = table;
    set16(t, 2, static_cast<std::uint16_t>(t.size()));
    enrp::HandleTableResponse htr;
    htr.sender = 1;
    htr.receiver = 2;
    htr.pools.push_back({handle, {golden_pe.pool_element}});
    const auto tr = w::decode_enrp(t);
    ASSERT_TRUE(tr.ok()) << tr.error().message();
    EXPECT_TRUE(tr->message == enrp::Message(htr));
    EXPECT_EQ(to_hex(w::encode(enrp::Message(htr))), to_hex(t));
  }
}

TEST(Padding, CookieLengths0To9) {
  for (std::size_t n = 0; n <= 9; ++n) {
    SCOPED_TRACE("cookie length " + std::to_string(n));
    Bytes cookie(n);
    for (std::size_t i = 0; i < n; ++i) cookie[i] = static_cast<std::uint8_t>(0xa0 + i);
    for (std::uint8_t type : {0x0b, 0x0c}) {
      const Bytes b = message(type, 0, tlv(0x000d, cookie));
      EXPECT_EQ(b.size(), 8 + pad4(n));
      const auto r = w::decode_asap(b);
      ASSERT_TRUE(r.ok()) << r.error().message();
      asap::Message want;
      if (type == 0x0b) want = asap::Cookie{cookie};
      else want = asap::CookieEcho{cookie};
      EXPECT_TRUE(r->message == want);
      EXPECT_EQ(to_hex(w::encode(want)), to_hex(b));
    }
  }
}

TEST(Padding, ErrorCauseInfoLengths0To9CountInTheOperationError) {
  for (std::size_t n = 0; n <= 9; ++n) {
    SCOPED_TRACE("cause info length " + std::to_string(n));
    Bytes info(n);
    for (std::size_t i = 0; i < n; ++i) info[i] = static_cast<std::uint8_t>(0x40 + i);
    // The odd cause comes first, so its pad sits inside the Operation Error.
    const Bytes op = tlv(0x000c, cat({tlv(0x0003, info), tlv(0x0006, {})}));
    EXPECT_EQ(std::size_t{op[2]} << 8 | op[3], 4 + pad4(4 + n) + 4);
    const Bytes b = message(0x0e, 0, op);
    const auto r = w::decode_asap(b);
    ASSERT_TRUE(r.ok()) << r.error().message();
    asap::Error want;
    want.error.causes = {{CauseCode::invalid_values, info}, {CauseCode::lack_of_resources, {}}};
    EXPECT_TRUE(r->message == asap::Message(want));
    EXPECT_EQ(to_hex(w::encode(asap::Message(want))), to_hex(b));
  }
}

TEST(Padding, SkippedUnknownOfEveryLengthInsideAPoolElement) {
  // An unknown "skip" TLV between transport and policy: the PE Length counts its pad;
  // a decoder that forgot the pad would read the policy at the wrong offset.
  const auto& g = golden("asap_registration_sctp_lu");
  for (std::size_t n = 0; n <= 9; ++n) {
    SCOPED_TRACE("unknown value length " + std::to_string(n));
    const Bytes value(n, 0xee);
    const Placement p{"", "asap_registration_sctp_lu", 48, {18}};
    const Bytes b = with_tlv(p, tlv(0x8077, value));
    const auto r = w::decode_asap(b);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->message == std::get<0>(g.expected));
  }
}

TEST(Padding, PeChecksumHasLength6AndTwoPadBytes) {
  enrp::Presence p;
  p.sender = 1;
  p.pe_checksum = 0xd44f;
  EXPECT_EQ(to_hex(w::encode(enrp::Message(p))),
            "01 00 00 14  00 00 00 01  00 00 00 00  00 0f 00 06  d4 4f 00 00");
}

// ---------------------------------------------------------------------------------
// Policies.
// ---------------------------------------------------------------------------------

// asap_registration_sctp_lu with its 12-byte policy (at 48) replaced by `policy_tlv`.
Bytes registration_with_policy(const Bytes& policy_tlv) {
  const Bytes g = w::testing::from_hex(golden("asap_registration_sctp_lu").hex);
  Bytes b(g.begin(), g.begin() + 48);
  b.insert(b.end(), policy_tlv.begin(), policy_tlv.end());
  const int delta = static_cast<int>(policy_tlv.size()) - 12;
  bump16(b, 2, delta);
  bump16(b, 18, delta);
  return b;
}

TEST(Policy, PluWithLoadOnlyIsAcceptedAndSentWithBothWords) {
  // RSPLIB sends PLU with the Load only (Length 12); Wireshark wants Load + Degradation.
  const Bytes rsplib = registration_with_policy(hex("00 08 00 0c  40 00 00 03  12 34 56 78"));
  const auto r = w::decode_asap(rsplib);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& pol = std::get<asap::Registration>(r->message).pool_element.policy;
  EXPECT_EQ(pol.type, w::PolicyType::priority_least_used);
  EXPECT_EQ(pol.load, 0x12345678u);
  EXPECT_EQ(pol.load_degradation, 0u);
  const Bytes sent = registration_with_policy(
      hex("00 08 00 10  40 00 00 03  12 34 56 78  00 00 00 00"));
  EXPECT_EQ(to_hex(w::encode(r->message)), to_hex(sent));
}

TEST(Policy, PluWithoutLoadIsRejected) {
  const Bytes b = registration_with_policy(hex("00 08 00 08  40 00 00 03"));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
  EXPECT_EQ(r.error().offset, 48u);
}

TEST(Policy, TooFewWordsAreRejectedForEveryPolicy) {
  for (const auto& info : w::all_policies()) {
    if (info.min_decode_fields == 0) continue;
    SCOPED_TRACE(std::string(info.name));
    Bytes value = u32(static_cast<std::uint32_t>(info.type));
    for (int i = 0; i + 1 < info.min_decode_fields; ++i) value = cat({value, u32(1)});
    const Bytes b = registration_with_policy(tlv(0x0008, value));
    const auto r = w::decode_asap(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().offset, 48u);
    EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

// Adaptive: selects by load, so a PE re-registers when its load changes (behaviour.md) —
// RSPLIB's randomized and DPF variants of Least Used too, not only RFC 5356's 0x4000000x.
TEST(Policy, AdaptiveAreThePoliciesWithALoadWord) {
  std::vector<std::string> adaptive;
  for (const auto& info : w::all_policies())
    if (info.adaptive()) adaptive.emplace_back(info.short_name);
  EXPECT_EQ(adaptive, (std::vector<std::string>{"lu", "lud", "plu", "rlu", "rplu", "rlud",
                                                "plud", "rplud", "lu-dpf", "lud-dpf"}));
}

TEST(Policy, ExtraWordsAreSkipped) {
  // RSPLIB and Wireshark accept trailing words; the re-encoding drops them.
  const Bytes b = registration_with_policy(hex("00 08 00 0c  00 00 00 01  ff ff ff ff"));
  const auto r = w::decode_asap(b);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& pol = std::get<asap::Registration>(r->message).pool_element.policy;
  EXPECT_TRUE(pol == w::Policy{});  // Round Robin, no fields
  EXPECT_EQ(w::encode(r->message).size(), b.size() - 4);
}

TEST(Policy, EveryPolicyRoundTripsWithItsFieldsInWireOrder) {
  for (const auto& info : w::all_policies()) {
    SCOPED_TRACE(std::string(info.name));
    w::Policy p;
    p.type = info.type;
    Bytes value = u32(static_cast<std::uint32_t>(info.type));
    for (std::size_t i = 0; i < info.field_count; ++i) {
      const std::uint32_t x = 0x01010101u * static_cast<std::uint32_t>(i + 1);
      w::set_policy_field(p, info.fields[i], x);
      value = cat({value, u32(x)});
    }
    const Bytes b = registration_with_policy(tlv(0x0008, value));
    const auto r = w::decode_asap(b);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(std::get<asap::Registration>(r->message).pool_element.policy == p);
    EXPECT_EQ(to_hex(w::encode(r->message)), to_hex(b));
  }
}

TEST(Policy, UnknownPolicyTypeIsRejected) {
  for (std::uint32_t type : {0x00000000u, 0x00000006u, 0x40000000u, 0x40000005u, 0xb0001005u,
                             0xb0002004u, 0xffffffffu}) {
    SCOPED_TRACE(type);
    const Bytes b = registration_with_policy(tlv(0x0008, cat({u32(type), u32(0), u32(0)})));
    const auto r = w::decode_asap(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_value);
    EXPECT_EQ(r.error().offset, 48u);
    EXPECT_TRUE(r.error().cause.has_value());
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

TEST(Policy, EncoderRefusesAnUnknownPolicyType) {
  auto m = std::get<0>(golden("asap_registration_sctp_lu").expected);
  std::get<asap::Registration>(m).pool_element.policy.type = static_cast<w::PolicyType>(6);
  Bytes out = {1, 2, 3};
  EXPECT_FALSE(w::encode(m, out));
  EXPECT_EQ(out, (Bytes{1, 2, 3}));
}

// ---------------------------------------------------------------------------------
// Malformed messages.
// ---------------------------------------------------------------------------------

void expect_invalid_values_at(const Bytes& b, std::size_t offset, std::size_t length,
                              Protocol p = Protocol::asap) {
  const auto r = decode_any(p, b);
  ASSERT_FALSE(r.ok) << to_hex(b);
  EXPECT_EQ(r.error.cause, CauseCode::invalid_values) << r.error.message();
  EXPECT_EQ(r.error.offset, offset) << r.error.message();
  EXPECT_TRUE(sane_error(r.error, b));
  const auto reply = w::error_reply(r.error, b);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->causes.size(), 1u);
  EXPECT_EQ(reply->causes[0].code, CauseCode::invalid_values);
  // The cause information is the offending parameter.
  EXPECT_EQ(to_hex(reply->causes[0].info),
            to_hex(std::span<const std::uint8_t>(b).subspan(offset, length)));
}

TEST(Malformed, UnknownMessageTypeIsAnsweredWithTheWholeMessage) {
  struct Case {
    Protocol p;
    std::uint8_t type;
  };
  for (const auto& c : {Case{Protocol::asap, 0x00}, Case{Protocol::asap, 0x0f},
                        Case{Protocol::asap, 0xff}, Case{Protocol::enrp, 0x00},
                        Case{Protocol::enrp, 0x0b}, Case{Protocol::enrp, 0xff}}) {
    SCOPED_TRACE(static_cast<int>(c.type));
    const Bytes b = message(c.type, 0x5a, hex("11 11 11 11  22 22 22 22  00 09 00 05  41 00 00 00"));
    const auto r = decode_any(c.p, b);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error.code, Errc::unknown_message_type);
    EXPECT_EQ(r.error.cause, CauseCode::unrecognized_message);
    const auto reply = w::error_reply(r.error, b);
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(reply->causes.size(), 1u);
    EXPECT_EQ(reply->causes[0].code, CauseCode::unrecognized_message);
    EXPECT_EQ(to_hex(reply->causes[0].info), to_hex(b));
  }
}

TEST(Malformed, ErrorReplyIsAnEncodableAsapError) {
  // The reply to an unknown message, sent back as an ASAP_ERROR, decodes to the same cause.
  const Bytes b = message(0x0f, 0, hex("de ad be ef"));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  const auto reply = w::error_reply(r.error(), b);
  ASSERT_TRUE(reply.has_value());
  asap::Error e;
  e.error = *reply;
  EXPECT_EQ(to_hex(w::encode(asap::Message(e))),
            to_hex(w::testing::from_hex(golden("asap_error_unrecognized_message").hex)));
}

TEST(Malformed, Ipv4AddressLengthNot8) {
  // Length 7: the last address byte becomes the pad; nothing else moves.
  Bytes b = w::testing::from_hex(golden("asap_registration_sctp_lu").hex);
  b[43] = 7;
  b[47] = 0;
  expect_invalid_values_at(b, 40, 7);

  // Length 9: one more byte and 3 pad bytes; the enclosing Lengths grow by 4.
  const Placement p{"", "asap_registration_sctp_lu", 48, {18, 34}};
  Bytes nine = with_tlv(p, hex("00 00 00 00"));
  nine[43] = 9;
  expect_invalid_values_at(nine, 40, 9);
}

TEST(Malformed, Ipv6AddressLengthNot20) {
  const Bytes g = w::testing::from_hex(golden("asap_registration_ipv6_multihomed_priority").hex);
  // The IPv6 Address TLV is at 40 (Length at 42).
  for (std::uint16_t len : {19, 21, 8}) {
    SCOPED_TRACE(len);
    Bytes b = g;
    if (len > 20) {
      const Placement p{"", "asap_registration_ipv6_multihomed_priority", 60, {18, 34}};
      b = with_tlv(p, hex("00 00 00 00"));
    }
    set16(b, 42, len);
    expect_invalid_values_at(b, 40, len);
  }
}

TEST(Malformed, PeIdentifierLengthNot8) {
  const Bytes g = w::testing::from_hex(golden("asap_deregistration").hex);
  Bytes seven = g;
  seven[19] = 7;
  seven[23] = 0;
  expect_invalid_values_at(seven, 16, 7);

  Bytes twelve = cat({g, hex("00 00 00 00")});
  twelve[19] = 12;
  bump16(twelve, 2, 4);
  expect_invalid_values_at(twelve, 16, 12);

  Bytes four = Bytes(g.begin(), g.begin() + 20);
  four[19] = 4;
  bump16(four, 2, -4);
  expect_invalid_values_at(four, 16, 4);
}

TEST(Malformed, PeChecksumLengthNot6) {
  Bytes b = w::testing::from_hex(golden("enrp_presence_checksum_only").hex);
  b[15] = 8;
  expect_invalid_values_at(b, 12, 8, Protocol::enrp);
  b[15] = 5;
  b[17] = 0;
  expect_invalid_values_at(b, 12, 5, Protocol::enrp);
}

TEST(Malformed, HandleResolutionOptionLengthNot8) {
  Bytes b = w::testing::from_hex(golden("asap_handle_resolution_option_all").hex);
  b[19] = 7;
  b[23] = 0;
  expect_invalid_values_at(b, 16, 7);
}

TEST(Malformed, PolicyLengthNotAWholeWord) {
  Bytes b = w::testing::from_hex(golden("asap_registration_sctp_lu").hex);
  b[51] = 10;  // Least Used, Length 10: half a Load word
  b[58] = 0;
  b[59] = 0;
  expect_invalid_values_at(b, 48, 10);
}

// A registration of "EchoPool" with the given user transport TLV and a Round Robin policy.
Bytes registration_with_transport(const Bytes& transport_tlv) {
  const Bytes pe = tlv(0x000a, cat({u32(1), u32(0), u32(300000), transport_tlv,
                                    tlv(0x0008, u32(1))}));
  return message(0x01, 0, cat({tlv(0x0009, text("EchoPool")), pe}));
}

TEST(Malformed, TransportAddressCounts) {
  const Bytes a1 = tlv(0x0001, hex("0a 00 00 01"));
  const Bytes a2 = tlv(0x0001, hex("0a 00 00 02"));
  const Bytes a6 = tlv(0x0002, hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"));
  const Bytes port_use = hex("00 07 00 00");
  const Bytes dccp_fixed = hex("00 07 00 00  00 00 00 2a");
  struct Case {
    const char* name;
    Bytes transport;
    bool ok;
  };
  const Case cases[] = {
      {"tcp 0 addresses", tlv(0x0005, port_use), false},
      {"tcp 1 address", tlv(0x0005, cat({port_use, a1})), true},
      {"tcp 2 addresses", tlv(0x0005, cat({port_use, a1, a2})), false},
      {"tcp 2 addresses v4+v6", tlv(0x0005, cat({port_use, a1, a6})), false},
      {"udp 0 addresses", tlv(0x0006, port_use), false},
      {"udp 2 addresses", tlv(0x0006, cat({port_use, a1, a2})), false},
      {"udp-lite 2 addresses", tlv(0x0007, cat({port_use, a1, a2})), false},
      {"dccp 0 addresses", tlv(0x0003, dccp_fixed), false},
      {"dccp 2 addresses", tlv(0x0003, cat({dccp_fixed, a1, a2})), false},
      {"sctp 0 addresses", tlv(0x0004, port_use), false},
      {"sctp 3 addresses", tlv(0x0004, cat({port_use, a1, a2, a6})), true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes b = registration_with_transport(c.transport);
    const auto r = w::decode_asap(b);
    EXPECT_EQ(r.ok(), c.ok) << (r.ok() ? std::string("decoded") : r.error().message());
    if (r.ok()) {
      EXPECT_EQ(to_hex(w::encode(r->message)), to_hex(b));
    } else {
      EXPECT_EQ(r.error().offset, 32u);  // the transport (4 + 12 + 4 + 12)
      EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
      EXPECT_TRUE(sane_error(r.error(), b));
    }
  }
}

TEST(Malformed, TransportWithoutRoomForItsFixedFields) {
  for (std::uint16_t type : {0x0003, 0x0004, 0x0005, 0x0006, 0x0007}) {
    SCOPED_TRACE(type);
    const Bytes b = registration_with_transport(tlv(type, hex("00 07")));
    const auto r = w::decode_asap(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().offset, 32u);
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

TEST(Malformed, TransportUseOutOfRange) {
  const Bytes b = registration_with_transport(
      tlv(0x0004, cat({hex("00 07 00 02"), tlv(0x0001, hex("0a 00 00 01"))})));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
}

TEST(Malformed, AddressWhereAnotherParameterIsNeeded) {
  // A transport may only hold address parameters.
  const Bytes b = registration_with_transport(
      tlv(0x0004, cat({hex("00 07 00 00"), tlv(0x000e, u32(5))})));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().cause.has_value());
  EXPECT_TRUE(sane_error(r.error(), b));
}

TEST(Malformed, MessageLengthBelowHeaderIsRejected) {
  const Bytes g = w::testing::from_hex(golden("asap_registration_sctp_lu").hex);
  for (std::uint16_t len : {0, 1, 2, 3}) {
    SCOPED_TRACE(len);
    for (std::size_t size : {std::size_t{4}, g.size()}) {
      Bytes b(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(size));
      set16(b, 2, len);
      for (Protocol p : {Protocol::asap, Protocol::enrp}) {
        const auto r = decode_any(p, b);
        ASSERT_FALSE(r.ok);
        EXPECT_EQ(r.error.code, Errc::bad_message_length) << r.error.message();
        EXPECT_TRUE(sane_error(r.error, b));
      }
    }
  }
}

TEST(Malformed, MessageLengthPastTheBufferIsRejected) {
  const Bytes g = w::testing::from_hex(golden("enrp_list_response").hex);
  for (std::size_t len : {g.size() + 1, g.size() + 4, std::size_t{0xffff}}) {
    SCOPED_TRACE(len);
    Bytes b = g;
    set16(b, 2, static_cast<std::uint16_t>(len));
    const auto r = w::decode_enrp(b);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().code == Errc::truncated_message ||
                r.error().code == Errc::bad_message_length)
        << r.error().message();
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

TEST(Malformed, ASecondMessageInTheBufferIsRejected) {
  // The decoder takes exactly one message: a framing bug must not drop the second one.
  const Bytes a = w::testing::from_hex(golden("asap_deregistration").hex);
  const Bytes b = cat({a, a});
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(sane_error(r.error(), b));
}

TEST(Malformed, ParameterLengthBelow4IsRejected) {
  const Bytes g = w::testing::from_hex(golden("asap_deregistration").hex);
  for (std::size_t at : {std::size_t{6}, std::size_t{18}}) {  // Pool Handle, PE Identifier
    for (std::uint16_t len : {0, 1, 2, 3}) {
      SCOPED_TRACE("Length at " + std::to_string(at) + " = " + std::to_string(len));
      Bytes b = g;
      set16(b, at, len);
      const auto r = w::decode_asap(b);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, Errc::bad_parameter_length) << r.error().message();
      EXPECT_EQ(r.error().offset, at - 2);
      EXPECT_TRUE(sane_error(r.error(), b));
    }
  }
}

TEST(Malformed, NestedParameterLengthBelow4IsRejected) {
  const Bytes g = w::testing::from_hex(golden("asap_registration_sctp_lu").hex);
  // Pool Element (18), SCTP Transport (34), IPv4 (42), Policy (50).
  for (std::size_t at : {18, 34, 42, 50}) {
    for (std::uint16_t len : {0, 3}) {
      SCOPED_TRACE("Length at " + std::to_string(at) + " = " + std::to_string(len));
      Bytes b = g;
      set16(b, at, len);
      const auto r = w::decode_asap(b);
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(sane_error(r.error(), b));
    }
  }
}

TEST(Malformed, ErrorCauseLengthBelow4IsRejected) {
  for (std::uint16_t len : {0, 1, 2, 3}) {
    SCOPED_TRACE(len);
    const Bytes b = message(0x0e, 0, tlv(0x000c, cat({u16(0x0006), u16(len)})));
    const auto r = w::decode_asap(b);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

TEST(Malformed, NestedLengthPastItsContainerIsRejected) {
  // The IPv6 address of the multi-homed transport claims more than the transport holds.
  Bytes b = w::testing::from_hex(golden("asap_registration_ipv6_multihomed_priority").hex);
  set16(b, 34, 28);  // SCTP Transport Length 28: ends inside the IPv4 address
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(sane_error(r.error(), b));
}

TEST(Malformed, OperationErrorWithoutCauseIsRejected) {
  const Bytes b = message(0x0e, 0, tlv(0x000c, {}));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(sane_error(r.error(), b));
}

TEST(Malformed, EmptyPoolHandleIsRejected) {
  const Bytes b = message(0x02, 0, cat({tlv(0x0009, {}), tlv(0x000e, u32(1))}));
  const auto r = w::decode_asap(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().offset, 4u);
  EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
}

TEST(Malformed, MissingMandatoryParameters) {
  const Bytes handle = tlv(0x0009, text("EchoPool"));
  const Bytes pe_id = tlv(0x000e, u32(1));
  struct Case {
    const char* name;
    Protocol p;
    Bytes b;
  };
  const Case cases[] = {
      {"registration without PE", Protocol::asap, message(0x01, 0, handle)},
      {"registration without anything", Protocol::asap, message(0x01, 0, {})},
      {"deregistration without PE id", Protocol::asap, message(0x02, 0, handle)},
      {"deregistration without handle", Protocol::asap, message(0x02, 0, pe_id)},
      {"handle resolution without handle", Protocol::asap, message(0x05, 0, {})},
      {"keep-alive without handle", Protocol::asap, message(0x07, 0, u32(1))},
      {"keep-alive without Server ID", Protocol::asap, message(0x07, 0, {})},
      {"server announce without Server ID", Protocol::asap, message(0x0a, 0, {})},
      {"cookie without cookie", Protocol::asap, message(0x0b, 0, {})},
      {"error without operation error", Protocol::asap, message(0x0e, 0, {})},
      {"presence without checksum", Protocol::enrp, message(0x01, 0, cat({u32(1), u32(2)}))},
      {"presence without receiver", Protocol::enrp, message(0x01, 0, u32(1))},
      {"init takeover without target", Protocol::enrp, message(0x07, 0, cat({u32(1), u32(2)}))},
      {"handle update without action", Protocol::enrp,
       message(0x04, 0, cat({u32(1), u32(2)}))},
      {"handle update without PE", Protocol::enrp,
       message(0x04, 0, cat({u32(1), u32(2), u32(0), handle}))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto r = decode_any(c.p, c.b);
    ASSERT_FALSE(r.ok);
    EXPECT_TRUE(sane_error(r.error, c.b));
  }
}

TEST(Malformed, ParametersOutOfOrderOrUnexpected) {
  const Bytes handle = tlv(0x0009, text("EchoPool"));
  const Bytes pe_id = tlv(0x000e, u32(1));
  struct Case {
    const char* name;
    Protocol p;
    Bytes b;
  };
  const Case cases[] = {
      {"PE id before handle", Protocol::asap, message(0x02, 0, cat({pe_id, handle}))},
      {"two PE ids", Protocol::asap, message(0x02, 0, cat({handle, pe_id, pe_id}))},
      {"cookie in a deregistration", Protocol::asap,
       message(0x02, 0, cat({handle, pe_id, tlv(0x000d, hex("01"))}))},
      {"body in a list request", Protocol::enrp, message(0x05, 0, cat({u32(1), u32(2), handle}))},
      {"body after init takeover target", Protocol::enrp,
       message(0x07, 0, cat({u32(1), u32(2), u32(3), pe_id}))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto r = decode_any(c.p, c.b);
    ASSERT_FALSE(r.ok);
    EXPECT_TRUE(sane_error(r.error, c.b));
  }
}

TEST(Malformed, UpdateActionOutOfRange) {
  Bytes b = w::testing::from_hex(golden("enrp_handle_update_takeover_del_pe").hex);
  b[13] = 2;
  const auto r = w::decode_enrp(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cause, CauseCode::invalid_values);
  EXPECT_TRUE(sane_error(r.error(), b));
}

TEST(Malformed, HandleTablePoolWithoutElementsIsRejected) {
  // PoolEntry::pool_elements is 1..n: a Pool Handle directly followed by the next
  // Pool Handle (or the end) is malformed.
  const Bytes g = w::testing::from_hex(golden("enrp_handle_table_response_more").hex);
  const Bytes empty_pool =
      cat({g, tlv(0x0009, text("Lonely"))});
  Bytes b = empty_pool;
  set16(b, 2, static_cast<std::uint16_t>(b.size()));
  const auto r = w::decode_enrp(b);
  EXPECT_FALSE(r.ok()) << "a pool without Pool Elements decoded";
  if (!r.ok()) {
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

TEST(Malformed, UnpaddedMessageWithoutItsPadIsRejected) {
  // Message Length 13 (a 5-byte cookie without its 3 pad bytes), and nothing follows:
  // RSPLIB consumes Length + pad and so rejects this; the pad is part of the message.
  const Bytes b = hex("0b 00 00 0d  00 0d 00 09  01 02 03 04  05");
  const auto r = w::decode_asap(b);
  EXPECT_FALSE(r.ok()) << "decoded a message whose final pad is missing";
  if (!r.ok()) {
    EXPECT_TRUE(sane_error(r.error(), b));
  }
}

// ---------------------------------------------------------------------------------
// Flags and fixed fields.
// ---------------------------------------------------------------------------------

TEST(Flags, HandleTableResponseRejectAndMoreTogether) {
  const Bytes b = hex("03 03 00 0c  00 00 00 01  00 00 00 02");
  const auto r = w::decode_enrp(b);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& m = std::get<enrp::HandleTableResponse>(r->message);
  EXPECT_TRUE(m.reject);
  EXPECT_TRUE(m.more);
  EXPECT_EQ(to_hex(w::encode(r->message)), to_hex(b));
}

TEST(Flags, EveryFlagBitIsItsOwnField) {
  // Flag off in the golden vector → the message with the flag on differs only there.
  struct Case {
    const char* golden;
    std::uint8_t flag;
  };
  for (const auto& c : {Case{"asap_registration_response", 0x01},
                        Case{"asap_endpoint_keep_alive", 0x01},
                        Case{"enrp_presence_checksum_only", 0x01},
                        Case{"enrp_handle_table_request", 0x01},
                        Case{"enrp_handle_update_add_pe_ipv6", 0x01}}) {
    SCOPED_TRACE(c.golden);
    const auto& g = golden(c.golden);
    Bytes b = w::testing::from_hex(g.hex);
    ASSERT_EQ(b[1], 0);
    b[1] = c.flag;
    const auto r = decode_any(g.protocol, b);
    ASSERT_TRUE(r.ok) << r.error.message();
    const AnyMessage original =
        std::visit([](const auto& m) { return AnyMessage(m); }, g.expected);
    EXPECT_FALSE(r.message == original);
    EXPECT_EQ(to_hex(encode_any(r.message)), to_hex(b));
  }
}

TEST(FixedFields, RegistrationLifeIsSigned) {
  auto m = std::get<0>(golden("asap_registration_sctp_lu").expected);
  std::get<asap::Registration>(m).pool_element.registration_life = -1;
  const Bytes b = w::encode(m);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(to_hex(std::span<const std::uint8_t>(b).subspan(28, 4)), "ff ff ff ff");
  const auto r = w::decode_asap(b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->message == m);
}

TEST(FixedFields, TypeOfMatchesTheTypeCodes) {
  EXPECT_EQ(asap::type_of(asap::Registration{}), w::AsapType::registration);
  EXPECT_EQ(asap::type_of(asap::Error{}), w::AsapType::error);
  EXPECT_EQ(asap::type_of(asap::ServerAnnounce{}), w::AsapType::server_announce);
  EXPECT_EQ(enrp::type_of(enrp::Presence{}), w::EnrpType::presence);
  EXPECT_EQ(enrp::type_of(enrp::Error{}), w::EnrpType::error);
  EXPECT_EQ(enrp::type_of(enrp::TakeoverServer{}), w::EnrpType::takeover_server);
}

// ---------------------------------------------------------------------------------
// Encoder limits.
// ---------------------------------------------------------------------------------

TEST(Encoder, LargestCookieThatFitsAndOneByteMore) {
  // Message Length is 16 bits and a multiple of 4: the largest message is 65532 bytes,
  // header 4 + Cookie header 4 + 65524 bytes.
  asap::Cookie fits;
  fits.cookie.assign(65524, 0x5a);
  Bytes out = {9, 9, 9, 9};
  ASSERT_TRUE(w::encode(asap::Message(fits), out));
  ASSERT_EQ(out.size(), 4u + 65532u);
  EXPECT_EQ(out[4 + 2], 0xff);
  EXPECT_EQ(out[4 + 3], 0xfc);
  const auto r = w::decode_asap(std::span<const std::uint8_t>(out).subspan(4));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->message == asap::Message(fits));

  asap::Cookie too_big;
  too_big.cookie.assign(65525, 0x5a);  // 65533 + 3 pad bytes
  Bytes untouched = {9, 9, 9, 9};
  EXPECT_FALSE(w::encode(asap::Message(too_big), untouched));
  EXPECT_EQ(untouched, (Bytes{9, 9, 9, 9}));
  EXPECT_TRUE(w::encode(asap::Message(too_big)).empty());
}

TEST(Encoder, HandleTableTooLargeForOneMessageIsRefused) {
  // The M bit exists because a table must be split: one message cannot exceed 65535.
  const auto& pe = std::get<enrp::HandleUpdate>(
                       std::get<1>(golden("enrp_handle_update_takeover_del_pe").expected))
                       .pool_element;
  enrp::HandleTableResponse m;
  m.pools.push_back({"EchoPool", std::vector<w::PoolElement>(1100, pe)});  // 60 bytes each
  Bytes out;
  EXPECT_FALSE(w::encode(enrp::Message(m), out));
  EXPECT_TRUE(out.empty());
  m.pools[0].pool_elements.resize(1000);
  EXPECT_TRUE(w::encode(enrp::Message(m), out));
  EXPECT_EQ(out.size(), 12u + 12u + 1000u * 60u);
}

// ---------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------

TEST(Errors, CategoryNamesEveryCode) {
  std::set<std::string> texts;
  for (int e = 1; e <= static_cast<int>(Errc::trailing_bytes); ++e) {
    const std::error_code ec = static_cast<Errc>(e);
    EXPECT_EQ(&ec.category(), &w::wire_category());
    EXPECT_TRUE(static_cast<bool>(ec));
    texts.insert(ec.message());
  }
  EXPECT_EQ(texts.size(), static_cast<std::size_t>(Errc::trailing_bytes));
}

TEST(Errors, ResultHoldsValueOrError) {
  const auto ok = w::decode_asap(w::testing::from_hex(golden("asap_cookie").hex));
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  const Bytes empty;
  const auto bad = w::decode_asap(empty);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::truncated_message);
  EXPECT_EQ(bad.error().offset, 0u);
  EXPECT_EQ(bad.error().length, 0u);
}

}  // namespace
