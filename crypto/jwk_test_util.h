// Test-only: OpenSSL keys from JWK members (RFC 7518 §6), so the RFC example keys of
// crypto/testdata/jose_vectors.txt can be fed to the PEM loaders of crypto/jws.h, and PEM
// re-encodings of a key (traditional, encrypted) for loader tests.
//
//   auto records = ReadVectorFile(TestDataPath("crypto/testdata/jose_vectors.txt"));
//   ASSIGN_OR_RETURN(SecretString pem, PrivateKeyPemFromJwk(records[0]));
//   ASSIGN_OR_RETURN(std::string pub, PublicKeyPemFromJwk(records[0]));
//
// Thread-compatible (plain functions over values).
#ifndef REGISTRY_AUTH_CRYPTO_JWK_TEST_UTIL_H_
#define REGISTRY_AUTH_CRYPTO_JWK_TEST_UTIL_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth::crypto::testing {

// `jwk` holds "kty" ("EC" with "crv" = "P-256", "x", "y", "d"; or "RSA" with "n", "e", "d",
// "p", "q", "dp", "dq", "qi"), values base64url. PKCS#8 PEM.
absl::StatusOr<SecretString> PrivateKeyPemFromJwk(const std::map<std::string, std::string>& jwk);

// The same for the public members only ("x", "y" or "n", "e"). SPKI PEM ("PUBLIC KEY").
absl::StatusOr<std::string> PublicKeyPemFromJwk(const std::map<std::string, std::string>& jwk);

// Re-encodes a PEM private key: "traditional" ("EC PRIVATE KEY" / "RSA PRIVATE KEY"), or
// "encrypted" (PKCS#8 "ENCRYPTED PRIVATE KEY", AES-256-CBC, passphrase "secret").
absl::StatusOr<std::string> ReencodePrivateKeyPem(const SecretString& pem, const std::string& form);

// A PEM private key of another kind, for refusal tests: "P-384", "ED25519", "RSA-PSS", "RSA1024".
absl::StatusOr<std::string> GenerateOtherKeyPem(const std::string& kind);

// One RSA-2048 PKCS#8 key per test binary, generated on first use (generating keys is slow):
// e.g. a GitHub App's private key in tests. Aborts if OpenSSL cannot generate it.
const SecretString& SharedRsaKeyPem();

}  // namespace registryauth::crypto::testing

#endif  // REGISTRY_AUTH_CRYPTO_JWK_TEST_UTIL_H_
