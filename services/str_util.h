// Bridges std::string_view (the project's interfaces) and absl::string_view (Debian's Abseil
// is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so the two are distinct types and absl's
// string functions do not accept std::string_view).
//
//   std::string msg = internal::Cat(field, ": must be ", pattern);   // std::string_view args ok
//   if (absl::StartsWith(internal::ToAbsl(url), "https://")) ...
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_STR_UTIL_H_
#define REGISTRY_AUTH_SERVICES_STR_UTIL_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace registryauth::services::internal {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

template <typename T>
const T& AlphaArg(const T& v) {
  return v;
}
inline absl::string_view AlphaArg(std::string_view v) { return ToAbsl(v); }

// absl::StrCat that also takes std::string_view arguments.
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(AlphaArg(args)...);
}

}  // namespace registryauth::services::internal

#endif  // REGISTRY_AUTH_SERVICES_STR_UTIL_H_
