#include "server/telemetry.h"

#include <algorithm>
#include <array>
#include <utility>

namespace registryauth::server {

using observability::Counter;
using observability::Gauge;
using observability::Histogram;

// The series of one pool, looked up once, so every report is a few atomics.
class Telemetry::PoolMetrics : public storage::PoolObserver {
 public:
  PoolMetrics(Telemetry& t, const std::string& name)
      : in_use_(t.pool_connections_.WithLabels({name, "in_use"})),
        idle_(t.pool_connections_.WithLabels({name, "idle"})),
        waiting_(t.pool_waiting_.WithLabels({name})),
        acquire_timeout_(t.pool_errors_.WithLabels({name, "acquire_timeout"})),
        connect_failed_(t.pool_errors_.WithLabels({name, "connect_failed"})),
        broken_(t.pool_errors_.WithLabels({name, "connection_broken"})),
        acquire_(t.pool_acquire_.WithLabels({name})) {}

  void OnState(int in_use, int idle, int waiting) override {
    in_use_.Set(in_use);
    idle_.Set(idle);
    waiting_.Set(waiting);
  }
  void OnError(Error error) override {
    switch (error) {
      case Error::kAcquireTimeout:
        acquire_timeout_.Increment();
        break;
      case Error::kConnectFailed:
        connect_failed_.Increment();
        break;
      case Error::kConnectionBroken:
        broken_.Increment();
        break;
    }
  }
  void OnAcquired(absl::Duration waited) override {
    acquire_.Observe(absl::ToDoubleSeconds(waited));
  }

 private:
  Gauge& in_use_;
  Gauge& idle_;
  Gauge& waiting_;
  Counter& acquire_timeout_;
  Counter& connect_failed_;
  Counter& broken_;
  Histogram& acquire_;
};

// Every (kind, outcome) series exists from the start (at 0), so rates work from the first
// scrape.
class Telemetry::RealmMetrics : public services::TokenRealmMetrics {
 public:
  static constexpr int kKinds = 6;
  static constexpr int kOutcomes = 5;

  explicit RealmMetrics(observability::Registry& registry) {
    observability::CounterFamily& tokens = registry.AddCounter(
        "registry_auth_tokens_total",
        "Token realm (/token) requests by the kind of principal they named and how they ended.",
        {"principal_kind", "outcome"});
    observability::CounterFamily& throttled = registry.AddCounter(
        "registry_auth_token_throttled_total",
        "Token realm requests refused because of too many failed logins (per account or "
        "client address), by the kind of principal they named.",
        {"principal_kind"});
    for (int k = 0; k < kKinds; ++k) {
      const char* kind = Name(static_cast<PrincipalKind>(k));
      throttled_[k] = &throttled.WithLabels({kind});
      for (int o = 0; o < kOutcomes; ++o) {
        tokens_[k][o] = &tokens.WithLabels({kind, Name(static_cast<Outcome>(o))});
      }
    }
  }

  void OnTokenRequest(PrincipalKind kind, Outcome outcome) override {
    const int k = static_cast<int>(kind);
    const int o = static_cast<int>(outcome);
    if (k < 0 || k >= kKinds || o < 0 || o >= kOutcomes) return;
    tokens_[k][o]->Increment();
    if (outcome == Outcome::kThrottled) throttled_[k]->Increment();
  }

 private:
  std::array<std::array<Counter*, kOutcomes>, kKinds> tokens_{};
  std::array<Counter*, kKinds> throttled_{};
};

// TestConnection outcomes by registry type and error category. The VALID series of each type
// exist from the start; the others appear with their first test (WithLabels is thread-safe).
class Telemetry::ConnectionTestCounts : public services::ConnectionTestMetrics {
 public:
  explicit ConnectionTestCounts(observability::Registry& registry)
      : tests_(registry.AddCounter(
            "registry_auth_test_connection_total",
            "TestConnection runs by registry type and outcome (valid, invalid: the registry "
            "refused or could not be reached, error: the test did not run), with the error "
            "category (none when valid).",
            {"type", "outcome", "category"})) {
    for (RegistryType type : {RegistryType::kGhcr, RegistryType::kAcr, RegistryType::kDistribution,
                              RegistryType::kGeneric, RegistryType::kGitHubApp}) {
      tests_.WithLabels(
          {Name(type), Name(Outcome::kValid), Name(services::ErrorCategory::kUnspecified)});
    }
  }

