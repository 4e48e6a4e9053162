#include "services/workspace_credentials.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "crypto/base64url.h"
#include "model/model.h"
#include "services/error_detail.h"
#include "services/names.h"
#include "services/page_token.h"
#include "services/token_realm_errors.h"
#include "services/token_secrets.h"

namespace registryauth::services {
namespace {

constexpr char kWorkspaceSecretPrefix[] = "rbt_";
constexpr size_t kMaxWorkspaceSecret = 160;

// What the keyed hash of a workspace credential covers: its id, workspace, the workspace's
// create time and the expiry. (v1 had no create time; its credentials no longer verify.)
std::string WorkspaceCredentialMessage(std::string_view id, std::string_view workspace_id,
                                       int64_t workspace_create_micros, int64_t expire_unix) {
  return Cat("registry-auth workspace credential v2\n", id, "\n", workspace_id, "\n",
             workspace_create_micros, "\n", expire_unix);
}

// `rbt_<workspace>.<workspace create unix micros>.<expiry unix seconds>.<hash key id>.
// <base64url keyed hash>`, parsed strictly; nullopt for anything else.
struct WorkspaceSecret {
  std::string workspace_id;
  int64_t workspace_create_micros = 0;
  int64_t expire_unix = 0;
  crypto::SecretDigest digest;
};

// The password's text; the only text ParseWorkspaceSecret accepts for `s` (numbers without
// leading zeros or "-0", canonical base64url), so one minted credential has one password.
std::string FormatWorkspaceSecret(const WorkspaceSecret& s) {
  return Cat(kWorkspaceSecretPrefix, s.workspace_id, ".", s.workspace_create_micros, ".",
             s.expire_unix, ".", s.digest.key_id, ".", crypto::Base64UrlEncode(s.digest.digest));
}

std::optional<WorkspaceSecret> ParseWorkspaceSecret(std::string_view secret) {
  if (secret.size() > kMaxWorkspaceSecret || !StartsWith(secret, kWorkspaceSecretPrefix)) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(ToAbsl(secret.substr(sizeof(kWorkspaceSecretPrefix) - 1)), '.');
  if (parts.size() != 5) return std::nullopt;
  auto all_digits = [](absl::string_view v) {
    return !v.empty() && v.size() <= 18 &&
           v.find_first_not_of("0123456789") == absl::string_view::npos;
  };
  // The create time may be negative (a workspace created before 1970, as tests make them);
  // at most 19 digits, so SimpleAtoi decides what fits an int64.
  auto micros = [](absl::string_view v) {
    if (!v.empty() && v[0] == '-') v.remove_prefix(1);
    return !v.empty() && v.size() <= 19 &&
           v.find_first_not_of("0123456789") == absl::string_view::npos;
  };
  WorkspaceSecret out;
  out.workspace_id = std::string(parts[0]);
  if (!IsValidId(out.workspace_id) || !micros(parts[1]) || !all_digits(parts[2]) ||
      !all_digits(parts[3]) || parts[3].size() > 10) {
    return std::nullopt;
  }
  uint64_t key_id = 0;
  if (!absl::SimpleAtoi(parts[1], &out.workspace_create_micros) ||
      !absl::SimpleAtoi(parts[2], &out.expire_unix) || !absl::SimpleAtoi(parts[3], &key_id) ||
      key_id > 0xffffffffu) {
    return std::nullopt;
  }
  out.digest.key_id = static_cast<uint32_t>(key_id);
  absl::StatusOr<std::string> digest =
      crypto::Base64UrlDecode(std::string_view(parts[4].data(), parts[4].size()));
  if (!digest.ok() || digest->size() != 32) return std::nullopt;
  out.digest.digest = *std::move(digest);
  // Numbers parse with leading zeros ("0123", "-0"): refuse every text but the one minted, so
  // a credential cannot be re-spelled (workspace_credential_fuzz).
  std::string canonical = FormatWorkspaceSecret(out);
  const bool exact = canonical == secret;
  WipeString(canonical);
  if (!exact) return std::nullopt;
  return out;
}

}  // namespace

WorkspaceCredentials::WorkspaceCredentials(storage::RegistryStore& workspaces,
                                           const crypto::SecretHasher& hasher, const Clock& clock,
                                           const TokenRealmOptions& options, bool can_sign)
    : workspaces_(workspaces),
      create_times_(clock, options.cache_ttl, options.cache_capacity),
      hasher_(hasher),
      clock_(clock),
      enabled_(can_sign && !options.service.empty()),
      registry_host_(options.registry_host),
      ttl_(options.pull_token_default_ttl),
      max_ttl_(options.pull_token_max_ttl) {}

absl::StatusOr<absl::Time> WorkspaceCredentials::WorkspaceCreateTime(std::string_view workspace_id,
                                                                     bool fresh) const {
  const std::string key(workspace_id);
  if (!fresh) {
    if (std::optional<absl::Time> hit = create_times_.Get(key)) return *hit;
  }
  absl::StatusOr<Workspace> workspace = workspaces_.GetWorkspace(workspace_id);
  if (!workspace.ok()) return workspace.status();
  create_times_.Put(key, workspace->create_time);
  return workspace->create_time;
}

bool WorkspaceCredentials::ServesRegistry(std::string_view registry_host) const {
  return enabled_ && !registry_host_.empty() &&
         absl::EqualsIgnoreCase(ToAbsl(registry_host), registry_host_);
}

absl::StatusOr<Credentials> WorkspaceCredentials::MintWorkspaceCredential(
    std::string_view workspace_id) {
  if (!enabled_) return RealmDisabled();
  if (!IsValidId(workspace_id)) return absl::InvalidArgumentError("workspace: not a valid id");
  // From the store, not the cache: a workspace deleted and re-created within cache_ttl must
  // not get credentials bound to its predecessor (and the cache learns the new one).
  absl::StatusOr<absl::Time> created = WorkspaceCreateTime(workspace_id, /*fresh=*/true);
  if (!created.ok()) return MapStoreError(created.status(), FormatWorkspaceName(workspace_id));
  const int64_t create_micros = absl::ToUnixMicros(*created);
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  // Whole seconds: the password carries the expiry as a Unix time.
  const int64_t expire_unix = absl::ToUnixSeconds(clock_.Now() + ttl_);
  const absl::Time expiry = absl::FromUnixSeconds(expire_unix);
  WorkspaceSecret minted;
  minted.workspace_id = std::string(workspace_id);
  minted.workspace_create_micros = create_micros;
  minted.expire_unix = expire_unix;
  ASSIGN_OR_RETURN(minted.digest, hasher_.Hash(WorkspaceCredentialMessage(
                                      id, workspace_id, create_micros, expire_unix)));
  std::string secret = FormatWorkspaceSecret(minted);
  Credentials c;
  c.type = RegistryType::kDistribution;
  c.registry_host = registry_host_;
  c.username = Cat(kWorkspaceUserPrefix, id);
  c.secret = SecretString(secret);
  WipeString(secret);
  WipeString(minted.digest.digest);
  c.repository_namespace = std::string(workspace_id);
  c.expire_time = expiry;
  return c;
}

absl::StatusOr<Principal> WorkspaceCredentials::Verify(std::string_view id,
                                                       std::string_view password,
                                                       absl::Time now) const {
  if (!IsTokenId(id)) return InvalidCredentials();
  std::optional<WorkspaceSecret> secret = ParseWorkspaceSecret(password);
  if (!secret.has_value()) return InvalidCredentials();
  const absl::Time expiry = absl::FromUnixSeconds(secret->expire_unix);
  // Verified first (constant time), so a forged expiry tells nothing, and only a genuine
  // credential costs a workspace lookup.
  const bool genuine = hasher_.Verify(
      WorkspaceCredentialMessage(id, secret->workspace_id, secret->workspace_create_micros,
                                 secret->expire_unix),
      secret->digest);
  if (!genuine || expiry <= now || expiry > now + max_ttl_) return InvalidCredentials();
  // Its workspace must still be the one it was minted for.
  absl::StatusOr<absl::Time> created = WorkspaceCreateTime(secret->workspace_id, /*fresh=*/false);
  if (absl::IsNotFound(created.status())) return InvalidCredentials();
  if (!created.ok()) return created.status();
  if (absl::ToUnixMicros(*created) != secret->workspace_create_micros) {
    return InvalidCredentials();
  }
  Principal p;
  p.kind = PrincipalKind::kWorkspaceCredential;
  p.subject = Cat(kWorkspaceUserPrefix, id);
  p.workspace_id = secret->workspace_id;
  p.grants.push_back({Cat(secret->workspace_id, "/*"), {"pull", "push"}});
  return p;
}

}  // namespace registryauth::services
