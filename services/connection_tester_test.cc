// TestConnection in services/: ConnectionTester (which probe, which URL, the concurrency bound,
// the deadline) and RegistryAuth::TestConnection (permissions, the stored outcome and its
// audit record, a configuration changed while the test ran), with fake probes and the fake
// store. The real probes against real HTTP servers are tested in upstream/ and, against the
// real Distribution registry, in tests/.
#include "services/connection_tester.h"
#include "common/strings.h"

#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/error_detail.h"
#include "services/registry_auth.h"
#include "services/testing/callers.h"
#include "services/testing/fake_aead.h"
#include "services/testing/registry_auth_stack.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

using auth::Permission;
using upstream::ProbeCategory;
using upstream::ProbeResult;
using upstream::ProbeStep;

constexpr char kPat[] = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
constexpr char kToken[] = "acr-token-0123456789abcdef";

ProbeResult Valid() {
  ProbeResult r;
  r.ok = true;
  r.credentials_verified = true;
  r.steps = {{"ping", true, absl::Milliseconds(3), "registry answered 401 with a Bearer challenge"},
             {"token", true, absl::Milliseconds(5), "token issued"},
             {"authenticate", true, absl::Milliseconds(2), "GET /v2/ with the token: 200"}};
  return r;
}

ProbeResult Rejected() {
  ProbeResult r;
  r.ok = false;
  r.category = ProbeCategory::kAuthentication;
  r.reason = "CREDENTIALS_REJECTED";
  r.status = absl::UnauthenticatedError("token: the realm answered 401");
  r.steps = {{"ping", true, absl::Milliseconds(3), "registry answered 401"},
             {"token", false, absl::Milliseconds(5),
              "the token realm refused the username and password (401); check them"}};
  return r;
}

// A RegistryProbe that records its requests and answers with `answer` (after `hook`).
class FakeRegistryProbe final : public upstream::RegistryProbe {
 public:
  ProbeResult Probe(const upstream::RegistryProbeRequest& request) const override {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back({request.base_url, request.username, std::string(request.password.view()),
                           request.deadline});
    }
    if (hook) hook();
    return answer;
  }
  struct Seen {
    std::string base_url, username, password;
    absl::Time deadline;
  };
  std::vector<Seen> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  ProbeResult answer = Valid();
  std::function<void()> hook;

 private:
  mutable absl::Mutex mu_;
  mutable std::vector<Seen> requests_;
};

// A FakeRegistryProbe hook for the slot tests: counts the tests that reach the registry and
// holds the first `hold` of them (default: all) until Release().
class HeldTests {
 public:
  explicit HeldTests(int hold = std::numeric_limits<int>::max()) : hold_(hold) {}
  std::function<void()> Hook() {
    return [this] {
      bool wait = false;
      {
        absl::MutexLock lock(&mu_);
        wait = ++entered_ <= hold_;
      }
      if (wait) release_.WaitForNotification();
    };
  }
  // Blocks until at least `n` tests have reached the registry.
  void AwaitEntered(int n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    mu_.Await(absl::Condition(this, &HeldTests::Reached));
  }
  void Release() { release_.Notify(); }

 private:
  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= wanted_; }

  const int hold_;
  absl::Mutex mu_;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int wanted_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification release_;
};

// A GENERIC config of `workspace` and credentials for it, for the slot tests.
RegistryConfig GenericConfigIn(const std::string& workspace) {
  RegistryConfig config;
  config.workspace_id = workspace;
  config.id = "gen";
  config.type = RegistryType::kGeneric;
  config.url = "https://registry.example.com";
  return config;
}
Credentials SomeCredentials() {
  Credentials creds;
  creds.username = "u";
  creds.secret = SecretString("p");
  return creds;
}

class FakeGhcrProbe final : public upstream::GhcrProbe {
 public:
  ProbeResult Probe(const upstream::GhcrProbeRequest& request) const override {
    absl::MutexLock lock(&mu_);
    owners.push_back(request.owner);
    needs_push.push_back(request.needs_push);
    pats.push_back(std::string(request.pat.view()));
    return answer;
  }
  ProbeResult answer = Valid();
  mutable absl::Mutex mu_;
  mutable std::vector<std::string> owners, pats;
  mutable std::vector<bool> needs_push;
};

