// TokenRealm: the Docker token realm of registry-auth (distribution spec/auth/token.md) and
// the principals it serves: service accounts, pull tokens (MintPullToken) and refresh tokens.
//
// Issuing a registry token (IssueToken, what `/token` calls):
//   1. `service` must be the configured one (INVALID_ARGUMENT, reason UNKNOWN_SERVICE).
//   2. Scopes are parsed strictly (realm/scope.h); a malformed one is INVALID_ARGUMENT.
//   3. The principal is found from the credentials:
//        `<workspace>+<account>` + `ras_...`  a service account (enabled, not expired);
//        `pull+<token id>`       + `rpt_...`  a pull token (not revoked, not expired);
//        refresh token `rrt_<id>.<secret>`    its subject, checked again as above;
//        `build+<id>`            + `rbt_...`  a workspace credential (MintWorkspaceCredential:
//                                             push+pull on `<workspace>/*`, until it expires);
//        no credentials                       anonymous (access only to public repositories).
//      Secrets are compared as keyed hashes in constant time (crypto/secret_hasher.h). Every
//      failure is the same UNAUTHENTICATED "invalid credentials" (reason INVALID_CREDENTIALS),
//      whatever went wrong, so the answer does not tell which accounts exist.
//   4. Throttling, in the shared store (storage::TokenStore, so it holds across replicas):
//      failed logins are counted per client address (`addr:<ip>`, IPv6 by /64; blocks after
//      4x the policy's free failures) and per account as tried from that address
//      (`account:<user>@<ip>`). While the client's address is blocked, its requests are
//      RESOURCE_EXHAUSTED (reason TOO_MANY_FAILED_LOGINS, retry_after = the rest of the block)
//      before any credential is looked at. Otherwise the secret is checked first: the right
//      one is accepted whatever failures other clients caused, and a wrong one is
//      RESOURCE_EXHAUSTED instead of UNAUTHENTICATED once its pair or address is blocked.
//      A success clears the pair's failures. So nobody can lock a client out but from the
//      client's own address (README "Failed logins at /token").
//   Caching (TokenRealmOptions::cache_ttl, 5 s): account and pull-token rows and "no failures"
//   throttle states are reused for a few seconds, so a steady stream of logins costs no
//   database round trip. Changes through this replica invalidate at once; another replica's
//   changes (a disable, a revoke, a block) are seen within cache_ttl. Registry tokens already
//   issued live token_ttl (minutes) anyway, which bounds any revocation delay far more.
//   5. The token carries the intersection of the requested scopes and the principal's grants
//      (realm/grants.h); asking for more is not an error. `registry:catalog:*` only for the
//      service accounts named in TokenRealmOptions::catalog_accounts. Every requester,
//      anonymous ones included, may also pull `<workspace>/<app>` of an app marked
//      public_pull (looked up per repository asked for, cached like the rows above, absent
//      apps too; a change is seen within cache_ttl; at most 4 uncached lookups per request,
//      the rest count as not public). Names are matched whole, as the registry sees them:
//      `localhost/acme/web` is not `acme/web` (realm/grants.h).
//   6. It is a JWT signed by the JwtSigner: iss, sub, aud (= service, one string), iat, nbf,
//      exp (integers), jti, access.
//   7. With `offline`, a refresh token bound to the subject and the service is stored (hashed)
//      and returned.
//
// Management (service accounts, pull tokens, refresh tokens) is guarded like RegistryAuth:
// Authorizer checks, and changes are audited (AuditLog). Token issuance is not audited (it is
// the hot path; failures are logged).
//
//   TokenRealm realm(registry_store, token_store, hasher, &signer, clock, options);
//   ASSIGN_OR_RETURN(IssuedToken t, realm.IssueToken(ctx, request));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/ttl_cache.h"
#include "crypto/jwt_signer.h"
#include "crypto/secret_hasher.h"
#include "model/tokens.h"
#include "realm/grants.h"
#include "realm/scope.h"
#include "services/audit_log.h"
#include "services/authorizer.h"
#include "services/credentials.h"
#include "services/request_context.h"
#include "services/token_realm_metrics.h"
#include "services/types.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::services {

inline constexpr char kReasonUnknownService[] = "UNKNOWN_SERVICE";
inline constexpr char kReasonInvalidCredentials[] = "INVALID_CREDENTIALS";
inline constexpr char kReasonTooManyFailedLogins[] = "TOO_MANY_FAILED_LOGINS";
inline constexpr char kReasonTokenRealmDisabled[] = "TOKEN_REALM_DISABLED";

