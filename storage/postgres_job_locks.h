// PostgresJobLocks: JobLocks (storage/job_lock.h) across every process that uses one
// PostgreSQL database, through session-level advisory locks. TryLockJob takes a connection
// from its own small pool and runs `pg_try_advisory_lock(key)` on it, the key being a 64-bit
// hash of "registry-auth job " + the job name (hashtextextended, so every replica computes the
// same key; the migrations' key, storage/migrations.h, is a different constant); the connection
// stays with the JobLock while it is held (one connection per held lock). Releasing runs
// `pg_advisory_unlock(key)` and returns the connection; if that fails, the connection is
// closed instead, which releases the lock too. A connection that dies while held (database
// restart, network) releases the lock on the server at once.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<PostgresJobLocks> locks, PostgresJobLocks::Create(options));
//   ASSIGN_OR_RETURN(std::unique_ptr<JobLock> held, locks->TryLockJob("revalidate"));
//
// Thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_POSTGRES_JOB_LOCKS_H_
#define REGISTRY_AUTH_STORAGE_POSTGRES_JOB_LOCKS_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/job_lock.h"
#include "storage/postgres_options.h"

namespace registryauth::storage {

class ConnectionPool;

class PostgresJobLocks final : public JobLocks {
 public:
  // `options.pool_size` bounds the locks held at once (2 is plenty for a few jobs). Never
  // connects; INVALID_ARGUMENT for a DSN that does not parse.
  static absl::StatusOr<std::unique_ptr<PostgresJobLocks>> Create(PostgresOptions options);
  ~PostgresJobLocks() override;
  PostgresJobLocks(const PostgresJobLocks&) = delete;
  PostgresJobLocks& operator=(const PostgresJobLocks&) = delete;

  absl::StatusOr<std::unique_ptr<JobLock>> TryLockJob(std::string_view job) override;

 private:
  class Held;
  explicit PostgresJobLocks(std::unique_ptr<ConnectionPool> pool);

  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_POSTGRES_JOB_LOCKS_H_
