// The gRPC adapter of registry-auth v1: registryauth.v1.RegistryAuthService on top of
// services::RegistryAuth (the guarded domain API).
//
// Each RPC first authenticates the call (api/call_auth.h: client certificate or API key ->
// caller, request id, on-behalf-of user, peer) and ends with one access-log line carrying the
// request id; refused GetCredentials calls are audited too.
// Each RPC converts its request to domain values, calls the service and converts the result
// back (google.protobuf.Timestamp from absl::Time, FieldMask paths as strings, etag from the
// version, `has_secret`/`secret_hint` instead of the secret), and maps absl::Status to
// grpc::Status with ToGrpcStatus. Output-only fields of requests are ignored (AIP-203).
// The token realm's RPCs go to services::TokenRealm. TestConnection's steps and failure come
// from services/connection_check.h (UNIMPLEMENTED when the server has no connection tester).
// Error details (services/error_detail.h) travel in `grpc-status-details-bin`.
//
// Secrets: a request's `registry_config.secret` is copied into a SecretString and the
// request's own string is wiped at once. The sync API hands the request over as const; the
// adapter wipes it through const_cast (the message is a heap object gRPC owns, so this is
// defined behaviour), but gRPC's receive buffers that held the serialized request are released
// without wiping; that copy is beyond this layer's reach. Responses never carry a secret.
//
//   RegistryAuthGrpcService grpc_service(registry_auth, token_realm, authenticator);
//   builder.RegisterService(&grpc_service);
//
// Thread-safe (stateless beyond the references, which must outlive it).
#ifndef REGISTRY_AUTH_API_REGISTRY_AUTH_GRPC_H_
#define REGISTRY_AUTH_API_REGISTRY_AUTH_GRPC_H_

#include "api/call_auth.h"
#include "api/in_process.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "proto/registryauth/v1/registry_auth.pb.h"
#include "services/registry_auth.h"
#include "services/token_realm.h"

namespace registryauth::api {

class RegistryAuthGrpcService final : public registryauth::v1::RegistryAuthService::Service {
 public:
  RegistryAuthGrpcService(services::RegistryAuth& api, services::TokenRealm& realm,
                          const CallAuthenticator& authn);

  grpc::Status CreateWorkspace(grpc::ServerContext* context,
                               const v1::CreateWorkspaceRequest* request,
                               v1::Workspace* response) override;
  grpc::Status GetWorkspace(grpc::ServerContext* context, const v1::GetWorkspaceRequest* request,
                            v1::Workspace* response) override;
  grpc::Status ListWorkspaces(grpc::ServerContext* context,
                              const v1::ListWorkspacesRequest* request,
                              v1::ListWorkspacesResponse* response) override;
  grpc::Status UpdateWorkspace(grpc::ServerContext* context,
                               const v1::UpdateWorkspaceRequest* request,
                               v1::Workspace* response) override;
  grpc::Status DeleteWorkspace(grpc::ServerContext* context,
                               const v1::DeleteWorkspaceRequest* request,
                               google::protobuf::Empty* response) override;

  grpc::Status CreateApp(grpc::ServerContext* context, const v1::CreateAppRequest* request,
                         v1::App* response) override;
  grpc::Status GetApp(grpc::ServerContext* context, const v1::GetAppRequest* request,
                      v1::App* response) override;
  grpc::Status ListApps(grpc::ServerContext* context, const v1::ListAppsRequest* request,
                        v1::ListAppsResponse* response) override;
  grpc::Status UpdateApp(grpc::ServerContext* context, const v1::UpdateAppRequest* request,
                         v1::App* response) override;
  grpc::Status DeleteApp(grpc::ServerContext* context, const v1::DeleteAppRequest* request,
                         google::protobuf::Empty* response) override;

  grpc::Status CreateRegistryConfig(grpc::ServerContext* context,
                                    const v1::CreateRegistryConfigRequest* request,
                                    v1::RegistryConfig* response) override;
  grpc::Status GetRegistryConfig(grpc::ServerContext* context,
                                 const v1::GetRegistryConfigRequest* request,
                                 v1::RegistryConfig* response) override;
  grpc::Status ListRegistryConfigs(grpc::ServerContext* context,
                                   const v1::ListRegistryConfigsRequest* request,
                                   v1::ListRegistryConfigsResponse* response) override;
  grpc::Status UpdateRegistryConfig(grpc::ServerContext* context,
                                    const v1::UpdateRegistryConfigRequest* request,
                                    v1::RegistryConfig* response) override;
  grpc::Status DeleteRegistryConfig(grpc::ServerContext* context,
                                    const v1::DeleteRegistryConfigRequest* request,
                                    google::protobuf::Empty* response) override;

