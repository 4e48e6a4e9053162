#include "gateway/http_gateway.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/in_process.h"
#include "api/testing/in_memory_stack.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "gateway/grpc_error.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "observability/metrics.h"
#include "realm/basic_auth.h"
#include "tests/support/http_client.h"

namespace registryauth::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::google::protobuf::Struct;

using Reply = ::registryauth::testing::HttpReply;
using Connection = ::registryauth::testing::HttpConnection;

Struct ParseJson(const std::string& body) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &s).ok()) << body;
  return s;
}

std::string Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end()) return "<absent>";
  const auto& v = it->second;
  if (v.has_string_value()) return v.string_value();
  if (v.has_bool_value()) return v.bool_value() ? "true" : "false";
  if (v.has_number_value()) return absl::StrCat(v.number_value());
  return "<other>";
}

class HttpGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(HttpGatewayOptions()); }

  void Start(HttpGatewayOptions options) {
    if (gateway_ != nullptr) gateway_->Shutdown();
    gateway_.reset();
    if (server_ == nullptr) {
      grpc::EnableDefaultHealthCheckService(true);
      grpc::ServerBuilder builder;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port_);
      stack_.RegisterOn(builder);
      server_ = builder.BuildAndStart();
      ASSERT_NE(server_, nullptr);
    }
    options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<HttpGateway>> gw =
        HttpGateway::Create(options, server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
    ASSERT_GT(gateway_->port(), 0);
  }

  void TearDown() override {
    if (gateway_ != nullptr) gateway_->Shutdown();
    if (server_ != nullptr) server_->Shutdown();
  }

  Reply Do(const std::string& method, const std::string& target, const std::string& body = "") {
    Connection c(gateway_->port());
    EXPECT_TRUE(c.connected());
    return c.Request(method, target, body);
  }

  api::testing::InMemoryStack stack_;  // the real service over in-memory stores
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  std::unique_ptr<HttpGateway> gateway_;
};

