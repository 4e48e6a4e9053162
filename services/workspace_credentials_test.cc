// Workspace credentials (services/workspace_credentials.h): minted for the platform registry,
// push+pull on their namespace until they expire, refused when forged or when the realm is off.
// (The same realm runs against PostgreSQL, the real registry and skopeo in tests/.)
#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crypto/base64url.h"
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

// Issue 19: a build gets only what it needs. A narrowed credential carries its repository
// patterns (canonical: sorted, deduplicated) under the keyed hash; /token grants push+pull on
// them only.
CredentialNarrowing Narrowing(std::vector<std::string> repositories,
                              absl::Duration ttl = absl::ZeroDuration()) {
  CredentialNarrowing n;
  n.repositories = std::move(repositories);
  n.ttl = ttl;
  return n;
}

std::vector<std::string> Fields(const Credentials& c) {
  return absl::StrSplit(std::string(c.secret.view()).substr(4), '.');
}

TEST_F(WorkspaceCredentialsTest, ANarrowedCredentialPushesItsRepositoriesOnly) {
  absl::StatusOr<Credentials> c =
      realm_.MintWorkspaceCredential("acme", Narrowing({"acme/web", "acme/api-*", "acme/web"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->narrowing, "narrowed: repositories=acme/api-*,acme/web");
  EXPECT_EQ(*c->expire_time, clock_.Now() + Options().pull_token_default_ttl);
  const std::vector<std::string> parts = Fields(*c);
  ASSERT_EQ(parts.size(), 6u) << "rbt_<workspace>.<created>.<expiry>.<list>.<key id>.<hash>";
  EXPECT_EQ(parts[3], "YWNtZS9hcGktKixhY21lL3dlYg") << "base64url of acme/api-*,acme/web";

  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(), Basic(c->username, std::string(c->secret.view()),
                      {"repository:acme/web:pull,push,delete", "repository:acme/api:push",
                       "repository:acme/api-v2:pull,push", "repository:acme/web/sub:push",
                       "repository:acme/other:pull", "repository:beta/web:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull,push",
                                                         "repository:acme/api-v2:pull,push"}));
  EXPECT_TRUE(t->refresh_token.empty());

  // A shorter lifetime is kept (and an un-narrowed list keeps the five-field form); the default
  // is the longest one.
  absl::StatusOr<Credentials> brief =
      realm_.MintWorkspaceCredential("acme", Narrowing({}, absl::Minutes(10)));
  ASSERT_TRUE(brief.ok()) << brief.status();
  EXPECT_EQ(*brief->expire_time, clock_.Now() + absl::Minutes(10));
  EXPECT_EQ(brief->narrowing, "narrowed: ttl=10m");
  EXPECT_EQ(Fields(*brief).size(), 5u);
  absl::StatusOr<Credentials> both = realm_.MintWorkspaceCredential(
      "acme", Narrowing({"acme/web"}, Options().pull_token_default_ttl));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->narrowing, "narrowed: repositories=acme/web ttl=1h");
  const TokenRequest brief_login =
      Basic(brief->username, std::string(brief->secret.view()), {"repository:acme/api:push"});
  ASSERT_TRUE(realm_.IssueToken(Client(), brief_login).ok());
  clock_.Advance(absl::Minutes(10));
  ExpectInvalidCredentials(realm_.IssueToken(Client("10.5.0.1"), brief_login).status());
  // An un-narrowed one minted with it lives on.
  EXPECT_TRUE(realm_
                  .IssueToken(Client("10.5.0.2"),
                              Basic(both->username, std::string(both->secret.view()), {}))
                  .ok());
}

