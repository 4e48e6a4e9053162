#include "services/testing/fake_store.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/str_util.h"

namespace registryauth::services::testing {
namespace {

absl::Status CheckVersion(int64_t stored, int64_t expected) {
  if (expected > 0 && expected != stored) {
    return absl::AbortedError("version mismatch: the resource was modified concurrently");
  }
  return absl::OkStatus();
}

// Keyset page over an id-ordered range [first, last) of (id, value) entries.
template <typename T, typename It, typename IdOf>
Page<T> MakePage(It first, It last, const ListOptions& options, IdOf id_of) {
  Page<T> page;
  std::size_t limit = options.page_size > 0 ? static_cast<std::size_t>(options.page_size) : 50;
  for (It it = first; it != last; ++it) {
    if (!options.start_after.empty() && id_of(it->second) <= options.start_after) continue;
    if (page.items.size() == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(it->second);
  }
  return page;
}

}  // namespace

void FakeRegistryStore::set_next_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  next_error_ = std::move(status);
}

std::optional<absl::Status> FakeRegistryStore::TakeError() {
  std::optional<absl::Status> e = std::move(next_error_);
  next_error_.reset();
  return e;
}

absl::StatusOr<Workspace> FakeRegistryStore::CreateWorkspace(const Workspace& workspace) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(workspace.id) > 0) {
    return absl::AlreadyExistsError(internal::Cat("workspace ", workspace.id, " already exists"));
  }
  Workspace stored = workspace;
  stored.version = 1;
  workspaces_[stored.id] = stored;
  return stored;
}

absl::StatusOr<Workspace> FakeRegistryStore::GetWorkspace(std::string_view id) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = workspaces_.find(std::string(id));
  if (it == workspaces_.end()) return absl::NotFoundError(internal::Cat("workspace ", id));
  return it->second;
}

absl::StatusOr<Page<Workspace>> FakeRegistryStore::ListWorkspaces(const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  return MakePage<Workspace>(workspaces_.begin(), workspaces_.end(), options,
                             [](const Workspace& w) { return w.id; });
}

absl::StatusOr<Workspace> FakeRegistryStore::UpdateWorkspace(const Workspace& workspace,
                                                             int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = workspaces_.find(workspace.id);
  if (it == workspaces_.end())
    return absl::NotFoundError(internal::Cat("workspace ", workspace.id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  Workspace stored = workspace;
  stored.create_time = it->second.create_time;
  stored.version = it->second.version + 1;
  it->second = stored;
  return stored;
}

absl::Status FakeRegistryStore::DeleteWorkspace(std::string_view id, int64_t expected_version,
                                                bool force) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = workspaces_.find(std::string(id));
  if (it == workspaces_.end()) return absl::NotFoundError(internal::Cat("workspace ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  auto in_ws = [&](const auto& entry) { return entry.first.first == id; };
  bool has_children = std::any_of(apps_.begin(), apps_.end(), in_ws) ||
                      std::any_of(configs_.begin(), configs_.end(), in_ws);
  if (has_children && !force) {
    return absl::FailedPreconditionError(
        internal::Cat("workspace ", id, " still has apps or registry configs"));
  }
  for (auto a = apps_.begin(); a != apps_.end();) a = in_ws(*a) ? apps_.erase(a) : std::next(a);
  for (auto c = configs_.begin(); c != configs_.end();) {
    c = in_ws(*c) ? configs_.erase(c) : std::next(c);
  }
  workspaces_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<App> FakeRegistryStore::CreateApp(const App& app) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(app.workspace_id) == 0) {
    return absl::NotFoundError(internal::Cat("workspace ", app.workspace_id));
  }
  Key key{app.workspace_id, app.id};
  if (apps_.count(key) > 0) {
    return absl::AlreadyExistsError(internal::Cat("app ", app.id, " already exists"));
  }
  App stored = app;
  stored.version = 1;
  apps_[key] = stored;
  return stored;
}

absl::StatusOr<App> FakeRegistryStore::GetApp(std::string_view workspace_id, std::string_view id) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = apps_.find(Key(workspace_id, id));
  if (it == apps_.end()) return absl::NotFoundError(internal::Cat("app ", id));
  return it->second;
}

absl::StatusOr<Page<App>> FakeRegistryStore::ListApps(std::string_view workspace_id,
                                                      const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(std::string(workspace_id)) == 0) {
    return absl::NotFoundError(internal::Cat("workspace ", workspace_id));
  }
  auto first = apps_.lower_bound(Key(workspace_id, ""));
  auto last = first;
  while (last != apps_.end() && last->first.first == workspace_id) ++last;
  return MakePage<App>(first, last, options, [](const App& a) { return a.id; });
}

