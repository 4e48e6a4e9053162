// Drives RegistryAuthGrpcService through a real in-process gRPC server on a loopback port,
// backed by the services/ fakes.
#include "api/registry_auth_grpc.h"

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "crypto/keyring.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "services/registry_service.h"
#include "services/testing/fake_aead.h"
#include "services/testing/registry_auth_stack.h"
#include "services/token_realm.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::api {
namespace {

constexpr char kPat[] = "ghp_GrpcAdapterTestPAT000000000000000f00d";
constexpr char kPatBody[] = "GrpcAdapterTestPAT";
constexpr char kWs[] = "workspaces/acme";

class RegistryAuthGrpcTest : public ::testing::Test {
 protected:
  RegistryAuthGrpcTest()
      // Microseconds: what the stores keep (PostgreSQL timestamptz, and the in-memory store).
      : clock_(absl::FromUnixSeconds(1700000000) + absl::Microseconds(123456)) {}

  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&grpc_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::RegistryAuthService::NewStub(channel_);

    v1::CreateWorkspaceRequest req;
    req.set_workspace_id("acme");
    req.mutable_workspace()->set_display_name("ACME");
    v1::Workspace ws;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateWorkspace(&ctx, req, &ws).ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status CreateGhcr(const std::string& id, const std::string& owner, const std::string& pat,
                          v1::RegistryConfig* out) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent(kWs);
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GHCR);
    c->mutable_ghcr()->set_owner(owner);
    c->set_secret(pat);
    grpc::ClientContext ctx;
    return stub_->CreateRegistryConfig(&ctx, req, out);
  }

  grpc::Status Get(const std::string& name, v1::RegistryConfig* out) {
    v1::GetRegistryConfigRequest req;
    req.set_name(name);
    grpc::ClientContext ctx;
    return stub_->GetRegistryConfig(&ctx, req, out);
  }

  static void ExpectNoSecret(const v1::RegistryConfig& c) {
    EXPECT_TRUE(c.secret().empty());
    std::string wire = c.SerializeAsString();
    EXPECT_FALSE(absl::StrContains(wire, kPatBody));
    EXPECT_FALSE(absl::StrContains(c.DebugString(), kPatBody));
  }

  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  services::testing::FakeAead aead_;
  FakeClock clock_;
  services::RegistryService service_{store_, aead_, clock_};
  services::testing::TestRegistryAuth registry_auth_{store_, service_, clock_};
  storage::InMemoryTokenStore tokens_{store_};
  std::unique_ptr<crypto::KeyRing> hash_keys_ = *crypto::KeyRing::Create(
      [] {
        std::vector<std::pair<std::uint32_t, SecretString>> keys;
        keys.emplace_back(1, SecretString(std::string(32, 'h')));
        return keys;
      }(),
      1);
  // No service configured: the realm is disabled; its management calls still work.
  services::TokenServices token_services_{store_,  tokens_, *hash_keys_,
                                          nullptr, clock_,  services::TokenRealmOptions{}};
  services::Guard guard_{store_, clock_};
  services::TokenRealm realm_{guard_, token_services_};
  auth::PolicyHolder policy_{nullptr};
  CallAuthenticator authn_{policy_, /*allow_unauthenticated=*/true};
  RegistryAuthGrpcService grpc_service_{registry_auth_, realm_, authn_};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryAuthService::Stub> stub_;
};

