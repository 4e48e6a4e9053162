#include "server/telemetry.h"

#include <string>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/token_audit.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::server {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(TelemetryTest, PoolObserverFeedsGaugesCountersAndHistogram) {
  Telemetry t;
  storage::PoolObserver& pool = t.pool("registry", 8);
  EXPECT_EQ(&pool, &t.pool("registry", 8));
  pool.OnState(3, 2, 1);
  pool.OnError(storage::PoolObserver::Error::kAcquireTimeout);
  pool.OnError(storage::PoolObserver::Error::kAcquireTimeout);
  pool.OnError(storage::PoolObserver::Error::kConnectionBroken);
  pool.OnAcquired(absl::Milliseconds(2));
  const std::string text = t.registry().Render();
  EXPECT_TRUE(
      Contains(text, "registry_auth_db_pool_connections{pool=\"registry\",state=\"in_use\"} 3\n"))
      << text;
  EXPECT_TRUE(
      Contains(text, "registry_auth_db_pool_connections{pool=\"registry\",state=\"idle\"} 2\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_db_pool_waiting{pool=\"registry\"} 1\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_db_pool_max_connections{pool=\"registry\"} 8\n"));
  EXPECT_TRUE(Contains(
      text, "registry_auth_db_pool_errors_total{pool=\"registry\",kind=\"acquire_timeout\"} 2\n"));
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_db_pool_errors_total{pool=\"registry\",kind=\"connection_broken\"} 1\n"));
  EXPECT_TRUE(Contains(
      text, "registry_auth_db_pool_errors_total{pool=\"registry\",kind=\"connect_failed\"} 0\n"));
  EXPECT_TRUE(Contains(
      text, "registry_auth_db_pool_acquire_seconds_bucket{pool=\"registry\",le=\"0.0025\"} 1\n"));
}

// Issue 19: token audit rows that cannot be written move registry_auth_token_audit_dropped_total,
// with the real queue over a store whose audit appends fail, and with a full queue.
TEST(TelemetryTest, TokenAuditDropsAreCountedByReason) {
  Telemetry t;
  const std::string before = t.registry().Render();
  EXPECT_TRUE(
      Contains(before, "registry_auth_token_audit_dropped_total{reason=\"queue_full\"} 0\n"))
      << before;
  EXPECT_TRUE(
      Contains(before, "registry_auth_token_audit_dropped_total{reason=\"write_failed\"} 0\n"));

  FakeClock clock(absl::FromUnixSeconds(1800000000));
  storage::InMemoryRegistryStore memory;
  storage::testing::FailingRegistryStore store(memory);
  services::TokenAuditOptions options;
  options.capacity = 3;
  services::TokenAuditQueue audit(store, clock, options, &t.token_audit());
  services::TokenAuditEntry entry{clock.Now(),
                                  "req-1",
                                  "acme+builder",
                                  "workspaces/acme/serviceAccounts/builder",
                                  "repository:acme/web:push",
                                  "http:10.0.0.1"};
  for (int i = 0; i < 5; ++i) audit.Record(entry);  // 3 queued, 2 dropped
  store.set_fail_audit_appends(true);
  EXPECT_EQ(audit.Flush(), 0u);  // the 3 queued are lost to the outage
  const std::string text = t.registry().Render();
  EXPECT_TRUE(Contains(text, "registry_auth_token_audit_dropped_total{reason=\"queue_full\"} 2\n"))
      << text;
  EXPECT_TRUE(
      Contains(text, "registry_auth_token_audit_dropped_total{reason=\"write_failed\"} 3\n"));
}

TEST(TelemetryTest, TokenRealmOutcomesAndThrottles) {
  Telemetry t;
  using M = services::TokenRealmMetrics;
  t.token_realm().OnTokenRequest(M::PrincipalKind::kServiceAccount, M::Outcome::kIssued);
  t.token_realm().OnTokenRequest(M::PrincipalKind::kServiceAccount, M::Outcome::kThrottled);
  t.token_realm().OnTokenRequest(M::PrincipalKind::kPullToken, M::Outcome::kThrottled);
  const std::string text = t.registry().Render();
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_tokens_total{principal_kind=\"service_account\",outcome=\"issued\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(
      text, "registry_auth_tokens_total{principal_kind=\"anonymous\",outcome=\"issued\"} 0\n"));
  EXPECT_TRUE(Contains(
      text, "registry_auth_token_throttled_total{principal_kind=\"service_account\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "registry_auth_token_throttled_total{principal_kind=\"pull_token\"} 1\n"));
}

