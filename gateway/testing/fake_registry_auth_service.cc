#include "gateway/testing/fake_registry_auth_service.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/field_mask_util.h"

namespace registryauth::gateway::testing {
namespace {

using ::google::protobuf::FieldMask;
using ::google::protobuf::util::FieldMaskUtil;

grpc::Status Invalid(const std::string& m) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m);
}
grpc::Status NotFound(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat(name, " not found"));
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 63 || id[0] < 'a' || id[0] > 'z' || id.back() == '-') {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// The id of `workspaces/{id}` (or "" if `name` is not of that form).
std::string WorkspaceId(const std::string& name) {
  constexpr absl::string_view kPrefix = "workspaces/";
  if (!absl::StartsWith(name, kPrefix)) return "";
  std::string id = name.substr(kPrefix.size());
  return ValidId(id) ? id : "";
}

// Lists the values whose key is `<parent><id>` (one level below parent), ordered by key.
template <typename T, typename Add>
grpc::Status Page(const std::map<std::string, T>& all, const std::string& parent, int page_size,
                  const std::string& token, Add add, std::string* next_token) {
  if (page_size < 0) return Invalid("page_size: must not be negative");
  const size_t size = page_size == 0 ? 50 : std::min(page_size, 1000);
  auto it = token.empty() ? all.lower_bound(parent) : all.upper_bound(token);
  if (!token.empty() && !absl::StartsWith(token, parent)) return Invalid("page_token: invalid");
  size_t n = 0;
  for (; it != all.end() && absl::StartsWith(it->first, parent); ++it) {
    if (it->first.find('/', parent.size()) != std::string::npos) continue;
    if (n == size) {
      *next_token = std::prev(it)->first;
      return grpc::Status::OK;
    }
    add(it->second);
    ++n;
  }
  return grpc::Status::OK;
}

grpc::Status CheckMask(const FieldMask& mask, const std::vector<std::string>& allowed) {
  for (const std::string& p : mask.paths()) {
    bool ok = p == "*";
    for (const std::string& a : allowed) ok = ok || p == a || absl::StartsWith(p, a + ".");
    if (!ok) return Invalid(absl::StrCat("update_mask: path \"", p, "\" cannot be updated"));
  }
  return grpc::Status::OK;
}

FieldMask EffectiveMask(const FieldMask& mask, const std::vector<std::string>& all) {
  if (mask.paths().empty() ||
      std::find(mask.paths().begin(), mask.paths().end(), "*") != mask.paths().end()) {
    FieldMask m;
    for (const std::string& p : all) m.add_paths(p);
    return m;
  }
  return mask;
}

std::string SecretHint(const std::string& secret) {
  if (secret.size() < 16) return "…";
  std::string prefix;
  for (const char* p : {"ghp_", "github_pat_", "gho_"}) {
    if (absl::StartsWith(secret, p)) prefix = p;
  }
  return absl::StrCat(prefix, "…", secret.substr(secret.size() - 4));
}

v1::RegistryType SettingsType(const v1::RegistryConfig& c) {
  switch (c.settings_case()) {
    case v1::RegistryConfig::kGhcr: return v1::GHCR;
    case v1::RegistryConfig::kAcr: return v1::ACR;
    case v1::RegistryConfig::kDistribution: return v1::DISTRIBUTION;
    case v1::RegistryConfig::kGeneric: return v1::GENERIC;
    case v1::RegistryConfig::kGithubApp: return v1::GITHUB_APP;
    default: return v1::REGISTRY_TYPE_UNSPECIFIED;
  }
}

v1::RegistryConfig Public(v1::RegistryConfig c) {
  c.set_has_secret(!c.secret().empty());
  c.set_secret_hint(c.secret().empty() ? "" : SecretHint(c.secret()));
  c.clear_secret();
  return c;
}

}  // namespace

void FakeRegistryAuthService::FailNextCall(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  next_error_ = std::move(status);
}

std::string FakeRegistryAuthService::last_request_id() const {
  absl::MutexLock lock(&mu_);
  return last_request_id_;
}

std::optional<std::string> FakeRegistryAuthService::StoredSecret(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = registries_.find(name);
  if (it == registries_.end()) return std::nullopt;
  return it->second.secret();
}

