// AesGcm256: one AES-256-GCM key and the raw seal/open primitives on top of OpenSSL EVP.
//
// This is the low-level building block of KeyRing (crypto/keyring.h): the caller supplies the
// 96-bit nonce and must never reuse a nonce with the same key. Application code uses the
// crypto::Aead interface (KeyRing), which picks random nonces and frames the ciphertext.
//
// Seal returns ciphertext || tag (16 bytes); Open checks the tag before returning plaintext.
// Failures carry only "encryption failed" / "decryption failed": INVALID_ARGUMENT for bad input
// (wrong nonce size, short or unauthenticated ciphertext, oversized input), INTERNAL if OpenSSL
// itself fails. Key bytes live in a SecretString and are wiped on destruction.
//
// Thread-safe: the object is immutable and every call uses its own EVP_CIPHER_CTX.
//
//   ASSIGN_OR_RETURN(auto gcm, AesGcm256::Create(std::move(key32)));
//   ASSIGN_OR_RETURN(std::string ct, gcm->Seal(nonce12, plaintext, aad));
#ifndef REGISTRY_AUTH_CRYPTO_AES_GCM_H_
#define REGISTRY_AUTH_CRYPTO_AES_GCM_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth::crypto {

class AesGcm256 {
 public:
  static constexpr std::size_t kKeySize = 32;
  static constexpr std::size_t kNonceSize = 12;
  static constexpr std::size_t kTagSize = 16;

  // INVALID_ARGUMENT unless `key` is exactly kKeySize bytes.
  static absl::StatusOr<std::unique_ptr<AesGcm256>> Create(SecretString key);

  AesGcm256(const AesGcm256&) = delete;
  AesGcm256& operator=(const AesGcm256&) = delete;

  // Encrypts `plaintext` (may be empty) and authenticates it with `aad` (may be empty).
  // Returns ciphertext || tag, i.e. plaintext.size() + kTagSize bytes.
  absl::StatusOr<std::string> Seal(std::string_view nonce12, std::string_view plaintext,
                                   std::string_view aad) const;

  // Inverse of Seal. INVALID_ARGUMENT "decryption failed" if the tag does not verify.
  absl::StatusOr<SecretString> Open(std::string_view nonce12, std::string_view ct_and_tag,
                                    std::string_view aad) const;

 private:
  explicit AesGcm256(SecretString key) : key_(std::move(key)) {}

  const SecretString key_;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_AES_GCM_H_
