// Metrics and logs of the real server (issue 6, "Observe"):
//  - the /metrics exposition passes a real Prometheus parser (`promtool check metrics`, from
//    Debian's prometheus package, installed by scripts/install-deps.sh --test-tools), and its
//    counters move by exactly the calls a test makes, over gRPC and over HTTP;
//  - every log line of the server in --log_format=json is one JSON object, with one access
//    line per gRPC call and per HTTP request carrying request id, caller, rpc/route, status and
//    duration;
//  - a canary secret stored through the server, fetched with GetCredentials and then used as a
//    wrong password at /token (and as an API key, and in a query string) appears neither in the
//    logs nor in the metrics; neither do the callers' API keys.

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "observability/metrics.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "realm/basic_auth.h"
#include "server/config.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::StderrCapture;

constexpr char kCanary[] = "ghp_ObsCanary9d4e1f7a2b6c3e8d5f0a1b2c3d4e5f6a7";
constexpr char kService[] = "registry.test";

// Runs `promtool check metrics` on `text`; returns its exit code and output.
struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};
PromtoolResult Promtool(const std::string& text) {
  PromtoolResult r;
  std::optional<std::string> promtool = testing::FindExecutable("promtool", {"/usr/bin"});
  if (!promtool.has_value()) {
    r.output = "promtool not found: run scripts/install-deps.sh --test-tools (Debian prometheus)";
    return r;
  }
  absl::StatusOr<std::string> dir = testing::MakeTempDir("promtool");
  if (!dir.ok()) {
    r.output = dir.status().ToString();
    return r;
  }
  const std::string file = *dir + "/metrics.txt";
  std::ofstream(file) << text;
  // promtool reads the exposition on stdin; the shell only redirects (no string is parsed).
  absl::StatusOr<testing::SubprocessResult> run = testing::RunSubprocess(
      {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", *promtool, file},
      {"PATH=/usr/bin:/bin", absl::StrCat("HOME=", *dir)}, absl::Seconds(60));
  if (!run.ok()) {
    r.output = run.status().ToString();
    return r;
  }
  r.exit_code = run->exit_code;
  r.output = run->stdout_text + run->stderr_text;
  return r;
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    out[std::string(line.substr(0, space))] =
        std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return out;
}

// The forms a secret could take when it leaks.
std::vector<std::string> Forms(const std::string& secret) {
  return {secret, absl::BytesToHexString(secret), absl::Base64Escape(secret),
          absl::WebSafeBase64Escape(secret)};
}

TEST(MetricsFormatTest, PromtoolAcceptsTrickyLabelsAndEveryMetricType) {
  observability::Registry r;
  auto& c = r.AddCounter("t_requests_total", "Requests with \\ and\nnewline in help.", {"v"});
  c.WithLabels({"quote\" backslash\\ newline\n end"}).Increment(3);
  c.WithLabels({std::string("bad utf8 \xff\xfe and \xc3\xa9")}).Increment();
  c.WithLabels({""}).Increment();
  r.AddGauge("t_in_use", "Gauge.", {}).Get().Set(-2.5);
  auto& h =
      r.AddHistogram("t_latency_seconds", "Latency.", {"route"}, observability::LatencyBuckets());
  h.WithLabels({"/v1/{name=workspaces/*}"}).Observe(0.003);
  h.WithLabels({"/v1/{name=workspaces/*}"}).Observe(42);
  const std::string text = r.Render();
  PromtoolResult p = Promtool(text);
  EXPECT_EQ(p.exit_code, 0) << p.output << "\n" << text;
  EXPECT_EQ(p.output, "") << text;
  // And the checker is not a rubber stamp: an unescaped quote fails.
  EXPECT_NE(Promtool("# HELP x_total x\n# TYPE x_total counter\nx_total{v=\"a\"b\"} 1\n").exit_code,
            0);
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    // Each test starts the server itself, once stderr is captured.
    auto stack = testing::TestStack::Builder()
                     .WithCaller("admin", "registries.manage tokens.mint")
                     .WithCaller("build-worker", "credentials.read")
                     .WithoutServer()
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    dir_ = stack_->dir();
    admin_key_ = stack_->api_key("admin");
    worker_key_ = stack_->api_key("build-worker");
    absl::StatusOr<std::string> set_file = testing::WriteTestSigningKeys(dir_);
    ASSERT_TRUE(set_file.ok()) << set_file.status();
    signing_keys_ = *set_file;
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& key, const std::string& id = "") {
    auto ctx = testing::Ctx();
    ctx->AddMetadata("x-api-key", key);
    if (!id.empty()) ctx->AddMetadata("x-request-id", id);
    return ctx;
  }

  std::string Scrape(int port) {
    testing::HttpConnection http(port);
    EXPECT_TRUE(http.connected());
    testing::HttpReply r = http.Request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::string dir_;
  std::string admin_key_, worker_key_;
  std::string signing_keys_;
};

TEST_F(ObservabilityTest, MetricsMoveByTheCallsMadeAndLogsHoldNoSecret) {
  const LogFormat saved_format = GetLogFormat();
  SetLogFormat(LogFormat::kJson);
  StderrCapture capture(dir_ + "/server.log");
  absl::Status started = stack_->StartServer([&](server::ServerConfig& c) {
    c.token_service = kService;
    c.token_signing_keys = signing_keys_;
    c.registry_host = "registry.test:5000";
  });
  ASSERT_TRUE(started.ok()) << started;
  v1::RegistryAuthService::Stub& stub = stack_->stub();
  const int http_port = stack_->http_port();

  // Set-up: a workspace and a registry config whose secret is the canary.
  {
    v1::CreateWorkspaceRequest cw;
    cw.set_workspace_id("acme");
    v1::Workspace ws;
    ASSERT_TRUE(stub.CreateWorkspace(As(admin_key_).get(), cw, &ws).ok());
    v1::CreateRegistryConfigRequest cr;
    cr.set_parent("workspaces/acme");
    cr.set_registry_id("gh");
    cr.mutable_registry_config()->set_type(v1::GHCR);
    cr.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
    cr.mutable_registry_config()->set_secret(kCanary);
    v1::RegistryConfig config;
    grpc::Status s = stub.CreateRegistryConfig(As(admin_key_).get(), cr, &config);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A registry that cannot be reached, for one TestConnection
  // (registry_auth_test_connection_total).
  {
    v1::CreateRegistryConfigRequest cr;
    cr.set_parent("workspaces/acme");
    cr.set_registry_id("unreachable");
    cr.mutable_registry_config()->set_type(v1::GENERIC);
    cr.mutable_registry_config()->mutable_generic()->set_url("https://127.0.0.1:1");
    cr.mutable_registry_config()->mutable_generic()->set_username("bot");
    cr.mutable_registry_config()->set_secret(kCanary);
    v1::RegistryConfig config;
    grpc::Status s = stub.CreateRegistryConfig(As(admin_key_).get(), cr, &config);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  const std::string before_text = Scrape(http_port);
  const std::map<std::string, double> before = ParseSamples(before_text);

  // --- gRPC: 3 ListWorkspaces, 2 GetCredentials (returning the canary), 1 refused call whose
  // "API key" is the canary.
  for (int i = 0; i < 3; ++i) {
    v1::ListWorkspacesResponse l;
    ASSERT_TRUE(stub.ListWorkspaces(As(admin_key_).get(), {}, &l).ok());
  }
  for (int i = 0; i < 2; ++i) {
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/gh");
    v1::GetCredentialsResponse resp;
    grpc::Status s =
        stub.GetCredentials(As(worker_key_, absl::StrCat("obs-cred-", i)).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.secret(), kCanary);
  }
  {
    v1::ListWorkspacesResponse l;
    EXPECT_EQ(stub.ListWorkspaces(As(kCanary).get(), {}, &l).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/unreachable");
    v1::TestConnectionResponse resp;
    grpc::Status s = stub.TestConnection(As(admin_key_).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // --- HTTP: 2 REST reads, and /token with the canary as a wrong password (4 times: a
  // service-account name, a pull-token name, POST with a form body, and a query string that
  // carries it).
  {
    testing::HttpConnection http(http_port);
    ASSERT_TRUE(http.connected());
    for (int i = 0; i < 2; ++i) {
      testing::HttpReply r =
          http.Request("GET", "/v1/workspaces/acme", "",
                       {{"x-api-key", admin_key_}, {"x-request-id", "obs-http-1"}});
      EXPECT_EQ(r.status, 200) << r.body;
    }
    testing::HttpReply t = http.Request(
        "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:pull"), "",
        {{"Authorization", realm::FormatBasicAuthorization("acme+builder", kCanary)},
         {"x-request-id", "obs-token-1"}});
    EXPECT_EQ(t.status, 401) << t.body;
    t = http.Request("GET", absl::StrCat("/token?service=", kService), "",
                     {{"Authorization",
                       realm::FormatBasicAuthorization("pull+AAAAAAAAAAAAAAAAAAAAAA", kCanary)}});
    EXPECT_EQ(t.status, 401) << t.body;
  }
  {
    testing::HttpConnection http(http_port);
    ASSERT_TRUE(http.connected());
    testing::HttpReply t = http.Request("POST", "/token",
                                        absl::StrCat("grant_type=password&service=", kService,
                                                     "&username=acme%2Bbuilder&password=", kCanary),
                                        {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(t.status, 401) << t.body;
    t = http.Request("GET", absl::StrCat("/token?service=", kService, "&account=", kCanary), "",
                     {{"Authorization", realm::FormatBasicAuthorization("acme+builder", "x")}});
    EXPECT_EQ(t.status, 400) << t.body;
  }

  const std::string after_text = Scrape(http_port);
  const std::map<std::string, double> after = ParseSamples(after_text);
  auto delta = [&](const std::string& series) {
    auto a = after.find(series);
    if (a == after.end()) return -1.0;  // absent: never equal to an expected count
    auto b = before.find(series);
    return a->second - (b == before.end() ? 0.0 : b->second);
  };
  auto value = [&](const std::string& series) {
    auto a = after.find(series);
    return a == after.end() ? -1.0 : a->second;
  };

  // A real Prometheus parser accepts both scrapes, without lint complaints.
  for (const std::string* text : {&before_text, &after_text}) {
    PromtoolResult p = Promtool(*text);
    EXPECT_EQ(p.exit_code, 0) << p.output;
    EXPECT_EQ(p.output, "");
  }

  const std::string svc = "grpc_service=\"registryauth.v1.RegistryAuthService\"";
  // gRPC: exactly the calls made (the HTTP reads are gRPC calls too, over the in-process
  // channel, and show up as GetWorkspace).
  EXPECT_EQ(delta("grpc_server_handled_total{" + svc +
                  ",grpc_method=\"ListWorkspaces\",grpc_type=\"unary\",grpc_code=\"OK\"}"),
            3);
  EXPECT_EQ(delta("grpc_server_handled_total{" + svc +
                  ",grpc_method=\"ListWorkspaces\",grpc_type=\"unary\",grpc_code="
                  "\"UNAUTHENTICATED\"}"),
            1);
  EXPECT_EQ(delta("grpc_server_handled_total{" + svc +
                  ",grpc_method=\"GetCredentials\",grpc_type=\"unary\",grpc_code=\"OK\"}"),
            2);
  EXPECT_EQ(delta("grpc_server_handled_total{" + svc +
                  ",grpc_method=\"GetWorkspace\",grpc_type=\"unary\",grpc_code=\"OK\"}"),
            2);
  EXPECT_EQ(delta("grpc_server_handling_seconds_count{" + svc +
                  ",grpc_method=\"ListWorkspaces\",grpc_code=\"OK\"}"),
            3);
  EXPECT_EQ(delta("grpc_server_handling_seconds_bucket{" + svc +
                  ",grpc_method=\"ListWorkspaces\",grpc_code=\"OK\",le=\"+Inf\"}"),
            3);
  EXPECT_EQ(delta("registry_auth_get_credentials_total{caller=\"build-worker\",grpc_code=\"OK\"}"),
            2);
  // /token: three refusals for bad credentials, one malformed request.
  EXPECT_EQ(delta("grpc_server_handled_total{" + svc +
                  ",grpc_method=\"IssueRegistryToken\",grpc_type=\"unary\",grpc_code="
                  "\"UNAUTHENTICATED\"}"),
            3);
  // HTTP: by route template and status.
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/v1/{name=workspaces/*}\","
                  "status=\"200\"}"),
            2);
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/token\",status=\"401\"}"), 2);
  EXPECT_EQ(delta("http_server_requests_total{method=\"POST\",route=\"/token\",status=\"401\"}"),
            1);
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/token\",status=\"400\"}"), 1);
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"),
            1);
  EXPECT_EQ(delta("http_server_request_duration_seconds_count{method=\"GET\",route=\"/v1/{name="
                  "workspaces/*}\",status=\"200\"}"),
            2);
  // Token realm.
  EXPECT_EQ(delta("registry_auth_tokens_total{principal_kind=\"service_account\",outcome="
                  "\"invalid_credentials\"}"),
            2);
  EXPECT_EQ(delta("registry_auth_tokens_total{principal_kind=\"pull_token\",outcome="
                  "\"invalid_credentials\"}"),
            1);
  EXPECT_EQ(delta("registry_auth_tokens_total{principal_kind=\"service_account\",outcome="
                  "\"invalid_request\"}"),
            1);
  EXPECT_EQ(delta("registry_auth_tokens_total{principal_kind=\"service_account\",outcome="
                  "\"issued\"}"),
            0);
  // TestConnection: one invalid result for the generic registry (whatever the category), and
  // the families of the GitHub App token cache (no App configured: all zero).
  double generic_invalid = 0;
  for (const auto& [series, v] : after) {
    if (absl::StartsWith(
            series, "registry_auth_test_connection_total{type=\"generic\",outcome=\"invalid\",")) {
      auto b = before.find(series);
      generic_invalid += v - (b == before.end() ? 0.0 : b->second);
    }
  }
  EXPECT_EQ(generic_invalid, 1) << after_text;
  EXPECT_EQ(value("registry_auth_test_connection_total{type=\"ghcr\",outcome=\"valid\","
                  "category=\"none\"}"),
            0);
  EXPECT_EQ(value("registry_auth_github_app_token_cache_lookups_total{result=\"hit\"}"), 0);
  EXPECT_EQ(value("registry_auth_github_app_token_cache_lookups_total{result=\"miss\"}"), 0);
  EXPECT_EQ(value("registry_auth_github_app_token_fetches_total{reason=\"forced\"}"), 0);
  EXPECT_EQ(value("registry_auth_github_app_token_fetch_failures_total{category=\"network\"}"), 0);
  // Pools, keys.
  EXPECT_EQ(value("registry_auth_db_pool_max_connections{pool=\"registry\"}"), 4);
  EXPECT_EQ(value("registry_auth_db_pool_max_connections{pool=\"tokens\"}"), 4);
  EXPECT_GE(value("registry_auth_db_pool_connections{pool=\"registry\",state=\"idle\"}"), 1);
  EXPECT_EQ(value("registry_auth_db_pool_waiting{pool=\"registry\"}"), 0);
  EXPECT_GE(delta("registry_auth_db_pool_acquire_seconds_count{pool=\"registry\"}"), 5);
  EXPECT_EQ(value("registry_auth_encryption_key_loaded{key_id=\"7\"}"), 1);
  EXPECT_EQ(value("registry_auth_encryption_primary_key_id"), 7);
  bool signing_active = false;
  for (const auto& [series, v] : after) {
    if (absl::StartsWith(series, "registry_auth_signing_key_loaded{") && v == 2) {
      signing_active = true;
    }
  }
  EXPECT_TRUE(signing_active) << after_text;
  // Label sets stay bounded: no workspace id, no raw path, no account name.
  EXPECT_FALSE(absl::StrContains(after_text, "/v1/workspaces/acme"));
  EXPECT_FALSE(absl::StrContains(after_text, "acme+builder"));

  // --- Logs: stop the server so every line is written.
  stack_->StopServer();
  const std::string logs = capture.Stop();
  SetLogFormat(saved_format);

  std::vector<nlohmann::json> grpc_lines, http_lines;
  int lines = 0;
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not one JSON object: " << line;
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    if (j["message"] == "grpc call") grpc_lines.push_back(j);
    if (j["message"] == "http request") http_lines.push_back(j);
  }
  EXPECT_GE(lines, 20);
  // One access line per gRPC call, with the caller from the policy and the request id sent.
  int credential_lines = 0;
  for (const nlohmann::json& j : grpc_lines) {
    if (j["rpc"] != "/registryauth.v1.RegistryAuthService/GetCredentials") continue;
    ++credential_lines;
    EXPECT_EQ(j["caller"], "apikey:build-worker");
    EXPECT_EQ(j["status"], "OK");
    EXPECT_TRUE(absl::StartsWith(j["request_id"].get<std::string>(), "obs-cred-")) << j;
    EXPECT_TRUE(j["duration_ms"].is_number()) << j;
    EXPECT_TRUE(j["peer"].is_string()) << j;
  }
  EXPECT_EQ(credential_lines, 2);
  // The HTTP reads: one HTTP line and one gRPC line each, sharing the request id.
  int http_reads = 0, grpc_reads = 0;
  for (const nlohmann::json& j : http_lines) {
    if (j["request_id"] != "obs-http-1") continue;
    ++http_reads;
    EXPECT_EQ(j["route"], "/v1/{name=workspaces/*}");
    EXPECT_EQ(j["method"], "GET");
    EXPECT_EQ(j["status"], 200);
    EXPECT_TRUE(j["duration_ms"].is_number());
  }
  for (const nlohmann::json& j : grpc_lines) {
    if (j["request_id"] == "obs-http-1") {
      ++grpc_reads;
      EXPECT_EQ(j["rpc"], "/registryauth.v1.RegistryAuthService/GetWorkspace");
      EXPECT_EQ(j["caller"], "apikey:admin");
      EXPECT_TRUE(absl::StartsWith(j["peer"].get<std::string>(), "http:")) << j;
    }
  }
  EXPECT_EQ(http_reads, 2);
  EXPECT_EQ(grpc_reads, 2);
  bool token_refusal_logged = false;
  for (const nlohmann::json& j : http_lines) {
    if (j["request_id"] == "obs-token-1") {
      token_refusal_logged = j["route"] == "/token" && j["status"] == 401;
    }
  }
  EXPECT_TRUE(token_refusal_logged) << logs.substr(0, 4000);

  // No secret anywhere: not the canary (stored, fetched, sent as a password, an API key and
  // in a query string), not the callers' API keys.
  for (const std::string& secret : {std::string(kCanary), admin_key_, worker_key_}) {
    for (const std::string& form : Forms(secret)) {
      EXPECT_FALSE(absl::StrContains(logs, form)) << "secret in the logs";
      EXPECT_FALSE(absl::StrContains(before_text, form)) << "secret in the metrics";
      EXPECT_FALSE(absl::StrContains(after_text, form)) << "secret in the metrics";
    }
  }
  EXPECT_FALSE(absl::StrContains(logs, "Basic ")) << "an Authorization header in the logs";
}

// Adapter-only mode (--http_upstream) serves its own HTTP route metrics at /metrics.
// Secrets stored before the endpoint binding (schema v8) are bound by the update rule only
// until `keys reencrypt` runs: every start says how many there are, and stops saying it once
// none are left.
TEST_F(ObservabilityTest, StartWarnsAboutSecretsNotYetBoundToTheirEndpoint) {
  const std::string warning = "stored secrets are not yet bound to their endpoint";
  {
    StderrCapture capture(dir_ + "/first.log");
    ASSERT_TRUE(stack_->StartServer().ok());
    v1::CreateWorkspaceRequest cw;
    cw.set_workspace_id("acme");
    v1::Workspace ws;
    ASSERT_TRUE(stack_->stub().CreateWorkspace(As(admin_key_).get(), cw, &ws).ok());
    for (const char* id : {"gh1", "gh2"}) {
      v1::CreateRegistryConfigRequest cr;
      cr.set_parent("workspaces/acme");
      cr.set_registry_id(id);
      cr.mutable_registry_config()->set_type(v1::GHCR);
      cr.mutable_registry_config()->mutable_ghcr()->set_owner("acme-org");
      cr.mutable_registry_config()->set_secret(kCanary);
      v1::RegistryConfig config;
      ASSERT_TRUE(stack_->stub().CreateRegistryConfig(As(admin_key_).get(), cr, &config).ok());
    }
    stack_->StopServer();
    EXPECT_FALSE(absl::StrContains(capture.Stop(), warning));
  }
  // Both rows as a release before the binding left them (the flag only: what the warning reads).
  absl::StatusOr<std::string> marked =
      testing::ExecuteSql(stack_->dsn(), "UPDATE registry_configs SET secret_ad_version = 1");
  ASSERT_TRUE(marked.ok()) << marked.status();
  StderrCapture capture(dir_ + "/second.log");
  ASSERT_TRUE(stack_->StartServer().ok());
  stack_->StopServer();
  const std::string logs = capture.Stop();
  EXPECT_TRUE(absl::StrContains(logs, absl::StrCat("2 ", warning))) << logs;
  EXPECT_TRUE(absl::StrContains(logs, "registry-authd keys reencrypt")) << logs;
  EXPECT_FALSE(absl::StrContains(logs, kCanary));
}

TEST_F(ObservabilityTest, AdapterOnlyModeServesItsHttpMetrics) {
  absl::Status started = stack_->StartServer();
  ASSERT_TRUE(started.ok()) << started;
  absl::StatusOr<std::unique_ptr<server::HttpAdapterOnly>> adapter = stack_->StartAdapterOnly();
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  const int port = (*adapter)->port();

  const std::map<std::string, double> before = ParseSamples(Scrape(port));
  {
    testing::HttpConnection http(port);
    ASSERT_TRUE(http.connected());
    for (int i = 0; i < 2; ++i) {
      testing::HttpReply r = http.Request("GET", "/v1/workspaces", "", {{"x-api-key", admin_key_}});
      EXPECT_EQ(r.status, 200) << r.body;
    }
    EXPECT_EQ(http.Request("GET", "/v1/workspaces").status, 401);
  }
  const std::string text = Scrape(port);
  const std::map<std::string, double> after = ParseSamples(text);
  PromtoolResult p = Promtool(text);
  EXPECT_EQ(p.exit_code, 0) << p.output;
  EXPECT_EQ(p.output, "");
  auto delta = [&](const std::string& series) {
    auto a = after.find(series);
    if (a == after.end()) return -1.0;
    auto b = before.find(series);
    return a->second - (b == before.end() ? 0.0 : b->second);
  };
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/v1/workspaces\","
                  "status=\"200\"}"),
            2)
      << text;
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/v1/workspaces\","
                  "status=\"401\"}"),
            1);
  EXPECT_EQ(delta("http_server_requests_total{method=\"GET\",route=\"/metrics\","
                  "status=\"200\"}"),
            1);
  // Its own metrics only: the server's families are on the server's /metrics.
  EXPECT_FALSE(absl::StrContains(text, "registry_auth_")) << text;
  EXPECT_FALSE(absl::StrContains(text, admin_key_));
  (*adapter)->Shutdown();
}

}  // namespace
}  // namespace registryauth
