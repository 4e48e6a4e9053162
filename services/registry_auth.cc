#include "services/registry_auth.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/error_detail.h"
#include "services/names.h"
#include "services/page_token.h"

namespace registryauth::services {
namespace {

struct MemberName {
  std::string workspace_id;
  std::string user_id;
};

absl::StatusOr<MemberName> ParseMemberName(std::string_view name, std::string_view field) {
  constexpr std::string_view kPrefix = "workspaces/";
  constexpr std::string_view kMiddle = "/members/";
  const absl::Status bad = absl::InvalidArgumentError(Cat(
      field, ": must be workspaces/{workspace}/members/{member}, got ", QuoteInput(name)));
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t mid = rest.find(kMiddle);
  if (mid == std::string_view::npos) return bad;
  MemberName n{std::string(rest.substr(0, mid)), std::string(rest.substr(mid + kMiddle.size()))};
  if (!IsValidId(n.workspace_id) || !Authorizer::IsValidUserId(n.user_id)) return bad;
  return n;
}

bool IsDecimalId(std::string_view key) {
  int64_t v;
  return !key.empty() && key.size() <= 19 && absl::SimpleAtoi(ToAbsl(key), &v) && v > 0;
}

absl::Status NotFoundMember(std::string_view workspace_id, std::string_view user_id) {
  return absl::NotFoundError(
      Cat(RegistryAuth::FormatMemberName(workspace_id, user_id), ": not found"));
}

absl::Status MapMemberStoreError(absl::Status status, std::string_view workspace_id,
                                 std::string_view user_id) {
  if (absl::IsNotFound(status)) return NotFoundMember(workspace_id, user_id);
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(Cat(
        RegistryAuth::FormatMemberName(workspace_id, user_id), ": already exists"));
  }
  return status;
}

bool IsActiveOwner(MemberRole role, MemberStatus status) {
  return role == MemberRole::kOwner && status == MemberStatus::kActive;
}

}  // namespace

RegistryAuth::RegistryAuth(storage::RegistryStore& store, RegistryService& registry_service,
                           const Clock& clock, RegistryAuthOptions options)
    : store_(store),
      registry_(registry_service),
      clock_(clock),
      tester_(options.tester),
      app_tokens_(options.app_tokens),
      github_host_(std::move(options.github_host)),
      upstream_timeout_(options.upstream_timeout),
      workspace_credentials_(options.workspace_credentials),
      authz_(store),
      audit_(store, clock) {}

std::string RegistryAuth::FormatMemberName(std::string_view workspace_id,
                                           std::string_view user_id) {
  return Cat("workspaces/", workspace_id, "/members/", user_id);
}

absl::Status RegistryAuth::Record(const RequestContext& ctx, std::string_view action,
                                  std::string_view resource, const absl::Status& outcome) {
  return audit_.Record(ctx, action, resource, outcome);
}

void RegistryAuth::RecordChange(const RequestContext& ctx, std::string_view action,
                                std::string_view resource, const absl::Status& outcome) {
  audit_.RecordChange(ctx, action, resource, outcome);
}

void RegistryAuth::RecordRejected(std::string_view caller, std::string_view action,
                                  std::string_view resource, const absl::Status& status,
                                  std::string_view request_id, std::string_view peer) {
  RequestContext ctx;
  ctx.caller.identity = std::string(caller.substr(0, 512));
  ctx.request_id = std::string(request_id);
  ctx.peer = std::string(peer);
  RecordChange(ctx, action, resource, status);
}

// ---- Workspaces ---------------------------------------------------------------------------------

absl::StatusOr<Workspace> RegistryAuth::CreateWorkspace(const RequestContext& ctx,
                                                        std::string_view workspace_id,
                                                        std::string_view display_name) {
  const std::string resource = FormatWorkspaceName(workspace_id);
  absl::StatusOr<Workspace> result = [&]() -> absl::StatusOr<Workspace> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kCreateWorkspace, workspace_id));
    return registry_.CreateWorkspace(workspace_id, display_name, ctx.on_behalf_of);
  }();
  RecordChange(ctx, "CreateWorkspace", resource, result.status());
  return result;
}

