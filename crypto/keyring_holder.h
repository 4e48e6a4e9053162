// KeyRingHolder: the Aead a running server uses, so its key ring can be replaced without a
// restart (key rotation, `registry-authd` on SIGHUP).
//
// It holds the current KeyRing behind a shared_ptr. Every Encrypt / Decrypt takes a snapshot of
// the pointer and works on that ring alone, so a call in flight while Set() swaps the ring
// finishes with the ring it started with (and keeps it alive until then); the next call sees
// the new one. Ring changes are therefore atomic per call: a secret is never encrypted under
// one ring's primary and recorded under another's.
//
//   KeyRingHolder keys(std::move(initial_ring));
//   RegistryService service(store, keys, clock);   // uses whatever ring is current
//   keys.Set(std::move(new_ring));                  // after re-reading the key file
//
// Thread-safe.
#ifndef REGISTRY_AUTH_CRYPTO_KEYRING_HOLDER_H_
#define REGISTRY_AUTH_CRYPTO_KEYRING_HOLDER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/secret.h"
#include "crypto/aead.h"
#include "crypto/keyring.h"
#include "crypto/secret_hasher.h"

namespace registryauth::crypto {

class KeyRingHolder final : public Aead, public SecretHasher {
 public:
  // `initial` must not be null.
  explicit KeyRingHolder(std::shared_ptr<const KeyRing> initial);

  KeyRingHolder(const KeyRingHolder&) = delete;
  KeyRingHolder& operator=(const KeyRingHolder&) = delete;

  // The current ring (never null).
  std::shared_ptr<const KeyRing> Get() const;
  // Replaces the current ring; a null `ring` is ignored (the holder is never empty).
  void Set(std::shared_ptr<const KeyRing> ring);

  absl::StatusOr<std::string> Encrypt(std::string_view plaintext,
                                      std::string_view associated_data) const override;
  absl::StatusOr<SecretString> Decrypt(std::string_view ciphertext,
                                       std::string_view associated_data) const override;
  absl::StatusOr<SecretDigest> Hash(std::string_view secret) const override;
  bool Verify(std::string_view secret, const SecretDigest& expected) const override;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const KeyRing> ring_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_KEYRING_HOLDER_H_
