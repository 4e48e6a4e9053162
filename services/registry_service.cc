#include "services/registry_service.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/names.h"
#include "services/page_token.h"
#include "services/validation.h"

namespace registryauth::services {
namespace {

// AnnotateStoreError (services/names.h) for both Status and StatusOr results.
absl::Status Annotate(absl::Status status, std::string_view resource_name) {
  return AnnotateStoreError(std::move(status), resource_name);
}

template <typename T>
absl::StatusOr<T> Annotate(absl::StatusOr<T> result, std::string_view resource_name) {
  if (result.ok()) return result;
  return Annotate(std::move(result).status(), resource_name);
}

absl::Status UnknownPath(std::string_view path) {
  return absl::InvalidArgumentError(Cat("update_mask: unknown path ", QuoteInput(path)));
}

void Wipe(SecretString& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.mutable_data(), secret.size());
  secret.clear();
}

// Settings fields of a type, as mask sub-paths (`ghcr.owner` -> "owner").
std::vector<std::string_view> SettingsFields(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return {"owner", "pull_only"};
    case RegistryType::kAcr:
      return {"login_server", "username"};
    case RegistryType::kDistribution:
      return {"url", "repository_namespace", "username"};
    case RegistryType::kGeneric:
      return {"url", "username"};
    case RegistryType::kGitHubApp:
      return {"app_id", "installation_id", "repositories", "permissions"};
    case RegistryType::kUnspecified:
      break;
  }
  return {};
}

// The model/input string member behind a settings field name (const and mutable); the
// settings of other types (pull_only, installation_id, repositories, permissions) go through
// HasSetting / CopySetting.
template <typename T>
auto& SettingsMember(T& config, std::string_view field) {
  if (field == "owner") return config.owner;
  if (field == "app_id") return config.app_id;
  if (field == "login_server") return config.login_server;
  if (field == "url") return config.url;
  if (field == "repository_namespace") return config.repository_namespace;
  return config.username;
}

// Whether a settings field holds a non-default value (AIP-134: "populated").
template <typename T>
bool HasSetting(const T& config, std::string_view field) {
  if (field == "pull_only") return config.pull_only;
  if (field == "installation_id") return config.installation_id != 0;
  if (field == "repositories") return !config.repositories.empty();
  if (field == "permissions") return !config.permissions.empty();
  return !SettingsMember(config, field).empty();
}

template <typename From, typename To>
void CopySetting(const From& from, To& to, std::string_view field) {
  if (field == "pull_only") {
    to.pull_only = from.pull_only;
  } else if (field == "installation_id") {
    to.installation_id = from.installation_id;
  } else if (field == "repositories") {
    to.repositories = from.repositories;
  } else if (field == "permissions") {
    to.permissions = from.permissions;
  } else {
    SettingsMember(to, field) = SettingsMember(from, field);
  }
}

// Copies the settings fields of `type` from `in` (others stay empty).
void CopySettings(const RegistryConfigInput& in, RegistryConfig& out) {
  for (std::string_view f : SettingsFields(in.type)) CopySetting(in, out, f);
}

// The stored order of list settings: sorted, so equal narrowings compare and read back equal.
void Normalize(RegistryConfig& c) {
  std::sort(c.repositories.begin(), c.repositories.end());
  std::sort(c.permissions.begin(), c.permissions.end());
}

// The settings that say where a stored secret is sent or whose it is (issue 17): changing one
// without a new secret in the same update would hand the old secret to a new endpoint. The
// other settings (GHCR pull_only, the DISTRIBUTION namespace, a GitHub App's narrowing) only
// limit what the secret is used for.
std::vector<std::string_view> SecretBindingFields(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return {"owner"};
    case RegistryType::kAcr:
      return {"login_server", "username"};
    case RegistryType::kDistribution:
    case RegistryType::kGeneric:
      return {"url", "username"};
    case RegistryType::kGitHubApp:
      return {"app_id", "installation_id"};
    case RegistryType::kUnspecified:
      break;
  }
  return {};
}

