// HttpGateway: the HTTP/1.1 front door of registry-auth. It serves the REST mapping of the
// RegistryAuthService API (see rest_router.h and the `HTTP:` lines of registry_auth.proto),
// plus `GET /healthz` (liveness: 200 "ok", no dependencies) and `GET /readyz` (200 "ready" when
// grpc.health.v1.Health/Check for service "" answers SERVING within 2 s, else 503), and the
// Docker token realm `GET /token` / `POST /token` (token_request.h), by calling the gRPC
// service over a channel: an in-process channel of the server or a remote one.
//
// Boost.Beast + Asio, asynchronous, on an io_context run by `threads` threads; one strand per
// connection; keep-alive. HTTPS (TLS 1.2+, OpenSSL) from a certificate and key file, with the
// same limits and timeouts (the handshake counts as an idle connection); plain HTTP only on
// loopback or with `plaintext_behind_proxy`. Request limits: a body over `max_body_bytes` gets 413,
// headers over `max_header_bytes` get 431, a request that does not parse gets 400; each of those
// closes the connection. A connection idle (or a request unread) for `request_timeout` is closed,
// and every gRPC call gets `request_timeout` as its deadline. The `x-request-id` header is
// forwarded as gRPC metadata and echoed in the reply. The client address (access log `peer`, gRPC
// metadata `x-forwarded-for`) is the TCP peer, or behind `trusted_proxies` the client that
// `X-Forwarded-For` names (client_address.h); for a request that could not be read (400, 413,
// 431) always the TCP peer.
//
// Telemetry: every request gets one access-log line ("http request": request_id, method,
// route, status, duration_ms, peer; never a header value, query string or body) and, with
// `metrics`, is counted in http_server_requests_total{method, route, status} and
// http_server_request_duration_seconds{method, route, status}, where route is the route
// template that matched (e.g. `/v1/{name=workspaces/*}`), `/metrics`, or "other". With
// `metrics`, `GET /metrics` serves that registry in the Prometheus text format without
// authentication (for a scraper on the mesh; the registry holds no secrets): a route of the main
// listener's router like /healthz, or with `metrics_listen` only on a second, plain-HTTP
// listener whose own router (RestRouter::ForMetricsListener) serves nothing but `GET /metrics`
// and `GET /healthz` (the main listener then answers 404).
//
// The front door faces the internet, so it defends itself: at most `max_connections` open
// connections per listener (more are accepted and closed at once, and counted); accept errors
// such as EMFILE back off (10 ms doubling to 1 s) instead of spinning, and log at most once a
// second; every completion handler runs behind a catch-all barrier (an exception while serving
// a request logs one line, answers 500 if nothing was sent yet and closes the connection; the
// I/O threads catch what still escapes and carry on), so no exception reaches std::terminate.
// Connection metrics (with `metrics`, label `listener` = "http" or "metrics"):
// http_server_connections (gauge), http_server_connections_refused_total and
// http_server_accept_errors_total.
//
// Thread-safe. Shutdown (also run by the destructor) stops accepting, lets in-flight requests
// finish (bounded by their deadline), closes idle connections and joins the threads.
//
//   HttpGatewayOptions options;  options.listen = "127.0.0.1:0";
//   ASSIGN_OR_RETURN(auto gw, HttpGateway::Create(options, channel));
//   int port = gw->port();  ...  gw->Shutdown();
#ifndef REGISTRY_AUTH_GATEWAY_HTTP_GATEWAY_H_
#define REGISTRY_AUTH_GATEWAY_HTTP_GATEWAY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace registryauth::observability {
class Registry;
}  // namespace registryauth::observability

namespace registryauth::api {
class InProcessTokenIssuer;
class InProcessRegistryEvents;
}  // namespace registryauth::api

