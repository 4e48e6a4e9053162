#include "server/config.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ip_address.h"
#include "common/status_macros.h"
#include "gateway/client_address.h"
#include "model/tokens.h"

// Every setting is a string flag whose empty default means "not given", so the environment
// variable can fill in; the real default lives in ServerConfig.
ABSL_FLAG(std::string, grpc_listen, "",
          "gRPC listen address host:port (env REGAUTH_GRPC_LISTEN; default 127.0.0.1:50051)");
ABSL_FLAG(std::string, http_listen, "",
          "HTTP listen address host:port (env REGAUTH_HTTP_LISTEN; default 127.0.0.1:8080)");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL DSN, keyword form or postgresql:// URI (env REGAUTH_DATABASE_URL; required)");
ABSL_FLAG(std::string, db_pool_size, "",
          "database connection pool size, 1..256 (env REGAUTH_DB_POOL_SIZE; default 8)");
ABSL_FLAG(std::string, db_connect_timeout, "",
          "database connect timeout, e.g. 3s (env REGAUTH_DB_CONNECT_TIMEOUT)");
ABSL_FLAG(std::string, key_file, "", "key-ring file, mode 0600 (env REGAUTH_KEY_FILE)");
ABSL_FLAG(std::string, migrate, "",
          "apply pending migrations at start-up: true|false (env REGAUTH_MIGRATE; default true)");
ABSL_FLAG(std::string, startup_timeout, "",
          "how long start-up waits for the database, e.g. 30s (env REGAUTH_STARTUP_TIMEOUT)");
ABSL_FLAG(std::string, shutdown_grace, "",
          "time in-flight calls get to finish on SIGTERM, e.g. 10s (env REGAUTH_SHUTDOWN_GRACE)");
ABSL_FLAG(std::string, health_interval, "",
          "database health probe interval, e.g. 2s (env REGAUTH_HEALTH_INTERVAL)");
