// LoginThrottle: the failed-login rules of /token (README "Failed logins at /token"), kept in
// the shared store (storage::TokenStore, so they hold across replicas).
//
// Failed logins are counted per client address (`addr:<ip>`, IPv6 by /64; it blocks after
// kAddressFailureFactor times the policy's free failures) and per account as tried from that
// address (`account:<user>@<ip>`). While the client's address is blocked, its requests are
// RESOURCE_EXHAUSTED (reason TOO_MANY_FAILED_LOGINS, retry_after = the rest of the block)
// before any credential is looked at. Otherwise the secret is checked first: the right one is
// accepted whatever failures other clients caused, and a wrong one is RESOURCE_EXHAUSTED
// instead of UNAUTHENTICATED once its pair or address is blocked. A success clears the pair's
// failures. So nobody can lock a client out but from the client's own address.
// "No failures" states are cached for TokenRealmOptions::cache_ttl.
//
//   RETURN_IF_ERROR(throttle.Check(address_key, now, &failures));
//   const std::string pair = AccountAddressKey(user, address_key);
//   if (wrong) return throttle.RecordFailure(pair, address_key, now);
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_LOGIN_THROTTLE_H_
#define REGISTRY_AUTH_SERVICES_LOGIN_THROTTLE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/ttl_cache.h"
#include "services/token_realm_options.h"
#include "storage/token_store.h"

namespace registryauth::services {

// The throttle key of a client address: `addr:<ip>` for the IP of `ipv4:1.2.3.4:5678`,
// `ipv6:[::1]:5678` (`ipv6:%5B::1%5D:5678`, as gRPC 1.51 writes it) or the gateway's
// `http:1.2.3.4`. IPv6 clients are grouped by their /64 (`addr:2001:db8:1:2::/64`): one host
// usually holds a whole /64, so counting single addresses would let it spread its failures
// over 2^64 keys. An IPv4-mapped IPv6 address counts as its IPv4 address. Anything that is not
// an IP literal is kept as it is (bounded). "" for an empty peer.
std::string AddressKey(std::string_view peer);

// The throttle key of one account as tried from one client address (`account:<user>@<ip>`):
// a login's failures count against the pair, so failures from elsewhere never touch a client
// that holds the right secret.
std::string AccountAddressKey(std::string_view username, std::string_view address_key);

class LoginThrottle {
 public:
  // An address may try several accounts (a build host with a few service accounts, a NAT in
  // front of a team): its own block comes after this many times the failures that block one
  // account from it.
  static constexpr int32_t kAddressFailureFactor = 4;

  // Both must outlive this object.
  LoginThrottle(storage::TokenStore& tokens, const Clock& clock, const TokenRealmOptions& options);

  // RESOURCE_EXHAUSTED (TOO_MANY_FAILED_LOGINS) while `key` is blocked; "" is never blocked.
  // `failures` (may be null): the key's failures as read (0 when cached clean).
  absl::Status Check(const std::string& key, absl::Time now, int32_t* failures);
  // Counts one failed login against both keys (either may be ""); returns the answer for it:
  // RESOURCE_EXHAUSTED when a key is now blocked, else InvalidCredentials().
  absl::Status RecordFailure(const std::string& account_key, const std::string& address_key,
                             absl::Time now);
  // After a successful login: forgets the pair's failures when its address had any (an
  // address without failures has a clean pair, so no write then).
  void RecordSuccess(const std::string& account_key, int32_t address_failures);

 private:
  // The policy with kAddressFailureFactor times the free failures: an address's own.
  storage::ThrottlePolicy AddressPolicy() const;

  storage::TokenStore& tokens_;
  const storage::ThrottlePolicy policy_;
  TtlCache<std::string, bool> clean_cache_;  // throttle key -> no failures, not blocked
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_LOGIN_THROTTLE_H_
