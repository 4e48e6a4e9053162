// RevalidationMetrics: where scheduled revalidation (services/revalidation.h) reports, a narrow
// sink the domain names and server/telemetry.cc turns into Prometheus gauges.
//
//   class Gauges : public RevalidationMetrics { ... };
//   Revalidator revalidator(store, locks, credentials, clock, options, &gauges);
//
// Implementations must be thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_REVALIDATION_METRICS_H_
#define REGISTRY_AUTH_SERVICES_REVALIDATION_METRICS_H_

#include <map>

#include "absl/time/time.h"
#include "model/model.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class RevalidationMetrics {
 public:
  virtual ~RevalidationMetrics() = default;
  // After every round, on every replica: per registry type with at least one config, how many
  // have a credential expiring within the short window (3 days) and the long one (14 days),
  // expired ones included, and how many are INVALID. Types absent from `counts` have none.
  virtual void SetCredentialHealth(
      const std::map<RegistryType, storage::CredentialHealth>& counts) = 0;
  // This replica finished a round that held the job lock (and so ran the tests) at `finished`.
  virtual void OnRound(absl::Time finished) = 0;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REVALIDATION_METRICS_H_