  grpc::Status CreateMember(grpc::ServerContext* context, const v1::CreateMemberRequest* request,
                            v1::Member* response) override;
  grpc::Status GetMember(grpc::ServerContext* context, const v1::GetMemberRequest* request,
                         v1::Member* response) override;
  grpc::Status ListMembers(grpc::ServerContext* context, const v1::ListMembersRequest* request,
                           v1::ListMembersResponse* response) override;
  grpc::Status UpdateMember(grpc::ServerContext* context, const v1::UpdateMemberRequest* request,
                            v1::Member* response) override;
  grpc::Status DeleteMember(grpc::ServerContext* context, const v1::DeleteMemberRequest* request,
                            google::protobuf::Empty* response) override;

  grpc::Status ListAuditEvents(grpc::ServerContext* context,
                               const v1::ListAuditEventsRequest* request,
                               v1::ListAuditEventsResponse* response) override;
  grpc::Status ListRegistryEvents(grpc::ServerContext* context,
                                  const v1::ListRegistryEventsRequest* request,
                                  v1::ListRegistryEventsResponse* response) override;

  grpc::Status MintPullToken(grpc::ServerContext* context, const v1::MintPullTokenRequest* request,
                             v1::MintPullTokenResponse* response) override;
  grpc::Status GetCredentials(grpc::ServerContext* context,
                              const v1::GetCredentialsRequest* request,
                              v1::GetCredentialsResponse* response) override;
  grpc::Status TestConnection(grpc::ServerContext* context,
                              const v1::TestConnectionRequest* request,
                              v1::TestConnectionResponse* response) override;

  // ---- Token realm (services::TokenRealm)
  grpc::Status RevokePullToken(grpc::ServerContext* context,
                               const v1::RevokePullTokenRequest* request,
                               v1::PullToken* response) override;
  grpc::Status RevokePullTokens(grpc::ServerContext* context,
                                const v1::RevokePullTokensRequest* request,
                                v1::RevokePullTokensResponse* response) override;
  grpc::Status ListPullTokens(grpc::ServerContext* context,
                              const v1::ListPullTokensRequest* request,
                              v1::ListPullTokensResponse* response) override;
  grpc::Status CreateServiceAccount(grpc::ServerContext* context,
                                    const v1::CreateServiceAccountRequest* request,
                                    v1::ServiceAccountCredentials* response) override;
  grpc::Status GetServiceAccount(grpc::ServerContext* context,
                                 const v1::GetServiceAccountRequest* request,
                                 v1::ServiceAccount* response) override;
  grpc::Status ListServiceAccounts(grpc::ServerContext* context,
                                   const v1::ListServiceAccountsRequest* request,
                                   v1::ListServiceAccountsResponse* response) override;
  grpc::Status UpdateServiceAccount(grpc::ServerContext* context,
                                    const v1::UpdateServiceAccountRequest* request,
                                    v1::ServiceAccount* response) override;
  grpc::Status DeleteServiceAccount(grpc::ServerContext* context,
                                    const v1::DeleteServiceAccountRequest* request,
                                    google::protobuf::Empty* response) override;
  grpc::Status RegenerateServiceAccountSecret(
      grpc::ServerContext* context, const v1::RegenerateServiceAccountSecretRequest* request,
      v1::ServiceAccountCredentials* response) override;
  grpc::Status ListRefreshTokens(grpc::ServerContext* context,
                                 const v1::ListRefreshTokensRequest* request,
                                 v1::ListRefreshTokensResponse* response) override;
  grpc::Status RevokeRefreshToken(grpc::ServerContext* context,
                                  const v1::RevokeRefreshTokenRequest* request,
                                  v1::RefreshToken* response) override;
  // Needs no caller credentials: the principal is in the request (see the proto).
  grpc::Status IssueRegistryToken(grpc::ServerContext* context,
                                  const v1::IssueRegistryTokenRequest* request,
                                  v1::IssueRegistryTokenResponse* response) override;

  // IssueRegistryToken for the HTTP gateway in this process (api/in_process.h): the same
  // request and response messages and the same code as the RPC above, on the calling thread,
  // without the transport. `call` carries what would otherwise be metadata; `*request_id` gets
  // the id the call used. The credentials inside `request` are wiped, as in the RPC.
  grpc::Status IssueRegistryTokenInProcess(const InProcessCall& call,
                                           v1::IssueRegistryTokenRequest& request,
                                           v1::IssueRegistryTokenResponse* response,
                                           std::string* request_id);

 private:
  grpc::Status IssueRegistryTokenFor(const services::RequestContext& ctx,
                                     const v1::IssueRegistryTokenRequest& request,
                                     v1::IssueRegistryTokenResponse* response);

  services::RegistryAuth& api_;
  services::TokenRealm& realm_;
  const CallAuthenticator& authn_;
};

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_REGISTRY_AUTH_GRPC_H_
