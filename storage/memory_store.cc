#include "storage/memory_store.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "storage/store_internal.h"

namespace registryauth::storage {
namespace {

using internal::CharLength;
using internal::ChildNotFound;
using internal::ConstraintError;
using internal::EffectivePageSize;
using internal::IsResourceId;
using internal::TruncateToMicros;
using internal::VersionMismatch;
using internal::WorkspaceNotFound;

absl::Status CheckWorkspace(const Workspace& w, std::string_view op) {
  if (!IsResourceId(w.id)) return ConstraintError(op, "workspaces_id_format");
  if (CharLength(w.display_name) > 256) {
    return ConstraintError(op, "workspaces_display_name_length");
  }
  return absl::OkStatus();
}

absl::Status CheckApp(const App& a, std::string_view op) {
  if (!IsResourceId(a.id)) return ConstraintError(op, "apps_id_format");
  if (CharLength(a.display_name) > 256) return ConstraintError(op, "apps_display_name_length");
  if (!a.registry_config_id.empty() && !IsResourceId(a.registry_config_id)) {
    return ConstraintError(op, "apps_registry_config_id_format");
  }
  return absl::OkStatus();
}

absl::Status CheckConfig(const RegistryConfig& c, std::string_view op) {
  if (!IsResourceId(c.id)) return ConstraintError(op, "registry_configs_id_format");
  if (CharLength(c.display_name) > 256) {
    return ConstraintError(op, "registry_configs_display_name_length");
  }
  if (c.type == RegistryType::kUnspecified || static_cast<int>(c.type) > 5) {
    return ConstraintError(op, "registry_configs_type_known");
  }
  if (c.pull_only && c.type != RegistryType::kGhcr) {
    return ConstraintError(op, "registry_configs_pull_only_ghcr");
  }
  const bool app_fields_ok = c.type == RegistryType::kGitHubApp
                                 ? !c.app_id.empty() && c.installation_id > 0
                                 : c.app_id.empty() && c.installation_id == 0 &&
                                       c.repositories.empty() && c.permissions.empty();
  if (!app_fields_ok) return ConstraintError(op, "registry_configs_github_app_fields");
  if (c.repositories.size() > 500) {
    return ConstraintError(op, "registry_configs_app_repositories_format");
  }
  for (const std::string& r : c.repositories) {
    if (r.empty() || r.size() > 100 ||
        r.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
            std::string::npos) {
      return ConstraintError(op, "registry_configs_app_repositories_format");
    }
  }
  if (c.permissions.size() > 50) {
    return ConstraintError(op, "registry_configs_app_permissions_format");
  }
  for (const auto& [name, level] : c.permissions) {
    if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z' ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
        (level != "read" && level != "write" && level != "admin")) {
      return ConstraintError(op, "registry_configs_app_permissions_format");
    }
  }
  if (c.validation_status == ValidationStatus::kUnspecified ||
      static_cast<int>(c.validation_status) > 3) {
    return ConstraintError(op, "registry_configs_validation_status_known");
  }
  return absl::OkStatus();
}

// workspace_members_user_id_format: 1..256 printable ASCII characters, no spaces.
bool IsValidUserId(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::Status CheckMember(const Member& m, std::string_view op) {
  if (!IsValidUserId(m.user_id)) return ConstraintError(op, "workspace_members_user_id_format");
  if (m.role == MemberRole::kUnspecified || static_cast<int>(m.role) > 3) {
    return ConstraintError(op, "workspace_members_role_known");
  }
  if (m.status == MemberStatus::kUnspecified || static_cast<int>(m.status) > 3) {
    return ConstraintError(op, "workspace_members_status_known");
  }
  return absl::OkStatus();
}

// The audit_events_*_length checks of the fields a store refuses rather than truncates.
absl::Status CheckAuditEvent(const AuditEvent& e, std::string_view op) {
  const std::pair<const std::string*, const char*> fields[] = {
      {&e.caller, "audit_events_caller_length"},
      {&e.on_behalf_of, "audit_events_on_behalf_of_length"},
      {&e.action, "audit_events_action_length"},
      {&e.resource, "audit_events_resource_length"},
      {&e.outcome, "audit_events_outcome_length"},
  };
  for (const auto& [value, constraint] : fields) {
    if (CharLength(*value) > kAuditFieldMaxChars) return ConstraintError(op, constraint);
  }
  return absl::OkStatus();
}

bool MatchesAuditFilter(const AuditEvent& e, const AuditFilter& f) {
  if (!f.resource.empty() && e.resource != f.resource &&
      !absl::StartsWith(e.resource, absl::StrCat(f.resource, "/"))) {
    return false;
  }
  if (!f.caller.empty() && e.caller != f.caller) return false;
  if (f.start_time != absl::InfinitePast() && e.time < f.start_time) return false;
  if (f.end_time != absl::InfiniteFuture() && !(e.time < f.end_time)) return false;
  return true;
}

void NormalizeTimes(Workspace& w) {
  w.create_time = TruncateToMicros(w.create_time);
  w.update_time = TruncateToMicros(w.update_time);
}
void NormalizeTimes(App& a) {
  a.create_time = TruncateToMicros(a.create_time);
  a.update_time = TruncateToMicros(a.update_time);
}
void NormalizeTimes(Member& m) {
  m.create_time = TruncateToMicros(m.create_time);
  m.update_time = TruncateToMicros(m.update_time);
}
void NormalizeTimes(RegistryConfig& c) {
  c.create_time = TruncateToMicros(c.create_time);
  c.update_time = TruncateToMicros(c.update_time);
  if (c.validated_at.has_value()) c.validated_at = TruncateToMicros(*c.validated_at);
  if (c.credential_expire_time.has_value()) {
    c.credential_expire_time = TruncateToMicros(*c.credential_expire_time);
  }
}

// One page of the rows of `map` in [first, end) whose key satisfies `in_range`.
template <typename Map, typename Iter, typename InRange>
Page<typename Map::mapped_type> TakePage(Iter it, Iter end, InRange in_range, int page_size) {
  Page<typename Map::mapped_type> page;
  for (; it != end && in_range(it->first); ++it) {
    if (static_cast<int>(page.items.size()) == page_size) {
      page.has_more = true;
      break;
    }
    page.items.push_back(it->second);
  }
  return page;
}

}  // namespace

// ---- Workspaces

absl::StatusOr<Workspace> InMemoryRegistryStore::CreateWorkspace(const Workspace& workspace) {
  absl::Status valid = CheckWorkspace(workspace, "create workspace");
  if (!valid.ok()) return valid;
  Workspace row = workspace;
  row.version = 1;
  NormalizeTimes(row);
  absl::MutexLock lock(&mu_);
  if (!workspaces_.emplace(row.id, row).second) {
    return absl::AlreadyExistsError(absl::StrCat("workspace \"", row.id, "\" already exists"));
  }
  return row;
}

absl::StatusOr<Workspace> InMemoryRegistryStore::GetWorkspace(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = workspaces_.find(std::string(id));
  if (it == workspaces_.end()) return WorkspaceNotFound(id);
  return it->second;
}

absl::StatusOr<Page<Workspace>> InMemoryRegistryStore::ListWorkspaces(const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  return TakePage<decltype(workspaces_)>(
      workspaces_.upper_bound(options.start_after), workspaces_.end(),
      [](const std::string&) { return true; }, EffectivePageSize(options));
}

absl::StatusOr<Workspace> InMemoryRegistryStore::UpdateWorkspace(const Workspace& workspace,
                                                                 int64_t expected_version) {
  absl::Status valid = CheckWorkspace(workspace, "update workspace");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = workspaces_.find(workspace.id);
  if (it == workspaces_.end()) return WorkspaceNotFound(workspace.id);
  Workspace& row = it->second;
  if (expected_version > 0 && row.version != expected_version) {
    return VersionMismatch("workspace");
  }
  Workspace updated = workspace;
  updated.create_time = row.create_time;
  updated.version = row.version + 1;
  NormalizeTimes(updated);
  row = updated;
  return row;
}

absl::Status InMemoryRegistryStore::DeleteWorkspace(std::string_view id, int64_t expected_version,
                                                    bool force) {
  const std::string ws(id);
  absl::MutexLock lock(&mu_);
  auto it = workspaces_.find(ws);
  if (it == workspaces_.end()) return WorkspaceNotFound(id);
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch("workspace");
  }
  auto in_ws = [&ws](const ChildKey& key) { return key.first == ws; };
  auto apps_begin = apps_.lower_bound({ws, ""});
  auto apps_end = apps_begin;
  while (apps_end != apps_.end() && in_ws(apps_end->first)) ++apps_end;
  auto configs_begin = configs_.lower_bound({ws, ""});
  auto configs_end = configs_begin;
  while (configs_end != configs_.end() && in_ws(configs_end->first)) ++configs_end;
  if (!force && (apps_begin != apps_end || configs_begin != configs_end)) {
    return absl::FailedPreconditionError(
        absl::StrCat("workspace \"", ToAbsl(id), "\" still has apps or registry configs"));
  }
  apps_.erase(apps_begin, apps_end);
  configs_.erase(configs_begin, configs_end);
  auto members_begin = members_.lower_bound({ws, ""});
  auto members_end = members_begin;
  while (members_end != members_.end() && in_ws(members_end->first)) ++members_end;
  members_.erase(members_begin, members_end);  // members never block the delete
  workspaces_.erase(it);
  return absl::OkStatus();
}

