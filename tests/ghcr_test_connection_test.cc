// TestConnection of GHCR configurations through the real server over real gRPC, with GitHub's
// API and ghcr.io played by local HTTP servers (--github_api_url, --ghcr_url): the wiring from
// the settings to the GitHub probe, the verdicts and what gets stored.
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"
#include "upstream/testing/fake_ghcr.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using upstream::testing::ScriptedHttpServer;
using upstream::testing::ScriptedRequest;
using upstream::testing::ScriptedResponse;

constexpr char kPushPat[] = "ghp_pushPAT0123456789abcdefghijklmnopqrst";
constexpr char kReadPat[] = "ghp_readPAT0123456789abcdefghijklmnopqrst";
// A PAT whose expiration header this service cannot read.
constexpr char kOddPat[] = "ghp_oddPAT0123456789abcdefghijklmnopqrstu";
constexpr char kLogin[] = "octo-bot";
constexpr char kRegistryToken[] = "ghcr-registry-token-abc";

class GhcrTestConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto github = ScriptedHttpServer::Start();
    ASSERT_TRUE(github.ok()) << github.status();
    github_ = *std::move(github);
    auto ghcr = ScriptedHttpServer::Start();
    ASSERT_TRUE(ghcr.ok()) << ghcr.status();
    ghcr_ = *std::move(ghcr);

    // GitHub: two classic PATs, one with write:packages, one with read:packages only; the
    // read one expires in 3 days. A third has write:packages and an unreadable expiration.
    read_pat_expires_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(72)));
    github_->Route("/user", [expires = read_pat_expires_](const ScriptedRequest& r) {
      const std::string auth = r.Header("authorization").value_or("");
      const std::string login = absl::StrCat(R"({"login":")", kLogin, R"("})");
      if (auth == absl::StrCat("Bearer ", kPushPat)) {
        return ScriptedResponse{200, {{"X-OAuth-Scopes", "repo, write:packages"}}, login};
      }
      if (auth == absl::StrCat("Bearer ", kReadPat)) {
        return ScriptedResponse{
            200,
            {{"X-OAuth-Scopes", "read:packages"},
             {"github-authentication-token-expiration",
              absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", expires, absl::UTCTimeZone())}},
            login};
      }
      if (auth == absl::StrCat("Bearer ", kOddPat)) {
        return ScriptedResponse{200,
                                {{"X-OAuth-Scopes", "write:packages"},
                                 {"github-authentication-token-expiration", "next tuesday"}},
                                login};
      }
      return ScriptedResponse{401, {}, R"({"message":"Bad credentials"})"};
    });
    // ghcr.io: the registry handshake, Basic login with any of the three PATs.
    upstream::testing::RouteFakeGhcr(*ghcr_, kLogin, kRegistryToken, [](const std::string& pat) {
      return pat == kPushPat || pat == kReadPat || pat == kOddPat;
    });

    auto stack = testing::TestStack::Builder()
                     .WithWorkspace("acme")
                     .Configure([&](server::ServerConfig& c) {
                       c.github_api_url = github_->BaseUrl();
                       c.ghcr_url = ghcr_->BaseUrl();
                       c.test_connection_timeout = absl::Seconds(10);
                     })
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    stub_ = &stack_->stub();
  }

  void Create(const std::string& id, const std::string& pat, bool pull_only) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GHCR);
    c->mutable_ghcr()->set_owner("acme-org");
    c->mutable_ghcr()->set_pull_only(pull_only);
    c->set_secret(pat);
    v1::RegistryConfig out;
    grpc::Status s = stub_->CreateRegistryConfig(Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.ghcr().pull_only(), pull_only);
  }

  v1::TestConnectionResponse Test(const std::string& id) {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    v1::TestConnectionResponse out;
    grpc::Status s = stub_->TestConnection(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const char* pat : {kPushPat, kReadPat}) {
      EXPECT_FALSE(absl::StrContains(out.DebugString(), pat));
    }
    return out;
  }

  v1::RegistryConfig Stored(const std::string& id) {
    v1::GetRegistryConfigRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    v1::RegistryConfig out;
    EXPECT_TRUE(stub_->GetRegistryConfig(Ctx().get(), req, &out).ok());
    return out;
  }

  absl::Time read_pat_expires_;
  std::unique_ptr<ScriptedHttpServer> github_;
  std::unique_ptr<ScriptedHttpServer> ghcr_;
  std::unique_ptr<testing::TestStack> stack_;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
};