absl::StatusOr<Workspace> RegistryAuth::GetWorkspace(const RequestContext& ctx,
                                                     std::string_view name) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "name"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  return registry_.GetWorkspace(name);
}

absl::StatusOr<ListResult<Workspace>> RegistryAuth::ListWorkspaces(const RequestContext& ctx,
                                                                   int page_size,
                                                                   std::string_view page_token) {
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kListWorkspaces, ""));
  if (!ctx.on_behalf_of.empty()) {
    return registry_.ListWorkspacesOfUser(ctx.on_behalf_of, page_size, page_token);
  }
  return registry_.ListWorkspaces(page_size, page_token);
}

absl::StatusOr<Workspace> RegistryAuth::UpdateWorkspace(const RequestContext& ctx,
                                                        std::string_view name,
                                                        std::string_view display_name,
                                                        const FieldMask& mask,
                                                        std::string_view etag) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "workspace.name"));
  absl::StatusOr<Workspace> result = [&]() -> absl::StatusOr<Workspace> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, ws));
    return registry_.UpdateWorkspace(name, display_name, mask, etag);
  }();
  RecordChange(ctx, "UpdateWorkspace", FormatWorkspaceName(ws), result.status());
  return result;
}

absl::Status RegistryAuth::DeleteWorkspace(const RequestContext& ctx, std::string_view name,
                                           std::string_view etag, bool force) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(name, "name"));
  absl::Status result = authz_.Check(ctx, Operation::kManageOwners, ws);
  if (result.ok()) result = registry_.DeleteWorkspace(name, etag, force);
  RecordChange(ctx, "DeleteWorkspace", FormatWorkspaceName(ws), result);
  return result;
}

// ---- Apps -----------------------------------------------------------------------------------------

absl::StatusOr<App> RegistryAuth::CreateApp(const RequestContext& ctx, std::string_view parent,
                                            std::string_view app_id,
                                            std::string_view display_name,
                                            std::string_view registry_config_name,
                                            bool public_pull) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  absl::StatusOr<App> result = [&]() -> absl::StatusOr<App> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, ws));
    return registry_.CreateApp(parent, app_id, display_name, registry_config_name, public_pull);
  }();
  RecordChange(ctx, "CreateApp", FormatAppName(ws, app_id), result.status());
  return result;
}

absl::StatusOr<App> RegistryAuth::GetApp(const RequestContext& ctx, std::string_view name) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, n.workspace_id));
  return registry_.GetApp(name);
}

absl::StatusOr<ListResult<App>> RegistryAuth::ListApps(const RequestContext& ctx,
                                                       std::string_view parent, int page_size,
                                                       std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  return registry_.ListApps(parent, page_size, page_token);
}

absl::StatusOr<App> RegistryAuth::UpdateApp(const RequestContext& ctx, std::string_view name,
                                            std::string_view display_name,
                                            std::string_view registry_config_name,
                                            const FieldMask& mask, std::string_view etag,
                                            bool public_pull) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "app.name"));
  absl::StatusOr<App> result = [&]() -> absl::StatusOr<App> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.workspace_id));
    return registry_.UpdateApp(name, display_name, registry_config_name, mask, etag,
                               public_pull);
  }();
  RecordChange(ctx, "UpdateApp", FormatAppName(n.workspace_id, n.app_id), result.status());
  return result;
}

absl::Status RegistryAuth::DeleteApp(const RequestContext& ctx, std::string_view name,
                                     std::string_view etag) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(name, "name"));
  absl::Status result = authz_.Check(ctx, Operation::kManage, n.workspace_id);
  if (result.ok()) result = registry_.DeleteApp(name, etag);
  RecordChange(ctx, "DeleteApp", FormatAppName(n.workspace_id, n.app_id), result);
  return result;
}

// ---- Registry configurations -------------------------------------------------------------------

