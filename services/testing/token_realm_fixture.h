// The world of the token realm's tests: in-memory stores with two workspaces (`acme` with apps
// `web` and `api`, `other` with `web`), a fake clock, a real ES256 signer and hash key ring,
// metrics that count what the issuer reports, and TestRealm (services/testing/test_realm.h),
// the whole realm wired as the server wires it. Tokens are verified with crypto/jwt.h, as a
// registry would.
//
//   TEST_F(TokenRealmTest, Something) {
//     ServiceAccountWithSecret sa = MustCreateAccount("builder", {{"acme/*", {"pull"}}});
//     ASSERT_TRUE(realm_.IssueToken(Client(), Basic("acme+builder", secret, {})).ok());
//   }
//
// Test-only; not thread-safe beyond what the realm itself is.
#ifndef REGISTRY_AUTH_SERVICES_TESTING_TOKEN_REALM_FIXTURE_H_
#define REGISTRY_AUTH_SERVICES_TESTING_TOKEN_REALM_FIXTURE_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/key_jwt_signer.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "services/error_detail.h"
#include "services/guard.h"
#include "services/testing/callers.h"
#include "services/testing/test_realm.h"
#include "services/token_realm.h"
#include "services/token_services.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::services::testing {

using auth::Permission;

inline constexpr char kService[] = "registry.test";
inline constexpr char kIssuer[] = "registry-auth-test";

// The realm's management callers (services/testing/callers.h), from 10.0.0.7.
inline RequestContext Admin() {
  return Caller("admin", {Permission::kRegistriesManage}, "", "ipv4:10.0.0.7:41000");
}
inline RequestContext Deployer() {
  return Caller("deployer", {Permission::kTokensMint}, "", "ipv4:10.0.0.7:41000");
}
inline RequestContext Client(std::string addr = "10.1.1.1") {
  RequestContext ctx;
  ctx.request_id = "req-client";
  ctx.peer = "http:" + addr;
  return ctx;
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
        signer_(*crypto::SigningKey::FromPrivateKeyPem(*crypto::GenerateEs256KeyPem())),
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

  ServiceAccountWithSecret MustCreateAccount(std::string id, std::vector<RepositoryGrant> grants) {
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
    crypto::VerifyingKeySet keys({signer_.key().public_key()});
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
  crypto::KeyJwtSigner signer_;
  RecordingMetrics metrics_;
  TestRealm realm_;
};

inline void ExpectInvalidCredentials(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_EQ(s.message(), "invalid credentials");
  std::optional<ErrorDetail> d = GetErrorDetail(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->reason, kReasonInvalidCredentials);
}

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_TOKEN_REALM_FIXTURE_H_
