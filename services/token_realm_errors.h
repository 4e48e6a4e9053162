// The errors of the token realm that clients act on, each with its ErrorDetail reason
// (services/error_detail.h). Every credential problem at /token is the same
// InvalidCredentials(), whatever went wrong, so the answer does not tell which accounts exist.
//
//   if (!genuine) return InvalidCredentials();
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_REALM_ERRORS_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_REALM_ERRORS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace registryauth::services {

inline constexpr char kReasonUnknownService[] = "UNKNOWN_SERVICE";
inline constexpr char kReasonInvalidCredentials[] = "INVALID_CREDENTIALS";
inline constexpr char kReasonTooManyFailedLogins[] = "TOO_MANY_FAILED_LOGINS";
inline constexpr char kReasonTokenRealmDisabled[] = "TOKEN_REALM_DISABLED";

// UNAUTHENTICATED "invalid credentials" (INVALID_CREDENTIALS).
absl::Status InvalidCredentials();
// FAILED_PRECONDITION (TOKEN_REALM_DISABLED): the realm is not configured on this server.
absl::Status RealmDisabled();
// RESOURCE_EXHAUSTED (TOO_MANY_FAILED_LOGINS) with retry_after = the rest of the block.
absl::Status TooManyFailedLogins(absl::Time blocked_until, absl::Time now);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_REALM_ERRORS_H_