  void OnConnectionTest(RegistryType type, Outcome outcome,
                        services::ErrorCategory category) override {
    tests_.WithLabels({Name(type), Name(outcome), Name(category)}).Increment();
  }

 private:
  observability::CounterFamily& tests_;
};

// Scheduled revalidation's gauges (services/revalidation.h): per registry type, configs whose
// credential expires within 14 and 3 days (expired ones included) and INVALID configs, set
// after every round on every replica; and when this replica last finished a round. Every type
// has its series from the start (0), and a type whose configs are all gone drops back to 0.
class Telemetry::RevalidationGauges : public services::RevalidationMetrics {
 public:
  explicit RevalidationGauges(observability::Registry& registry)
      : expiring_(registry.AddGauge(
            "registry_auth_credentials_expiring",
            "Registry configs whose credential expires within the window (14d or 3d; already "
            "expired ones included), by registry type, as of the last revalidation round.",
            {"type", "window"})),
        invalid_(registry.AddGauge(
            "registry_auth_credentials_invalid",
            "Registry configs whose last connection test was INVALID, by registry type, as of "
            "the last revalidation round.",
            {"type"})),
        last_round_(registry.AddGauge(
            "registry_auth_revalidation_last_round_timestamp_seconds",
            "When this replica last finished a revalidation round that held the job lock (Unix "
            "time; 0: never).",
            {})) {
    for (RegistryType type : kTypes) {
      const char* name = services::ConnectionTestMetrics::Name(type);
      expiring_.WithLabels({name, "14d"});
      expiring_.WithLabels({name, "3d"});
      invalid_.WithLabels({name});
    }
    last_round_.Get();
  }

  void SetCredentialHealth(
      const std::map<RegistryType, storage::CredentialHealth>& counts) override {
    for (RegistryType type : kTypes) {
      auto it = counts.find(type);
      const storage::CredentialHealth h =
          it == counts.end() ? storage::CredentialHealth() : it->second;
      const char* name = services::ConnectionTestMetrics::Name(type);
      expiring_.WithLabels({name, "14d"}).Set(static_cast<double>(h.expiring_before_later));
      expiring_.WithLabels({name, "3d"}).Set(static_cast<double>(h.expiring_before_soon));
      invalid_.WithLabels({name}).Set(static_cast<double>(h.invalid));
    }
  }

  void OnRound(absl::Time finished) override {
    last_round_.Get().Set(absl::ToDoubleSeconds(finished - absl::UnixEpoch()));
  }

 private:
  static constexpr RegistryType kTypes[] = {RegistryType::kGhcr, RegistryType::kAcr,
                                            RegistryType::kDistribution, RegistryType::kGeneric,
                                            RegistryType::kGitHubApp};
  observability::GaugeFamily& expiring_;
  observability::GaugeFamily& invalid_;
  observability::GaugeFamily& last_round_;
};

// Calls refused before they reached a service, by action and by whether each got its own
// audit row (recorded) or was counted into a summary row (aggregated). The GetCredentials
// series exist from the start.
class Telemetry::RejectedCallCounts : public services::RejectedCallMetrics {
 public:
  explicit RejectedCallCounts(observability::Registry& registry)
      : calls_(registry.AddCounter(
            "registry_auth_rejected_calls_total",
            "Calls refused before they reached a service (an unknown or unauthenticated "
            "caller), by action and audit: recorded (its own audit row) or aggregated (counted "
            "into one summary row per client address, resource and minute).",
            {"action", "audit"})) {
    calls_.WithLabels({"GetCredentials", "recorded"});
    calls_.WithLabels({"GetCredentials", "aggregated"});
  }

  void OnRejectedCall(std::string_view action, bool recorded) override {
    calls_.WithLabels({std::string(action), recorded ? "recorded" : "aggregated"}).Increment();
  }

 private:
  observability::CounterFamily& calls_;
};

// Token issuance audit rows dropped (queue full, or their batch could not be written); both
// series exist from the start, so an alert on any increase works from the first scrape.
class Telemetry::TokenAuditCounts : public services::TokenAuditMetrics {
 public:
  explicit TokenAuditCounts(observability::Registry& registry) {
    observability::CounterFamily& dropped = registry.AddCounter(
        "registry_auth_token_audit_dropped_total",
        "IssueRegistryToken audit rows (push or delete grants at /token) that could not be "
        "written, by reason: queue_full (the bounded queue was full) or write_failed (the "
        "batch insert failed).",
        {"reason"});
    queue_full_ = &dropped.WithLabels({"queue_full"});
    write_failed_ = &dropped.WithLabels({"write_failed"});
  }

