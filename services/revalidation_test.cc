// Revalidator (services/revalidation.h) on the in-memory store, fake probes and a fake clock:
// what a round tests, what it skips instead of waiting for, what it audits, the job lock and the
// gauges. The end-to-end version (real server, PostgreSQL, local GitHub, two replicas) is
// tests/revalidation_e2e_test.cc.
#include "services/revalidation.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/connection_tester.h"
#include "services/credential_service.h"
#include "services/registry_service.h"
#include "services/testing/fake_aead.h"
#include "storage/memory_job_locks.h"
#include "storage/memory_store.h"
#include "upstream/docker_v2_probe.h"

namespace registryauth::services {
namespace {

// Answers every Docker v2 probe VALID, or INVALID for the refused base URLs, after `hook`.
class FakeRegistryProbe final : public upstream::RegistryProbe {
 public:
  upstream::ProbeResult Probe(const upstream::RegistryProbeRequest& request) const override {
    if (hook) hook();
    upstream::ProbeResult r;
    absl::MutexLock lock(&mu_);
    ++probes_[request.base_url];
    if (refused_.count(request.base_url) > 0) {
      r.category = upstream::ProbeCategory::kAuthentication;
      r.reason = "CREDENTIALS_REJECTED";
      r.status = absl::UnauthenticatedError("token: the realm answered 401");
      r.steps = {{"token", false, absl::Milliseconds(1), "the realm refused the password"}};
      return r;
    }
    r.ok = true;
    r.credentials_verified = true;
    r.steps = {{"authenticate", true, absl::Milliseconds(1), "GET /v2/: 200"}};
    return r;
  }
  void Refuse(const std::string& url) {
    absl::MutexLock lock(&mu_);
    refused_[url] = true;
  }
  int probes(const std::string& url) const {
    absl::MutexLock lock(&mu_);
    auto it = probes_.find(url);
    return it == probes_.end() ? 0 : it->second;
  }
  std::function<void()> hook;

 private:
  mutable absl::Mutex mu_;
  mutable std::map<std::string, int> probes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> refused_ ABSL_GUARDED_BY(mu_);
};

class RecordingMetrics final : public RevalidationMetrics {
 public:
  void SetCredentialHealth(
      const std::map<RegistryType, storage::CredentialHealth>& counts) override {
    absl::MutexLock lock(&mu_);
    ++health_updates;
    last_health = counts;
  }
  void OnRound(absl::Time finished) override {
    absl::MutexLock lock(&mu_);
    rounds.push_back(finished);
  }
  absl::Mutex mu_;
  int health_updates = 0;
  std::map<RegistryType, storage::CredentialHealth> last_health;
  std::vector<absl::Time> rounds;
};

std::string Url(int i) { return absl::StrCat("https://registry", i, ".example"); }

class RevalidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.CreateWorkspace("acme", "ACME").ok());
    for (int i = 0; i < 3; ++i) {
      RegistryConfigInput in;
      in.type = in.settings_type = RegistryType::kGeneric;
      in.url = Url(i);
      in.username = "ci";
      in.secret = SecretString(absl::StrCat("password-", i, "-0123456789"));
      ASSERT_TRUE(
          registry_.CreateRegistryConfig("workspaces/acme", absl::StrCat("r", i), std::move(in))
              .ok());
    }
  }

  RevalidationRound Round() {
    absl::StatusOr<RevalidationRound> round = revalidator_.RunRound();
    EXPECT_TRUE(round.ok()) << round.status();
    return round.ok() ? *round : RevalidationRound();
  }
  ValidationStatus StatusOf(int i) {
    return store_.GetRegistryConfig("acme", absl::StrCat("r", i))->validation_status;
  }
  std::vector<AuditEvent> Audit() {
    return store_.ListAuditEvents(AuditFilter{}, 1000, 0)->items;  // newest first
  }

  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  storage::InMemoryRegistryStore store_;
  storage::InMemoryJobLocks locks_;
  testing::FakeAead aead_{7};
  RegistryService registry_{store_, aead_, clock_};
  FakeRegistryProbe probe_;
  ConnectionTester tester_{
      probe_, nullptr, clock_, {.max_concurrent = 1, .max_per_workspace = 1, .max_per_user = 1}};
  CredentialService credentials_{store_, registry_, clock_, RegistryAuthOptions{&tester_}};
  RecordingMetrics metrics_;
  Revalidator revalidator_{store_,   locks_, credentials_, clock_, {.interval = absl::Hours(24)},
                           &metrics_};
};

