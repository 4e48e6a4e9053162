#include "upstream/github_client.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "gtest/gtest.h"
#include "upstream/curl_http_client.h"
#include "upstream/docker_v2_probe.h"
#include "upstream/github.h"
#include "upstream/retry.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth::upstream {
namespace {

using ::registryauth::upstream::testing::LoopbackNetworks;
using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedRequest;
using ::registryauth::upstream::testing::ScriptedResponse;

constexpr char kPat[] = "ghp_R3gistryAuthTestToken0123456789abcd";
constexpr char kLogin[] = "octocat";
constexpr char kOwner[] = "Acme";
constexpr char kRegistryToken[] = "ghcr-registry-token-5e1f";
constexpr char kExpectedScope[] = "repository:acme/registry-auth-probe:pull";
// 2027-01-11 08:00:00 UTC
const absl::Time kStart = absl::FromUnixSeconds(1799654400);

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// The GitHub API (/user) and GHCR (/v2/ + /token) on two local servers; the clients measure
// deadlines on a FakeClock that a FakeSleeper advances.
class GitHubGhcrProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto github = ScriptedHttpServer::Start();
    auto ghcr = ScriptedHttpServer::Start();
    ASSERT_TRUE(github.ok() && ghcr.ok());
    github_ = *std::move(github);
    ghcr_ = *std::move(ghcr);
    CurlHttpClient::Options options;
    options.clock = &clock_;
    options.allowed_networks = LoopbackNetworks();
    auto http = CurlHttpClient::Create(options);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    registry_ = std::make_unique<DockerV2Probe>(*http_, clock_);
    ServeGhcr();
  }

  GitHubEndpoints Endpoints() const { return {github_->BaseUrl(), ghcr_->BaseUrl()}; }

  // /user: kPat -> 200 with `scopes` (unset: no X-OAuth-Scopes) and `extra` headers.
  void ServeUser(std::optional<std::string> scopes,
                 std::vector<std::pair<std::string, std::string>> extra = {},
                 std::string body = absl::StrCat(R"({"login":")", kLogin, R"(","id":1})")) {
    github_->Route("/user", [=](const ScriptedRequest& r) {
      if (r.Header("authorization") != absl::StrCat("Bearer ", kPat)) {
        return ScriptedResponse{401, {}, R"({"message":"Bad credentials"})"};
      }
      ScriptedResponse ok{200, extra, body};
      if (scopes.has_value()) ok.headers.emplace_back("X-OAuth-Scopes", *scopes);
      return ok;
    });
  }

  // /user answers `script` in order, then repeats the last one.
  void ScriptUser(std::vector<ScriptedResponse> script) {
    auto shared = std::make_shared<std::deque<ScriptedResponse>>(script.begin(), script.end());
    github_->Route("/user", [shared](const ScriptedRequest&) {
      ScriptedResponse r = shared->front();
      if (shared->size() > 1) shared->pop_front();
      return r;
    });
  }

  static ScriptedResponse GoodUser() {
    return {200,
            {{"X-OAuth-Scopes", "repo, write:packages"}},
            absl::StrCat(R"({"login":")", kLogin, R"("})")};
  }

  void ServeGhcr(std::string basic_user = kLogin) {
    const std::string challenge =
        absl::StrCat(R"(Bearer realm=")", ghcr_->Url("/token"),
                     R"(",service="ghcr.io",scope="repository:user/image:pull")");
    ghcr_->Route("/v2/", [challenge](const ScriptedRequest& r) {
      if (r.Header("authorization") == absl::StrCat("Bearer ", kRegistryToken)) {
        return ScriptedResponse{200, {}, "{}"};
      }
      return ScriptedResponse{
          401, {{"WWW-Authenticate", challenge}}, R"({"errors":[{"code":"UNAUTHORIZED"}]})"};
    });
    const std::string basic =
        absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(basic_user, ":", kPat)));
    ghcr_->Route("/token", [basic](const ScriptedRequest& r) {
      if (r.Header("authorization") != basic) {
        return ScriptedResponse{401, {}, R"({"errors":[{"code":"DENIED"}]})"};
      }
      auto scope = r.query.find("scope");
      auto service = r.query.find("service");
      if (scope == r.query.end() || scope->second != kExpectedScope || service == r.query.end() ||
          service->second != "ghcr.io") {
        return ScriptedResponse{400, {}, R"({"errors":[{"code":"BAD_SCOPE"}]})"};
      }
      return ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", kRegistryToken, R"("})")};
    });
  }

  GhcrProbeRequest Request(bool needs_push = true, std::string pat = kPat) const {
    GhcrProbeRequest r;
    r.owner = kOwner;
    r.pat = SecretString(pat);
    r.needs_push = needs_push;
    r.deadline = kStart + absl::Seconds(20);
    return r;
  }

  ProbeResult Run(const GhcrProbeRequest& request) {
    GitHubGhcrProbe::Options options;
    options.retry.seed = 1;
    GitHubGhcrProbe probe(*http_, clock_, sleeper_, Endpoints(), *registry_, options);
    ProbeResult result = probe.Probe(request);
    ExpectNoSecrets(result, std::string(request.pat.view()));
    return result;
  }

  static void ExpectNoSecrets(const ProbeResult& result, const std::string& pat) {
    std::vector<std::string> texts = {std::string(result.status.message())};
    for (const ProbeStep& s : result.steps) texts.push_back(s.detail);
    for (const std::string& w : result.warnings) texts.push_back(w);
    for (const std::string& text : texts) {
      for (const std::string& secret : {std::string(kPat), pat, std::string(kRegistryToken)}) {
        if (secret.empty()) continue;
        EXPECT_EQ(text.find(secret), std::string::npos) << text;
      }
      // Not even the recognisable part of the token.
      EXPECT_EQ(text.find("R3gistryAuthTestToken"), std::string::npos) << text;
    }
  }

  static std::vector<std::string> StepNames(const ProbeResult& r) {
    std::vector<std::string> names;
    for (const ProbeStep& s : r.steps) names.push_back(s.name);
    return names;
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

  FakeClock clock_{kStart};
  FakeSleeper sleeper_{&clock_};
  std::unique_ptr<ScriptedHttpServer> github_;
  std::unique_ptr<ScriptedHttpServer> ghcr_;
  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<DockerV2Probe> registry_;
};