using testing::Caller;

RequestContext Manager() { return Caller("frontend", {Permission::kRegistriesManage}); }
RequestContext User(std::string user) {
  return Caller("frontend", {Permission::kRegistriesManage, Permission::kActAsUser},
                std::move(user));
}

// Mints `build+<n>` / `rbt_<n>` for the one registry host it serves.
class FakeMinter final : public WorkspaceCredentialMinter {
 public:
  bool ServesRegistry(std::string_view host) const override {
    return host == "registry.example:5000";
  }
  absl::StatusOr<Credentials> MintWorkspaceCredential(
      std::string_view workspace_id, const CredentialNarrowing& narrowing) override {
    last_narrowing = narrowing;
    Credentials c;
    c.type = RegistryType::kDistribution;
    c.registry_host = "registry.example:5000";
    c.username = "build+" + std::to_string(++minted);
    c.secret = SecretString("rbt_" + std::to_string(minted));
    c.repository_namespace = std::string(workspace_id);
    if (!narrowing.empty()) c.narrowing = "narrowed: " + absl::StrJoin(narrowing.repositories, ",");
    return c;
  }
  int minted = 0;
  CredentialNarrowing last_narrowing;
};

class TestConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.CreateWorkspace(User("alice"), "acme", "ACME").ok());
    ASSERT_TRUE(api_.CreateMember(User("alice"), "workspaces/acme", "carol", MemberRole::kMember,
                                  MemberStatus::kActive)
                    .ok());
    RegistryConfigInput gh;
    gh.type = gh.settings_type = RegistryType::kGhcr;
    gh.owner = "acme-org";
    gh.secret = SecretString(kPat);
    ASSERT_TRUE(api_.CreateRegistryConfig(Manager(), "workspaces/acme", "gh", std::move(gh)).ok());
    RegistryConfigInput acr;
    acr.type = acr.settings_type = RegistryType::kAcr;
    acr.login_server = "acme.azurecr.io";
    acr.username = "ci-token";
    acr.secret = SecretString(kToken);
    ASSERT_TRUE(
        api_.CreateRegistryConfig(Manager(), "workspaces/acme", "acr", std::move(acr)).ok());
  }

  RegistryConfig Stored(const std::string& id) { return *store_.GetRegistryConfig("acme", id); }

  std::vector<AuditEvent> TestConnectionAudit() {
    std::vector<AuditEvent> out;
    const std::vector<AuditEvent> all = store_.ListAuditEvents(AuditFilter{}, 1000, 0)->items;
    for (const AuditEvent& e : all) {
      if (e.action == "TestConnection") out.push_back(e);
    }
    return out;
  }

  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  testing::FakeAead aead_{7};
  RegistryService registry_{store_, aead_, clock_};
  FakeRegistryProbe v2_;
  FakeGhcrProbe ghcr_;
  ConnectionTester tester_{v2_, &ghcr_, clock_, {.timeout = absl::Seconds(20)}};
  testing::TestRegistryAuth api_{store_, registry_, clock_, &tester_};
};

TEST_F(TestConnectionTest, PlatformRegistryIsTestedWithAMintedCredential) {
  FakeMinter minter;
  RegistryAuthOptions options;
  options.tester = &tester_;
  options.workspace_credentials = &minter;
  testing::TestRegistryAuth api(store_, registry_, clock_, options);
  for (const char* url : {"https://registry.example:5000", "https://elsewhere.example"}) {
    RegistryConfigInput in;
    in.type = in.settings_type = RegistryType::kDistribution;
    in.url = url;
    in.repository_namespace = "acme";
    const std::string id = absl::StrContains(url, "elsewhere") ? "other" : "platform";
    ASSERT_TRUE(api.CreateRegistryConfig(Manager(), "workspaces/acme", id, std::move(in)).ok());
  }
  // No stored secret, yet the handshake runs with a credential minted for it.
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out =
      api.TestConnection(User("alice"), "workspaces/acme/registries/platform");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kValid);
  ASSERT_EQ(v2_.requests().size(), 1u);
  EXPECT_EQ(v2_.requests()[0].base_url, "https://registry.example:5000");
  EXPECT_EQ(v2_.requests()[0].username, "build+1");
  EXPECT_EQ(v2_.requests()[0].password, "rbt_1");
  // GetCredentials mints a new one each time.
  absl::StatusOr<Credentials> c =
      api.GetCredentials(Caller("build-worker", {Permission::kCredentialsRead}),
                         "workspaces/acme/registries/platform");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "build+2");
  // Another registry: its own (missing) credential, INCOMPLETE_CREDENTIALS as before.
  EXPECT_EQ(api.TestConnection(User("alice"), "workspaces/acme/registries/other").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(minter.minted, 2);
}