  void OnTokenAuditDropped(DropReason reason, int64_t count) override {
    (reason == DropReason::kQueueFull ? queue_full_ : write_failed_)
        ->Increment(static_cast<double>(count));
  }

 private:
  observability::Counter* queue_full_ = nullptr;
  observability::Counter* write_failed_ = nullptr;
};

// Notified registry events by what became of them; every series exists from the start.
class Telemetry::RegistryEventCounts : public services::RegistryEventMetrics {
 public:
  explicit RegistryEventCounts(observability::Registry& registry)
      : events_(registry.AddCounter(
            "registry_auth_registry_events_total",
            "The platform registry's notifications: events stored, duplicate (a retried "
            "delivery), unknown_workspace (dropped); deliveries refused as unauthenticated or "
            "invalid, or failed with a database error (the registry retries).",
            {"result"})) {
    for (Result r : {Result::kStored, Result::kDuplicate, Result::kUnknownWorkspace,
                     Result::kUnauthenticated, Result::kInvalid, Result::kError}) {
      events_.WithLabels({Name(r)});
    }
  }

  void OnRegistryEvents(Result result, int64_t count) override {
    events_.WithLabels({Name(result)}).Increment(static_cast<double>(count));
  }

 private:
  observability::CounterFamily& events_;
};

// The GitHub App installation-token cache; every series exists from the start.
class Telemetry::AppTokenCounts : public upstream::InstallationTokenCacheObserver {
 public:
  explicit AppTokenCounts(observability::Registry& registry) {
    observability::CounterFamily& lookups = registry.AddCounter(
        "registry_auth_github_app_token_cache_lookups_total",
        "GitHub App installation-token cache lookups (GetToken): hit (a cached token served) "
        "or miss (none cached, or within 5 minutes of expiring).",
        {"result"});
    observability::CounterFamily& fetches = registry.AddCounter(
        "registry_auth_github_app_token_fetches_total",
        "Installation-token requests sent to GitHub, by reason: new (nothing cached), "
        "expiring (refresh near expiry), forced (TestConnection asks for a fresh token).",
        {"reason"});
    observability::CounterFamily& failures = registry.AddCounter(
        "registry_auth_github_app_token_fetch_failures_total",
        "Installation-token requests to GitHub that failed (after retries), by error category.",
        {"category"});
    hit_ = &lookups.WithLabels({Name(Lookup::kHit)});
    miss_ = &lookups.WithLabels({Name(Lookup::kMiss)});
    for (int i = 0; i < kFetchReasons; ++i) {
      fetches_[i] = &fetches.WithLabels({Name(static_cast<Fetch>(i))});
    }
    for (int i = 0; i < kCategories; ++i) {
      failures_[i] = &failures.WithLabels({CategoryName(static_cast<upstream::ProbeCategory>(i))});
    }
  }

  void OnLookup(Lookup lookup) override { (lookup == Lookup::kHit ? hit_ : miss_)->Increment(); }
  void OnFetch(Fetch reason) override {
    const int i = static_cast<int>(reason);
    if (i >= 0 && i < kFetchReasons) fetches_[i]->Increment();
  }
  void OnFetchFailed(upstream::ProbeCategory category) override {
    const int i = static_cast<int>(category);
    if (i >= 0 && i < kCategories) failures_[i]->Increment();
  }

 private:
  static constexpr int kFetchReasons = 3;
  static constexpr int kCategories = 5;

  static const char* CategoryName(upstream::ProbeCategory category) {
    switch (category) {
      case upstream::ProbeCategory::kAuthentication:
        return "authentication";
      case upstream::ProbeCategory::kRegistry:
        return "registry";
      case upstream::ProbeCategory::kPermission:
        return "permission";
      case upstream::ProbeCategory::kNetwork:
        return "network";
      case upstream::ProbeCategory::kNone:
        break;
    }
    return "none";
  }

