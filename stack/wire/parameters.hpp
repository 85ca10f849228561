// Typed RFC 5354 parameters: addresses, transports, pool policies, pool elements,
// server information, operation errors. Plain structs with value semantics.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/wire/constants.hpp"

namespace rserpool::wire {

using Bytes = std::vector<std::uint8_t>;

// An IPv4 (0x0001) or IPv6 (0x0002) address parameter.
struct Address {
  enum class Family : std::uint8_t { v4, v6 };
  Family family = Family::v4;
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4

  static Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  static Address v6(const std::array<std::uint8_t, 16>& b);
  // Parses dotted-quad or IPv6 text; nullopt when it is neither.
  static std::optional<Address> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Address&) const = default;
};

enum class TransportKind : std::uint8_t {  // the parameter type, 0x0003–0x0007
  dccp = 0x03,
  sctp = 0x04,
  tcp = 0x05,
  udp = 0x06,
  udp_lite = 0x07,
};

// A transport parameter (0x0003–0x0007). SCTP carries 1..n addresses (multi-homing);
// the others exactly one. `use` is the Transport Use of SCTP and TCP (a reserved zero
// field elsewhere); `service_code` exists on DCCP only.
struct Transport {
  TransportKind kind = TransportKind::sctp;
  TransportUse use = TransportUse::data_only;
  std::uint16_t port = 0;
  std::uint32_t service_code = 0;
  std::vector<Address> addresses;
  bool operator==(const Transport&) const = default;
};

// Pool Member Selection Policy (0x0008). One struct for all 16 policies: `type` says
// which of the fields are on the wire and in which order (see policy_info()).
struct Policy {
  PolicyType type = PolicyType::round_robin;
  std::uint32_t weight = 0;
  std::uint32_t priority = 0;
  std::uint32_t load = 0;              // fraction of kFractionOne
  std::uint32_t load_degradation = 0;  // fraction of kFractionOne
  std::uint32_t load_dpf = 0;          // fraction of kFractionOne
  std::uint32_t weight_dpf = 0;        // fraction of kFractionOne
  std::uint32_t distance = 0;          // ms
  bool operator==(const Policy&) const = default;
};

enum class PolicyField : std::uint8_t {
  weight, priority, load, load_degradation, load_dpf, weight_dpf, distance
};

struct PolicyInfo {
  PolicyType type;
  std::string_view name;        // RFC 5356 / RSPLIB name
  std::string_view short_name;  // rr, wrr, random, wrand, priority, lu, lud, plu, rlu, ...
  std::uint8_t field_count;
  std::array<PolicyField, 4> fields;  // wire order after the type word
  std::uint8_t min_decode_fields;     // fewer words than this is malformed
  // Selects by load (a Load word: RFC 5356's LU family and RSPLIB's randomized and DPF
  // variants): its PEs re-register at once when their load changes. Not only the RFC's
  // 0x40000000 range: LU-DPF (0xb0002002) without fresh loads would pick by distance alone.
  bool adaptive() const {
    for (std::uint8_t i = 0; i < field_count && i < fields.size(); ++i)
      if (fields[i] == PolicyField::load) return true;
    return false;
  }
};

// nullptr for a type this codec does not know.
const PolicyInfo* policy_info(PolicyType type);
const PolicyInfo* policy_by_short_name(std::string_view short_name);
std::string_view field_name(PolicyField f);
// All 16, in code order.
const std::vector<PolicyInfo>& all_policies();
std::uint32_t policy_field(const Policy& p, PolicyField f);
void set_policy_field(Policy& p, PolicyField f, std::uint32_t value);

// Pool Element (0x000a).
struct PoolElement {
  std::uint32_t identifier = 0;
  std::uint32_t home_server = 0;          // 0: none yet
  std::int32_t registration_life = 0;     // ms
  Transport user_transport;
  Policy policy;
  std::optional<Transport> asap_transport;  // added by a PR in ENRP and table entries
  bool operator==(const PoolElement&) const = default;
};

// Server Information (0x000b).
struct ServerInformation {
  std::uint32_t server_id = 0;
  Transport transport;
  bool operator==(const ServerInformation&) const = default;
};

// One cause inside an Operation Error (0x000c); `info` is the raw cause information
// (an offending parameter or message, or nothing).
struct ErrorCause {
  CauseCode code = CauseCode::invalid_values;
  Bytes info;
  bool operator==(const ErrorCause&) const = default;
};

struct OperationError {
  std::vector<ErrorCause> causes;  // 1..n
  bool operator==(const OperationError&) const = default;
};

// Pool Handle (0x0009): opaque bytes, at least one.
using PoolHandle = std::string;

// Whether a handle is shown as text (printable ASCII) or as hex.
bool printable(std::string_view handle);

}  // namespace rserpool::wire
