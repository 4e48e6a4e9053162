// PullTokenService: pull tokens, the read-only credentials a deployment target presents at
// /token as `pull+<token id>` with an `rpt_...` password (MintPullToken of the v1 API). A pull
// token may pull one app's repository `<workspace>/<app>` until it expires (the default or a
// given ttl, clamped to TokenRealmOptions::pull_token_max_ttl) or is revoked. The password is
// returned once and stored only as its keyed hash. Revokes forget the cached rows at once
// (services/principal_cache.h).
//
// Domain logic only: names arrive parsed and permissions checked; the guarded entry point is
// services::TokenRealm.
//
//   PullTokenService pulls(registry_store, token_store, hasher, clock, options, cache);
//   ASSIGN_OR_RETURN(MintedPullToken t, pulls.Mint({"acme", "web"}, absl::Hours(1), caller));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_PULL_TOKEN_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_PULL_TOKEN_SERVICE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/secret_hasher.h"
#include "model/tokens.h"
#include "services/names.h"
#include "services/principal_cache.h"
#include "services/token_realm_options.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::services {

struct MintedPullToken {
  PullToken token;
  std::string username;
  SecretString password;
  std::string registry;
};

class PullTokenService {
 public:
  // All must outlive this object.
  PullTokenService(storage::RegistryStore& registry_store, storage::TokenStore& tokens,
                   const crypto::SecretHasher& hasher, const Clock& clock,
                   const TokenRealmOptions& options, PrincipalCache& cache);

  // `ttl` zero: the default; above the maximum: clamped; negative: INVALID_ARGUMENT. The realm
  // must be configured (FAILED_PRECONDITION TOKEN_REALM_DISABLED) and the app must exist.
  absl::StatusOr<MintedPullToken> Mint(const AppName& app, absl::Duration ttl,
                                       std::string_view created_by);
  absl::StatusOr<PullToken> Revoke(const WorkspaceResourceName& name);
  // Revokes every pull token of the app; returns how many.
  absl::StatusOr<int64_t> RevokeOfApp(const AppName& app);
  // `parent` of ListPullTokens: `workspaces/{w}` (app_id "") or `workspaces/{w}/apps/{a}`.
  static absl::StatusOr<AppName> ParseListParent(std::string_view parent);
  // The tokens of a workspace, or of one app when `parent.app_id` is set; `limit` as
  // ResolveTokenListLimit gives it.
  absl::StatusOr<std::vector<PullToken>> List(const AppName& parent, int limit);

 private:
  storage::RegistryStore& registry_store_;
  storage::TokenStore& tokens_;
  const crypto::SecretHasher& hasher_;
  const Clock& clock_;
  const TokenRealmOptions& options_;
  PrincipalCache& cache_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PULL_TOKEN_SERVICE_H_
