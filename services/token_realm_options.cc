#include "services/token_realm_options.h"

#include "absl/strings/str_cat.h"
#include "model/tokens.h"

namespace registryauth::services {

absl::Status ValidateTokenRealmOptions(const TokenRealmOptions& o) {
  constexpr std::size_t kMaxServiceName = 256;
  if (o.service.size() > kMaxServiceName) {
    return absl::InvalidArgumentError("token service: longer than 256 characters");
  }
  if (!o.service.empty() && o.issuer.empty()) {
    return absl::InvalidArgumentError("token issuer: required when the realm is enabled");
  }
  if (o.token_ttl < absl::Seconds(60) || o.token_ttl > absl::Hours(24)) {
    return absl::InvalidArgumentError("token ttl: must be between 60s and 24h");
  }
  if (o.pull_token_default_ttl <= absl::ZeroDuration() ||
      o.pull_token_max_ttl < o.pull_token_default_ttl) {
    return absl::InvalidArgumentError(
        "pull token ttl: the default must be positive and not above the maximum");
  }
  if (o.refresh_token_ttl < absl::Minutes(1)) {
    return absl::InvalidArgumentError("refresh token ttl: must be at least 1m");
  }
  for (const auto& [username, uid] : o.catalog_accounts) {
    if (!IsUid(uid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog accounts: ", username, " needs the account's uid"));
    }
  }
  if (o.throttle.free_failures < 0 || o.throttle.window <= absl::ZeroDuration() ||
      o.throttle.base_delay <= absl::ZeroDuration() ||
      o.throttle.max_delay < o.throttle.base_delay) {
    return absl::InvalidArgumentError("login throttle: invalid policy");
  }
  return absl::OkStatus();
}

}  // namespace registryauth::services
