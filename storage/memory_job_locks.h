// InMemoryJobLocks: JobLocks (storage/job_lock.h) within one process, for unit tests and for
// several servers sharing in-memory stores: a set of held job names behind a mutex.
//
//   InMemoryJobLocks locks;
//   ASSIGN_OR_RETURN(std::unique_ptr<JobLock> held, locks.TryLockJob("revalidate"));
//
// Thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_MEMORY_JOB_LOCKS_H_
#define REGISTRY_AUTH_STORAGE_MEMORY_JOB_LOCKS_H_

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/job_lock.h"

namespace registryauth::storage {

class InMemoryJobLocks final : public JobLocks {
 public:
  InMemoryJobLocks() = default;
  InMemoryJobLocks(const InMemoryJobLocks&) = delete;
  InMemoryJobLocks& operator=(const InMemoryJobLocks&) = delete;

  absl::StatusOr<std::unique_ptr<JobLock>> TryLockJob(std::string_view job) override;

 private:
  class Held;
  void Release(const std::string& job);

  absl::Mutex mu_;
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MEMORY_JOB_LOCKS_H_
