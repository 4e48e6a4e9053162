// Pull tokens (services/pull_token_service.h) through the guarded realm: what they pull, until
// revoked or expired, and MintPullToken's permission, app and ttl rules.
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

class PullTokenServiceTest : public TokenRealmTest {};

TEST_F(PullTokenServiceTest, PullTokenPullsOnlyItsAppUntilRevokedOrExpired) {
  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->registry, "registry.test:5000");
  EXPECT_TRUE(absl::StartsWith(m->username, "pull+"));
  EXPECT_TRUE(absl::StartsWith(std::string(m->password.view()), "rpt_"));
  EXPECT_EQ(m->token.expire_time, clock_.Now() + absl::Hours(1));
  EXPECT_EQ(m->token.created_by, "spiffe://example.org/deployer");
  const std::string password(m->password.view());

  absl::StatusOr<IssuedToken> t =
      realm_.IssueToken(Client(), Basic(m->username, password,
                                        {"repository:acme/web:pull,push",
                                         "repository:acme/api:pull", "repository:other/web:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/web:pull"});

  // Revoked: refused from then on.
  const std::string name = FormatPullTokenName("acme", m->token.id);
  absl::StatusOr<PullToken> revoked = realm_.RevokePullToken(Deployer(), name);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoke_time, clock_.Now());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
  // Revoking again is fine; another workspace's name for it is NOT_FOUND.
  EXPECT_TRUE(realm_.RevokePullToken(Deployer(), name).ok());
  EXPECT_EQ(
      realm_.RevokePullToken(Deployer(), FormatPullTokenName("other", m->token.id)).status().code(),
      absl::StatusCode::kNotFound);

  // Expiry, with the TTL clamped to the maximum.
  absl::StatusOr<MintedPullToken> longer =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::Hours(100));
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(longer->token.expire_time, clock_.Now() + absl::Hours(4));
  const std::string longer_password(longer->password.view());
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic(longer->username, longer_password, {})).ok());
  clock_.Advance(absl::Hours(4));
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic(longer->username, longer_password, {})).status());
}

TEST_F(PullTokenServiceTest, MintPullTokenChecksPermissionAppAndTtl) {
  EXPECT_EQ(realm_.MintPullToken(Admin(), "workspaces/acme/apps/web", absl::ZeroDuration())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(realm_.MintPullToken(Deployer(), "workspaces/acme/apps/nope", absl::ZeroDuration())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::Seconds(-1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(realm_.MintPullToken(Deployer(), "apps/web", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);

  // RevokePullTokens by app, ListPullTokens newest first.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration()).ok());
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_TRUE(
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/api", absl::ZeroDuration()).ok());
  absl::StatusOr<std::vector<PullToken>> web =
      realm_.ListPullTokens(Deployer(), "workspaces/acme/apps/web", 0);
  ASSERT_TRUE(web.ok()) << web.status();
  ASSERT_EQ(web->size(), 3u);
  EXPECT_GT((*web)[0].create_time, (*web)[2].create_time);
  EXPECT_EQ(realm_.ListPullTokens(Deployer(), "workspaces/acme", 0)->size(), 4u);
  absl::StatusOr<int64_t> n = realm_.RevokePullTokens(Admin(), "workspaces/acme/apps/web");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(*realm_.RevokePullTokens(Admin(), "workspaces/acme/apps/web"), 0);
}

}  // namespace
}  // namespace registryauth::services
