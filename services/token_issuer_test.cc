// The /token rules of services::TokenIssuer: scope intersection, the catalog, refusals that
// tell nothing, anonymous and malformed requests, metrics, and the principal caches (another
// replica's changes within cache_ttl, this replica's at once).
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

class TokenIssuerTest : public TokenRealmTest {};

TEST_F(TokenIssuerTest, ServiceAccountGetsTheIntersectionOfAskedAndGranted) {
  ServiceAccountWithSecret sa =
      MustCreateAccount("builder", {{"acme/web", {"push", "pull"}}, {"acme/api-*", {"pull"}}});
  EXPECT_EQ(sa.username, "acme+builder");
  EXPECT_TRUE(absl::StartsWith(std::string(sa.secret.view()), "ras_"));
  EXPECT_EQ(sa.secret.size(), 4u + 43u);
  EXPECT_EQ(sa.account.grants[0].actions, (std::vector<std::string>{"pull", "push"}));

  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(),
      Basic("acme+builder", std::string(sa.secret.view()),
            {"repository:acme/web:pull,push,delete",
             "repository:acme/api-v2:push,pull repository:other/web:pull", "registry:catalog:*"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull,push",
                                                         "repository:acme/api-v2:pull"}));
  EXPECT_EQ(t->expires_in, absl::Minutes(5));
  EXPECT_EQ(t->subject, "acme+builder");
  EXPECT_TRUE(t->refresh_token.empty());

  nlohmann::json claims = Verify(t->token);
  EXPECT_EQ(claims["sub"], "acme+builder");
  EXPECT_TRUE(claims["aud"].is_string());
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 300);
  ASSERT_EQ(claims["access"].size(), 2u);
  EXPECT_EQ(claims["access"][0],
            (nlohmann::json{
                {"type", "repository"}, {"name", "acme/web"}, {"actions", {"pull", "push"}}}));
  EXPECT_EQ(claims["access"][1]["name"], "acme/api-v2");
  EXPECT_FALSE(claims["jti"].get<std::string>().empty());
}

TEST_F(TokenIssuerTest, CatalogOnlyForTheConfiguredAccounts) {
  ServiceAccountWithSecret ops = MustCreateAccount("ops", {{"acme/*", {"pull"}}});
  ServiceAccountWithSecret builder = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  TokenRealmOptions options = Options();
  options.catalog_accounts = {{"acme+ops", ops.account.uid}};
  TestRealm realm(store_, tokens_, *ring_, &signer_, clock_, options);
  const std::vector<std::string> scopes = {"registry:catalog:*", "repository:acme/web:pull"};

  absl::StatusOr<IssuedToken> t =
      realm.IssueToken(Client(), Basic("acme+ops", std::string(ops.secret.view()), scopes));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes,
            (std::vector<std::string>{"registry:catalog:*", "repository:acme/web:pull"}));
  nlohmann::json claims = Verify(t->token);
  EXPECT_EQ(claims["access"][0],
            (nlohmann::json{{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}));

  // Another account of the same workspace, the same account on a realm without the setting, a
  // pull token and anonymous requests: no catalog.
  t = realm.IssueToken(Client(), Basic("acme+builder", std::string(builder.secret.view()), scopes));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull"}));
  t = realm_.IssueToken(Client(), Basic("acme+ops", std::string(ops.secret.view()), scopes));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull"}));
  absl::StatusOr<MintedPullToken> pull =
      realm.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::Hours(1));
  ASSERT_TRUE(pull.ok()) << pull.status();
  t = realm.IssueToken(Client(), Basic(pull->username, std::string(pull->password.view()), scopes));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull"}));
  TokenRequest anonymous;
  anonymous.service = kService;
  anonymous.scopes = scopes;
  t = realm.IssueToken(Client(), anonymous);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->granted_scopes.empty());
}

// The setting names the account's uid: the same names on a re-created account are another
// account and do not list.
TEST_F(TokenIssuerTest, CatalogIsBoundToTheAccountNotItsName) {
  ServiceAccountWithSecret ops = MustCreateAccount("ops", {{"acme/*", {"pull"}}});
  ASSERT_TRUE(IsUid(ops.account.uid)) << ops.account.uid;
  TokenRealmOptions options = Options();
  options.catalog_accounts = {{"acme+ops", ops.account.uid}};
  TestRealm realm(store_, tokens_, *ring_, &signer_, clock_, options);
  const std::vector<std::string> scopes = {"registry:catalog:*"};
  auto catalog_as = [&](const ServiceAccountWithSecret& who) {
    absl::StatusOr<IssuedToken> t =
        realm.IssueToken(Client(), Basic(who.username, std::string(who.secret.view()), scopes));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() && t->granted_scopes == std::vector<std::string>{"registry:catalog:*"};
  };
  ASSERT_TRUE(catalog_as(ops));

  // Deleted and re-created under the same name: a new uid, no catalog.
  ASSERT_TRUE(realm.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/ops", "").ok());
  ServiceAccountInput in;
  in.grants = {{"acme/*", {"pull"}}};
  absl::StatusOr<ServiceAccountWithSecret> again =
      realm.CreateServiceAccount(Admin(), "workspaces/acme", "ops", in);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->account.uid, ops.account.uid);
  EXPECT_FALSE(catalog_as(*again));
  // (A workspace deleted and re-created: RealmE2eTest.CatalogIsBoundToTheAccountNotItsName,
  // over PostgreSQL, whose workspace deletion takes the accounts with it.)
}

