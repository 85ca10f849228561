// Descriptions of decoded messages: one traversal into a Field tree, two renderers.
//
// Kept compilable by clang 14 (the fuzz build compiles the whole wire library):
// no <ranges> views, no std::format.
#include "stack/wire/describe.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>
#include <variant>

namespace rserpool::wire {

// ---------------------------------------------------------------------------------
// Field builders
// ---------------------------------------------------------------------------------

Field Field::make_text(std::string key, std::string label, std::string value) {
  Field f;
  f.key = std::move(key);
  f.label = std::move(label);
  f.kind = Kind::text;
  f.text = std::move(value);
  return f;
}

Field Field::make_number(std::string key, std::string label, std::int64_t value,
                         std::string unit) {
  Field f;
  f.key = std::move(key);
  f.label = std::move(label);
  f.kind = Kind::number;
  f.number = value;
  f.unit = std::move(unit);
  return f;
}

Field Field::make_bool(std::string key, std::string label, bool value) {
  Field f;
  f.key = std::move(key);
  f.label = std::move(label);
  f.kind = Kind::boolean;
  f.number = value ? 1 : 0;
  return f;
}

Field Field::make_hex(std::string key, std::string label, std::string hex) {
  Field f = make_text(std::move(key), std::move(label), std::move(hex));
  f.kind = Kind::hex;
  return f;
}

Field Field::make_fraction(std::string key, std::string label, std::uint32_t raw) {
  Field f;
  f.key = std::move(key);
  f.label = std::move(label);
  f.kind = Kind::fraction;
  f.number = raw;
  return f;
}

Field Field::make_group(std::string key, std::string label, std::string summary) {
  Field f;
  f.key = std::move(key);
  f.label = std::move(label);
  f.kind = Kind::group;
  f.text = std::move(summary);
  return f;
}

Field Field::make_list(std::string key, std::string label) {
  Field f = make_group(std::move(key), std::move(label));
  f.kind = Kind::list;
  return f;
}

Field& Field::add(Field child) {
  children.push_back(std::move(child));
  return children.back();
}

const Field* Field::find(std::string_view k) const {
  for (const auto& c : children)
    if (c.key == k) return &c;
  return nullptr;
}

// ---------------------------------------------------------------------------------
// Names and formatting
// ---------------------------------------------------------------------------------

std::string hex_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * bytes.size());
  for (const std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0x0f];
  }
  return s;
}

std::string show_handle(std::string_view handle) {
  if (printable(handle)) return std::string(handle);
  return hex_bytes({reinterpret_cast<const std::uint8_t*>(handle.data()), handle.size()});
}

double percent(std::uint32_t fraction) {
  return static_cast<double>(fraction) * 100.0 / static_cast<double>(kFractionOne);
}

namespace {

std::string hex_code(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, static_cast<unsigned>(v));
  return buf;
}

// "Name (0xcode)", or "unknown (0xcode)".
std::string named(std::string_view name, std::uint32_t code, int digits) {
  std::string s = name.empty() ? std::string("unknown") : std::string(name);
  return s + " (" + hex_code(code, digits) + ")";
}

// An enumerated value: text "Label: Name (0xcode)", JSON {"name": ..., "code": "0x.."}.
Field enum_field(std::string key, std::string label, std::string_view name, std::uint32_t code,
                 int digits) {
  Field f = Field::make_group(std::move(key), std::move(label), named(name, code, digits));
  f.compact = true;
  f.add(Field::make_text("name", "Name", name.empty() ? "unknown" : std::string(name)));
  f.add(Field::make_hex("code", "Code", hex_code(code, digits)));
  return f;
}

Field hidden(Field f) {
  f.json_only = true;
  return f;
}

Field handle_field(const PoolHandle& h) {
  Field f = printable(h) ? Field::make_text("pool_handle", "Pool Handle", h)
                         : Field::make_hex("pool_handle", "Pool Handle", show_handle(h));
  if (!printable(h)) f.unit = "(" + std::to_string(h.size()) + " bytes, not printable)";
  return f;
}

Field id_field(std::string key, std::string label, std::uint32_t id) {
  return Field::make_hex(std::move(key), std::move(label), hex_id(id));
}

