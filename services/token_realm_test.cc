// The token realm's rules on the in-memory stores with a fake clock: logins of each principal
// kind, scope intersection, throttling, pull and refresh token lifecycles, authorization and
// auditing of the management calls. Tokens are verified with crypto/jwt.h, as a registry would.
// (The same realm runs against PostgreSQL, the real registry and skopeo in tests/.)
#include "services/token_realm.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "services/error_detail.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::services {
namespace {

using auth::Permission;

constexpr char kService[] = "registry.test";
constexpr char kIssuer[] = "registry-auth-test";

class KeySigner final : public crypto::JwtSigner {
 public:
  explicit KeySigner(const crypto::SigningKey& key) : key_(key) {}
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const override {
    crypto::JwtHeaderOptions options;
    options.kid = crypto::KeyIdStyle::kJwkThumbprint;
    return crypto::SignJwt(key_, claims, options);
  }
  crypto::JwsAlgorithm algorithm() const override { return key_.algorithm(); }
  std::string KeyId() const override { return key_.public_key()->JwkThumbprint(); }

 private:
  const crypto::SigningKey& key_;
};

RequestContext Caller(std::string name, std::set<Permission> perms, std::string user = "") {
  RequestContext ctx;
  ctx.caller.name = name;
  ctx.caller.identity = "spiffe://example.org/" + name;
  ctx.caller.permissions = std::move(perms);
  ctx.on_behalf_of = std::move(user);
  ctx.request_id = "req-" + name;
  ctx.peer = "ipv4:10.0.0.7:41000";
  return ctx;
}

RequestContext Admin() { return Caller("admin", {Permission::kRegistriesManage}); }
RequestContext Deployer() { return Caller("deployer", {Permission::kTokensMint}); }
RequestContext Client(std::string addr = "10.1.1.1") {
  RequestContext ctx;
  ctx.request_id = "req-client";
  ctx.peer = "http:" + addr;
  return ctx;
}

std::unique_ptr<crypto::KeyRing> Ring() {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(1, SecretString(std::string(32, 'a')));
  return *crypto::KeyRing::Create(std::move(keys), 1);
}

// Counts what the realm reports, as "kind/outcome".
class RecordingMetrics : public TokenRealmMetrics {
 public:
  void OnTokenRequest(PrincipalKind kind, Outcome outcome) override {
    absl::MutexLock lock(&mu_);
    ++counts_[std::string(Name(kind)) + "/" + Name(outcome)];
  }
  std::map<std::string, int> counts() {
    absl::MutexLock lock(&mu_);
    return counts_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
};

class TokenRealmTest : public ::testing::Test {
 protected:
  TokenRealmTest()
      : clock_(absl::FromUnixSeconds(1800000000)),
        tokens_(store_),
        ring_(Ring()),
        key_(*crypto::SigningKey::FromPrivateKeyPem(*crypto::GenerateEs256KeyPem())),
        signer_(*key_),
        realm_(store_, tokens_, *ring_, &signer_, clock_, Options(), &metrics_) {}

  static TokenRealmOptions Options() {
    TokenRealmOptions o;
    o.service = kService;
    o.issuer = kIssuer;
    o.registry_host = "registry.test:5000";
    o.pull_token_max_ttl = absl::Hours(4);
    return o;
  }

  void SetUp() override {
    ASSERT_TRUE(store_.CreateWorkspace(Workspace{"acme", "ACME"}).ok());
    ASSERT_TRUE(store_.CreateWorkspace(Workspace{"other", "Other"}).ok());
    for (const char* app : {"web", "api"}) {
      App a;
      a.workspace_id = "acme";
      a.id = app;
      ASSERT_TRUE(store_.CreateApp(a).ok());
    }
    App o;
    o.workspace_id = "other";
    o.id = "web";
    ASSERT_TRUE(store_.CreateApp(o).ok());
  }

  ServiceAccountWithSecret MustCreateAccount(std::string id,
                                             std::vector<RepositoryGrant> grants) {
    ServiceAccountInput in;
    in.display_name = "builder";
    in.grants = std::move(grants);
    absl::StatusOr<ServiceAccountWithSecret> a =
        realm_.CreateServiceAccount(Admin(), "workspaces/acme", id, in);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : ServiceAccountWithSecret{};
  }

