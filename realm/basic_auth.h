// The `Authorization: Basic ...` header (RFC 7617) that docker, skopeo and podman send to the
// token realm. Untrusted input: parsed strictly, bounded, and the password is returned in a
// zeroizing SecretString.
//
//   absl::StatusOr<BasicCredentials> c = ParseBasicAuthorization(header_value);
//   if (!c.ok()) -> 401 with a WWW-Authenticate challenge
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_REALM_BASIC_AUTH_H_
#define REGISTRY_AUTH_REALM_BASIC_AUTH_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth::realm {

inline constexpr std::size_t kMaxAuthorizationBytes = 4096;
inline constexpr std::size_t kMaxUsernameBytes = 256;

struct BasicCredentials {
  std::string username;
  SecretString password;
};

// Parses `Basic <base64(user:password)>`: the scheme case-insensitively, one or more spaces,
// then standard base64 with correct padding (no whitespace inside, no URL-safe alphabet). The
// decoded text splits at its first ':'; the user id is 1..kMaxUsernameBytes bytes without
// control characters (RFC 7617 forbids ':' in it; a password may contain ':'), the password
// 1..kMaxAuthorizationBytes bytes. INVALID_ARGUMENT for anything else, including a header over
// kMaxAuthorizationBytes; UNAUTHENTICATED is the caller's decision. Messages never contain the
// header or the password.
absl::StatusOr<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// `Basic base64(user:password)`, for clients and tests.
std::string FormatBasicAuthorization(std::string_view username, std::string_view password);

}  // namespace registryauth::realm

#endif  // REGISTRY_AUTH_REALM_BASIC_AUTH_H_
