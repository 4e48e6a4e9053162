// The guarded entry point of registry-auth: every operation of the v1 API with its
// authorization (services/authorizer.h) and its audit record, on top of RegistryService and
// the store. The gRPC adapter calls only this class.
//
// Audit: changes (create/update/delete of workspaces, apps, registry configs, members),
// GetCredentials and TestConnection are recorded with caller, on-behalf-of user, resource,
// outcome (OK or the status code name, denials included), request id and peer. GetCredentials
// writes its record BEFORE it answers: if the record cannot be written it fails with
// UNAVAILABLE (reason AUDIT_UNAVAILABLE) and hands out nothing. For changes the record follows
// the change; a failure to write it is logged (with the request id) and does not undo the
// change. Reads are not audited. Records never hold a secret.
//
// Members: a workspace keeps at least one ACTIVE OWNER; demoting, removing or deleting the last
// one is FAILED_PRECONDITION. CreateWorkspace on behalf of a user makes the user OWNER in the
// same transaction; ListWorkspaces on behalf of a user lists that user's workspaces.
//
//   RegistryAuth api(store, registry_service, clock);
//   ASSIGN_OR_RETURN(Credentials c, api.GetCredentials(ctx, "workspaces/acme/registries/gh"));
//
// Thread-safe if the store, the registry service and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/model.h"
#include "services/audit_log.h"
#include "services/connection_tester.h"
#include "services/authorizer.h"
#include "services/credentials.h"
#include "services/registry_service.h"
#include "services/request_context.h"
#include "services/types.h"
#include "storage/registry_store.h"
#include "upstream/github.h"

namespace registryauth::services {

struct RegistryAuthOptions {
  // Runs TestConnection; null: TestConnection is UNIMPLEMENTED after its permission check.
  ConnectionTester* tester = nullptr;
  // Exchanges GITHUB_APP keys for installation tokens in GetCredentials; null: GetCredentials
  // of a GITHUB_APP configuration is FAILED_PRECONDITION (UNSUPPORTED_REGISTRY_TYPE).
  upstream::InstallationTokenSource* app_tokens = nullptr;
  // `registry_host` of GITHUB_APP credentials (GitHubHostOf the configured API URL).
  std::string github_host = "github.com";
  // Longest GetCredentials waits for GitHub, whatever the caller's deadline.
  absl::Duration upstream_timeout = absl::Seconds(20);
  // The token realm: GetCredentials of a DISTRIBUTION configuration whose URL names the
  // registry it serves returns a freshly minted push+pull credential for the workspace's
  // namespace (no stored secret needed). Null, or another registry: the stored credential.
  WorkspaceCredentialMinter* workspace_credentials = nullptr;
};

class RegistryAuth {
 public:
  // All must outlive this object (and the tester and token source of `options`).
  RegistryAuth(storage::RegistryStore& store, RegistryService& registry_service,
               const Clock& clock, RegistryAuthOptions options);
  RegistryAuth(storage::RegistryStore& store, RegistryService& registry_service,
               const Clock& clock, ConnectionTester* tester = nullptr)
      : RegistryAuth(store, registry_service, clock, RegistryAuthOptions{tester}) {}

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
                                std::string_view registry_config_name,
                                bool public_pull = false);
  absl::StatusOr<App> GetApp(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<ListResult<App>> ListApps(const RequestContext& ctx, std::string_view parent,
                                           int page_size, std::string_view page_token);
  absl::StatusOr<App> UpdateApp(const RequestContext& ctx, std::string_view name,
                                std::string_view display_name,
                                std::string_view registry_config_name, const FieldMask& mask,
                                std::string_view etag, bool public_pull = false);
  absl::Status DeleteApp(const RequestContext& ctx, std::string_view name,
                         std::string_view etag);

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
                                                      const FieldMask& mask,
                                                      std::string_view etag);
  absl::Status DeleteRegistryConfig(const RequestContext& ctx, std::string_view name,
                                    std::string_view etag);

