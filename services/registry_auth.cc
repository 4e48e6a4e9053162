#include "services/registry_auth.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/names.h"

namespace registryauth::services {

MemberService::Require RegistryAuth::RequireIn(const RequestContext& ctx,
                                               std::string_view workspace_id) {
  return [this, &ctx, ws = std::string(workspace_id)](Operation op) {
    return guard_.Check(ctx, op, ws);
  };
}

// ---- Workspaces ---------------------------------------------------------------------------------

absl::StatusOr<Workspace> RegistryAuth::CreateWorkspace(const RequestContext& ctx,
                                                        std::string_view workspace_id,
                                                        std::string_view display_name) {
  return guard_.Change(
      ctx, Operation::kCreateWorkspace, workspace_id, "CreateWorkspace",
      FormatWorkspaceName(workspace_id),
      [&] { return registry_.CreateWorkspace(workspace_id, display_name, ctx.on_behalf_of); });
}

absl::StatusOr<Workspace> RegistryAuth::GetWorkspace(const RequestContext& ctx,
                                                     std::string_view name) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "name"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws, [&] { return registry_.GetWorkspace(name); });
}

absl::StatusOr<ListResult<Workspace>> RegistryAuth::ListWorkspaces(const RequestContext& ctx,
                                                                   int page_size,
                                                                   std::string_view page_token) {
  return guard_.IfAllowed(ctx, Operation::kListWorkspaces, "", [&] {
    if (ctx.caller.workspaces.has_value()) {
      // A confined caller sees only its workspaces (and, for a user, those of the user).
      return registry_.ListWorkspacesAmong(*ctx.caller.workspaces, ctx.on_behalf_of, page_size,
                                           page_token);
    }
    if (!ctx.on_behalf_of.empty()) {
      return registry_.ListWorkspacesOfUser(ctx.on_behalf_of, page_size, page_token);
    }
    return registry_.ListWorkspaces(page_size, page_token);
  });
}

absl::StatusOr<Workspace> RegistryAuth::UpdateWorkspace(const RequestContext& ctx,
                                                        std::string_view name,
                                                        std::string_view display_name,
                                                        const FieldMask& mask,
                                                        std::string_view etag) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "workspace.name"));
  return guard_.Change(ctx, Operation::kManage, ws, "UpdateWorkspace", FormatWorkspaceName(ws),
                       [&] { return registry_.UpdateWorkspace(name, display_name, mask, etag); });
}

absl::Status RegistryAuth::DeleteWorkspace(const RequestContext& ctx, std::string_view name,
                                           std::string_view etag, bool force) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "name"));
  return guard_.Change(ctx, Operation::kManageOwners, ws, "DeleteWorkspace",
                       FormatWorkspaceName(ws),
                       [&] { return registry_.DeleteWorkspace(name, etag, force); });
}

// ---- Apps
// -----------------------------------------------------------------------------------------

absl::StatusOr<App> RegistryAuth::CreateApp(const RequestContext& ctx, std::string_view parent,
                                            std::string_view app_id, std::string_view display_name,
                                            std::string_view registry_config_name,
                                            bool public_pull) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.Change(ctx, Operation::kManage, ws, "CreateApp", FormatAppName(ws, app_id), [&] {
    return registry_.CreateApp(parent, app_id, display_name, registry_config_name, public_pull);
  });
}

absl::StatusOr<App> RegistryAuth::GetApp(const RequestContext& ctx, std::string_view name) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  return guard_.IfAllowed(ctx, Operation::kRead, n.workspace_id,
                          [&] { return registry_.GetApp(name); });
}

absl::StatusOr<ListResult<App>> RegistryAuth::ListApps(const RequestContext& ctx,
                                                       std::string_view parent, int page_size,
                                                       std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws,
                          [&] { return registry_.ListApps(parent, page_size, page_token); });
}

absl::StatusOr<App> RegistryAuth::UpdateApp(const RequestContext& ctx, std::string_view name,
                                            std::string_view display_name,
                                            std::string_view registry_config_name,
                                            const FieldMask& mask, std::string_view etag,
                                            bool public_pull) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "app.name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "UpdateApp",
                       FormatAppName(n.workspace_id, n.app_id), [&] {
                         return registry_.UpdateApp(name, display_name, registry_config_name, mask,
                                                    etag, public_pull);
                       });
}