// ---- Apps

absl::StatusOr<App> InMemoryRegistryStore::CreateApp(const App& app) {
  absl::Status valid = CheckApp(app, "create app");
  if (!valid.ok()) return valid;
  App row = app;
  row.version = 1;
  NormalizeTimes(row);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(row.workspace_id) == 0) return WorkspaceNotFound(row.workspace_id);
  if (!apps_.emplace(ChildKey(row.workspace_id, row.id), row).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("app \"", row.workspace_id, "/", row.id, "\" already exists"));
  }
  return row;
}

absl::StatusOr<App> InMemoryRegistryStore::GetApp(std::string_view workspace_id,
                                                  std::string_view id) {
  absl::MutexLock lock(&mu_);
  ++get_app_calls_;
  auto it = apps_.find(ChildKey(workspace_id, id));
  if (it == apps_.end()) return ChildNotFound("app", workspace_id, id);
  return it->second;
}

absl::StatusOr<Page<App>> InMemoryRegistryStore::ListApps(std::string_view workspace_id,
                                                          const ListOptions& options) {
  const std::string ws(workspace_id);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(ws) == 0) return WorkspaceNotFound(ws);
  return TakePage<decltype(apps_)>(
      apps_.upper_bound(ChildKey(ws, options.start_after)), apps_.end(),
      [&ws](const ChildKey& key) { return key.first == ws; }, EffectivePageSize(options));
}

