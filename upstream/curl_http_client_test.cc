#include "upstream/curl_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_certs.h"
#include "upstream/http_client.h"
#include "upstream/testing/scripted_http_server.h"
#include "upstream/testing/silent_listener.h"

namespace registryauth::upstream {
namespace {

using ::registryauth::upstream::testing::LoopbackNetworks;
using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedRequest;
using ::registryauth::upstream::testing::ScriptedResponse;
using ::registryauth::upstream::testing::SilentListener;
using ::registryauth::upstream::testing::TlsIdentity;

std::unique_ptr<CurlHttpClient> PolicyClient(std::vector<std::string> allowed);

// A client that may reach the loopback test servers (tests of the outbound policy build theirs
// with CurlHttpClient::Create directly).
std::unique_ptr<CurlHttpClient> NewClient(CurlHttpClient::Options options = {}) {
  options.allowed_networks = LoopbackNetworks();
  auto client = CurlHttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::unique_ptr<ScriptedHttpServer> NewServer(std::optional<TlsIdentity> tls = std::nullopt) {
  auto server = ScriptedHttpServer::Start(std::move(tls));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

HttpRequest Get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  r.deadline = absl::Now() + absl::Seconds(20);
  return r;
}

// A loopback port nobody listens on (bound, then closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "bind to a loopback port failed";
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

void ExpectKind(const absl::Status& status, absl::StatusCode code, HttpErrorKind kind,
                bool retryable) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(GetHttpErrorKind(status), kind) << status;
  EXPECT_EQ(IsRetryableHttpError(status), retryable) << status;
}

TEST(CurlHttpClientTest, ReturnsStatusHeadersAndBody) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{401,
                                         {{"WWW-Authenticate", R"(Bearer realm="a")"},
                                          {"WWW-Authenticate", R"(Basic realm="b")"},
                                          {"X-Mixed-Case", "v"}},
                                         R"({"errors":[]})"});
  auto client = NewClient();
  HttpRequest request = Get(server->Url("/v2/"));
  request.headers = {{"Accept", "application/json"}, {"X-Empty", ""}};
  absl::StatusOr<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->body, R"({"errors":[]})");
  EXPECT_EQ(response->HeaderValues("www-authenticate"),
            (std::vector<std::string>{R"(Bearer realm="a")", R"(Basic realm="b")"}));
  EXPECT_EQ(response->Header("X-MIXED-CASE"), "v");
  bool lower = true;
  for (const auto& [name, value] : response->headers) {
    for (char c : name) lower = lower && !(c >= 'A' && c <= 'Z');
  }
  EXPECT_TRUE(lower);

  const std::vector<ScriptedRequest> seen = server->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].Header("user-agent"), "registry-auth/1");
  EXPECT_EQ(seen[0].Header("accept"), "application/json");
  EXPECT_EQ(seen[0].Header("x-empty"), "");
  EXPECT_EQ(seen[0].Header("expect"), std::nullopt);
}

TEST(CurlHttpClientTest, PostsBodyAndUsesOwnUserAgent) {
  auto server = NewServer();
  server->Route("/app/installations/1/access_tokens", [](const ScriptedRequest& r) {
    return ScriptedResponse{201, {}, r.body};
  });
  CurlHttpClient::Options options;
  options.user_agent = "registry-auth-test/2";
  auto client = NewClient(options);
  HttpRequest request = Get(server->Url("/app/installations/1/access_tokens"));
  request.method = "POST";
  request.body = std::string(5000, 'x');  // over 1 KiB: no Expect: 100-continue round trip
  absl::StatusOr<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, request.body);
  EXPECT_EQ(server->requests().at(0).Header("user-agent"), "registry-auth-test/2");

  request.method = "PUT";
  request.headers = {{"User-Agent", "caller/3"}};
  response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(server->requests().at(1).method, "PUT");
  EXPECT_EQ(server->requests().at(1).Header("user-agent"), "caller/3");
}

TEST(CurlHttpClientTest, ReusesConnections) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  auto client = NewClient();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> response = client->Send(Get(server->Url("/v2/")));
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(server->requests().size(), 3u);
  EXPECT_EQ(server->connections(), 1);
}

