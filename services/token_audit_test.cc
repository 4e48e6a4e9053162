// The token issuance audit (services/token_audit.h): the bounded queue and its batch writer on
// an in-memory store (FailingRegistryStore for outages), a fake clock for the drop log, and the
// issuer's choice of what is recorded (push and delete, never pull-only).
// (The whole path over real HTTP and PostgreSQL: tests/realm_e2e_test.cc.)
#include "services/token_audit.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/testing/token_realm_fixture.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

using namespace testing;  // NOLINT(build/namespaces): the fixture's helpers

// Counts the drops as the server's metrics do.
class CountingMetrics final : public TokenAuditMetrics {
 public:
  void OnTokenAuditDropped(DropReason reason, int64_t count) override {
    absl::MutexLock lock(&mu_);
    counts_[reason] += count;
  }
  int64_t count(DropReason reason) {
    absl::MutexLock lock(&mu_);
    return counts_[reason];
  }

 private:
  absl::Mutex mu_;
  std::map<DropReason, int64_t> counts_;
};

TokenAuditEntry Entry(int i, absl::Time time) {
  return {time,
          "req-" + std::to_string(i),
          "acme+builder",
          "workspaces/acme/serviceAccounts/builder",
          "repository:acme/web:pull,push",
          "http:10.0.0." + std::to_string(i % 250)};
}

std::vector<AuditEvent> AllEvents(storage::RegistryStore& store) {
  absl::StatusOr<Page<AuditEvent>> page = store.ListAuditEvents({}, 1000, 0);
  EXPECT_TRUE(page.ok()) << page.status();
  if (!page.ok()) return {};
  return std::vector<AuditEvent>(page->items.rbegin(), page->items.rend());  // oldest first
}

class TokenAuditQueueTest : public ::testing::Test {
 protected:
  TokenAuditQueueTest() : clock_(absl::FromUnixSeconds(1800000000)), failing_(memory_) {}

  TokenAuditOptions Options(size_t capacity, size_t batch) {
    TokenAuditOptions o;
    o.capacity = capacity;
    o.batch_size = batch;
    return o;
  }

  FakeClock clock_;
  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore failing_;
  CountingMetrics metrics_;
};

TEST_F(TokenAuditQueueTest, FlushWritesEveryEntryAsAnIssueRegistryTokenRowInOrder) {
  TokenAuditQueue audit(failing_, clock_, Options(100, 3), &metrics_);
  for (int i = 0; i < 7; ++i) audit.Record(Entry(i, clock_.Now() + absl::Seconds(i)));
  EXPECT_EQ(audit.pending(), 7u);
  EXPECT_TRUE(AllEvents(memory_).empty()) << "nothing is written on the request path";
  EXPECT_EQ(audit.Flush(), 7u);  // three batches: 3, 3, 1
  EXPECT_EQ(audit.pending(), 0u);
  const std::vector<AuditEvent> rows = AllEvents(memory_);
  ASSERT_EQ(rows.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    const AuditEvent& e = rows[i];
    EXPECT_EQ(e.action, "IssueRegistryToken");
    EXPECT_EQ(e.caller, "acme+builder");
    EXPECT_EQ(e.resource, "workspaces/acme/serviceAccounts/builder");
    EXPECT_EQ(e.outcome, "OK");
    EXPECT_EQ(e.detail, "granted repository:acme/web:pull,push");
    EXPECT_EQ(e.request_id, "req-" + std::to_string(i));
    EXPECT_EQ(e.peer, "http:10.0.0." + std::to_string(i));
    EXPECT_EQ(e.time, clock_.Now() + absl::Seconds(i));
  }
  EXPECT_EQ(audit.Flush(), 0u);
  EXPECT_EQ(audit.dropped(), 0);
}

