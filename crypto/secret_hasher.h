// SecretHasher: keyed hashes of the high-entropy secrets this service generates and later
// verifies (service-account secrets, pull-token passwords, refresh tokens). The service keeps
// only the hash, so a database dump does not reveal a usable credential.
//
// The secrets carry 256 random bits, so a fast keyed hash (HMAC-SHA256) is enough: there is
// nothing to brute-force, and no slow password hash has to run on every /token request. The
// key matters only as defence in depth (a leaked table cannot even be checked against a guess).
// Each hash records the id of the key it was made with, so keys rotate like the data keys.
//
//   ASSIGN_OR_RETURN(SecretDigest d, hasher.Hash(secret));      // store d
//   if (!hasher.Verify(presented, d)) return Unauthenticated();  // constant time
//
// Implementations are thread-safe and never put key bytes or secrets in errors.
#ifndef REGISTRY_AUTH_CRYPTO_SECRET_HASHER_H_
#define REGISTRY_AUTH_CRYPTO_SECRET_HASHER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace registryauth::crypto {

struct SecretDigest {
  std::uint32_t key_id = 0;
  std::string digest;  // 32 bytes
};

class SecretHasher {
 public:
  virtual ~SecretHasher() = default;
  // The hash of `secret` under the current (primary) key. INTERNAL if OpenSSL fails.
  virtual absl::StatusOr<SecretDigest> Hash(std::string_view secret) const = 0;
  // True if `secret` hashes to `expected` under `expected.key_id`; false for an unknown key id
  // or a digest of the wrong size. The comparison takes constant time.
  virtual bool Verify(std::string_view secret, const SecretDigest& expected) const = 0;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_SECRET_HASHER_H_