TEST_F(GhcrTestConnectionTest, VerdictsFromTheGitHubApiAndTheRegistry) {
  Create("push", kPushPat, /*pull_only=*/false);
  Create("readonly-push", kReadPat, /*pull_only=*/false);
  Create("readonly-pull", kReadPat, /*pull_only=*/true);
  Create("revoked", "ghp_revokedPAT0123456789abcdefghijklmnop", /*pull_only=*/false);
  Create("fine", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", false);

  v1::TestConnectionResponse push = Test("push");
  EXPECT_EQ(push.result(), v1::VALID) << push.DebugString();
  ASSERT_GE(push.steps_size(), 3);
  EXPECT_EQ(push.steps(0).name(), "github_token");
  EXPECT_EQ(push.steps(push.steps_size() - 1).name(), "authenticate");
  EXPECT_TRUE(push.credentials_verified());
  EXPECT_EQ(Stored("push").validation_status(), v1::VALID);

  // read:packages is not enough to push, and the answer names the missing scope.
  v1::TestConnectionResponse ro_push = Test("readonly-push");
  EXPECT_EQ(ro_push.result(), v1::INVALID) << ro_push.DebugString();
  EXPECT_EQ(ro_push.error().category(), v1::ErrorDetail::PERMISSION);
  EXPECT_EQ(ro_push.error().reason(), "MISSING_SCOPE");
  EXPECT_TRUE(absl::StrContains(Stored("readonly-push").last_validation_error(), "write:packages"))
      << Stored("readonly-push").last_validation_error();

  // ... but it is enough for a pull-only config; the near expiry is a warning.
  v1::TestConnectionResponse ro_pull = Test("readonly-pull");
  EXPECT_EQ(ro_pull.result(), v1::VALID) << ro_pull.DebugString();
  EXPECT_EQ(ro_pull.warnings_size(), 1) << ro_pull.DebugString();
  EXPECT_TRUE(ro_pull.has_credential_expire_time());

  v1::TestConnectionResponse revoked = Test("revoked");
  EXPECT_EQ(revoked.result(), v1::INVALID);
  EXPECT_EQ(revoked.error().category(), v1::ErrorDetail::AUTHENTICATION);
  EXPECT_EQ(revoked.error().reason(), "CREDENTIALS_REJECTED");

  const size_t requests_before = github_->requests().size();
  v1::TestConnectionResponse fine = Test("fine");
  EXPECT_EQ(fine.result(), v1::INVALID);
  EXPECT_EQ(fine.error().reason(), "FINE_GRAINED_TOKEN");
  EXPECT_EQ(github_->requests().size(), requests_before);  // refused without asking GitHub
  EXPECT_EQ(Stored("fine").validation_status(), v1::INVALID);
}

// The credential's expiry is stored with the outcome: GitHub's header when it sends one, none
// when it sends none, and none (unknown, not a failure) when the header cannot be read.
TEST_F(GhcrTestConnectionTest, StoresTheCredentialExpiryWithTheResult) {
  Create("push", kPushPat, /*pull_only=*/false);
  Create("readonly-pull", kReadPat, /*pull_only=*/true);
  Create("odd", kOddPat, /*pull_only=*/false);
  EXPECT_FALSE(Stored("readonly-pull").has_credential_expire_time());  // never tested

  EXPECT_EQ(Test("readonly-pull").result(), v1::VALID);
  v1::RegistryConfig pull = Stored("readonly-pull");
  ASSERT_TRUE(pull.has_credential_expire_time()) << pull.DebugString();
  EXPECT_EQ(pull.credential_expire_time().seconds(), absl::ToUnixSeconds(read_pat_expires_));

  EXPECT_EQ(Test("push").result(), v1::VALID);
  EXPECT_FALSE(Stored("push").has_credential_expire_time());

  v1::TestConnectionResponse odd = Test("odd");
  EXPECT_EQ(odd.result(), v1::VALID) << odd.DebugString();
  EXPECT_FALSE(odd.has_credential_expire_time());
  EXPECT_EQ(Stored("odd").validation_status(), v1::VALID);
  EXPECT_FALSE(Stored("odd").has_credential_expire_time());

  // A new secret resets the validation, and the expiry with it.
  v1::UpdateRegistryConfigRequest update;
  update.mutable_registry_config()->set_name("workspaces/acme/registries/readonly-pull");
  update.mutable_registry_config()->set_secret(kPushPat);
  update.mutable_update_mask()->add_paths("secret");
  v1::RegistryConfig updated;
  grpc::Status s = stub_->UpdateRegistryConfig(Ctx().get(), update, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(updated.validation_status(), v1::PENDING);
  EXPECT_FALSE(updated.has_credential_expire_time());
}

}  // namespace
}  // namespace registryauth
