// TokenStore kept in process memory: the fake for unit tests of the token realm, and the
// reference PostgresTokenStore is checked against (both pass storage/token_store_conformance.h).
//
// It behaves like PostgresTokenStore, including the schema's constraints
// (storage/migrations/0003_tokens.sql, INVALID_ARGUMENT naming the constraint) and microsecond
// times, with one difference: there is no ON DELETE CASCADE. Whether a workspace exists is
// asked of `workspaces` (its GetWorkspace) when a service account or token is created and when
// a workspace's rows are listed, but deleting the workspace there leaves this store's rows of
// it in place (Get still finds them; List says NOT_FOUND). Tests that need the cascade use
// PostgresTokenStore. Nothing is persisted.
//
//   InMemoryRegistryStore registry;
//   InMemoryTokenStore tokens(registry);
//   ASSIGN_OR_RETURN(ServiceAccount sa, tokens.CreateServiceAccount(account));
//
// Thread-safe (one mutex around all state; `workspaces` is called without holding it).
#ifndef REGISTRY_AUTH_STORAGE_MEMORY_TOKEN_STORE_H_
#define REGISTRY_AUTH_STORAGE_MEMORY_TOKEN_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::storage {

class InMemoryTokenStore final : public TokenStore {
 public:
  // `workspaces` must outlive this store.
  explicit InMemoryTokenStore(RegistryStore& workspaces) : workspaces_(workspaces) {}
  InMemoryTokenStore(const InMemoryTokenStore&) = delete;
  InMemoryTokenStore& operator=(const InMemoryTokenStore&) = delete;

  absl::StatusOr<ServiceAccount> CreateServiceAccount(const ServiceAccount& account) override;
  absl::StatusOr<ServiceAccount> GetServiceAccount(std::string_view workspace_id,
                                                   std::string_view id) override;
  absl::StatusOr<Page<ServiceAccount>> ListServiceAccounts(std::string_view workspace_id,
                                                           const ListOptions& options) override;
  absl::StatusOr<ServiceAccount> UpdateServiceAccount(const ServiceAccount& account,
                                                      int64_t expected_version) override;
  absl::Status DeleteServiceAccount(std::string_view workspace_id, std::string_view id,
                                    int64_t expected_version) override;
  absl::Status TouchServiceAccount(std::string_view workspace_id, std::string_view id,
                                   absl::Time when) override;

  absl::Status CreatePullToken(const PullToken& token) override;
  absl::StatusOr<PullToken> GetPullToken(std::string_view id) override;
  absl::StatusOr<std::vector<PullToken>> ListPullTokens(std::string_view workspace_id,
                                                        std::string_view app_id,
                                                        int limit) override;
  absl::StatusOr<bool> RevokePullToken(std::string_view id, absl::Time when) override;
  absl::StatusOr<int64_t> RevokePullTokensOfApp(std::string_view workspace_id,
                                                std::string_view app_id, absl::Time when) override;
  absl::StatusOr<int64_t> DeleteExpiredPullTokens(absl::Time before) override;

  absl::Status CreateRefreshToken(const RefreshToken& token) override;
  absl::StatusOr<RefreshToken> GetRefreshToken(std::string_view id) override;
  absl::StatusOr<std::vector<RefreshToken>> ListRefreshTokens(std::string_view workspace_id,
                                                              std::string_view subject,
                                                              int limit) override;
  absl::StatusOr<bool> RevokeRefreshToken(std::string_view id, absl::Time when) override;
  absl::StatusOr<int64_t> RevokeRefreshTokensOfSubject(std::string_view subject,
                                                       absl::Time when) override;
  absl::Status TouchRefreshToken(std::string_view id, absl::Time when) override;
  absl::StatusOr<int64_t> DeleteExpiredRefreshTokens(absl::Time before) override;

  absl::StatusOr<ThrottleState> RecordLoginFailure(std::string_view key, absl::Time now,
                                                   const ThrottlePolicy& policy) override;
  absl::StatusOr<ThrottleState> GetThrottleState(std::string_view key) override;
  absl::Status ClearLoginFailures(std::string_view key) override;
  absl::StatusOr<int64_t> DeleteStaleThrottleStates(absl::Time before,
                                                    const ThrottlePolicy& policy) override;

  absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretHashesByKeyId() override;

 private:
  using AccountKey = std::pair<std::string, std::string>;  // (workspace_id, id)

  // OK if `workspaces_` has the workspace, else its error (NOT_FOUND, or e.g. UNAVAILABLE).
  absl::Status WorkspaceExists(std::string_view workspace_id) ABSL_LOCKS_EXCLUDED(mu_);

  RegistryStore& workspaces_;
  absl::Mutex mu_;
  std::map<AccountKey, ServiceAccount> accounts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PullToken> pull_tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RefreshToken> refresh_tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ThrottleState> throttle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MEMORY_TOKEN_STORE_H_
