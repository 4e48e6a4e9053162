#include "crypto/keyring_holder.h"

#include <utility>

namespace registryauth::crypto {

KeyRingHolder::KeyRingHolder(std::shared_ptr<const KeyRing> initial) : ring_(std::move(initial)) {}

std::shared_ptr<const KeyRing> KeyRingHolder::Get() const {
  absl::MutexLock lock(&mu_);
  return ring_;
}

void KeyRingHolder::Set(std::shared_ptr<const KeyRing> ring) {
  if (ring == nullptr) return;
  // The old ring is released outside the lock: if this was its last reference, destroying it
  // wipes its keys, which need not hold up other callers.
  std::shared_ptr<const KeyRing> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(ring_, std::move(ring));
  }
}

absl::StatusOr<std::string> KeyRingHolder::Encrypt(std::string_view plaintext,
                                                   std::string_view associated_data) const {
  // The lock covers only the pointer copy; the AES work runs on the snapshot.
  return Get()->Encrypt(plaintext, associated_data);
}

absl::StatusOr<SecretString> KeyRingHolder::Decrypt(std::string_view ciphertext,
                                                    std::string_view associated_data) const {
  return Get()->Decrypt(ciphertext, associated_data);
}

absl::StatusOr<SecretDigest> KeyRingHolder::Hash(std::string_view secret) const {
  return Get()->Hash(secret);
}

bool KeyRingHolder::Verify(std::string_view secret, const SecretDigest& expected) const {
  return Get()->Verify(secret, expected);
}

}  // namespace registryauth::crypto
