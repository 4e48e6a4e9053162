#include "server/server.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/call_auth.h"
#include "api/in_process.h"
#include "api/in_process_tokens.h"
#include "api/registry_auth_grpc.h"
#include "api/registry_event_notifier.h"
#include "auth/policy.h"
#include "common/catch_all.h"
#include "common/clock.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "crypto/keyring_holder.h"
#include "crypto/token_signing_keys.h"
#include "gateway/http_gateway.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "observability/grpc_telemetry.h"
#include "observability/metrics.h"
#include "server/db_health.h"
#include "server/grpc_tls.h"
#include "server/periodic_task.h"
#include "server/telemetry.h"
#include "services/connection_tester.h"
#include "services/credential_service.h"
#include "services/guard.h"
#include "services/key_usage.h"
#include "services/member_service.h"
#include "services/registry_auth.h"
#include "services/registry_event_log.h"
#include "services/registry_event_receiver.h"
#include "services/registry_event_retention.h"
#include "services/registry_service.h"
#include "services/revalidation.h"
#include "services/token_audit.h"
#include "services/token_realm.h"
#include "services/token_realm_options.h"
#include "services/token_services.h"
#include "storage/postgres_job_locks.h"
#include "storage/postgres_store.h"
#include "storage/postgres_token_store.h"
#include "upstream/curl_http_client.h"
#include "upstream/docker_v2_probe.h"
#include "upstream/github_app.h"
#include "upstream/github_client.h"
#include "upstream/retry.h"