const char* transport_short(TransportKind k) {
  switch (k) {
    case TransportKind::dccp: return "dccp";
    case TransportKind::sctp: return "sctp";
    case TransportKind::tcp: return "tcp";
    case TransportKind::udp: return "udp";
    case TransportKind::udp_lite: return "udp-lite";
  }
  return "unknown";
}

std::string_view errc_key(Errc e) {
  switch (e) {
    case Errc::truncated_message: return "truncated_message";
    case Errc::bad_message_length: return "bad_message_length";
    case Errc::truncated_parameter: return "truncated_parameter";
    case Errc::bad_parameter_length: return "bad_parameter_length";
    case Errc::unknown_message_type: return "unknown_message_type";
    case Errc::unrecognized_parameter: return "unrecognized_parameter";
    case Errc::missing_parameter: return "missing_parameter";
    case Errc::unexpected_parameter: return "unexpected_parameter";
    case Errc::invalid_value: return "invalid_value";
    case Errc::trailing_bytes: return "trailing_bytes";
  }
  return "unknown";
}

// A flag bit a message type defines.
struct FlagDef {
  std::uint8_t bit;
  const char* key;      // "r_bit"
  const char* letter;   // "R"
  const char* meaning;  // "reject"
};

namespace a = asap;
namespace e = enrp;

// The flags a message defines and whether each is set (from the typed message).
template <class M>
std::vector<std::pair<FlagDef, bool>> flag_bits(const M& m) {
  std::vector<std::pair<FlagDef, bool>> out;
  if constexpr (std::is_same_v<M, a::RegistrationResponse>)
    out.push_back({{kFlagR, "r_bit", "R", "reject"}, m.reject});
  if constexpr (std::is_same_v<M, a::EndpointKeepAlive>)
    out.push_back({{kFlagH, "h_bit", "H", "home ENRP server"}, m.home});
  if constexpr (std::is_same_v<M, e::Presence>)
    out.push_back({{kFlagR, "r_bit", "R", "reply required"}, m.reply_required});
  if constexpr (std::is_same_v<M, e::HandleTableRequest>)
    out.push_back({{kFlagW, "w_bit", "W", "own children only"}, m.own_children_only});
  if constexpr (std::is_same_v<M, e::HandleTableResponse>) {
    out.push_back({{kFlagR, "r_bit", "R", "reject"}, m.reject});
    out.push_back({{kFlagM, "m_bit", "M", "more to send"}, m.more});
  }
  if constexpr (std::is_same_v<M, e::HandleUpdate>)
    out.push_back({{kFlagT, "t_bit", "T", "takeover suggested"}, m.takeover_suggested});
  if constexpr (std::is_same_v<M, e::ListResponse>)
    out.push_back({{kFlagR, "r_bit", "R", "reject"}, m.reject});
  return out;
}

// Nested messages (Unrecognized Message causes) are described this deep at most.
constexpr int kMaxDepth = 4;

class Describer {
 public:
  explicit Describer(int depth) : depth_(depth) {}

  Field policy(const Policy& p, std::string key, std::string label) const {
    const PolicyInfo* info = policy_info(p.type);
    const auto code = static_cast<std::uint32_t>(p.type);
    Field f = Field::make_group(std::move(key), std::move(label),
                                named(info ? info->name : std::string_view{}, code, 8));
    Field type = enum_field("policy_type", "Policy Type",
                            info ? info->name : std::string_view{}, code, 8);
    type.add(Field::make_text("short_name", "Short Name",
                              info ? std::string(info->short_name) : std::string("unknown")));
    f.add(hidden(std::move(type)));
    if (info == nullptr) return f;
    for (std::size_t i = 0; i < info->field_count; ++i) {
      const PolicyField pf = info->fields[i];
      const std::uint32_t v = policy_field(p, pf);
      switch (pf) {
        case PolicyField::weight:
          f.add(Field::make_number("weight", "Weight", v));
          break;
        case PolicyField::priority:
          f.add(Field::make_number("priority", "Priority", v));
          break;
        case PolicyField::load:
          f.add(Field::make_fraction("load", "Load", v));
          break;
        case PolicyField::load_degradation:
          f.add(Field::make_fraction("load_degradation", "Load Degradation", v));
          break;
        case PolicyField::load_dpf:
          f.add(Field::make_fraction("load_dpf", "Load DPF", v));
          break;
        case PolicyField::weight_dpf:
          f.add(Field::make_fraction("weight_dpf", "Weight DPF", v));
          break;
        case PolicyField::distance:
          f.add(Field::make_number("distance", "Distance", v, "ms"));
          break;
      }
    }
    return f;
  }

