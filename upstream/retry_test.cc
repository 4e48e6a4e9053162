#include "upstream/retry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "upstream/curl_http_client.h"
#include "upstream/github.h"
#include "upstream/http_client.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth::upstream {
namespace {

using ::registryauth::upstream::testing::LoopbackNetworks;
using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedRequest;
using ::registryauth::upstream::testing::ScriptedResponse;

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

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

void ExpectFailure(const absl::Status& status, absl::StatusCode code, ProbeCategory category,
                   const std::string& reason, bool retryable) {
  EXPECT_EQ(status.code(), code) << status;
  const std::optional<UpstreamFailure> f = GetUpstreamFailure(status);
  ASSERT_TRUE(f.has_value()) << status;
  EXPECT_EQ(f->category, category) << ProbeCategoryName(f->category) << " " << status;
  EXPECT_EQ(f->reason, reason) << status;
  EXPECT_EQ(f->retryable, retryable) << status;
}

// A GitHub-like API on a local server, a curl client measuring deadlines on a FakeClock, and a
// FakeSleeper advancing that clock.
class ApiRetrierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ScriptedHttpServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    CurlHttpClient::Options options;
    options.clock = &clock_;
    options.allowed_networks = LoopbackNetworks();
    auto http = CurlHttpClient::Create(options);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
  }

  // Answers /api with `script` in order, then repeats the last answer.
  void Script(std::vector<ScriptedResponse> script) {
    auto shared = std::make_shared<std::deque<ScriptedResponse>>(script.begin(), script.end());
    server_->Route("/api", [shared](const ScriptedRequest&) {
      ScriptedResponse r = shared->front();
      if (shared->size() > 1) shared->pop_front();
      return r;
    });
  }

  absl::StatusOr<HttpResponse> Call(const ApiRetrier& retrier,
                                    absl::Time deadline = absl::InfiniteFuture(),
                                    std::string url = "") {
    if (url.empty()) url = server_->Url("/api");
    return retrier.Send(
        [&] {
          HttpRequest r;
          r.url = url;
          r.deadline = deadline;
          return http_->Send(r);
        },
        deadline, "the test API");
  }

  RetryOptions Seeded() {
    RetryOptions o;
    o.seed = 42;
    return o;
  }

  std::size_t Requests() const { return server_->requests().size(); }

  FakeClock clock_{kStart};
  FakeSleeper sleeper_{&clock_};
  std::unique_ptr<ScriptedHttpServer> server_;
  std::unique_ptr<CurlHttpClient> http_;
};