namespace registryauth::server {
namespace {

// Idle threads the synchronous gRPC server keeps waiting for calls (see its builder below).
constexpr int kGrpcMaxIdleThreads = 64;

// Applies migrations, retrying while the database is unreachable, until `timeout` passes.
absl::Status MigrateWhenReachable(storage::PostgresRegistryStore& store, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  bool logged = false;
  while (true) {
    absl::Status status = store.ApplyMigrations();
    if (status.ok() || status.code() != absl::StatusCode::kUnavailable) return status;
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("database not reachable within startup_timeout: ", status.message()));
    }
    if (!logged) {
      LOG_WARNING(absl::StrCat("waiting for the database: ", status.message()));
      logged = true;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

// The gRPC port's TLS (null: plaintext, which ValidateServerConfig allows on loopback only).
absl::StatusOr<std::unique_ptr<ReloadableGrpcTls>> GrpcServerTls(const ServerConfig& config) {
  if (config.tls_cert_file.empty()) return std::unique_ptr<ReloadableGrpcTls>();
  GrpcTlsFiles files;
  files.cert_file = config.tls_cert_file;
  files.key_file = config.tls_key_file;
  files.client_ca_file = config.tls_client_ca_file;
  files.client_cert_optional = config.tls_client_auth == "optional";
  return ReloadableGrpcTls::Create(files);
}

// The HTTP adapter's settings. ValidateServerConfig already refused plaintext off loopback
// unless allow_insecure_remote (a TLS-terminating proxy in front).
gateway::HttpGatewayOptions HttpAdapterOptions(const ServerConfig& config) {
  gateway::HttpGatewayOptions http;
  http.listen = config.http_listen;
  http.threads = config.http_threads;
  http.token_workers = config.token_workers;
  http.token_queue = static_cast<size_t>(config.token_queue);
  http.tls_cert_file = config.http_tls_cert_file;
  http.tls_key_file = config.http_tls_key_file;
  http.plaintext_behind_proxy = config.allow_insecure_remote;
  http.trusted_proxies = config.http_trusted_proxies;
  http.max_connections = config.http_max_connections;
  http.metrics_listen = config.metrics_listen;
  return http;
}

// "1, 2, 3 (primary 3)": ids only, never key material.
std::string DescribeRing(const crypto::KeyRing& ring) {
  std::string ids;
  for (std::uint32_t id : ring.key_ids()) absl::StrAppend(&ids, ids.empty() ? "" : ", ", id);
  return absl::StrCat("keys ", ids, " (primary ", ring.primary_key_id(), ")");
}

// The signing keys as the key gauges show them (set-file ids; no key material).
std::vector<Telemetry::SigningKey> SigningKeyIds(const crypto::TokenSigningKeys& keys) {
  std::vector<Telemetry::SigningKey> out;
  for (const crypto::SigningKeyInfo& k : keys.keys()) {
    out.push_back({k.id, k.state == crypto::SigningKeyState::kActive});
  }
  return out;
}

}  // namespace

HttpAdapterOnly::HttpAdapterOnly() = default;

HttpAdapterOnly::~HttpAdapterOnly() { Shutdown(); }

int HttpAdapterOnly::port() const { return gateway_->port(); }

int HttpAdapterOnly::metrics_port() const { return gateway_->metrics_port(); }

absl::Status HttpAdapterOnly::ReloadCertificate() { return gateway_->ReloadCertificate(); }

void HttpAdapterOnly::Shutdown() {
  if (gateway_ != nullptr) gateway_->Shutdown();
}

absl::StatusOr<std::unique_ptr<HttpAdapterOnly>> StartHttpAdapterOnly(const ServerConfig& config) {
  absl::Status valid = ValidateServerConfig(config);
  if (!valid.ok()) return valid;
  if (config.http_upstream.empty()) {
    return absl::InvalidArgumentError("http_upstream: required in adapter-only mode");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!config.http_upstream_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemFile(config.http_upstream_ca_file, "http_upstream_ca_file");
    if (!ca.ok()) return ca.status();
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = *ca;
    credentials = grpc::SslCredentials(options);
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(config.http_upstream, credentials);
  std::unique_ptr<HttpAdapterOnly> adapter(new HttpAdapterOnly());
  adapter->metrics_ = std::make_unique<observability::Registry>();
  gateway::HttpGatewayOptions http = HttpAdapterOptions(config);
  http.metrics = adapter->metrics_.get();  // the HTTP route metrics, and GET /metrics
  LOG_INFO(absl::StrCat("HTTP adapter only, calling registry-authd at ", config.http_upstream,
                        config.http_upstream_ca_file.empty() ? " (plaintext)" : " (TLS)"));
  absl::StatusOr<std::unique_ptr<gateway::HttpGateway>> gw =
      gateway::HttpGateway::Create(http, std::move(channel));
  if (!gw.ok()) return gw.status();
  adapter->gateway_ = *std::move(gw);
  return adapter;
}

RegistryAuthServer::RegistryAuthServer() = default;

RegistryAuthServer::~RegistryAuthServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<RegistryAuthServer>> RegistryAuthServer::Start(
    const ServerConfig& config) {
  absl::Status valid = ValidateServerConfig(config);
  if (!valid.ok()) return valid;
  std::unique_ptr<RegistryAuthServer> s(new RegistryAuthServer());
  s->clock_ = config.clock != nullptr ? config.clock : std::make_shared<const RealClock>();
  s->telemetry_ = std::make_unique<Telemetry>();

  // Keys: from the file, or from REGAUTH_KEYS. Never from the database.
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> keyring =
      config.key_file.empty() ? crypto::KeyRing::Parse(config.keys_text.view())
                              : crypto::KeyRing::LoadFile(config.key_file);
  if (!keyring.ok()) return keyring.status();
  LOG_INFO(absl::StrCat("key ring: ", DescribeRing(**keyring), " from ",
                        config.key_file.empty() ? "REGAUTH_KEYS" : config.key_file));
  s->key_file_ = config.key_file;
  s->telemetry_->SetEncryptionKeys((*keyring)->key_ids(), (*keyring)->primary_key_id());
  s->keys_ = std::make_unique<crypto::KeyRingHolder>(*std::move(keyring));

  storage::PostgresOptions db;
  db.dsn = config.database_url;
  db.pool_size = config.db_pool_size;
  db.connect_timeout = config.db_connect_timeout;
  db.pool_observer = &s->telemetry_->pool("registry", config.db_pool_size);
  absl::StatusOr<std::unique_ptr<storage::PostgresRegistryStore>> store =
      storage::PostgresRegistryStore::Create(db);
  if (!store.ok()) return store.status();
  s->store_ = *std::move(store);
  if (config.migrate) {
    absl::Status migrated = MigrateWhenReachable(*s->store_, config.startup_timeout);
    if (!migrated.ok()) return migrated;
  }
  // Secrets from before the endpoint binding (issue 17) are bound by the update rule only,
  // until an operator runs `keys reencrypt` (not done here: a replica of the previous release
  // cannot read a moved row). Say so at every start until then.
  if (absl::StatusOr<int64_t> unbound = s->store_->CountSecretsUnderOldAssociatedData();
      unbound.ok() && *unbound > 0) {
    LOG_WARNING(absl::StrCat(*unbound,
                             " stored secrets are not yet bound to their endpoint (written "
                             "before schema v8): once every replica runs this release, run "
                             "`registry-authd keys reencrypt` (deploy/README.md)"));
  }

  // Caller policy (reloadable); none in the explicit development mode.
  std::shared_ptr<const auth::CallerPolicy> policy;
  if (!config.policy_file.empty()) {
    absl::StatusOr<std::unique_ptr<auth::CallerPolicy>> loaded =
        auth::CallerPolicy::LoadFile(config.policy_file);
    if (!loaded.ok()) return loaded.status();
    policy = *std::move(loaded);
  }
  s->policy_file_ = config.policy_file;
  s->policy_ = std::make_unique<auth::PolicyHolder>(std::move(policy));
  s->authenticator_ =
      std::make_unique<api::CallAuthenticator>(*s->policy_, config.allow_unauthenticated);
  if (config.allow_unauthenticated) {
    LOG_WARNING(
        "--insecure_allow_unauthenticated: callers without credentials get every "
        "permission (local development only)");
  }
  absl::StatusOr<std::unique_ptr<ReloadableGrpcTls>> grpc_tls = GrpcServerTls(config);
  if (!grpc_tls.ok()) return grpc_tls.status();
  s->grpc_tls_ = *std::move(grpc_tls);
  if (s->grpc_tls_ != nullptr) LOG_INFO("gRPC TLS certificate: " + s->grpc_tls_->Describe());

  db.pool_observer = &s->telemetry_->pool("tokens", config.db_pool_size);
  absl::StatusOr<std::unique_ptr<storage::PostgresTokenStore>> tokens =
      storage::PostgresTokenStore::Create(db);
  if (!tokens.ok()) return tokens.status();
  s->token_store_ = *std::move(tokens);

  // Token realm: signing keys loaded once here (and on SIGHUP), never per request.
  services::TokenRealmOptions realm;
  if (!config.token_service.empty()) {
    crypto::TokenSigningOptions signing;
    absl::StatusOr<crypto::TokenHeaderMode> header =
        crypto::ParseTokenHeaderMode(config.token_header);
    if (!header.ok()) return header.status();
    absl::StatusOr<crypto::KeyIdStyle> kid_style = crypto::ParseKeyIdStyle(config.token_kid_style);
    if (!kid_style.ok()) return kid_style.status();
    signing.header_mode = *header;
    signing.kid_style = *kid_style;
    absl::StatusOr<std::unique_ptr<crypto::TokenSigningKeys>> signing_keys =
        crypto::TokenSigningKeys::Load(config.token_signing_keys, signing, s->clock_->Now());
    if (!signing_keys.ok()) return signing_keys.status();
    s->signing_keys_file_ = config.token_signing_keys;
    s->token_export_rootcertbundle_ = config.token_export_rootcertbundle;
    s->token_export_jwks_ = config.token_export_jwks;
    s->telemetry_->SetSigningKeys(SigningKeyIds(**signing_keys));
    s->signing_keys_ = std::make_unique<crypto::TokenSigningKeysHolder>(*std::move(signing_keys));
    absl::Status exported = s->ExportSigningKeys();
    if (!exported.ok()) return exported;
    LOG_INFO(absl::StrCat("token realm for service ", config.token_service, ": ",
                          s->signing_keys_->Get()->Summary()));
    realm.service = config.token_service;
    realm.issuer = config.token_issuer;
    realm.catalog_accounts = config.token_catalog_accounts;
    realm.registry_host = config.registry_host;
    realm.token_ttl = config.token_ttl;
    realm.pull_token_default_ttl = config.pull_token_ttl;
    realm.pull_token_max_ttl = config.pull_token_max_ttl;
    realm.refresh_token_ttl = config.refresh_token_ttl;
    realm.cache_ttl = config.token_cache_ttl;
  }
  absl::Status realm_valid = services::ValidateTokenRealmOptions(realm);
  if (!realm_valid.ok()) return realm_valid;

  s->service_ = std::make_unique<services::RegistryService>(*s->store_, *s->keys_, *s->clock_);

  // Outbound: one HTTP client (connection reuse, TLS always verified) for TestConnection.
  upstream::CurlHttpClient::Options outbound;
  outbound.ca_bundle_path = config.upstream_ca_file;
  outbound.default_timeout = config.test_connection_timeout;
  outbound.clock = s->clock_.get();
  outbound.allowed_networks = config.upstream_allowed_networks;
  outbound.proxy = config.upstream_proxy;
  absl::StatusOr<std::unique_ptr<upstream::CurlHttpClient>> http_client =
      upstream::CurlHttpClient::Create(outbound);
  if (!http_client.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("upstream_ca_file: ", http_client.status().message()));
  }
  s->http_client_ = *std::move(http_client);
  s->registry_probe_ = std::make_unique<upstream::DockerV2Probe>(*s->http_client_, *s->clock_);
  upstream::GitHubEndpoints github;
  github.api_base_url = config.github_api_url;
  github.ghcr_base_url = config.ghcr_url;
  s->sleeper_ = std::make_unique<upstream::RealSleeper>();
  s->ghcr_probe_ = std::make_unique<upstream::GitHubGhcrProbe>(
      *s->http_client_, *s->clock_, *s->sleeper_, github, *s->registry_probe_);
  services::ConnectionTesterOptions testing;
  testing.ghcr_base_url = config.ghcr_url;
  testing.timeout = config.test_connection_timeout;
  testing.max_concurrent = config.test_connection_max_concurrent;
  testing.max_per_workspace = config.test_connection_max_per_workspace;
  testing.metrics = &s->telemetry_->connection_tests();
  upstream::GitHubAppTokenSource::Options app_token_options;
  app_token_options.observer = &s->telemetry_->github_app_tokens();
  s->app_tokens_ = std::make_unique<upstream::GitHubAppTokenSource>(
      *s->http_client_, *s->clock_, *s->sleeper_, github, app_token_options);
  s->connection_tester_ = std::make_unique<services::ConnectionTester>(
      *s->registry_probe_, s->ghcr_probe_.get(), s->app_tokens_.get(), *s->clock_, testing);
  services::RegistryAuthOptions auth_options;
  auth_options.tester = s->connection_tester_.get();
  auth_options.app_tokens = s->app_tokens_.get();
  auth_options.github_host = services::GitHubHostOf(config.github_api_url);
  s->guard_ =
      std::make_unique<services::Guard>(*s->store_, *s->clock_, &s->telemetry_->rejected_calls());
  // /token answers that grant push or delete are audited off the request path (README "Token
  // issuance audit"); Shutdown flushes what is queued.
  s->token_audit_ = std::make_unique<services::TokenAuditQueue>(
      *s->store_, *s->clock_, services::TokenAuditOptions{}, &s->telemetry_->token_audit());
  s->token_audit_->Start();
  s->token_services_ = std::make_unique<services::TokenServices>(
      *s->store_, *s->token_store_, *s->keys_, s->signing_keys_.get(), *s->clock_, realm,
      &s->telemetry_->token_realm(), s->token_audit_.get());
  s->token_realm_ = std::make_unique<services::TokenRealm>(*s->guard_, *s->token_services_);
  auth_options.workspace_credentials = &s->token_services_->workspace_credentials();
  s->members_ = std::make_unique<services::MemberService>(*s->store_, *s->clock_);
  s->credentials_ = std::make_unique<services::CredentialService>(*s->store_, *s->service_,
                                                                  *s->clock_, auth_options);
  s->registry_events_ = std::make_unique<services::RegistryEventLog>(*s->store_);
  s->registry_auth_ = std::make_unique<services::RegistryAuth>(
      *s->guard_, *s->service_, *s->members_, *s->credentials_, s->registry_events_.get());
  s->grpc_service_ = std::make_unique<api::RegistryAuthGrpcService>(
      *s->registry_auth_, *s->token_realm_, *s->authenticator_);

  // The platform registry's notifications (POST /v1/registryEvents:notify), when configured.
  if (!config.registry_events_secret_file.empty()) {
    absl::StatusOr<SecretString> text =
        ReadPrivateFile(config.registry_events_secret_file, "registry events secret file");
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<SecretString>> secrets = services::ParseRegistryEventSecrets(*text);
    if (!secrets.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(config.registry_events_secret_file, ": ", secrets.status().message()));
    }
    s->registry_event_receiver_ = std::make_unique<services::RegistryEventReceiver>(
        *secrets, *s->store_, *s->guard_, *s->clock_, &s->telemetry_->registry_events());
    s->registry_event_notifier_ =
        std::make_unique<api::RegistryEventNotifier>(*s->registry_event_receiver_);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Plaintext only on loopback unless explicitly allowed (ValidateServerConfig).
  builder.AddListeningPort(
      config.grpc_listen,
      s->grpc_tls_ != nullptr ? s->grpc_tls_->NewCredentials() : grpc::InsecureServerCredentials(),
      &s->grpc_port_);
  builder.RegisterService(s->grpc_service_.get());
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  // The synchronous server keeps at most MAX_POLLERS idle threads (gRPC's default: 2); a thread
  // that finishes a call while that many wait for work exits, and the next burst creates new
  // ones. Under 8-32 concurrent calls that blocked on the database this churned threads (clone,
  // exit, unmapping the stack: about a tenth of registry-authd's CPU per GetCredentials in a
  // profile, issue 20). Idle threads beyond MIN_POLLERS still exit after the poll timeout.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kGrpcMaxIdleThreads);
  if (config.grpc_max_connection_age > absl::ZeroDuration()) {
    // Connections older than this get a GOAWAY; calls in flight get the grace to finish.
    // Clients reconnect on their own (gRPC does that transparently for new calls), which lets
    // an L4 load balancer place them again.
    auto millis = [](absl::Duration d) {
      return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT_MAX));
    };
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               millis(config.grpc_max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               millis(config.grpc_max_connection_age_grace));
  }
  // Per-call metrics and the access-log line (caller names from the policy, never keys).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> telemetry;
  s->grpc_telemetry_ = std::make_unique<observability::GrpcTelemetry>(
      s->telemetry_->registry(),
      [authn = s->authenticator_.get()](const grpc::ServerContextBase& context) {
        api::CallAuthenticator::CallerForTelemetry who = authn->IdentifyForTelemetry(context);
        return observability::GrpcCaller{std::move(who.identity), std::move(who.name)};
      });
  telemetry.push_back(s->grpc_telemetry_->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(telemetry));
  s->grpc_server_ = builder.BuildAndStart();
  if (s->grpc_server_ == nullptr || s->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc_listen: cannot listen on ", config.grpc_listen));
  }

