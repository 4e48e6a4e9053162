// The random parts of the token realm: token ids and secrets, and the keyed hashes (the
// SecretHasher's primary key, crypto/secret_hasher.h) under which secrets are stored. Shared by
// the issuer (refresh tokens, jti) and the service-account and pull-token services.
//
//   SecretHash hash;
//   ASSIGN_OR_RETURN(SecretString secret, NewSecret(hasher, kPullTokenSecretPrefix, &hash));
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_SECRETS_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_SECRETS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "crypto/secret_hasher.h"
#include "model/tokens.h"

namespace registryauth::services {

inline constexpr char kServiceAccountSecretPrefix[] = "ras_";
inline constexpr char kPullTokenSecretPrefix[] = "rpt_";
inline constexpr char kRefreshTokenPrefix[] = "rrt_";
inline constexpr std::size_t kTokenIdBytes = 16;  // 22 base64url characters (IsTokenId)

// `bytes` random bytes from OpenSSL, base64url without padding; INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomBase64Url(std::size_t bytes);

// A random (version 4) UUID in canonical lower-case form (IsUid): a service account's uid.
// INTERNAL if the generator fails.
absl::StatusOr<std::string> NewUid();

// `prefix` + 43 base64url characters (256 random bits), and its keyed hash in `hash`.
absl::StatusOr<SecretString> NewSecret(const crypto::SecretHasher& hasher, std::string_view prefix,
                                       SecretHash* hash);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_SECRETS_H_
