// The two seams between the token realm and the keys that sign its tokens.
//
// JwtSigner signs registry tokens (compact JWS, crypto/jwt.h rules) with whatever key and
// header mode the implementation was configured with; JwtVerifier checks tokens this service
// issued. The realm depends on these interfaces only, so tests can hand it a fixed key and the
// server can swap keys at run time (crypto/token_signing_keys.h, TokenSigningKeysHolder).
#ifndef REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_
#define REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"

namespace registryauth::crypto {

// Signs JWT claims as a compact JWS with one private key. The header ("alg", "typ", "kid" in
// the configured style and, in x5c mode, the certificate chain) is the implementation's
// business; the claims must satisfy SignJwt's rules (integer exp/nbf/iat, one string aud).
// Errors: INVALID_ARGUMENT for unacceptable claims, INTERNAL if signing fails; messages never
// quote the claims.
//
// Implementations are thread-safe: Sign may be called from many threads at once.
//
//   ASSIGN_OR_RETURN(std::string token, signer.Sign({{"iss", issuer}, {"exp", exp}}));
//   response["token"] = token;   // header kid == signer.KeyId()
class JwtSigner {
 public:
  virtual ~JwtSigner() = default;

  virtual absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const = 0;
  // The same for claims a JwtClaimsWriter wrote (the token realm's hot path: no JSON tree).
  virtual absl::StatusOr<std::string> SignClaims(const JwtClaims& claims) const = 0;

  // The algorithm of the key the next Sign uses ("ES256" / "RS256" via JwsAlgorithmName).
  virtual JwsAlgorithm algorithm() const = 0;
  // The "kid" the next Sign puts into the header.
  virtual std::string KeyId() const = 0;
};

// Verifies a compact JWS token issued by this service (signature by one of the keys it
// trusts, then the registered claims at `now` against `requirements`) and returns its claims.
// Keys carried in the token itself are never trusted. Errors as crypto/jwt.h VerifyJwt:
// INVALID_ARGUMENT for a malformed token, UNAUTHENTICATED for an unknown key, a bad signature,
// an expired token or an issuer/audience mismatch; messages never quote the token.
//
// Implementations are thread-safe.
//
//   ASSIGN_OR_RETURN(nlohmann::json claims, verifier.Verify(token, want, clock.Now()));
//   std::string subject = claims.value("sub", "");
class JwtVerifier {
 public:
  virtual ~JwtVerifier() = default;

  virtual absl::StatusOr<nlohmann::json> Verify(std::string_view token,
                                                const ClaimRequirements& requirements,
                                                absl::Time now) const = 0;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_JWT_SIGNER_H_