TEST(CurlHttpClientTest, ConcurrentSends) {
  auto server = NewServer();
  server->Route("/n", [](const ScriptedRequest& r) {
    return ScriptedResponse{200, {}, r.query.count("i") ? r.query.at("i") : ""};
  });
  auto client = NewClient();
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string id = absl::StrCat(t, "-", i);
        absl::StatusOr<HttpResponse> r = client->Send(Get(server->Url("/n?i=" + id)));
        if (!r.ok() || r->body != id) ++failures[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_EQ(server->requests().size(), 80u);
  EXPECT_LE(server->connections(), 8);  // connections were reused across threads and calls
}

TEST(CurlHttpClientTest, SlowAnswerPastTheDeadline) {
  auto server = NewServer();
  server->Route("/slow", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  auto client = NewClient();
  HttpRequest request = Get(server->Url("/slow"));
  request.deadline = absl::Now() + absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> response = client->Send(request);
  const absl::Duration took = absl::Now() - start;
  ExpectKind(response.status(), absl::StatusCode::kDeadlineExceeded, HttpErrorKind::kTimeout, true);
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST(CurlHttpClientTest, RequestTimeoutShorterThanDeadline) {
  auto server = NewServer();
  server->Route("/slow", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  auto client = NewClient();
  HttpRequest request = Get(server->Url("/slow"));
  request.timeout = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> response = client->Send(request);
  ExpectKind(response.status(), absl::StatusCode::kDeadlineExceeded, HttpErrorKind::kTimeout, true);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(CurlHttpClientTest, PassedDeadlineSendsNothing) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CurlHttpClient::Options options;
  options.clock = &clock;
  auto client = NewClient(options);
  HttpRequest request = Get(server->Url("/v2/"));
  request.deadline = clock.Now() + absl::Seconds(1);
  clock.Advance(absl::Seconds(2));
  ExpectKind(client->Send(request).status(), absl::StatusCode::kDeadlineExceeded,
             HttpErrorKind::kTimeout, true);
  EXPECT_TRUE(server->requests().empty());
}

TEST(CurlHttpClientTest, ConnectionRefusedIsRetryable) {
  auto client = NewClient();
  const int port = ClosedPort();
  HttpRequest request = Get(absl::StrCat("http://127.0.0.1:", port, "/v2/secret-path?q=hidden"));
  request.headers = {{"Authorization", "Bearer tok-abcdef123456"}};
  absl::Status status = client->Send(request).status();
  ExpectKind(status, absl::StatusCode::kUnavailable, HttpErrorKind::kConnect, true);
  const std::string message(status.message());
  EXPECT_NE(message.find(absl::StrCat("GET http://127.0.0.1:", port)), std::string::npos)
      << message;
  EXPECT_EQ(message.find("secret-path"), std::string::npos) << message;
  EXPECT_EQ(message.find("hidden"), std::string::npos) << message;
  EXPECT_EQ(message.find("tok-abcdef"), std::string::npos) << message;
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
}

TEST(CurlHttpClientTest, ConnectFailureDoesNotNameTheResolvedAddress) {
  // Issue 17: "Failed to connect to 10.0.0.5 port 5432" mapped the internal network. A name
  // that resolves to an (allowed) address with nothing listening says what failed, not where.
  auto client = NewClient();
  const int port = ClosedPort();
  absl::Status status = client->Send(Get(absl::StrCat("http://localhost:", port, "/v2/"))).status();
  ExpectKind(status, absl::StatusCode::kUnavailable, HttpErrorKind::kConnect, true);
  const std::string message(status.message());
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
  EXPECT_EQ(message.find("127.0.0.1"), std::string::npos) << message;
  EXPECT_EQ(message.find("::1"), std::string::npos) << message;
  EXPECT_EQ(message.find("Failed to connect"), std::string::npos) << message;
}

TEST(CurlHttpClientTest, BodyOverTheCap) {
  auto server = NewServer();
  server->Route("/big", ScriptedResponse{200, {}, std::string(2 * 1024 * 1024, 'a')});
  server->Route("/stream", ScriptedResponse{200,
                                            {},
                                            std::string(5000, 'b'),
                                            absl::ZeroDuration(),
                                            /*close_delimited=*/true});
  server->Route("/fits", ScriptedResponse{200,
                                          {},
                                          std::string(1024, 'c'),
                                          absl::ZeroDuration(),
                                          /*close_delimited=*/true});
  // The default cap (1 MiB) with a Content-Length that says too much.
  auto client = NewClient();
  ExpectKind(client->Send(Get(server->Url("/big"))).status(), absl::StatusCode::kResourceExhausted,
             HttpErrorKind::kTooLarge, false);

  // A small cap and a body without Content-Length: cut off while reading.
  CurlHttpClient::Options options;
  options.max_body_bytes = 1024;
  auto small = NewClient(options);
  ExpectKind(small->Send(Get(server->Url("/stream"))).status(),
             absl::StatusCode::kResourceExhausted, HttpErrorKind::kTooLarge, false);
  absl::StatusOr<HttpResponse> fits = small->Send(Get(server->Url("/fits")));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->body.size(), 1024u);
}

TEST(CurlHttpClientTest, FollowsRedirectsUpToTheLimit) {
  auto server = NewServer();
  server->Route("/a", ScriptedResponse{302, {{"Location", "/b"}}, ""});
  server->Route("/b", ScriptedResponse{301, {{"Location", server->Url("/c")}}, ""});
  server->Route("/c", ScriptedResponse{200, {{"X-Final", "yes"}}, "done"});
  server->Route("/loop", ScriptedResponse{302, {{"Location", "/loop"}}, ""});
  server->Route("/ftp", ScriptedResponse{302, {{"Location", "ftp://127.0.0.1/x"}}, ""});
  server->Route("/file", ScriptedResponse{302, {{"Location", "file:///etc/passwd"}}, ""});
  auto client = NewClient();

  absl::StatusOr<HttpResponse> ok = client->Send(Get(server->Url("/a")));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "done");
  // Only the final response's headers.
  EXPECT_EQ(ok->Header("location"), std::nullopt);
  EXPECT_EQ(ok->Header("x-final"), "yes");

  const std::size_t before = server->requests().size();
  ExpectKind(client->Send(Get(server->Url("/loop"))).status(),
             absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect, false);
  EXPECT_EQ(server->requests().size() - before, 4u);  // the request and 3 redirects

  ExpectKind(client->Send(Get(server->Url("/ftp"))).status(), absl::StatusCode::kFailedPrecondition,
             HttpErrorKind::kRedirect, false);
  ExpectKind(client->Send(Get(server->Url("/file"))).status(),
             absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect, false);

  CurlHttpClient::Options options;
  options.max_redirects = 0;
  absl::StatusOr<HttpResponse> unfollowed = NewClient(options)->Send(Get(server->Url("/a")));
  ASSERT_TRUE(unfollowed.ok()) << unfollowed.status();
  EXPECT_EQ(unfollowed->status, 302);
  EXPECT_EQ(unfollowed->Header("location"), "/b");
}

TEST(CurlHttpClientTest, AuthorizationIsNotForwardedToAnotherOrigin) {
  // Issue 17: a redirect to another origin (here another port) is not followed at all, so the
  // Authorization header cannot reach it (before, libcurl followed it without the header).
  auto elsewhere = NewServer();
  elsewhere->Route("/landing", ScriptedResponse{200, {}, "ok"});
  auto server = NewServer();
  server->Route("/go", ScriptedResponse{302, {{"Location", elsewhere->Url("/landing")}}, ""});
  server->Route("/same", ScriptedResponse{307, {{"Location", "/landing"}}, ""});
  server->Route("/landing", ScriptedResponse{200, {}, "here"});
  auto client = NewClient();
  HttpRequest request = Get(server->Url("/go"));
  request.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}};
  ExpectKind(client->Send(request).status(), absl::StatusCode::kPermissionDenied,
             HttpErrorKind::kBlocked, false);
  EXPECT_EQ(server->requests().at(0).Header("authorization"), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(elsewhere->connections(), 0);
  EXPECT_TRUE(elsewhere->requests().empty());
  // Within the origin the redirect is followed, with the header.
  request.url = server->Url("/same");
  absl::StatusOr<HttpResponse> same = client->Send(request);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->body, "here");
  EXPECT_EQ(server->requests().back().Header("authorization"), "Basic dXNlcjpwYXNz");
}

