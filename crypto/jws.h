// JWS signing keys over OpenSSL EVP: ES256 (ECDSA P-256 + SHA-256) and RS256 (RSASSA-PKCS1-v1_5
// + SHA-256), the key identifiers registries look keys up by, and public JWKs (RFC 7515, 7517,
// 7518, 7638). crypto/jwt.h builds compact tokens on top of this.
//
// Algorithms. The algorithm is a property of the key, never of the input: a P-256 key is ES256,
// an RSA key (2048 to 16384 bits, odd public exponent > 1) is RS256, everything else is refused
// when the key is loaded (other curves, RSA-PSS keys, Ed25519, short RSA keys). Verify() takes the
// token's `alg` and fails unless it names exactly the key's algorithm, so "none", HS256 (HMAC keyed
// with a public key) or RS256-vs-ES256 swaps can never verify.
//
// Signature formats. ES256 signatures are the raw 64 bytes r || s (each left-padded to 32
// bytes), as RFC 7518 §3.4 requires and Docker Distribution insists on; OpenSSL's DER
// ECDSA-Sig-Value is converted both ways here. Verify() refuses an ES256 signature that is not
// exactly 64 bytes and an RS256 signature that is not exactly the modulus size.
//
// Key ids (both computed once, from the public key):
//   - JwkThumbprint(): RFC 7638, base64url(SHA-256 of {"crv","kty","x","y"} resp.
//     {"e","kty","n"} in that order without whitespace), 43 characters. Distribution 3.x and
//     JWKS consumers use it as `kid`.
//   - LibtrustKeyId(): Docker libtrust's id, which Distribution 2.x matches `kid` against: the
//     SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 (RFC 4648, no padding,
//     48 characters) in 12 groups of 4 joined by ':' ("OD6I:6DRK:JXEJ:...:LSF4"). EC public keys
//     are always encoded as uncompressed points, as Go's x509.MarshalPKIXPublicKey does.
//
// Loading. Private keys are PEM: PKCS#8 ("PRIVATE KEY") or traditional ("EC PRIVATE KEY",
// "RSA PRIVATE KEY"); encrypted keys are refused (there is no passphrase prompt). The key must
// pass OpenSSL's pairwise consistency check. Public keys are PEM "PUBLIC KEY" (SPKI) or the
// first "CERTIFICATE" of a PEM text. Keys are parsed once, at start-up, never per request.
// Errors are INVALID_ARGUMENT with a fixed message that never quotes the PEM; INTERNAL means
// OpenSSL itself failed.
//
// Secrets. SigningKey takes the PEM as a SecretString and makes no copy of it (OpenSSL's
// decoder buffers are its own; its key structures wipe the private values when freed).
// Generated keys are written through a BIO_s_secmem() and come back as SecretString.
//
// Thread-safety: SigningKey and VerifyingKey are immutable after construction. Sign and Verify
// only read the shared EVP_PKEY and create their own EVP_MD_CTX / EVP_PKEY_CTX per call, which
// openssl-threads(7) allows ("objects are thread-safe as long as the APIs being invoked don't
// modify the object"; contexts are per thread). Concurrent calls are fine.
//
//   ASSIGN_OR_RETURN(SecretString pem, GenerateEs256KeyPem());
//   ASSIGN_OR_RETURN(std::unique_ptr<SigningKey> key, SigningKey::FromPrivateKeyPem(pem));
//   ASSIGN_OR_RETURN(std::string sig, key->Sign(signing_input));
//   RETURN_IF_ERROR(key->public_key()->Verify("ES256", signing_input, sig));
//   std::string kid = key->public_key()->LibtrustKeyId();
#ifndef REGISTRY_AUTH_CRYPTO_JWS_H_
#define REGISTRY_AUTH_CRYPTO_JWS_H_

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"