TEST_F(RegistryAuthGrpcTest, GhcrConfigLifecycleNeverReturnsThePat) {
  v1::RegistryConfig created;
  grpc::Status s = CreateGhcr("gh", "acme", kPat, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.name(), "workspaces/acme/registries/gh");
  EXPECT_EQ(created.type(), v1::GHCR);
  EXPECT_EQ(created.ghcr().owner(), "acme");
  EXPECT_TRUE(created.has_secret());
  EXPECT_EQ(created.secret_hint(),
            "ghp_\xE2\x80\xA6"
            "f00d");
  EXPECT_EQ(created.validation_status(), v1::PENDING);
  EXPECT_FALSE(created.has_validated_at());
  EXPECT_EQ(created.etag(), "\"1\"");
  EXPECT_EQ(created.create_time().seconds(), 1700000000);
  EXPECT_EQ(created.create_time().nanos(), 123456000);
  ExpectNoSecret(created);

  v1::RegistryConfig got;
  ASSERT_TRUE(Get(created.name(), &got).ok());
  EXPECT_TRUE(got.has_secret());
  EXPECT_EQ(got.secret_hint(), created.secret_hint());
  ExpectNoSecret(got);

  // Update without a PAT keeps it.
  clock_.Advance(absl::Seconds(10));
  v1::UpdateRegistryConfigRequest up;
  up.mutable_registry_config()->set_name(created.name());
  up.mutable_registry_config()->set_display_name("Main GHCR");
  up.mutable_registry_config()->set_etag(created.etag());
  up.mutable_update_mask()->add_paths("display_name");
  up.mutable_update_mask()->add_paths("secret");
  v1::RegistryConfig updated;
  {
    grpc::ClientContext ctx;
    s = stub_->UpdateRegistryConfig(&ctx, up, &updated);
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(updated.display_name(), "Main GHCR");
  EXPECT_TRUE(updated.has_secret());
  EXPECT_EQ(updated.etag(), "\"2\"");
  EXPECT_EQ(updated.update_time().seconds(), 1700000010);
  ExpectNoSecret(updated);
  absl::StatusOr<RegistryConfig> model = service_.GetRegistryConfig(created.name());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(service_.DecryptSecret(*model)->view(), kPat);

  // The same (now stale) etag again: ABORTED.
  {
    grpc::ClientContext ctx;
    v1::RegistryConfig ignored;
    s = stub_->UpdateRegistryConfig(&ctx, up, &ignored);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);

  v1::DeleteRegistryConfigRequest del;
  del.set_name(created.name());
  del.set_etag(updated.etag());
  google::protobuf::Empty empty;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->DeleteRegistryConfig(&ctx, del, &empty).ok());
  }
  s = Get(created.name(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "workspaces/acme/registries/gh: not found");
}

TEST_F(RegistryAuthGrpcTest, ListPagesThroughTokens) {
  for (const char* id : {"r1", "r2", "r3"}) {
    v1::RegistryConfig c;
    ASSERT_TRUE(CreateGhcr(id, "acme", kPat, &c).ok());
  }
  v1::ListRegistryConfigsRequest req;
  req.set_parent(kWs);
  req.set_page_size(2);
  v1::ListRegistryConfigsResponse p1;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListRegistryConfigs(&ctx, req, &p1).ok());
  }
  ASSERT_EQ(p1.registry_configs_size(), 2);
  EXPECT_EQ(p1.registry_configs(0).name(), "workspaces/acme/registries/r1");
  ASSERT_FALSE(p1.next_page_token().empty());
  for (const v1::RegistryConfig& c : p1.registry_configs()) {
    EXPECT_TRUE(c.has_secret());
    ExpectNoSecret(c);
  }
  req.set_page_token(p1.next_page_token());
  v1::ListRegistryConfigsResponse p2;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListRegistryConfigs(&ctx, req, &p2).ok());
  }
  ASSERT_EQ(p2.registry_configs_size(), 1);
  EXPECT_EQ(p2.registry_configs(0).name(), "workspaces/acme/registries/r3");
  EXPECT_TRUE(p2.next_page_token().empty());

  req.set_page_token("not-a-token");
  grpc::ClientContext ctx;
  grpc::Status s = stub_->ListRegistryConfigs(&ctx, req, &p2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "page_token")) << s.error_message();
}