absl::StatusOr<RegistryConfig> RegistryAuth::CreateRegistryConfig(const RequestContext& ctx,
                                                                  std::string_view parent,
                                                                  std::string_view registry_id,
                                                                  RegistryConfigInput input) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  absl::StatusOr<RegistryConfig> result = [&]() -> absl::StatusOr<RegistryConfig> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, ws));
    return registry_.CreateRegistryConfig(parent, registry_id, std::move(input));
  }();
  RecordChange(ctx, "CreateRegistryConfig", FormatRegistryConfigName(ws, registry_id),
               result.status());
  return result;
}

absl::StatusOr<RegistryConfig> RegistryAuth::GetRegistryConfig(const RequestContext& ctx,
                                                               std::string_view name) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, n.workspace_id));
  return registry_.GetRegistryConfig(name);
}

absl::StatusOr<ListResult<RegistryConfig>> RegistryAuth::ListRegistryConfigs(
    const RequestContext& ctx, std::string_view parent, int page_size,
    std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  return registry_.ListRegistryConfigs(parent, page_size, page_token);
}

absl::StatusOr<RegistryConfig> RegistryAuth::UpdateRegistryConfig(const RequestContext& ctx,
                                                                  std::string_view name,
                                                                  RegistryConfigInput input,
                                                                  const FieldMask& mask,
                                                                  std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "registry_config.name"));
  absl::StatusOr<RegistryConfig> result = [&]() -> absl::StatusOr<RegistryConfig> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.workspace_id));
    return registry_.UpdateRegistryConfig(name, std::move(input), mask, etag);
  }();
  RecordChange(ctx, "UpdateRegistryConfig",
               FormatRegistryConfigName(n.workspace_id, n.registry_id), result.status());
  return result;
}

absl::Status RegistryAuth::DeleteRegistryConfig(const RequestContext& ctx,
                                                std::string_view name, std::string_view etag) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  absl::Status result = authz_.Check(ctx, Operation::kManage, n.workspace_id);
  if (result.ok()) result = registry_.DeleteRegistryConfig(name, etag);
  RecordChange(ctx, "DeleteRegistryConfig",
               FormatRegistryConfigName(n.workspace_id, n.registry_id), result);
  return result;
}

// ---- Members ------------------------------------------------------------------------------------

absl::StatusOr<bool> RegistryAuth::HasOtherActiveOwner(std::string_view workspace_id,
                                                       std::string_view user_id) {
  ListOptions options{kMaxListPageSize, ""};
  while (true) {
    ASSIGN_OR_RETURN(Page<Member> page, store_.ListMembers(workspace_id, options));
    for (const Member& m : page.items) {
      if (m.user_id != user_id && IsActiveOwner(m.role, m.status)) return true;
    }
    if (!page.has_more || page.items.empty()) return false;
    options.start_after = page.items.back().user_id;
  }
}

absl::StatusOr<Member> RegistryAuth::CreateMember(const RequestContext& ctx,
                                                  std::string_view parent,
                                                  std::string_view member_id, MemberRole role,
                                                  MemberStatus status) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  const std::string resource = FormatMemberName(ws, member_id.substr(0, 256));
  absl::StatusOr<Member> result = [&]() -> absl::StatusOr<Member> {
    if (!Authorizer::IsValidUserId(member_id)) {
      return absl::InvalidArgumentError(Cat(
          "member_id: must be 1..256 printable ASCII characters without space or '/', got ",
          QuoteInput(member_id)));
    }
    if (role == MemberRole::kUnspecified) {
      return absl::InvalidArgumentError("member.role: required");
    }
    if (status == MemberStatus::kUnspecified) status = MemberStatus::kActive;
    RETURN_IF_ERROR(authz_.Check(
        ctx, role == MemberRole::kOwner ? Operation::kManageOwners : Operation::kManage, ws));
    Member m;
    m.workspace_id = ws;
    m.user_id = std::string(member_id);
    m.role = role;
    m.status = status;
    m.create_time = m.update_time = clock_.Now();
    absl::StatusOr<Member> created = store_.CreateMember(m);
    if (!created.ok()) {
      if (absl::IsNotFound(created.status())) {
        return absl::NotFoundError(Cat(FormatWorkspaceName(ws), ": not found"));
      }
      return MapMemberStoreError(created.status(), ws, member_id);
    }
    return created;
  }();
  RecordChange(ctx, "CreateMember", resource, result.status());
  return result;
}

