// A deterministic, NOT secure crypto::Aead for unit tests of services/ and api/.
//
// Ciphertext layout mimics the real key ring: byte 0 = format version (0x01), bytes 1..4 =
// big-endian key id, then "enc:" + 16 hex digits of an FNV-1a hash of the associated data +
// ":" + hex of the reversed plaintext. Decrypt fails ("decryption failed") on any other layout,
// a different associated data or an unknown key id, as the real one does.
//
//   FakeAead aead(/*key_id=*/7);
//   std::string ct = *aead.Encrypt("ghp_x", "row#secret");
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_TESTING_FAKE_AEAD_H_
#define REGISTRY_AUTH_SERVICES_TESTING_FAKE_AEAD_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "crypto/aead.h"

namespace registryauth::services::testing {

class FakeAead final : public crypto::Aead {
 public:
  explicit FakeAead(uint32_t key_id = 7) : key_id_(key_id) {}

  absl::StatusOr<std::string> Encrypt(std::string_view plaintext,
                                      std::string_view associated_data) const override;
  absl::StatusOr<SecretString> Decrypt(std::string_view ciphertext,
                                       std::string_view associated_data) const override;

  // Makes every later Encrypt fail with INTERNAL "encryption failed".
  void set_fail_encrypt(bool fail) { fail_encrypt_ = fail; }
  // Number of successful Encrypt calls.
  int encrypt_calls() const { return encrypt_calls_; }

 private:
  const uint32_t key_id_;
  std::atomic<bool> fail_encrypt_{false};
  mutable std::atomic<int> encrypt_calls_{0};
};

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_FAKE_AEAD_H_
