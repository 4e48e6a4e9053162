#include "upstream/github_app.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "upstream/curl_http_client.h"
#include "upstream/github.h"
#include "upstream/retry.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth::upstream {
namespace {

using ::registryauth::upstream::testing::LoopbackNetworks;
using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedRequest;
using ::registryauth::upstream::testing::ScriptedResponse;

constexpr char kAppId[] = "424242";
const absl::Time kStart = absl::FromUnixSeconds(1800000000);

// --- Independent JOSE checks with OpenSSL, not the code under test. ---

std::optional<std::string> Base64UrlDecode(absl::string_view in) {
  std::string b64(in);
  for (char& c : b64) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return std::nullopt;
  }
  std::size_t pad = 0;
  while (b64.size() % 4 != 0) {
    b64 += '=';
    ++pad;
  }
  std::string out(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

bool VerifyRs256(EVP_PKEY* pkey, absl::string_view input, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string PemOf(EVP_PKEY* pkey, bool traditional) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (traditional) {
    PEM_write_bio_PrivateKey_traditional(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

struct SeenJwt {
  std::string token;
  nlohmann::json header;
  nlohmann::json claims;
};

// A GitHub App's private key: generated once for the suite (RSA-2048, as GitHub issues).
struct AppKey {
  EVP_PKEY* pkey = nullptr;
  std::string pkcs8_pem;
  std::string pkcs1_pem;
};

AppKey* NewKey() {
  auto* key = new AppKey;
  key->pkey = EVP_RSA_gen(2048);
  key->pkcs8_pem = PemOf(key->pkey, false);
  key->pkcs1_pem = PemOf(key->pkey, true);
  return key;
}

// Plays GitHub's POST /app/installations/{id}/access_tokens: checks the app JWT (signature
// with the App's public key, alg/typ, iat/exp bounds against the FakeClock, iss) and issues
// "ghs_<installation>_<n>" valid for one hour, unless a scripted answer comes first.
class GitHubAppTokenSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = NewKey();
    other_key_ = NewKey();
  }

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
    for (int64_t id : {1, 2, 3}) RouteInstallation(id);
  }

  void TearDown() override {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(jwt_problems_.empty()) << jwt_problems_.front();
  }

  void RouteInstallation(int64_t id, absl::Duration delay = absl::ZeroDuration()) {
    server_->Route(absl::StrCat("/app/installations/", id, "/access_tokens"),
                   [this, id, delay](const ScriptedRequest& r) { return Handle(r, id, delay); });
  }

  ScriptedResponse Handle(const ScriptedRequest& r, int64_t installation, absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    const absl::Time server_now = clock_.Now() + absl::Seconds(server_clock_offset_);
    const std::string problem = CheckJwt(r, server_now);
    if (!problem.empty()) {
      // As GitHub: 401 for a JWT it cannot accept, with its own clock in Date.
      if (problem != kWrongKey) jwt_problems_.push_back(problem);
      return {401,
              {{"Date",
                absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", server_now, absl::UTCTimeZone())}},
              R"({"message":"A JSON web token could not be decoded"})"};
    }
    if (!script_.empty()) {
      ScriptedResponse scripted = script_.front();
      script_.pop_front();
      return scripted;
    }
    ++issued_;
    const absl::Time expires = server_now + absl::Hours(1);
    ScriptedResponse ok{
        201,
        {},
        nlohmann::json{
            {"token", absl::StrCat("ghs_", installation, "_", issued_)},
            {"expires_at", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expires, absl::UTCTimeZone())},
            {"permissions", {{"packages", "write"}}},
            {"repository_selection", "all"}}
            .dump()};
    ok.delay = delay;
    return ok;
  }

  static constexpr char kWrongKey[] = "signed by another key";

  // "" if the request carries a valid app JWT at `server_now`; every decodable JWT is recorded.
  std::string CheckJwt(const ScriptedRequest& r, absl::Time server_now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string auth = r.Header("authorization").value_or("");
    if (!absl::StartsWith(auth, "Bearer ")) return "no Bearer authorization";
    const std::string token = auth.substr(7);
    const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
    if (parts.size() != 3) return "not a compact JWS";
    const std::optional<std::string> header = Base64UrlDecode(parts[0]);
    const std::optional<std::string> payload = Base64UrlDecode(parts[1]);
    const std::optional<std::string> signature = Base64UrlDecode(parts[2]);
    if (!header || !payload || !signature) return "bad base64url";
    SeenJwt seen;
    seen.token = token;
    seen.header = nlohmann::json::parse(*header, nullptr, false);
    seen.claims = nlohmann::json::parse(*payload, nullptr, false);
    if (!seen.header.is_object() || !seen.claims.is_object()) return "not JSON objects";
    jwts_.push_back(seen);
    if (seen.header.value("alg", "") != "RS256") return "alg is not RS256";
    if (seen.header.value("typ", "") != "JWT") return "typ is not JWT";
    const std::string signing_input = absl::StrCat(parts[0], ".", parts[1]);
    if (!VerifyRs256(verify_with_->pkey, signing_input, *signature)) return kWrongKey;
    if (!seen.claims["iat"].is_number_integer() || !seen.claims["exp"].is_number_integer()) {
      return "iat/exp are not integers";
    }
    if (!seen.claims["iss"].is_string() || seen.claims["iss"] != expected_iss_) return "bad iss";
    const int64_t now = absl::ToUnixSeconds(server_now);
    const int64_t iat = seen.claims["iat"];
    const int64_t exp = seen.claims["exp"];
    if (iat > now) return "iat in the future";
    if (iat < now - 120) return "iat too old";
    if (exp <= now) return "expired";
    if (exp - now > 600) return "exp more than 10 minutes ahead";
    return "";
  }

  void Script(std::vector<ScriptedResponse> answers) {
    absl::MutexLock lock(&mu_);
    script_.assign(answers.begin(), answers.end());
  }

  std::vector<SeenJwt> Jwts() {
    absl::MutexLock lock(&mu_);
    return jwts_;
  }

  GitHubAppInstallation App(int64_t installation, const std::string* pem = nullptr) const {
    GitHubAppInstallation app;
    app.app_id = kAppId;
    app.installation_id = installation;
    app.private_key_pem = SecretString(pem != nullptr ? *pem : key_->pkcs1_pem);
    return app;
  }

  GitHubAppTokenSource::Options Options() const {
    GitHubAppTokenSource::Options o;
    o.retry.seed = 3;
    return o;
  }

  std::unique_ptr<GitHubAppTokenSource> Source(GitHubAppTokenSource::Options options) {
    return std::make_unique<GitHubAppTokenSource>(
        *http_, clock_, sleeper_, GitHubEndpoints{server_->BaseUrl(), "https://ghcr.invalid"},
        std::move(options));
  }
  std::unique_ptr<GitHubAppTokenSource> Source() { return Source(Options()); }

  absl::Time Deadline() const { return clock_.Now() + absl::Seconds(30); }

  std::size_t Requests() const { return server_->requests().size(); }

  // Secrets never appear in a status message.
  static void ExpectNoSecrets(const absl::Status& status) {
    const std::string m(status.message());
    for (const char* secret : {"ghs_", "PRIVATE KEY", "eyJ", "MII"}) {
      EXPECT_EQ(m.find(secret), std::string::npos) << m;
    }
    for (const AppKey* k : {key_, other_key_}) {
      // A line from the middle of each PEM.
      const std::vector<std::string> lines = absl::StrSplit(k->pkcs1_pem, '\n');
      EXPECT_EQ(m.find(lines[3]), std::string::npos) << m;
    }
  }

  static void ExpectFailure(const absl::Status& status, absl::StatusCode code,
                            ProbeCategory category, const std::string& reason, bool retryable) {
    EXPECT_EQ(status.code(), code) << status;
    const std::optional<UpstreamFailure> f = GetUpstreamFailure(status);
    ASSERT_TRUE(f.has_value()) << status;
    EXPECT_EQ(f->category, category) << ProbeCategoryName(f->category) << " " << status;
    EXPECT_EQ(f->reason, reason) << status;
    EXPECT_EQ(f->retryable, retryable) << status;
    ExpectNoSecrets(status);
  }

  static AppKey* key_;
  static AppKey* other_key_;

  FakeClock clock_{kStart};
  FakeSleeper sleeper_{&clock_};
  std::unique_ptr<ScriptedHttpServer> server_;
  std::unique_ptr<CurlHttpClient> http_;

  absl::Mutex mu_;
  const AppKey* verify_with_ ABSL_GUARDED_BY(mu_) = key_;
  std::string expected_iss_ ABSL_GUARDED_BY(mu_) = kAppId;
  int64_t server_clock_offset_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<ScriptedResponse> script_ ABSL_GUARDED_BY(mu_);
  std::vector<SeenJwt> jwts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> jwt_problems_ ABSL_GUARDED_BY(mu_);
  int issued_ ABSL_GUARDED_BY(mu_) = 0;
};

AppKey* GitHubAppTokenSourceTest::key_ = nullptr;
AppKey* GitHubAppTokenSourceTest::other_key_ = nullptr;

TEST_F(GitHubAppTokenSourceTest, IssuesATokenWithAValidAppJwt) {
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token.view(), "ghs_1_1");
  EXPECT_EQ(t->expires_at, kStart + absl::Hours(1));

  const std::vector<ScriptedRequest> requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/app/installations/1/access_tokens");
  EXPECT_EQ(requests[0].Header("accept"), "application/vnd.github+json");
  EXPECT_EQ(requests[0].Header("x-github-api-version"), "2022-11-28");
  EXPECT_TRUE(requests[0].Header("user-agent").has_value());
  EXPECT_EQ(requests[0].body, "");

  const std::vector<SeenJwt> jwts = Jwts();
  ASSERT_EQ(jwts.size(), 1u);
  EXPECT_EQ(jwts[0].header, (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}}));
  EXPECT_EQ(jwts[0].claims["iat"], absl::ToUnixSeconds(kStart) - 60);
  EXPECT_EQ(jwts[0].claims["exp"], absl::ToUnixSeconds(kStart) + 9 * 60);
  EXPECT_EQ(jwts[0].claims["iss"], kAppId);
}