// Issue 19: GetCredentials hands a narrowing to the minter and records it in the audit row; a
// configuration whose secret is stored cannot be narrowed, and says so instead of ignoring it.
TEST_F(TestConnectionTest, GetCredentialsNarrowsMintedCredentialsOnlyAndAuditsTheNarrowing) {
  FakeMinter minter;
  RegistryAuthOptions options;
  options.tester = &tester_;
  options.workspace_credentials = &minter;
  testing::TestRegistryAuth api(store_, registry_, clock_, options);
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kDistribution;
  in.url = "https://registry.example:5000";
  in.repository_namespace = "acme";
  ASSERT_TRUE(
      api.CreateRegistryConfig(Manager(), "workspaces/acme", "platform", std::move(in)).ok());
  CredentialNarrowing narrowing;
  narrowing.repositories = {"acme/web"};
  narrowing.ttl = absl::Minutes(10);
  const RequestContext worker = Caller("build-worker", {Permission::kCredentialsRead});

  absl::StatusOr<Credentials> c = api.GetCredentials(worker, "workspaces/acme/registries/platform",
                                                     absl::InfiniteFuture(), narrowing);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(minter.last_narrowing.repositories, narrowing.repositories);
  EXPECT_EQ(minter.last_narrowing.ttl, absl::Minutes(10));
  std::vector<AuditEvent> rows = store_.ListAuditEvents(AuditFilter{}, 10, 0)->items;
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().action, "GetCredentials");
  EXPECT_EQ(rows.front().outcome, "OK");
  EXPECT_EQ(rows.front().detail, "narrowed: acme/web");

  // Stored secrets (GHCR, ACR, a DISTRIBUTION elsewhere): INVALID_ARGUMENT, recorded, nothing
  // handed out, the minter not asked.
  const int minted = minter.minted;
  for (const char* name : {"workspaces/acme/registries/gh", "workspaces/acme/registries/acr"}) {
    absl::StatusOr<Credentials> refused =
        api.GetCredentials(worker, name, absl::InfiniteFuture(), narrowing);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "narrowing")) << refused.status();
    rows = store_.ListAuditEvents(AuditFilter{}, 10, 0)->items;
    EXPECT_EQ(rows.front().resource, name);
    EXPECT_EQ(rows.front().outcome, "INVALID_ARGUMENT");
  }
  EXPECT_EQ(minter.minted, minted);
  // Without a narrowing, as before.
  EXPECT_TRUE(api.GetCredentials(worker, "workspaces/acme/registries/gh").ok());
}

