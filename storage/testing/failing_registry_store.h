// FailingRegistryStore: a decorator over any RegistryStore that makes calls fail on demand, so
// tests can walk the error paths of the services with a real store underneath
// (storage::InMemoryRegistryStore in unit tests):
//   set_next_error(s)           the next call, whatever it is, returns `s` instead of running;
//   set_fail_audit_appends(b)   while set, AppendAuditEvent(s) and RecordValidation (which appends
//                               its audit event) fail with UNAVAILABLE (an audit outage);
//   set_before_replace_secret   a hook run at the start of ReplaceSecretCiphertext (it may call
//                               the store, e.g. to change the row and make the compare-and-set
//                               lose a race);
//   set_before_update_config    the same for UpdateRegistryConfig / ...KeepingSecret;
//   set_before_audit_append     a hook run at the start of AppendAuditEvent(s) (e.g. to hold
//                               a write in flight while other callers queue behind it).
// Everything else goes to the wrapped store unchanged.
//
//   storage::InMemoryRegistryStore memory;
//   storage::testing::FailingRegistryStore store(memory);
//   store.set_next_error(absl::UnavailableError("database down"));
//
// Test-only. Thread-safe if the wrapped store is.
#ifndef REGISTRY_AUTH_STORAGE_TESTING_FAILING_REGISTRY_STORE_H_
#define REGISTRY_AUTH_STORAGE_TESTING_FAILING_REGISTRY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/registry_store.h"

namespace registryauth::storage::testing {

class FailingRegistryStore final : public RegistryStore {
 public:
  using Hook = std::function<void(std::string_view workspace_id, std::string_view id)>;

  // `inner` must outlive this object.
  explicit FailingRegistryStore(RegistryStore& inner) : inner_(inner) {}

  void set_next_error(absl::Status status);
  void set_fail_audit_appends(bool fail);
  void set_before_replace_secret(Hook hook);
  void set_before_update_config(Hook hook);
  void set_before_audit_append(std::function<void()> hook);

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
                                                      const Member& owner) override;
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
  absl::StatusOr<bool> RecordValidation(std::string_view workspace_id, std::string_view id,
                                        const ValidationRecord& record,
                                        const AuditEvent& event) override;
  absl::StatusOr<std::vector<RevalidationKey>> ListConfigsToRevalidate(absl::Time validated_before,
                                                                       const RevalidationKey& after,
                                                                       int limit) override;
  absl::StatusOr<std::map<RegistryType, CredentialHealth>> CountCredentialHealth(
      absl::Time soon, absl::Time later) override;
  absl::Status Ping() override;
  absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretsByKeyId() override;
  absl::StatusOr<int64_t> CountSecretsUnderOldAssociatedData() override;

 private:
  // The injected error, once.
  std::optional<absl::Status> TakeError();
  bool audit_failing();
  Hook hook(const Hook FailingRegistryStore::*which);
  void RunBeforeAuditAppend();

  RegistryStore& inner_;
  absl::Mutex mu_;
  std::optional<absl::Status> next_error_ ABSL_GUARDED_BY(mu_);
  bool fail_audit_appends_ ABSL_GUARDED_BY(mu_) = false;
  Hook before_replace_secret_ ABSL_GUARDED_BY(mu_);
  Hook before_update_config_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_audit_append_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::storage::testing

#endif  // REGISTRY_AUTH_STORAGE_TESTING_FAILING_REGISTRY_STORE_H_
