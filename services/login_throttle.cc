#include "services/login_throttle.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/ip_address.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/token_realm_errors.h"

namespace registryauth::services {

std::string AddressKey(std::string_view peer) {
  std::string_view addr = peer;
  if (StartsWith(addr, "http:")) {
    addr = addr.substr(5);
  } else if (StartsWith(addr, "ipv4:")) {
    addr = addr.substr(5);
    if (size_t colon = addr.rfind(':'); colon != std::string_view::npos) {
      addr = addr.substr(0, colon);
    }
  } else if (StartsWith(addr, "ipv6:")) {
    addr = addr.substr(5);
    if (size_t close = addr.rfind(']'); StartsWith(addr, "[") && close != std::string_view::npos) {
      addr = addr.substr(1, close - 1);
    } else if (StartsWith(addr, "%5B") || StartsWith(addr, "%5b")) {
      // gRPC >= 1.47 writes its peer as a URI with the brackets percent-encoded
      // (`ipv6:%5B2001:db8::1%5D:5678`). Without this the key would keep the source port: one
      // key per TCP connection, and reconnecting would escape the block.
      size_t close = addr.rfind("%5D");
      if (const size_t lower = addr.rfind("%5d");
          lower != std::string_view::npos && (close == std::string_view::npos || lower > close)) {
        close = lower;
      }
      if (close != std::string_view::npos && close >= 3) addr = addr.substr(3, close - 3);
    }
  }
  if (addr.empty()) return "";
  addr = addr.substr(0, 128);
  if (addr.find(':') != std::string_view::npos) {
    if (std::optional<IpAddress> ip = ParseIpAddress(addr)) {
      if (ip->v4) return Cat("addr:", ip->ToString());  // was IPv4-mapped
      std::fill(ip->bytes.begin() + 8, ip->bytes.end(), 0);
      return Cat("addr:", ip->ToString(), "/64");
    }
  }
  return Cat("addr:", addr);
}

std::string AccountAddressKey(std::string_view username, std::string_view address_key) {
  std::string_view addr = address_key;
  if (StartsWith(addr, "addr:")) addr = addr.substr(5);
  return Cat("account:", username, "@", addr);
}

LoginThrottle::LoginThrottle(storage::TokenStore& tokens, const Clock& clock,
                             const TokenRealmOptions& options)
    : tokens_(tokens),
      policy_(options.throttle),
      clean_cache_(clock, options.cache_ttl, options.cache_capacity) {}

absl::Status LoginThrottle::Check(const std::string& key, absl::Time now, int32_t* failures) {
  if (failures != nullptr) *failures = 0;
  if (key.empty() || clean_cache_.Get(key).has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(ThrottleState state, tokens_.GetThrottleState(key));
  if (failures != nullptr) *failures = state.failures;
  if (state.failures == 0 && state.blocked_until <= now) clean_cache_.Put(key, true);
  if (state.blocked_until <= now) return absl::OkStatus();
  return TooManyFailedLogins(state.blocked_until, now);
}

storage::ThrottlePolicy LoginThrottle::AddressPolicy() const {
  storage::ThrottlePolicy policy = policy_;
  policy.free_failures =
      policy.free_failures > std::numeric_limits<int32_t>::max() / kAddressFailureFactor
          ? std::numeric_limits<int32_t>::max()
          : policy.free_failures * kAddressFailureFactor;
  return policy;
}

absl::Status LoginThrottle::RecordFailure(const std::string& account_key,
                                          const std::string& address_key, absl::Time now) {
  absl::Time blocked_until = absl::InfinitePast();
  for (const std::string* key : {&account_key, &address_key}) {
    if (key->empty()) continue;
    clean_cache_.Erase(*key);
    absl::StatusOr<ThrottleState> s =
        tokens_.RecordLoginFailure(*key, now, key == &address_key ? AddressPolicy() : policy_);
    if (!s.ok()) {
      LOG_WARNING(absl::StrCat("cannot record a failed login: ", s.status().message()));
      continue;
    }
    blocked_until = std::max(blocked_until, s->blocked_until);
  }
  if (blocked_until > now) return TooManyFailedLogins(blocked_until, now);
  return InvalidCredentials();
}

void LoginThrottle::RecordSuccess(const std::string& account_key, int32_t address_failures) {
  // Not the address's failures: one good account must not reset an address that is guessing
  // others. Every failure of the pair also counted for the address, so an address without
  // failures has a clean pair. (A pair failure made on another replica after this one cached
  // the address clean may be left over; it only turns that pair's next wrong answers into
  // 429s sooner.)
  if (address_failures <= 0 || clean_cache_.Get(account_key).has_value()) return;
  if (absl::Status s = tokens_.ClearLoginFailures(account_key); !s.ok()) {
    LOG_WARNING(absl::StrCat("cannot clear failed logins: ", s.message()));
  } else {
    clean_cache_.Put(account_key, true);
  }
}

}  // namespace registryauth::services