TEST_F(TestConnectionTest, ValidResultIsStoredWithItsAuditRecord) {
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out =
      api_.TestConnection(User("alice"), "workspaces/acme/registries/acr");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kValid);
  EXPECT_TRUE(out->recorded);
  EXPECT_EQ(out->test.steps.size(), 3u);
  EXPECT_EQ(out->test.error, "");

  // The Docker v2 handshake on the ACR login server with the stored username and token, ending
  // by the tester's timeout.
  ASSERT_EQ(v2_.requests().size(), 1u);
  EXPECT_EQ(v2_.requests()[0].base_url, "https://acme.azurecr.io");
  EXPECT_EQ(v2_.requests()[0].username, "ci-token");
  EXPECT_EQ(v2_.requests()[0].password, kToken);
  EXPECT_EQ(v2_.requests()[0].deadline, clock_.Now() + absl::Seconds(20));

  RegistryConfig stored = Stored("acr");
  EXPECT_EQ(stored.validation_status, ValidationStatus::kValid);
  EXPECT_EQ(stored.validated_at, clock_.Now());
  EXPECT_EQ(stored.last_validation_error, "");
  EXPECT_EQ(stored.version, 1);  // output-only fields: the etag is unchanged
  std::vector<AuditEvent> audit = TestConnectionAudit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].outcome, "OK");
  EXPECT_EQ(audit[0].detail, "VALID");
  EXPECT_EQ(audit[0].on_behalf_of, "alice");
  EXPECT_EQ(audit[0].resource, "workspaces/acme/registries/acr");
}

// Everything the probe found reaches the result in services' own types.
TEST_F(TestConnectionTest, TheProbesFindingsMapIntoTheResult) {
  ProbeResult answer = Rejected();
  answer.category = ProbeCategory::kNetwork;
  answer.reason = "RATE_LIMITED";
  answer.retryable = true;
  answer.retry_after = absl::Seconds(42);
  answer.credentials_verified = true;
  answer.credential_expires_at = absl::FromUnixSeconds(1800000000);
  answer.warnings = {"the token expires in 9 days"};
  v2_.answer = answer;
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out =
      api_.TestConnection(Manager(), "workspaces/acme/registries/acr");
  ASSERT_TRUE(out.ok()) << out.status();
  const ConnectionTestResult& test = out->test;
  EXPECT_EQ(test.status, ValidationStatus::kInvalid);
  ASSERT_EQ(test.steps.size(), 2u);
  for (size_t i = 0; i < test.steps.size(); ++i) {
    EXPECT_EQ(test.steps[i].name, answer.steps[i].name);
    EXPECT_EQ(test.steps[i].ok, answer.steps[i].ok);
    EXPECT_EQ(test.steps[i].duration, answer.steps[i].duration);
    EXPECT_EQ(test.steps[i].detail, answer.steps[i].detail);
  }
  EXPECT_EQ(test.failure.reason, "RATE_LIMITED");
  EXPECT_EQ(test.failure.category, ErrorCategory::kNetwork);
  EXPECT_TRUE(test.failure.retryable);
  EXPECT_EQ(test.failure.retry_after, absl::Seconds(42));
  EXPECT_TRUE(test.credentials_verified);
  EXPECT_EQ(test.credential_expires_at, absl::FromUnixSeconds(1800000000));
  EXPECT_EQ(test.warnings, answer.warnings);

  v2_.answer = Valid();
  out = api_.TestConnection(Manager(), "workspaces/acme/registries/acr");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kValid);
  EXPECT_EQ(out->test.failure.reason, "");
  EXPECT_EQ(out->test.failure.category, ErrorCategory::kUnspecified);
}

TEST_F(TestConnectionTest, RejectedCredentialIsAnInvalidResultNotAnError) {
  v2_.answer = Rejected();
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out =
      api_.TestConnection(Manager(), "workspaces/acme/registries/acr");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kInvalid);
  EXPECT_EQ(out->test.failure.reason, "CREDENTIALS_REJECTED");
  EXPECT_TRUE(absl::StartsWith(out->test.error, "token: the token realm refused"))
      << out->test.error;
  RegistryConfig stored = Stored("acr");
  EXPECT_EQ(stored.validation_status, ValidationStatus::kInvalid);
  EXPECT_EQ(stored.last_validation_error, out->test.error);
  std::vector<AuditEvent> audit = TestConnectionAudit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(audit[0].detail, "INVALID CREDENTIALS_REJECTED: token:"))
      << audit[0].detail;
  // No secret anywhere in what was stored.
  EXPECT_FALSE(absl::StrContains(audit[0].detail, kToken));
  EXPECT_FALSE(absl::StrContains(stored.last_validation_error, kToken));

  // Fixed: VALID again, and the error is cleared.
  v2_.answer = Valid();
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(api_.TestConnection(Manager(), "workspaces/acme/registries/acr").ok());
  stored = Stored("acr");
  EXPECT_EQ(stored.validation_status, ValidationStatus::kValid);
  EXPECT_EQ(stored.validated_at, clock_.Now());
  EXPECT_EQ(stored.last_validation_error, "");
}