  s->health_monitor_ = std::make_unique<DbHealthMonitor>(
      *s->store_, s->grpc_server_->GetHealthCheckService(), config.health_interval);
  s->health_monitor_->Start();

  // Expired tokens and stale throttle states go away by themselves (every replica may do it).
  s->housekeeping_ = std::make_unique<PeriodicTask>(
      config.token_housekeeping_interval, [tokens = s->token_services_.get()] {
        absl::StatusOr<services::HousekeepingResult> r = tokens->Housekeep();
        if (!r.ok()) {
          LOG_WARNING(absl::StrCat("token housekeeping failed: ", r.status().message()));
        } else if (r->pull_tokens + r->refresh_tokens + r->throttle_states > 0) {
          LOG_INFO(absl::StrCat("token housekeeping deleted ", r->pull_tokens,
                                " expired pull tokens, ", r->refresh_tokens,
                                " expired refresh tokens, ", r->throttle_states,
                                " stale throttle states"));
        }
      });
  s->housekeeping_->Start();
  // Scheduled revalidation: one replica at a time tests the configs validated longer ago than
  // the interval; every replica recomputes the credential gauges after each round.
  // Background jobs that run on one replica at a time take their lock here (a small pool of
  // its own: one connection per held lock).
  if (config.revalidate_interval > absl::ZeroDuration() ||
      config.registry_events_retention > absl::ZeroDuration()) {
    storage::PostgresOptions locks_db;
    locks_db.dsn = config.database_url;
    locks_db.pool_size = 2;  // one connection per held job lock
    locks_db.connect_timeout = config.db_connect_timeout;
    absl::StatusOr<std::unique_ptr<storage::PostgresJobLocks>> locks =
        storage::PostgresJobLocks::Create(locks_db);
    if (!locks.ok()) return locks.status();
    s->job_locks_ = *std::move(locks);
  }
  if (config.revalidate_interval > absl::ZeroDuration()) {
    services::RevalidationOptions revalidation;
    revalidation.interval = config.revalidate_interval;
    revalidation.test_timeout = config.test_connection_timeout;
    s->revalidator_ = std::make_unique<services::Revalidator>(
        *s->store_, *s->job_locks_, *s->credentials_, *s->clock_, revalidation,
        &s->telemetry_->revalidation());
    s->revalidation_ = std::make_unique<PeriodicTask>(
        std::min(config.revalidate_interval, absl::Minutes(10)),
        [revalidator = s->revalidator_.get()] {
          try {
            absl::StatusOr<services::RevalidationRound> r = revalidator->RunRound();
            if (!r.ok()) LOG_WARNING(absl::StrCat("revalidation failed: ", r.status().message()));
          } catch (const std::exception& e) {
            LOG_ERROR(absl::StrCat("revalidation failed: ", e.what()));
          }
        });
    s->revalidation_->Start();
  }
  // Summary rows of rate-limited refused calls (services/rejected_calls.h) are written within a
  // minute even when their key is never refused again.
  s->rejected_flush_ = std::make_unique<PeriodicTask>(
      absl::Minutes(1), [guard = s->guard_.get()] { guard->FlushRejected(); });
  s->rejected_flush_->Start();
  // Registry events older than --registry_events_retention go, in batches, every hour, on the
  // replica that holds the pruning job's lock.
  if (config.registry_events_retention > absl::ZeroDuration()) {
    s->registry_event_retention_ = std::make_unique<services::RegistryEventRetention>(
        *s->store_, *s->job_locks_, *s->clock_, config.registry_events_retention);
    s->registry_event_pruning_ = std::make_unique<PeriodicTask>(
        absl::Hours(1), [retention = s->registry_event_retention_.get()] {
          try {
            absl::StatusOr<services::PruneRound> pruned = retention->PruneOnce();
            if (!pruned.ok()) {
              LOG_WARNING(
                  absl::StrCat("registry event pruning failed: ", pruned.status().message()));
            } else if (pruned->deleted > 0) {
              LOG_INFO(absl::StrCat("registry event pruning deleted ", pruned->deleted, " events"));
            }
          } catch (const std::exception& e) {
            LOG_ERROR(absl::StrCat("registry event pruning failed: ", e.what()));
          }
        });
    s->registry_event_pruning_->Start();
  }

