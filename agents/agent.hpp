// The site agent (`rsplab agent --stdio`): one per site, driven by the runner over its
// standard input and output as JSON lines, the same locally (started in the site's network
// namespace with `ip netns exec`) and remotely (over ssh, a later issue): nothing in the
// protocol depends on how the lines travel.
//
// Requests (runner → agent), one JSON object per line, each with "op":
//   {"op":"hello"}                                        → {"op":"hello","version","pid","host"}
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
//   {"op":"stop"}                                         SIGTERM to every component, wait
//        (5 s, then SIGKILL), → {"op":"stopped"}, exit 0
// Anything malformed → {"op":"error","message":...} and the agent goes on.
// End of input: like stop, without the reply (the runner is gone: clean up and exit).
//
// Components die with the agent (PR_SET_PDEATHSIG), and the agent with its parent.
#pragma once

#include <istream>
#include <ostream>
#include <string>

namespace rsplab::agents {

// Serves the protocol on file descriptors 0 and 1 until stop or end of input; the exit code.
// `version` is reported by hello.
int run_agent(const std::string& version);

}  // namespace rsplab::agents