TEST_F(GitHubAppTokenSourceTest, Pkcs8KeysWorkToo) {
  auto source = Source();
  EXPECT_TRUE(source->GetToken(App(1, &key_->pkcs8_pem), Deadline()).ok());
}

TEST_F(GitHubAppTokenSourceTest, ClientIdAsIssuer) {
  {
    absl::MutexLock lock(&mu_);
    expected_iss_ = "Iv23liABCDEF012345";
  }
  auto source = Source();
  GitHubAppInstallation app = App(1);
  app.app_id = "Iv23liABCDEF012345";
  EXPECT_TRUE(source->GetToken(app, Deadline()).ok());
}

TEST_F(GitHubAppTokenSourceTest, SecondCallIsACacheHit) {
  auto source = Source();
  absl::StatusOr<InstallationToken> first = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Minutes(30));
  absl::StatusOr<InstallationToken> second = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->token.view(), first->token.view());
  EXPECT_EQ(Requests(), 1u);
  EXPECT_EQ(source->cached_installations(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, FreshTokenBypassesTheCacheAndReplacesTheEntry) {
  auto source = Source();
  absl::StatusOr<InstallationToken> first = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(first.ok());
  absl::StatusOr<InstallationToken> fresh = source->GetFreshToken(App(1), Deadline());
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_NE(fresh->token.view(), first->token.view());
  EXPECT_EQ(Requests(), 2u);
  // The fresh token is what the cache serves next.
  absl::StatusOr<InstallationToken> cached = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->token.view(), fresh->token.view());
  EXPECT_EQ(Requests(), 2u);
  EXPECT_EQ(source->cached_installations(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, RefreshesFiveMinutesBeforeExpiry) {
  auto source = Source();
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());  // expires kStart + 1h
  clock_.Set(kStart + absl::Minutes(55) - absl::Seconds(1));
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token.view(), "ghs_1_1");
  EXPECT_EQ(Requests(), 1u);

  clock_.Set(kStart + absl::Minutes(55));
  t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token.view(), "ghs_1_2");
  EXPECT_EQ(t->expires_at, kStart + absl::Minutes(55) + absl::Hours(1));
  EXPECT_EQ(Requests(), 2u);
}

