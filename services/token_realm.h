// TokenRealm: the guarded entry point of the token realm, what the gRPC adapter calls for
// /token and for the management of service accounts, pull tokens and refresh tokens. A thin
// decorator: every management call goes through the Guard (services/guard.h: permission check
// and audit record, like services::RegistryAuth) and then to its domain service
// (services/token_services.h):
//   IssueToken                 TokenIssuer (services/token_issuer.h: the realm's rules; not
//                              guarded, the credentials decide; not audited, it is the hot path)
//   *ServiceAccount*           ServiceAccountService (manage: registries.manage; read:
//                              registries.read)
//   MintPullToken, *PullToken* PullTokenService (tokens.mint; revoke and list also with
//                              registries.manage / registries.read)
//   *RefreshToken*             RefreshTokenService
// Changes (create/update/delete/regenerate, mint, revoke) are audited, denials included; reads
// are not. Names are parsed here first (a malformed name is INVALID_ARGUMENT, not audited).
//
//   TokenRealm realm(guard, token_services);
//   ASSIGN_OR_RETURN(IssuedToken t, realm.IssueToken(ctx, request));
//   ASSIGN_OR_RETURN(MintedPullToken p, realm.MintPullToken(ctx, "workspaces/acme/apps/web", ttl));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/tokens.h"
#include "services/guard.h"
#include "services/request_context.h"
#include "services/token_services.h"
#include "services/types.h"

namespace registryauth::services {

class TokenRealm {
 public:
  // Both must outlive this object.
  TokenRealm(const Guard& guard, TokenServices& services) : guard_(guard), services_(services) {}

  const TokenRealmOptions& options() const { return services_.options(); }

  // ---- The realm. `ctx.peer` is the client address used for throttling.
  absl::StatusOr<IssuedToken> IssueToken(const RequestContext& ctx, const TokenRequest& request) {
    return services_.issuer().IssueToken(ctx, request);
  }

  // ---- Pull tokens
  // `ttl` zero: the default; above the maximum: clamped; negative: INVALID_ARGUMENT.
  absl::StatusOr<MintedPullToken> MintPullToken(const RequestContext& ctx,
                                                std::string_view app_name, absl::Duration ttl);
  absl::StatusOr<PullToken> RevokePullToken(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<int64_t> RevokePullTokens(const RequestContext& ctx, std::string_view app_name);
  // `parent`: `workspaces/{w}` or `workspaces/{w}/apps/{a}`.
  absl::StatusOr<std::vector<PullToken>> ListPullTokens(const RequestContext& ctx,
                                                        std::string_view parent, int limit);

  // ---- Service accounts (services/service_account_service.h)
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
  absl::StatusOr<ServiceAccount> UpdateServiceAccount(const RequestContext& ctx,
                                                      std::string_view name,
                                                      const ServiceAccountInput& input,
                                                      const FieldMask& mask, std::string_view etag);
  absl::Status DeleteServiceAccount(const RequestContext& ctx, std::string_view name,
                                    std::string_view etag);
  absl::StatusOr<ServiceAccountWithSecret> RegenerateServiceAccountSecret(const RequestContext& ctx,
                                                                          std::string_view name,
                                                                          std::string_view etag);

  // ---- Refresh tokens
  absl::StatusOr<std::vector<RefreshToken>> ListRefreshTokens(const RequestContext& ctx,
                                                              std::string_view parent,
                                                              std::string_view subject, int limit);
  absl::StatusOr<RefreshToken> RevokeRefreshToken(const RequestContext& ctx, std::string_view name);

 private:
  const Guard& guard_;
  TokenServices& services_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_REALM_H_