absl::StatusOr<Member> RegistryAuth::GetMember(const RequestContext& ctx, std::string_view name) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "name"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, n.workspace_id));
  absl::StatusOr<Member> m = store_.GetMember(n.workspace_id, n.user_id);
  if (!m.ok()) return MapMemberStoreError(m.status(), n.workspace_id, n.user_id);
  return m;
}

absl::StatusOr<ListResult<Member>> RegistryAuth::ListMembers(const RequestContext& ctx,
                                                             std::string_view parent,
                                                             int page_size,
                                                             std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  const std::string collection = Cat(FormatWorkspaceName(ws), "/members");
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, &Authorizer::IsValidUserId));
  absl::StatusOr<Page<Member>> page = store_.ListMembers(ws, ListOptions{size, after});
  if (!page.ok()) {
    if (absl::IsNotFound(page.status())) {
      return absl::NotFoundError(Cat(FormatWorkspaceName(ws), ": not found"));
    }
    return page.status();
  }
  return ToListResult(*std::move(page), collection, [](const Member& m) { return m.user_id; });
}

absl::StatusOr<Member> RegistryAuth::UpdateMember(const RequestContext& ctx,
                                                  std::string_view name, MemberRole role,
                                                  MemberStatus status, const FieldMask& mask,
                                                  std::string_view etag) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "member.name"));
  absl::StatusOr<Member> result = [&]() -> absl::StatusOr<Member> {
    ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "member.etag"));
    bool set_role = mask.empty() && role != MemberRole::kUnspecified;
    bool set_status = mask.empty() && status != MemberStatus::kUnspecified;
    for (const std::string& path : mask) {
      if (path == "*") {
        set_role = set_status = true;
      } else if (path == "role") {
        set_role = true;
      } else if (path == "status") {
        set_status = true;
      } else {
        return absl::InvalidArgumentError(
            Cat("update_mask: unknown path ", QuoteInput(path)));
      }
    }
    if (!set_role && !set_status) {
      return absl::InvalidArgumentError("update_mask: nothing to update");
    }
    if (set_role && role == MemberRole::kUnspecified) {
      return absl::InvalidArgumentError("member.role: required");
    }
    if (set_status && status == MemberStatus::kUnspecified) {
      return absl::InvalidArgumentError("member.status: required");
    }
    // Membership of the caller's user is checked first, so a non-member learns nothing.
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.workspace_id));
    absl::StatusOr<Member> current = store_.GetMember(n.workspace_id, n.user_id);
    if (!current.ok()) return MapMemberStoreError(current.status(), n.workspace_id, n.user_id);
    Member next = *current;
    if (set_role) next.role = role;
    if (set_status) next.status = status;
    if (current->role == MemberRole::kOwner || next.role == MemberRole::kOwner) {
      RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManageOwners, n.workspace_id));
    }
    if (IsActiveOwner(current->role, current->status) && !IsActiveOwner(next.role, next.status)) {
      ASSIGN_OR_RETURN(bool other, HasOtherActiveOwner(n.workspace_id, n.user_id));
      if (!other) {
        return absl::FailedPreconditionError(
            Cat(name, ": the workspace's last active OWNER cannot be demoted or "
                                "removed; make another member OWNER first"));
      }
    }
    next.update_time = clock_.Now();
    absl::StatusOr<Member> updated = store_.UpdateMember(next, expected);
    if (!updated.ok()) return MapMemberStoreError(updated.status(), n.workspace_id, n.user_id);
    return updated;
  }();
  RecordChange(ctx, "UpdateMember", FormatMemberName(n.workspace_id, n.user_id),
               result.status());
  return result;
}

