// Failed logins at /token (services/login_throttle.h): per (account, address) and per address,
// growing delays, nobody else's failures lock out an account, IPv6 by /64, and another
// replica's block within the cache ttl.
// (The same realm runs against PostgreSQL, the real registry and skopeo in tests/.)
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/testing/token_realm_fixture.h"

namespace registryauth::services {
namespace {

using namespace testing;  // NOLINT(build/namespaces): the fixture's helpers

class LoginThrottleTest : public TokenRealmTest {};

TEST_F(LoginThrottleTest, NobodyElsesFailuresLockOutAnAccount) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  // Many failures for the account, from many addresses (and one address's /64).
  for (int i = 0; i < 12; ++i) {
    ExpectInvalidCredentials(realm_
                                 .IssueToken(Client("10.0.0." + std::to_string(i)),
                                             Basic("acme+builder", "ras_wrong", {}))
                                 .status());
  }
  for (int i = 0; i < 8; ++i) {
    (void)realm_.IssueToken(Client("2001:db8:1:2::" + std::to_string(i + 1)),
                            Basic("acme+builder", "ras_wrong", {}));
  }
  EXPECT_TRUE(realm_.IssueToken(Client("10.9.9.9"), Basic("acme+builder", secret, {})).ok());
  EXPECT_TRUE(realm_.IssueToken(Client("2001:db8:1:3::1"), Basic("acme+builder", secret, {})).ok());
  // Even from the guessing address itself the right secret is accepted: the pair's failures
  // only turn wrong answers into 429s.
  for (int i = 0; i < 6; ++i) {
    (void)realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {}));
  }
  EXPECT_EQ(
      realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {})).status().code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", secret, {})).ok());
}

TEST_F(LoginThrottleTest, FailedLoginsOfOneAccountFromOneAddressGrowTheirDelay) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  // Five free failures (default policy) for the pair (acme+builder, 10.0.0.1).
  for (int i = 0; i < 5; ++i) {
    ExpectInvalidCredentials(
        realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {})).status());
  }
  // The sixth blocks the pair for 1 s: answered 429 with the time to wait.
  absl::Status blocked =
      realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {})).status();
  EXPECT_EQ(blocked.code(), absl::StatusCode::kResourceExhausted) << blocked;
  std::optional<ErrorDetail> d = GetErrorDetail(blocked);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->reason, kReasonTooManyFailedLogins);
  EXPECT_TRUE(d->retryable);
  EXPECT_EQ(d->retry_after, absl::Seconds(1));
  // Another failure doubles it.
  clock_.Advance(absl::Seconds(1));
  d = GetErrorDetail(
      realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {})).status());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->retry_after, absl::Seconds(2));
  // Other accounts from the same address are not blocked by this pair.
  ExpectInvalidCredentials(
      realm_.IssueToken(Client("10.0.0.1"), Basic("acme+other", "ras_wrong", {})).status());
  // A success clears the pair: the next failure is free again.
  EXPECT_TRUE(realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", secret, {})).ok());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {})).status());
}

TEST_F(LoginThrottleTest, FailedLoginsThrottleTheClientAddressAcrossAccounts) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  // An address may fail 4x the free failures (20) across accounts; the 21st blocks it, and
  // then even a right secret from there waits (it is that client's own doing).
  for (int i = 0; i < 21; ++i) {
    (void)realm_.IssueToken(Client("192.0.2.1"),
                            Basic("acme+guess" + std::to_string(i), "ras_wrong", {}));
  }
  EXPECT_EQ(
      realm_
          .IssueToken(Client("192.0.2.1"), Basic("acme+builder", std::string(sa.secret.view()), {}))
          .status()
          .code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(
      realm_
          .IssueToken(Client("192.0.2.2"), Basic("acme+builder", std::string(sa.secret.view()), {}))
          .ok());
  // IPv6 clients count by /64: spreading over the addresses of one /64 does not help.
  for (int i = 0; i < 21; ++i) {
    (void)realm_.IssueToken(Client("2001:db8:7:7::" + std::to_string(i + 1)),
                            Basic("acme+guess", "ras_wrong", {}));
  }
  EXPECT_EQ(realm_
                .IssueToken(Client("2001:db8:7:7:ffff::1"),
                            Basic("acme+builder", std::string(sa.secret.view()), {}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(realm_
                  .IssueToken(Client("2001:db8:7:8::1"),
                              Basic("acme+builder", std::string(sa.secret.view()), {}))
                  .ok());
}

TEST_F(LoginThrottleTest, GrpcIpv6PeersAreThrottledByTheirSlash64NotPerConnection) {
  auto grpc_peer = [](int port, const char* host) {
    RequestContext ctx;
    ctx.request_id = "req-grpc";
    ctx.peer = absl::StrCat("ipv6:%5B", host, "%5D:", port);
    return ctx;
  };
  // 21 failures, each on a new connection (new source port), over several hosts of one /64.
  for (int i = 0; i < 21; ++i) {
    (void)realm_.IssueToken(grpc_peer(40000 + i, i % 2 ? "2001:db8:9:9::1" : "2001:db8:9:9::2"),
                            Basic("acme+guess" + std::to_string(i), "ras_wrong", {}));
  }
  // The /64 is blocked now, whichever connection asks next.
  EXPECT_EQ(realm_.IssueToken(grpc_peer(50000, "2001:db8:9:9::3"), Basic("acme+x", "ras_wrong", {}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  // The bracketed form (older gRPC) is the same key.
  RequestContext bracketed;
  bracketed.peer = "ipv6:[2001:db8:9:9::4]:50001";
  EXPECT_EQ(realm_.IssueToken(bracketed, Basic("acme+x", "ras_wrong", {})).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(LoginThrottleTest, AnotherReplicasBlockAppliesWithinTheCacheTtl) {
  TestRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client("10.5.5.5"), Basic("acme+builder", secret, {})).ok());
  for (int i = 0; i < 21; ++i) {
    (void)other.IssueToken(Client("10.5.5.5"), Basic("acme+nobody", "ras_wrong", {}));
  }
  EXPECT_EQ(other.IssueToken(Client("10.5.5.5"), Basic("acme+builder", secret, {})).status().code(),
            absl::StatusCode::kResourceExhausted);
  // This replica saw the account clean less than cache_ttl ago; the block (1 s) may pass
  // unseen here, but never for longer than cache_ttl.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(realm_.IssueToken(Client("10.5.5.5"), Basic("acme+builder", secret, {})).ok());
}

}  // namespace
}  // namespace registryauth::services
