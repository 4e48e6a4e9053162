#include "server/config.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace registryauth::server {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseHostPortTest, AcceptsHostPortAndBracketedV6) {
  auto a = ParseHostPort("127.0.0.1:50051", "f");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 50051);
  auto b = ParseHostPort("[::1]:0", "f");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
}

TEST(ParseHostPortTest, RejectsMalformedAndNamesTheField) {
  for (const char* bad : {"", "nohost", ":80", "host:", "host:65536", "host:-1", "host:8x",
                          "::1:80", "[::1]80", "[::1"}) {
    auto r = ParseHostPort(bad, "grpc_listen");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("grpc_listen"), std::string::npos) << bad;
  }
}

TEST(IsLoopbackHostTest, Classifies) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("127.evil.com"));
}

TEST(ServerConfigTest, DefaultsPlusRequiredFromEnv) {
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "host=127.0.0.1 dbname=x"},
                                          {"REGAUTH_KEY_FILE", "keys.txt"},
                                          {"REGAUTH_POLICY_FILE", "policy.txt"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(c->http_listen, "127.0.0.1:8080");
  EXPECT_EQ(c->db_pool_size, 8);
  EXPECT_TRUE(c->migrate);
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->log_level, "info");
}

TEST(ServerConfigTest, EnvOverridesDefaults) {
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
                                          {"REGAUTH_KEYS", "primary 1\n"},
                                          {"REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED", "true"},
                                          {"REGAUTH_GRPC_LISTEN", "127.0.0.1:0"},
                                          {"REGAUTH_DB_POOL_SIZE", "3"},
                                          {"REGAUTH_MIGRATE", "false"},
                                          {"REGAUTH_SHUTDOWN_GRACE", "250ms"},
                                          {"REGAUTH_LOG_FORMAT", "text"},
                                          {"REGAUTH_LOG_LEVEL", "warning"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_format, "text");
  EXPECT_EQ(c->log_level, "warning");
  EXPECT_EQ(c->grpc_listen, "127.0.0.1:0");
  EXPECT_EQ(c->db_pool_size, 3);
  EXPECT_FALSE(c->migrate);
  EXPECT_EQ(c->shutdown_grace, absl::Milliseconds(250));
  EXPECT_EQ(c->keys_text.view(), "primary 1\n");
}

TEST(ServerConfigTest, OutboundSettings) {
  auto defaults = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                 {"REGAUTH_KEYS", "primary 1\n"},
                                                 {"REGAUTH_POLICY_FILE", "p"}}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->github_api_url, "https://api.github.com");
  EXPECT_EQ(defaults->ghcr_url, "https://ghcr.io");
  EXPECT_EQ(defaults->test_connection_timeout, absl::Seconds(30));
  EXPECT_EQ(defaults->test_connection_max_concurrent, 8);
  EXPECT_EQ(defaults->test_connection_max_per_workspace, 2);
  EXPECT_EQ(defaults->revalidate_interval, absl::Hours(24));
  EXPECT_EQ(defaults->http_threads, 2);
  EXPECT_EQ(defaults->token_workers, 4);
  EXPECT_EQ(defaults->token_queue, 256);
  EXPECT_EQ(defaults->log_flush_interval, absl::Milliseconds(100));
  EXPECT_EQ(defaults->upstream_ca_file, "");
  EXPECT_TRUE(defaults->upstream_allowed_networks.empty());  // production-safe: no allowance
  auto c = ServerConfigFromFlags(
      FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
               {"REGAUTH_KEYS", "primary 1\n"},
               {"REGAUTH_POLICY_FILE", "p"},
               {"REGAUTH_GITHUB_API_URL", "https://github.example.com/api/v3/"},
               {"REGAUTH_GHCR_URL", "http://127.0.0.1:5000"},
               {"REGAUTH_UPSTREAM_CA_FILE", "ca.pem"},
               {"REGAUTH_TEST_CONNECTION_TIMEOUT", "5s"},
               {"REGAUTH_TEST_CONNECTION_MAX_CONCURRENT", "2"},
               {"REGAUTH_TEST_CONNECTION_MAX_PER_WORKSPACE", "1"},
               {"REGAUTH_REVALIDATE_INTERVAL", "6h"},
               {"REGAUTH_UPSTREAM_ALLOWED_NETWORKS", " 10.20.0.0/16, fd00:1::/64,127.0.0.2"},
               {"REGAUTH_HTTP_THREADS", "6"},
               {"REGAUTH_LOG_FLUSH_INTERVAL", "0s"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->github_api_url, "https://github.example.com/api/v3");  // trailing '/' dropped
  EXPECT_EQ(c->ghcr_url, "http://127.0.0.1:5000");
  EXPECT_EQ(c->upstream_ca_file, "ca.pem");
  EXPECT_EQ(c->test_connection_timeout, absl::Seconds(5));
  EXPECT_EQ(c->test_connection_max_concurrent, 2);
  EXPECT_EQ(c->test_connection_max_per_workspace, 1);
  EXPECT_EQ(c->revalidate_interval, absl::Hours(6));
  ASSERT_EQ(c->upstream_allowed_networks.size(), 3U);
  EXPECT_EQ(c->upstream_allowed_networks[0].ToString(), "10.20.0.0/16");
  EXPECT_EQ(c->upstream_allowed_networks[1].ToString(), "fd00:1::/64");
  EXPECT_EQ(c->upstream_allowed_networks[2].ToString(), "127.0.0.2/32");
  EXPECT_EQ(c->http_threads, 6);
  EXPECT_EQ(c->log_flush_interval, absl::ZeroDuration());  // every line at once
}

