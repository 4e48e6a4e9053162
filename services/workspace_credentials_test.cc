// Workspace credentials (services/workspace_credentials.h): minted for the platform registry,
// push+pull on their namespace until they expire, refused when forged or when the realm is off.
// (The same realm runs against PostgreSQL, the real registry and skopeo in tests/.)
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/testing/token_realm_fixture.h"

namespace registryauth::services {
namespace {

using namespace testing;  // NOLINT(build/namespaces): the fixture's helpers

class WorkspaceCredentialsTest : public TokenRealmTest {};

TEST_F(WorkspaceCredentialsTest, WorkspaceCredentialsPushAndPullTheirNamespaceUntilTheyExpire) {
  EXPECT_TRUE(realm_.ServesRegistry("registry.test:5000"));
  EXPECT_TRUE(realm_.ServesRegistry("REGISTRY.test:5000"));
  EXPECT_FALSE(realm_.ServesRegistry("registry.test"));
  EXPECT_FALSE(realm_.ServesRegistry("ghcr.io"));

  absl::StatusOr<Credentials> c = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, RegistryType::kDistribution);
  EXPECT_EQ(c->registry_host, "registry.test:5000");
  EXPECT_EQ(c->repository_namespace, "acme");
  EXPECT_TRUE(absl::StartsWith(c->username, "build+")) << c->username;
  const std::string secret(c->secret.view());
  EXPECT_TRUE(absl::StartsWith(secret, "rbt_acme.")) << "shape";
  ASSERT_TRUE(c->expire_time.has_value());
  EXPECT_EQ(*c->expire_time, clock_.Now() + Options().pull_token_default_ttl);
  // Nothing is stored: minting twice gives two different credentials.
  absl::StatusOr<Credentials> again = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->username, c->username);
  EXPECT_NE(std::string(again->secret.view()), secret);

  TokenRequest login = Basic(c->username, secret,
                             {"repository:acme/web:pull,push,delete", "repository:acme/new/x:push",
                              "repository:other/web:pull", "registry:catalog:*"});
  login.offline = true;
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(Client(), login);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull,push",
                                                         "repository:acme/new/x:push"}));
  EXPECT_EQ(t->subject, c->username);
  EXPECT_TRUE(t->refresh_token.empty());  // stateless: no refresh token
  EXPECT_EQ(metrics_.counts()["workspace_credential/issued"], 1);

  // Tampering with any part, or pairing it with another id, is the usual refusal.
  int attempt = 0;
  const std::string id = c->username.substr(6);
  std::string other_ws = secret;
  other_ws.replace(4, 4, "beta");
  std::string later = secret;
  later[later.find('.') + 1] = later[later.find('.') + 1] == '9' ? '8' : '9';
  std::string flipped = secret;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {other_ws, later, flipped, secret + ".", secret.substr(0, secret.size() - 1),
        std::string("rbt_acme.1.1.") + std::string(43, 'A'), std::string("ras_") + secret.substr(4),
        std::string(200, 'x')}) {
    ExpectInvalidCredentials(
        realm_
            .IssueToken(Client("10.3.0." + std::to_string(++attempt)), Basic(c->username, bad, {}))
            .status());
    ASSERT_TRUE(tokens_.ClearLoginFailures("account:" + c->username).ok());  // no throttling here
  }
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic(again->username, secret, {})).status());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client("10.9.9.9"), Basic("build+" + id + "x", secret, {})).status());

  // Expired: refused.
  clock_.Advance(Options().pull_token_default_ttl);
  ExpectInvalidCredentials(
      realm_
          .IssueToken(Client("10.2.2.2"),
                      Basic(again->username, std::string(again->secret.view()), {}))
          .status());
  EXPECT_EQ(realm_.MintWorkspaceCredential("Not An Id").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Issue 17: a workspace credential is bound to its workspace's creation. Once the workspace
// is deleted (seen within cache_ttl), it is refused, and it stays refused for a new workspace
// that reuses the id; a credential minted for the new workspace works.
TEST_F(WorkspaceCredentialsTest, AWorkspaceCredentialDiesWithItsWorkspace) {
  absl::StatusOr<Credentials> c = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(c.ok()) << c.status();
  const TokenRequest login = Basic(c->username, std::string(c->secret.view()), {});
  ASSERT_TRUE(realm_.IssueToken(Client(), login).ok());

  absl::StatusOr<Workspace> acme = store_.GetWorkspace("acme");
  ASSERT_TRUE(acme.ok());
  ASSERT_TRUE(store_.DeleteWorkspace("acme", acme->version, /*force=*/true).ok());
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  ASSERT_LT(Options().cache_ttl + absl::Seconds(1), Options().pull_token_default_ttl);
  ExpectInvalidCredentials(realm_.IssueToken(Client(), login).status());

  Workspace again{"acme", "ACME again"};
  again.create_time = clock_.Now();
  ASSERT_TRUE(store_.CreateWorkspace(again).ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client("10.1.1.2"), login).status());
  absl::StatusOr<Credentials> fresh = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(
      realm_.IssueToken(Client(), Basic(fresh->username, std::string(fresh->secret.view()), {}))
          .ok());
  // A workspace that does not exist gets none.
  EXPECT_EQ(realm_.MintWorkspaceCredential("ghost").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WorkspaceCredentialsTest, AWorkspaceReCreatedWithinTheCacheTtlGetsCredentialsOfItsOwn) {
  // Review of issue 17: minting read the workspace's create time through the login cache, so
  // a workspace deleted and re-created within cache_ttl was minted credentials bound to the
  // old workspace: they stopped working once the cache expired, and meanwhile the old
  // workspace's credentials still logged in to the new one.
  absl::StatusOr<Credentials> old = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(old.ok()) << old.status();
  const TokenRequest old_login = Basic(old->username, std::string(old->secret.view()), {});
  ASSERT_TRUE(realm_.IssueToken(Client("10.4.0.1"), old_login).ok());  // caches the create time

  absl::StatusOr<Workspace> acme = store_.GetWorkspace("acme");
  ASSERT_TRUE(acme.ok());
  ASSERT_TRUE(store_.DeleteWorkspace("acme", acme->version, /*force=*/true).ok());
  clock_.Advance(absl::Seconds(1));
  ASSERT_LT(absl::Seconds(1), Options().cache_ttl);
  Workspace again{"acme", "ACME again"};
  again.create_time = clock_.Now();
  ASSERT_TRUE(store_.CreateWorkspace(again).ok());

  absl::StatusOr<Credentials> fresh = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  const TokenRequest fresh_login = Basic(fresh->username, std::string(fresh->secret.view()), {});
  EXPECT_TRUE(realm_.IssueToken(Client("10.4.0.2"), fresh_login).ok());
  // Minting read the store, so this replica knows the new workspace: the old credential is
  // refused at once (without a mint it would be within cache_ttl, as for any principal).
  ExpectInvalidCredentials(realm_.IssueToken(Client("10.4.0.3"), old_login).status());
  // The new credential is the new workspace's: it still works once the cache has expired.
  clock_.Advance(Options().cache_ttl + absl::Seconds(1));
  ASSERT_LT(Options().cache_ttl + absl::Seconds(2), Options().pull_token_default_ttl);
  EXPECT_TRUE(realm_.IssueToken(Client("10.4.0.4"), fresh_login).ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client("10.4.0.5"), old_login).status());
}

