// The project's one bridge between std::string_view (its interfaces) and absl::string_view
// (Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so the two are distinct
// types and absl's string functions do not accept std::string_view), and the few string tests
// the code needs on std::string_view.
//
//   std::string msg = Cat(field, ": must be ", pattern);   // std::string_view arguments too
//   if (StartsWith(url, "https://")) ...
//   absl::StrSplit(ToAbsl(text), '.')
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_COMMON_STRINGS_H_
#define REGISTRY_AUTH_COMMON_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace registryauth {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace strings_internal {
template <typename T>
const T& AlphaArg(const T& v) {
  return v;
}
inline absl::string_view AlphaArg(std::string_view v) { return ToAbsl(v); }
}  // namespace strings_internal

// absl::StrCat that also takes std::string_view arguments.
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(strings_internal::AlphaArg(args)...);
}

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_STRINGS_H_
