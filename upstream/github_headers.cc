#include "upstream/github_headers.h"

#include <algorithm>
#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace registryauth::upstream {
namespace {

// Header values are short; anything longer is not one of ours.
constexpr std::size_t kMaxValue = 256;

// A non-negative decimal integer of at most 18 digits (no sign, no spaces inside), after
// trimming surrounding whitespace.
std::optional<int64_t> ParseCount(std::string_view value) {
  const absl::string_view v = absl::StripAsciiWhitespace(ToAbsl(value));
  if (v.empty() || v.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::optional<absl::Time> ParseWithFormat(const char* format, absl::string_view value) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(format, value, &t, &error)) return std::nullopt;
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  return t;
}

}  // namespace

std::optional<absl::Time> ParseTokenExpiration(std::string_view value) {
  if (value.size() > kMaxValue) return std::nullopt;
  const absl::string_view v = absl::StripAsciiWhitespace(ToAbsl(value));
  for (absl::string_view zone : {" UTC", " GMT"}) {
    if (absl::EndsWith(v, zone)) {
      const absl::string_view local = v.substr(0, v.size() - zone.size());
      return ParseWithFormat("%Y-%m-%d %H:%M:%S", local);
    }
  }
  // "%z" takes "+hhmm" (and "+hh"), "%Ez" "+hh:mm".
  if (std::optional<absl::Time> t = ParseWithFormat("%Y-%m-%d %H:%M:%S %z", v)) return t;
  if (std::optional<absl::Time> t = ParseWithFormat("%Y-%m-%d %H:%M:%S %Ez", v)) return t;
  return ParseIso8601Time(value);
}

std::vector<std::string> ParseOAuthScopes(std::string_view value) {
  std::vector<std::string> scopes;
  for (absl::string_view item : absl::StrSplit(ToAbsl(value), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    if (std::find(scopes.begin(), scopes.end(), item) != scopes.end()) continue;
    scopes.emplace_back(item);
  }
  return scopes;
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now) {
  if (value.size() > kMaxValue) return std::nullopt;
  if (std::optional<int64_t> seconds = ParseCount(value)) return absl::Seconds(*seconds);
  if (std::optional<absl::Time> date = ParseHttpDate(value)) {
    return std::max(absl::ZeroDuration(), *date - now);
  }
  return std::nullopt;
}

std::optional<absl::Time> ParseRateLimitReset(std::string_view value) {
  std::optional<int64_t> seconds = ParseCount(value);
  // Beyond year 9999 is not a reset time.
  if (!seconds.has_value() || *seconds > 253402300799) return std::nullopt;
  return absl::FromUnixSeconds(*seconds);
}

std::optional<int64_t> ParseRateLimitRemaining(std::string_view value) { return ParseCount(value); }

std::optional<absl::Time> ParseIso8601Time(std::string_view value) {
  if (value.size() > kMaxValue) return std::nullopt;
  const absl::string_view v = absl::StripAsciiWhitespace(ToAbsl(value));
  // RFC3339_full: "%Y-%m-%d%ET%H:%M:%E*S%Ez" (Z or a numeric offset; 'T' or 't').
  return ParseWithFormat(absl::RFC3339_full, v);
}

std::string GitHubErrorMessage(std::string_view body) {
  if (body.size() > 64 * 1024) return "";
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return "";
  auto it = json.find("message");
  if (it == json.end() || !it->is_string()) return "";
  std::string out;
  for (char c : it->get_ref<const std::string&>()) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

std::optional<absl::Time> ParseHttpDate(std::string_view value) {
  if (value.size() > kMaxValue) return std::nullopt;
  const absl::string_view v = absl::StripAsciiWhitespace(ToAbsl(value));
  if (!absl::EndsWith(v, " GMT")) return std::nullopt;
  return ParseWithFormat("%a, %d %b %Y %H:%M:%S", v.substr(0, v.size() - 4));
}

}  // namespace registryauth::upstream
