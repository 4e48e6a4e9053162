// ServiceAccountService: create/read/update/delete of service accounts, the principals a CI
// system presents at /token as `<workspace>+<account>` with a `ras_...` secret
// (services/token_issuer.h). The secret is returned once (Create, RegenerateSecret) and stored
// only as its keyed hash; regenerating it or deleting the account revokes the account's
// refresh tokens. Grants are validated against the workspace (realm/grants.h): at most 64, each
// a repository pattern inside the workspace and a set of known actions. Changes forget the
// cached row at once (services/principal_cache.h).
//
// Domain logic only: names arrive parsed and permissions checked; the guarded entry point is
// services::TokenRealm.
//
//   ServiceAccountService accounts(token_store, hasher, clock, cache);
//   ASSIGN_OR_RETURN(ServiceAccountWithSecret a, accounts.Create("acme", "ci", input));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_SERVICE_ACCOUNT_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_SERVICE_ACCOUNT_SERVICE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/secret_hasher.h"
#include "model/tokens.h"
#include "services/names.h"
#include "services/principal_cache.h"
#include "services/types.h"
#include "storage/token_store.h"

namespace registryauth::services {

// Mutable fields of a service account.
struct ServiceAccountInput {
  std::string display_name;
  std::vector<RepositoryGrant> grants;
  bool enabled = true;
  absl::Time expire_time = absl::InfiniteFuture();
};

// A service account with its new secret (Create, RegenerateSecret).
struct ServiceAccountWithSecret {
  ServiceAccount account;
  std::string username;
  SecretString secret;
};

class ServiceAccountService {
 public:
  // All must outlive this object.
  ServiceAccountService(storage::TokenStore& tokens, const crypto::SecretHasher& hasher,
                        const Clock& clock, PrincipalCache& cache);

  // `id` must be a valid id (checked by the caller).
  absl::StatusOr<ServiceAccountWithSecret> Create(std::string_view workspace_id,
                                                  std::string_view id,
                                                  const ServiceAccountInput& input);
  absl::StatusOr<ServiceAccount> Get(const WorkspaceResourceName& name);
  absl::StatusOr<ListResult<ServiceAccount>> List(std::string_view workspace_id, int page_size,
                                                  std::string_view page_token);
  // Mask paths: display_name, grants, enabled (`disabled` in the API), expire_time; `*` for
  // all; empty for the ones set in `input` (non-empty name/grants, enabled=false, a finite
  // expire_time).
  absl::StatusOr<ServiceAccount> Update(const WorkspaceResourceName& name,
                                        const ServiceAccountInput& input, const FieldMask& mask,
                                        std::string_view etag);
  absl::Status Delete(const WorkspaceResourceName& name, std::string_view etag);
  absl::StatusOr<ServiceAccountWithSecret> RegenerateSecret(const WorkspaceResourceName& name,
                                                            std::string_view etag);

 private:
  storage::TokenStore& tokens_;
  const crypto::SecretHasher& hasher_;
  const Clock& clock_;
  PrincipalCache& cache_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_SERVICE_ACCOUNT_SERVICE_H_