  Field transport(const Transport& t, std::string key, std::string label) const {
    const auto code = static_cast<std::uint16_t>(t.kind);
    Field f = Field::make_group(std::move(key), std::move(label),
                                named(parameter_name(code), code, 4));
    f.add(hidden(Field::make_text("kind", "Kind", transport_short(t.kind))));
    f.add(Field::make_number("port", "Port", t.port));
    if (t.kind == TransportKind::sctp || t.kind == TransportKind::tcp)
      f.add(enum_field("transport_use", "Transport Use", transport_use_name(t.use),
                       static_cast<std::uint16_t>(t.use), 4));
    if (t.kind == TransportKind::dccp)
      f.add(Field::make_number("service_code", "Service Code", t.service_code));
    Field& addrs = f.add(Field::make_list("addresses", "Addresses"));
    for (const auto& a : t.addresses) addrs.add(Field::make_text("address", "Address",
                                                                 a.to_string()));
    return f;
  }

  Field pool_element(const PoolElement& pe, std::string key, std::string label) const {
    Field f = Field::make_group(std::move(key), std::move(label));
    f.add(id_field("pe_identifier", "PE Identifier", pe.identifier));
    Field home = id_field("home_enrp_server_identifier", "Home ENRP Server Identifier",
                          pe.home_server);
    if (pe.home_server == 0) home.unit = "(none yet)";
    f.add(std::move(home));
    f.add(Field::make_number("registration_life", "Registration Life", pe.registration_life,
                             "ms"));
    f.add(transport(pe.user_transport, "user_transport", "User Transport"));
    f.add(policy(pe.policy, "member_selection_policy", "Member Selection Policy"));
    if (pe.asap_transport)
      f.add(transport(*pe.asap_transport, "asap_transport", "ASAP Transport"));
    return f;
  }

  Field pool_elements(const std::vector<PoolElement>& pes) const {
    Field f = Field::make_list("pool_elements", "Pool Elements");
    for (const auto& pe : pes) f.add(pool_element(pe, "pool_element", "Pool Element"));
    return f;
  }

  Field server_information(const ServerInformation& s, std::string key,
                           std::string label) const {
    Field f = Field::make_group(std::move(key), std::move(label));
    f.add(id_field("server_identifier", "Server Identifier", s.server_id));
    f.add(transport(s.transport, "server_transport", "Server Transport"));
    return f;
  }

  Field operation_error(const OperationError& err, Protocol p) const {
    Field f = Field::make_group("operation_error", "Operation Error");
    Field& causes = f.add(Field::make_list("causes", "Error Causes"));
    for (const auto& c : err.causes) causes.add(cause(c, p));
    return f;
  }

  Field cause(const ErrorCause& c, Protocol p) const {
    const auto code = static_cast<std::uint16_t>(c.code);
    Field f = Field::make_group("error_cause", "Error Cause", named(cause_name(c.code), code, 4));
    f.add(hidden(enum_field("cause_code", "Cause Code", cause_name(c.code), code, 4)));
    f.add(Field::make_number("cause_length", "Cause Length",
                             static_cast<std::int64_t>(4 + c.info.size())));
    if (!c.info.empty()) f.add(Field::make_hex("info", "Cause Information", hex_bytes(c.info)));
    const bool offending_parameter = c.code == CauseCode::unrecognized_parameter ||
                                     c.code == CauseCode::invalid_values ||
                                     c.code == CauseCode::inconsistent_pooling_policy ||
                                     c.code == CauseCode::inconsistent_transport_type;
    if (offending_parameter && c.info.size() >= 4) {
      const auto type = static_cast<std::uint16_t>((c.info[0] << 8) | c.info[1]);
      const auto length = static_cast<std::uint16_t>((c.info[2] << 8) | c.info[3]);
      Field& op = f.add(Field::make_group("offending_parameter", "Offending Parameter",
                                          named(parameter_name(type), type, 4)));
      op.add(hidden(enum_field("parameter_type", "Parameter Type", parameter_name(type), type,
                               4)));
      op.add(Field::make_number("parameter_length", "Parameter Length", length));
    }
    if (c.code == CauseCode::unrecognized_message && !c.info.empty())
      f.add(nested_message(c.info, p));
    return f;
  }

