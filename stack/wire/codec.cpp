// Encoder and decoder of ASAP and ENRP messages.
//
// Decoding walks TLVs inside explicit [begin, end) windows of the one message buffer,
// every offset absolute, so an error can name the exact offending bytes. Unknown
// parameter types are handled in one place (Walker::peek) by their two action bits.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::wire {
namespace {

// ---------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------

// Writes grow the buffer once per block (a TLV header with its fixed fields, an address)
// and store big-endian words into it: no per-byte push_back.
class Writer {
 public:
  // Pads relative to `out`'s size now: the message may follow other bytes.
  explicit Writer(Bytes& out) : out_(out), base_(out.size()) {}

  // `n` more bytes at the end, to be stored into at once.
  std::uint8_t* grow(std::size_t n) {
    const std::size_t at = out_.size();
    out_.resize(at + n);
    return out_.data() + at;
  }
  static std::uint8_t* store16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
    return p + 2;
  }
  static std::uint8_t* store32(std::uint8_t* p, std::uint32_t v) {
    store16(p, static_cast<std::uint16_t>(v >> 16));
    return store16(p + 2, static_cast<std::uint16_t>(v));
  }

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { store16(grow(2), v); }
  void u32(std::uint32_t v) { store32(grow(4), v); }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }

  // A TLV: its Length counts header and value (nested pads included), not its own pad.
  // `fixed` bytes of its value follow the header in the same block; the returned pointer
  // is where they go.
  std::uint8_t* begin_tlv(std::uint16_t type, std::size_t& at, std::size_t fixed = 0) {
    at = out_.size();
    std::uint8_t* p = grow(4 + fixed);
    p = store16(p, type);
    return store16(p, 0);
  }
  std::size_t begin_tlv(std::uint16_t type) {
    std::size_t at;
    begin_tlv(type, at);
    return at;
  }
  void end_tlv(std::size_t at) {
    const std::size_t len = out_.size() - at;
    if (len > 0xffff) fail();
    patch16(at + 2, static_cast<std::uint16_t>(len));
    if (const std::size_t over = (out_.size() - base_) % 4; over != 0)
      out_.resize(out_.size() + 4 - over);
  }
  void patch16(std::size_t at, std::uint16_t v) { store16(out_.data() + at, v); }

  void fail() { ok_ = false; }
  bool ok() const { return ok_; }
  std::size_t size() const { return out_.size(); }
  Bytes& bytes() { return out_; }

 private:
  Bytes& out_;
  std::size_t base_;
  bool ok_ = true;
};

std::uint16_t code(ParamType t) { return static_cast<std::uint16_t>(t); }

// Parameters of a known length are written as one block, already padded.
void put(Writer& w, const Address& a) {
  const bool v4 = a.family == Address::Family::v4;
  const std::size_t n = v4 ? 4 : 16;
  std::uint8_t* p = w.grow(4 + n);
  p = Writer::store16(p, code(v4 ? ParamType::ipv4_address : ParamType::ipv6_address));
  p = Writer::store16(p, static_cast<std::uint16_t>(4 + n));
  std::memcpy(p, a.bytes.data(), n);
}

void put(Writer& w, const Transport& t) {
  const bool multi = t.kind == TransportKind::sctp;
  if (t.addresses.empty() || (!multi && t.addresses.size() != 1)) w.fail();
  const bool dccp = t.kind == TransportKind::dccp;
  std::size_t at;
  std::uint8_t* p = w.begin_tlv(static_cast<std::uint16_t>(t.kind), at, dccp ? 8 : 4);
  p = Writer::store16(p, t.port);
  const bool has_use = t.kind == TransportKind::sctp || t.kind == TransportKind::tcp;
  p = Writer::store16(p, has_use ? static_cast<std::uint16_t>(t.use) : 0);
  if (dccp) Writer::store32(p, t.service_code);
  for (const auto& a : t.addresses) put(w, a);
  w.end_tlv(at);
}

void put(Writer& w, const Policy& p) {
  const PolicyInfo* info = policy_info(p.type);
  if (info == nullptr) w.fail();
  const std::size_t fields = info != nullptr ? info->field_count : 0;
  const std::size_t n = 8 + 4 * fields;
  std::uint8_t* b = w.grow(n);
  b = Writer::store16(b, code(ParamType::pool_member_selection_policy));
  b = Writer::store16(b, static_cast<std::uint16_t>(n));
  b = Writer::store32(b, static_cast<std::uint32_t>(p.type));
  for (std::size_t i = 0; i < fields; ++i) b = Writer::store32(b, policy_field(p, info->fields[i]));
}

void put_handle(Writer& w, const PoolHandle& h) {
  if (h.empty()) w.fail();
  const auto at = w.begin_tlv(code(ParamType::pool_handle));
  w.raw(h.data(), h.size());
  w.end_tlv(at);
}

void put_u32_param(Writer& w, ParamType t, std::uint32_t v) {
  std::uint8_t* p = w.grow(8);
  p = Writer::store16(p, code(t));
  p = Writer::store16(p, 8);
  Writer::store32(p, v);
}

