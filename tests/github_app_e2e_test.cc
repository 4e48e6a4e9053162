// GITHUB_APP configurations through the real server over real gRPC, with GitHub's API played by
// a local HTTP server (--github_api_url) that checks every App JWT against the App's public key:
// create (the key validated, its fingerprint as the hint, never returned), GetCredentials (an
// installation token, cached), TestConnection (a fresh token; INVALID when GitHub refuses), and
// GitHub's refusals reaching the caller with their ErrorDetail.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "crypto/base64url.h"
#include "crypto/jws.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using testing::DetailOf;
using upstream::testing::ScriptedHttpServer;
using upstream::testing::ScriptedRequest;
using upstream::testing::ScriptedResponse;

constexpr char kAppId[] = "314159";

// What the fake GitHub saw of one token request.
struct Seen {
  std::string path;
  bool jwt_ok = false;  // signature verified, iss = the App, iat/exp within GitHub's bounds
  nlohmann::json body;
};

class GitHubAppE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto pem = crypto::GenerateRsaKeyPem(2048);
    ASSERT_TRUE(pem.ok());
    key_pem_ = std::string(pem->view());
    auto key = crypto::SigningKey::FromPrivateKeyPem(*pem);
    ASSERT_TRUE(key.ok());
    public_key_ = (*key)->public_key();

    auto github = ScriptedHttpServer::Start();
    ASSERT_TRUE(github.ok()) << github.status();
    github_ = *std::move(github);
    // Installation 777 exists; 404 for any other.
    for (const char* id : {"777", "999"}) {
      const std::string path = absl::StrCat("/app/installations/", id, "/access_tokens");
      github_->Route(path, [this, path](const ScriptedRequest& r) {
        Seen seen{path, r.method == "POST" && JwtOk(r.Header("authorization").value_or("")),
                  nlohmann::json::parse(r.body.empty() ? "{}" : r.body, nullptr, false)};
        int n;
        {
          absl::MutexLock lock(&mu_);
          seen_.push_back(seen);
          n = static_cast<int>(seen_.size());
        }
        if (!seen.jwt_ok) return ScriptedResponse{401, {}, R"({"message":"Bad credentials"})"};
        if (!absl::StrContains(path, "/777/")) {
          return ScriptedResponse{404, {}, R"({"message":"Not Found"})"};
        }
        nlohmann::json answer = {
            {"token", absl::StrCat("ghs_e2eInstallationToken_", n)},
            {"expires_at", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() + absl::Hours(1),
                                            absl::UTCTimeZone())}};
        return ScriptedResponse{201, {}, answer.dump()};
      });
    }

    auto stack = testing::TestStack::Builder()
                     .WithWorkspace("acme")
                     .Configure([&](server::ServerConfig& c) {
                       c.github_api_url = github_->BaseUrl();
                       c.test_connection_timeout = absl::Seconds(10);
                     })
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    stub_ = &stack_->stub();
  }

  // The App JWT as GitHub checks it.
  bool JwtOk(const std::string& authorization) {
    if (!absl::StartsWith(authorization, "Bearer ")) return false;
    std::vector<std::string> parts = absl::StrSplit(authorization.substr(7), '.');
    if (parts.size() != 3) return false;
    auto header = crypto::Base64UrlDecode(parts[0]);
    auto payload = crypto::Base64UrlDecode(parts[1]);
    auto signature = crypto::Base64UrlDecode(parts[2]);
    if (!header.ok() || !payload.ok() || !signature.ok()) return false;
    if (!public_key_->Verify("RS256", absl::StrCat(parts[0], ".", parts[1]), *signature).ok()) {
      return false;
    }
    nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
    if (!claims.is_object() || claims.value("iss", "") != kAppId) return false;
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    const int64_t iat = claims.value("iat", int64_t{0});
    const int64_t exp = claims.value("exp", int64_t{0});
    return iat <= now && iat >= now - 120 && exp > now && exp - iat <= 600;
  }

  std::vector<Seen> Requests() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

  grpc::Status Create(const std::string& id, int64_t installation, const std::string& secret,
                      v1::RegistryConfig* out) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GITHUB_APP);
    c->mutable_github_app()->set_app_id(kAppId);
    c->mutable_github_app()->set_installation_id(installation);
    c->mutable_github_app()->add_repositories("web");
    c->mutable_github_app()->add_repositories("api");
    (*c->mutable_github_app()->mutable_permissions())["contents"] = "read";
    c->set_secret(secret);
    return stub_->CreateRegistryConfig(Ctx().get(), req, out);
  }

  grpc::Status GetCredentials(const std::string& id, v1::GetCredentialsResponse* out) {
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    return stub_->GetCredentials(Ctx().get(), req, out);
  }

  v1::TestConnectionResponse Test(const std::string& id) {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    v1::TestConnectionResponse out;
    grpc::Status s = stub_->TestConnection(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // A distinctive line of the key's base64 body.
  std::string KeyBody() const { return key_pem_.substr(key_pem_.find('\n') + 1, 48); }

  std::string key_pem_;
  std::shared_ptr<const crypto::VerifyingKey> public_key_;
  std::unique_ptr<ScriptedHttpServer> github_;
  std::unique_ptr<testing::TestStack> stack_;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
  absl::Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

TEST_F(GitHubAppE2eTest, CreateValidatesTheKeyAndNeverReturnsIt) {
  v1::RegistryConfig created;
  grpc::Status s = Create("app", 777, key_pem_, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.type(), v1::GITHUB_APP);
  EXPECT_EQ(created.github_app().app_id(), kAppId);
  EXPECT_EQ(created.github_app().installation_id(), 777);
  ASSERT_EQ(created.github_app().repositories_size(), 2);
  EXPECT_EQ(created.github_app().repositories(0), "api");  // stored sorted
  EXPECT_EQ(created.github_app().permissions().at("contents"), "read");
  EXPECT_TRUE(created.has_secret());
  EXPECT_EQ(created.secret_hint(), public_key_->Sha256Fingerprint());
  EXPECT_EQ(created.validation_status(), v1::PENDING);

  v1::GetRegistryConfigRequest get;
  get.set_name("workspaces/acme/registries/app");
  v1::RegistryConfig got;
  ASSERT_TRUE(stub_->GetRegistryConfig(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.github_app().DebugString(), created.github_app().DebugString());
  for (const v1::RegistryConfig& c : {created, got}) {
    EXPECT_TRUE(c.secret().empty());
    EXPECT_FALSE(absl::StrContains(c.DebugString(), KeyBody()));
  }

  // Not a key, or not the right kind: INVALID_ARGUMENT naming the field, quoting nothing.
  auto ec = crypto::GenerateEs256KeyPem();
  ASSERT_TRUE(ec.ok());
  for (const std::string& bad :
       {std::string("ghp_aPatWhereTheKeyBelongs0123456789abcdef"), std::string(ec->view()),
        key_pem_.substr(0, key_pem_.size() / 2)}) {
    v1::RegistryConfig out;
    s = Create("bad", 777, bad, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.secret: "))
        << s.error_message();
    EXPECT_FALSE(absl::StrContains(s.error_message(), bad.substr(0, 24)));
  }
  v1::RegistryConfig out;
  s = Create("bad", 0, key_pem_, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "registry_config.github_app.installation_id"))
      << s.error_message();
  EXPECT_TRUE(Requests().empty());  // nothing of that reached GitHub
}

TEST_F(GitHubAppE2eTest, GetCredentialsReturnsACachedInstallationToken) {
  v1::RegistryConfig created;
  ASSERT_TRUE(Create("app", 777, key_pem_, &created).ok());
  v1::GetCredentialsResponse first;
  grpc::Status s = GetCredentials("app", &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(first.type(), v1::GITHUB_APP);
  EXPECT_EQ(first.username(), "x-access-token");
  EXPECT_EQ(first.secret(), "ghs_e2eInstallationToken_1");
  EXPECT_EQ(first.registry_host(), github_->BaseUrl().substr(7));  // host:port of the API
  ASSERT_TRUE(first.has_expire_time());
  EXPECT_NEAR(static_cast<double>(first.expire_time().seconds()),
              static_cast<double>(absl::ToUnixSeconds(absl::Now() + absl::Hours(1))), 60);

  std::vector<Seen> seen = Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/app/installations/777/access_tokens");
  EXPECT_TRUE(seen[0].jwt_ok);
  EXPECT_EQ(seen[0].body["repositories"], nlohmann::json({"api", "web"}));
  EXPECT_EQ(seen[0].body["permissions"], nlohmann::json({{"contents", "read"}}));

  // Cached: the same token, no second request.
  v1::GetCredentialsResponse second;
  ASSERT_TRUE(GetCredentials("app", &second).ok());
  EXPECT_EQ(second.secret(), first.secret());
  EXPECT_EQ(Requests().size(), 1u);

  // Every call is on record, without the token or the key.
  v1::ListAuditEventsRequest audit_req;
  audit_req.set_resource("workspaces/acme/registries/app");
  v1::ListAuditEventsResponse audit;
  ASSERT_TRUE(stub_->ListAuditEvents(Ctx().get(), audit_req, &audit).ok());
  int get_credentials = 0;
  for (const v1::AuditEvent& e : audit.audit_events()) {
    if (e.action() == "GetCredentials") ++get_credentials;
  }
  EXPECT_EQ(get_credentials, 2);
  EXPECT_FALSE(absl::StrContains(audit.DebugString(), "ghs_e2e"));
  EXPECT_FALSE(absl::StrContains(audit.DebugString(), KeyBody()));
}

TEST_F(GitHubAppE2eTest, TestConnectionGetsAFreshTokenAndRecordsTheVerdict) {
  v1::RegistryConfig created;
  ASSERT_TRUE(Create("app", 777, key_pem_, &created).ok());
  v1::GetCredentialsResponse creds;
  ASSERT_TRUE(GetCredentials("app", &creds).ok());
  v1::TestConnectionResponse ok = Test("app");
  EXPECT_EQ(ok.result(), v1::VALID) << ok.DebugString();
  ASSERT_EQ(ok.steps_size(), 1);
  EXPECT_EQ(ok.steps(0).name(), "installation_token");
  EXPECT_TRUE(ok.credentials_verified());
  EXPECT_TRUE(ok.recorded());
  EXPECT_FALSE(absl::StrContains(ok.DebugString(), "ghs_e2e"));
  EXPECT_EQ(Requests().size(), 2u);  // not answered from the cache
  // The installation token's expires_at is the credential's expiry, stored with the verdict.
  ASSERT_TRUE(ok.has_credential_expire_time()) << ok.DebugString();
  EXPECT_NEAR(static_cast<double>(ok.credential_expire_time().seconds()),
              absl::ToDoubleSeconds(absl::Now() + absl::Hours(1) - absl::UnixEpoch()), 120.0);
  v1::GetRegistryConfigRequest get_app;
  get_app.set_name("workspaces/acme/registries/app");
  v1::RegistryConfig stored_app;
  ASSERT_TRUE(stub_->GetRegistryConfig(Ctx().get(), get_app, &stored_app).ok());
  EXPECT_EQ(stored_app.credential_expire_time().seconds(), ok.credential_expire_time().seconds());

  // An installation GitHub does not know: INVALID at the token step, stored, and the same
  // refusal reaches GetCredentials callers as NOT_FOUND with its reason.
  ASSERT_TRUE(Create("gone", 999, key_pem_, &created).ok());
  v1::TestConnectionResponse gone = Test("gone");
  EXPECT_EQ(gone.result(), v1::INVALID);
  ASSERT_EQ(gone.steps_size(), 1);
  EXPECT_FALSE(gone.steps(0).ok());
  EXPECT_EQ(gone.error().reason(), "INSTALLATION_NOT_FOUND") << gone.DebugString();
  EXPECT_EQ(gone.error().category(), v1::ErrorDetail::AUTHENTICATION);
  v1::GetRegistryConfigRequest get;
  get.set_name("workspaces/acme/registries/gone");
  v1::RegistryConfig stored;
  ASSERT_TRUE(stub_->GetRegistryConfig(Ctx().get(), get, &stored).ok());
  EXPECT_EQ(stored.validation_status(), v1::INVALID);
  EXPECT_TRUE(absl::StartsWith(stored.last_validation_error(), "installation_token: "))
      << stored.last_validation_error();

  v1::GetCredentialsResponse none;
  grpc::Status s = GetCredentials("gone", &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(DetailOf(s).reason(), "INSTALLATION_NOT_FOUND");
  EXPECT_TRUE(none.secret().empty());
}

TEST_F(GitHubAppE2eTest, AKeyGitHubDoesNotKnowIsRejected) {
  // Another App key (GitHub verifies with the registered public key): 401, a new JWT is tried
  // (still refused), then UNAUTHENTICATED with CREDENTIALS_REJECTED.
  auto other = crypto::GenerateRsaKeyPem(2048);
  ASSERT_TRUE(other.ok());
  v1::RegistryConfig created;
  ASSERT_TRUE(Create("app", 777, std::string(other->view()), &created).ok());
  v1::GetCredentialsResponse creds;
  grpc::Status s = GetCredentials("app", &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(DetailOf(s).reason(), "CREDENTIALS_REJECTED");
  EXPECT_FALSE(DetailOf(s).retryable());
  std::vector<Seen> seen = Requests();
  ASSERT_GE(seen.size(), 2u);
  for (const Seen& r : seen) EXPECT_FALSE(r.jwt_ok);
  v1::TestConnectionResponse t = Test("app");
  EXPECT_EQ(t.result(), v1::INVALID);
  EXPECT_EQ(t.error().reason(), "CREDENTIALS_REJECTED");
}

}  // namespace
}  // namespace registryauth