  gateway::HttpGatewayOptions http = HttpAdapterOptions(config);
  http.metrics = &s->telemetry_->registry();  // and GET /metrics
  s->in_process_tokens_ =
      std::make_unique<api::InProcessTokens>(*s->grpc_service_, *s->grpc_telemetry_);
  http.in_process_tokens = s->in_process_tokens_.get();
  http.registry_events = s->registry_event_notifier_.get();
  absl::StatusOr<std::unique_ptr<gateway::HttpGateway>> gw =
      gateway::HttpGateway::Create(http, s->InProcessChannel());
  if (!gw.ok()) {
    s->Shutdown(absl::ZeroDuration());
    return gw.status();
  }
  s->gateway_ = *std::move(gw);
  return s;
}

int RegistryAuthServer::http_port() const { return gateway_ ? gateway_->port() : 0; }

int RegistryAuthServer::metrics_port() const { return gateway_ ? gateway_->metrics_port() : 0; }

std::shared_ptr<grpc::Channel> RegistryAuthServer::InProcessChannel() {
  return grpc_server_->InProcessChannel(grpc::ChannelArguments());
}

bool RegistryAuthServer::ProbeDatabaseNow() { return health_monitor_->ProbeNow(); }

absl::Status RegistryAuthServer::ReloadPolicy() {
  if (policy_file_.empty()) {
    return absl::FailedPreconditionError("no --policy_file configured; nothing to reload");
  }
  absl::Status s = policy_->ReloadFromFile(policy_file_);
  if (s.ok()) {
    LOG_INFO(absl::StrCat("caller policy reloaded from ", policy_file_, " (",
                          policy_->Get()->caller_count(), " callers)"));
  } else {
    LOG_ERROR(absl::StrCat("caller policy NOT reloaded, keeping the previous one: ", s.message()));
  }
  return s;
}

