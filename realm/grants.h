// What a token may carry: the intersection of the scopes a client asked for and what its
// principal may do. Asking for more is not an error; the token just carries less, and the
// registry refuses the rest later (distribution spec/auth/token.md).
//
//   std::vector<Grant> grants = {{"acme/*", {"pull", "push"}}};
//   std::vector<ResourceScope> granted = Authorize(requested, grants, /*may_list_catalog=*/false);
//
// Repository patterns: a literal repository path, where each '*' matches any run of characters
// (including '/', so `acme/*` covers `acme/team/web`). Validation of patterns (e.g. that they
// stay inside a workspace's namespace) happens where grants are created (ValidateGrantPattern).
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_REALM_GRANTS_H_
#define REGISTRY_AUTH_REALM_GRANTS_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "realm/scope.h"

namespace registryauth::realm {

// The actions a grant may name. "*" means all of them (and whatever "*" means to the registry).
inline constexpr const char* kRepositoryActions[] = {"pull", "push", "delete"};

struct Grant {
  std::string repository_pattern;  // e.g. "acme/web", "acme/*", "acme/api-*"
  std::set<std::string> actions;   // subset of kRepositoryActions, or {"*"}
};

// True if `pattern` matches `path` ('*' = any run of characters, nothing else special).
bool MatchesPattern(std::string_view pattern, std::string_view path);

// A grant pattern a workspace may hold: `<workspace>/` followed by a repository path in which
// '*' may stand for any run of characters; at most 255 bytes; no '*' in the workspace part.
// INVALID_ARGUMENT naming the rule that failed.
absl::Status ValidateGrantPattern(std::string_view workspace_id, std::string_view pattern);
// Actions of a grant: non-empty, each one of kRepositoryActions or "*".
absl::Status ValidateGrantActions(const std::set<std::string>& actions);

// The granted scopes, in the requested order; resources granted nothing are left out.
//   - `repository` scopes without a resource class: the requested actions that some grant
//     whose pattern matches the full repository name allows. The name is matched exactly as
//     the registry will see it: a first component that looks like a host (`localhost/acme/x`,
//     `evil.com/acme/x`) is part of the name (Distribution never strips one), so it falls
//     outside `acme/*`.
//     A requested "*" asks for everything: it yields the granted actions (or "*" when a grant
//     says "*"). A grant "*" allows any requested action.
//   - `registry:catalog:*` only when `may_list_catalog`, as `registry:catalog:*`.
//   - anything else (other types, resource classes): nothing.
std::vector<ResourceScope> Authorize(const std::vector<ResourceScope>& requested,
                                     const std::vector<Grant>& grants, bool may_list_catalog);

}  // namespace registryauth::realm

#endif  // REGISTRY_AUTH_REALM_GRANTS_H_