TEST_F(TestConnectionTest, GhcrGoesToTheGhcrProbeWithTheScopeItNeeds) {
  ASSERT_TRUE(api_.TestConnection(Manager(), "workspaces/acme/registries/gh").ok());
  RegistryConfigInput pull;
  pull.type = pull.settings_type = RegistryType::kGhcr;
  pull.owner = "acme-org";
  pull.pull_only = true;
  pull.secret = SecretString(kPat);
  ASSERT_TRUE(
      api_.CreateRegistryConfig(Manager(), "workspaces/acme", "ghpull", std::move(pull)).ok());
  ASSERT_TRUE(api_.TestConnection(Manager(), "workspaces/acme/registries/ghpull").ok());
  absl::MutexLock lock(&ghcr_.mu_);
  ASSERT_EQ(ghcr_.owners.size(), 2u);
  EXPECT_EQ(ghcr_.owners[0], "acme-org");
  EXPECT_EQ(ghcr_.pats[0], kPat);
  EXPECT_TRUE(ghcr_.needs_push[0]);
  EXPECT_FALSE(ghcr_.needs_push[1]);
  EXPECT_TRUE(v2_.requests().empty());
}

TEST_F(TestConnectionTest, GhcrWithoutAGhcrProbeUsesTheV2HandshakeOnTheConfiguredHost) {
  ConnectionTester plain(v2_, nullptr, clock_, {.ghcr_base_url = "http://127.0.0.1:1"});
  testing::TestRegistryAuth api(store_, registry_, clock_, &plain);
  ASSERT_TRUE(api.TestConnection(Manager(), "workspaces/acme/registries/gh").ok());
  ASSERT_EQ(v2_.requests().size(), 1u);
  EXPECT_EQ(v2_.requests()[0].base_url, "http://127.0.0.1:1");
  EXPECT_EQ(v2_.requests()[0].username, "acme-org");
}

TEST_F(TestConnectionTest, AConfigChangedDuringTheTestKeepsItsPendingStatus) {
  v2_.hook = [&] {
    RegistryConfigInput change;
    change.secret = SecretString("a-new-token-0123456789");
    ASSERT_TRUE(api_.UpdateRegistryConfig(Manager(), "workspaces/acme/registries/acr",
                                          std::move(change), {"secret"}, "")
                    .ok());
  };
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> out =
      api_.TestConnection(Manager(), "workspaces/acme/registries/acr");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->test.status, ValidationStatus::kValid);
  EXPECT_FALSE(out->recorded);
  RegistryConfig stored = Stored("acr");
  EXPECT_EQ(stored.validation_status, ValidationStatus::kPending);
  EXPECT_FALSE(stored.validated_at.has_value());
  EXPECT_EQ(TestConnectionAudit().size(), 1u);  // the attempt is on record all the same
}