TEST_F(RevalidatorTest, TestsWhatIsDueAndAuditsOnlyStatusChanges) {
  RevalidationRound first = Round();
  EXPECT_TRUE(first.ran);
  EXPECT_EQ(first.tested, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(StatusOf(i), ValidationStatus::kValid);
  std::vector<AuditEvent> audit = Audit();
  ASSERT_EQ(audit.size(), 3u);  // PENDING -> VALID, each
  EXPECT_EQ(audit[0].caller, kRevalidationCaller);
  EXPECT_EQ(audit[0].action, "TestConnection");
  EXPECT_EQ(audit[0].detail, "VALID");
  EXPECT_TRUE(absl::StartsWith(audit[0].request_id, "revalidation-"));

  // Not due yet: nothing is probed.
  clock_.Advance(absl::Hours(23));
  EXPECT_EQ(Round().tested, 0);
  EXPECT_EQ(probe_.probes(Url(0)), 1);

  // Due again; one registry now refuses: only that change is audited.
  probe_.Refuse(Url(1));
  clock_.Advance(absl::Hours(2));
  RevalidationRound third = Round();
  EXPECT_EQ(third.tested, 3);
  EXPECT_EQ(third.invalid, 1);
  EXPECT_EQ(StatusOf(1), ValidationStatus::kInvalid);
  audit = Audit();
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0].resource, "workspaces/acme/registries/r1");
  EXPECT_TRUE(absl::StartsWith(audit[0].detail, "INVALID CREDENTIALS_REJECTED")) << audit[0].detail;
  // The gauges were refreshed after every round.
  absl::MutexLock lock(&metrics_.mu_);
  EXPECT_EQ(metrics_.health_updates, 3);
  EXPECT_EQ(metrics_.last_health[RegistryType::kGeneric].invalid, 1);
  EXPECT_EQ(metrics_.rounds.size(), 3u);
}

// A tenant's test holding the tester's only slot: the round skips instead of waiting, stores
// nothing, and the next round tests what it skipped.
TEST_F(RevalidatorTest, ABusyTesterIsSkippedNotWaitedFor) {
  absl::Notification entered, release;
  probe_.hook = [&] {
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
  };
  RegistryConfig tenant_config = *store_.GetRegistryConfig("acme", "r0");
  std::thread tenant([&] {
    Credentials creds;
    creds.username = "ci";
    creds.secret = SecretString("p");
    EXPECT_TRUE(tester_.Test(tenant_config, creds, clock_.Now() + absl::Seconds(10), "alice").ok());
  });
  entered.WaitForNotification();
  RevalidationRound busy = Round();
  EXPECT_TRUE(busy.ran);
  EXPECT_EQ(busy.tested, 0);
  EXPECT_EQ(busy.skipped, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(StatusOf(i), ValidationStatus::kPending);
  release.Notify();
  tenant.join();
  probe_.hook = nullptr;
  EXPECT_EQ(Round().tested, 3);
}

// Another holder of the job lock (another replica): no test here, the gauges still refresh.
TEST_F(RevalidatorTest, AHeldLockSkipsTheTestsButNotTheGauges) {
  absl::StatusOr<std::unique_ptr<storage::JobLock>> held = locks_.TryLockJob(kRevalidationJob);
  ASSERT_TRUE(held.ok() && *held != nullptr);
  RevalidationRound round = Round();
  EXPECT_FALSE(round.ran);
  EXPECT_EQ(round.tested, 0);
  EXPECT_EQ(probe_.probes(Url(0)), 0);
  absl::MutexLock lock(&metrics_.mu_);
  EXPECT_EQ(metrics_.health_updates, 1);
  EXPECT_TRUE(metrics_.rounds.empty());
}

TEST_F(RevalidatorTest, StopEndsRoundsAtOnce) {
  revalidator_.Stop();
  RevalidationRound round = Round();
  EXPECT_FALSE(round.ran);
  EXPECT_EQ(probe_.probes(Url(0)), 0);
}

}  // namespace
}  // namespace registryauth::services
