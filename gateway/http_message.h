// Between Beast's HTTP messages and the router's RestRequest / RestReply: what the HTTP
// gateway's connections do with every request and reply, in one place so that the in-process
// /token benchmark (gateway/token_handler_bench.cc) measures the very same steps.
#ifndef REGISTRY_AUTH_GATEWAY_HTTP_MESSAGE_H_
#define REGISTRY_AUTH_GATEWAY_HTTP_MESSAGE_H_

#include <string>
#include <string_view>

#include "boost/beast/http.hpp"
#include "gateway/client_address.h"
#include "gateway/rest_types.h"

namespace registryauth::gateway {

// The router's request for `req` (its body moves out). `tcp_peer` is the TCP peer's address
// ("" when unknown: no client address then); the client address is the peer, or the
// X-Forwarded-For client when the peer is one of `proxies` (client_address.h).
RestRequest ToRestRequest(boost::beast::http::request<boost::beast::http::string_body>& req,
                          const TrustedProxies& proxies, std::string_view tcp_peer);

// Fills `res` (a fresh response of the request's HTTP version) with `reply`: status, Server,
// Content-Type, Allow, the router's headers (a pair with a control character or a bad name is
// dropped), `request_id` as X-Request-Id when not empty, keep-alive, the body and its length.
void ToHttpResponse(RestReply reply, std::string_view request_id, bool keep_alive,
                    boost::beast::http::response<boost::beast::http::string_body>* res);

// The id for the X-Request-Id header and the access log: `id` when it is 1..128 visible ASCII
// characters, else "".
std::string PrintableRequestId(const std::string& id);

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_HTTP_MESSAGE_H_
