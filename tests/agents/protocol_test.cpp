// The agent protocol's structs (agents/protocol.hpp): each encodes to the very bytes the
// literals of agents/agent.cpp and experiments/agent_link.cpp wrote before them (so an
// older agent over ssh and a newer runner still understand each other, and the other way
// round), each reads back to itself, and a malformed line is a Malformed that names the op
// and the field, never a crash.
#include "agents/protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <variant>

namespace rsplab::agents::protocol {
namespace {

// A line's struct, read back as the other end reads it.
template <typename M>
M request_back(const std::string& line) {
  return std::get<M>(parse_request(line));
}
template <typename M>
M reply_back(const std::string& line) {
  const auto r = parse_reply(line);
  EXPECT_TRUE(r.has_value()) << line;
  return std::get<M>(*r);
}

// The text each request had when experiments/agent_link.cpp (and agents/remote.cpp) built it
// from literals: `json{{"op", "time"}, {"seq", seq}}.dump()` and so on.
TEST(AgentProtocol, RequestsAreTheBytesTheRunnerAlwaysSent) {
  EXPECT_EQ(encode(HelloRequest{}), R"({"op":"hello"})");
  EXPECT_EQ(encode(TimeRequest{3}), R"({"op":"time","seq":3})");
  EXPECT_EQ(encode(TimeRequest{-1}), R"({"op":"time","seq":-1})");
  EXPECT_EQ(encode(StartRequest{"P/pe0", "pe", {"--asap", "127.0.0.1:3863"}}),
            R"({"args":["--asap","127.0.0.1:3863"],"name":"P/pe0","op":"start","role":"pe"})");
  EXPECT_EQ(encode(StartRequest{"pr0", "registrar", {}}),
            R"({"args":[],"name":"pr0","op":"start","role":"registrar"})");
  EXPECT_EQ(encode(ControlRequest{"P/pe0", R"({"cmd":"kill","member":1})"}),
            R"({"line":"{\"cmd\":\"kill\",\"member\":1}","name":"P/pe0","op":"control"})");
  EXPECT_EQ(encode(SignalRequest{"P/pe0", 9}), R"({"name":"P/pe0","op":"signal","signal":9})");
  EXPECT_EQ(encode(LinkRequest{"eth0", false}), R"({"interface":"eth0","op":"link","up":false})");
  EXPECT_EQ(encode(StopRequest{}), R"({"op":"stop"})");
}

// The text each reply had when agents/agent.cpp built it from literals.
TEST(AgentProtocol, RepliesAreTheBytesTheAgentAlwaysSent) {
  HelloReply h{"0.9.0", 42, "h1", 1700000000000001, {"10.0.0.1", "fd00::1"}, {}, {}};
  EXPECT_EQ(encode(h),
            R"({"addresses":["10.0.0.1","fd00::1"],"host":"h1","op":"hello","pid":42,)"
            R"("unix_us":1700000000000001,"version":"0.9.0"})");
  h.control_address = "127.0.0.1";
  h.control_interface = "lo";
  h.addresses.clear();
  EXPECT_EQ(encode(h),
            R"({"addresses":[],"control_address":"127.0.0.1","control_interface":"lo",)"
            R"("host":"h1","op":"hello","pid":42,"unix_us":1700000000000001,"version":"0.9.0"})");
  EXPECT_EQ(encode(TimeReply{7, 123}), R"({"op":"time","seq":7,"unix_us":123})");
  EXPECT_EQ(encode(Started{"pr0", 77}), R"({"name":"pr0","op":"started","pid":77})");
  EXPECT_EQ(encode(Line{"pr0", "asap 127.0.0.1:3863"}),
            R"({"line":"asap 127.0.0.1:3863","name":"pr0","op":"line"})");
  EXPECT_EQ(encode(Event{"P/pe0", {{"event", "ready"}, {"id", "x"}}}),
            R"({"event":{"event":"ready","id":"x"},"name":"P/pe0","op":"event"})");
  EXPECT_EQ(encode(Exited{"pr0", 0, "exit 0", 9000, 0.25}),
            R"({"code":0,"cpu_s":0.25,"max_rss_kib":9000,"name":"pr0","op":"exited","status":"exit 0"})");
  EXPECT_EQ(encode(Exited{"P/pu0", -1, "signal 9", 1, 0}),
            R"({"code":-1,"cpu_s":0.0,"max_rss_kib":1,"name":"P/pu0","op":"exited","status":"signal 9"})");
  EXPECT_EQ(encode(LinkReply{"eth0", true, true, {}}),
            R"({"interface":"eth0","ok":true,"op":"link","up":true})");
  EXPECT_EQ(encode(LinkReply{"lo", false, false, "refused: lo"}),
            R"({"error":"refused: lo","interface":"lo","ok":false,"op":"link","up":false})");
  EXPECT_EQ(encode(Stopped{}), R"({"op":"stopped"})");
  EXPECT_EQ(encode(Error{"start: 'pr0' exists already"}),
            R"({"message":"start: 'pr0' exists already","op":"error"})");
  // Components' bytes pass as they are (the agent never escaped non-ASCII).
  EXPECT_EQ(encode(Line{"pr0", "café"}), R"({"line":"café","name":"pr0","op":"line"})");
}

TEST(AgentProtocol, EveryRequestReadsBackToItself) {
  EXPECT_TRUE(std::holds_alternative<HelloRequest>(parse_request(encode(HelloRequest{}))));
  EXPECT_EQ(request_back<TimeRequest>(encode(TimeRequest{-1})).seq, -1);
  const auto s = request_back<StartRequest>(encode(StartRequest{"P/pe0", "pe", {"-a", "b"}}));
  EXPECT_EQ(s.name, "P/pe0");
  EXPECT_EQ(s.role, "pe");
  EXPECT_EQ(s.args, (std::vector<std::string>{"-a", "b"}));
  const auto sig = request_back<SignalRequest>(encode(SignalRequest{"x", 19}));
  EXPECT_EQ(sig.name, "x");
  EXPECT_EQ(sig.signal, 19);
  const auto c = request_back<ControlRequest>(encode(ControlRequest{"x", "{\"cmd\":1}"}));
  EXPECT_EQ(c.name, "x");
  EXPECT_EQ(c.line, "{\"cmd\":1}");
  const auto l = request_back<LinkRequest>(encode(LinkRequest{"eth1", true}));
  EXPECT_EQ(l.interface, "eth1");
  EXPECT_TRUE(l.up);
  EXPECT_TRUE(std::holds_alternative<StopRequest>(parse_request(encode(StopRequest{}))));
}

TEST(AgentProtocol, EveryReplyReadsBackToItself) {
  const auto h = reply_back<HelloReply>(
      encode(HelloReply{"v", 3, "h", 99, {"10.0.0.1"}, "127.0.0.1", "lo"}));
  EXPECT_EQ(h.version, "v");
  EXPECT_EQ(h.pid, 3);
  EXPECT_EQ(h.host, "h");
  EXPECT_EQ(h.unix_us, 99);
  EXPECT_EQ(h.addresses, std::vector<std::string>{"10.0.0.1"});
  EXPECT_EQ(h.control_address, "127.0.0.1");
  EXPECT_EQ(h.control_interface, "lo");
  HelloReply bare;
  bare.version = "v";
  EXPECT_FALSE(reply_back<HelloReply>(encode(bare)).control_address);
  const auto t = reply_back<TimeReply>(encode(TimeReply{-1, 1700000000000001}));
  EXPECT_EQ(t.seq, -1);
  EXPECT_EQ(t.unix_us, 1700000000000001);
  const auto st = reply_back<Started>(encode(Started{"pr0", 77}));
  EXPECT_EQ(st.name, "pr0");
  EXPECT_EQ(st.pid, 77);
  const auto li = reply_back<Line>(encode(Line{"pr0", "asap 1"}));
  EXPECT_EQ(li.name, "pr0");
  EXPECT_EQ(li.line, "asap 1");
  const auto e = reply_back<Event>(encode(Event{"P/pe0", {{"event", "ready"}}}));
  EXPECT_EQ(e.name, "P/pe0");
  EXPECT_EQ(e.event, (json{{"event", "ready"}}));
  const auto x = reply_back<Exited>(encode(Exited{"pr0", 3, "exit 3", 9000, 0.5}));
  EXPECT_EQ(x.name, "pr0");
  EXPECT_EQ(x.code, 3);
  EXPECT_EQ(x.status, "exit 3");
  EXPECT_EQ(x.max_rss_kib, 9000);
  EXPECT_EQ(x.cpu_s, 0.5);
  const auto lr = reply_back<LinkReply>(encode(LinkReply{"eth0", false, false, "exit 2: x"}));
  EXPECT_EQ(lr.interface, "eth0");
  EXPECT_FALSE(lr.up);
  EXPECT_FALSE(lr.ok);
  EXPECT_EQ(lr.error, "exit 2: x");
  EXPECT_TRUE(std::holds_alternative<Stopped>(*parse_reply(encode(Stopped{}))));
  EXPECT_EQ(reply_back<Error>(encode(Error{"no"})).message, "no");
}

// The text of the Malformed a line gives (or "" when it reads).
template <typename Parse>
std::string rejection(Parse parse, const std::string& line) {
  try {
    parse(line);
  } catch (const Malformed& e) {
    return e.what();
  }
  return "";
}
std::string request_rejection(const std::string& line) { return rejection(parse_request, line); }
std::string reply_rejection(const std::string& line) { return rejection(parse_reply, line); }

TEST(AgentProtocol, AMalformedRequestSaysWhichOpAndWhichField) {
  EXPECT_EQ(request_rejection(R"({"op":"start","role":"pe"})"),
            R"(start: field "name" is missing)");
  EXPECT_EQ(request_rejection(R"({"op":"signal","name":"x","signal":"KILL"})"),
            R"(signal: field "signal" must be an integer, not string)");
  EXPECT_EQ(request_rejection(R"({"op":"start","name":"x","role":"pe","args":["a",1]})"),
            R"(start: field "args" must be an array of strings, not array)");
  EXPECT_EQ(request_rejection(R"({"op":"link","interface":"eth0","up":"no"})"),
            R"(link: field "up" must be a boolean, not string)");
  EXPECT_EQ(request_rejection(R"({"op":"control","name":"x"})"),
            R"(control: field "line" is missing)");
  EXPECT_EQ(request_rejection(R"({"op":"time","seq":"one"})"),
            R"(time: field "seq" must be an integer, not string)");
  EXPECT_EQ(request_rejection(R"({"op":"fly"})"),
            "unknown op 'fly' (hello, time, start, signal, control, link, stop)");
  EXPECT_EQ(request_rejection("not json"),
            R"(not a request (a JSON object with "op"): not json)");
  EXPECT_EQ(request_rejection(R"({"op":7})"), R"(not a request (a JSON object with "op"): {"op":7})");
  EXPECT_EQ(request_rejection("[1,2]"), R"(not a request (a JSON object with "op"): [1,2])");
  // What may be left out is: time's seq (0), start's args (none).
  EXPECT_EQ(request_back<TimeRequest>(R"({"op":"time"})").seq, 0);
  EXPECT_TRUE(request_back<StartRequest>(R"({"op":"start","name":"x","role":"pe"})").args.empty());
}

TEST(AgentProtocol, AMalformedReplySaysWhichOpAndWhichField) {
  EXPECT_EQ(reply_rejection(R"({"op":"exited","name":"pr0","status":"exit 0"})"),
            R"(exited: field "code" is missing)");
  EXPECT_EQ(reply_rejection(R"({"op":"event","name":"pr0","event":"ready"})"),
            R"(event: field "event" must be an object, not string)");
  EXPECT_EQ(reply_rejection(R"({"op":"line","line":"asap 1"})"),
            R"(line: field "name" is missing)");
  EXPECT_EQ(reply_rejection(R"({"op":"hello","version":3})"),
            R"(hello: field "version" must be a string, not number)");
  EXPECT_EQ(reply_rejection(R"({"op":"time","seq":1,"unix_us":1.5})"),
            R"(time: field "unix_us" must be an integer, not number)");
  EXPECT_EQ(reply_rejection(R"({"op":"link","ok":true,"error":false})"),
            R"(link: field "error" must be a string, not boolean)");
  EXPECT_EQ(reply_rejection("not json"), "not a protocol line: not json");
  EXPECT_EQ(reply_rejection(R"({"name":"x"})"), R"(not a protocol line: {"name":"x"})");
  // A newer agent's op is none of this runner's business.
  EXPECT_FALSE(parse_reply(R"({"op":"stats","name":"x"})").has_value());
  // What the runner can do without: everything of hello but its version, the rest of link.
  const auto h = reply_back<HelloReply>(R"({"op":"hello","version":"1.2"})");
  EXPECT_EQ(h.version, "1.2");
  EXPECT_TRUE(h.addresses.empty());
  EXPECT_FALSE(reply_back<LinkReply>(R"({"op":"link","ok":false})").error);
}

// A struct read as another op's is refused (the op is part of each message).
TEST(AgentProtocol, AStructReadsOnlyItsOwnOp) {
  try {
    json{{"op", "stop"}}.get<StartRequest>();
    FAIL() << "read a stop as a start";
  } catch (const Malformed& e) {
    EXPECT_STREQ(e.what(), "start: op is 'stop'");
  }
}

// What components report of themselves, as `rsplab registrar` and a PE member write it
// (node/registrar.cpp, node/member.hpp: "id" added to every member event).
TEST(AgentProtocol, ComponentsReportEndpointsAndIdentitiesInTheirReadyEvents) {
  const auto r = json::parse(R"({"event":"ready","asap":"10.0.0.1,10.1.0.1:3863",)"
                             R"("enrp":"10.0.0.1:9901","transport":"sctp","id":"7","t":1})")
                     .get<RegistrarReady>();
  EXPECT_EQ(r.asap, "10.0.0.1,10.1.0.1:3863");
  EXPECT_EQ(r.enrp, "10.0.0.1:9901");
  EXPECT_EQ(r.transport, "sctp");
  const auto m = json::parse(R"({"event":"ready","member":2,"id":"1a2b3c4d","pool":"P"})")
                     .get<MemberReady>();
  EXPECT_EQ(m.member, 2u);
  EXPECT_EQ(m.id, "1a2b3c4d");
  EXPECT_EQ(json(RegistrarReady{"a:1", "b:2", "tcp"}).get<RegistrarReady>().enrp, "b:2");
  EXPECT_EQ(json(MemberReady{3, "x"}).get<MemberReady>().member, 3u);
  const auto refused = [](const json& j, auto as) -> std::string {
    try {
      j.get<decltype(as)>();
    } catch (const Malformed& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(refused(json{{"event", "ready"}, {"asap", "a:1"}}, RegistrarReady{}),
            R"(ready: field "enrp" is missing)");
  EXPECT_EQ(refused(json{{"event", "ready"}, {"member", -1}, {"id", "x"}}, MemberReady{}),
            R"(ready: field "member" must be an unsigned integer, not number)");
  EXPECT_EQ(refused(json{{"event", "killed"}, {"member", 1}, {"id", "x"}}, MemberReady{}),
            "ready: event is 'killed'");
}

}  // namespace
}  // namespace rsplab::agents::protocol
