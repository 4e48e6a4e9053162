// AIP resource names of the v1 API: parsing, formatting and the id rule.
//
// Names are `workspaces/{workspace}`, `workspaces/{workspace}/apps/{app}`,
// `workspaces/{workspace}/registries/{registry}` and
// `workspaces/{workspace}/serviceAccounts/{service_account}`; every id matches
// `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`. Pull and refresh tokens are
// `workspaces/{workspace}/pullTokens/{token}` and `.../refreshTokens/{token}`, where a token id
// is 22 base64url characters (IsTokenId). Parse errors are INVALID_ARGUMENT and start with the
// field name the caller passes in (e.g. `name: must be workspaces/{workspace}`); they quote at
// most kMaxQuotedInput bytes of the input, escaped, so a huge or binary name cannot bloat or
// corrupt an error message.
//
//   ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(request_name, "name"));
//   std::string again = FormatRegistryConfigName(n.workspace_id, n.registry_id);
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_NAMES_H_
#define REGISTRY_AUTH_SERVICES_NAMES_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace registryauth::services {

// Longest piece of caller input quoted in an error message.
inline constexpr std::size_t kMaxQuotedInput = 64;

// `"input"` with C escapes, cut to kMaxQuotedInput bytes of input (then followed by `...`).
// For non-secret caller input only.
std::string QuoteInput(std::string_view input);

// True iff `id` matches ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$.
bool IsValidId(std::string_view id);

// OK, or INVALID_ARGUMENT `<field>: must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, got "..."`
// (`<field>: required` when empty).
absl::Status ValidateId(std::string_view id, std::string_view field);

struct AppName {
  std::string workspace_id;
  std::string app_id;
};

struct RegistryConfigName {
  std::string workspace_id;
  std::string registry_id;
};

// `workspaces/{w}` -> w.
absl::StatusOr<std::string> ParseWorkspaceName(std::string_view name, std::string_view field);
// `workspaces/{w}/apps/{a}` -> {w, a}.
absl::StatusOr<AppName> ParseAppName(std::string_view name, std::string_view field);
// `workspaces/{w}/registries/{r}` -> {w, r}.
absl::StatusOr<RegistryConfigName> ParseRegistryConfigName(std::string_view name,
                                                           std::string_view field);

// True when `user_id` is a well-formed end-user id (1..256 printable ASCII, no space, no '/'):
// the last segment of `workspaces/{w}/members/{user}` and the `x-registryauth-user` header.
bool IsValidUserId(std::string_view user_id);

struct MemberName {
  std::string workspace_id;
  std::string user_id;
};

// `workspaces/{w}/members/{user}` -> {w, user}.
absl::StatusOr<MemberName> ParseMemberName(std::string_view name, std::string_view field);

// A workspace and the id of a resource inside it (service account, pull or refresh token).
struct WorkspaceResourceName {
  std::string workspace_id;
  std::string id;
};

// True iff `id` is 22 base64url characters (128 random bits), the id of a pull or refresh token.
bool IsTokenId(std::string_view id);

// `workspaces/{w}/serviceAccounts/{id}` -> {w, id}.
absl::StatusOr<WorkspaceResourceName> ParseServiceAccountName(std::string_view name,
                                                              std::string_view field);
// `workspaces/{w}/<collection>/{token id}` -> {w, token id}; `collection` is `pullTokens` or
// `refreshTokens`.
absl::StatusOr<WorkspaceResourceName> ParseTokenName(std::string_view name,
                                                     std::string_view collection,
                                                     std::string_view field);

// Store errors about one named resource in the API's words: NOT_FOUND `<name>: not found`,
// ALREADY_EXISTS `<name>: already exists`; other codes pass through (store messages are
// secret-free by contract).
absl::Status AnnotateStoreError(absl::Status status, std::string_view resource_name);

// Formatters; the ids are not checked (pass ids that came from a parser or the store).
std::string FormatWorkspaceName(std::string_view workspace_id);
std::string FormatAppName(std::string_view workspace_id, std::string_view app_id);
std::string FormatRegistryConfigName(std::string_view workspace_id, std::string_view registry_id);
std::string FormatMemberName(std::string_view workspace_id, std::string_view user_id);
std::string FormatServiceAccountName(std::string_view workspace_id, std::string_view id);
std::string FormatPullTokenName(std::string_view workspace_id, std::string_view id);
std::string FormatRefreshTokenName(std::string_view workspace_id, std::string_view id);
// `<workspace>+<id>`, the user name a service account presents at /token.
std::string ServiceAccountUsername(std::string_view workspace_id, std::string_view id);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_NAMES_H_
