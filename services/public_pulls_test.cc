// Pulls of public_pull apps for every requester (services/public_pulls.h): only pull, changes
// seen within the cache ttl, and the cap on uncached lookups per request.
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

class PublicPullsTest : public TokenRealmTest {};

TEST_F(PublicPullsTest, PublicAppsArePullableByEveryoneAndOnlyPullable) {
  App web = *store_.GetApp("acme", "web");
  web.public_pull = true;
  ASSERT_TRUE(store_.UpdateApp(web, web.version).ok());

  TokenRequest anon;
  anon.service = kService;
  // `*` and repeated scopes: only pull on the public app's own repository. A host-looking
  // first component makes another repository (issue 15): `localhost:5000/acme/web`,
  // `localhost/acme/web` and `evil.com/acme/web` are not acme's and get nothing.
  anon.scopes = {"repository:acme/web:pull,push,delete",
                 "repository:localhost:5000/acme/web:* repository:acme/api:pull",
                 "repository:acme/web/sub:pull repository:other/web:pull repository:acme:pull",
                 "repository:localhost/acme/web:pull repository:evil.com/acme/web:pull",
                 "registry:catalog:*"};
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull"}));
  EXPECT_EQ(t->subject, "");
  nlohmann::json access = Verify(t->token)["access"];
  ASSERT_EQ(access.size(), 1u);
  EXPECT_EQ(access[0],
            (nlohmann::json{{"type", "repository"}, {"name", "acme/web"}, {"actions", {"pull"}}}));

  // A pull token of another workspace's app, and a service account without grants on it,
  // may pull the public repository too, on top of what they hold.
  absl::StatusOr<MintedPullToken> other =
      realm_.MintPullToken(Deployer(), "workspaces/other/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(other.ok()) << other.status();
  t = realm_.IssueToken(Client(),
                        Basic(other->username, std::string(other->password.view()),
                              {"repository:acme/web:pull,push", "repository:other/web:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes,
            (std::vector<std::string>{"repository:acme/web:pull", "repository:other/web:pull"}));
  // A pusher keeps push: public pull adds, never takes away.
  ServiceAccountWithSecret pusher = MustCreateAccount("pusher", {{"acme/web", {"push", "pull"}}});
  t = realm_.IssueToken(Client(), Basic("acme+pusher", std::string(pusher.secret.view()),
                                        {"repository:acme/web:pull,push"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/web:pull,push"});
  // Bad credentials are still refused: public repositories do not make logins optional.
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic("acme+pusher", "ras_wrong", {"repository:acme/web:pull"}))
          .status());
}

TEST_F(PublicPullsTest, PublicPullChangesApplyWithinTheCacheTtl) {
  TokenRequest anon;
  anon.service = kService;
  anon.scopes = {"repository:acme/api:pull", "repository:acme/ghost:pull"};
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->granted_scopes.empty());

  // Made public (and an app created) elsewhere: seen once the cached answers are older than
  // cache_ttl, absent apps included.
  App api = *store_.GetApp("acme", "api");
  api.public_pull = true;
  ASSERT_TRUE(store_.UpdateApp(api, api.version).ok());
  App ghost;
  ghost.workspace_id = "acme";
  ghost.id = "ghost";
  ghost.public_pull = true;
  ASSERT_TRUE(store_.CreateApp(ghost).ok());
  t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->granted_scopes.empty());
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->granted_scopes,
            (std::vector<std::string>{"repository:acme/api:pull", "repository:acme/ghost:pull"}));

  // Private again, or deleted: refused again after cache_ttl.
  api = *store_.GetApp("acme", "api");
  api.public_pull = false;
  ASSERT_TRUE(store_.UpdateApp(api, api.version).ok());
  ASSERT_TRUE(store_.DeleteApp("acme", "ghost", 0).ok());
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->granted_scopes.empty());
}

TEST_F(PublicPullsTest, PublicPullLookupsPerRequestAreCapped) {
  for (int i = 0; i < 8; ++i) {
    App a;
    a.workspace_id = "acme";
    a.id = "pub" + std::to_string(i);
    a.public_pull = true;
    ASSERT_TRUE(store_.CreateApp(a).ok());
  }
  TokenRequest anon;
  anon.service = kService;
  for (int i = 0; i < 8; ++i)
    anon.scopes.push_back("repository:acme/pub" + std::to_string(i) + ":pull");
  const int64_t before = store_.GetAppCalls();
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(store_.GetAppCalls() - before, 4);
  EXPECT_EQ(t->granted_scopes.size(), 4u);
  // The next request finds the first four cached and looks up four more.
  t = realm_.IssueToken(Client(), anon);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(store_.GetAppCalls() - before, 8);
  EXPECT_EQ(t->granted_scopes.size(), 8u);
}

// Issue 15 review: gRPC (1.51 here) reports IPv6 peers percent-encoded, e.g.
// `ipv6:%5B2001:db8::1%5D:40000` (checked against a live server on [::1]). A direct gRPC caller
// over IPv6 must still get one throttle key per /64, not one per TCP connection (source port):
// otherwise reconnecting escapes the per-address block.

}  // namespace
}  // namespace registryauth::services
