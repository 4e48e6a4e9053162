// End-to-end: the real server stack (RegistryAuthServer, the composition root used by
// registry-authd) on a real PostgreSQL, called over real gRPC on a loopback TCP port.
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/conninfo.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/raw_grpc.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;

constexpr char kCanaryPat[] = "ghp_CANARYcanary0123456789abcdefABCDEF42";

using testing::Ctx;

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    ASSERT_NO_FATAL_FAILURE(BuildStack());
    ASSERT_NO_FATAL_FAILURE(StartServer(nullptr));
  }

  // The stack in the local-development mode, its server not started yet.
  void BuildStack() {
    auto stack = testing::TestStack::Builder().WithoutServer().Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  void StartServer(const testing::TestStack::Customize& customize) {
    absl::Status started = stack_->StartServer(customize);
    ASSERT_TRUE(started.ok()) << started;
    server_ = &stack_->server();
    channel_ = stack_->live().channel();
    stub_ = &stack_->stub();
  }

  v1::Workspace MustCreateWorkspace(const std::string& id) {
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id(id);
    req.mutable_workspace()->set_display_name("Acme " + id);
    v1::Workspace out;
    grpc::Status s = stub_->CreateWorkspace(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status CreateGhcr(const std::string& ws, const std::string& id, const std::string& pat,
                          bool is_default, v1::RegistryConfig* out) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/" + ws);
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GHCR);
    c->mutable_ghcr()->set_owner("acme-org");
    c->set_secret(pat);
    c->set_is_default(is_default);
    c->set_display_name("GHCR " + id);
    return stub_->CreateRegistryConfig(Ctx().get(), req, out);
  }

  // A DISTRIBUTION config `id` in `ws` at https://registry.example.com (namespace acme, user
  // bot) with `secret`.
  grpc::Status CreateDistribution(const std::string& ws, const std::string& id,
                                  const std::string& secret) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/" + ws);
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::DISTRIBUTION);
    c->mutable_distribution()->set_url("https://registry.example.com");
    c->mutable_distribution()->set_repository_namespace("acme");
    c->mutable_distribution()->set_username("bot");
    c->set_secret(secret);
    v1::RegistryConfig out;
    return stub_->CreateRegistryConfig(Ctx().get(), req, &out);
  }

  // Every row of the service's tables, as JSON text, straight from PostgreSQL.
  std::string RawRows() {
    std::string all;
    for (const char* table : {"workspaces", "apps", "registry_configs"}) {
      absl::StatusOr<std::vector<std::string>> rows = testing::QueryColumn(
          stack_->dsn(), absl::StrCat("SELECT row_to_json(t)::text FROM ", table, " t"));
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (!rows.ok()) continue;
      for (const std::string& row : *rows) {
        all += row;
        all += "\n";
      }
    }
    return all;
  }

  std::string RawCiphertextHex(const std::string& ws, const std::string& id) {
    absl::StatusOr<std::vector<std::string>> r =
        testing::QueryColumn(stack_->dsn(),
                             "SELECT encode(secret_ciphertext, 'hex') FROM registry_configs "
                             "WHERE workspace_id = $1 AND id = $2",
                             {ws, id});
    EXPECT_TRUE(r.ok()) << r.status();
    return !r.ok() || r->empty() ? "" : (*r)[0];
  }

  std::unique_ptr<testing::TestStack> stack_;
  server::RegistryAuthServer* server_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
};