TEST(ServerConfigTest, BadConfigurationIsOneClearError) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string field;
  };
  const std::map<std::string, std::string> ok = {{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                 {"REGAUTH_KEY_FILE", "k"},
                                                 {"REGAUTH_POLICY_FILE", "p"}};
  auto with = [&](std::string k, std::string v) {
    auto m = ok;
    m[k] = v;
    return m;
  };
  std::map<std::string, std::string> no_db = ok;
  no_db.erase("REGAUTH_DATABASE_URL");
  std::map<std::string, std::string> no_keys = ok;
  no_keys.erase("REGAUTH_KEY_FILE");
  const Case cases[] = {
      {no_db, "database_url"},
      {no_keys, "key_file"},
      {with("REGAUTH_KEYS", "primary 1"), "key_file"},  // both given
      {with("REGAUTH_DB_POOL_SIZE", "0"), "db_pool_size"},
      {with("REGAUTH_DB_POOL_SIZE", "lots"), "db_pool_size"},
      {with("REGAUTH_GRPC_LISTEN", "0.0.0.0:50051"), "grpc_listen"},
      {with("REGAUTH_HTTP_LISTEN", "10.1.2.3:80"), "http_listen"},
      {with("REGAUTH_MIGRATE", "maybe"), "migrate"},
      {with("REGAUTH_SHUTDOWN_GRACE", "-1s"), "shutdown_grace"},
      {with("REGAUTH_HEALTH_INTERVAL", "soon"), "health_interval"},
      {with("REGAUTH_TLS_CERT_FILE", "cert.pem"), "tls_cert_file"},          // key missing
      {with("REGAUTH_TLS_CLIENT_CA_FILE", "ca.pem"), "tls_client_ca_file"},  // no server cert
      {with("REGAUTH_TLS_CLIENT_AUTH", "sometimes"), "tls_client_auth"},
      {with("REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED", "perhaps"), "insecure_allow_unauthenticated"},
      {with("REGAUTH_GITHUB_API_URL", "api.github.com"), "github_api_url"},
      {with("REGAUTH_GHCR_URL", "ftp://ghcr.io"), "ghcr_url"},
      {with("REGAUTH_TEST_CONNECTION_TIMEOUT", "0s"), "test_connection_timeout"},
      {with("REGAUTH_TEST_CONNECTION_TIMEOUT", "1h"), "test_connection_timeout"},
      {with("REGAUTH_TEST_CONNECTION_MAX_CONCURRENT", "0"), "test_connection_max_concurrent"},
      {with("REGAUTH_TEST_CONNECTION_MAX_CONCURRENT", "many"), "test_connection_max_concurrent"},
      {with("REGAUTH_TEST_CONNECTION_MAX_PER_WORKSPACE", "0"), "test_connection_max_per_workspace"},
      {with("REGAUTH_REVALIDATE_INTERVAL", "30s"), "revalidate_interval"},
      {with("REGAUTH_REVALIDATE_INTERVAL", "-1h"), "revalidate_interval"},
      {with("REGAUTH_REVALIDATE_INTERVAL", "9000h"), "revalidate_interval"},
      {with("REGAUTH_REVALIDATE_INTERVAL", "daily"), "revalidate_interval"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", "10.0.0.1/8"), "upstream_allowed_networks"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", "10.0.0.0/8,"), "upstream_allowed_networks"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", "10.0.0.0/8,,::1"), "upstream_allowed_networks"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", "registry.internal"), "upstream_allowed_networks"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", "10.0.0.0/33"), "upstream_allowed_networks"},
      {with("REGAUTH_UPSTREAM_ALLOWED_NETWORKS", " "), "upstream_allowed_networks"},
      {with("REGAUTH_HTTP_THREADS", "0"), "http_threads"},
      {with("REGAUTH_HTTP_THREADS", "257"), "http_threads"},
      {with("REGAUTH_HTTP_THREADS", "two"), "http_threads"},
      {with("REGAUTH_TOKEN_WORKERS", "0"), "token_workers"},
      {with("REGAUTH_LOG_FLUSH_INTERVAL", "-1ms"), "log_flush_interval"},
      {with("REGAUTH_LOG_FLUSH_INTERVAL", "11s"), "log_flush_interval"},
      {with("REGAUTH_LOG_FLUSH_INTERVAL", "often"), "log_flush_interval"},
      {with("REGAUTH_TOKEN_QUEUE", "-1"), "token_queue"},
      {with("REGAUTH_TOKEN_QUEUE", "100001"), "token_queue"},
      {with("REGAUTH_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,lb.internal"), "http_trusted_proxies"},
      {with("REGAUTH_HTTP_TRUSTED_PROXIES", "10.0.0.1/8"), "http_trusted_proxies"},
      {with("REGAUTH_HTTP_TRUSTED_PROXIES", "10.0.0.0/33"), "http_trusted_proxies"},
      {with("REGAUTH_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,,fd00::/8"), "http_trusted_proxies"},
      {with("REGAUTH_HTTP_TRUSTED_PROXIES", "fd00::/129"), "http_trusted_proxies"},
      {with("REGAUTH_GRPC_MAX_CONNECTION_AGE", "-1s"), "grpc_max_connection_age"},
      {with("REGAUTH_GRPC_MAX_CONNECTION_AGE", "soon"), "grpc_max_connection_age"},
      {with("REGAUTH_GRPC_MAX_CONNECTION_AGE_GRACE", "0s"), "grpc_max_connection_age_grace"},
      {with("REGAUTH_LOG_FORMAT", "xml"), "log_format"},
      {with("REGAUTH_LOG_FORMAT", "JSON"), "log_format"},
      {with("REGAUTH_LOG_LEVEL", "debug"), "log_level"},
  };
  // No policy and no development mode.
  std::map<std::string, std::string> no_policy = ok;
  no_policy.erase("REGAUTH_POLICY_FILE");
  auto r = ServerConfigFromFlags(FakeEnv(no_policy));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "policy_file")) << r.status();
  for (const Case& c : cases) {
    auto r = ServerConfigFromFlags(FakeEnv(c.env));
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_TRUE(absl::string_view(r.status().message()).substr(0, c.field.size()) == c.field)
        << r.status();
  }
}

