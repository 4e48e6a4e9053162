// Strict parser for the HTTP `WWW-Authenticate` response header (RFC 7235 section 4.1, with the
// RFC 9110 section 11 grammar): one or more challenges, each an auth-scheme followed by either a
// token68 or a comma-separated list of auth-params whose values are tokens or quoted strings
// (with `\` escapes). A registry answers `GET /v2/` with, e.g.
//
//   WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="registry.example.com"
//
//   ASSIGN_OR_RETURN(std::vector<AuthChallenge> challenges, ParseWwwAuthenticate(header));
//   const AuthChallenge* bearer = FindChallenge(challenges, "bearer");
//   if (bearer != nullptr) realm = bearer->Param("realm").value_or("");
//
// The header comes from a remote server, so it is untrusted: sizes are bounded (kMax*), every
// byte is checked against the grammar, and errors are INVALID_ARGUMENT with a fixed message and
// a byte offset, never quoting the input. Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_UPSTREAM_WWW_AUTHENTICATE_H_
#define REGISTRY_AUTH_UPSTREAM_WWW_AUTHENTICATE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::upstream {

// Limits on untrusted input.
inline constexpr std::size_t kMaxWwwAuthenticateBytes = 8 * 1024;
inline constexpr std::size_t kMaxChallenges = 16;
inline constexpr std::size_t kMaxAuthParams = 32;

struct AuthChallenge {
  // The auth-scheme in lower case ("bearer", "basic"); schemes are case-insensitive.
  std::string scheme;
  // auth-params in the order sent; names in lower case (they are case-insensitive), values
  // unquoted and unescaped. A name occurs at most once (a repeat is a parse error).
  std::vector<std::pair<std::string, std::string>> params;
  // The token68 form (e.g. `Negotiate abc==`); set only when `params` is empty.
  std::optional<std::string> token68;

  // The value of the auth-param `name` (matched case-insensitively), if present.
  std::optional<std::string> Param(std::string_view name) const;

  bool operator==(const AuthChallenge& o) const {
    return scheme == o.scheme && params == o.params && token68 == o.token68;
  }
};

// Parses one header field value. Empty list elements (`, ,`) are allowed as RFC 9110 section
// 5.6.1 says; a value with no challenge at all is an error.
absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view header);

// Parses every `WWW-Authenticate` field of a response (a server may send several) and returns
// their challenges in order. The same limits apply to the total.
absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticateFields(
    const std::vector<std::string>& fields);

// The first challenge whose scheme is `scheme` (case-insensitive), or nullptr.
const AuthChallenge* FindChallenge(const std::vector<AuthChallenge>& challenges,
                                   std::string_view scheme);

// Formats challenges back into a header value (auth-param values always quoted, `"` and `\`
// escaped), so that ParseWwwAuthenticate(FormatWwwAuthenticate(c)) == c.
std::string FormatWwwAuthenticate(const std::vector<AuthChallenge>& challenges);

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_WWW_AUTHENTICATE_H_
