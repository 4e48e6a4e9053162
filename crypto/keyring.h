// KeyRing: the project's Aead. Several AES-256-GCM keys, each with a uint32 id; one of them is
// the primary. Encrypt always uses the primary key; Decrypt reads the key id from the
// ciphertext and uses that key, so keys can be rotated without re-encrypting stored data
// (the tink aead_wrapper model).
//
// Ciphertext format (all of it is authenticated):
//
//   offset  size  field
//        0     1  format version, 0x01
//        1     4  key id, big-endian
//        5    12  nonce, fresh from RAND_bytes for every Encrypt
//       17     n  AES-256-GCM ciphertext (n = plaintext size)
//     17+n    16  GCM tag
//
// The GCM additional data is  header (bytes 0..4) || caller's associated_data.  The header has
// a fixed size, so the split between the two parts is unambiguous: a ciphertext cannot be made
// to verify under another key id, another version or other associated data. Overhead is 33
// bytes. Random 96-bit nonces keep the collision risk negligible up to ~2^32 encryptions per key;
// rotate the primary well before that.
//
// Key file format (text; one directive per line; blank lines and text after '#' are ignored):
//
//   # registry-auth data keys
//   primary 2
//   key 1 <base64 of 32 bytes>
//   key 2 <base64 of 32 bytes>
//
// Ids are decimal without leading zeros, 1..4294967295, unique. Exactly one `primary` line,
// naming a key present in the file. Base64 uses the standard alphabet with '=' padding and is
// decoded in constant time. Parse errors are INVALID_ARGUMENT and name the line number only,
// never any text of the file.
//
// Decrypt failures of any kind (truncated input, wrong version, unknown key id, bad tag, wrong
// associated data) are INVALID_ARGUMENT "decryption failed". Arbitrary input never crashes.
//
// Thread-safe: immutable after construction.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<KeyRing> ring, KeyRing::LoadFile("/etc/registry-auth/keys"));
//   ASSIGN_OR_RETURN(std::string ct, ring->Encrypt(pat, "registry_config/acme/ghcr/secret"));
#ifndef REGISTRY_AUTH_CRYPTO_KEYRING_H_
#define REGISTRY_AUTH_CRYPTO_KEYRING_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "crypto/aead.h"
#include "crypto/aes_gcm.h"
#include "crypto/hmac_sha256.h"
#include "crypto/secret_hasher.h"

namespace registryauth::crypto {

class KeyRing final : public Aead, public SecretHasher {
 public:
  static constexpr std::uint8_t kFormatVersion = 0x01;
  static constexpr std::size_t kHeaderSize = 5;
  static constexpr std::size_t kOverhead =
      kHeaderSize + AesGcm256::kNonceSize + AesGcm256::kTagSize;  // 33

  // Builds a ring from (id, 32-byte key) pairs. INVALID_ARGUMENT for an empty list, id 0, a
  // duplicate id, a key that is not 32 bytes, or a primary id not in the list.
  static absl::StatusOr<std::unique_ptr<KeyRing>> Create(
      std::vector<std::pair<std::uint32_t, SecretString>> keys, std::uint32_t primary_id);

  // Parses key-file text (format above).
  static absl::StatusOr<std::unique_ptr<KeyRing>> Parse(std::string_view key_file_text);

  // Reads and parses a key file. The file must be a regular file not accessible by group or
  // others (FAILED_PRECONDITION otherwise). Errors name the path, never the content.
  static absl::StatusOr<std::unique_ptr<KeyRing>> LoadFile(const std::string& path);

  // A key file's entries with their key bytes, for the tool that edits key files
  // (crypto/key_file.h). A ring never hands its keys out again, so editing starts here.
  struct FileContents {
    std::vector<std::pair<std::uint32_t, SecretString>> keys;  // in file order
    std::uint32_t primary_id = 0;
  };
  // Parse and LoadFile without building the ring: same checks, same errors.
  static absl::StatusOr<FileContents> ParseContents(std::string_view key_file_text);
  static absl::StatusOr<FileContents> LoadFileContents(const std::string& path);

  // 32 bytes from the OpenSSL CSPRNG; INTERNAL if it fails.
  static absl::StatusOr<SecretString> GenerateKey();

  // Renders a key file that Parse accepts: a comment line, `primary <id>`, then one
  // `key <id> <base64>` line per entry in the given order. INVALID_ARGUMENT (naming no key
  // bytes) for a null or non-32-byte key, id 0, a duplicate id, or a primary not in `keys`.
  static absl::StatusOr<SecretString> FormatKeyFile(
      const std::vector<std::pair<std::uint32_t, const SecretString*>>& keys,
      std::uint32_t primary_id);

  // The key id a ciphertext claims (bytes 1..4), or 0 if it is shorter than kOverhead or has a
  // format version other than kFormatVersion. Does not authenticate anything.
  static std::uint32_t KeyIdOf(std::string_view ciphertext);

  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  absl::StatusOr<std::string> Encrypt(std::string_view plaintext,
                                      std::string_view associated_data) const override;
  absl::StatusOr<SecretString> Decrypt(std::string_view ciphertext,
                                       std::string_view associated_data) const override;

  // SecretHasher: HMAC-SHA256 under a subkey derived from each data key with HKDF-SHA256
  // (RFC 5869; no salt, info "registry-auth/secret-hash/v1"). So the key file and its rotation
  // cover the token hashes too: a hash made under key N verifies while key N is in the ring, and
  // `keys retire N` must wait until no hash uses N either (hashes cannot be re-encrypted; the
  // secret behind them has to be regenerated, or the token has to expire).
  absl::StatusOr<SecretDigest> Hash(std::string_view secret) const override;
  bool Verify(std::string_view secret, const SecretDigest& expected) const override;

  std::uint32_t primary_key_id() const { return primary_id_; }
  // All key ids, ascending.
  std::vector<std::uint32_t> key_ids() const;
  // Ids present in both rings whose key bytes differ (ascending). A key id must never be
  // reused for other bytes: every ciphertext under that id would stop decrypting. Compares a
  // probe sealed under both keys (the probe never leaves this call), not the keys themselves.
  std::vector<std::uint32_t> ChangedKeyIds(const KeyRing& other) const;

 private:
  KeyRing(std::map<std::uint32_t, std::unique_ptr<AesGcm256>> keys,
          std::map<std::uint32_t, SecretString> hash_keys, std::uint32_t primary_id);

  const std::map<std::uint32_t, std::unique_ptr<AesGcm256>> keys_;
  // HKDF subkeys for SecretHasher, each prepared for HMAC-SHA256 (the subkey bytes live only
  // in OpenSSL's contexts, wiped when the ring is destroyed).
  std::map<std::uint32_t, std::unique_ptr<HmacSha256>> hash_keys_;
  const std::uint32_t primary_id_;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_KEYRING_H_