// INVALID_ARGUMENT naming every binding field that `merged` changes from `stored`, or OK.
// Only called for an update that keeps a stored secret.
absl::Status CheckSecretBinding(const RegistryConfig& stored, const RegistryConfig& merged) {
  std::string changed;
  for (std::string_view f : SecretBindingFields(stored.type)) {
    const bool differs = f == "installation_id"
                             ? merged.installation_id != stored.installation_id
                             : SettingsMember(merged, f) != SettingsMember(stored, f);
    if (!differs) continue;
    if (!changed.empty()) changed += ", ";
    changed += Cat("registry_config.", SettingsFieldName(stored.type), ".", f);
  }
  if (changed.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat(changed,
          ": the stored secret is bound to its endpoint; changing it requires a new secret "
          "(registry_config.secret) in the same update"));
}

// Which fields of a registry config update apply, after resolving the mask.
struct ConfigUpdatePaths {
  bool display_name = false;
  bool is_default = false;
  bool secret = false;
  bool type = false;
  std::vector<std::string_view> settings;  // sub-fields of the stored type's settings
};

void AddField(std::vector<std::string_view>& v, std::string_view f) {
  for (std::string_view x : v) {
    if (x == f) return;
  }
  v.push_back(f);
}

absl::StatusOr<ConfigUpdatePaths> ResolveConfigMask(const FieldMask& mask,
                                                    const RegistryConfigInput& in,
                                                    RegistryType stored_type) {
  ConfigUpdatePaths p;
  const std::string_view settings = SettingsFieldName(stored_type);
  const std::vector<std::string_view> fields = SettingsFields(stored_type);
  bool settings_touched = false;
  if (mask.empty()) {
    // AIP-134: no mask = the populated fields.
    p.display_name = !in.display_name.empty();
    p.is_default = in.is_default;
    p.secret = !in.secret.empty();
    p.type = in.type != RegistryType::kUnspecified;
    if (in.settings_type != RegistryType::kUnspecified) {
      settings_touched = true;
      for (std::string_view f : fields) {
        if (HasSetting(in, f)) {
          AddField(p.settings, f);
        }
      }
    }
  }
  for (const std::string& path : mask) {
    if (path == "*") {
      p.display_name = p.is_default = p.secret = true;
      p.type = p.type || in.type != RegistryType::kUnspecified;
      for (std::string_view f : fields) AddField(p.settings, f);
      settings_touched = true;
      continue;
    }
    if (path == "display_name") {
      p.display_name = true;
    } else if (path == "is_default") {
      p.is_default = true;
    } else if (path == "secret") {
      p.secret = true;
    } else if (path == "type") {
      p.type = true;
    } else if (path == settings) {
      for (std::string_view f : fields) AddField(p.settings, f);
      settings_touched = true;
    } else {
      bool matched = false;
      for (std::string_view f : fields) {
        if (path == Cat(settings, ".", f)) {
          AddField(p.settings, f);
          settings_touched = matched = true;
        }
      }
      if (matched) continue;
      // A known path of another type's settings, or nonsense.
      for (RegistryType t : {RegistryType::kGhcr, RegistryType::kAcr, RegistryType::kDistribution,
                             RegistryType::kGeneric, RegistryType::kGitHubApp}) {
        std::string_view other = SettingsFieldName(t);
        bool is_other = path == other;
        for (std::string_view f : SettingsFields(t)) {
          is_other = is_other || path == Cat(other, ".", f);
        }
        if (is_other) {
          return absl::InvalidArgumentError(Cat("update_mask: path ", QuoteInput(path),
                                                " does not apply to type ",
                                                RegistryTypeName(stored_type)));
        }
      }
      return UnknownPath(path);
    }
  }
  if (p.type && in.type != stored_type) {
    return absl::InvalidArgumentError("registry_config.type: immutable");
  }
  if (settings_touched && in.settings_type != RegistryType::kUnspecified &&
      in.settings_type != stored_type) {
    return absl::InvalidArgumentError(Cat("registry_config.", SettingsFieldName(in.settings_type),
                                          ": does not match type ", RegistryTypeName(stored_type)));
  }
  return p;
}

}  // namespace

