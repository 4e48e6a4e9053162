#include "services/principal_cache.h"

#include <optional>
#include <utility>

namespace registryauth::services {

PrincipalCache::PrincipalCache(storage::TokenStore& tokens, const Clock& clock,
                               const TokenRealmOptions& options)
    : tokens_(tokens),
      accounts_(clock, options.cache_ttl, options.cache_capacity),
      pull_tokens_(clock, options.cache_ttl, options.cache_capacity) {}

absl::StatusOr<ServiceAccount> PrincipalCache::GetServiceAccount(std::string_view username,
                                                                 std::string_view workspace_id,
                                                                 std::string_view id) {
  const std::string key(username);
  if (std::optional<ServiceAccount> hit = accounts_.Get(key)) return *std::move(hit);
  absl::StatusOr<ServiceAccount> account = tokens_.GetServiceAccount(workspace_id, id);
  if (account.ok()) accounts_.Put(key, *account);
  return account;
}

absl::StatusOr<PullToken> PrincipalCache::GetPullToken(std::string_view id) {
  const std::string key(id);
  if (std::optional<PullToken> hit = pull_tokens_.Get(key)) return *std::move(hit);
  absl::StatusOr<PullToken> token = tokens_.GetPullToken(id);
  if (token.ok()) pull_tokens_.Put(key, *token);
  return token;
}

void PrincipalCache::ReplaceServiceAccount(std::string_view username,
                                           const ServiceAccount& account) {
  accounts_.Replace(std::string(username), account);
}

void PrincipalCache::ForgetServiceAccount(std::string_view username) {
  accounts_.Erase(std::string(username));
}

void PrincipalCache::ForgetPullToken(std::string_view id) { pull_tokens_.Erase(std::string(id)); }

void PrincipalCache::ForgetAllPullTokens() { pull_tokens_.Clear(); }

}  // namespace registryauth::services