  // The offending message of an Unrecognized Message cause: decoded when it decodes,
  // else its header and why it does not.
  Field nested_message(std::span<const std::uint8_t> bytes, Protocol p) const {
    std::optional<DecodeError> error;
    if (depth_ < kMaxDepth) {
      const Describer inner(depth_ + 1);
      if (p == Protocol::asap) {
        auto r = decode_asap(bytes);
        if (r) return rekey(inner.message(*r, bytes));
        error = r.error();
      } else {
        auto r = decode_enrp(bytes);
        if (r) return rekey(inner.message(*r, bytes));
        error = r.error();
      }
    }
    Field f = Field::make_group("message", "Message");
    if (bytes.size() >= 4) {
      const std::uint8_t type = bytes[0];
      f.text = named(message_type_name(p, type), type, 2);
      f.add(hidden(enum_field("message_type", "Message Type", message_type_name(p, type), type,
                              2)));
      f.add(Field::make_hex("flags", "Flags", hex_code(bytes[1], 2)));
      f.add(Field::make_number("message_length", "Message Length", (bytes[2] << 8) | bytes[3]));
    }
    if (error)
      f.add(Field::make_text("decode_error", "Decode Error", error->message()));
    else
      f.add(Field::make_text("decode_error", "Decode Error", "not decoded: nested too deep"));
    return f;
  }

  template <class Variant>
  Field message(const Decoded<Variant>& d, std::span<const std::uint8_t> bytes) const {
    constexpr Protocol p =
        std::is_same_v<Variant, asap::Message> ? Protocol::asap : Protocol::enrp;
    const auto type = static_cast<std::uint8_t>(d.message.index() + 1);
    Field root = Field::make_group("", "");
    root.add(Field::make_text("protocol", "Protocol", std::string(protocol_name(p))));
    root.add(enum_field("message_type", "Message Type", message_type_name(p, type), type, 2));
    std::visit(
        [&](const auto& m) {
          root.add(flags(m, bytes));
          if (bytes.size() >= 4)
            root.add(Field::make_number("message_length", "Message Length",
                                        (bytes[2] << 8) | bytes[3]));
          body(root, m);
        },
        d.message);
    Field& unrec = root.add(
        Field::make_list("unrecognized_parameters", "Unrecognized Parameters (to report)"));
    for (const auto& tlv : d.unrecognized) unrec.add(unrecognized(tlv));
    return root;
  }

 private:
  static Field rekey(Field f) {
    f.key = "message";
    f.label = "Message";
    const Field* t = f.find("message_type");
    if (t != nullptr) f.text = t->text;
    return f;
  }

  template <class M>
  static Field flags(const M& m, std::span<const std::uint8_t> bytes) {
    const auto bits = flag_bits(m);
    std::uint8_t defined = 0;
    std::uint8_t value = 0;
    for (const auto& [def, set] : bits) {
      defined = static_cast<std::uint8_t>(defined | def.bit);
      if (set) value = static_cast<std::uint8_t>(value | def.bit);
    }
    if (bytes.size() >= 2) value = bytes[1];
    std::string summary = hex_code(value, 2);
    std::string names;
    for (const auto& [def, set] : bits) {
      if (!set) continue;
      if (!names.empty()) names += ", ";
      names += std::string(def.letter) + ": " + def.meaning;
    }
    const std::uint8_t undefined = static_cast<std::uint8_t>(value & ~defined);
    if (undefined != 0) {
      if (!names.empty()) names += "; ";
      names += "undefined bits " + hex_code(undefined, 2);
    }
    if (!names.empty()) summary += " (" + names + ")";
    Field f = Field::make_group("flags", "Flags", summary);
    f.compact = true;
    f.add(Field::make_hex("value", "Value", hex_code(value, 2)));
    for (const auto& [def, set] : bits)
      f.add(Field::make_bool(def.key, std::string(def.letter) + " (" + def.meaning + ")", set));
    return f;
  }