absl::Status RegistryAuthServer::ReloadKeys() {
  absl::MutexLock lock(&reload_keys_mu_);
  auto refuse = [](absl::Status status) {
    LOG_ERROR(absl::StrCat("key ring NOT reloaded, keeping the previous one: ", status.message()));
    return status;
  };
  if (key_file_.empty()) {
    // Not an error of the moment (SIGHUP reloads the policy too): say it quietly.
    LOG_INFO("key ring not reloaded: the keys come from REGAUTH_KEYS; restart to change them");
    return absl::FailedPreconditionError(
        "the keys come from REGAUTH_KEYS, not a file; restart to change them");
  }
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> loaded = crypto::KeyRing::LoadFile(key_file_);
  if (!loaded.ok()) return refuse(loaded.status());
  std::shared_ptr<const crypto::KeyRing> next = *std::move(loaded);
  const std::shared_ptr<const crypto::KeyRing> current = keys_->Get();

  // Refuse changed key bytes before asking the database anything.
  if (absl::Status bytes = services::KeyUsage::CheckKeyBytes(*current, *next); !bytes.ok()) {
    return refuse(bytes);
  }
  std::vector<std::string> warnings;
  absl::Status allowed = services::KeyUsage::CheckReplacement(
      *current, *next, services::KeyUsage::Read(*store_, *token_store_), &warnings);
  if (!allowed.ok()) return refuse(allowed);
  for (const std::string& warning : warnings) LOG_WARNING(warning);
  keys_->Set(next);
  telemetry_->SetEncryptionKeys(next->key_ids(), next->primary_key_id());
  LOG_INFO(absl::StrCat("key ring reloaded from ", key_file_, ": ", DescribeRing(*next)));
  return absl::OkStatus();
}