TEST_F(GitHubGhcrProbeTest, GoodTokenWithWritePackages) {
  ServeUser("repo, read:packages, write:packages");
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.credentials_verified);
  EXPECT_EQ(r.category, ProbeCategory::kNone);
  EXPECT_EQ(StepNames(r),
            (std::vector<std::string>{"github_token", "scopes", "ping", "token", "authenticate"}));
  for (const ProbeStep& s : r.steps) EXPECT_TRUE(s.ok) << s.name << ": " << s.detail;
  EXPECT_NE(r.steps[0].detail.find("'octocat'"), std::string::npos) << r.steps[0].detail;
  EXPECT_NE(r.steps[0].detail.find("no expiration"), std::string::npos) << r.steps[0].detail;
  EXPECT_NE(r.steps[1].detail.find("write:packages"), std::string::npos) << r.steps[1].detail;
  EXPECT_FALSE(r.credential_expires_at.has_value());
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(sleeper_.sleeps().empty());

  // The GitHub API call.
  const std::vector<ScriptedRequest> api = github_->requests();
  ASSERT_EQ(api.size(), 1u);
  EXPECT_EQ(api[0].method, "GET");
  EXPECT_EQ(api[0].path, "/user");
  EXPECT_EQ(api[0].Header("accept"), "application/vnd.github+json");
  EXPECT_EQ(api[0].Header("x-github-api-version"), "2022-11-28");
  EXPECT_EQ(api[0].Header("user-agent"), "registry-auth/1");
  // GHCR saw the PAT only at its token service, as Basic for the login.
  for (const ScriptedRequest& req : ghcr_->requests()) {
    if (req.path == "/v2/") {
      EXPECT_EQ(req.Header("authorization").value_or("").find("Basic"), std::string::npos);
    }
  }
}