absl::StatusOr<App> InMemoryRegistryStore::UpdateApp(const App& app, int64_t expected_version) {
  absl::Status valid = CheckApp(app, "update app");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(ChildKey(app.workspace_id, app.id));
  if (it == apps_.end()) return ChildNotFound("app", app.workspace_id, app.id);
  App& row = it->second;
  if (expected_version > 0 && row.version != expected_version) return VersionMismatch("app");
  App updated = app;
  updated.create_time = row.create_time;
  updated.version = row.version + 1;
  NormalizeTimes(updated);
  row = updated;
  return row;
}

absl::Status InMemoryRegistryStore::DeleteApp(std::string_view workspace_id, std::string_view id,
                                              int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(ChildKey(workspace_id, id));
  if (it == apps_.end()) return ChildNotFound("app", workspace_id, id);
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch("app");
  }
  apps_.erase(it);
  return absl::OkStatus();
}

// ---- Registry configs

void InMemoryRegistryStore::ClearOtherDefaultsLocked(const std::string& workspace_id,
                                                     const std::string& keep_id,
                                                     absl::Time update_time) {
  for (auto it = configs_.lower_bound({workspace_id, ""});
       it != configs_.end() && it->first.first == workspace_id; ++it) {
    RegistryConfig& other = it->second;
    if (other.id == keep_id || !other.is_default) continue;
    other.is_default = false;
    other.version += 1;
    other.update_time = update_time;
  }
}