absl::Status RegistryAuth::DeleteMember(const RequestContext& ctx, std::string_view name,
                                        std::string_view etag) {
  ASSIGN_OR_RETURN(MemberName n, ParseMemberName(name, "name"));
  absl::Status result = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.workspace_id));
    absl::StatusOr<Member> current = store_.GetMember(n.workspace_id, n.user_id);
    if (!current.ok()) return MapMemberStoreError(current.status(), n.workspace_id, n.user_id);
    if (current->role == MemberRole::kOwner) {
      RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManageOwners, n.workspace_id));
    }
    if (IsActiveOwner(current->role, current->status)) {
      ASSIGN_OR_RETURN(bool other, HasOtherActiveOwner(n.workspace_id, n.user_id));
      if (!other) {
        return absl::FailedPreconditionError(Cat(
            name, ": the workspace's last active OWNER cannot be deleted; make another member "
                  "OWNER first"));
      }
    }
    return MapMemberStoreError(store_.DeleteMember(n.workspace_id, n.user_id, expected),
                               n.workspace_id, n.user_id);
  }();
  RecordChange(ctx, "DeleteMember", FormatMemberName(n.workspace_id, n.user_id), result);
  return result;
}

// ---- Credentials and tokens ------------------------------------------------------------------

absl::StatusOr<Credentials> RegistryAuth::MintedOrStoredCredentials(const RegistryConfig& config) {
  if (config.type == RegistryType::kDistribution && workspace_credentials_ != nullptr &&
      !config.url.empty() && workspace_credentials_->ServesRegistry(RegistryHostOf(config.url))) {
    return workspace_credentials_->MintWorkspaceCredential(config.workspace_id);
  }
  return BuildCredentials(config, registry_);
}

absl::StatusOr<Credentials> RegistryAuth::GetCredentials(const RequestContext& ctx,
                                                         std::string_view name,
                                                         absl::Time deadline) {
  absl::StatusOr<RegistryConfigName> n = ParseRegistryConfigName(name, "name");
  const std::string resource =
      n.ok() ? FormatRegistryConfigName(n->workspace_id, n->registry_id)
             : std::string(name.substr(0, 256));
  absl::StatusOr<Credentials> result = [&]() -> absl::StatusOr<Credentials> {
    if (!n.ok()) return n.status();
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kGetCredentials, n->workspace_id));
    ASSIGN_OR_RETURN(RegistryConfig config, registry_.GetRegistryConfig(name));
    ASSIGN_OR_RETURN(Credentials c, MintedOrStoredCredentials(config));
    if (config.type != RegistryType::kGitHubApp) return c;
    if (app_tokens_ == nullptr) {
      return UnsupportedRegistryType(config, kGitHubAppsDisabled);
    }
    const absl::Time until = std::min(deadline, clock_.Now() + upstream_timeout_);
    absl::StatusOr<upstream::InstallationToken> token =
        app_tokens_->GetToken(AppInstallationOf(config, std::move(c.secret)), until);
    if (!token.ok()) return WithUpstreamErrorDetail(token.status());
    c.registry_host = github_host_;
    c.username = kGitHubAppTokenUsername;
    c.secret = std::move(token->token);
    c.expire_time = token->expires_at;
    return c;
  }();
  if (absl::IsUnavailable(result.status()) && !GetErrorDetail(result.status()).has_value()) {
    result = WithErrorDetail(result.status(), {kReasonDatabaseUnavailable,
                                               ErrorCategory::kNetwork, true, absl::Seconds(1)});
  }
  // The record is written before anything is handed out; no record, no secret.
  absl::Status recorded = Record(ctx, "GetCredentials", resource, result.status());
  if (!recorded.ok()) {
    LOG_ERROR(absl::StrCat("GetCredentials refused: audit record failed, request_id=",
                           ctx.request_id, ": ", recorded.message()));
    return WithErrorDetail(
        absl::UnavailableError("audit trail unavailable; credentials are not handed out "
                               "without an audit record"),
        {kReasonAuditUnavailable, ErrorCategory::kNetwork, true, absl::Seconds(1)});
  }
  return result;
}

