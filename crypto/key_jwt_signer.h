// KeyJwtSigner: a JwtSigner over one in-memory SigningKey, for tests, fuzzers and tools. The
// server signs with TokenSigningKeys instead (a key set from files, rotation, certificates).
//
//   KeyJwtSigner signer(*SigningKey::FromPrivateKeyPem(*GenerateEs256KeyPem()));
//   ASSIGN_OR_RETURN(std::string token, signer.Sign(claims));
//
// By default the header's "kid" is the key's JWK thumbprint (RFC 7638), the same as KeyId().
// Thread-safe (the key is immutable).
#ifndef REGISTRY_AUTH_CRYPTO_KEY_JWT_SIGNER_H_
#define REGISTRY_AUTH_CRYPTO_KEY_JWT_SIGNER_H_

#include <memory>
#include <string>
#include <utility>

#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/jwt_signer.h"

namespace registryauth::crypto {

class KeyJwtSigner final : public JwtSigner {
 public:
  static JwtHeaderOptions ThumbprintKid() {
    JwtHeaderOptions options;
    options.kid = KeyIdStyle::kJwkThumbprint;
    return options;
  }

  explicit KeyJwtSigner(std::unique_ptr<SigningKey> key, JwtHeaderOptions header = ThumbprintKid())
      : key_(std::move(key)), prepared_(key_, header) {}

  // The header is encoded once (PreparedJwtSigner), as TokenSigningKeys does.
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const override {
    return prepared_.Sign(claims);
  }
  absl::StatusOr<std::string> SignClaims(const JwtClaims& claims) const override {
    return prepared_.SignClaims(claims);
  }
  JwsAlgorithm algorithm() const override { return key_->algorithm(); }
  std::string KeyId() const override { return key_->public_key()->JwkThumbprint(); }

  const SigningKey& key() const { return *key_; }

 private:
  const std::shared_ptr<const SigningKey> key_;
  const PreparedJwtSigner prepared_;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_KEY_JWT_SIGNER_H_