absl::Status RegistryAuthServer::ExportSigningKeys() {
  if (signing_keys_ == nullptr) return absl::OkStatus();
  if (token_export_rootcertbundle_.empty() && token_export_jwks_.empty()) return absl::OkStatus();
  const std::shared_ptr<const crypto::TokenSigningKeys> keys = signing_keys_->Get();
  absl::Status s = crypto::WriteTokenSigningExports(
      *keys, token_export_rootcertbundle_, token_export_jwks_, crypto::KeyIdStyle::kJwkThumbprint);
  if (!s.ok()) LOG_ERROR(absl::StrCat("signing key exports not written: ", s.message()));
  return s;
}

absl::Status RegistryAuthServer::ReloadHttpCertificate() {
  if (gateway_ == nullptr || !gateway_->tls()) {
    return absl::FailedPreconditionError("the HTTP adapter serves no TLS; nothing to reload");
  }
  absl::Status s = gateway_->ReloadCertificate();
  if (s.ok()) {
    LOG_INFO("HTTP adapter certificate reloaded (new connections use it)");
  } else {
    LOG_ERROR(absl::StrCat("HTTP adapter certificate NOT reloaded, keeping the previous one: ",
                           s.message()));
  }
  return s;
}

absl::Status RegistryAuthServer::ReloadGrpcCertificate() {
  if (grpc_tls_ == nullptr) {
    return absl::FailedPreconditionError("the gRPC port serves no TLS; nothing to reload");
  }
  absl::Status s = grpc_tls_->Reload();
  if (s.ok()) {
    LOG_INFO(absl::StrCat("gRPC certificate reloaded (new connections use it): ",
                          grpc_tls_->Describe()));
  } else {
    LOG_ERROR(
        absl::StrCat("gRPC certificate NOT reloaded, keeping the previous one: ", s.message()));
  }
  return s;
}

