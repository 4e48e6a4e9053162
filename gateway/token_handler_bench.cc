// The whole in-process /token handler, request bytes in, response bytes out (issue 20): what
// one /token request costs registry-authd without the socket, wrk and the kernel. Each
// iteration parses the raw HTTP request with Beast as a connection does, turns it into the
// router's request (gateway/http_message.h), routes it to the real service method in process
// (api/in_process_tokens.h: the barrier and the gRPC series, on this thread as with
// --token_workers running it), writes the response and serializes it to bytes. Not included:
// the access-log line, the HTTP metrics, reading and writing the socket.
//
//   bazel run -c opt //gateway:token_handler_bench
//
// Comparison points in the same run: BM_Healthz (the same steps for GET /healthz: the HTTP
// handling without a token) and BM_SignOnly (the ES256 signature every token carries, with the
// stack's key). The service is api::testing::InMemoryStack (in-memory stores, the real services
// and realm); each credential's row is read once and then served from the realm's cache, as on
// a busy replica. Results: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/in_process_tokens.h"
#include "api/testing/in_memory_stack.h"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/secret.h"
#include "crypto/jws.h"
#include "gateway/client_address.h"
#include "gateway/http_message.h"
#include "gateway/rest_router.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "observability/grpc_telemetry.h"
#include "observability/metrics.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::gateway {
namespace {

namespace http = boost::beast::http;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "token_handler_bench: %s\n", what);
    std::abort();
  }
}

// The stack, a workspace with an app, a service account and a pull token, and the router as
// the HTTP gateway of registry-authd builds it for /token (in-process issuer, no workers).
class Realm {
 public:
  Realm() {
    grpc::ServerBuilder builder;
    stack_.RegisterOn(builder);
    server_ = builder.BuildAndStart();
    Check(server_ != nullptr, "cannot start the in-process gRPC server");
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    auto stub = v1::RegistryAuthService::NewStub(channel_);
    {
      grpc::ClientContext ctx;
      v1::CreateWorkspaceRequest req;
      req.set_workspace_id("acme");
      v1::Workspace out;
      Check(stub->CreateWorkspace(&ctx, req, &out).ok(), "CreateWorkspace");
    }
    {
      grpc::ClientContext ctx;
      v1::CreateAppRequest req;
      req.set_parent("workspaces/acme");
      req.set_app_id("web");
      v1::App out;
      Check(stub->CreateApp(&ctx, req, &out).ok(), "CreateApp");
    }
    {
      grpc::ClientContext ctx;
      v1::CreateServiceAccountRequest req;
      req.set_parent("workspaces/acme");
      req.set_service_account_id("builder");
      v1::RepositoryGrant* g = req.mutable_service_account()->add_grants();
      g->set_repository("acme/*");
      g->add_actions("pull");
      g->add_actions("push");
      v1::ServiceAccountCredentials out;
      Check(stub->CreateServiceAccount(&ctx, req, &out).ok(), "CreateServiceAccount");
      sa_basic_ = absl::Base64Escape(absl::StrCat(out.username(), ":", out.secret()));
    }
    {
      grpc::ClientContext ctx;
      v1::MintPullTokenRequest req;
      req.set_app("workspaces/acme/apps/web");
      v1::MintPullTokenResponse out;
      Check(stub->MintPullToken(&ctx, req, &out).ok(), "MintPullToken");
      pull_basic_ = absl::Base64Escape(absl::StrCat(out.username(), ":", out.password()));
    }
    RestRouterOptions options;
    options.in_process_tokens = &tokens_;
    options.token_workers = 0;  // on this thread
    router_ = std::make_unique<RestRouter>(channel_, options);
  }

