// JSON Web Tokens (RFC 7519) in JWS compact serialization, signed and verified with the keys
// of crypto/jws.h, shaped for Docker registries (the Distribution token spec).
//
// Signing. SignJwt writes the header {"alg":"ES256"|"RS256","typ":"JWT"} plus, by option,
// "kid" (in either key-id style) and "x5c" (standard base64 of each DER certificate, leaf
// first). Header and claims are serialized compactly with their members sorted. The claims are
// checked against what Distribution 2.8 accepts before anything is signed: "exp", "nbf" and
// "iat" must be JSON integers (not 1.7e9, not "1700000000") and "aud" must be one string (2.8
// rejects an array).
//
// Decoding (untrusted input). DecodeJwt is strict: at most kMaxTokenSize bytes; exactly three
// '.'-separated parts; each part canonical unpadded base64url (crypto/base64url.h); header and
// payload are UTF-8 JSON objects, at most kMaxJsonDepth levels deep, with no member name
// repeated in any object (a second "alg" or "exp" that one parser would take and another would
// ignore is refused, not resolved); the header has a string "alg", "kid" is a string if present,
// and "crit" is absent (no JWS extension is understood, so RFC 7515 §4.1.11 requires refusal).
// A decoded token is NOT verified: nothing in it may be trusted before VerifyJwt.
//
// Verifying. The key comes only from the caller's lookup by "kid"; keys or key URLs carried in
// the token ("jwk", "jku", "x5u", "x5c") are never used. The key decides the algorithm: the
// token's "alg" must name it exactly (crypto/jws.h), so "none", HS256 and RS/ES swaps fail.
// ValidateClaims then checks times with a leeway (default 60 s, as Distribution allows):
// expired when now >= exp + leeway, not yet valid when now + leeway < nbf; "exp", "nbf", "iat"
// must be integers; "iss" and "aud" must equal the expected strings when those are given, and
// an "aud" array is refused (we only ever issue one audience).
//
// Errors: INVALID_ARGUMENT for malformed tokens and claims of the wrong type, UNAUTHENTICATED
// for an unknown key, a bad signature, an expired or not-yet-valid token, or an issuer or
// audience mismatch. Messages are fixed texts; they never quote the token or any value from
// it, so they are safe to log. No function throws (JSON errors are caught inside).
//
// Pure functions over immutable keys; thread-safe.
//
//   JwtHeaderOptions header;
//   header.kid = KeyIdStyle::kLibtrust;
//   ASSIGN_OR_RETURN(std::string token, SignJwt(*signing_key, claims, header));
//
//   VerifyingKeySet keys({signing_key->public_key()});
//   ClaimRequirements want;
//   want.audience = "registry.example.com";
//   ASSIGN_OR_RETURN(nlohmann::json claims,
//                    VerifyJwt(token, [&](std::string_view kid) { return keys.Find(kid); },
//                              want, clock));
#ifndef REGISTRY_AUTH_CRYPTO_JWT_H_
#define REGISTRY_AUTH_CRYPTO_JWT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/jws.h"
#include "crypto/jwt_claims.h"