TEST_F(E2eTest, GhcrConfigLifecycleNeverReturnsTheSecret) {
  MustCreateWorkspace("acme");
  std::vector<std::string> responses;  // serialized, searched for the canary at the end

  v1::RegistryConfig created;
  ASSERT_TRUE(CreateGhcr("acme", "ghcr", kCanaryPat, true, &created).ok());
  responses.push_back(created.SerializeAsString());
  EXPECT_EQ(created.name(), "workspaces/acme/registries/ghcr");
  EXPECT_TRUE(created.has_secret());
  EXPECT_EQ(created.secret(), "");
  EXPECT_EQ(created.secret_hint(), "ghp_…EF42");
  EXPECT_EQ(created.validation_status(), v1::PENDING);
  EXPECT_TRUE(created.is_default());
  EXPECT_FALSE(created.etag().empty());
  EXPECT_GT(created.create_time().seconds(), 0);

  // Read back: no PAT.
  v1::GetRegistryConfigRequest get;
  get.set_name("workspaces/acme/registries/ghcr");
  v1::RegistryConfig got;
  ASSERT_TRUE(stub_->GetRegistryConfig(Ctx().get(), get, &got).ok());
  responses.push_back(got.SerializeAsString());
  EXPECT_EQ(got.ghcr().owner(), "acme-org");
  EXPECT_EQ(got.secret(), "");
  EXPECT_TRUE(got.has_secret());

  // Update without the PAT: the stored ciphertext is untouched.
  const std::string ct_before = RawCiphertextHex("acme", "ghcr");
  ASSERT_FALSE(ct_before.empty());
  v1::UpdateRegistryConfigRequest upd;
  upd.mutable_registry_config()->set_name("workspaces/acme/registries/ghcr");
  upd.mutable_registry_config()->set_display_name("Renamed");
  upd.mutable_registry_config()->set_etag(got.etag());
  upd.mutable_update_mask()->add_paths("display_name");
  v1::RegistryConfig updated;
  grpc::Status s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  responses.push_back(updated.SerializeAsString());
  EXPECT_EQ(updated.display_name(), "Renamed");
  EXPECT_TRUE(updated.has_secret());
  EXPECT_EQ(updated.secret_hint(), "ghp_…EF42");
  EXPECT_NE(updated.etag(), got.etag());
  EXPECT_EQ(RawCiphertextHex("acme", "ghcr"), ct_before);

  // The old etag is now stale.
  v1::RegistryConfig ignored;
  s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();

  // Switching the default is atomic: exactly one default afterwards.
  v1::RegistryConfig second;
  ASSERT_TRUE(
      CreateGhcr("acme", "ghcr-two", "ghp_secondsecondsecond0000000000000000000", true, &second)
          .ok());
  responses.push_back(second.SerializeAsString());
  v1::ListRegistryConfigsRequest list;
  list.set_parent("workspaces/acme");
  v1::ListRegistryConfigsResponse page;
  ASSERT_TRUE(stub_->ListRegistryConfigs(Ctx().get(), list, &page).ok());
  responses.push_back(page.SerializeAsString());
  ASSERT_EQ(page.registry_configs_size(), 2);
  int defaults = 0;
  for (const auto& c : page.registry_configs()) {
    defaults += c.is_default();
    if (c.is_default()) EXPECT_EQ(c.name(), "workspaces/acme/registries/ghcr-two");
  }
  EXPECT_EQ(defaults, 1);

  // Delete.
  v1::DeleteRegistryConfigRequest del;
  del.set_name("workspaces/acme/registries/ghcr");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeleteRegistryConfig(Ctx().get(), del, &empty).ok());
  s = stub_->GetRegistryConfig(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  for (const std::string& r : responses) {
    EXPECT_FALSE(absl::StrContains(r, "CANARY")) << "a response carried the secret";
  }
}

// Issue 17: a workspace admin cannot send a stored secret somewhere else by changing the
// registry's address (or account) without supplying a new secret; GetCredentials keeps
// answering the host the secret was stored for.
TEST_F(E2eTest, ChangedEndpointWithoutNewSecretIsRefused) {
  MustCreateWorkspace("acme");
  grpc::Status s = CreateDistribution("acme", "dist", "old-registry-password-1234");
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::UpdateRegistryConfigRequest upd;
  upd.mutable_registry_config()->set_name("workspaces/acme/registries/dist");
  upd.mutable_registry_config()->mutable_distribution()->set_url("https://attacker.example.net");
  upd.mutable_update_mask()->add_paths("distribution.url");
  v1::RegistryConfig updated;
  s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "registry_config.distribution.url"))
      << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "requires a new secret")) << s.error_message();
  EXPECT_FALSE(absl::StrContains(s.error_message(), "old-registry-password")) << s.error_message();

  // The empty mask (populated fields) is refused the same way.
  upd.clear_update_mask();
  s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  v1::GetCredentialsRequest get;
  get.set_name("workspaces/acme/registries/dist");
  v1::GetCredentialsResponse creds;
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.registry_host(), "registry.example.com");
  EXPECT_EQ(creds.secret(), "old-registry-password-1234");

  // Setting the current value again is no change; a new secret with the move is accepted.
  upd.mutable_registry_config()->mutable_distribution()->set_url("https://registry.example.com");
  upd.mutable_update_mask()->add_paths("distribution.url");
  s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &updated);
  EXPECT_TRUE(s.ok()) << s.error_message();
  upd.mutable_registry_config()->mutable_distribution()->set_url("https://mirror.example.net");
  upd.mutable_registry_config()->set_secret("mirror-registry-password-5678");
  upd.mutable_update_mask()->add_paths("secret");
  s = stub_->UpdateRegistryConfig(Ctx().get(), upd, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.registry_host(), "mirror.example.net");
  EXPECT_EQ(creds.secret(), "mirror-registry-password-5678");
}