absl::StatusOr<RegistryConfig> InMemoryRegistryStore::CreateRegistryConfig(
    const RegistryConfig& config) {
  absl::Status valid = CheckConfig(config, "create registry config");
  if (!valid.ok()) return valid;
  RegistryConfig row = config;
  row.version = 1;
  NormalizeTimes(row);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(row.workspace_id) == 0) return WorkspaceNotFound(row.workspace_id);
  const ChildKey key(row.workspace_id, row.id);
  if (configs_.count(key) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("registry config \"", row.workspace_id, "/", row.id, "\" already exists"));
  }
  if (row.is_default) ClearOtherDefaultsLocked(row.workspace_id, row.id, row.update_time);
  configs_.emplace(key, row);
  return row;
}

absl::StatusOr<RegistryConfig> InMemoryRegistryStore::GetRegistryConfig(
    std::string_view workspace_id, std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(ChildKey(workspace_id, id));
  if (it == configs_.end()) return ChildNotFound("registry config", workspace_id, id);
  return it->second;
}

absl::StatusOr<Page<RegistryConfig>> InMemoryRegistryStore::ListRegistryConfigs(
    std::string_view workspace_id, const ListOptions& options) {
  const std::string ws(workspace_id);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(ws) == 0) return WorkspaceNotFound(ws);
  return TakePage<decltype(configs_)>(
      configs_.upper_bound(ChildKey(ws, options.start_after)), configs_.end(),
      [&ws](const ChildKey& key) { return key.first == ws; }, EffectivePageSize(options));
}

absl::StatusOr<RegistryConfig> InMemoryRegistryStore::UpdateRegistryConfig(
    const RegistryConfig& config, int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/false);
}

absl::StatusOr<RegistryConfig> InMemoryRegistryStore::UpdateRegistryConfigKeepingSecret(
    const RegistryConfig& config, int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/true);
}

absl::StatusOr<RegistryConfig> InMemoryRegistryStore::UpdateConfig(const RegistryConfig& config,
                                                                   int64_t expected_version,
                                                                   bool keep_secret) {
  absl::Status valid = CheckConfig(config, "update registry config");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(ChildKey(config.workspace_id, config.id));
  if (it == configs_.end()) {
    return ChildNotFound("registry config", config.workspace_id, config.id);
  }
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch("registry config");
  }
  RegistryConfig updated = config;
  updated.create_time = it->second.create_time;
  updated.version = it->second.version + 1;
  if (keep_secret) {
    updated.secret_ciphertext = it->second.secret_ciphertext;
    updated.secret_key_id = it->second.secret_key_id;
    updated.secret_ad_version = it->second.secret_ad_version;
    updated.secret_hint = it->second.secret_hint;
  }
  NormalizeTimes(updated);
  if (updated.is_default) {
    ClearOtherDefaultsLocked(updated.workspace_id, updated.id, updated.update_time);
  }
  it->second = updated;
  return updated;
}

absl::Status InMemoryRegistryStore::DeleteRegistryConfig(std::string_view workspace_id,
                                                         std::string_view id,
                                                         int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(ChildKey(workspace_id, id));
  if (it == configs_.end()) return ChildNotFound("registry config", workspace_id, id);
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch("registry config");
  }
  configs_.erase(it);
  return absl::OkStatus();
}

// ---- Members

