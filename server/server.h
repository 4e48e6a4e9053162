// The composition root: the one place that wires real implementations together.
//
// RegistryAuthServer::Start builds, from a ServerConfig: the caller policy and the call
// authenticator (TLS / mTLS credentials from PEM files, reloadable: server/grpc_tls.h), the
// AES-256-GCM key ring (in a crypto::KeyRingHolder, so ReloadKeys can swap it while calls are
// served), the PostgreSQL store (waiting up to startup_timeout for the database and applying
// migrations), the domain service, the gRPC adapter with grpc.health.v1 and server reflection, the
// database health monitor, and the HTTP gateway, which reaches the gRPC service through an
// in-process channel (so every HTTP call takes the same code path as a gRPC call). Telemetry
// (server/telemetry.h) collects metrics from the pools, the token realm, a gRPC interceptor and
// the gateway, which serves them at `GET /metrics`.
//
//   ASSIGN_OR_RETURN(auto server, RegistryAuthServer::Start(config));
//   ... wait for a signal ...
//   server->Shutdown(config.shutdown_grace);
//
// main() (server/main.cc) and the end-to-end tests both use it. Thread-safe after Start.
#ifndef REGISTRY_AUTH_SERVER_SERVER_H_
#define REGISTRY_AUTH_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "server/config.h"

namespace registryauth {
class Clock;
namespace crypto {
class KeyRingHolder;
class TokenSigningKeysHolder;
}  // namespace crypto
namespace storage {
class PostgresRegistryStore;
class PostgresJobLocks;
class PostgresTokenStore;
}  // namespace storage
namespace services {
class RegistryService;
class RegistryAuth;
class Guard;
class MemberService;
class CredentialService;
class RegistryEventLog;
class RegistryEventReceiver;
class RegistryEventRetention;
class TokenServices;
class TokenAuditQueue;
class TokenRealm;
class ConnectionTester;
class Revalidator;
}  // namespace services
namespace upstream {
class HttpClient;
class RegistryProbe;
class Sleeper;
class GhcrProbe;
class InstallationTokenSource;
}  // namespace upstream
namespace api {
class RegistryAuthGrpcService;
class CallAuthenticator;
class InProcessTokenIssuer;
class InProcessRegistryEvents;
}  // namespace api
namespace auth {
class PolicyHolder;
}
namespace gateway {
class HttpGateway;
}
namespace observability {
class Registry;
class GrpcTelemetry;
}  // namespace observability
}  // namespace registryauth

namespace registryauth::server {

class DbHealthMonitor;
class ReloadableGrpcTls;
class PeriodicTask;
class Telemetry;

// Adapter-only mode (ServerConfig::http_upstream): the HTTP adapter alone, calling the gRPC
// service of a remote registry-authd over a channel (TLS verified with http_upstream_ca_file,
// or plaintext). The upstream sees this process as the peer of every call: it does not trust
// its X-Forwarded-For (only in-process callers are), so throttling per client address and the
// audit rows' peer name this adapter, not its clients; per-account throttling is unchanged.
// `GET /metrics` serves this process's own metrics: the HTTP routes (http_server_*); the
// server's metrics are on the upstream's own /metrics.
class HttpAdapterOnly {
 public:
  ~HttpAdapterOnly();
  HttpAdapterOnly(const HttpAdapterOnly&) = delete;
  HttpAdapterOnly& operator=(const HttpAdapterOnly&) = delete;

  int port() const;
  // The --metrics_listen port (0 without it; /metrics is then on port()).
  int metrics_port() const;
  // As HttpGateway::ReloadCertificate (SIGHUP).
  absl::Status ReloadCertificate();
  // Idempotent.
  void Shutdown();
  observability::Registry& metrics() { return *metrics_; }

 private:
  friend absl::StatusOr<std::unique_ptr<HttpAdapterOnly>> StartHttpAdapterOnly(
      const ServerConfig& config);
  HttpAdapterOnly();

  std::unique_ptr<observability::Registry> metrics_;  // outlives the gateway
  std::unique_ptr<gateway::HttpGateway> gateway_;
};

absl::StatusOr<std::unique_ptr<HttpAdapterOnly>> StartHttpAdapterOnly(const ServerConfig& config);

class RegistryAuthServer {
 public:
  static absl::StatusOr<std::unique_ptr<RegistryAuthServer>> Start(const ServerConfig& config);
  ~RegistryAuthServer();
  RegistryAuthServer(const RegistryAuthServer&) = delete;
  RegistryAuthServer& operator=(const RegistryAuthServer&) = delete;

