// PrincipalCache: the service-account and pull-token rows /token logins read, reused for
// TokenRealmOptions::cache_ttl (5 s) so a steady stream of logins costs no database round trip.
// Changes made through this replica (the service-account and pull-token services) forget the
// row at once; another replica's changes (a disable, a revoke) are seen within cache_ttl.
// Registry tokens already issued live token_ttl (minutes) anyway, which bounds any revocation
// delay far more. NOT_FOUND results are not cached.
//
//   ASSIGN_OR_RETURN(ServiceAccount a, cache.GetServiceAccount("acme+builder", "acme", "builder"));
//   cache.ForgetServiceAccount("acme+builder");  // after an update
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_PRINCIPAL_CACHE_H_
#define REGISTRY_AUTH_SERVICES_PRINCIPAL_CACHE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/ttl_cache.h"
#include "model/tokens.h"
#include "services/token_realm_options.h"
#include "storage/token_store.h"

namespace registryauth::services {

class PrincipalCache {
 public:
  // Both must outlive this object.
  PrincipalCache(storage::TokenStore& tokens, const Clock& clock, const TokenRealmOptions& options);

  // Read through the cache. `username` is `<workspace>+<id>`.
  absl::StatusOr<ServiceAccount> GetServiceAccount(std::string_view username,
                                                   std::string_view workspace_id,
                                                   std::string_view id);
  absl::StatusOr<PullToken> GetPullToken(std::string_view id);

  // Replaces a cached row without restarting its age (a row another replica may have changed
  // since it was read must not live longer for it).
  void ReplaceServiceAccount(std::string_view username, const ServiceAccount& account);
  void ForgetServiceAccount(std::string_view username);
  void ForgetPullToken(std::string_view id);
  void ForgetAllPullTokens();

 private:
  storage::TokenStore& tokens_;
  TtlCache<std::string, ServiceAccount> accounts_;  // key: `<workspace>+<id>`
  TtlCache<std::string, PullToken> pull_tokens_;    // key: token id
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PRINCIPAL_CACHE_H_