absl::Status RegistryAuth::DeleteApp(const RequestContext& ctx, std::string_view name,
                                     std::string_view etag) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "DeleteApp",
                       FormatAppName(n.workspace_id, n.app_id),
                       [&] { return registry_.DeleteApp(name, etag); });
}

// ---- Registry configurations -------------------------------------------------------------------

absl::StatusOr<RegistryConfig> RegistryAuth::CreateRegistryConfig(const RequestContext& ctx,
                                                                  std::string_view parent,
                                                                  std::string_view registry_id,
                                                                  RegistryConfigInput input) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.Change(
      ctx, Operation::kManage, ws, "CreateRegistryConfig",
      FormatRegistryConfigName(ws, registry_id),
      [&] { return registry_.CreateRegistryConfig(parent, registry_id, std::move(input)); });
}

absl::StatusOr<RegistryConfig> RegistryAuth::GetRegistryConfig(const RequestContext& ctx,
                                                               std::string_view name) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  return guard_.IfAllowed(ctx, Operation::kRead, n.workspace_id,
                          [&] { return registry_.GetRegistryConfig(name); });
}

absl::StatusOr<ListResult<RegistryConfig>> RegistryAuth::ListRegistryConfigs(
    const RequestContext& ctx, std::string_view parent, int page_size,
    std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws, [&] {
    return registry_.ListRegistryConfigs(parent, page_size, page_token);
  });
}

absl::StatusOr<RegistryConfig> RegistryAuth::UpdateRegistryConfig(const RequestContext& ctx,
                                                                  std::string_view name,
                                                                  RegistryConfigInput input,
                                                                  const FieldMask& mask,
                                                                  std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "registry_config.name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "UpdateRegistryConfig",
                       FormatRegistryConfigName(n.workspace_id, n.registry_id), [&] {
                         return registry_.UpdateRegistryConfig(name, std::move(input), mask, etag);
                       });
}

absl::Status RegistryAuth::DeleteRegistryConfig(const RequestContext& ctx, std::string_view name,
                                                std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  return guard_.Change(ctx, Operation::kManage, n.workspace_id, "DeleteRegistryConfig",
                       FormatRegistryConfigName(n.workspace_id, n.registry_id),
                       [&] { return registry_.DeleteRegistryConfig(name, etag); });
}

// ---- Members ------------------------------------------------------------------------------------

absl::StatusOr<Member> RegistryAuth::CreateMember(const RequestContext& ctx,
                                                  std::string_view parent,
                                                  std::string_view member_id, MemberRole role,
                                                  MemberStatus status) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.Recorded(ctx, "CreateMember", FormatMemberName(ws, member_id.substr(0, 256)), [&] {
    return members_.Create(ws, member_id, role, status, RequireIn(ctx, ws));
  });
}

absl::StatusOr<Member> RegistryAuth::GetMember(const RequestContext& ctx, std::string_view name) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "name"));
  return guard_.IfAllowed(ctx, Operation::kRead, n.workspace_id, [&] { return members_.Get(n); });
}

absl::StatusOr<ListResult<Member>> RegistryAuth::ListMembers(const RequestContext& ctx,
                                                             std::string_view parent, int page_size,
                                                             std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws,
                          [&] { return members_.List(ws, page_size, page_token); });
}

absl::StatusOr<Member> RegistryAuth::UpdateMember(const RequestContext& ctx, std::string_view name,
                                                  MemberRole role, MemberStatus status,
                                                  const FieldMask& mask, std::string_view etag) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "member.name"));
  return guard_.Recorded(ctx, "UpdateMember", FormatMemberName(n.workspace_id, n.user_id), [&] {
    return members_.Update(n, role, status, mask, etag, ctx.on_behalf_of,
                           RequireIn(ctx, n.workspace_id));
  });
}

absl::Status RegistryAuth::DeleteMember(const RequestContext& ctx, std::string_view name,
                                        std::string_view etag) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "name"));
  return guard_.Recorded(ctx, "DeleteMember", FormatMemberName(n.workspace_id, n.user_id), [&] {
    return members_.Delete(n, etag, ctx.on_behalf_of, RequireIn(ctx, n.workspace_id));
  });
}

