// A loopback HTTP/1.1 server that gives every request the same canned answer and records what
// it was asked: a stand-in token realm for tests that need "the realm refuses" or want to see
// which scopes and credentials a client (skopeo, docker-registry) sends.
//
//   ASSIGN_OR_RETURN(auto realm, StubHttpServer::Start(401, R"({"errors":[...]})"));
//   options.token_auth->realm = realm->Url("/token");
//   ... push with skopeo ...
//   std::vector<RecordedRequest> seen = realm->requests();
//   EXPECT_EQ(seen[0].query["scope"], "repository:acme/web:pull,push");
//
// One connection at a time, `Connection: close` on every answer; requests with a body are
// read up to their Content-Length. Thread-safe.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_STUB_HTTP_SERVER_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_STUB_HTTP_SERVER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace registryauth::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                          // as sent, e.g. "/token?scope=...&service=..."
  std::string path;                            // target without the query
  std::map<std::string, std::string> query;    // percent-decoded; a repeated key keeps the last
  std::vector<std::string> scopes;             // every `scope` parameter, in order
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class StubHttpServer {
 public:
  // Listens on 127.0.0.1:0. `headers` are added to the answer (Content-Type defaults to
  // application/json).
  static absl::StatusOr<std::unique_ptr<StubHttpServer>> Start(
      int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {});
  ~StubHttpServer();
  StubHttpServer(const StubHttpServer&) = delete;
  StubHttpServer& operator=(const StubHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  std::vector<RecordedRequest> requests() const;

 private:
  StubHttpServer(int listen_fd, int port, std::string response)
      : listen_fd_(listen_fd), port_(port), response_(std::move(response)) {}
  void AcceptLoop();
  void Serve(int fd);

  const int listen_fd_;
  const int port_;
  const std::string response_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_STUB_HTTP_SERVER_H_
