// End-to-end: who may call. The real server (RegistryAuthServer) with real TLS and mutual TLS on
// its gRPC port, certificates made by the test with OpenSSL (tests/support/test_certs.h), a
// caller policy file, API keys, and act-as-user calls against workspace members stored in a real
// PostgreSQL. Every call goes over a loopback TCP connection.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "auth/policy.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/support/live_server.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::CertKey;
using testing::DetailOf;
using testing::TestPki;

constexpr char kPat[] = "ghp_TrustedCallersTestPat0123456789abcdef";
constexpr char kWorker[] = "spiffe://example.org/build-worker";
constexpr char kFrontend[] = "spiffe://example.org/frontend";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  ASSERT_TRUE(out.good()) << path;
  ::chmod(path.c_str(), 0600);
}

// How a test client authenticates.
struct Caller {
  std::shared_ptr<grpc::Channel> channel;
  std::string api_key;      // sent as x-api-key when set
  std::string bearer;       // sent as authorization: Bearer when set
  std::string acting_user;  // sent as x-registryauth-user when set

  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto ctx = testing::Ctx();
    if (!api_key.empty()) ctx->AddMetadata("x-api-key", api_key);
    if (!bearer.empty()) ctx->AddMetadata("authorization", "Bearer " + bearer);
    if (!acting_user.empty()) ctx->AddMetadata("x-registryauth-user", acting_user);
    return ctx;
  }
  std::unique_ptr<v1::RegistryAuthService::Stub> Stub() const {
    return v1::RegistryAuthService::NewStub(channel);
  }
};

class TrustedCallersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder()
                     .WithIdentityCaller("build-worker", kWorker, "credentials.read")
                     .WithIdentityCaller("deployer", "cn:deployer", "tokens.mint")
                     .WithCaller("admin-tool", "registries.manage")
                     .WithCaller("dashboard", "registries.read")
                     .WithIdentityCaller("frontend", kFrontend, "registries.manage act_as_user")
                     .WithoutServer()
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_key_ = stack_->api_key("admin-tool");
    reader_key_ = stack_->api_key("dashboard");

    auto pki = TestPki::Create("registry-auth e2e CA");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    auto server_cert = pki_->IssueServer();
    ASSERT_TRUE(server_cert.ok()) << server_cert.status();

    dir_ = stack_->dir();
    WriteFile(dir_ + "/server.pem", server_cert->cert_pem);
    WriteFile(dir_ + "/server.key", server_cert->key_pem);
    WriteFile(dir_ + "/ca.pem", pki_->ca().cert_pem);
  }

  std::string PolicyPath() const { return stack_->policy_file(); }

  // The stack's policy; the reload test gives the deployer `deployer_extra` too.
  std::string Policy(const std::string& deployer_extra) const {
    return absl::StrReplaceAll(
        stack_->PolicyText(),
        {{"identity cn:deployer\n  permissions tokens.mint\n",
          absl::StrCat("identity cn:deployer\n  permissions tokens.mint ", deployer_extra, "\n")}});
  }

  void StartServer(const std::string& client_auth) {
    absl::Status started = stack_->StartServer([&](server::ServerConfig& c) {
      c.tls_cert_file = dir_ + "/server.pem";
      c.tls_key_file = dir_ + "/server.key";
      c.tls_client_ca_file = dir_ + "/ca.pem";
      c.tls_client_auth = client_auth;
    });
    ASSERT_TRUE(started.ok()) << started;
    live_ = &stack_->live();
    target_ = absl::StrCat("localhost:", live_->server().grpc_port());
  }

  // A TLS channel that trusts the test CA, optionally presenting a client certificate.
  std::shared_ptr<grpc::Channel> TlsChannel(const CertKey* client,
                                            const std::string& root_pem = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = root_pem.empty() ? pki_->ca().cert_pem : root_pem;
    if (client != nullptr) {
      options.pem_cert_chain = client->cert_pem;
      options.pem_private_key = client->key_pem;
    }
    grpc::ChannelArguments args;
    // A fresh connection per channel, so one test's handshake never reuses another's.
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(target_, grpc::SslCredentials(options), args);
  }

  Caller ClientCertCaller(const std::string& cn, const std::string& spiffe = "") {
    auto cert = spiffe.empty() ? pki_->IssueClient(cn) : pki_->IssueClient(cn, spiffe);
    EXPECT_TRUE(cert.ok()) << cert.status();
    certs_.push_back(*cert);
    return Caller{TlsChannel(&certs_.back())};
  }

  Caller AdminTool() { return Caller{TlsChannel(nullptr), admin_key_}; }

  // Workspace `acme` with a GHCR config, created by the admin tool.
  void SeedWorkspace() {
    Caller admin = AdminTool();
    auto stub = admin.Stub();
    v1::CreateWorkspaceRequest ws;
    ws.set_workspace_id("acme");
    v1::Workspace w;
    grpc::Status s = stub->CreateWorkspace(admin.Ctx().get(), ws, &w);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id("gh");
    req.mutable_registry_config()->set_type(v1::GHCR);
    req.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
    req.mutable_registry_config()->set_secret(kPat);
    v1::RegistryConfig out;
    s = stub->CreateRegistryConfig(admin.Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status GetCredentials(const Caller& caller, v1::GetCredentialsResponse* out) {
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/gh");
    return caller.Stub()->GetCredentials(caller.Ctx().get(), req, out);
  }

  std::vector<v1::AuditEvent> AuditOf(const std::string& caller_identity) {
    Caller admin = AdminTool();
    v1::ListAuditEventsRequest req;
    req.set_caller(caller_identity);
    req.set_page_size(100);
    v1::ListAuditEventsResponse out;
    grpc::Status s = admin.Stub()->ListAuditEvents(admin.Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.audit_events().begin(), out.audit_events().end()};
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::unique_ptr<TestPki> pki_;
  std::string dir_;
  std::string admin_key_;
  std::string reader_key_;
  std::vector<CertKey> certs_;
  testing::LiveServer* live_ = nullptr;
  std::string target_;
};

TEST_F(TrustedCallersTest, MtlsCallerWithThePermissionGetsCredentialsAndIsAudited) {
  StartServer("optional");  // so the admin tool can seed with its API key
  SeedWorkspace();
  Caller worker = ClientCertCaller("build-worker", kWorker);

  v1::GetCredentialsResponse creds;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("x-request-id", "req-mtls-worker-1");
  v1::GetCredentialsRequest req;
  req.set_name("workspaces/acme/registries/gh");
  grpc::Status s = worker.Stub()->GetCredentials(&ctx, req, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.secret(), kPat);
  EXPECT_EQ(creds.registry_host(), "ghcr.io");
  EXPECT_EQ(creds.username(), "acme-org");
  auto echoed = ctx.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(echoed, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), "req-mtls-worker-1");

  std::vector<v1::AuditEvent> events = AuditOf(kWorker);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action(), "GetCredentials");
  EXPECT_EQ(events[0].outcome(), "OK");
  EXPECT_EQ(events[0].resource(), "workspaces/acme/registries/gh");
  EXPECT_EQ(events[0].request_id(), "req-mtls-worker-1");
  EXPECT_TRUE(absl::StrContains(events[0].peer(), "127.0.0.1")) << events[0].peer();
}