// Never blocking: a full queue drops the entry at once, counts it and logs it (once).
TEST_F(TokenAuditQueueTest, AFullQueueDropsCountsAndLogsOncePerInterval) {
  TokenAuditQueue audit(failing_, clock_, Options(5, 500), &metrics_);
  for (int i = 0; i < 8; ++i) audit.Record(Entry(i, clock_.Now()));
  EXPECT_EQ(audit.pending(), 5u);
  EXPECT_EQ(audit.dropped(), 3);
  EXPECT_EQ(metrics_.count(TokenAuditMetrics::DropReason::kQueueFull), 3);
  EXPECT_EQ(audit.drop_log_lines(), 1) << "the first drop is logged at once";
  // More drops within the minute: counted, not logged again.
  for (int i = 0; i < 4; ++i) audit.Record(Entry(i, clock_.Now()));
  EXPECT_EQ(audit.dropped(), 7);
  clock_.Advance(absl::Seconds(59));
  audit.Record(Entry(9, clock_.Now()));
  EXPECT_EQ(audit.drop_log_lines(), 1);
  // A minute after the last line, the next drop logs the count since then.
  clock_.Advance(absl::Seconds(1));
  audit.Record(Entry(10, clock_.Now()));
  EXPECT_EQ(audit.drop_log_lines(), 2);
  EXPECT_EQ(metrics_.count(TokenAuditMetrics::DropReason::kQueueFull), 9);
  // The queued five are still written; room again afterwards.
  EXPECT_EQ(audit.Flush(), 5u);
  audit.Record(Entry(11, clock_.Now()));
  EXPECT_EQ(audit.pending(), 1u);
  EXPECT_EQ(audit.dropped(), 9);
}

// A batch the store refuses is dropped (not retried), counted and logged; the next one goes in.
TEST_F(TokenAuditQueueTest, AFailedWriteIsCountedNotSilentAndTheNextBatchIsWritten) {
  TokenAuditQueue audit(failing_, clock_, Options(100, 4), &metrics_);
  for (int i = 0; i < 6; ++i) audit.Record(Entry(i, clock_.Now()));
  failing_.set_fail_audit_appends(true);
  EXPECT_EQ(audit.Flush(), 0u);
  EXPECT_EQ(audit.dropped(), 6);
  EXPECT_EQ(metrics_.count(TokenAuditMetrics::DropReason::kWriteFailed), 6);
  EXPECT_EQ(metrics_.count(TokenAuditMetrics::DropReason::kQueueFull), 0);
  EXPECT_EQ(audit.drop_log_lines(), 1);
  EXPECT_EQ(audit.pending(), 0u);

  failing_.set_fail_audit_appends(false);
  audit.Record(Entry(7, clock_.Now()));
  EXPECT_EQ(audit.Flush(), 1u);
  ASSERT_EQ(AllEvents(memory_).size(), 1u);
  EXPECT_EQ(AllEvents(memory_)[0].request_id, "req-7");
  EXPECT_EQ(audit.dropped(), 6);
}

