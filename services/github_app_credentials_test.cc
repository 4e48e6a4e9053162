// GITHUB_APP configurations in services/: GetCredentials exchanging the stored App key for an
// installation token (through a fake InstallationTokenSource), its errors and audit records,
// and TestConnection asking for a fresh token. The real token source against a scripted GitHub
// is tested in upstream/github_app_test and, through the real server, in tests/.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "crypto/jwk_test_util.h"
#include "crypto/jws.h"
#include "gtest/gtest.h"
#include "services/connection_tester.h"
#include "services/credentials.h"
#include "services/error_detail.h"
#include "services/registry_auth.h"
#include "services/testing/fake_aead.h"
#include "services/testing/registry_auth_stack.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"
#include "upstream/github.h"

namespace registryauth::services {
namespace {

using auth::Permission;
using upstream::GitHubAppInstallation;
using upstream::InstallationToken;

// Records every request; answers with `answer`.
class FakeTokenSource final : public upstream::InstallationTokenSource {
 public:
  struct Seen {
    std::string app_id;
    int64_t installation_id;
    std::string key;
    std::vector<std::string> repositories;
    std::vector<std::pair<std::string, std::string>> permissions;
    absl::Time deadline;
    bool fresh;
  };
  absl::StatusOr<InstallationToken> GetToken(const GitHubAppInstallation& app,
                                             absl::Time deadline) override {
    return Record(app, deadline, false);
  }
  absl::StatusOr<InstallationToken> GetFreshToken(const GitHubAppInstallation& app,
                                                  absl::Time deadline) override {
    return Record(app, deadline, true);
  }
  std::vector<Seen> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  absl::StatusOr<InstallationToken> answer;

 private:
  absl::StatusOr<InstallationToken> Record(const GitHubAppInstallation& app, absl::Time deadline,
                                           bool fresh) {
    absl::MutexLock lock(&mu_);
    seen_.push_back({app.app_id, app.installation_id, std::string(app.private_key_pem.view()),
                     app.repositories, app.permissions, deadline, fresh});
    return answer;
  }
  absl::Mutex mu_;
  std::vector<Seen> seen_;
};

class NoProbe final : public upstream::RegistryProbe {
 public:
  upstream::ProbeResult Probe(const upstream::RegistryProbeRequest&) const override {
    ADD_FAILURE() << "GITHUB_APP must not use the registry probe";
    return {};
  }
};

RequestContext Caller(std::set<Permission> perms) {
  RequestContext ctx;
  ctx.caller.name = "worker";
  ctx.caller.identity = "spiffe://example.org/worker";
  ctx.caller.permissions = std::move(perms);
  ctx.request_id = "req-1";
  ctx.peer = "ipv4:127.0.0.1:1";
  return ctx;
}
RequestContext Worker() { return Caller({Permission::kCredentialsRead}); }
RequestContext Manager() { return Caller({Permission::kRegistriesManage}); }

constexpr char kName[] = "workspaces/acme/registries/app";
constexpr char kInstallationToken[] = "ghs_InstallationToken0123456789abcdef";

class GitHubAppCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.CreateWorkspace("acme", "ACME", "").ok());
    RegistryConfigInput in;
    in.type = in.settings_type = RegistryType::kGitHubApp;
    in.app_id = "Iv23liAbCdEf12345678";
    in.installation_id = 4242;
    in.repositories = {"web", "api"};
    in.permissions = {{"contents", "read"}};
    in.secret = crypto::testing::SharedRsaKeyPem();
    ASSERT_TRUE(api_.CreateRegistryConfig(Manager(), "workspaces/acme", "app", in).ok());
    InstallationToken t;
    t.token = SecretString(kInstallationToken);
    t.expires_at = clock_.Now() + absl::Hours(1);
    tokens_.answer = t;
  }

  std::vector<AuditEvent> Audit(std::string_view action) {
    std::vector<AuditEvent> out;
    const std::vector<AuditEvent> all = store_.ListAuditEvents(AuditFilter{}, 1000, 0)->items;
    for (const AuditEvent& e : all) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }

  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  testing::FakeAead aead_{7};
  RegistryService registry_{store_, aead_, clock_};
  FakeTokenSource tokens_;
  NoProbe v2_;
  ConnectionTester tester_{v2_, nullptr, &tokens_, clock_, {.timeout = absl::Seconds(20)}};
  testing::TestRegistryAuth api_{
      store_, registry_, clock_,
      RegistryAuthOptions{&tester_, &tokens_, "github.example.com", absl::Seconds(15)}};
};

