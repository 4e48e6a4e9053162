#include "services/refresh_token_service.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "realm/basic_auth.h"
#include "services/page_token.h"

namespace registryauth::services {

absl::Status RefreshTokenService::ValidateSubject(std::string_view subject) {
  if (subject.size() > realm::kMaxUsernameBytes) {
    return absl::InvalidArgumentError("subject: longer than 256 characters");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RefreshToken>> RefreshTokenService::List(std::string_view ws,
                                                                    std::string_view subject,
                                                                    int limit) {
  absl::StatusOr<std::vector<RefreshToken>> tokens = tokens_.ListRefreshTokens(ws, subject, limit);
  if (!tokens.ok()) return MapStoreError(tokens.status(), FormatWorkspaceName(ws));
  return tokens;
}

absl::StatusOr<RefreshToken> RefreshTokenService::Revoke(const WorkspaceResourceName& n) {
  absl::StatusOr<RefreshToken> token = tokens_.GetRefreshToken(n.id);
  if (absl::IsNotFound(token.status()) || (token.ok() && token->workspace_id != n.workspace_id)) {
    return absl::NotFoundError(Cat(FormatRefreshTokenName(n.workspace_id, n.id), ": not found"));
  }
  if (!token.ok()) return token.status();
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(bool revoked, tokens_.RevokeRefreshToken(n.id, now));
  if (revoked) token->revoke_time = now;
  return token;
}

absl::StatusOr<HousekeepingResult> HousekeepTokens(storage::TokenStore& tokens, const Clock& clock,
                                                   const storage::ThrottlePolicy& policy,
                                                   absl::Duration keep_expired) {
  const absl::Time now = clock.Now();
  HousekeepingResult r;
  ASSIGN_OR_RETURN(r.pull_tokens, tokens.DeleteExpiredPullTokens(now - keep_expired));
  ASSIGN_OR_RETURN(r.refresh_tokens, tokens.DeleteExpiredRefreshTokens(now - keep_expired));
  ASSIGN_OR_RETURN(r.throttle_states, tokens.DeleteStaleThrottleStates(now, policy));
  return r;
}

}  // namespace registryauth::services