  Counter* hit_ = nullptr;
  Counter* miss_ = nullptr;
  std::array<Counter*, kFetchReasons> fetches_{};
  std::array<Counter*, kCategories> failures_{};
};

Telemetry::Telemetry()
    : pool_connections_(registry_.AddGauge(
          "registry_auth_db_pool_connections",
          "Database connections of a pool: in_use (leased or being opened) and idle.",
          {"pool", "state"})),
      pool_max_(registry_.AddGauge("registry_auth_db_pool_max_connections",
                                   "The configured size of a database connection pool.", {"pool"})),
      pool_waiting_(registry_.AddGauge("registry_auth_db_pool_waiting",
                                       "Callers waiting for a free connection of a database pool.",
                                       {"pool"})),
      pool_errors_(registry_.AddCounter(
          "registry_auth_db_pool_errors_total",
          "Database pool failures: acquire_timeout (no connection free in time), "
          "connect_failed, connection_broken.",
          {"pool", "kind"})),
      pool_acquire_(registry_.AddHistogram(
          "registry_auth_db_pool_acquire_seconds",
          "Time to get a connection from a database pool (including opening one).", {"pool"},
          observability::LatencyBuckets())),
      encryption_keys_(registry_.AddGauge(
          "registry_auth_encryption_key_loaded",
          "1 for each AES key id in the loaded key ring; 0 for ids that were loaded earlier "
          "in this process and are gone.",
          {"key_id"})),
      encryption_primary_(registry_.AddGauge(
          "registry_auth_encryption_primary_key_id",
          "The id of the primary AES key (the one new secrets are encrypted with).", {})),
      signing_keys_(registry_.AddGauge(
          "registry_auth_signing_key_loaded",
          "Token signing keys by set-file id: 2 signing (active), 1 published (next or "
          "retiring), 0 no longer loaded.",
          {"key_id"})),
      realm_(std::make_unique<RealmMetrics>(registry_)),
      connection_tests_(std::make_unique<ConnectionTestCounts>(registry_)),
      app_tokens_(std::make_unique<AppTokenCounts>(registry_)),
      rejected_calls_(std::make_unique<RejectedCallCounts>(registry_)),
      token_audit_(std::make_unique<TokenAuditCounts>(registry_)),
      revalidation_(std::make_unique<RevalidationGauges>(registry_)),
      registry_events_(std::make_unique<RegistryEventCounts>(registry_)) {}

Telemetry::~Telemetry() = default;

storage::PoolObserver& Telemetry::pool(const std::string& name, int max_connections) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<PoolMetrics>& p = pools_[name];
  if (p == nullptr) p = std::make_unique<PoolMetrics>(*this, name);
  pool_max_.WithLabels({name}).Set(max_connections);
  return *p;
}

services::TokenRealmMetrics& Telemetry::token_realm() { return *realm_; }

services::ConnectionTestMetrics& Telemetry::connection_tests() { return *connection_tests_; }

upstream::InstallationTokenCacheObserver& Telemetry::github_app_tokens() { return *app_tokens_; }

services::RejectedCallMetrics& Telemetry::rejected_calls() { return *rejected_calls_; }
services::RevalidationMetrics& Telemetry::revalidation() { return *revalidation_; }

services::TokenAuditMetrics& Telemetry::token_audit() { return *token_audit_; }

services::RegistryEventMetrics& Telemetry::registry_events() { return *registry_events_; }

void Telemetry::SetEncryptionKeys(const std::vector<uint32_t>& ids, uint32_t primary) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> now;
  for (uint32_t id : ids) now.push_back(std::to_string(id));
  for (const std::string& id : now) {
    if (std::find(encryption_ids_.begin(), encryption_ids_.end(), id) == encryption_ids_.end()) {
      encryption_ids_.push_back(id);
    }
  }
  for (const std::string& id : encryption_ids_) {
    const bool loaded = std::find(now.begin(), now.end(), id) != now.end();
    encryption_keys_.WithLabels({id}).Set(loaded ? 1 : 0);
  }
  encryption_primary_.Get().Set(primary);
}

void Telemetry::SetSigningKeys(const std::vector<SigningKey>& keys) {
  absl::MutexLock lock(&mu_);
  for (const SigningKey& k : keys) {
    if (std::find(signing_ids_.begin(), signing_ids_.end(), k.id) == signing_ids_.end()) {
      signing_ids_.push_back(k.id);
    }
  }
  for (const std::string& id : signing_ids_) {
    double value = 0;
    for (const SigningKey& k : keys) {
      if (k.id == id) value = k.active ? 2 : 1;
    }
    signing_keys_.WithLabels({id}).Set(value);
  }
}

}  // namespace registryauth::server