TEST(TelemetryTest, ConnectionTestOutcomesByTypeAndCategory) {
  Telemetry t;
  using M = services::ConnectionTestMetrics;
  std::string text = t.registry().Render();
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_test_connection_total{type=\"ghcr\",outcome=\"valid\",category=\"none\"} 0\n"))
      << text;
  t.connection_tests().OnConnectionTest(RegistryType::kGhcr, M::Outcome::kValid,
                                        services::ErrorCategory::kUnspecified);
  t.connection_tests().OnConnectionTest(RegistryType::kAcr, M::Outcome::kInvalid,
                                        services::ErrorCategory::kAuthentication);
  t.connection_tests().OnConnectionTest(RegistryType::kAcr, M::Outcome::kInvalid,
                                        services::ErrorCategory::kAuthentication);
  t.connection_tests().OnConnectionTest(RegistryType::kGitHubApp, M::Outcome::kError,
                                        services::ErrorCategory::kNetwork);
  text = t.registry().Render();
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_test_connection_total{type=\"ghcr\",outcome=\"valid\",category=\"none\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "registry_auth_test_connection_total{type=\"acr\",outcome=\"invalid\","
                       "category=\"authentication\"} 2\n"));
  EXPECT_TRUE(Contains(text,
                       "registry_auth_test_connection_total{type=\"github_app\",outcome=\"error\","
                       "category=\"network\"} 1\n"));
}

TEST(TelemetryTest, RejectedCallsByActionAndAudit) {
  Telemetry t;
  std::string text = t.registry().Render();
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_rejected_calls_total{action=\"GetCredentials\",audit=\"aggregated\"} 0\n"))
      << text;
  t.rejected_calls().OnRejectedCall("GetCredentials", true);
  t.rejected_calls().OnRejectedCall("GetCredentials", false);
  t.rejected_calls().OnRejectedCall("GetCredentials", false);
  text = t.registry().Render();
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_rejected_calls_total{action=\"GetCredentials\",audit=\"recorded\"} 1\n"));
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_rejected_calls_total{action=\"GetCredentials\",audit=\"aggregated\"} 2\n"));
}

TEST(TelemetryTest, GitHubAppTokenCache) {
  Telemetry t;
  using O = upstream::InstallationTokenCacheObserver;
  std::string text = t.registry().Render();
  EXPECT_TRUE(
      Contains(text, "registry_auth_github_app_token_cache_lookups_total{result=\"hit\"} 0\n"))
      << text;
  EXPECT_TRUE(Contains(
      text, "registry_auth_github_app_token_fetch_failures_total{category=\"network\"} 0\n"));
  t.github_app_tokens().OnLookup(O::Lookup::kHit);
  t.github_app_tokens().OnLookup(O::Lookup::kHit);
  t.github_app_tokens().OnLookup(O::Lookup::kMiss);
  t.github_app_tokens().OnFetch(O::Fetch::kNew);
  t.github_app_tokens().OnFetch(O::Fetch::kExpiring);
  t.github_app_tokens().OnFetch(O::Fetch::kForced);
  t.github_app_tokens().OnFetch(O::Fetch::kForced);
  t.github_app_tokens().OnFetchFailed(upstream::ProbeCategory::kAuthentication);
  text = t.registry().Render();
  EXPECT_TRUE(
      Contains(text, "registry_auth_github_app_token_cache_lookups_total{result=\"hit\"} 2\n"))
      << text;
  EXPECT_TRUE(
      Contains(text, "registry_auth_github_app_token_cache_lookups_total{result=\"miss\"} 1\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_github_app_token_fetches_total{reason=\"new\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "registry_auth_github_app_token_fetches_total{reason=\"expiring\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "registry_auth_github_app_token_fetches_total{reason=\"forced\"} 2\n"));
  EXPECT_TRUE(Contains(
      text,
      "registry_auth_github_app_token_fetch_failures_total{category=\"authentication\"} 1\n"));
}

TEST(TelemetryTest, KeyGaugesFollowReloads) {
  Telemetry t;
  t.SetEncryptionKeys({1, 2}, 2);
  t.SetSigningKeys({{"k1", true}, {"k2", false}});
  std::string text = t.registry().Render();
  EXPECT_TRUE(Contains(text, "registry_auth_encryption_key_loaded{key_id=\"1\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "registry_auth_encryption_primary_key_id 2\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_signing_key_loaded{key_id=\"k1\"} 2\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_signing_key_loaded{key_id=\"k2\"} 1\n"));
  t.SetEncryptionKeys({2, 3}, 3);
  t.SetSigningKeys({{"k2", true}});
  text = t.registry().Render();
  EXPECT_TRUE(Contains(text, "registry_auth_encryption_key_loaded{key_id=\"1\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "registry_auth_encryption_key_loaded{key_id=\"3\"} 1\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_encryption_primary_key_id 3\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_signing_key_loaded{key_id=\"k1\"} 0\n"));
  EXPECT_TRUE(Contains(text, "registry_auth_signing_key_loaded{key_id=\"k2\"} 2\n"));
}

}  // namespace
}  // namespace registryauth::server
