// The attackers of docs/security.md, each played end to end against the real registry-authd
// (gRPC + the HTTP adapter's /token) on a real PostgreSQL, and, where the answer is the real
// registry's, against Debian's docker-registry driven by skopeo. Every test names the threat
// row it proves.
//
//   T1  anonymous: malformed refresh tokens and other odd /token input never take the
//       process down (issue 15 finding 1); the server keeps serving /token, REST and gRPC.
//   T2  tenant admin / compromised build: host-prefixed repository names
//       (`localhost/acme/x`, `evil.com/acme/y`) get nothing, in the token and at the real
//       registry; the workspace id `localhost` cannot be created (finding 2).
//   T3  anonymous: failed logins from other addresses never lock out the build worker; the
//       right secret still pushes through the real registry (finding 3).
//   T4  anonymous: a request with 32 public-looking scopes is answered (at most 4 uncached
//       lookups; the rest are not granted), and /healthz answers meanwhile (finding 4).
//   T5  anonymous: with --metrics_listen, /metrics is not on the public listener (finding 5).
//   T6  compromised build: its workspace credential pushes only inside its workspace, at the
//       token and at the real registry; no refresh token, no forged expiry.
//
// Skips without PostgreSQL or the registry tools, unless REGAUTH_REQUIRE_PG=1 /
// REGAUTH_REQUIRE_REGISTRY=1 (./test.sh sets both).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crypto/base64url.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "realm/basic_auth.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/support/distribution_registry.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/oci_image.h"
#include "tests/support/skopeo.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using testing::HttpReply;
using testing::RegistryCredentials;
using testing::SkopeoCopyOptions;
using testing::SkopeoResult;

constexpr char kService[] = "registry.test";
constexpr char kIssuer[] = "registry-auth-attacks";

class AttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
    absl::StatusOr<std::unique_ptr<testing::TestStack>> stack =
        testing::TestStack::Builder()
            .WithTokenRealm(kService, kIssuer)
            .WithWorkspace("acme")
            .WithWorkspace("other")
            .WithApp("acme", "web", /*public_pull=*/true)
            .Configure([](server::ServerConfig& c) {
              // The tests stand for clients at several addresses behind a proxy on 127.0.0.1.
              c.http_trusted_proxies = {"127.0.0.1/32"};
              // /metrics on an internal listener of its own, as production should run.
              c.metrics_listen = "127.0.0.1:0";
            })
            .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    live_ = &stack_->live();
    stub_ = &stack_->stub();
    const std::string bundle_path = stack_->rootcertbundle_path();

    absl::StatusOr<std::string> bundle = testing::ReadFile(bundle_path);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    testing::RegistryOptions options;
    options.token_auth = testing::TokenAuthConfig{
        absl::StrCat("http://127.0.0.1:", live_->server().http_port(), "/token"), kService, kIssuer,
        *bundle};
    absl::StatusOr<std::unique_ptr<testing::DistributionRegistry>> registry =
        testing::DistributionRegistry::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    absl::StatusOr<std::unique_ptr<testing::Skopeo>> skopeo =
        testing::Skopeo::Create(absl::Seconds(60));
    ASSERT_TRUE(skopeo.ok()) << skopeo.status();
    skopeo_ = *std::move(skopeo);

    v1::CreateServiceAccountRequest sa;
    sa.set_parent("workspaces/acme");
    sa.set_service_account_id("builder");
    v1::RepositoryGrant* g = sa.mutable_service_account()->add_grants();
    g->set_repository("acme/*");
    g->add_actions("pull");
    g->add_actions("push");
    v1::ServiceAccountCredentials creds;
    grpc::Status s = stub_->CreateServiceAccount(Ctx().get(), sa, &creds);
    ASSERT_TRUE(s.ok()) << s.error_message();
    builder_ = {creds.username(), creds.secret()};
  }

  int http_port() { return live_->server().http_port(); }

  HttpReply Get(const std::string& target,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    testing::HttpConnection http(http_port());
    EXPECT_TRUE(http.connected());
    return http.Request("GET", target, "", headers);
  }

  HttpReply PostForm(const std::string& form) {
    testing::HttpConnection http(http_port());
    EXPECT_TRUE(http.connected());
    return http.Request("POST", "/token", form,
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  // GET /token as `user` from the client `from` (X-Forwarded-For through the trusted proxy).
  HttpReply Login(const std::string& from, const RegistryCredentials& creds,
                  const std::string& scopes = "") {
    return Get(absl::StrCat("/token?service=", kService, scopes),
               {{"Authorization", realm::FormatBasicAuthorization(creds.username, creds.password)},
                {"X-Forwarded-For", from}});
  }

  // The `access` claim of a /token reply's token.
  static nlohmann::json Access(const HttpReply& reply) {
    nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
    if (!body.is_object() || !body.contains("token")) return nullptr;
    std::vector<std::string> parts = absl::StrSplit(body["token"].get<std::string>(), '.');
    if (parts.size() != 3) return nullptr;
    absl::StatusOr<std::string> payload = crypto::Base64UrlDecode(parts[1]);
    if (!payload.ok()) return nullptr;
    nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
    return claims.is_object() ? claims["access"] : nullptr;
  }

  void ExpectServing() {
    EXPECT_EQ(Get("/healthz").status, 200);
    v1::Workspace ws;
    v1::GetWorkspaceRequest req;
    req.set_name("workspaces/acme");
    grpc::Status s = stub_->GetWorkspace(Ctx().get(), req, &ws);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  SkopeoResult Push(const std::string& repo, const RegistryCredentials& creds,
                    const std::string& seed) {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("attacks-layouts");
    EXPECT_TRUE(dir.ok());
    testing::OciImageSpec spec;
    spec.seed = seed;
    spec.tag = "v1";
    absl::StatusOr<testing::OciImage> image = testing::WriteOciImage(*dir + "/" + seed, spec);
    EXPECT_TRUE(image.ok()) << image.status();
    SkopeoCopyOptions o;
    o.dest_creds = creds;
    return skopeo_->Copy(image->Reference(), registry_->Reference(repo, "v1"), o);
  }

  std::unique_ptr<testing::TestStack> stack_;
  testing::LiveServer* live_ = nullptr;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
  std::unique_ptr<testing::DistributionRegistry> registry_;
  std::unique_ptr<testing::Skopeo> skopeo_;
  RegistryCredentials builder_;
};

// T1: one anonymous request used to abort the whole process.
TEST_F(AttacksTest, T1_MalformedAnonymousTokenRequestsNeverStopTheServer) {
  for (const char* refresh :
       {".", "a.b", "..", "rrt_", "rrt_.", "rrt", "x", "rrt_A.", "%00", "rrt_%FF.%FF"}) {
    HttpReply r = PostForm(
        absl::StrCat("grant_type=refresh_token&service=", kService, "&refresh_token=", refresh));
    EXPECT_TRUE(r.ok) << refresh << ": no reply";
    EXPECT_TRUE(r.status == 400 || r.status == 401) << refresh << ": " << r.status << " " << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, "substr")) << r.body;
  }
  // Other odd shapes of every credential format, over GET and POST.
  for (const char* user : {"pull+", "build+", "+", "acme+", "+builder", "pull+.", "build+x"}) {
    for (const char* password : {"", ".", "rpt_", "rbt_", "rbt_acme.1.1.", "ras_", "rbt_...."}) {
      HttpReply r = Login("198.51.100.1", RegistryCredentials{user, password});
      EXPECT_TRUE(r.ok);
      EXPECT_TRUE(r.status == 400 || r.status == 401 || r.status == 429)
          << user << " / " << password << ": " << r.status << " " << r.body;
    }
  }
  ExpectServing();
}

