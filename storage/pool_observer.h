// PoolObserver: what a ConnectionPool reports about itself, for metrics (database connections
// in use, callers waiting, failures), without storage/ knowing where the numbers go. The
// composition root passes one implementation per pool (server/telemetry.h turns them into
// Prometheus gauges and counters).
//
//   class Gauges : public storage::PoolObserver { ... };
//   options.pool_observer = &gauges;  // PostgresOptions, or ConnectionPoolOptions::observer
//
// Implementations must be thread-safe and cheap: OnState runs under the pool's lock and must
// not call back into the pool.
#ifndef REGISTRY_AUTH_STORAGE_POOL_OBSERVER_H_
#define REGISTRY_AUTH_STORAGE_POOL_OBSERVER_H_

#include "absl/time/time.h"

namespace registryauth::storage {

class PoolObserver {
 public:
  enum class Error {
    kAcquireTimeout,    // no connection became free within acquire_timeout
    kConnectFailed,     // opening (or setting up) a new connection failed
    kConnectionBroken,  // a leased connection broke and was discarded
  };

  virtual ~PoolObserver() = default;

  // The pool's counts after a change: connections leased out or being opened, idle ones, and
  // Acquire calls waiting for one.
  virtual void OnState(int in_use, int idle, int waiting) = 0;
  virtual void OnError(Error error) = 0;
  // An Acquire got a connection after `waited` (about zero when one was free).
  virtual void OnAcquired(absl::Duration waited) = 0;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_POOL_OBSERVER_H_
