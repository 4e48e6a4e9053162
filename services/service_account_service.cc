#include "services/service_account_service.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "realm/grants.h"
#include "services/page_token.h"
#include "services/registry_service.h"
#include "services/token_secrets.h"

namespace registryauth::services {
namespace {

constexpr size_t kMaxGrants = 64;
constexpr size_t kMaxDisplayName = 256;

absl::Status ValidateInput(std::string_view workspace_id, const ServiceAccountInput& input,
                           absl::Time now) {
  if (input.display_name.size() > kMaxDisplayName) {
    return absl::InvalidArgumentError("service_account.display_name: longer than 256 characters");
  }
  if (input.grants.size() > kMaxGrants) {
    return absl::InvalidArgumentError("service_account.grants: more than 64 grants");
  }
  for (size_t i = 0; i < input.grants.size(); ++i) {
    const RepositoryGrant& g = input.grants[i];
    const std::string field = absl::StrCat("service_account.grants[", i, "]");
    if (absl::Status s = realm::ValidateGrantPattern(workspace_id, g.repository_pattern); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".repository: ", s.message()));
    }
    std::set<std::string> actions(g.actions.begin(), g.actions.end());
    if (actions.size() != g.actions.size()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".actions: duplicate action"));
    }
    if (absl::Status s = realm::ValidateGrantActions(actions); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".actions: ", s.message()));
    }
  }
  if (input.expire_time != absl::InfiniteFuture() && input.expire_time <= now) {
    return absl::InvalidArgumentError("service_account.expire_time: must be in the future");
  }
  return absl::OkStatus();
}

std::vector<RepositoryGrant> NormalizedGrants(const std::vector<RepositoryGrant>& grants) {
  std::vector<RepositoryGrant> out = grants;
  for (RepositoryGrant& g : out) {
    std::sort(g.actions.begin(), g.actions.end());
  }
  return out;
}

// The mask paths an update sets (see ServiceAccountService::Update).
absl::StatusOr<std::set<std::string>> UpdatePaths(const ServiceAccountInput& input,
                                                  const FieldMask& mask) {
  std::set<std::string> paths(mask.begin(), mask.end());
  if (paths.count("*") > 0 && paths.size() > 1) {
    return absl::InvalidArgumentError("update_mask: `*` cannot be combined with other paths");
  }
  static const std::set<std::string> kKnown = {"display_name", "grants", "disabled", "enabled",
                                               "expire_time"};
  for (const std::string& p : paths) {
    if (p != "*" && kKnown.count(p) == 0) {
      return absl::InvalidArgumentError(Cat("update_mask: unknown path ", QuoteInput(p)));
    }
  }
  if (paths.empty()) {
    if (!input.display_name.empty()) paths.insert("display_name");
    if (!input.grants.empty()) paths.insert("grants");
    if (!input.enabled) paths.insert("disabled");
    if (input.expire_time != absl::InfiniteFuture()) paths.insert("expire_time");
    if (paths.empty()) {
      return absl::InvalidArgumentError("nothing to update: no update_mask and no fields set");
    }
  }
  return paths;
}

}  // namespace

ServiceAccountService::ServiceAccountService(storage::TokenStore& tokens,
                                             const crypto::SecretHasher& hasher, const Clock& clock,
                                             PrincipalCache& cache)
    : tokens_(tokens), hasher_(hasher), clock_(clock), cache_(cache) {}

absl::StatusOr<ServiceAccountWithSecret> ServiceAccountService::Create(
    std::string_view ws, std::string_view id, const ServiceAccountInput& input) {
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(ValidateInput(ws, input, now));
  ServiceAccountWithSecret out;
  ServiceAccount a;
  ASSIGN_OR_RETURN(out.secret, NewSecret(hasher_, kServiceAccountSecretPrefix, &a.secret_hash));
  ASSIGN_OR_RETURN(a.uid, NewUid());
  a.workspace_id = std::string(ws);
  a.id = std::string(id);
  a.display_name = input.display_name;
  a.grants = NormalizedGrants(input.grants);
  a.enabled = input.enabled;
  a.expire_time = input.expire_time;
  a.secret_rotate_time = now;
  a.create_time = now;
  a.update_time = now;
  absl::StatusOr<ServiceAccount> created = tokens_.CreateServiceAccount(a);
  if (!created.ok()) {
    if (absl::IsNotFound(created.status())) {
      return AnnotateStoreError(created.status(), FormatWorkspaceName(ws));
    }
    return MapStoreError(created.status(), FormatServiceAccountName(ws, id));
  }
  out.account = *std::move(created);
  out.username = ServiceAccountUsername(ws, id);
  return out;
}

absl::StatusOr<ServiceAccount> ServiceAccountService::Get(const WorkspaceResourceName& n) {
  absl::StatusOr<ServiceAccount> a = tokens_.GetServiceAccount(n.workspace_id, n.id);
  if (!a.ok()) return MapStoreError(a.status(), FormatServiceAccountName(n.workspace_id, n.id));
  return a;
}