TEST_F(WorkspaceCredentialsTest, OneNarrowingHasOneCanonicalForm) {
  absl::StatusOr<Credentials> a =
      realm_.MintWorkspaceCredential("acme", Narrowing({"acme/b", "acme/a", "acme/b", "acme/a"}));
  absl::StatusOr<Credentials> b =
      realm_.MintWorkspaceCredential("acme", Narrowing({"acme/a", "acme/b"}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Fields(*a)[3], Fields(*b)[3]);
  EXPECT_EQ(a->narrowing, b->narrowing);
}

TEST_F(WorkspaceCredentialsTest, ANarrowingOutsideTheWorkspaceOrTooLongIsRefused) {
  const std::string long_pattern = "acme/" + std::string(251, 'a');  // 256 bytes
  std::vector<std::string> seventeen;
  for (int i = 0; i < 17; ++i) seventeen.push_back(absl::StrCat("acme/r", i));
  std::vector<std::string> wide;  // 4 x 105 bytes, over 400 together
  for (char c : {'a', 'b', 'c', 'd'}) wide.push_back("acme/" + std::string(100, c));
  struct Case {
    CredentialNarrowing narrowing;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Narrowing({"beta/web"}), "narrowing.repositories[0]: repository pattern must start"},
      {Narrowing({"acme/web", "acme"}), "narrowing.repositories[1]"},
      {Narrowing({"acme/"}), "narrowing.repositories[0]"},
      {Narrowing({""}), "narrowing.repositories[0]"},
      {Narrowing({"*"}), "narrowing.repositories[0]"},
      {Narrowing({"acme*/web"}), "narrowing.repositories[0]"},
      {Narrowing({"acme/Web"}), "narrowing.repositories[0]"},
      {Narrowing({"acme/web,acme/*"}), "narrowing.repositories[0]"},
      {Narrowing({"acme/../beta/web"}), "narrowing.repositories[0]"},
      {Narrowing({long_pattern}), "narrowing.repositories[0]: repository pattern longer"},
      {Narrowing(seventeen), "narrowing.repositories: more than 16 patterns"},
      {Narrowing(wide), "narrowing.repositories: longer than 400 bytes together"},
      {Narrowing({}, Options().pull_token_default_ttl + absl::Seconds(1)), "narrowing.ttl"},
      {Narrowing({}, -absl::Seconds(5)), "narrowing.ttl"},
      {Narrowing({}, absl::Milliseconds(500)), "narrowing.ttl"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Credentials> minted = realm_.MintWorkspaceCredential("acme", c.narrowing);
    EXPECT_EQ(minted.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_TRUE(absl::StartsWith(minted.status().message(), c.message)) << minted.status();
  }
  // The limits themselves are fine: 16 patterns, a ttl of exactly 1 s.
  seventeen.pop_back();
  EXPECT_TRUE(realm_.MintWorkspaceCredential("acme", Narrowing(seventeen, absl::Seconds(1))).ok());
}

// Every field of a narrowed password is under the keyed hash: editing, re-spelling or cutting
// out any of them (the list above all) is the usual refusal.
TEST_F(WorkspaceCredentialsTest, ATamperedNarrowedCredentialIsRefused) {
  Workspace beta{"beta", "Beta"};
  beta.create_time = clock_.Now();
  ASSERT_TRUE(store_.CreateWorkspace(beta).ok());
  absl::StatusOr<Credentials> c =
      realm_.MintWorkspaceCredential("acme", Narrowing({"acme/web", "acme/api"}));
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<std::string> parts = Fields(*c);
  ASSERT_EQ(parts.size(), 6u);
  ASSERT_TRUE(
      realm_.IssueToken(Client(), Basic(c->username, std::string(c->secret.view()), {})).ok());
  auto with_part = [&](size_t i, const std::string& value) {
    std::vector<std::string> p = parts;
    p[i] = value;
    return "rbt_" + absl::StrJoin(p, ".");
  };
  auto without_part = [&](size_t i) {
    std::vector<std::string> p = parts;
    p.erase(p.begin() + static_cast<std::ptrdiff_t>(i));
    return "rbt_" + absl::StrJoin(p, ".");
  };
  auto list = [](std::string_view l) { return crypto::Base64UrlEncode(l); };
  auto bump = [](std::string v) {
    v.back() = v.back() == '9' ? '8' : '9';
    return v;
  };
  std::string flipped_list = parts[3];
  flipped_list[2] = flipped_list[2] == 'A' ? 'B' : 'A';
  const std::vector<std::string> bad = {
      with_part(0, "beta"),
      with_part(1, bump(parts[1])),
      with_part(2, bump(parts[2])),
      with_part(2, "0" + parts[2]),
      with_part(3, list("acme/*")),                      // widened
      with_part(3, list("acme/api,acme/web,acme/x")),    // one more
      with_part(3, list("acme/web")),                    // one fewer (still inside)
      with_part(3, list("acme/web,acme/api")),           // not canonical: unsorted
      with_part(3, list("acme/api,acme/api,acme/web")),  // not canonical: duplicate
      with_part(3, list("acme/api,acme/web") + "A"),     // not canonical base64url
      with_part(3, list("beta/api,beta/web")),           // another workspace's
      with_part(3, flipped_list),
      with_part(3, ""),
      without_part(3),  // the un-narrowed spelling
      with_part(4, bump(parts[4])),
      with_part(4, "0" + parts[4]),
      with_part(5, std::string(43, 'A')),
      without_part(5),
      std::string(c->secret.view()) + ".",
      std::string(c->secret.view()).substr(0, c->secret.view().size() - 1),
  };
  int attempt = 0;
  for (const std::string& password : bad) {
    SCOPED_TRACE(password);
    ExpectInvalidCredentials(realm_
                                 .IssueToken(Client("10.6.0." + std::to_string(++attempt)),
                                             Basic(c->username, password, {}))
                                 .status());
    ASSERT_TRUE(tokens_.ClearLoginFailures("account:" + c->username).ok());  // no throttling here
  }
  // An un-narrowed credential with a list pasted in does not verify either.
  absl::StatusOr<Credentials> whole = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(whole.ok());
  std::vector<std::string> w = Fields(*whole);
  w.insert(w.begin() + 3, list("acme/web"));
  ExpectInvalidCredentials(
      realm_
          .IssueToken(Client("10.6.1.1"),
                      Basic(whole->username, "rbt_" + absl::StrJoin(w, "."), {}))
          .status());
}

// However it is narrowed, a credential never gets more than the un-narrowed one of its
// workspace, whatever is asked for.
TEST_F(WorkspaceCredentialsTest, ANarrowedCredentialNeverGetsMoreThanTheWholeNamespace) {
  const std::vector<std::string> asked = {"repository:acme/web:pull,push,delete",
                                          "repository:acme/web/x:*",
                                          "repository:acme/api-1:push",
                                          "repository:acme:pull",
                                          "repository:acme-2/web:pull,push",
                                          "repository:beta/web:pull,push",
                                          "repository:localhost/acme/web:push",
                                          "repository:acme/web:*",
                                          "registry:catalog:*"};
  absl::StatusOr<Credentials> whole = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(whole.ok());
  absl::StatusOr<IssuedToken> all =
      realm_.IssueToken(Client(), Basic(whole->username, std::string(whole->secret.view()), asked));
  ASSERT_TRUE(all.ok()) << all.status();
  const std::set<std::string> allowed(all->granted_scopes.begin(), all->granted_scopes.end());
  for (const std::vector<std::string>& patterns :
       std::vector<std::vector<std::string>>{{"acme/*"},
                                             {"acme/web"},
                                             {"acme/web*"},
                                             {"acme/*/x", "acme/api-*"},
                                             {"acme/w*b", "acme/web/*"}}) {
    absl::StatusOr<Credentials> c = realm_.MintWorkspaceCredential("acme", Narrowing(patterns));
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<IssuedToken> t =
        realm_.IssueToken(Client(), Basic(c->username, std::string(c->secret.view()), asked));
    ASSERT_TRUE(t.ok()) << t.status();
    for (const std::string& scope : t->granted_scopes) {
      // Per repository, the granted actions are a subset: compare repository by repository.
      const std::string repo = scope.substr(0, scope.rfind(':'));
      bool covered = false;
      for (const std::string& a : allowed) {
        if (a.substr(0, a.rfind(':')) != repo) continue;
        std::vector<std::string> mine = absl::StrSplit(scope.substr(scope.rfind(':') + 1), ',');
        std::vector<std::string> theirs = absl::StrSplit(a.substr(a.rfind(':') + 1), ',');
        covered = covered || std::all_of(mine.begin(), mine.end(), [&](const std::string& x) {
                    return std::find(theirs.begin(), theirs.end(), x) != theirs.end();
                  });
      }
      EXPECT_TRUE(covered) << absl::StrJoin(patterns, ",") << " granted " << scope;
    }
  }
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