  // One request through the handler: bytes in, bytes out.
  std::string Serve(const std::string& request_bytes) const {
    http::request_parser<http::string_body> parser;
    boost::beast::error_code ec;
    parser.eager(true);
    parser.put(boost::asio::buffer(request_bytes), ec);
    Check(!ec && parser.is_done(), "unparsable request");
    http::request<http::string_body>& req = parser.get();
    const RestRequest request = ToRestRequest(req, proxies_, "10.0.0.7");
    std::optional<RestReply> reply;
    router_->Handle(request, [&](RestReply r) { reply = std::move(r); });
    Check(reply.has_value(), "the router answered later, not on this thread");
    http::response<http::string_body> res;
    res.version(req.version());
    const std::string id = PrintableRequestId(reply->request_id);
    ToHttpResponse(*std::move(reply), id, req.keep_alive(), &res);
    http::serializer<false, http::string_body> sr(res);
    std::string out;
    out.reserve(2048);
    while (!sr.is_done()) {
      sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
        size_t n = 0;
        for (const auto b : boost::beast::buffers_range_ref(buffers)) {
          out.append(static_cast<const char*>(b.data()), b.size());
          n += b.size();
        }
        sr.consume(n);
      });
      Check(!ec, "cannot serialize the response");
    }
    return out;
  }

  static std::string TokenRequest(const std::string& basic, const std::string& scope) {
    return absl::StrCat("GET /token?service=", api::testing::InMemoryStack::kTokenService,
                        "&scope=", scope,
                        " HTTP/1.1\r\nHost: registry-auth.example\r\nUser-Agent: docker/24.0.7\r\n"
                        "Authorization: Basic ",
                        basic, "\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n");
  }

  const std::string& sa_basic() const { return sa_basic_; }
  const std::string& pull_basic() const { return pull_basic_; }

 private:
  api::testing::InMemoryStack stack_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  observability::Registry registry_;
  observability::GrpcTelemetry telemetry_{
      registry_, [](const grpc::ServerContextBase&) { return observability::GrpcCaller{}; }};
  api::InProcessTokens tokens_{stack_.grpc_service(), telemetry_};
  TrustedProxies proxies_;
  std::unique_ptr<RestRouter> router_;
  std::string sa_basic_;
  std::string pull_basic_;
};

Realm& TheRealm() {
  static Realm* const realm = new Realm();  // shared by the benchmarks; never destroyed
  return *realm;
}

void Run(benchmark::State& state, const std::string& request, const char* expect_status) {
  Realm& realm = TheRealm();
  const std::string first = realm.Serve(request);
  Check(first.rfind(expect_status, 0) == 0, "unexpected status");
  size_t bytes_out = 0;
  for (auto _ : state) {
    std::string response = realm.Serve(request);
    bytes_out += response.size();
    benchmark::DoNotOptimize(response);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes_out + request.size() * state.iterations()));
  state.counters["response_bytes"] = static_cast<double>(first.size());
}

void BM_TokenServiceAccountPullPush(benchmark::State& state) {
  Realm& realm = TheRealm();
  Run(state, Realm::TokenRequest(realm.sa_basic(), "repository:acme/web:pull,push"),
      "HTTP/1.1 200");
}
BENCHMARK(BM_TokenServiceAccountPullPush);

void BM_TokenPullTokenPull(benchmark::State& state) {
  Realm& realm = TheRealm();
  Run(state, Realm::TokenRequest(realm.pull_basic(), "repository:acme/web:pull"), "HTTP/1.1 200");
}
BENCHMARK(BM_TokenPullTokenPull);

// The same steps for a request without a token: the HTTP handling's own share.
void BM_Healthz(benchmark::State& state) {
  Run(state, "GET /healthz HTTP/1.1\r\nHost: registry-auth.example\r\n\r\n", "HTTP/1.1 200");
}
BENCHMARK(BM_Healthz);

// The ES256 signature alone (SHA-256 and ECDSA P-256, as every token's), over a token-sized
// signing input.
void BM_SignOnly(benchmark::State& state) {
  absl::StatusOr<SecretString> pem = crypto::GenerateEs256KeyPem();
  Check(pem.ok(), "cannot make a key");
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(*pem);
  Check(key.ok(), "cannot load the key");
  const std::string input(700, 'a');
  for (auto _ : state) {
    absl::StatusOr<std::string> signature = (*key)->Sign(input);
    Check(signature.ok(), "signing failed");
    benchmark::DoNotOptimize(signature);
  }
}
BENCHMARK(BM_SignOnly);

}  // namespace
}  // namespace registryauth::gateway