TEST_F(TrustedCallersTest, RequiredClientCertificate) {
  StartServer("require");
  // The right CA, the right identity: in.
  Caller worker = ClientCertCaller("build-worker", kWorker);
  v1::GetCredentialsResponse creds;
  grpc::Status s = GetCredentials(worker, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();  // no config yet

  // No certificate at all: the handshake fails (the API key does not help here).
  Caller keyed{TlsChannel(nullptr), admin_key_};
  v1::ListWorkspacesResponse list;
  s = keyed.Stub()->ListWorkspaces(keyed.Ctx().get(), v1::ListWorkspacesRequest(), &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  // Plaintext to the TLS port never gets an answer from the service.
  auto plain = v1::RegistryAuthService::NewStub(
      grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  s = plain->ListWorkspaces(testing::Ctx().get(), v1::ListWorkspacesRequest(), &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TrustedCallersTest, CertificateFromAnotherCaIsRefusedAtTheHandshake) {
  StartServer("optional");
  SeedWorkspace();
  auto other_pki = TestPki::Create("some other CA");
  ASSERT_TRUE(other_pki.ok());
  // Same SPIFFE id as the real build worker, but signed by a CA the server does not trust.
  auto forged = other_pki->IssueClient("build-worker", kWorker);
  ASSERT_TRUE(forged.ok());
  Caller impostor{TlsChannel(&*forged)};
  v1::GetCredentialsResponse creds;
  grpc::Status s = GetCredentials(impostor, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(creds.secret(), "");
  // The connection never became usable: the server refused during the handshake.
  EXPECT_NE(impostor.channel->GetState(false), GRPC_CHANNEL_READY);
  // Refused at the handshake means the service never saw a call: no audit row.
  EXPECT_TRUE(AuditOf(kWorker).empty());

  // The same holds for a server certificate the client does not trust (the other direction).
  Caller wrong_roots{TlsChannel(nullptr, other_pki->ca().cert_pem), admin_key_};
  v1::ListWorkspacesResponse list;
  s = wrong_roots.Stub()->ListWorkspaces(wrong_roots.Ctx().get(), v1::ListWorkspacesRequest(),
                                         &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TrustedCallersTest, KnownCallerWithoutThePermissionIsDenied) {
  StartServer("optional");
  SeedWorkspace();
  Caller deployer = ClientCertCaller("deployer");  // cn:deployer: tokens.mint only
  v1::GetCredentialsResponse creds;
  grpc::Status s = GetCredentials(deployer, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(creds.secret(), "");
  EXPECT_TRUE(absl::StrContains(s.error_message(), "credentials.read")) << s.error_message();
  v1::ErrorDetail detail = DetailOf(s);
  EXPECT_EQ(detail.reason(), "PERMISSION_DENIED");
  EXPECT_EQ(detail.category(), v1::ErrorDetail::PERMISSION);
  EXPECT_FALSE(detail.retryable());

  // The build worker may read credentials but not change configurations.
  Caller worker = ClientCertCaller("build-worker", kWorker);
  v1::DeleteRegistryConfigRequest del;
  del.set_name("workspaces/acme/registries/gh");
  google::protobuf::Empty empty;
  s = worker.Stub()->DeleteRegistryConfig(worker.Ctx().get(), del, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_TRUE(GetCredentials(worker, &creds).ok());  // still there
  EXPECT_EQ(creds.secret(), kPat);

  // A read-only API key may read configurations but not fetch secrets.
  Caller dashboard{TlsChannel(nullptr), reader_key_};
  v1::RegistryConfig config;
  v1::GetRegistryConfigRequest get;
  get.set_name("workspaces/acme/registries/gh");
  s = dashboard.Stub()->GetRegistryConfig(dashboard.Ctx().get(), get, &config);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(config.secret(), "");
  s = GetCredentials(dashboard, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The refusal is on record, with the caller's identity.
  std::vector<v1::AuditEvent> events = AuditOf("cn:deployer");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action(), "GetCredentials");
  EXPECT_EQ(events[0].outcome(), "PERMISSION_DENIED");
}

TEST_F(TrustedCallersTest, UnknownCallersAreUnauthenticated) {
  StartServer("optional");
  SeedWorkspace();
  // A valid certificate from the trusted CA whose identity the policy does not list.
  Caller stranger = ClientCertCaller("stranger", "spiffe://example.org/stranger");
  v1::GetCredentialsResponse creds;
  grpc::Status s = GetCredentials(stranger, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();

  // TLS without a certificate and without a key.
  Caller nobody{TlsChannel(nullptr)};
  s = GetCredentials(nobody, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(creds.secret(), "");
}

TEST_F(TrustedCallersTest, ApiKeysRightAndWrong) {
  StartServer("optional");
  SeedWorkspace();
  v1::ListWorkspacesResponse list;
  auto list_with = [&](const Caller& c) {
    list.Clear();
    return c.Stub()->ListWorkspaces(c.Ctx().get(), v1::ListWorkspacesRequest(), &list);
  };

  grpc::Status s = list_with(Caller{TlsChannel(nullptr), admin_key_});
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.workspaces_size(), 1);

  Caller bearer{TlsChannel(nullptr)};
  bearer.bearer = admin_key_;
  s = list_with(bearer);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // A well-formed key that is not in the policy, and one that differs in its last character.
  auto unknown = auth::GenerateApiKey();
  ASSERT_TRUE(unknown.ok());
  std::string near_miss = admin_key_;
  near_miss.back() = near_miss.back() == 'A' ? 'B' : 'A';
  for (const std::string& wrong : {std::string(unknown->view()), near_miss}) {
    s = list_with(Caller{TlsChannel(nullptr), wrong});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_FALSE(absl::StrContains(s.error_message(), wrong));
    EXPECT_EQ(list.workspaces_size(), 0);
  }

  // Malformed keys: blank, with a space, over-long (gRPC clients cannot send non-ASCII
  // values; the parser's fuzz target covers those); and a key sent two ways at once.
  for (const std::string& bad : {std::string(" "), admin_key_ + " x", std::string(5000, 'k')}) {
    s = list_with(Caller{TlsChannel(nullptr), bad});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  Caller both{TlsChannel(nullptr), admin_key_};
  both.bearer = admin_key_;
  s = list_with(both);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();

  // A key over a plaintext channel to the TLS port gets nowhere.
  auto plain = v1::RegistryAuthService::NewStub(
      grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  auto ctx = testing::Ctx();
  ctx->AddMetadata("x-api-key", admin_key_);
  s = plain->ListWorkspaces(ctx.get(), v1::ListWorkspacesRequest(), &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TrustedCallersTest, ActAsUserFollowsWorkspaceRoles) {
  StartServer("optional");
  Caller frontend = ClientCertCaller("frontend", kFrontend);
  auto as = [&](const std::string& user) {
    Caller c = frontend;
    c.acting_user = user;
    return c;
  };

  // The front end creates a workspace for alice: she becomes its owner.
  {
    Caller alice = as("alice");
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id("acme");
    v1::Workspace w;
    grpc::Status s = alice.Stub()->CreateWorkspace(alice.Ctx().get(), req, &w);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::Member owner;
    v1::GetMemberRequest get;
    get.set_name("workspaces/acme/members/alice");
    s = alice.Stub()->GetMember(alice.Ctx().get(), get, &owner);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(owner.role(), v1::Member::OWNER);
    EXPECT_EQ(owner.status(), v1::Member::ACTIVE);
  }
  // Alice adds bob (admin), carol (member), dave (removed) and erin (invited).
  struct M {
    const char* id;
    v1::Member::Role role;
    v1::Member::Status status;
  };
  for (const M& m : {M{"bob", v1::Member::ADMIN, v1::Member::ACTIVE},
                     M{"carol", v1::Member::MEMBER, v1::Member::ACTIVE},
                     M{"dave", v1::Member::ADMIN, v1::Member::REMOVED},
                     M{"erin", v1::Member::ADMIN, v1::Member::INVITED}}) {
    Caller alice = as("alice");
    v1::CreateMemberRequest req;
    req.set_parent("workspaces/acme");
    req.set_member_id(m.id);
    req.mutable_member()->set_role(m.role);
    req.mutable_member()->set_status(m.status);
    v1::Member out;
    grpc::Status s = alice.Stub()->CreateMember(alice.Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << m.id << ": " << s.error_message();
  }

  auto create_config = [&](const std::string& user, const std::string& id) {
    Caller c = as(user);
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(id);
    req.mutable_registry_config()->set_type(v1::GHCR);
    req.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
    req.mutable_registry_config()->set_secret(kPat);
    v1::RegistryConfig out;
    return c.Stub()->CreateRegistryConfig(c.Ctx().get(), req, &out);
  };
  auto update_config = [&](const std::string& user) {
    Caller c = as(user);
    v1::UpdateRegistryConfigRequest req;
    req.mutable_registry_config()->set_name("workspaces/acme/registries/gh");
    req.mutable_registry_config()->set_display_name("changed by " + user);
    req.mutable_update_mask()->add_paths("display_name");
    v1::RegistryConfig out;
    return c.Stub()->UpdateRegistryConfig(c.Ctx().get(), req, &out);
  };
  auto test_connection = [&](const std::string& user) {
    Caller c = as(user);
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::TestConnectionResponse out;
    return c.Stub()->TestConnection(c.Ctx().get(), req, &out);
  };
  auto read_config = [&](const std::string& user) {
    Caller c = as(user);
    v1::GetRegistryConfigRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::RegistryConfig out;
    return c.Stub()->GetRegistryConfig(c.Ctx().get(), req, &out);
  };

  // Owner and admin may change configurations and run TestConnection.
  grpc::Status s = create_config("alice", "gh");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(update_config("alice").ok());
  s = create_config("bob", "gh-bob");
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = update_config("bob");
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const char* user : {"alice", "bob"}) {
    // Authorized: the test runs (GitHub is a closed loopback port here, so the verdict is
    // INVALID, but the call itself succeeds).
    s = test_connection(user);
    EXPECT_TRUE(s.ok()) << user << ": " << s.error_message();
  }

  // A plain member may read but not change or test.
  EXPECT_TRUE(read_config("carol").ok());
  for (const grpc::Status& denied :
       {create_config("carol", "gh-carol"), update_config("carol"), test_connection("carol")}) {
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
    EXPECT_EQ(DetailOf(denied).reason(), "INSUFFICIENT_WORKSPACE_ROLE");
  }

  // Removed and invited members, and strangers, get nothing, not even a read.
  for (const char* user : {"dave", "erin", "mallory"}) {
    for (const grpc::Status& denied : {read_config(user), update_config(user),
                                       test_connection(user), create_config(user, "gh-x")}) {
      EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << user << ": " << denied.error_message();
      EXPECT_EQ(DetailOf(denied).reason(), "NOT_A_WORKSPACE_MEMBER") << user;
    }
  }

  // Removing bob takes his rights away at once.
  {
    Caller alice = as("alice");
    v1::UpdateMemberRequest req;
    req.mutable_member()->set_name("workspaces/acme/members/bob");
    req.mutable_member()->set_status(v1::Member::REMOVED);
    req.mutable_update_mask()->add_paths("status");
    v1::Member out;
    s = alice.Stub()->UpdateMember(alice.Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(update_config("bob").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The stored configuration shows only the permitted changes.
  v1::RegistryConfig config;
  {
    Caller alice = as("alice");
    v1::GetRegistryConfigRequest req;
    req.set_name("workspaces/acme/registries/gh");
    ASSERT_TRUE(alice.Stub()->GetRegistryConfig(alice.Ctx().get(), req, &config).ok());
  }
  EXPECT_EQ(config.display_name(), "changed by bob");

  // GetCredentials is never served on behalf of a user, and a caller without act_as_user
  // cannot act for anyone.
  Caller alice = as("alice");
  v1::GetCredentialsResponse creds;
  EXPECT_EQ(GetCredentials(alice, &creds).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  Caller admin = AdminTool();
  admin.acting_user = "alice";
  v1::RegistryConfig out;
  v1::GetRegistryConfigRequest get;
  get.set_name("workspaces/acme/registries/gh");
  s = admin.Stub()->GetRegistryConfig(admin.Ctx().get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();

  // Audit rows name both the front end and the user it acted for.
  bool found = false;
  for (const v1::AuditEvent& e : AuditOf(kFrontend)) {
    if (e.on_behalf_of() == "carol" && e.action() == "UpdateRegistryConfig") {
      EXPECT_EQ(e.outcome(), "PERMISSION_DENIED");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(TrustedCallersTest, PolicyReloadTakesEffectAndABrokenFileKeepsTheOldPolicy) {
  StartServer("optional");
  SeedWorkspace();
  Caller deployer = ClientCertCaller("deployer");
  v1::GetCredentialsResponse creds;
  EXPECT_EQ(GetCredentials(deployer, &creds).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  WriteFile(PolicyPath(), Policy("credentials.read"));
  ASSERT_TRUE(live_->server().ReloadPolicy().ok());
  grpc::Status s = GetCredentials(deployer, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.secret(), kPat);

  // A broken file is refused and the policy in force stays.
  WriteFile(PolicyPath(), Policy("credentials.read") + "  permissions credentials.write\n");
  absl::Status reload = live_->server().ReloadPolicy();
  EXPECT_FALSE(reload.ok());
  EXPECT_TRUE(absl::StrContains(reload.message(), "line")) << reload;
  EXPECT_TRUE(GetCredentials(deployer, &creds).ok());

  // Dropping the permission again takes effect on the next call, on the same connection.
  WriteFile(PolicyPath(), Policy(""));
  ASSERT_TRUE(live_->server().ReloadPolicy().ok());
  EXPECT_EQ(GetCredentials(deployer, &creds).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// SIGHUP's gRPC certificate reload on the real server: the worker's open channel keeps its
// connection and its identity, a client trusting only the new CA gets in after the reload (not
// before), client certificates are still required, and a broken file keeps the new one.
TEST_F(TrustedCallersTest, GrpcCertificateReloadKeepsOpenChannelsAndMutualTls) {
  StartServer("optional");
  SeedWorkspace();
  Caller worker = ClientCertCaller("build-worker", kWorker);
  v1::GetCredentialsResponse creds;
  ASSERT_TRUE(GetCredentials(worker, &creds).ok());

  auto next_pki = TestPki::Create("registry-auth e2e CA (rotated)");
  ASSERT_TRUE(next_pki.ok()) << next_pki.status();
  auto next_cert = next_pki->IssueServer();
  ASSERT_TRUE(next_cert.ok()) << next_cert.status();
  // A worker certificate from the (unchanged) client CA, trusting only the new server CA.
  auto worker_cert = pki_->IssueClient("build-worker", kWorker);
  ASSERT_TRUE(worker_cert.ok());
  certs_.push_back(*worker_cert);
  const CertKey* worker_key = &certs_.back();
  EXPECT_EQ(
      GetCredentials(Caller{TlsChannel(worker_key, next_pki->ca().cert_pem)}, &creds).error_code(),
      grpc::StatusCode::UNAVAILABLE);

  WriteFile(dir_ + "/server.pem", next_cert->cert_pem);
  WriteFile(dir_ + "/server.key", next_cert->key_pem);
  ASSERT_TRUE(live_->server().ReloadGrpcCertificate().ok());

  grpc::Status s = GetCredentials(worker, &creds);  // the open channel
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = GetCredentials(Caller{TlsChannel(worker_key, next_pki->ca().cert_pem)}, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.secret(), kPat);
  EXPECT_EQ(GetCredentials(Caller{TlsChannel(worker_key)}, &creds).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // A broken key file is refused; the new certificate stays in force.
  WriteFile(dir_ + "/server.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  absl::Status reload = live_->server().ReloadGrpcCertificate();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(reload.message(), "tls_key_file")) << reload;
  s = GetCredentials(Caller{TlsChannel(worker_key, next_pki->ca().cert_pem)}, &creds);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(GetCredentials(worker, &creds).ok());
}

}  // namespace
}  // namespace registryauth
