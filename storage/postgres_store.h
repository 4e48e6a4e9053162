// RegistryStore on PostgreSQL (libpqxx), the production store.
//
// Schema: storage/migrations/*.sql, applied by ApplyMigrations(); that includes the tables of
// PostgresTokenStore (postgres_token_store.h), which shares the database. Behaviour beyond
// registry_store.h, shared with InMemoryRegistryStore (storage/store_conformance.h checks both):
// - times keep microseconds (timestamptz); finer parts are truncated; infinite times round-trip;
// - configs that lose is_default to another get version+1 and the new default's update_time;
// - a row that breaks a schema constraint (id format, display_name length, unknown enum) is
//   INVALID_ARGUMENT naming the constraint;
// - page_size <= 0 means 50, larger than 1000 is clamped; ids are ordered bytewise;
// - audit ids come from an identity column: they grow with every append but may have gaps
//   (a failed insert still uses one up); the table refuses UPDATE, DELETE and TRUNCATE
//   (storage/migrations/0002_members_audit.sql).
//
// Availability: Create never connects. Each call takes a connection from a pool of
// `pool_size`, opening one when needed (libpq connect_timeout, TCP keepalives, session
// statement_timeout). Database down -> UNAVAILABLE within about connect_timeout (or
// acquire_timeout when all connections are busy); when it is back the pool reconnects by itself.
// Every statement is a prepared, parameterised statement; changes to more than one row run in
// one transaction. Error messages never include statement parameters.
//
//   PostgresOptions options;  options.dsn = "host=db.internal dbname=registry_auth";
//   ASSIGN_OR_RETURN(auto store, PostgresRegistryStore::Create(options));
//   RETURN_IF_ERROR(store->ApplyMigrations());
//
// Thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_POSTGRES_STORE_H_
#define REGISTRY_AUTH_STORAGE_POSTGRES_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/connection_pool.h"
#include "storage/postgres_options.h"
#include "storage/registry_store.h"

namespace registryauth::storage {

class PostgresRegistryStore final : public RegistryStore {
 public:
  // INVALID_ARGUMENT for a DSN that does not parse or an out-of-range option. Does not connect,
  // so it succeeds while the database is down.
  static absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> Create(PostgresOptions options);

  PostgresRegistryStore(const PostgresRegistryStore&) = delete;
  PostgresRegistryStore& operator=(const PostgresRegistryStore&) = delete;
  ~PostgresRegistryStore() override;

  // Brings the schema up to date (storage/migrations.h); safe to call from several replicas at
  // once. UNAVAILABLE while the database is unreachable.
  absl::Status ApplyMigrations();

  absl::StatusOr<Workspace> CreateWorkspace(const Workspace& workspace) override;
  absl::StatusOr<Workspace> GetWorkspace(std::string_view id) override;
  absl::StatusOr<Page<Workspace>> ListWorkspaces(const ListOptions& options) override;
  absl::StatusOr<Workspace> UpdateWorkspace(const Workspace& workspace,
                                            int64_t expected_version) override;
  absl::Status DeleteWorkspace(std::string_view id, int64_t expected_version, bool force) override;

  absl::StatusOr<App> CreateApp(const App& app) override;
  absl::StatusOr<App> GetApp(std::string_view workspace_id, std::string_view id) override;
  absl::StatusOr<Page<App>> ListApps(std::string_view workspace_id,
                                     const ListOptions& options) override;
  absl::StatusOr<App> UpdateApp(const App& app, int64_t expected_version) override;
  absl::Status DeleteApp(std::string_view workspace_id, std::string_view id,
                         int64_t expected_version) override;

  absl::StatusOr<RegistryConfig> CreateRegistryConfig(const RegistryConfig& config) override;
  absl::StatusOr<RegistryConfig> GetRegistryConfig(std::string_view workspace_id,
                                                   std::string_view id) override;
  absl::StatusOr<Page<RegistryConfig>> ListRegistryConfigs(std::string_view workspace_id,
                                                           const ListOptions& options) override;
  absl::StatusOr<RegistryConfig> UpdateRegistryConfig(const RegistryConfig& config,
                                                      int64_t expected_version) override;
  absl::StatusOr<RegistryConfig> UpdateRegistryConfigKeepingSecret(
      const RegistryConfig& config, int64_t expected_version) override;
  absl::Status DeleteRegistryConfig(std::string_view workspace_id, std::string_view id,
                                    int64_t expected_version) override;

  absl::StatusOr<Member> CreateMember(const Member& member) override;
  absl::StatusOr<Member> GetMember(std::string_view workspace_id,
                                   std::string_view user_id) override;
  absl::StatusOr<Page<Member>> ListMembers(std::string_view workspace_id,
                                           const ListOptions& options) override;
  absl::StatusOr<Member> UpdateMember(const Member& member, int64_t expected_version) override;
  absl::Status DeleteMember(std::string_view workspace_id, std::string_view user_id,
                            int64_t expected_version) override;
  absl::StatusOr<Member> ChangeMemberLocked(std::string_view workspace_id, std::string_view user_id,
                                            std::string_view acting_user_id,
                                            int64_t expected_version,
                                            const MemberChangeDecision& decide) override;
  absl::StatusOr<Page<Workspace>> ListWorkspacesOfUser(std::string_view user_id,
                                                       const ListOptions& options) override;
  absl::StatusOr<Workspace> CreateWorkspaceWithMember(const Workspace& workspace,
                                                      const Member& member) override;

  absl::StatusOr<AuditEvent> AppendAuditEvent(const AuditEvent& event) override;
  absl::Status AppendAuditEvents(const std::vector<AuditEvent>& events) override;
  absl::StatusOr<Page<AuditEvent>> ListAuditEvents(const AuditFilter& filter, int page_size,
                                                   int64_t before_id) override;

  absl::StatusOr<int64_t> AppendRegistryEvents(const std::vector<RegistryEvent>& events) override;
  absl::StatusOr<Page<RegistryEvent>> ListRegistryEvents(
      std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
      const std::optional<RegistryEventCursor>& after) override;
  absl::StatusOr<int64_t> PruneRegistryEvents(absl::Time before, int limit) override;

  absl::StatusOr<std::vector<RegistryConfig>> ListSecretsNotUnderKey(uint32_t key_id,
                                                                     int limit) override;
  absl::StatusOr<bool> ReplaceSecretCiphertext(std::string_view workspace_id, std::string_view id,
                                               const std::string& old_ciphertext,
                                               const std::string& new_ciphertext,
                                               uint32_t new_key_id) override;

  absl::Status Ping() override;
  absl::StatusOr<bool> RecordValidation(std::string_view workspace_id, std::string_view id,
                                        const ValidationRecord& record,
                                        const AuditEvent& event) override;
  absl::StatusOr<std::vector<RevalidationKey>> ListConfigsToRevalidate(absl::Time validated_before,
                                                                       const RevalidationKey& after,
                                                                       int limit) override;
  absl::StatusOr<std::map<RegistryType, CredentialHealth>> CountCredentialHealth(
      absl::Time soon, absl::Time later) override;
  absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretsByKeyId() override;
  absl::StatusOr<int64_t> CountSecretsUnderOldAssociatedData() override;

 private:
  explicit PostgresRegistryStore(std::unique_ptr<ConnectionPool> pool);
  absl::StatusOr<RegistryConfig> UpdateConfig(const RegistryConfig& config,
                                              int64_t expected_version, bool keep_secret);

  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_POSTGRES_STORE_H_