absl::StatusOr<Member> InMemoryRegistryStore::CreateMember(const Member& member) {
  absl::Status valid = CheckMember(member, "create member");
  if (!valid.ok()) return valid;
  Member row = member;
  row.version = 1;
  NormalizeTimes(row);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(row.workspace_id) == 0) return WorkspaceNotFound(row.workspace_id);
  if (!members_.emplace(ChildKey(row.workspace_id, row.user_id), row).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("member \"", row.workspace_id, "/", row.user_id, "\" already exists"));
  }
  return row;
}

absl::StatusOr<Member> InMemoryRegistryStore::GetMember(std::string_view workspace_id,
                                                        std::string_view user_id) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(ChildKey(workspace_id, user_id));
  if (it == members_.end()) return ChildNotFound("member", workspace_id, user_id);
  return it->second;
}

absl::StatusOr<Page<Member>> InMemoryRegistryStore::ListMembers(std::string_view workspace_id,
                                                                const ListOptions& options) {
  const std::string ws(workspace_id);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(ws) == 0) return WorkspaceNotFound(ws);
  return TakePage<decltype(members_)>(
      members_.upper_bound(ChildKey(ws, options.start_after)), members_.end(),
      [&ws](const ChildKey& key) { return key.first == ws; }, EffectivePageSize(options));
}

absl::StatusOr<Member> InMemoryRegistryStore::UpdateMember(const Member& member,
                                                           int64_t expected_version) {
  absl::Status valid = CheckMember(member, "update member");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = members_.find(ChildKey(member.workspace_id, member.user_id));
  if (it == members_.end()) return ChildNotFound("member", member.workspace_id, member.user_id);
  Member& row = it->second;
  if (expected_version > 0 && row.version != expected_version) return VersionMismatch("member");
  Member updated = member;
  updated.create_time = row.create_time;
  updated.version = row.version + 1;
  NormalizeTimes(updated);
  row = updated;
  return row;
}

absl::Status InMemoryRegistryStore::DeleteMember(std::string_view workspace_id,
                                                 std::string_view user_id,
                                                 int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(ChildKey(workspace_id, user_id));
  if (it == members_.end()) return ChildNotFound("member", workspace_id, user_id);
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch("member");
  }
  members_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<Member> InMemoryRegistryStore::ChangeMemberLocked(
    std::string_view workspace_id, std::string_view user_id, std::string_view acting_user_id,
    int64_t expected_version, const MemberChangeDecision& decide) {
  // One mutex for the whole store: the read, the decision and the write are one step.
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(std::string(workspace_id)) == 0) return WorkspaceNotFound(workspace_id);
  auto it = members_.find(ChildKey(workspace_id, user_id));
  if (it == members_.end()) return ChildNotFound("member", workspace_id, user_id);
  MemberChangeView view;
  view.target = it->second;
  if (!acting_user_id.empty()) {
    auto acting = members_.find(ChildKey(workspace_id, acting_user_id));
    if (acting != members_.end()) view.acting = acting->second;
  }
  for (auto m = members_.lower_bound(ChildKey(workspace_id, ""));
       m != members_.end() && m->first.first == workspace_id; ++m) {
    if (m->second.role == MemberRole::kOwner && m->second.status == MemberStatus::kActive) {
      ++view.active_owners;
    }
  }
  absl::StatusOr<MemberChange> change = decide(view);
  if (!change.ok()) return change.status();
  Member& row = it->second;
  if (expected_version > 0 && row.version != expected_version) return VersionMismatch("member");
  if (change->remove) {
    Member removed = row;
    members_.erase(it);
    return removed;
  }
  Member updated = row;
  updated.role = change->updated.role;
  updated.status = change->updated.status;
  updated.update_time = change->updated.update_time;
  absl::Status valid = CheckMember(updated, "update member");
  if (!valid.ok()) return valid;
  updated.version = row.version + 1;
  NormalizeTimes(updated);
  row = updated;
  return row;
}

