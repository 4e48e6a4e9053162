// Who may do what: the authorization rules of registry-auth, in one place.
//
// Three layers, all must allow:
// 1. The caller's permission from the caller policy (services never see how it authenticated).
//    Reads need registries.read or registries.manage; changes, TestConnection and the audit
//    trail need registries.manage; GetCredentials needs credentials.read; MintPullToken needs
//    tokens.mint.
// 1b. The caller's workspaces (the policy's `workspaces` line, auth::Principal::workspaces): a
//    confined caller gets PERMISSION_DENIED for every operation outside them, checked before
//    any membership is read (so the answer does not tell whether the workspace exists). This
//    includes kCreateWorkspace (a confined caller may create a workspace whose id is in its
//    list, and no other) and kReadAudit (the audit filter must name a resource inside one of
//    its workspaces: RegistryAuth passes that workspace). kListWorkspaces is allowed: it names
//    no workspace, and RegistryAuth::ListWorkspaces lists only the caller's workspaces.
// 2. When the caller acts for an end user (`on_behalf_of`), the caller also needs act_as_user,
//    and the user's membership of the workspace decides: reads need an ACTIVE member; changes
//    need an ACTIVE OWNER or ADMIN; owner-level changes (granting or revoking OWNER, deleting
//    the workspace) need an ACTIVE OWNER. Credentials and the audit trail are never served on
//    behalf of a user.
// Denials are PERMISSION_DENIED with an ErrorDetail (category PERMISSION) and a message that
// names the missing permission or role, never a secret.
//
//   Authorizer authz(store);
//   RETURN_IF_ERROR(authz.Check(ctx, Operation::kManage, workspace_id));
//
// Thread-safe if the store is.
#ifndef REGISTRY_AUTH_SERVICES_AUTHORIZER_H_
#define REGISTRY_AUTH_SERVICES_AUTHORIZER_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "model/model.h"
#include "services/request_context.h"
#include "storage/registry_store.h"

namespace registryauth::services {

enum class Operation {
  kRead,             // Get/List inside a workspace
  kManage,           // create/update/delete of apps, registries, members (non-owner), workspace
  kManageOwners,     // grant/revoke OWNER, delete the workspace
  kTestConnection,   // like kManage
  kGetCredentials,   // credentials.read, never on behalf of a user
  kMintToken,        // tokens.mint
  kRevokeToken,      // tokens.mint or registries.manage (on behalf of a user: OWNER or ADMIN)
  kListTokens,       // tokens.mint or registries.read (on behalf of a user: any ACTIVE member)
  kReadAudit,        // registries.manage, never on behalf of a user
  kCreateWorkspace,  // registries.manage (on behalf of a user: the user becomes OWNER)
  kListWorkspaces,   // registries.read (on behalf of a user: only the user's workspaces)
};

// The second layer alone: whether the acting user's membership (`member`, nullopt for none)
// allows `op` in `workspace_id`; OK or PERMISSION_DENIED, as Check answers. For checks repeated
// inside a transaction (MemberService, with the membership read under the workspace lock).
absl::Status CheckMemberRole(const std::optional<Member>& member, Operation op,
                             std::string_view workspace_id);

class Authorizer {
 public:
  explicit Authorizer(storage::RegistryStore& store);

  // OK or PERMISSION_DENIED (UNAVAILABLE if the membership cannot be read). `workspace_id` is
  // ignored for the operations that are not inside one workspace, except by the confinement
  // of a confined caller (layer 1b), for which "" is no workspace of its.
  absl::Status Check(const RequestContext& ctx, Operation op, std::string_view workspace_id) const;

 private:
  storage::RegistryStore& store_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_AUTHORIZER_H_
