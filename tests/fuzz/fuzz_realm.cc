#include "tests/fuzz/fuzz_realm.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/key_jwt_signer.h"

namespace registryauth::fuzz {
namespace {

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "FuzzRealm setup failed: %s\n", what);
  std::abort();
}

std::unique_ptr<crypto::KeyRing> Ring() {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(3, SecretString(std::string(32, 'k')));
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> ring =
      crypto::KeyRing::Create(std::move(keys), 3);
  Require(ring.ok(), "key ring");
  return *std::move(ring);
}

std::unique_ptr<crypto::JwtSigner> Signer() {
  absl::StatusOr<SecretString> pem = crypto::GenerateEs256KeyPem();
  Require(pem.ok(), "ES256 key");
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(*pem);
  Require(key.ok(), "signing key");
  // No "kid" in the header, as before.
  return std::make_unique<crypto::KeyJwtSigner>(*std::move(key), crypto::JwtHeaderOptions());
}

services::TokenRealmOptions Options() {
  services::TokenRealmOptions o;
  o.service = kFuzzService;
  o.registry_host = "registry.fuzz:5000";
  o.throttle.free_failures = 1 << 30;  // every input is judged on its own
  o.cache_ttl = absl::ZeroDuration();
  return o;
}

services::ServiceAccountWithSecret Account(services::TokenRealm& realm, const char* workspace,
                                           const char* id, std::vector<RepositoryGrant> grants) {
  services::RequestContext admin;
  admin.caller.name = "admin";
  admin.caller.permissions = {auth::Permission::kRegistriesManage};
  services::ServiceAccountInput in;
  in.grants = std::move(grants);
  absl::StatusOr<services::ServiceAccountWithSecret> sa =
      realm.CreateServiceAccount(admin, std::string("workspaces/") + workspace, id, in);
  Require(sa.ok(), "service account");
  return *std::move(sa);
}

std::string FormEncoded(std::string_view s) {
  return absl::StrReplaceAll(absl::string_view(s.data(), s.size()), {{"+", "%2B"}});
}

}  // namespace

FuzzRealm::FuzzRealm()
    : clock_(absl::FromUnixSeconds(1800000000)),
      tokens_(store_),
      ring_(Ring()),
      signer_(Signer()),
      services_(std::make_unique<services::TokenServices>(store_, tokens_, *ring_, signer_.get(),
                                                          clock_, Options())),
      guard_(std::make_unique<services::Guard>(store_, clock_)),
      realm_(std::make_unique<services::TokenRealm>(*guard_, *services_)) {
  Require(store_.CreateWorkspace(Workspace{"acme", "ACME"}).ok(), "workspace acme");
  Require(store_.CreateWorkspace(Workspace{"other", "Other"}).ok(), "workspace other");
  for (auto [ws, app, public_pull] :
       {std::tuple{"acme", "web", false}, std::tuple{"acme", "site", true},
        std::tuple{"other", "pub", true}, std::tuple{"other", "priv", false}}) {
    App a;
    a.workspace_id = ws;
    a.id = app;
    a.display_name = app;
    a.public_pull = public_pull;
    Require(store_.CreateApp(a).ok(), "app");
  }

  absl::StatusOr<services::Credentials> c =
      services_->workspace_credentials().MintWorkspaceCredential("acme", {});
  Require(c.ok(), "workspace credential");
  workspace_user = c->username;
  workspace_secret = std::string(c->secret.view());

  services::ServiceAccountWithSecret acme = Account(
      *realm_, "acme", "builder", {{"acme/web", {"pull"}}, {"acme/team/*", {"pull", "push"}}});
  account_user = acme.username;
  account_secret = std::string(acme.secret.view());
  services::ServiceAccountWithSecret other =
      Account(*realm_, "other", "bot", {{"other/*", {"pull", "push"}}});
  other_user = other.username;
  other_secret = std::string(other.secret.view());

  services::RequestContext minter;
  minter.caller.name = "deployer";
  minter.caller.permissions = {auth::Permission::kTokensMint};
  absl::StatusOr<services::MintedPullToken> pull =
      realm_->MintPullToken(minter, "workspaces/acme/apps/web", absl::ZeroDuration());
  Require(pull.ok(), "pull token");
  pull_user = pull->username;
  pull_secret = std::string(pull->password.view());

  services::TokenRequest login;
  login.grant_type = services::TokenGrantType::kPassword;
  login.service = kFuzzService;
  login.offline = true;
  login.username = account_user;
  login.password = SecretString(account_secret);
  absl::StatusOr<services::IssuedToken> t = realm_->IssueToken(services::RequestContext(), login);
  Require(t.ok() && !t->refresh_token.empty(), "refresh token");
  refresh_token = std::string(t->refresh_token.view());
}

FuzzRealm::~FuzzRealm() = default;

std::string FuzzRealm::Expand(std::string_view input, bool form_encode) const {
  auto value = [&](const std::string& v) { return form_encode ? FormEncoded(v) : v; };
  return absl::StrReplaceAll(absl::string_view(input.data(), input.size()),
                             {{"{U}", value(workspace_user)},
                              {"{P}", value(workspace_secret)},
                              {"{S}", value(account_user)},
                              {"{A}", value(account_secret)},
                              {"{O}", value(other_user)},
                              {"{B}", value(other_secret)},
                              {"{T}", value(pull_user)},
                              {"{K}", value(pull_secret)},
                              {"{R}", value(refresh_token)}});
}

std::optional<std::string> FuzzRealm::WorkspaceOfSubject(std::string_view subject) const {
  if (subject == account_user || subject == pull_user || subject == workspace_user) {
    return "acme";
  }
  if (subject == other_user) return "other";
  return std::nullopt;
}

bool FuzzRealm::IsPublicRepository(std::string_view name) {
  return name == "acme/site" || name == "other/pub";
}

}  // namespace registryauth::fuzz