absl::StatusOr<RegistryAuth::TestConnectionOutcome> RegistryAuth::TestConnection(
    const RequestContext& ctx, std::string_view name, absl::Time deadline) {
  ASSIGN_OR_RETURN(RegistryConfigName n, ParseRegistryConfigName(name, "name"));
  const std::string resource = FormatRegistryConfigName(n.workspace_id, n.registry_id);
  absl::StatusOr<ConnectionTestResult> tested;
  RegistryConfig config;
  {
    absl::Status ready = [&]() -> absl::Status {
      RETURN_IF_ERROR(authz_.Check(ctx, Operation::kTestConnection, n.workspace_id));
      if (tester_ == nullptr) {
        return absl::UnimplementedError("TestConnection is not configured on this server");
      }
      ASSIGN_OR_RETURN(config, registry_.GetRegistryConfig(resource));
      ASSIGN_OR_RETURN(Credentials credentials, MintedOrStoredCredentials(config));
      tested = tester_->Test(config, credentials, deadline);
      return tested.status();
    }();
    if (!ready.ok()) {
      // The test did not run: nothing to store on the configuration.
      RecordChange(ctx, "TestConnection", resource, ready);
      return ready;
    }
  }
  const ConnectionTestResult& test = *tested;
  const bool valid = test.status == ValidationStatus::kValid;
  std::string detail = valid ? "VALID" : Cat("INVALID ", test.failure.reason, ": ",
                                                       test.error);
  AuditEvent event = audit_.MakeEvent(ctx, "TestConnection", resource, absl::OkStatus(), detail);
  absl::StatusOr<bool> recorded = store_.RecordValidation(
      n.workspace_id, n.registry_id, config.version, test.status, clock_.Now(), test.error,
      event);
  if (!recorded.ok()) {
    LOG_ERROR(absl::StrCat("TestConnection result not stored, request_id=", ctx.request_id,
                           ": ", recorded.status().message()));
    if (absl::IsUnavailable(recorded.status())) {
      return WithErrorDetail(recorded.status(), {kReasonDatabaseUnavailable,
                                                 ErrorCategory::kNetwork, true, absl::Seconds(1)});
    }
    return recorded.status();
  }
  TestConnectionOutcome outcome;
  outcome.test = *std::move(tested);
  outcome.recorded = *recorded;
  return outcome;
}

// ---- Audit trail -------------------------------------------------------------------------------

absl::StatusOr<ListResult<AuditEvent>> RegistryAuth::ListAuditEvents(
    const RequestContext& ctx, const AuditFilter& filter, int page_size,
    std::string_view page_token) {
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kReadAudit, ""));
  if (filter.resource.size() > 1024) {
    return absl::InvalidArgumentError("resource: longer than 1024 characters");
  }
  if (filter.caller.size() > 1024) {
    return absl::InvalidArgumentError("caller: longer than 1024 characters");
  }
  if (filter.start_time != absl::InfinitePast() && filter.end_time != absl::InfiniteFuture() &&
      filter.end_time <= filter.start_time) {
    return absl::InvalidArgumentError("end_time: must be after start_time");
  }
  // The token is bound to the filter.
  const std::string collection = absl::StrCat(
      "audit\n", filter.resource, "\n", filter.caller, "\n",
      absl::FormatTime(absl::RFC3339_full, filter.start_time, absl::UTCTimeZone()), "\n",
      absl::FormatTime(absl::RFC3339_full, filter.end_time, absl::UTCTimeZone()));
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, IsDecimalId));
  int64_t before_id = 0;
  if (!after.empty() && !absl::SimpleAtoi(after, &before_id)) {
    return absl::InvalidArgumentError("page_token: invalid");
  }
  ASSIGN_OR_RETURN(Page<AuditEvent> page, store_.ListAuditEvents(filter, size, before_id));
  return ToListResult(std::move(page), collection,
                      [](const AuditEvent& e) { return absl::StrCat(e.id); });
}

}  // namespace registryauth::services