// `asap_transport`: false leaves the PE's ASAP transport out (a resolution's answer: ENRP
// carries it, a pool user needs the user transport only).
void put(Writer& w, const PoolElement& pe, bool asap_transport = true) {
  std::size_t at;
  std::uint8_t* p = w.begin_tlv(code(ParamType::pool_element), at, 12);
  p = Writer::store32(p, pe.identifier);
  p = Writer::store32(p, pe.home_server);
  Writer::store32(p, static_cast<std::uint32_t>(pe.registration_life));
  put(w, pe.user_transport);
  put(w, pe.policy);
  if (asap_transport && pe.asap_transport) put(w, *pe.asap_transport);
  w.end_tlv(at);
}

void put(Writer& w, const ServerInformation& s) {
  const auto at = w.begin_tlv(code(ParamType::server_information));
  w.u32(s.server_id);
  put(w, s.transport);
  w.end_tlv(at);
}

void put(Writer& w, const OperationError& e) {
  if (e.causes.empty()) w.fail();
  const auto at = w.begin_tlv(code(ParamType::operation_error));
  for (const auto& c : e.causes) {
    const auto cat = w.begin_tlv(static_cast<std::uint16_t>(c.code));
    w.raw(c.info.data(), c.info.size());
    w.end_tlv(cat);
  }
  w.end_tlv(at);
}

void put_cookie(Writer& w, const Bytes& cookie) {
  const auto at = w.begin_tlv(code(ParamType::cookie));
  w.raw(cookie.data(), cookie.size());
  w.end_tlv(at);
}

// Message bodies (after the 4-byte header) and flags.
namespace a = asap;
namespace e = enrp;

void body(Writer& w, const a::Registration& m) {
  put_handle(w, m.pool_handle);
  put(w, m.pool_element);
}
void body(Writer& w, const a::Deregistration& m) {
  put_handle(w, m.pool_handle);
  put_u32_param(w, ParamType::pe_identifier, m.pe_identifier);
}
template <class M>
void handle_id_error(Writer& w, const M& m) {
  put_handle(w, m.pool_handle);
  put_u32_param(w, ParamType::pe_identifier, m.pe_identifier);
  if (m.error) put(w, *m.error);
}
void body(Writer& w, const a::RegistrationResponse& m) { handle_id_error(w, m); }
void body(Writer& w, const a::DeregistrationResponse& m) { handle_id_error(w, m); }
void body(Writer& w, const a::HandleResolution& m) {
  put_handle(w, m.pool_handle);
  if (m.items) put_u32_param(w, ParamType::handle_resolution_option, *m.items);
}
void body(Writer& w, const a::HandleResolutionResponse& m) {
  put_handle(w, m.pool_handle);
  if (m.overall_policy) put(w, *m.overall_policy);
  for (const auto& pe : m.pool_elements) put(w, pe);
  if (m.error) put(w, *m.error);
}
void body(Writer& w, const a::EndpointKeepAlive& m) {
  w.u32(m.server_id);
  put_handle(w, m.pool_handle);
  if (m.pe_identifier) put_u32_param(w, ParamType::pe_identifier, *m.pe_identifier);
}
void body(Writer& w, const a::EndpointKeepAliveAck& m) {
  put_handle(w, m.pool_handle);
  put_u32_param(w, ParamType::pe_identifier, m.pe_identifier);
}
void body(Writer& w, const a::EndpointUnreachable& m) {
  put_handle(w, m.pool_handle);
  put_u32_param(w, ParamType::pe_identifier, m.pe_identifier);
}
void body(Writer& w, const a::ServerAnnounce& m) {
  w.u32(m.server_id);
  for (const auto& t : m.transports) put(w, t);
}
void body(Writer& w, const a::Cookie& m) { put_cookie(w, m.cookie); }
void body(Writer& w, const a::CookieEcho& m) { put_cookie(w, m.cookie); }
void body(Writer& w, const a::BusinessCard& m) {
  put_handle(w, m.pool_handle);
  if (m.policy) put(w, *m.policy);
  for (const auto& pe : m.pool_elements) put(w, pe);
}
void body(Writer& w, const a::Error& m) { put(w, m.error); }

void body(Writer& w, const e::Presence& m) {
  const auto at = w.begin_tlv(code(ParamType::pe_checksum));
  w.u16(m.pe_checksum);
  w.end_tlv(at);
  if (m.server_information) put(w, *m.server_information);
}
void body(Writer&, const e::HandleTableRequest&) {}
void body(Writer& w, const e::HandleTableResponse& m) {
  for (const auto& pool : m.pools) {
    if (pool.pool_elements.empty()) w.fail();
    put_handle(w, pool.pool_handle);
    for (const auto& pe : pool.pool_elements) put(w, pe);
  }
}
void body(Writer& w, const e::HandleUpdate& m) {
  w.u16(static_cast<std::uint16_t>(m.action));
  w.u16(0);
  put_handle(w, m.pool_handle);
  put(w, m.pool_element);
}
void body(Writer&, const e::ListRequest&) {}
void body(Writer& w, const e::ListResponse& m) {
  for (const auto& s : m.servers) put(w, s);
}
void body(Writer& w, const e::InitTakeover& m) { w.u32(m.target); }
void body(Writer& w, const e::InitTakeoverAck& m) { w.u32(m.target); }
void body(Writer& w, const e::TakeoverServer& m) { w.u32(m.target); }
void body(Writer& w, const e::Error& m) { put(w, m.error); }

