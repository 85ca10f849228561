// `rsplab decode`: one ASAP or ENRP message, given as hex, printed decoded, as RSPLIB's
// hsdump or Wireshark would show it. The input is an argument or stdin; whitespace is
// ignored. Malformed messages are reported with the byte offset, the decoder's reason
// and the error cause a receiver would answer with.
//
//   hex text ─► parse_hex ─► bytes ─► decode_and_describe ─► to_text | to_json ─► stdout
//                  │ bad hex, empty: exit 2       │ malformed: exit 1, stderr
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "stack/wire/describe.hpp"

namespace rsplab {
namespace {

namespace wire = rserpool::wire;

struct DecodeOptions {
  std::vector<std::string> hex;
  std::string protocol = "asap";
  bool json = false;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Hex text to bytes, whitespace ignored. On failure returns what is wrong, with the
// offending character's 0-based offset in `text`.
std::optional<std::string> parse_hex(const std::string& text, wire::Bytes& out) {
  out.clear();
  int high = -1;
  std::size_t high_at = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_space(c)) continue;
    const int v = hex_value(c);
    if (v < 0) {
      const auto uc = static_cast<unsigned char>(c);
      std::string shown = (uc >= 0x20 && uc < 0x7f) ? std::string("'") + c + "'"
                                                     : "byte " + wire::hex_bytes({&uc, 1});
      return "bad hex at character " + std::to_string(i) + ": " + shown +
             " is not a hex digit (expected 0-9, a-f, A-F or whitespace)";
    }
    if (high < 0) {
      high = v;
      high_at = i;
    } else {
      out.push_back(static_cast<std::uint8_t>((high << 4) | v));
      high = -1;
    }
  }
  if (high >= 0)
    return "bad hex at character " + std::to_string(high_at) + ": odd number of hex digits (" +
           std::to_string(2 * out.size() + 1) + "); the last digit has no partner";
  return std::nullopt;
}

int run_decode(const DecodeOptions& opt, Context& ctx) {
  const char* const who = "rsplab decode: ";
  std::string text;
  if (opt.hex.empty() || (opt.hex.size() == 1 && opt.hex[0] == "-")) {
    text.assign(std::istreambuf_iterator<char>(ctx.in), std::istreambuf_iterator<char>());
  } else {
    for (const auto& part : opt.hex) {
      if (!text.empty()) text += ' ';
      text += part;
    }
  }

  wire::Bytes bytes;
  if (const auto bad = parse_hex(text, bytes)) {
    ctx.err << who << *bad << "\n";
    return kExitUsage;
  }
  if (bytes.empty()) {
    ctx.err << who << "empty input at byte 0: no hex digits to decode (give the message as "
            << "an argument or on stdin)\n";
    return kExitUsage;
  }

  const wire::Protocol protocol =
      opt.protocol == "enrp" ? wire::Protocol::enrp : wire::Protocol::asap;
  auto described = wire::decode_and_describe(protocol, bytes);
  if (!described) {
    const wire::DecodeError& e = described.error();
    ctx.err << who << e.message() << "\n";
    ctx.err << who << wire::receiver_reaction(e) << "\n";
    if (e.length > 0 && e.offset < bytes.size()) {
      const std::size_t n = std::min(e.length, bytes.size() - e.offset);
      const std::size_t shown = std::min<std::size_t>(n, 32);
      ctx.err << who << "offending bytes " << e.offset << ".." << (e.offset + n - 1) << ": "
              << wire::hex_bytes({bytes.data() + e.offset, shown}) << (shown < n ? "..." : "")
              << "\n";
    }
    if (opt.json) {
      nlohmann::ordered_json j;
      j["protocol"] = std::string(wire::protocol_name(protocol));
      j["error"] = wire::to_json(wire::describe(e));
      ctx.out << j.dump(2) << "\n";
    }
    return kExitFailed;
  }

  if (opt.json)
    ctx.out << wire::to_json(*described).dump(2) << "\n";
  else
    ctx.out << wire::to_text(*described);
  return kExitOk;
}

}  // namespace

void add_decode_command(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decode", "Decode one ASAP or ENRP message given as hex and print its fields");
  cmd->add_option("hex", opt->hex,
                  "The message as hex digits; whitespace is ignored, several arguments are "
                  "joined. Without it, or with '-', the hex is read from stdin.");
  cmd->add_option("-p,--protocol", opt->protocol,
                  "asap (ASAP, RFC 5352, PPID 11) or enrp (ENRP, RFC 5353, PPID 12); their "
                  "message type codes overlap")
      ->check(CLI::IsMember({"asap", "enrp"}))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json,
                "Print one JSON object instead of text (on a malformed message: an object "
                "with an \"error\" member)");
  cmd->footer(
      "Output names every field as its RFC does. Printable pool handles show as text,\n"
      "identifiers as 0x%08x, loads and distance penalty factors as percentages.\n"
      "Example (an ASAP_ERROR, Lack of Resources): rsplab decode 0e00000c 000c0008 00060004\n\n"
      "Exit status: 0 decoded; 1 malformed message (the error names the byte offset and\n"
      "the RFC error cause a receiver would answer with); 2 usage error (bad option,\n"
      "bad hex with its character offset, empty input).");
  cmd->callback([opt, &ctx] { ctx.exit_code = run_decode(*opt, ctx); });
}

}  // namespace rsplab
