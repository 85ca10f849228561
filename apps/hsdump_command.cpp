// `rsplab hsdump --registrar ADDR[:PORT]`: the handlespace of a running registrar, fetched
// over ENRP as a peer would (node/hsdump.hpp), printed as text or one JSON document.
//
//   parse ─► fetch_handlespace (own io_context) ─► to_text | to_json ─► stdout; errors ─► stderr
#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "apps/commands.hpp"
#include "node/hsdump.hpp"
#include "node/shell.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/constants.hpp"

namespace rsplab {
namespace {

namespace transport = rserpool::transport;

struct HsdumpOptions {
  std::string registrar, transport = "auto", timeout = "5s";
  bool json = false;
};

int run_hsdump(const HsdumpOptions& o, Context& ctx) {
  const char* who = "rsplab hsdump: ";
  node::HsdumpRequest request;
  std::string error;
  const auto registrar = transport::parse_endpoint(o.registrar, rserpool::wire::kEnrpPort, &error);
  if (!registrar) {
    ctx.err << who << "--registrar: " << error << "\n";
    return kExitUsage;
  }
  request.registrar = *registrar;
  const auto choice = transport::parse_choice(o.transport);
  if (!choice) {
    ctx.err << who << "--transport: '" << o.transport << "' (auto, tcp or sctp)\n";
    return kExitUsage;
  }
  request.transport = *choice;
  const auto timeout = node::parse_ms(o.timeout, false, &error);
  if (!timeout) {
    ctx.err << who << "--timeout: " << error << "\n";
    return kExitUsage;
  }
  request.timeout = *timeout;
  // The transport's own log lines (an `auto` fallback) stay out of the output.
  transport::set_log_sink([](std::string_view) {});
  boost::asio::io_context io;
  std::optional<node::HandlespaceDump> dump;
  node::fetch_handlespace(io, request, [&](std::optional<node::HandlespaceDump> d, std::string e) {
    dump = std::move(d);
    error = std::move(e);
  });
  io.run();
  transport::set_log_sink({});
  if (!dump) {
    ctx.err << who << error << "\n";
    return kExitFailed;
  }
  ctx.out << (o.json ? node::to_json(*dump).dump(2) + "\n" : node::to_text(*dump));
  return kExitOk;
}

}  // namespace

void add_hsdump_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<HsdumpOptions>();
  CLI::App* cmd = app.add_subcommand(
      "hsdump", "Print a running registrar's handlespace, fetched over ENRP as a peer would");
  cmd->add_option("--registrar", o->registrar,
                  "The registrar's ENRP endpoint ADDR[,ADDR...][:PORT] (port 9901)")
      ->required();
  cmd->add_option("--transport", o->transport,
                  "auto|tcp|sctp: auto tries SCTP when the kernel has it, then the TCP mapping")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "The whole fetch (a bare number: ms)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON document instead of text");
  cmd->footer(
      "hsdump asks as a peer would, with Sender ID 0 (a tool: the registrar takes it for no\n"
      "peer): a Presence (reply required), a List Request and Handle Table Requests while\n"
      "the registrar sets the M flag. It prints the registrar's ID, its peers, every pool\n"
      "and PE, and per home registrar the PE count and checksum, the registrar's own next\n"
      "to the checksum it announced (when it answers a tool's Presence).\n\n"
      "Exit status: 0 success; 1 no dump (cannot connect, no answer in time, a reject\n"
      "flag, an ENRP Error, a malformed response); 2 usage error.");
  cmd->callback([o, &ctx] { ctx.exit_code = run_hsdump(*o, ctx); });
}

}  // namespace rsplab