TEST_F(HttpGatewayTest, HealthzIsAlwaysOk) {
  Reply r = Do("GET", "/healthz");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST_F(HttpGatewayTest, MetricsCountRequestsByRouteTemplateAndStatus) {
  // Without a registry there is no /metrics.
  EXPECT_EQ(Do("GET", "/metrics").status, 404);

  observability::Registry registry;
  HttpGatewayOptions options;
  options.metrics = &registry;
  Start(options);
  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/nope").status, 404);
  EXPECT_EQ(Do("GET", "/v1/workspaces/other").status, 404);
  EXPECT_EQ(Do("GET", "/no/such/path").status, 404);
  EXPECT_EQ(Do("BREW", "/healthz").status, 405);

  Reply m = Do("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  // Route templates, never raw paths: the workspace ids do not appear.
  EXPECT_TRUE(absl::StrContains(
      m.body,
      "http_server_requests_total{method=\"GET\",route=\"/v1/{name=workspaces/*}\","
      "status=\"404\"} 2\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(
      m.body,
      "http_server_requests_total{method=\"GET\",route=\"/v1/{name=workspaces/*}\","
      "status=\"200\"} 1\n"))
      << m.body;
  EXPECT_TRUE(
      absl::StrContains(m.body,
                        "http_server_requests_total{method=\"POST\",route=\"/v1/workspaces\","
                        "status=\"200\"} 1\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(
      m.body, "http_server_requests_total{method=\"GET\",route=\"other\",status=\"404\"} 1\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(
      m.body, "http_server_requests_total{method=\"other\",route=\"other\",status=\"405\"} 1\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(
      m.body,
      "http_server_request_duration_seconds_count{method=\"GET\",route=\"/v1/{name="
      "workspaces/*}\",status=\"404\"} 2\n"))
      << m.body;
  EXPECT_FALSE(absl::StrContains(m.body, "nope"));
  EXPECT_FALSE(absl::StrContains(m.body, "/no/such/path"));
  // The scrape itself is counted from the next one on.
  Reply again = Do("GET", "/metrics?x=1");
  EXPECT_TRUE(absl::StrContains(
      again.body,
      "http_server_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 1\n"))
      << again.body;
  gateway_->Shutdown();
  gateway_.reset();
}

TEST_F(HttpGatewayTest, ReadyzFollowsGrpcHealth) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  ASSERT_NE(health, nullptr);
  health->SetServingStatus("", true);
  Reply ready = Do("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready");

  health->SetServingStatus("", false);
  Reply not_ready = Do("GET", "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready");

  health->SetServingStatus("", true);
  EXPECT_EQ(Do("GET", "/readyz").status, 200);
}

TEST_F(HttpGatewayTest, ReadyzIsNotReadyWhenTheBackendIsUnreachable) {
  // A channel to a port where nothing listens: the health check fails -> 503, no crash. The
  // port stays bound (without listen(), so connects are refused) for the whole test: a port
  // closed again could be taken by a server of another test running at the same time.
  net::io_context ioc;
  tcp::socket bound(ioc);
  bound.open(tcp::v4());
  bound.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const int dead_port = bound.local_endpoint().port();
  HttpGatewayOptions options;
  options.listen = "127.0.0.1:0";
  auto gw = HttpGateway::Create(options, grpc::CreateChannel(absl::StrCat("127.0.0.1:", dead_port),
                                                             grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(gw.ok());
  Connection c((*gw)->port());
  Reply r = c.Request("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  Reply api = c.Request("GET", "/v1/workspaces");
  EXPECT_EQ(api.status, 503);
  EXPECT_EQ(Field(ParseJson(api.body), "status"), "UNAVAILABLE");
}

TEST_F(HttpGatewayTest, WorkspaceCrudRoundTrip) {
  Reply created = Do("POST", "/v1/workspaces?workspace_id=acme", R"({"displayName":"Acme"})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.headers["content-type"], "application/json");
  Struct ws = ParseJson(created.body);
  EXPECT_EQ(Field(ws, "name"), "workspaces/acme");
  EXPECT_EQ(Field(ws, "displayName"), "Acme");

  Reply got = Do("GET", "/v1/workspaces/acme");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Field(ParseJson(got.body), "etag"), Field(ws, "etag"));

  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=beta", "{}").status, 200);
  Reply page1 = Do("GET", "/v1/workspaces?page_size=1");
  ASSERT_EQ(page1.status, 200);
  Struct p1 = ParseJson(page1.body);
  ASSERT_EQ(p1.fields().at("workspaces").list_value().values_size(), 1);
  const std::string token = Field(p1, "nextPageToken");
  ASSERT_NE(token, "<absent>");
  // The token contains '/', sent percent-encoded as a client library would.
  std::string encoded;
  for (char ch : token) {
    if (ch == '/') {
      encoded += "%2F";
    } else {
      encoded += ch;
    }
  }
  Reply page2 = Do("GET", "/v1/workspaces?pageSize=1&page_token=" + encoded);
  ASSERT_EQ(page2.status, 200) << page2.body;
  Struct p2 = ParseJson(page2.body);
  ASSERT_EQ(p2.fields().at("workspaces").list_value().values_size(), 1);
  EXPECT_EQ(p2.fields()
                .at("workspaces")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            "workspaces/beta");

  // PATCH without update_mask: the mask comes from the body's fields.
  Reply patched = Do("PATCH", "/v1/workspaces/acme", R"({"displayName":"Acme Corp"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  Struct after = ParseJson(patched.body);
  EXPECT_EQ(Field(after, "displayName"), "Acme Corp");
  EXPECT_NE(Field(after, "etag"), Field(ws, "etag"));

  // Stale etag on delete -> ABORTED -> 409; the current one works.
  Reply stale = Do("DELETE", "/v1/workspaces/acme?etag=" + Field(ws, "etag"));
  EXPECT_EQ(stale.status, 409);
  Reply deleted = Do("DELETE", "/v1/workspaces/acme?etag=" + Field(after, "etag"));
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body, "{}");
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme").status, 404);
}

TEST_F(HttpGatewayTest, RegistryConfigSecretIsWriteOnly) {
  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  const std::string secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  Reply created = Do("POST", "/v1/workspaces/acme/registries?registry_id=gh",
                     absl::StrCat(R"({"type":"GHCR","ghcr":{"owner":"acme"},"secret":")", secret,
                                  R"(","isDefault":true})"));
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_FALSE(absl::StrContains(created.body, secret));
  EXPECT_EQ(stack_.StoredSecret("workspaces/acme/registries/gh"), secret);

  Reply got = Do("GET", "/v1/workspaces/acme/registries/gh");
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(absl::StrContains(got.body, secret));
  Struct c = ParseJson(got.body);
  EXPECT_EQ(Field(c, "hasSecret"), "true");
  EXPECT_EQ(Field(c, "secretHint"), "ghp_…6789");
  EXPECT_EQ(Field(c, "type"), "GHCR");

  // Nested settings field in the body -> mask "ghcr.owner". The owner is where the secret
  // goes, so alone it is refused (issue 17); with the secret re-entered the secret stays.
  Reply refused =
      Do("PATCH", "/v1/workspaces/acme/registries/gh", R"({"ghcr":{"owner":"acme-2"}})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_TRUE(absl::StrContains(refused.body, "registry_config.ghcr.owner")) << refused.body;
  Reply patched = Do("PATCH", "/v1/workspaces/acme/registries/gh",
                     absl::StrCat(R"({"ghcr":{"owner":"acme-2"},"secret":")", secret, R"("})"));
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_FALSE(absl::StrContains(patched.body, secret));
  EXPECT_EQ(ParseJson(patched.body)
                .fields()
                .at("ghcr")
                .struct_value()
                .fields()
                .at("owner")
                .string_value(),
            "acme-2");
  EXPECT_EQ(stack_.StoredSecret("workspaces/acme/registries/gh"), secret);

  Reply list = Do("GET", "/v1/workspaces/acme/registries");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(ParseJson(list.body).fields().at("registryConfigs").list_value().values_size(), 1);
}

TEST_F(HttpGatewayTest, AppRoutesAndExplicitUpdateMask) {
  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  Reply created = Do("POST", "/v1/workspaces/acme/apps?app_id=web", R"({"display_name":"Web"})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(Field(ParseJson(created.body), "repository"), "acme/web");
  // update_mask=display_name with a body that also carries another field: only the mask counts.
  Reply patched = Do("PATCH", "/v1/workspaces/acme/apps/web?update_mask=display_name",
                     R"({"displayName":"Web 2","registryConfig":"workspaces/acme/registries/x"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  Struct app = ParseJson(patched.body);
  EXPECT_EQ(Field(app, "displayName"), "Web 2");
  EXPECT_EQ(Field(app, "registryConfig"), "<absent>");
  EXPECT_EQ(Do("DELETE", "/v1/workspaces/acme/apps/web").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme/apps/web").status, 404);
  // The workspace is empty again, so a plain delete works.
  EXPECT_EQ(Do("DELETE", "/v1/workspaces/acme").status, 200);
}

TEST_F(HttpGatewayTest, GrpcCodesMapToHttpStatuses) {
  const struct {
    grpc::StatusCode code;
    int http;
    const char* name;
  } cases[] = {
      {grpc::StatusCode::INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"},
      {grpc::StatusCode::NOT_FOUND, 404, "NOT_FOUND"},
      {grpc::StatusCode::ALREADY_EXISTS, 409, "ALREADY_EXISTS"},
      {grpc::StatusCode::ABORTED, 409, "ABORTED"},
      {grpc::StatusCode::FAILED_PRECONDITION, 400, "FAILED_PRECONDITION"},
      {grpc::StatusCode::PERMISSION_DENIED, 403, "PERMISSION_DENIED"},
      {grpc::StatusCode::UNAUTHENTICATED, 401, "UNAUTHENTICATED"},
      {grpc::StatusCode::UNAVAILABLE, 503, "UNAVAILABLE"},
      {grpc::StatusCode::UNIMPLEMENTED, 501, "UNIMPLEMENTED"},
      {grpc::StatusCode::DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"},
      {grpc::StatusCode::INTERNAL, 500, "INTERNAL"},
      {grpc::StatusCode::DATA_LOSS, 500, "DATA_LOSS"},
  };
  for (const auto& c : cases) {
    stack_.FailNextCall(grpc::Status(c.code, "boom \"quoted\""));
    Reply r = Do("GET", "/v1/workspaces");
    EXPECT_EQ(r.status, c.http) << c.name;
    Struct err = ParseJson(r.body);
    EXPECT_EQ(Field(err, "code"), absl::StrCat(static_cast<int>(c.code))) << c.name;
    EXPECT_EQ(Field(err, "status"), c.name);
    EXPECT_EQ(Field(err, "message"), "boom \"quoted\"");
  }
  // A real service error travels the same way.
  Reply missing = Do("GET", "/v1/workspaces/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Field(ParseJson(missing.body), "status"), "NOT_FOUND");
  // Custom verbs are routed to the service: minting for an app that does not exist is the
  // service's NOT_FOUND (not the router's "no such path"), and TestConnection, which this
  // server has no tester for, is UNIMPLEMENTED -> 501.
  Reply mint = Do("POST", "/v1/workspaces/a/apps/b:mintPullToken", "{}");
  EXPECT_EQ(mint.status, 404);
  EXPECT_TRUE(absl::StrContains(Field(ParseJson(mint.body), "message"), "workspaces/a/apps/b"))
      << mint.body;
  EXPECT_EQ(Do("POST", "/v1/workspaces/a/registries/b:testConnection", "{}").status, 501);
}

TEST_F(HttpGatewayTest, ServiceAccountRoutes) {
  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  Reply created = Do("POST", "/v1/workspaces/acme/serviceAccounts?service_account_id=builder",
                     R"({"displayName":"CI","grants":[{"repository":"acme/*",)"
                     R"("actions":["pull","push"]}]})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.headers["cache-control"], "no-store");  // the secret is in the body
  Struct creds = ParseJson(created.body);
  EXPECT_EQ(Field(creds, "username"), "acme+builder");
  const std::string secret = Field(creds, "secret");
  EXPECT_TRUE(absl::StartsWith(secret, "ras_")) << created.body;
  const Struct& sa = creds.fields().at("serviceAccount").struct_value();
  EXPECT_EQ(Field(sa, "name"), "workspaces/acme/serviceAccounts/builder");

  Reply got = Do("GET", "/v1/workspaces/acme/serviceAccounts/builder");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_FALSE(absl::StrContains(got.body, secret));
  EXPECT_EQ(ParseJson(got.body).fields().at("grants").list_value().values_size(), 1);

  // PATCH without a mask: `disabled` and `grants` (repeated) come from the body.
  Reply patched = Do("PATCH", "/v1/workspaces/acme/serviceAccounts/builder",
                     R"({"disabled":true,"grants":[]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  Struct after = ParseJson(patched.body);
  EXPECT_EQ(Field(after, "disabled"), "true");
  EXPECT_EQ(after.fields().count("grants"), 0u);
  EXPECT_EQ(Field(after, "displayName"), "CI");

  Reply list = Do("GET", "/v1/workspaces/acme/serviceAccounts?page_size=10");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(ParseJson(list.body).fields().at("serviceAccounts").list_value().values_size(), 1);

  Reply regenerated =
      Do("POST", "/v1/workspaces/acme/serviceAccounts/builder:regenerateSecret", "{}");
  ASSERT_EQ(regenerated.status, 200) << regenerated.body;
  EXPECT_NE(Field(ParseJson(regenerated.body), "secret"), secret);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme/serviceAccounts/builder:regenerateSecret").status, 405);

  // A stale etag (well-formed: an old version) -> ABORTED -> 409.
  EXPECT_EQ(Do("DELETE", "/v1/workspaces/acme/serviceAccounts/builder?etag=%2299%22").status, 409);
  EXPECT_EQ(Do("DELETE", "/v1/workspaces/acme/serviceAccounts/builder").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme/serviceAccounts/builder").status, 404);
}

TEST_F(HttpGatewayTest, PullTokenAndRefreshTokenRoutes) {
  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  ASSERT_EQ(Do("POST", "/v1/workspaces/acme/apps?app_id=web", "{}").status, 200);
  ASSERT_EQ(Do("POST", "/v1/workspaces/acme/apps?app_id=api", "{}").status, 200);
  auto mint = [&](const std::string& app) {
    Reply r = Do("POST", "/v1/workspaces/acme/apps/" + app + ":mintPullToken", "{}");
    EXPECT_EQ(r.status, 200) << r.body;
    return Field(ParseJson(r.body), "name");  // workspaces/acme/pullTokens/<id>
  };
  mint("web");
  mint("web");
  const std::string t3 = mint("api");
  ASSERT_TRUE(absl::StartsWith(t3, "workspaces/acme/pullTokens/")) << t3;

  Reply all = Do("GET", "/v1/workspaces/acme/pullTokens?page_size=100");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(ParseJson(all.body).fields().at("pullTokens").list_value().values_size(), 3);
  Reply api = Do("GET", "/v1/workspaces/acme/apps/api/pullTokens");
  ASSERT_EQ(api.status, 200) << api.body;
  EXPECT_EQ(ParseJson(api.body).fields().at("pullTokens").list_value().values_size(), 1);

  Reply revoked = Do("POST", "/v1/" + t3 + ":revoke", "{}");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_NE(Field(ParseJson(revoked.body), "revokeTime"), "<absent>");
  Reply by_app = Do("POST", "/v1/workspaces/acme/apps/web:revokePullTokens", "");
  ASSERT_EQ(by_app.status, 200) << by_app.body;
  EXPECT_EQ(Field(ParseJson(by_app.body), "revokedCount"), "2");  // int64: a JSON string
  // A well-formed id (22 base64url characters) that was never minted.
  EXPECT_EQ(Do("POST", "/v1/workspaces/acme/pullTokens/AAAAAAAAAAAAAAAAAAAAAA:revoke", "{}").status,
            404);

  // Refresh tokens come from offline logins of two service accounts.
  auto refresh_token_of = [&](const std::string& account) {
    Reply created =
        Do("POST", "/v1/workspaces/acme/serviceAccounts?service_account_id=" + account, "{}");
    EXPECT_EQ(created.status, 200) << created.body;
    Connection c(gateway_->port());
    Reply login = c.Request(
        "GET", "/token?service=registry.test&offline_token=true", "",
        {{"Authorization", realm::FormatBasicAuthorization(
                               "acme+" + account, Field(ParseJson(created.body), "secret"))}});
    EXPECT_EQ(login.status, 200) << login.body;
    return Field(ParseJson(login.body), "refresh_token");
  };
  const std::string builder_refresh = refresh_token_of("builder");
  const std::string other_refresh = refresh_token_of("other");
  Reply tokens = Do("GET", "/v1/workspaces/acme/refreshTokens?subject=acme%2Bbuilder");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(ParseJson(tokens.body).fields().at("refreshTokens").list_value().values_size(), 1);
  EXPECT_FALSE(absl::StrContains(tokens.body, builder_refresh));
  Reply others = Do("GET", "/v1/workspaces/acme/refreshTokens?subject=acme%2Bother");
  ASSERT_EQ(others.status, 200) << others.body;
  const Struct other_tokens = ParseJson(others.body);
  ASSERT_EQ(other_tokens.fields().at("refreshTokens").list_value().values_size(), 1);
  const Struct& r2 =
      other_tokens.fields().at("refreshTokens").list_value().values(0).struct_value();
  EXPECT_FALSE(absl::StrContains(others.body, other_refresh));
  Reply revoke = Do("POST", "/v1/" + Field(r2, "name") + ":revoke", "{}");
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  EXPECT_EQ(Field(ParseJson(revoke.body), "subject"), "acme+other");
}

TEST_F(HttpGatewayTest, ThrottledCallsGetRetryAfterFromTheErrorDetail) {
  v1::ErrorDetail detail;
  detail.set_reason("TOO_MANY_FAILED_LOGINS");
  detail.set_retryable(true);
  detail.mutable_retry_after()->set_seconds(7);
  detail.mutable_retry_after()->set_nanos(1);
  stack_.FailNextCall(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down",
                   EncodeErrorDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down", detail)));
  Reply r = Do("GET", "/v1/workspaces");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "8");
  // Without a detail: at least 1 s.
  stack_.FailNextCall(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down"));
  EXPECT_EQ(Do("GET", "/v1/workspaces").headers["retry-after"], "1");
  // UNAVAILABLE without a retry delay: no header.
  stack_.FailNextCall(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  Reply down = Do("GET", "/v1/workspaces");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.headers.count("retry-after"), 0u);
}

// ---- The token realm --------------------------------------------------------------------------

std::string FormPost(const std::string& body, const std::string& extra_headers = "") {
  return absl::StrCat("POST /token HTTP/1.1\r\nHost: t\r\n",
                      "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
                      extra_headers, "Content-Length: ", body.size(), "\r\n\r\n", body);
}

class TokenEndpointTest : public HttpGatewayTest {
 protected:
  void SetUp() override {
    HttpGatewayTest::SetUp();
    ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
    Reply created = Do("POST", "/v1/workspaces/acme/serviceAccounts?service_account_id=builder",
                       R"({"grants":[{"repository":"acme/*","actions":["pull","push"]}]})");
    ASSERT_EQ(created.status, 200);
    secret_ = Field(ParseJson(created.body), "secret");
  }

  Reply Raw(const std::string& raw) {
    Connection c(gateway_->port());
    EXPECT_TRUE(c.connected());
    c.SendRaw(raw);
    return c.Read();
  }

  std::string secret_;
};

TEST_F(TokenEndpointTest, GetWithBasicCredentials) {
  const std::string basic = realm::FormatBasicAuthorization("acme+builder", secret_);
  Connection c(gateway_->port());
  Reply r = c.Request("GET",
                      "/token?account=acme%2Bbuilder&client_id=docker&offline_token=true&"
                      "scope=repository%3Aacme%2Fweb%3Apull%2Cpush&scope=repository%3Aacme%2Fapi"
                      "%3Apull&service=registry.test",
                      "",
                      {{"Authorization", basic},
                       {"X-Request-Id", "tok-1"},
                       {"X-Forwarded-For", "203.0.113.9"},
                       {"X-Api-Key", "not-forwarded"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(r.headers["x-request-id"], "tok-1");
  Struct body = ParseJson(r.body);
  // A registry token the stack signed, for this account and service.
  absl::StatusOr<nlohmann::json> claims = stack_.VerifyToken(Field(body, "token"));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->value("sub", ""), "acme+builder");
  EXPECT_EQ(Field(body, "access_token"), Field(body, "token"));
  EXPECT_EQ(Field(body, "expires_in"), "300");
  EXPECT_EQ(Field(body, "issued_at"), "2026-11-23T10:00:00Z");
  EXPECT_TRUE(absl::StartsWith(Field(body, "refresh_token"), "rrt_"));
  EXPECT_EQ(Field(body, "scope"), "<absent>");                     // GET replies carry no scope
  EXPECT_TRUE(absl::StrContains(r.body, R"("expires_in":300,)"));  // an integer

  const v1::IssueRegistryTokenRequest got = stack_.last_token_request();
  EXPECT_EQ(got.grant_type(), v1::IssueRegistryTokenRequest::GRANT_TYPE_UNSPECIFIED);
  EXPECT_EQ(got.username(), "acme+builder");
  EXPECT_EQ(got.password(), secret_);
  EXPECT_EQ(got.account(), "acme+builder");
  EXPECT_EQ(got.scopes_size(), 2);
  EXPECT_TRUE(got.offline_token());
  // The Basic header is registry credentials, never caller credentials; nor is any API key
  // sent to /token. The client address is the TCP peer's, not the client's own header.
  EXPECT_EQ(stack_.LastMetadata("authorization"), std::nullopt);
  EXPECT_EQ(stack_.LastMetadata("x-api-key"), std::nullopt);
  EXPECT_EQ(stack_.LastMetadata("x-forwarded-for"), std::optional<std::string>("127.0.0.1"));
  EXPECT_EQ(stack_.LastMetadata("x-request-id"), std::optional<std::string>("tok-1"));
}

// Behind a trusted proxy the client address comes from X-Forwarded-For (every line, walked
// from the right); otherwise the header is ignored. Details: client_address_test.cc.
TEST_F(TokenEndpointTest, TrustedProxyForwardsTheClientAddress) {
  auto last_forwarded_for = [&](const std::vector<std::pair<std::string, std::string>>& headers) {
    Connection c(gateway_->port());
    EXPECT_TRUE(c.connected());
    Reply r = c.Request("GET", "/token?service=registry.test", "", headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return stack_.LastMetadata("x-forwarded-for").value_or("<none>");
  };
  // Default: nothing trusted.
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "203.0.113.7"}}), "127.0.0.1");

  HttpGatewayOptions options;
  options.trusted_proxies = {"10.0.0.0/8", "127.0.0.1/32"};
  Start(options);
  EXPECT_EQ(last_forwarded_for({}), "127.0.0.1");
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "203.0.113.7"}}), "203.0.113.7");
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.3"}}),
            "203.0.113.7");
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"},
                                {"X-Forwarded-For", "10.0.0.3"}}),
            "203.0.113.7");
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "[2001:DB8::7]:443"}}), "2001:db8::7");
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "203.0.113.7, bogus"}}), "127.0.0.1");

  // A peer outside the trusted networks: ignored.
  options.trusted_proxies = {"10.0.0.0/8"};
  Start(options);
  EXPECT_EQ(last_forwarded_for({{"X-Forwarded-For", "203.0.113.7"}}), "127.0.0.1");
}

TEST_F(HttpGatewayTest, CreateRefusesBadTrustedProxies) {
  HttpGatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.trusted_proxies = {"10.0.0.0/8", "10.0.0.1/8"};
  absl::StatusOr<std::unique_ptr<HttpGateway>> gw =
      HttpGateway::Create(options, server_->InProcessChannel(grpc::ChannelArguments()));
  ASSERT_FALSE(gw.ok());
  EXPECT_EQ(gw.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(gw.status().message(), "trusted_proxies: \"10.0.0.1/8\""))
      << gw.status();
}

TEST_F(TokenEndpointTest, GetAnonymous) {
  Reply r = Do("GET", "/token?service=registry.test&scope=repository:acme/web:pull");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Field(ParseJson(r.body), "refresh_token"), "<absent>");
  const v1::IssueRegistryTokenRequest got = stack_.last_token_request();
  EXPECT_TRUE(got.username().empty());
  EXPECT_TRUE(got.password().empty());
  EXPECT_EQ(got.scopes(0), "repository:acme/web:pull");
}

TEST_F(TokenEndpointTest, PostPasswordAndRefreshToken) {
  Reply r = Raw(FormPost(absl::StrCat(
      "access_type=offline&client_id=containerd-client&grant_type=password&password=", secret_,
      "&scope=repository%3Aacme%2Fweb%3Apull+repository%3Aacme%2Fapi%3Apull%2Cpush"
      "&service=registry.test&username=acme%2Bbuilder")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  Struct body = ParseJson(r.body);
  EXPECT_EQ(Field(body, "scope"), "repository:acme/web:pull repository:acme/api:pull,push");
  const std::string refresh = Field(body, "refresh_token");
  ASSERT_TRUE(absl::StartsWith(refresh, "rrt_")) << r.body;
  ASSERT_TRUE(stack_.VerifyToken(Field(body, "token")).ok());
  EXPECT_EQ(stack_.last_token_request().grant_type(), v1::IssueRegistryTokenRequest::PASSWORD);
  EXPECT_EQ(stack_.LastMetadata("authorization"), std::nullopt);

  Reply refreshed =
      Raw(FormPost(absl::StrCat("grant_type=refresh_token&refresh_token=", refresh,
                                "&service=registry.test&"
                                "client_id=docker&scope=repository%3Aacme%2Fweb%3Apull")));
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  Struct b = ParseJson(refreshed.body);
  EXPECT_EQ(Field(b, "refresh_token"), refresh);
  EXPECT_EQ(Field(b, "scope"), "repository:acme/web:pull");
  EXPECT_EQ(stack_.last_token_request().refresh_token(), refresh);
}

TEST_F(TokenEndpointTest, PostChunkedWithoutContentLength) {
  const std::string form = absl::StrCat(
      "grant_type=password&service=registry.test&"
      "username=acme%2Bbuilder&password=",
      secret_);
  const size_t half = form.size() / 2;
  auto hex = [](size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    do {
      out.insert(out.begin(), digits[n % 16]);
      n /= 16;
    } while (n != 0);
    return out;
  };
  Reply r = Raw(absl::StrCat(
      "POST /token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      hex(half), "\r\n", form.substr(0, half), "\r\n", hex(form.size() - half), "\r\n",
      form.substr(half), "\r\n0\r\n\r\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Field(ParseJson(r.body), "scope"), "");
  EXPECT_EQ(stack_.last_token_request().password(), secret_);
}

TEST_F(TokenEndpointTest, BadCredentialsAre401WithAChallenge) {
  Connection c(gateway_->port());
  const std::string wrong = "wrong-password-value";
  Reply get =
      c.Request("GET", "/token?service=registry.test", "",
                {{"Authorization", realm::FormatBasicAuthorization("acme+builder", wrong)}});
  EXPECT_EQ(get.status, 401);
  EXPECT_EQ(get.headers["www-authenticate"], R"(Basic realm="registry-auth")");
  EXPECT_EQ(get.body, R"({"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials",)"
                      R"("detail":{"reason":"INVALID_CREDENTIALS"}}]})");
  EXPECT_FALSE(absl::StrContains(get.body, wrong));
  // A header that is not Basic never reaches the service.
  Reply bearer =
      c.Request("GET", "/token?service=registry.test", "", {{"Authorization", "Bearer " + wrong}});
  EXPECT_EQ(bearer.status, 401);
  EXPECT_FALSE(absl::StrContains(bearer.body, wrong));

  Reply post = Raw(FormPost(absl::StrCat(
      "grant_type=password&service=registry.test&username=acme%2Bbuilder&password=", wrong)));
  EXPECT_EQ(post.status, 401);
  EXPECT_EQ(post.headers["www-authenticate"], R"(Basic realm="registry-auth")");
  Struct err = ParseJson(post.body);
  EXPECT_EQ(Field(err, "error"), "invalid_grant");
  EXPECT_EQ(Field(err, "error_description"), "invalid credentials");
  EXPECT_FALSE(absl::StrContains(post.body, wrong));

  // The realm of the challenge is configurable.
  HttpGatewayOptions options;
  options.token_basic_realm = "Registry Login";
  Start(options);
  Reply custom = Do("GET", "/token?service=registry.test",
                    "");  // anonymous works; now a failed login:
  EXPECT_EQ(custom.status, 200);
  Connection c2(gateway_->port());
  Reply challenged = c2.Request("GET", "/token?service=registry.test", "",
                                {{"Authorization", realm::FormatBasicAuthorization("x", "y")}});
  EXPECT_EQ(challenged.headers["www-authenticate"], R"(Basic realm="Registry Login")");
}

TEST_F(TokenEndpointTest, BadRequestsAre400) {
  Reply missing = Do("GET", "/token?scope=repository:acme/web:pull");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, R"({"errors":[{"code":"INVALID_ARGUMENT",)"
                          R"("message":"parameter \"service\" is required"}]})");
  EXPECT_EQ(stack_.last_token_request().service(), "");  // no call was made

  Reply unknown = Do("GET", "/token?service=other.example");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_TRUE(absl::StrContains(unknown.body, R"("reason":"UNKNOWN_SERVICE")")) << unknown.body;

  EXPECT_EQ(Do("GET", "/token?service=registry.test&offline_token=maybe").status, 400);
  EXPECT_EQ(Do("GET", "/token?service=registry.test&service=registry.test").status, 400);
  EXPECT_EQ(Do("GET", "/token?service=registry.test&scope=%ff").status, 400);

  Reply grant = Raw(FormPost("grant_type=client_credentials&service=registry.test"));
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(Field(ParseJson(grant.body), "error"), "unsupported_grant_type");
  // A JSON body is not the OAuth form.
  Reply json = Do("POST", "/token", R"({"grant_type":"password"})");
  EXPECT_EQ(json.status, 400);
  EXPECT_EQ(Field(ParseJson(json.body), "error"), "invalid_request");

  Reply put = Do("PUT", "/token", "");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers["allow"], "GET, POST");
  EXPECT_EQ(Do("DELETE", "/token").status, 405);
}

TEST_F(TokenEndpointTest, ThrottlingIs429WithRetryAfter) {
  v1::ErrorDetail detail;
  detail.set_reason("TOO_MANY_FAILED_LOGINS");
  detail.set_retryable(true);
  detail.mutable_retry_after()->set_seconds(42);
  const std::string message = "too many failed logins; retry later";
  stack_.FailNextCall(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message,
                   EncodeErrorDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, message, detail)));
  Reply get = Do("GET", "/token?service=registry.test");
  EXPECT_EQ(get.status, 429);
  EXPECT_EQ(get.headers["retry-after"], "42");
  EXPECT_TRUE(absl::StrContains(get.body, R"("code":"TOOMANYREQUESTS")")) << get.body;

  stack_.FailNextCall(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message));
  Reply post = Raw(FormPost(absl::StrCat(
      "grant_type=password&service=registry.test&username=acme%2Bbuilder&password=", secret_)));
  EXPECT_EQ(post.status, 429);
  EXPECT_EQ(post.headers["retry-after"], "1");
  EXPECT_EQ(Field(ParseJson(post.body), "error"), "temporarily_unavailable");

  stack_.FailNextCall(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no token realm"));
  EXPECT_EQ(Do("GET", "/token?service=registry.test").status, 404);
}

// The server's own gateway calls the service method on its I/O thread instead of the RPC
// (api/in_process.h). Records what it was given and answers as told.
class RecordingTokenIssuer final : public api::InProcessTokenIssuer {
 public:
  grpc::Status IssueRegistryToken(const api::InProcessCall& call,
                                  v1::IssueRegistryTokenRequest& request,
                                  v1::IssueRegistryTokenResponse* response,
                                  std::string* request_id) override {
    ++calls;
    last_request = request;
    last_request_id = std::string(call.request_id);
    last_client_address = std::string(call.client_address);
    request.set_password("wiped-by-the-service");  // what the service does to the secret
    *request_id = call.request_id.empty() ? "generated-id" : std::string(call.request_id);
    if (!next_status.ok()) return std::exchange(next_status, grpc::Status::OK);
    response->set_token("in-process-token");
    response->set_expires_in(300);
    response->mutable_issued_at()->set_seconds(1795428000);  // 2026-11-23T10:00:00Z
    response->add_granted_scopes("repository:acme/web:pull");
    return grpc::Status::OK;
  }

  int calls = 0;
  v1::IssueRegistryTokenRequest last_request;
  std::string last_request_id;
  std::string last_client_address;
  grpc::Status next_status;
};

class InProcessTokenTest : public HttpGatewayTest {
 protected:
  void SetUp() override {
    HttpGatewayOptions options;
    options.in_process_tokens = &issuer_;
    Start(options);
  }

  RecordingTokenIssuer issuer_;
};

TEST_F(InProcessTokenTest, TokenRequestsGoToTheServiceInProcessNotOverTheChannel) {
  Connection c(gateway_->port());
  Reply r = c.Request("GET",
                      "/token?service=registry.test&scope=repository%3Aacme%2Fweb%3Apull&"
                      "offline_token=true",
                      "",
                      {{"Authorization", realm::FormatBasicAuthorization("acme+ci", "pw")},
                       {"X-Request-Id", "tok-7"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-request-id"], "tok-7");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  Struct body = ParseJson(r.body);
  EXPECT_EQ(Field(body, "token"), "in-process-token");
  EXPECT_EQ(Field(body, "access_token"), "in-process-token");
  EXPECT_EQ(Field(body, "expires_in"), "300");
  EXPECT_EQ(Field(body, "issued_at"), "2026-11-23T10:00:00Z");

  EXPECT_EQ(issuer_.calls, 1);
  EXPECT_EQ(issuer_.last_request.service(), "registry.test");
  EXPECT_EQ(issuer_.last_request.username(), "acme+ci");
  EXPECT_EQ(issuer_.last_request.password(), "pw");
  ASSERT_EQ(issuer_.last_request.scopes_size(), 1);
  EXPECT_EQ(issuer_.last_request.scopes(0), "repository:acme/web:pull");
  EXPECT_TRUE(issuer_.last_request.offline_token());
  EXPECT_EQ(issuer_.last_request_id, "tok-7");
  EXPECT_EQ(issuer_.last_client_address, "127.0.0.1");
  // Nothing went over the channel.
  EXPECT_EQ(stack_.last_token_request().service(), "");

  // POST takes the same path, on the same keep-alive connection; without a request id the
  // service's own id comes back.
  const std::string form = "grant_type=password&service=registry.test&username=u&password=p";
  Reply post =
      c.Request("POST", "/token", form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(post.status, 200) << post.body;
  EXPECT_EQ(post.headers["x-request-id"], "generated-id");
  EXPECT_EQ(Field(ParseJson(post.body), "scope"), "repository:acme/web:pull");
  EXPECT_EQ(issuer_.calls, 2);
  EXPECT_EQ(issuer_.last_request.grant_type(), v1::IssueRegistryTokenRequest::PASSWORD);

  // Other routes still use the channel.
  EXPECT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme").status, 200);
}

TEST_F(InProcessTokenTest, ErrorsMapAsOverTheChannel) {
  issuer_.next_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials");
  Connection c(gateway_->port());
  Reply denied = c.Request("GET", "/token?service=registry.test", "",
                           {{"Authorization", realm::FormatBasicAuthorization("a", "wrong")}});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"], R"(Basic realm="registry-auth")");
  EXPECT_FALSE(absl::StrContains(denied.body, "wrong"));

  v1::ErrorDetail detail;
  detail.set_reason("TOO_MANY_FAILED_LOGINS");
  detail.mutable_retry_after()->set_seconds(42);
  const std::string message = "too many failed logins; retry later";
  issuer_.next_status =
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message,
                   EncodeErrorDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, message, detail));
  Reply throttled = Do("GET", "/token?service=registry.test");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.headers["retry-after"], "42");

  issuer_.next_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable");
  EXPECT_EQ(Do("GET", "/token?service=registry.test").status, 503);

  // A request the gateway refuses itself never reaches the service.
  const int before = issuer_.calls;
  EXPECT_EQ(Do("GET", "/token?scope=repository:acme/web:pull").status, 400);
  EXPECT_EQ(Do("GET", "/token?service=registry.test&offline_token=maybe").status, 400);
  EXPECT_EQ(issuer_.calls, before);
}

TEST_F(HttpGatewayTest, BadJsonBodiesAre400WithoutEchoingValues) {
  Reply unknown = Do("POST", "/v1/workspaces?workspace_id=acme", R"({"bogusField":1})");
  EXPECT_EQ(unknown.status, 400);
  Struct err = ParseJson(unknown.body);
  EXPECT_EQ(Field(err, "status"), "INVALID_ARGUMENT");
  EXPECT_TRUE(absl::StrContains(Field(err, "message"), "bogusField"));
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme").status, 404);  // nothing was created

  ASSERT_EQ(Do("POST", "/v1/workspaces?workspace_id=acme", "{}").status, 200);
  // Wrong type and broken JSON: the reply must not quote the (secret) value.
  for (const char* body : {R"({"type":"GHCR","secret":12345678901234})",
                           R"({"type":"GHCR","secret":ghp_notquotedsecret})",
                           R"({"type":"ghp_enumsecretvalue"})", "[1]", "{"}) {
    Reply r = Do("POST", "/v1/workspaces/acme/registries?registry_id=r", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_FALSE(absl::StrContains(r.body, "12345678901234")) << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, "ghp_")) << r.body;
    EXPECT_EQ(Field(ParseJson(r.body), "status"), "INVALID_ARGUMENT");
  }
  // A body on a method that takes none.
  EXPECT_EQ(Do("GET", "/v1/workspaces", "{}").status, 400);
}

TEST_F(HttpGatewayTest, QueryParametersAreDecodedAndChecked) {
  // '+' and %20 are spaces: the id is invalid for the service, which says so (400).
  Reply spaced = Do("POST", "/v1/workspaces?workspace_id=a+b", "{}");
  EXPECT_EQ(spaced.status, 400);
  EXPECT_EQ(Do("POST", "/v1/workspaces?workspace_id=%61cme", "{}").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/acme").status, 200);
  EXPECT_EQ(Do("GET", "/v1/workspaces/%61cme").status, 200);

  for (const char* target :
       {"/v1/workspaces?page_token=%zz", "/v1/workspaces?page_token=%4",
        "/v1/workspaces?page_token=%ff", "/v1/workspaces?nope=1", "/v1/workspaces?page_size=ten",
        "/v1/workspaces?page_size=1&page_size=2", "/v1/workspaces/acme?name=x",
        "/v1/workspaces/%zz"}) {
    Reply r = Do("GET", target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(Field(ParseJson(r.body), "status"), "INVALID_ARGUMENT") << target;
  }
  EXPECT_EQ(Do("DELETE", "/v1/workspaces/acme?force=true").status, 200);
}

TEST_F(HttpGatewayTest, RequestIdIsForwardedAndEchoed) {
  Connection c(gateway_->port());
  Reply r = c.Request("GET", "/v1/workspaces", "", {{"X-Request-Id", "req-123"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(stack_.LastMetadata("x-request-id"), "req-123");
  EXPECT_EQ(r.headers["x-request-id"], "req-123");
  Reply bad = c.Request("GET", "/v1/workspaces", "", {{"X-Request-Id", std::string(200, 'a')}});
  EXPECT_EQ(bad.status, 400);
}

TEST_F(HttpGatewayTest, UnknownPathIs404AndWrongMethodIs405) {
  Reply missing = Do("GET", "/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Field(ParseJson(missing.body), "status"), "NOT_FOUND");
  EXPECT_EQ(Do("GET", "/v1/workspaces/").status, 404);
  EXPECT_EQ(Do("GET", "/v1/workspaces/a/b").status, 404);

  Reply put = Do("PUT", "/v1/workspaces/acme", "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers["allow"], "GET, PATCH, DELETE");
  ParseJson(put.body);
  Reply verb = Do("GET", "/v1/workspaces/a/apps/b:mintPullToken");
  EXPECT_EQ(verb.status, 405);
  EXPECT_EQ(verb.headers["allow"], "POST");
  EXPECT_EQ(Do("DELETE", "/healthz").status, 405);
}

TEST_F(HttpGatewayTest, MalformedRequestsAre400AndCloseTheConnection) {
  for (const char* raw :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /v1/workspaces HTTP/1.1\r\nContent-Length: x\r\n\r\n", "\x01\x02\x03\r\n\r\n"}) {
    Connection c(gateway_->port());
    c.SendRaw(raw);
    Reply r = c.Read();
    ASSERT_TRUE(r.ok) << raw;
    EXPECT_EQ(r.status, 400) << raw;
    EXPECT_FALSE(r.keep_alive);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  // The server is still healthy.
  EXPECT_EQ(Do("GET", "/healthz").status, 200);
}

TEST_F(HttpGatewayTest, OversizedBodyIs413AndOversizedHeaderIs431) {
  HttpGatewayOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  Start(options);
  {
    Connection c(gateway_->port());
    c.SendRaw(
        "POST /v1/workspaces?workspace_id=a HTTP/1.1\r\nHost: t\r\n"
        "Content-Length: 5000\r\n\r\n" +
        std::string(5000, ' '));
    Reply r = c.Read();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.status, 413);
  }
  {
    // Chunked: the limit is only hit while reading the body.
    Connection c(gateway_->port());
    c.SendRaw(
        "POST /v1/workspaces?workspace_id=a HTTP/1.1\r\nHost: t\r\n"
        "Transfer-Encoding: chunked\r\n\r\n800\r\n" +
        std::string(0x800, ' ') + "\r\n0\r\n\r\n");
    Reply r = c.Read();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.status, 413);
  }
  {
    Connection c(gateway_->port());
    Reply r = c.Request("GET", "/healthz", "", {{"X-Filler", std::string(4096, 'x')}});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.status, 431);
  }
  // Just under the limit still works.
  Reply ok = Do("POST", "/v1/workspaces?workspace_id=a",
                absl::StrCat(R"({"displayName":")", std::string(200, 'n'), R"("})"));
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(HttpGatewayTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Connection c(gateway_->port());
  Reply first = c.Request("POST", "/v1/workspaces?workspace_id=acme", "{}");
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(first.keep_alive);
  Reply second = c.Request("GET", "/v1/workspaces/acme");
  EXPECT_EQ(second.status, 200);
  Reply third = c.Request("GET", "/healthz");
  EXPECT_EQ(third.status, 200);
  // Pipelined requests are answered in order.
  c.SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /v1/workspaces/zz HTTP/1.1\r\n"
      "Host: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.Read().status, 200);
  Reply last = c.Read();
  EXPECT_EQ(last.status, 404);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpGatewayTest, ExpectContinueAndHttp10) {
  Connection c(gateway_->port());
  c.SendRaw(
      "POST /v1/workspaces?workspace_id=acme HTTP/1.1\r\nHost: t\r\n"
      "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  Reply cont = c.Read();
  ASSERT_TRUE(cont.ok);
  EXPECT_EQ(cont.status, 100);
  c.SendRaw("{}");
  EXPECT_EQ(c.Read().status, 200);

  Connection old(gateway_->port());
  old.SendRaw("GET /healthz HTTP/1.0\r\n\r\n");
  Reply r = old.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(old.ClosedByPeer());
}

TEST_F(HttpGatewayTest, ShutdownClosesIdleConnectionsAndRefusesNewOnes) {
  Connection idle(gateway_->port());
  EXPECT_EQ(idle.Request("GET", "/healthz").status, 200);
  const int port = gateway_->port();
  gateway_->Shutdown();
  EXPECT_TRUE(idle.ClosedByPeer());
  Connection late(port);
  EXPECT_FALSE(late.connected() && late.Request("GET", "/healthz").ok);
  gateway_->Shutdown();  // idempotent
}

TEST_F(HttpGatewayTest, SurvivesRandomBytesAndMutatedRequests) {
  std::mt19937 rng(20240601);  // fixed seed: the same inputs every run
  const std::string valid =
      "PATCH /v1/workspaces/acme?update_mask=display_name&etag=%41 HTTP/1.1\r\nHost: t\r\n"
      "Content-Length: 22\r\nX-Request-Id: r1\r\n\r\n{\"displayName\":\"x\u00e9\"}";
  for (int i = 0; i < 300; ++i) {
    std::string input = valid;
    if (i % 3 == 0) {
      input.resize(rng() % 200);
      for (char& c : input) c = static_cast<char>(rng() % 256);
    } else {
      for (int k = 0, n = 1 + static_cast<int>(rng() % 8); k < n; ++k) {
        input[rng() % input.size()] = static_cast<char>(rng() % 256);
      }
    }
    input += "\r\n\r\n";
    Connection c(gateway_->port());
    ASSERT_TRUE(c.connected());
    c.SendRaw(input);
    Reply r = c.Read();
    if (r.ok) {
      EXPECT_GE(r.status, 200) << i;
      EXPECT_LT(r.status, 600) << i;
    }
  }
  EXPECT_EQ(Do("GET", "/healthz").status, 200);
}

TEST(HttpGatewayCreateTest, RejectsBadOptions) {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  HttpGatewayOptions options;
  options.listen = "no-port";
  EXPECT_EQ(HttpGateway::Create(options, channel).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.listen = "example.com:80";
  EXPECT_EQ(HttpGateway::Create(options, channel).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  options.threads = 0;
  EXPECT_EQ(HttpGateway::Create(options, channel).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.threads = 1;
  EXPECT_EQ(HttpGateway::Create(options, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A port in use -> UNAVAILABLE.
  auto first = HttpGateway::Create(options, channel);
  ASSERT_TRUE(first.ok());
  options.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  EXPECT_EQ(HttpGateway::Create(options, channel).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace registryauth::gateway
