#include "storage/memory_job_locks.h"

#include <utility>

#include "storage/job_lock_name.h"

namespace registryauth::storage {

class InMemoryJobLocks::Held final : public JobLock {
 public:
  Held(InMemoryJobLocks& locks, std::string job) : locks_(locks), job_(std::move(job)) {}
  ~Held() override { locks_.Release(job_); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;

 private:
  InMemoryJobLocks& locks_;
  const std::string job_;
};

absl::StatusOr<std::unique_ptr<JobLock>> InMemoryJobLocks::TryLockJob(std::string_view job) {
  if (absl::Status valid = internal::CheckJobName(job); !valid.ok()) return valid;
  std::string name(job);
  absl::MutexLock lock(&mu_);
  if (!held_.insert(name).second) return std::unique_ptr<JobLock>();
  return std::unique_ptr<JobLock>(new Held(*this, std::move(name)));
}

void InMemoryJobLocks::Release(const std::string& job) {
  absl::MutexLock lock(&mu_);
  held_.erase(job);
}

}  // namespace registryauth::storage