// T2: a service account of acme asks for names that only look like acme's.
TEST_F(AttacksTest, T2_HostPrefixedNamesCrossNoWorkspaceLine) {
  HttpReply r = Login("198.51.100.2", builder_,
                      "&scope=repository:localhost/acme/x:push,pull"
                      "&scope=repository:evil.com/acme/y:push"
                      "&scope=repository:localhost:5000/acme/z:pull"
                      "&scope=repository:acme/x:pull");
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json access = Access(r);
  ASSERT_TRUE(access.is_array()) << r.body;
  ASSERT_EQ(access.size(), 1u) << access;
  EXPECT_EQ(access[0]["name"], "acme/x");
  // Anonymous, with acme/web public: only acme/web itself.
  HttpReply anon = Get(absl::StrCat("/token?service=", kService,
                                    "&scope=repository:localhost/acme/web:pull"
                                    "&scope=repository:evil.com/acme/web:pull"
                                    "&scope=repository:acme/web:pull"));
  ASSERT_EQ(anon.status, 200) << anon.body;
  access = Access(anon);
  ASSERT_TRUE(access.is_array());
  ASSERT_EQ(access.size(), 1u) << access;
  EXPECT_EQ(access[0]["name"], "acme/web");
  // The real registry agrees: the builder pushes to acme/x, never to localhost/acme/x.
  SkopeoResult ok = Push("acme/x", builder_, "t2-ok");
  EXPECT_TRUE(ok.ok()) << ok.Describe();
  SkopeoResult crossed = Push("localhost/acme/x", builder_, "t2-crossed");
  EXPECT_FALSE(crossed.ok());
  EXPECT_TRUE(crossed.refused()) << crossed.Describe();
  // And nobody can own the `localhost` namespace.
  v1::CreateWorkspaceRequest req;
  req.set_workspace_id("localhost");
  v1::Workspace out;
  EXPECT_EQ(stub_->CreateWorkspace(Ctx().get(), req, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// T3: anyone on the internet tried to lock out the build worker.
TEST_F(AttacksTest, T3_OthersFailuresNeverLockOutTheBuildWorker) {
  const RegistryCredentials wrong{builder_.username, "ras_wrong"};
  // Twelve wrong passwords from each of three addresses (an attacker's NAT, an IPv6 /64, and
  // the very address the build worker uses).
  for (const char* from : {"203.0.113.7", "2001:db8:bad::1", "127.0.0.1"}) {
    for (int i = 0; i < 12; ++i) {
      HttpReply r = Login(from, wrong);
      EXPECT_TRUE(r.status == 401 || r.status == 429) << from << ": " << r.status;
    }
  }
  // The wrong answers from the attacker's address are now 429: its pair is blocked.
  HttpReply throttled = Login("203.0.113.7", wrong);
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_FALSE(throttled.headers["retry-after"].empty());
  // The right secret logs in from everywhere, and pushes through the real registry (whose
  // client, skopeo, reaches /token from 127.0.0.1 without X-Forwarded-For).
  for (const char* from : {"198.51.100.3", "203.0.113.7", "2001:db8:bad::2", "127.0.0.1"}) {
    HttpReply r = Login(from, builder_);
    EXPECT_EQ(r.status, 200) << from << ": " << r.body;
  }
  SkopeoResult pushed = Push("acme/web", builder_, "t3");
  EXPECT_TRUE(pushed.ok()) << pushed.Describe();
}

// T4: an anonymous request full of public-looking scopes.
TEST_F(AttacksTest, T4_ManyPublicLookingScopesCostBoundedWork) {
  std::string target = absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:pull");
  for (int i = 0; i < 31; ++i) absl::StrAppend(&target, "&scope=repository:acme/app", i, ":pull");
  HttpReply r = Get(target);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json access = Access(r);
  ASSERT_TRUE(access.is_array());
  ASSERT_EQ(access.size(), 1u) << access;
  EXPECT_EQ(access[0]["name"], "acme/web");
  // 33 scopes is over the parser's limit of 32: a clear 400, not work.
  HttpReply too_many = Get(target + "&scope=repository:acme/one-more:pull");
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  ExpectServing();
}

// T6: a compromised build holds the workspace credential GetCredentials gave it (push+pull on
// acme/*) and tries to leave its namespace: another workspace, a host-prefixed name, the
// catalog, and a refresh token to outlive the credential.
TEST_F(AttacksTest, T6_ACompromisedBuildStaysInItsWorkspace) {
  v1::CreateRegistryConfigRequest create;
  create.set_parent("workspaces/acme");
  create.set_registry_id("platform");
  v1::RegistryConfig* config = create.mutable_registry_config();
  config->set_type(v1::DISTRIBUTION);
  config->mutable_distribution()->set_url("https://registry.test:5000");
  config->mutable_distribution()->set_repository_namespace("acme");
  v1::RegistryConfig created;
  grpc::Status s = stub_->CreateRegistryConfig(Ctx().get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetCredentialsRequest get;
  get.set_name("workspaces/acme/registries/platform");
  v1::GetCredentialsResponse creds;
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(absl::StartsWith(creds.username(), "build+")) << creds.username();
  const RegistryCredentials build{creds.username(), creds.secret()};

  HttpReply r = Login("198.51.100.6", build,
                      "&scope=repository:other/web:pull,push"
                      "&scope=repository:localhost/acme/x:push"
                      "&scope=registry:catalog:*"
                      "&scope=repository:acme/x:push&offline_token=true");
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json access = Access(r);
  ASSERT_TRUE(access.is_array());
  ASSERT_EQ(access.size(), 1u) << access;
  EXPECT_EQ(access[0]["name"], "acme/x");
  // No refresh token: a stateless credential cannot be renewed past its expiry.
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(body.contains("refresh_token")) << r.body;

  // At the real registry: its own namespace yes, anything else no.
  SkopeoResult own = Push("acme/built", build, "t6-own");
  EXPECT_TRUE(own.ok()) << own.Describe();
  for (const char* repo : {"other/web", "localhost/acme/x"}) {
    SkopeoResult out = Push(repo, build, std::string("t6-") + repo[0]);
    EXPECT_FALSE(out.ok()) << repo;
    EXPECT_TRUE(out.refused()) << repo << ": " << out.Describe();
  }
  // A forged expiry (the keyed hash no longer matches) is refused.
  std::vector<std::string> parts = absl::StrSplit(build.password, '.');
  ASSERT_EQ(parts.size(), 5u) << "rbt_<workspace>.<workspace create time>.<expiry>.<key id>.<hash>";
  parts[2] = absl::StrCat(std::stoll(parts[2]) + 3600);
  HttpReply forged =
      Login("198.51.100.6", RegistryCredentials{build.username, absl::StrJoin(parts, ".")});
  EXPECT_EQ(forged.status, 401) << forged.body;
}

// T5: the internet reads nothing from /metrics on the public listener.
TEST_F(AttacksTest, T5_MetricsAreNotServedOnThePublicListener) {
  ASSERT_EQ(Login("198.51.100.5", builder_).status, 200);
  HttpReply pub = Get("/metrics");
  EXPECT_EQ(pub.status, 404) << pub.body;
  EXPECT_FALSE(absl::StrContains(pub.body, "http_server_requests_total"));
  ASSERT_GT(live_->server().metrics_port(), 0);
  testing::HttpConnection internal(live_->server().metrics_port());
  ASSERT_TRUE(internal.connected());
  HttpReply scraped = internal.Request("GET", "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_TRUE(absl::StrContains(scraped.body, "http_server_requests_total")) << scraped.body;
  // The internal listener serves nothing else: no /token, no REST.
  EXPECT_EQ(testing::HttpConnection(live_->server().metrics_port())
                .Request("GET", absl::StrCat("/token?service=", kService))
                .status,
            404);
}

}  // namespace
}  // namespace registryauth
