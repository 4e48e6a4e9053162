// The real registry-auth API for tests that need a working backend but no PostgreSQL: the
// gRPC adapter (api::RegistryAuthGrpcService) over the real services (RegistryService,
// RegistryAuth, TokenRealm) over the in-memory stores, with a fixed test key ring and a clock
// the test drives. This is the one place tests outside server/ build that stack, so a change to
// a service's constructor is made here once. Register service() on a grpc::ServerBuilder.
//
//   InMemoryStack stack;
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&stack.service());
//   ...
//   EXPECT_EQ(stack.StoredSecret("workspaces/acme/registries/gh"), "ghp_...");
//
// Callers are not authenticated (as the server's --insecure_allow_unauthenticated): every call
// may do everything. The token realm runs without a signing key, so its management RPCs work
// and IssueRegistryToken answers that no realm is configured. Thread-safe as the server is.
// Testing only.
#ifndef REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_
#define REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "api/call_auth.h"
#include "api/registry_auth_grpc.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "crypto/keyring.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "services/registry_auth.h"
#include "services/registry_service.h"
#include "services/token_realm.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::api::testing {

class InMemoryStack {
 public:
  // The clock starts at 2026-11-23T10:00:00Z.
  InMemoryStack();
  InMemoryStack(const InMemoryStack&) = delete;
  InMemoryStack& operator=(const InMemoryStack&) = delete;

  v1::RegistryAuthService::Service& service() { return grpc_service_; }
  FakeClock& clock() { return clock_; }
  storage::InMemoryRegistryStore& store() { return store_; }

  // The decrypted write-only secret of the registry configuration `name`
  // (`workspaces/{ws}/registries/{id}`), or nullopt when it has none or does not exist.
  std::optional<std::string> StoredSecret(std::string_view name);

 private:
  FakeClock clock_;
  std::unique_ptr<crypto::KeyRing> keys_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_{store_};
  services::RegistryService registry_service_;
  services::RegistryAuth registry_auth_;
  services::TokenRealm realm_;
  auth::PolicyHolder policy_{nullptr};
  CallAuthenticator authn_{policy_, /*allow_unauthenticated=*/true};
  RegistryAuthGrpcService grpc_service_;
};

}  // namespace registryauth::api::testing

#endif  // REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_