TEST_F(TokenIssuerTest, WrongSecretsAndUnknownAccountsAreTheSameRefusal) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"*"}}});
  std::string good(sa.secret.view());
  std::string near = good;
  near.back() = near.back() == 'A' ? 'B' : 'A';
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", near, {})).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+ghost", good, {})).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("other+builder", good, {})).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("builder", good, {})).status());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic("acme+builder", "rpt_" + good.substr(4), {})).status());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic("pull+AAAAAAAAAAAAAAAAAAAAAA", "rpt_x", {})).status());
  // Six failures from one address block neither the address (it may fail 20 times) nor the
  // account: the right secret is accepted from there and from elsewhere.
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", good, {})).ok());
  EXPECT_TRUE(realm_.IssueToken(Client("10.2.2.2"), Basic("acme+builder", good, {})).ok());
}

TEST_F(TokenIssuerTest, DisabledAndExpiredAccountsAreRefused) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(realm_
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                        {"disabled"}, "")
                  .ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());

  ServiceAccountInput on;
  on.enabled = true;
  on.expire_time = clock_.Now() + absl::Hours(1);
  ASSERT_TRUE(realm_
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", on,
                                        {"disabled", "expire_time"}, "")
                  .ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  clock_.Advance(absl::Hours(1));
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
}

TEST_F(TokenIssuerTest, AnonymousGetsNoAccessAndBadRequestsAreInvalidArgument) {
  TokenRequest anon;
  anon.service = kService;
  anon.scopes = {"repository:acme/web:pull"};
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->granted_scopes.empty());
  EXPECT_EQ(t->subject, "");
  EXPECT_TRUE(Verify(t->token)["access"].empty());

  TokenRequest other = anon;
  other.service = "elsewhere";
  absl::Status s = realm_.IssueToken(Client(), other).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetail(s)->reason, kReasonUnknownService);

  TokenRequest bad_scope = anon;
  bad_scope.scopes = {"repository:ACME/web:pull"};
  EXPECT_EQ(realm_.IssueToken(Client(), bad_scope).status().code(),
            absl::StatusCode::kInvalidArgument);

  TokenRequest password_without_user = anon;
  password_without_user.grant_type = TokenGrantType::kPassword;
  EXPECT_EQ(realm_.IssueToken(Client(), password_without_user).status().code(),
            absl::StatusCode::kInvalidArgument);

  TokenRequest mismatched = Basic("acme+builder", "ras_x", {});
  mismatched.account = "acme+someone";
  EXPECT_EQ(realm_.IssueToken(Client(), mismatched).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenIssuerTest, MalformedRefreshTokensAreRefusedNotThrown) {
  for (const char* text : {".", "a.b", "..", "rrt", "rrt_", "rrt_.", "rrt.", "r.", "rr.x", "rrt_.x",
                           "rrt_AAAAAAAAAAAAAAAAAAAAAA", "x", "rrt_A.A.A", "....."}) {
    TokenRequest r;
    r.grant_type = TokenGrantType::kRefreshToken;
    r.service = kService;
    r.refresh_token = SecretString(text);
    absl::StatusOr<IssuedToken> t;
    ASSERT_NO_THROW(t = realm_.IssueToken(Client("10.3.3.3"), r)) << text;
    EXPECT_FALSE(t.ok()) << text;
    EXPECT_TRUE(t.status().code() == absl::StatusCode::kUnauthenticated ||
                t.status().code() == absl::StatusCode::kResourceExhausted)
        << text << ": " << t.status();
  }
}

