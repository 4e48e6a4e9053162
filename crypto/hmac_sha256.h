// HmacSha256: HMAC-SHA256 under one key, prepared once. The key schedule (the inner and outer
// padded key blocks) and OpenSSL's algorithm lookups are done when the object is made; each
// Compute copies the prepared state and hashes only the data. OpenSSL 3's one-shot HMAC()
// fetches the MAC and the digest by name and re-keys on every call, which cost about as much
// as the hashing of a short secret on /token's path (issue 20).
//
//   HmacSha256 mac(key);                       // key bytes are copied into OpenSSL's context
//   unsigned char out[HmacSha256::kSize];
//   if (!mac.Compute(secret, out)) ...          // false only when OpenSSL fails (allocation)
//
// The prepared context holds key material; OpenSSL wipes it when the object is destroyed.
// Compute is const and thread-safe (the prepared context is only read).
#ifndef REGISTRY_AUTH_CRYPTO_HMAC_SHA256_H_
#define REGISTRY_AUTH_CRYPTO_HMAC_SHA256_H_

#include <cstddef>
#include <string_view>

typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace registryauth::crypto {

class HmacSha256 {
 public:
  static constexpr size_t kSize = 32;

  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // Writes the 32-byte MAC of `data` to `out`; false if OpenSSL failed.
  bool Compute(std::string_view data, unsigned char* out) const;

 private:
  EVP_MAC_CTX* prepared_ = nullptr;  // null if preparing failed: Compute then fails closed
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_HMAC_SHA256_H_
