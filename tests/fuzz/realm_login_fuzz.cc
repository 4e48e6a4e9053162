// Fuzz target for the token realm's login path (services/token_realm.h): the Basic user name and
// password a /token request presents, parsed and checked by TokenRealm::IssueToken against
// in-memory stores. Above all the stateless workspace credentials (`build+<id>` /
// `rbt_<workspace>.<expiry>.<key id>.<keyed hash>`), whose whole authority is in the password.
//
// Input: `<user name>\n<password>`. The markers `{U}` and `{P}` are replaced by a genuine
// workspace credential minted at start-up, `{S}` and `{A}` by a genuine service account's
// user name and secret, so mutations work around real credentials.
//
// Besides "never crash", it aborts when:
//   - a login succeeds with anything but a genuine (user name, password) pair;
//   - a genuine pair is refused;
//   - a refusal is not UNAUTHENTICATED "invalid credentials" or INVALID_ARGUMENT, or its
//     message contains the password;
//   - a token carries access outside the principal's workspace (`acme/`).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/keyring.h"
#include "services/token_realm.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace {

using namespace ::registryauth;  // NOLINT: a fuzz target's one file

void Check(bool condition) {
  if (!condition) std::abort();
}

class KeySigner final : public crypto::JwtSigner {
 public:
  explicit KeySigner(std::unique_ptr<crypto::SigningKey> key) : key_(std::move(key)) {}
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const override {
    return crypto::SignJwt(*key_, claims, crypto::JwtHeaderOptions());
  }
  crypto::JwsAlgorithm algorithm() const override { return key_->algorithm(); }
  std::string KeyId() const override { return key_->public_key()->JwkThumbprint(); }

 private:
  std::unique_ptr<crypto::SigningKey> key_;
};

struct Realm {
  Realm()
      : clock(absl::FromUnixSeconds(1800000000)),
        tokens(store),
        ring(Ring()),
        signer(*crypto::SigningKey::FromPrivateKeyPem(*crypto::GenerateEs256KeyPem())),
        realm(store, tokens, *ring, &signer, clock, Options()) {
    Check(store.CreateWorkspace(Workspace{"acme", "ACME"}).ok());
    absl::StatusOr<services::Credentials> c = realm.MintWorkspaceCredential("acme");
    Check(c.ok());
    workspace_user = c->username;
    workspace_secret = std::string(c->secret.view());
    services::RequestContext admin;
    admin.caller.name = "admin";
    admin.caller.permissions = {auth::Permission::kRegistriesManage};
    services::ServiceAccountInput in;
    in.grants = {{"acme/web", {"pull"}}};
    absl::StatusOr<services::ServiceAccountWithSecret> sa =
        realm.CreateServiceAccount(admin, "workspaces/acme", "builder", in);
    Check(sa.ok());
    account_user = sa->username;
    account_secret = std::string(sa->secret.view());
  }

  static std::unique_ptr<crypto::KeyRing> Ring() {
    std::vector<std::pair<std::uint32_t, SecretString>> keys;
    keys.emplace_back(3, SecretString(std::string(32, 'k')));
    return *crypto::KeyRing::Create(std::move(keys), 3);
  }
  static services::TokenRealmOptions Options() {
    services::TokenRealmOptions o;
    o.service = "registry.fuzz";
    o.registry_host = "registry.fuzz:5000";
    o.throttle.free_failures = 1 << 30;  // every input is judged on its own
    o.cache_ttl = absl::ZeroDuration();
    return o;
  }

  FakeClock clock;
  storage::InMemoryRegistryStore store;
  storage::InMemoryTokenStore tokens;
  std::unique_ptr<crypto::KeyRing> ring;
  KeySigner signer;
  services::TokenRealm realm;
  std::string workspace_user, workspace_secret, account_user, account_secret;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Realm* const r = new Realm();
  if (size > 4096) return 0;
  const std::string input = absl::StrReplaceAll(
      absl::string_view(reinterpret_cast<const char*>(data), size),
      {{"{U}", r->workspace_user}, {"{P}", r->workspace_secret}, {"{S}", r->account_user},
       {"{A}", r->account_secret}});
  const size_t newline = input.find('\n');
  if (newline == std::string::npos) return 0;
  services::TokenRequest request;
  request.service = "registry.fuzz";
  request.username = input.substr(0, newline);
  const std::string password = input.substr(newline + 1);
  request.password = SecretString(password);
  request.scopes = {"repository:acme/web:pull,push", "repository:other/web:pull,push"};
  services::RequestContext ctx;
  ctx.peer = "ipv4:192.0.2.1:1";
  absl::StatusOr<services::IssuedToken> t = r->realm.IssueToken(ctx, request);

  const bool genuine =
      (request.username == r->workspace_user && password == r->workspace_secret) ||
      (request.username == r->account_user && password == r->account_secret);
  if (t.ok() && request.username.empty()) {  // anonymous: no public apps here, so nothing
    Check(t->granted_scopes.empty());
    return 0;
  }
  if (t.ok()) {
    Check(genuine);
    for (const std::string& scope : t->granted_scopes) {
      Check(absl::StartsWith(scope, "repository:acme/"));
    }
    return 0;
  }
  Check(!genuine);
  const absl::Status& s = t.status();
  Check(s.code() == absl::StatusCode::kInvalidArgument ||
        (s.code() == absl::StatusCode::kUnauthenticated && s.message() == "invalid credentials"));
  Check(password.size() < 8 || !absl::StrContains(s.message(), password));
  return 0;
}
