// The subcommands of the one `rsplab` executable. Each lives in its own
// <name>_command.cpp and adds itself to the CLI11 app through one function listed in
// kCommands; main() only builds the app, calls them, parses and returns the exit code.
// To add a subcommand (registrar, pe, pu, run, plan, report, query, agent, hsdump): write
// <name>_command.cpp defining add_<name>_command, declare it here, append it to
// kCommands, and list the file in apps/CMakeLists.txt.
//
// A command's callback runs inside CLI::App::parse(), on the main thread; it reports
// through Context (streams and the exit code) and never calls std::exit.
#pragma once

#include <iosfwd>

#include "node/run.hpp"

namespace CLI {
class App;
}

namespace rsplab {

// Exit codes of every subcommand, documented in `rsplab --help` (node/run.hpp).
using node::kExitOk;
using node::kExitFailed;
using node::kExitUsage;

inline constexpr const char* kExitCodesHelp =
    "Exit status: 0 success; 1 malformed input (e.g. a message that does not decode);\n"
    "2 usage error (unknown option, bad value, bad hex, empty input).";

// What a command reads and writes, and the exit code it sets.
struct Context {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  int exit_code = kExitOk;
};

using AddCommand = void (*)(CLI::App& app, Context& ctx);

// decode_command.cpp: `rsplab decode`, one ASAP/ENRP message from hex to text or JSON.
void add_decode_command(CLI::App& app, Context& ctx);

// registrar_command.cpp: `rsplab registrar`, a pool registrar on real sockets.
void add_registrar_command(CLI::App& app, Context& ctx);

// pe_command.cpp: `rsplab pe`, a pool element registering at registrars on real sockets.
void add_pe_command(CLI::App& app, Context& ctx);

// pu_command.cpp: `rsplab pu`, pool users submitting CalcApp jobs with failover.
void add_pu_command(CLI::App& app, Context& ctx);

// hsdump_command.cpp: `rsplab hsdump`, a running registrar's handlespace fetched over ENRP.
void add_hsdump_command(CLI::App& app, Context& ctx);

// agent_command.cpp: `rsplab agent --stdio`, the site agent of `rsplab run`.
void add_agent_command(CLI::App& app, Context& ctx);

// experiment_commands.cpp: `rsplab run`, `rsplab plan`, `rsplab cleanup`.
void add_experiment_commands(CLI::App& app, Context& ctx);

// report_command.cpp: `rsplab report`, every metric's mean and 95 % interval per policy and
// sweep point.
void add_report_command(CLI::App& app, Context& ctx);

// query_command.cpp: `rsplab query`, one SQL statement over a results database, read-only.
void add_query_command(CLI::App& app, Context& ctx);

// In `rsplab --help` order.
inline constexpr AddCommand kCommands[] = {
    &add_experiment_commands,
    &add_report_command,
    &add_query_command,
    &add_registrar_command,
    &add_pe_command,
    &add_pu_command,
    &add_hsdump_command,
    &add_agent_command,
    &add_decode_command,
};

}  // namespace rsplab