absl::StatusOr<Page<Workspace>> InMemoryRegistryStore::ListWorkspacesOfUser(
    std::string_view user_id, const ListOptions& options) {
  const int page_size = EffectivePageSize(options);
  absl::MutexLock lock(&mu_);
  Page<Workspace> page;
  // members_ is ordered by (workspace_id, user_id), so workspaces come out in id order.
  for (auto it = members_.lower_bound(ChildKey(options.start_after, "")); it != members_.end();
       ++it) {
    const Member& m = it->second;
    if (m.user_id != user_id || m.status != MemberStatus::kActive) continue;
    if (m.workspace_id <= options.start_after) continue;
    if (static_cast<int>(page.items.size()) == page_size) {
      page.has_more = true;
      break;
    }
    page.items.push_back(workspaces_.at(m.workspace_id));
  }
  return page;
}

absl::StatusOr<Workspace> InMemoryRegistryStore::CreateWorkspaceWithMember(
    const Workspace& workspace, const Member& member) {
  // Checked in the order PostgreSQL meets them: the workspace row, its key, then the member.
  absl::Status valid = CheckWorkspace(workspace, "create workspace with member");
  if (!valid.ok()) return valid;
  Workspace ws_row = workspace;
  ws_row.version = 1;
  NormalizeTimes(ws_row);
  Member member_row = member;
  member_row.workspace_id = workspace.id;
  member_row.version = 1;
  NormalizeTimes(member_row);
  absl::MutexLock lock(&mu_);
  if (workspaces_.count(ws_row.id) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("workspace \"", ws_row.id, "\" already exists"));
  }
  valid = CheckMember(member_row, "create workspace with member");
  if (!valid.ok()) return valid;
  workspaces_.emplace(ws_row.id, ws_row);
  members_.emplace(ChildKey(member_row.workspace_id, member_row.user_id), member_row);
  return ws_row;
}

// ---- Audit trail

absl::StatusOr<AuditEvent> InMemoryRegistryStore::AppendAuditEvent(const AuditEvent& event) {
  absl::Status valid = CheckAuditEvent(event, "append audit event");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  return AppendAuditLocked(event);
}

absl::Status InMemoryRegistryStore::AppendAuditEvents(const std::vector<AuditEvent>& events) {
  for (const AuditEvent& e : events) {
    absl::Status valid = CheckAuditEvent(e, "append audit events");
    if (!valid.ok()) return valid;
  }
  absl::MutexLock lock(&mu_);
  for (const AuditEvent& e : events) AppendAuditLocked(e);
  return absl::OkStatus();
}

AuditEvent InMemoryRegistryStore::AppendAuditLocked(const AuditEvent& event) {
  AuditEvent row = event;
  internal::TruncateAuditFreeText(row);
  row.time = TruncateToMicros(row.time);
  row.id = static_cast<int64_t>(audit_.size()) + 1;
  audit_.push_back(row);
  return row;
}