TEST_F(GitHubAppCredentialsTest, GetCredentialsHandsOutAnInstallationTokenNeverTheKey) {
  absl::StatusOr<Credentials> c =
      api_.GetCredentials(Worker(), kName, clock_.Now() + absl::Minutes(1));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, RegistryType::kGitHubApp);
  EXPECT_EQ(c->registry_host, "github.example.com");
  EXPECT_EQ(c->username, "x-access-token");
  EXPECT_EQ(c->secret.view(), kInstallationToken);
  ASSERT_TRUE(c->expire_time.has_value());
  EXPECT_EQ(*c->expire_time, clock_.Now() + absl::Hours(1));

  // The source got the stored App, its decrypted key and the sorted narrowing, from the cache
  // (not fresh), by the earlier of the caller's deadline and the upstream timeout.
  std::vector<FakeTokenSource::Seen> seen = tokens_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].app_id, "Iv23liAbCdEf12345678");
  EXPECT_EQ(seen[0].installation_id, 4242);
  EXPECT_EQ(seen[0].key, crypto::testing::SharedRsaKeyPem().view());
  EXPECT_EQ(seen[0].repositories, (std::vector<std::string>{"api", "web"}));
  EXPECT_EQ(seen[0].permissions,
            (std::vector<std::pair<std::string, std::string>>{{"contents", "read"}}));
  EXPECT_FALSE(seen[0].fresh);
  EXPECT_EQ(seen[0].deadline, clock_.Now() + absl::Seconds(15));
  ASSERT_TRUE(api_.GetCredentials(Worker(), kName, clock_.Now() + absl::Seconds(3)).ok());
  EXPECT_EQ(tokens_.seen()[1].deadline, clock_.Now() + absl::Seconds(3));

  std::vector<AuditEvent> audit = Audit("GetCredentials");
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].outcome, "OK");
  EXPECT_EQ(audit[0].resource, kName);
}

TEST_F(GitHubAppCredentialsTest, GitHubRefusalsKeepTheirReasonAndAreAudited) {
  struct Case {
    absl::Status status;
    upstream::UpstreamFailure failure;
  };
  const std::vector<Case> cases = {
      {absl::UnauthenticatedError("GitHub rejected the App's JWT (401)"),
       {upstream::ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED", false,
        absl::ZeroDuration()}},
      {absl::NotFoundError("the GitHub App installation 4242 was not found"),
       {upstream::ProbeCategory::kAuthentication, "INSTALLATION_NOT_FOUND", false,
        absl::ZeroDuration()}},
      {absl::ResourceExhaustedError("GitHub's rate limit is exhausted"),
       {upstream::ProbeCategory::kNetwork, "RATE_LIMITED", true, absl::Seconds(42)}},
  };
  for (const Case& k : cases) {
    tokens_.answer = upstream::WithUpstreamFailure(k.status, k.failure);
    absl::StatusOr<Credentials> c = api_.GetCredentials(Worker(), kName);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), k.status.code());
    EXPECT_EQ(c.status().message(), k.status.message());
    std::optional<ErrorDetail> d = GetErrorDetail(c.status());
    ASSERT_TRUE(d.has_value()) << c.status();
    EXPECT_EQ(d->reason, k.failure.reason);
    EXPECT_EQ(static_cast<int>(d->category), static_cast<int>(k.failure.category));
    EXPECT_EQ(d->retryable, k.failure.retryable);
    EXPECT_EQ(d->retry_after, k.failure.retry_after);
  }
  std::vector<AuditEvent> audit = Audit("GetCredentials");
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].outcome, "RESOURCE_EXHAUSTED");  // newest first
  EXPECT_EQ(audit[1].outcome, "NOT_FOUND");
  EXPECT_EQ(audit[2].outcome, "UNAUTHENTICATED");
  const std::string pem(crypto::testing::SharedRsaKeyPem().view());
  for (const AuditEvent& e : audit) {
    EXPECT_FALSE(absl::StrContains(e.detail, pem.substr(40, 32)));
  }
}