TEST(CurlHttpClientTest, RedirectsSpelledToLookSameOriginAreJudgedAsLibcurlReadsThem) {
  // Review of issue 17 (held): the origin of a redirect is compared as libcurl parses the URL
  // it would fetch, so a protocol-relative Location with another port, or one whose user info
  // spells the original host and port, is refused; the same origin spelled in upper case with
  // its port is followed.
  auto elsewhere = NewServer();
  elsewhere->Route("/landing", ScriptedResponse{200, {}, "elsewhere"});
  auto server = NewServer();
  const std::string here = absl::StrCat("127.0.0.1:", server->port());
  const std::string there = absl::StrCat("127.0.0.1:", elsewhere->port());
  server->Route("/relative", ScriptedResponse{302, {{"Location", "//" + there + "/landing"}}, ""});
  server->Route(
      "/userinfo",
      ScriptedResponse{302, {{"Location", "http://" + here + "@" + there + "/landing"}}, ""});
  server->Route("/upper", ScriptedResponse{302, {{"Location", "HTTP://" + here + "/landing"}}, ""});
  server->Route("/landing", ScriptedResponse{200, {}, "here"});
  auto client = NewClient();
  for (const char* path : {"/relative", "/userinfo"}) {
    HttpRequest request = Get(server->Url(path));
    request.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}};
    ExpectKind(client->Send(request).status(), absl::StatusCode::kPermissionDenied,
               HttpErrorKind::kBlocked, false);
  }
  EXPECT_EQ(elsewhere->connections(), 0);
  absl::StatusOr<HttpResponse> upper = client->Send(Get(server->Url("/upper")));
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(upper->body, "here");
}

