// Small rules both RegistryStore implementations share. Internal to storage/.
#ifndef REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
#define REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "storage/registry_store.h"

namespace registryauth::storage::internal {

// Debian's Abseil has its own absl::string_view (not std::string_view): bridge for StrCat.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

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

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
