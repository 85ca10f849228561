// Golden ASAP/ENRP messages: bytes derived by hand from the RFC tables in
// shared/reference/wire-format.md, with the typed message each must decode to.
// Shared by the codec tests, the `rsplab decode` tests, the Wireshark cross-check and
// the fuzz corpus.
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include "stack/wire/messages.hpp"

namespace rserpool::wire::testing {

struct GoldenVector {
  std::string_view name;      // e.g. "asap_registration_sctp_lu"
  Protocol protocol;
  std::string_view hex;       // whitespace allowed; one whole message
  std::variant<asap::Message, enrp::Message> expected;
};

// At least one vector per ASAP (0x01–0x0e) and ENRP (0x01–0x0a) message type.
const std::vector<GoldenVector>& golden_vectors();

// Hex text (whitespace ignored) to bytes. REQUIRES: valid hex.
Bytes from_hex(std::string_view hex);

// Helpers.
// The vector called `name`; nullptr when there is none.
const GoldenVector* find_golden(std::string_view name);
// from_hex(v.hex).
Bytes golden_bytes(const GoldenVector& v);

}  // namespace rserpool::wire::testing