namespace registryauth::crypto {

enum class JwsAlgorithm { kEs256, kRs256 };

// "ES256" / "RS256".
std::string_view JwsAlgorithmName(JwsAlgorithm alg);

// Which key id a token header, a JWKS or a key lookup uses.
enum class KeyIdStyle {
  kJwkThumbprint,  // RFC 7638 (Distribution 3.x, JWKS consumers)
  kLibtrust,       // Docker libtrust (Distribution 2.x `kid`)
};

// The public half of a signing key. Immutable; thread-safe.
class VerifyingKey {
 public:
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Other PEM blocks before it are skipped.
  static absl::StatusOr<std::unique_ptr<VerifyingKey>> FromPublicKeyPem(std::string_view pem);
  // The public key of the first "CERTIFICATE" in `pem` (the certificate is not validated:
  // trust comes from whoever configured it).
  static absl::StatusOr<std::unique_ptr<VerifyingKey>> FromCertificatePem(std::string_view pem);
  // A DER SubjectPublicKeyInfo.
  static absl::StatusOr<std::unique_ptr<VerifyingKey>> FromSpkiDer(std::string_view der);

  ~VerifyingKey();
  VerifyingKey(const VerifyingKey&) = delete;
  VerifyingKey& operator=(const VerifyingKey&) = delete;

  JwsAlgorithm algorithm() const { return algorithm_; }

  // OK if `signature` is a valid JWS signature of `signing_input` (the ASCII
  // "BASE64URL(header).BASE64URL(payload)") by this key under `alg`, which must be this key's
  // algorithm name. INVALID_ARGUMENT "unsupported JWS algorithm" for any other alg (including
  // "none" and HS*), "JWS algorithm does not match the key" for the other supported one, and
  // "invalid signature length"; UNAUTHENTICATED "invalid signature" when the signature does not
  // verify. INTERNAL if OpenSSL fails.
  absl::Status Verify(std::string_view alg, std::string_view signing_input,
                      std::string_view signature) const;

  // Canonical DER SubjectPublicKeyInfo (EC points uncompressed).
  const std::string& spki_der() const { return spki_der_; }
  // PEM "PUBLIC KEY" of spki_der().
  std::string PublicKeyPem() const;
  // True if both hold the same public key.
  bool SamePublicKey(const VerifyingKey& other) const { return spki_der_ == other.spki_der_; }

  // "SHA256:" + base64 (standard, padded) of SHA-256 over spki_der(): the fingerprint GitHub
  // shows for an App's private keys and `openssl pkey -pubout -outform DER | openssl sha256
  // -binary | openssl base64` prints. Not secret.
  std::string Sha256Fingerprint() const;

  const std::string& JwkThumbprint() const { return jwk_thumbprint_; }
  const std::string& LibtrustKeyId() const { return libtrust_key_id_; }
  const std::string& KeyId(KeyIdStyle style) const;

  // The public JWK: {"kty":"EC","crv":"P-256","x","y"} or {"kty":"RSA","n","e"}, plus
  // "kid" (in `style`), "alg" and "use":"sig".
  nlohmann::json PublicJwk(KeyIdStyle style) const;

 private:
  friend class SigningKey;
  struct Parts;
  // Takes ownership of `parts.pkey`, a public-only key in canonical form.
  explicit VerifyingKey(Parts parts);
  // Validates the key type and size and builds the canonical public key. Does not take
  // ownership of `pkey` (which may be a private key).
  static absl::StatusOr<std::unique_ptr<VerifyingKey>> FromPkey(const EVP_PKEY* pkey);