std::uint8_t flags(const a::RegistrationResponse& m) { return m.reject ? kFlagR : 0; }
std::uint8_t flags(const a::EndpointKeepAlive& m) { return m.home ? kFlagH : 0; }
std::uint8_t flags(const e::Presence& m) { return m.reply_required ? kFlagR : 0; }
std::uint8_t flags(const e::HandleTableRequest& m) { return m.own_children_only ? kFlagW : 0; }
std::uint8_t flags(const e::HandleTableResponse& m) {
  return static_cast<std::uint8_t>((m.reject ? kFlagR : 0) | (m.more ? kFlagM : 0));
}
std::uint8_t flags(const e::HandleUpdate& m) { return m.takeover_suggested ? kFlagT : 0; }
std::uint8_t flags(const e::ListResponse& m) { return m.reject ? kFlagR : 0; }
template <class M>
std::uint8_t flags(const M&) {
  return 0;
}

template <class M>
concept EnrpMessage = requires(const M& m) { m.sender; m.receiver; };

// Room for most messages at once (a resolution's answer with a few PEs: about 200 bytes);
// a larger one grows from there.
constexpr std::size_t kReserve = 256;

// The common header; its Message Length is patched by end_message().
void begin_message(Writer& w, std::uint8_t type, std::uint8_t flags) {
  std::uint8_t* p = w.grow(4);
  p[0] = type;
  p[1] = flags;
  p[2] = p[3] = 0;
}

bool end_message(Writer& w, Bytes& out, std::size_t start) {
  const std::size_t len = out.size() - start;
  if (!w.ok() || len > kMaxMessageSize) {
    out.resize(start);
    return false;
  }
  w.patch16(start + 2, static_cast<std::uint16_t>(len));
  return true;
}

template <class Variant>
bool encode_message(const Variant& v, Bytes& out) {
  const std::size_t start = out.size();
  out.reserve(start + kReserve);
  Writer w(out);
  std::visit(
      [&](const auto& m) {
        // variant order = type code order
        begin_message(w, static_cast<std::uint8_t>(v.index() + 1), flags(m));
        if constexpr (EnrpMessage<std::decay_t<decltype(m)>>) {
          w.u32(m.sender);
          w.u32(m.receiver);
        }
        body(w, m);
      },
      v);
  return end_message(w, out, start);
}

// ---------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------