RegistryService::RegistryService(storage::RegistryStore& store, const crypto::Aead& aead,
                                 const Clock& clock)
    : store_(store), aead_(aead), clock_(clock) {}

std::string RegistryService::EtagOf(int64_t version) { return Cat("\"", version, "\""); }

absl::StatusOr<int64_t> RegistryService::ParseEtag(std::string_view etag, std::string_view field) {
  if (etag.empty()) return 0;
  const absl::Status malformed = absl::InvalidArgumentError(Cat(field, ": malformed"));
  if (etag.size() < 3 || etag.size() > 21 || etag.front() != '"' || etag.back() != '"') {
    return malformed;
  }
  std::string_view digits = etag.substr(1, etag.size() - 2);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return malformed;
  }
  int64_t version = 0;
  if (!absl::SimpleAtoi(ToAbsl(digits), &version) || version < 1) return malformed;
  return version;
}

std::string RegistryService::SecretAssociatedData(std::string_view workspace_id,
                                                  std::string_view registry_id) {
  return Cat("registryauth/v1/", FormatRegistryConfigName(workspace_id, registry_id), "#secret");
}

absl::StatusOr<std::string> RegistryService::SecretAssociatedData(const RegistryConfig& config) {
  std::string ad = SecretAssociatedData(config.workspace_id, config.id);
  if (config.secret_ad_version == 1) return ad;
  if (config.secret_ad_version != kSecretAdVersionCurrent) {
    return absl::InternalError(Cat(FormatRegistryConfigName(config.workspace_id, config.id),
                                   ": unknown secret_ad_version ", config.secret_ad_version));
  }
  ad += Cat("/endpoint/v2/", RegistryTypeName(config.type));
  for (std::string_view f : SecretBindingFields(config.type)) {
    const std::string value = f == "installation_id" ? Cat(config.installation_id)
                                                     : std::string(SettingsMember(config, f));
    ad += Cat("/", f, "=", value.size(), ":", value);
  }
  return ad;
}

// ---- Workspaces --------------------------------------------------------------------------

absl::StatusOr<Workspace> RegistryService::CreateWorkspace(std::string_view workspace_id,
                                                           std::string_view display_name,
                                                           std::string_view owner_user_id) {
  RETURN_IF_ERROR(ValidateId(workspace_id, "workspace_id"));
  // The token realm reads `pull+...` and `build+...` as pull tokens and workspace credentials,
  // so service accounts of such workspaces (`<workspace>+<id>`) could never log in.
  if (workspace_id == "pull" || workspace_id == "build") {
    return absl::InvalidArgumentError(
        Cat("workspace_id: \"", workspace_id, "\" is reserved (token realm user names)"));
  }
  // A workspace's repositories are `<workspace>/...`. Docker reads a first component that is
  // `localhost` (or holds '.' or ':', which ids cannot) as a registry host, so
  // `docker pull localhost/web` would go to the client's own machine, and a name such as
  // `localhost/acme/web` reads like acme's repository on another registry (issue 15).
  if (workspace_id == "localhost") {
    return absl::InvalidArgumentError(
        Cat("workspace_id: \"", workspace_id,
            "\" is reserved (a registry client reads it as a host name)"));
  }
  RETURN_IF_ERROR(ValidateDisplayName(display_name, "workspace.display_name"));
  Workspace w;
  w.id = std::string(workspace_id);
  w.display_name = std::string(display_name);
  w.create_time = w.update_time = clock_.Now();
  if (owner_user_id.empty()) {
    return Annotate(store_.CreateWorkspace(w), FormatWorkspaceName(workspace_id));
  }
  Member owner;
  owner.workspace_id = w.id;
  owner.user_id = std::string(owner_user_id);
  owner.role = MemberRole::kOwner;
  owner.status = MemberStatus::kActive;
  owner.create_time = owner.update_time = w.create_time;
  return Annotate(store_.CreateWorkspaceWithMember(w, owner), FormatWorkspaceName(workspace_id));
}

