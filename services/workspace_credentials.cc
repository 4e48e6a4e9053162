#include "services/workspace_credentials.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "crypto/base64url.h"
#include "model/model.h"
#include "realm/grants.h"
#include "services/error_detail.h"
#include "services/names.h"
#include "services/page_token.h"
#include "services/token_realm_errors.h"
#include "services/token_secrets.h"

namespace registryauth::services {
namespace {

constexpr char kWorkspaceSecretPrefix[] = "rbt_";
// A narrowed password: 4 + 63 (workspace) + 20 + 19 + 534 (base64url of 400 bytes) + 10 + 43
// + 5 dots = 698 characters at most.
constexpr size_t kMaxWorkspaceSecret = 720;
constexpr size_t kMaxNarrowedRepositories = 16;
constexpr size_t kMaxNarrowedRepositoryBytes = 400;  // the canonical list, commas included

// What the keyed hash of a workspace credential covers: its id, workspace, the workspace's
// create time and the expiry, and for a narrowed one (v3) the canonical repository list too.
// The version line separates the two, so a narrowed password with its list cut out does not
// verify as an un-narrowed one. (v1 had no create time; its credentials no longer verify.)
std::string WorkspaceCredentialMessage(std::string_view id, std::string_view workspace_id,
                                       int64_t workspace_create_micros, int64_t expire_unix,
                                       std::string_view repositories) {
  if (repositories.empty()) {
    return Cat("registry-auth workspace credential v2\n", id, "\n", workspace_id, "\n",
               workspace_create_micros, "\n", expire_unix);
  }
  return Cat("registry-auth workspace credential v3\n", id, "\n", workspace_id, "\n",
             workspace_create_micros, "\n", expire_unix, "\n", repositories);
}

// `rbt_<workspace>.<workspace create unix micros>.<expiry unix seconds>.<hash key id>.
// <base64url keyed hash>`, or for a narrowed credential `rbt_<workspace>.<create>.<expiry>.
// <base64url of the canonical repository list>.<hash key id>.<keyed hash>`, parsed strictly;
// nullopt for anything else.
struct WorkspaceSecret {
  std::string workspace_id;
  int64_t workspace_create_micros = 0;
  int64_t expire_unix = 0;
  std::string repositories;  // canonical list (CanonicalRepositories); empty: not narrowed
  crypto::SecretDigest digest;
};

// The password's text; the only text ParseWorkspaceSecret accepts for `s` (numbers without
// leading zeros or "-0", canonical base64url), so one minted credential has one password.
std::string FormatWorkspaceSecret(const WorkspaceSecret& s) {
  const std::string narrowing =
      s.repositories.empty() ? std::string() : Cat(crypto::Base64UrlEncode(s.repositories), ".");
  return Cat(kWorkspaceSecretPrefix, s.workspace_id, ".", s.workspace_create_micros, ".",
             s.expire_unix, ".", narrowing, s.digest.key_id, ".",
             crypto::Base64UrlEncode(s.digest.digest));
}

// The canonical form of a narrowing's repository patterns: validated inside `workspace_id`,
// sorted, duplicates removed, comma-joined (the grammar has no comma). INVALID_ARGUMENT naming
// the field otherwise.
absl::StatusOr<std::string> CanonicalRepositories(std::string_view workspace_id,
                                                  const std::vector<std::string>& patterns) {
  if (patterns.size() > kMaxNarrowedRepositories) {
    return absl::InvalidArgumentError(
        Cat("narrowing.repositories: more than ", kMaxNarrowedRepositories, " patterns"));
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (absl::Status s = realm::ValidateGrantPattern(workspace_id, patterns[i]); !s.ok()) {
      return absl::InvalidArgumentError(
          Cat("narrowing.repositories[", i,
              "]: ", std::string_view(s.message().data(), s.message().size())));
    }
  }
  std::vector<std::string> sorted = patterns;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string joined = absl::StrJoin(sorted, ",");
  if (joined.size() > kMaxNarrowedRepositoryBytes) {
    return absl::InvalidArgumentError(Cat("narrowing.repositories: longer than ",
                                          kMaxNarrowedRepositoryBytes, " bytes together"));
  }
  return joined;
}

// True if `list` is a canonical repository list of `workspace_id` (what CanonicalRepositories
// gives for some patterns).
bool IsCanonicalRepositories(std::string_view workspace_id, std::string_view list) {
  if (list.empty() || list.size() > kMaxNarrowedRepositoryBytes) return false;
  std::vector<std::string> patterns = absl::StrSplit(ToAbsl(list), ',');
  absl::StatusOr<std::string> canonical = CanonicalRepositories(workspace_id, patterns);
  return canonical.ok() && *canonical == list;
}

std::optional<WorkspaceSecret> ParseWorkspaceSecret(std::string_view secret) {
  if (secret.size() > kMaxWorkspaceSecret || !StartsWith(secret, kWorkspaceSecretPrefix)) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(ToAbsl(secret.substr(sizeof(kWorkspaceSecretPrefix) - 1)), '.');
  if (parts.size() != 5 && parts.size() != 6) return std::nullopt;
  WorkspaceSecret out;
  out.workspace_id = std::string(parts[0]);
  if (!IsValidId(out.workspace_id)) return std::nullopt;
  if (parts.size() == 6) {
    absl::StatusOr<std::string> list =
        crypto::Base64UrlDecode(std::string_view(parts[3].data(), parts[3].size()));
    if (!list.ok() || !IsCanonicalRepositories(out.workspace_id, *list)) return std::nullopt;
    out.repositories = *std::move(list);
    parts.erase(parts.begin() + 3);
  }
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
  if (!micros(parts[1]) || !all_digits(parts[2]) || !all_digits(parts[3]) || parts[3].size() > 10) {
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
    std::string_view workspace_id, const CredentialNarrowing& narrowing) {
  if (!enabled_) return RealmDisabled();
  if (!IsValidId(workspace_id)) return absl::InvalidArgumentError("workspace: not a valid id");
  // A narrowing only takes away: patterns inside the workspace, a lifetime no longer than the
  // default.
  ASSIGN_OR_RETURN(std::string repositories,
                   CanonicalRepositories(workspace_id, narrowing.repositories));
  absl::Duration ttl = ttl_;
  if (narrowing.ttl != absl::ZeroDuration()) {
    if (narrowing.ttl < absl::Seconds(1) || narrowing.ttl > ttl_) {
      return absl::InvalidArgumentError(
          Cat("narrowing.ttl: must be between 1s and the default, ", absl::FormatDuration(ttl_)));
    }
    ttl = narrowing.ttl;
  }
  // From the store, not the cache: a workspace deleted and re-created within cache_ttl must
  // not get credentials bound to its predecessor (and the cache learns the new one).
  absl::StatusOr<absl::Time> created = WorkspaceCreateTime(workspace_id, /*fresh=*/true);
  if (!created.ok()) return MapStoreError(created.status(), FormatWorkspaceName(workspace_id));
  const int64_t create_micros = absl::ToUnixMicros(*created);
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  // Whole seconds: the password carries the expiry as a Unix time.
  const int64_t expire_unix = absl::ToUnixSeconds(clock_.Now() + ttl);
  const absl::Time expiry = absl::FromUnixSeconds(expire_unix);
  WorkspaceSecret minted;
  minted.workspace_id = std::string(workspace_id);
  minted.workspace_create_micros = create_micros;
  minted.expire_unix = expire_unix;
  minted.repositories = repositories;
  ASSIGN_OR_RETURN(minted.digest, hasher_.Hash(WorkspaceCredentialMessage(
                                      id, workspace_id, create_micros, expire_unix, repositories)));
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
  if (!narrowing.empty()) {
    c.narrowing = Cat(
        "narrowed:", repositories.empty() ? std::string() : Cat(" repositories=", repositories),
        narrowing.ttl == absl::ZeroDuration() ? std::string()
                                              : Cat(" ttl=", absl::FormatDuration(narrowing.ttl)));
  }
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
                                 secret->expire_unix, secret->repositories),
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
  if (secret->repositories.empty()) {
    p.grants.push_back({Cat(secret->workspace_id, "/*"), {"pull", "push"}});
    return p;
  }
  // Narrowed: the same actions on its patterns only, each inside `<workspace>/` (checked again
  // by the parser), so never more than the un-narrowed grant.
  for (absl::string_view pattern : absl::StrSplit(secret->repositories, ',')) {
    p.grants.push_back({std::string(pattern), {"pull", "push"}});
  }
  return p;
}

}  // namespace registryauth::services