// Issue 17: the endpoint is part of the ciphertext's associated data. A row whose url was
// changed behind the service's back (raw SQL, as a bug or a hand edit would) no longer
// decrypts: GetCredentials fails with INTERNAL and no secret, and TestConnection sends nothing.
TEST_F(E2eTest, EndpointChangedInTheDatabaseDoesNotDecrypt) {
  MustCreateWorkspace("acme");
  grpc::Status s = CreateDistribution("acme", "dist", "old-registry-password-1234");
  ASSERT_TRUE(s.ok()) << s.error_message();
  absl::StatusOr<std::vector<std::string>> version = testing::QueryColumn(
      stack_->dsn(),
      "SELECT secret_ad_version::text FROM registry_configs WHERE workspace_id = 'acme'"
      " AND id = 'dist'");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, std::vector<std::string>{"2"});

  v1::GetCredentialsRequest get;
  get.set_name("workspaces/acme/registries/dist");
  v1::GetCredentialsResponse creds;
  ASSERT_TRUE(stub_->GetCredentials(Ctx().get(), get, &creds).ok());
  EXPECT_EQ(creds.registry_host(), "registry.example.com");

  absl::StatusOr<std::string> edited =
      testing::ExecuteSql(stack_->dsn(),
                          "UPDATE registry_configs SET url = 'https://attacker.example.net'"
                          " WHERE workspace_id = 'acme' AND id = 'dist'");
  ASSERT_TRUE(edited.ok()) << edited.status();
  creds.Clear();
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "cannot be decrypted")) << s.error_message();
  EXPECT_FALSE(absl::StrContains(s.error_message(), "old-registry-password"));
  EXPECT_EQ(creds.secret(), "");

  // Nor does it help to mark the row as written under the old associated data.
  edited = testing::ExecuteSql(stack_->dsn(),
                               "UPDATE registry_configs SET secret_ad_version = 1,"
                               " url = 'https://registry.example.com'"
                               " WHERE workspace_id = 'acme' AND id = 'dist'");
  ASSERT_TRUE(edited.ok()) << edited.status();
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
  EXPECT_EQ(creds.secret(), "");

  // Put back as it was stored, the secret decrypts again.
  edited = testing::ExecuteSql(stack_->dsn(),
                               "UPDATE registry_configs SET secret_ad_version = 2"
                               " WHERE workspace_id = 'acme' AND id = 'dist'");
  ASSERT_TRUE(edited.ok()) << edited.status();
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.secret(), "old-registry-password-1234");
}

TEST_F(E2eTest, RawDatabaseRowsHoldNoPlaintextSecret) {
  MustCreateWorkspace("canary");
  v1::RegistryConfig created;
  ASSERT_TRUE(CreateGhcr("canary", "ghcr", kCanaryPat, false, &created).ok());
  const std::string rows = RawRows();
  ASSERT_TRUE(absl::StrContains(rows, "acme-org")) << "sanity: the row is there";
  EXPECT_FALSE(absl::StrContains(rows, "CANARY"));
  EXPECT_FALSE(absl::StrContains(rows, kCanaryPat));
  // Not even hex-encoded (bytea columns print as \x...).
  std::string hex;
  for (unsigned char ch : std::string(kCanaryPat))
    absl::StrAppend(&hex, absl::Hex(ch, absl::kZeroPad2));
  EXPECT_FALSE(absl::StrContains(rows, hex));
}

TEST_F(E2eTest, ListPagesThroughEveryWorkspaceOnce) {
  for (int i = 0; i < 23; ++i) MustCreateWorkspace(absl::StrCat("ws-", 100 + i));
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListWorkspacesRequest req;
    req.set_page_size(5);
    req.set_page_token(token);
    v1::ListWorkspacesResponse resp;
    grpc::Status s = stub_->ListWorkspaces(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.workspaces_size(), 5);
    for (const auto& w : resp.workspaces()) {
      EXPECT_TRUE(seen.insert(w.name()).second) << "duplicate " << w.name();
    }
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 20);
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(pages, 5);
}

TEST_F(E2eTest, HealthAndReflectionAreServed) {
  auto serving = testing::HealthCheck(channel_, "");
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_EQ(*serving, 1);  // SERVING
  auto named = testing::HealthCheck(channel_, "registryauth.v1.RegistryAuthService");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, 1);

  auto services = testing::ListServicesByReflection(channel_);
  ASSERT_TRUE(services.ok()) << services.status();
  std::set<std::string> names(services->begin(), services->end());
  EXPECT_TRUE(names.count("registryauth.v1.RegistryAuthService")) << services->size();
  EXPECT_TRUE(names.count("grpc.health.v1.Health"));
}

