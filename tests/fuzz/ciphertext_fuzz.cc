// Fuzz target for untrusted input of crypto/: ciphertext decoding (KeyRing::Decrypt and
// KeyRing::KeyIdOf, as read back from the database) and the key-file parser (KeyRing::Parse).
//
// Besides "never crash", it checks invariants that a bug would break:
//   - a successful Decrypt implies a well-formed header naming a key of the ring and exactly
//     KeyRing::kOverhead bytes of overhead;
//   - every failed Decrypt is INVALID_ARGUMENT "decryption failed";
//   - a successful Parse yields a ring whose primary is one of its keys and which round-trips;
//   - a failed Parse is INVALID_ARGUMENT and its message is one of the fixed templates (with
//     numbers only), so it cannot echo any text of the key file.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/secret.h"
#include "crypto/keyring.h"

namespace {

using ::registryauth::SecretString;
using ::registryauth::crypto::KeyRing;

// Fixed keys, so the seed corpus can hold ciphertexts that really decrypt (see
// make_ciphertext_seeds.py): key id k has all 32 bytes equal to kKeys[k].
constexpr std::pair<std::uint32_t, char> kKeys[] = {{1, '\x11'}, {2, '\x22'}, {0xfffffffe, '\xfe'}};
constexpr std::uint32_t kPrimary = 2;
constexpr std::string_view kAssociatedData[] = {"", "registry_config/acme/ghcr/secret",
                                                "ws/1/registry/acr/password"};

[[noreturn]] void Fail() { std::abort(); }

void Check(bool condition) {
  if (!condition) Fail();
}

const KeyRing& Ring() {
  static const KeyRing* const ring = [] {
    std::vector<std::pair<std::uint32_t, SecretString>> keys;
    for (const auto& [id, byte] : kKeys) keys.emplace_back(id, SecretString(std::string(32, byte)));
    auto created = KeyRing::Create(std::move(keys), kPrimary);
    Check(created.ok());
    return created->release();
  }();
  return *ring;
}

bool RingHasKey(const KeyRing& ring, std::uint32_t id) {
  for (std::uint32_t k : ring.key_ids()) {
    if (k == id) return true;
  }
  return false;
}

void CheckDecrypt(const KeyRing& ring, std::string_view ciphertext, std::string_view ad) {
  auto plaintext = ring.Decrypt(ciphertext, ad);
  if (plaintext.ok()) {
    const std::uint32_t id = KeyRing::KeyIdOf(ciphertext);
    Check(id != 0 && RingHasKey(ring, id));
    Check(ciphertext.size() == plaintext->size() + KeyRing::kOverhead);
  } else {
    Check(plaintext.status().code() == absl::StatusCode::kInvalidArgument);
    Check(plaintext.status().message() == "decryption failed");
  }
}

// The parse error message with every digit removed; it must be one of these templates.
bool IsKnownParseErrorSkeleton(const std::string& skeleton) {
  static const char* const kSkeletons[] = {
      "key file: no 'key' lines",
      "key file: no 'primary' line",
      "key file: line : primary key id  has no 'key' line",
      "key file: line : second 'primary' line (first on line )",
      "key file: line : key id must be a decimal number in ..",
      "key file: line : duplicate key id  (first on line )",
      "key file: line : key is not valid base (standard alphabet, '=' padding)",
      "key file: line : key must be exactly  bytes ( base characters)",
      "key file: line : expected 'primary <id>' or 'key <id> <base>'",
  };
  for (const char* known : kSkeletons) {
    if (skeleton == known) return true;
  }
  return false;
}

void CheckParse(std::string_view text) {
  auto parsed = KeyRing::Parse(text);
  if (parsed.ok()) {
    const KeyRing& ring = **parsed;
    Check(RingHasKey(ring, ring.primary_key_id()));
    auto ciphertext = ring.Encrypt("fuzz", "ad");
    Check(ciphertext.ok());
    Check(KeyRing::KeyIdOf(*ciphertext) == ring.primary_key_id());
    auto plaintext = ring.Decrypt(*ciphertext, "ad");
    Check(plaintext.ok() && plaintext->view() == "fuzz");
    return;
  }
  Check(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  std::string skeleton;
  for (char c : parsed.status().message()) {
    if (c < '0' || c > '9') skeleton.push_back(c);
  }
  Check(IsKnownParseErrorSkeleton(skeleton));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const KeyRing& ring = Ring();

  // Whole input as a stored ciphertext, under each associated-data variant.
  for (std::string_view ad : kAssociatedData) CheckDecrypt(ring, input, ad);

  // Input-chosen associated data: the first byte says how many following bytes it takes.
  if (!input.empty()) {
    const std::size_t ad_size =
        std::min<std::size_t>(static_cast<unsigned char>(input[0]) % 64, input.size() - 1);
    CheckDecrypt(ring, input.substr(1 + ad_size), input.substr(1, ad_size));
  }

  // Whole input as key-file text.
  CheckParse(input);
  return 0;
}