absl::StatusOr<ListResult<Workspace>> RegistryService::ListWorkspacesOfUser(
    std::string_view user_id, int page_size, std::string_view page_token) {
  // The token is bound to the user, so it cannot page through another user's list.
  const std::string collection = Cat("users/", user_id, "/workspaces");
  return ListPage<Workspace>(
      collection, page_size, page_token,
      [&](ListOptions o) { return store_.ListWorkspacesOfUser(user_id, o); },
      [](const Workspace& w) { return w.id; });
}

absl::StatusOr<ListResult<Workspace>> RegistryService::ListWorkspacesAmong(
    const std::set<std::string, std::less<>>& ids, std::string_view user_id, int page_size,
    std::string_view page_token) {
  // The collections of ListWorkspaces and ListWorkspacesOfUser: a token survives a policy
  // reload that confines the caller (or frees it) while it pages.
  const std::string collection =
      user_id.empty() ? std::string("workspaces") : Cat("users/", user_id, "/workspaces");
  return ListPage<Workspace>(
      collection, page_size, page_token,
      [&](ListOptions o) -> absl::StatusOr<Page<Workspace>> {
        Page<Workspace> page;
        for (auto it = ids.upper_bound(o.start_after); it != ids.end(); ++it) {
          absl::StatusOr<Workspace> w = store_.GetWorkspace(*it);
          if (absl::IsNotFound(w.status())) continue;
          if (!w.ok()) return w.status();
          if (!user_id.empty()) {
            absl::StatusOr<Member> m = store_.GetMember(*it, user_id);
            if (absl::IsNotFound(m.status())) continue;
            if (!m.ok()) return m.status();
            if (m->status != MemberStatus::kActive) continue;
          }
          if (static_cast<int>(page.items.size()) == o.page_size) {
            page.has_more = true;  // another workspace of the list follows
            break;
          }
          page.items.push_back(*std::move(w));
        }
        return page;
      },
      [](const Workspace& w) { return w.id; });
}

absl::StatusOr<Workspace> RegistryService::GetWorkspace(std::string_view name) {
  ASSIGN_OR_RETURN(std::string id, ParseWorkspaceName(name, "name"));
  return Annotate(store_.GetWorkspace(id), FormatWorkspaceName(id));
}

absl::StatusOr<ListResult<Workspace>> RegistryService::ListWorkspaces(int page_size,
                                                                      std::string_view page_token) {
  constexpr std::string_view kCollection = "workspaces";
  return ListPage<Workspace>(
      kCollection, page_size, page_token, [&](ListOptions o) { return store_.ListWorkspaces(o); },
      [](const Workspace& w) { return w.id; });
}