TEST(ServerConfigTest, RemoteListenAllowedOnlyWhenAskedFor) {
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
                                          {"REGAUTH_KEY_FILE", "k"},
                                          {"REGAUTH_POLICY_FILE", "p"},
                                          {"REGAUTH_GRPC_LISTEN", "0.0.0.0:50051"},
                                          {"REGAUTH_ALLOW_INSECURE_REMOTE", "true"}}));
  EXPECT_TRUE(c.ok()) << c.status();
}

TEST(ServerConfigTest, TlsAllowsRemoteGrpc) {
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
                                          {"REGAUTH_KEY_FILE", "k"},
                                          {"REGAUTH_POLICY_FILE", "p"},
                                          {"REGAUTH_GRPC_LISTEN", "0.0.0.0:50051"},
                                          {"REGAUTH_TLS_CERT_FILE", "c.pem"},
                                          {"REGAUTH_TLS_KEY_FILE", "k.pem"},
                                          {"REGAUTH_TLS_CLIENT_CA_FILE", "ca.pem"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls_client_auth, "require");
}

TEST(ServerConfigTest, UnauthenticatedModeNeverOffLoopback) {
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "dbname=x"},
                                          {"REGAUTH_KEY_FILE", "k"},
                                          {"REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED", "true"},
                                          {"REGAUTH_ALLOW_INSECURE_REMOTE", "true"},
                                          {"REGAUTH_GRPC_LISTEN", "0.0.0.0:50051"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "insecure_allow_unauthenticated"));
}