// The flusher thread writes within its interval (and at once for a full batch); Stop writes
// what is left.
TEST_F(TokenAuditQueueTest, TheFlusherWritesWithinItsIntervalAndStopFlushes) {
  TokenAuditOptions o = Options(1000, 10);
  o.flush_interval = absl::Milliseconds(20);
  TokenAuditQueue audit(failing_, clock_, o, &metrics_);
  audit.Start();
  audit.Start();  // once
  for (int i = 0; i < 25; ++i) audit.Record(Entry(i, clock_.Now()));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (AllEvents(memory_).size() < 25 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(AllEvents(memory_).size(), 25u);

  // Entries recorded just before Stop are written by Stop.
  o.flush_interval = absl::Hours(1);
  TokenAuditQueue slow(failing_, clock_, o, &metrics_);
  slow.Start();
  for (int i = 0; i < 3; ++i) slow.Record(Entry(100 + i, clock_.Now()));
  slow.Stop();
  EXPECT_EQ(slow.pending(), 0u);
  const std::vector<AuditEvent> rows = AllEvents(memory_);
  ASSERT_EQ(rows.size(), 28u);
  EXPECT_EQ(rows.back().request_id, "req-102");
  slow.Stop();  // idempotent
  EXPECT_EQ(audit.dropped() + slow.dropped(), 0);
}

TEST(GrantsWriteAccessTest, PushDeleteOrStarOnARepositoryOnly) {
  auto scope = [](std::string type, std::string name, std::set<std::string> actions) {
    return realm::ResourceScope{std::move(type), "", std::move(name), std::move(actions)};
  };
  EXPECT_FALSE(GrantsWriteAccess({}));
  EXPECT_FALSE(GrantsWriteAccess({scope("repository", "acme/web", {"pull"})}));
  EXPECT_FALSE(GrantsWriteAccess({scope("registry", "catalog", {"*"})}));
  EXPECT_TRUE(GrantsWriteAccess(
      {scope("repository", "acme/web", {"pull"}), scope("repository", "acme/api", {"push"})}));
  EXPECT_TRUE(GrantsWriteAccess({scope("repository", "acme/web", {"delete"})}));
  EXPECT_TRUE(GrantsWriteAccess({scope("repository", "acme/web", {"*"})}));
}

// What the issuer hands the sink: every token that grants push or delete, with who, what and
// from where; nothing for pull-only tokens or refusals.
class RecordingSink final : public TokenAuditSink {
 public:
  void Record(TokenAuditEntry entry) override {
    absl::MutexLock lock(&mu_);
    entries_.push_back(std::move(entry));
  }
  std::vector<TokenAuditEntry> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<TokenAuditEntry> entries_;
};

class TokenIssuerAuditTest : public TokenRealmTest {
 protected:
  TokenIssuerAuditTest()
      : audited_(store_, tokens_, *ring_, &signer_, clock_, Options(), nullptr, &sink_) {}

  RecordingSink sink_;
  TestRealm audited_;
};

TEST_F(TokenIssuerAuditTest, PushAndDeleteGrantsAreRecordedPullOnlyAreNot) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull", "push"}}});
  const std::string secret(sa.secret.view());
  RequestContext client = Client("10.7.0.1");
  client.request_id = "req-push";
  // Pull only: nothing.
  ASSERT_TRUE(
      audited_.IssueToken(client, Basic(sa.username, secret, {"repository:acme/web:pull"})).ok());
  TokenRequest anonymous = Basic("", "", {"repository:acme/web:pull"});
  ASSERT_TRUE(audited_.IssueToken(Client(), anonymous).ok());
  // Asked for push but granted only pull (another workspace's push is refused): nothing.
  ASSERT_TRUE(
      audited_
          .IssueToken(client, Basic(sa.username, secret,
                                    {"repository:acme/web:pull", "repository:other/web:push"}))
          .ok());
  EXPECT_TRUE(sink_.entries().empty());
  // A refusal: nothing.
  EXPECT_FALSE(audited_
                   .IssueToken(Client("10.7.0.2"),
                               Basic(sa.username, "ras_wrong", {"repository:acme/web:push"}))
                   .ok());
  EXPECT_TRUE(sink_.entries().empty());

  // Push: one entry with who, what and from where.
  absl::StatusOr<IssuedToken> t = audited_.IssueToken(
      client,
      Basic(sa.username, secret, {"repository:acme/web:pull,push", "repository:acme/api:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  std::vector<TokenAuditEntry> entries = sink_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].time, clock_.Now());
  EXPECT_EQ(entries[0].request_id, "req-push");
  EXPECT_EQ(entries[0].subject, "acme+builder");
  EXPECT_EQ(entries[0].resource, "workspaces/acme/serviceAccounts/builder");
  EXPECT_EQ(entries[0].granted, "repository:acme/web:pull,push repository:acme/api:pull");
  EXPECT_EQ(entries[0].client_address, client.peer);

  // A workspace credential's push names its workspace.
  absl::StatusOr<Credentials> build = audited_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(build.ok());
  ASSERT_TRUE(audited_
                  .IssueToken(Client(), Basic(build->username, std::string(build->secret.view()),
                                              {"repository:acme/web:push"}))
                  .ok());
  entries = sink_.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].subject, build->username);
  EXPECT_EQ(entries[1].resource, "workspaces/acme");
  EXPECT_EQ(entries[1].granted, "repository:acme/web:push");
}

}  // namespace
}  // namespace registryauth::services