std::string hex8(std::uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v & 0xffu);
  return buf;
}
std::string hex16(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

std::string describe_param(std::uint16_t type) {
  const auto n = parameter_name(type);
  return n.empty() ? "parameter type " + hex16(type) : std::string(n);
}

bool known_param(std::uint16_t type) {
  return (type >= 0x0001 && type <= 0x000f) || type == code(ParamType::handle_resolution_option);
}

struct Tlv {
  std::uint16_t type = 0;
  std::size_t offset = 0;  // of the TLV header, in the message
  std::size_t length = 0;  // Length field: header + value, without own pad
  std::size_t value() const { return offset + 4; }
  std::size_t value_length() const { return length - 4; }
  std::size_t end() const { return offset + length; }
};

// One decode: the message bytes, the first error, the parameters to report.
class Decoder {
 public:
  explicit Decoder(std::span<const std::uint8_t> b) : b_(b) {}

  std::uint8_t u8(std::size_t at) const { return b_[at]; }
  std::uint16_t u16(std::size_t at) const {
    return static_cast<std::uint16_t>((b_[at] << 8) | b_[at + 1]);
  }
  std::uint32_t u32(std::size_t at) const {
    return (std::uint32_t{u16(at)} << 16) | u16(at + 2);
  }
  std::span<const std::uint8_t> bytes(std::size_t at, std::size_t n) const {
    return b_.subspan(at, n);
  }

  bool fail(Errc code, std::size_t offset, std::size_t length, std::optional<CauseCode> cause,
            std::string detail) {
    if (!error_) error_ = DecodeError{code, offset, length, cause, std::move(detail)};
    return false;
  }
  bool invalid(const Tlv& t, Errc code, std::string detail) {
    return fail(code, t.offset, t.length, CauseCode::invalid_values, std::move(detail));
  }
  DecodeError take_error() { return std::move(*error_); }
  std::vector<Bytes>& unrecognized() { return unrecognized_; }
  std::size_t size() const { return b_.size(); }

 private:
  std::span<const std::uint8_t> b_;
  std::optional<DecodeError> error_;
  std::vector<Bytes> unrecognized_;
};

// Walks the TLVs of one container window [pos, end). Each parameter's padding must
// lie inside the container too, up to `pad_end` (beyond `end` only for the message
// itself, whose Length may leave out its last pad). `what` names the container.
class Walker {
 public:
  Walker(Decoder& d, std::size_t pos, std::size_t end, std::string what)
      : Walker(d, pos, end, end, std::move(what)) {}
  Walker(Decoder& d, std::size_t pos, std::size_t end, std::size_t pad_end, std::string what)
      : d_(d), pos_(pos), end_(end), pad_end_(pad_end), what_(std::move(what)) {}

  // The next parameter of a known type, or nullopt at the end; unknown types are
  // skipped, reported or refused here according to their action bits.
  bool peek(std::optional<Tlv>& out) {
    for (;;) {
      out.reset();
      if (pos_ >= end_) return true;
      if (end_ - pos_ < 4)
        return d_.fail(Errc::trailing_bytes, pos_, end_ - pos_, CauseCode::invalid_values,
                       std::to_string(end_ - pos_) + " bytes at the end of " + what_ +
                           " are not a parameter");
      Tlv t{d_.u16(pos_), pos_, d_.u16(pos_ + 2)};
      if (t.length < 4)
        return d_.fail(Errc::bad_parameter_length, pos_, 4, CauseCode::invalid_values,
                       describe_param(t.type) + " Length " + std::to_string(t.length) +
                           " is less than 4");
      if (t.length > end_ - pos_)
        return d_.fail(Errc::truncated_parameter, pos_, end_ - pos_, CauseCode::invalid_values,
                       describe_param(t.type) + " Length " + std::to_string(t.length) +
                           " runs past the end of " + what_ + " (" +
                           std::to_string(end_ - pos_) + " bytes left)");
      if (padded(t.length) > pad_end_ - pos_)
        return d_.fail(Errc::truncated_parameter, pos_, pad_end_ - pos_,
                       CauseCode::invalid_values,
                       describe_param(t.type) + " Length " + std::to_string(t.length) +
                           ": its padding runs past the end of " + what_);
      if (known_param(t.type)) {
        out = t;
        return true;
      }
      switch (unknown_action(t.type)) {
        case UnknownAction::stop:
          return d_.fail(Errc::unrecognized_parameter, t.offset, t.length, std::nullopt,
                         "unknown " + describe_param(t.type) +
                             " (action 00: discard the message silently)");
        case UnknownAction::stop_and_report:
          return d_.fail(Errc::unrecognized_parameter, t.offset, t.length,
                         CauseCode::unrecognized_parameter,
                         "unknown " + describe_param(t.type) +
                             " (action 01: discard the message, report)");
        case UnknownAction::skip: break;
        case UnknownAction::skip_and_report: {
          const auto tlv = d_.bytes(t.offset, t.length);
          d_.unrecognized().emplace_back(tlv.begin(), tlv.end());
          break;
        }
      }
      advance(t);
    }
  }

  // The container is a parameter (not the message): a parameter missing from it makes
  // the container the offending parameter, which an Invalid Values cause carries.
  void within(const Tlv& container) { container_ = container; }

  // The next parameter, which must be of type `want`.
  bool expect(ParamType want, Tlv& out) {
    std::optional<Tlv> t;
    if (!peek(t)) return false;
    if (!t) return missing(what_ + " lacks its " + describe_param(code(want)));
    if (t->type != code(want))
      return d_.invalid(*t, Errc::unexpected_parameter,
                        describe_param(t->type) + " where " + what_ + " needs its " +
                            describe_param(code(want)));
    out = *t;
    advance(*t);
    return true;
  }

  // The next parameter if it is of type `want`.
  bool optional(ParamType want, std::optional<Tlv>& out) {
    if (!peek(out)) return false;
    if (out && out->type != code(want)) out.reset();
    if (out) advance(*out);
    return true;
  }

  // Nothing but skippable unknown parameters may follow.
  bool finish() {
    std::optional<Tlv> t;
    if (!peek(t)) return false;
    if (t)
      return d_.invalid(*t, Errc::unexpected_parameter,
                        describe_param(t->type) + " is not allowed here in " + what_);
    return true;
  }

  // A mandatory parameter is not there: the container parameter is what is wrong (in the
  // message itself there is no parameter to name: the error points at its end).
  bool missing(std::string detail) {
    if (container_) return d_.invalid(*container_, Errc::missing_parameter, std::move(detail));
    return d_.fail(Errc::missing_parameter, end_, 0, CauseCode::invalid_values,
                   std::move(detail));
  }

  static std::size_t padded(std::size_t length) { return (length + 3) & ~std::size_t{3}; }
  void advance(const Tlv& t) { pos_ = t.offset + padded(t.length); }
  Decoder& decoder() { return d_; }

 private:
  Decoder& d_;
  std::size_t pos_;
  std::size_t end_;
  std::size_t pad_end_;
  std::string what_;
  std::optional<Tlv> container_;
};

bool fixed_length(Decoder& d, const Tlv& t, std::size_t want) {
  if (t.length == want) return true;
  return d.invalid(t, Errc::bad_parameter_length,
                   describe_param(t.type) + " Length " + std::to_string(t.length) +
                       " (must be " + std::to_string(want) + ")");
}

bool get_address(Decoder& d, const Tlv& t, Address& out) {
  if (t.type == code(ParamType::ipv4_address)) {
    if (!fixed_length(d, t, 8)) return false;
    out.family = Address::Family::v4;
    out.bytes = {};
    std::memcpy(out.bytes.data(), d.bytes(t.value(), 4).data(), 4);
    return true;
  }
  if (t.type == code(ParamType::ipv6_address)) {
    if (!fixed_length(d, t, 20)) return false;
    out.family = Address::Family::v6;
    std::memcpy(out.bytes.data(), d.bytes(t.value(), 16).data(), 16);
    return true;
  }
  return d.invalid(t, Errc::unexpected_parameter,
                   describe_param(t.type) + " where an address is needed");
}

bool is_transport(std::uint16_t type) {
  return type >= code(ParamType::dccp_transport) && type <= code(ParamType::udp_lite_transport);
}

bool get_transport(Decoder& d, const Tlv& t, Transport& out) {
  if (!is_transport(t.type))
    return d.invalid(t, Errc::unexpected_parameter,
                     describe_param(t.type) + " where a transport is needed");
  out = Transport{};
  out.kind = static_cast<TransportKind>(t.type);
  const bool dccp = out.kind == TransportKind::dccp;
  const std::size_t fixed = dccp ? 8 : 4;
  if (t.value_length() < fixed)
    return d.invalid(t, Errc::bad_parameter_length,
                     describe_param(t.type) + " Length " + std::to_string(t.length) +
                         " is too short for its fixed fields");
  out.port = d.u16(t.value());
  if (out.kind == TransportKind::sctp || out.kind == TransportKind::tcp) {
    const std::uint16_t use = d.u16(t.value() + 2);
    if (use > 1)
      return d.invalid(t, Errc::invalid_value,
                       describe_param(t.type) + " Transport Use " + hex16(use) +
                           " (0x0000 data only, 0x0001 data plus control)");
    out.use = static_cast<TransportUse>(use);
  }
  if (dccp) out.service_code = d.u32(t.value() + 4);
  Walker w(d, t.value() + fixed, t.end(), describe_param(t.type));
  for (;;) {
    std::optional<Tlv> a;
    if (!w.peek(a)) return false;
    if (!a) break;
    w.advance(*a);
    if (!get_address(d, *a, out.addresses.emplace_back())) return false;
  }
  if (out.addresses.empty() || (out.kind != TransportKind::sctp && out.addresses.size() != 1))
    return d.invalid(t, Errc::invalid_value,
                     describe_param(t.type) + " carries " +
                         std::to_string(out.addresses.size()) + " addresses (must be " +
                         (out.kind == TransportKind::sctp ? "at least 1)" : "exactly 1)"));
  return true;
}

bool get_policy(Decoder& d, const Tlv& t, Policy& out) {
  if (t.value_length() < 4 || t.value_length() % 4 != 0)
    return d.invalid(t, Errc::bad_parameter_length,
                     "Pool Member Selection Policy Length " + std::to_string(t.length) +
                         " (must be 8 plus a multiple of 4)");
  out = Policy{};
  const std::uint32_t type = d.u32(t.value());
  const PolicyInfo* info = policy_info(static_cast<PolicyType>(type));
  if (info == nullptr)
    return d.invalid(t, Errc::invalid_value, "unknown policy type " + hex_id(type));
  out.type = info->type;
  const std::size_t words = t.value_length() / 4 - 1;
  if (words < info->min_decode_fields)
    return d.invalid(t, Errc::bad_parameter_length,
                     std::string(info->name) + " needs " +
                         std::to_string(info->min_decode_fields) + " words, has " +
                         std::to_string(words));
  const std::size_t n = std::min<std::size_t>(words, info->field_count);  // extra words skipped
  for (std::size_t i = 0; i < n; ++i)
    set_policy_field(out, info->fields[i], d.u32(t.value() + 4 + 4 * i));
  return true;
}

bool get_handle(Decoder& d, const Tlv& t, PoolHandle& out) {
  if (t.value_length() == 0) return d.invalid(t, Errc::invalid_value, "empty Pool Handle");
  const auto v = d.bytes(t.value(), t.value_length());
  out.assign(v.begin(), v.end());
  return true;
}

bool get_u32_param(Decoder& d, const Tlv& t, std::uint32_t& out) {
  if (!fixed_length(d, t, 8)) return false;
  out = d.u32(t.value());
  return true;
}

bool get_pool_element(Decoder& d, const Tlv& t, PoolElement& out) {
  if (t.value_length() < 12)
    return d.invalid(t, Errc::bad_parameter_length,
                     "Pool Element Length " + std::to_string(t.length) +
                         " is too short for its fixed fields");
  out = PoolElement{};
  out.identifier = d.u32(t.value());
  out.home_server = d.u32(t.value() + 4);
  out.registration_life = static_cast<std::int32_t>(d.u32(t.value() + 8));
  Walker w(d, t.value() + 12, t.end(), "Pool Element");
  w.within(t);
  std::optional<Tlv> p;
  if (!w.peek(p)) return false;
  if (!p) return w.missing("Pool Element lacks its user transport");
  w.advance(*p);
  if (!get_transport(d, *p, out.user_transport)) return false;
  Tlv pol;
  if (!w.expect(ParamType::pool_member_selection_policy, pol) || !get_policy(d, pol, out.policy))
    return false;
  if (!w.peek(p)) return false;
  if (p && is_transport(p->type)) {
    w.advance(*p);
    if (!get_transport(d, *p, out.asap_transport.emplace())) return false;
  }
  return w.finish();
}

bool get_server_information(Decoder& d, const Tlv& t, ServerInformation& out) {
  if (t.value_length() < 4)
    return d.invalid(t, Errc::bad_parameter_length,
                     "Server Information Length " + std::to_string(t.length) + " is too short");
  out = ServerInformation{};
  out.server_id = d.u32(t.value());
  Walker w(d, t.value() + 4, t.end(), "Server Information");
  w.within(t);
  std::optional<Tlv> p;
  if (!w.peek(p)) return false;
  if (!p) return w.missing("Server Information lacks its server transport");
  w.advance(*p);
  return get_transport(d, *p, out.transport) && w.finish();
}

// Error causes are TLVs without action bits; their information is kept raw.
bool get_operation_error(Decoder& d, const Tlv& t, OperationError& out) {
  out = OperationError{};
  std::size_t pos = t.value();
  while (pos < t.end()) {
    if (t.end() - pos < 4)
      return d.fail(Errc::trailing_bytes, pos, t.end() - pos, CauseCode::invalid_values,
                    "bytes at the end of Operation Error are not an error cause");
    const std::uint16_t len = d.u16(pos + 2);
    const std::size_t padded = (len + 3u) & ~3u;
    if (len < 4 || padded > t.end() - pos)
      return d.fail(len < 4 ? Errc::bad_parameter_length : Errc::truncated_parameter, pos,
                    t.end() - pos, CauseCode::invalid_values,
                    "error cause Length " + std::to_string(len) +
                        (len < 4 ? " is less than 4"
                                 : " (with its padding) runs past the Operation Error"));
    auto& c = out.causes.emplace_back();
    c.code = static_cast<CauseCode>(d.u16(pos));
    const auto info = d.bytes(pos + 4, len - 4u);
    c.info.assign(info.begin(), info.end());
    pos += padded;
  }
  if (out.causes.empty())
    return d.invalid(t, Errc::missing_parameter, "Operation Error without an error cause");
  return true;
}

bool get_cookie(Decoder& d, const Tlv& t, Bytes& out) {
  const auto v = d.bytes(t.value(), t.value_length());
  out.assign(v.begin(), v.end());
  return true;
}

// Shorthands: expect a parameter and convert it.
bool expect_handle(Walker& w, PoolHandle& out) {
  Tlv t;
  return w.expect(ParamType::pool_handle, t) && get_handle(w.decoder(), t, out);
}
bool expect_pe_id(Walker& w, std::uint32_t& out) {
  Tlv t;
  return w.expect(ParamType::pe_identifier, t) && get_u32_param(w.decoder(), t, out);
}
bool expect_pool_element(Walker& w, PoolElement& out) {
  Tlv t;
  return w.expect(ParamType::pool_element, t) && get_pool_element(w.decoder(), t, out);
}
bool expect_operation_error(Walker& w, OperationError& out) {
  Tlv t;
  return w.expect(ParamType::operation_error, t) && get_operation_error(w.decoder(), t, out);
}
template <class T, class Get>
bool maybe(Walker& w, ParamType type, std::optional<T>& out, Get get) {
  std::optional<Tlv> t;
  if (!w.optional(type, t)) return false;
  if (!t) return true;
  return get(w.decoder(), *t, out.emplace());
}
bool pool_elements(Walker& w, std::vector<PoolElement>& out) {
  for (;;) {
    std::optional<Tlv> t;
    if (!w.optional(ParamType::pool_element, t)) return false;
    if (!t) return true;
    if (!get_pool_element(w.decoder(), *t, out.emplace_back())) return false;
  }
}

// Message bodies. `w` walks the parameters after the header and fixed fields.
bool decode_body(Walker& w, a::Registration& m) {
  return expect_handle(w, m.pool_handle) && expect_pool_element(w, m.pool_element);
}
bool decode_body(Walker& w, a::Deregistration& m) {
  return expect_handle(w, m.pool_handle) && expect_pe_id(w, m.pe_identifier);
}
template <class M>
bool handle_id_error(Walker& w, M& m) {
  return expect_handle(w, m.pool_handle) && expect_pe_id(w, m.pe_identifier) &&
         maybe(w, ParamType::operation_error, m.error, get_operation_error);
}
bool decode_body(Walker& w, a::RegistrationResponse& m) { return handle_id_error(w, m); }
bool decode_body(Walker& w, a::DeregistrationResponse& m) { return handle_id_error(w, m); }
bool decode_body(Walker& w, a::HandleResolution& m) {
  return expect_handle(w, m.pool_handle) &&
         maybe(w, ParamType::handle_resolution_option, m.items, get_u32_param);
}
bool decode_body(Walker& w, a::HandleResolutionResponse& m) {
  return expect_handle(w, m.pool_handle) &&
         maybe(w, ParamType::pool_member_selection_policy, m.overall_policy, get_policy) &&
         pool_elements(w, m.pool_elements) &&
         maybe(w, ParamType::operation_error, m.error, get_operation_error);
}
bool decode_body(Walker& w, a::EndpointKeepAlive& m) {
  return expect_handle(w, m.pool_handle) &&
         maybe(w, ParamType::pe_identifier, m.pe_identifier, get_u32_param);
}
bool decode_body(Walker& w, a::EndpointKeepAliveAck& m) {
  return expect_handle(w, m.pool_handle) && expect_pe_id(w, m.pe_identifier);
}
bool decode_body(Walker& w, a::EndpointUnreachable& m) {
  return expect_handle(w, m.pool_handle) && expect_pe_id(w, m.pe_identifier);
}
bool decode_body(Walker& w, a::ServerAnnounce& m) {
  for (;;) {
    std::optional<Tlv> t;
    if (!w.peek(t)) return false;
    if (!t || !is_transport(t->type)) return true;
    w.advance(*t);
    if (!get_transport(w.decoder(), *t, m.transports.emplace_back())) return false;
  }
}
template <class M>
bool cookie_body(Walker& w, M& m) {
  Tlv t;
  return w.expect(ParamType::cookie, t) && get_cookie(w.decoder(), t, m.cookie);
}
bool decode_body(Walker& w, a::Cookie& m) { return cookie_body(w, m); }
bool decode_body(Walker& w, a::CookieEcho& m) { return cookie_body(w, m); }
bool decode_body(Walker& w, a::BusinessCard& m) {
  return expect_handle(w, m.pool_handle) &&
         maybe(w, ParamType::pool_member_selection_policy, m.policy, get_policy) &&
         pool_elements(w, m.pool_elements);
}
bool decode_body(Walker& w, a::Error& m) { return expect_operation_error(w, m.error); }

bool decode_body(Walker& w, e::Presence& m) {
  Tlv t;
  if (!w.expect(ParamType::pe_checksum, t) || !fixed_length(w.decoder(), t, 6)) return false;
  m.pe_checksum = w.decoder().u16(t.value());
  return maybe(w, ParamType::server_information, m.server_information, get_server_information);
}
bool decode_body(Walker&, e::HandleTableRequest&) { return true; }
bool decode_body(Walker& w, e::HandleTableResponse& m) {
  for (;;) {
    std::optional<Tlv> t;
    if (!w.optional(ParamType::pool_handle, t)) return false;
    if (!t) return true;
    auto& pool = m.pools.emplace_back();
    if (!get_handle(w.decoder(), *t, pool.pool_handle) || !pool_elements(w, pool.pool_elements))
      return false;
    if (pool.pool_elements.empty())
      return w.decoder().invalid(*t, Errc::missing_parameter,
                                 "pool \"" + (printable(pool.pool_handle) ? pool.pool_handle : "?") +
                                     "\" in a Handle Table Response has no Pool Element");
  }
}
bool decode_body(Walker& w, e::HandleUpdate& m) {
  return expect_handle(w, m.pool_handle) && expect_pool_element(w, m.pool_element);
}
bool decode_body(Walker&, e::ListRequest&) { return true; }
bool decode_body(Walker& w, e::ListResponse& m) {
  for (;;) {
    std::optional<Tlv> t;
    if (!w.optional(ParamType::server_information, t)) return false;
    if (!t) return true;
    if (!get_server_information(w.decoder(), *t, m.servers.emplace_back())) return false;
  }
}
bool decode_body(Walker&, e::InitTakeover&) { return true; }
bool decode_body(Walker&, e::InitTakeoverAck&) { return true; }
bool decode_body(Walker&, e::TakeoverServer&) { return true; }
bool decode_body(Walker& w, e::Error& m) { return expect_operation_error(w, m.error); }

// Fixed fields between the header and the parameters, and the flags.
template <class M>
std::size_t fixed_size(const M&) {
  if constexpr (EnrpMessage<M>) {
    if constexpr (requires(M m) { m.target; }) return 12;
    else if constexpr (std::is_same_v<M, e::HandleUpdate>) return 12;
    else return 8;
  } else if constexpr (std::is_same_v<M, a::EndpointKeepAlive> ||
                       std::is_same_v<M, a::ServerAnnounce>) {
    return 4;
  } else {
    return 0;
  }
}

template <class M>
bool read_fixed(Decoder& d, std::uint8_t fl, M& m) {
  constexpr std::size_t h = 4;
  if constexpr (EnrpMessage<M>) {
    m.sender = d.u32(h);
    m.receiver = d.u32(h + 4);
  }
  if constexpr (std::is_same_v<M, a::RegistrationResponse>) m.reject = fl & kFlagR;
  if constexpr (std::is_same_v<M, a::EndpointKeepAlive>) {
    m.home = fl & kFlagH;
    m.server_id = d.u32(h);
  }
  if constexpr (std::is_same_v<M, a::ServerAnnounce>) m.server_id = d.u32(h);
  if constexpr (std::is_same_v<M, e::Presence>) m.reply_required = fl & kFlagR;
  if constexpr (std::is_same_v<M, e::HandleTableRequest>) m.own_children_only = fl & kFlagW;
  if constexpr (std::is_same_v<M, e::HandleTableResponse>) {
    m.reject = fl & kFlagR;
    m.more = fl & kFlagM;
  }
  if constexpr (std::is_same_v<M, e::ListResponse>) m.reject = fl & kFlagR;
  if constexpr (requires(M x) { x.target; }) m.target = d.u32(h + 8);
  if constexpr (std::is_same_v<M, e::HandleUpdate>) {
    m.takeover_suggested = fl & kFlagT;
    const std::uint16_t action = d.u16(h + 8);
    if (action > 1)
      return d.fail(Errc::invalid_value, h + 8, 2, CauseCode::invalid_values,
                    "Update Action " + std::to_string(action) + " (0 ADD_PE, 1 DEL_PE)");
    m.action = static_cast<UpdateAction>(action);
  }
  return true;
}

template <class Variant, std::size_t I = 0>
bool emplace_by_type(Variant& v, std::size_t type) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (type == I + 1) {
      v.template emplace<I>();
      return true;
    }
    return emplace_by_type<Variant, I + 1>(v, type);
  } else {
    return false;
  }
}

