#include "services/pull_token_service.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "services/page_token.h"
#include "services/principal.h"
#include "services/token_realm_errors.h"
#include "services/token_secrets.h"

namespace registryauth::services {

PullTokenService::PullTokenService(storage::RegistryStore& registry_store,
                                   storage::TokenStore& tokens, const crypto::SecretHasher& hasher,
                                   const Clock& clock, const TokenRealmOptions& options,
                                   PrincipalCache& cache)
    : registry_store_(registry_store),
      tokens_(tokens),
      hasher_(hasher),
      clock_(clock),
      options_(options),
      cache_(cache) {}

absl::StatusOr<MintedPullToken> PullTokenService::Mint(const AppName& n, absl::Duration ttl,
                                                       std::string_view created_by) {
  if (options_.service.empty()) return RealmDisabled();
  if (ttl < absl::ZeroDuration()) return absl::InvalidArgumentError("ttl: must not be negative");
  if (ttl == absl::ZeroDuration()) ttl = options_.pull_token_default_ttl;
  ttl = std::min(ttl, options_.pull_token_max_ttl);
  absl::StatusOr<App> app = registry_store_.GetApp(n.workspace_id, n.app_id);
  if (!app.ok()) return MapStoreError(app.status(), FormatAppName(n.workspace_id, n.app_id));

  const absl::Time now = clock_.Now();
  MintedPullToken out;
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  PullToken& t = out.token;
  ASSIGN_OR_RETURN(out.password, NewSecret(hasher_, kPullTokenSecretPrefix, &t.secret_hash));
  t.id = id;
  t.workspace_id = n.workspace_id;
  t.app_id = n.app_id;
  t.repository = Cat(n.workspace_id, "/", n.app_id);
  t.created_by = std::string(created_by);
  t.create_time = now;
  // Whole seconds, so what the API reports is exactly what the store keeps.
  t.expire_time = absl::FromUnixSeconds(absl::ToUnixSeconds(now + ttl));
  RETURN_IF_ERROR(tokens_.CreatePullToken(t));
  out.username = Cat(kPullUserPrefix, id);
  out.registry = options_.registry_host;
  return out;
}

absl::StatusOr<PullToken> PullTokenService::Revoke(const WorkspaceResourceName& n) {
  absl::StatusOr<PullToken> token = tokens_.GetPullToken(n.id);
  if (absl::IsNotFound(token.status()) || (token.ok() && token->workspace_id != n.workspace_id)) {
    return absl::NotFoundError(Cat(FormatPullTokenName(n.workspace_id, n.id), ": not found"));
  }
  if (!token.ok()) return token.status();
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(bool revoked, tokens_.RevokePullToken(n.id, now));
  cache_.ForgetPullToken(n.id);
  if (revoked) token->revoke_time = now;
  return token;
}

absl::StatusOr<int64_t> PullTokenService::RevokeOfApp(const AppName& n) {
  absl::StatusOr<int64_t> revoked =
      tokens_.RevokePullTokensOfApp(n.workspace_id, n.app_id, clock_.Now());
  cache_.ForgetAllPullTokens();  // the cache is keyed by token id; drop them all
  return revoked;
}

absl::StatusOr<AppName> PullTokenService::ParseListParent(std::string_view parent) {
  if (absl::StatusOr<AppName> a = ParseAppName(parent, "parent"); a.ok()) return a;
  absl::StatusOr<std::string> w = ParseWorkspaceName(parent, "parent");
  if (!w.ok()) {
    return absl::InvalidArgumentError(
        Cat("parent: must be workspaces/{workspace} or workspaces/{workspace}/apps/{app}, got ",
            QuoteInput(parent)));
  }
  return AppName{*std::move(w), ""};
}

absl::StatusOr<std::vector<PullToken>> PullTokenService::List(const AppName& parent, int limit) {
  absl::StatusOr<std::vector<PullToken>> tokens =
      tokens_.ListPullTokens(parent.workspace_id, parent.app_id, limit);
  if (!tokens.ok()) return MapStoreError(tokens.status(), FormatWorkspaceName(parent.workspace_id));
  return tokens;
}

}  // namespace registryauth::services
