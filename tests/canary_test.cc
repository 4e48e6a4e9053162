// End-to-end secret hygiene. A canary PAT is stored through the real server, fetched with
// GetCredentials, and then searched for everywhere else it could leak: the service's log output
// (everything written to stderr, gRPC's own logging included), every other RPC response over
// gRPC and over the HTTP adapter (bodies, error messages, error details, response metadata),
// the audit table and the raw rows of every table. It must show up only in the GetCredentials
// response. The callers' API keys get the same treatment.
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::StderrCapture;

constexpr char kCanary[] = "ghp_CanaryPat7f3a9c41d2e85b60aa17c9e3f4d2b1e0";
constexpr char kCanary2[] = "acr-canary-token-5d1c7e9b2a4f8e6d3c0b1a29";

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Everything a response carried back to the client, as one searchable text.
std::string Seen(const grpc::ClientContext& ctx, const grpc::Status& status,
                 const google::protobuf::Message* response) {
  std::string all = absl::StrCat(status.error_message(), "\n", status.error_details(), "\n");
  for (const auto& [k, v] : ctx.GetServerInitialMetadata()) {
    absl::StrAppend(&all, std::string(k.data(), k.size()), ": ", std::string(v.data(), v.size()),
                    "\n");
  }
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    absl::StrAppend(&all, std::string(k.data(), k.size()), ": ", std::string(v.data(), v.size()),
                    "\n");
  }
  if (response != nullptr) {
    absl::StrAppend(&all, response->SerializeAsString(), "\n", response->DebugString(), "\n");
  }
  return all;
}

// The forms a secret could take when it leaks: as is, hex (PostgreSQL's bytea output), and
// base64 (JSON encoding of bytes).
std::vector<std::string> Forms(const std::string& secret) {
  return {secret, absl::BytesToHexString(secret), absl::Base64Escape(secret),
          absl::WebSafeBase64Escape(secret)};
}

class CanaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    // The server starts in the test, once stderr is captured.
    auto stack = testing::TestStack::Builder()
                     .WithCaller("admin", "registries.manage tokens.mint")
                     .WithCaller("build-worker", "credentials.read")
                     .WithCaller("frontend", "registries.manage act_as_user")
                     .WithoutServer()
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    admin_key_ = stack_->api_key("admin");
    worker_key_ = stack_->api_key("build-worker");
    frontend_key_ = stack_->api_key("frontend");
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& key) {
    auto ctx = testing::Ctx();
    ctx->AddMetadata("x-api-key", key);
    return ctx;
  }

  // Calls `rpc` with a fresh context carrying `key`, records what came back, returns the status.
  template <typename Req, typename Resp>
  grpc::Status Call(const std::string& key,
                    grpc::Status (v1::RegistryAuthService::Stub::*rpc)(grpc::ClientContext*,
                                                                       const Req&, Resp*),
                    const Req& req, Resp* resp, std::vector<std::string>* seen) {
    auto ctx = As(key);
    grpc::Status s = (stub_->*rpc)(ctx.get(), req, resp);
    seen->push_back(Seen(*ctx, s, resp));
    return s;
  }

  std::string AllRows(const std::string& dsn) {
    std::string all;
    absl::StatusOr<std::vector<std::string>> tables =
        testing::QueryColumn(dsn,
                             "SELECT quote_ident(table_name) FROM information_schema.tables "
                             "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    EXPECT_TRUE(tables.ok()) << tables.status();
    if (!tables.ok()) return all;
    for (const std::string& table : *tables) {
      tables_.push_back(table);
      absl::StatusOr<std::vector<std::string>> rows =
          testing::QueryColumn(dsn, absl::StrCat("SELECT row_to_json(t)::text FROM ", table, " t"));
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (!rows.ok()) continue;
      for (const std::string& row : *rows) absl::StrAppend(&all, table, ": ", row, "\n");
    }
    return all;
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::string admin_key_, worker_key_, frontend_key_;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
  std::vector<std::string> tables_;
};

TEST_F(CanaryTest, SecretAppearsOnlyInTheGetCredentialsResponse) {
  const std::string log_path = absl::StrCat(TempDir(), "/canary_log_", ::getpid());
  StderrCapture capture(log_path);
  absl::Status started = stack_->StartServer();
  ASSERT_TRUE(started.ok()) << started;
  stub_ = &stack_->stub();
  using Stub = v1::RegistryAuthService::Stub;

  std::vector<std::string> others;  // everything returned by calls other than GetCredentials
  std::string credentials_seen;

  // --- Set-up, with the canary going in through create and update.
  v1::CreateWorkspaceRequest cw;
  cw.set_workspace_id("acme");
  v1::Workspace ws;
  ASSERT_TRUE(Call(admin_key_, &Stub::CreateWorkspace, cw, &ws, &others).ok());
  v1::CreateRegistryConfigRequest cr;
  cr.set_parent("workspaces/acme");
  cr.set_registry_id("gh");
  cr.mutable_registry_config()->set_type(v1::GHCR);
  cr.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
  cr.mutable_registry_config()->set_secret(kCanary);
  cr.mutable_registry_config()->set_is_default(true);
  v1::RegistryConfig config;
  grpc::Status s = Call(admin_key_, &Stub::CreateRegistryConfig, cr, &config, &others);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // A second config whose secret changes, then the config goes away.
  cr.set_registry_id("acr");
  cr.mutable_registry_config()->set_type(v1::ACR);
  cr.mutable_registry_config()->clear_ghcr();
  cr.mutable_registry_config()->mutable_acr()->set_login_server("acme.azurecr.io");
  cr.mutable_registry_config()->mutable_acr()->set_username("acme-pull");
  cr.mutable_registry_config()->set_secret("first-token-value-123");
  cr.mutable_registry_config()->set_is_default(false);
  s = Call(admin_key_, &Stub::CreateRegistryConfig, cr, &config, &others);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::UpdateRegistryConfigRequest ur;
  ur.mutable_registry_config()->set_name("workspaces/acme/registries/acr");
  ur.mutable_registry_config()->set_secret(kCanary2);
  ur.mutable_update_mask()->add_paths("secret");
  s = Call(admin_key_, &Stub::UpdateRegistryConfig, ur, &config, &others);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // A bad request that carries the canary: the error must not echo it.
  cr.set_registry_id("Bad Id!");
  cr.mutable_registry_config()->set_secret(kCanary);
  EXPECT_EQ(Call(admin_key_, &Stub::CreateRegistryConfig, cr, &config, &others).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ur.mutable_registry_config()->set_name("workspaces/acme/registries/gh");
  ur.mutable_registry_config()->set_secret(kCanary);
  ur.mutable_registry_config()->set_etag("\"stale\"");
  EXPECT_NE(Call(admin_key_, &Stub::UpdateRegistryConfig, ur, &config, &others).error_code(),
            grpc::StatusCode::OK);

  v1::CreateAppRequest ca;
  ca.set_parent("workspaces/acme");
  ca.set_app_id("web");
  v1::App app;
  ASSERT_TRUE(Call(admin_key_, &Stub::CreateApp, ca, &app, &others).ok());

  // --- The one place the secret may appear.
  {
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::GetCredentialsResponse resp;
    auto ctx = As(worker_key_);
    s = stub_->GetCredentials(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.secret(), kCanary);
    credentials_seen = Seen(*ctx, s, &resp);
    req.set_name("workspaces/acme/registries/acr");
    ctx = As(worker_key_);
    s = stub_->GetCredentials(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.secret(), kCanary2);
    absl::StrAppend(&credentials_seen, Seen(*ctx, s, &resp));
  }
  // GetCredentials that fail: no secret in the error.
  {
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::GetCredentialsResponse resp;
    EXPECT_EQ(Call(admin_key_, &Stub::GetCredentials, req, &resp, &others).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    req.set_name("workspaces/acme/registries/nope");
    EXPECT_EQ(Call(worker_key_, &Stub::GetCredentials, req, &resp, &others).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // --- Every other RPC.
  {
    v1::GetWorkspaceRequest r;
    r.set_name("workspaces/acme");
    EXPECT_TRUE(Call(admin_key_, &Stub::GetWorkspace, r, &ws, &others).ok());
    v1::ListWorkspacesResponse l;
    EXPECT_TRUE(
        Call(admin_key_, &Stub::ListWorkspaces, v1::ListWorkspacesRequest(), &l, &others).ok());
    v1::UpdateWorkspaceRequest u;
    u.mutable_workspace()->set_name("workspaces/acme");
    u.mutable_workspace()->set_display_name("Acme");
    u.mutable_update_mask()->add_paths("display_name");
    EXPECT_TRUE(Call(admin_key_, &Stub::UpdateWorkspace, u, &ws, &others).ok());
  }
  {
    v1::GetRegistryConfigRequest g;
    g.set_name("workspaces/acme/registries/gh");
    EXPECT_TRUE(Call(admin_key_, &Stub::GetRegistryConfig, g, &config, &others).ok());
    EXPECT_EQ(config.secret(), "");
    v1::ListRegistryConfigsRequest l;
    l.set_parent("workspaces/acme");
    v1::ListRegistryConfigsResponse lr;
    EXPECT_TRUE(Call(admin_key_, &Stub::ListRegistryConfigs, l, &lr, &others).ok());
    EXPECT_EQ(lr.registry_configs_size(), 2);
    v1::UpdateRegistryConfigRequest u;
    u.mutable_registry_config()->set_name("workspaces/acme/registries/gh");
    u.mutable_registry_config()->set_display_name("GitHub");
    u.mutable_update_mask()->add_paths("display_name");
    EXPECT_TRUE(Call(admin_key_, &Stub::UpdateRegistryConfig, u, &config, &others).ok());
    v1::TestConnectionRequest t;
    t.set_name("workspaces/acme/registries/gh");
    v1::TestConnectionResponse tr;
    Call(admin_key_, &Stub::TestConnection, t, &tr, &others);
  }
  {
    v1::GetAppRequest g;
    g.set_name("workspaces/acme/apps/web");
    EXPECT_TRUE(Call(admin_key_, &Stub::GetApp, g, &app, &others).ok());
    v1::ListAppsRequest l;
    l.set_parent("workspaces/acme");
    v1::ListAppsResponse lr;
    EXPECT_TRUE(Call(admin_key_, &Stub::ListApps, l, &lr, &others).ok());
    v1::UpdateAppRequest u;
    u.mutable_app()->set_name("workspaces/acme/apps/web");
    u.mutable_app()->set_display_name("Web");
    u.mutable_update_mask()->add_paths("display_name");
    EXPECT_TRUE(Call(admin_key_, &Stub::UpdateApp, u, &app, &others).ok());
    v1::MintPullTokenRequest m;
    m.set_app("workspaces/acme/apps/web");
    v1::MintPullTokenResponse mr;
    Call(admin_key_, &Stub::MintPullToken, m, &mr, &others);
  }
  {
    v1::CreateMemberRequest c;
    c.set_parent("workspaces/acme");
    c.set_member_id("alice");
    c.mutable_member()->set_role(v1::Member::OWNER);
    v1::Member m;
    EXPECT_TRUE(Call(admin_key_, &Stub::CreateMember, c, &m, &others).ok());
    c.set_member_id("bob");
    c.mutable_member()->set_role(v1::Member::MEMBER);
    EXPECT_TRUE(Call(admin_key_, &Stub::CreateMember, c, &m, &others).ok());
    v1::GetMemberRequest g;
    g.set_name("workspaces/acme/members/alice");
    EXPECT_TRUE(Call(admin_key_, &Stub::GetMember, g, &m, &others).ok());
    v1::ListMembersRequest l;
    l.set_parent("workspaces/acme");
    v1::ListMembersResponse lr;
    EXPECT_TRUE(Call(admin_key_, &Stub::ListMembers, l, &lr, &others).ok());
    v1::UpdateMemberRequest u;
    u.mutable_member()->set_name("workspaces/acme/members/bob");
    u.mutable_member()->set_role(v1::Member::ADMIN);
    u.mutable_update_mask()->add_paths("role");
    EXPECT_TRUE(Call(admin_key_, &Stub::UpdateMember, u, &m, &others).ok());
    // The front end acting for bob (now admin) reads the config.
    auto ctx = As(frontend_key_);
    ctx->AddMetadata("x-registryauth-user", "bob");
    v1::GetRegistryConfigRequest gr;
    gr.set_name("workspaces/acme/registries/gh");
    s = stub_->GetRegistryConfig(ctx.get(), gr, &config);
    EXPECT_TRUE(s.ok()) << s.error_message();
    others.push_back(Seen(*ctx, s, &config));
    v1::DeleteMemberRequest d;
    d.set_name("workspaces/acme/members/bob");
    google::protobuf::Empty empty;
    EXPECT_TRUE(Call(admin_key_, &Stub::DeleteMember, d, &empty, &others).ok());
  }
  {
    v1::ListAuditEventsRequest a;
    a.set_page_size(1000);
    v1::ListAuditEventsResponse ar;
    EXPECT_TRUE(Call(admin_key_, &Stub::ListAuditEvents, a, &ar, &others).ok());
    EXPECT_GE(ar.audit_events_size(), 10);
    // Calls with a wrong key, and a caller without the permission.
    v1::ListWorkspacesResponse l;
    EXPECT_EQ(
        Call(std::string(kCanary), &Stub::ListWorkspaces, v1::ListWorkspacesRequest(), &l, &others)
            .error_code(),
        grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Call(worker_key_, &Stub::ListAuditEvents, a, &ar, &others).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    google::protobuf::Empty empty;
    v1::DeleteAppRequest da;
    da.set_name("workspaces/acme/apps/web");
    EXPECT_TRUE(Call(admin_key_, &Stub::DeleteApp, da, &empty, &others).ok());
    v1::DeleteRegistryConfigRequest dr;
    dr.set_name("workspaces/acme/registries/acr");
    EXPECT_TRUE(Call(admin_key_, &Stub::DeleteRegistryConfig, dr, &empty, &others).ok());
  }

  // --- The HTTP adapter's view of the same data.
  {
    testing::HttpConnection http(stack_->http_port());
    ASSERT_TRUE(http.connected());
    const std::vector<std::pair<std::string, std::string>> auth = {{"x-api-key", admin_key_}};
    for (const char* target :
         {"/v1/workspaces/acme/registries/gh", "/v1/workspaces/acme/registries",
          "/v1/workspaces/acme", "/v1/workspaces/acme/members", "/v1/auditEvents?page_size=1000",
          "/v1/workspaces/acme/registries/acr"}) {
      testing::HttpReply r = http.Request("GET", target, "", auth);
      ASSERT_TRUE(r.ok) << target;
      std::string text = absl::StrCat(r.status, "\n", r.body, "\n");
      for (const auto& [k, v] : r.headers) absl::StrAppend(&text, k, ": ", v, "\n");
      others.push_back(text);
    }
    testing::HttpReply bad =
        http.Request("PATCH", "/v1/workspaces/acme/registries/gh",
                     absl::StrCat(R"({"secret":")", kCanary, R"(","bogus":1})"), auth);
    EXPECT_EQ(bad.status, 400);
    others.push_back(bad.body);
  }

  // --- Stop the server, so every log line has been written, then collect everything.
  stack_->StopServer();
  stub_ = nullptr;
  const std::string logs = capture.Stop();
  const std::string rows = AllRows(stack_->dsn());
  std::string audit;
  {
    absl::StatusOr<std::vector<std::string>> rows =
        testing::QueryColumn(stack_->dsn(), "SELECT row_to_json(a)::text FROM audit_events a");
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const std::string& row : *rows) absl::StrAppend(&audit, row, "\n");
  }

  // Positive controls: each haystack holds what it should, so an empty search cannot pass.
  EXPECT_TRUE(absl::StrContains(logs, "RegistryAuthService/GetCredentials"))
      << logs.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(logs, "RegistryAuthService/UpdateRegistryConfig"));
  EXPECT_TRUE(absl::StrContains(audit, "\"GetCredentials\""));
  EXPECT_TRUE(absl::StrContains(rows, "registry_configs: "));
  EXPECT_TRUE(absl::StrContains(rows, "ghp_\u2026"));  // the secret hint
  EXPECT_GE(tables_.size(), 5u);
  EXPECT_TRUE(absl::StrContains(credentials_seen, kCanary));
  EXPECT_TRUE(absl::StrContains(credentials_seen, kCanary2));
  ASSERT_GE(others.size(), 30u);

  for (const std::string& secret : {std::string(kCanary), std::string(kCanary2)}) {
    for (const std::string& form : Forms(secret)) {
      EXPECT_FALSE(absl::StrContains(logs, form)) << "secret in the logs";
      EXPECT_FALSE(absl::StrContains(audit, form)) << "secret in the audit table";
      EXPECT_FALSE(absl::StrContains(rows, form)) << "secret in the raw rows";
      for (size_t i = 0; i < others.size(); ++i) {
        EXPECT_FALSE(absl::StrContains(others[i], form)) << "secret in response #" << i;
      }
    }
  }
  // The old secret of the ACR config, and the callers' API keys, are nowhere either.
  for (const std::string& secret :
       {std::string("first-token-value-123"), admin_key_, worker_key_, frontend_key_}) {
    for (const std::string& form : Forms(secret)) {
      EXPECT_FALSE(absl::StrContains(logs, form)) << "key or old secret in the logs";
      EXPECT_FALSE(absl::StrContains(audit, form));
      EXPECT_FALSE(absl::StrContains(rows, form));
      for (const std::string& seen : others) EXPECT_FALSE(absl::StrContains(seen, form));
    }
  }
  ::unlink(log_path.c_str());
}

}  // namespace
}  // namespace registryauth
