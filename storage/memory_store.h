// RegistryStore kept in process memory: the fake for unit tests of services/, and the reference
// the Postgres store is checked against (both pass storage/store_conformance.h).
//
// It behaves like PostgresRegistryStore, including the schema's constraints: ids must match
// the resource-id rule, display names hold at most 256 characters, the type and validation
// status must be known values (else INVALID_ARGUMENT naming the constraint), and times are kept
// with microsecond precision (sub-microsecond parts are truncated). When is_default moves to a
// config, the configs that lose it get version+1 and the new default's update_time. Member
// user ids, roles and statuses and audit field lengths are checked like the schema's
// workspace_members_* and audit_events_* constraints. Audit ids start at 1 and grow by one.
// Ping() is always OK. Nothing is persisted.
//
//   InMemoryRegistryStore store;
//   Workspace acme;  acme.id = "acme";
//   ASSIGN_OR_RETURN(Workspace ws, store.CreateWorkspace(acme));
//
// Thread-safe (one mutex around all state).
#ifndef REGISTRY_AUTH_STORAGE_MEMORY_STORE_H_
#define REGISTRY_AUTH_STORAGE_MEMORY_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/registry_store.h"

namespace registryauth::storage {

class InMemoryRegistryStore final : public RegistryStore {
 public:
  InMemoryRegistryStore() = default;
  InMemoryRegistryStore(const InMemoryRegistryStore&) = delete;
  InMemoryRegistryStore& operator=(const InMemoryRegistryStore&) = delete;

  absl::StatusOr<Workspace> CreateWorkspace(const Workspace& workspace) override;
  absl::StatusOr<Workspace> GetWorkspace(std::string_view id) override;
  absl::StatusOr<Page<Workspace>> ListWorkspaces(const ListOptions& options) override;
  absl::StatusOr<Workspace> UpdateWorkspace(const Workspace& workspace,
                                            int64_t expected_version) override;
  absl::Status DeleteWorkspace(std::string_view id, int64_t expected_version, bool force) override;

  absl::StatusOr<App> CreateApp(const App& app) override;
  absl::StatusOr<App> GetApp(std::string_view workspace_id, std::string_view id) override;
  // How many GetApp calls this store answered (tests count the lookups a caller makes).
  int64_t GetAppCalls() const {
    absl::MutexLock lock(&mu_);
    return get_app_calls_;
  }
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
  using ChildKey = std::pair<std::string, std::string>;  // (workspace_id, id)

  absl::StatusOr<RegistryConfig> UpdateConfig(const RegistryConfig& config,
                                              int64_t expected_version, bool keep_secret);

  // Clears is_default on the workspace's configs other than `keep_id`.
  void ClearOtherDefaultsLocked(const std::string& workspace_id, const std::string& keep_id,
                                absl::Time update_time) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Truncates, numbers and stores a checked event.
  AuditEvent AppendAuditLocked(const AuditEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  int64_t get_app_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Workspace> workspaces_ ABSL_GUARDED_BY(mu_);
  std::map<ChildKey, App> apps_ ABSL_GUARDED_BY(mu_);
  std::map<ChildKey, RegistryConfig> configs_ ABSL_GUARDED_BY(mu_);
  std::map<ChildKey, Member> members_ ABSL_GUARDED_BY(mu_);  // (workspace_id, user_id)
  std::vector<AuditEvent> audit_ ABSL_GUARDED_BY(mu_);       // audit_[i].id == i + 1
  std::map<std::string, RegistryEvent> registry_events_ ABSL_GUARDED_BY(mu_);  // by event_id
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MEMORY_STORE_H_