TEST_F(TokenIssuerTest, MetricsSinkHearsKindAndOutcomeOfEveryRequest) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  EXPECT_TRUE(realm_.IssueToken(Client("10.9.9.9"), Basic("acme+builder", secret, {})).ok());
  EXPECT_TRUE(realm_.IssueToken(Client("10.9.9.9"), Basic("acme+builder", secret, {})).ok());
  for (int i = 0; i < 6; ++i) {
    (void)realm_.IssueToken(Client("10.0.1.1"), Basic("acme+builder", "ras_wrong", {}));
  }
  EXPECT_TRUE(realm_.IssueToken(Client("10.9.9.9"), Basic("acme+builder", secret, {})).ok());
  (void)realm_.IssueToken(Client("10.9.9.8"), Basic("pull+AAAAAAAAAAAAAAAAAAAAAA", "rpt_x", {}));
  (void)realm_.IssueToken(Client("10.9.9.8"), Basic("", "", {}));
  TokenRequest bad = Basic("nobody", "pw", {"repository:acme/web:pull"});
  bad.service = "elsewhere";
  (void)realm_.IssueToken(Client("10.9.9.8"), bad);
  TokenRequest refresh;
  refresh.service = kService;
  refresh.grant_type = TokenGrantType::kRefreshToken;
  refresh.refresh_token = SecretString("rrt_nope.nope");
  (void)realm_.IssueToken(Client("10.9.9.7"), refresh);
  EXPECT_EQ(metrics_.counts(), (std::map<std::string, int>{
                                   {"service_account/issued", 3},
                                   {"service_account/invalid_credentials", 5},
                                   {"service_account/throttled", 1},
                                   {"pull_token/invalid_credentials", 1},
                                   {"anonymous/issued", 1},
                                   {"unknown/invalid_request", 1},
                                   {"refresh_token/invalid_credentials", 1},
                               }));
}

TEST_F(TokenIssuerTest, HostPrefixedNamesDoNotCrossWorkspaceLines) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull", "push"}}});
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(), Basic("acme+builder", std::string(sa.secret.view()),
                      {"repository:localhost/acme/x:push,pull", "repository:evil.com/acme/y:push",
                       "repository:localhost:5000/acme/z:pull", "repository:acme/x:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/x:pull"});
  const nlohmann::json claims = Verify(t->token);
  for (const auto& entry : claims["access"]) {
    EXPECT_TRUE(absl::StartsWith(entry["name"].get<std::string>(), "acme/")) << entry;
  }
  // A workspace credential: push+pull on `acme/*` only.
  absl::StatusOr<Credentials> build = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(build.ok()) << build.status();
  t = realm_.IssueToken(Client(),
                        Basic(build->username, std::string(build->secret.view()),
                              {"repository:localhost/acme/x:push", "repository:acme/x:push"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/x:push"});
}

// Issue 15, finding 4: one anonymous request cannot make many uncached database lookups.

TEST_F(TokenIssuerTest, AnotherReplicasChangesApplyWithinTheCacheTtl) {
  // A second replica on the same stores: its revoke/disable is seen here within cache_ttl;
  // this replica's own changes apply at once.
  TestRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok());
  const std::string password(m->password.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic(m->username, password, {})).ok());

  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(other
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                        {"disabled"}, "")
                  .ok());
  ASSERT_TRUE(other.RevokePullToken(Deployer(), FormatPullTokenName("acme", m->token.id)).ok());
  // Still cached here...
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic(m->username, password, {})).ok());
  // ... and refused there at once, and here after the TTL.
  ExpectInvalidCredentials(other.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  clock_.Advance(Options().cache_ttl);
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
}

TEST_F(TokenIssuerTest, RecordingALoginDoesNotExtendTheLifeOfACachedAccount) {
  TestRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());  // touched
  // Read again (and cached) just before the next touch is due.
  clock_.Advance(Options().touch_interval - absl::Seconds(2));
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(other
                  .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                        {"disabled"}, "")
                  .ok());
  // The next login, from the cached row, is due a touch; the row must still expire cache_ttl
  // after it was read, not after the touch.
  clock_.Advance(absl::Seconds(3));
  ASSERT_LT(absl::Seconds(3), Options().cache_ttl);
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  clock_.Advance(Options().cache_ttl - absl::Seconds(3));
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
}

TEST_F(TokenIssuerTest, ThisReplicasChangesApplyAtOnceDespiteTheCache) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  absl::StatusOr<ServiceAccountWithSecret> regenerated =
      realm_.RegenerateServiceAccountSecret(Admin(), "workspaces/acme/serviceAccounts/builder", "");
  ASSERT_TRUE(regenerated.ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  EXPECT_TRUE(
      realm_
          .IssueToken(Client(), Basic("acme+builder", std::string(regenerated->secret.view()), {}))
          .ok());
  ASSERT_TRUE(
      realm_.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", "").ok());
  ExpectInvalidCredentials(
      realm_
          .IssueToken(Client(), Basic("acme+builder", std::string(regenerated->secret.view()), {}))
          .status());

  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok());
  const std::string password(m->password.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic(m->username, password, {})).ok());
  ASSERT_TRUE(realm_.RevokePullTokens(Deployer(), "workspaces/acme/apps/web").ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
}

}  // namespace
}  // namespace registryauth::services
