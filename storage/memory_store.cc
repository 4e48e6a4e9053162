#include "storage/memory_store.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/store_internal.h"

namespace registryauth::storage {
namespace {

using internal::EffectivePageSize;
using internal::Sv;
using internal::TruncateToMicros;

// The resource-id rule: ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (the schema's *_id_format checks).
bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (id.front() < 'a' || id.front() > 'z') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.back() != '-';
}

// Characters (UTF-8 code points) as PostgreSQL's char_length counts them.
size_t CharLength(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status ConstraintError(std::string_view operation, std::string_view constraint) {
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(operation), ": value violates constraint ", Sv(constraint)));
}

absl::Status CheckWorkspace(const Workspace& w, std::string_view op) {
  if (!IsValidId(w.id)) return ConstraintError(op, "workspaces_id_format");
  if (CharLength(w.display_name) > 256) {
    return ConstraintError(op, "workspaces_display_name_length");
  }
  return absl::OkStatus();
}

absl::Status CheckApp(const App& a, std::string_view op) {
  if (!IsValidId(a.id)) return ConstraintError(op, "apps_id_format");
  if (CharLength(a.display_name) > 256) return ConstraintError(op, "apps_display_name_length");
  if (!a.registry_config_id.empty() && !IsValidId(a.registry_config_id)) {
    return ConstraintError(op, "apps_registry_config_id_format");
  }
  return absl::OkStatus();
}

absl::Status CheckConfig(const RegistryConfig& c, std::string_view op) {
  if (!IsValidId(c.id)) return ConstraintError(op, "registry_configs_id_format");
  if (CharLength(c.display_name) > 256) {
    return ConstraintError(op, "registry_configs_display_name_length");
  }
  if (c.type == RegistryType::kUnspecified || static_cast<int>(c.type) > 4) {
    return ConstraintError(op, "registry_configs_type_known");
  }
  if (c.validation_status == ValidationStatus::kUnspecified ||
      static_cast<int>(c.validation_status) > 3) {
    return ConstraintError(op, "registry_configs_validation_status_known");
  }
  return absl::OkStatus();
}

absl::Status VersionMismatch(std::string_view what) {
  return absl::AbortedError(absl::StrCat(Sv(what), " was modified concurrently (stale version)"));
}

absl::Status WorkspaceNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("workspace \"", Sv(id), "\" not found"));
}

absl::Status ChildNotFound(std::string_view kind, std::string_view ws, std::string_view id) {
  return absl::NotFoundError(absl::StrCat(Sv(kind), " \"", Sv(ws), "/", Sv(id), "\" not found"));
}

void NormalizeTimes(Workspace& w) {
  w.create_time = TruncateToMicros(w.create_time);
  w.update_time = TruncateToMicros(w.update_time);
}
void NormalizeTimes(App& a) {
  a.create_time = TruncateToMicros(a.create_time);
  a.update_time = TruncateToMicros(a.update_time);
}
void NormalizeTimes(RegistryConfig& c) {
  c.create_time = TruncateToMicros(c.create_time);
  c.update_time = TruncateToMicros(c.update_time);
  if (c.validated_at.has_value()) c.validated_at = TruncateToMicros(*c.validated_at);
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

absl::StatusOr<Page<Workspace>> InMemoryRegistryStore::ListWorkspaces(
    const ListOptions& options) {
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

absl::Status InMemoryRegistryStore::DeleteWorkspace(std::string_view id,
                                                    int64_t expected_version, bool force) {
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
        absl::StrCat("workspace \"", Sv(id), "\" still has apps or registry configs"));
  }
  apps_.erase(apps_begin, apps_end);
  configs_.erase(configs_begin, configs_end);
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

}  // namespace registryauth::storage
