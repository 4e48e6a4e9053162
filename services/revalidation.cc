#include "services/revalidation.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/names.h"

namespace registryauth::services {

Revalidator::Revalidator(storage::RegistryStore& store, storage::JobLocks& locks,
                         CredentialService& credentials, const Clock& clock,
                         RevalidationOptions options, RevalidationMetrics* metrics)
    : store_(store),
      locks_(locks),
      credentials_(credentials),
      clock_(clock),
      options_(options),
      metrics_(metrics) {}

absl::StatusOr<RevalidationRound> Revalidator::RunRound() {
  RevalidationRound round;
  if (stopping_.load()) return round;
  absl::StatusOr<std::unique_ptr<storage::JobLock>> held = locks_.TryLockJob(kRevalidationJob);
  if (!held.ok()) return held.status();
  if (*held != nullptr) {
    round.ran = true;
    const absl::Time start = clock_.Now();
    const absl::Time cutoff = start - options_.interval;
    storage::RevalidationKey after;
    while (!stopping_.load()) {
      ASSIGN_OR_RETURN(std::vector<storage::RevalidationKey> batch,
                       store_.ListConfigsToRevalidate(cutoff, after, options_.batch_size));
      for (const storage::RevalidationKey& key : batch) {
        if (stopping_.load()) break;
        TestOne(key, start, round);
      }
      if (batch.size() < static_cast<size_t>(options_.batch_size)) break;
      after = batch.back();
    }
    held->reset();  // the tests are done; the gauges need no lock
    if (metrics_ != nullptr) metrics_->OnRound(clock_.Now());
    if (round.tested + round.skipped + round.failed > 0) {
      LOG_INFO(absl::StrCat("revalidation: ", round.tested, " tested (", round.invalid,
                            " invalid, ", round.not_recorded, " changed meanwhile), ",
                            round.skipped, " skipped, ", round.failed, " could not be stored"));
    }
  }
  RETURN_IF_ERROR(RefreshGauges());
  return round;
}

void Revalidator::TestOne(const storage::RevalidationKey& key, absl::Time round_start,
                          RevalidationRound& round) {
  const std::string resource = FormatRegistryConfigName(key.workspace_id, key.id);
  // The audit row of a status change, shaped like a caller's TestConnection row.
  auto make_record = [&](std::string_view detail) {
    AuditEvent e;
    e.time = clock_.Now();
    e.caller = kRevalidationCaller;
    e.action = "TestConnection";
    e.resource = resource;
    e.outcome = "OK";
    e.detail = std::string(detail);
    e.request_id = absl::StrCat("revalidation-", absl::ToUnixSeconds(round_start));
    return e;
  };
  absl::Status not_run;
  absl::StatusOr<TestConnectionOutcome> outcome = credentials_.TestConnection(
      RegistryConfigName{key.workspace_id, key.id}, clock_.Now() + options_.test_timeout,
      make_record, &not_run, kRevalidationCaller, /*audit_only_on_status_change=*/true);
  if (!not_run.ok()) {
    ++round.skipped;
    return;
  }
  ++round.tested;
  if (!outcome.ok()) {
    ++round.failed;
    LOG_WARNING(
        absl::StrCat("revalidation of ", resource, " not recorded: ", outcome.status().message()));
    return;
  }
  if (outcome->test.status == ValidationStatus::kInvalid) ++round.invalid;
  if (!outcome->recorded) ++round.not_recorded;
}

absl::Status Revalidator::RefreshGauges() {
  if (metrics_ == nullptr) return absl::OkStatus();
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::map<RegistryType, storage::CredentialHealth>> counts =
      store_.CountCredentialHealth(now + options_.expiring_soon, now + options_.expiring_later);
  if (!counts.ok()) return counts.status();
  metrics_->SetCredentialHealth(*counts);
  return absl::OkStatus();
}

}  // namespace registryauth::services
