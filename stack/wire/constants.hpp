// Wire constants of ASAP (RFC 5352), ENRP (RFC 5353), their parameters (RFC 5354)
// and pool policies (RFC 5356 plus RSPLIB's additions). Plain data, no state.
//
// Every value here is on the wire; never renumber.
#pragma once

#include <cstdint>

namespace rserpool::wire {

// SCTP payload protocol identifiers and IANA ports.
inline constexpr std::uint32_t kPpidAsap = 11;
inline constexpr std::uint32_t kPpidEnrp = 12;
inline constexpr std::uint32_t kPpidCalcApp = 34;
inline constexpr std::uint16_t kAsapPort = 3863;
inline constexpr std::uint16_t kEnrpPort = 9901;

inline constexpr std::size_t kMaxMessageSize = 65535;  // Message Length is 16 bits

enum class Protocol : std::uint8_t { asap, enrp };

enum class AsapType : std::uint8_t {
  registration = 0x01,
  deregistration = 0x02,
  registration_response = 0x03,
  deregistration_response = 0x04,
  handle_resolution = 0x05,
  handle_resolution_response = 0x06,
  endpoint_keep_alive = 0x07,
  endpoint_keep_alive_ack = 0x08,
  endpoint_unreachable = 0x09,
  server_announce = 0x0a,
  cookie = 0x0b,
  cookie_echo = 0x0c,
  business_card = 0x0d,
  error = 0x0e,
};

enum class EnrpType : std::uint8_t {
  presence = 0x01,
  handle_table_request = 0x02,
  handle_table_response = 0x03,
  handle_update = 0x04,
  list_request = 0x05,
  list_response = 0x06,
  init_takeover = 0x07,
  init_takeover_ack = 0x08,
  takeover_server = 0x09,
  error = 0x0a,
};

// Message flags (the second header byte).
inline constexpr std::uint8_t kFlagR = 0x01;  // ASAP reg. response reject; ENRP presence reply
                                             // required; ENRP table/list response reject
inline constexpr std::uint8_t kFlagH = 0x01;  // ASAP endpoint keep-alive: home ENRP server
inline constexpr std::uint8_t kFlagW = 0x01;  // ENRP handle table request: own children only
inline constexpr std::uint8_t kFlagM = 0x02;  // ENRP handle table response: more to send
inline constexpr std::uint8_t kFlagT = 0x01;  // ENRP handle update: takeover suggested

enum class ParamType : std::uint16_t {
  ipv4_address = 0x0001,
  ipv6_address = 0x0002,
  dccp_transport = 0x0003,
  sctp_transport = 0x0004,
  tcp_transport = 0x0005,
  udp_transport = 0x0006,
  udp_lite_transport = 0x0007,
  pool_member_selection_policy = 0x0008,
  pool_handle = 0x0009,
  pool_element = 0x000a,
  server_information = 0x000b,
  operation_error = 0x000c,
  cookie = 0x000d,
  pe_identifier = 0x000e,
  pe_checksum = 0x000f,
  handle_resolution_option = 0x803f,  // RSPLIB: type 0x3f with action "skip"
};

// The two high bits of a parameter type: what a receiver does with an unknown one.
enum class UnknownAction : std::uint8_t {
  stop = 0,             // 00: discard the message silently
  stop_and_report = 1,  // 01: discard, report Unrecognized Parameter
  skip = 2,             // 10: skip the parameter, continue
  skip_and_report = 3,  // 11: skip, continue, report
};
constexpr UnknownAction unknown_action(std::uint16_t type) {
  return static_cast<UnknownAction>(type >> 14);
}

enum class CauseCode : std::uint16_t {
  unrecognized_parameter = 0x1,
  unrecognized_message = 0x2,
  invalid_values = 0x3,
  non_unique_pe_identifier = 0x4,
  inconsistent_pooling_policy = 0x5,
  lack_of_resources = 0x6,
  inconsistent_transport_type = 0x7,
  inconsistent_data_control_configuration = 0x8,
  unknown_pool_handle = 0x9,
  rejection_due_to_security = 0xa,
};

enum class PolicyType : std::uint32_t {
  round_robin = 0x00000001,
  weighted_round_robin = 0x00000002,
  random = 0x00000003,
  weighted_random = 0x00000004,
  priority = 0x00000005,
  least_used = 0x40000001,
  least_used_degradation = 0x40000002,
  priority_least_used = 0x40000003,
  randomized_least_used = 0x40000004,
  randomized_priority_least_used = 0xb0001001,
  randomized_least_used_degradation = 0xb0001002,
  priority_least_used_degradation = 0xb0001003,
  randomized_priority_least_used_degradation = 0xb0001004,
  weighted_random_dpf = 0xb0002001,
  least_used_dpf = 0xb0002002,
  least_used_degradation_dpf = 0xb0002003,
};

enum class TransportUse : std::uint8_t  /* u16 on the wire */ { data_only = 0x0000, data_plus_control = 0x0001 };

enum class UpdateAction : std::uint16_t { add_pe = 0, del_pe = 1 };

// Fractions (load, load degradation, DPFs): 0 = 0 %, 0xFFFFFFFF = 100 %.
inline constexpr std::uint32_t kFractionOne = 0xffffffffu;

// Handle Resolution Option: "as many as possible".
inline constexpr std::uint32_t kAllItems = 0xffffffffu;

}  // namespace rserpool::wire
