// The transport-free half of the HTTP gateway: turns one HTTP request (method, target, body,
// request id) into a call on the RegistryAuthService gRPC stub and the result into an HTTP
// reply, grpc-gateway style. The route table is a single data structure built from the
// `HTTP: VERB template  body: field` lines of registry_auth.proto, plus /healthz and /readyz.
//
// Binding rules (as grpc-gateway): path variables set the named request fields; the body is
// parsed with the proto3 JSON mapping into the named field (or the whole request for `*`),
// unknown JSON fields are an error; query parameters set the remaining top-level fields by
// proto or JSON name (repeated keys and fields bound by the path or body are rejected);
// `update_mask` is comma-separated. A PATCH without `update_mask` gets the mask of the fields
// present in the body (except `name` and `etag`, which select the resource).
//
// Thread-safe: Handle may be called concurrently; `done` runs exactly once, either inside
// Handle or later on a gRPC thread.
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
#include "gateway/path_template.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::gateway {

struct RestRequest {
  std::string method;      // "GET", "POST", ... (case-sensitive, as HTTP says)
  std::string target;      // origin-form: "/v1/workspaces?page_size=10"
  std::string body;
  std::string request_id;  // value of the x-request-id header, or empty
  std::string content_type;  // value of the Content-Type header, or empty
  // Passed on as gRPC metadata of the same name when non-empty: the caller's credentials
  // (`x-api-key`, `authorization`), the end user a front end acts for (`x-registryauth-user`),
  // and the HTTP client's address (`x-forwarded-for`, set by the gateway, never by the client).
  std::string api_key;
  std::string authorization;
  std::string user;
  std::string forwarded_for;
};

struct RestReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // Allow header value for 405 replies.
  // Further response headers, written as given (e.g. WWW-Authenticate, Retry-After,
  // Cache-Control). Names and values come from the router, never from the client; the HTTP
  // layer drops any pair containing a control character.
  std::vector<std::pair<std::string, std::string>> headers;
  // The request id the service used (its x-request-id response metadata), echoed as the
  // x-request-id header; empty when no call reached the service.
  std::string request_id;
};

class RestRouter {
 public:
  using Done = std::function<void(RestReply)>;

  // `rpc_timeout` is the deadline of every gRPC call made for a request.
  RestRouter(std::shared_ptr<grpc::Channel> channel, absl::Duration rpc_timeout);
  ~RestRouter();
  RestRouter(const RestRouter&) = delete;
  RestRouter& operator=(const RestRouter&) = delete;

  void Handle(const RestRequest& request, Done done) const;

  // A JSON error reply for `code` with the HTTP status grpc-gateway uses.
  static RestReply ErrorReply(grpc::StatusCode code, absl::string_view message);

  struct Route;  // Defined in the .cc; public only so the table builder can name it.

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryAuthService::Stub> stub_;
  std::unique_ptr<grpc::GenericStub> generic_stub_;
  absl::Duration rpc_timeout_;
  std::vector<Route> routes_;
};

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_REST_ROUTER_H_
