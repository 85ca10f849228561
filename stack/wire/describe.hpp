// Human- and machine-readable descriptions of decoded ASAP/ENRP messages, for
// `rsplab decode`, logs and tests: one traversal of a decoded message into a small tree
// of named fields (Field), and two renderers of that tree, indented text and JSON.
//
// Every field carries its RFC 5352-5356 name (the text label) and a snake_case key
// (the JSON key). Identifiers (PE, server, home server, target) show as 0x%08x; pool
// handles as text when printable(), else as hex; loads, degradations and DPFs as
// percentages in text and as {"raw", "percent"} in JSON. Pure functions, no I/O;
// safe to call from any thread.
//
//   bytes ─► decode_asap/decode_enrp ─► describe() ─► Field ─┬─► to_text()
//                                                            └─► to_json()
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stack/wire/error.hpp"
#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::wire {

// One node of a description.
//
//   kind      value                       text                         JSON
//   text      `text`                      Label: text                  "text"
//   number    `number` (+ `unit`)         Label: 300000 ms             300000
//   boolean   `number` != 0               Label: yes|no                true|false
//   hex       `text` ("0x1234abcd")       Label: 0x1234abcd            "0x1234abcd"
//   fraction  `number` of kFractionOne    Label: 25.00% (0x40000000)   {"raw": n, "percent": p}
//   group     `children` by key           Label: [summary]             {"key": ...}
//                                           children, indented
//   list      `children` (items)          Label: a, b  (scalar items)  [...]
//                                           or one block per item
//
// A group with a `summary` and `compact` set shows in text on one line as
// "Label: summary" (an enumerated value "DATA ONLY (0x0000)", the flags); its
// children show in JSON only. A `json_only` field shows in JSON only. Text omits empty
// lists; JSON keeps them as []. JSON objects keep the fields in wire order.
struct Field {
  enum class Kind : std::uint8_t { text, number, boolean, hex, fraction, group, list };

  std::string key;    // snake_case JSON key (ignored for list items)
  std::string label;  // RFC name, for text
  Kind kind = Kind::group;
  std::string text;     // text and hex values; the text summary of a group
  std::int64_t number = 0;
  std::string unit;     // text only, after the value: "ms", "(none yet)"
  bool compact = false;  // group: one text line "Label: summary"
  bool json_only = false;  // left out of the text (the group's summary already says it)
  std::vector<Field> children;

  // Builders.
  static Field make_text(std::string key, std::string label, std::string value);
  static Field make_number(std::string key, std::string label, std::int64_t value,
                           std::string unit = {});
  static Field make_bool(std::string key, std::string label, bool value);
  static Field make_hex(std::string key, std::string label, std::string hex);
  static Field make_fraction(std::string key, std::string label, std::uint32_t raw);
  static Field make_group(std::string key, std::string label, std::string summary = {});
  static Field make_list(std::string key, std::string label);
  Field& add(Field child);  // returns the added child

  // The child with `key`; nullptr when there is none.
  const Field* find(std::string_view key) const;
};

// Names on the wire: "ASAP_REGISTRATION", "SCTP Transport", "Invalid Values", ...;
// empty for a code the RFCs do not define.

// Formatting helpers shared by the descriptions and the app.
std::string hex_bytes(std::span<const std::uint8_t> bytes);  // "0x0102ff"; "" when empty
std::string show_handle(std::string_view handle);            // text if printable, else hex
double percent(std::uint32_t fraction);                      // of kFractionOne, 0..100

// Descriptions of parts, for tests and logs.
Field describe(const Policy& p, std::string key = "member_selection_policy",
               std::string label = "Member Selection Policy");
Field describe(const Transport& t, std::string key = "transport",
               std::string label = "Transport");
Field describe(const PoolElement& pe, std::string key = "pool_element",
               std::string label = "Pool Element");
Field describe(const ServerInformation& s, std::string key = "server_information",
               std::string label = "Server Information");
Field describe(const OperationError& e, Protocol p);

// A decoded message. `bytes` are the bytes it was decoded from; they supply the flags
// byte and the Message Length as seen on the wire.
Field describe(const Decoded<asap::Message>& m, std::span<const std::uint8_t> bytes);
Field describe(const Decoded<enrp::Message>& m, std::span<const std::uint8_t> bytes);

// Decodes one message of protocol `p` and describes it.
Result<Field> decode_and_describe(Protocol p, std::span<const std::uint8_t> bytes);

// A failed decode: what, where, and what a receiver answers (the RFC error cause, or
// "discard silently").
Field describe(const DecodeError& e);
// "a receiver answers with an Operation Error: Invalid Values (0x3)", or
// "a receiver discards the message silently".
std::string receiver_reaction(const DecodeError& e);

// Renderers. Text: one "Label: value" per line, two spaces of indentation per level,
// ending in a newline.
std::string to_text(const Field& f);
nlohmann::ordered_json to_json(const Field& f);

}  // namespace rserpool::wire