ABSL_FLAG(std::string, allow_insecure_remote, "",
          "allow plaintext gRPC/HTTP on non-loopback addresses: true|false (env "
          "REGAUTH_ALLOW_INSECURE_REMOTE; default false)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "gRPC TLS server certificate chain, PEM (env REGAUTH_TLS_CERT_FILE)");
ABSL_FLAG(std::string, tls_key_file, "",
          "gRPC TLS server private key, PEM (env REGAUTH_TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "CA bundle for client certificates; enables mutual TLS (env REGAUTH_TLS_CLIENT_CA_FILE)");
ABSL_FLAG(std::string, tls_client_auth, "",
          "with a client CA: require|optional (env REGAUTH_TLS_CLIENT_AUTH; default require)");
ABSL_FLAG(std::string, policy_file, "",
          "caller policy file, reloaded on SIGHUP (env REGAUTH_POLICY_FILE; required unless "
          "--insecure_allow_unauthenticated)");
ABSL_FLAG(std::string, insecure_allow_unauthenticated, "",
          "LOCAL DEVELOPMENT ONLY: callers without credentials get every permission; loopback "
          "listeners only: true|false (env REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED)");
ABSL_FLAG(std::string, token_service, "",
          "token realm: the registry's service name; enables /token (env REGAUTH_TOKEN_SERVICE)");
ABSL_FLAG(std::string, token_catalog_accounts, "",
          "token realm: comma-separated service accounts whose tokens may list the registry "
          "catalog, each <workspace>+<account>@<uid> (the uid from `regauthctl service-accounts "
          "get`) (env REGAUTH_TOKEN_CATALOG_ACCOUNTS; default none)");
ABSL_FLAG(
    std::string, token_issuer, "",
    "token realm: issuer of registry tokens (env REGAUTH_TOKEN_ISSUER; default registry-auth)");
ABSL_FLAG(std::string, token_signing_keys, "",
          "token realm: signing-key set file, reloaded on SIGHUP (env REGAUTH_TOKEN_SIGNING_KEYS)");
ABSL_FLAG(std::string, token_header, "",
          "token realm: kid|x5c (env REGAUTH_TOKEN_HEADER; default kid)");
ABSL_FLAG(std::string, token_kid_style, "",
          "token realm: libtrust (Distribution 2.x) | jwk-thumbprint (3.x) (env "
          "REGAUTH_TOKEN_KID_STYLE; default libtrust)");
ABSL_FLAG(std::string, token_export_rootcertbundle, "",
          "token realm: write the rootcertbundle PEM here at start-up and reload (env "
          "REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE)");
ABSL_FLAG(
    std::string, token_export_jwks, "",
    "token realm: write the JWKS here at start-up and reload (env REGAUTH_TOKEN_EXPORT_JWKS)");
ABSL_FLAG(std::string, registry_host, "",
          "token realm: registry host MintPullToken returns, e.g. registry.example.com:5000 (env "
          "REGAUTH_REGISTRY_HOST)");
ABSL_FLAG(std::string, token_ttl, "",
          "token realm: registry token lifetime, 60s..24h (env REGAUTH_TOKEN_TTL; default 5m)");
ABSL_FLAG(std::string, pull_token_ttl, "",
          "default MintPullToken lifetime (env REGAUTH_PULL_TOKEN_TTL; default 1h)");
ABSL_FLAG(std::string, pull_token_max_ttl, "",
          "maximum MintPullToken lifetime (env REGAUTH_PULL_TOKEN_MAX_TTL; default 24h)");
ABSL_FLAG(std::string, refresh_token_ttl, "",
          "token realm: refresh token lifetime (env REGAUTH_REFRESH_TOKEN_TTL; default 720h)");
ABSL_FLAG(std::string, token_cache_ttl, "",
          "token realm: how long a replica reuses account and pull-token rows; other replicas' "
          "revocations apply within it; 0s disables (env REGAUTH_TOKEN_CACHE_TTL; default 5s)");
ABSL_FLAG(std::string, token_housekeeping_interval, "",
          "how often expired tokens and stale throttle states are deleted (env "
          "REGAUTH_TOKEN_HOUSEKEEPING_INTERVAL; default 10m)");
ABSL_FLAG(std::string, http_upstream, "",
          "adapter-only mode: serve HTTP against the gRPC service of a remote registry-authd at "
          "host:port (env REGAUTH_HTTP_UPSTREAM)");
ABSL_FLAG(std::string, http_upstream_ca_file, "",
          "adapter-only mode: CA bundle to verify the upstream's TLS certificate (env "
          "REGAUTH_HTTP_UPSTREAM_CA_FILE)");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "outbound HTTPS (TestConnection, GitHub): CA bundle (PEM) to trust instead of the system "
          "store (env REGAUTH_UPSTREAM_CA_FILE)");
ABSL_FLAG(std::string, github_api_url, "",
          "GitHub REST API base URL; GitHub Enterprise Server: https://HOST/api/v3 (env "
          "REGAUTH_GITHUB_API_URL; default https://api.github.com)");
ABSL_FLAG(std::string, ghcr_url, "",
          "GitHub Container Registry base URL (env REGAUTH_GHCR_URL; default https://ghcr.io)");
ABSL_FLAG(std::string, revalidate_interval, "",
          "test every registry config again once its last validation is older than this, one "
          "replica at a time; 0 turns scheduled revalidation off (env "
          "REGAUTH_REVALIDATE_INTERVAL; default 24h; 0, or 1m to 8784h)");
ABSL_FLAG(std::string, test_connection_timeout, "",
          "longest one TestConnection may take, 1s..5m (env REGAUTH_TEST_CONNECTION_TIMEOUT; "
          "default 30s)");
ABSL_FLAG(std::string, test_connection_max_concurrent, "",
          "TestConnection calls running at once, 1..256; more get RESOURCE_EXHAUSTED (env "
          "REGAUTH_TEST_CONNECTION_MAX_CONCURRENT; default 8)");
ABSL_FLAG(std::string, test_connection_max_per_workspace, "",
          "TestConnection calls of one workspace running at once, 1..256, within "
          "--test_connection_max_concurrent; more get RESOURCE_EXHAUSTED (env "
          "REGAUTH_TEST_CONNECTION_MAX_PER_WORKSPACE; default 2)");
ABSL_FLAG(std::string, upstream_allowed_networks, "",
          "outbound calls (TestConnection, token realms, GitHub) may connect to these internal "
          "networks, comma-separated CIDRs or addresses such as 10.20.0.0/16,fd00:1::/64; every "
          "other loopback, private, link-local, CGNAT, multicast or metadata address is refused "
          "(env REGAUTH_UPSTREAM_ALLOWED_NETWORKS; default none)");
ABSL_FLAG(std::string, upstream_proxy, "",
          "outbound calls (TestConnection, token realms, GitHub) go through this HTTP proxy, "
          "http://HOST:PORT or https://HOST:PORT; each target is still resolved and checked "
          "against the outbound policy first. The environment's http_proxy / https_proxy / "
          "all_proxy are ignored (env REGAUTH_UPSTREAM_PROXY; default none)");
ABSL_FLAG(std::string, http_tls_cert_file, "",
          "HTTPS certificate chain for the HTTP adapter, PEM (env REGAUTH_HTTP_TLS_CERT_FILE)");
ABSL_FLAG(std::string, http_tls_key_file, "",
          "HTTPS private key for the HTTP adapter, PEM (env REGAUTH_HTTP_TLS_KEY_FILE)");
ABSL_FLAG(std::string, http_threads, "",
          "HTTP adapter I/O threads, 1..256 (env REGAUTH_HTTP_THREADS; default 2)");
ABSL_FLAG(std::string, token_workers, "",
          "threads that run /token in the server's own process, off the HTTP I/O threads (a cache "
          "miss waits on the database there), 1..256 (env REGAUTH_TOKEN_WORKERS; default 4)");
ABSL_FLAG(std::string, token_queue, "",
          "/token requests that may wait for a token worker; past that /token answers 503 with "
          "Retry-After, 0..100000 (env REGAUTH_TOKEN_QUEUE; default 256)");
ABSL_FLAG(std::string, http_trusted_proxies, "",
          "comma-separated CIDRs of proxies/load balancers in front of the HTTP adapter whose "
          "X-Forwarded-For names the client, e.g. 10.0.0.0/8,fd00::/8 (env "
          "REGAUTH_HTTP_TRUSTED_PROXIES; default none: the header is ignored)");
ABSL_FLAG(std::string, http_max_connections, "",
          "most connections the HTTP adapter serves at once, 1..1000000; more are closed at once "
          "(http_server_connections_refused_total); keep it below the open-file limit, ulimit -n "
          "(env REGAUTH_HTTP_MAX_CONNECTIONS; default 1024)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of a plain-HTTP listener serving only GET /metrics and /healthz; /metrics "
          "then leaves the HTTP listener; any address, bind it to an internal interface (env "
          "REGAUTH_METRICS_LISTEN; default empty: /metrics on the HTTP listener)");
ABSL_FLAG(std::string, grpc_max_connection_age, "",
          "close gRPC connections gracefully after this age so clients reconnect and L4 balancers "
          "rebalance, e.g. 5m; 0s = no limit (env REGAUTH_GRPC_MAX_CONNECTION_AGE; default 0s)");
ABSL_FLAG(std::string, grpc_max_connection_age_grace, "",
          "with --grpc_max_connection_age: how long calls in flight get to finish after the "
          "GOAWAY, e.g. 30s (env REGAUTH_GRPC_MAX_CONNECTION_AGE_GRACE; default 30s)");
ABSL_FLAG(std::string, log_format, "",
          "log lines on stderr: json (one object per line) | text (env REGAUTH_LOG_FORMAT; default "
          "json)");
ABSL_FLAG(std::string, log_level, "",
          "lowest level logged: info | warning | error (env REGAUTH_LOG_LEVEL; default info)");
ABSL_FLAG(std::string, log_flush_interval, "",
          "info lines (the access log) are written together this often instead of one write per "
          "line; warnings and errors are written at once, after the lines before them; 0s = "
          "every line at once, up to 10s (env REGAUTH_LOG_FLUSH_INTERVAL; default 100ms)");
ABSL_FLAG(std::string, registry_events_secret_file, "",
          "file with the bearer secret (one per line; two during a rotation) that the platform "
          "registry's notification endpoint sends to POST /v1/registryEvents:notify; not "
          "readable by group or others (env REGAUTH_REGISTRY_EVENTS_SECRET_FILE; default: no "
          "endpoint)");
ABSL_FLAG(std::string, registry_events_retention, "",
          "how long registry events are kept, e.g. 2160h; 0 keeps them (env "
          "REGAUTH_REGISTRY_EVENTS_RETENTION; default 2160h = 90 days)");

namespace registryauth::server {
namespace {

std::optional<std::string> Setting(const absl::Flag<std::string>& flag, const char* env_name,
                                   const EnvLookup& env) {
  std::string value = absl::GetFlag(flag);
  if (!value.empty()) return value;
  std::optional<std::string> from_env = env(env_name);
  if (from_env.has_value() && !from_env->empty()) return from_env;
  return std::nullopt;
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// A whole-number setting in [lo, hi], if it is set: into `*out`, or INVALID_ARGUMENT naming it.
absl::Status SetWholeNumber(const std::optional<std::string>& value, absl::string_view field,
                            int lo, int hi, int* out) {
  if (!value.has_value()) return absl::OkStatus();
  int n = 0;
  if (!absl::SimpleAtoi(*value, &n) || n < lo || n > hi) {
    return Invalid(field, absl::StrCat("must be a whole number from ", lo, " to ", hi));
  }
  *out = n;
  return absl::OkStatus();
}

absl::Status ParseBool(absl::string_view field, const std::string& text, bool* out) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "1" || lower == "yes") {
    *out = true;
  } else if (lower == "false" || lower == "0" || lower == "no") {
    *out = false;
  } else {
    return Invalid(field, "must be true or false");
  }
  return absl::OkStatus();
}

absl::Status ParsePositiveDuration(absl::string_view field, const std::string& text,
                                   absl::Duration* out, absl::Duration max = absl::Hours(24)) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() || d > max) {
    return Invalid(field, absl::StrCat("must be a duration between 1ns and ",
                                       absl::FormatDuration(max), ", e.g. 5s or 500ms"));
  }
  *out = d;
  return absl::OkStatus();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

bool IsLoopbackHost(absl::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  return absl::StartsWith(host, "127.") &&
         host.find_first_not_of("0123456789.") == absl::string_view::npos;
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view value, absl::string_view field) {
  HostPort out;
  absl::string_view port_text;
  if (!value.empty() && value[0] == '[') {
    size_t close = value.find(']');
    if (close == absl::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return Invalid(field, "must be host:port or [ipv6]:port");
    }
    out.host = std::string(value.substr(1, close - 1));
    port_text = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return Invalid(field, "must be host:port or [ipv6]:port");
    }
    out.host = std::string(value.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Invalid(field, "IPv6 addresses must be written [addr]:port");
    }
    port_text = value.substr(colon + 1);
  }
  if (out.host.empty() || out.host.size() > 253) return Invalid(field, "bad host");
  if (!absl::SimpleAtoi(port_text, &out.port) || out.port < 0 || out.port > 65535 ||
      port_text.empty() || port_text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return Invalid(field, "port must be a number from 0 to 65535");
  }
  return out;
}

