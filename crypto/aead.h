// Authenticated encryption with associated data (the shape of tink's tink/aead.h).
//
// Associated data is authenticated, not encrypted: callers bind a ciphertext to where it is
// stored (row and field), so a ciphertext copied elsewhere fails to decrypt.
//
//   ASSIGN_OR_RETURN(std::string ct, aead.Encrypt(pat, "registry_config/acme/ghcr/secret"));
//   ASSIGN_OR_RETURN(SecretString pt, aead.Decrypt(ct, "registry_config/acme/ghcr/secret"));
//
// Implementations are thread-safe. Failures say only "encryption failed" / "decryption failed"
// (INVALID_ARGUMENT for malformed or unauthenticated input, NOT_FOUND-free: an unknown key id is
// also "decryption failed"), never key bytes or plaintext.
#ifndef REGISTRY_AUTH_CRYPTO_AEAD_H_
#define REGISTRY_AUTH_CRYPTO_AEAD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth::crypto {

class Aead {
 public:
  virtual ~Aead() = default;
  virtual absl::StatusOr<std::string> Encrypt(std::string_view plaintext,
                                              std::string_view associated_data) const = 0;
  virtual absl::StatusOr<SecretString> Decrypt(std::string_view ciphertext,
                                               std::string_view associated_data) const = 0;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_AEAD_H_
