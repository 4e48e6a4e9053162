// The HTTP request and reply as the transport-free half of the gateway sees them (see
// rest_router.h): plain values, no I/O.
#ifndef REGISTRY_AUTH_GATEWAY_REST_TYPES_H_
#define REGISTRY_AUTH_GATEWAY_REST_TYPES_H_

#include <string>
#include <utility>
#include <vector>

namespace registryauth::gateway {

struct RestRequest {
  std::string method;  // "GET", "POST", ... (case-sensitive, as HTTP says)
  std::string target;  // origin-form: "/v1/workspaces?page_size=10"
  std::string body;
  std::string request_id;    // value of the x-request-id header, or empty
  std::string content_type;  // value of the Content-Type header, or empty
  // Passed on as gRPC metadata of the same name when non-empty: the caller's credentials
  // (`x-api-key`, `authorization`), the end user a front end acts for (`x-registryauth-user`),
  // and the HTTP client's address (`x-forwarded-for`, set by the gateway, never by the client).
  // /token forwards only `x-forwarded-for` (and the request id): its `authorization` holds
  // registry credentials that go into the request message instead.
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
  // The route template that matched (e.g. "/v1/{name=workspaces/*}"), for metrics and access
  // logs: bounded, never the raw path. Empty when no route matched.
  std::string route;
};

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_REST_TYPES_H_