TEST(CurlHttpClientPolicyTest, PlainHttpOnlyToAllowedNetworks) {
  // 192.88.99.1 (the deprecated 6to4 relay anycast prefix: public, so not internal, and not
  // expected to answer on port 9) - plain http to it is refused before connecting. (It used to
  // be 192.0.2.1, TEST-NET-1, which the policy now blocks as a documentation range.)
  const absl::Time start = absl::Now();
  const absl::Status status = PolicyClient({})->Send(Get("http://192.88.99.1:9/v2/")).status();
  ExpectKind(status, absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked, false);
  EXPECT_NE(status.message().find("plain http"), absl::string_view::npos) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // https to the same address is not refused by the policy (it times out: nothing answers).
  HttpRequest https = Get("https://192.88.99.1:9/v2/");
  https.timeout = absl::Milliseconds(300);
  EXPECT_NE(GetHttpErrorKind(PolicyClient({})->Send(https).status()), HttpErrorKind::kBlocked);
}

TEST(CurlHttpClientPolicyTest, RedirectToAnotherSchemeIsNotFollowed) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{301, {{"Location", "https://127.0.0.1:1/v2/"}}, ""});
  ExpectKind(NewClient()->Send(Get(server->Url("/v2/"))).status(),
             absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked, false);
  EXPECT_EQ(server->requests().size(), 1u);
}

TEST(CurlHttpClientTest, RejectsBadRequests) {
  auto client = NewClient();
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", "", "/v2/"}) {
    SCOPED_TRACE(url);
    ExpectKind(client->Send(Get(url)).status(), absl::StatusCode::kInvalidArgument,
               HttpErrorKind::kBadRequest, false);
  }
  HttpRequest injected = Get("http://127.0.0.1:1/");
  injected.headers = {{"X-A", "v\r\nX-Injected: 1"}};
  ExpectKind(client->Send(injected).status(), absl::StatusCode::kInvalidArgument,
             HttpErrorKind::kBadRequest, false);
  HttpRequest bad_method = Get("http://127.0.0.1:1/");
  bad_method.method = "GET /x";
  ExpectKind(client->Send(bad_method).status(), absl::StatusCode::kInvalidArgument,
             HttpErrorKind::kBadRequest, false);
}

