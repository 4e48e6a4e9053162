// The job-name rule both JobLocks implementations share (storage/job_lock.h). Internal to
// storage/.
#ifndef REGISTRY_AUTH_STORAGE_JOB_LOCK_NAME_H_
#define REGISTRY_AUTH_STORAGE_JOB_LOCK_NAME_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace registryauth::storage::internal {

inline constexpr size_t kJobNameMaxBytes = 200;

// OK for a non-empty name of at most kJobNameMaxBytes bytes, else INVALID_ARGUMENT.
inline absl::Status CheckJobName(std::string_view job) {
  if (job.empty() || job.size() > kJobNameMaxBytes) {
    return absl::InvalidArgumentError("job lock: the job name must have 1 to 200 bytes");
  }
  return absl::OkStatus();
}

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_JOB_LOCK_NAME_H_
