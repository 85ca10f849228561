// The commands `rsplab registrar`, `rsplab pe` and `rsplab pu` once their options are parsed:
// each builds its node (registrar.hpp, pe.hpp, pu.hpp) on an io_context of its own, prints
// what the command prints when ready, adds what only a process has (SIGINT/SIGTERM, `--control
// stdin`, a PU's --runtime) and runs the io_context until the node is done. They return the
// command's exit status; bad options and an events file that cannot be opened are reported
// on `err` as "rsplab ROLE: …" (usage, 2), a listener that cannot bind likewise (failed, 1).
#pragma once

#include <iosfwd>

#include "options/roles.hpp"

namespace rsplab::node {

// Exit codes of every subcommand, documented in `rsplab --help`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the input was read but is bad (a malformed message)
inline constexpr int kExitUsage = 2;   // bad options or unusable input (bad hex, empty input)

int run_registrar(const options::RegistrarOptions& o, std::ostream& out, std::ostream& err);
int run_pe(const options::PeOptions& o, std::ostream& out, std::ostream& err);
int run_pu(const options::PuOptions& o, std::ostream& out, std::ostream& err);

}  // namespace rsplab::node
