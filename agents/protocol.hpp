// The site agent's protocol (agents/agent.hpp, agents/README.md), once: the op names, one
// struct per request (runner → agent) and per reply or notification (agent → runner), each
// with nlohmann's to_json / from_json, used by the agent (agents/agent.cpp), the runner
// (experiments/agent_link.cpp) and `rsplab plan`'s probe (agents/remote.cpp). A field
// renamed here is a compile error on both ends; the JSON keys are the wire format and stay
// (an older agent over ssh still talks to a newer runner: tests/agents/protocol_test.cpp
// compares each struct's JSON with the text the literals used to write).
//
// Reading (from_json, parse_request, parse_reply): a field the reader needs is required; a
// field it can do without is optional (its default here when absent, as the reading always
// was); either, when present with the wrong type, is rejected. Every rejection is a
// Malformed naming the op and the field: `start: field "name" is missing`,
// `signal: field "signal" must be an integer, not string`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/common/events.hpp"

namespace rsplab::agents::protocol {

using json = nlohmann::json;

// The ops: each request's name, and each reply's (hello, time and link answer under theirs).
namespace op {
inline constexpr std::string_view hello = "hello", time = "time", start = "start",
                                  signal = "signal", control = "control", link = "link",
                                  stop = "stop", started = "started", line = "line",
                                  event = "event", exited = "exited", stopped = "stopped",
                                  error = "error";
}  // namespace op

// A line that is not the protocol: what was wrong, for the other end to read.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- Requests (runner → agent) ----
// Each message's op is its kOp.

struct HelloRequest {
  static constexpr std::string_view kOp = op::hello;
};
struct TimeRequest {
  static constexpr std::string_view kOp = op::time;
  std::int64_t seq = 0;  // optional; echoed in the reply (-1: the runner's heartbeat)
};
// Starts `rsplab ROLE ARGS... --events -` on the agent's host.
struct StartRequest {
  static constexpr std::string_view kOp = op::start;
  std::string name, role;          // role: registrar, pe or pu
  std::vector<std::string> args;   // optional
};
struct SignalRequest {
  static constexpr std::string_view kOp = op::signal;
  std::string name;
  int signal = 0;
};
// A line to the component's standard input (`--control stdin`).
struct ControlRequest {
  static constexpr std::string_view kOp = op::control;
  std::string name, line;
};
// `ip link set dev INTERFACE up|down` on the agent's host.
struct LinkRequest {
  static constexpr std::string_view kOp = op::link;
  std::string interface;
  bool up = false;
};
struct StopRequest {
  static constexpr std::string_view kOp = op::stop;
};

using Request = std::variant<HelloRequest, TimeRequest, StartRequest, SignalRequest,
                             ControlRequest, LinkRequest, StopRequest>;

// ---- Replies and notifications (agent → runner) ----

// The agent's version, pid, host name, clock (UTC µs) and the addresses components could
// bind; over ssh also the local end of that connection and its interface.
struct HelloReply {
  static constexpr std::string_view kOp = op::hello;
  std::string version;  // required; the rest optional
  int pid = 0;
  std::string host;
  std::int64_t unix_us = 0;
  std::vector<std::string> addresses;
  std::optional<std::string> control_address, control_interface;
};
struct TimeReply {
  static constexpr std::string_view kOp = op::time;
  std::int64_t seq = 0, unix_us = 0;
};
struct Started {
  static constexpr std::string_view kOp = op::started;
  std::string name;
  int pid = 0;  // optional
};
// A component's output line that is not JSON ("asap 10.0.0.1:3863", "pe 1a2b ...").
struct Line {
  static constexpr std::string_view kOp = op::line;
  std::string name, line;
};
// A component's JSON event, as it wrote it (stack/common/events.hpp).
struct Event {
  static constexpr std::string_view kOp = op::event;
  std::string name;
  json event = json::object();
};
// A component's end: its wait status as text, exit code (-1: by a signal), peak memory and
// CPU time (both optional).
struct Exited {
  static constexpr std::string_view kOp = op::exited;
  std::string name;
  int code = -1;
  std::string status;  // "exit 0", "signal 9", ...
  long max_rss_kib = 0;
  double cpu_s = 0;
};
// The answer to a LinkRequest: `error` says why when !ok.
struct LinkReply {
  static constexpr std::string_view kOp = op::link;
  std::string interface;  // optional, as is `up`
  bool up = false;
  bool ok = false;
  std::optional<std::string> error;
};
struct Stopped {
  static constexpr std::string_view kOp = op::stopped;
};
// A request the agent could not carry out, or did not understand.
struct Error {
  static constexpr std::string_view kOp = op::error;
  std::string message;
};

using Reply = std::variant<HelloReply, TimeReply, Started, Line, Event, Exited, LinkReply,
                           Stopped, Error>;

// ---- What a component reports of itself (its event stream, forwarded as Event) ----
// The runner learns endpoints and identities from these, not from the text the components
// also print for their users ("asap 10.0.0.1,10.1.0.1:3863", "pe 1a2b3c4d 10.0.0.1:40001").

// The events themselves are stack/common/events.hpp's (written by node/ through them); the
// runner reads them as these, with the protocol's checks and messages (Malformed): a
// registrar's {"event":"ready",...} (its ASAP and ENRP endpoints required, its transport
// optional) and a PE or PU member's (its index in its group and its identifier).
struct RegistrarReady : common::RegistrarReady {};
struct MemberReady : common::MemberReady {
  using common::MemberReady::MemberReady;
};

#define RSPLAB_PROTOCOL_MESSAGE(T)       \
  void to_json(json& j, const T& m);     \
  void from_json(const json& j, T& m);
RSPLAB_PROTOCOL_MESSAGE(HelloRequest)
RSPLAB_PROTOCOL_MESSAGE(TimeRequest)
RSPLAB_PROTOCOL_MESSAGE(StartRequest)
RSPLAB_PROTOCOL_MESSAGE(SignalRequest)
RSPLAB_PROTOCOL_MESSAGE(ControlRequest)
RSPLAB_PROTOCOL_MESSAGE(LinkRequest)
RSPLAB_PROTOCOL_MESSAGE(StopRequest)
RSPLAB_PROTOCOL_MESSAGE(HelloReply)
RSPLAB_PROTOCOL_MESSAGE(TimeReply)
RSPLAB_PROTOCOL_MESSAGE(Started)
RSPLAB_PROTOCOL_MESSAGE(Line)
RSPLAB_PROTOCOL_MESSAGE(Event)
RSPLAB_PROTOCOL_MESSAGE(Exited)
RSPLAB_PROTOCOL_MESSAGE(LinkReply)
RSPLAB_PROTOCOL_MESSAGE(Stopped)
RSPLAB_PROTOCOL_MESSAGE(Error)
#undef RSPLAB_PROTOCOL_MESSAGE
// (Their to_json is events.hpp's.)
void from_json(const json& j, RegistrarReady& m);
void from_json(const json& j, MemberReady& m);

// One message as its line (no newline): the bytes both ends write.
template <typename M>
std::string encode(const M& m) {
  return json(m).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A request line → its struct. Throws Malformed: not a JSON object with a string "op",
// an unknown op (naming the known ones), or a missing or ill-typed field.
Request parse_request(const std::string& line);

// A reply line → its struct; std::nullopt for an op this end does not know (a newer agent's:
// ignored). Throws Malformed as parse_request does.
std::optional<Reply> parse_reply(const std::string& line);

}  // namespace rsplab::agents::protocol
