#include "upstream/docker_v2_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "gtest/gtest.h"
#include "tests/support/test_certs.h"
#include "upstream/curl_http_client.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth::upstream {
namespace {

using ::registryauth::upstream::testing::LoopbackNetworks;
using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedRequest;
using ::registryauth::upstream::testing::ScriptedResponse;
using ::registryauth::upstream::testing::TlsIdentity;

constexpr char kUser[] = "alice";
constexpr char kPassword[] = "s3cr3t-pa55w0rd";
constexpr char kBasic[] = "Basic YWxpY2U6czNjcjN0LXBhNTV3MHJk";  // alice:s3cr3t-pa55w0rd
constexpr char kBase64Only[] = "YWxpY2U6czNjcjN0LXBhNTV3MHJk";
constexpr char kToken[] = "tok.eyJ-registry-token-9f8e7d";

std::unique_ptr<ScriptedHttpServer> NewServer(std::optional<TlsIdentity> tls = std::nullopt) {
  auto server = ScriptedHttpServer::Start(std::move(tls));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

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

// A registry (/v2/) with its token realm (/token) on another server.
class DockerV2ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = NewServer();
    realm_ = NewServer();
    http_ = MakeClient({});
  }

  std::unique_ptr<CurlHttpClient> MakeClient(CurlHttpClient::Options options) {
    options.allowed_networks = LoopbackNetworks();  // the scripted registry is on loopback
    auto client = CurlHttpClient::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  std::string Challenge() const {
    return absl::StrCat(R"(Bearer realm=")", realm_->Url("/token"), R"(",service="test-registry")");
  }

  // /v2/ accepts `Bearer kToken`, otherwise challenges; /token issues kToken for kBasic.
  void ServeBearerRegistry(std::string token_json = absl::StrCat(R"({"token":")", kToken,
                                                                 R"(","expires_in":300})")) {
    registry_->Route("/v2/", [this](const ScriptedRequest& r) {
      if (r.Header("authorization") == absl::StrCat("Bearer ", kToken)) {
        return ScriptedResponse{200, {}, "{}"};
      }
      return ScriptedResponse{401, {{"WWW-Authenticate", Challenge()}}, R"({"errors":[]})"};
    });
    realm_->Route("/token", [token_json](const ScriptedRequest& r) {
      if (r.Header("authorization") == kBasic) return ScriptedResponse{200, {}, token_json};
      return ScriptedResponse{401, {}, R"({"details":"invalid credentials"})"};
    });
  }

  RegistryProbeRequest Request(std::string password = kPassword) const {
    RegistryProbeRequest r;
    r.base_url = registry_->BaseUrl();
    r.username = kUser;
    r.password = SecretString(password);
    r.deadline = absl::Now() + absl::Seconds(20);
    return r;
  }

  ProbeResult Run(const RegistryProbeRequest& request) {
    DockerV2Probe probe(*http_, clock_);
    ProbeResult result = probe.Probe(request);
    ExpectNoSecrets(result);
    return result;
  }

  static void ExpectNoSecrets(const ProbeResult& result) {
    std::vector<std::string> texts = {std::string(result.status.message())};
    for (const ProbeStep& s : result.steps) texts.push_back(s.detail);
    for (const std::string& text : texts) {
      for (const char* secret : {kPassword, kBase64Only, kToken, "wrong-password"}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << text;
      }
    }
  }

  static void ExpectFailure(const ProbeResult& r, ProbeCategory category, const char* reason,
                            absl::StatusCode code, bool retryable, const char* failed_step) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.category, category) << ProbeCategoryName(r.category) << " " << r.status;
    EXPECT_EQ(r.reason, reason) << r.status;
    EXPECT_EQ(r.status.code(), code) << r.status;
    EXPECT_EQ(r.retryable, retryable);
    ASSERT_FALSE(r.steps.empty());
    EXPECT_EQ(r.steps.back().name, failed_step);
    EXPECT_FALSE(r.steps.back().ok);
    EXPECT_EQ(std::string(r.status.message()), r.steps.back().detail);
    for (std::size_t i = 0; i + 1 < r.steps.size(); ++i) EXPECT_TRUE(r.steps[i].ok);
  }

  // Basic credentials went to the realm only; the registry saw no Basic header.
  void ExpectBasicOnlyToRealm() const {
    for (const ScriptedRequest& r : registry_->requests()) {
      const std::string auth = r.Header("authorization").value_or("");
      EXPECT_EQ(auth.find("Basic"), std::string::npos) << auth;
    }
  }

  RealClock clock_;
  std::unique_ptr<ScriptedHttpServer> registry_;
  std::unique_ptr<ScriptedHttpServer> realm_;
  std::unique_ptr<CurlHttpClient> http_;
};

