// Pieces every component shell (registrar, pe, later pu) shares: a stderr log with a
// level, and the transport's addresses as the codec's. Single-threaded.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

#include "stack/transport/transport.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::shell {

enum class Level { error, warning, info, debug };

inline std::optional<Level> parse_level(std::string_view text) {
  if (text == "error") return Level::error;
  if (text == "warning") return Level::warning;
  if (text == "info") return Level::info;
  if (text == "debug") return Level::debug;
  return std::nullopt;
}

// "<who>: <level>: <printf-formatted text>" on stderr, at `level` and above.
struct Logger {
  const char* who;
  Level level = Level::info;

  template <class... A>
  void operator()(Level l, const char* fmt, A... args) const {
    if (l > level) return;
    static const char* names[] = {"error", "warning", "info", "debug"};
    std::fprintf(stderr, "%s: %s: ", who, names[static_cast<int>(l)]);
    if constexpr (sizeof...(A) == 0)
      std::fputs(fmt, stderr);
    else
      std::fprintf(stderr, fmt, args...);
    std::fputc('\n', stderr);
  }
};

inline rserpool::wire::Address to_wire(const rserpool::transport::Address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return rserpool::wire::Address::v4(b[0], b[1], b[2], b[3]);
  }
  std::array<std::uint8_t, 16> b{};
  const auto v6 = a.to_v6().to_bytes();
  std::copy(v6.begin(), v6.end(), b.begin());
  return rserpool::wire::Address::v6(b);
}

}  // namespace rsplab::shell