std::optional<std::string> FakeRegistryAuthService::LastMetadata(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = last_metadata_.find(key);
  if (it == last_metadata_.end()) return std::nullopt;
  return it->second;
}

v1::IssueRegistryTokenRequest FakeRegistryAuthService::last_token_request() const {
  absl::MutexLock lock(&mu_);
  return last_token_request_;
}

void FakeRegistryAuthService::AddPullToken(const std::string& name, const std::string& app) {
  absl::MutexLock lock(&mu_);
  v1::PullToken t;
  t.set_name(name);
  t.set_app(app);
  const std::string ws = app.substr(0, app.find("/apps/"));
  t.set_repository(absl::StrCat(WorkspaceId(ws), "/", app.substr(app.rfind('/') + 1)));
  t.set_created_by("spiffe://example.org/test");
  pull_tokens_[name] = t;
}

void FakeRegistryAuthService::AddRefreshToken(const std::string& name,
                                              const std::string& subject,
                                              const std::string& secret) {
  absl::MutexLock lock(&mu_);
  v1::RefreshToken t;
  t.set_name(name);
  t.set_subject(subject);
  t.set_service("registry.test");
  refresh_tokens_[name] = t;
  refresh_secrets_[secret] = name;
}

std::optional<grpc::Status> FakeRegistryAuthService::Begin(Ctx* ctx) {
  last_metadata_.clear();
  for (const auto& [k, v] : ctx->client_metadata()) {
    last_metadata_.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  last_request_id_.clear();
  auto it = ctx->client_metadata().find("x-request-id");
  if (it != ctx->client_metadata().end()) {
    last_request_id_.assign(it->second.data(), it->second.size());
  }
  std::optional<grpc::Status> error = std::move(next_error_);
  next_error_.reset();
  return error;
}

std::string FakeRegistryAuthService::NextEtag() { return absl::StrCat("e", ++etag_counter_); }

// ---- Workspaces ------------------------------------------------------------------------------

grpc::Status FakeRegistryAuthService::CreateWorkspace(Ctx* ctx,
                                                      const v1::CreateWorkspaceRequest* req,
                                                      v1::Workspace* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!ValidId(req->workspace_id())) return Invalid("workspace_id: invalid id");
  const std::string name = absl::StrCat("workspaces/", req->workspace_id());
  if (workspaces_.count(name)) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, absl::StrCat(name, " already exists"));
  }
  v1::Workspace ws;
  ws.set_name(name);
  ws.set_display_name(req->workspace().display_name());
  ws.set_etag(NextEtag());
  workspaces_[name] = ws;
  *out = ws;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::GetWorkspace(Ctx* ctx, const v1::GetWorkspaceRequest* req,
                                                   v1::Workspace* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = workspaces_.find(req->name());
  if (it == workspaces_.end()) return NotFound(req->name());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::ListWorkspaces(Ctx* ctx,
                                                     const v1::ListWorkspacesRequest* req,
                                                     v1::ListWorkspacesResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  return Page(
      workspaces_, "workspaces/", req->page_size(), req->page_token(),
      [&](const v1::Workspace& w) { *out->add_workspaces() = w; }, out->mutable_next_page_token());
}

grpc::Status FakeRegistryAuthService::UpdateWorkspace(Ctx* ctx,
                                                      const v1::UpdateWorkspaceRequest* req,
                                                      v1::Workspace* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = workspaces_.find(req->workspace().name());
  if (it == workspaces_.end()) return NotFound(req->workspace().name());
  if (!req->workspace().etag().empty() && req->workspace().etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  if (auto s = CheckMask(req->update_mask(), {"display_name"}); !s.ok()) return s;
  it->second.set_display_name(req->workspace().display_name());
  it->second.set_etag(NextEtag());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::DeleteWorkspace(Ctx* ctx,
                                                      const v1::DeleteWorkspaceRequest* req,
                                                      google::protobuf::Empty*) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = workspaces_.find(req->name());
  if (it == workspaces_.end()) return NotFound(req->name());
  if (!req->etag().empty() && req->etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  const std::string prefix = req->name() + "/";
  auto has_children = [&](const auto& m) {
    auto c = m.lower_bound(prefix);
    return c != m.end() && absl::StartsWith(c->first, prefix);
  };
  if (!req->force() && (has_children(apps_) || has_children(registries_))) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "workspace has apps or registry configs; use force");
  }
  auto erase_children = [&](auto& m) {
    for (auto c = m.lower_bound(prefix); c != m.end() && absl::StartsWith(c->first, prefix);) {
      c = m.erase(c);
    }
  };
  erase_children(apps_);
  erase_children(registries_);
  workspaces_.erase(it);
  return grpc::Status::OK;
}

// ---- Apps ------------------------------------------------------------------------------------

grpc::Status FakeRegistryAuthService::CreateApp(Ctx* ctx, const v1::CreateAppRequest* req,
                                                v1::App* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  if (!ValidId(req->app_id())) return Invalid("app_id: invalid id");
  const std::string name = absl::StrCat(req->parent(), "/apps/", req->app_id());
  if (apps_.count(name)) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, absl::StrCat(name, " already exists"));
  }
  const std::string& reg = req->app().registry_config();
  if (!reg.empty() && !registries_.count(reg)) {
    return Invalid("app.registry_config: no such registry config");
  }
  v1::App app = req->app();
  app.set_name(name);
  app.set_repository(absl::StrCat(WorkspaceId(req->parent()), "/", req->app_id()));
  app.set_etag(NextEtag());
  apps_[name] = app;
  *out = app;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::GetApp(Ctx* ctx, const v1::GetAppRequest* req,
                                             v1::App* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = apps_.find(req->name());
  if (it == apps_.end()) return NotFound(req->name());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::ListApps(Ctx* ctx, const v1::ListAppsRequest* req,
                                               v1::ListAppsResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  return Page(
      apps_, req->parent() + "/apps/", req->page_size(), req->page_token(),
      [&](const v1::App& a) { *out->add_apps() = a; }, out->mutable_next_page_token());
}

grpc::Status FakeRegistryAuthService::UpdateApp(Ctx* ctx, const v1::UpdateAppRequest* req,
                                                v1::App* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = apps_.find(req->app().name());
  if (it == apps_.end()) return NotFound(req->app().name());
  if (!req->app().etag().empty() && req->app().etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  const std::vector<std::string> mutable_paths = {"display_name", "registry_config",
                                                   "public_pull"};
  if (auto s = CheckMask(req->update_mask(), mutable_paths); !s.ok()) return s;
  const std::string& reg = req->app().registry_config();
  FieldMask mask = EffectiveMask(req->update_mask(), mutable_paths);
  if (FieldMaskUtil::IsPathInFieldMask("registry_config", mask) && !reg.empty() &&
      !registries_.count(reg)) {
    return Invalid("app.registry_config: no such registry config");
  }
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  FieldMaskUtil::MergeMessageTo(req->app(), mask, options, &it->second);
  it->second.set_etag(NextEtag());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::DeleteApp(Ctx* ctx, const v1::DeleteAppRequest* req,
                                                google::protobuf::Empty*) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = apps_.find(req->name());
  if (it == apps_.end()) return NotFound(req->name());
  if (!req->etag().empty() && req->etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  apps_.erase(it);
  return grpc::Status::OK;
}

// ---- Registry configs --------------------------------------------------------------------------

grpc::Status FakeRegistryAuthService::CreateRegistryConfig(
    Ctx* ctx, const v1::CreateRegistryConfigRequest* req, v1::RegistryConfig* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  if (!ValidId(req->registry_id())) return Invalid("registry_id: invalid id");
  const v1::RegistryConfig& in = req->registry_config();
  if (in.type() == v1::REGISTRY_TYPE_UNSPECIFIED) return Invalid("registry_config.type: required");
  if (SettingsType(in) != in.type()) {
    return Invalid("registry_config.settings: must match registry_config.type");
  }
  if (in.secret().empty() && in.type() != v1::DISTRIBUTION) {
    return Invalid("registry_config.secret: required for this type");
  }
  const std::string name = absl::StrCat(req->parent(), "/registries/", req->registry_id());
  if (registries_.count(name)) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, absl::StrCat(name, " already exists"));
  }
  v1::RegistryConfig c = in;
  c.set_name(name);
  c.set_validation_status(v1::PENDING);
  c.set_etag(NextEtag());
  if (c.is_default()) {
    const std::string prefix = req->parent() + "/registries/";
    for (auto& [n, other] : registries_) {
      if (absl::StartsWith(n, prefix)) other.set_is_default(false);
    }
  }
  registries_[name] = c;
  *out = Public(c);
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::GetRegistryConfig(
    Ctx* ctx, const v1::GetRegistryConfigRequest* req, v1::RegistryConfig* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = registries_.find(req->name());
  if (it == registries_.end()) return NotFound(req->name());
  *out = Public(it->second);
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::ListRegistryConfigs(
    Ctx* ctx, const v1::ListRegistryConfigsRequest* req, v1::ListRegistryConfigsResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  return Page(
      registries_, req->parent() + "/registries/", req->page_size(), req->page_token(),
      [&](const v1::RegistryConfig& c) { *out->add_registry_configs() = Public(c); },
      out->mutable_next_page_token());
}

grpc::Status FakeRegistryAuthService::UpdateRegistryConfig(
    Ctx* ctx, const v1::UpdateRegistryConfigRequest* req, v1::RegistryConfig* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  const v1::RegistryConfig& in = req->registry_config();
  auto it = registries_.find(in.name());
  if (it == registries_.end()) return NotFound(in.name());
  if (!in.etag().empty() && in.etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  const std::vector<std::string> mutable_paths = {"display_name", "is_default", "secret",
                                                  "ghcr", "acr", "distribution", "generic",
                                                  "github_app"};
  if (auto s = CheckMask(req->update_mask(), mutable_paths); !s.ok()) return s;
  FieldMask mask = EffectiveMask(req->update_mask(), mutable_paths);
  v1::RegistryConfig updated = it->second;
  const std::string old_secret = updated.secret();
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(false);
  options.set_replace_repeated_fields(true);  // a list in the mask is replaced, as the server does
  // Of the settings messages only the one of the stored type may be updated; the implicit
  // full mask simply skips the others.
  const v1::RegistryType type = updated.type();
  const std::string own = type == v1::GHCR ? "ghcr"
                          : type == v1::ACR ? "acr"
                          : type == v1::DISTRIBUTION ? "distribution"
                          : type == v1::GITHUB_APP   ? "github_app"
                                                     : "generic";
  FieldMask applicable;
  for (const std::string& p : mask.paths()) {
    const std::string head = p.substr(0, p.find('.'));
    const bool settings = head == "ghcr" || head == "acr" || head == "distribution" ||
                          head == "generic" || head == "github_app";
    if (settings && head != own) {
      if (req->update_mask().paths().empty()) continue;
      return Invalid("registry_config.type: cannot change");
    }
    applicable.add_paths(p);
  }
  FieldMaskUtil::MergeMessageTo(in, applicable, options, &updated);
  if (updated.secret().empty()) updated.set_secret(old_secret);
  if (SettingsType(updated) != updated.type()) {
    return Invalid("registry_config.type: cannot change");
  }
  if (updated.is_default() && !it->second.is_default()) {
    const std::string prefix = in.name().substr(0, in.name().rfind('/') + 1);
    for (auto& [n, other] : registries_) {
      if (absl::StartsWith(n, prefix)) other.set_is_default(false);
    }
  }
  if (updated.secret() != old_secret) updated.set_validation_status(v1::PENDING);
  updated.set_etag(NextEtag());
  it->second = updated;
  *out = Public(updated);
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::DeleteRegistryConfig(
    Ctx* ctx, const v1::DeleteRegistryConfigRequest* req, google::protobuf::Empty*) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = registries_.find(req->name());
  if (it == registries_.end()) return NotFound(req->name());
  if (!req->etag().empty() && req->etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  registries_.erase(it);
  return grpc::Status::OK;
}

// ---- Pull tokens ------------------------------------------------------------------------------

grpc::Status FakeRegistryAuthService::RevokePullToken(Ctx* ctx,
                                                      const v1::RevokePullTokenRequest* req,
                                                      v1::PullToken* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = pull_tokens_.find(req->name());
  if (it == pull_tokens_.end()) return NotFound(req->name());
  if (!it->second.has_revoke_time()) it->second.mutable_revoke_time()->set_seconds(1795428000);
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::RevokePullTokens(Ctx* ctx,
                                                       const v1::RevokePullTokensRequest* req,
                                                       v1::RevokePullTokensResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!apps_.count(req->app())) return NotFound(req->app());
  for (auto& [name, t] : pull_tokens_) {
    if (t.app() == req->app() && !t.has_revoke_time()) {
      t.mutable_revoke_time()->set_seconds(1795428000);
      out->set_revoked_count(out->revoked_count() + 1);
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::ListPullTokens(Ctx* ctx,
                                                     const v1::ListPullTokensRequest* req,
                                                     v1::ListPullTokensResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  const bool by_app = absl::StrContains(req->parent(), "/apps/");
  if (by_app ? !apps_.count(req->parent()) : !workspaces_.count(req->parent())) {
    return NotFound(req->parent());
  }
  for (const auto& [name, t] : pull_tokens_) {
    if (by_app ? t.app() == req->parent() : absl::StartsWith(name, req->parent() + "/")) {
      *out->add_pull_tokens() = t;
    }
  }
  return grpc::Status::OK;
}

// ---- Service accounts ---------------------------------------------------------------------------

grpc::Status FakeRegistryAuthService::CreateServiceAccount(
    Ctx* ctx, const v1::CreateServiceAccountRequest* req, v1::ServiceAccountCredentials* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  if (!ValidId(req->service_account_id())) return Invalid("service_account_id: invalid id");
  const std::string name = absl::StrCat(req->parent(), "/serviceAccounts/",
                                        req->service_account_id());
  if (service_accounts_.count(name)) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, absl::StrCat(name, " already exists"));
  }
  v1::ServiceAccount sa = req->service_account();
  sa.set_name(name);
  sa.set_username(absl::StrCat(WorkspaceId(req->parent()), "+", req->service_account_id()));
  sa.set_etag(NextEtag());
  service_accounts_[name] = sa;
  const std::string secret = absl::StrCat("ras_secret", ++token_counter_);
  account_secrets_[sa.username()] = secret;
  *out->mutable_service_account() = sa;
  out->set_username(sa.username());
  out->set_secret(secret);
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::GetServiceAccount(Ctx* ctx,
                                                        const v1::GetServiceAccountRequest* req,
                                                        v1::ServiceAccount* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = service_accounts_.find(req->name());
  if (it == service_accounts_.end()) return NotFound(req->name());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::ListServiceAccounts(
    Ctx* ctx, const v1::ListServiceAccountsRequest* req, v1::ListServiceAccountsResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  return Page(
      service_accounts_, req->parent() + "/serviceAccounts/", req->page_size(),
      req->page_token(), [&](const v1::ServiceAccount& a) { *out->add_service_accounts() = a; },
      out->mutable_next_page_token());
}

grpc::Status FakeRegistryAuthService::UpdateServiceAccount(
    Ctx* ctx, const v1::UpdateServiceAccountRequest* req, v1::ServiceAccount* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = service_accounts_.find(req->service_account().name());
  if (it == service_accounts_.end()) return NotFound(req->service_account().name());
  if (!req->service_account().etag().empty() &&
      req->service_account().etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  const std::vector<std::string> mutable_paths = {"display_name", "grants", "disabled",
                                                  "expire_time"};
  if (auto s = CheckMask(req->update_mask(), mutable_paths); !s.ok()) return s;
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(req->service_account(),
                                EffectiveMask(req->update_mask(), mutable_paths), options,
                                &it->second);
  it->second.set_etag(NextEtag());
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::DeleteServiceAccount(
    Ctx* ctx, const v1::DeleteServiceAccountRequest* req, google::protobuf::Empty*) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = service_accounts_.find(req->name());
  if (it == service_accounts_.end()) return NotFound(req->name());
  if (!req->etag().empty() && req->etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  account_secrets_.erase(it->second.username());
  service_accounts_.erase(it);
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::RegenerateServiceAccountSecret(
    Ctx* ctx, const v1::RegenerateServiceAccountSecretRequest* req,
    v1::ServiceAccountCredentials* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = service_accounts_.find(req->name());
  if (it == service_accounts_.end()) return NotFound(req->name());
  if (!req->etag().empty() && req->etag() != it->second.etag()) {
    return grpc::Status(grpc::StatusCode::ABORTED, "etag is stale");
  }
  it->second.set_etag(NextEtag());
  const std::string secret = absl::StrCat("ras_secret", ++token_counter_);
  account_secrets_[it->second.username()] = secret;
  *out->mutable_service_account() = it->second;
  out->set_username(it->second.username());
  out->set_secret(secret);
  return grpc::Status::OK;
}

// ---- Refresh tokens and the realm ----------------------------------------------------------------

grpc::Status FakeRegistryAuthService::ListRefreshTokens(Ctx* ctx,
                                                        const v1::ListRefreshTokensRequest* req,
                                                        v1::ListRefreshTokensResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  if (!workspaces_.count(req->parent())) return NotFound(req->parent());
  for (const auto& [name, t] : refresh_tokens_) {
    if (absl::StartsWith(name, req->parent() + "/") &&
        (req->subject().empty() || t.subject() == req->subject())) {
      *out->add_refresh_tokens() = t;
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::RevokeRefreshToken(Ctx* ctx,
                                                         const v1::RevokeRefreshTokenRequest* req,
                                                         v1::RefreshToken* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  auto it = refresh_tokens_.find(req->name());
  if (it == refresh_tokens_.end()) return NotFound(req->name());
  if (!it->second.has_revoke_time()) it->second.mutable_revoke_time()->set_seconds(1795428000);
  *out = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeRegistryAuthService::IssueRegistryToken(
    Ctx* ctx, const v1::IssueRegistryTokenRequest* req, v1::IssueRegistryTokenResponse* out) {
  absl::MutexLock lock(&mu_);
  if (auto e = Begin(ctx)) return *e;
  last_token_request_ = *req;
  auto failure = [](grpc::StatusCode code, const std::string& message, const char* reason) {
    v1::RpcStatus details;
    details.set_code(static_cast<int>(code));
    details.set_message(message);
    v1::ErrorDetail detail;
    detail.set_reason(reason);
    details.add_details()->PackFrom(detail);
    return grpc::Status(code, message, details.SerializeAsString());
  };
  if (req->service() != "registry.test") {
    return failure(grpc::StatusCode::INVALID_ARGUMENT, "service: unknown service",
                   "UNKNOWN_SERVICE");
  }
  bool anonymous = false;
  std::string refresh_name;
  if (req->grant_type() == v1::IssueRegistryTokenRequest::REFRESH_TOKEN) {
    auto it = refresh_secrets_.find(req->refresh_token());
    if (it == refresh_secrets_.end() || refresh_tokens_[it->second].has_revoke_time()) {
      return failure(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials",
                     "INVALID_CREDENTIALS");
    }
    out->set_refresh_token(req->refresh_token());
  } else if (req->username().empty() && req->password().empty()) {
    anonymous = true;
  } else {
    auto it = account_secrets_.find(req->username());
    if (it == account_secrets_.end() || it->second != req->password()) {
      return failure(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials",
                     "INVALID_CREDENTIALS");
    }
  }
  ++token_counter_;
  out->set_token(absl::StrCat("token-", token_counter_));
  out->set_expires_in(300);
  out->mutable_issued_at()->set_seconds(1795428000);  // 2026-11-23T10:00:00Z
  if (req->offline_token() && !anonymous &&
      req->grant_type() != v1::IssueRegistryTokenRequest::REFRESH_TOKEN) {
    out->set_refresh_token(absl::StrCat("refresh-", token_counter_));
  }
  if (!anonymous) {
    for (const std::string& scope : req->scopes()) {
      for (absl::string_view s : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
        out->add_granted_scopes(std::string(s));
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace registryauth::gateway::testing