  TokenRequest Basic(std::string user, std::string password, std::vector<std::string> scopes) {
    TokenRequest r;
    r.service = kService;
    r.username = std::move(user);
    r.password = SecretString(password);
    r.scopes = std::move(scopes);
    return r;
  }

  // The verified claims of a token, as a registry checks them.
  nlohmann::json Verify(const std::string& token) {
    crypto::VerifyingKeySet keys({key_->public_key()});
    crypto::ClaimRequirements req;
    req.issuer = kIssuer;
    req.audience = kService;
    absl::StatusOr<nlohmann::json> claims = crypto::VerifyJwt(
        token, [&](std::string_view kid) { return keys.Find(kid); }, req, clock_);
    EXPECT_TRUE(claims.ok()) << claims.status();
    return claims.ok() ? *claims : nlohmann::json();
  }

  std::vector<AuditEvent> Audit() {
    auto page = store_.ListAuditEvents(AuditFilter{}, 1000, 0);
    return page.ok() ? page->items : std::vector<AuditEvent>{};
  }

  FakeClock clock_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_;
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<crypto::SigningKey> key_;
  KeySigner signer_;
  RecordingMetrics metrics_;
  TokenRealm realm_;
};

void ExpectInvalidCredentials(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_EQ(s.message(), "invalid credentials");
  std::optional<ErrorDetail> d = GetErrorDetail(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->reason, kReasonInvalidCredentials);
}

TEST_F(TokenRealmTest, ServiceAccountGetsTheIntersectionOfAskedAndGranted) {
  ServiceAccountWithSecret sa =
      MustCreateAccount("builder", {{"acme/web", {"push", "pull"}}, {"acme/api-*", {"pull"}}});
  EXPECT_EQ(sa.username, "acme+builder");
  EXPECT_TRUE(absl::StartsWith(std::string(sa.secret.view()), "ras_"));
  EXPECT_EQ(sa.secret.size(), 4u + 43u);
  EXPECT_EQ(sa.account.grants[0].actions, (std::vector<std::string>{"pull", "push"}));

  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(), Basic("acme+builder", std::string(sa.secret.view()),
                      {"repository:acme/web:pull,push,delete",
                       "repository:acme/api-v2:push,pull repository:other/web:pull",
                       "registry:catalog:*"}));
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
            (nlohmann::json{{"type", "repository"},
                            {"name", "acme/web"},
                            {"actions", {"pull", "push"}}}));
  EXPECT_EQ(claims["access"][1]["name"], "acme/api-v2");
  EXPECT_FALSE(claims["jti"].get<std::string>().empty());
}

TEST_F(TokenRealmTest, CatalogOnlyForTheConfiguredAccounts) {
  ServiceAccountWithSecret ops = MustCreateAccount("ops", {{"acme/*", {"pull"}}});
  ServiceAccountWithSecret builder = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  TokenRealmOptions options = Options();
  options.catalog_accounts = {"acme+ops"};
  TokenRealm realm(store_, tokens_, *ring_, &signer_, clock_, options);
  const std::vector<std::string> scopes = {"registry:catalog:*", "repository:acme/web:pull"};

  absl::StatusOr<IssuedToken> t =
      realm.IssueToken(Client(), Basic("acme+ops", std::string(ops.secret.view()), scopes));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes,
            (std::vector<std::string>{"registry:catalog:*", "repository:acme/web:pull"}));
  nlohmann::json claims = Verify(t->token);
  EXPECT_EQ(claims["access"][0], (nlohmann::json{{"type", "registry"},
                                                 {"name", "catalog"},
                                                 {"actions", {"*"}}}));

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

TEST_F(TokenRealmTest, WrongSecretsAndUnknownAccountsAreTheSameRefusal) {
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

TEST_F(TokenRealmTest, DisabledAndExpiredAccountsAreRefused) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder",
                                          off, {"disabled"}, "")
                  .ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());

  ServiceAccountInput on;
  on.enabled = true;
  on.expire_time = clock_.Now() + absl::Hours(1);
  ASSERT_TRUE(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder",
                                          on, {"disabled", "expire_time"}, "")
                  .ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  clock_.Advance(absl::Hours(1));
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
}

