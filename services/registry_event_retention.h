// RegistryEventRetention: removes registry events older than the retention
// (--registry_events_retention) in batches, so that no statement deletes more than kBatch rows
// (short locks, short WAL bursts) and one round stops after kMaxBatches even if more is due (the
// next round continues).
//
//   RegistryEventRetention retention(store, job_locks, clock, absl::Hours(24 * 90));
//   absl::StatusOr<PruneRound> round = retention.PruneOnce();  // from a PeriodicTask
//
// Every replica runs PruneOnce on its schedule; a round runs only on the replica that holds the
// job lock kPruneJob (storage/job_lock.h: a PostgreSQL advisory lock), the others skip it. Two
// replicas racing would only waste work (the deletes are idempotent), but each would scan the
// same index and hold row locks the other waits on. Thread-safe if the store, the locks and the
// clock are.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/job_lock.h"
#include "storage/registry_store.h"

namespace registryauth::services {

struct PruneRound {
  bool ran = false;     // false: another replica holds the job lock, nothing was done
  int64_t deleted = 0;  // events deleted by this round
};

class RegistryEventRetention {
 public:
  static constexpr int kBatch = 1000;
  static constexpr int kMaxBatches = 100;
  static constexpr char kPruneJob[] = "prune-registry-events";

  // `retention` > 0 (zero means keep everything: do not create one). `store`, `locks` and
  // `clock` must outlive this object.
  RegistryEventRetention(storage::RegistryStore& store, storage::JobLocks& locks,
                         const Clock& clock, absl::Duration retention)
      : store_(store), locks_(locks), clock_(clock), retention_(retention) {}

  // Under the job lock: deletes events whose event_time is older than now - retention, batch
  // by batch, until a batch comes back short or kMaxBatches ran. Without the lock (another
  // holder has it) returns {ran = false} at once. A store or lock error ends the round (what
  // was deleted stays deleted).
  absl::StatusOr<PruneRound> PruneOnce() const;

 private:
  storage::RegistryStore& store_;
  storage::JobLocks& locks_;
  const Clock& clock_;
  const absl::Duration retention_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RETENTION_H_
