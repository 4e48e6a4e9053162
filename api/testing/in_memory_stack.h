// The real registry-auth API for tests that need a working backend but no PostgreSQL: the
// gRPC adapter (api::RegistryAuthGrpcService) over the real services (RegistryService,
// RegistryAuth, TokenRealm) over the in-memory stores, with a fixed test key ring, a generated
// ES256 token-signing key and a clock the test drives. This is the one place tests outside
// server/ build that stack, so a change to a service's constructor is made here once.
//
//   InMemoryStack stack;
//   grpc::ServerBuilder builder;
//   stack.RegisterOn(builder);
//   ...
//   EXPECT_EQ(stack.StoredSecret("workspaces/acme/registries/gh"), "ghp_...");
//   stack.FailNextCall(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
//
// Callers are not authenticated (as the server's --insecure_allow_unauthenticated): every call
// may do everything. The token realm serves `kTokenService` ("registry.test") with tokens of
// 300 s, issuer "registry-auth", registry host "registry.test".
//
// Test hooks, through a server interceptor that RegisterOn installs: FailNextCall makes the next
// call of RegistryAuthService answer a given status (the service still runs it; a status a test
// forces is the client's view only), and the last call's client metadata and the last
// IssueRegistryToken request (as received, before the service wipes its secrets) are kept.
// These observe and override; they never decide what the service does.
//
// Thread-safe as the server is. Testing only.
#ifndef REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_
#define REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/call_auth.h"
#include "api/registry_auth_grpc.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "crypto/key_jwt_signer.h"
#include "crypto/keyring.h"
#include "grpcpp/server_builder.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "services/credential_service.h"
#include "services/guard.h"
#include "services/member_service.h"
#include "services/registry_auth.h"
#include "services/registry_event_log.h"
#include "services/registry_service.h"
#include "services/token_realm.h"
#include "services/token_services.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::api::testing {

class InMemoryStack {
 public:
  static constexpr char kTokenService[] = "registry.test";

  // The clock starts at 2026-11-23T10:00:00Z.
  InMemoryStack();
  ~InMemoryStack();
  InMemoryStack(const InMemoryStack&) = delete;
  InMemoryStack& operator=(const InMemoryStack&) = delete;

  // Registers the service and the test hooks' interceptor on `builder`.
  void RegisterOn(grpc::ServerBuilder& builder);

  FakeClock& clock() { return clock_; }
  // The gRPC service itself, for in-process calls (api/in_process_tokens.h).
  RegistryAuthGrpcService& grpc_service() { return grpc_service_; }
  storage::InMemoryRegistryStore& store() { return store_; }

  // The decrypted write-only secret of the registry configuration `name`
  // (`workspaces/{ws}/registries/{id}`), or nullopt when it has none or does not exist.
  std::optional<std::string> StoredSecret(std::string_view name);

  // The claims of a registry token this stack issued, verified (signature, iss, aud, times at
  // the stack's clock); an error for anything else.
  absl::StatusOr<nlohmann::json> VerifyToken(std::string_view token) const;

  // ---- Test hooks (see above)
  void FailNextCall(grpc::Status status);
  // The client metadata `key` of the last RegistryAuthService call, or nullopt if not sent.
  std::optional<std::string> LastMetadata(const std::string& key) const;
  // The last IssueRegistryToken request as received.
  v1::IssueRegistryTokenRequest last_token_request() const;

  // Shared with the interceptors (defined in the .cc).
  struct Hooks {
    mutable absl::Mutex mu;
    std::optional<grpc::Status> next_failure ABSL_GUARDED_BY(mu);
    std::multimap<std::string, std::string> last_metadata ABSL_GUARDED_BY(mu);
    v1::IssueRegistryTokenRequest last_token_request ABSL_GUARDED_BY(mu);
  };

 private:
  FakeClock clock_;
  std::unique_ptr<crypto::KeyRing> keys_;
  std::unique_ptr<crypto::KeyJwtSigner> signer_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_{store_};
  // Wired as server/server.cc wires them: one Guard in front of the domain services.
  services::Guard guard_{store_, clock_};
  services::RegistryService registry_service_;
  services::MemberService members_{store_, clock_};
  services::CredentialService credentials_;
  services::RegistryEventLog registry_events_{store_};
  services::RegistryAuth registry_auth_;
  services::TokenServices token_services_;
  services::TokenRealm realm_;
  auth::PolicyHolder policy_{nullptr};
  CallAuthenticator authn_{policy_, /*allow_unauthenticated=*/true};
  RegistryAuthGrpcService grpc_service_;
  Hooks hooks_;
};

}  // namespace registryauth::api::testing

#endif  // REGISTRY_AUTH_API_TESTING_IN_MEMORY_STACK_H_