// Counts what the source reports, as "lookup:hit", "fetch:forced", "failed:AUTHENTICATION".
class RecordingCacheObserver final : public InstallationTokenCacheObserver {
 public:
  void OnLookup(Lookup lookup) override { Add(absl::StrCat("lookup:", Name(lookup))); }
  void OnFetch(Fetch reason) override { Add(absl::StrCat("fetch:", Name(reason))); }
  void OnFetchFailed(ProbeCategory category) override {
    Add("failed:" + std::string(ProbeCategoryName(category)));
  }
  std::vector<std::string> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(seen_, {});
  }

 private:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(std::move(event));
  }
  absl::Mutex mu_;
  std::vector<std::string> seen_;
};

TEST_F(GitHubAppTokenSourceTest, ObserverSeesHitsMissesRefreshesAndFailures) {
  RecordingCacheObserver observer;
  GitHubAppTokenSource::Options options = Options();
  options.observer = &observer;
  auto source = Source(options);
  using V = std::vector<std::string>;

  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  EXPECT_EQ(observer.Take(), (V{"lookup:miss", "fetch:new"}));
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  EXPECT_EQ(observer.Take(), (V{"lookup:hit"}));
  // TestConnection's fresh token reads no cache.
  ASSERT_TRUE(source->GetFreshToken(App(1), Deadline()).ok());
  EXPECT_EQ(observer.Take(), (V{"fetch:forced"}));
  // Within refresh_before of expiring: a miss and a refresh.
  clock_.Advance(absl::Minutes(56));
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  EXPECT_EQ(observer.Take(), (V{"lookup:miss", "fetch:expiring"}));
  // GitHub refuses: a failed fetch, by category.
  EXPECT_FALSE(source->GetToken(App(999), Deadline()).ok());
  EXPECT_EQ(observer.Take(), (V{"lookup:miss", "fetch:new", "failed:AUTHENTICATION"}));
  // A request refused before the cache is neither.
  GitHubAppInstallation bad = App(1);
  bad.app_id = "not an id";
  EXPECT_FALSE(source->GetToken(bad, Deadline()).ok());
  EXPECT_EQ(observer.Take(), V{});
}

