// Refresh tokens (services/refresh_token_service.h): issue with offline, use, list, revoke,
// malformed ones refused, and housekeeping of expired tokens and stale throttle states.
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

class RefreshTokenServiceTest : public TokenRealmTest {};

TEST_F(RefreshTokenServiceTest, RefreshTokenLifecycle) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull", "push"}}});
  TokenRequest login = Basic("acme+builder", std::string(sa.secret.view()), {});
  login.offline = true;
  login.client_id = "docker";
  absl::StatusOr<IssuedToken> first = realm_.IssueToken(Client(), login);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(absl::StartsWith(std::string(first->refresh_token.view()), "rrt_"));
  const std::string refresh(first->refresh_token.view());

  TokenRequest again;
  again.grant_type = TokenGrantType::kRefreshToken;
  again.service = kService;
  again.refresh_token = SecretString(refresh);
  again.scopes = {"repository:acme/web:push"};
  absl::StatusOr<IssuedToken> refreshed = realm_.IssueToken(Client(), again);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_EQ(refreshed->granted_scopes, std::vector<std::string>{"repository:acme/web:push"});
  EXPECT_EQ(refreshed->refresh_token.view(), refresh);
  EXPECT_EQ(Verify(refreshed->token)["sub"], "acme+builder");

  // Bound to its service; a tampered token fails.
  TokenRequest other_service = again;
  other_service.service = "elsewhere";
  EXPECT_EQ(realm_.IssueToken(Client(), other_service).status().code(),
            absl::StatusCode::kInvalidArgument);
  TokenRequest tampered = again;
  std::string t = refresh;
  t.back() = t.back() == 'A' ? 'B' : 'A';
  tampered.refresh_token = SecretString(t);
  ExpectInvalidCredentials(realm_.IssueToken(Client(), tampered).status());

  // Listed (without secrets), follows the account's state, revocable.
  absl::StatusOr<std::vector<RefreshToken>> listed =
      realm_.ListRefreshTokens(Admin(), "workspaces/acme", "acme+builder", 0);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].client_id, "docker");
  EXPECT_EQ((*listed)[0].service, kService);

  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(realm_
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                        {"disabled"}, "")
                  .ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), again).status());
  off.enabled = true;
  ASSERT_TRUE(realm_
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                        {"disabled"}, "")
                  .ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), again).ok());

  ASSERT_TRUE(
      realm_.RevokeRefreshToken(Admin(), FormatRefreshTokenName("acme", (*listed)[0].id)).ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), again).status());

  // Regenerating the secret revokes the account's refresh tokens and the old secret.
  absl::StatusOr<IssuedToken> second = realm_.IssueToken(Client(), login);
  ASSERT_TRUE(second.ok());
  absl::StatusOr<ServiceAccountWithSecret> regenerated =
      realm_.RegenerateServiceAccountSecret(Admin(), "workspaces/acme/serviceAccounts/builder", "");
  ASSERT_TRUE(regenerated.ok()) << regenerated.status();
  EXPECT_NE(regenerated->secret.view(), sa.secret.view());
  TokenRequest with_second = again;
  with_second.refresh_token = second->refresh_token;
  ExpectInvalidCredentials(realm_.IssueToken(Client(), with_second).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), login).status());
  EXPECT_TRUE(
      realm_
          .IssueToken(Client(), Basic("acme+builder", std::string(regenerated->secret.view()), {}))
          .ok());
}

