// The token realm's IssueToken in process, per kind of principal, over in-memory stores: what
// one `/token` request costs in the domain layer (parse scopes, resolve and check the
// principal, authorize, build and sign the claims), without HTTP or a database. The
// comparison point in the same run is BM_SignOnly, the ES256 signature every token carries.
// Results: docs/benchmarks.md.
//
//   bazel run -c opt //services:token_issuer_bench
//
// Each principal's row is read once and then served from the realm's cache (cache_ttl 5 s on
// a clock that does not move), as on a busy replica. Tokens that grant push are handed to the
// token issuance audit (services/token_audit.h) as server/server.cc wires it, its flusher
// thread writing them to the in-memory store; pull tokens are not.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "crypto/jws.h"
#include "crypto/key_jwt_signer.h"
#include "services/testing/callers.h"
#include "services/testing/test_realm.h"
#include "services/token_audit.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::services {
namespace {

template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) std::abort();
  return *std::move(v);
}

RequestContext Admin() {
  return testing::Caller("admin",
                         {auth::Permission::kRegistriesManage, auth::Permission::kTokensMint}, "",
                         "ipv4:10.0.0.7:41000");
}

// The realm as server/server.cc wires it (testing::TestRealm), with one workspace and app.
class Realm {
 public:
  Realm()
      : clock_(absl::FromUnixSeconds(1800000000)),
        tokens_(store_),
        ring_(testing::Ring()),
        signer_(Must(crypto::SigningKey::FromPrivateKeyPem(Must(crypto::GenerateEs256KeyPem())))),
        audit_(store_, clock_, TokenAuditOptions{}),
        realm_(store_, tokens_, *ring_, &signer_, clock_, Options(), nullptr, &audit_) {
    audit_.Start();
    if (!store_.CreateWorkspace(Workspace{"acme", "ACME"}).ok()) std::abort();
    App app;
    app.workspace_id = "acme";
    app.id = "web";
    if (!store_.CreateApp(app).ok()) std::abort();
  }

  testing::TestRealm& realm() { return realm_; }

 private:
  static TokenRealmOptions Options() {
    TokenRealmOptions o;
    o.service = "registry.bench";
    o.issuer = "registry-auth";
    o.registry_host = "registry.bench:5000";
    return o;
  }

  FakeClock clock_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_;
  std::unique_ptr<crypto::KeyRing> ring_;
  crypto::KeyJwtSigner signer_;
  TokenAuditQueue audit_;  // before the realm, which hands it entries
  testing::TestRealm realm_;
};

RequestContext Client() {
  RequestContext ctx;
  ctx.request_id = "req-bench";
  ctx.peer = "http:10.1.1.1";
  return ctx;
}

TokenRequest Request(std::string username, const SecretString& password, std::string scope) {
  TokenRequest r;
  r.service = "registry.bench";
  r.username = std::move(username);
  r.password = SecretString(std::string(password.view()));
  r.scopes = {std::move(scope)};
  return r;
}

void Issue(benchmark::State& state, TokenRealm& realm, const TokenRequest& request) {
  const RequestContext ctx = Client();
  for (auto _ : state) {
    absl::StatusOr<IssuedToken> t = realm.IssueToken(ctx, request);
    if (!t.ok() || t->granted_scopes.empty()) {
      state.SkipWithError("token refused");
      break;
    }
    benchmark::DoNotOptimize(t);
  }
}

void BM_IssueToken_ServiceAccount(benchmark::State& state) {
  Realm r;
  ServiceAccountInput in;
  in.grants = {{"acme/*", {"pull", "push"}}};
  ServiceAccountWithSecret sa =
      Must(r.realm().CreateServiceAccount(Admin(), "workspaces/acme", "builder", in));
  Issue(state, r.realm(), Request(sa.username, sa.secret, "repository:acme/web:pull,push"));
}
BENCHMARK(BM_IssueToken_ServiceAccount);

void BM_IssueToken_PullToken(benchmark::State& state) {
  Realm r;
  MintedPullToken pull =
      Must(r.realm().MintPullToken(Admin(), "workspaces/acme/apps/web", absl::Hours(1)));
  Issue(state, r.realm(), Request(pull.username, pull.password, "repository:acme/web:pull"));
}
BENCHMARK(BM_IssueToken_PullToken);

// `build+<id>` / `rbt_...` from GetCredentials: since issue 17 a login also checks (one cached
// lookup) that the workspace it was minted for still exists with the same create time.
void BM_IssueToken_WorkspaceCredential(benchmark::State& state) {
  Realm r;
  Credentials c = Must(r.realm().MintWorkspaceCredential("acme"));
  Issue(state, r.realm(), Request(c.username, c.secret, "repository:acme/web:pull,push"));
}
BENCHMARK(BM_IssueToken_WorkspaceCredential);

// The ES256 signature alone, on a signing input of the realm's size: the floor of a token.
void BM_SignOnly(benchmark::State& state) {
  std::unique_ptr<crypto::SigningKey> key =
      Must(crypto::SigningKey::FromPrivateKeyPem(Must(crypto::GenerateEs256KeyPem())));
  const std::string input(420, 'e');
  for (auto _ : state) {
    absl::StatusOr<std::string> sig = key->Sign(input);
    if (!sig.ok()) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_SignOnly);

}  // namespace
}  // namespace registryauth::services
