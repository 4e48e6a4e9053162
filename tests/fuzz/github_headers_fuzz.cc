// Fuzz target for the parsers of GitHub API response headers and error bodies
// (upstream/github_headers.h): X-OAuth-Scopes, github-authentication-token-expiration,
// Retry-After, x-ratelimit-reset / -remaining, ISO 8601 `expires_at`, HTTP dates and the
// "message" of JSON error bodies. Every input goes to every parser.
//
// Besides "never crash", it aborts when an invariant breaks:
//   - scopes are non-empty, trimmed, without ',' and without duplicates;
//   - a Retry-After wait is never negative, a remaining count never negative;
//   - parsed times are finite (never absl::InfinitePast/Future);
//   - an HTTP date formats back as an IMF-fixdate that parses to the same time, and an
//     ISO 8601 time formatted as RFC 3339 parses back to the same time;
//   - an error message is printable ASCII of bounded length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "upstream/github_headers.h"

namespace {

namespace up = ::registryauth::upstream;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Finite(absl::Time t) { return t != absl::InfinitePast() && t != absl::InfiniteFuture(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1795459793);

  const std::vector<std::string> scopes = up::ParseOAuthScopes(text);
  std::set<std::string> seen;
  for (const std::string& s : scopes) {
    Check(!s.empty());
    Check(s.front() != ' ' && s.back() != ' ' && s.front() != '\t' && s.back() != '\t');
    Check(s.find(',') == std::string::npos);
    Check(seen.insert(s).second);
  }

  if (std::optional<absl::Duration> wait = up::ParseRetryAfter(text, now)) {
    Check(*wait >= absl::ZeroDuration() && *wait != absl::InfiniteDuration());
  }
  if (std::optional<int64_t> remaining = up::ParseRateLimitRemaining(text)) {
    Check(*remaining >= 0);
  }
  for (std::optional<absl::Time> t :
       {up::ParseTokenExpiration(text), up::ParseRateLimitReset(text)}) {
    if (t.has_value()) Check(Finite(*t));
  }
  if (std::optional<absl::Time> t = up::ParseHttpDate(text)) {
    Check(Finite(*t));
    const std::string again =
        absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", *t, absl::UTCTimeZone());
    std::optional<absl::Time> back = up::ParseHttpDate(again);
    Check(back.has_value() && *back == absl::FromUnixSeconds(absl::ToUnixSeconds(*t)));
  }
  if (std::optional<absl::Time> t = up::ParseIso8601Time(text)) {
    Check(Finite(*t));
    const std::string again = absl::FormatTime(absl::RFC3339_full, *t, absl::UTCTimeZone());
    std::optional<absl::Time> back = up::ParseIso8601Time(again);
    Check(back.has_value() && *back == *t);
  }

  const std::string message = up::GitHubErrorMessage(text);
  Check(message.size() <= 256);
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    Check(u >= 0x20 && u < 0x7f);
  }
  return 0;
}
