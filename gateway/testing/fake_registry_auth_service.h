// FakeRegistryAuthService: a small in-memory implementation of registryauth.v1's
// RegistryAuthService for the gateway and CLI tests, so they run against a real grpc::Server
// without the real service or a database. It follows the proto contract closely enough for
// those tests (ids, etags, paging, update masks, write-only secrets with hints, one default
// per workspace) but is not the product's logic. MintPullToken, GetCredentials and
// TestConnection stay UNIMPLEMENTED.
//
// Token realm: pull tokens and refresh tokens are seeded by the test (AddPullToken,
// AddRefreshToken) and listed/revoked through the RPCs; service accounts have full CRUD with a
// generated secret. IssueRegistryToken is a script, not the realm's logic: service
// `registry.test` only (else INVALID_ARGUMENT, reason UNKNOWN_SERVICE); a service account's
// `username`/secret or a known refresh token (else UNAUTHENTICATED, reason
// INVALID_CREDENTIALS); anonymous gets no scopes, anyone else every scope asked for (each
// `scopes` entry split on spaces). The token is `token-<n>`, 300 s, issued at
// 2026-11-23T10:00:00Z; `offline_token` returns the refresh token `refresh-<n>`.
//
// Thread-safe (one mutex). Testing only.
//
//   FakeRegistryAuthService service;
//   builder.RegisterService(&service);  service.FailNextCall(grpc::Status(...));
#ifndef REGISTRY_AUTH_GATEWAY_TESTING_FAKE_REGISTRY_AUTH_SERVICE_H_
#define REGISTRY_AUTH_GATEWAY_TESTING_FAKE_REGISTRY_AUTH_SERVICE_H_

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::gateway::testing {

class FakeRegistryAuthService final : public v1::RegistryAuthService::Service {
 public:
  // The next RPC (any method) fails with `status` instead of running.
  void FailNextCall(grpc::Status status);
  // The `x-request-id` metadata of the last RPC ("" if none).
  std::string last_request_id() const;
  // The stored (write-only) secret of a registry config, for tests that check it arrived.
  std::optional<std::string> StoredSecret(const std::string& name) const;
  // The client metadata `key` of the last RPC, or nullopt if it was not sent.
  std::optional<std::string> LastMetadata(const std::string& key) const;
  // The last IssueRegistryToken request as received.
  v1::IssueRegistryTokenRequest last_token_request() const;
  // Seeds a pull token `workspaces/{ws}/pullTokens/{id}` of `app` (a full app name).
  void AddPullToken(const std::string& name, const std::string& app);
  // Seeds a refresh token `workspaces/{ws}/refreshTokens/{id}` with its secret.
  void AddRefreshToken(const std::string& name, const std::string& subject,
                       const std::string& secret);

  using Ctx = grpc::ServerContext;
  grpc::Status CreateWorkspace(Ctx*, const v1::CreateWorkspaceRequest*, v1::Workspace*) override;
  grpc::Status GetWorkspace(Ctx*, const v1::GetWorkspaceRequest*, v1::Workspace*) override;
  grpc::Status ListWorkspaces(Ctx*, const v1::ListWorkspacesRequest*,
                              v1::ListWorkspacesResponse*) override;
  grpc::Status UpdateWorkspace(Ctx*, const v1::UpdateWorkspaceRequest*, v1::Workspace*) override;
  grpc::Status DeleteWorkspace(Ctx*, const v1::DeleteWorkspaceRequest*,
                               google::protobuf::Empty*) override;
  grpc::Status CreateApp(Ctx*, const v1::CreateAppRequest*, v1::App*) override;
  grpc::Status GetApp(Ctx*, const v1::GetAppRequest*, v1::App*) override;
  grpc::Status ListApps(Ctx*, const v1::ListAppsRequest*, v1::ListAppsResponse*) override;
  grpc::Status UpdateApp(Ctx*, const v1::UpdateAppRequest*, v1::App*) override;
  grpc::Status DeleteApp(Ctx*, const v1::DeleteAppRequest*, google::protobuf::Empty*) override;
  grpc::Status CreateRegistryConfig(Ctx*, const v1::CreateRegistryConfigRequest*,
                                    v1::RegistryConfig*) override;
  grpc::Status GetRegistryConfig(Ctx*, const v1::GetRegistryConfigRequest*,
                                 v1::RegistryConfig*) override;
  grpc::Status ListRegistryConfigs(Ctx*, const v1::ListRegistryConfigsRequest*,
                                   v1::ListRegistryConfigsResponse*) override;
  grpc::Status UpdateRegistryConfig(Ctx*, const v1::UpdateRegistryConfigRequest*,
                                    v1::RegistryConfig*) override;
  grpc::Status DeleteRegistryConfig(Ctx*, const v1::DeleteRegistryConfigRequest*,
                                    google::protobuf::Empty*) override;
  grpc::Status RevokePullToken(Ctx*, const v1::RevokePullTokenRequest*,
                               v1::PullToken*) override;
  grpc::Status RevokePullTokens(Ctx*, const v1::RevokePullTokensRequest*,
                                v1::RevokePullTokensResponse*) override;
  grpc::Status ListPullTokens(Ctx*, const v1::ListPullTokensRequest*,
                              v1::ListPullTokensResponse*) override;
  grpc::Status CreateServiceAccount(Ctx*, const v1::CreateServiceAccountRequest*,
                                    v1::ServiceAccountCredentials*) override;
  grpc::Status GetServiceAccount(Ctx*, const v1::GetServiceAccountRequest*,
                                 v1::ServiceAccount*) override;
  grpc::Status ListServiceAccounts(Ctx*, const v1::ListServiceAccountsRequest*,
                                   v1::ListServiceAccountsResponse*) override;
  grpc::Status UpdateServiceAccount(Ctx*, const v1::UpdateServiceAccountRequest*,
                                    v1::ServiceAccount*) override;
  grpc::Status DeleteServiceAccount(Ctx*, const v1::DeleteServiceAccountRequest*,
                                    google::protobuf::Empty*) override;
  grpc::Status RegenerateServiceAccountSecret(Ctx*,
                                              const v1::RegenerateServiceAccountSecretRequest*,
                                              v1::ServiceAccountCredentials*) override;
  grpc::Status ListRefreshTokens(Ctx*, const v1::ListRefreshTokensRequest*,
                                 v1::ListRefreshTokensResponse*) override;
  grpc::Status RevokeRefreshToken(Ctx*, const v1::RevokeRefreshTokenRequest*,
                                  v1::RefreshToken*) override;
  grpc::Status IssueRegistryToken(Ctx*, const v1::IssueRegistryTokenRequest*,
                                  v1::IssueRegistryTokenResponse*) override;

 private:
  // Records the request id and consumes a pending injected failure. Requires mu_.
  std::optional<grpc::Status> Begin(Ctx* ctx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextEtag() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::optional<grpc::Status> next_error_ ABSL_GUARDED_BY(mu_);
  std::string last_request_id_ ABSL_GUARDED_BY(mu_);
  std::multimap<std::string, std::string> last_metadata_ ABSL_GUARDED_BY(mu_);
  v1::IssueRegistryTokenRequest last_token_request_ ABSL_GUARDED_BY(mu_);
  long token_counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, v1::PullToken> pull_tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::ServiceAccount> service_accounts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> account_secrets_ ABSL_GUARDED_BY(mu_);  // by username
  std::map<std::string, v1::RefreshToken> refresh_tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> refresh_secrets_ ABSL_GUARDED_BY(mu_);  // secret -> name
  long etag_counter_ ABSL_GUARDED_BY(mu_) = 0;
  // Keyed by resource name; std::map keeps list order by name (= by id within a parent).
  std::map<std::string, v1::Workspace> workspaces_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::App> apps_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::RegistryConfig> registries_ ABSL_GUARDED_BY(mu_);  // with secret
};

}  // namespace registryauth::gateway::testing

#endif  // REGISTRY_AUTH_GATEWAY_TESTING_FAKE_REGISTRY_AUTH_SERVICE_H_
