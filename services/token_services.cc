#include "services/token_services.h"

#include <utility>

namespace registryauth::services {

TokenServices::TokenServices(storage::RegistryStore& registry_store,
                             storage::TokenStore& token_store, const crypto::SecretHasher& hasher,
                             const crypto::JwtSigner* signer, const Clock& clock,
                             TokenRealmOptions options, TokenRealmMetrics* metrics,
                             TokenAuditSink* audit)
    : token_store_(token_store),
      clock_(clock),
      options_(std::move(options)),
      cache_(token_store, clock, options_),
      workspace_credentials_(registry_store, hasher, clock, options_, signer != nullptr),
      issuer_(registry_store, token_store, hasher, signer, clock, options_, cache_,
              workspace_credentials_, metrics, audit),
      service_accounts_(token_store, hasher, clock, cache_),
      pull_tokens_(registry_store, token_store, hasher, clock, options_, cache_),
      refresh_tokens_(token_store, clock) {}

absl::StatusOr<HousekeepingResult> TokenServices::Housekeep(absl::Duration keep_expired) {
  return HousekeepTokens(token_store_, clock_, options_.throttle, keep_expired);
}

}  // namespace registryauth::services
