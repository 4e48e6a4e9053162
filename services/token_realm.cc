#include "services/token_realm.h"

#include <string>

#include "common/status_macros.h"
#include "services/names.h"
#include "services/page_token.h"

namespace registryauth::services {

// ---- Pull tokens -----------------------------------------------------------------------------

absl::StatusOr<MintedPullToken> TokenRealm::MintPullToken(const RequestContext& ctx,
                                                          std::string_view app_name,
                                                          absl::Duration ttl) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(app_name, "app"));
  absl::StatusOr<MintedPullToken> result =
      guard_.IfAllowed(ctx, Operation::kMintToken, n.workspace_id,
                       [&] { return services_.pull_tokens().Mint(n, ttl, ctx.caller.identity); });
  guard_.RecordChange(ctx, "MintPullToken",
                      result.ok() ? FormatPullTokenName(n.workspace_id, result->token.id)
                                  : FormatAppName(n.workspace_id, n.app_id),
                      result.status());
  return result;
}

absl::StatusOr<PullToken> TokenRealm::RevokePullToken(const RequestContext& ctx,
                                                      std::string_view name) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseTokenName(name, "pullTokens", "name"));
  return guard_.Change(ctx, Operation::kRevokeToken, n.workspace_id, "RevokePullToken",
                       FormatPullTokenName(n.workspace_id, n.id),
                       [&] { return services_.pull_tokens().Revoke(n); });
}

absl::StatusOr<int64_t> TokenRealm::RevokePullTokens(const RequestContext& ctx,
                                                     std::string_view app_name) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(app_name, "app"));
  return guard_.Change(ctx, Operation::kRevokeToken, n.workspace_id, "RevokePullTokens",
                       FormatAppName(n.workspace_id, n.app_id),
                       [&] { return services_.pull_tokens().RevokeOfApp(n); });
}

absl::StatusOr<std::vector<PullToken>> TokenRealm::ListPullTokens(const RequestContext& ctx,
                                                                  std::string_view parent,
                                                                  int limit) {
  ASSIGN_OR_RETURN(AppName p, PullTokenService::ParseListParent(parent));
  ASSIGN_OR_RETURN(limit, ResolveTokenListLimit(limit));
  return guard_.IfAllowed(ctx, Operation::kListTokens, p.workspace_id,
                          [&] { return services_.pull_tokens().List(p, limit); });
}

// ---- Service accounts ------------------------------------------------------------------------

absl::StatusOr<ServiceAccountWithSecret> TokenRealm::CreateServiceAccount(
    const RequestContext& ctx, std::string_view parent, std::string_view id,
    const ServiceAccountInput& input) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(ValidateId(id, "service_account_id"));
  return guard_.Change(ctx, Operation::kManage, ws, "CreateServiceAccount",
                       FormatServiceAccountName(ws, id),
                       [&] { return services_.service_accounts().Create(ws, id, input); });
}

absl::StatusOr<ServiceAccount> TokenRealm::GetServiceAccount(const RequestContext& ctx,
                                                             std::string_view name) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseServiceAccountName(name, "name"));
  return guard_.IfAllowed(ctx, Operation::kRead, n.workspace_id,
                          [&] { return services_.service_accounts().Get(n); });
}

absl::StatusOr<ListResult<ServiceAccount>> TokenRealm::ListServiceAccounts(
    const RequestContext& ctx, std::string_view parent, int page_size,
    std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws, [&] {
    return services_.service_accounts().List(ws, page_size, page_token);
  });
}

absl::StatusOr<ServiceAccount> TokenRealm::UpdateServiceAccount(const RequestContext& ctx,
                                                                std::string_view name,
                                                                const ServiceAccountInput& input,
                                                                const FieldMask& mask,
                                                                std::string_view etag) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseServiceAccountName(name, "service_account.name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "UpdateServiceAccount",
                       FormatServiceAccountName(n.workspace_id, n.id),
                       [&] { return services_.service_accounts().Update(n, input, mask, etag); });
}

absl::Status TokenRealm::DeleteServiceAccount(const RequestContext& ctx, std::string_view name,
                                              std::string_view etag) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseServiceAccountName(name, "name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "DeleteServiceAccount",
                       FormatServiceAccountName(n.workspace_id, n.id),
                       [&] { return services_.service_accounts().Delete(n, etag); });
}

absl::StatusOr<ServiceAccountWithSecret> TokenRealm::RegenerateServiceAccountSecret(
    const RequestContext& ctx, std::string_view name, std::string_view etag) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseServiceAccountName(name, "name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "RegenerateServiceAccountSecret",
                       FormatServiceAccountName(n.workspace_id, n.id),
                       [&] { return services_.service_accounts().RegenerateSecret(n, etag); });
}

// ---- Refresh tokens --------------------------------------------------------------------------

absl::StatusOr<std::vector<RefreshToken>> TokenRealm::ListRefreshTokens(const RequestContext& ctx,
                                                                        std::string_view parent,
                                                                        std::string_view subject,
                                                                        int limit) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  ASSIGN_OR_RETURN(limit, ResolveTokenListLimit(limit));
  RETURN_IF_ERROR(RefreshTokenService::ValidateSubject(subject));
  return guard_.IfAllowed(ctx, Operation::kRead, ws,
                          [&] { return services_.refresh_tokens().List(ws, subject, limit); });
}

absl::StatusOr<RefreshToken> TokenRealm::RevokeRefreshToken(const RequestContext& ctx,
                                                            std::string_view name) {
  ASSIGN_OR_RETURN(WorkspaceResourceName n, ParseTokenName(name, "refreshTokens", "name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "RevokeRefreshToken",
                       FormatRefreshTokenName(n.workspace_id, n.id),
                       [&] { return services_.refresh_tokens().Revoke(n); });
}

}  // namespace registryauth::services