absl::Status RegistryAuthServer::ReloadSigningKeys() {
  if (signing_keys_ == nullptr) {
    return absl::FailedPreconditionError("no token realm configured; nothing to reload");
  }
  absl::Status s = signing_keys_->Reload(signing_keys_file_, clock_->Now());
  if (!s.ok()) {
    LOG_ERROR(absl::StrCat("signing keys NOT reloaded, keeping the previous ones: ", s.message()));
    return s;
  }
  telemetry_->SetSigningKeys(SigningKeyIds(*signing_keys_->Get()));
  LOG_INFO(absl::StrCat("signing keys reloaded from ", signing_keys_file_, ": ",
                        signing_keys_->Get()->Summary()));
  return ExportSigningKeys();
}

void RegistryAuthServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (health_monitor_) health_monitor_->Stop();
  if (housekeeping_) housekeeping_->Stop();
  if (revalidator_) revalidator_->Stop();  // a round in progress ends after its current test
  if (revalidation_) revalidation_->Stop();
  if (registry_event_pruning_) registry_event_pruning_->Stop();
  if (rejected_flush_) {
    rejected_flush_->Stop();
    guard_->FlushRejected();
  }
  // HTTP first: its requests ride the in-process channel into the gRPC server.
  if (gateway_) gateway_->Shutdown();
  if (grpc_server_) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    grpc_server_->Wait();
  }
  // Every /token call has finished: write the audit rows still queued.
  if (token_audit_) token_audit_->Stop();
}

}  // namespace registryauth::server