TEST(ServerConfigTest, TrustedProxiesAndConnectionAge) {
  const std::map<std::string, std::string> required = {{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                       {"REGAUTH_KEY_FILE", "k"},
                                                       {"REGAUTH_POLICY_FILE", "p"}};
  auto defaults = ServerConfigFromFlags(FakeEnv(required));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->http_trusted_proxies.empty());
  EXPECT_EQ(defaults->grpc_max_connection_age, absl::ZeroDuration());
  EXPECT_EQ(defaults->grpc_max_connection_age_grace, absl::Seconds(30));

  auto env = required;
  env["REGAUTH_HTTP_TRUSTED_PROXIES"] = " 10.0.0.0/8, 127.0.0.1/32 ,fd00::/8,192.0.2.7,";
  env["REGAUTH_GRPC_MAX_CONNECTION_AGE"] = "5m";
  env["REGAUTH_GRPC_MAX_CONNECTION_AGE_GRACE"] = "10s";
  auto c = ServerConfigFromFlags(FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1/32", "fd00::/8", "192.0.2.7"}));
  EXPECT_EQ(c->grpc_max_connection_age, absl::Minutes(5));
  EXPECT_EQ(c->grpc_max_connection_age_grace, absl::Seconds(10));
  env["REGAUTH_GRPC_MAX_CONNECTION_AGE"] = "0s";
  c = ServerConfigFromFlags(FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_max_connection_age, absl::ZeroDuration());

  // The error names the flag and quotes the bad entry (CIDRs are not secret).
  env["REGAUTH_HTTP_TRUSTED_PROXIES"] = "10.0.0.0/8,10.0.0.1/8";
  c = ServerConfigFromFlags(FakeEnv(env));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "http_trusted_proxies: \"10.0.0.1/8\""))
      << c.status();
  // Also for a configuration built directly.
  ServerConfig direct = *defaults;
  direct.http_trusted_proxies = {"not-a-cidr"};
  EXPECT_TRUE(absl::StartsWith(ValidateServerConfig(direct).message(), "http_trusted_proxies"));
}