TEST_F(DockerV2ProbeTest, AnonymousRegistry) {
  registry_->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  ProbeResult r = Run(Request());
  EXPECT_TRUE(r.ok) << r.status;
  EXPECT_TRUE(r.status.ok());
  EXPECT_FALSE(r.credentials_verified);
  EXPECT_EQ(r.category, ProbeCategory::kNone);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].name, "ping");
  EXPECT_TRUE(r.steps[0].ok);
  EXPECT_NE(r.steps[0].detail.find("not checked"), std::string::npos) << r.steps[0].detail;
  EXPECT_EQ(registry_->requests().at(0).Header("authorization"), std::nullopt);
}

TEST_F(DockerV2ProbeTest, BearerFlowWithGoodCredentials) {
  ServeBearerRegistry();
  RegistryProbeRequest request = Request();
  request.base_url += "/v2/";  // a pasted /v2/ suffix is ignored
  request.scope = "repository:acme/web:pull";
  ProbeResult r = Run(request);
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_TRUE(r.credentials_verified);
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[0].name, "ping");
  EXPECT_EQ(r.steps[1].name, "token");
  EXPECT_EQ(r.steps[2].name, "authenticate");
  for (const ProbeStep& s : r.steps) EXPECT_TRUE(s.ok) << s.name << ": " << s.detail;
  EXPECT_NE(r.steps[1].detail.find("repository:acme/web:pull"), std::string::npos);

  const std::vector<ScriptedRequest> realm_seen = realm_->requests();
  ASSERT_EQ(realm_seen.size(), 1u);
  EXPECT_EQ(realm_seen[0].path, "/token");
  EXPECT_EQ(realm_seen[0].query.at("service"), "test-registry");
  EXPECT_EQ(realm_seen[0].query.at("scope"), "repository:acme/web:pull");
  EXPECT_EQ(realm_seen[0].Header("authorization"), kBasic);
  const std::vector<ScriptedRequest> registry_seen = registry_->requests();
  ASSERT_EQ(registry_seen.size(), 2u);
  EXPECT_EQ(registry_seen[0].path, "/v2/");
  EXPECT_EQ(registry_seen[0].Header("authorization"), std::nullopt);
  EXPECT_EQ(registry_seen[1].Header("authorization"), absl::StrCat("Bearer ", kToken));
  ExpectBasicOnlyToRealm();
}

TEST_F(DockerV2ProbeTest, BearerFlowAcceptsAccessToken) {
  ServeBearerRegistry(absl::StrCat(R"({"access_token":")", kToken, R"("})"));
  ProbeResult r = Run(Request());
  EXPECT_TRUE(r.ok) << r.status;
  // Without a requested scope (and none in the challenge) no scope is sent.
  EXPECT_EQ(realm_->requests().at(0).query.count("scope"), 0u);
}

TEST_F(DockerV2ProbeTest, BearerFlowWithWrongCredentials) {
  ServeBearerRegistry();
  ProbeResult r = Run(Request("wrong-password"));
  ExpectFailure(r, ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED",
                absl::StatusCode::kUnauthenticated, false, "token");
  EXPECT_NE(r.steps.back().detail.find("user 'alice'"), std::string::npos);
  EXPECT_EQ(registry_->requests().size(), 1u);  // no third step
  ExpectBasicOnlyToRealm();
}