absl::StatusOr<Workspace> RegistryService::UpdateWorkspace(std::string_view name,
                                                           std::string_view display_name,
                                                           const FieldMask& mask,
                                                           std::string_view etag) {
  ASSIGN_OR_RETURN(std::string id, ParseWorkspaceName(name, "workspace.name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "workspace.etag"));
  bool set_display_name = mask.empty() && !display_name.empty();
  for (const std::string& path : mask) {
    if (path != "*" && path != "display_name") return UnknownPath(path);
    set_display_name = true;
  }
  if (set_display_name) {
    RETURN_IF_ERROR(ValidateDisplayName(display_name, "workspace.display_name"));
  }
  ASSIGN_OR_RETURN(Workspace w, Annotate(store_.GetWorkspace(id), FormatWorkspaceName(id)));
  if (set_display_name) w.display_name = std::string(display_name);
  w.update_time = clock_.Now();
  return Annotate(store_.UpdateWorkspace(w, expected), FormatWorkspaceName(id));
}

absl::Status RegistryService::DeleteWorkspace(std::string_view name, std::string_view etag,
                                              bool force) {
  ASSIGN_OR_RETURN(std::string id, ParseWorkspaceName(name, "name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "etag"));
  return Annotate(store_.DeleteWorkspace(id, expected, force), FormatWorkspaceName(id));
}

// ---- Apps ----------------------------------------------------------------------------------

absl::Status RegistryService::CheckAppRegistryConfig(std::string_view workspace_id,
                                                     std::string_view registry_config_name,
                                                     std::string* registry_config_id) {
  registry_config_id->clear();
  if (registry_config_name.empty()) return absl::OkStatus();
  constexpr std::string_view kField = "app.registry_config";
  ASSIGN_OR_RETURN(RegistryConfigName rc, ParseRegistryConfigName(registry_config_name, kField));
  if (rc.workspace_id != workspace_id) {
    return absl::InvalidArgumentError(
        Cat(kField, ": must be a registry config of ", FormatWorkspaceName(workspace_id)));
  }
  absl::StatusOr<RegistryConfig> found = store_.GetRegistryConfig(rc.workspace_id, rc.registry_id);
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(
        Cat(kField, ": ", FormatRegistryConfigName(rc.workspace_id, rc.registry_id), " not found"));
  }
  RETURN_IF_ERROR(found.status());
  *registry_config_id = rc.registry_id;
  return absl::OkStatus();
}

absl::StatusOr<App> RegistryService::CreateApp(std::string_view parent, std::string_view app_id,
                                               std::string_view display_name,
                                               std::string_view registry_config_name,
                                               bool public_pull) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(ValidateId(app_id, "app_id"));
  RETURN_IF_ERROR(ValidateDisplayName(display_name, "app.display_name"));
  App app;
  RETURN_IF_ERROR(CheckAppRegistryConfig(ws, registry_config_name, &app.registry_config_id));
  app.workspace_id = ws;
  app.id = std::string(app_id);
  app.display_name = std::string(display_name);
  app.public_pull = public_pull;
  app.create_time = app.update_time = clock_.Now();
  absl::StatusOr<App> created = store_.CreateApp(app);
  if (absl::IsNotFound(created.status())) return Annotate(created, FormatWorkspaceName(ws));
  return Annotate(created, FormatAppName(ws, app_id));
}

absl::StatusOr<App> RegistryService::GetApp(std::string_view name) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  return Annotate(store_.GetApp(n.workspace_id, n.app_id), FormatAppName(n.workspace_id, n.app_id));
}

absl::StatusOr<ListResult<App>> RegistryService::ListApps(std::string_view parent, int page_size,
                                                          std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return ListPage<App>(
      Cat(FormatWorkspaceName(ws), "/apps"), page_size, page_token,
      [&](ListOptions o) { return Annotate(store_.ListApps(ws, o), FormatWorkspaceName(ws)); },
      [](const App& a) { return a.id; });
}

absl::StatusOr<App> RegistryService::UpdateApp(std::string_view name, std::string_view display_name,
                                               std::string_view registry_config_name,
                                               const FieldMask& mask, std::string_view etag,
                                               bool public_pull) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "app.name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "app.etag"));
  bool set_display_name = mask.empty() && !display_name.empty();
  bool set_registry_config = mask.empty() && !registry_config_name.empty();
  bool set_public_pull = mask.empty() && public_pull;
  for (const std::string& path : mask) {
    if (path == "*") {
      set_display_name = set_registry_config = set_public_pull = true;
    } else if (path == "display_name") {
      set_display_name = true;
    } else if (path == "registry_config") {
      set_registry_config = true;
    } else if (path == "public_pull") {
      set_public_pull = true;
    } else {
      return UnknownPath(path);
    }
  }
  const std::string app_name = FormatAppName(n.workspace_id, n.app_id);
  if (set_display_name) RETURN_IF_ERROR(ValidateDisplayName(display_name, "app.display_name"));
  std::string registry_config_id;
  if (set_registry_config) {
    RETURN_IF_ERROR(
        CheckAppRegistryConfig(n.workspace_id, registry_config_name, &registry_config_id));
  }
  ASSIGN_OR_RETURN(App app, Annotate(store_.GetApp(n.workspace_id, n.app_id), app_name));
  if (set_display_name) app.display_name = std::string(display_name);
  if (set_registry_config) app.registry_config_id = registry_config_id;
  if (set_public_pull) app.public_pull = public_pull;
  app.update_time = clock_.Now();
  return Annotate(store_.UpdateApp(app, expected), app_name);
}

