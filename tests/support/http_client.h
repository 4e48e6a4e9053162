// A blocking HTTP/1.1 test client on one loopback TCP connection (Boost.Beast), able to send
// raw bytes too, so tests can speak both well-formed and malformed HTTP to a real server.
//
//   HttpConnection conn(port);
//   HttpReply r = conn.Request("GET", "/v1/workspaces", "", {{"x-api-key", key}});
//   EXPECT_EQ(r.status, 200);
//
// Thread-compatible (one connection per thread).
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_HTTP_CLIENT_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace registryauth::testing {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;
  bool ok = false;  // false if no complete response could be read
};

class HttpConnection {
 public:
  // Connects to 127.0.0.1:`port`; check connected().
  explicit HttpConnection(int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const;

  void SendRaw(const std::string& bytes);

  // Reads one response (bodies up to 16 MiB).
  HttpReply Read();

  // Sends one request (Host: test; a JSON Content-Type and Content-Length when there is a body
  // or the method is POST/PATCH) and reads the response.
  HttpReply Request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});

  // True once the server has closed the connection (a read returns EOF or an error).
  bool ClosedByPeer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_HTTP_CLIENT_H_