namespace registryauth::crypto {

// Longest token DecodeJwt accepts (and SignJwt produces). A Distribution token with an x5c
// certificate and a few dozen access entries is 2-4 KiB.
inline constexpr std::size_t kMaxTokenSize = 16 * 1024;
// Deepest JSON nesting accepted in a header or payload (Distribution's access claim needs 3).
inline constexpr int kMaxJsonDepth = 16;
// Distribution's clock-skew allowance.
inline constexpr absl::Duration kDefaultLeeway = absl::Seconds(60);

struct JwtHeaderOptions {
  // Adds "kid" with the signing key's id in this style.
  std::optional<KeyIdStyle> kid;
  // Adds "x5c" (RFC 7515 §4.1.6) when non-empty: DER certificates, the signing key's first
  // (CertificateDerChainFromPem). Not re-checked per token: check once at start-up that the
  // first one holds the signing key (VerifyingKey::FromCertificatePem + SamePublicKey).
  std::vector<std::string> x5c_der;
};

// Signs `claims`, a JSON object, as a compact JWS. INVALID_ARGUMENT "JWT claims must be a JSON
// object", "JWT claim exp|nbf|iat must be an integer", "JWT claim aud must be a single string",
// "JWT claims are not valid UTF-8", "token would exceed 16 KiB"; INTERNAL if signing fails.
absl::StatusOr<std::string> SignJwt(const SigningKey& key, const nlohmann::json& claims,
                                    const JwtHeaderOptions& options);
// The same for claims given as JSON text, which is signed byte for byte as given once it has
// passed the checks above and DecodeJwt's JSON rules (object, no duplicate names, depth).
// (A separate name: with nlohmann::json's implicit conversions an overload would be ambiguous.)
absl::StatusOr<std::string> SignJwtText(const SigningKey& key, std::string_view claims_json,
                                        const JwtHeaderOptions& options);
// The same for claims a JwtClaimsWriter wrote (crypto/jwt_claims.h), which are right by
// construction: signed as they are, without a parse. Errors: "token would exceed 16 KiB",
// INTERNAL if signing fails.
absl::StatusOr<std::string> SignJwtClaims(const SigningKey& key, const JwtClaims& claims,
                                          const JwtHeaderOptions& options);

// SignJwt for many tokens with one key and one header, which is encoded once (the token
// realm's header, with its x5c certificate, is about 1 KiB of base64url). Immutable;
// thread-safe.
class PreparedJwtSigner {
 public:
  PreparedJwtSigner(std::shared_ptr<const SigningKey> key, const JwtHeaderOptions& options);
  // What SignJwt(key, claims, options) returns, same checks and errors.
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const;
  // What SignJwtClaims(key, claims, options) returns.
  absl::StatusOr<std::string> SignClaims(const JwtClaims& claims) const;
  const SigningKey& key() const { return *key_; }

 private:
  std::shared_ptr<const SigningKey> key_;
  std::string encoded_header_;
};

struct DecodedJwt {
  nlohmann::json header;      // a JSON object
  nlohmann::json claims;      // a JSON object (the payload)
  std::string alg;            // header "alg"
  std::string kid;            // header "kid"; empty when absent
  std::string signing_input;  // the first two parts and the '.' between them
  std::string signature;      // the third part, decoded
};

// Parses a compact JWT without verifying it (rules above). INVALID_ARGUMENT on any violation.
absl::StatusOr<DecodedJwt> DecodeJwt(std::string_view token);

// Finds the verifying key for a token's "kid" ("" when the header has none); nullptr when there
// is no such key. Called once per verification, possibly from many threads at once.
using VerifyingKeyLookup = std::function<std::shared_ptr<const VerifyingKey>(std::string_view kid)>;

// DecodeJwt, then the key from `lookup`, then the signature. The claims are NOT validated.
absl::StatusOr<DecodedJwt> VerifyJwtSignature(std::string_view token,
                                              const VerifyingKeyLookup& lookup);

struct ClaimRequirements {
  absl::Duration leeway = kDefaultLeeway;
  bool require_exp = true;
  std::string issuer;    // non-empty: "iss" must be exactly this string
  std::string audience;  // non-empty: "aud" must be exactly this one string (arrays refused)
};

// Checks the registered claims of a verified token at time `now` (rules above).
absl::Status ValidateClaims(const nlohmann::json& claims, const ClaimRequirements& requirements,
                            absl::Time now);

// VerifyJwtSignature + ValidateClaims at clock.Now(); the claims on success.
absl::StatusOr<nlohmann::json> VerifyJwt(std::string_view token, const VerifyingKeyLookup& lookup,
                                         const ClaimRequirements& requirements, const Clock& clock);

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_JWT_H_
