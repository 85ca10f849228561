// SHA-256 for run keys: a run is identified by the hash of its resolved definition (a
// campaign resumes by key, so the digest of the same bytes must never change). A thin
// streaming wrapper over OpenSSL's libcrypto (EVP, FIPS 180-4); not for secrets. A Sha256
// object is not thread-safe; the free functions are.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace rsplab::experiments {

class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  Sha256();  // throws std::bad_alloc when OpenSSL cannot allocate its context
  void update(std::string_view bytes);
  // REQUIRES: called once; the object is spent afterwards.
  Digest finish();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

Sha256::Digest sha256(std::string_view bytes);
std::string to_hex(const Sha256::Digest& d);  // 64 lower-case hex digits
std::string sha256_hex(std::string_view bytes);

}  // namespace rsplab::experiments
