// Revalidator: scheduled revalidation of registry configurations (issue 19). Every round tests
// the configs whose last validation is older than `interval` (never-validated ones first, then
// the oldest), with the same CredentialService::TestConnection and ConnectionTester a caller's
// TestConnection uses, and stores each result (status, validated_at, error, credential expiry)
// with RecordValidation. An audit row (caller `system:revalidation`, action TestConnection) is
// written only when a config's status changes, so a stable fleet adds nothing to the trail.
// After the round, the credential gauges are recomputed from one grouped count.
//
// One replica at a time: the round runs under the job lock `revalidate-registry-configs`
// (storage/job_lock.h); a replica that cannot take it skips the tests (another one runs them)
// but still recomputes its gauges, so every replica's /metrics shows the fleet's state.
//
// Fairness: tests run one after the other (never more than one tester slot), acting for the
// pseudo-user `system:revalidation`, so the tester's per-user bound applies to them as a whole;
// a test the tester refuses because tenants' tests fill it (RESOURCE_EXHAUSTED), or one that
// cannot run (no secret, config gone), is skipped and comes back next round. Tenants have no
// way to start a round: it runs on the server's schedule only.
//
//   Revalidator revalidator(store, locks, credentials, clock, {.interval = absl::Hours(24)});
//   ASSIGN_OR_RETURN(RevalidationRound round, revalidator.RunRound());
//
// Thread-safe: concurrent RunRound calls on one replica exclude each other through the lock.
#ifndef REGISTRY_AUTH_SERVICES_REVALIDATION_H_
#define REGISTRY_AUTH_SERVICES_REVALIDATION_H_

#include <atomic>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/model.h"
#include "services/credential_service.h"
#include "services/revalidation_metrics.h"
#include "storage/job_lock.h"
#include "storage/registry_store.h"

namespace registryauth::services {

// The acting caller of scheduled revalidation (audit rows, the tester's per-user bound).
inline constexpr char kRevalidationCaller[] = "system:revalidation";
// The job lock's name (storage::JobLocks).
inline constexpr char kRevalidationJob[] = "revalidate-registry-configs";

struct RevalidationOptions {
  // Configs last validated longer ago than this are tested. Must be positive.
  absl::Duration interval = absl::Hours(24);
  // Configs listed per store call.
  int batch_size = 50;
  // Each test's deadline is now + this (the tester applies its own timeout too).
  absl::Duration test_timeout = absl::Seconds(30);
  // The gauges' windows: credentials expiring within these.
  absl::Duration expiring_soon = absl::Hours(24 * 3);
  absl::Duration expiring_later = absl::Hours(24 * 14);
};

// What one round did.
struct RevalidationRound {
  bool ran = false;      // false: another replica held the job lock, no test ran here
  int tested = 0;        // tests that ran (VALID or INVALID)
  int invalid = 0;       // of those, INVALID
  int not_recorded = 0;  // of those, not stored: the config changed while it was tested
  int skipped = 0;       // tests that could not run (tester busy, no secret, config gone)
  int failed = 0;        // results the store could not record (database)
};

class Revalidator {
 public:
  // All must outlive this object; `metrics` may be null.
  Revalidator(storage::RegistryStore& store, storage::JobLocks& locks,
              CredentialService& credentials, const Clock& clock, RevalidationOptions options,
              RevalidationMetrics* metrics = nullptr);

  // One round (see the file comment). Errors: the job lock or the store could not be reached
  // (UNAVAILABLE); tests that did not run are counted, not errors. Never throws.
  absl::StatusOr<RevalidationRound> RunRound();
  // Makes a running round stop after its current test (server shutdown); later rounds return
  // at once.
  void Stop() { stopping_.store(true); }

 private:
  void TestOne(const storage::RevalidationKey& key, absl::Time round_start,
               RevalidationRound& round);
  absl::Status RefreshGauges();

  storage::RegistryStore& store_;
  storage::JobLocks& locks_;
  CredentialService& credentials_;
  const Clock& clock_;
  const RevalidationOptions options_;
  RevalidationMetrics* const metrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REVALIDATION_H_
