// RegistryAuth: the guarded entry point of registry-auth's v1 API for workspaces, apps,
// registry configurations, members, credentials and the audit trail; the gRPC adapter calls
// only this class (and services::TokenRealm for the token realm). A thin decorator: every call
// goes through the Guard (services/guard.h: who may do what, services/authorizer.h, and its
// audit record) and then to its domain service:
//   workspaces, apps, registry configurations   RegistryService (services/registry_service.h)
//   members                                     MemberService (services/member_service.h:
//                                               at least one ACTIVE OWNER, ...)
//   GetCredentials, TestConnection              CredentialService
//                                               (services/credential_service.h)
//   ListAuditEvents                             AuditLog::List (services/audit_log.h)
//   ListRegistryEvents                          RegistryEventLog (services/registry_event_log.h)
//
// Audit: changes (create/update/delete of workspaces, apps, registry configs, members),
// GetCredentials and TestConnection are recorded with caller, on-behalf-of user, resource,
// outcome (OK or the status code name, denials included), request id and peer. GetCredentials
// writes its record BEFORE it answers: if the record cannot be written it fails with
// UNAVAILABLE (reason AUDIT_UNAVAILABLE) and hands out nothing. For changes the record follows
// the change; a failure to write it is logged (with the request id) and does not undo the
// change. TestConnection stores its record with the outcome (RecordValidation). Reads are not
// audited. Records never hold a secret. A malformed name is INVALID_ARGUMENT before anything is
// checked or recorded.
//
// On behalf of a user: CreateWorkspace makes the user OWNER in the same transaction;
// ListWorkspaces lists that user's workspaces.
//
//   RegistryAuth api(guard, registry_service, member_service, credential_service);
//   ASSIGN_OR_RETURN(Credentials c, api.GetCredentials(ctx, "workspaces/acme/registries/gh"));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "services/credential_service.h"
#include "services/credentials.h"
#include "services/guard.h"
#include "services/member_service.h"
#include "services/registry_event_log.h"
#include "services/registry_service.h"
#include "services/request_context.h"
#include "services/types.h"

namespace registryauth::services {

class RegistryAuth {
 public:
  // All must outlive this object. Without `registry_events`, ListRegistryEvents is
  // UNIMPLEMENTED.
  RegistryAuth(const Guard& guard, RegistryService& registry, MemberService& members,
               CredentialService& credentials, const RegistryEventLog* registry_events = nullptr)
      : guard_(guard),
        registry_(registry),
        members_(members),
        credentials_(credentials),
        registry_events_(registry_events) {}