TEST_F(GitHubAppTokenSourceTest, OneAppJwtServesManyInstallations) {
  auto source = Source();
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  ASSERT_TRUE(source->GetToken(App(2), Deadline()).ok());
  std::vector<SeenJwt> jwts = Jwts();
  ASSERT_EQ(jwts.size(), 2u);
  EXPECT_EQ(jwts[0].token, jwts[1].token);

  // Close to its expiry a new one is signed.
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(source->GetToken(App(3), Deadline()).ok());
  jwts = Jwts();
  ASSERT_EQ(jwts.size(), 3u);
  EXPECT_NE(jwts[2].token, jwts[1].token);
  EXPECT_EQ(jwts[2].claims["iat"], absl::ToUnixSeconds(clock_.Now()) - 60);
}

TEST_F(GitHubAppTokenSourceTest, NarrowingIsSentCanonicallyAndPartOfTheCacheKey) {
  auto source = Source();
  GitHubAppInstallation narrowed = App(1);
  narrowed.repositories = {"web", "api", "web"};
  narrowed.permissions = {{"packages", "write"}, {"contents", "read"}};
  absl::StatusOr<InstallationToken> a = source->GetToken(narrowed, Deadline());
  ASSERT_TRUE(a.ok()) << a.status();
  const std::vector<ScriptedRequest> requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            (nlohmann::json{{"repositories", {"api", "web"}},
                            {"permissions", {{"contents", "read"}, {"packages", "write"}}}}));

  // The same narrowing in another order: cached.
  GitHubAppInstallation reordered = App(1);
  reordered.repositories = {"api", "web"};
  reordered.permissions = {{"contents", "read"}, {"packages", "write"}};
  absl::StatusOr<InstallationToken> b = source->GetToken(reordered, Deadline());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->token.view(), a->token.view());
  EXPECT_EQ(Requests(), 1u);

  // Wider (no narrowing) and narrower requests are separate entries.
  absl::StatusOr<InstallationToken> wide = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(wide.ok());
  EXPECT_NE(wide->token.view(), a->token.view());
  GitHubAppInstallation one_repo = App(1);
  one_repo.repositories = {"api"};
  ASSERT_TRUE(source->GetToken(one_repo, Deadline()).ok());
  EXPECT_EQ(Requests(), 3u);
  EXPECT_EQ(source->cached_installations(), 3u);
}