  static Field unrecognized(const Bytes& tlv) {
    Field f = Field::make_group("parameter", "Parameter");
    if (tlv.size() < 4) {
      f.text = hex_bytes(tlv);
      f.compact = true;
      f.add(Field::make_hex("tlv", "TLV", hex_bytes(tlv)));
      return f;
    }
    const auto type = static_cast<std::uint16_t>((tlv[0] << 8) | tlv[1]);
    const auto length = static_cast<std::uint16_t>((tlv[2] << 8) | tlv[3]);
    const std::span<const std::uint8_t> value(tlv.data() + 4, tlv.size() - 4);
    f.text = "Parameter Type " + hex_code(type, 4) + ", Length " + std::to_string(length);
    if (!value.empty()) f.text += ", Value " + hex_bytes(value);
    f.compact = true;
    f.add(Field::make_hex("parameter_type", "Parameter Type", hex_code(type, 4)));
    f.add(Field::make_number("parameter_length", "Parameter Length", length));
    f.add(Field::make_hex("value", "Value", hex_bytes(value)));
    return f;
  }

  template <class M>
  static void enrp_ids(Field& root, const M& m) {
    root.add(id_field("sender_server_id", "Sender Server's ID", m.sender));
    Field r = id_field("receiver_server_id", "Receiver Server's ID", m.receiver);
    if (m.receiver == 0) r.unit = "(unknown or all)";
    root.add(std::move(r));
  }

  void add_error(Field& root, const std::optional<OperationError>& err, Protocol p) const {
    if (err) root.add(operation_error(*err, p));
  }

  // ASAP bodies.
  void body(Field& r, const a::Registration& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(pool_element(m.pool_element, "pool_element", "Pool Element"));
  }
  void body(Field& r, const a::Deregistration& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(id_field("pe_identifier", "PE Identifier", m.pe_identifier));
  }
  void body(Field& r, const a::RegistrationResponse& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(id_field("pe_identifier", "PE Identifier", m.pe_identifier));
    add_error(r, m.error, Protocol::asap);
  }
  void body(Field& r, const a::DeregistrationResponse& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(id_field("pe_identifier", "PE Identifier", m.pe_identifier));
    add_error(r, m.error, Protocol::asap);
  }
  void body(Field& r, const a::HandleResolution& m) const {
    r.add(handle_field(m.pool_handle));
    if (m.items) {
      Field& o = r.add(Field::make_group("handle_resolution_option", "Handle Resolution Option"));
      o.add(Field::make_number("items", "Items", *m.items,
                               *m.items == kAllItems ? "(as many as possible)" : ""));
    }
  }
  void body(Field& r, const a::HandleResolutionResponse& m) const {
    r.add(handle_field(m.pool_handle));
    if (m.overall_policy)
      r.add(policy(*m.overall_policy, "member_selection_policy",
                   "Overall Member Selection Policy"));
    r.add(pool_elements(m.pool_elements));
    add_error(r, m.error, Protocol::asap);
  }
  void body(Field& r, const a::EndpointKeepAlive& m) const {
    r.add(id_field("server_identifier", "Server Identifier", m.server_id));
    r.add(handle_field(m.pool_handle));
    if (m.pe_identifier) r.add(id_field("pe_identifier", "PE Identifier", *m.pe_identifier));
  }
  void body(Field& r, const a::EndpointKeepAliveAck& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(id_field("pe_identifier", "PE Identifier", m.pe_identifier));
  }
  void body(Field& r, const a::EndpointUnreachable& m) const {
    r.add(handle_field(m.pool_handle));
    r.add(id_field("pe_identifier", "PE Identifier", m.pe_identifier));
  }
  void body(Field& r, const a::ServerAnnounce& m) const {
    r.add(id_field("server_identifier", "Server Identifier", m.server_id));
    Field& l = r.add(Field::make_list("transports", "Transports"));
    for (const auto& t : m.transports) l.add(transport(t, "transport", "Transport"));
  }
  static Field cookie(const Bytes& c) {
    Field f = Field::make_hex("cookie", "Cookie", hex_bytes(c));
    f.unit = "(" + std::to_string(c.size()) + " bytes)";
    return f;
  }
  void body(Field& r, const a::Cookie& m) const { r.add(cookie(m.cookie)); }
  void body(Field& r, const a::CookieEcho& m) const { r.add(cookie(m.cookie)); }
  void body(Field& r, const a::BusinessCard& m) const {
    r.add(handle_field(m.pool_handle));
    if (m.policy) r.add(policy(*m.policy, "member_selection_policy", "Member Selection Policy"));
    r.add(pool_elements(m.pool_elements));
  }
  void body(Field& r, const a::Error& m) const {
    r.add(operation_error(m.error, Protocol::asap));
  }