TEST_F(E2eTest, LaterRpcsAnswerUnimplemented) {
  // Without --token_service the realm is off: minting is a setup problem, not a missing RPC.
  v1::MintPullTokenRequest mint;
  mint.set_app("workspaces/acme/apps/api");
  v1::MintPullTokenResponse mint_out;
  EXPECT_EQ(stub_->MintPullToken(Ctx().get(), mint, &mint_out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::GetCredentialsRequest creds;
  creds.set_name("workspaces/acme/registries/ghcr");
  v1::GetCredentialsResponse creds_out;
  EXPECT_EQ(stub_->GetCredentials(Ctx().get(), creds, &creds_out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::TestConnectionRequest test;
  test.set_name("workspaces/acme/registries/ghcr");
  v1::TestConnectionResponse test_out;
  EXPECT_EQ(stub_->TestConnection(Ctx().get(), test, &test_out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Through the HTTP adapter, every reply carries the request id the service used: the client's
// own when it sent a usable one, else the one the service generated, which is also the id in
// the access log and the audit row.
TEST_F(E2eTest, HttpAdapterEchoesTheServiceRequestId) {
  testing::HttpConnection http(server_->http_port());
  ASSERT_TRUE(http.connected());
  testing::HttpReply created = http.Request("POST", "/v1/workspaces?workspace_id=acme", "{}");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string generated = created.headers["x-request-id"];
  EXPECT_EQ(generated.size(), 32u) << generated;
  testing::HttpReply missing = http.Request("GET", "/v1/workspaces/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["x-request-id"].size(), 32u);
  EXPECT_NE(missing.headers["x-request-id"], generated);

  testing::HttpReply mine =
      http.Request("DELETE", "/v1/workspaces/acme", "", {{"x-request-id", "client-chosen-id-1"}});
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.headers["x-request-id"], "client-chosen-id-1");

  v1::ListAuditEventsRequest req;
  req.set_resource("workspaces/acme");
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(stub_->ListAuditEvents(Ctx().get(), req, &events).ok());
  std::set<std::string> ids;
  for (const v1::AuditEvent& e : events.audit_events()) ids.insert(e.request_id());
  EXPECT_TRUE(ids.count(generated)) << generated;
  EXPECT_TRUE(ids.count("client-chosen-id-1"));
}

// PostgreSQL disappears behind a real TCP path: calls fail fast with UNAVAILABLE, health goes
// NOT_SERVING, and everything comes back by itself when the database returns.
class OutageTest : public E2eTest {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    ASSERT_NO_FATAL_FAILURE(BuildStack());
    // The database's port, as the database itself reports it.
    absl::StatusOr<std::vector<std::string>> port =
        testing::QueryColumn(stack_->dsn(), "SELECT inet_server_port()");
    ASSERT_TRUE(port.ok()) << port.status();
    int pg_port = 0;
    ASSERT_TRUE(!port->empty() && absl::SimpleAtoi((*port)[0], &pg_port));
    ASSERT_GT(pg_port, 0);
    auto proxy = testing::TcpProxy::Start(pg_port);
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
    // The server reaches the stack's database through the proxy.
    ASSERT_NO_FATAL_FAILURE(StartServer([this](server::ServerConfig& c) {
      auto via_proxy = storage::RewriteConnInfo(
          c.database_url, {{"host", "127.0.0.1"}, {"port", std::to_string(proxy_->port())}}, {});
      ASSERT_TRUE(via_proxy.ok()) << via_proxy.status();
      c.database_url = *via_proxy;
    }));
  }
  std::unique_ptr<testing::TcpProxy> proxy_;
};

TEST_F(OutageTest, UnavailableWhileDownThenRecovers) {
  MustCreateWorkspace("before");
  proxy_->SetEnabled(false);

  v1::GetWorkspaceRequest get;
  get.set_name("workspaces/before");
  v1::Workspace out;
  for (int i = 0; i < 3; ++i) {  // pooled connections die one by one; all must fail cleanly
    grpc::Status s = stub_->GetWorkspace(Ctx().get(), get, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  }
  EXPECT_FALSE(server_->ProbeDatabaseNow());
  auto health = testing::HealthCheck(channel_, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 2);  // NOT_SERVING

  proxy_->SetEnabled(true);
  EXPECT_TRUE(server_->ProbeDatabaseNow());
  health = testing::HealthCheck(channel_, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 1);
  grpc::Status s = stub_->GetWorkspace(Ctx().get(), get, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.name(), "workspaces/before");
}

}  // namespace
}  // namespace registryauth
