// Who is calling, and what they may do: the permission vocabulary of registry-auth.
//
// A Principal is an authenticated caller as the caller policy (auth/policy.h) describes it.
// services/ decides with it; api/ produces it from the transport (client certificate, API
// key). Neither part of this header knows about gRPC.
//
//   if (!principal.Has(Permission::kCredentialsRead)) return absl::PermissionDeniedError(...);
//   if (!principal.MayUseWorkspace("beta")) return absl::PermissionDeniedError(...);
//
// Value types; thread-compatible.
#ifndef REGISTRY_AUTH_AUTH_PRINCIPAL_H_
#define REGISTRY_AUTH_AUTH_PRINCIPAL_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace registryauth::auth {

enum class Permission {
  kCredentialsRead,   // "credentials.read": GetCredentials (the build worker)
  kTokensMint,        // "tokens.mint": MintPullToken (the deploy orchestrator)
  kRegistriesRead,    // "registries.read": Get/List of workspaces, apps, registries, members
  kRegistriesManage,  // "registries.manage": everything registries.read allows, plus changes,
                      // TestConnection and ListAuditEvents (the web front end)
  kActAsUser,         // "act_as_user": may name an end user in `x-registryauth-user` metadata
};

// "credentials.read", ... as in the policy file.
std::string_view PermissionName(Permission permission);
std::optional<Permission> ParsePermission(std::string_view name);

// How the caller proved its identity.
enum class AuthMethod {
  kMtls,                // client certificate verified against the client CA
  kApiKey,              // an API key from the policy, sent as metadata
  kDevUnauthenticated,  // nobody: the explicit local-development mode
};

struct Principal {
  // The policy's name for the caller, e.g. "build-worker".
  std::string name;
  // What identified it: "spiffe://example.org/build-worker", "cn:deployer", "apikey:frontend",
  // or "dev:unauthenticated". Audit rows and logs record this.
  std::string identity;
  AuthMethod method = AuthMethod::kApiKey;
  std::set<Permission> permissions;
  // The workspaces the caller may touch, from the policy's `workspaces` lines: nullopt for
  // every workspace (`*`, the default), else exactly these workspace ids. Every permission is
  // confined to them (services/authorizer.h enforces it).
  std::optional<std::set<std::string, std::less<>>> workspaces;

  bool Has(Permission p) const { return permissions.count(p) > 0; }
  // True when the caller is not confined, or `workspace_id` is one of its workspaces.
  bool MayUseWorkspace(std::string_view workspace_id) const {
    return !workspaces.has_value() || workspaces->count(workspace_id) > 0;
  }
};

}  // namespace registryauth::auth

#endif  // REGISTRY_AUTH_AUTH_PRINCIPAL_H_