TEST_F(TokenRealmTest, AnonymousGetsNoAccessAndBadRequestsAreInvalidArgument) {
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

TEST_F(TokenRealmTest, PublicAppsArePullableByEveryoneAndOnlyPullable) {
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
  EXPECT_EQ(access[0], (nlohmann::json{{"type", "repository"},
                                       {"name", "acme/web"},
                                       {"actions", {"pull"}}}));

  // A pull token of another workspace's app, and a service account without grants on it,
  // may pull the public repository too, on top of what they hold.
  absl::StatusOr<MintedPullToken> other =
      realm_.MintPullToken(Deployer(), "workspaces/other/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(other.ok()) << other.status();
  t = realm_.IssueToken(Client(), Basic(other->username, std::string(other->password.view()),
                                        {"repository:acme/web:pull,push",
                                         "repository:other/web:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/web:pull",
                                                          "repository:other/web:pull"}));
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

TEST_F(TokenRealmTest, PublicPullChangesApplyWithinTheCacheTtl) {
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
  EXPECT_EQ(t->granted_scopes, (std::vector<std::string>{"repository:acme/api:pull",
                                                          "repository:acme/ghost:pull"}));

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

TEST_F(TokenRealmTest, WorkspaceCredentialsPushAndPullTheirNamespaceUntilTheyExpire) {
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
        realm_.IssueToken(Client("10.3.0." + std::to_string(++attempt)), Basic(c->username, bad, {}))
            .status());
    ASSERT_TRUE(tokens_.ClearLoginFailures("account:" + c->username).ok());  // no throttling here
  }
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic(again->username, secret, {})).status());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client("10.9.9.9"), Basic("build+" + id + "x", secret, {}))
          .status());

  // Expired: refused.
  clock_.Advance(Options().pull_token_default_ttl);
  ExpectInvalidCredentials(
      realm_.IssueToken(Client("10.2.2.2"), Basic(again->username, std::string(again->secret.view()), {}))
          .status());
  EXPECT_EQ(realm_.MintWorkspaceCredential("Not An Id").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenRealmTest, WorkspaceCredentialsNeedTheRealm) {
  TokenRealmOptions o = Options();
  o.service = "";
  TokenRealm disabled(store_, tokens_, *ring_, &signer_, clock_, o);
  EXPECT_FALSE(disabled.ServesRegistry("registry.test:5000"));
  EXPECT_EQ(disabled.MintWorkspaceCredential("acme").status().code(),
            absl::StatusCode::kFailedPrecondition);
  TokenRealm unsigned_realm(store_, tokens_, *ring_, nullptr, clock_, Options());
  EXPECT_FALSE(unsigned_realm.ServesRegistry("registry.test:5000"));
}

// Issue 15: failures from anywhere else never lock out the client that holds the secret.
TEST_F(TokenRealmTest, NobodyElsesFailuresLockOutAnAccount) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  // Many failures for the account, from many addresses (and one address's /64).
  for (int i = 0; i < 12; ++i) {
    ExpectInvalidCredentials(realm_.IssueToken(Client("10.0.0." + std::to_string(i)),
                                               Basic("acme+builder", "ras_wrong", {}))
                                 .status());
  }
  for (int i = 0; i < 8; ++i) {
    (void)realm_.IssueToken(Client("2001:db8:1:2::" + std::to_string(i + 1)),
                            Basic("acme+builder", "ras_wrong", {}));
  }
  EXPECT_TRUE(realm_.IssueToken(Client("10.9.9.9"), Basic("acme+builder", secret, {})).ok());
  EXPECT_TRUE(
      realm_.IssueToken(Client("2001:db8:1:3::1"), Basic("acme+builder", secret, {})).ok());
  // Even from the guessing address itself the right secret is accepted: the pair's failures
  // only turn wrong answers into 429s.
  for (int i = 0; i < 6; ++i) {
    (void)realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {}));
  }
  EXPECT_EQ(realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", "ras_wrong", {}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(realm_.IssueToken(Client("10.0.0.1"), Basic("acme+builder", secret, {})).ok());
}

