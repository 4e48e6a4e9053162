// PrincipalResolver: the principal a user name stands for at /token (services/principal.h),
// still valid at the time asked:
//   `<workspace>+<account>` + `ras_...`  a service account (enabled, not expired);
//   `pull+<token id>`       + `rpt_...`  a pull token (not revoked, not expired);
//   `build+<id>`            + `rbt_...`  a workspace credential (services/workspace_credentials.h).
// With a password (a login) the secret must match its stored keyed hash (compared in constant
// time, crypto/secret_hasher.h), and its prefix must fit the kind of user name before anything
// is looked up. Without one (the subject of a refresh token) only the principal's own state is
// checked; a workspace credential is then never valid (it is stateless). Every refusal is the
// same InvalidCredentials(). A service account's login is recorded as its last use, at most
// once per TokenRealmOptions::touch_interval.
//
//   ASSIGN_OR_RETURN(Principal p, resolver.Resolve(user, KindOfUsername(user), &password, now));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_PRINCIPAL_RESOLVER_H_
#define REGISTRY_AUTH_SERVICES_PRINCIPAL_RESOLVER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/secret_hasher.h"
#include "services/principal.h"
#include "services/principal_cache.h"
#include "services/workspace_credentials.h"
#include "storage/token_store.h"

namespace registryauth::services {

class PrincipalResolver {
 public:
  // All must outlive this object.
  PrincipalResolver(storage::TokenStore& tokens, PrincipalCache& cache,
                    const WorkspaceCredentials& workspace_credentials,
                    const crypto::SecretHasher& hasher, absl::Duration touch_interval);

  // `kind` is KindOfUsername(username) (another kind is refused); `password` null for a
  // refresh token's subject.
  // UNAUTHENTICATED (InvalidCredentials) for every refusal; UNAVAILABLE if the store fails.
  absl::StatusOr<Principal> Resolve(std::string_view username, PrincipalKind kind,
                                    const std::string_view* password, absl::Time now);

 private:
  absl::StatusOr<Principal> ResolveServiceAccount(std::string_view username,
                                                  const std::string_view* password, absl::Time now);

  storage::TokenStore& tokens_;
  PrincipalCache& cache_;
  const WorkspaceCredentials& workspace_credentials_;
  const crypto::SecretHasher& hasher_;
  const absl::Duration touch_interval_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PRINCIPAL_RESOLVER_H_
