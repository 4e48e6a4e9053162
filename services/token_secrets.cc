#include "services/token_secrets.h"

#include <openssl/rand.h>

#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "crypto/base64url.h"

namespace registryauth::services {

absl::StatusOr<std::string> RandomBase64Url(std::size_t bytes) {
  SecretString raw;
  raw.resize(bytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.mutable_data()), static_cast<int>(bytes)) !=
      1) {
    return absl::InternalError("random generator failed");
  }
  return crypto::Base64UrlEncode(raw.view());
}

absl::StatusOr<std::string> NewUid() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return absl::InternalError("random generator failed");
  raw[6] = static_cast<unsigned char>((raw[6] & 0x0f) | 0x40);  // version 4
  raw[8] = static_cast<unsigned char>((raw[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < sizeof(raw); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[raw[i] >> 4]);
    out.push_back(kHex[raw[i] & 0x0f]);
  }
  return out;
}

absl::StatusOr<SecretString> NewSecret(const crypto::SecretHasher& hasher, std::string_view prefix,
                                       SecretHash* hash) {
  constexpr std::size_t kSecretBytes = 32;  // 43 base64url characters
  ASSIGN_OR_RETURN(std::string random, RandomBase64Url(kSecretBytes));
  SecretString secret(Cat(prefix, random));
  WipeString(random);
  ASSIGN_OR_RETURN(crypto::SecretDigest digest, hasher.Hash(secret.view()));
  *hash = {std::move(digest.digest), digest.key_id};
  return secret;
}

}  // namespace registryauth::services