// ---- Credentials ------------------------------------------------------------------------------

absl::StatusOr<Credentials> RegistryAuth::GetCredentials(const RequestContext& ctx,
                                                         std::string_view name, absl::Time deadline,
                                                         const CredentialNarrowing& narrowing) {
  absl::StatusOr<RegistryConfigName> n = ParseRegistryConfigName(name, "name");
  const std::string resource = n.ok() ? FormatRegistryConfigName(n->workspace_id, n->registry_id)
                                      : std::string(name.substr(0, 256));
  absl::StatusOr<Credentials> result = [&]() -> absl::StatusOr<Credentials> {
    if (!n.ok()) return n.status();
    return guard_.IfAllowed(ctx, Operation::kGetCredentials, n->workspace_id,
                            [&] { return credentials_.GetCredentials(*n, deadline, narrowing); });
  }();
  // The record is written before anything is handed out; no record, no secret. A narrowed
  // credential's record says how it was narrowed.
  RETURN_IF_ERROR(guard_.RecordBeforeAnswer(ctx, "GetCredentials", resource, result.status(),
                                            result.ok() ? result->narrowing : std::string(),
                                            deadline));
  return result;
}

absl::StatusOr<RegistryAuth::TestConnectionOutcome> RegistryAuth::TestConnection(
    const RequestContext& ctx, std::string_view name, absl::Time deadline) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  const std::string resource = FormatRegistryConfigName(n.workspace_id, n.registry_id);
  absl::Status not_run = guard_.Check(ctx, Operation::kTestConnection, n.workspace_id);
  absl::StatusOr<TestConnectionOutcome> outcome = absl::UnknownError("");
  if (not_run.ok()) {
    // The record goes into the same transaction as the outcome (RecordValidation).
    outcome = credentials_.TestConnection(
        n, deadline,
        [&](std::string_view detail) {
          return guard_.audit().MakeEvent(ctx, "TestConnection", resource, absl::OkStatus(),
                                          detail);
        },
        &not_run, ctx.on_behalf_of);
  }
  if (!not_run.ok()) {
    // The test did not run: nothing to store on the configuration.
    guard_.RecordChange(ctx, "TestConnection", resource, not_run);
    return not_run;
  }
  if (!outcome.ok()) {
    LOG_ERROR(absl::StrCat("TestConnection result not stored, request_id=", ctx.request_id, ": ",
                           outcome.status().message()));
  }
  return outcome;
}

// ---- Audit trail -------------------------------------------------------------------------------

absl::StatusOr<ListResult<AuditEvent>> RegistryAuth::ListAuditEvents(const RequestContext& ctx,
                                                                     const AuditFilter& filter,
                                                                     int page_size,
                                                                     std::string_view page_token) {
  // The workspace the filter stays inside, if any: what a confined caller is checked against.
  return guard_.IfAllowed(ctx, Operation::kReadAudit, AuditFilterWorkspace(filter.resource),
                          [&] { return guard_.audit().List(filter, page_size, page_token); });
}

// ---- Registry events ---------------------------------------------------------------------------

absl::StatusOr<ListResult<RegistryEvent>> RegistryAuth::ListRegistryEvents(
    const RequestContext& ctx, std::string_view parent, const RegistryEventFilter& filter,
    int page_size, std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  return guard_.IfAllowed(ctx, Operation::kRead, ws,
                          [&]() -> absl::StatusOr<ListResult<RegistryEvent>> {
                            if (registry_events_ == nullptr) {
                              return absl::UnimplementedError("registry events are not kept");
                            }
                            return registry_events_->List(ws, filter, page_size, page_token);
                          });
}

std::string RegistryAuth::AuditFilterWorkspace(std::string_view resource) {
  constexpr std::string_view kPrefix = "workspaces/";
  if (resource.substr(0, kPrefix.size()) != kPrefix) return "";
  const std::string_view rest = resource.substr(kPrefix.size());
  const std::string_view id = rest.substr(0, rest.find('/'));
  return IsValidId(id) ? std::string(id) : std::string();
}

}  // namespace registryauth::services
