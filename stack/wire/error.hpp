// Decoding errors of the ASAP/ENRP codec: what went wrong, at which byte, and which
// RFC 5352 error cause a receiver answers with. Plain values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "stack/wire/constants.hpp"

namespace rserpool::wire {

// Starts at 1: 0 means success to std::error_code.
enum class Errc {
  truncated_message = 1,   // fewer bytes than a header, or than the Message Length says
  bad_message_length,      // Message Length below the header size or past the buffer
  truncated_parameter,     // a TLV header or its Length runs past its container
  bad_parameter_length,    // a TLV Length that its type does not allow
  unknown_message_type,    // a message type this protocol does not define
  unrecognized_parameter,  // unknown parameter type whose action bits say stop
  missing_parameter,       // a mandatory parameter is absent
  unexpected_parameter,    // a known parameter where the message does not allow it
  invalid_value,           // a field value out of range (e.g. unknown policy type)
  trailing_bytes,          // bytes left over that are not a whole parameter
};

const std::error_category& wire_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), wire_category()};
}

// A failed decode. `offset`/`length` locate the offending bytes in the decoded buffer
// (the whole message for message-level errors); `cause` is the RFC error cause to answer
// with, or nullopt when the message is to be discarded silently (action bits 00).
struct DecodeError {
  Errc code{};
  std::size_t offset = 0;
  std::size_t length = 0;
  std::optional<CauseCode> cause;
  std::string detail;  // human-readable, names the field or parameter

  std::string message() const;  // "<what> at byte <offset>: <detail>"
};

// A value or a DecodeError (std::expected needs C++23 on GCC 12).
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(DecodeError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const DecodeError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, DecodeError> v_;
};

}  // namespace rserpool::wire

template <>
struct std::is_error_code_enum<rserpool::wire::Errc> : std::true_type {};
