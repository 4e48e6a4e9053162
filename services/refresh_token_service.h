// RefreshTokenService: listing and revoking the refresh tokens /token hands out with
// `offline` (services/token_issuer.h). A refresh token `rrt_<id>.<secret>` is bound to its
// subject (a service account or pull token) and the service, is stored as its keyed hash, and
// lives TokenRealmOptions::refresh_token_ttl unless revoked. Housekeeping (HousekeepTokens)
// deletes expired pull and refresh tokens and stale throttle states.
//
// Domain logic only: names arrive parsed and permissions checked; the guarded entry point is
// services::TokenRealm.
//
//   RefreshTokenService refresh(token_store, clock);
//   ASSIGN_OR_RETURN(std::vector<RefreshToken> t, refresh.List("acme", "acme+ci", 100));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_REFRESH_TOKEN_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_REFRESH_TOKEN_SERVICE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/tokens.h"
#include "services/names.h"
#include "storage/token_store.h"

namespace registryauth::services {

class RefreshTokenService {
 public:
  // Both must outlive this object.
  RefreshTokenService(storage::TokenStore& tokens, const Clock& clock)
      : tokens_(tokens), clock_(clock) {}

  // INVALID_ARGUMENT when `subject` cannot be a user name (longer than 256 bytes).
  static absl::Status ValidateSubject(std::string_view subject);
  // The workspace's tokens, of one subject when `subject` is set; `limit` as
  // ResolveTokenListLimit gives it.
  absl::StatusOr<std::vector<RefreshToken>> List(std::string_view workspace_id,
                                                 std::string_view subject, int limit);
  absl::StatusOr<RefreshToken> Revoke(const WorkspaceResourceName& name);

 private:
  storage::TokenStore& tokens_;
  const Clock& clock_;
};

struct HousekeepingResult {
  int64_t pull_tokens = 0;
  int64_t refresh_tokens = 0;
  int64_t throttle_states = 0;
};

// Deletes pull and refresh tokens that expired more than `keep_expired` ago (they stay
// listable that long) and throttle states whose window and block have ended under `policy`.
// Their hashes then no longer hold a data key in use (`registry-authd keys retire`). The server
// runs it every few minutes; safe on several replicas at once.
absl::StatusOr<HousekeepingResult> HousekeepTokens(storage::TokenStore& tokens, const Clock& clock,
                                                   const storage::ThrottlePolicy& policy,
                                                   absl::Duration keep_expired = absl::Hours(24));

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REFRESH_TOKEN_SERVICE_H_