  // ---- Members. `member_id` / the last name segment is the end user's id.
  absl::StatusOr<Member> CreateMember(const RequestContext& ctx, std::string_view parent,
                                      std::string_view member_id, MemberRole role,
                                      MemberStatus status);
  absl::StatusOr<Member> GetMember(const RequestContext& ctx, std::string_view name);
  absl::StatusOr<ListResult<Member>> ListMembers(const RequestContext& ctx,
                                                 std::string_view parent, int page_size,
                                                 std::string_view page_token);
  // Mask paths: `role`, `status`; empty mask = the non-UNSPECIFIED ones.
  absl::StatusOr<Member> UpdateMember(const RequestContext& ctx, std::string_view name,
                                      MemberRole role, MemberStatus status,
                                      const FieldMask& mask, std::string_view etag);
  absl::Status DeleteMember(const RequestContext& ctx, std::string_view name,
                            std::string_view etag);

  // ---- Credentials and tokens
  // The configuration's credentials; for GITHUB_APP an installation access token from the
  // token source (cached; valid for at least 5 more minutes) with its expire_time. Waits for
  // GitHub until `deadline` or `upstream_timeout`, whichever comes first; GitHub's refusals
  // keep their ErrorDetail (see WithUpstreamErrorDetail).
  absl::StatusOr<Credentials> GetCredentials(const RequestContext& ctx, std::string_view name,
                                             absl::Time deadline = absl::InfiniteFuture());
  // Tests the stored credential against its registry (services/connection_tester.h) and
  // stores the outcome with its audit record in one transaction (RecordValidation); the
  // outcome is not stored if the configuration changed while the test ran (`recorded` false).
  // A refusing registry is a result (INVALID), not an error. Errors: the permission check,
  // NOT_FOUND, FAILED_PRECONDITION (INCOMPLETE_CREDENTIALS), RESOURCE_EXHAUSTED (too many
  // tests running), UNAVAILABLE (database). Pull tokens: services/token_realm.h.
  struct TestConnectionOutcome {
    ConnectionTestResult test;
    bool recorded = false;
  };
  absl::StatusOr<TestConnectionOutcome> TestConnection(
      const RequestContext& ctx, std::string_view name,
      absl::Time deadline = absl::InfiniteFuture());

  // ---- Audit trail
  absl::StatusOr<ListResult<AuditEvent>> ListAuditEvents(const RequestContext& ctx,
                                                         const AuditFilter& filter,
                                                         int page_size,
                                                         std::string_view page_token);

  // Records an attempt the transport refused before it reached this class (e.g. an unknown
  // caller of GetCredentials). `caller` is what the transport saw ("" if nothing).
  void RecordRejected(std::string_view caller, std::string_view action,
                      std::string_view resource, const absl::Status& status,
                      std::string_view request_id, std::string_view peer);

  // `workspaces/{w}/members/{user}` (user ids: see Authorizer::IsValidUserId).
  static std::string FormatMemberName(std::string_view workspace_id, std::string_view user_id);

 private:
  // Appends an audit record; returns the store's status.
  absl::Status Record(const RequestContext& ctx, std::string_view action,
                      std::string_view resource, const absl::Status& outcome);
  // Record() for changes: a failure is logged, not returned.
  void RecordChange(const RequestContext& ctx, std::string_view action,
                    std::string_view resource, const absl::Status& outcome);
  // Whether `workspace_id` has an ACTIVE OWNER other than `user_id`.
  absl::StatusOr<bool> HasOtherActiveOwner(std::string_view workspace_id,
                                           std::string_view user_id);
  // A minted workspace credential for a DISTRIBUTION configuration on the platform registry
  // (RegistryAuthOptions::workspace_credentials), else the stored one (BuildCredentials).
  absl::StatusOr<Credentials> MintedOrStoredCredentials(const RegistryConfig& config);

  storage::RegistryStore& store_;
  RegistryService& registry_;
  const Clock& clock_;
  ConnectionTester* const tester_;
  upstream::InstallationTokenSource* const app_tokens_;
  const std::string github_host_;
  const absl::Duration upstream_timeout_;
  WorkspaceCredentialMinter* const workspace_credentials_;
  Authorizer authz_;
  AuditLog audit_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_AUTH_H_
