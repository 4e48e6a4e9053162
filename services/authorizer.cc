#include "services/authorizer.h"

#include "common/strings.h"
#include "services/error_detail.h"

namespace registryauth::services {
namespace {

using auth::Permission;

absl::Status Denied(std::string message, const char* reason = kReasonPermissionDenied) {
  return WithErrorDetail(absl::PermissionDeniedError(message),
                         {reason, ErrorCategory::kPermission, false, absl::ZeroDuration()});
}

bool CanRead(const auth::Principal& p) {
  return p.Has(Permission::kRegistriesRead) || p.Has(Permission::kRegistriesManage);
}

// The caller-level permission an operation needs, checked before any membership.
absl::Status CheckCallerPermission(const RequestContext& ctx, Operation op) {
  const auth::Principal& p = ctx.caller;
  auto need = [&](Permission perm) -> absl::Status {
    if (p.Has(perm)) return absl::OkStatus();
    return Denied(Cat("caller ", p.name, " lacks permission ", auth::PermissionName(perm)));
  };
  switch (op) {
    case Operation::kRead:
    case Operation::kListWorkspaces:
      if (CanRead(p)) return absl::OkStatus();
      return Denied(Cat("caller ", p.name, " lacks permission registries.read"));
    case Operation::kManage:
    case Operation::kManageOwners:
    case Operation::kTestConnection:
    case Operation::kReadAudit:
    case Operation::kCreateWorkspace:
      return need(Permission::kRegistriesManage);
    case Operation::kGetCredentials:
      return need(Permission::kCredentialsRead);
    case Operation::kMintToken:
      return need(Permission::kTokensMint);
    case Operation::kRevokeToken:
      if (p.Has(Permission::kTokensMint) || p.Has(Permission::kRegistriesManage)) {
        return absl::OkStatus();
      }
      return Denied(Cat("caller ", p.name, " lacks permission tokens.mint or registries.manage"));
    case Operation::kListTokens:
      if (p.Has(Permission::kTokensMint) || CanRead(p)) return absl::OkStatus();
      return Denied(Cat("caller ", p.name, " lacks permission tokens.mint or registries.read"));
  }
  return Denied("unknown operation");
}

// The caller's confinement (the policy's `workspaces` line): a confined caller acts only inside
// its workspaces, whatever the operation and whoever it acts for. Checked before any
// membership is read, so the answer is the same whether the workspace exists or not.
absl::Status CheckConfinement(const RequestContext& ctx, Operation op,
                              std::string_view workspace_id) {
  const auth::Principal& p = ctx.caller;
  if (!p.workspaces.has_value()) return absl::OkStatus();
  // ListWorkspaces names no workspace; RegistryAuth::ListWorkspaces lists only the caller's.
  if (op == Operation::kListWorkspaces) return absl::OkStatus();
  if (workspace_id.empty()) {
    return Denied(Cat("caller ", p.name,
                      " is confined to its workspaces (policy line \"workspaces\"); name one "
                      "of them"));
  }
  if (p.MayUseWorkspace(workspace_id)) return absl::OkStatus();
  return Denied(Cat("caller ", p.name,
                    " is confined to its workspaces (policy line \"workspaces\")", "; workspaces/",
                    workspace_id, " is not one of them"));
}

}  // namespace

Authorizer::Authorizer(storage::RegistryStore& store) : store_(store) {}

absl::Status Authorizer::Check(const RequestContext& ctx, Operation op,
                               std::string_view workspace_id) const {
  if (absl::Status s = CheckCallerPermission(ctx, op); !s.ok()) return s;
  if (absl::Status s = CheckConfinement(ctx, op, workspace_id); !s.ok()) return s;
  if (ctx.on_behalf_of.empty()) return absl::OkStatus();

  if (!ctx.caller.Has(Permission::kActAsUser)) {
    return Denied(Cat("caller ", ctx.caller.name,
                      " lacks permission act_as_user (x-registryauth-user was sent)"));
  }
  switch (op) {
    case Operation::kGetCredentials:
    case Operation::kReadAudit:
    case Operation::kMintToken:
      return Denied("this call is not served on behalf of a user");
    case Operation::kCreateWorkspace:
    case Operation::kListWorkspaces:
      return absl::OkStatus();  // The service scopes these to the user.
    default:
      break;
  }

  absl::StatusOr<Member> member = store_.GetMember(workspace_id, ctx.on_behalf_of);
  if (absl::IsNotFound(member.status())) return CheckMemberRole(std::nullopt, op, workspace_id);
  if (!member.ok()) return member.status();
  return CheckMemberRole(*member, op, workspace_id);
}

absl::Status CheckMemberRole(const std::optional<Member>& member, Operation op,
                             std::string_view workspace_id) {
  if (!member.has_value()) {
    // Same answer whether the workspace or the membership is missing: a user learns nothing
    // about workspaces they are not in.
    return Denied(Cat("user is not a member of workspaces/", workspace_id), kReasonNotAMember);
  }
  if (member->status != MemberStatus::kActive) {
    return Denied(Cat("user is not an active member of workspaces/", workspace_id),
                  kReasonNotAMember);
  }
  const MemberRole role = member->role;
  switch (op) {
    case Operation::kRead:
    case Operation::kListTokens:
      return absl::OkStatus();
    case Operation::kManage:
    case Operation::kTestConnection:
    case Operation::kRevokeToken:
      if (role == MemberRole::kOwner || role == MemberRole::kAdmin) return absl::OkStatus();
      return Denied(Cat("user needs role OWNER or ADMIN in workspaces/", workspace_id),
                    kReasonRoleTooLow);
    case Operation::kManageOwners:
      if (role == MemberRole::kOwner) return absl::OkStatus();
      return Denied(Cat("user needs role OWNER in workspaces/", workspace_id), kReasonRoleTooLow);
    default:
      return Denied("unknown operation");
  }
}

}  // namespace registryauth::services
