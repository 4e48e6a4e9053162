#include "services/registry_event_retention.h"

#include <memory>

namespace registryauth::services {

absl::StatusOr<PruneRound> RegistryEventRetention::PruneOnce() const {
  absl::StatusOr<std::unique_ptr<storage::JobLock>> held = locks_.TryLockJob(kPruneJob);
  if (!held.ok()) return held.status();
  PruneRound round;
  if (*held == nullptr) return round;  // another replica prunes now
  round.ran = true;
  const absl::Time cutoff = clock_.Now() - retention_;
  for (int i = 0; i < kMaxBatches; ++i) {
    absl::StatusOr<int64_t> pruned = store_.PruneRegistryEvents(cutoff, kBatch);
    if (!pruned.ok()) return pruned.status();
    round.deleted += *pruned;
    if (*pruned < kBatch) break;
  }
  return round;
}

}  // namespace registryauth::services