namespace registryauth::gateway {

struct HttpGatewayOptions {
  // `host:port` to listen on; host is an IP literal (`[::1]` for IPv6) or `localhost`; port 0
  // picks a free port (see HttpGateway::port()).
  std::string listen = "127.0.0.1:8080";
  int threads = 2;
  size_t max_body_bytes = 1024 * 1024;
  absl::Duration request_timeout = absl::Seconds(30);
  size_t max_header_bytes = 16 * 1024;
  // HTTPS: PEM files of the server certificate chain (leaf first) and its private key, set
  // together. Then only TLS 1.2 and 1.3 are served on `listen`; see ReloadCertificate().
  std::string tls_cert_file;
  std::string tls_key_file;
  // Without TLS, plain HTTP is served on a loopback address only, unless this is set because a
  // TLS-terminating proxy sits in front (Docker clients insist on an HTTPS realm outside
  // localhost). Create() refuses a non-loopback address otherwise.
  bool plaintext_behind_proxy = false;
  // The realm of the `WWW-Authenticate: Basic realm="..."` challenge that /token sends with a
  // 401: 1..128 printable ASCII characters without '"' or '\\'.
  std::string token_basic_realm = "registry-auth";
  // Where request metrics go and what `GET /metrics` serves (null: neither). The gateway
  // registers its families in it, so one registry serves one gateway; it must outlive the
  // gateway.
  observability::Registry* metrics = nullptr;
  // CIDRs (or single addresses) of the proxies / load balancers in front whose
  // `X-Forwarded-For` is believed: see client_address.h. Empty: the client is always the TCP
  // peer and the header is ignored. The client address is what the access log's `peer`, the
  // gRPC metadata `x-forwarded-for` (and so the token realm's `addr:` throttle key and audit
  // rows) carry.
  std::vector<std::string> trusted_proxies;
  // The server in this process, for /token without the gRPC channel (api/in_process.h), run
  // on the token workers below. Null when the channel leads to a remote registry-authd. Must
  // outlive the gateway.
  api::InProcessTokenIssuer* in_process_tokens = nullptr;
  // The server in this process's receiver of the platform registry's notifications
  // (`POST /v1/registryEvents:notify`, rest_router.h); null: that path does not exist. Runs on
  // the token workers. Must outlive the gateway.
  api::InProcessRegistryEvents* registry_events = nullptr;
  // With in_process_tokens: /token runs on `token_workers` threads, not on the I/O threads,
  // with at most `token_queue` requests waiting; past that it answers 503 (rest_router.h).
  int token_workers = 4;
  size_t token_queue = 256;
  // The most connections the main listener serves at once (TLS handshakes, idle keep-alive
  // connections and requests in flight all count), 1..1000000. A connection accepted beyond
  // it is closed at once and counted in http_server_connections_refused_total. Each connection
  // holds one file descriptor: keep it well below the process's RLIMIT_NOFILE (`ulimit -n`),
  // which also has to cover the database pool, gRPC and files; Create() logs a warning when it
  // does not fit. Past the limit accept fails with EMFILE and backs off.
  int max_connections = 1024;
  // `host:port` of a second listener for `GET /metrics` (and `GET /healthz`, for its probe),
  // always plain HTTP and allowed on any address: scrapers come from the mesh, so bind it to an
  // internal interface. Empty: /metrics is served on `listen` as before. Needs `metrics`. Its
  // connections are capped separately (kMetricsMaxConnections), so a flood on the public port
  // does not blind the scraper.
  std::string metrics_listen;
};

class HttpGateway {
 public:
  // Validates `options`, binds the listening socket and starts the threads. INVALID_ARGUMENT
  // for bad options, UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Create(
      const HttpGatewayOptions& options, std::shared_ptr<grpc::Channel> channel);

  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // The bound TCP port.
  int port() const;
  // The bound port of the metrics listener; 0 without `metrics_listen`.
  int metrics_port() const;

  // The connection cap of the metrics listener.
  static constexpr int kMetricsMaxConnections = 32;

  // Stops accepting, finishes in-flight requests, closes connections, joins the threads.
  // Idempotent.
  void Shutdown();

  // Re-reads tls_cert_file and tls_key_file (e.g. on SIGHUP after a renewal). On success new
  // connections present the new certificate; open connections keep theirs. On error
  // (INVALID_ARGUMENT naming the file; FAILED_PRECONDITION without TLS) nothing changes.
  absl::Status ReloadCertificate();

  // Whether the gateway serves HTTPS.
  bool tls() const;

 private:
  class Impl;
  explicit HttpGateway(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_HTTP_GATEWAY_H_