TEST_F(GitHubAppTokenSourceTest, AnotherKeyIsAnotherCacheEntry) {
  auto source = Source();
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  // The same key in PKCS#8: a different PEM text, so its own entry (harmless).
  ASSERT_TRUE(source->GetToken(App(1, &key_->pkcs8_pem), Deadline()).ok());
  EXPECT_EQ(Requests(), 2u);
  // A rotated key that GitHub does not know yet: refused, and not served from the cache.
  absl::StatusOr<InstallationToken> t =
      source->GetToken(App(1, &other_key_->pkcs1_pem), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kUnauthenticated, ProbeCategory::kAuthentication,
                "CREDENTIALS_REJECTED", false);
}

TEST_F(GitHubAppTokenSourceTest, SingleFlightUnderConcurrency) {
  RouteInstallation(7, absl::Milliseconds(300));
  auto source = Source();
  constexpr int kThreads = 50;
  std::vector<absl::StatusOr<InstallationToken>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      results[i] = source->GetToken(App(7), Deadline());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(Requests(), 1u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->token.view(), "ghs_7_1");
  }
}

TEST_F(GitHubAppTokenSourceTest, WaitersKeepTheirOwnDeadline) {
  RouteInstallation(8, absl::Milliseconds(600));
  auto source = Source();
  std::atomic<bool> leader_done{false};
  std::thread leader([&] {
    EXPECT_TRUE(source->GetToken(App(8), Deadline()).ok());
    leader_done = true;
  });
  while (Requests() == 0) absl::SleepFor(absl::Milliseconds(5));  // the leader is in flight
  absl::Status waiter_status;
  std::thread waiter(
      [&] { waiter_status = source->GetToken(App(8), clock_.Now() + absl::Seconds(5)).status(); });
  absl::SleepFor(absl::Milliseconds(100));
  clock_.Advance(absl::Seconds(10));  // past the waiter's deadline, not the leader's
  waiter.join();
  EXPECT_FALSE(leader_done);  // the waiter gave up without waiting for the leader
  ExpectFailure(waiter_status, absl::StatusCode::kDeadlineExceeded, ProbeCategory::kNetwork,
                "TIMEOUT", true);
  leader.join();
  EXPECT_EQ(Requests(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, ManyInstallationsThenLeastRecentlyUsedEviction) {
  constexpr int kCapacity = 1000;
  for (int64_t id = 10; id < 10 + kCapacity + 1; ++id) RouteInstallation(id);
  GitHubAppTokenSource::Options options = Options();
  options.max_cached_installations = kCapacity;
  auto source = Source(options);
  for (int64_t id = 10; id < 10 + kCapacity; ++id) {
    ASSERT_TRUE(source->GetToken(App(id), Deadline()).ok()) << id;
  }
  EXPECT_EQ(Requests(), static_cast<std::size_t>(kCapacity));
  EXPECT_EQ(source->cached_installations(), static_cast<std::size_t>(kCapacity));
  for (int64_t id = 10; id < 10 + kCapacity; ++id) {
    ASSERT_TRUE(source->GetToken(App(id), Deadline()).ok()) << id;
  }
  EXPECT_EQ(Requests(), static_cast<std::size_t>(kCapacity));  // all cached

  // One more: the least recently used (installation 10) goes.
  ASSERT_TRUE(source->GetToken(App(10 + kCapacity), Deadline()).ok());
  EXPECT_EQ(source->cached_installations(), static_cast<std::size_t>(kCapacity));
  EXPECT_EQ(Requests(), static_cast<std::size_t>(kCapacity) + 1);
  ASSERT_TRUE(source->GetToken(App(11), Deadline()).ok());
  EXPECT_EQ(Requests(), static_cast<std::size_t>(kCapacity) + 1);
  ASSERT_TRUE(source->GetToken(App(10), Deadline()).ok());
  EXPECT_EQ(Requests(), static_cast<std::size_t>(kCapacity) + 2);
  // Only one JWT was signed for all of them.
  const std::vector<SeenJwt> jwts = Jwts();
  for (const SeenJwt& j : jwts) EXPECT_EQ(j.token, jwts[0].token);
}

TEST_F(GitHubAppTokenSourceTest, UnauthorizedOnceThenANewJwt) {
  Script({{401, {}, R"({"message":"'Issued at' claim ('iat') must be an Integer"})"}});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok()) << t.status();
  const std::vector<SeenJwt> jwts = Jwts();
  ASSERT_EQ(jwts.size(), 2u);
  EXPECT_NE(jwts[0].token, jwts[1].token);
  EXPECT_NE(jwts[0].claims["iat"], jwts[1].claims["iat"]);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(GitHubAppTokenSourceTest, UnauthorizedCorrectsForTheServerClock) {
  // GitHub's clock is 10 minutes ahead: it refuses the first JWT as too old and says in its
  // Date header what time it is.
  {
    absl::MutexLock lock(&mu_);
    server_clock_offset_ = 600;
  }
  const absl::Time server_now = kStart + absl::Minutes(10);
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->expires_at, server_now + absl::Hours(1));
  const std::vector<SeenJwt> jwts = Jwts();
  ASSERT_EQ(jwts.size(), 2u);
  EXPECT_EQ(jwts[1].claims["iat"], absl::ToUnixSeconds(server_now) - 60);
  EXPECT_EQ(jwts[1].claims["exp"], absl::ToUnixSeconds(server_now) + 9 * 60);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(jwt_problems_, std::vector<std::string>{"iat too old"});
  jwt_problems_.clear();
}

TEST_F(GitHubAppTokenSourceTest, UnauthorizedThreeTimes) {
  const ScriptedResponse unauthorized{401, {}, R"({"message":"Bad credentials"})"};
  Script({unauthorized, unauthorized, unauthorized, unauthorized});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kUnauthenticated, ProbeCategory::kAuthentication,
                "CREDENTIALS_REJECTED", false);
  EXPECT_NE(t.status().message().find("3 times"), absl::string_view::npos) << t.status();
  EXPECT_NE(t.status().message().find(kAppId), absl::string_view::npos) << t.status();
  EXPECT_EQ(Requests(), 3u);
  const std::vector<SeenJwt> jwts = Jwts();
  ASSERT_EQ(jwts.size(), 3u);
  EXPECT_NE(jwts[0].token, jwts[1].token);
  EXPECT_NE(jwts[1].token, jwts[2].token);
  // Failures are not cached.
  EXPECT_EQ(source->cached_installations(), 0u);
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
}

