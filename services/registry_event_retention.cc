#include "services/registry_event_retention.h"

namespace registryauth::services {

absl::StatusOr<int64_t> RegistryEventRetention::PruneOnce() const {
  const absl::Time cutoff = clock_.Now() - retention_;
  int64_t total = 0;
  for (int i = 0; i < kMaxBatches; ++i) {
    absl::StatusOr<int64_t> pruned = store_.PruneRegistryEvents(cutoff, kBatch);
    if (!pruned.ok()) return pruned.status();
    total += *pruned;
    if (*pruned < kBatch) break;
  }
  return total;
}

}  // namespace registryauth::services
