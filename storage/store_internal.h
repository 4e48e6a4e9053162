// Small rules both RegistryStore implementations share. Internal to storage/.
#ifndef REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
#define REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_

#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "model/model.h"

namespace registryauth::storage::internal {

// Debian's Abseil has its own absl::string_view (not std::string_view): bridge for StrCat.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// page_size <= 0 means the default; larger than the maximum is clamped.
inline int EffectivePageSize(const ListOptions& options) {
  if (options.page_size <= 0) return kDefaultPageSize;
  return options.page_size > kMaxPageSize ? kMaxPageSize : options.page_size;
}

// Stores keep microseconds (PostgreSQL's timestamptz resolution): finer parts are truncated
// toward the past. Infinite times are kept as they are.
inline absl::Time TruncateToMicros(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return t;
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_STORE_INTERNAL_H_
