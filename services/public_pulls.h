// PublicPulls: the pulls every requester of /token may have, anonymous ones included: pull on
// `<workspace>/<app>` of an app marked public_pull. Looked up per repository asked for, cached
// for TokenRealmOptions::cache_ttl (absent apps too, so anonymous clients cannot make the
// database answer for any name they like; a change is seen within cache_ttl); at most
// kMaxLookups uncached lookups per request, the rest count as not public. Names are matched
// whole, as the registry sees them: `localhost/acme/web` is not `acme/web` (realm/grants.h).
//
//   ASSIGN_OR_RETURN(grants, public_pulls.AddTo(requested, std::move(grants)));
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_PUBLIC_PULLS_H_
#define REGISTRY_AUTH_SERVICES_PUBLIC_PULLS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/ttl_cache.h"
#include "realm/grants.h"
#include "realm/scope.h"
#include "services/token_realm_options.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class PublicPulls {
 public:
  // Uncached public_pull lookups one /token request may cause (anonymous clients included).
  // Docker asks for one repository per token, two for a cross-repository mount.
  static constexpr int kMaxLookups = 4;

  // Both must outlive this object.
  PublicPulls(storage::RegistryStore& store, const Clock& clock, const TokenRealmOptions& options);

  // `grants` plus pull on each requested `<workspace>/<app>` whose app is public_pull and that
  // `grants` do not already let the principal pull. UNAVAILABLE if the lookup fails.
  absl::StatusOr<std::vector<realm::Grant>> AddTo(
      const std::vector<realm::ResourceScope>& requested, std::vector<realm::Grant> grants);

 private:
  // Through the cache; a miss costs one of `*lookups_left` (none left: false).
  absl::StatusOr<bool> IsPublicApp(std::string_view workspace_id, std::string_view app_id,
                                   int* lookups_left);

  storage::RegistryStore& store_;
  TtlCache<std::string, bool> cache_;  // `<workspace>/<app>` -> public_pull
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PUBLIC_PULLS_H_
