#include "observability/grpc_telemetry.h"

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "tests/support/stderr_capture.h"

namespace registryauth::observability {
namespace {

namespace v1 = ::registryauth::v1;
using ::registryauth::testing::StderrCapture;

// Two methods: GetWorkspace answers OK (with a request id, as the real adapter does),
// ListWorkspaces NOT_FOUND.
class TinyService final : public v1::RegistryAuthService::Service {
 public:
  grpc::Status GetWorkspace(grpc::ServerContext* ctx, const v1::GetWorkspaceRequest*,
                            v1::Workspace* out) override {
    ctx->AddInitialMetadata("x-request-id", "server-id-1");
    out->set_name("workspaces/acme");
    return grpc::Status::OK;
  }
  grpc::Status ListWorkspaces(grpc::ServerContext*, const v1::ListWorkspacesRequest*,
                              v1::ListWorkspacesResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "nothing");
  }
  grpc::Status GetCredentials(grpc::ServerContext*, const v1::GetCredentialsRequest*,
                              v1::GetCredentialsResponse*) override {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no");
  }
};

class GrpcTelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(NewGrpcTelemetryFactory(registry_, [](const grpc::ServerContextBase& ctx) {
      GrpcCaller c;
      auto it = ctx.client_metadata().find("test-caller");
      if (it != ctx.client_metadata().end()) {
        c.name = std::string(it->second.data(), it->second.size());
        c.identity = "test:" + c.name;
      }
      return c;
    }));
    builder.experimental().SetInterceptorCreators(std::move(f));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = v1::RegistryAuthService::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status GetWorkspace(const std::string& caller = "") {
    grpc::ClientContext ctx;
    if (!caller.empty()) ctx.AddMetadata("test-caller", caller);
    v1::Workspace out;
    return stub_->GetWorkspace(&ctx, v1::GetWorkspaceRequest(), &out);
  }

  Registry registry_;
  TinyService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryAuthService::Stub> stub_;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The "grpc call" access-log lines among JSON log output; every line must be JSON.
std::vector<nlohmann::json> GrpcCallLines(const std::string& logs) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (!j.is_discarded() && j.value("message", "") == "grpc call") lines.push_back(j);
  }
  return lines;
}

TEST_F(GrpcTelemetryTest, CountsEachCallByMethodAndCode) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(GetWorkspace().ok());
  grpc::ClientContext ctx;
  v1::ListWorkspacesResponse list;
  EXPECT_EQ(stub_->ListWorkspaces(&ctx, v1::ListWorkspacesRequest(), &list).error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::string text = registry_.Render();
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_service=\"registryauth.v1."
                       "RegistryAuthService\",grpc_method=\"GetWorkspace\",grpc_type=\"unary\","
                       "grpc_code=\"OK\"} 3\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_service=\"registryauth.v1."
                       "RegistryAuthService\",grpc_method=\"ListWorkspaces\",grpc_type=\"unary\","
                       "grpc_code=\"NOT_FOUND\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handling_seconds_count{grpc_service=\"registryauth.v1."
                       "RegistryAuthService\",grpc_method=\"GetWorkspace\",grpc_code=\"OK\"} 3\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handling_seconds_bucket{grpc_service=\"registryauth.v1."
                       "RegistryAuthService\",grpc_method=\"GetWorkspace\",grpc_code=\"OK\","
                       "le=\"+Inf\"} 3\n"))
      << text;
}

TEST_F(GrpcTelemetryTest, UnknownMethodsShareOneSeries) {
  grpc::GenericStub generic(channel_);
  for (const char* method :
       {"/registryauth.v1.RegistryAuthService/NoSuchMethod", "/evil.Service/x", "/a/b/c"}) {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, response;
    grpc::Slice empty("", 0);
    request = grpc::ByteBuffer(&empty, 1);
    grpc::Status status;
    bool done = false;
    absl::Mutex mu;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      absl::MutexLock lock(&mu);
      status = s;
      done = true;
    });
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&done));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
  const std::string text = registry_.Render();
  EXPECT_FALSE(Contains(text, "NoSuchMethod")) << text;
  EXPECT_FALSE(Contains(text, "evil")) << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_service=\"unknown\",grpc_method="
                       "\"unknown\",grpc_type=\"unknown\",grpc_code=\"UNIMPLEMENTED\"} 3\n"))
      << text;
}

