// The guarded token realm (services/token_realm.h): changes are audited without secrets,
// denials included; a disabled realm refuses tokens but still manages accounts; the options
// are validated.
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

class TokenRealmGuardTest : public TokenRealmTest {};

TEST_F(TokenRealmGuardTest, ChangesAreAuditedWithoutSecrets) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok());
  (void)realm_.MintPullToken(Admin(), "workspaces/acme/apps/web", absl::ZeroDuration());
  std::vector<AuditEvent> events = Audit();
  ASSERT_EQ(events.size(), 3u);
  std::set<std::string> seen;
  for (const AuditEvent& e : events) {
    seen.insert(e.action + " " + e.resource + " " + e.outcome);
    for (const std::string& field : {e.resource, e.detail, e.caller}) {
      EXPECT_FALSE(absl::StrContains(field, std::string(sa.secret.view())));
      EXPECT_FALSE(absl::StrContains(field, std::string(m->password.view())));
    }
  }
  EXPECT_EQ(seen.count("CreateServiceAccount workspaces/acme/serviceAccounts/builder OK"), 1u);
  EXPECT_EQ(seen.count("MintPullToken workspaces/acme/pullTokens/" + m->token.id + " OK"), 1u);
  EXPECT_EQ(seen.count("MintPullToken workspaces/acme/apps/web PERMISSION_DENIED"), 1u);
}

TEST_F(TokenRealmGuardTest, DisabledRealmRefusesTokensButManagesAccounts) {
  TokenRealmOptions o;  // no service
  TestRealm off(store_, tokens_, *ring_, nullptr, clock_, o);
  TokenRequest anon;
  absl::Status s = off.IssueToken(Client(), anon).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorDetail(s)->reason, kReasonTokenRealmDisabled);
  EXPECT_EQ(off.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  ServiceAccountInput in;
  EXPECT_TRUE(off.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).ok());
}

TEST(TokenRealmOptionsTest, Validation) {
  TokenRealmOptions o;
  o.service = "registry";
  EXPECT_TRUE(ValidateTokenRealmOptions(o).ok());
  TokenRealmOptions short_ttl = o;
  short_ttl.token_ttl = absl::Seconds(59);
  EXPECT_FALSE(ValidateTokenRealmOptions(short_ttl).ok());
  TokenRealmOptions inverted = o;
  inverted.pull_token_max_ttl = absl::Minutes(30);
  EXPECT_FALSE(ValidateTokenRealmOptions(inverted).ok());
  TokenRealmOptions no_issuer = o;
  no_issuer.issuer = "";
  EXPECT_FALSE(ValidateTokenRealmOptions(no_issuer).ok());
}

}  // namespace
}  // namespace registryauth::services
