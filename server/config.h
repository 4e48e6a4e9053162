// Configuration of registry-authd, from flags with environment fallbacks.
//
// Every setting has a flag and an environment variable (flag wins); see FlagHelp() or
// `registry-authd --help`. Parsing never exits: errors come back as INVALID_ARGUMENT with one
// clear line naming the setting, and main() prints it and exits non-zero.
//
//   ASSIGN_OR_RETURN(ServerConfig config, ServerConfigFromEnvAndFlags(getenv_fn));
//   ASSIGN_OR_RETURN(HostPort grpc, ParseHostPort(config.grpc_listen, "grpc_listen"));
#ifndef REGISTRY_AUTH_SERVER_CONFIG_H_
#define REGISTRY_AUTH_SERVER_CONFIG_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/ip_address.h"
#include "common/secret.h"

namespace registryauth::server {

struct ServerConfig {
  // host:port; port 0 picks a free port (tests).
  std::string grpc_listen = "127.0.0.1:50051";
  std::string http_listen = "127.0.0.1:8080";
  // libpq DSN (keyword form or postgresql:// URI). Required.
  std::string database_url;
  int db_pool_size = 8;
  absl::Duration db_connect_timeout = absl::Seconds(3);
  // Path of the key-ring file (crypto/keyring.h format). Exactly one of key_file / keys_text.
  std::string key_file;
  // Key-ring text given directly (REGAUTH_KEYS), e.g. from a secret store.
  SecretString keys_text;
  // Apply pending migrations at start-up (safe with several replicas: advisory lock).
  bool migrate = true;
  // How long start-up waits for the database before giving up.
  absl::Duration startup_timeout = absl::Seconds(30);
  // In-flight calls get this long to finish after SIGTERM/SIGINT.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // How often the database is probed for the health service.
  absl::Duration health_interval = absl::Seconds(2);
  // Plaintext (no TLS files) on a non-loopback address is refused unless this is set (for a
  // TLS-terminating mesh sidecar or proxy in front). Applies to gRPC and HTTP.
  bool allow_insecure_remote = false;

  // gRPC TLS: server certificate chain and key (PEM files). Both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // CA bundle (PEM) that client certificates must chain to; enables mutual TLS.
  std::string tls_client_ca_file;
  // With a client CA: "require" (every caller presents a certificate) or "optional" (callers
  // without one authenticate with an API key; a presented certificate must still verify).
  std::string tls_client_auth = "require";

  // Caller policy file (auth/policy.h); reloaded on SIGHUP. Required unless
  // allow_unauthenticated.
  std::string policy_file;
  // Local development only: callers without credentials get every permission. Refused unless
  // both listeners are on loopback addresses.
  bool allow_unauthenticated = false;

  // ---- Token realm (Docker token authentication at the HTTP adapter's /token). Off unless
  // token_service is set.
  // The registry's service name (Distribution `auth.token.service`).
  std::string token_service;
  // The tokens' issuer (Distribution `auth.token.issuer`).
  std::string token_issuer = "registry-auth";
  // Signing-key set file (crypto/token_signing_keys.h); required with token_service; reloaded
  // on SIGHUP.
  std::string token_signing_keys;
  // Token header: "kid" or "x5c" (x5c also carries kid), and the kid style: "libtrust"
  // (Distribution 2.x) or "jwk-thumbprint" (Distribution 3.x).
  std::string token_header = "kid";
  std::string token_kid_style = "libtrust";
  // Where the server writes what the registry needs to trust the signing keys, at start-up and
  // after each reload (empty = not written): the rootcertbundle PEM and the JWKS file.
  std::string token_export_rootcertbundle;
  std::string token_export_jwks;
  // The registry host MintPullToken hands out, e.g. registry.example.com:5000.
  std::string registry_host;
  absl::Duration token_ttl = absl::Minutes(5);
  absl::Duration pull_token_ttl = absl::Hours(1);
  absl::Duration pull_token_max_ttl = absl::Hours(24);
  absl::Duration refresh_token_ttl = absl::Hours(24 * 30);
  // Service accounts whose tokens may carry `registry:catalog:*` (the registry's catalog
  // lists every workspace's repositories: operators only): user name `<workspace>+<account>`
  // → the account's uid, so a deleted and re-created account does not inherit the right.
  // The flag's form: `<workspace>+<account>@<uid>`, comma-separated.
  std::map<std::string, std::string, std::less<>> token_catalog_accounts;
  // How long a replica reuses account/pull-token rows and clean throttle states (0: never).
  absl::Duration token_cache_ttl = absl::Seconds(5);
  // How often expired tokens (a day after expiry) and stale throttle states are deleted.
  absl::Duration token_housekeeping_interval = absl::Minutes(10);

  // Adapter-only mode: serve the HTTP adapter (REST routes and /token) against the gRPC
  // service of a remote registry-authd at this host:port instead of an in-process one. No
  // database, keys or policy are needed then; callers' credentials (x-api-key, Authorization:
  // Bearer) pass through to the remote service, which authenticates them.
  // HTTP adapter I/O threads.
  int http_threads = 2;
  // In the server's own process /token (the in-process path, api/in_process.h) runs on this
  // many worker threads, with at most token_queue requests waiting (then 503).
  int token_workers = 4;
  int token_queue = 256;
  std::string http_upstream;
  // CA bundle (PEM) to verify the upstream's TLS certificate; empty: plaintext, which is only
  // allowed to a loopback upstream unless allow_insecure_remote.
  std::string http_upstream_ca_file;

