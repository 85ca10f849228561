#include "stack/wire/error.hpp"

namespace rserpool::wire {
namespace {

class WireCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rserpool.wire"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::truncated_message: return "truncated message";
      case Errc::bad_message_length: return "bad message length";
      case Errc::truncated_parameter: return "truncated parameter";
      case Errc::bad_parameter_length: return "bad parameter length";
      case Errc::unknown_message_type: return "unknown message type";
      case Errc::unrecognized_parameter: return "unrecognized parameter";
      case Errc::missing_parameter: return "missing parameter";
      case Errc::unexpected_parameter: return "unexpected parameter";
      case Errc::invalid_value: return "invalid value";
      case Errc::trailing_bytes: return "trailing bytes";
    }
    return "unknown wire error";
  }
};

}  // namespace

const std::error_category& wire_category() noexcept {
  static const WireCategory category;
  return category;
}

std::string DecodeError::message() const {
  std::string s = make_error_code(code).message();
  s += " at byte ";
  s += std::to_string(offset);
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

}  // namespace rserpool::wire