TEST_F(GitHubGhcrProbeTest, ReadPackagesIsNotEnoughToPush) {
  ServeUser("repo, read:packages");
  ProbeResult r = Run(Request(/*needs_push=*/true));
  ExpectFailure(r, ProbeCategory::kPermission, "MISSING_SCOPE", absl::StatusCode::kPermissionDenied,
                false, "scopes");
  const std::string& detail = r.steps.back().detail;
  EXPECT_NE(detail.find("lacks the write:packages scope"), std::string::npos) << detail;
  EXPECT_NE(detail.find("it has: repo, read:packages"), std::string::npos) << detail;
  EXPECT_TRUE(ghcr_->requests().empty());
}

TEST_F(GitHubGhcrProbeTest, ReadPackagesIsEnoughToPull) {
  ServeUser("read:packages");
  ProbeResult r = Run(Request(/*needs_push=*/false));
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_NE(r.steps[1].detail.find("read:packages (pull)"), std::string::npos);
}

TEST_F(GitHubGhcrProbeTest, WritePackagesImpliesRead) {
  ServeUser("write:packages");
  EXPECT_TRUE(Run(Request(/*needs_push=*/false)).ok);
}

TEST_F(GitHubGhcrProbeTest, PullWithoutAnyPackagesScope) {
  ServeUser("repo, gist");
  ProbeResult r = Run(Request(/*needs_push=*/false));
  ExpectFailure(r, ProbeCategory::kPermission, "MISSING_SCOPE", absl::StatusCode::kPermissionDenied,
                false, "scopes");
  EXPECT_NE(r.status.message().find("lacks the read:packages scope"), absl::string_view::npos);
  EXPECT_NE(r.status.message().find("it has: repo, gist"), absl::string_view::npos);
}

TEST_F(GitHubGhcrProbeTest, TokenWithoutScopes) {
  ServeUser("");
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kPermission, "MISSING_SCOPE", absl::StatusCode::kPermissionDenied,
                false, "scopes");
  EXPECT_NE(r.status.message().find("it has no scopes"), absl::string_view::npos);
}

TEST_F(GitHubGhcrProbeTest, NoScopesHeaderIsNotAClassicToken) {
  ServeUser(std::nullopt);
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kAuthentication, "NOT_A_CLASSIC_TOKEN",
                absl::StatusCode::kInvalidArgument, false, "scopes");
  EXPECT_NE(r.status.message().find("not a classic personal access token"),
            absl::string_view::npos);
}

TEST_F(GitHubGhcrProbeTest, FineGrainedTokenFailsWithoutARequest) {
  ServeUser("write:packages");
  ProbeResult r = Run(Request(true, "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"));
  ExpectFailure(r, ProbeCategory::kAuthentication, "FINE_GRAINED_TOKEN",
                absl::StatusCode::kInvalidArgument, false, "github_token");
  EXPECT_NE(r.status.message().find("GHCR accepts only classic personal access tokens "
                                    "(ghp_...); fine-grained tokens cannot be used"),
            absl::string_view::npos)
      << r.status;
  EXPECT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].duration, absl::ZeroDuration());
  EXPECT_TRUE(github_->requests().empty());
  EXPECT_TRUE(ghcr_->requests().empty());
}

TEST_F(GitHubGhcrProbeTest, RejectedToken) {
  ServeUser("write:packages");
  ProbeResult r = Run(Request(true, "ghp_revokedRevokedRevokedRevoked0000"));
  ExpectFailure(r, ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED",
                absl::StatusCode::kUnauthenticated, false, "github_token");
  EXPECT_NE(r.status.message().find("token rejected"), absl::string_view::npos) << r.status;
  EXPECT_NE(r.status.message().find("expired, revoked"), absl::string_view::npos) << r.status;
  EXPECT_NE(r.status.message().find("Bad credentials"), absl::string_view::npos) << r.status;
  EXPECT_EQ(github_->requests().size(), 1u);  // 401 is not retried
  EXPECT_TRUE(ghcr_->requests().empty());
}

