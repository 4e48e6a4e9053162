#include "services/testing/fake_aead.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace registryauth::services::testing {
namespace {

std::string HashHex(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

std::string Header(uint32_t key_id) {
  std::string out(1, '\x01');
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((key_id >> shift) & 0xFF));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> FakeAead::Encrypt(std::string_view plaintext,
                                              std::string_view associated_data) const {
  if (fail_encrypt_) return absl::InternalError("encryption failed");
  std::string reversed(plaintext.rbegin(), plaintext.rend());
  std::string out =
      Cat(Header(key_id_), "enc:", HashHex(associated_data), ":", absl::BytesToHexString(reversed));
  WipeString(reversed);
  ++encrypt_calls_;
  return out;
}

absl::StatusOr<SecretString> FakeAead::Decrypt(std::string_view ciphertext,
                                               std::string_view associated_data) const {
  const absl::Status failed = absl::InvalidArgumentError("decryption failed");
  std::string prefix = Cat(Header(key_id_), "enc:", HashHex(associated_data), ":");
  if (!absl::StartsWith(ToAbsl(ciphertext), prefix)) return failed;
  std::string_view hex = ciphertext.substr(prefix.size());
  if (hex.size() % 2 != 0) return failed;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return failed;
  }
  std::string reversed = absl::HexStringToBytes(ToAbsl(hex));
  SecretString out;
  out.resize(reversed.size());
  std::copy(reversed.rbegin(), reversed.rend(), out.mutable_data());
  WipeString(reversed);
  return out;
}

}  // namespace registryauth::services::testing