absl::Status ValidateServerConfig(const ServerConfig& c) {
  absl::StatusOr<HostPort> grpc = ParseHostPort(c.grpc_listen, "grpc_listen");
  if (!grpc.ok()) return grpc.status();
  absl::StatusOr<HostPort> http = ParseHostPort(c.http_listen, "http_listen");
  if (!http.ok()) return http.status();
  if (c.http_max_connections < 1 || c.http_max_connections > 1000000) {
    return Invalid("http_max_connections", "must be a whole number from 1 to 1000000");
  }
  if (!c.metrics_listen.empty()) {
    // Plain HTTP on any address, without allow_insecure_remote: it serves only the metrics,
    // which hold no secrets, to scrapers on the mesh.
    absl::StatusOr<HostPort> metrics = ParseHostPort(c.metrics_listen, "metrics_listen");
    if (!metrics.ok()) return metrics.status();
    auto same = [&](const HostPort& other) {
      return metrics->port != 0 && metrics->port == other.port && metrics->host == other.host;
    };
    if (same(*http) || same(*grpc)) {
      return Invalid("metrics_listen", "must differ from --http_listen and --grpc_listen");
    }
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Invalid("tls_cert_file", "give both --tls_cert_file and --tls_key_file, or neither");
  }
  const bool tls = !c.tls_cert_file.empty();
  if (!c.tls_client_ca_file.empty() && !tls) {
    return Invalid("tls_client_ca_file", "needs --tls_cert_file and --tls_key_file");
  }
  if (c.tls_client_auth != "require" && c.tls_client_auth != "optional") {
    return Invalid("tls_client_auth", "must be require or optional");
  }
  if (c.allow_unauthenticated) {
    if (!IsLoopbackHost(grpc->host) || !IsLoopbackHost(http->host)) {
      return Invalid("insecure_allow_unauthenticated",
                     "unauthenticated mode is for local development and is refused on "
                     "non-loopback addresses");
    }
  } else if (c.policy_file.empty() && c.http_upstream.empty()) {
    return Invalid("policy_file",
                   "required: a caller policy (--policy_file or REGAUTH_POLICY_FILE); for local "
                   "development only, --insecure_allow_unauthenticated=true");
  }
  if (!c.allow_insecure_remote) {
    if (!tls && !IsLoopbackHost(grpc->host)) {
      return Invalid("grpc_listen",
                     "plaintext gRPC is only served on loopback addresses; configure "
                     "--tls_cert_file/--tls_key_file (and --tls_client_ca_file for mTLS), or "
                     "set --allow_insecure_remote=true only behind a TLS-terminating sidecar");
    }
    if (c.http_tls_cert_file.empty() && !IsLoopbackHost(http->host)) {
      return Invalid("http_listen",
                     "plaintext HTTP is only served on loopback addresses; configure "
                     "--http_tls_cert_file/--http_tls_key_file, or set "
                     "--allow_insecure_remote=true only behind a TLS-terminating proxy");
    }
  }
  if (absl::StatusOr<gateway::TrustedProxies> trusted =
          gateway::TrustedProxies::Parse(c.http_trusted_proxies);
      !trusted.ok()) {
    return Invalid("http_trusted_proxies",
                   absl::StrCat(trusted.status().message(),
                                "; expected comma-separated CIDRs such as 10.0.0.0/8,fd00::/8"));
  }
  if (c.grpc_max_connection_age < absl::ZeroDuration() ||
      c.grpc_max_connection_age > absl::Hours(24 * 365)) {
    return Invalid("grpc_max_connection_age", "must be a duration between 0s and 8760h");
  }
  if (c.grpc_max_connection_age_grace <= absl::ZeroDuration() ||
      c.grpc_max_connection_age_grace > absl::Hours(24)) {
    return Invalid("grpc_max_connection_age_grace", "must be a duration between 1ms and 24h");
  }
  if (c.http_tls_cert_file.empty() != c.http_tls_key_file.empty()) {
    return Invalid("http_tls_cert_file",
                   "give both --http_tls_cert_file and --http_tls_key_file, or neither");
  }
  if (!c.token_service.empty()) {
    if (c.token_signing_keys.empty()) {
      return Invalid("token_signing_keys",
                     "required with --token_service (create one with `registry-authd "
                     "signing-keys generate`)");
    }
    if (c.token_issuer.empty()) return Invalid("token_issuer", "must not be empty");
  }
  if (c.log_format != "json" && c.log_format != "text") {
    return Invalid("log_format", "must be json or text");
  }
  if (c.log_level != "info" && c.log_level != "warning" && c.log_level != "error") {
    return Invalid("log_level", "must be info, warning or error");
  }
  if (c.token_header != "kid" && c.token_header != "x5c") {
    return Invalid("token_header", "must be kid or x5c");
  }
  if (c.token_kid_style != "libtrust" && c.token_kid_style != "jwk-thumbprint") {
    return Invalid("token_kid_style", "must be libtrust or jwk-thumbprint");
  }
  for (const auto& [a, uid] : c.token_catalog_accounts) {
    // <workspace>+<account>, both resource ids (lower-case letters, digits, '-').
    const size_t plus = a.find('+');
    bool ok = plus != std::string::npos && plus > 0 && plus + 1 < a.size() &&
              a.find('+', plus + 1) == std::string::npos && a.size() <= 127;
    for (char ch : a) {
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '+')) {
        ok = false;
      }
    }
    if (!ok) {
      return Invalid("token_catalog_accounts",
                     "must be service accounts <workspace>+<account>@<uid>, comma-separated");
    }
    if (!IsUid(uid)) {
      return Invalid("token_catalog_accounts",
                     absl::StrCat(a,
                                  " needs the account's uid: <workspace>+<account>@<uid>, the "
                                  "uid as `regauthctl service-accounts get` shows it (a deleted "
                                  "and re-created account has a new uid and does not inherit "
                                  "the right)"));
    }
  }
  if (c.token_ttl < absl::Seconds(60) || c.token_ttl > absl::Hours(24)) {
    return Invalid("token_ttl", "must be between 60s and 24h");
  }
  if (c.pull_token_ttl > c.pull_token_max_ttl) {
    return Invalid("pull_token_ttl", "must not exceed --pull_token_max_ttl");
  }
  if (!c.http_upstream.empty()) {
    // Adapter-only mode: no database, keys, policy or realm of its own.
    absl::StatusOr<HostPort> upstream = ParseHostPort(c.http_upstream, "http_upstream");
    if (!upstream.ok()) return upstream.status();
    if (upstream->port == 0) return Invalid("http_upstream", "needs a port");
    if (c.http_upstream_ca_file.empty() && !c.allow_insecure_remote &&
        !IsLoopbackHost(upstream->host)) {
      return Invalid("http_upstream",
                     "plaintext gRPC to a non-loopback upstream: give --http_upstream_ca_file, "
                     "or set --allow_insecure_remote=true only inside a mesh that encrypts");
    }
    if (!c.token_service.empty()) {
      return Invalid("token_service", "is the upstream's setting, not the adapter's");
    }
    return absl::OkStatus();
  }
  if (!c.http_upstream_ca_file.empty()) {
    return Invalid("http_upstream_ca_file", "needs --http_upstream");
  }
  if (c.database_url.empty()) {
    return Invalid("database_url", "required (flag --database_url or env REGAUTH_DATABASE_URL)");
  }
  if (c.db_pool_size < 1 || c.db_pool_size > 256) {
    return Invalid("db_pool_size", "must be between 1 and 256");
  }
  if (c.key_file.empty() == c.keys_text.empty()) {
    return Invalid("key_file", "give exactly one of --key_file / REGAUTH_KEY_FILE or REGAUTH_KEYS");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> ServerConfigFromFlags(const EnvLookup& env) {
  ServerConfig c;
  if (auto v = Setting(FLAGS_grpc_listen, "REGAUTH_GRPC_LISTEN", env)) c.grpc_listen = *v;
  if (auto v = Setting(FLAGS_http_listen, "REGAUTH_HTTP_LISTEN", env)) c.http_listen = *v;
  if (auto v = Setting(FLAGS_database_url, "REGAUTH_DATABASE_URL", env)) c.database_url = *v;
  if (auto v = Setting(FLAGS_db_pool_size, "REGAUTH_DB_POOL_SIZE", env)) {
    if (!absl::SimpleAtoi(*v, &c.db_pool_size)) return Invalid("db_pool_size", "not a number");
  }
  if (auto v = Setting(FLAGS_db_connect_timeout, "REGAUTH_DB_CONNECT_TIMEOUT", env)) {
    absl::Status s = ParsePositiveDuration("db_connect_timeout", *v, &c.db_connect_timeout);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_key_file, "REGAUTH_KEY_FILE", env)) c.key_file = *v;
  if (auto v = env("REGAUTH_KEYS"); v.has_value() && !v->empty()) {
    c.keys_text = SecretString(*v);
    WipeString(*v);
  }
  if (auto v = Setting(FLAGS_migrate, "REGAUTH_MIGRATE", env)) {
    absl::Status s = ParseBool("migrate", *v, &c.migrate);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_startup_timeout, "REGAUTH_STARTUP_TIMEOUT", env)) {
    absl::Status s = ParsePositiveDuration("startup_timeout", *v, &c.startup_timeout);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_shutdown_grace, "REGAUTH_SHUTDOWN_GRACE", env)) {
    absl::Status s = ParsePositiveDuration("shutdown_grace", *v, &c.shutdown_grace);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_health_interval, "REGAUTH_HEALTH_INTERVAL", env)) {
    absl::Status s = ParsePositiveDuration("health_interval", *v, &c.health_interval);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_allow_insecure_remote, "REGAUTH_ALLOW_INSECURE_REMOTE", env)) {
    absl::Status s = ParseBool("allow_insecure_remote", *v, &c.allow_insecure_remote);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_tls_cert_file, "REGAUTH_TLS_CERT_FILE", env)) c.tls_cert_file = *v;
  if (auto v = Setting(FLAGS_tls_key_file, "REGAUTH_TLS_KEY_FILE", env)) c.tls_key_file = *v;
  if (auto v = Setting(FLAGS_tls_client_ca_file, "REGAUTH_TLS_CLIENT_CA_FILE", env)) {
    c.tls_client_ca_file = *v;
  }
  if (auto v = Setting(FLAGS_tls_client_auth, "REGAUTH_TLS_CLIENT_AUTH", env)) {
    c.tls_client_auth = *v;
  }
  if (auto v = Setting(FLAGS_policy_file, "REGAUTH_POLICY_FILE", env)) c.policy_file = *v;
  if (auto v = Setting(FLAGS_insecure_allow_unauthenticated,
                       "REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED", env)) {
    absl::Status s = ParseBool("insecure_allow_unauthenticated", *v, &c.allow_unauthenticated);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_token_service, "REGAUTH_TOKEN_SERVICE", env)) c.token_service = *v;
  if (auto v = Setting(FLAGS_token_issuer, "REGAUTH_TOKEN_ISSUER", env)) c.token_issuer = *v;
  if (auto v = Setting(FLAGS_token_catalog_accounts, "REGAUTH_TOKEN_CATALOG_ACCOUNTS", env)) {
    c.token_catalog_accounts.clear();
    for (absl::string_view entry : absl::StrSplit(*v, ',', absl::SkipWhitespace())) {
      // `<user name>@<uid>`; a missing uid is kept as "" for ValidateServerConfig to name.
      std::pair<std::string, std::string> account =
          absl::StrSplit(absl::StripAsciiWhitespace(entry), absl::MaxSplits('@', 1));
      if (!c.token_catalog_accounts.insert(account).second) {
        return Invalid("token_catalog_accounts", absl::StrCat(account.first, " is listed twice"));
      }
    }
  }
  if (auto v = Setting(FLAGS_token_signing_keys, "REGAUTH_TOKEN_SIGNING_KEYS", env)) {
    c.token_signing_keys = *v;
  }
  if (auto v = Setting(FLAGS_token_header, "REGAUTH_TOKEN_HEADER", env)) c.token_header = *v;
  if (auto v = Setting(FLAGS_token_kid_style, "REGAUTH_TOKEN_KID_STYLE", env)) {
    c.token_kid_style = *v;
  }
  if (auto v =
          Setting(FLAGS_token_export_rootcertbundle, "REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE", env)) {
    c.token_export_rootcertbundle = *v;
  }
  if (auto v = Setting(FLAGS_token_export_jwks, "REGAUTH_TOKEN_EXPORT_JWKS", env)) {
    c.token_export_jwks = *v;
  }
  if (auto v = Setting(FLAGS_registry_host, "REGAUTH_REGISTRY_HOST", env)) c.registry_host = *v;
  struct DurationSetting {
    const absl::Flag<std::string>& flag;
    const char* env;
    const char* name;
    absl::Duration* out;
    absl::Duration max;
  };
  for (const DurationSetting& d : {
           DurationSetting{FLAGS_token_ttl, "REGAUTH_TOKEN_TTL", "token_ttl", &c.token_ttl,
                           absl::Hours(24)},
           DurationSetting{FLAGS_pull_token_ttl, "REGAUTH_PULL_TOKEN_TTL", "pull_token_ttl",
                           &c.pull_token_ttl, absl::Hours(24 * 366)},
           DurationSetting{FLAGS_pull_token_max_ttl, "REGAUTH_PULL_TOKEN_MAX_TTL",
                           "pull_token_max_ttl", &c.pull_token_max_ttl, absl::Hours(24 * 366)},
           DurationSetting{FLAGS_refresh_token_ttl, "REGAUTH_REFRESH_TOKEN_TTL",
                           "refresh_token_ttl", &c.refresh_token_ttl, absl::Hours(24 * 366)},
           DurationSetting{FLAGS_token_housekeeping_interval, "REGAUTH_TOKEN_HOUSEKEEPING_INTERVAL",
                           "token_housekeeping_interval", &c.token_housekeeping_interval,
                           absl::Hours(24)},
       }) {
    if (auto v = Setting(d.flag, d.env, env)) {
      absl::Status s = ParsePositiveDuration(d.name, *v, d.out, d.max);
      if (!s.ok()) return s;
    }
  }
  if (auto v = Setting(FLAGS_token_cache_ttl, "REGAUTH_TOKEN_CACHE_TTL", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration() || d > absl::Minutes(5)) {
      return Invalid("token_cache_ttl", "must be a duration between 0s and 5m");
    }
    c.token_cache_ttl = d;
  }
  if (auto v = Setting(FLAGS_upstream_ca_file, "REGAUTH_UPSTREAM_CA_FILE", env)) {
    c.upstream_ca_file = *v;
  }
  for (auto [flag, env_name, name, out] :
       {std::tuple{&FLAGS_github_api_url, "REGAUTH_GITHUB_API_URL", "github_api_url",
                   &c.github_api_url},
        std::tuple{&FLAGS_ghcr_url, "REGAUTH_GHCR_URL", "ghcr_url", &c.ghcr_url}}) {
    if (auto v = Setting(*flag, env_name, env)) {
      std::string url(*v);
      while (!url.empty() && url.back() == '/') url.pop_back();
      const bool https = absl::StartsWith(url, "https://") && url.size() > 8;
      const bool http = absl::StartsWith(url, "http://") && url.size() > 7;
      if (!https && !http) return Invalid(name, "must be an http:// or https:// URL");
      *out = std::move(url);
    }
  }
  if (auto v = Setting(FLAGS_test_connection_timeout, "REGAUTH_TEST_CONNECTION_TIMEOUT", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::Seconds(1) || d > absl::Minutes(5)) {
      return Invalid("test_connection_timeout", "must be a duration between 1s and 5m");
    }
    c.test_connection_timeout = d;
  }
  if (auto v = Setting(FLAGS_revalidate_interval, "REGAUTH_REVALIDATE_INTERVAL", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration() ||
        (d > absl::ZeroDuration() && d < absl::Minutes(1)) || d > absl::Hours(24 * 366)) {
      return Invalid("revalidate_interval",
                     "must be 0 (off) or a duration between 1m and 8784h (366 days)");
    }
    c.revalidate_interval = d;
  }
  if (auto v = Setting(FLAGS_upstream_allowed_networks, "REGAUTH_UPSTREAM_ALLOWED_NETWORKS", env)) {
    // Whitespace around an entry is ignored; an empty entry (",," or a trailing comma) is not.
    c.upstream_allowed_networks.clear();
    for (absl::string_view entry : absl::StrSplit(*v, ',')) {
      entry = absl::StripAsciiWhitespace(entry);
      std::string why = "empty entry";
      std::optional<IpNetwork> n =
          entry.empty() ? std::nullopt : ParseIpNetwork(std::string(entry), &why);
      if (!n.has_value()) {
        return Invalid("upstream_allowed_networks",
                       absl::StrCat("\"", entry.substr(0, 64), "\": ", why,
                                    "; expected comma-separated CIDRs such as "
                                    "10.20.0.0/16,fd00:1::/64"));
      }
      c.upstream_allowed_networks.push_back(*n);
    }
  }
  if (auto v = Setting(FLAGS_upstream_proxy, "REGAUTH_UPSTREAM_PROXY", env)) {
    // http(s)://HOST:PORT and nothing else: no user info (a password in a flag shows in the
    // process list and is never echoed here), no path or query, and a port (libcurl would
    // silently pick 1080).
    absl::string_view rest = *v;
    if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://")) {
      return Invalid("upstream_proxy", "must be an http:// or https:// URL");
    }
    if (rest.find('@') != absl::string_view::npos) {
      return Invalid("upstream_proxy", "must not carry credentials (user:password@)");
    }
    absl::ConsumeSuffix(&rest, "/");
    const bool printable = std::all_of(rest.begin(), rest.end(), [](char ch) {
      return ch > ' ' && ch < 0x7f && ch != '/' && ch != '?' && ch != '#';
    });
    absl::StatusOr<HostPort> proxy = ParseHostPort(rest, "upstream_proxy");
    if (!printable || !proxy.ok() || proxy->port == 0) {
      return Invalid("upstream_proxy", "must be http://HOST:PORT or https://HOST:PORT");
    }
    c.upstream_proxy = std::string(*v);
  }
  RETURN_IF_ERROR(SetWholeNumber(
      Setting(FLAGS_test_connection_max_concurrent, "REGAUTH_TEST_CONNECTION_MAX_CONCURRENT", env),
      "test_connection_max_concurrent", 1, 256, &c.test_connection_max_concurrent));
  RETURN_IF_ERROR(SetWholeNumber(Setting(FLAGS_test_connection_max_per_workspace,
                                         "REGAUTH_TEST_CONNECTION_MAX_PER_WORKSPACE", env),
                                 "test_connection_max_per_workspace", 1, 256,
                                 &c.test_connection_max_per_workspace));
  RETURN_IF_ERROR(SetWholeNumber(Setting(FLAGS_http_threads, "REGAUTH_HTTP_THREADS", env),
                                 "http_threads", 1, 256, &c.http_threads));
  RETURN_IF_ERROR(SetWholeNumber(Setting(FLAGS_token_workers, "REGAUTH_TOKEN_WORKERS", env),
                                 "token_workers", 1, 256, &c.token_workers));
  RETURN_IF_ERROR(SetWholeNumber(Setting(FLAGS_token_queue, "REGAUTH_TOKEN_QUEUE", env),
                                 "token_queue", 0, 100000, &c.token_queue));
  RETURN_IF_ERROR(
      SetWholeNumber(Setting(FLAGS_http_max_connections, "REGAUTH_HTTP_MAX_CONNECTIONS", env),
                     "http_max_connections", 1, 1000000, &c.http_max_connections));
  if (auto v = Setting(FLAGS_metrics_listen, "REGAUTH_METRICS_LISTEN", env)) {
    c.metrics_listen = *v;
  }
  if (auto v = Setting(FLAGS_http_upstream, "REGAUTH_HTTP_UPSTREAM", env)) c.http_upstream = *v;
  if (auto v = Setting(FLAGS_http_upstream_ca_file, "REGAUTH_HTTP_UPSTREAM_CA_FILE", env)) {
    c.http_upstream_ca_file = *v;
  }
  if (auto v = Setting(FLAGS_http_tls_cert_file, "REGAUTH_HTTP_TLS_CERT_FILE", env)) {
    c.http_tls_cert_file = *v;
  }
  if (auto v = Setting(FLAGS_http_tls_key_file, "REGAUTH_HTTP_TLS_KEY_FILE", env)) {
    c.http_tls_key_file = *v;
  }
  if (auto v = Setting(FLAGS_http_trusted_proxies, "REGAUTH_HTTP_TRUSTED_PROXIES", env)) {
    c.http_trusted_proxies.clear();
    for (absl::string_view p : absl::StrSplit(*v, ',')) {
      c.http_trusted_proxies.emplace_back(absl::StripAsciiWhitespace(p));
    }
    // A trailing comma is tolerated; an empty entry in the middle is refused by validation.
    if (!c.http_trusted_proxies.empty() && c.http_trusted_proxies.back().empty()) {
      c.http_trusted_proxies.pop_back();
    }
  }
  if (auto v = Setting(FLAGS_grpc_max_connection_age, "REGAUTH_GRPC_MAX_CONNECTION_AGE", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration() || d > absl::Hours(24 * 365)) {
      return Invalid("grpc_max_connection_age", "must be a duration between 0s and 8760h");
    }
    c.grpc_max_connection_age = d;
  }
  if (auto v = Setting(FLAGS_grpc_max_connection_age_grace, "REGAUTH_GRPC_MAX_CONNECTION_AGE_GRACE",
                       env)) {
    absl::Status s = ParsePositiveDuration("grpc_max_connection_age_grace", *v,
                                           &c.grpc_max_connection_age_grace);
    if (!s.ok()) return s;
  }
  if (auto v = Setting(FLAGS_log_format, "REGAUTH_LOG_FORMAT", env)) c.log_format = *v;
  if (auto v = Setting(FLAGS_log_level, "REGAUTH_LOG_LEVEL", env)) c.log_level = *v;
  if (auto v = Setting(FLAGS_log_flush_interval, "REGAUTH_LOG_FLUSH_INTERVAL", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration() || d > absl::Seconds(10)) {
      return Invalid("log_flush_interval", "must be a duration between 0s and 10s");
    }
    c.log_flush_interval = d;
  }
  if (auto v =
          Setting(FLAGS_registry_events_secret_file, "REGAUTH_REGISTRY_EVENTS_SECRET_FILE", env)) {
    c.registry_events_secret_file = *v;
  }
  if (auto v = Setting(FLAGS_registry_events_retention, "REGAUTH_REGISTRY_EVENTS_RETENTION", env)) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration() ||
        d > absl::Hours(24 * 366 * 10)) {
      return Invalid("registry_events_retention", "must be a duration between 0s and 87840h");
    }
    c.registry_events_retention = d;
  }
  absl::Status valid = ValidateServerConfig(c);
  if (!valid.ok()) return valid;
  return c;
}

}  // namespace registryauth::server
