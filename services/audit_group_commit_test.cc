// AuditGroupCommit (issue 20) against the in-memory store and a real PostgreSQL store (each
// wrapped in FailingRegistryStore, whose audit hook holds a write in flight so that other
// callers queue behind it: batching is forced, not left to timing):
//   ConcurrentRowsShareOneStatement   8 callers, one held in flight: the other 7 rows go in
//                                     one statement; every call answers OK only with its row
//                                     stored, exactly once, with its own request id.
//   FailedBatchFailsEveryCallOfIt     the database is out of reach: every call of the batch
//                                     fails, no row is stored.
//   RefusedRowFailsOnlyItsOwnCall     a batch with one row the store refuses: that call fails,
//                                     the others are stored (each row written again alone).
//   DeadlineWhileQueuedWithdrawsRow   a caller whose deadline passes while queued gets
//                                     DEADLINE_EXCEEDED and its row is never written.
#include "services/audit_group_commit.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"
#include "storage/postgres_store.h"
#include "storage/testing/failing_registry_store.h"
#include "storage/testing/pg_test_db.h"

namespace registryauth::services {
namespace {

AuditEvent Event(int i, std::string caller = "apikey:worker") {
  AuditEvent e;
  e.time = absl::FromUnixSeconds(1800000000);
  e.caller = std::move(caller);
  e.action = "GetCredentials";
  e.resource = absl::StrCat("workspaces/acme/registries/r", i);
  e.outcome = "OK";
  e.request_id = absl::StrCat("req-", i);
  e.peer = "ipv4:127.0.0.1:1";
  return e;
}

class AuditGroupCommitTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      inner_ = std::make_unique<storage::InMemoryRegistryStore>();
    } else {
      REGAUTH_SKIP_WITHOUT_PG();
      absl::StatusOr<std::unique_ptr<testing::PgTestDb>> db = testing::PgTestDb::CreateMigrated();
      ASSERT_TRUE(db.ok()) << db.status();
      db_ = *std::move(db);
      storage::PostgresOptions options;
      options.dsn = db_->dsn();
      options.pool_size = 4;
      absl::StatusOr<std::unique_ptr<storage::PostgresRegistryStore>> pg =
          storage::PostgresRegistryStore::Create(options);
      ASSERT_TRUE(pg.ok()) << pg.status();
      inner_ = *std::move(pg);
    }
    store_ = std::make_unique<storage::testing::FailingRegistryStore>(*inner_);
    commit_ = std::make_unique<AuditGroupCommit>(*store_);
  }

  // Request id -> how many rows carry it.
  std::map<std::string, int> StoredRequestIds() {
    std::map<std::string, int> ids;
    absl::StatusOr<Page<AuditEvent>> page = inner_->ListAuditEvents(AuditFilter{}, 1000, 0);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return ids;
    for (const AuditEvent& e : page->items) {
      EXPECT_EQ(e.action, "GetCredentials");
      EXPECT_EQ(e.resource, absl::StrCat("workspaces/acme/registries/r", e.request_id.substr(4)));
      ++ids[e.request_id];
    }
    return ids;
  }

  // Holds the next audit write in flight until Release(); later writes pass.
  void HoldFirstWrite() {
    store_->set_before_audit_append([this] {
      if (!held_.exchange(true)) {
        in_flight_.Notify();
        release_.WaitForNotification();
      }
    });
  }
  void WaitUntilQueued(size_t n) {
    in_flight_.WaitForNotification();
    while (commit_->queued() < n) absl::SleepFor(absl::Milliseconds(1));  // a condition, not luck
  }

  // With HoldFirstWrite: caller 0 appends `event(0)` and its write is held in flight, then
  // callers 1..results.size()-1 append `event(i)` and queue behind it, in that order. Each
  // caller's outcome lands in `results[i]` once its thread is joined.
  std::vector<std::thread> QueueBehindAHeldWrite(std::vector<absl::Status>& results,
                                                 const std::function<AuditEvent(int)>& event) {
    std::vector<std::thread> threads;
    threads.emplace_back([&] { results[0] = commit_->Append(event(0)); });
    in_flight_.WaitForNotification();
    for (int i = 1; i < static_cast<int>(results.size()); ++i) {
      threads.emplace_back([&, i] { results[i] = commit_->Append(event(i)); });
      WaitUntilQueued(static_cast<size_t>(i));
    }
    return threads;
  }

  std::unique_ptr<testing::PgTestDb> db_;
  std::unique_ptr<storage::RegistryStore> inner_;
  std::unique_ptr<storage::testing::FailingRegistryStore> store_;
  std::unique_ptr<AuditGroupCommit> commit_;
  std::atomic<bool> held_{false};
  absl::Notification in_flight_, release_;
};