  // ENRP bodies.
  void body(Field& r, const e::Presence& m) const {
    enrp_ids(r, m);
    r.add(Field::make_hex("pe_checksum", "PE Checksum", hex_code(m.pe_checksum, 4)));
    if (m.server_information)
      r.add(server_information(*m.server_information, "server_information",
                               "Server Information"));
  }
  void body(Field& r, const e::HandleTableRequest& m) const { enrp_ids(r, m); }
  void body(Field& r, const e::HandleTableResponse& m) const {
    enrp_ids(r, m);
    Field& l = r.add(Field::make_list("pools", "Pools"));
    for (const auto& pool : m.pools) {
      Field entry = Field::make_group("pool", "Pool", show_handle(pool.pool_handle));
      entry.add(handle_field(pool.pool_handle));
      entry.add(pool_elements(pool.pool_elements));
      l.add(std::move(entry));
    }
  }
  void body(Field& r, const e::HandleUpdate& m) const {
    enrp_ids(r, m);
    r.add(enum_field("update_action", "Update Action", update_action_name(m.action),
                     static_cast<std::uint16_t>(m.action), 4));
    r.add(handle_field(m.pool_handle));
    r.add(pool_element(m.pool_element, "pool_element", "Pool Element"));
  }
  void body(Field& r, const e::ListRequest& m) const { enrp_ids(r, m); }
  void body(Field& r, const e::ListResponse& m) const {
    enrp_ids(r, m);
    Field& l = r.add(Field::make_list("server_information", "Server Information"));
    for (const auto& s : m.servers)
      l.add(server_information(s, "server_information", "Server Information"));
  }
  template <class M>
  static void target(Field& r, const M& m) {
    enrp_ids(r, m);
    r.add(id_field("target_server_id", "Target Server's ID", m.target));
  }
  void body(Field& r, const e::InitTakeover& m) const { target(r, m); }
  void body(Field& r, const e::InitTakeoverAck& m) const { target(r, m); }
  void body(Field& r, const e::TakeoverServer& m) const { target(r, m); }
  void body(Field& r, const e::Error& m) const {
    enrp_ids(r, m);
    r.add(operation_error(m.error, Protocol::enrp));
  }

  int depth_;
};

}  // namespace

// ---------------------------------------------------------------------------------
// Public descriptions
// ---------------------------------------------------------------------------------

Field describe(const Policy& p, std::string key, std::string label) {
  return Describer(0).policy(p, std::move(key), std::move(label));
}
Field describe(const Transport& t, std::string key, std::string label) {
  return Describer(0).transport(t, std::move(key), std::move(label));
}
Field describe(const PoolElement& pe, std::string key, std::string label) {
  return Describer(0).pool_element(pe, std::move(key), std::move(label));
}
Field describe(const ServerInformation& s, std::string key, std::string label) {
  return Describer(0).server_information(s, std::move(key), std::move(label));
}
Field describe(const OperationError& e, Protocol p) { return Describer(0).operation_error(e, p); }

Field describe(const Decoded<asap::Message>& m, std::span<const std::uint8_t> bytes) {
  return Describer(0).message(m, bytes);
}
Field describe(const Decoded<enrp::Message>& m, std::span<const std::uint8_t> bytes) {
  return Describer(0).message(m, bytes);
}

Result<Field> decode_and_describe(Protocol p, std::span<const std::uint8_t> bytes) {
  if (p == Protocol::asap) {
    auto r = decode_asap(bytes);
    if (!r) return r.error();
    return describe(*r, bytes);
  }
  auto r = decode_enrp(bytes);
  if (!r) return r.error();
  return describe(*r, bytes);
}

std::string receiver_reaction(const DecodeError& e) {
  if (!e.cause) return "a receiver discards the message silently";
  const auto code = static_cast<std::uint16_t>(*e.cause);
  return "a receiver answers with an Operation Error: " + named(cause_name(*e.cause), code, 4);
}

