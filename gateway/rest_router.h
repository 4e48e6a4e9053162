// The transport-free half of the HTTP gateway: turns one HTTP request (method, target, body,
// request id) into a call on the RegistryAuthService gRPC stub and the result into an HTTP
// reply, grpc-gateway style. The route table is a single data structure built from the
// `HTTP: VERB template  body: field` lines of registry_auth.proto, plus /healthz, /readyz and,
// given a metrics registry, /metrics (Prometheus text). The separate metrics listener of the
// gateway (HttpGatewayOptions::metrics_listen) has its own router with /metrics and /healthz
// only (ForMetricsListener); the main router then has no /metrics.
//
// Binding rules (as grpc-gateway): path variables set the named request fields; the body is
// parsed with the proto3 JSON mapping into the named field (or the whole request for `*`),
// unknown JSON fields are an error; query parameters set the remaining top-level fields by
// proto or JSON name (repeated keys and fields bound by the path or body are rejected);
// `update_mask` is comma-separated. A PATCH without `update_mask` gets the mask of the fields
// present in the body (except `name` and `etag`, which select the resource).
//
// `POST /v1/registryEvents:notify` (with RestRouterOptions::registry_events) takes Docker
// Distribution's notifications: the client's Authorization header is the registry's bearer
// secret, checked by the receiver, never forwarded as metadata; 415 for another Content-Type,
// 401 with `WWW-Authenticate: Bearer` for a wrong secret, 200 with the counts once stored.
//
// `GET /token` and `POST /token` are the Docker token realm, not the JSON mapping: each is one
// IssueRegistryToken call built by token_request.h, with the client's Authorization header
// read as registry credentials (never forwarded as metadata).
//
// Thread-safe: Handle may be called concurrently; `done` runs exactly once, either inside
// Handle or later on a gRPC thread or a token worker. Nothing thrown while a request is
// handled escapes: the request is answered 500 INTERNAL ("internal error") and the exception's
// what() is logged, and if every holder of a request's `done` goes away without a reply, the
// reply is that 500 too.
//
//   RestRouter router(channel, absl::Seconds(30));
//   router.Handle({"GET", "/v1/workspaces/acme", "", ""}, [](RestReply r) { Send(r); });
#ifndef REGISTRY_AUTH_GATEWAY_REST_ROUTER_H_
#define REGISTRY_AUTH_GATEWAY_REST_ROUTER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "api/in_process.h"
#include "common/bounded_executor.h"
#include "gateway/path_template.h"
#include "gateway/rest_types.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "observability/metrics.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::gateway {

struct RestRouterOptions {
  // The deadline of every gRPC call made for a request.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // The realm of the `WWW-Authenticate: Basic realm="..."` challenge of /token's 401 replies.
  // Printable ASCII without '"' or '\\' (HttpGateway::Create checks).
  std::string basic_realm = "registry-auth";
  // When set, /token calls it instead of the IssueRegistryToken RPC over the channel
  // (api/in_process.h), on one of `token_workers` threads (0: on the calling thread) with at
  // most `token_queue` requests waiting; past that /token answers 503 with Retry-After at
  // once. It must outlive the router. Null for a remote server.
  api::InProcessTokenIssuer* in_process_tokens = nullptr;
  int token_workers = 4;
  size_t token_queue = 256;
  // When set, `GET /metrics` serves it in the Prometheus text format. Must outlive the router.
  const observability::Registry* metrics = nullptr;
  // When set, `POST /v1/registryEvents:notify` takes the platform registry's notifications
  // (Distribution's envelope, not the JSON mapping) and hands them to it on a token worker;
  // without it that path does not exist (404). It must outlive the router.
  api::InProcessRegistryEvents* registry_events = nullptr;
  // Testing only: runs first in every Handle (e.g. to throw, proving the barrier).
  std::function<void(const RestRequest&)> before_dispatch_for_testing;
};

class RestRouter {
 public:
  using Done = std::function<void(RestReply)>;

  RestRouter(std::shared_ptr<grpc::Channel> channel, RestRouterOptions options);
  // Default options with `rpc_timeout`.
  RestRouter(std::shared_ptr<grpc::Channel> channel, absl::Duration rpc_timeout);
  // The router of the separate metrics listener: `GET /metrics` (serving `metrics`) and
  // `GET /healthz` (the listener's own probe), nothing else; it calls no backend. `metrics`
  // must outlive the router.
  static std::unique_ptr<RestRouter> ForMetricsListener(const observability::Registry& metrics);

  ~RestRouter();
  RestRouter(const RestRouter&) = delete;
  RestRouter& operator=(const RestRouter&) = delete;

  void Handle(const RestRequest& request, Done done) const;

  // The routes served: method, path template as written, and the field the JSON body binds
  // to ("*", a field name, or "" for none). For the test that holds the table to the proto's
  // `HTTP:` lines.
  struct RouteInfo {
    std::string method;
    std::string path;
    std::string body;
  };
  std::vector<RouteInfo> RouteTable() const;

  // A JSON error reply for `code` with the HTTP status grpc-gateway uses.
  static RestReply ErrorReply(grpc::StatusCode code, absl::string_view message);

  struct Route;  // Defined in the .cc; public only so the table builder can name it.

 private:
  struct MetricsListenerTag {};
  RestRouter(MetricsListenerTag, const observability::Registry& metrics);

  void HandleUnguarded(const RestRequest& request, Done done) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryAuthService::Stub> stub_;
  std::unique_ptr<grpc::GenericStub> generic_stub_;
  RestRouterOptions options_;
  std::vector<Route> routes_;
  // Declared last: destroyed first, running what is queued while the rest still exists.
  std::unique_ptr<BoundedExecutor> token_workers_;
};

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_REST_ROUTER_H_