  EVP_PKEY* const pkey_;
  const JwsAlgorithm algorithm_;
  const std::string spki_der_;
  const nlohmann::json jwk_members_;  // the RFC 7638 required members (kty, crv/x/y or n/e)
  const std::string jwk_thumbprint_;
  const std::string libtrust_key_id_;
};

// Subject and validity of a self-signed certificate.
struct CertificateSpec {
  std::string common_name;  // 1..64 bytes
  absl::Time not_before;
  absl::Time not_after;  // after not_before
};

// A private signing key. Immutable; thread-safe.
class SigningKey {
 public:
  // Parses a PEM private key (see "Loading" above). INVALID_ARGUMENT "cannot parse private key
  // PEM (PKCS#8 or traditional EC/RSA, unencrypted)", "EC keys must use the P-256 curve
  // (ES256)", "RSA keys must have 2048 to 16384 bits", "RSA public exponent must be odd and
  // greater than 1", "unsupported key type (only EC P-256 and RSA)", or "private key fails its
  // consistency check". The public-key factories of
  // VerifyingKey apply the same type and size rules.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPrivateKeyPem(const SecretString& pem);

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  JwsAlgorithm algorithm() const { return public_key_->algorithm(); }

  // The JWS signature of `signing_input`: 64 bytes r || s for ES256 (randomized), the
  // modulus-sized PKCS#1 v1.5 signature for RS256 (deterministic). INTERNAL if OpenSSL fails.
  absl::StatusOr<std::string> Sign(std::string_view signing_input) const;

  // The public half, shareable with a key set that outlives this object.
  const std::shared_ptr<const VerifyingKey>& public_key() const { return public_key_; }

  // A self-signed X.509 v3 certificate for this key, PEM: subject = issuer = CN, a random
  // 127-bit serial, basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical),
  // subject key identifier; signed with ECDSA-SHA256 or sha256WithRSAEncryption. This is what
  // Distribution's `auth.token.rootcertbundle` holds for our signing keys. INVALID_ARGUMENT for
  // an empty or over-long CN or an empty validity period.
  absl::StatusOr<std::string> SelfSignedCertificatePem(const CertificateSpec& spec) const;

 private:
  // Signing contexts set up once and lent to one Sign call at a time: OpenSSL 3 otherwise
  // looks the algorithm up again on every signature (crypto/jws_bench.cc).
  class ContextPool;

  SigningKey(EVP_PKEY* pkey, std::shared_ptr<const VerifyingKey> public_key);

  EVP_PKEY* const pkey_;
  const std::shared_ptr<const VerifyingKey> public_key_;
  const std::unique_ptr<ContextPool> contexts_;
};

// A fresh P-256 key from the OpenSSL CSPRNG, PKCS#8 PEM.
absl::StatusOr<SecretString> GenerateEs256KeyPem();
// A fresh RSA key (e = 65537), PKCS#8 PEM. INVALID_ARGUMENT unless 2048 <= bits <= 8192.
absl::StatusOr<SecretString> GenerateRsaKeyPem(int bits = 3072);

// The DER of every "CERTIFICATE" block of `pem`, in order (for a JWS `x5c` header).
// INVALID_ARGUMENT if there is none or one does not parse.
absl::StatusOr<std::vector<std::string>> CertificateDerChainFromPem(std::string_view pem);

// Verifying keys found by `kid` in either style (each key is indexed under its RFC 7638
// thumbprint and its libtrust id), for crypto/jwt.h's VerifyJwt. Immutable; thread-safe.
//
//   VerifyingKeySet keys({current->public_key(), previous->public_key()});
//   std::shared_ptr<const VerifyingKey> k = keys.Find(kid);   // nullptr if unknown
class VerifyingKeySet {
 public:
  explicit VerifyingKeySet(std::vector<std::shared_ptr<const VerifyingKey>> keys);

  std::shared_ptr<const VerifyingKey> Find(std::string_view kid) const;
  const std::vector<std::shared_ptr<const VerifyingKey>>& keys() const { return keys_; }

 private:
  const std::vector<std::shared_ptr<const VerifyingKey>> keys_;
};

// {"keys":[PublicJwk(style) of each key]} — the JWKS file Distribution 3.x reads.
nlohmann::json JwksDocument(const std::vector<std::shared_ptr<const VerifyingKey>>& keys,
                            KeyIdStyle style);

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_JWS_H_