absl::Status RegistryService::DeleteApp(std::string_view name, std::string_view etag) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "etag"));
  return Annotate(store_.DeleteApp(n.workspace_id, n.app_id, expected),
                  FormatAppName(n.workspace_id, n.app_id));
}

// ---- Registry configurations -------------------------------------------------------------

absl::Status RegistryService::EncryptSecretInto(SecretString& secret,
                                                RegistryConfig& config) const {
  // Bound to the endpoint the (merged, validated) config names now.
  config.secret_ad_version = kSecretAdVersionCurrent;
  absl::StatusOr<std::string> ad = SecretAssociatedData(config);
  absl::StatusOr<std::string> ct =
      ad.ok() ? aead_.Encrypt(secret.view(), *ad) : absl::StatusOr<std::string>(ad.status());
  std::string hint = SecretHint(config.type, secret);
  Wipe(secret);
  if (!ct.ok()) return absl::InternalError("encryption failed");
  // Layout of the key ring's ciphertexts: [format version][key id, 4 bytes big-endian]...
  if (ct->size() < 5) return absl::InternalError("encryption failed: unexpected ciphertext");
  uint32_t key_id = 0;
  for (int i = 1; i <= 4; ++i) key_id = (key_id << 8) | static_cast<unsigned char>((*ct)[i]);
  config.secret_ciphertext = *std::move(ct);
  config.secret_key_id = key_id;
  config.secret_hint = std::move(hint);
  return absl::OkStatus();
}

absl::StatusOr<RegistryConfig> RegistryService::CreateRegistryConfig(std::string_view parent,
                                                                     std::string_view registry_id,
                                                                     RegistryConfigInput input) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(ValidateId(registry_id, "registry_id"));
  RETURN_IF_ERROR(ValidateRegistryConfigInput(input, /*secret_already_stored=*/false));
  RegistryConfig c;
  c.workspace_id = ws;
  c.id = std::string(registry_id);
  c.display_name = input.display_name;
  c.type = input.type;
  CopySettings(input, c);
  Normalize(c);
  c.is_default = input.is_default;
  c.validation_status = ValidationStatus::kPending;
  c.create_time = c.update_time = clock_.Now();
  if (!input.secret.empty()) RETURN_IF_ERROR(EncryptSecretInto(input.secret, c));
  absl::StatusOr<RegistryConfig> created = store_.CreateRegistryConfig(c);
  if (absl::IsNotFound(created.status())) return Annotate(created, FormatWorkspaceName(ws));
  return Annotate(created, FormatRegistryConfigName(ws, registry_id));
}

absl::StatusOr<RegistryConfig> RegistryService::GetRegistryConfig(std::string_view name) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  return Annotate(store_.GetRegistryConfig(n.workspace_id, n.registry_id),
                  FormatRegistryConfigName(n.workspace_id, n.registry_id));
}

absl::StatusOr<ListResult<RegistryConfig>> RegistryService::ListRegistryConfigs(
    std::string_view parent, int page_size, std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return ListPage<RegistryConfig>(
      Cat(FormatWorkspaceName(ws), "/registries"), page_size, page_token,
      [&](ListOptions o) {
        return Annotate(store_.ListRegistryConfigs(ws, o), FormatWorkspaceName(ws));
      },
      [](const RegistryConfig& c) { return c.id; });
}

