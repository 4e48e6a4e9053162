// Telemetry: the process's metrics registry and the adapters that feed it from layers that
// know nothing about Prometheus: one storage::PoolObserver per database pool, the token
// realm's services::TokenRealmMetrics, the connection tester's services::ConnectionTestMetrics,
// the guard's services::RejectedCallMetrics, scheduled revalidation's
// services::RevalidationMetrics, the registry-event receiver's services::RegistryEventMetrics,
// the GitHub App token cache's upstream::InstallationTokenCacheObserver, and the key ids in use.
// The composition root (server.cc) creates one, hands the adapters to the stores and the realm,
// the registry to the gRPC interceptor (observability/grpc_telemetry.h) and to the HTTP gateway
// (which serves `GET /metrics`), and updates the key gauges whenever keys are (re)loaded.
//
//   auto telemetry = std::make_unique<Telemetry>();
//   db.pool_observer = &telemetry->pool("registry");
//   TokenServices tokens(..., &telemetry->token_realm());
//   telemetry->SetEncryptionKeys(ring.key_ids(), ring.primary_key_id());
//
// Every metric name and label is listed in README.md ("Metrics and logs"). Labels carry no
// secrets: pool names, principal kinds, registry types, outcomes, error categories and key
// ids only. Thread-safe.
#ifndef REGISTRY_AUTH_SERVER_TELEMETRY_H_
#define REGISTRY_AUTH_SERVER_TELEMETRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "observability/metrics.h"
#include "services/connection_test_metrics.h"
#include "services/registry_event_receiver.h"
#include "services/rejected_calls.h"
#include "services/revalidation_metrics.h"
#include "services/token_audit.h"
#include "services/token_realm_metrics.h"
#include "storage/pool_observer.h"
#include "upstream/github_app.h"

namespace registryauth::server {

class Telemetry {
 public:
  Telemetry();
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  observability::Registry& registry() { return registry_; }

  // The observer of the pool named `name` ("registry", "tokens"), created on first use, with
  // its configured size.
  storage::PoolObserver& pool(const std::string& name, int max_connections);
  services::TokenRealmMetrics& token_realm();
  // TestConnection outcomes (ConnectionTesterOptions::metrics).
  services::ConnectionTestMetrics& connection_tests();
  // The GitHub App installation-token cache (GitHubAppTokenSource::Options::observer).
  upstream::InstallationTokenCacheObserver& github_app_tokens();
  // Calls refused before they reached a service (services::Guard's rejected_metrics).
  services::RejectedCallMetrics& rejected_calls();
  // Token issuance audit rows that could not be written (services::TokenAuditQueue).
  services::TokenAuditMetrics& token_audit();
  // Scheduled revalidation's credential gauges (services::Revalidator's metrics).
  services::RevalidationMetrics& revalidation();
  // The platform registry's notifications (services::RegistryEventReceiver).
  services::RegistryEventMetrics& registry_events();

  // The AES key ids loaded now (1) and the primary one; ids loaded earlier in this process but
  // gone now read 0.
  void SetEncryptionKeys(const std::vector<uint32_t>& ids, uint32_t primary);
  // The token signing keys loaded now, by set-file id, and which one signs.
  struct SigningKey {
    std::string id;
    bool active = false;
  };
  void SetSigningKeys(const std::vector<SigningKey>& keys);

 private:
  class PoolMetrics;
  class RealmMetrics;
  class ConnectionTestCounts;
  class AppTokenCounts;
  class RejectedCallCounts;
  class TokenAuditCounts;
  class RevalidationGauges;
  class RegistryEventCounts;

  observability::Registry registry_;
  observability::GaugeFamily& pool_connections_;
  observability::GaugeFamily& pool_max_;
  observability::GaugeFamily& pool_waiting_;
  observability::CounterFamily& pool_errors_;
  observability::HistogramFamily& pool_acquire_;
  observability::GaugeFamily& encryption_keys_;
  observability::GaugeFamily& encryption_primary_;
  observability::GaugeFamily& signing_keys_;
  std::unique_ptr<RealmMetrics> realm_;
  std::unique_ptr<ConnectionTestCounts> connection_tests_;
  std::unique_ptr<AppTokenCounts> app_tokens_;
  std::unique_ptr<RejectedCallCounts> rejected_calls_;
  std::unique_ptr<TokenAuditCounts> token_audit_;
  std::unique_ptr<RevalidationGauges> revalidation_;
  std::unique_ptr<RegistryEventCounts> registry_events_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<PoolMetrics>> pools_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> encryption_ids_ ABSL_GUARDED_BY(mu_);  // ever loaded
  std::vector<std::string> signing_ids_ ABSL_GUARDED_BY(mu_);     // ever loaded
};

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_TELEMETRY_H_