template <class Variant>
Result<Decoded<Variant>> decode_message(std::span<const std::uint8_t> bytes, const char* proto) {
  Decoder d(bytes);
  if (bytes.size() < 4) {
    d.fail(Errc::truncated_message, 0, bytes.size(), std::nullopt,
           bytes.empty() ? std::string("empty input: a message has at least a 4-byte header")
                         : std::to_string(bytes.size()) +
                               " bytes are less than the 4-byte message header");
    return d.take_error();
  }
  const std::uint8_t type = bytes[0];
  const std::uint8_t fl = bytes[1];
  const std::size_t length = d.u16(2);
  if (length < 4) {
    d.fail(Errc::bad_message_length, 2, 2, std::nullopt,
           "Message Length " + std::to_string(length) + " is less than the 4-byte header");
    return d.take_error();
  }
  // The message occupies Length plus its padding: RSPLIB pads after the Length when
  // it is not a multiple of 4 (we never send such a Length).
  const std::size_t padded_length = (length + 3) & ~std::size_t{3};
  if (padded_length > bytes.size()) {
    d.fail(Errc::truncated_message, bytes.size(), 0, std::nullopt,
           "Message Length " + std::to_string(length) +
               (padded_length != length ? " (" + std::to_string(padded_length) + " padded)"
                                        : std::string()) +
               " but only " + std::to_string(bytes.size()) + " bytes");
    return d.take_error();
  }
  if (bytes.size() > padded_length) {
    d.fail(Errc::trailing_bytes, padded_length, bytes.size() - padded_length, std::nullopt,
           std::to_string(bytes.size() - padded_length) + " bytes after the Message Length " +
               std::to_string(length));
    return d.take_error();
  }
  Decoded<Variant> out;
  if (!emplace_by_type(out.message, type)) {
    d.fail(Errc::unknown_message_type, 0, length, CauseCode::unrecognized_message,
           std::string("unknown ") + proto + " message type " + hex8(type));
    return d.take_error();
  }
  const bool ok = std::visit(
      [&](auto& m) {
        const std::size_t fixed = fixed_size(m);
        if (length < 4 + fixed)
          return d.fail(Errc::truncated_message, 4, length - 4, CauseCode::invalid_values,
                        "Message Length " + std::to_string(length) + " leaves no room for the " +
                            std::to_string(fixed) + " bytes of fixed fields");
        if (!read_fixed(d, fl, m)) return false;
        Walker w(d, 4 + fixed, length, padded_length, std::string(proto) + " message");
        return decode_body(w, m) && w.finish();
      },
      out.message);
  if (!ok) return d.take_error();
  out.unrecognized = std::move(d.unrecognized());
  return out;
}

}  // namespace