TEST_F(TestConnectionTest, RefusalsAreAuditedAndTestNothing) {
  absl::Status member =
      api_.TestConnection(User("carol"), "workspaces/acme/registries/acr").status();
  EXPECT_EQ(member.code(), absl::StatusCode::kPermissionDenied);
  absl::Status missing = api_.TestConnection(Manager(), "workspaces/acme/registries/nope").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(api_.TestConnection(Manager(), "not a name").status().code(),
            absl::StatusCode::kInvalidArgument);
  // No secret stored: incomplete, reason INCOMPLETE_CREDENTIALS.
  RegistryConfigInput dist;
  dist.type = dist.settings_type = RegistryType::kDistribution;
  dist.url = "https://registry.example.com";
  dist.repository_namespace = "acme";
  ASSERT_TRUE(
      api_.CreateRegistryConfig(Manager(), "workspaces/acme", "dist", std::move(dist)).ok());
  absl::Status incomplete =
      api_.TestConnection(Manager(), "workspaces/acme/registries/dist").status();
  EXPECT_EQ(incomplete.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(GetErrorDetail(incomplete).has_value());
  EXPECT_EQ(GetErrorDetail(incomplete)->reason, kReasonIncompleteCredentials);

  EXPECT_TRUE(v2_.requests().empty());
  std::vector<AuditEvent> audit = TestConnectionAudit();
  ASSERT_EQ(audit.size(), 3u);                       // the malformed name never reached a resource
  EXPECT_EQ(audit[2].outcome, "PERMISSION_DENIED");  // newest first
  EXPECT_EQ(audit[1].outcome, "NOT_FOUND");
  EXPECT_EQ(audit[0].outcome, "FAILED_PRECONDITION");
  EXPECT_EQ(Stored("acr").validation_status, ValidationStatus::kPending);
}

TEST_F(TestConnectionTest, DatabaseDownWhileStoringIsUnavailable) {
  store_.set_fail_audit_appends(true);
  absl::Status s = api_.TestConnection(Manager(), "workspaces/acme/registries/acr").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(GetErrorDetail(s).has_value());
  EXPECT_EQ(GetErrorDetail(s)->reason, kReasonDatabaseUnavailable);
  EXPECT_TRUE(GetErrorDetail(s)->retryable);
  store_.set_fail_audit_appends(false);
  EXPECT_EQ(Stored("acr").validation_status, ValidationStatus::kPending);
}

TEST(ConnectionTesterTest, AtMostMaxConcurrentTestsRun) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  FakeRegistryProbe v2;
  absl::Notification entered, release;
  v2.hook = [&] {
    entered.Notify();
    release.WaitForNotification();
  };
  ConnectionTester tester(v2, nullptr, clock, {.max_concurrent = 1});
  RegistryConfig config;
  config.workspace_id = "acme";
  config.id = "gen";
  config.type = RegistryType::kGeneric;
  config.url = "https://registry.example.com";
  Credentials creds;
  creds.username = "u";
  creds.secret = SecretString("p");
  std::thread first([&] {
    absl::StatusOr<ConnectionTestResult> r = tester.Test(config, creds, absl::InfiniteFuture());
    EXPECT_TRUE(r.ok()) << r.status();
  });
  entered.WaitForNotification();
  EXPECT_EQ(tester.running(), 1);
  absl::StatusOr<ConnectionTestResult> second = tester.Test(config, creds, absl::InfiniteFuture());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(GetErrorDetail(second.status()).has_value());
  EXPECT_TRUE(GetErrorDetail(second.status())->retryable);
  EXPECT_GT(GetErrorDetail(second.status())->retry_after, absl::ZeroDuration());
  release.Notify();
  first.join();
  EXPECT_EQ(tester.running(), 0);
  v2.hook = nullptr;
  EXPECT_TRUE(tester.Test(config, creds, absl::InfiniteFuture()).ok());  // the slot came back
  ASSERT_EQ(v2.requests().size(), 2u);
  EXPECT_EQ(v2.requests()[1].base_url, "https://registry.example.com");
}

TEST(ConnectionTesterTest, OneWorkspaceCannotTakeEverySlot) {
  // Issue 17: the slots were shared by all tenants. At most max_per_workspace tests of one
  // workspace run at once; another workspace still gets its tests run.
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  FakeRegistryProbe v2;
  HeldTests held;
  v2.hook = held.Hook();
  ConnectionTester tester(v2, nullptr, clock, {.max_concurrent = 8, .max_per_workspace = 2});
  const auto config_of = GenericConfigIn;
  const Credentials creds = SomeCredentials();
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back(
        [&] { EXPECT_TRUE(tester.Test(config_of("greedy"), creds, absl::InfiniteFuture()).ok()); });
  }
  held.AwaitEntered(2);
  for (int i = 0; i < 8; ++i) {  // the greedy workspace's 3rd..10th tests are refused at once
    absl::StatusOr<ConnectionTestResult> more =
        tester.Test(config_of("greedy"), creds, absl::InfiniteFuture());
    EXPECT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted);
    ASSERT_TRUE(GetErrorDetail(more.status()).has_value());
    EXPECT_TRUE(GetErrorDetail(more.status())->retryable);
  }
  EXPECT_EQ(tester.running(), 2);
  // Another workspace's test gets a slot and reaches the registry.
  std::thread other(
      [&] { EXPECT_TRUE(tester.Test(config_of("patient"), creds, absl::InfiniteFuture()).ok()); });
  held.AwaitEntered(3);
  EXPECT_EQ(tester.running(), 3);
  held.Release();
  for (std::thread& t : slow) t.join();
  other.join();
  EXPECT_EQ(tester.running(), 0);
  // The slots came back: the greedy workspace may test again.
  EXPECT_TRUE(tester.Test(config_of("greedy"), creds, absl::InfiniteFuture()).ok());
}