  // ---- Workspaces
  absl::StatusOr<Workspace> CreateWorkspace(const RequestContext& ctx,
                                            std::string_view workspace_id,
                                            std::string_view display_name);
  absl::StatusOr<Workspace> GetWorkspace(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<ListResult<Workspace>> ListWorkspaces(const RequestContext& ctx, int page_size,
                                                       std::string_view page_token);
  absl::StatusOr<Workspace> UpdateWorkspace(const RequestContext& ctx, std::string_view name,
                                            std::string_view display_name, const FieldMask& mask,
                                            std::string_view etag);
  absl::Status DeleteWorkspace(const RequestContext& ctx, std::string_view name,
                               std::string_view etag, bool force);

  // ---- Apps
  absl::StatusOr<App> CreateApp(const RequestContext& ctx, std::string_view parent,
                                std::string_view app_id, std::string_view display_name,
                                std::string_view registry_config_name, bool public_pull = false);
  absl::StatusOr<App> GetApp(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<ListResult<App>> ListApps(const RequestContext& ctx, std::string_view parent,
                                           int page_size, std::string_view page_token);
  absl::StatusOr<App> UpdateApp(const RequestContext& ctx, std::string_view name,
                                std::string_view display_name,
                                std::string_view registry_config_name, const FieldMask& mask,
                                std::string_view etag, bool public_pull = false);
  absl::Status DeleteApp(const RequestContext& ctx, std::string_view name, std::string_view etag);

  // ---- Registry configurations
  absl::StatusOr<RegistryConfig> CreateRegistryConfig(const RequestContext& ctx,
                                                      std::string_view parent,
                                                      std::string_view registry_id,
                                                      RegistryConfigInput input);
  absl::StatusOr<RegistryConfig> GetRegistryConfig(const RequestContext& ctx,
                                                   std::string_view name);
  absl::StatusOr<ListResult<RegistryConfig>> ListRegistryConfigs(const RequestContext& ctx,
                                                                 std::string_view parent,
                                                                 int page_size,
                                                                 std::string_view page_token);
  absl::StatusOr<RegistryConfig> UpdateRegistryConfig(const RequestContext& ctx,
                                                      std::string_view name,
                                                      RegistryConfigInput input,
                                                      const FieldMask& mask, std::string_view etag);
  absl::Status DeleteRegistryConfig(const RequestContext& ctx, std::string_view name,
                                    std::string_view etag);

  // ---- Members. `member_id` / the last name segment is the end user's id.
  absl::StatusOr<Member> CreateMember(const RequestContext& ctx, std::string_view parent,
                                      std::string_view member_id, MemberRole role,
                                      MemberStatus status);
  absl::StatusOr<Member> GetMember(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<ListResult<Member>> ListMembers(const RequestContext& ctx, std::string_view parent,
                                                 int page_size, std::string_view page_token);
  // Mask paths: `role`, `status`; empty mask = the non-UNSPECIFIED ones.
  absl::StatusOr<Member> UpdateMember(const RequestContext& ctx, std::string_view name,
                                      MemberRole role, MemberStatus status, const FieldMask& mask,
                                      std::string_view etag);
  absl::Status DeleteMember(const RequestContext& ctx, std::string_view name,
                            std::string_view etag);

  // ---- Credentials (services/credential_service.h)
  // Errors: the permission check, NOT_FOUND, FAILED_PRECONDITION (INCOMPLETE_CREDENTIALS,
  // UNSUPPORTED_REGISTRY_TYPE), GitHub's refusals, UNAVAILABLE (database; AUDIT_UNAVAILABLE).
  // `narrowing` (platform registry only; INVALID_ARGUMENT elsewhere) is recorded in the audit
  // row's detail.
  absl::StatusOr<Credentials> GetCredentials(const RequestContext& ctx, std::string_view name,
                                             absl::Time deadline = absl::InfiniteFuture(),
                                             const CredentialNarrowing& narrowing = {});
  // Errors: the permission check, NOT_FOUND, FAILED_PRECONDITION (INCOMPLETE_CREDENTIALS),
  // RESOURCE_EXHAUSTED (too many tests running), UNAVAILABLE (database). Pull tokens:
  // services/token_realm.h.
  using TestConnectionOutcome = services::TestConnectionOutcome;
  absl::StatusOr<TestConnectionOutcome> TestConnection(
      const RequestContext& ctx, std::string_view name,
      absl::Time deadline = absl::InfiniteFuture());

  // ---- Audit trail
  // A caller confined to workspaces must filter by a resource inside one of them
  // (AuditFilterWorkspace).
  absl::StatusOr<ListResult<AuditEvent>> ListAuditEvents(const RequestContext& ctx,
                                                         const AuditFilter& filter, int page_size,
                                                         std::string_view page_token);

  // ---- Registry events (the platform registry's pushes, pulls, mounts and deletes)
  // `parent` is `workspaces/{w}`; needs registries.read in it (and the caller's workspace
  // confinement), like every workspace read. Errors: INVALID_ARGUMENT (parent, a filter,
  // page_size, page_token), the permission check, UNAVAILABLE (database).
  absl::StatusOr<ListResult<RegistryEvent>> ListRegistryEvents(const RequestContext& ctx,
                                                               std::string_view parent,
                                                               const RegistryEventFilter& filter,
                                                               int page_size,
                                                               std::string_view page_token);

  // Records an attempt the transport refused before it reached this class (e.g. an unknown
  // caller of GetCredentials). `caller` is what the transport saw ("" if nothing).
  void RecordRejected(std::string_view caller, std::string_view action, std::string_view resource,
                      const absl::Status& status, std::string_view request_id,
                      std::string_view peer) {
    guard_.RecordRejected(caller, action, resource, status, request_id, peer);
  }

 private:
  // The workspace id of an audit filter's resource (`workspaces/{w}` or `workspaces/{w}/...`),
  // or "" when the filter is not inside one workspace.
  static std::string AuditFilterWorkspace(std::string_view resource);
  // MemberService::Require bound to the caller and the workspace.
  MemberService::Require RequireIn(const RequestContext& ctx, std::string_view workspace_id);

  const Guard& guard_;
  RegistryService& registry_;
  MemberService& members_;
  CredentialService& credentials_;
  const RegistryEventLog* registry_events_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_
