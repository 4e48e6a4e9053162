// FuzzRealm: a real services::TokenRealm on in-memory stores, with genuine principals of every
// kind for the fuzz targets that log in (realm_login_fuzz, token_endpoint_fuzz) to aim at.
//
//   workspace `acme`:  apps `web`, `site` (public_pull)
//     - service account `acme+builder` (`ras_...`): pull on `acme/web`, pull+push on `acme/team/*`
//     - a pull token of `acme/web` (`pull+<id>` / `rpt_...`)
//     - a workspace credential (`build+<id>` / `rbt_<ws>.<exp>.<kid>.<b64>`): pull+push `acme/*`
//     - a refresh token (`rrt_<id>.<secret>`) of `acme+builder` for service `registry.fuzz`
//   workspace `other`: apps `pub` (public_pull), `priv`
//     - service account `other+bot`: pull+push on `other/*`
//
// The clock stands still (2027-01-15), throttling never blocks (every input is judged on its
// own) and nothing is cached, so an input's outcome does not depend on the inputs before it
// (beyond refresh tokens that `offline` requests add). Markers in an input stand for the genuine
// secrets so that mutations work around them (Expand).
//
// Setup failures abort (a broken harness must not look like a clean run). Not thread-safe.
//
//   static FuzzRealm* const r = new FuzzRealm();
//   r->realm().IssueToken(ctx, request);
#ifndef REGISTRY_AUTH_TESTS_FUZZ_FUZZ_REALM_H_
#define REGISTRY_AUTH_TESTS_FUZZ_FUZZ_REALM_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "crypto/jwt_signer.h"
#include "crypto/keyring.h"
#include "services/guard.h"
#include "services/token_realm.h"
#include "services/token_services.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::fuzz {

inline constexpr char kFuzzService[] = "registry.fuzz";

class FuzzRealm {
 public:
  FuzzRealm();
  ~FuzzRealm();
  FuzzRealm(const FuzzRealm&) = delete;
  FuzzRealm& operator=(const FuzzRealm&) = delete;

  services::TokenRealm& realm() { return *realm_; }
  storage::InMemoryRegistryStore& store() { return store_; }
  const crypto::KeyRing& ring() const { return *ring_; }
  const Clock& clock() const { return clock_; }

  // Genuine credentials (user name, secret).
  std::string workspace_user, workspace_secret;  // build+<id>, rbt_...   (acme)
  std::string account_user, account_secret;      // acme+builder, ras_...
  std::string other_user, other_secret;          // other+bot, ras_...
  std::string pull_user, pull_secret;            // pull+<id>, rpt_...   (acme/web)
  std::string refresh_token;                     // rrt_...              (acme+builder)

  // Replaces the markers `{U}` `{P}` (workspace credential), `{S}` `{A}` (acme+builder),
  // `{O}` `{B}` (other+bot), `{T}` `{K}` (pull token) and `{R}` (refresh token) by the genuine
  // values; with `form_encode`, '+' in them becomes %2B (for a query string or form body).
  std::string Expand(std::string_view input, bool form_encode) const;

  // The workspace of a genuine principal's token subject (`acme+builder`, `pull+<id>`, ...);
  // nullopt for anything else (a token for it means a forged login succeeded).
  std::optional<std::string> WorkspaceOfSubject(std::string_view subject) const;

  // True for `<workspace>/<app>` of a public_pull app (`acme/site`, `other/pub`).
  static bool IsPublicRepository(std::string_view name);

 private:
  FakeClock clock_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_;
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<crypto::JwtSigner> signer_;
  std::unique_ptr<services::TokenServices> services_;
  std::unique_ptr<services::Guard> guard_;
  std::unique_ptr<services::TokenRealm> realm_;
};

}  // namespace registryauth::fuzz

#endif  // REGISTRY_AUTH_TESTS_FUZZ_FUZZ_REALM_H_
