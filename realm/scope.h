// Docker registry token scopes (distribution spec/auth/scope.md): what a client asks the token
// realm for, e.g. `scope=repository:acme/web:pull,push`.
//
//   resourcescope := resourcetype [ "(" resourceclass ")" ] ":" resourcename ":" action [ ","
//   action ]*
//
// The resource type ends at the first ':' and the actions start after the last ':', so a
// resource name may itself contain ':' (`repository:localhost:5000/acme/web:pull`, a name with
// a registry host and port). One `scope` parameter may hold several resource scopes separated
// by spaces (the OAuth2 POST form always does), and clients repeat `scope` parameters.
//
// Parsing is strict about shape and size and lenient about order: actions are de-duplicated
// and sorted; empty actions (`pull,`) are dropped; scopes naming the same resource are merged.
// Whether the caller may have what it asks for is decided elsewhere (realm/grants.h); asking
// for more than allowed is not a parse error.
//
//   absl::StatusOr<std::vector<ResourceScope>> scopes = ParseScopes(request.scope_params);
//   // [{type: "repository", name: "acme/web", actions: {"pull", "push"}}]
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_REALM_SCOPE_H_
#define REGISTRY_AUTH_REALM_SCOPE_H_

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::realm {

// Limits that keep one request's work bounded.
inline constexpr std::size_t kMaxScopeParamBytes = 4096;  // one `scope` value
inline constexpr std::size_t kMaxResourceScopes = 32;     // per request, after merging
inline constexpr std::size_t kMaxActions = 8;             // per resource scope
inline constexpr std::size_t kMaxActionBytes = 32;
inline constexpr std::size_t kMaxResourceNameBytes = 255;  // Distribution's repository limit

struct ResourceScope {
  std::string type;               // "repository", "registry", ... ([a-z0-9]+)
  std::string resource_class;     // "" or e.g. "plugin" from `repository(plugin)`
  std::string name;               // "acme/web", "localhost:5000/acme/web", "catalog"
  std::set<std::string> actions;  // "pull", "push", "delete", "*", ...

  friend bool operator==(const ResourceScope& a, const ResourceScope& b) {
    return a.type == b.type && a.resource_class == b.resource_class && a.name == b.name &&
           a.actions == b.actions;
  }
};

// One resource scope. INVALID_ARGUMENT (the message quotes no more than the type) when:
// fewer than two ':'; a type or class outside [a-z0-9]+; an empty or over-long name; a name
// with characters outside the spec's grammar for repositories (lower-case components separated
// by '/', with '.', '_', '__' or '-' inside, and an optional host[:port] first component); an
// action outside [a-z*]+ or longer than kMaxActionBytes; no action; more than kMaxActions.
absl::StatusOr<ResourceScope> ParseResourceScope(std::string_view text);

// All `scope` parameters of one request, each split on spaces. Duplicates of one
// (type, class, name) are merged (their actions united). INVALID_ARGUMENT if any part fails,
// a parameter is over kMaxScopeParamBytes, or more than kMaxResourceScopes remain.
absl::StatusOr<std::vector<ResourceScope>> ParseScopes(const std::vector<std::string>& params);

// `type[(class)]:name:a,b` with the actions in sorted order.
std::string FormatScope(const ResourceScope& scope);
// Several scopes joined by a space (the OAuth2 `scope` response field).
std::string FormatScopes(const std::vector<ResourceScope>& scopes);

// A repository name split into its optional registry host (`localhost:5000`, `ghcr.io`) and
// its path (`acme/web`). The first component is a host when it contains '.' or ':' or is
// `localhost` (the rule Docker's reference package uses).
struct RepositoryName {
  std::string host;
  std::string path;
};
RepositoryName SplitRepositoryName(std::string_view name);

// True for a repository path per the spec's grammar (no host part): components of
// [a-z0-9]+ joined by '.', '_', '__' or any run of '-', separated by single '/'.
bool IsValidRepositoryPath(std::string_view path);

}  // namespace registryauth::realm

#endif  // REGISTRY_AUTH_REALM_SCOPE_H_