TEST_F(GrpcTelemetryTest, GetCredentialsCountedByCallerName) {
  for (const char* caller : {"build-worker", "build-worker", ""}) {
    grpc::ClientContext ctx;
    if (*caller != '\0') ctx.AddMetadata("test-caller", caller);
    v1::GetCredentialsResponse out;
    EXPECT_EQ(stub_->GetCredentials(&ctx, v1::GetCredentialsRequest(), &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  const std::string text = registry_.Render();
  EXPECT_TRUE(Contains(text,
                       "registry_auth_get_credentials_total{caller=\"build-worker\",grpc_code="
                       "\"PERMISSION_DENIED\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "registry_auth_get_credentials_total{caller=\"\",grpc_code="
                       "\"PERMISSION_DENIED\"} 1\n"))
      << text;
}

TEST_F(GrpcTelemetryTest, OneJsonAccessLinePerCall) {
  const LogFormat saved = GetLogFormat();
  SetLogFormat(LogFormat::kJson);
  StderrCapture capture(::testing::TempDir() + "/grpc_telemetry_log");
  ASSERT_TRUE(GetWorkspace("frontend").ok());
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "client-id-7");
  v1::ListWorkspacesResponse list;
  stub_->ListWorkspaces(&ctx, v1::ListWorkspacesRequest(), &list);
  server_->Shutdown();
  server_.reset();
  const std::string logs = capture.Stop();
  SetLogFormat(saved);

  const std::vector<nlohmann::json> lines = GrpcCallLines(logs);
  ASSERT_EQ(lines.size(), 2u) << logs;
  EXPECT_EQ(lines[0]["rpc"], "/registryauth.v1.RegistryAuthService/GetWorkspace");
  EXPECT_EQ(lines[0]["request_id"], "server-id-1");  // what the server sent back
  EXPECT_EQ(lines[0]["caller"], "test:frontend");
  EXPECT_EQ(lines[0]["status"], "OK");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_TRUE(lines[0]["duration_ms"].is_number());
  EXPECT_TRUE(lines[0].contains("time"));
  EXPECT_EQ(lines[1]["rpc"], "/registryauth.v1.RegistryAuthService/ListWorkspaces");
  EXPECT_EQ(lines[1]["request_id"], "client-id-7");  // none sent back: the client's
  EXPECT_EQ(lines[1]["status"], "NOT_FOUND");
  EXPECT_EQ(lines[1]["caller"], "");
}

// A call that ran without gRPC (the HTTP gateway's in-process /token) is counted in the same
// series as one through the interceptor, and writes no line of its own: the gateway's
// "http request" line is the request's one access-log line (issue 20).
TEST(GrpcTelemetryInProcessTest, InProcessCallsAreCountedLikeRpcsWithoutALogLine) {
  Registry registry;
  GrpcTelemetry telemetry(registry, nullptr);
  const LogFormat saved = GetLogFormat();
  SetLogFormat(LogFormat::kJson);
  StderrCapture capture(::testing::TempDir() + "/grpc_telemetry_in_process_log");
  constexpr char kMethod[] = "/registryauth.v1.RegistryAuthService/IssueRegistryToken";
  telemetry.RecordInProcessCall(kMethod, grpc::StatusCode::OK, std::chrono::milliseconds(3));
  telemetry.RecordInProcessCall(kMethod, grpc::StatusCode::UNAUTHENTICATED,
                                std::chrono::milliseconds(1));
  telemetry.RecordInProcessCall(kMethod, grpc::StatusCode::OK, std::chrono::milliseconds(2));
  const std::string logs = capture.Stop();
  SetLogFormat(saved);

  const std::string text = registry.Render();
  const std::string series =
      "grpc_server_handled_total{grpc_service=\"registryauth.v1.RegistryAuthService\","
      "grpc_method=\"IssueRegistryToken\",grpc_type=\"unary\",";
  EXPECT_TRUE(Contains(text, series + "grpc_code=\"OK\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, series + "grpc_code=\"UNAUTHENTICATED\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handling_seconds_count{grpc_service=\"registryauth.v1."
                       "RegistryAuthService\",grpc_method=\"IssueRegistryToken\","
                       "grpc_code=\"OK\"} 2\n"))
      << text;
  EXPECT_TRUE(GrpcCallLines(logs).empty()) << logs;
}

TEST(GrpcMethodLabelsTest, KnownUnknownAndMalformed) {
  EXPECT_EQ(GrpcMethodLabels("/registryauth.v1.RegistryAuthService/GetCredentials"),
            std::make_pair(std::string("registryauth.v1.RegistryAuthService"),
                           std::string("GetCredentials")));
  EXPECT_EQ(GrpcMethodLabels("/grpc.health.v1.Health/Check").second, "Check");
  EXPECT_EQ(GrpcMethodLabels("/grpc.health.v1.Health/Nope").first, "unknown");
  EXPECT_EQ(GrpcMethodLabels("/registryauth.v1.RegistryAuthService/Nope").first, "unknown");
  EXPECT_EQ(GrpcMethodLabels("registryauth.v1.RegistryAuthService/GetCredentials").first,
            "unknown");
  EXPECT_EQ(GrpcMethodLabels("/registryauth.v1.RegistryAuthService/").first, "unknown");
  EXPECT_EQ(GrpcMethodLabels("").first, "unknown");
}

}  // namespace
}  // namespace registryauth::observability