absl::StatusOr<Page<AuditEvent>> InMemoryRegistryStore::ListAuditEvents(const AuditFilter& filter,
                                                                        int page_size,
                                                                        int64_t before_id) {
  const int limit = EffectivePageSize(page_size);
  absl::MutexLock lock(&mu_);
  // Events with id < before_id are audit_[0, before_id - 1).
  size_t end = audit_.size();
  if (before_id > 0) end = std::min(end, static_cast<size_t>(before_id - 1));
  Page<AuditEvent> page;
  for (size_t i = end; i-- > 0;) {
    if (!MatchesAuditFilter(audit_[i], filter)) continue;
    if (static_cast<int>(page.items.size()) == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(audit_[i]);
  }
  return page;
}

// ---- Registry events

absl::StatusOr<int64_t> InMemoryRegistryStore::AppendRegistryEvents(
    const std::vector<RegistryEvent>& events) {
  for (const RegistryEvent& e : events) {
    absl::Status valid = internal::CheckRegistryEvent(e, "append registry events");
    if (!valid.ok()) return valid;
  }
  absl::MutexLock lock(&mu_);
  int64_t inserted = 0;
  for (const RegistryEvent& e : events) {
    RegistryEvent row = e;
    row.event_time = TruncateToMicros(row.event_time);
    row.receive_time = TruncateToMicros(row.receive_time);
    if (registry_events_.emplace(row.event_id, std::move(row)).second) ++inserted;
  }
  return inserted;
}

namespace {

bool MatchesRegistryEventFilter(const RegistryEvent& e, const RegistryEventFilter& f) {
  if (!f.repository.empty() && e.repository != f.repository) return false;
  if (!f.tag.empty() && e.tag != f.tag) return false;
  if (!f.digest.empty() && e.digest != f.digest) return false;
  if (!f.action.empty() && e.action != f.action) return false;
  if (!f.actor.empty() && e.actor != f.actor) return false;
  if (f.start_time != absl::InfinitePast() && e.event_time < f.start_time) return false;
  if (f.end_time != absl::InfiniteFuture() && !(e.event_time < f.end_time)) return false;
  if (f.received_since != absl::InfinitePast() && e.receive_time < f.received_since) return false;
  return true;
}

}  // namespace

absl::StatusOr<Page<RegistryEvent>> InMemoryRegistryStore::ListRegistryEvents(
    std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
    const std::optional<RegistryEventCursor>& after) {
  const int limit = EffectivePageSize(page_size);
  std::vector<const RegistryEvent*> matching;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : registry_events_) {
    if (e.workspace_id != workspace_id || !MatchesRegistryEventFilter(e, filter)) continue;
    if (after.has_value() &&
        !internal::RegistryEventBefore(after->event_time, after->event_id, e.event_time, id)) {
      continue;
    }
    matching.push_back(&e);
  }
  std::sort(matching.begin(), matching.end(), [](const RegistryEvent* a, const RegistryEvent* b) {
    return internal::RegistryEventBefore(a->event_time, a->event_id, b->event_time, b->event_id);
  });
  Page<RegistryEvent> page;
  for (const RegistryEvent* e : matching) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(*e);
  }
  return page;
}

absl::StatusOr<int64_t> InMemoryRegistryStore::PruneRegistryEvents(absl::Time before, int limit) {
  const size_t batch = static_cast<size_t>(internal::EffectivePruneBatch(limit));
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<absl::Time, std::string>> old;  // (event_time, event_id)
  for (const auto& [id, e] : registry_events_) {
    if (e.event_time < before) old.emplace_back(e.event_time, id);
  }
  std::sort(old.begin(), old.end());
  if (old.size() > batch) old.resize(batch);
  for (const auto& entry : old) registry_events_.erase(entry.second);
  return static_cast<int64_t>(old.size());
}

// ---- Key rotation

absl::StatusOr<std::vector<RegistryConfig>> InMemoryRegistryStore::ListSecretsNotUnderKey(
    uint32_t key_id, int limit) {
  const size_t max = static_cast<size_t>(EffectivePageSize(limit));
  absl::MutexLock lock(&mu_);
  std::vector<RegistryConfig> batch;
  for (const auto& [key, config] : configs_) {  // ordered by (workspace_id, id)
    if (batch.size() == max) break;
    if (!config.secret_ciphertext.empty() &&
        (config.secret_key_id != key_id || config.secret_ad_version != kSecretAdVersionCurrent)) {
      batch.push_back(config);
    }
  }
  return batch;
}

absl::StatusOr<bool> InMemoryRegistryStore::ReplaceSecretCiphertext(
    std::string_view workspace_id, std::string_view id, const std::string& old_ciphertext,
    const std::string& new_ciphertext, uint32_t new_key_id) {
  if (new_ciphertext.empty()) {
    return ConstraintError("replace secret ciphertext", "registry_configs_secret_nonempty");
  }
  absl::MutexLock lock(&mu_);
  auto it = configs_.find(ChildKey(workspace_id, id));
  if (it == configs_.end() || old_ciphertext.empty() ||
      it->second.secret_ciphertext != old_ciphertext) {
    return false;
  }
  it->second.secret_ciphertext = new_ciphertext;
  it->second.secret_key_id = new_key_id;
  it->second.secret_ad_version = kSecretAdVersionCurrent;
  return true;
}

