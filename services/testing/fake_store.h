// A small in-memory storage::RegistryStore for unit tests of services/ and api/.
//
// Follows the RegistryStore contract (versions, expected_version -> ABORTED, one default per
// workspace, NOT_FOUND parents, keyset paging by id, members deleted with their workspace,
// newest-first audit trail with truncated free text, compare-and-set re-encryption) without
// trying to be fast. Unlike the real stores it does not check ids, user ids or enum values
// against the schema. Tests can make the next call fail with set_next_error() to exercise error
// paths.
//
//   FakeRegistryStore store;
//   RegistryService service(store, aead, clock);
//
// Thread-safe (one mutex).
#ifndef REGISTRY_AUTH_SERVICES_TESTING_FAKE_STORE_H_
#define REGISTRY_AUTH_SERVICES_TESTING_FAKE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/model.h"
#include "storage/registry_store.h"

namespace registryauth::services::testing {

class FakeRegistryStore final : public storage::RegistryStore {
 public:
  FakeRegistryStore() = default;

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
  absl::StatusOr<Page<Workspace>> ListWorkspacesOfUser(std::string_view user_id,
                                                       const ListOptions& options) override;
  absl::StatusOr<Workspace> CreateWorkspaceWithMember(const Workspace& workspace,
                                                      const Member& member) override;

  absl::StatusOr<AuditEvent> AppendAuditEvent(const AuditEvent& event) override;
  absl::StatusOr<Page<AuditEvent>> ListAuditEvents(const AuditFilter& filter, int page_size,
                                                   int64_t before_id) override;

  absl::StatusOr<std::vector<RegistryConfig>> ListSecretsNotUnderKey(uint32_t key_id,
                                                                     int limit) override;
  absl::StatusOr<bool> ReplaceSecretCiphertext(std::string_view workspace_id,
                                               std::string_view id,
                                               const std::string& old_ciphertext,
                                               const std::string& new_ciphertext,
                                               uint32_t new_key_id) override;

  absl::Status Ping() override;
  absl::StatusOr<bool> RecordValidation(std::string_view workspace_id, std::string_view id,
                                        int64_t tested_version, ValidationStatus status,
                                        absl::Time validated_at, std::string_view error,
                                        const AuditEvent& event) override;
  absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretsByKeyId() override;

  // The next store call (any method) returns `status` instead of doing its work.
  void set_next_error(absl::Status status);
  // While set, every AppendAuditEvent fails with UNAVAILABLE (an audit outage).
  void set_fail_audit_appends(bool fail);
  // Runs at the start of every ReplaceSecretCiphertext, outside the store's lock (so it may
  // call the store), e.g. to change the row first and make the compare-and-set lose a race.
  using ReplaceSecretHook = std::function<void(std::string_view workspace_id, std::string_view id)>;
  void set_before_replace_secret(ReplaceSecretHook hook);
  // Runs at the start of every UpdateRegistryConfig / ...KeepingSecret, outside the lock, e.g.
  // to re-encrypt the row between the service's read and its write.
  using UpdateHook = ReplaceSecretHook;
  void set_before_update_config(UpdateHook hook);

 private:
  using Key = std::pair<std::string, std::string>;  // (workspace_id, id)

  absl::StatusOr<RegistryConfig> UpdateConfig(const RegistryConfig& config,
                                              int64_t expected_version, bool keep_secret);

  // Truncates, numbers and stores an event (AppendAuditEvent's rules).
  AuditEvent AppendAuditLocked(const AuditEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Consumes the injected error, if any.
  std::optional<absl::Status> TakeError() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Workspace> workspaces_ ABSL_GUARDED_BY(mu_);
  std::map<Key, App> apps_ ABSL_GUARDED_BY(mu_);
  std::map<Key, RegistryConfig> configs_ ABSL_GUARDED_BY(mu_);
  std::map<Key, Member> members_ ABSL_GUARDED_BY(mu_);  // (workspace_id, user_id)
  std::vector<AuditEvent> audit_ ABSL_GUARDED_BY(mu_);  // audit_[i].id == i + 1
  std::optional<absl::Status> next_error_ ABSL_GUARDED_BY(mu_);
  bool fail_audit_appends_ ABSL_GUARDED_BY(mu_) = false;
  ReplaceSecretHook before_replace_secret_ ABSL_GUARDED_BY(mu_);
  UpdateHook before_update_config_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_FAKE_STORE_H_