// A credential is accepted only in the exact text it was minted as: numbers with a leading
// zero (or "-0") carry the same value under the keyed hash, so before workspace_credential_fuzz
// they made other passwords from one minted credential.
TEST_F(WorkspaceCredentialsTest, OnlyTheMintedTextIsAccepted) {
  absl::StatusOr<Credentials> c = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string secret(c->secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic(c->username, secret, {})).ok());
  const std::vector<std::string> parts = absl::StrSplit(secret.substr(4), '.');
  ASSERT_EQ(parts.size(), 5u) << "rbt_<workspace>.<created>.<expiry>.<key id>.<hash>";
  auto with_part = [&](size_t i, const std::string& value) {
    std::vector<std::string> p = parts;
    p[i] = value;
    return "rbt_" + absl::StrJoin(p, ".");
  };
  std::vector<std::string> variants = {with_part(2, "0" + parts[2]), with_part(3, "0" + parts[3]),
                                       with_part(3, "00" + parts[3])};
  if (parts[1][0] == '-') {
    variants.push_back(with_part(1, "-0" + parts[1].substr(1)));
  } else {
    variants.push_back(with_part(1, "0" + parts[1]));
  }
  int attempt = 0;
  for (const std::string& bad : variants) {
    SCOPED_TRACE(bad);
    ExpectInvalidCredentials(
        realm_
            .IssueToken(Client("10.4.0." + std::to_string(++attempt)), Basic(c->username, bad, {}))
            .status());
    ASSERT_TRUE(tokens_.ClearLoginFailures("account:" + c->username).ok());  // no throttling here
  }
  // A workspace created at the epoch (create time 0) mints "0", never "-0".
  Workspace epoch{"epoch", "Epoch"};
  epoch.create_time = absl::UnixEpoch();
  ASSERT_TRUE(store_.CreateWorkspace(epoch).ok());
  absl::StatusOr<Credentials> e = realm_.MintWorkspaceCredential("epoch");
  ASSERT_TRUE(e.ok()) << e.status();
  const std::string epoch_secret(e->secret.view());
  ASSERT_TRUE(absl::StartsWith(epoch_secret, "rbt_epoch.0.")) << "shape";
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic(e->username, epoch_secret, {})).ok());
  ExpectInvalidCredentials(
      realm_
          .IssueToken(Client("10.4.1.1"),
                      Basic(e->username, "rbt_epoch.-0." + epoch_secret.substr(12), {}))
          .status());
}

TEST_F(WorkspaceCredentialsTest, WorkspaceCredentialsNeedTheRealm) {
  TokenRealmOptions o = Options();
  o.service = "";
  TestRealm disabled(store_, tokens_, *ring_, &signer_, clock_, o);
  EXPECT_FALSE(disabled.ServesRegistry("registry.test:5000"));
  EXPECT_EQ(disabled.MintWorkspaceCredential("acme").status().code(),
            absl::StatusCode::kFailedPrecondition);
  TestRealm unsigned_realm(store_, tokens_, *ring_, nullptr, clock_, Options());
  EXPECT_FALSE(unsigned_realm.ServesRegistry("registry.test:5000"));
}

// Issue 15: failures from anywhere else never lock out the client that holds the secret.

}  // namespace
}  // namespace registryauth::services
