// RegistryEventRetention: removes registry events older than the retention
// (--registry_events_retention) in batches, so that no statement deletes more than kBatch rows
// (short locks, short WAL bursts) and one round stops after kMaxBatches even if more is due (the
// next round continues).
//
//   RegistryEventRetention retention(store, clock, absl::Hours(24 * 90));
//   absl::StatusOr<int64_t> pruned = retention.PruneOnce();  // from a PeriodicTask
//
// The server runs PruneOnce on every replica for now (the deletes are idempotent: replicas that
// race delete disjoint or already-deleted rows); one replica at a time under an advisory lock is
// planned (docs/design-issue-19.md). Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class RegistryEventRetention {
 public:
  static constexpr int kBatch = 1000;
  static constexpr int kMaxBatches = 100;

  // `retention` > 0 (zero means keep everything: do not create one). `store` and `clock` must
  // outlive this object.
  RegistryEventRetention(storage::RegistryStore& store, const Clock& clock,
                         absl::Duration retention)
      : store_(store), clock_(clock), retention_(retention) {}

  // Deletes events whose event_time is older than now - retention, batch by batch, until a
  // batch comes back short or kMaxBatches ran; returns how many went. A store error ends the
  // round (what was deleted stays deleted).
  absl::StatusOr<int64_t> PruneOnce() const;

 private:
  storage::RegistryStore& store_;
  const Clock& clock_;
  const absl::Duration retention_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_
