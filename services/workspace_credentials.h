// WorkspaceCredentials: the short-lived push+pull credentials GetCredentials hands a build
// worker for a DISTRIBUTION configuration on the platform registry (WorkspaceCredentialMinter,
// services/credentials.h), and their check when the worker logs in at /token.
//
// Stateless: the password `rbt_<workspace>.<expiry unix seconds>.<hash key id>.<keyed hash>`
// carries the workspace and the expiry (pull_token_default_ttl from minting) under a keyed
// hash (the SecretHasher's primary key) of the user name's id, the workspace and the expiry, so
// minting writes nothing. It cannot be revoked one by one (retiring the hash key revokes all)
// and cannot be the subject of a refresh token. It grants push+pull on `<workspace>/*`.
//
//   WorkspaceCredentials minter(hasher, clock, options, /*can_sign=*/true);
//   ASSIGN_OR_RETURN(Credentials c, minter.MintWorkspaceCredential("acme"));
//
// Thread-safe if the hasher and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_WORKSPACE_CREDENTIALS_H_
#define REGISTRY_AUTH_SERVICES_WORKSPACE_CREDENTIALS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/secret_hasher.h"
#include "services/credentials.h"
#include "services/principal.h"
#include "services/token_realm_options.h"

namespace registryauth::services {

class WorkspaceCredentials final : public WorkspaceCredentialMinter {
 public:
  // `hasher` and `clock` must outlive this object. `can_sign`: the realm has a token signer
  // (without one, or without options.service, nothing is minted: FAILED_PRECONDITION).
  WorkspaceCredentials(const crypto::SecretHasher& hasher, const Clock& clock,
                       const TokenRealmOptions& options, bool can_sign);

  // `registry_host` must equal TokenRealmOptions::registry_host (ASCII case-insensitive).
  bool ServesRegistry(std::string_view registry_host) const override;
  absl::StatusOr<Credentials> MintWorkspaceCredential(std::string_view workspace_id) override;

  // The principal a login as `build+<id>` (`id` given) with `password` proves at `now`, or
  // nullopt for anything else (forged, malformed, expired, or expiring later than
  // pull_token_max_ttl from now).
  std::optional<Principal> Verify(std::string_view id, std::string_view password,
                                  absl::Time now) const;

 private:
  const crypto::SecretHasher& hasher_;
  const Clock& clock_;
  const bool enabled_;
  const std::string registry_host_;
  const absl::Duration ttl_;
  const absl::Duration max_ttl_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_WORKSPACE_CREDENTIALS_H_
