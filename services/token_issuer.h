// TokenIssuer: the hot path of the Docker token realm of registry-auth (distribution
// spec/auth/token.md), what `/token` calls.
//
// Issuing a registry token (IssueToken):
//   1. `service` must be the configured one (INVALID_ARGUMENT, reason UNKNOWN_SERVICE).
//   2. Scopes are parsed strictly (realm/scope.h); a malformed one is INVALID_ARGUMENT.
//   3. The principal is found from the credentials (services/principal_resolver.h):
//        `<workspace>+<account>` + `ras_...`  a service account (enabled, not expired);
//        `pull+<token id>`       + `rpt_...`  a pull token (not revoked, not expired);
//        refresh token `rrt_<id>.<secret>`    its subject, checked again as above;
//        `build+<id>`            + `rbt_...`  a workspace credential (MintWorkspaceCredential,
//                                             services/workspace_credentials.h: push+pull on
//                                             `<workspace>/*` or its narrowing, until it
//                                             expires);
//        no credentials                       anonymous (access only to public repositories).
//      Secrets are compared as keyed hashes in constant time (crypto/secret_hasher.h). Every
//      failure is the same UNAUTHENTICATED "invalid credentials" (reason INVALID_CREDENTIALS),
//      whatever went wrong, so the answer does not tell which accounts exist.
//   4. Throttling of failed logins per client address and per (account, address), in the
//      shared store: services/login_throttle.h (README "Failed logins at /token").
//   Caching (TokenRealmOptions::cache_ttl, 5 s): account and pull-token rows
//   (services/principal_cache.h), "no failures" throttle states and public_pull answers are
//   reused for a few seconds, so a steady stream of logins costs no database round trip.
//   Changes through this replica invalidate at once; another replica's changes (a disable, a
//   revoke, a block) are seen within cache_ttl. Registry tokens already issued live token_ttl
//   (minutes) anyway, which bounds any revocation delay far more.
//   5. The token carries the intersection of the requested scopes and the principal's grants
//      (realm/grants.h); asking for more is not an error. `registry:catalog:*` only for the
//      service accounts named in TokenRealmOptions::catalog_accounts. Every requester,
//      anonymous ones included, may also pull `<workspace>/<app>` of an app marked
//      public_pull (services/public_pulls.h).
//   6. It is a JWT signed by the JwtSigner: iss, sub, aud (= service, one string), iat, nbf,
//      exp (integers), jti, access.
//   7. With `offline`, a refresh token bound to the subject and the service is stored (hashed)
//      and returned (not for a workspace credential, which could not be checked again).
// Issuance that grants push or delete (or `*`) is audited off the hot path: the issuer hands
// a TokenAuditEntry to the TokenAuditSink (services/token_audit.h, a bounded queue written in
// batches by a thread of its own) and never waits for it. Pull-only tokens are not audited
// (refusals are logged). The metrics sink hears the principal's kind and the outcome of every
// request.
//
//   TokenIssuer issuer(registry_store, token_store, hasher, &signer, clock, options, cache,
//                      workspace_credentials, &metrics, &token_audit);
//   ASSIGN_OR_RETURN(IssuedToken t, issuer.IssueToken(ctx, request));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_ISSUER_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_ISSUER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/jwt_signer.h"
#include "crypto/secret_hasher.h"
#include "services/login_throttle.h"
#include "services/principal.h"
#include "services/principal_cache.h"
#include "services/principal_resolver.h"
#include "services/public_pulls.h"
#include "services/request_context.h"
#include "services/token_audit.h"
#include "services/token_realm_errors.h"
#include "services/token_realm_metrics.h"
#include "services/token_realm_options.h"
#include "services/workspace_credentials.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::services {

enum class TokenGrantType { kGet, kPassword, kRefreshToken };

// One /token request, transport-free.
struct TokenRequest {
  TokenGrantType grant_type = TokenGrantType::kGet;
  std::string service;
  std::vector<std::string> scopes;  // as sent; each may hold several space-separated scopes
  std::string account;
  std::string client_id;
  bool offline = false;
  std::string username;
  SecretString password;
  SecretString refresh_token;
};

struct IssuedToken {
  std::string token;
  absl::Duration expires_in;
  absl::Time issued_at;
  SecretString refresh_token;  // empty unless offline or a refresh grant
  std::vector<std::string> granted_scopes;
  std::string subject;  // "" for anonymous
};

class TokenIssuer {
 public:
  // All references must outlive this object. `signer` may be null: then no token is issued
  // (FAILED_PRECONDITION, TOKEN_REALM_DISABLED). `metrics` (may be null) hears how each
  // IssueToken ended; `audit` (may be null: nothing recorded) hears every token that grants
  // push or delete.
  TokenIssuer(storage::RegistryStore& registry_store, storage::TokenStore& token_store,
              const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
              const Clock& clock, const TokenRealmOptions& options, PrincipalCache& cache,
              const WorkspaceCredentials& workspace_credentials,
              TokenRealmMetrics* metrics = nullptr, TokenAuditSink* audit = nullptr);

  // `ctx.peer` is the client address used for throttling.
  absl::StatusOr<IssuedToken> IssueToken(const RequestContext& ctx, const TokenRequest& request);

 private:
  absl::StatusOr<IssuedToken> IssueTokenUnmetered(const RequestContext& ctx,
                                                  const TokenRequest& request, PrincipalKind kind);
  // `address_key`: the client's AddressKey ("" when unknown).
  absl::StatusOr<Principal> Authenticate(const TokenRequest& request, PrincipalKind kind,
                                         const std::string& address_key, absl::Time now);
  absl::StatusOr<Principal> AuthenticateRefreshToken(const TokenRequest& request,
                                                     const std::string& address_key,
                                                     absl::Time now);
  absl::StatusOr<SecretString> NewRefreshToken(const Principal& principal,
                                               const TokenRequest& request, absl::Time now);

  storage::TokenStore& tokens_;
  const crypto::SecretHasher& hasher_;
  const crypto::JwtSigner* const signer_;
  const Clock& clock_;
  const TokenRealmOptions& options_;
  TokenRealmMetrics* const metrics_;
  TokenAuditSink* const audit_;
  LoginThrottle throttle_;
  PublicPulls public_pulls_;
  PrincipalResolver resolver_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_ISSUER_H_