TEST(ServerConfigTest, HttpConnectionCapAndMetricsListener) {
  const std::map<std::string, std::string> required = {{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                       {"REGAUTH_KEY_FILE", "k"},
                                                       {"REGAUTH_POLICY_FILE", "p"}};
  auto defaults = ServerConfigFromFlags(FakeEnv(required));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->http_max_connections, 1024);
  EXPECT_EQ(defaults->metrics_listen, "");

  // The metrics listener may face the mesh without --allow_insecure_remote: it serves only
  // metrics.
  auto env = required;
  env["REGAUTH_HTTP_MAX_CONNECTIONS"] = "20000";
  env["REGAUTH_METRICS_LISTEN"] = "0.0.0.0:9090";
  auto c = ServerConfigFromFlags(FakeEnv(env));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_max_connections, 20000);
  EXPECT_EQ(c->metrics_listen, "0.0.0.0:9090");

  for (const char* bad : {"0", "-5", "1000001", "many", "10k"}) {
    auto e = env;
    e["REGAUTH_HTTP_MAX_CONNECTIONS"] = bad;
    auto r = ServerConfigFromFlags(FakeEnv(e));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::StartsWith(r.status().message(), "http_max_connections")) << r.status();
  }
  for (const char* bad : {"9090", "metrics:", "127.0.0.1:8080", "127.0.0.1:50051"}) {
    auto e = env;
    e["REGAUTH_METRICS_LISTEN"] = bad;
    auto r = ServerConfigFromFlags(FakeEnv(e));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::StartsWith(r.status().message(), "metrics_listen")) << r.status();
  }
  // Also for a configuration built directly, and in adapter-only mode.
  ServerConfig direct = *defaults;
  direct.http_max_connections = 0;
  EXPECT_TRUE(absl::StartsWith(ValidateServerConfig(direct).message(), "http_max_connections"));
  ServerConfig adapter;
  adapter.http_upstream = "127.0.0.1:50051";
  adapter.grpc_listen = "127.0.0.1:0";
  adapter.metrics_listen = "10.1.2.3:9090";
  EXPECT_TRUE(ValidateServerConfig(adapter).ok()) << ValidateServerConfig(adapter);
  adapter.metrics_listen = "10.1.2.3";
  EXPECT_TRUE(absl::StartsWith(ValidateServerConfig(adapter).message(), "metrics_listen"));
}

