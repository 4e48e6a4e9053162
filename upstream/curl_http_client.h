// HttpClient over libcurl (Debian 12: libcurl 7.88, OpenSSL backend).
//
//   CurlHttpClient::Options options;
//   options.ca_bundle_path = "/etc/registry-auth/extra-ca.pem";   // optional
//   ASSIGN_OR_RETURN(std::unique_ptr<CurlHttpClient> http, CurlHttpClient::Create(options));
//   ASSIGN_OR_RETURN(HttpResponse resp, http->Send({.url = "https://ghcr.io/v2/"}));
//
// Behaviour:
// - Connection reuse: a pool of curl easy handles, each keeping its kept-alive connections
//   between requests (at most `max_idle_connections` handles are kept idle); a share handle
//   holds the DNS cache and TLS sessions for all of them. Concurrent Send() calls each take
//   their own handle, so N concurrent callers use about N connections per host.
// - Timeouts: `request.timeout` (else `default_timeout`) bounds the whole exchange and
//   `connect_timeout` the TCP + TLS connect; both are cut to what is left of
//   `request.deadline`, measured on `clock`.
// - Redirects: followed up to `max_redirects` (default 3; 0 = never follow, the 3xx is the
//   answer), one hop at a time and only within the request's origin: the same scheme, host and
//   port (DecideRedirect, upstream/redirect_policy.h). A redirect elsewhere (another host or
//   port, https to http) is not followed: PERMISSION_DENIED kBlocked, so the request's headers
//   (credentials) never reach another server; one to a non-http(s) or invalid URL is
//   FAILED_PRECONDITION kRedirect. 303, and 301/302 after a POST, continue as GET.
// - The response body is capped at `max_body_bytes` (default 1 MiB) and the headers at
//   `max_header_bytes`; more is RESOURCE_EXHAUSTED (kTooLarge). No content decoding is asked
//   for, so the cap is on what the server sends.
// - TLS: peer and host name verification are always on (there is no switch to turn them off).
//   Trust roots: the system store, or the PEM bundle at `ca_bundle_path` instead.
// - Proxy: only the one named in `proxy` (an http:// or https:// URL; empty = none), for every
//   host. The environment (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, ...) is
//   ignored: libcurl would otherwise pick a proxy from it, and the outbound policy below would
//   then see only the proxy's address.
// - User-Agent: `user_agent` on every request unless the request sets its own.
// - Outbound policy: every address the client connects to is checked when the socket is opened
//   (libcurl's open-socket callback, after DNS resolution and before connect(), so a name that
//   resolves - or re-resolves - to an internal address does not get through). Addresses that
//   IsInternalAddress (common/ip_address.h) calls internal - loopback, private, link-local and
//   cloud metadata, CGNAT, multicast, unspecified, documentation, benchmarking and reserved
//   ranges, IPv6 unique-local and site-local, and IPv6 forms (mapped, NAT64, 6to4, Teredo)
//   delivering to such an IPv4 address - are refused unless they are in `allowed_networks`.
//   The request then fails with PERMISSION_DENIED kBlocked, "blocked by outbound policy", and
//   the message does not name the address the host resolved to. Plain http:// is refused the
//   same way unless the address is in `allowed_networks` (only https leaves for the internet).
//   A host written as an address literal (`https://10.0.0.5/`, `http://[::1]/`, `10.0.0.5.`,
//   or a numeric form libcurl normalizes such as `http://2852039166/`) is judged before
//   anything is sent, without a lookup. With a proxy, sockets go only to the proxy, whose address
//   is not judged (the operator chose it); instead, before each request (and each redirect hop) is
//   handed to the proxy, the client resolves the target host itself (getaddrinfo) and every address
//   it resolves to must pass the same policy, else PERMISSION_DENIED kBlocked as above (or
//   UNAVAILABLE kDns if it does not resolve: the service must be able to resolve the registries'
//   names itself). That lookup is a blocking getaddrinfo, bounded by the system resolver's own
//   timeouts rather than the request's deadline. Residual risk: the proxy resolves the name again,
//   and a name whose answers change between the two lookups (DNS rebinding) can lead the proxy to
//   an internal address, so the proxy must refuse internal destinations too.
//
// Errors (absl::Status with an HttpErrorKind payload, see http_client.h):
//   DNS failure -> UNAVAILABLE kDns; connection refused/unreachable -> UNAVAILABLE kConnect
//   (the message says which - "connection refused", "network unreachable", ... - but not the
//   address tried);
//   timeout or deadline -> DEADLINE_EXCEEDED kTimeout; connection dropped -> UNAVAILABLE
//   kConnectionLost (these four are retryable); TLS handshake or certificate failure ->
//   FAILED_PRECONDITION kTls with a message starting "tls: " (not retryable: trust roots, host
//   name or the server's certificate must be fixed); too many redirects or a redirect to
//   a non-http(s) or invalid URL -> FAILED_PRECONDITION kRedirect; body over the cap ->
//   RESOURCE_EXHAUSTED kTooLarge; bad URL or method -> INVALID_ARGUMENT kBadRequest; an address or
//   redirect the outbound policy refuses -> PERMISSION_DENIED kBlocked; anything else -> UNKNOWN
//   kProtocol. Messages name the method and `scheme://host:port` only (never the path, query,
//   headers or body, which may carry credentials).
//
// curl_global_init runs once per process (the first Create()). Thread-safe: Send() may be
// called from many threads at once.
#ifndef REGISTRY_AUTH_UPSTREAM_CURL_HTTP_CLIENT_H_
#define REGISTRY_AUTH_UPSTREAM_CURL_HTTP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/ip_address.h"
#include "upstream/http_client.h"

namespace registryauth::upstream {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    absl::Duration connect_timeout = absl::Seconds(10);
    absl::Duration default_timeout = absl::Seconds(30);
    int max_redirects = 3;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 64 * 1024;
    // Idle easy handles (each with its open connections) kept for reuse.
    std::size_t max_idle_connections = 16;
    // PEM file of trusted CA certificates replacing the system store; empty = system store.
    std::string ca_bundle_path;
    // See the class comment: "http://proxy.internal:3128"; empty = no proxy (never the
    // environment's). INVALID_ARGUMENT from Create if it is not an http(s) URL.
    std::string proxy;
    std::string user_agent = "registry-auth/1";
    // Internal addresses (see the class comment) the client may still connect to, e.g. the
    // platform's own registry on a private network. Empty (the default) = none.
    std::vector<IpNetwork> allowed_networks;
    // Measures deadlines; nullptr = the real clock. Not owned; must outlive the client.
    const Clock* clock = nullptr;
  };

  // INVALID_ARGUMENT for bad options (negative timeouts or limits, an unreadable CA bundle);
  // INTERNAL if libcurl cannot be initialised.
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(Options options);

  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Shared;  // the curl share handle and its locks (curl_http_client.cc)
  CurlHttpClient(Options options, std::unique_ptr<Shared> shared);

  const Options options_;
  RealClock real_clock_;
  const Clock& clock_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_CURL_HTTP_CLIENT_H_