// Issue 17: a refresh token is bound to the generation of its subject's secret. Another
// replica still holds the old account in its cache for up to cache_ttl, so a login there with
// the old secret (or with the secret of a deleted account) can mint a refresh token after this
// replica revoked the account's tokens; once the cache has caught up, that token must be
// refused: after a regeneration, and after a delete and re-create under the same id.
TEST_F(RefreshTokenServiceTest, RefreshTokensDieWithTheSecretGenerationTheyWereIssuedFor) {
  TestRealm stale(store_, tokens_, *ring_, &signer_, clock_, Options());
  auto refresh_request = [](const IssuedToken& issued) {
    TokenRequest r;
    r.grant_type = TokenGrantType::kRefreshToken;
    r.service = kService;
    r.refresh_token = SecretString(std::string(issued.refresh_token.view()));
    return r;
  };

  // Regenerated here while `stale` still caches the old secret.
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  TokenRequest login = Basic("acme+builder", std::string(sa.secret.view()), {});
  login.offline = true;
  ASSERT_TRUE(stale.IssueToken(Client(), login).ok());  // fills its cache
  absl::StatusOr<ServiceAccountWithSecret> regenerated =
      realm_.RegenerateServiceAccountSecret(Admin(), "workspaces/acme/serviceAccounts/builder", "");
  ASSERT_TRUE(regenerated.ok()) << regenerated.status();
  absl::StatusOr<IssuedToken> late = stale.IssueToken(Client(), login);
  ASSERT_TRUE(late.ok()) << late.status();  // the documented cache_ttl staleness
  ASSERT_FALSE(late->refresh_token.empty());
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  ExpectInvalidCredentials(realm_.IssueToken(Client(), refresh_request(*late)).status());
  ExpectInvalidCredentials(stale.IssueToken(Client(), refresh_request(*late)).status());
  // A token issued for the new secret works.
  TokenRequest fresh_login = Basic("acme+builder", std::string(regenerated->secret.view()), {});
  fresh_login.offline = true;
  absl::StatusOr<IssuedToken> fresh = realm_.IssueToken(Client(), fresh_login);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(realm_.IssueToken(Client(), refresh_request(*fresh)).ok());

  // Deleted here while `stale` still caches the account, then re-created under the same id.
  TokenRequest stale_login = fresh_login;
  ASSERT_TRUE(stale.IssueToken(Client(), stale_login).ok());  // fills its cache
  ASSERT_TRUE(
      realm_.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", "").ok());
  absl::StatusOr<IssuedToken> orphan = stale.IssueToken(Client(), stale_login);
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  ASSERT_FALSE(orphan->refresh_token.empty());
  MustCreateAccount("builder", {{"acme/*", {"pull", "push"}}});
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  ExpectInvalidCredentials(realm_.IssueToken(Client(), refresh_request(*orphan)).status());
  ExpectInvalidCredentials(stale.IssueToken(Client(), refresh_request(*orphan)).status());
}

// Issue 15, finding 1: `refresh_token=.` killed the process (substr past the end). Every
// short or odd refresh token is an ordinary refusal.

TEST_F(RefreshTokenServiceTest, HousekeepingDeletesLongExpiredTokensAndStaleThrottleStates) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  TokenRequest login = Basic("acme+builder", std::string(sa.secret.view()), {});
  login.offline = true;
  ASSERT_TRUE(realm_.IssueToken(Client(), login).ok());
  ASSERT_TRUE(realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::Hours(1)).ok());
  (void)realm_.IssueToken(Client("10.7.7.7"), Basic("acme+nobody", "ras_wrong", {}));

  // Nothing is old enough yet.
  absl::StatusOr<HousekeepingResult> r = realm_.Housekeep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pull_tokens + r->refresh_tokens + r->throttle_states, 0);
  EXPECT_EQ(realm_.ListPullTokens(Deployer(), "workspaces/acme", 0)->size(), 1u);

  // An hour after the throttle window, the failures are forgotten; a day after expiry, the
  // pull token goes; the refresh token (30 days) stays.
  clock_.Advance(absl::Hours(1) + absl::Hours(24) + absl::Seconds(1));
  r = realm_.Housekeep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pull_tokens, 1);
  EXPECT_EQ(r->refresh_tokens, 0);
  EXPECT_EQ(r->throttle_states, 2);  // account:acme+nobody@10.7.7.7 and addr:10.7.7.7
  EXPECT_TRUE(realm_.ListPullTokens(Deployer(), "workspaces/acme", 0)->empty());
  EXPECT_EQ(realm_.ListRefreshTokens(Admin(), "workspaces/acme", "", 0)->size(), 1u);
}

}  // namespace
}  // namespace registryauth::services
