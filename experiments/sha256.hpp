// SHA-256 (FIPS 180-4), for run keys: a run is identified by the hash of its resolved
// definition. Small and self-contained so that the experiments module needs no crypto
// library; not for secrets (no constant-time guarantees needed here). A Sha256 object is
// not thread-safe; the free functions are.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rsplab::experiments {

class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  Sha256();
  void update(std::string_view bytes);
  // REQUIRES: called once; the object is spent afterwards.
  Digest finish();

 private:
  void block(const std::uint8_t* p);

  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes hashed so far
};

Sha256::Digest sha256(std::string_view bytes);
std::string to_hex(const Sha256::Digest& d);  // 64 lower-case hex digits
std::string sha256_hex(std::string_view bytes);

}  // namespace rsplab::experiments