absl::StatusOr<ListResult<ServiceAccount>> ServiceAccountService::List(
    std::string_view ws, int page_size, std::string_view page_token) {
  return ListPage<ServiceAccount>(
      Cat(FormatWorkspaceName(ws), "/serviceAccounts"), page_size, page_token,
      [&](ListOptions o) -> absl::StatusOr<Page<ServiceAccount>> {
        absl::StatusOr<Page<ServiceAccount>> page = tokens_.ListServiceAccounts(ws, o);
        if (!page.ok()) return MapStoreError(page.status(), FormatWorkspaceName(ws));
        return page;
      },
      [](const ServiceAccount& a) { return a.id; });
}

absl::StatusOr<ServiceAccount> ServiceAccountService::Update(const WorkspaceResourceName& n,
                                                             const ServiceAccountInput& input,
                                                             const FieldMask& mask,
                                                             std::string_view etag) {
  const std::string resource = FormatServiceAccountName(n.workspace_id, n.id);
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "service_account.etag"));
  ASSIGN_OR_RETURN(std::set<std::string> paths, UpdatePaths(input, mask));
  auto has = [&](const char* p) { return paths.count("*") > 0 || paths.count(p) > 0; };
  const absl::Time now = clock_.Now();
  absl::StatusOr<ServiceAccount> current = tokens_.GetServiceAccount(n.workspace_id, n.id);
  if (!current.ok()) return MapStoreError(current.status(), resource);
  RETURN_IF_ERROR(CheckEtag(expected, current->version, resource));
  ServiceAccount updated = *current;
  ServiceAccountInput merged{current->display_name, current->grants, current->enabled,
                             current->expire_time};
  if (has("display_name")) merged.display_name = input.display_name;
  if (has("grants")) merged.grants = input.grants;
  if (has("disabled") || has("enabled")) merged.enabled = input.enabled;
  if (has("expire_time")) merged.expire_time = input.expire_time;
  // Only a changed expiry has to lie in the future (an expired account may be renamed).
  ServiceAccountInput to_check = merged;
  if (!has("expire_time")) to_check.expire_time = absl::InfiniteFuture();
  RETURN_IF_ERROR(ValidateInput(n.workspace_id, to_check, now));
  updated.display_name = merged.display_name;
  updated.grants = NormalizedGrants(merged.grants);
  updated.enabled = merged.enabled;
  updated.expire_time = merged.expire_time;
  updated.update_time = now;
  absl::StatusOr<ServiceAccount> stored = tokens_.UpdateServiceAccount(updated, current->version);
  cache_.ForgetServiceAccount(ServiceAccountUsername(n.workspace_id, n.id));
  if (!stored.ok()) return MapStoreError(stored.status(), resource);
  return stored;
}

absl::Status ServiceAccountService::Delete(const WorkspaceResourceName& n, std::string_view etag) {
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
  const std::string username = ServiceAccountUsername(n.workspace_id, n.id);
  absl::Status deleted = tokens_.DeleteServiceAccount(n.workspace_id, n.id, expected);
  cache_.ForgetServiceAccount(username);
  if (!deleted.ok()) {
    return MapStoreError(deleted, FormatServiceAccountName(n.workspace_id, n.id));
  }
  absl::StatusOr<int64_t> revoked = tokens_.RevokeRefreshTokensOfSubject(username, clock_.Now());
  if (!revoked.ok()) {
    // The account is gone, so its refresh tokens no longer resolve to a principal anyway.
    LOG_WARNING(absl::StrCat("refresh tokens of a deleted service account not revoked: ",
                             revoked.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServiceAccountWithSecret> ServiceAccountService::RegenerateSecret(
    const WorkspaceResourceName& n, std::string_view etag) {
  const std::string resource = FormatServiceAccountName(n.workspace_id, n.id);
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
  absl::StatusOr<ServiceAccount> current = tokens_.GetServiceAccount(n.workspace_id, n.id);
  if (!current.ok()) return MapStoreError(current.status(), resource);
  RETURN_IF_ERROR(CheckEtag(expected, current->version, resource));
  const absl::Time now = clock_.Now();
  ServiceAccountWithSecret out;
  ServiceAccount updated = *current;
  ASSIGN_OR_RETURN(out.secret,
                   NewSecret(hasher_, kServiceAccountSecretPrefix, &updated.secret_hash));
  updated.secret_rotate_time = now;
  updated.update_time = now;
  absl::StatusOr<ServiceAccount> stored = tokens_.UpdateServiceAccount(updated, current->version);
  cache_.ForgetServiceAccount(ServiceAccountUsername(n.workspace_id, n.id));
  if (!stored.ok()) return MapStoreError(stored.status(), resource);
  out.account = *std::move(stored);
  out.username = ServiceAccountUsername(n.workspace_id, n.id);
  RETURN_IF_ERROR(tokens_.RevokeRefreshTokensOfSubject(out.username, now).status());
  return out;
}

}  // namespace registryauth::services
