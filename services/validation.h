// Field-level validation of registry configurations and display names.
//
// Every error is INVALID_ARGUMENT and starts with the request field path it is about, e.g.
// `registry_config.ghcr.owner: required for type GHCR`. Messages never contain the secret, and
// never quote a URL (it might carry user info); other inputs are quoted at most 64 bytes long.
//
//   RETURN_IF_ERROR(ValidateRegistryConfigInput(input, /*secret_already_stored=*/false));
//   config.secret_hint = SecretHint(input.secret.view());
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_VALIDATION_H_
#define REGISTRY_AUTH_SERVICES_VALIDATION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "model/model.h"
#include "services/types.h"

namespace registryauth::services {

inline constexpr std::size_t kMaxDisplayNameBytes = 256;
inline constexpr std::size_t kMaxSecretBytes = 4096;
inline constexpr std::size_t kMaxUrlBytes = 2048;
inline constexpr std::size_t kMaxRepositoryNamespaceBytes = 255;
inline constexpr std::size_t kMaxUsernameBytes = 128;

// "GHCR", "ACR", "DISTRIBUTION", "GENERIC", "REGISTRY_TYPE_UNSPECIFIED" (the proto enum names).
std::string_view RegistryTypeName(RegistryType type);
// The settings oneof field of a type: "ghcr", "acr", "distribution", "generic"; "" otherwise.
std::string_view SettingsFieldName(RegistryType type);

// At most 256 bytes of valid UTF-8 without control characters (C0, DEL, C1). May be empty.
absl::Status ValidateDisplayName(std::string_view display_name, std::string_view field);

// GitHub login: 1-39 letters/digits and single hyphens, no hyphen at either end.
absl::Status ValidateGhcrOwner(std::string_view owner, std::string_view field);

// Lower-case host name ending in .azurecr.io, .azurecr.cn or .azurecr.us (DNS label rules);
// no scheme, port or path.
absl::Status ValidateAcrLoginServer(std::string_view login_server, std::string_view field);

// 1-128 bytes of printable ASCII (0x21-0x7e) without ':' (it would break Basic auth).
absl::Status ValidateUsername(std::string_view username, std::string_view field);

// `https://host[:port]` with an optional trailing "/": host is a DNS name, an IPv4 literal or a
// bracketed IPv6 literal; port 1-65535; no user info, path, query or fragment; at most 2048
// bytes. `http://` only for loopback hosts (localhost, 127.0.0.0/8, [::1]).
absl::Status ValidateRegistryUrl(std::string_view url, std::string_view field);

// Docker repository path: components [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)* joined by '/',
// at most 255 bytes.
absl::Status ValidateRepositoryNamespace(std::string_view ns, std::string_view field);

// At most 4096 bytes of printable ASCII without spaces (0x21-0x7e). Non-empty.
absl::Status ValidateSecretFormat(std::string_view secret, std::string_view field);

// Whole-config validation (create, and update on the merged result). Checks `type` is set,
// that `settings_type` matches it, the type's fields, that other types' fields are empty,
// `display_name`, and the secret: required for GHCR, ACR and GENERIC unless
// `secret_already_stored`; when given it must pass ValidateSecretFormat.
absl::Status ValidateRegistryConfigInput(const RegistryConfigInput& input,
                                         bool secret_already_stored);

// Non-secret reminder of a secret: its well-known prefix (ghp_, github_pat_, gho_, ghu_, ghs_,
// ghr_), if any, then "…" and the last four characters when the secret has at least 16;
// just "…" for shorter secrets; "" for an empty one. E.g. "ghp_…a1b2", "…a1b2", "…".
std::string SecretHint(std::string_view secret);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_VALIDATION_H_
