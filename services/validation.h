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
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/secret.h"
#include "model/model.h"
#include "services/types.h"

namespace registryauth::services {

inline constexpr std::size_t kMaxDisplayNameBytes = 256;
inline constexpr std::size_t kMaxSecretBytes = 4096;
inline constexpr std::size_t kMaxUrlBytes = 2048;
inline constexpr std::size_t kMaxRepositoryNamespaceBytes = 255;
inline constexpr std::size_t kMaxUsernameBytes = 128;
inline constexpr std::size_t kMaxGitHubAppKeyBytes = 16384;
inline constexpr std::size_t kMaxGitHubAppIdBytes = 64;
inline constexpr std::size_t kMaxAppRepositories = 500;
inline constexpr std::size_t kMaxAppPermissions = 50;

// "GHCR", "ACR", "DISTRIBUTION", "GENERIC", "GITHUB_APP", "REGISTRY_TYPE_UNSPECIFIED" (the
// proto enum names).
std::string_view RegistryTypeName(RegistryType type);
// The settings oneof field of a type: "ghcr", "acr", "distribution", "generic", "github_app";
// "" otherwise.
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

// A GitHub App id: its numeric id (1 to 19 digits, no leading zero) or its client id ("Iv"
// then letters, digits and dots, at most 64 bytes in all).
absl::Status ValidateGitHubAppId(std::string_view app_id, std::string_view field);
// Positive.
absl::Status ValidateInstallationId(int64_t installation_id, std::string_view field);
// At most 500 repository names without owner: 1-100 of [A-Za-z0-9._-], not "." or "..", no
// duplicates (GitHub compares names case-insensitively, and so does this check).
absl::Status ValidateAppRepositories(const std::vector<std::string>& repositories,
                                     std::string_view field);
// At most 50 pairs {permission, level}: the permission 1-64 of [a-z0-9_] starting with a
// letter, the level "read", "write" or "admin", each permission once.
absl::Status ValidateAppPermissions(
    const std::vector<std::pair<std::string, std::string>>& permissions, std::string_view field);

// The secret of a configuration of `type`: for GITHUB_APP an unencrypted RSA private key PEM
// (PKCS#1 or PKCS#8, 2048 bits or more, at most 16384 bytes); ValidateSecretFormat for the
// others. The messages never describe the secret's content.
absl::Status ValidateSecret(RegistryType type, const SecretString& secret, std::string_view field);

// Whole-config validation (create, and update on the merged result). Checks `type` is set,
// that `settings_type` matches it, the type's fields, that other types' fields are empty,
// `display_name`, and the secret: required for GHCR, ACR, GENERIC and GITHUB_APP unless
// `secret_already_stored`; when given it must pass ValidateSecret.
absl::Status ValidateRegistryConfigInput(const RegistryConfigInput& input,
                                         bool secret_already_stored);

// Non-secret reminder of a secret: its well-known prefix (ghp_, github_pat_, gho_, ghu_, ghs_,
// ghr_), if any, then "…" and the last four characters when the secret has at least 16;
// just "…" for shorter secrets; "" for an empty one. E.g. "ghp_…a1b2", "…a1b2", "…".
std::string SecretHint(std::string_view secret);
// The hint of the secret of a configuration of `type`: for GITHUB_APP the key's public
// SHA-256 fingerprint as GitHub shows it ("SHA256:…", see crypto::VerifyingKey), "" if it does
// not parse; SecretHint(secret) otherwise.
std::string SecretHint(RegistryType type, const SecretString& secret);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_VALIDATION_H_
