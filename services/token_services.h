// TokenServices: the parts of the token realm wired together, as the composition root (and
// tests) build them once: the options, the principal cache the issuer reads and the
// management services invalidate, the workspace-credential minter, the issuer (the /token hot
// path) and the service-account, pull-token and refresh-token services. Guard them with
// services::TokenRealm before handing them to a transport.
//
//   TokenServices tokens(registry_store, token_store, hasher, &signer, clock, options, &metrics);
//   TokenRealm realm(guard, tokens);
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_SERVICES_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_SERVICES_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/jwt_signer.h"
#include "crypto/secret_hasher.h"
#include "services/principal_cache.h"
#include "services/pull_token_service.h"
#include "services/refresh_token_service.h"
#include "services/service_account_service.h"
#include "services/token_audit.h"
#include "services/token_issuer.h"
#include "services/token_realm_metrics.h"
#include "services/token_realm_options.h"
#include "services/workspace_credentials.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::services {

class TokenServices {
 public:
  // All references must outlive this object. `signer` may be null: then no token is issued and
  // no workspace credential minted (FAILED_PRECONDITION), but the management calls work.
  // `metrics` (may be null) hears how each IssueToken ended; `audit` (may be null) every
  // token that grants push or delete (services/token_audit.h).
  TokenServices(storage::RegistryStore& registry_store, storage::TokenStore& token_store,
                const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
                const Clock& clock, TokenRealmOptions options, TokenRealmMetrics* metrics = nullptr,
                TokenAuditSink* audit = nullptr);

  TokenServices(const TokenServices&) = delete;
  TokenServices& operator=(const TokenServices&) = delete;

  const TokenRealmOptions& options() const { return options_; }
  TokenIssuer& issuer() { return issuer_; }
  WorkspaceCredentials& workspace_credentials() { return workspace_credentials_; }
  ServiceAccountService& service_accounts() { return service_accounts_; }
  PullTokenService& pull_tokens() { return pull_tokens_; }
  RefreshTokenService& refresh_tokens() { return refresh_tokens_; }

  // HousekeepTokens with these options' throttle policy.
  absl::StatusOr<HousekeepingResult> Housekeep(absl::Duration keep_expired = absl::Hours(24));

 private:
  storage::TokenStore& token_store_;
  const Clock& clock_;
  const TokenRealmOptions options_;  // before the parts, which keep a reference
  PrincipalCache cache_;
  WorkspaceCredentials workspace_credentials_;
  TokenIssuer issuer_;
  ServiceAccountService service_accounts_;
  PullTokenService pull_tokens_;
  RefreshTokenService refresh_tokens_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_SERVICES_H_
