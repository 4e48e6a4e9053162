#include "storage/testing/failing_registry_store.h"

namespace registryauth::storage::testing {

void FailingRegistryStore::set_next_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  next_error_ = std::move(status);
}

void FailingRegistryStore::set_fail_audit_appends(bool fail) {
  absl::MutexLock lock(&mu_);
  fail_audit_appends_ = fail;
}

void FailingRegistryStore::set_before_replace_secret(Hook hook) {
  absl::MutexLock lock(&mu_);
  before_replace_secret_ = std::move(hook);
}

void FailingRegistryStore::set_before_audit_append(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  before_audit_append_ = std::move(hook);
}

void FailingRegistryStore::RunBeforeAuditAppend() {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = before_audit_append_;
  }
  if (hook) hook();
}

void FailingRegistryStore::set_before_update_config(Hook hook) {
  absl::MutexLock lock(&mu_);
  before_update_config_ = std::move(hook);
}

std::optional<absl::Status> FailingRegistryStore::TakeError() {
  absl::MutexLock lock(&mu_);
  std::optional<absl::Status> e = std::move(next_error_);
  next_error_.reset();
  return e;
}

bool FailingRegistryStore::audit_failing() {
  absl::MutexLock lock(&mu_);
  return fail_audit_appends_;
}

FailingRegistryStore::Hook FailingRegistryStore::hook(const Hook FailingRegistryStore::*which) {
  absl::MutexLock lock(&mu_);
  return this->*which;
}

absl::StatusOr<Workspace> FailingRegistryStore::CreateWorkspace(const Workspace& workspace) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CreateWorkspace(workspace);
}

absl::StatusOr<Workspace> FailingRegistryStore::GetWorkspace(std::string_view id) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.GetWorkspace(id);
}

absl::StatusOr<Page<Workspace>> FailingRegistryStore::ListWorkspaces(const ListOptions& options) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListWorkspaces(options);
}

absl::StatusOr<Workspace> FailingRegistryStore::UpdateWorkspace(const Workspace& workspace,
                                                                int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.UpdateWorkspace(workspace, expected_version);
}

absl::Status FailingRegistryStore::DeleteWorkspace(std::string_view id, int64_t expected_version,
                                                   bool force) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.DeleteWorkspace(id, expected_version, force);
}

absl::StatusOr<App> FailingRegistryStore::CreateApp(const App& app) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CreateApp(app);
}

absl::StatusOr<App> FailingRegistryStore::GetApp(std::string_view workspace_id,
                                                 std::string_view id) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.GetApp(workspace_id, id);
}

absl::StatusOr<Page<App>> FailingRegistryStore::ListApps(std::string_view workspace_id,
                                                         const ListOptions& options) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListApps(workspace_id, options);
}

absl::StatusOr<App> FailingRegistryStore::UpdateApp(const App& app, int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.UpdateApp(app, expected_version);
}

absl::Status FailingRegistryStore::DeleteApp(std::string_view workspace_id, std::string_view id,
                                             int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.DeleteApp(workspace_id, id, expected_version);
}

absl::StatusOr<RegistryConfig> FailingRegistryStore::CreateRegistryConfig(
    const RegistryConfig& config) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CreateRegistryConfig(config);
}

absl::StatusOr<RegistryConfig> FailingRegistryStore::GetRegistryConfig(
    std::string_view workspace_id, std::string_view id) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.GetRegistryConfig(workspace_id, id);
}

absl::StatusOr<Page<RegistryConfig>> FailingRegistryStore::ListRegistryConfigs(
    std::string_view workspace_id, const ListOptions& options) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListRegistryConfigs(workspace_id, options);
}

absl::StatusOr<RegistryConfig> FailingRegistryStore::UpdateRegistryConfig(
    const RegistryConfig& config, int64_t expected_version) {
  if (Hook h = hook(&FailingRegistryStore::before_update_config_))
    h(config.workspace_id, config.id);
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.UpdateRegistryConfig(config, expected_version);
}

absl::StatusOr<RegistryConfig> FailingRegistryStore::UpdateRegistryConfigKeepingSecret(
    const RegistryConfig& config, int64_t expected_version) {
  if (Hook h = hook(&FailingRegistryStore::before_update_config_))
    h(config.workspace_id, config.id);
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.UpdateRegistryConfigKeepingSecret(config, expected_version);
}

absl::Status FailingRegistryStore::DeleteRegistryConfig(std::string_view workspace_id,
                                                        std::string_view id,
                                                        int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.DeleteRegistryConfig(workspace_id, id, expected_version);
}

absl::StatusOr<Member> FailingRegistryStore::CreateMember(const Member& member) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CreateMember(member);
}

absl::StatusOr<Member> FailingRegistryStore::GetMember(std::string_view workspace_id,
                                                       std::string_view user_id) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.GetMember(workspace_id, user_id);
}

