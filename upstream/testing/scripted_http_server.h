// A loopback HTTP/1.1 server (plain or TLS) with scripted answers per path, for tests of the
// outbound HTTP client and the registry probes: it plays a registry, its token realm or the
// GitHub API. It records every request and the connection it came on (to check reuse), keeps
// connections alive, and can answer slowly or without a Content-Length.
//
//   ASSIGN_OR_RETURN(auto registry, ScriptedHttpServer::Start());
//   registry->Route("/v2/", {.status = 401,
//                            .headers = {{"WWW-Authenticate", R"(Bearer realm="...")"}}});
//   registry->Route("/token", [](const ScriptedRequest& r) {
//     return ScriptedResponse{.status = r.Header("authorization") ? 200 : 401};
//   });
//   ... client.Send({.url = registry->Url("/v2/")}) ...
//   EXPECT_EQ(registry->requests()[0].path, "/v2/");
//
// tests/support/stub_http_server serves one canned answer on one connection at a time, which
// is too little for a multi-step handshake; this server is the scripted, keep-alive version.
// Unrouted paths get 404. A response `delay` is cut short when the server stops, so a test of
// a client timeout ends as soon as the client gives up. Thread-safe; test-only.
#ifndef REGISTRY_AUTH_UPSTREAM_TESTING_SCRIPTED_HTTP_SERVER_H_
#define REGISTRY_AUTH_UPSTREAM_TESTING_SCRIPTED_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/ip_address.h"

namespace registryauth::upstream::testing {

struct ScriptedRequest {
  std::string method;
  std::string target;                        // as sent, e.g. "/token?service=x&scope=y"
  std::string path;                          // target without the query
  std::map<std::string, std::string> query;  // percent-decoded; a repeated key keeps the last
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string body;
  int connection = 0;  // 1 for the first accepted connection, 2 for the next, ...

  std::optional<std::string> Header(std::string_view name) const;
};

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type defaults to JSON
  std::string body;
  // Wait this long before answering (ended early when the server stops).
  absl::Duration delay = absl::ZeroDuration();
  // No Content-Length: the body ends when the server closes the connection.
  bool close_delimited = false;
};

using ScriptedHandler = std::function<ScriptedResponse(const ScriptedRequest&)>;

// A server certificate chain and key in PEM (e.g. tests/support/test_certs IssueServer()).
struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;
};

class ScriptedHttpServer {
 public:
  // Listens on 127.0.0.1:0; with `tls`, speaks HTTPS.
  static absl::StatusOr<std::unique_ptr<ScriptedHttpServer>> Start(
      std::optional<TlsIdentity> tls = std::nullopt);
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  // Answers requests for `path` (exact match, without the query). A later Route replaces.
  void Route(std::string path, ScriptedHandler handler);
  void Route(std::string path, ScriptedResponse response);

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" or "https://127.0.0.1:<port>".
  std::string BaseUrl() const;
  std::string Url(std::string_view path) const;
  std::vector<ScriptedRequest> requests() const;
  // Connections accepted so far (including ones whose TLS handshake failed).
  int connections() const;

 private:
  ScriptedHttpServer(int listen_fd, int port, void* ssl_ctx)
      : listen_fd_(listen_fd), port_(port), ssl_ctx_(ssl_ctx) {}
  void AcceptLoop();
  void Serve(int fd, int connection);

  const int listen_fd_;
  const int port_;
  void* const ssl_ctx_;  // SSL_CTX*, or nullptr for plain HTTP
  std::atomic<bool> stopping_{false};
  absl::Notification stopped_;
  std::thread accept_thread_;
  mutable absl::Mutex mu_;
  std::map<std::string, ScriptedHandler> routes_ ABSL_GUARDED_BY(mu_);
  std::vector<ScriptedRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::set<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

// What tests put in CurlHttpClient::Options::allowed_networks so the client may reach loopback
// test servers (this one, stub registries): 127.0.0.0/8 and ::1. Production has no such
// allowance by default.
std::vector<IpNetwork> LoopbackNetworks();

}  // namespace registryauth::upstream::testing

#endif  // REGISTRY_AUTH_UPSTREAM_TESTING_SCRIPTED_HTTP_SERVER_H_
