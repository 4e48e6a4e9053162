// TokenStore on PostgreSQL (libpqxx), in the database of PostgresRegistryStore.
//
// Schema: storage/migrations/0003_tokens.sql, applied with the others by
// PostgresRegistryStore::ApplyMigrations (this store never migrates). Behaviour beyond
// token_store.h, shared with InMemoryTokenStore (storage/token_store_conformance.h checks both):
// - times keep microseconds; infinite times round-trip (service accounts' expire_time
//   InfiniteFuture and last_used_time InfinitePast are stored as NULL, like revoke_time
//   InfiniteFuture);
// - a row that breaks a schema constraint is INVALID_ARGUMENT naming the constraint; text that
//   is not valid UTF-8 (or holds NUL) is INVALID_ARGUMENT on writes and matches nothing on reads;
// - lists are newest first, equal create times by id descending.
// Service accounts and tokens go with their workspace (ON DELETE CASCADE), e.g. when
// PostgresRegistryStore::DeleteWorkspace deletes it.
//
// RecordLoginFailure is atomic across threads and replicas: one transaction upserts and locks
// the key's row, applies NextThrottleState in C++, and writes the result back.
//
// Connections: like PostgresRegistryStore (see postgres_store.h), from a pool of its own made
// from the same PostgresOptions; Create never connects. Every statement is prepared and
// parameterised; libpqxx errors map to Status as in storage/pq_status.h, and messages never
// include parameters (secret hashes, token ids).
//
//   ASSIGN_OR_RETURN(auto tokens, PostgresTokenStore::Create(options));
//   ASSIGN_OR_RETURN(ThrottleState s, tokens->RecordLoginFailure("account:acme+ci", now, {}));
//
// Thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_POSTGRES_TOKEN_STORE_H_
#define REGISTRY_AUTH_STORAGE_POSTGRES_TOKEN_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/connection_pool.h"
#include "storage/postgres_options.h"
#include "storage/token_store.h"

namespace registryauth::storage {

class PostgresTokenStore final : public TokenStore {
 public:
  // INVALID_ARGUMENT for a DSN that does not parse or an out-of-range option. Does not connect.
  static absl::StatusOr<std::unique_ptr<PostgresTokenStore>> Create(PostgresOptions options);

  PostgresTokenStore(const PostgresTokenStore&) = delete;
  PostgresTokenStore& operator=(const PostgresTokenStore&) = delete;
  ~PostgresTokenStore() override;

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
  explicit PostgresTokenStore(std::unique_ptr<ConnectionPool> pool);

  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_POSTGRES_TOKEN_STORE_H_