AsapType asap::type_of(const Message& m) { return static_cast<AsapType>(m.index() + 1); }
EnrpType enrp::type_of(const Message& m) { return static_cast<EnrpType>(m.index() + 1); }

Result<Decoded<asap::Message>> decode_asap(std::span<const std::uint8_t> bytes) {
  return decode_message<asap::Message>(bytes, "ASAP");
}
Result<Decoded<enrp::Message>> decode_enrp(std::span<const std::uint8_t> bytes) {
  return decode_message<enrp::Message>(bytes, "ENRP");
}

bool encode(const asap::Message& m, Bytes& out) { return encode_message(m, out); }
bool encode(const enrp::Message& m, Bytes& out) { return encode_message(m, out); }
Bytes encode(const asap::Message& m) {
  Bytes out;
  encode(m, out);
  return out;
}
Bytes encode(const enrp::Message& m) {
  Bytes out;
  encode(m, out);
  return out;
}

bool encode_resolution(const PoolHandle& pool_handle, const Policy& overall_policy,
                       std::span<const PoolElement* const> pool_elements, Bytes& out) {
  const std::size_t start = out.size();
  out.reserve(start + kReserve);
  Writer w(out);
  begin_message(w, static_cast<std::uint8_t>(AsapType::handle_resolution_response), 0);
  put_handle(w, pool_handle);
  put(w, overall_policy);
  for (const PoolElement* pe : pool_elements) put(w, *pe, false);
  return end_message(w, out, start);
}

namespace {
template <class P>
Bytes parameter_bytes(const P& p) {
  Bytes out;
  Writer w(out);
  put(w, p);
  if (!w.ok()) out.clear();
  return out;
}
}  // namespace

Bytes encode_parameter(const Transport& t) { return parameter_bytes(t); }
Bytes encode_parameter(const Policy& p) { return parameter_bytes(p); }
Bytes encode_parameter(const PoolElement& pe) { return parameter_bytes(pe); }

std::optional<OperationError> error_reply(const DecodeError& e,
                                          std::span<const std::uint8_t> bytes) {
  if (!e.cause) return std::nullopt;
  ErrorCause c;
  c.code = *e.cause;
  const bool echo = *e.cause == CauseCode::unrecognized_parameter ||
                    *e.cause == CauseCode::unrecognized_message ||
                    *e.cause == CauseCode::invalid_values;
  if (echo && e.offset < bytes.size()) {
    const auto info = bytes.subspan(e.offset, std::min(e.length, bytes.size() - e.offset));
    c.info.assign(info.begin(), info.end());
  }
  return OperationError{{std::move(c)}};
}

}  // namespace rserpool::wire
