#include "storage/postgres_job_locks.h"

#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "storage/connection_pool.h"
#include "storage/job_lock_name.h"
#include "storage/pg_internal.h"
#include "storage/pq_status.h"

namespace registryauth::storage {
namespace {

// The key every replica computes for `job` (a 64-bit hash in the database, see the header).
constexpr char kTryLock[] =
    "SELECT pg_try_advisory_lock(hashtextextended('registry-auth job ' || $1, 0))";
constexpr char kUnlock[] =
    "SELECT pg_advisory_unlock(hashtextextended('registry-auth job ' || $1, 0))";

}  // namespace

class PostgresJobLocks::Held final : public JobLock {
 public:
  Held(ConnectionPool::Lease lease, std::string job)
      : lease_(std::move(lease)), job_(std::move(job)) {}
  ~Held() override {
    try {
      pqxx::nontransaction txn(lease_.conn());
      if (!txn.exec_params1(kUnlock, job_)[0].as<bool>()) lease_.MarkBroken();
    } catch (const std::exception&) {
      lease_.MarkBroken();  // closing the connection releases the lock
    }
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;

 private:
  ConnectionPool::Lease lease_;
  const std::string job_;
};

absl::StatusOr<std::unique_ptr<PostgresJobLocks>> PostgresJobLocks::Create(
    PostgresOptions options) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::Create(internal::MakePoolOptions(std::move(options), nullptr));
  if (!pool.ok()) return pool.status();
  return std::unique_ptr<PostgresJobLocks>(new PostgresJobLocks(*std::move(pool)));
}

PostgresJobLocks::PostgresJobLocks(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

PostgresJobLocks::~PostgresJobLocks() = default;

absl::StatusOr<std::unique_ptr<JobLock>> PostgresJobLocks::TryLockJob(std::string_view job) {
  if (absl::Status valid = internal::CheckJobName(job); !valid.ok()) return valid;
  absl::StatusOr<ConnectionPool::Lease> lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  const std::string name(job);
  try {
    pqxx::nontransaction txn(lease->conn());
    if (!txn.exec_params1(kTryLock, name)[0].as<bool>()) return std::unique_ptr<JobLock>();
  } catch (const std::exception& e) {
    if (IsConnectionLost(e)) lease->MarkBroken();
    return StatusFromDbException(e, absl::StrCat("lock job ", name));
  }
  return std::unique_ptr<JobLock>(new Held(*std::move(lease), name));
}

}  // namespace registryauth::storage