TEST(ConnectionTesterTest, OneUserCannotTakeEverySlotWithManyWorkspaces) {
  // Review of issue 17: any user may create workspaces, so a per-workspace bound alone let one
  // user with max_concurrent / max_per_workspace workspaces (4 by default) hold every slot with
  // slow registries of their own. At most max_per_user tests run at once for one acting user,
  // whichever workspaces they are in; another user's test still runs.
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  FakeRegistryProbe v2;
  HeldTests held;
  v2.hook = held.Hook();
  ConnectionTester tester(v2, nullptr, clock, {.max_concurrent = 8, .max_per_workspace = 2});
  const auto config_of = GenericConfigIn;
  const Credentials creds = SomeCredentials();
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back([&, i] {
      EXPECT_TRUE(tester
                      .Test(config_of(Cat("greedy-", i)), creds, absl::InfiniteFuture(),
                            /*acting_user=*/"mallory")
                      .ok());
    });
  }
  held.AwaitEntered(2);
  // Mallory's tests in her 3rd..10th workspaces are refused at once, though each of those
  // workspaces runs nothing yet.
  for (int i = 2; i < 10; ++i) {
    absl::StatusOr<ConnectionTestResult> more =
        tester.Test(config_of(Cat("greedy-", i)), creds, absl::InfiniteFuture(), "mallory");
    EXPECT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted);
    ASSERT_TRUE(GetErrorDetail(more.status()).has_value());
    EXPECT_TRUE(GetErrorDetail(more.status())->retryable);
  }
  EXPECT_EQ(tester.running(), 2);
  // Another user's test gets a slot and reaches the registry.
  std::thread other([&] {
    EXPECT_TRUE(tester.Test(config_of("patient"), creds, absl::InfiniteFuture(), "pat").ok());
  });
  held.AwaitEntered(3);
  EXPECT_EQ(tester.running(), 3);
  held.Release();
  for (std::thread& t : slow) t.join();
  other.join();
  EXPECT_EQ(tester.running(), 0);
  // The slots came back: mallory may test again.
  EXPECT_TRUE(tester.Test(config_of("greedy-7"), creds, absl::InfiniteFuture(), "mallory").ok());
}

TEST_F(TestConnectionTest, TheActingUsersTestsAreBoundedAcrossTheirWorkspaces) {
  // RegistryAuth hands the tester the user the caller acts for: alice's tests in two
  // workspaces count against one bound (max_per_user defaults to max_per_workspace, 2).
  ASSERT_TRUE(api_.CreateWorkspace(User("alice"), "acme2", "ACME 2").ok());
  RegistryConfigInput acr;
  acr.type = acr.settings_type = RegistryType::kAcr;
  acr.login_server = "acme2.azurecr.io";
  acr.username = "ci-token";
  acr.secret = SecretString(kToken);
  ASSERT_TRUE(api_.CreateRegistryConfig(Manager(), "workspaces/acme2", "acr", std::move(acr)).ok());
  HeldTests held(/*hold=*/2);  // only the first two tests wait for Release()
  v2_.hook = held.Hook();
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back([&] {
      EXPECT_TRUE(api_.TestConnection(User("alice"), "workspaces/acme/registries/acr",
                                      absl::InfiniteFuture())
                      .ok());
    });
  }
  held.AwaitEntered(2);
  absl::StatusOr<RegistryAuth::TestConnectionOutcome> third =
      api_.TestConnection(User("alice"), "workspaces/acme2/registries/acr", absl::InfiniteFuture());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  // A caller acting for no user is not bound per user (only per workspace and in total).
  std::thread direct([&] {
    EXPECT_TRUE(
        api_.TestConnection(Manager(), "workspaces/acme2/registries/acr", absl::InfiniteFuture())
            .ok());
  });
  held.AwaitEntered(3);
  held.Release();
  for (std::thread& t : slow) t.join();
  direct.join();
  EXPECT_EQ(tester_.running(), 0);
}

