// libFuzzer target over the ASAP and ENRP decoders. Every input is fed to both
// decoders as one whole message (framing is the transport's job), so a corpus file is
// plain message bytes and a crash reproducer can be handed to `rsplab decode` as is.
//
// Oracle, per protocol:
//   decode ok  -> encode must succeed, decode(encode(m)) must succeed and equal m, and
//                 encode must be stable (encode(decode(encode(m))) == encode(m));
//   decode err -> the error points inside the input; error_reply() must not crash, and a
//                 reply that fits is an Error message whose round trip is exact, too;
//   both       -> describe()/to_text()/to_json() (what `rsplab decode` prints) render it,
//                 and decode_and_describe() agrees with the decoder.
// Any violation aborts, which libFuzzer reports as a crash. ASan/UBSan catch the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/wire/describe.hpp"
#include "stack/wire/messages.hpp"

namespace {

using namespace rserpool::wire;

[[noreturn]] void fail(const char* protocol, const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "decode_fuzz: %s: %s%s%s\n", protocol, what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

Result<Decoded<asap::Message>> decode(std::span<const std::uint8_t> b, const asap::Message*) {
  return decode_asap(b);
}
Result<Decoded<enrp::Message>> decode(std::span<const std::uint8_t> b, const enrp::Message*) {
  return decode_enrp(b);
}

asap::Message error_message(const OperationError& e, const asap::Message*) {
  return asap::Error{e};
}
enrp::Message error_message(const OperationError& e, const enrp::Message*) {
  return enrp::Error{0, 0, e};
}

Protocol protocol_of(const asap::Message*) { return Protocol::asap; }
Protocol protocol_of(const enrp::Message*) { return Protocol::enrp; }

// The descriptions (`rsplab decode`) must render anything the decoder accepts or rejects.
void render(const char* protocol, const Field& f) {
  if (to_text(f).empty()) fail(protocol, "empty text description");
  if (to_json(f).dump().empty()) fail(protocol, "empty JSON description");
}

// Round trip of a message that decoded fine: the codec's central promise.
template <class M>
void round_trip(const char* protocol, const M& message) {
  const M* tag = nullptr;
  Bytes once;
  if (!encode(message, once)) fail(protocol, "decoded message does not encode");
  if (once.size() % 4 != 0) fail(protocol, "encoded length not a multiple of 4");
  auto again = decode(once, tag);
  if (!again) fail(protocol, "re-encoded message does not decode", again.error().message());
  if (!(again->message == message)) fail(protocol, "decode(encode(m)) != m");
  Bytes twice;
  if (!encode(again->message, twice)) fail(protocol, "second encode failed");
  if (twice != once) fail(protocol, "encode is not stable over a round trip");
}

template <class M>
void check(const char* protocol, std::span<const std::uint8_t> in) {
  const M* tag = nullptr;
  auto r = decode(in, tag);
  auto described = decode_and_describe(protocol_of(tag), in);
  if (described.ok() != r.ok()) fail(protocol, "decode_and_describe disagrees with decode");
  if (r) {
    render(protocol, *described);
    round_trip(protocol, r->message);
    return;
  }
  const DecodeError& e = r.error();
  if (static_cast<int>(e.code) < 1) fail(protocol, "DecodeError without an error code");
  if (e.offset > in.size() || e.length > in.size() - e.offset) {
    fail(protocol, "DecodeError points outside the input", e.message());
  }
  if (e.message().empty() || receiver_reaction(e).empty()) fail(protocol, "empty error text");
  render(protocol, describe(e));
  auto reply = error_reply(e, in);
  if (!reply) return;
  M answer = error_message(*reply, tag);
  Bytes out;
  if (encode(answer, out)) {  // large offending messages may not fit: that is allowed
    auto back = decode(out, tag);
    if (!back) fail(protocol, "error reply does not decode", back.error().message());
    if (!(back->message == answer)) fail(protocol, "error reply round trip differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  check<asap::Message>("asap", in);
  check<enrp::Message>("enrp", in);
  return 0;
}