TEST(CurlHttpClientTest, CreateValidatesOptions) {
  CurlHttpClient::Options missing_ca;
  missing_ca.ca_bundle_path = "does/not/exist.pem";
  EXPECT_EQ(CurlHttpClient::Create(missing_ca).status().code(), absl::StatusCode::kInvalidArgument);
  CurlHttpClient::Options bad_timeout;
  bad_timeout.connect_timeout = absl::ZeroDuration();
  EXPECT_EQ(CurlHttpClient::Create(bad_timeout).status().code(),
            absl::StatusCode::kInvalidArgument);
  CurlHttpClient::Options bad_redirects;
  bad_redirects.max_redirects = -1;
  EXPECT_EQ(CurlHttpClient::Create(bad_redirects).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CurlHttpClientTest, ProxyFromOptions) {
  // A forward proxy sees the absolute URL as the request target. The target is a loopback port
  // nobody listens on, so the request can only succeed through the proxy. (The client resolves
  // and checks the target itself first, so it must resolve and be allowed: NewClient allows
  // loopback.)
  auto proxy = NewServer();
  const std::string target = absl::StrCat("http://127.0.0.1:", ClosedPort(), "/v2/");
  proxy->Route(target, ScriptedResponse{200, {}, "via proxy"});

  CurlHttpClient::Options options;
  options.proxy = proxy->BaseUrl();
  absl::StatusOr<HttpResponse> forced = NewClient(options)->Send(Get(target));
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(forced->body, "via proxy");

  // "" (the default) is no proxy.
  CurlHttpClient::Options no_proxy;
  no_proxy.proxy = "";
  absl::Status direct_status = NewClient(no_proxy)->Send(Get(target)).status();
  EXPECT_EQ(GetHttpErrorKind(direct_status), HttpErrorKind::kConnect) << direct_status;
  EXPECT_EQ(proxy->requests().size(), 1u);

  CurlHttpClient::Options bad;
  for (const char* url : {"socks5://127.0.0.1:1080", "127.0.0.1:3128", "http://"}) {
    bad.proxy = url;
    EXPECT_EQ(CurlHttpClient::Create(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << url;
  }
}

// Sets the proxy environment variables libcurl reads to `url` (and clears no_proxy) for the
// life of the object; restores what was there before.
class ProxyEnvironment {
 public:
  explicit ProxyEnvironment(const std::string& url) {
    for (const char* name : kNames) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
      const bool is_no_proxy = std::string(name) == "no_proxy" || std::string(name) == "NO_PROXY";
      if (is_no_proxy) {
        unsetenv(name);
      } else {
        setenv(name, url.c_str(), 1);
      }
    }
  }
  ~ProxyEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value.has_value()) {
        setenv(name, value->c_str(), 1);
      } else {
        unsetenv(name);
      }
    }
  }
  ProxyEnvironment(const ProxyEnvironment&) = delete;
  ProxyEnvironment& operator=(const ProxyEnvironment&) = delete;

 private:
  static constexpr const char* kNames[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                           "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

// Issue 17: with a proxy the connect-time check would see only the proxy's address, so a proxy
// from the environment would bypass the outbound policy. The environment is ignored: the
// request goes straight to the target, and the would-be proxy sees no connection.
TEST(CurlHttpClientTest, ProxyEnvironmentVariablesAreIgnored) {
  auto env_proxy = SilentListener::Start("127.0.0.1");
  ASSERT_TRUE(env_proxy.ok()) << env_proxy.status();
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{200, {}, "direct"});
  absl::StatusOr<HttpResponse> plain;
  absl::Status blocked;
  {
    const ProxyEnvironment env((*env_proxy)->Url());
    HttpRequest request = Get(server->Url("/v2/"));
    request.timeout = absl::Seconds(2);
    plain = NewClient()->Send(request);
    // Nor does a refused target reach the environment's proxy, even one on an allowed network.
    HttpRequest metadata = Get("https://169.254.169.254/latest/meta-data/");
    metadata.timeout = absl::Seconds(2);
    blocked = PolicyClient({"127.0.0.1/32"})->Send(metadata).status();
  }
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->body, "direct");
  EXPECT_EQ(server->requests().size(), 1U);
  ExpectKind(blocked, absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked, false);
  EXPECT_FALSE((*env_proxy)->SawConnection());
}

class CurlHttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = registryauth::testing::TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    auto cert = pki->IssueServer("localhost", "127.0.0.1");
    ASSERT_TRUE(cert.ok()) << cert.status();
    server_ = NewServer(TlsIdentity{cert->cert_pem, cert->key_pem});
    ASSERT_NE(server_, nullptr);
    server_->Route("/v2/", ScriptedResponse{200, {}, "{}"});
    const char* tmp = std::getenv("TEST_TMPDIR");
    ca_path_ = absl::StrCat(tmp != nullptr ? tmp : ".", "/upstream_test_ca.pem");
    std::ofstream(ca_path_) << pki->ca().cert_pem;
  }

  std::unique_ptr<ScriptedHttpServer> server_;
  std::string ca_path_;
};

