#include "stack/wire/names.hpp"

#include <cstdio>
#include <string>

namespace rserpool::wire {

std::string_view message_type_name(Protocol p, std::uint8_t type) {
  if (p == Protocol::asap) {
    switch (static_cast<AsapType>(type)) {
      case AsapType::registration: return "ASAP_REGISTRATION";
      case AsapType::deregistration: return "ASAP_DEREGISTRATION";
      case AsapType::registration_response: return "ASAP_REGISTRATION_RESPONSE";
      case AsapType::deregistration_response: return "ASAP_DEREGISTRATION_RESPONSE";
      case AsapType::handle_resolution: return "ASAP_HANDLE_RESOLUTION";
      case AsapType::handle_resolution_response: return "ASAP_HANDLE_RESOLUTION_RESPONSE";
      case AsapType::endpoint_keep_alive: return "ASAP_ENDPOINT_KEEP_ALIVE";
      case AsapType::endpoint_keep_alive_ack: return "ASAP_ENDPOINT_KEEP_ALIVE_ACK";
      case AsapType::endpoint_unreachable: return "ASAP_ENDPOINT_UNREACHABLE";
      case AsapType::server_announce: return "ASAP_SERVER_ANNOUNCE";
      case AsapType::cookie: return "ASAP_COOKIE";
      case AsapType::cookie_echo: return "ASAP_COOKIE_ECHO";
      case AsapType::business_card: return "ASAP_BUSINESS_CARD";
      case AsapType::error: return "ASAP_ERROR";
    }
    return {};
  }
  switch (static_cast<EnrpType>(type)) {
    case EnrpType::presence: return "ENRP_PRESENCE";
    case EnrpType::handle_table_request: return "ENRP_HANDLE_TABLE_REQUEST";
    case EnrpType::handle_table_response: return "ENRP_HANDLE_TABLE_RESPONSE";
    case EnrpType::handle_update: return "ENRP_HANDLE_UPDATE";
    case EnrpType::list_request: return "ENRP_LIST_REQUEST";
    case EnrpType::list_response: return "ENRP_LIST_RESPONSE";
    case EnrpType::init_takeover: return "ENRP_INIT_TAKEOVER";
    case EnrpType::init_takeover_ack: return "ENRP_INIT_TAKEOVER_ACK";
    case EnrpType::takeover_server: return "ENRP_TAKEOVER_SERVER";
    case EnrpType::error: return "ENRP_ERROR";
  }
  return {};
}

std::string_view parameter_name(std::uint16_t type) {
  switch (static_cast<ParamType>(type)) {
    case ParamType::ipv4_address: return "IPv4 Address";
    case ParamType::ipv6_address: return "IPv6 Address";
    case ParamType::dccp_transport: return "DCCP Transport";
    case ParamType::sctp_transport: return "SCTP Transport";
    case ParamType::tcp_transport: return "TCP Transport";
    case ParamType::udp_transport: return "UDP Transport";
    case ParamType::udp_lite_transport: return "UDP-Lite Transport";
    case ParamType::pool_member_selection_policy: return "Pool Member Selection Policy";
    case ParamType::pool_handle: return "Pool Handle";
    case ParamType::pool_element: return "Pool Element";
    case ParamType::server_information: return "Server Information";
    case ParamType::operation_error: return "Operation Error";
    case ParamType::cookie: return "Cookie";
    case ParamType::pe_identifier: return "PE Identifier";
    case ParamType::pe_checksum: return "PE Checksum";
    case ParamType::handle_resolution_option: return "Handle Resolution Option";
  }
  return {};
}

std::string_view cause_name(CauseCode code) {
  switch (code) {
    case CauseCode::unrecognized_parameter: return "Unrecognized Parameter";
    case CauseCode::unrecognized_message: return "Unrecognized Message";
    case CauseCode::invalid_values: return "Invalid Values";
    case CauseCode::non_unique_pe_identifier: return "Non-unique PE Identifier";
    case CauseCode::inconsistent_pooling_policy: return "Inconsistent Pooling Policy";
    case CauseCode::lack_of_resources: return "Lack of Resources";
    case CauseCode::inconsistent_transport_type: return "Inconsistent Transport Type";
    case CauseCode::inconsistent_data_control_configuration:
      return "Inconsistent Data/Control Configuration";
    case CauseCode::unknown_pool_handle: return "Unknown Pool Handle";
    case CauseCode::rejection_due_to_security:
      return "Rejection due to security considerations";
  }
  return {};
}

std::string_view transport_use_name(TransportUse use) {
  switch (use) {
    case TransportUse::data_only: return "DATA ONLY";
    case TransportUse::data_plus_control: return "DATA plus CONTROL";
  }
  return {};
}

std::string_view update_action_name(UpdateAction action) {
  switch (action) {
    case UpdateAction::add_pe: return "ADD_PE";
    case UpdateAction::del_pe: return "DEL_PE";
  }
  return {};
}

std::string_view protocol_name(Protocol p) { return p == Protocol::asap ? "ASAP" : "ENRP"; }

std::string hex_id(std::uint32_t id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(id));
  return buf;
}

}  // namespace rserpool::wire
