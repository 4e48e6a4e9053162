// JobLocks (storage/job_lock.h): one suite over both implementations. "Two replicas" are two
// JobLocks objects: for PostgreSQL two PostgresJobLocks on one database (separate pools, as in
// two processes); in memory the same object, which is all one process has.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "storage/memory_job_locks.h"
#include "storage/postgres_job_locks.h"
#include "storage/testing/pg_test_db.h"
#include "storage/testing/sql_probe.h"

namespace registryauth::storage {
namespace {

using ::registryauth::testing::PgTestDb;

class JobLocksTest : public ::testing::TestWithParam<bool /*postgres*/> {
 protected:
  void SetUp() override {
    if (!GetParam()) {
      memory_ = std::make_unique<InMemoryJobLocks>();
      return;
    }
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    for (auto* locks : {&replica_a_, &replica_b_}) {
      PostgresOptions options;
      options.dsn = db_->dsn();
      options.pool_size = 2;
      absl::StatusOr<std::unique_ptr<PostgresJobLocks>> created = PostgresJobLocks::Create(options);
      ASSERT_TRUE(created.ok()) << created.status();
      *locks = *std::move(created);
    }
  }

  JobLocks& a() { return GetParam() ? *replica_a_ : static_cast<JobLocks&>(*memory_); }
  JobLocks& b() { return GetParam() ? *replica_b_ : static_cast<JobLocks&>(*memory_); }

  std::unique_ptr<JobLock> Lock(JobLocks& locks, const std::string& job) {
    absl::StatusOr<std::unique_ptr<JobLock>> held = locks.TryLockJob(job);
    EXPECT_TRUE(held.ok()) << held.status();
    return held.ok() ? *std::move(held) : nullptr;
  }

  std::unique_ptr<PgTestDb> db_;
  std::unique_ptr<InMemoryJobLocks> memory_;
  std::unique_ptr<PostgresJobLocks> replica_a_;
  std::unique_ptr<PostgresJobLocks> replica_b_;
};

TEST_P(JobLocksTest, ASecondAcquirerIsRefusedWhileHeldAndServedAfterRelease) {
  std::unique_ptr<JobLock> held = Lock(a(), "revalidate");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(Lock(b(), "revalidate"), nullptr);  // another replica
  EXPECT_EQ(Lock(a(), "revalidate"), nullptr);  // another caller of the same replica
  held.reset();
  std::unique_ptr<JobLock> again = Lock(b(), "revalidate");
  EXPECT_NE(again, nullptr);
  EXPECT_EQ(Lock(a(), "revalidate"), nullptr);
  again.reset();
  EXPECT_NE(Lock(a(), "revalidate"), nullptr);
}

TEST_P(JobLocksTest, DifferentJobsAreIndependent) {
  std::unique_ptr<JobLock> revalidate = Lock(a(), "revalidate");
  ASSERT_NE(revalidate, nullptr);
  std::unique_ptr<JobLock> prune = Lock(b(), "prune-registry-events");
  EXPECT_NE(prune, nullptr);
  EXPECT_EQ(Lock(b(), "revalidate"), nullptr);
}

TEST_P(JobLocksTest, BadNamesAreRefused) {
  EXPECT_EQ(a().TryLockJob("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a().TryLockJob(std::string(201, 'j')).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Quotes and backslashes are just bytes of a name (bound as a parameter, never spliced).
  EXPECT_NE(Lock(a(), "x'); SELECT pg_advisory_unlock_all(); --\\"), nullptr);
}

TEST_P(JobLocksTest, ConcurrentAcquirersNeverHoldItTogether) {
  absl::Mutex mu;
  int holders = 0;
  int max_holders = 0;
  int rounds_run = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      JobLocks& locks = t % 2 == 0 ? a() : b();
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<std::unique_ptr<JobLock>> held = locks.TryLockJob("race");
        if (!held.ok() || *held == nullptr) continue;
        {
          absl::MutexLock lock(&mu);
          ++holders;
          ++rounds_run;
          max_holders = std::max(max_holders, holders);
        }
        absl::SleepFor(absl::Milliseconds(1));
        absl::MutexLock lock(&mu);
        --holders;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(max_holders, 1);
  EXPECT_GE(rounds_run, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, JobLocksTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Postgres" : "InMemory";
                         });

// A replica whose database connection dies releases the lock at once (the database ends the
// session); the dead holder's release afterwards is harmless.
TEST(PostgresJobLocksTest, ADroppedConnectionReleasesTheLock) {
  REGAUTH_SKIP_WITHOUT_PG();
  absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  PostgresOptions options;
  options.dsn = (*db)->dsn();
  options.pool_size = 2;
  absl::StatusOr<std::unique_ptr<PostgresJobLocks>> a = PostgresJobLocks::Create(options);
  absl::StatusOr<std::unique_ptr<PostgresJobLocks>> b = PostgresJobLocks::Create(options);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::unique_ptr<JobLock>> held = (*a)->TryLockJob("revalidate");
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_NE(*held, nullptr);
  absl::StatusOr<std::unique_ptr<JobLock>> refused = (*b)->TryLockJob("revalidate");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(*refused, nullptr);

  absl::StatusOr<std::string> killed = testing::ExecuteSql(
      (*db)->dsn(),
      "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
      " AND granted AND database = (SELECT oid FROM pg_database"
      " WHERE datname = current_database())");
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(*killed, "1");

  absl::StatusOr<std::unique_ptr<JobLock>> taken;
  for (int i = 0; i < 100; ++i) {  // the backend exits asynchronously
    taken = (*b)->TryLockJob("revalidate");
    ASSERT_TRUE(taken.ok()) << taken.status();
    if (*taken != nullptr) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(*taken, nullptr);
  held->reset();  // the dead session's release: no crash, no effect on the new holder
  absl::StatusOr<std::unique_ptr<JobLock>> still = (*a)->TryLockJob("revalidate");
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(*still, nullptr);
}

}  // namespace
}  // namespace registryauth::storage
