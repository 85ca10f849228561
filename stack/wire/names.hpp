// RFC names of ASAP/ENRP message types, parameters, error causes and field values,
// for error texts and `rsplab decode`. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stack/wire/constants.hpp"

namespace rserpool::wire {

std::string_view message_type_name(Protocol p, std::uint8_t type);
std::string_view parameter_name(std::uint16_t type);
std::string_view cause_name(CauseCode code);
std::string_view transport_use_name(TransportUse use);
std::string_view update_action_name(UpdateAction action);
std::string_view protocol_name(Protocol p);  // "ASAP", "ENRP"
std::string hex_id(std::uint32_t id);        // "0x1234abcd"

}  // namespace rserpool::wire