TEST_F(GitHubAppCredentialsTest, WithoutATokenSourceGitHubAppIsUnsupported) {
  testing::TestRegistryAuth plain(store_, registry_, clock_);
  absl::Status s = plain.GetCredentials(Worker(), kName).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(GetErrorDetail(s).has_value());
  EXPECT_EQ(GetErrorDetail(s)->reason, kReasonUnsupportedRegistryType);
  EXPECT_FALSE(absl::StrContains(s.message(), "BEGIN"));

  NoProbe v2;
  ConnectionTester no_app(v2, nullptr, clock_);
  testing::TestRegistryAuth api(store_, registry_, clock_, &no_app);
  s = api.TestConnection(Manager(), kName).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(tokens_.seen().empty());
}

TEST_F(GitHubAppCredentialsTest, TestConnectionAsksForAFreshTokenAndRecordsTheOutcome) {
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out = api_.TestConnection(Manager(), kName);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kValid);
  EXPECT_TRUE(out->recorded);
  EXPECT_TRUE(out->test.credentials_verified);
  ASSERT_EQ(out->test.steps.size(), 1u);
  EXPECT_EQ(out->test.steps[0].name, "installation_token");
  EXPECT_TRUE(out->test.steps[0].ok);
  EXPECT_TRUE(absl::StrContains(out->test.steps[0].detail, "installation 4242"))
      << out->test.steps[0].detail;
  EXPECT_FALSE(absl::StrContains(out->test.steps[0].detail, kInstallationToken));
  std::vector<FakeTokenSource::Seen> seen = tokens_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].fresh);
  EXPECT_EQ(seen[0].deadline, clock_.Now() + absl::Seconds(20));
  EXPECT_EQ(store_.GetRegistryConfig("acme", "app")->validation_status, ValidationStatus::kValid);

  // The installation was removed: INVALID, with GitHub's reason, stored and audited.
  tokens_.answer = upstream::WithUpstreamFailure(
      absl::NotFoundError("the GitHub App installation 4242 was not found; is the App still "
                          "installed on the account?"),
      {upstream::ProbeCategory::kAuthentication, "INSTALLATION_NOT_FOUND", false,
       absl::ZeroDuration()});
  clock_.Advance(absl::Minutes(1));
  out = api_.TestConnection(Manager(), kName);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kInvalid);
  EXPECT_EQ(out->test.failure.reason, "INSTALLATION_NOT_FOUND");
  EXPECT_EQ(out->test.failure.category, ErrorCategory::kAuthentication);
  EXPECT_FALSE(out->test.steps[0].ok);
  RegistryConfig stored = *store_.GetRegistryConfig("acme", "app");
  EXPECT_EQ(stored.validation_status, ValidationStatus::kInvalid);
  EXPECT_TRUE(absl::StartsWith(stored.last_validation_error,
                               "installation_token: the GitHub App installation 4242"))
      << stored.last_validation_error;
  std::vector<AuditEvent> audit = Audit("TestConnection");
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(audit[0].detail, "INVALID INSTALLATION_NOT_FOUND"))
      << audit[0].detail;
}

TEST(GitHubHostOfTest, PublicGitHubAndEnterpriseServer) {
  EXPECT_EQ(GitHubHostOf("https://api.github.com"), "github.com");
  EXPECT_EQ(GitHubHostOf("https://api.github.com/"), "github.com");
  EXPECT_EQ(GitHubHostOf("https://github.acme.internal/api/v3"), "github.acme.internal");
  EXPECT_EQ(GitHubHostOf("http://127.0.0.1:8443/api/v3"), "127.0.0.1:8443");
}

}  // namespace
}  // namespace registryauth::services
