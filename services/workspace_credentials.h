// WorkspaceCredentials: the short-lived push+pull credentials GetCredentials hands a build
// worker for a DISTRIBUTION configuration on the platform registry (WorkspaceCredentialMinter,
// services/credentials.h), and their check when the worker logs in at /token.
//
// Stateless: the password
// `rbt_<workspace>.<workspace create time, unix micros>.<expiry unix seconds>.<hash key id>.<keyed
// hash>` carries the workspace, its creation and the expiry (pull_token_default_ttl from minting)
// under a keyed hash (the SecretHasher's primary key) of the user name's id, the workspace, its
// creation and the expiry, so minting writes nothing. Only the exact minted text verifies (no
// leading zeros, "-0" or other spellings of the same numbers). It cannot be revoked one by one
// (retiring the hash key revokes all) and cannot be the subject of a refresh token. It grants
// push+pull on `<workspace>/*` while that workspace exists: a login checks, after the keyed hash,
// that the workspace still has that create time (one lookup, cached for cache_ttl like the other
// principals), so a deleted workspace's credentials stop working within cache_ttl and never
// work for a new workspace that reuses the id once the cache has expired. Minting reads the
// create time from the store (and refreshes the cache), so a workspace re-created within
// cache_ttl gets credentials of its own, and its predecessor's stop at once on this replica.
//
// Narrowed (CredentialNarrowing, issue 19): a credential may be limited to some repository
// patterns inside the workspace (a build of `acme/web` gets push+pull on `acme/web` only) and
// to a shorter lifetime. The patterns are validated like service-account grants, put in
// canonical form (sorted, without duplicates, comma-joined, at most 16 and 400 bytes) and
// carried in the password as a sixth field,
// `rbt_<workspace>.<create>.<expiry>.<base64url of the list>.<hash key id>.<keyed hash>`,
// covered by the keyed hash (message v3; an un-narrowed one keeps v2, so cutting the list out
// does not verify either). Verify then grants push+pull on those patterns only, which all lie
// inside `<workspace>/`, so a narrowed credential never gets more than an un-narrowed one.
//
//   WorkspaceCredentials minter(registry_store, hasher, clock, options, /*can_sign=*/true);
//   ASSIGN_OR_RETURN(Credentials c, minter.MintWorkspaceCredential("acme", {}));
//   ASSIGN_OR_RETURN(Credentials web, minter.MintWorkspaceCredential("acme", {{"acme/web"}}));
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
#include "common/ttl_cache.h"
#include "crypto/secret_hasher.h"
#include "services/credentials.h"
#include "services/principal.h"
#include "services/token_realm_options.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class WorkspaceCredentials final : public WorkspaceCredentialMinter {
 public:
  // `workspaces`, `hasher` and `clock` must outlive this object. `can_sign`: the realm has a
  // token signer (without one, or without options.service, nothing is minted:
  // FAILED_PRECONDITION).
  WorkspaceCredentials(storage::RegistryStore& workspaces, const crypto::SecretHasher& hasher,
                       const Clock& clock, const TokenRealmOptions& options, bool can_sign);

  // `registry_host` must equal TokenRealmOptions::registry_host (ASCII case-insensitive).
  bool ServesRegistry(std::string_view registry_host) const override;
  absl::StatusOr<Credentials> MintWorkspaceCredential(
      std::string_view workspace_id, const CredentialNarrowing& narrowing) override;

  // The principal a login as `build+<id>` (`id` given) with `password` proves at `now` (grants:
  // push+pull on `<workspace>/*`, or on each pattern of a narrowed credential);
  // InvalidCredentials() for anything else (forged, malformed, expired, expiring later than
  // pull_token_max_ttl from now, or its workspace deleted or re-created since minting); the
  // store's error when the workspace cannot be read.
  absl::StatusOr<Principal> Verify(std::string_view id, std::string_view password,
                                   absl::Time now) const;

 private:
  // The workspace's create time, through the cache unless `fresh` (then from the store, and
  // the cache is refreshed); the store's error (NOT_FOUND, not cached) otherwise.
  absl::StatusOr<absl::Time> WorkspaceCreateTime(std::string_view workspace_id, bool fresh) const;

  storage::RegistryStore& workspaces_;
  mutable TtlCache<std::string, absl::Time> create_times_;  // key: workspace id; thread-safe
  const crypto::SecretHasher& hasher_;
  const Clock& clock_;
  const bool enabled_;
  const std::string registry_host_;
  const absl::Duration ttl_;
  const absl::Duration max_ttl_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_WORKSPACE_CREDENTIALS_H_
