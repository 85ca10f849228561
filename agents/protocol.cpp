// The agent protocol's JSON (protocol.hpp): each message's keys, the checks of what is read,
// and the op tables of parse_request / parse_reply.
#include "agents/protocol.hpp"

#include <utility>

namespace rsplab::agents::protocol {
namespace {

// What a field must hold, as the messages say it ("an integer").
template <typename T>
struct Kind;
template <>
struct Kind<std::string> {
  static bool fits(const json& v) { return v.is_string(); }
  static constexpr const char* name = "a string";
};
template <>
struct Kind<bool> {
  static bool fits(const json& v) { return v.is_boolean(); }
  static constexpr const char* name = "a boolean";
};
template <>
struct Kind<int> {
  static bool fits(const json& v) { return v.is_number_integer(); }
  static constexpr const char* name = "an integer";
};
template <>
struct Kind<long> : Kind<int> {};
template <>
struct Kind<long long> : Kind<int> {};
template <>
struct Kind<unsigned long> {
  static bool fits(const json& v) { return v.is_number_unsigned(); }
  static constexpr const char* name = "an unsigned integer";
};
template <>
struct Kind<double> {
  static bool fits(const json& v) { return v.is_number(); }
  static constexpr const char* name = "a number";
};
template <>
struct Kind<std::vector<std::string>> {
  static bool fits(const json& v) {
    if (!v.is_array()) return false;
    for (const auto& x : v)
      if (!x.is_string()) return false;
    return true;
  }
  static constexpr const char* name = "an array of strings";
};
template <>
struct Kind<json> {
  static bool fits(const json& v) { return v.is_object(); }
  static constexpr const char* name = "an object";
};

[[noreturn]] void reject(std::string_view op, const std::string& what) {
  throw Malformed(std::string(op) + ": " + what);
}

// `j` is an object whose "op" is `op`.
void check_op(const json& j, std::string_view op) {
  if (!j.is_object()) reject(op, std::string("not a JSON object but ") + j.type_name());
  const auto it = j.find("op");
  if (it == j.end() || !it->is_string()) reject(op, "field \"op\" is missing");
  if (it->get<std::string>() != op) reject(op, "op is '" + it->get<std::string>() + "'");
}

// Reads j[key] into `out` when present (leaves it as is when absent); the wrong type throws.
template <typename T>
bool read_optional(const json& j, std::string_view op, const char* key, T& out) {
  const auto it = j.find(key);
  if (it == j.end()) return false;
  if (!Kind<T>::fits(*it))
    reject(op, std::string("field \"") + key + "\" must be " + Kind<T>::name + ", not " +
                   it->type_name());
  out = it->template get<T>();
  return true;
}
template <typename T>
bool read_optional(const json& j, std::string_view op, const char* key, std::optional<T>& out) {
  T v{};
  if (!read_optional(j, op, key, v)) return false;
  out = std::move(v);
  return true;
}
template <typename T>
void read_required(const json& j, std::string_view op, const char* key, T& out) {
  if (!read_optional(j, op, key, out))
    reject(op, std::string("field \"") + key + "\" is missing");
}

// `j` is a component's event whose "event" is `event`.
void check_event(const json& j, std::string_view event) {
  if (!j.is_object()) reject(event, std::string("not a JSON object but ") + j.type_name());
  const auto it = j.find("event");
  if (it == j.end() || !it->is_string()) reject(event, "field \"event\" is missing");
  if (it->get<std::string>() != event) reject(event, "event is '" + it->get<std::string>() + "'");
}

json with_op(std::string_view op) { return json{{"op", op}}; }

template <typename Variant, typename M>
Variant read_as(const json& j) {
  return j.get<M>();
}

}  // namespace

// ---- Requests ----

void to_json(json& j, const HelloRequest&) { j = with_op(op::hello); }
void from_json(const json& j, HelloRequest&) { check_op(j, op::hello); }

void to_json(json& j, const TimeRequest& m) {
  j = with_op(op::time);
  j["seq"] = m.seq;
}
void from_json(const json& j, TimeRequest& m) {
  check_op(j, op::time);
  read_optional(j, op::time, "seq", m.seq);
}

void to_json(json& j, const StartRequest& m) {
  j = with_op(op::start);
  j["name"] = m.name;
  j["role"] = m.role;
  j["args"] = m.args;
}
void from_json(const json& j, StartRequest& m) {
  check_op(j, op::start);
  read_required(j, op::start, "name", m.name);
  read_required(j, op::start, "role", m.role);
  read_optional(j, op::start, "args", m.args);
}

void to_json(json& j, const SignalRequest& m) {
  j = with_op(op::signal);
  j["name"] = m.name;
  j["signal"] = m.signal;
}
void from_json(const json& j, SignalRequest& m) {
  check_op(j, op::signal);
  read_required(j, op::signal, "name", m.name);
  read_required(j, op::signal, "signal", m.signal);
}

void to_json(json& j, const ControlRequest& m) {
  j = with_op(op::control);
  j["name"] = m.name;
  j["line"] = m.line;
}
void from_json(const json& j, ControlRequest& m) {
  check_op(j, op::control);
  read_required(j, op::control, "name", m.name);
  read_required(j, op::control, "line", m.line);
}

void to_json(json& j, const LinkRequest& m) {
  j = with_op(op::link);
  j["interface"] = m.interface;
  j["up"] = m.up;
}
void from_json(const json& j, LinkRequest& m) {
  check_op(j, op::link);
  read_required(j, op::link, "interface", m.interface);
  read_required(j, op::link, "up", m.up);
}

void to_json(json& j, const StopRequest&) { j = with_op(op::stop); }
void from_json(const json& j, StopRequest&) { check_op(j, op::stop); }

// ---- Replies ----

void to_json(json& j, const HelloReply& m) {
  j = with_op(op::hello);
  j["version"] = m.version;
  j["pid"] = m.pid;
  j["host"] = m.host;
  j["unix_us"] = m.unix_us;
  j["addresses"] = m.addresses;
  if (m.control_address) j["control_address"] = *m.control_address;
  if (m.control_interface) j["control_interface"] = *m.control_interface;
}
void from_json(const json& j, HelloReply& m) {
  check_op(j, op::hello);
  read_required(j, op::hello, "version", m.version);
  read_optional(j, op::hello, "pid", m.pid);
  read_optional(j, op::hello, "host", m.host);
  read_optional(j, op::hello, "unix_us", m.unix_us);
  read_optional(j, op::hello, "addresses", m.addresses);
  read_optional(j, op::hello, "control_address", m.control_address);
  read_optional(j, op::hello, "control_interface", m.control_interface);
}

void to_json(json& j, const TimeReply& m) {
  j = with_op(op::time);
  j["seq"] = m.seq;
  j["unix_us"] = m.unix_us;
}
void from_json(const json& j, TimeReply& m) {
  check_op(j, op::time);
  read_optional(j, op::time, "seq", m.seq);
  read_required(j, op::time, "unix_us", m.unix_us);
}

void to_json(json& j, const Started& m) {
  j = with_op(op::started);
  j["name"] = m.name;
  j["pid"] = m.pid;
}
void from_json(const json& j, Started& m) {
  check_op(j, op::started);
  read_required(j, op::started, "name", m.name);
  read_optional(j, op::started, "pid", m.pid);
}

void to_json(json& j, const Line& m) {
  j = with_op(op::line);
  j["name"] = m.name;
  j["line"] = m.line;
}
void from_json(const json& j, Line& m) {
  check_op(j, op::line);
  read_required(j, op::line, "name", m.name);
  read_required(j, op::line, "line", m.line);
}

void to_json(json& j, const Event& m) {
  j = with_op(op::event);
  j["name"] = m.name;
  j["event"] = m.event;
}
void from_json(const json& j, Event& m) {
  check_op(j, op::event);
  read_required(j, op::event, "name", m.name);
  read_required(j, op::event, "event", m.event);
}

void to_json(json& j, const Exited& m) {
  j = with_op(op::exited);
  j["name"] = m.name;
  j["status"] = m.status;
  j["code"] = m.code;
  j["max_rss_kib"] = m.max_rss_kib;
  j["cpu_s"] = m.cpu_s;
}
void from_json(const json& j, Exited& m) {
  check_op(j, op::exited);
  read_required(j, op::exited, "name", m.name);
  read_required(j, op::exited, "status", m.status);
  read_required(j, op::exited, "code", m.code);
  read_optional(j, op::exited, "max_rss_kib", m.max_rss_kib);
  read_optional(j, op::exited, "cpu_s", m.cpu_s);
}

void to_json(json& j, const LinkReply& m) {
  j = with_op(op::link);
  j["interface"] = m.interface;
  j["up"] = m.up;
  j["ok"] = m.ok;
  if (m.error) j["error"] = *m.error;
}
void from_json(const json& j, LinkReply& m) {
  check_op(j, op::link);
  read_optional(j, op::link, "interface", m.interface);
  read_optional(j, op::link, "up", m.up);
  read_required(j, op::link, "ok", m.ok);
  read_optional(j, op::link, "error", m.error);
}

void to_json(json& j, const Stopped&) { j = with_op(op::stopped); }
void from_json(const json& j, Stopped&) { check_op(j, op::stopped); }

void to_json(json& j, const Error& m) {
  j = with_op(op::error);
  j["message"] = m.message;
}
void from_json(const json& j, Error& m) {
  check_op(j, op::error);
  read_required(j, op::error, "message", m.message);
}

// ---- What components report ----

void from_json(const json& j, RegistrarReady& m) {
  const std::string_view event = RegistrarReady::kName;
  check_event(j, event);
  read_required(j, event, "asap", m.asap);
  read_required(j, event, "enrp", m.enrp);
  read_optional(j, event, "transport", m.transport);
}

void from_json(const json& j, MemberReady& m) {
  const std::string_view event = MemberReady::kName;
  check_event(j, event);
  read_required(j, event, "member", m.member);
  read_required(j, event, "id", m.id);
}

// ---- Lines ----

Request parse_request(const std::string& line) {
  using Read = Request (*)(const json&);
  static const std::pair<std::string_view, Read> table[] = {
      {op::hello, read_as<Request, HelloRequest>},
      {op::time, read_as<Request, TimeRequest>},
      {op::start, read_as<Request, StartRequest>},
      {op::signal, read_as<Request, SignalRequest>},
      {op::control, read_as<Request, ControlRequest>},
      {op::link, read_as<Request, LinkRequest>},
      {op::stop, read_as<Request, StopRequest>},
  };
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("op") || !j["op"].is_string())
    throw Malformed("not a request (a JSON object with \"op\"): " + line);
  const std::string name = j["op"];
  std::string known;
  for (const auto& [op, read] : table) {
    if (op == name) return read(j);
    known += (known.empty() ? "" : ", ") + std::string(op);
  }
  throw Malformed("unknown op '" + name + "' (" + known + ")");
}

std::optional<Reply> parse_reply(const std::string& line) {
  using Read = Reply (*)(const json&);
  static const std::pair<std::string_view, Read> table[] = {
      {op::hello, read_as<Reply, HelloReply>},  {op::time, read_as<Reply, TimeReply>},
      {op::started, read_as<Reply, Started>},   {op::line, read_as<Reply, Line>},
      {op::event, read_as<Reply, Event>},       {op::exited, read_as<Reply, Exited>},
      {op::link, read_as<Reply, LinkReply>},    {op::stopped, read_as<Reply, Stopped>},
      {op::error, read_as<Reply, Error>},
  };
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("op") || !j["op"].is_string())
    throw Malformed("not a protocol line: " + line);
  const std::string name = j["op"];
  for (const auto& [op, read] : table)
    if (op == name) return read(j);
  return std::nullopt;
}

}  // namespace rsplab::agents::protocol