TEST_F(GitHubGhcrProbeTest, ExpiringWithinTwoWeeksWarns) {
  const absl::Time expires = kStart + absl::Hours(24 * 9 + 5);
  ServeUser("write:packages", {{"github-authentication-token-expiration", Utc(expires)}});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_EQ(r.credential_expires_at, expires);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("in 9 days"), std::string::npos) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find("2027-01-20 13:00 UTC"), std::string::npos) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find("create a new one"), std::string::npos) << r.warnings[0];
}

TEST_F(GitHubGhcrProbeTest, ExpiringWithinADayWarns) {
  const absl::Time expires = kStart + absl::Hours(3);
  ServeUser("write:packages", {{"github-authentication-token-expiration", Utc(expires)}});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("in less than a day"), std::string::npos) << r.warnings[0];
}

TEST_F(GitHubGhcrProbeTest, ExpiringLaterDoesNotWarn) {
  const absl::Time expires = kStart + absl::Hours(24 * 60);
  ServeUser("write:packages",
            {{"github-authentication-token-expiration",
              absl::FormatTime("%Y-%m-%d %H:%M:%S %z", expires, absl::FixedTimeZone(-7 * 3600))}});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_EQ(r.credential_expires_at, expires);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_NE(r.steps[0].detail.find("expires on"), std::string::npos);
}

TEST_F(GitHubGhcrProbeTest, ExpiredTokenIsInvalid) {
  const absl::Time expired = kStart - absl::Hours(1);
  ServeUser("write:packages", {{"github-authentication-token-expiration", Utc(expired)}});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kAuthentication, "CREDENTIALS_EXPIRED",
                absl::StatusCode::kUnauthenticated, false, "github_token");
  EXPECT_EQ(r.credential_expires_at, expired);
  EXPECT_TRUE(ghcr_->requests().empty());
}

TEST_F(GitHubGhcrProbeTest, UnreadableExpirationWarns) {
  ServeUser("write:packages", {{"github-authentication-token-expiration", "soon"}});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_FALSE(r.credential_expires_at.has_value());
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST_F(GitHubGhcrProbeTest, PrimaryRateLimitWaitsForTheReset) {
  const int64_t reset = absl::ToUnixSeconds(kStart) + 17;
  ScriptUser({{403,
               {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", absl::StrCat(reset)}},
               R"({"message":"API rate limit exceeded for user ID 1."})"},
              GoodUser()});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(17)});
  EXPECT_EQ(github_->requests().size(), 2u);
}

TEST_F(GitHubGhcrProbeTest, TooManyRequestsHonoursRetryAfter) {
  ScriptUser({{429, {{"Retry-After", "4"}}, "{}"}, GoodUser()});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(4)});
}

TEST_F(GitHubGhcrProbeTest, ServerErrorThenSuccess) {
  ScriptUser({{500, {}, "{}"}, GoodUser()});
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_LE(sleeper_.sleeps()[0], absl::Seconds(1));
  EXPECT_EQ(github_->requests().size(), 2u);
}

TEST_F(GitHubGhcrProbeTest, RateLimitLongerThanTheDeadline) {
  ScriptUser({{429, {{"Retry-After", "60"}}, "{}"}});
  ProbeResult r = Run(Request());  // 20 s deadline
  ExpectFailure(r, ProbeCategory::kRegistry, "RATE_LIMITED", absl::StatusCode::kResourceExhausted,
                true, "github_token");
  EXPECT_EQ(r.retry_after, absl::Seconds(60));
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(GitHubGhcrProbeTest, ServerErrorsEveryTime) {
  ScriptUser({{502, {}, "bad gateway"}});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "UPSTREAM_UNAVAILABLE", absl::StatusCode::kUnavailable,
                true, "github_token");
}