TEST(ServerConfigTest, TokenRealmAndHttpsSettings) {
  auto base = [] {
    ServerConfig c;
    c.database_url = "host=127.0.0.1";
    c.key_file = "keys.txt";
    c.policy_file = "policy.txt";
    return c;
  };
  // Realm settings from the environment.
  auto c = ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "host=127.0.0.1"},
                                          {"REGAUTH_KEY_FILE", "keys.txt"},
                                          {"REGAUTH_POLICY_FILE", "policy.txt"},
                                          {"REGAUTH_TOKEN_SERVICE", "registry.example.com"},
                                          {"REGAUTH_TOKEN_SIGNING_KEYS", "signing/keys"},
                                          {"REGAUTH_TOKEN_HEADER", "x5c"},
                                          {"REGAUTH_TOKEN_TTL", "10m"},
                                          {"REGAUTH_PULL_TOKEN_MAX_TTL", "48h"},
                                          {"REGAUTH_TOKEN_CATALOG_ACCOUNTS",
                                           " platform+ops@5f0c8a4e-93b1-4c2a-8d6e-0a1b2c3d4e5f,"
                                           "acme+lister@00000000-0000-4000-8000-000000000001 ,"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->token_catalog_accounts,
            (std::map<std::string, std::string, std::less<>>{
                {"acme+lister", "00000000-0000-4000-8000-000000000001"},
                {"platform+ops", "5f0c8a4e-93b1-4c2a-8d6e-0a1b2c3d4e5f"}}));
  EXPECT_TRUE(ValidateServerConfig(*c).ok()) << ValidateServerConfig(*c);
  // One account listed twice (with another uid) is a mistake, not a choice between two.
  absl::StatusOr<ServerConfig> twice =
      ServerConfigFromFlags(FakeEnv({{"REGAUTH_DATABASE_URL", "host=127.0.0.1"},
                                     {"REGAUTH_KEY_FILE", "keys.txt"},
                                     {"REGAUTH_POLICY_FILE", "policy.txt"},
                                     {"REGAUTH_TOKEN_CATALOG_ACCOUNTS",
                                      "acme+ops@00000000-0000-4000-8000-000000000001,"
                                      "acme+ops@00000000-0000-4000-8000-000000000002"}}));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("acme+ops is listed twice"), std::string::npos)
      << twice.status();
  EXPECT_EQ(c->token_service, "registry.example.com");
  EXPECT_EQ(c->token_header, "x5c");
  EXPECT_EQ(c->token_kid_style, "libtrust");
  EXPECT_EQ(c->token_ttl, absl::Minutes(10));
  EXPECT_EQ(c->pull_token_max_ttl, absl::Hours(48));

  ServerConfig no_keys = base();
  no_keys.token_service = "registry";
  absl::Status s = ValidateServerConfig(no_keys);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("token_signing_keys"), std::string::npos) << s;

  ServerConfig bad_header = base();
  bad_header.token_header = "jku";
  EXPECT_NE(ValidateServerConfig(bad_header).message().find("token_header"), std::string::npos);
  ServerConfig bad_style = base();
  bad_style.token_kid_style = "x5t";
  EXPECT_NE(ValidateServerConfig(bad_style).message().find("token_kid_style"), std::string::npos);
  const std::string kUid = "00000000-0000-4000-8000-000000000001";
  for (const char* bad : {"ops", "+ops", "acme+", "Acme+ops", "acme+ops+x", "acme ops"}) {
    ServerConfig catalog = base();
    catalog.token_catalog_accounts = {{bad, kUid}};
    EXPECT_NE(ValidateServerConfig(catalog).message().find("token_catalog_accounts"),
              std::string::npos)
        << bad;
  }
  // The uid is required and must be the canonical form: a bare name would hand the right to
  // whoever re-creates an account of that name.
  for (const char* bad_uid : {"", "00000000-0000-4000-8000-00000000000A", "not-a-uid",
                              "{00000000-0000-4000-8000-000000000001}"}) {
    ServerConfig catalog = base();
    catalog.token_catalog_accounts = {{"acme+ops", bad_uid}};
    absl::Status s = ValidateServerConfig(catalog);
    EXPECT_NE(s.message().find("token_catalog_accounts: acme+ops needs the account's uid"),
              std::string::npos)
        << bad_uid << ": " << s;
  }
  ServerConfig pinned = base();
  pinned.token_catalog_accounts = {{"acme+ops", kUid}};
  EXPECT_TRUE(ValidateServerConfig(pinned).ok());
  ServerConfig short_ttl = base();
  short_ttl.token_ttl = absl::Seconds(30);
  EXPECT_NE(ValidateServerConfig(short_ttl).message().find("token_ttl"), std::string::npos);

  // HTTPS: both files or neither; with them, the HTTP adapter may listen off loopback.
  ServerConfig half = base();
  half.http_tls_cert_file = "http.crt";
  EXPECT_NE(ValidateServerConfig(half).message().find("http_tls_cert_file"), std::string::npos);
  ServerConfig remote_plain = base();
  remote_plain.http_listen = "0.0.0.0:8443";
  EXPECT_NE(ValidateServerConfig(remote_plain).message().find("http_listen"), std::string::npos);
  ServerConfig remote_tls = remote_plain;
  remote_tls.http_tls_cert_file = "http.crt";
  remote_tls.http_tls_key_file = "http.key";
  EXPECT_TRUE(ValidateServerConfig(remote_tls).ok()) << ValidateServerConfig(remote_tls);
}