TEST_F(ApiRetrierTest, SuccessNeedsOneRequestAndNoSleep) {
  Script({{200, {}, R"({"login":"octocat"})"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Requests(), 1u);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ApiRetrierTest, ServerErrorThenSuccess) {
  Script({{500, {}, "{}"}, {200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Requests(), 2u);
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_GE(sleeper_.sleeps()[0], absl::ZeroDuration());
  EXPECT_LE(sleeper_.sleeps()[0], absl::Seconds(1));
  EXPECT_EQ(clock_.Now(), kStart + sleeper_.sleeps()[0]);
}

TEST_F(ApiRetrierTest, ServerErrorsExhaustTheAttempts) {
  Script({{503, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ExpectFailure(r.status(), absl::StatusCode::kUnavailable, ProbeCategory::kRegistry,
                "UPSTREAM_UNAVAILABLE", true);
  EXPECT_EQ(Requests(), 4u);
  const std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  // Full jitter under a doubling cap: [0,1s], [0,2s], [0,4s].
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(sleeps[i], absl::ZeroDuration());
    EXPECT_LE(sleeps[i], absl::Seconds(1 << i));
  }
  EXPECT_NE(r.status().message().find("answered 503"), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find("4 attempts"), absl::string_view::npos) << r.status();
}

TEST_F(ApiRetrierTest, TooManyRequestsHonoursRetryAfter) {
  Script({{429, {{"Retry-After", "7"}}, "{}"}, {200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(7)});
}

TEST_F(ApiRetrierTest, PrimaryRateLimitWaitsUntilTheReset) {
  const int64_t reset = absl::ToUnixSeconds(kStart) + 42;
  Script({{403,
           {{"x-ratelimit-limit", "5000"},
            {"x-ratelimit-remaining", "0"},
            {"x-ratelimit-reset", absl::StrCat(reset)}},
           R"({"message":"API rate limit exceeded"})"},
          {200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(42)});
  EXPECT_EQ(Requests(), 2u);
}

TEST_F(ApiRetrierTest, SecondaryRateLimit403WithRetryAfter) {
  Script({{403, {{"Retry-After", "3"}, {"x-ratelimit-remaining", "4000"}}, "{}"}, {200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(3)});
}

TEST_F(ApiRetrierTest, TooManyRequestsWithoutHeadersBacksOff) {
  Script({{429, {}, "{}"}, {200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  ASSERT_TRUE(Call(retrier).ok());
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_LE(sleeper_.sleeps()[0], absl::Seconds(1));
}

TEST_F(ApiRetrierTest, PermanentAnswersAreReturnedAtOnce) {
  for (int status : {400, 401, 403, 404, 409, 422}) {
    SCOPED_TRACE(status);
    const std::size_t before = Requests();
    Script({{status, {{"x-ratelimit-remaining", "4999"}}, R"({"message":"no"})"}});
    ApiRetrier retrier(clock_, sleeper_, Seeded());
    absl::StatusOr<HttpResponse> r = Call(retrier);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(Requests(), before + 1);
  }
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ApiRetrierTest, WaitPastTheDeadlineStopsWithRetryAfter) {
  Script({{429, {{"Retry-After", "30"}}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier, kStart + absl::Seconds(10));
  ExpectFailure(r.status(), absl::StatusCode::kResourceExhausted, ProbeCategory::kRegistry,
                "RATE_LIMITED", true);
  EXPECT_EQ(GetUpstreamFailure(r.status())->retry_after, absl::Seconds(30));
  EXPECT_NE(r.status().message().find("deadline"), absl::string_view::npos) << r.status();
  EXPECT_EQ(Requests(), 1u);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ApiRetrierTest, ResetFarAwayIsNotSleptThrough) {
  const int64_t reset = absl::ToUnixSeconds(kStart) + 3600;
  Script(
      {{403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", absl::StrCat(reset)}}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ExpectFailure(r.status(), absl::StatusCode::kResourceExhausted, ProbeCategory::kRegistry,
                "RATE_LIMITED", true);
  EXPECT_EQ(GetUpstreamFailure(r.status())->retry_after, absl::Hours(1));
  EXPECT_TRUE(sleeper_.sleeps().empty());
  EXPECT_EQ(Requests(), 1u);
}

TEST_F(ApiRetrierTest, RateLimitedEveryTime) {
  Script({{429, {{"Retry-After", "2"}}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier);
  ExpectFailure(r.status(), absl::StatusCode::kResourceExhausted, ProbeCategory::kRegistry,
                "RATE_LIMITED", true);
  EXPECT_EQ(GetUpstreamFailure(r.status())->retry_after, absl::Seconds(2));
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>(3, absl::Seconds(2)));
  EXPECT_EQ(Requests(), 4u);
}

TEST_F(ApiRetrierTest, ConnectionRefusedIsRetriedThenNetworkFailure) {
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier, absl::InfiniteFuture(),
                                        absl::StrCat("http://127.0.0.1:", ClosedPort(), "/api"));
  ExpectFailure(r.status(), absl::StatusCode::kUnavailable, ProbeCategory::kNetwork,
                "NETWORK_UNREACHABLE", true);
  EXPECT_EQ(sleeper_.sleeps().size(), 3u);
}

TEST_F(ApiRetrierTest, DeadlineAlreadyPassedSendsNothing) {
  Script({{200, {}, "{}"}});
  ApiRetrier retrier(clock_, sleeper_, Seeded());
  absl::StatusOr<HttpResponse> r = Call(retrier, kStart);
  ExpectFailure(r.status(), absl::StatusCode::kDeadlineExceeded, ProbeCategory::kNetwork, "TIMEOUT",
                true);
  EXPECT_EQ(Requests(), 0u);
}

TEST_F(ApiRetrierTest, SlowAnswerPastTheDeadlineIsATimeout) {
  // Real time here: the client's timeout is what ends the request.
  RealClock real;
  FakeSleeper sleeper;
  CurlHttpClient::Options options;
  options.allowed_networks = LoopbackNetworks();
  auto http = CurlHttpClient::Create(options);
  ASSERT_TRUE(http.ok());
  server_->Route("/api", ScriptedResponse{200, {}, "{}", absl::Seconds(30)});
  ApiRetrier retrier(real, sleeper, Seeded());
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::Milliseconds(300);
  absl::StatusOr<HttpResponse> r = retrier.Send(
      [&] {
        HttpRequest req;
        req.url = server_->Url("/api");
        req.deadline = deadline;
        return (*http)->Send(req);
      },
      deadline, "the test API");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ExpectFailure(r.status(), absl::StatusCode::kDeadlineExceeded, ProbeCategory::kNetwork, "TIMEOUT",
                true);
  EXPECT_TRUE(sleeper.sleeps().empty());
}

// Outcomes in order, for transport errors a server cannot produce on demand.
class ScriptedClient final : public HttpClient {
 public:
  explicit ScriptedClient(std::vector<absl::StatusOr<HttpResponse>> outcomes)
      : outcomes_(std::move(outcomes)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest&) override {
    const std::size_t i = std::min(calls_, outcomes_.size() - 1);
    ++calls_;
    return outcomes_[i];
  }
  std::size_t calls() const { return calls_; }

 private:
  std::vector<absl::StatusOr<HttpResponse>> outcomes_;
  std::size_t calls_ = 0;
};

absl::StatusOr<HttpResponse> Answer(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

TEST(ApiRetrier, TimeoutThenSuccess) {
  FakeClock clock(kStart);
  FakeSleeper sleeper(&clock);
  ScriptedClient http({MakeHttpError(absl::StatusCode::kDeadlineExceeded, HttpErrorKind::kTimeout,
                                     "GET http://x: timed out"),
                       Answer(200)});
  ApiRetrier retrier(clock, sleeper);
  absl::StatusOr<HttpResponse> r =
      retrier.Send([&] { return http.Send({}); }, absl::InfiniteFuture(), "x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(http.calls(), 2u);
}

TEST(ApiRetrier, TlsFailureIsNotRetried) {
  FakeClock clock(kStart);
  FakeSleeper sleeper(&clock);
  ScriptedClient http({MakeHttpError(absl::StatusCode::kFailedPrecondition, HttpErrorKind::kTls,
                                     "tls: certificate verify failed")});
  ApiRetrier retrier(clock, sleeper);
  absl::StatusOr<HttpResponse> r =
      retrier.Send([&] { return http.Send({}); }, absl::InfiniteFuture(), "the GitHub API");
  ExpectFailure(r.status(), absl::StatusCode::kFailedPrecondition, ProbeCategory::kRegistry,
                "TLS_FAILURE", false);
  EXPECT_EQ(http.calls(), 1u);
  EXPECT_TRUE(sleeper.sleeps().empty());
}

TEST(ApiRetrier, OtherTransportErrorsAreNotRetried) {
  for (HttpErrorKind kind : {HttpErrorKind::kTooLarge, HttpErrorKind::kRedirect,
                             HttpErrorKind::kBadRequest, HttpErrorKind::kProtocol}) {
    FakeClock clock(kStart);
    FakeSleeper sleeper(&clock);
    ScriptedClient http({MakeHttpError(absl::StatusCode::kFailedPrecondition, kind, "bad")});
    ApiRetrier retrier(clock, sleeper);
    absl::StatusOr<HttpResponse> r =
        retrier.Send([&] { return http.Send({}); }, absl::InfiniteFuture(), "x");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(GetUpstreamFailure(r.status()).has_value());
    EXPECT_FALSE(GetUpstreamFailure(r.status())->retryable);
    EXPECT_EQ(http.calls(), 1u);
  }
}

TEST(ApiRetrier, BackoffIsFullJitterCappedAndSeedable) {
  auto run = [](uint64_t seed) {
    FakeClock clock(kStart);
    FakeSleeper sleeper(&clock);
    ScriptedClient http({Answer(502)});
    RetryOptions options;
    options.max_attempts = 12;
    options.initial_backoff = absl::Seconds(1);
    options.max_backoff = absl::Seconds(30);
    options.seed = seed;
    ApiRetrier retrier(clock, sleeper, options);
    EXPECT_FALSE(retrier.Send([&] { return http.Send({}); }, absl::InfiniteFuture(), "x").ok());
    EXPECT_EQ(http.calls(), 12u);
    return sleeper.sleeps();
  };
  const std::vector<absl::Duration> a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  ASSERT_EQ(a.size(), 11u);
  bool any_large = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const absl::Duration cap = std::min(absl::Seconds(30), absl::Seconds(1) * (1 << i));
    EXPECT_GE(a[i], absl::ZeroDuration());
    EXPECT_LE(a[i], cap) << i;
    if (a[i] > absl::Seconds(2)) any_large = true;
  }
  EXPECT_TRUE(any_large);
}

TEST(ApiRetrier, OneAttemptMeansNoRetry) {
  FakeClock clock(kStart);
  FakeSleeper sleeper(&clock);
  ScriptedClient http({Answer(500), Answer(200)});
  RetryOptions options;
  options.max_attempts = 1;
  ApiRetrier retrier(clock, sleeper, options);
  EXPECT_FALSE(retrier.Send([&] { return http.Send({}); }, absl::InfiniteFuture(), "x").ok());
  EXPECT_EQ(http.calls(), 1u);
}

TEST(UpstreamFailure, RoundTripsThroughTheStatusPayload) {
  const UpstreamFailure in{ProbeCategory::kPermission, "MISSING_SCOPE", true,
                           absl::Milliseconds(1500)};
  const absl::Status s = WithUpstreamFailure(absl::PermissionDeniedError("no"), in);
  const std::optional<UpstreamFailure> out = GetUpstreamFailure(s);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->category, in.category);
  EXPECT_EQ(out->reason, in.reason);
  EXPECT_EQ(out->retryable, in.retryable);
  EXPECT_EQ(out->retry_after, in.retry_after);
  EXPECT_FALSE(GetUpstreamFailure(absl::PermissionDeniedError("no")).has_value());
  EXPECT_TRUE(WithUpstreamFailure(absl::OkStatus(), in).ok());
}

}  // namespace
}  // namespace registryauth::upstream