TEST_P(AuditGroupCommitTest, ConcurrentRowsShareOneStatement) {
  HoldFirstWrite();
  constexpr int kCallers = 8;
  std::vector<absl::Status> results(kCallers, absl::UnknownError("not run"));
  std::vector<std::thread> threads = QueueBehindAHeldWrite(results, [](int i) { return Event(i); });
  EXPECT_EQ(StoredRequestIds().size(), 0u) << "nothing stored while the first write is held";
  release_.Notify();
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
  EXPECT_EQ(commit_->statements(), 2) << "the held row alone, then the 7 queued rows together";
  std::map<std::string, int> ids = StoredRequestIds();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kCallers));
  for (int i = 0; i < kCallers; ++i) EXPECT_EQ(ids[absl::StrCat("req-", i)], 1) << i;
}

TEST_P(AuditGroupCommitTest, FailedBatchFailsEveryCallOfIt) {
  HoldFirstWrite();
  constexpr int kCallers = 5;
  std::vector<absl::Status> results(kCallers);
  std::vector<std::thread> threads = QueueBehindAHeldWrite(results, [](int i) { return Event(i); });
  store_->set_fail_audit_appends(true);  // the database goes away
  release_.Notify();
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_EQ(results[i].code(), absl::StatusCode::kUnavailable) << i << ": " << results[i];
  }
  EXPECT_TRUE(StoredRequestIds().empty());
  // Back again: the next caller is served.
  store_->set_fail_audit_appends(false);
  EXPECT_TRUE(commit_->Append(Event(9)).ok());
  EXPECT_EQ(StoredRequestIds()["req-9"], 1);
}

TEST_P(AuditGroupCommitTest, RefusedRowFailsOnlyItsOwnCall) {
  HoldFirstWrite();
  constexpr int kCallers = 4;
  std::vector<absl::Status> results(kCallers);
  // Row 2's caller is longer than any store accepts (kAuditFieldMaxChars).
  std::vector<std::thread> threads = QueueBehindAHeldWrite(
      results, [](int i) { return i == 2 ? Event(i, std::string(100000, 'c')) : Event(i); });
  release_.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_TRUE(results[1].ok()) << results[1];
  EXPECT_EQ(results[2].code(), absl::StatusCode::kInvalidArgument) << results[2];
  EXPECT_TRUE(results[3].ok()) << results[3];
  std::map<std::string, int> ids = StoredRequestIds();
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count("req-2"), 0u);
  EXPECT_EQ(ids["req-3"], 1);
}

TEST_P(AuditGroupCommitTest, DeadlineWhileQueuedWithdrawsRow) {
  HoldFirstWrite();
  absl::Status first;
  std::thread leader([&] { first = commit_->Append(Event(0)); });
  in_flight_.WaitForNotification();
  EXPECT_EQ(commit_->Append(Event(1), absl::Now() + absl::Milliseconds(20)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(commit_->queued(), 0u) << "the row left the queue with its caller";
  release_.Notify();
  leader.join();
  EXPECT_TRUE(first.ok()) << first;
  std::map<std::string, int> ids = StoredRequestIds();
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.count("req-1"), 0u);
  EXPECT_EQ(commit_->statements(), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, AuditGroupCommitTest, ::testing::Values("memory", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace registryauth::services