absl::StatusOr<RegistryConfig> RegistryService::UpdateRegistryConfig(std::string_view name,
                                                                     RegistryConfigInput input,
                                                                     const FieldMask& mask,
                                                                     std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "registry_config.name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "registry_config.etag"));
  const std::string config_name = FormatRegistryConfigName(n.workspace_id, n.registry_id);
  ASSIGN_OR_RETURN(RegistryConfig stored,
                   Annotate(store_.GetRegistryConfig(n.workspace_id, n.registry_id), config_name));
  ASSIGN_OR_RETURN(ConfigUpdatePaths paths, ResolveConfigMask(mask, input, stored.type));

  RegistryConfig merged = stored;
  if (paths.display_name) merged.display_name = input.display_name;
  if (paths.is_default) merged.is_default = input.is_default;
  for (std::string_view f : paths.settings) CopySetting(input, merged, f);
  Normalize(merged);
  const bool new_secret = paths.secret && !input.secret.empty();

  // Validate the merged configuration exactly as a create would.
  RegistryConfigInput check;
  check.display_name = merged.display_name;
  check.type = check.settings_type = merged.type;
  for (std::string_view f : SettingsFields(merged.type)) CopySetting(merged, check, f);
  check.is_default = merged.is_default;
  RETURN_IF_ERROR(ValidateRegistryConfigInput(
      check, /*secret_already_stored=*/new_secret || !stored.secret_ciphertext.empty()));
  if (new_secret)
    RETURN_IF_ERROR(ValidateSecret(merged.type, input.secret, "registry_config.secret"));
  if (!new_secret && !stored.secret_ciphertext.empty())
    RETURN_IF_ERROR(CheckSecretBinding(stored, merged));

  const bool identity_changed =
      merged.owner != stored.owner || merged.login_server != stored.login_server ||
      merged.url != stored.url || merged.username != stored.username ||
      merged.pull_only != stored.pull_only || merged.app_id != stored.app_id ||
      merged.installation_id != stored.installation_id ||
      merged.repositories != stored.repositories || merged.permissions != stored.permissions;
  if (new_secret) RETURN_IF_ERROR(EncryptSecretInto(input.secret, merged));
  if (new_secret || identity_changed) {
    merged.validation_status = ValidationStatus::kPending;
    merged.validated_at.reset();
    merged.last_validation_error.clear();
    merged.credential_expire_time.reset();
  }
  merged.update_time = clock_.Now();
  // Without a new secret, the store keeps the row's own: `merged` carries the ciphertext as
  // read above, and a key rotation may have re-encrypted it since (without a version change).
  return Annotate(new_secret ? store_.UpdateRegistryConfig(merged, expected)
                             : store_.UpdateRegistryConfigKeepingSecret(merged, expected),
                  config_name);
}

absl::Status RegistryService::DeleteRegistryConfig(std::string_view name, std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  ASSIGN_OR_RETURN(int64_t expected, ParseEtag(etag, "etag"));
  // Refuse to leave apps pointing at a configuration that no longer exists.
  ListOptions options{1000, ""};
  while (true) {
    ASSIGN_OR_RETURN(Page<App> page, Annotate(store_.ListApps(n.workspace_id, options),
                                              FormatWorkspaceName(n.workspace_id)));
    for (const App& app : page.items) {
      if (app.registry_config_id == n.registry_id) {
        return absl::FailedPreconditionError(
            Cat(FormatRegistryConfigName(n.workspace_id, n.registry_id), ": still used by ",
                FormatAppName(n.workspace_id, app.id),
                "; point the app at another registry config first"));
      }
    }
    if (!page.has_more || page.items.empty()) break;
    options.start_after = page.items.back().id;
  }
  return Annotate(store_.DeleteRegistryConfig(n.workspace_id, n.registry_id, expected),
                  FormatRegistryConfigName(n.workspace_id, n.registry_id));
}

absl::StatusOr<SecretString> RegistryService::DecryptSecret(const RegistryConfig& config) const {
  if (config.secret_ciphertext.empty()) {
    return absl::FailedPreconditionError(
        Cat(FormatRegistryConfigName(config.workspace_id, config.id), ": no secret stored"));
  }
  absl::StatusOr<std::string> ad = SecretAssociatedData(config);
  if (!ad.ok()) return ad.status();
  absl::StatusOr<SecretString> plain = aead_.Decrypt(config.secret_ciphertext, *ad);
  if (!plain.ok()) return absl::InternalError("decryption failed");
  return plain;
}

}  // namespace registryauth::services