TEST_F(GitHubAppTokenSourceTest, InstallationNotFound) {
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(999), Deadline());  // unrouted
  ExpectFailure(t.status(), absl::StatusCode::kNotFound, ProbeCategory::kAuthentication,
                "INSTALLATION_NOT_FOUND", false);
  EXPECT_NE(t.status().message().find("installation not found"), absl::string_view::npos);
  EXPECT_NE(t.status().message().find("999"), absl::string_view::npos);
  EXPECT_EQ(Requests(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, NarrowingRefused) {
  Script({{422, {}, R"({"message":"There is at least one repository that does not exist"})"}});
  auto source = Source();
  GitHubAppInstallation app = App(1);
  app.repositories = {"ghost"};
  absl::StatusOr<InstallationToken> t = source->GetToken(app, Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kInvalidArgument, ProbeCategory::kPermission,
                "INVALID_NARROWING", false);
  EXPECT_NE(t.status().message().find("does not exist"), absl::string_view::npos);
}

TEST_F(GitHubAppTokenSourceTest, ForbiddenWithoutRateLimit) {
  Script({{403,
           {{"x-ratelimit-remaining", "4999"}},
           R"({"message":"This installation has been suspended"})"}});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kPermissionDenied, ProbeCategory::kPermission,
                "ACCESS_DENIED", false);
  EXPECT_EQ(Requests(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, TooManyRequestsRetriesAfterTheServersDelay) {
  Script({{429, {{"Retry-After", "2"}}, R"({"message":"secondary rate limit"})"}});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(2)});
  EXPECT_EQ(Requests(), 2u);
}

