#include "services/names.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace registryauth::services {
namespace {

constexpr std::string_view kIdRule = "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$";

bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits `name` on '/' and checks it has the shape `lit0/{id}/lit1/{id}...` where the literal
// segments are `literals`. On success fills `ids` with the id segments (unvalidated).
bool MatchPattern(std::string_view name, const std::vector<std::string_view>& literals,
                  std::vector<std::string_view>* ids) {
  // The longest valid name is well under this; refuse before splitting huge input.
  constexpr std::size_t kMaxNameLength = 512;
  if (name.size() > kMaxNameLength) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(name), '/');
  if (parts.size() != literals.size() * 2) return false;
  ids->clear();
  for (std::size_t i = 0; i < literals.size(); ++i) {
    if (ToStd(parts[2 * i]) != literals[i]) return false;
    ids->push_back(ToStd(parts[2 * i + 1]));
  }
  return true;
}

absl::Status NameError(std::string_view field, std::string_view pattern, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(Cat(field, ": required"));
  return absl::InvalidArgumentError(Cat(field, ": must be ", pattern, ", got ", QuoteInput(name)));
}

// Checks every id of a matched name; the message names which segment is wrong.
absl::Status CheckIds(std::string_view field, const std::vector<std::string_view>& ids,
                      const std::vector<std::string_view>& kinds) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!IsValidId(ids[i])) {
      return absl::InvalidArgumentError(
          Cat(field, ": invalid ", kinds[i], " id ", QuoteInput(ids[i]), ", must match ", kIdRule));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string QuoteInput(std::string_view input) {
  bool cut = input.size() > kMaxQuotedInput;
  if (cut) input = input.substr(0, kMaxQuotedInput);
  return Cat("\"", absl::CHexEscape(ToAbsl(input)), cut ? "\"..." : "\"");
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (!IsLowerAlpha(id.front())) return false;
  if (id.back() == '-') return false;
  for (char c : id) {
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

absl::Status ValidateId(std::string_view id, std::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(Cat(field, ": required"));
  if (IsValidId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat(field, ": must match ", kIdRule, ", got ", QuoteInput(id)));
}

absl::StatusOr<std::string> ParseWorkspaceName(std::string_view name, std::string_view field) {
  constexpr std::string_view kPattern = "workspaces/{workspace}";
  std::vector<std::string_view> ids;
  if (!MatchPattern(name, {"workspaces"}, &ids)) return NameError(field, kPattern, name);
  absl::Status s = CheckIds(field, ids, {"workspace"});
  if (!s.ok()) return s;
  return std::string(ids[0]);
}

absl::StatusOr<AppName> ParseAppName(std::string_view name, std::string_view field) {
  constexpr std::string_view kPattern = "workspaces/{workspace}/apps/{app}";
  std::vector<std::string_view> ids;
  if (!MatchPattern(name, {"workspaces", "apps"}, &ids)) return NameError(field, kPattern, name);
  absl::Status s = CheckIds(field, ids, {"workspace", "app"});
  if (!s.ok()) return s;
  return AppName{std::string(ids[0]), std::string(ids[1])};
}

absl::StatusOr<RegistryConfigName> ParseRegistryConfigName(std::string_view name,
                                                           std::string_view field) {
  constexpr std::string_view kPattern = "workspaces/{workspace}/registries/{registry}";
  std::vector<std::string_view> ids;
  if (!MatchPattern(name, {"workspaces", "registries"}, &ids)) {
    return NameError(field, kPattern, name);
  }
  absl::Status s = CheckIds(field, ids, {"workspace", "registry"});
  if (!s.ok()) return s;
  return RegistryConfigName{std::string(ids[0]), std::string(ids[1])};
}

std::string FormatWorkspaceName(std::string_view workspace_id) {
  return Cat("workspaces/", workspace_id);
}

std::string FormatAppName(std::string_view workspace_id, std::string_view app_id) {
  return Cat("workspaces/", workspace_id, "/apps/", app_id);
}

std::string FormatRegistryConfigName(std::string_view workspace_id, std::string_view registry_id) {
  return Cat("workspaces/", workspace_id, "/registries/", registry_id);
}

bool IsValidUserId(std::string_view user_id) {
  if (user_id.empty() || user_id.size() > 256) return false;
  for (char c : user_id) {
    if (c < 0x21 || c > 0x7e || c == '/') return false;
  }
  return true;
}

absl::StatusOr<MemberName> ParseMemberName(std::string_view name, std::string_view field) {
  constexpr std::string_view kPrefix = "workspaces/";
  constexpr std::string_view kMiddle = "/members/";
  const absl::Status bad = absl::InvalidArgumentError(
      Cat(field, ": must be workspaces/{workspace}/members/{member}, got ", QuoteInput(name)));
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t mid = rest.find(kMiddle);
  if (mid == std::string_view::npos) return bad;
  MemberName n{std::string(rest.substr(0, mid)), std::string(rest.substr(mid + kMiddle.size()))};
  if (!IsValidId(n.workspace_id) || !IsValidUserId(n.user_id)) return bad;
  return n;
}

std::string FormatMemberName(std::string_view workspace_id, std::string_view user_id) {
  return Cat("workspaces/", workspace_id, "/members/", user_id);
}

bool IsTokenId(std::string_view id) {
  constexpr std::size_t kTokenIdChars = 22;
  if (id.size() != kTokenIdChars) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || IsLowerAlpha(c) || IsDigit(c) || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<WorkspaceResourceName> ParseTokenName(std::string_view name,
                                                     std::string_view collection,
                                                     std::string_view field) {
  const absl::Status bad = absl::InvalidArgumentError(Cat(
      field, ": must be workspaces/{workspace}/", collection, "/{token}, got ", QuoteInput(name)));
  constexpr std::string_view kPrefix = "workspaces/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad;
  std::string ws(rest.substr(0, slash));
  rest = rest.substr(slash + 1);
  if (rest.substr(0, collection.size()) != collection) return bad;
  rest = rest.substr(collection.size());
  if (rest.empty() || rest[0] != '/') return bad;
  std::string id(rest.substr(1));
  if (!IsValidId(ws) || !IsTokenId(id)) return bad;
  return WorkspaceResourceName{std::move(ws), std::move(id)};
}

absl::StatusOr<WorkspaceResourceName> ParseServiceAccountName(std::string_view name,
                                                              std::string_view field) {
  const absl::Status bad = absl::InvalidArgumentError(
      Cat(field, ": must be workspaces/{workspace}/serviceAccounts/{service_account}, got ",
          QuoteInput(name)));
  constexpr std::string_view kPrefix = "workspaces/";
  constexpr std::string_view kMiddle = "/serviceAccounts/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t mid = rest.find(kMiddle);
  if (mid == std::string_view::npos) return bad;
  std::string ws(rest.substr(0, mid));
  std::string id(rest.substr(mid + kMiddle.size()));
  if (!IsValidId(ws) || !IsValidId(id)) return bad;
  return WorkspaceResourceName{std::move(ws), std::move(id)};
}

absl::Status AnnotateStoreError(absl::Status status, std::string_view resource_name) {
  if (absl::IsNotFound(status)) return absl::NotFoundError(Cat(resource_name, ": not found"));
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(Cat(resource_name, ": already exists"));
  }
  return status;
}

std::string FormatServiceAccountName(std::string_view workspace_id, std::string_view id) {
  return Cat("workspaces/", workspace_id, "/serviceAccounts/", id);
}

std::string FormatPullTokenName(std::string_view workspace_id, std::string_view id) {
  return Cat("workspaces/", workspace_id, "/pullTokens/", id);
}

std::string FormatRefreshTokenName(std::string_view workspace_id, std::string_view id) {
  return Cat("workspaces/", workspace_id, "/refreshTokens/", id);
}

std::string ServiceAccountUsername(std::string_view workspace_id, std::string_view id) {
  return Cat(workspace_id, "+", id);
}

}  // namespace registryauth::services