  // Outbound calls (TestConnection, GitHub): trusted CAs (PEM; empty = the system store; TLS
  // verification cannot be turned off), where GitHub and GHCR live (GitHub Enterprise Server,
  // tests), how long one TestConnection may take and how many run at once.
  std::string upstream_ca_file;
  std::string github_api_url = "https://api.github.com";
  std::string ghcr_url = "https://ghcr.io";
  absl::Duration test_connection_timeout = absl::Seconds(30);
  int test_connection_max_concurrent = 8;
  // Of those, tests of one workspace at once (so one tenant cannot take every slot).
  int test_connection_max_per_workspace = 2;
  // Scheduled revalidation (services/revalidation.h): configs whose last validation is older
  // than this are tested again, one replica at a time; 0 = off. Rounds start every
  // min(revalidate_interval, 10m), so a config is tested again about that long after it is due.
  absl::Duration revalidate_interval = absl::Hours(24);
  // Outbound policy (upstream/curl_http_client.h): internal addresses (loopback, private,
  // link-local, metadata, ...) outbound calls may still connect to, e.g. the platform's own
  // registry on a private network. Empty (the default): none.
  std::vector<IpNetwork> upstream_allowed_networks;
  // The HTTP proxy outbound calls go through ("http://proxy.internal:3128"); empty (the
  // default): none. libcurl's environment variables (https_proxy, ...) are never used.
  std::string upstream_proxy;

  // Proxies / HTTP load balancers in front of the HTTP adapter whose `X-Forwarded-For` names
  // the client (CIDRs or single addresses, IPv4 and IPv6; gateway/client_address.h). Empty:
  // the client is always the TCP peer and the header is ignored.
  std::vector<std::string> http_trusted_proxies;

  // The most connections the HTTP adapter serves at once (1..1000000); more are accepted and
  // closed at once. Each holds a file descriptor: keep it below RLIMIT_NOFILE (`ulimit -n`)
  // minus what the database pool and gRPC need (gateway/http_gateway.h).
  int http_max_connections = 1024;
  // host:port of a second, plain-HTTP listener that serves only GET /metrics (and /healthz);
  // /metrics then leaves the HTTP listener (404 there). Empty: /metrics on the HTTP listener.
  // Any address is allowed (scrapers come from the mesh): bind it to an internal interface.
  std::string metrics_listen;

  // gRPC connections are closed gracefully (GOAWAY) after this age, plus
  // grpc_max_connection_age_grace for the calls in flight, so clients reconnect and an L4
  // load balancer can spread them again. 0: no limit.
  absl::Duration grpc_max_connection_age = absl::ZeroDuration();
  absl::Duration grpc_max_connection_age_grace = absl::Seconds(30);

  // HTTPS for the HTTP adapter: certificate chain and key (PEM files). Both or neither.
  // Docker clients insist on an HTTPS token realm outside localhost.
  std::string http_tls_cert_file;
  std::string http_tls_key_file;

  // Logs (stderr): "json" (one object per line, the default for the daemon) or "text"; and the
  // lowest level written: "info", "warning" or "error". main() applies them (common/log.h).
  std::string log_format = "json";
  std::string log_level = "info";
  // How often buffered info lines are written (common/log.h); zero: every line at once.
  absl::Duration log_flush_interval = absl::Milliseconds(100);

  // The time source of everything the server builds (token realm and its caches, expiry and
  // throttle checks, signing-key validity, audit times, outbound deadlines). Null: the real
  // clock. Not a flag: tests that build a ServerConfig directly pass a FakeClock here and
  // advance it instead of sleeping through expiries (tests/support/test_stack.h). Shared so
  // that several servers in one test process (replicas) can run on the same clock. Real
  // waiting (start-up retries while the database is down, health probes, shutdown grace) stays
  // on the real clock.
  std::shared_ptr<const Clock> clock;

  // ---- Registry events (issue 19): a private file (no group or other access bits, refused at
  // start otherwise) holding the bearer secret the platform registry's notification endpoint
  // sends, one per line (two during a rotation). Empty: `POST /v1/registryEvents:notify` does
  // not exist.
  std::string registry_events_secret_file;
  // How long registry events are kept (by event_time); pruned hourly in batches. Zero: kept.
  absl::Duration registry_events_retention = absl::Hours(24 * 90);
};

struct HostPort {
  std::string host;
  int port = 0;
};

// Parses "host:port" / "[v6]:port". `field` names the setting in errors.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view value, absl::string_view field);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(absl::string_view host);

// Environment lookup, injectable for tests. Returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup ProcessEnv();

// Builds the configuration from already-parsed absl flags (flag set > env > default) and
// validates it. Call after absl::ParseCommandLine.
absl::StatusOr<ServerConfig> ServerConfigFromFlags(const EnvLookup& env);

// Validates a configuration (all the cross-field rules). Used by ServerConfigFromFlags and by
// tests that build a ServerConfig directly.
absl::Status ValidateServerConfig(const ServerConfig& config);

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_CONFIG_H_