TEST_F(RegistryAuthGrpcTest, InvalidArgumentNamesFieldsWithoutSecrets) {
  v1::RegistryConfig out;
  grpc::Status s = CreateGhcr("gh", "", kPat, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.ghcr.owner: "))
      << s.error_message();

  s = CreateGhcr("gh", "acme", std::string(kPat) + " x", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.secret: "));
  EXPECT_FALSE(absl::StrContains(s.error_message(), kPatBody));

  s = CreateGhcr("Bad_Id", "acme", kPat, &out);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_id: ")) << s.error_message();

  v1::CreateRegistryConfigRequest req;  // no registry_config at all
  req.set_parent(kWs);
  req.set_registry_id("x");
  {
    grpc::ClientContext ctx;
    s = stub_->CreateRegistryConfig(&ctx, req, &out);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.type: ")) << s.error_message();

  // ACR settings under a GHCR type.
  req.mutable_registry_config()->set_type(v1::GHCR);
  req.mutable_registry_config()->mutable_acr()->set_login_server("r.azurecr.io");
  {
    grpc::ClientContext ctx;
    s = stub_->CreateRegistryConfig(&ctx, req, &out);
  }
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.acr: ")) << s.error_message();

  v1::UpdateRegistryConfigRequest up;  // no registry_config: no name
  {
    grpc::ClientContext ctx;
    s = stub_->UpdateRegistryConfig(&ctx, up, &out);
  }
  EXPECT_EQ(s.error_message(), "registry_config.name: required");

  v1::GetWorkspaceRequest gw;
  gw.set_name("workspaces/acme/apps/x");
  v1::Workspace w;
  {
    grpc::ClientContext ctx;
    s = stub_->GetWorkspace(&ctx, gw, &w);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "name: must be workspaces/{workspace}"));
}

TEST_F(RegistryAuthGrpcTest, OutputOnlyFieldsInRequestsAreIgnored) {
  v1::CreateRegistryConfigRequest req;
  req.set_parent(kWs);
  req.set_registry_id("gh");
  v1::RegistryConfig* c = req.mutable_registry_config();
  c->set_name("workspaces/evil/registries/other");
  c->set_type(v1::GHCR);
  c->mutable_ghcr()->set_owner("acme");
  c->set_secret(kPat);
  c->set_has_secret(false);
  c->set_secret_hint("forged");
  c->set_validation_status(v1::VALID);
  c->set_etag("\"99\"");
  c->mutable_create_time()->set_seconds(1);
  v1::RegistryConfig out;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->CreateRegistryConfig(&ctx, req, &out).ok());
  EXPECT_EQ(out.name(), "workspaces/acme/registries/gh");
  EXPECT_TRUE(out.has_secret());
  EXPECT_NE(out.secret_hint(), "forged");
  EXPECT_EQ(out.validation_status(), v1::PENDING);
  EXPECT_EQ(out.etag(), "\"1\"");
  EXPECT_EQ(out.create_time().seconds(), 1700000000);
}

TEST_F(RegistryAuthGrpcTest, AppsAndWorkspaces) {
  v1::RegistryConfig rc;
  ASSERT_TRUE(CreateGhcr("gh", "acme", kPat, &rc).ok());
  v1::CreateAppRequest req;
  req.set_parent(kWs);
  req.set_app_id("web");
  req.mutable_app()->set_display_name("Web");
  req.mutable_app()->set_registry_config(rc.name());
  req.mutable_app()->set_repository("forged/repo");
  v1::App app;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateApp(&ctx, req, &app);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(app.name(), "workspaces/acme/apps/web");
  EXPECT_EQ(app.repository(), "acme/web");
  EXPECT_EQ(app.registry_config(), rc.name());

  v1::ListWorkspacesRequest lw;
  v1::ListWorkspacesResponse workspaces;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListWorkspaces(&ctx, lw, &workspaces).ok());
  }
  ASSERT_EQ(workspaces.workspaces_size(), 1);
  EXPECT_EQ(workspaces.workspaces(0).name(), kWs);
  EXPECT_EQ(workspaces.workspaces(0).display_name(), "ACME");

  v1::DeleteWorkspaceRequest dw;
  dw.set_name(kWs);
  google::protobuf::Empty empty;
  grpc::Status s;
  {
    grpc::ClientContext ctx;
    s = stub_->DeleteWorkspace(&ctx, dw, &empty);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  dw.set_force(true);
  {
    grpc::ClientContext ctx;
    s = stub_->DeleteWorkspace(&ctx, dw, &empty);
  }
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(RegistryAuthGrpcTest, AdapterWipesTheRequestSecret) {
  // Called directly (as the gRPC runtime does) to inspect the request afterwards.
  v1::CreateRegistryConfigRequest req;
  req.set_parent(kWs);
  req.set_registry_id("gh");
  req.mutable_registry_config()->set_type(v1::GHCR);
  req.mutable_registry_config()->mutable_ghcr()->set_owner("acme");
  req.mutable_registry_config()->set_secret(kPat);
  grpc::ServerContext ctx;
  v1::RegistryConfig out;
  ASSERT_TRUE(grpc_service_.CreateRegistryConfig(&ctx, &req, &out).ok());
  EXPECT_TRUE(req.registry_config().secret().empty());
  EXPECT_TRUE(out.has_secret());
  absl::StatusOr<RegistryConfig> model = service_.GetRegistryConfig(out.name());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(service_.DecryptSecret(*model)->view(), kPat);
}

TEST_F(RegistryAuthGrpcTest, WithoutARealmTokensAreFailedPrecondition) {
  grpc::Status s;
  {
    grpc::ClientContext ctx;
    v1::MintPullTokenRequest req;
    req.set_app("workspaces/acme/apps/web");
    v1::MintPullTokenResponse resp;
    s = stub_->MintPullToken(&ctx, req, &resp);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "token realm is not configured"));
  {
    grpc::ClientContext ctx;
    v1::IssueRegistryTokenRequest req;
    req.set_service("registry");
    v1::IssueRegistryTokenResponse resp;
    s = stub_->IssueRegistryToken(&ctx, req, &resp);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

// The HTTP gateway's in-process path runs the same method: the same answer, the request id
// kept when usable (else a new one), and the password wiped from the request.
TEST_F(RegistryAuthGrpcTest, InProcessTokenCallsRunTheSameMethod) {
  v1::IssueRegistryTokenRequest req;
  req.set_service("registry");
  req.set_username("acme+ci");
  req.set_password("in-process-password");
  v1::IssueRegistryTokenResponse resp;
  std::string request_id;
  grpc::Status s = grpc_service_.IssueRegistryTokenInProcess({"req-in-process-1", "203.0.113.5"},
                                                             req, &resp, &request_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(request_id, "req-in-process-1");
  EXPECT_TRUE(req.password().empty());

  s = grpc_service_.IssueRegistryTokenInProcess({"bad id with spaces", ""}, req, &resp,
                                                &request_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(request_id.size(), 32u) << request_id;  // a new 128-bit hex id
  EXPECT_NE(request_id, "bad id with spaces");
}

// New request ids come from a per-thread buffer of random bytes refilled every 16 ids: across
// several refills, on several threads, every id is 32 hex digits and none repeats.
TEST_F(RegistryAuthGrpcTest, NewRequestIdsAreDistinctAcrossBufferRefillsAndThreads) {
  constexpr int kThreads = 3, kPerThread = 50;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        v1::IssueRegistryTokenRequest req;
        req.set_service("registry");
        v1::IssueRegistryTokenResponse resp;
        std::string id;
        grpc_service_.IssueRegistryTokenInProcess({"", ""}, req, &resp, &id).IgnoreError();
        ids[static_cast<size_t>(t)].push_back(id);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<std::string> distinct;
  for (const auto& per_thread : ids) {
    for (const std::string& id : per_thread) {
      EXPECT_EQ(id.size(), 32u) << id;
      EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
      distinct.insert(id);
    }
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(RegistryAuthGrpcTest, LaterFeaturesAreUnimplemented) {
  grpc::Status s;
  {
    grpc::ClientContext ctx;
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::TestConnectionResponse resp;
    s = stub_->TestConnection(&ctx, req, &resp);
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "TestConnection"));
}

TEST_F(RegistryAuthGrpcTest, GetCredentialsReturnsTheSecretAndAuditsTheCall) {
  constexpr char kPat[] = "ghp_canaryCANARYcanary0123456789abcdef";
  // The fixture created workspaces/acme.
  {
    grpc::ClientContext ctx;
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id("gh");
    req.mutable_registry_config()->set_type(v1::GHCR);
    req.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
    req.mutable_registry_config()->set_secret(kPat);
    v1::RegistryConfig out;
    ASSERT_TRUE(stub_->CreateRegistryConfig(&ctx, req, &out).ok());
    EXPECT_EQ(out.secret(), "");
  }
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "req-canary-1");
  v1::GetCredentialsRequest req;
  req.set_name("workspaces/acme/registries/gh");
  v1::GetCredentialsResponse out;
  grpc::Status s = stub_->GetCredentials(&ctx, req, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.registry_host(), "ghcr.io");
  EXPECT_EQ(out.username(), "acme-org");
  EXPECT_EQ(out.secret(), kPat);
  EXPECT_EQ(out.repository_namespace(), "acme-org");
  EXPECT_EQ(out.type(), v1::GHCR);
  auto id = ctx.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(id, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(id->second.data(), id->second.size()), "req-canary-1");

  absl::StatusOr<Page<AuditEvent>> audit = store_.ListAuditEvents(AuditFilter{}, 10, 0);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->items.empty());
  const AuditEvent& last = audit->items.front();
  EXPECT_EQ(last.action, "GetCredentials");
  EXPECT_EQ(last.resource, "workspaces/acme/registries/gh");
  EXPECT_EQ(last.outcome, "OK");
  EXPECT_EQ(last.request_id, "req-canary-1");
  EXPECT_EQ(last.caller, "dev:unauthenticated");
  for (const AuditEvent& e : audit->items) {
    EXPECT_FALSE(absl::StrContains(e.detail, kPat));
  }
}

TEST_F(RegistryAuthGrpcTest, IncompleteCredentialsCarryAMachineReadableReason) {
  // The fixture created workspaces/acme.
  {
    grpc::ClientContext ctx;
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id("gh");
    req.mutable_registry_config()->set_type(v1::DISTRIBUTION);
    req.mutable_registry_config()->mutable_distribution()->set_url("https://reg.example.com");
    req.mutable_registry_config()->mutable_distribution()->set_repository_namespace("acme");
    v1::RegistryConfig out;
    grpc::Status created = stub_->CreateRegistryConfig(&ctx, req, &out);  // no credential yet
    ASSERT_TRUE(created.ok()) << created.error_message();
  }
  grpc::ClientContext ctx;
  v1::GetCredentialsRequest req;
  req.set_name("workspaces/acme/registries/gh");
  v1::GetCredentialsResponse out;
  grpc::Status s = stub_->GetCredentials(&ctx, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::RpcStatus details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  v1::ErrorDetail d;
  ASSERT_TRUE(details.details(0).UnpackTo(&d));
  EXPECT_EQ(d.reason(), "INCOMPLETE_CREDENTIALS");
  EXPECT_EQ(d.category(), v1::ErrorDetail::AUTHENTICATION);
  EXPECT_FALSE(d.retryable());

  grpc::ClientContext missing_ctx;
  req.set_name("workspaces/acme/registries/nope");
  EXPECT_EQ(stub_->GetCredentials(&missing_ctx, req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace registryauth::api
