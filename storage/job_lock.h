// JobLocks: run a background job on one replica at a time. Every replica may try; the one that
// gets the lock runs the job, the others skip that round. Used by scheduled revalidation of
// registry configs (services/revalidation.h) and meant for any job whose work must not be done
// twice at once (pruning, for instance).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<JobLock> held, locks.TryLockJob("revalidate"));
//   if (held == nullptr) return;  // another replica (or thread) runs it now
//   ...                           // the job; `held` going out of scope releases the lock
//
// Two implementations: PostgresJobLocks (storage/postgres_job_locks.h; a session-level
// PostgreSQL advisory lock, so replicas of one database exclude each other and a lost
// connection releases the lock) and InMemoryJobLocks (storage/memory_job_locks.h; one process).
// Both pass the same tests (storage/job_locks_test.cc).
//
// A lock is advisory: it stops the job from running twice at once, nothing else. Should the
// holder's database connection die, the database releases the lock at once and another
// replica may start the job while the first is still finishing; a job must therefore be
// correct (if wasteful) when run twice. Implementations are thread-safe; a JobLock may be
// released on any thread. No method throws.
#ifndef REGISTRY_AUTH_STORAGE_JOB_LOCK_H_
#define REGISTRY_AUTH_STORAGE_JOB_LOCK_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"

namespace registryauth::storage {

// A held job lock; destroying it releases the lock.
class JobLock {
 public:
  virtual ~JobLock() = default;
};

class JobLocks {
 public:
  virtual ~JobLocks() = default;

  // The lock of `job` (any non-empty name, at most 200 bytes), or null when another holder
  // has it (another replica, or another caller in this process). INVALID_ARGUMENT for a bad
  // name; UNAVAILABLE when the database cannot be reached. The locks of different names are
  // independent. Every JobLock must be destroyed before the JobLocks that made it.
  virtual absl::StatusOr<std::unique_ptr<JobLock>> TryLockJob(std::string_view job) = 0;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_JOB_LOCK_H_