TEST_F(TokenRealmTest, FailedLoginsOfOneAccountFromOneAddressGrowTheirDelay) {
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

TEST_F(TokenRealmTest, MetricsSinkHearsKindAndOutcomeOfEveryRequest) {
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

TEST_F(TokenRealmTest, FailedLoginsThrottleTheClientAddressAcrossAccounts) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  // An address may fail 4x the free failures (20) across accounts; the 21st blocks it, and
  // then even a right secret from there waits (it is that client's own doing).
  for (int i = 0; i < 21; ++i) {
    (void)realm_.IssueToken(Client("192.0.2.1"),
                            Basic("acme+guess" + std::to_string(i), "ras_wrong", {}));
  }
  EXPECT_EQ(realm_.IssueToken(Client("192.0.2.1"),
                              Basic("acme+builder", std::string(sa.secret.view()), {}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(realm_
                  .IssueToken(Client("192.0.2.2"),
                              Basic("acme+builder", std::string(sa.secret.view()), {}))
                  .ok());
  // IPv6 clients count by /64: spreading over the addresses of one /64 does not help.
  for (int i = 0; i < 21; ++i) {
    (void)realm_.IssueToken(Client("2001:db8:7:7::" + std::to_string(i + 1)),
                            Basic("acme+guess", "ras_wrong", {}));
  }
  EXPECT_EQ(realm_.IssueToken(Client("2001:db8:7:7:ffff::1"),
                              Basic("acme+builder", std::string(sa.secret.view()), {}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(realm_
                  .IssueToken(Client("2001:db8:7:8::1"),
                              Basic("acme+builder", std::string(sa.secret.view()), {}))
                  .ok());
}

TEST_F(TokenRealmTest, PullTokenPullsOnlyItsAppUntilRevokedOrExpired) {
  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->registry, "registry.test:5000");
  EXPECT_TRUE(absl::StartsWith(m->username, "pull+"));
  EXPECT_TRUE(absl::StartsWith(std::string(m->password.view()), "rpt_"));
  EXPECT_EQ(m->token.expire_time, clock_.Now() + absl::Hours(1));
  EXPECT_EQ(m->token.created_by, "spiffe://example.org/deployer");
  const std::string password(m->password.view());

  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(), Basic(m->username, password,
                      {"repository:acme/web:pull,push", "repository:acme/api:pull",
                       "repository:other/web:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/web:pull"});

  // Revoked: refused from then on.
  const std::string name = TokenRealm::FormatPullTokenName("acme", m->token.id);
  absl::StatusOr<PullToken> revoked = realm_.RevokePullToken(Deployer(), name);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoke_time, clock_.Now());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
  // Revoking again is fine; another workspace's name for it is NOT_FOUND.
  EXPECT_TRUE(realm_.RevokePullToken(Deployer(), name).ok());
  EXPECT_EQ(realm_.RevokePullToken(Deployer(), TokenRealm::FormatPullTokenName("other", m->token.id))
                .status()
                .code(),
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

TEST_F(TokenRealmTest, MintPullTokenChecksPermissionAppAndTtl) {
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

TEST_F(TokenRealmTest, RefreshTokenLifecycle) {
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
  ASSERT_TRUE(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder",
                                          off, {"disabled"}, "")
                  .ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), again).status());
  off.enabled = true;
  ASSERT_TRUE(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder",
                                          off, {"disabled"}, "")
                  .ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), again).ok());

  ASSERT_TRUE(realm_
                  .RevokeRefreshToken(Admin(), TokenRealm::FormatRefreshTokenName(
                                                   "acme", (*listed)[0].id))
                  .ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), again).status());

  // Regenerating the secret revokes the account's refresh tokens and the old secret.
  absl::StatusOr<IssuedToken> second = realm_.IssueToken(Client(), login);
  ASSERT_TRUE(second.ok());
  absl::StatusOr<ServiceAccountWithSecret> regenerated = realm_.RegenerateServiceAccountSecret(
      Admin(), "workspaces/acme/serviceAccounts/builder", "");
  ASSERT_TRUE(regenerated.ok()) << regenerated.status();
  EXPECT_NE(regenerated->secret.view(), sa.secret.view());
  TokenRequest with_second = again;
  with_second.refresh_token = second->refresh_token;
  ExpectInvalidCredentials(realm_.IssueToken(Client(), with_second).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), login).status());
  EXPECT_TRUE(realm_
                  .IssueToken(Client(), Basic("acme+builder",
                                              std::string(regenerated->secret.view()), {}))
                  .ok());
}

