// Outbound HTTP: the interface that registry probes and the GitHub API client talk through, so
// tests can put a local server (or a fake) in place of the network.
//
// HttpClient sends one request and returns the final response (after any redirects the
// implementation follows). Any HTTP status, 4xx and 5xx included, is a successful call: the
// caller decides what a status means. Failures to get a response at all are an absl::Status
// carrying an HttpErrorKind (GetHttpErrorKind, IsRetryableHttpError) so callers can tell a
// network failure (retry) from a TLS problem (fix the configuration) without reading messages.
//
//   HttpRequest req{.method = "GET", .url = "https://ghcr.io/v2/"};
//   req.deadline = absl::Now() + absl::Seconds(10);
//   ASSIGN_OR_RETURN(HttpResponse resp, http.Send(req));
//   if (resp.status == 401) challenges = resp.HeaderValues("www-authenticate");
//
// Implementations are thread-safe: one client serves many concurrent Send() calls.
// Secrets: request headers (Authorization) and bodies may hold credentials; implementations
// never log them or put them in a Status message.
#ifndef REGISTRY_AUTH_UPSTREAM_HTTP_CLIENT_H_
#define REGISTRY_AUTH_UPSTREAM_HTTP_CLIENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace registryauth::upstream {

struct HttpRequest {
  std::string method = "GET";
  // Absolute http:// or https:// URL.
  std::string url;
  // Sent in order. Header values may be credentials; they are never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Total time for this request (connect, TLS, redirects, body); the client's default when
  // zero. Never extends past `deadline`.
  absl::Duration timeout = absl::ZeroDuration();
  // The caller's deadline (e.g. the RPC's). A request whose deadline has passed fails with
  // DEADLINE_EXCEEDED without touching the network.
  absl::Time deadline = absl::InfiniteFuture();
};

struct HttpResponse {
  int status = 0;
  // Headers of the final response, in the order received, names in lower case; a repeated
  // header (WWW-Authenticate, Set-Cookie) keeps every occurrence.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Every value of header `name` (any case), in order.
  std::vector<std::string> HeaderValues(std::string_view name) const;
  // The first value of header `name` (any case), if any.
  std::optional<std::string> Header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Why a request got no response. Carried as a payload on the Status that Send() returns.
enum class HttpErrorKind {
  kDns,             // UNAVAILABLE: the host name did not resolve (retryable)
  kConnect,         // UNAVAILABLE: TCP connection refused / unreachable (retryable)
  kTimeout,         // DEADLINE_EXCEEDED: the request's timeout or deadline ran out (retryable)
  kConnectionLost,  // UNAVAILABLE: the connection broke mid-exchange (retryable)
  kTls,             // FAILED_PRECONDITION: handshake or certificate verification failed
  kTooLarge,        // RESOURCE_EXHAUSTED: the response body or headers exceeded the cap
  kRedirect,        // FAILED_PRECONDITION: too many redirects, or one to a non-http(s) URL
  kBadRequest,      // INVALID_ARGUMENT: malformed URL, unsupported scheme or method
  kProtocol,        // UNKNOWN: the peer did not speak HTTP properly
  kBlocked,         // PERMISSION_DENIED: the outbound policy refused the address (not retried)
};

// "dns", "connect", "timeout", "connection_lost", "tls", "too_large", "redirect",
// "bad_request", "protocol", "blocked".
std::string_view HttpErrorKindName(HttpErrorKind kind);

// A Status with `code` and `message` that carries `kind` as a payload.
absl::Status MakeHttpError(absl::StatusCode code, HttpErrorKind kind, std::string_view message);

// The kind carried by a Status from Send(), if any.
std::optional<HttpErrorKind> GetHttpErrorKind(const absl::Status& status);

// True for kinds where sending the same request again may succeed: kDns, kConnect, kTimeout,
// kConnectionLost.
bool IsRetryableHttpError(const absl::Status& status);

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_HTTP_CLIENT_H_
