// Small rules the stores share (RegistryStore and TokenStore, in memory and on PostgreSQL).
// Internal to storage/.
#ifndef REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
#define REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "model/model.h"
#include "storage/registry_store.h"

namespace registryauth::storage::internal {

// The resource-id rule: ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (the schema's *_id_format checks).
inline bool IsResourceId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (id.front() < 'a' || id.front() > 'z') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.back() != '-';
}

// Status messages shared by the stores. They name kinds and ids, never other values.
inline absl::Status ConstraintError(std::string_view operation, std::string_view constraint) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(operation), ": value violates constraint ", ToAbsl(constraint)));
}

inline absl::Status VersionMismatch(std::string_view what) {
  return absl::AbortedError(
      absl::StrCat(ToAbsl(what), " was modified concurrently (stale version)"));
}

inline absl::Status WorkspaceNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("workspace \"", ToAbsl(id), "\" not found"));
}

inline absl::Status ChildNotFound(std::string_view kind, std::string_view ws, std::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(ToAbsl(kind), " \"", ToAbsl(ws), "/", ToAbsl(id), "\" not found"));
}

inline absl::Status ChildExists(std::string_view kind, std::string_view ws, std::string_view id) {
  return absl::AlreadyExistsError(
      absl::StrCat(ToAbsl(kind), " \"", ToAbsl(ws), "/", ToAbsl(id), "\" already exists"));
}

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// page_size <= 0 means the default; larger than the maximum is clamped.
inline int EffectivePageSize(int page_size) {
  if (page_size <= 0) return kDefaultPageSize;
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}
inline int EffectivePageSize(const ListOptions& options) {
  return EffectivePageSize(options.page_size);
}

// Characters (UTF-8 code points) as PostgreSQL's char_length counts them.
inline size_t CharLength(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// Cuts `s` to at most `max_chars` characters, on a character boundary.
inline void TruncateToChars(std::string& s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max_chars) {
      s.resize(i);
      return;
    }
    ++chars;
  }
}

// Stores keep microseconds (PostgreSQL's timestamptz resolution): finer parts are truncated
// toward the past. Infinite times are kept as they are.
inline absl::Time TruncateToMicros(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return t;
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

// AppendAuditEvent's rule: free text from outside (detail, peer, request_id) is cut to the
// limits of registry_store.h rather than refused.
inline void TruncateAuditFreeText(AuditEvent& event) {
  TruncateToChars(event.detail, kAuditDetailMaxChars);
  TruncateToChars(event.peer, kAuditFieldMaxChars);
  TruncateToChars(event.request_id, kAuditFieldMaxChars);
}

// The registry_events_* checks of AppendRegistryEvents (both stores): lengths in characters,
// the workspace id rule, a known actor kind; and text PostgreSQL can hold (well-formed UTF-8,
// no NUL), so the memory store refuses what the database would.
inline bool IsPostgresText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') return false;
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

inline absl::Status CheckRegistryEvent(const RegistryEvent& e, std::string_view op) {
  if (e.event_id.empty() || CharLength(e.event_id) > kRegistryEventIdMaxChars ||
      !IsPostgresText(e.event_id)) {
    return ConstraintError(op, "registry_events_event_id_length");
  }
  if (!IsResourceId(e.workspace_id))
    return ConstraintError(op, "registry_events_workspace_id_format");
  const std::pair<const std::string*, const char*> fields[] = {
      {&e.repository, "registry_events_repository_length"},
      {&e.action, "registry_events_action_length"},
      {&e.digest, "registry_events_digest_length"},
      {&e.tag, "registry_events_tag_length"},
      {&e.media_type, "registry_events_media_type_length"},
      {&e.actor, "registry_events_actor_length"},
      {&e.request_addr, "registry_events_request_addr_length"},
      {&e.request_method, "registry_events_request_method_length"},
      {&e.user_agent, "registry_events_user_agent_length"},
  };
  for (const auto& [value, constraint] : fields) {
    if (CharLength(*value) > kRegistryEventFieldMaxChars || !IsPostgresText(*value)) {
      return ConstraintError(op, constraint);
    }
  }
  const int kind = static_cast<int>(e.actor_kind);
  if (kind < 0 || kind > 5) return ConstraintError(op, "registry_events_actor_kind_known");
  return absl::OkStatus();
}

// Prune's batch: limit <= 0 means the maximum, larger is clamped.
inline int EffectivePruneBatch(int limit) {
  return limit <= 0 || limit > kRegistryEventPruneMaxBatch ? kRegistryEventPruneMaxBatch : limit;
}

// ListRegistryEvents' order: newest first, then by event id.
inline bool RegistryEventBefore(absl::Time a_time, std::string_view a_id, absl::Time b_time,
                                std::string_view b_id) {
  if (a_time != b_time) return a_time > b_time;
  return a_id < b_id;
}

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