// Issue 15, finding 1: `refresh_token=.` killed the process (substr past the end). Every
// short or odd refresh token is an ordinary refusal.
TEST_F(TokenRealmTest, MalformedRefreshTokensAreRefusedNotThrown) {
  for (const char* text : {".", "a.b", "..", "rrt", "rrt_", "rrt_.", "rrt.", "r.", "rr.x",
                           "rrt_.x", "rrt_AAAAAAAAAAAAAAAAAAAAAA", "x", "rrt_A.A.A", "....."}) {
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

// Issue 15, finding 2: host-prefixed names are other namespaces, for every kind of principal.
TEST_F(TokenRealmTest, HostPrefixedNamesDoNotCrossWorkspaceLines) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull", "push"}}});
  absl::StatusOr<IssuedToken> t = realm_.IssueToken(
      Client(), Basic("acme+builder", std::string(sa.secret.view()),
                      {"repository:localhost/acme/x:push,pull",
                       "repository:evil.com/acme/y:push", "repository:localhost:5000/acme/z:pull",
                       "repository:acme/x:pull"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/x:pull"});
  const nlohmann::json claims = Verify(t->token);
  for (const auto& entry : claims["access"]) {
    EXPECT_TRUE(absl::StartsWith(entry["name"].get<std::string>(), "acme/")) << entry;
  }
  // A workspace credential: push+pull on `acme/*` only.
  absl::StatusOr<Credentials> build = realm_.MintWorkspaceCredential("acme");
  ASSERT_TRUE(build.ok()) << build.status();
  t = realm_.IssueToken(Client(), Basic(build->username, std::string(build->secret.view()),
                                        {"repository:localhost/acme/x:push",
                                         "repository:acme/x:push"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->granted_scopes, std::vector<std::string>{"repository:acme/x:push"});
}

// Issue 15, finding 4: one anonymous request cannot make many uncached database lookups.
TEST_F(TokenRealmTest, PublicPullLookupsPerRequestAreCapped) {
  for (int i = 0; i < 8; ++i) {
    App a;
    a.workspace_id = "acme";
    a.id = "pub" + std::to_string(i);
    a.public_pull = true;
    ASSERT_TRUE(store_.CreateApp(a).ok());
  }
  TokenRequest anon;
  anon.service = kService;
  for (int i = 0; i < 8; ++i) anon.scopes.push_back("repository:acme/pub" + std::to_string(i) + ":pull");
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
TEST_F(TokenRealmTest, GrpcIpv6PeersAreThrottledByTheirSlash64NotPerConnection) {
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

TEST_F(TokenRealmTest, ServiceAccountRulesAndAuthorization) {
  ServiceAccountInput in;
  in.grants = {{"other/*", {"pull"}}};
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.grants = {{"acme/*", {"pull", "admin"}}};
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.grants = {{"acme/*", {"pull"}}};
  in.expire_time = clock_.Now() - absl::Seconds(1);
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.expire_time = absl::InfiniteFuture();
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "Bad_Id", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/nope", "x", ServiceAccountInput{})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  // Permissions: deployers mint but do not manage accounts.
  EXPECT_EQ(realm_.CreateServiceAccount(Deployer(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).ok());
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kAlreadyExists);
  RequestContext reader = Caller("reader", {Permission::kRegistriesRead});
  absl::StatusOr<ServiceAccount> got =
      realm_.GetServiceAccount(reader, "workspaces/acme/serviceAccounts/x");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, 1);

  // Update: stale etag ABORTED, unknown path INVALID_ARGUMENT, mask semantics.
  ServiceAccountInput rename;
  rename.display_name = "renamed";
  EXPECT_EQ(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", rename, {},
                                        "\"7\"")
                .status()
                .code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", rename,
                                        {"secret"}, "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<ServiceAccount> updated =
      realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", rename, {}, "\"1\"");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name, "renamed");
  EXPECT_EQ(updated->grants.size(), 1u);  // untouched
  EXPECT_EQ(updated->version, 2);

  absl::StatusOr<ListResult<ServiceAccount>> page =
      realm_.ListServiceAccounts(reader, "workspaces/acme", 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 1u);

  EXPECT_EQ(realm_.DeleteServiceAccount(reader, "workspaces/acme/serviceAccounts/x", "").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(realm_.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", "").ok());
  EXPECT_EQ(realm_.GetServiceAccount(reader, "workspaces/acme/serviceAccounts/x").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TokenRealmTest, ChangesAreAuditedWithoutSecrets) {
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

TEST_F(TokenRealmTest, DisabledRealmRefusesTokensButManagesAccounts) {
  TokenRealmOptions o;  // no service
  TokenRealm off(store_, tokens_, *ring_, nullptr, clock_, o);
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

TEST_F(TokenRealmTest, AnotherReplicasChangesApplyWithinTheCacheTtl) {
  // A second replica on the same stores: its revoke/disable is seen here within cache_ttl;
  // this replica's own changes apply at once.
  TokenRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
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
  ASSERT_TRUE(other.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
                                         {"disabled"}, "")
                  .ok());
  ASSERT_TRUE(
      other.RevokePullToken(Deployer(), TokenRealm::FormatPullTokenName("acme", m->token.id))
          .ok());
  // Still cached here...
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  EXPECT_TRUE(realm_.IssueToken(Client(), Basic(m->username, password, {})).ok());
  // ... and refused there at once, and here after the TTL.
  ExpectInvalidCredentials(other.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  clock_.Advance(Options().cache_ttl);
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
}

TEST_F(TokenRealmTest, RecordingALoginDoesNotExtendTheLifeOfACachedAccount) {
  TokenRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());  // touched
  // Read again (and cached) just before the next touch is due.
  clock_.Advance(Options().touch_interval - absl::Seconds(2));
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  ServiceAccountInput off;
  off.enabled = false;
  ASSERT_TRUE(other.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", off,
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

TEST_F(TokenRealmTest, ThisReplicasChangesApplyAtOnceDespiteTheCache) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  const std::string secret(sa.secret.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
  absl::StatusOr<ServiceAccountWithSecret> regenerated = realm_.RegenerateServiceAccountSecret(
      Admin(), "workspaces/acme/serviceAccounts/builder", "");
  ASSERT_TRUE(regenerated.ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).status());
  EXPECT_TRUE(realm_
                  .IssueToken(Client(), Basic("acme+builder",
                                              std::string(regenerated->secret.view()), {}))
                  .ok());
  ASSERT_TRUE(realm_.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/builder", "")
                  .ok());
  ExpectInvalidCredentials(
      realm_.IssueToken(Client(), Basic("acme+builder", std::string(regenerated->secret.view()),
                                        {}))
          .status());

  absl::StatusOr<MintedPullToken> m =
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::ZeroDuration());
  ASSERT_TRUE(m.ok());
  const std::string password(m->password.view());
  ASSERT_TRUE(realm_.IssueToken(Client(), Basic(m->username, password, {})).ok());
  ASSERT_TRUE(realm_.RevokePullTokens(Deployer(), "workspaces/acme/apps/web").ok());
  ExpectInvalidCredentials(realm_.IssueToken(Client(), Basic(m->username, password, {})).status());
}

TEST_F(TokenRealmTest, AnotherReplicasBlockAppliesWithinTheCacheTtl) {
  TokenRealm other(store_, tokens_, *ring_, &signer_, clock_, Options());
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

TEST_F(TokenRealmTest, HousekeepingDeletesLongExpiredTokensAndStaleThrottleStates) {
  ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
  TokenRequest login = Basic("acme+builder", std::string(sa.secret.view()), {});
  login.offline = true;
  ASSERT_TRUE(realm_.IssueToken(Client(), login).ok());
  ASSERT_TRUE(
      realm_.MintPullToken(Deployer(), "workspaces/acme/apps/web", absl::Hours(1)).ok());
  (void)realm_.IssueToken(Client("10.7.7.7"), Basic("acme+nobody", "ras_wrong", {}));

  // Nothing is old enough yet.
  absl::StatusOr<TokenRealm::HousekeepingResult> r = realm_.Housekeep();
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

TEST(TokenRealmOptionsTest, Validation) {
  TokenRealmOptions o;
  o.service = "registry";
  EXPECT_TRUE(TokenRealm::ValidateOptions(o).ok());
  TokenRealmOptions short_ttl = o;
  short_ttl.token_ttl = absl::Seconds(59);
  EXPECT_FALSE(TokenRealm::ValidateOptions(short_ttl).ok());
  TokenRealmOptions inverted = o;
  inverted.pull_token_max_ttl = absl::Minutes(30);
  EXPECT_FALSE(TokenRealm::ValidateOptions(inverted).ok());
  TokenRealmOptions no_issuer = o;
  no_issuer.issuer = "";
  EXPECT_FALSE(TokenRealm::ValidateOptions(no_issuer).ok());
}

}  // namespace
}  // namespace registryauth::services
