// Persistence of the Docker token realm: service accounts, pull tokens, refresh tokens and the
// failed-login throttle (model/tokens.h). Kept apart from RegistryStore so each interface stays
// small; PostgresTokenStore shares the database (and the schema migrations) of
// PostgresRegistryStore. Several replicas share one database, so throttling and revocation
// hold across replicas.
//
// Two implementations: PostgresTokenStore (storage/postgres_token_store.h) and
// InMemoryTokenStore (storage/memory_token_store.h), both held to the conformance suite in
// storage/token_store_conformance.h.
//
//   ASSIGN_OR_RETURN(ServiceAccount sa, store.GetServiceAccount("acme", "builder"));
//   if (!ConstantTimeEquals(hash(presented), sa.secret_hash.digest)) ...
//
// Thread-safe. Errors as in storage/registry_store.h: NOT_FOUND, ALREADY_EXISTS, ABORTED
// (version mismatch), INVALID_ARGUMENT (a value the schema refuses), UNAVAILABLE, INTERNAL.
// Service accounts follow RegistryStore's version rules (Create stores version 1, Update
// stores version+1, expected_version 0 skips the check) and need their workspace to exist
// (NOT_FOUND otherwise); they go with their workspace (ON DELETE CASCADE), and so do the
// workspace's pull tokens and refresh tokens.
#ifndef REGISTRY_AUTH_STORAGE_TOKEN_STORE_H_
#define REGISTRY_AUTH_STORAGE_TOKEN_STORE_H_

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "model/tokens.h"

namespace registryauth::storage {

// How failed logins slow down further attempts for one key (an account or a client address).
// The first `free_failures` failures within `window` cost nothing; failure number
// free_failures + n (n >= 1) blocks the key until now + min(max_delay, base_delay * 2^(n-1)).
// A window that ended (window_start + window <= now) starts again at the next failure.
struct ThrottlePolicy {
  int32_t free_failures = 5;
  absl::Duration window = absl::Minutes(15);
  absl::Duration base_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(5);
};

// The state after one more failure at `now` (pure; both stores use it).
ThrottleState NextThrottleState(const ThrottleState& current, absl::Time now,
                                const ThrottlePolicy& policy);

class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // ---- Service accounts (ordered by id in lists)
  virtual absl::StatusOr<ServiceAccount> CreateServiceAccount(const ServiceAccount& account) = 0;
  virtual absl::StatusOr<ServiceAccount> GetServiceAccount(std::string_view workspace_id,
                                                           std::string_view id) = 0;
  virtual absl::StatusOr<Page<ServiceAccount>> ListServiceAccounts(std::string_view workspace_id,
                                                                   const ListOptions& options) = 0;
  // Replaces every field but ids, create_time and last_used_time (the secret hash included:
  // regenerating the secret is an update).
  virtual absl::StatusOr<ServiceAccount> UpdateServiceAccount(const ServiceAccount& account,
                                                              int64_t expected_version) = 0;
  virtual absl::Status DeleteServiceAccount(std::string_view workspace_id, std::string_view id,
                                            int64_t expected_version) = 0;
  // Records a successful login; no version change (last_used_time never moves back).
  // NOT_FOUND if the account is gone.
  virtual absl::Status TouchServiceAccount(std::string_view workspace_id, std::string_view id,
                                           absl::Time when) = 0;

  // ---- Pull tokens
  // ALREADY_EXISTS for a duplicate id. The app need not exist any more later (no foreign key to
  // apps), but the workspace must exist at creation (NOT_FOUND).
  virtual absl::Status CreatePullToken(const PullToken& token) = 0;
  virtual absl::StatusOr<PullToken> GetPullToken(std::string_view id) = 0;
  // Tokens of one app (app_id non-empty) or of the whole workspace, newest first, revoked and
  // expired ones included; at most `limit` (<= 0: 100; clamped to 1000). NOT_FOUND if the
  // workspace does not exist.
  virtual absl::StatusOr<std::vector<PullToken>> ListPullTokens(std::string_view workspace_id,
                                                                std::string_view app_id,
                                                                int limit) = 0;
  // Sets revoke_time = `when` if not yet revoked. Returns whether this call revoked it;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<bool> RevokePullToken(std::string_view id, absl::Time when) = 0;
  // Revokes every unrevoked token of the app; returns how many.
  virtual absl::StatusOr<int64_t> RevokePullTokensOfApp(std::string_view workspace_id,
                                                        std::string_view app_id,
                                                        absl::Time when) = 0;
  // Deletes tokens that expired before `before` (housekeeping); returns how many.
  virtual absl::StatusOr<int64_t> DeleteExpiredPullTokens(absl::Time before) = 0;

  // ---- Refresh tokens
  virtual absl::Status CreateRefreshToken(const RefreshToken& token) = 0;
  virtual absl::StatusOr<RefreshToken> GetRefreshToken(std::string_view id) = 0;
  // Tokens of one subject (non-empty) or of the whole workspace, newest first; `limit` and
  // NOT_FOUND as in ListPullTokens.
  virtual absl::StatusOr<std::vector<RefreshToken>> ListRefreshTokens(std::string_view workspace_id,
                                                                      std::string_view subject,
                                                                      int limit) = 0;
  virtual absl::StatusOr<bool> RevokeRefreshToken(std::string_view id, absl::Time when) = 0;
  // Revokes every unrevoked token of a subject (e.g. when its service account is deleted or
  // its secret regenerated); returns how many.
  virtual absl::StatusOr<int64_t> RevokeRefreshTokensOfSubject(std::string_view subject,
                                                               absl::Time when) = 0;
  virtual absl::Status TouchRefreshToken(std::string_view id, absl::Time when) = 0;
  virtual absl::StatusOr<int64_t> DeleteExpiredRefreshTokens(absl::Time before) = 0;

  // ---- Failed-login throttle (atomic across replicas)
  // Applies NextThrottleState to the stored state of `key` (a missing key counts as zero
  // failures) in one atomic step and returns the new state.
  virtual absl::StatusOr<ThrottleState> RecordLoginFailure(std::string_view key, absl::Time now,
                                                           const ThrottlePolicy& policy) = 0;
  // The stored state, or a zero state (failures 0, blocked_until InfinitePast) for an unknown key.
  virtual absl::StatusOr<ThrottleState> GetThrottleState(std::string_view key) = 0;
  // Forgets a key's failures (after a successful login).
  virtual absl::Status ClearLoginFailures(std::string_view key) = 0;
  // Deletes states whose window (under `policy`) and block have both ended by `before`
  // (window_start + policy.window <= before and blocked_until <= before); returns how many.
  virtual absl::StatusOr<int64_t> DeleteStaleThrottleStates(absl::Time before,
                                                            const ThrottlePolicy& policy) = 0;

  // Rows per hash key id over service accounts, pull tokens and refresh tokens (for hash-key
  // rotation reports; revoked and expired rows included until deleted).
  virtual absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretHashesByKeyId() = 0;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_TOKEN_STORE_H_