TEST_F(CurlHttpClientTlsTest, VerifiedWithTheCaBundle) {
  CurlHttpClient::Options options;
  options.ca_bundle_path = ca_path_;
  auto client = NewClient(options);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<HttpResponse> response = client->Send(Get(server_->Url("/v2/")));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server_->connections(), 1);  // kept alive over TLS too
}

TEST_F(CurlHttpClientTlsTest, RefusedWithoutTheCa) {
  auto client = NewClient();  // system trust store: the test CA is unknown
  absl::Status status = client->Send(Get(server_->Url("/v2/"))).status();
  ExpectKind(status, absl::StatusCode::kFailedPrecondition, HttpErrorKind::kTls, false);
  EXPECT_EQ(status.message().rfind("tls: ", 0), 0u) << status;
  EXPECT_NE(status.message().find("not trusted"), absl::string_view::npos) << status;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(CurlHttpClientTlsTest, PlainHttpToTlsServerAndBack) {
  // https:// to a plain HTTP server is a TLS failure, not a network one.
  auto plain = NewServer();
  CurlHttpClient::Options options;
  options.ca_bundle_path = ca_path_;
  auto client = NewClient(options);
  absl::Status status =
      client->Send(Get(absl::StrCat("https://127.0.0.1:", plain->port(), "/v2/"))).status();
  ExpectKind(status, absl::StatusCode::kFailedPrecondition, HttpErrorKind::kTls, false);
}

// --- Outbound policy -------------------------------------------------------------------------

// A client with exactly `allowed` as its allowance (no loopback unless listed).
std::unique_ptr<CurlHttpClient> PolicyClient(std::vector<std::string> allowed) {
  CurlHttpClient::Options options;
  for (const std::string& cidr : allowed) {
    std::optional<IpNetwork> n = ParseIpNetwork(cidr);
    EXPECT_TRUE(n.has_value()) << cidr;
    if (n.has_value()) options.allowed_networks.push_back(*n);
  }
  auto client = CurlHttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

void ExpectBlocked(const absl::Status& status) {
  ExpectKind(status, absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked, false);
  EXPECT_NE(status.message().find("blocked by outbound policy"), absl::string_view::npos) << status;
}

TEST(CurlHttpClientPolicyTest, LoopbackIsRefusedByDefaultWithoutConnecting) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  auto client = PolicyClient({});
  ExpectBlocked(client->Send(Get(server->Url("/v2/"))).status());
  EXPECT_EQ(server->connections(), 0);
  EXPECT_TRUE(server->requests().empty());
}

TEST(CurlHttpClientPolicyTest, AllowedNetworkIsReached) {
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  absl::StatusOr<HttpResponse> r = PolicyClient({"127.0.0.1/32"})->Send(Get(server->Url("/v2/")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server->connections(), 1);
}

TEST(CurlHttpClientPolicyTest, AllowanceIsExact) {
  // Only 127.0.0.2 is allowed: the server on 127.0.0.1 is still refused.
  auto server = NewServer();
  ExpectBlocked(PolicyClient({"127.0.0.2/32", "10.0.0.0/8"})->Send(Get(server->Url("/"))).status());
  EXPECT_EQ(server->connections(), 0);
}

TEST(CurlHttpClientPolicyTest, NameResolvingToLoopbackIsRefusedWithoutNamingTheAddress) {
  // The check is on the address connected to, not on the URL's text.
  auto server = NewServer();
  auto client = PolicyClient({"127.0.0.2/32"});
  const absl::Status status =
      client->Send(Get(absl::StrCat("http://localhost:", server->port(), "/v2/"))).status();
  ExpectBlocked(status);
  EXPECT_EQ(status.message().find("127.0.0.1"), absl::string_view::npos) << status;
  EXPECT_EQ(status.message().find("::1"), absl::string_view::npos) << status;
  EXPECT_EQ(server->connections(), 0);
}

TEST(CurlHttpClientPolicyTest, MetadataPrivateAndMappedAddressesAreRefusedAtOnce) {
  auto client = PolicyClient({"127.0.0.0/8"});
  for (const char* url :
       {"http://169.254.169.254/latest/meta-data/", "https://10.255.255.1/v2/",
        "http://192.168.0.1/", "http://100.64.0.1/", "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:1/", "http://[fe80::1]/"}) {
    const absl::Time start = absl::Now();
    ExpectBlocked(client->Send(Get(url)).status());
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << url << " was not refused before connect";
  }
}

TEST(CurlHttpClientPolicyTest, SpecialPurposeAndEmbeddedIpv4FormsAreRefusedAtOnce) {
  // https, so the only reason to refuse is the address: documentation and benchmarking ranges,
  // and IPv6 forms that deliver to loopback (NAT64, 6to4, Teredo, IPv4-compatible) or that
  // are blocked whole (local-use NAT64, discard).
  auto client = PolicyClient({"127.0.0.0/8"});
  for (const char* url :
       {"https://192.0.2.1/", "https://198.51.100.1/", "https://203.0.113.1/",
        "https://198.18.0.1/", "https://192.0.0.9/", "https://[2001:db8::1]/",
        "https://[64:ff9b::7f00:1]/", "https://[2002:7f00:1::1]/",
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "https://[::127.0.0.1]/",
        "https://[64:ff9b:1::808:808]/", "https://[100::1]/"}) {
    const absl::Time start = absl::Now();
    const absl::Status status = client->Send(Get(url)).status();
    ExpectBlocked(status);
    EXPECT_NE(status.message().find("internal"), absl::string_view::npos) << url << status;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << url << " was not refused before connect";
  }
}

TEST(CurlHttpClientPolicyTest, RedirectToABlockedAddressIsRefusedWithoutConnecting) {
  auto target = SilentListener::Start("127.0.0.2");
  ASSERT_TRUE(target.ok()) << target.status();
  auto server = NewServer();
  server->Route("/v2/", ScriptedResponse{302, {{"Location", (*target)->Url()}}});
  const absl::Status status =
      PolicyClient({"127.0.0.1/32"})->Send(Get(server->Url("/v2/"))).status();
  ExpectBlocked(status);
  EXPECT_FALSE((*target)->SawConnection());
  EXPECT_EQ(server->connections(), 1);
}

TEST(CurlHttpClientPolicyTest, SecondListenerAddressIsReachableWhenAllowed) {
  // The control for the test above: 127.0.0.2 is reachable, so "no connection" there meant the
  // policy, not a missing route.
  auto target = SilentListener::Start("127.0.0.2");
  ASSERT_TRUE(target.ok()) << target.status();
  auto client = PolicyClient({"127.0.0.2/32"});
  HttpRequest request = Get((*target)->Url());
  request.timeout = absl::Milliseconds(500);
  (void)client->Send(request);  // nobody answers: a timeout
  EXPECT_TRUE((*target)->SawConnection());
}

// A proxy the operator names (--upstream_proxy) carries https through a CONNECT tunnel; TLS
// is still verified end to end with the target.
TEST_F(CurlHttpClientTlsTest, HttpsGoesThroughAConnectProxy) {
  auto proxy = registryauth::testing::TcpProxy::StartHttpConnect();
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  CurlHttpClient::Options options;
  options.ca_bundle_path = ca_path_;
  options.proxy = absl::StrCat("http://127.0.0.1:", (*proxy)->port());
  options.allowed_networks = {*ParseIpNetwork("127.0.0.1")};
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client = CurlHttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<HttpResponse> response = (*client)->Send(Get(server_->Url("/v2/")));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ((*proxy)->connect_targets(),
            std::vector<std::string>{absl::StrCat("127.0.0.1:", server_->port())});
  EXPECT_EQ(server_->requests().size(), 1U);
}

// Issue 17: with a proxy the connect-time check sees only the proxy's address, so the client
// resolves each target itself and refuses it before the proxy is contacted at all.
TEST(CurlHttpClientPolicyTest, ThroughAProxyTheTargetIsCheckedBeforeTheProxyIsContacted) {
  auto proxy = SilentListener::Start("127.0.0.1");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  CurlHttpClient::Options options;
  options.proxy = (*proxy)->Url();
  options.allowed_networks = {*ParseIpNetwork("127.0.0.2")};
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client = CurlHttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (const char* url :
       {"https://169.254.169.254/latest/meta-data/", "https://10.1.2.3/v2/",
        "https://localhost:5000/v2/", "https://[::1]/v2/", "https://[64:ff9b::a9fe:a9fe]/"}) {
    const absl::Status status = (*client)->Send(Get(url)).status();
    ExpectBlocked(status);
    EXPECT_EQ(status.message().find("127.0.0.1"), absl::string_view::npos) << status;
  }
  // Plain http only to allowed networks, by the target's address as without a proxy.
  const absl::Status plain = (*client)->Send(Get("http://192.88.99.1/v2/")).status();
  ExpectBlocked(plain);
  EXPECT_NE(plain.message().find("plain http"), absl::string_view::npos) << plain;
  // A name that does not resolve here is not handed to the proxy either.
  ExpectKind((*client)->Send(Get("https://registry.invalid/v2/")).status(),
             absl::StatusCode::kUnavailable, HttpErrorKind::kDns, true);
  EXPECT_FALSE((*proxy)->SawConnection());
}

// The control for the test above: an allowed target does go through the proxy (the proxy on
// loopback is contacted although only 127.0.0.2 is allowed: the proxy's own address is the
// operator's choice, not judged).
TEST(CurlHttpClientPolicyTest, ThroughAProxyAnAllowedTargetReachesTheProxy) {
  auto proxy = NewServer();
  auto target = SilentListener::Start("127.0.0.2");
  ASSERT_TRUE(target.ok()) << target.status();
  proxy->Route((*target)->Url(), ScriptedResponse{200, {}, "via proxy"});
  CurlHttpClient::Options options;
  options.proxy = proxy->BaseUrl();
  options.allowed_networks = {*ParseIpNetwork("127.0.0.2")};
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client = CurlHttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<HttpResponse> response = (*client)->Send(Get((*target)->Url()));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "via proxy");
  EXPECT_FALSE((*target)->SawConnection());  // the proxy answered; the target was not touched
}

TEST(CurlHttpClientPolicyTest, InternalAddressLiteralsAreRefusedThroughAProxyToo) {
  // Review of issue 17: with a proxy (an egress proxy the operator allows, or https_proxy from
  // the environment) the connect-time check sees only the proxy's address, so an internal
  // target written as an address literal went to the proxy, which connected to it for us.
  // A literal is refused before anything is sent, as it would be without a proxy.
  auto proxy = NewServer();
  proxy->Route("http://localhost/v2/", ScriptedResponse{200, {}, "via proxy"});
  CurlHttpClient::Options options;
  options.proxy = proxy->BaseUrl();
  options.allowed_networks.push_back(*ParseIpNetwork("127.0.0.1/32"));  // the proxy's address
  auto created = CurlHttpClient::Create(std::move(options));
  ASSERT_TRUE(created.ok()) << created.status();
  CurlHttpClient& client = **created;
  for (const char* url :
       {"http://169.254.169.254/latest/meta-data/", "https://10.0.0.5:5432/", "https://[::1]/v2/",
        "https://[::ffff:10.0.0.5]/", "https://127.0.0.2/v2/", "http://2852039166/",
        "HTTPS://[FD00:EC2::254]/", "https://0.0.0.0/", "https://10.0.0.5./",
        "https://%31%30.0.0.5/", "https://0x0a.5/",
        // Plain http to an address outside the allowance, as without a proxy.
        "http://192.0.2.1/v2/"}) {
    ExpectBlocked(client.Send(Get(url)).status());
  }
  // A host libcurl would turn into an address by IDNA (full-width digits) is not sent either.
  EXPECT_FALSE(client.Send(Get("https://%EF%BC%91%EF%BC%90.0.0.5/")).ok());
  EXPECT_EQ(proxy->connections(), 0);
  // The control: a name whose addresses pass the policy (checked by the client itself, 25)
  // still goes through the proxy, so the proxy was usable.
  absl::StatusOr<HttpResponse> named = client.Send(Get("http://localhost/v2/"));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->body, "via proxy");
}

}  // namespace
}  // namespace registryauth::upstream