struct TokenRealmOptions {
  // The registry's `service` name (Distribution `auth.token.service`). Empty: the realm is
  // disabled (IssueToken and MintPullToken are FAILED_PRECONDITION).
  std::string service;
  // The tokens' `iss` (Distribution `auth.token.issuer`).
  std::string issuer = "registry-auth";
  // The registry host MintPullToken hands out, e.g. `registry.example.com:5000`.
  std::string registry_host;
  // Lifetime of registry tokens (>= 60 s).
  absl::Duration token_ttl = absl::Minutes(5);
  absl::Duration pull_token_default_ttl = absl::Hours(1);
  absl::Duration pull_token_max_ttl = absl::Hours(24);
  absl::Duration refresh_token_ttl = absl::Hours(24 * 30);
  storage::ThrottlePolicy throttle;
  // A successful login updates the account's last_used_time only when it is older than this
  // (one write per account per interval, not per request).
  absl::Duration touch_interval = absl::Minutes(1);
  // How long a replica may reuse a service account or pull token row it read, and a "no failed
  // logins" throttle state, instead of asking the database on every /token request. Changes
  // made through this replica apply at once; changes made through another replica (disable,
  // revoke, a block after failures there) apply here within this time. Zero: no cache.
  absl::Duration cache_ttl = absl::Seconds(5);
  size_t cache_capacity = 100000;
  // Service accounts (`<workspace>+<account>` user names) whose tokens may carry
  // `registry:catalog:*`. Distribution's `GET /v2/_catalog` lists every repository of every
  // workspace, so only platform operators' accounts belong here; pull tokens and anonymous
  // requests never get it.
  std::set<std::string> catalog_accounts;
};

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

// Mutable fields of a service account.
struct ServiceAccountInput {
  std::string display_name;
  std::vector<RepositoryGrant> grants;
  bool enabled = true;
  absl::Time expire_time = absl::InfiniteFuture();
};

// A service account with its new secret (Create, RegenerateSecret).
struct ServiceAccountWithSecret {
  ServiceAccount account;
  std::string username;
  SecretString secret;
};

struct MintedPullToken {
  PullToken token;
  std::string username;
  SecretString password;
  std::string registry;
};

class TokenRealm final : public WorkspaceCredentialMinter {
 public:
  // All references must outlive this object. `signer` may be null: then the realm cannot
  // issue tokens (FAILED_PRECONDITION), but the management calls work. `metrics` (may be null)
  // hears how each IssueToken ended.
  TokenRealm(storage::RegistryStore& registry_store, storage::TokenStore& token_store,
             const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
             const Clock& clock, TokenRealmOptions options,
             TokenRealmMetrics* metrics = nullptr);

  // Validates options (INVALID_ARGUMENT naming the option).
  static absl::Status ValidateOptions(const TokenRealmOptions& options);

  const TokenRealmOptions& options() const { return options_; }

  // ---- The realm. `ctx.peer` is the client address used for throttling.
  absl::StatusOr<IssuedToken> IssueToken(const RequestContext& ctx, const TokenRequest& request);

  // ---- Workspace credentials (WorkspaceCredentialMinter): what GetCredentials hands the build
  // worker for a DISTRIBUTION configuration on the platform registry. Stateless: the password
  // carries the workspace and the expiry (pull_token_default_ttl from now) under a keyed hash
  // (the SecretHasher's primary key), so minting writes nothing; it cannot be revoked one by one
  // (retiring the hash key revokes all) and cannot be the subject of a refresh token.
  // `registry_host` must equal TokenRealmOptions::registry_host (ASCII case-insensitive).
  bool ServesRegistry(std::string_view registry_host) const override;
  absl::StatusOr<Credentials> MintWorkspaceCredential(std::string_view workspace_id) override;