TEST_F(GitHubAppTokenSourceTest, PrimaryRateLimitPastTheDeadline) {
  const int64_t reset = absl::ToUnixSeconds(kStart) + 50;
  Script(
      {{403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", absl::StrCat(reset)}}, "{}"}});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), clock_.Now() + absl::Seconds(10));
  ExpectFailure(t.status(), absl::StatusCode::kResourceExhausted, ProbeCategory::kRegistry,
                "RATE_LIMITED", true);
  EXPECT_EQ(GetUpstreamFailure(t.status())->retry_after, absl::Seconds(50));
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(GitHubAppTokenSourceTest, ServerErrorThenSuccess) {
  Script({{502, {}, "bad gateway"}});
  auto source = Source();
  ASSERT_TRUE(source->GetToken(App(1), Deadline()).ok());
  EXPECT_EQ(sleeper_.sleeps().size(), 1u);
}

TEST_F(GitHubAppTokenSourceTest, MalformedTokenAnswer) {
  Script({{201, {}, R"({"token":"ghs_x","expires_at":"tomorrow"})"}});
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kFailedPrecondition, ProbeCategory::kRegistry,
                "BAD_RESPONSE", false);
}

TEST_F(GitHubAppTokenSourceTest, BadKeysFailWithoutARequest) {
  auto source = Source();
  const std::string garbage =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIsecretbytes\n-----END RSA "
      "PRIVATE KEY-----\n";
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1, &garbage), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kInvalidArgument, ProbeCategory::kAuthentication,
                "INVALID_APP_KEY", false);
  EXPECT_EQ(t.status().message().find("secretbytes"), absl::string_view::npos);

  EVP_PKEY* ec = EVP_EC_gen("P-256");
  const std::string ec_pem = PemOf(ec, false);
  EVP_PKEY_free(ec);
  t = source->GetToken(App(1, &ec_pem), Deadline());
  ExpectFailure(t.status(), absl::StatusCode::kInvalidArgument, ProbeCategory::kAuthentication,
                "INVALID_APP_KEY", false);
  EXPECT_NE(t.status().message().find("RSA"), absl::string_view::npos);
  EXPECT_EQ(Requests(), 0u);
}

TEST_F(GitHubAppTokenSourceTest, InvalidRequestsFailWithoutARequest) {
  auto source = Source();
  GitHubAppInstallation app = App(1);
  app.app_id = "";
  ExpectFailure(source->GetToken(app, Deadline()).status(), absl::StatusCode::kInvalidArgument,
                ProbeCategory::kAuthentication, "INVALID_APP_ID", false);
  app = App(0);
  ExpectFailure(source->GetToken(app, Deadline()).status(), absl::StatusCode::kInvalidArgument,
                ProbeCategory::kAuthentication, "INVALID_INSTALLATION_ID", false);
  app = App(1);
  app.repositories = {"acme/web"};
  ExpectFailure(source->GetToken(app, Deadline()).status(), absl::StatusCode::kInvalidArgument,
                ProbeCategory::kPermission, "INVALID_NARROWING", false);
  app = App(1);
  app.permissions = {{"contents", "read"}, {"contents", "write"}};
  ExpectFailure(source->GetToken(app, Deadline()).status(), absl::StatusCode::kInvalidArgument,
                ProbeCategory::kPermission, "INVALID_NARROWING", false);
  app = App(1);
  app.private_key_pem = SecretString();
  ExpectFailure(source->GetToken(app, Deadline()).status(), absl::StatusCode::kInvalidArgument,
                ProbeCategory::kAuthentication, "INVALID_APP_KEY", false);
  EXPECT_EQ(Requests(), 0u);
}

TEST_F(GitHubAppTokenSourceTest, DeadlinePassedBeforeAsking) {
  auto source = Source();
  absl::StatusOr<InstallationToken> t = source->GetToken(App(1), clock_.Now());
  ExpectFailure(t.status(), absl::StatusCode::kDeadlineExceeded, ProbeCategory::kNetwork, "TIMEOUT",
                true);
  EXPECT_EQ(Requests(), 0u);
}

}  // namespace
}  // namespace registryauth::upstream
