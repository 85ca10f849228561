// rsplab: the one executable of RSerPool Lab. Builds the CLI11 app, lets every
// subcommand of commands.hpp add itself, parses, and returns the command's exit code.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "apps/commands.hpp"
#include "stack/common/open_files.hpp"

int main(int argc, char** argv) {
  // A process hosting thousands of PEs or PUs (--count), or a registrar serving tens of
  // thousands, needs more descriptors than the usual soft limit of 1024: root raises both
  // limits to 2^20 (fs.nr_open's default); anyone else takes the hard limit.
  rsplab::common::raise_open_files(std::uint64_t{1} << 20);

  CLI::App app{"RSerPool Lab: an RSerPool stack (RFC 5351-5356) and its experiment suite",
               "rsplab"};
  app.set_version_flag("--version", std::string("rsplab ") + RSPLAB_VERSION,
                       "Print the version and exit");
  app.require_subcommand(1);
  app.footer(std::string("Run 'rsplab <command> --help' for the options of a command.\n") +
             rsplab::kExitCodesHelp);

  rsplab::Context ctx{std::cin, std::cout, std::cerr};
  for (const rsplab::AddCommand add : rsplab::kCommands) add(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here as "successes" and print to stdout.
    const int code = app.exit(e, std::cout, std::cerr);
    return code == 0 ? rsplab::kExitOk : rsplab::kExitUsage;
  }
  return ctx.exit_code;
}
