// JwtSigner: what signs the token realm's registry tokens (compact JWS). The production signer
// is the server's signing key set (the active key, with the header the registry expects:
// `kid` or `x5c`); tests use a single crypto::SigningKey.
//
//   ASSIGN_OR_RETURN(std::string jwt, signer.Sign({{"iss", "registry-auth"}, {"exp", exp}}));
//
// Implementations are thread-safe.
#ifndef REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_
#define REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include <nlohmann/json.hpp>

namespace registryauth::crypto {

class JwtSigner {
 public:
  virtual ~JwtSigner() = default;
  // A compact JWS of `claims` (rules of crypto/jwt.h SignJwt).
  virtual absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const = 0;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_