  // ---- Pull tokens
  // `ttl` zero: the default; above the maximum: clamped; negative: INVALID_ARGUMENT.
  absl::StatusOr<MintedPullToken> MintPullToken(const RequestContext& ctx,
                                                std::string_view app_name, absl::Duration ttl);
  absl::StatusOr<PullToken> RevokePullToken(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<int64_t> RevokePullTokens(const RequestContext& ctx, std::string_view app_name);
  // `parent`: `workspaces/{w}` or `workspaces/{w}/apps/{a}`.
  absl::StatusOr<std::vector<PullToken>> ListPullTokens(const RequestContext& ctx,
                                                        std::string_view parent, int limit);

  // ---- Service accounts
  absl::StatusOr<ServiceAccountWithSecret> CreateServiceAccount(const RequestContext& ctx,
                                                                std::string_view parent,
                                                                std::string_view id,
                                                                const ServiceAccountInput& input);
  absl::StatusOr<ServiceAccount> GetServiceAccount(const RequestContext& ctx,
                                                   std::string_view name);
  absl::StatusOr<ListResult<ServiceAccount>> ListServiceAccounts(const RequestContext& ctx,
                                                                 std::string_view parent,
                                                                 int page_size,
                                                                 std::string_view page_token);
  // Mask paths: display_name, grants, enabled (`disabled` in the API), expire_time; `*` for
  // all; empty for the ones set in `input` (non-empty name/grants, enabled=false, a finite
  // expire_time).
  absl::StatusOr<ServiceAccount> UpdateServiceAccount(const RequestContext& ctx,
                                                      std::string_view name,
                                                      const ServiceAccountInput& input,
                                                      const FieldMask& mask,
                                                      std::string_view etag);
  absl::Status DeleteServiceAccount(const RequestContext& ctx, std::string_view name,
                                    std::string_view etag);
  absl::StatusOr<ServiceAccountWithSecret> RegenerateServiceAccountSecret(
      const RequestContext& ctx, std::string_view name, std::string_view etag);

  // ---- Refresh tokens
  absl::StatusOr<std::vector<RefreshToken>> ListRefreshTokens(const RequestContext& ctx,
                                                              std::string_view parent,
                                                              std::string_view subject,
                                                              int limit);
  absl::StatusOr<RefreshToken> RevokeRefreshToken(const RequestContext& ctx,
                                                   std::string_view name);

  // ---- Housekeeping (the server runs it every few minutes; safe on several replicas at once)
  struct HousekeepingResult {
    int64_t pull_tokens = 0;
    int64_t refresh_tokens = 0;
    int64_t throttle_states = 0;
  };
  // Deletes pull and refresh tokens that expired more than `keep_expired` ago (they stay
  // listable that long) and throttle states whose window and block have ended. Their hashes
  // then no longer hold a data key in use (`registry-authd keys retire`).
  absl::StatusOr<HousekeepingResult> Housekeep(absl::Duration keep_expired = absl::Hours(24));

  // Resource names.
  static std::string FormatServiceAccountName(std::string_view workspace_id,
                                              std::string_view id);
  static std::string FormatPullTokenName(std::string_view workspace_id, std::string_view id);
  static std::string FormatRefreshTokenName(std::string_view workspace_id, std::string_view id);
  // `<workspace>+<id>`, what a service account presents at /token.
  static std::string ServiceAccountUsername(std::string_view workspace_id, std::string_view id);

 private:
  struct Principal;
  absl::StatusOr<IssuedToken> IssueTokenUnmetered(const RequestContext& ctx,
                                                  const TokenRequest& request);
  // `address_key`: the client's AddressKey ("" when unknown).
  absl::StatusOr<Principal> Authenticate(const TokenRequest& request,
                                         const std::string& address_key, absl::Time now);
  // The principal a user name stands for (`pull+<id>` or `<workspace>+<id>`), still valid at
  // `now`. With `password` (a login) the secret must match its stored hash; without (the
  // subject of a refresh token) only the principal's own state is checked. Every refusal is
  // InvalidCredentials().
  absl::StatusOr<Principal> ResolvePrincipal(std::string_view username,
                                             const std::string_view* password, absl::Time now);
  // `prefix` + 43 base64url characters (256 random bits), and its keyed hash in `hash`.
  absl::StatusOr<SecretString> NewSecret(std::string_view prefix, SecretHash* hash) const;
  // Reads through the caches (TokenRealmOptions::cache_ttl); NOT_FOUND results are not cached.
  absl::StatusOr<ServiceAccount> CachedServiceAccount(std::string_view username,
                                                      std::string_view workspace_id,
                                                      std::string_view id);
  absl::StatusOr<PullToken> CachedPullToken(std::string_view id);
  // RESOURCE_EXHAUSTED (TOO_MANY_FAILED_LOGINS) while `key` is blocked; "" is never blocked.
  // `failures` (may be null): the key's failures as read (0 when cached clean).
  absl::Status CheckThrottle(const std::string& key, absl::Time now, int32_t* failures);
  // Counts one failed login against both keys (either may be ""); returns the answer for it:
  // RESOURCE_EXHAUSTED when a key is now blocked, else InvalidCredentials().
  absl::Status RecordFailure(const std::string& account_key, const std::string& address_key,
                             absl::Time now);
  // options_.throttle with kAddressFailureFactor times the free failures: an address's own.
  storage::ThrottlePolicy AddressPolicy() const;
  // `grants` plus pull on each requested `<workspace>/<app>` whose app is public_pull and that
  // `grants` do not already let the principal pull. UNAVAILABLE if the lookup fails.
  absl::StatusOr<std::vector<realm::Grant>> WithPublicPulls(
      const std::vector<realm::ResourceScope>& requested, std::vector<realm::Grant> grants);
  // Through public_app_cache_; a miss costs one of `*lookups_left` (none left: false).
  absl::StatusOr<bool> IsPublicApp(std::string_view workspace_id, std::string_view app_id,
                                   int* lookups_left);
  absl::StatusOr<SecretString> NewRefreshToken(const Principal& principal,
                                               const TokenRequest& request, absl::Time now);

  storage::RegistryStore& registry_store_;
  storage::TokenStore& tokens_;
  const crypto::SecretHasher& hasher_;
  const crypto::JwtSigner* const signer_;
  const Clock& clock_;
  const TokenRealmOptions options_;
  TokenRealmMetrics* const metrics_;
  Authorizer authz_;
  AuditLog audit_;
  // See TokenRealmOptions::cache_ttl. Keys: `<workspace>+<id>`, pull token id, throttle key.
  TtlCache<std::string, ServiceAccount> account_cache_;
  TtlCache<std::string, PullToken> pull_cache_;
  TtlCache<std::string, bool> clean_throttle_cache_;
  TtlCache<std::string, bool> public_app_cache_;  // `<workspace>/<app>` -> public_pull
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_
