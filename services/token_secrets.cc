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
