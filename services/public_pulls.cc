#include "services/public_pulls.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/strings.h"
#include "services/names.h"

namespace registryauth::services {

PublicPulls::PublicPulls(storage::RegistryStore& store, const Clock& clock,
                         const TokenRealmOptions& options)
    : store_(store), cache_(clock, options.cache_ttl, options.cache_capacity) {}

absl::StatusOr<bool> PublicPulls::IsPublicApp(std::string_view workspace_id,
                                              std::string_view app_id, int* lookups_left) {
  const std::string key = Cat(workspace_id, "/", app_id);
  if (std::optional<bool> cached = cache_.Get(key)) return *cached;
  // Past the request's share of database lookups the answer is "not public": the token then
  // carries less, which is not an error (the registry refuses the rest).
  if (*lookups_left <= 0) return false;
  --*lookups_left;
  absl::StatusOr<App> app = store_.GetApp(workspace_id, app_id);
  if (!app.ok() && !absl::IsNotFound(app.status())) return app.status();
  // Absent apps are cached too: anonymous clients may ask for any name, as often as they like.
  const bool public_pull = app.ok() && app->public_pull;
  cache_.Put(key, public_pull);
  return public_pull;
}

absl::StatusOr<std::vector<realm::Grant>> PublicPulls::AddTo(
    const std::vector<realm::ResourceScope>& requested, std::vector<realm::Grant> grants) {
  int lookups_left = kMaxLookups;
  for (const realm::ResourceScope& scope : requested) {
    if (scope.type != "repository" || !scope.resource_class.empty()) continue;
    if (scope.actions.count("pull") == 0 && scope.actions.count("*") == 0) continue;
    // The full name as the registry sees it (no host is ever stripped): exactly
    // `<workspace>/<app>`, or nothing.
    const std::string& path = scope.name;
    const size_t slash = path.find('/');
    if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) continue;
    const std::string_view workspace_id = std::string_view(path).substr(0, slash);
    const std::string_view app_id = std::string_view(path).substr(slash + 1);
    if (!IsValidId(workspace_id) || !IsValidId(app_id)) continue;
    // The principal's own grants already cover it: no lookup (and no dependency on the
    // database for a service account that may pull anyway).
    const realm::ResourceScope pull{"repository", "", path, {"pull"}};
    if (!realm::Authorize({pull}, grants, false).empty()) continue;
    absl::StatusOr<bool> is_public = IsPublicApp(workspace_id, app_id, &lookups_left);
    if (!is_public.ok()) {
      LOG_WARNING(
          absl::StrCat("cannot tell whether ", path, " is public: ", is_public.status().message()));
      return absl::UnavailableError("cannot check repository visibility; try again");
    }
    if (*is_public) grants.push_back(realm::Grant{path, {"pull"}});
  }
  return grants;
}

}  // namespace registryauth::services