absl::StatusOr<Page<Member>> FailingRegistryStore::ListMembers(std::string_view workspace_id,
                                                               const ListOptions& options) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListMembers(workspace_id, options);
}

absl::StatusOr<Member> FailingRegistryStore::UpdateMember(const Member& member,
                                                          int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.UpdateMember(member, expected_version);
}

absl::Status FailingRegistryStore::DeleteMember(std::string_view workspace_id,
                                                std::string_view user_id,
                                                int64_t expected_version) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.DeleteMember(workspace_id, user_id, expected_version);
}

absl::StatusOr<Member> FailingRegistryStore::ChangeMemberLocked(
    std::string_view workspace_id, std::string_view user_id, std::string_view acting_user_id,
    int64_t expected_version, const MemberChangeDecision& decide) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ChangeMemberLocked(workspace_id, user_id, acting_user_id, expected_version, decide);
}

absl::StatusOr<Page<Workspace>> FailingRegistryStore::ListWorkspacesOfUser(
    std::string_view user_id, const ListOptions& options) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListWorkspacesOfUser(user_id, options);
}

absl::StatusOr<Workspace> FailingRegistryStore::CreateWorkspaceWithMember(
    const Workspace& workspace, const Member& owner) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CreateWorkspaceWithMember(workspace, owner);
}

absl::StatusOr<AuditEvent> FailingRegistryStore::AppendAuditEvent(const AuditEvent& event) {
  RunBeforeAuditAppend();
  if (std::optional<absl::Status> e = TakeError()) return *e;
  if (audit_failing()) return absl::UnavailableError("audit trail unavailable (injected)");
  return inner_.AppendAuditEvent(event);
}

absl::Status FailingRegistryStore::AppendAuditEvents(const std::vector<AuditEvent>& events) {
  RunBeforeAuditAppend();
  if (std::optional<absl::Status> e = TakeError()) return *e;
  if (audit_failing()) return absl::UnavailableError("audit trail unavailable (injected)");
  return inner_.AppendAuditEvents(events);
}

absl::StatusOr<Page<AuditEvent>> FailingRegistryStore::ListAuditEvents(const AuditFilter& filter,
                                                                       int page_size,
                                                                       int64_t before_id) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListAuditEvents(filter, page_size, before_id);
}

absl::StatusOr<int64_t> FailingRegistryStore::AppendRegistryEvents(
    const std::vector<RegistryEvent>& events) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.AppendRegistryEvents(events);
}

absl::StatusOr<Page<RegistryEvent>> FailingRegistryStore::ListRegistryEvents(
    std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
    const std::optional<RegistryEventCursor>& after) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListRegistryEvents(workspace_id, filter, page_size, after);
}

absl::StatusOr<int64_t> FailingRegistryStore::PruneRegistryEvents(absl::Time before, int limit) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.PruneRegistryEvents(before, limit);
}

absl::StatusOr<std::vector<RegistryConfig>> FailingRegistryStore::ListSecretsNotUnderKey(
    uint32_t key_id, int limit) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListSecretsNotUnderKey(key_id, limit);
}

absl::StatusOr<bool> FailingRegistryStore::ReplaceSecretCiphertext(
    std::string_view workspace_id, std::string_view id, const std::string& old_ciphertext,
    const std::string& new_ciphertext, uint32_t new_key_id) {
  if (Hook h = hook(&FailingRegistryStore::before_replace_secret_)) h(workspace_id, id);
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ReplaceSecretCiphertext(workspace_id, id, old_ciphertext, new_ciphertext,
                                        new_key_id);
}

absl::StatusOr<bool> FailingRegistryStore::RecordValidation(std::string_view workspace_id,
                                                            std::string_view id,
                                                            const ValidationRecord& record,
                                                            const AuditEvent& event) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  if (audit_failing()) return absl::UnavailableError("audit trail unavailable (injected)");
  return inner_.RecordValidation(workspace_id, id, record, event);
}

absl::StatusOr<std::vector<RevalidationKey>> FailingRegistryStore::ListConfigsToRevalidate(
    absl::Time validated_before, const RevalidationKey& after, int limit) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.ListConfigsToRevalidate(validated_before, after, limit);
}

absl::StatusOr<std::map<RegistryType, CredentialHealth>>
FailingRegistryStore::CountCredentialHealth(absl::Time soon, absl::Time later) {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CountCredentialHealth(soon, later);
}

absl::Status FailingRegistryStore::Ping() {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.Ping();
}

absl::StatusOr<std::map<uint32_t, int64_t>> FailingRegistryStore::CountSecretsByKeyId() {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CountSecretsByKeyId();
}

absl::StatusOr<int64_t> FailingRegistryStore::CountSecretsUnderOldAssociatedData() {
  if (std::optional<absl::Status> e = TakeError()) return *e;
  return inner_.CountSecretsUnderOldAssociatedData();
}

}  // namespace registryauth::storage::testing