TEST_F(DockerV2ProbeTest, AnonymousBearerFlowSendsNoCredentials) {
  ServeBearerRegistry();
  realm_->Route("/token", [](const ScriptedRequest& r) {
    if (r.Header("authorization").has_value()) return ScriptedResponse{400, {}, "{}"};
    return ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", kToken, R"("})")};
  });
  RegistryProbeRequest request = Request("");
  request.username = "";
  ProbeResult r = Run(request);
  EXPECT_TRUE(r.ok) << r.status;
  EXPECT_FALSE(r.credentials_verified);
}

TEST_F(DockerV2ProbeTest, RegistryRejectsTheToken) {
  ServeBearerRegistry(R"({"token":"a-token-the-registry-does-not-know"})");
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kAuthentication, "TOKEN_REJECTED",
                absl::StatusCode::kUnauthenticated, false, "authenticate");
}

TEST_F(DockerV2ProbeTest, Forbidden) {
  registry_->Route("/v2/", ScriptedResponse{403, {}, "{}"});
  ExpectFailure(Run(Request()), ProbeCategory::kPermission, "ACCESS_DENIED",
                absl::StatusCode::kPermissionDenied, false, "ping");

  ServeBearerRegistry();
  realm_->Route("/token", ScriptedResponse{403, {}, "{}"});
  ExpectFailure(Run(Request()), ProbeCategory::kPermission, "ACCESS_DENIED",
                absl::StatusCode::kPermissionDenied, false, "token");
}

TEST_F(DockerV2ProbeTest, ServerErrorIsRetryable) {
  registry_->Route("/v2/", ScriptedResponse{500, {}, "oops"});
  ExpectFailure(Run(Request()), ProbeCategory::kRegistry, "REGISTRY_UNAVAILABLE",
                absl::StatusCode::kUnavailable, true, "ping");

  ServeBearerRegistry();
  realm_->Route("/token", ScriptedResponse{503, {{"Retry-After", "12"}}, "down"});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "REGISTRY_UNAVAILABLE", absl::StatusCode::kUnavailable,
                true, "token");
  EXPECT_EQ(r.retry_after, absl::Seconds(12));
}

TEST_F(DockerV2ProbeTest, RateLimited) {
  registry_->Route("/v2/", ScriptedResponse{429, {{"Retry-After", "7"}}, "{}"});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "RATE_LIMITED", absl::StatusCode::kUnavailable, true,
                "ping");
  EXPECT_EQ(r.retry_after, absl::Seconds(7));
}