TEST(ConnectionTesterTest, DeadlineIsTheEarlierOfTheCallersAndTheTimeout) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  FakeRegistryProbe v2;
  ConnectionTester tester(v2, nullptr, clock, {.timeout = absl::Seconds(30)});
  RegistryConfig config;
  config.type = RegistryType::kGeneric;
  config.url = "https://registry.example.com";
  Credentials creds;
  ASSERT_TRUE(tester.Test(config, creds, clock.Now() + absl::Seconds(5)).ok());
  ASSERT_TRUE(tester.Test(config, creds, clock.Now() + absl::Hours(5)).ok());
  ASSERT_EQ(v2.requests().size(), 2u);
  EXPECT_EQ(v2.requests()[0].deadline, clock.Now() + absl::Seconds(5));
  EXPECT_EQ(v2.requests()[1].deadline, clock.Now() + absl::Seconds(30));
  EXPECT_EQ(tester.Test(config, creds, clock.Now()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(v2.requests().size(), 2u);
}

// Records what the tester reports, as "type/outcome/category".
class RecordingTestMetrics final : public ConnectionTestMetrics {
 public:
  void OnConnectionTest(RegistryType type, Outcome outcome, ErrorCategory category) override {
    absl::MutexLock lock(&mu_);
    seen_.push_back(Cat(Name(type), "/", Name(outcome), "/", Name(category)));
  }
  std::vector<std::string> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> seen_;
};

TEST(ConnectionTesterTest, ReportsEveryOutcomeByTypeAndCategory) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  FakeRegistryProbe v2;
  FakeGhcrProbe ghcr;
  RecordingTestMetrics metrics;
  ConnectionTesterOptions options;
  options.metrics = &metrics;
  ConnectionTester tester(v2, &ghcr, clock, options);
  RegistryConfig acr;
  acr.type = RegistryType::kAcr;
  acr.login_server = "acme.azurecr.io";
  RegistryConfig gh;
  gh.type = RegistryType::kGhcr;
  gh.owner = "acme-org";
  RegistryConfig app;
  app.type = RegistryType::kGitHubApp;
  Credentials creds;
  creds.secret = SecretString(kToken);

  ASSERT_TRUE(tester.Test(acr, creds, absl::InfiniteFuture()).ok());
  v2.answer = Rejected();
  ASSERT_TRUE(tester.Test(acr, creds, absl::InfiniteFuture()).ok());
  ghcr.answer = Rejected();
  ghcr.answer.category = ProbeCategory::kPermission;
  ASSERT_TRUE(tester.Test(gh, creds, absl::InfiniteFuture()).ok());
  ghcr.answer.category = ProbeCategory::kNetwork;
  ASSERT_TRUE(tester.Test(gh, creds, absl::InfiniteFuture()).ok());
  // Errors: the test did not run.
  EXPECT_FALSE(tester.Test(acr, creds, clock.Now()).ok());             // deadline passed
  EXPECT_FALSE(tester.Test(app, creds, absl::InfiniteFuture()).ok());  // no token source

  EXPECT_EQ(metrics.seen(), (std::vector<std::string>{
                                "acr/valid/none",
                                "acr/invalid/authentication",
                                "ghcr/invalid/permission",
                                "ghcr/invalid/network",
                                "acr/error/none",
                                "github_app/error/registry",
                            }));
  // Nothing else in a label: the reporting interface takes enums only.
}

}  // namespace
}  // namespace registryauth::services
