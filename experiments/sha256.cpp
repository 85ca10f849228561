// SHA-256 over OpenSSL's EVP interface (the low-level SHA256_* calls are deprecated in
// OpenSSL 3). EVP fails only when it cannot allocate or the default provider is missing:
// both are "cannot happen" on a working installation, reported as std::bad_alloc or
// std::runtime_error rather than a wrong key.
#include "experiments/sha256.hpp"

#include <openssl/evp.h>

#include <new>
#include <stdexcept>

namespace rsplab::experiments {
namespace {

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("OpenSSL SHA-256: ") + what + " failed");
}

}  // namespace

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::bad_alloc();
  check(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex");
}

void Sha256::update(std::string_view bytes) {
  check(EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()), "EVP_DigestUpdate");
}

Sha256::Digest Sha256::finish() {
  Digest d{};
  unsigned int n = 0;
  check(EVP_DigestFinal_ex(ctx_.get(), d.data(), &n), "EVP_DigestFinal_ex");
  if (n != d.size()) throw std::runtime_error("OpenSSL SHA-256: digest is not 32 bytes");
  return d;
}

Sha256::Digest sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

std::string to_hex(const Sha256::Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (const std::uint8_t b : d) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

}  // namespace rsplab::experiments