  int grpc_port() const { return grpc_port_; }
  int http_port() const;
  // The --metrics_listen port (0 without it; /metrics is then on http_port()).
  int metrics_port() const;
  // A channel to this server that skips the network (used by the gateway, handy in tests).
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // Probes the database now and updates the health service; returns whether it answered.
  bool ProbeDatabaseNow();
  // Re-reads the caller policy file (SIGHUP). On error the previous policy stays in force.
  absl::Status ReloadPolicy();
  // Re-reads the key file (SIGHUP; key rotation). The new ring serves the next call; calls in
  // flight finish with the ring they started with. The previous ring stays in force (and the
  // error is returned and logged, without key material) if the file cannot be read or parsed,
  // if it gives a loaded key id other key bytes (FAILED_PRECONDITION; ids are never reused),
  // or if it drops a key id that stored secrets still use: FAILED_PRECONDITION, since
  // loading it would make those secrets unreadable (run `registry-authd keys reencrypt`
  // first). Dropping ids is only accepted when the database confirms they are unused, so it is
  // refused (UNAVAILABLE) while the database cannot be asked; adding keys or changing the
  // primary needs no database. FAILED_PRECONDITION when the keys came from REGAUTH_KEYS (no
  // file to re-read). Logs the loaded key ids and the primary (ids only).
  absl::Status ReloadKeys();
  // Re-reads the token realm's signing-key set file (SIGHUP; signing-key rotation) and writes
  // the configured exports again. The previous set stays in force if the new one does not
  // load. FAILED_PRECONDITION without a token realm.
  absl::Status ReloadSigningKeys();
  // Re-reads the HTTP adapter's TLS certificate and key (SIGHUP): new connections use them,
  // open ones keep theirs. FAILED_PRECONDITION without HTTPS.
  absl::Status ReloadHttpCertificate();
  // Re-reads the gRPC port's certificate, key and client CA (SIGHUP; server/grpc_tls.h): new
  // handshakes use them, open connections keep theirs. The previous ones stay in force (and the
  // reason is returned and logged) if a file does not load or the key does not match.
  // FAILED_PRECONDITION without TLS on the gRPC port.
  absl::Status ReloadGrpcCertificate();
  // Scheduled revalidation (services/revalidation.h), which a PeriodicTask runs every
  // min(revalidate_interval, 10m); null when --revalidate_interval is 0. Tests run a round
  // with revalidator()->RunRound().
  services::Revalidator* revalidator() { return revalidator_.get(); }
  // Stops accepting calls, lets in-flight calls finish within `grace`, then stops everything.
  // Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  RegistryAuthServer();
  // Writes --token_export_rootcertbundle / --token_export_jwks from the current signing keys.
  absl::Status ExportSigningKeys();

  std::shared_ptr<const Clock> clock_;  // ServerConfig::clock, or the real clock
  // Metrics registry and adapters; declared early so it outlives everything that reports.
  std::unique_ptr<Telemetry> telemetry_;
  std::string key_file_;
  std::unique_ptr<crypto::KeyRingHolder> keys_;
  absl::Mutex reload_keys_mu_;  // one ReloadKeys at a time (check, then swap)
  std::unique_ptr<storage::PostgresRegistryStore> store_;
  std::unique_ptr<services::RegistryService> service_;
  std::string policy_file_;
  std::unique_ptr<auth::PolicyHolder> policy_;
  std::unique_ptr<api::CallAuthenticator> authenticator_;
  std::unique_ptr<storage::PostgresTokenStore> token_store_;
  std::string signing_keys_file_;
  std::string token_export_rootcertbundle_;
  std::string token_export_jwks_;
  std::unique_ptr<crypto::TokenSigningKeysHolder> signing_keys_;
  std::unique_ptr<upstream::HttpClient> http_client_;
  std::unique_ptr<upstream::RegistryProbe> registry_probe_;
  std::unique_ptr<upstream::Sleeper> sleeper_;
  std::unique_ptr<upstream::GhcrProbe> ghcr_probe_;
  std::unique_ptr<upstream::InstallationTokenSource> app_tokens_;
  std::unique_ptr<services::ConnectionTester> connection_tester_;
  std::unique_ptr<services::Guard> guard_;  // the permission checks and audit of every call
  // Audit rows of push/delete tokens, written in batches by a thread of its own; before the
  // token realm, whose issuer hands it entries, so it is destroyed after it.
  std::unique_ptr<services::TokenAuditQueue> token_audit_;
  // The token realm's parts, before registry_auth_, which mints workspace credentials there.
  std::unique_ptr<services::TokenServices> token_services_;
  std::unique_ptr<services::TokenRealm> token_realm_;
  std::unique_ptr<services::MemberService> members_;
  std::unique_ptr<services::CredentialService> credentials_;
  std::unique_ptr<services::RegistryEventLog> registry_events_;  // ListRegistryEvents
  // POST /v1/registryEvents:notify (with --registry_events_secret_file).
  std::unique_ptr<services::RegistryEventReceiver> registry_event_receiver_;
  std::unique_ptr<api::InProcessRegistryEvents> registry_event_notifier_;
  std::unique_ptr<services::RegistryAuth> registry_auth_;
  std::unique_ptr<api::RegistryAuthGrpcService> grpc_service_;
  std::unique_ptr<observability::GrpcTelemetry> grpc_telemetry_;
  // The gateway's /token without the gRPC channel (api/in_process.h); before gateway_.
  std::unique_ptr<api::InProcessTokenIssuer> in_process_tokens_;
  // Before grpc_server_: gRPC asks it for the certificate on every handshake.
  std::unique_ptr<ReloadableGrpcTls> grpc_tls_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<DbHealthMonitor> health_monitor_;
  std::unique_ptr<PeriodicTask> housekeeping_;
  std::unique_ptr<PeriodicTask> rejected_flush_;  // Guard::FlushRejected every minute
  // Scheduled revalidation: its job lock (own small pool), the rounds, their schedule.
  std::unique_ptr<storage::PostgresJobLocks> job_locks_;
  std::unique_ptr<services::Revalidator> revalidator_;
  std::unique_ptr<PeriodicTask> revalidation_;
  // --registry_events_retention: prunes old registry events every hour (none when 0).
  std::unique_ptr<services::RegistryEventRetention> registry_event_retention_;
  std::unique_ptr<PeriodicTask> registry_event_pruning_;
  std::unique_ptr<gateway::HttpGateway> gateway_;
  int grpc_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_SERVER_H_
