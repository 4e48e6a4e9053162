// Parsers for the response headers the GitHub API client and the retry helper read. All take
// untrusted header values and answer std::nullopt (or an empty list) for anything malformed;
// none throws or logs. Pure functions; thread-safe.
//
//   std::optional<absl::Time> expires =
//       ParseTokenExpiration(resp.Header("github-authentication-token-expiration").value_or(""));
//   std::vector<std::string> scopes = ParseOAuthScopes(*resp.Header("x-oauth-scopes"));
//   std::optional<absl::Duration> wait = ParseRetryAfter(*resp.Header("retry-after"), now);
#ifndef REGISTRY_AUTH_UPSTREAM_GITHUB_HEADERS_H_
#define REGISTRY_AUTH_UPSTREAM_GITHUB_HEADERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace registryauth::upstream {

// `github-authentication-token-expiration`: "2026-12-01 10:00:00 UTC" (what github.com sends),
// the same with a numeric offset ("+0000", "-0700", "+02:00"), or RFC 3339
// ("2026-12-01T10:00:00Z").
std::optional<absl::Time> ParseTokenExpiration(std::string_view value);

// `X-OAuth-Scopes`: "repo, read:packages, write:packages" -> the scopes in order, trimmed,
// empty items dropped, duplicates kept out. An empty value (a classic token without scopes)
// gives an empty list.
std::vector<std::string> ParseOAuthScopes(std::string_view value);

// `Retry-After` (RFC 9110 §10.2.3): delay-seconds ("120") or an HTTP-date, as the time to wait
// from `now` (never negative: a date in the past is zero).
std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now);

// `x-ratelimit-reset`: the time the primary rate-limit window resets, in UTC epoch seconds.
std::optional<absl::Time> ParseRateLimitReset(std::string_view value);

// `x-ratelimit-remaining`: requests left in the window (a non-negative integer).
std::optional<int64_t> ParseRateLimitRemaining(std::string_view value);

// RFC 3339 / ISO 8601 date-time with a zone ("2016-07-11T22:14:10Z", fractional seconds and
// numeric offsets accepted), as GitHub's `expires_at` fields.
std::optional<absl::Time> ParseIso8601Time(std::string_view value);

// The "message" of a GitHub JSON error body ({"message": "Bad credentials", ...}), cut to
// printable ASCII and at most about 200 characters; "" if there is none. Safe to show unless it
// contains a secret the caller sent (callers check).
std::string GitHubErrorMessage(std::string_view body);

// An IMF-fixdate (`Date` header): "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<absl::Time> ParseHttpDate(std::string_view value);

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_GITHUB_HEADERS_H_