absl::StatusOr<App> FakeRegistryStore::UpdateApp(const App& app, int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = apps_.find(Key(app.workspace_id, app.id));
  if (it == apps_.end()) return absl::NotFoundError(internal::Cat("app ", app.id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  App stored = app;
  stored.create_time = it->second.create_time;
  stored.version = it->second.version + 1;
  it->second = stored;
  return stored;
}

absl::Status FakeRegistryStore::DeleteApp(std::string_view workspace_id, std::string_view id,
                                          int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = apps_.find(Key(workspace_id, id));
  if (it == apps_.end()) return absl::NotFoundError(internal::Cat("app ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  apps_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::CreateRegistryConfig(
    const RegistryConfig& config) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(config.workspace_id) == 0) {
    return absl::NotFoundError(internal::Cat("workspace ", config.workspace_id));
  }
  Key key{config.workspace_id, config.id};
  if (configs_.count(key) > 0) {
    return absl::AlreadyExistsError(
        internal::Cat("registry config ", config.id, " already exists"));
  }
  if (config.is_default) {
    for (auto& [k, c] : configs_) {
      if (k.first == config.workspace_id) c.is_default = false;
    }
  }
  RegistryConfig stored = config;
  stored.version = 1;
  configs_[key] = stored;
  return stored;
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::GetRegistryConfig(std::string_view workspace_id,
                                                                    std::string_view id) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = configs_.find(Key(workspace_id, id));
  if (it == configs_.end()) return absl::NotFoundError(internal::Cat("registry config ", id));
  return it->second;
}

absl::StatusOr<Page<RegistryConfig>> FakeRegistryStore::ListRegistryConfigs(
    std::string_view workspace_id, const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(std::string(workspace_id)) == 0) {
    return absl::NotFoundError(internal::Cat("workspace ", workspace_id));
  }
  auto first = configs_.lower_bound(Key(workspace_id, ""));
  auto last = first;
  while (last != configs_.end() && last->first.first == workspace_id) ++last;
  return MakePage<RegistryConfig>(first, last, options,
                                  [](const RegistryConfig& c) { return c.id; });
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::UpdateRegistryConfig(const RegistryConfig& config,
                                                                       int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = configs_.find(Key(config.workspace_id, config.id));
  if (it == configs_.end())
    return absl::NotFoundError(internal::Cat("registry config ", config.id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  if (config.is_default) {
    for (auto& [k, c] : configs_) {
      if (k.first == config.workspace_id && k.second != config.id) c.is_default = false;
    }
  }
  RegistryConfig stored = config;
  stored.create_time = it->second.create_time;
  stored.version = it->second.version + 1;
  it->second = stored;
  return stored;
}

absl::Status FakeRegistryStore::DeleteRegistryConfig(std::string_view workspace_id,
                                                     std::string_view id,
                                                     int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = configs_.find(Key(workspace_id, id));
  if (it == configs_.end()) return absl::NotFoundError(internal::Cat("registry config ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  configs_.erase(it);
  return absl::OkStatus();
}

absl::Status FakeRegistryStore::Ping() {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  return absl::OkStatus();
}

absl::StatusOr<std::map<uint32_t, int64_t>> FakeRegistryStore::CountSecretsByKeyId() {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  std::map<uint32_t, int64_t> counts;
  for (const auto& [k, c] : configs_) {
    if (!c.secret_ciphertext.empty()) ++counts[c.secret_key_id];
  }
  return counts;
}

}  // namespace registryauth::services::testing
