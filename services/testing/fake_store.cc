#include "services/testing/fake_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace registryauth::services::testing {
namespace {

absl::Status CheckVersion(int64_t stored, int64_t expected) {
  if (expected > 0 && expected != stored) {
    return absl::AbortedError("version mismatch: the resource was modified concurrently");
  }
  return absl::OkStatus();
}

// Cuts `s` to at most `max_chars` UTF-8 characters (AppendAuditEvent's truncation rule).
void TruncateChars(std::string& s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars++ == max_chars) {
      s.resize(i);
      return;
    }
  }
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

void FakeRegistryStore::set_before_update_config(UpdateHook hook) {
  absl::MutexLock lock(&mu_);
  before_update_config_ = std::move(hook);
}

void FakeRegistryStore::set_before_replace_secret(ReplaceSecretHook hook) {
  absl::MutexLock lock(&mu_);
  before_replace_secret_ = std::move(hook);
}

void FakeRegistryStore::set_fail_audit_appends(bool fail) {
  absl::MutexLock lock(&mu_);
  fail_audit_appends_ = fail;
}

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
    return absl::AlreadyExistsError(Cat("workspace ", workspace.id, " already exists"));
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
  if (it == workspaces_.end()) return absl::NotFoundError(Cat("workspace ", id));
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
    return absl::NotFoundError(Cat("workspace ", workspace.id));
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
  if (it == workspaces_.end()) return absl::NotFoundError(Cat("workspace ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  auto in_ws = [&](const auto& entry) { return entry.first.first == id; };
  bool has_children = std::any_of(apps_.begin(), apps_.end(), in_ws) ||
                      std::any_of(configs_.begin(), configs_.end(), in_ws);
  if (has_children && !force) {
    return absl::FailedPreconditionError(
        Cat("workspace ", id, " still has apps or registry configs"));
  }
  for (auto a = apps_.begin(); a != apps_.end();) a = in_ws(*a) ? apps_.erase(a) : std::next(a);
  for (auto c = configs_.begin(); c != configs_.end();) {
    c = in_ws(*c) ? configs_.erase(c) : std::next(c);
  }
  // Members never block the delete; they go with the workspace.
  for (auto m = members_.begin(); m != members_.end();) {
    m = in_ws(*m) ? members_.erase(m) : std::next(m);
  }
  workspaces_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<App> FakeRegistryStore::CreateApp(const App& app) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(app.workspace_id) == 0) {
    return absl::NotFoundError(Cat("workspace ", app.workspace_id));
  }
  Key key{app.workspace_id, app.id};
  if (apps_.count(key) > 0) {
    return absl::AlreadyExistsError(Cat("app ", app.id, " already exists"));
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
  if (it == apps_.end()) return absl::NotFoundError(Cat("app ", id));
  return it->second;
}

absl::StatusOr<Page<App>> FakeRegistryStore::ListApps(std::string_view workspace_id,
                                                      const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(std::string(workspace_id)) == 0) {
    return absl::NotFoundError(Cat("workspace ", workspace_id));
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
  if (it == apps_.end()) return absl::NotFoundError(Cat("app ", app.id));
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
  if (it == apps_.end()) return absl::NotFoundError(Cat("app ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  apps_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::CreateRegistryConfig(
    const RegistryConfig& config) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(config.workspace_id) == 0) {
    return absl::NotFoundError(Cat("workspace ", config.workspace_id));
  }
  Key key{config.workspace_id, config.id};
  if (configs_.count(key) > 0) {
    return absl::AlreadyExistsError(
        Cat("registry config ", config.id, " already exists"));
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
  if (it == configs_.end()) return absl::NotFoundError(Cat("registry config ", id));
  return it->second;
}

absl::StatusOr<Page<RegistryConfig>> FakeRegistryStore::ListRegistryConfigs(
    std::string_view workspace_id, const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(std::string(workspace_id)) == 0) {
    return absl::NotFoundError(Cat("workspace ", workspace_id));
  }
  auto first = configs_.lower_bound(Key(workspace_id, ""));
  auto last = first;
  while (last != configs_.end() && last->first.first == workspace_id) ++last;
  return MakePage<RegistryConfig>(first, last, options,
                                  [](const RegistryConfig& c) { return c.id; });
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::UpdateRegistryConfig(const RegistryConfig& config,
                                                                       int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/false);
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::UpdateRegistryConfigKeepingSecret(
    const RegistryConfig& config, int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/true);
}

absl::StatusOr<RegistryConfig> FakeRegistryStore::UpdateConfig(const RegistryConfig& config,
                                                               int64_t expected_version,
                                                               bool keep_secret) {
  UpdateHook hook;
  {
    absl::MutexLock lock(&mu_);
    hook = before_update_config_;
  }
  if (hook) hook(config.workspace_id, config.id);
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = configs_.find(Key(config.workspace_id, config.id));
  if (it == configs_.end())
    return absl::NotFoundError(Cat("registry config ", config.id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  if (config.is_default) {
    for (auto& [k, c] : configs_) {
      if (k.first == config.workspace_id && k.second != config.id) c.is_default = false;
    }
  }
  RegistryConfig stored = config;
  stored.create_time = it->second.create_time;
  stored.version = it->second.version + 1;
  if (keep_secret) {
    stored.secret_ciphertext = it->second.secret_ciphertext;
    stored.secret_key_id = it->second.secret_key_id;
    stored.secret_hint = it->second.secret_hint;
  }
  it->second = stored;
  return stored;
}

absl::Status FakeRegistryStore::DeleteRegistryConfig(std::string_view workspace_id,
                                                     std::string_view id,
                                                     int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = configs_.find(Key(workspace_id, id));
  if (it == configs_.end()) return absl::NotFoundError(Cat("registry config ", id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  configs_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<Member> FakeRegistryStore::CreateMember(const Member& member) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(member.workspace_id) == 0) {
    return absl::NotFoundError(Cat("workspace ", member.workspace_id));
  }
  Key key{member.workspace_id, member.user_id};
  if (members_.count(key) > 0) {
    return absl::AlreadyExistsError(Cat("member ", member.user_id, " already exists"));
  }
  Member stored = member;
  stored.version = 1;
  members_[key] = stored;
  return stored;
}

absl::StatusOr<Member> FakeRegistryStore::GetMember(std::string_view workspace_id,
                                                    std::string_view user_id) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = members_.find(Key(workspace_id, user_id));
  if (it == members_.end()) return absl::NotFoundError(Cat("member ", user_id));
  return it->second;
}

absl::StatusOr<Page<Member>> FakeRegistryStore::ListMembers(std::string_view workspace_id,
                                                            const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(std::string(workspace_id)) == 0) {
    return absl::NotFoundError(Cat("workspace ", workspace_id));
  }
  auto first = members_.lower_bound(Key(workspace_id, ""));
  auto last = first;
  while (last != members_.end() && last->first.first == workspace_id) ++last;
  return MakePage<Member>(first, last, options, [](const Member& m) { return m.user_id; });
}

absl::StatusOr<Member> FakeRegistryStore::UpdateMember(const Member& member,
                                                       int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = members_.find(Key(member.workspace_id, member.user_id));
  if (it == members_.end()) return absl::NotFoundError(Cat("member ", member.user_id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  Member stored = member;
  stored.create_time = it->second.create_time;
  stored.version = it->second.version + 1;
  it->second = stored;
  return stored;
}

absl::Status FakeRegistryStore::DeleteMember(std::string_view workspace_id,
                                             std::string_view user_id, int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  auto it = members_.find(Key(workspace_id, user_id));
  if (it == members_.end()) return absl::NotFoundError(Cat("member ", user_id));
  if (absl::Status s = CheckVersion(it->second.version, expected_version); !s.ok()) return s;
  members_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<Page<Workspace>> FakeRegistryStore::ListWorkspacesOfUser(
    std::string_view user_id, const ListOptions& options) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  std::map<std::string, Workspace> active;  // ordered by workspace id
  for (const auto& [key, m] : members_) {
    if (m.user_id == user_id && m.status == MemberStatus::kActive) {
      active.emplace(key.first, workspaces_.at(key.first));
    }
  }
  return MakePage<Workspace>(active.begin(), active.end(), options,
                             [](const Workspace& w) { return w.id; });
}

absl::StatusOr<Workspace> FakeRegistryStore::CreateWorkspaceWithMember(const Workspace& workspace,
                                                                       const Member& member) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (workspaces_.count(workspace.id) > 0) {
    return absl::AlreadyExistsError(Cat("workspace ", workspace.id, " already exists"));
  }
  Workspace stored = workspace;
  stored.version = 1;
  Member first = member;
  first.workspace_id = workspace.id;
  first.version = 1;
  workspaces_[stored.id] = stored;
  members_[Key(first.workspace_id, first.user_id)] = first;
  return stored;
}

absl::StatusOr<AuditEvent> FakeRegistryStore::AppendAuditEvent(const AuditEvent& event) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (fail_audit_appends_) return absl::UnavailableError("fake: audit trail unavailable");
  return AppendAuditLocked(event);
}

AuditEvent FakeRegistryStore::AppendAuditLocked(const AuditEvent& event) {
  AuditEvent stored = event;
  TruncateChars(stored.detail, storage::kAuditDetailMaxChars);
  TruncateChars(stored.peer, storage::kAuditFieldMaxChars);
  TruncateChars(stored.request_id, storage::kAuditFieldMaxChars);
  stored.id = static_cast<int64_t>(audit_.size()) + 1;
  audit_.push_back(stored);
  return stored;
}

absl::StatusOr<Page<AuditEvent>> FakeRegistryStore::ListAuditEvents(const AuditFilter& filter,
                                                                    int page_size,
                                                                    int64_t before_id) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  const std::size_t limit =
      static_cast<std::size_t>(page_size <= 0 ? 50 : std::min(page_size, 1000));
  Page<AuditEvent> page;
  for (auto it = audit_.rbegin(); it != audit_.rend(); ++it) {
    const AuditEvent& ev = *it;
    if (before_id > 0 && ev.id >= before_id) continue;
    if (!filter.resource.empty() && ev.resource != filter.resource &&
        ev.resource.rfind(filter.resource + "/", 0) != 0) {
      continue;
    }
    if (!filter.caller.empty() && ev.caller != filter.caller) continue;
    if (filter.start_time != absl::InfinitePast() && ev.time < filter.start_time) continue;
    if (filter.end_time != absl::InfiniteFuture() && ev.time >= filter.end_time) continue;
    if (page.items.size() == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(ev);
  }
  return page;
}

absl::StatusOr<std::vector<RegistryConfig>> FakeRegistryStore::ListSecretsNotUnderKey(
    uint32_t key_id, int limit) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  const std::size_t max = static_cast<std::size_t>(limit <= 0 ? 50 : std::min(limit, 1000));
  std::vector<RegistryConfig> batch;
  for (const auto& [k, c] : configs_) {
    if (batch.size() == max) break;
    if (!c.secret_ciphertext.empty() && c.secret_key_id != key_id) batch.push_back(c);
  }
  return batch;
}

absl::StatusOr<bool> FakeRegistryStore::ReplaceSecretCiphertext(std::string_view workspace_id,
                                                                std::string_view id,
                                                                const std::string& old_ciphertext,
                                                                const std::string& new_ciphertext,
                                                                uint32_t new_key_id) {
  ReplaceSecretHook hook;
  {
    absl::MutexLock lock(&mu_);
    hook = before_replace_secret_;
  }
  if (hook) hook(workspace_id, id);
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (new_ciphertext.empty()) return absl::InvalidArgumentError("empty new ciphertext");
  auto it = configs_.find(Key(workspace_id, id));
  if (it == configs_.end() || old_ciphertext.empty() ||
      it->second.secret_ciphertext != old_ciphertext) {
    return false;
  }
  it->second.secret_ciphertext = new_ciphertext;
  it->second.secret_key_id = new_key_id;
  return true;
}

absl::Status FakeRegistryStore::Ping() {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  return absl::OkStatus();
}

absl::StatusOr<bool> FakeRegistryStore::RecordValidation(
    std::string_view workspace_id, std::string_view id, int64_t tested_version,
    ValidationStatus status, absl::Time validated_at, std::string_view error,
    const AuditEvent& event) {
  absl::MutexLock lock(&mu_);
  if (auto e = TakeError()) return *e;
  if (fail_audit_appends_) return absl::UnavailableError("fake: audit trail unavailable");
  bool applied = false;
  auto it = configs_.find(Key(workspace_id, id));
  if (it != configs_.end() && it->second.version == tested_version) {
    it->second.validation_status = status;
    it->second.validated_at = validated_at;
    it->second.last_validation_error = std::string(error);
    TruncateChars(it->second.last_validation_error, storage::kAuditDetailMaxChars);
    applied = true;
  }
  AppendAuditLocked(event);
  return applied;
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