// ---- TestConnection

absl::StatusOr<bool> InMemoryRegistryStore::RecordValidation(std::string_view workspace_id,
                                                             std::string_view id,
                                                             const ValidationRecord& record,
                                                             const AuditEvent& event) {
  if (record.status == ValidationStatus::kUnspecified) {
    return ConstraintError("record validation", "registry_configs_validation_status_known");
  }
  absl::Status valid = CheckAuditEvent(event, "record validation");
  if (!valid.ok()) return valid;
  std::string stored_error(record.error);
  internal::TruncateToChars(stored_error, kAuditDetailMaxChars);
  absl::MutexLock lock(&mu_);
  bool applied = false;
  bool changed = false;
  auto it = configs_.find(ChildKey(workspace_id, id));
  if (it != configs_.end() && it->second.version == record.tested_version) {
    changed = it->second.validation_status != record.status;
    it->second.validation_status = record.status;
    it->second.validated_at = TruncateToMicros(record.validated_at);
    it->second.last_validation_error = std::move(stored_error);
    it->second.credential_expire_time.reset();
    if (record.credential_expire_time.has_value()) {
      it->second.credential_expire_time = TruncateToMicros(*record.credential_expire_time);
    }
    applied = true;
  }
  if (!record.audit_only_on_status_change || changed) AppendAuditLocked(event);
  return applied;
}

// ---- Scheduled revalidation

absl::StatusOr<std::vector<RevalidationKey>> InMemoryRegistryStore::ListConfigsToRevalidate(
    absl::Time validated_before, const RevalidationKey& after, int limit) {
  const size_t batch = static_cast<size_t>(EffectivePageSize(limit));
  auto order = [](const RevalidationKey& k) {
    return std::tie(k.validated_at, k.workspace_id, k.id);
  };
  std::vector<RevalidationKey> due;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, c] : configs_) {
      RevalidationKey k{c.validated_at.value_or(absl::InfinitePast()), c.workspace_id, c.id};
      if (k.validated_at < validated_before && order(after) < order(k)) due.push_back(k);
    }
  }
  std::sort(due.begin(), due.end(), [&](const RevalidationKey& a, const RevalidationKey& b) {
    return order(a) < order(b);
  });
  if (due.size() > batch) due.resize(batch);
  return due;
}

absl::StatusOr<std::map<RegistryType, CredentialHealth>>
InMemoryRegistryStore::CountCredentialHealth(absl::Time soon, absl::Time later) {
  absl::MutexLock lock(&mu_);
  std::map<RegistryType, CredentialHealth> counts;
  for (const auto& [key, c] : configs_) {
    CredentialHealth& h = counts[c.type];
    if (c.credential_expire_time.has_value()) {
      if (*c.credential_expire_time < soon) ++h.expiring_before_soon;
      if (*c.credential_expire_time < later) ++h.expiring_before_later;
    }
    if (c.validation_status == ValidationStatus::kInvalid) ++h.invalid;
  }
  return counts;
}

// ---- Operations

absl::Status InMemoryRegistryStore::Ping() { return absl::OkStatus(); }

absl::StatusOr<std::map<uint32_t, int64_t>> InMemoryRegistryStore::CountSecretsByKeyId() {
  absl::MutexLock lock(&mu_);
  std::map<uint32_t, int64_t> counts;
  for (const auto& [key, config] : configs_) {
    if (!config.secret_ciphertext.empty()) ++counts[config.secret_key_id];
  }
  return counts;
}

absl::StatusOr<int64_t> InMemoryRegistryStore::CountSecretsUnderOldAssociatedData() {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& [key, config] : configs_) {
    if (!config.secret_ciphertext.empty() && config.secret_ad_version != kSecretAdVersionCurrent) {
      ++n;
    }
  }
  return n;
}

}  // namespace registryauth::storage
