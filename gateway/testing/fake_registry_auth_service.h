// FakeRegistryAuthService: a small in-memory implementation of registryauth.v1's
// RegistryAuthService for the gateway and CLI tests, so they run against a real grpc::Server
// without the real service or a database. It follows the proto contract closely enough for
// those tests (ids, etags, paging, update masks, write-only secrets with hints, one default
// per workspace) but is not the product's logic. MintPullToken, GetCredentials and
// TestConnection stay UNIMPLEMENTED.
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

 private:
  // Records the request id and consumes a pending injected failure. Requires mu_.
  std::optional<grpc::Status> Begin(Ctx* ctx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextEtag() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::optional<grpc::Status> next_error_ ABSL_GUARDED_BY(mu_);
  std::string last_request_id_ ABSL_GUARDED_BY(mu_);
  long etag_counter_ ABSL_GUARDED_BY(mu_) = 0;
  // Keyed by resource name; std::map keeps list order by name (= by id within a parent).
  std::map<std::string, v1::Workspace> workspaces_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::App> apps_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::RegistryConfig> registries_ ABSL_GUARDED_BY(mu_);  // with secret
};

}  // namespace registryauth::gateway::testing

#endif  // REGISTRY_AUTH_GATEWAY_TESTING_FAKE_REGISTRY_AUTH_SERVICE_H_
