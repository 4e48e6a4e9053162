// One builder for the world of an end-to-end test: a fresh PostgreSQL database with the schema
// (cloned from a template migrated once per cluster), the real server stack (LiveServer) with
// its key ring, an optional caller policy with generated API keys, an optional token realm with
// its signing keys, seeded workspaces and apps, and an optional fake clock the test advances
// instead of sleeping through an expiry or a cache lifetime.
//
//   REGAUTH_SKIP_WITHOUT_PG();
//   absl::StatusOr<std::unique_ptr<TestStack>> stack =
//       TestStack::Builder()
//           .WithTokenRealm("registry.test", "registry-auth-e2e")
//           .WithCaller("admin", "registries.manage tokens.mint")  // policy + API key
//           .WithCaller("node", "tokens.mint", "acme")  // confined to workspace acme
//           .WithWorkspace("acme")
//           .WithApp("acme", "web")
//           .WithFakeClock()
//           .Configure([](server::ServerConfig& c) { c.token_cache_ttl = absl::Seconds(1); })
//           .Build();
//   ASSERT_TRUE(stack.ok()) << stack.status();
//   (*stack)->stub().GetWorkspace((*stack)->Ctx("admin").get(), req, &out);
//   (*stack)->clock().Advance(absl::Seconds(2));  // the realm's cached answers expire
//
// Without callers the server runs in the local-development mode (unauthenticated callers get
// every permission). Seeding goes through the gRPC API, as the first caller with
// registries.manage (or anonymously without a policy). The configuration's order: LiveServer's
// test defaults, then what the builder's With* set, then Configure, then StartServer's own
// `customize`. Several servers (replicas, restarts) share the database, the key ring, the
// policy, the signing keys and the clock. Thread-compatible.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_TEST_STACK_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_TEST_STACK_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/secret.h"
#include "grpcpp/client_context.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/testing/pg_test_db.h"
#include "tests/support/live_server.h"

namespace registryauth::testing {

class TestStack {
 public:
  using Customize = std::function<void(server::ServerConfig&)>;

  class Builder {
   public:
    // A caller of the policy with an API key the stack generates (api_key(name)), and the
    // space-separated `permissions` (auth/policy.h). Any caller turns the policy on.
    // `workspaces` (space-separated ids, or "*"; empty: no line) confines the caller to them
    // (the policy's `workspaces` line).
    Builder& WithCaller(std::string name, std::string permissions, std::string workspaces = "");
    // A caller of the policy known by its client certificate's identity (e.g. "cn:deployer" or
    // a SPIFFE id), for mutual-TLS tests.
    Builder& WithIdentityCaller(std::string name, std::string identity, std::string permissions);
    // The token realm on: a signing-key set written into dir() (WriteTestSigningKeys), exported
    // as a rootcertbundle at rootcertbundle_path(); registry_host is `service`:5000 unless
    // Configure says otherwise.
    Builder& WithTokenRealm(std::string service, std::string issuer = "registry-auth");
    // Created through the API once the server has started.
    Builder& WithWorkspace(std::string id);
    Builder& WithApp(std::string workspace, std::string app, bool public_pull = false);
    // Every server of the stack runs on a FakeClock (clock()) that starts at the real now.
    Builder& WithFakeClock();
    // The database without the schema: the server's start-up migrates it.
    Builder& WithEmptyDatabase();
    // Build() leaves the server down: the test calls StartServer (e.g. after capturing stderr).
    Builder& WithoutServer();
    // Applied to every server's configuration after the With* settings.
    Builder& Configure(Customize customize);

    absl::StatusOr<std::unique_ptr<TestStack>> Build();

   private:
    friend class TestStack;
    struct Caller {
      std::string name;
      std::string identity;  // empty: an API key
      std::string permissions;
      std::string workspaces;  // empty: no `workspaces` line
    };
    std::vector<Caller> callers_;
    std::string token_service_;
    std::string token_issuer_;
    std::vector<std::string> workspaces_;
    struct AppSeed {
      std::string workspace;
      std::string app;
      bool public_pull = false;
    };
    std::vector<AppSeed> apps_;
    bool fake_clock_ = false;
    bool empty_database_ = false;
    bool start_server_ = true;
    std::vector<Customize> customize_;
  };

  TestStack(const TestStack&) = delete;
  TestStack& operator=(const TestStack&) = delete;
  ~TestStack();

  // Starts the server (again after StopServer), with `customize` applied last; seeds the
  // workspaces and apps on the first start.
  absl::Status StartServer(const Customize& customize = nullptr);
  void StopServer();
  // Another server on the same database, key ring, policy, signing keys and clock (a replica).
  absl::StatusOr<std::unique_ptr<LiveServer>> StartReplica(const Customize& customize = nullptr);
  // The HTTP adapter alone (--http_upstream) in front of this stack's gRPC port.
  absl::StatusOr<std::unique_ptr<server::HttpAdapterOnly>> StartAdapterOnly();

  PgTestDb& db() { return *db_; }
  const std::string& dsn() const { return db_->dsn(); }
  // A private temp folder for the test's files (policy, signing keys, anything else).
  const std::string& dir() const { return dir_; }
  // The running server (StartServer or Build).
  LiveServer& live() { return *live_; }
  bool running() const { return live_ != nullptr; }
  server::RegistryAuthServer& server() { return live_->server(); }
  v1::RegistryAuthService::Stub& stub() { return live_->stub(); }
  int grpc_port() { return live_->server().grpc_port(); }
  int http_port() { return live_->server().http_port(); }
  // WithFakeClock only.
  FakeClock& clock() { return *clock_; }
  // The API key of a WithCaller caller; empty for an unknown name.
  std::string api_key(const std::string& caller) const;
  // A context with a 10 s deadline carrying the caller's API key (none for "").
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& caller = "") const;
  // The policy file (empty without callers) and its text, for tests that rewrite it.
  const std::string& policy_file() const { return policy_file_; }
  std::string PolicyText() const;
  // WithTokenRealm only.
  const std::string& signing_keys_file() const { return signing_keys_file_; }
  const std::string& rootcertbundle_path() const { return rootcertbundle_path_; }

 private:
  explicit TestStack(Builder builder) : builder_(std::move(builder)) {}
  void Configure(server::ServerConfig& config, const Customize& customize) const;
  absl::Status Seed();

  Builder builder_;
  std::unique_ptr<PgTestDb> db_;
  std::string dir_;
  SecretString keys_text_;
  std::shared_ptr<FakeClock> clock_;
  std::map<std::string, std::string> api_keys_;
  std::string policy_file_;
  std::string signing_keys_file_;
  std::string rootcertbundle_path_;
  std::unique_ptr<LiveServer> live_;
  bool seeded_ = false;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_TEST_STACK_H_
