#include "services/registry_event_log.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/names.h"
#include "services/page_token.h"
#include "services/principal.h"

namespace registryauth::services {
namespace {

constexpr size_t kMaxFilterChars = 1024;

bool IsVisible(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// OCI digest: `<algorithm>:<encoded>`, algorithm lower-case alphanumerics with `+._-`
// separators, encoded hex here (sha256, sha512).
bool IsDigest(std::string_view d) {
  const size_t colon = d.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 >= d.size() || d.size() > 200) {
    return false;
  }
  for (char c : d.substr(0, colon)) {
    if (!IsLowerAlnum(c) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  }
  for (char c : d.substr(colon + 1)) {
    if (!IsHex(c)) return false;
  }
  return true;
}

// Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool IsTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const bool word =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

absl::Status CheckFilter(std::string_view workspace_id, const RegistryEventFilter& f) {
  if (!f.repository.empty()) {
    const std::string prefix = absl::StrCat(ToAbsl(workspace_id), "/");
    if (f.repository.size() > kMaxFilterChars || !IsVisible(f.repository) ||
        f.repository.size() <= prefix.size() ||
        f.repository.compare(0, prefix.size(), prefix) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("repository: must be a repository of workspace ", ToAbsl(workspace_id), " (",
                       ToAbsl(workspace_id), "/...)"));
    }
  }
  if (!f.action.empty() && f.action != "push" && f.action != "pull" && f.action != "mount" &&
      f.action != "delete") {
    return absl::InvalidArgumentError("action: must be one of push, pull, mount, delete");
  }
  if (!f.digest.empty() && !IsDigest(f.digest)) {
    return absl::InvalidArgumentError("digest: must be <algorithm>:<hex>, e.g. sha256:...");
  }
  if (!f.tag.empty() && !IsTag(f.tag)) {
    return absl::InvalidArgumentError("tag: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  }
  if (!f.actor.empty() && (f.actor.size() > kMaxFilterChars || !IsVisible(f.actor))) {
    return absl::InvalidArgumentError(
        "actor: must be a user name of at most 1024 characters without control characters");
  }
  if (f.start_time != absl::InfinitePast() && f.end_time != absl::InfiniteFuture() &&
      f.end_time <= f.start_time) {
    return absl::InvalidArgumentError("end_time: must be after start_time");
  }
  return absl::OkStatus();
}

// Page-token key: `<event_time unix micros>,<event_id>`.
std::string CursorKey(const RegistryEvent& e) {
  return absl::StrCat(absl::ToUnixMicros(e.event_time), ",", e.event_id);
}

std::optional<RegistryEventCursor> ParseCursorKey(std::string_view key) {
  const size_t comma = key.find(',');
  if (comma == std::string_view::npos || comma + 1 >= key.size()) return std::nullopt;
  int64_t micros = 0;
  if (!absl::SimpleAtoi(ToAbsl(key.substr(0, comma)), &micros)) return std::nullopt;
  return RegistryEventCursor{absl::FromUnixMicros(micros), std::string(key.substr(comma + 1))};
}

bool IsCursorKey(std::string_view key) { return ParseCursorKey(key).has_value(); }

std::string FormatBound(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<ListResult<RegistryEvent>> RegistryEventLog::List(
    std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
    std::string_view page_token) const {
  RETURN_IF_ERROR(CheckFilter(workspace_id, filter));
  // Event rows outlive their workspace (no foreign key) and a deleted workspace's id may be
  // taken again, by another tenant: a workspace lists only what was received since it was
  // created. (A deleted workspace's history stays readable by callers allowed without a
  // membership, such as the platform's own.)
  RegistryEventFilter bounded = filter;
  absl::StatusOr<Workspace> workspace = store_.GetWorkspace(workspace_id);
  if (workspace.ok()) {
    bounded.received_since = workspace->create_time;
  } else if (!absl::IsNotFound(workspace.status())) {
    return MapStoreError(workspace.status(), FormatWorkspaceName(workspace_id));
  }
  // The token is bound to the workspace (this one, not a predecessor under the same id) and
  // the filters.
  const std::string collection = absl::StrCat(
      "registryEvents\n", ToAbsl(workspace_id), "\n", FormatBound(bounded.received_since), "\n",
      filter.repository, "\n", filter.tag, "\n", filter.digest, "\n", filter.action, "\n",
      filter.actor, "\n", FormatBound(filter.start_time), "\n", FormatBound(filter.end_time));
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, IsCursorKey));
  std::optional<RegistryEventCursor> cursor;
  if (!after.empty()) cursor = ParseCursorKey(after);
  ASSIGN_OR_RETURN(Page<RegistryEvent> page,
                   store_.ListRegistryEvents(workspace_id, bounded, size, cursor));
  return ToListResult(std::move(page), collection, &CursorKey);
}

std::string PrincipalOfActor(std::string_view actor, std::string_view workspace_id) {
  switch (KindOfUsername(actor)) {
    case PrincipalKind::kServiceAccount: {
      const size_t plus = actor.find('+');
      const std::string_view ws = actor.substr(0, plus);
      const std::string_view id = actor.substr(plus + 1);
      if (!IsValidId(ws) || !IsValidId(id)) return "";
      return FormatServiceAccountName(ws, id);
    }
    case PrincipalKind::kPullToken: {
      const std::string_view id = actor.substr(sizeof(kPullUserPrefix) - 1);
      if (id.empty() || !IsVisible(id) || id.find('/') != std::string_view::npos ||
          !IsValidId(workspace_id)) {
        return "";
      }
      return FormatPullTokenName(workspace_id, id);
    }
    case PrincipalKind::kWorkspaceCredential:
      return IsValidId(workspace_id) ? FormatWorkspaceName(workspace_id) : "";
    case PrincipalKind::kAnonymous:
    case PrincipalKind::kUnknown:
      break;
  }
  return "";
}

}  // namespace registryauth::services