TEST_F(GitHubGhcrProbeTest, SlowApiPastTheDeadline) {
  // Real time: the client's deadline ends the request; the sleeper is still fake.
  RealClock real;
  CurlHttpClient::Options options;
  options.allowed_networks = LoopbackNetworks();
  auto http = CurlHttpClient::Create(options);
  ASSERT_TRUE(http.ok());
  DockerV2Probe registry(**http, real);
  github_->Route("/user", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  GitHubGhcrProbe probe(**http, real, sleeper_, Endpoints(), registry);
  GhcrProbeRequest request = Request();
  request.deadline = absl::Now() + absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  ProbeResult r = probe.Probe(request);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ExpectNoSecrets(r, kPat);
  ExpectFailure(r, ProbeCategory::kNetwork, "TIMEOUT", absl::StatusCode::kDeadlineExceeded, true,
                "github_token");
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(GitHubGhcrProbeTest, MalformedChallengeFromTheRegistry) {
  ServeUser("write:packages");
  ghcr_->Route("/v2/", ScriptedResponse{401, {{"WWW-Authenticate", "Bearer realm="}}, "{}"});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "MALFORMED_CHALLENGE",
                absl::StatusCode::kFailedPrecondition, false, "ping");
  EXPECT_EQ(StepNames(r), (std::vector<std::string>{"github_token", "scopes", "ping"}));
}

TEST_F(GitHubGhcrProbeTest, RegistryRejectsTheCredentials) {
  ServeUser("write:packages");
  ServeGhcr("someone-else");  // the realm expects another user name
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED",
                absl::StatusCode::kUnauthenticated, false, "token");
}

TEST_F(GitHubGhcrProbeTest, OwnerIsTheUserNameWhenTheLoginIsUnknown) {
  ServeUser("write:packages", {}, R"({"id":1})");
  ServeGhcr(kOwner);
  ProbeResult r = Run(Request());
  ASSERT_TRUE(r.ok) << r.status;
}

TEST_F(GitHubGhcrProbeTest, SsoRefusalQuotesGitHubButNeverTheToken) {
  github_->Route("/user",
                 ScriptedResponse{403,
                                  {},
                                  absl::StrCat(R"({"message":"Resource protected by organization )"
                                               R"(SAML enforcement"})")});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kPermission, "ACCESS_DENIED", absl::StatusCode::kPermissionDenied,
                false, "github_token");
  EXPECT_NE(r.status.message().find("SAML enforcement"), absl::string_view::npos);

  // A message echoing the token is dropped.
  github_->Route("/user",
                 ScriptedResponse{403, {}, absl::StrCat(R"({"message":"token )", kPat, R"("})")});
  r = Run(Request());
  EXPECT_EQ(r.reason, "ACCESS_DENIED");
}

TEST_F(GitHubGhcrProbeTest, NotTheGitHubApi) {
  github_->Route("/user", ScriptedResponse{404, {}, "<html>nope</html>"});
  ProbeResult r = Run(Request());
  ExpectFailure(r, ProbeCategory::kRegistry, "BAD_RESPONSE", absl::StatusCode::kFailedPrecondition,
                false, "github_token");
}

TEST_F(GitHubGhcrProbeTest, LocalChecksSendNothing) {
  ServeUser("write:packages");
  ProbeResult r = Run(Request(true, "ghp_abc\r\nX-Injected: 1"));
  ExpectFailure(r, ProbeCategory::kAuthentication, "MALFORMED_TOKEN",
                absl::StatusCode::kInvalidArgument, false, "github_token");
  r = Run(Request(true, ""));
  ExpectFailure(r, ProbeCategory::kAuthentication, "CREDENTIALS_REQUIRED",
                absl::StatusCode::kInvalidArgument, false, "github_token");
  GhcrProbeRequest bad_owner = Request();
  bad_owner.owner = "acme/../x";
  r = Run(bad_owner);
  ExpectFailure(r, ProbeCategory::kRegistry, "INVALID_OWNER", absl::StatusCode::kInvalidArgument,
                false, "github_token");
  EXPECT_TRUE(github_->requests().empty());
  EXPECT_TRUE(ghcr_->requests().empty());
}

TEST_F(GitHubGhcrProbeTest, ApiBaseUrlWithTrailingSlash) {
  ServeUser("write:packages");
  GitHubGhcrProbe probe(*http_, clock_, sleeper_, {github_->BaseUrl() + "/", ghcr_->BaseUrl()},
                        *registry_);
  EXPECT_TRUE(probe.Probe(Request()).ok);
}

}  // namespace
}  // namespace registryauth::upstream