Field describe(const DecodeError& e) {
  Field f = Field::make_group("error", "Error");
  f.add(Field::make_text("code", "Code", std::string(errc_key(e.code))));
  f.add(Field::make_text("message", "Message", e.message()));
  f.add(Field::make_number("offset", "Offset", static_cast<std::int64_t>(e.offset)));
  f.add(Field::make_number("length", "Length", static_cast<std::int64_t>(e.length)));
  f.add(Field::make_text("detail", "Detail", e.detail));
  if (e.cause) {
    const auto code = static_cast<std::uint16_t>(*e.cause);
    f.add(enum_field("cause", "Error Cause", cause_name(*e.cause), code, 4));
  }
  f.add(Field::make_text("receiver", "Receiver", receiver_reaction(e)));
  return f;
}

// ---------------------------------------------------------------------------------
// Renderers
// ---------------------------------------------------------------------------------

namespace {

bool scalar(const Field& f) {
  return f.kind != Field::Kind::group && f.kind != Field::Kind::list;
}

std::string scalar_text(const Field& f) {
  std::string v;
  switch (f.kind) {
    case Field::Kind::text:
    case Field::Kind::hex: v = f.text; break;
    case Field::Kind::number: v = std::to_string(f.number); break;
    case Field::Kind::boolean: v = f.number != 0 ? "yes" : "no"; break;
    case Field::Kind::fraction: {
      char buf[48];
      const auto raw = static_cast<std::uint32_t>(f.number);
      // Two decimals, as Wireshark shows loads; more where a small DPF would show as 0.
      const double pct = percent(raw);
      std::snprintf(buf, sizeof buf, raw != 0 && pct < 0.01 ? "%.6f%% (0x%08x)" : "%.2f%% (0x%08x)",
                    pct, static_cast<unsigned>(raw));
      v = buf;
      break;
    }
    case Field::Kind::group:
    case Field::Kind::list: v = f.text; break;
  }
  if (!f.unit.empty()) v += v.empty() ? f.unit : " " + f.unit;
  return v;
}

void render_text(const Field& f, int indent, const std::string& label, std::string& out) {
  if (f.json_only) return;
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (scalar(f) || (f.kind == Field::Kind::group && f.compact)) {
    out += pad + label + ": " + scalar_text(f) + "\n";
    return;
  }
  if (f.kind == Field::Kind::group) {
    int child_indent = indent;
    if (!label.empty()) {
      out += pad + label + ":" + (f.text.empty() ? "" : " " + f.text) + "\n";
      ++child_indent;
    }
    for (const auto& c : f.children) render_text(c, child_indent, c.label, out);
    return;
  }
  // A list.
  if (f.children.empty()) return;
  bool all_scalar = true;
  for (const auto& c : f.children) all_scalar = all_scalar && scalar(c);
  if (all_scalar) {
    std::string line;
    for (const auto& c : f.children) line += (line.empty() ? "" : ", ") + scalar_text(c);
    out += pad + label + ": " + line + "\n";
    return;
  }
  out += pad + label + " (" + std::to_string(f.children.size()) + "):\n";
  for (std::size_t i = 0; i < f.children.size(); ++i) {
    const Field& c = f.children[i];
    render_text(c, indent + 1, c.label + " #" + std::to_string(i + 1), out);
  }
}

double rounded_percent(std::uint32_t raw) {
  return std::round(percent(raw) * 1e6) / 1e6;
}

nlohmann::ordered_json render_json(const Field& f) {
  using J = nlohmann::ordered_json;
  switch (f.kind) {
    case Field::Kind::text:
    case Field::Kind::hex: return J(f.text);
    case Field::Kind::number: return J(f.number);
    case Field::Kind::boolean: return J(f.number != 0);
    case Field::Kind::fraction: {
      const auto raw = static_cast<std::uint32_t>(f.number);
      J j = J::object();
      j["raw"] = raw;
      j["percent"] = rounded_percent(raw);
      return j;
    }
    case Field::Kind::group: {
      J j = J::object();
      for (const auto& c : f.children) j[c.key] = render_json(c);
      return j;
    }
    case Field::Kind::list: {
      J j = J::array();
      for (const auto& c : f.children) j.push_back(render_json(c));
      return j;
    }
  }
  return J();
}

}  // namespace

std::string to_text(const Field& f) {
  std::string out;
  render_text(f, 0, f.label, out);
  return out;
}

nlohmann::ordered_json to_json(const Field& f) { return render_json(f); }

}  // namespace rserpool::wire
