// The site agent (`rsplab agent --stdio`): one per site, driven by the runner over its
// standard input and output as JSON lines, the same locally (started in the site's network
// namespace with `ip netns exec`) and remotely (`ssh HOST rsplab agent --stdio`): nothing
// in the protocol depends on how the lines travel.
//
// Requests (runner → agent), one JSON object per line, each with "op" (the structs of both
// directions and their checks: agents/protocol.hpp):
//   {"op":"hello"}  → {"op":"hello","version","pid","host","unix_us","addresses":[...]
//                      (+ "control_address","control_interface" when reached over ssh)}
//        addresses: those of interfaces that are up, IPv4 first, no loopback/link-local
//   {"op":"time","seq":S}                                 → {"op":"time","seq":S,"unix_us":T}
//        the agent's clock (UTC µs); the runner's round trips estimate its offset
//   {"op":"start","name":N,"role":"registrar|pe|pu","args":[...]}
//        starts `rsplab ROLE ARGS... --events -` (this very executable), stdin a pipe
//        → {"op":"started","name":N,"pid":P}; then every line it prints:
//          JSON object → {"op":"event","name":N,"event":{...}}
//          other text  → {"op":"line","name":N,"line":"..."}   (ready lines, summaries)
//        and once it ends → {"op":"exited","name":N,"status":"exit 0"|"signal 9","code":C,
//                              "max_rss_kib":K,"cpu_s":S}: its peak memory and CPU time
//   {"op":"signal","name":N,"signal":9}                   kill / stop / continue a component
//   {"op":"control","name":N,"line":"{...}"}              a line to its stdin (--control stdin)
//   {"op":"link","interface":"eth0","up":false}           `ip link set dev IF down|up` here
//        → {"op":"link","interface":..,"up":..,"ok":true|false,"error":..}
//        refused (ok false) for down on the interface carrying the agent's own ssh
//        connection (SSH_CONNECTION): the runner would lose the agent
//   {"op":"stop"}                                         SIGTERM to every component, wait
//        (5 s, then SIGKILL), → {"op":"stopped"}, exit 0
// Anything malformed → {"op":"error","message":...} naming the op and the field (`start: field
// "name" is missing`), and the agent goes on.
// End of input: like stop, without the reply (the runner is gone: clean up and exit); so is
// --idle-timeout without a request (a half-open connection: the runner sends one every 10 s).
//
// Components die with the agent (PR_SET_PDEATHSIG), and the agent with its parent.
#pragma once

#include <chrono>
#include <istream>
#include <ostream>
#include <string>

namespace rsplab::agents {

// Serves the protocol on file descriptors 0 and 1 until stop or end of input; the exit code.
// `version` is reported by hello.
// `idle_timeout` (0: none): stop (as at end of input) after this long without a request —
// a runner whose connection vanished without closing it (a half-open ssh connection).
int run_agent(const std::string& version,
              std::chrono::milliseconds idle_timeout = std::chrono::milliseconds(0));

}  // namespace rsplab::agents