TEST(ServerConfigTest, AdapterOnlyModeNeedsNoDatabaseButAProtectedUpstream) {
  ServerConfig c;
  c.http_upstream = "127.0.0.1:50051";
  EXPECT_TRUE(ValidateServerConfig(c).ok()) << ValidateServerConfig(c);
  ServerConfig remote = c;
  remote.http_upstream = "authd.internal:50051";
  EXPECT_NE(ValidateServerConfig(remote).message().find("http_upstream_ca_file"),
            std::string::npos);
  remote.http_upstream_ca_file = "mesh-ca.pem";
  EXPECT_TRUE(ValidateServerConfig(remote).ok());
  ServerConfig no_port = c;
  no_port.http_upstream = "127.0.0.1:0";
  EXPECT_FALSE(ValidateServerConfig(no_port).ok());
  ServerConfig with_realm = c;
  with_realm.token_service = "registry";
  EXPECT_FALSE(ValidateServerConfig(with_realm).ok());
  ServerConfig stray_ca;
  stray_ca.database_url = "host=x";
  stray_ca.key_file = "k";
  stray_ca.policy_file = "p";
  stray_ca.http_upstream_ca_file = "ca.pem";
  EXPECT_NE(ValidateServerConfig(stray_ca).message().find("needs --http_upstream"),
            std::string::npos);
}

// Issue 17: outbound calls use a proxy only when the operator names one (libcurl's environment
// variables are ignored); the URL is checked at start like the other settings.
TEST(ServerConfigTest, UpstreamProxyIsAnHttpUrlWithoutCredentials) {
  const std::map<std::string, std::string> ok = {{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                 {"REGAUTH_KEY_FILE", "k"},
                                                 {"REGAUTH_POLICY_FILE", "p"}};
  auto defaults = ServerConfigFromFlags(FakeEnv(ok));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->upstream_proxy, "");  // none, whatever https_proxy says
  for (const char* good : {"http://proxy.internal:3128", "https://proxy.internal:3129/",
                           "http://10.0.0.5:3128", "http://[fd00::5]:3128"}) {
    auto with = ok;
    with["REGAUTH_UPSTREAM_PROXY"] = good;
    auto c = ServerConfigFromFlags(FakeEnv(with));
    ASSERT_TRUE(c.ok()) << good << ": " << c.status();
    EXPECT_EQ(c->upstream_proxy, good);
  }
  for (const char* bad :
       {"proxy.internal:3128", "socks5://proxy.internal:1080", "http://", "http://:3128",
        "http://user:secret-proxy-password@proxy.internal:3128", "http://proxy.internal:3128/x",
        "http://proxy.internal:3128?a=b", "http://proxy.internal:99999",
        "http://proxy.internal:", "http://proxy internal:3128", " http://proxy.internal:3128",
        "http://[fd00::5:3128", "http://proxy.internal", "http://proxy.internal:0"}) {
    auto with = ok;
    with["REGAUTH_UPSTREAM_PROXY"] = bad;
    auto c = ServerConfigFromFlags(FakeEnv(with));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(c.status().message(), "upstream_proxy")) << c.status();
    // The value may hold a password: it is never echoed.
    EXPECT_EQ(c.status().message().find("secret-proxy-password"), absl::string_view::npos)
        << c.status();
  }
}

TEST(ServerConfigTest, RegistryEventsSettings) {
  const std::map<std::string, std::string> base = {{"REGAUTH_DATABASE_URL", "dbname=x"},
                                                   {"REGAUTH_KEYS", "primary 1\n"},
                                                   {"REGAUTH_POLICY_FILE", "p"}};
  auto defaults = ServerConfigFromFlags(FakeEnv(base));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->registry_events_secret_file, "");  // no endpoint
  EXPECT_EQ(defaults->registry_events_retention, absl::Hours(24 * 90));
  std::map<std::string, std::string> set = base;
  set["REGAUTH_REGISTRY_EVENTS_SECRET_FILE"] = "/etc/registry-auth/events.secret";
  set["REGAUTH_REGISTRY_EVENTS_RETENTION"] = "0";
  auto c = ServerConfigFromFlags(FakeEnv(set));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->registry_events_secret_file, "/etc/registry-auth/events.secret");
  EXPECT_EQ(c->registry_events_retention, absl::ZeroDuration());  // kept
  for (const char* bad : {"-1h", "forever", "100000h"}) {
    set["REGAUTH_REGISTRY_EVENTS_RETENTION"] = bad;
    auto refused = ServerConfigFromFlags(FakeEnv(set));
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "registry_events_retention"));
  }
}

}  // namespace
}  // namespace registryauth::server