TEST_F(DockerV2ProbeTest, MalformedChallenges) {
  const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, const char*>>
      cases = {
          {{}, "MALFORMED_CHALLENGE"},  // no header
          {{{"WWW-Authenticate", R"(Bearer realm="https://x/token)"}}, "MALFORMED_CHALLENGE"},
          {{{"WWW-Authenticate", R"(Bearer service="s")"}}, "MALFORMED_CHALLENGE"},  // no realm
          {{{"WWW-Authenticate", R"(Bearer realm="ftp://x/token")"}}, "MALFORMED_CHALLENGE"},
          {{{"WWW-Authenticate", R"(Bearer realm="/token")"}}, "MALFORMED_CHALLENGE"},
          {{{"WWW-Authenticate", "Negotiate"}}, "UNSUPPORTED_CHALLENGE"},
      };
  for (const auto& [headers, reason] : cases) {
    SCOPED_TRACE(reason);
    registry_->Route("/v2/", ScriptedResponse{401, headers, "{}"});
    ExpectFailure(Run(Request()), ProbeCategory::kRegistry, reason,
                  absl::StatusCode::kFailedPrecondition, false, "ping");
  }
  EXPECT_TRUE(realm_->requests().empty());
}

TEST_F(DockerV2ProbeTest, RealmAnswersWithoutAToken) {
  ServeBearerRegistry();
  for (const char* body : {"<html>login</html>", R"({"token":""})", R"({"token":42})",
                           R"(["token"])", R"({"token":"has space"})", ""}) {
    SCOPED_TRACE(body);
    realm_->Route("/token", ScriptedResponse{200, {{"Content-Type", "text/html"}}, body});
    ExpectFailure(Run(Request()), ProbeCategory::kRegistry, "MALFORMED_TOKEN_RESPONSE",
                  absl::StatusCode::kFailedPrecondition, false, "token");
  }
}

TEST_F(DockerV2ProbeTest, SlowRegistryPastTheDeadline) {
  registry_->Route("/v2/", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  RegistryProbeRequest request = Request();
  request.deadline = absl::Now() + absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  ProbeResult r = Run(request);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ExpectFailure(r, ProbeCategory::kNetwork, "TIMEOUT", absl::StatusCode::kDeadlineExceeded, true,
                "ping");
}

TEST_F(DockerV2ProbeTest, SlowRealmPastTheDeadline) {
  ServeBearerRegistry();
  realm_->Route("/token", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  RegistryProbeRequest request = Request();
  request.deadline = absl::Now() + absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  ProbeResult r = Run(request);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ExpectFailure(r, ProbeCategory::kNetwork, "TIMEOUT", absl::StatusCode::kDeadlineExceeded, true,
                "token");
}

TEST_F(DockerV2ProbeTest, ConnectionRefused) {
  RegistryProbeRequest request = Request();
  request.base_url = absl::StrCat("http://127.0.0.1:", ClosedPort());
  ExpectFailure(Run(request), ProbeCategory::kNetwork, "NETWORK_UNREACHABLE",
                absl::StatusCode::kUnavailable, true, "ping");
}

TEST_F(DockerV2ProbeTest, TokenResponseOverTheCap) {
  ServeBearerRegistry();
  realm_->Route("/token", ScriptedResponse{200, {}, std::string(2 * 1024 * 1024, ' ')});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "BAD_RESPONSE", absl::StatusCode::kFailedPrecondition,
                false, "token");
  EXPECT_NE(r.steps.back().detail.find("larger than"), std::string::npos) << r.steps.back().detail;
}

TEST_F(DockerV2ProbeTest, RedirectLoopIsCapped) {
  registry_->Route("/v2/", ScriptedResponse{302, {{"Location", "/v2/"}}, ""});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "BAD_RESPONSE", absl::StatusCode::kFailedPrecondition,
                false, "ping");
  EXPECT_EQ(registry_->requests().size(), 4u);
}

TEST_F(DockerV2ProbeTest, PlainHttpRealmOnAnotherHostGetsNoCredentials) {
  // Issue 17: the registry is plain http (allowed loopback); its realm names another host
  // (localhost, not 127.0.0.1) over plain http. The credentials stay home.
  realm_->Route("/token",
                ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", kToken, R"("})")});
  registry_->Route(
      "/v2/", ScriptedResponse{401,
                               {{"WWW-Authenticate",
                                 absl::StrCat(R"(Bearer realm="http://LocalHost:)", realm_->port(),
                                              R"(/token",service="test-registry")")}},
                               ""});
  ExpectFailure(Run(Request()), ProbeCategory::kRegistry, "INSECURE_REALM",
                absl::StatusCode::kFailedPrecondition, false, "ping");
  EXPECT_TRUE(realm_->requests().empty());
  EXPECT_EQ(realm_->connections(), 0);
}

TEST_F(DockerV2ProbeTest, BasicChallenge) {
  registry_->Route("/v2/", [](const ScriptedRequest& r) {
    if (r.Header("authorization") == kBasic) return ScriptedResponse{200, {}, "{}"};
    return ScriptedResponse{401, {{"WWW-Authenticate", R"(Basic realm="Registry Realm")"}}, ""};
  });
  ProbeResult good = Run(Request());
  ASSERT_TRUE(good.ok) << good.status;
  EXPECT_TRUE(good.credentials_verified);
  ASSERT_EQ(good.steps.size(), 2u);
  EXPECT_EQ(good.steps[1].name, "authenticate");

  ExpectFailure(Run(Request("wrong-password")), ProbeCategory::kAuthentication,
                "CREDENTIALS_REJECTED", absl::StatusCode::kUnauthenticated, false, "authenticate");

  RegistryProbeRequest anonymous = Request("");
  anonymous.username = "";
  ExpectFailure(Run(anonymous), ProbeCategory::kAuthentication, "CREDENTIALS_REQUIRED",
                absl::StatusCode::kUnauthenticated, false, "authenticate");
}

TEST_F(DockerV2ProbeTest, BadBaseUrls) {
  for (const char* url : {"", "registry.example.com", "ftp://registry.example.com",
                          "https://alice:s3cr3t-pa55w0rd@registry.example.com", "https://"}) {
    SCOPED_TRACE(url);
    RegistryProbeRequest request = Request();
    request.base_url = url;
    ExpectFailure(Run(request), ProbeCategory::kRegistry, "BAD_URL",
                  absl::StatusCode::kInvalidArgument, false, "ping");
  }
}

class DockerV2ProbeTlsTest : public DockerV2ProbeTest {
 protected:
  void SetUp() override {
    DockerV2ProbeTest::SetUp();
    auto pki = registryauth::testing::TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    auto cert = pki->IssueServer();
    ASSERT_TRUE(cert.ok()) << cert.status();
    tls_registry_ = NewServer(TlsIdentity{cert->cert_pem, cert->key_pem});
    tls_realm_ = NewServer(TlsIdentity{cert->cert_pem, cert->key_pem});
    const char* tmp = std::getenv("TEST_TMPDIR");
    ca_path_ = absl::StrCat(tmp != nullptr ? tmp : ".", "/probe_test_ca.pem");
    std::ofstream(ca_path_) << pki->ca().cert_pem;
  }

  void ServeTlsBearer(const std::string& realm_url) {
    tls_registry_->Route("/v2/", [realm_url](const ScriptedRequest& r) {
      if (r.Header("authorization") == absl::StrCat("Bearer ", kToken)) {
        return ScriptedResponse{200, {}, "{}"};
      }
      return ScriptedResponse{
          401, {{"WWW-Authenticate", absl::StrCat(R"(Bearer realm=")", realm_url, R"(")")}}, ""};
    });
    tls_realm_->Route("/token", [](const ScriptedRequest& r) {
      if (r.Header("authorization") == kBasic) {
        return ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", kToken, R"("})")};
      }
      return ScriptedResponse{401, {}, "{}"};
    });
  }

  std::unique_ptr<ScriptedHttpServer> tls_registry_;
  std::unique_ptr<ScriptedHttpServer> tls_realm_;
  std::string ca_path_;
};

TEST_F(DockerV2ProbeTlsTest, VerifiedWithTheCaBundle) {
  ServeTlsBearer(tls_realm_->Url("/token"));
  CurlHttpClient::Options options;
  options.ca_bundle_path = ca_path_;
  http_ = MakeClient(options);
  RegistryProbeRequest request = Request();
  request.base_url = tls_registry_->BaseUrl();
  ProbeResult r = Run(request);
  EXPECT_TRUE(r.ok) << r.status;
  EXPECT_TRUE(r.credentials_verified);
}

TEST_F(DockerV2ProbeTlsTest, UntrustedCertificateIsATlsFailure) {
  ServeTlsBearer(tls_realm_->Url("/token"));
  RegistryProbeRequest request = Request();
  request.base_url = tls_registry_->BaseUrl();
  ProbeResult r = Run(request);  // system trust store only
  ExpectFailure(r, ProbeCategory::kRegistry, "TLS_FAILURE", absl::StatusCode::kFailedPrecondition,
                false, "ping");
  EXPECT_NE(r.steps.back().detail.find("CA bundle"), std::string::npos) << r.steps.back().detail;
  EXPECT_TRUE(tls_registry_->requests().empty());
}

TEST_F(DockerV2ProbeTlsTest, PlainHttpRealmGetsNoCredentials) {
  realm_->Route("/token",
                ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", kToken, R"("})")});
  ServeTlsBearer(realm_->Url("/token"));  // http:// realm for an https:// registry
  CurlHttpClient::Options options;
  options.ca_bundle_path = ca_path_;
  http_ = MakeClient(options);
  RegistryProbeRequest request = Request();
  request.base_url = tls_registry_->BaseUrl();
  ExpectFailure(Run(request), ProbeCategory::kRegistry, "INSECURE_REALM",
                absl::StatusCode::kFailedPrecondition, false, "ping");
  EXPECT_TRUE(realm_->requests().empty());
}

}  // namespace
}  // namespace registryauth::upstream
