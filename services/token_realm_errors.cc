#include "services/token_realm_errors.h"

#include "absl/strings/str_cat.h"
#include "services/error_detail.h"

namespace registryauth::services {

absl::Status InvalidCredentials() {
  return WithErrorDetail(
      absl::UnauthenticatedError("invalid credentials"),
      {kReasonInvalidCredentials, ErrorCategory::kAuthentication, false, absl::ZeroDuration()});
}

absl::Status RealmDisabled() {
  return WithErrorDetail(
      absl::FailedPreconditionError("the token realm is not configured on this server"),
      {kReasonTokenRealmDisabled, ErrorCategory::kRegistry, false, absl::ZeroDuration()});
}

absl::Status TooManyFailedLogins(absl::Time blocked_until, absl::Time now) {
  const absl::Duration wait = absl::Ceil(blocked_until - now, absl::Seconds(1));
  return WithErrorDetail(
      absl::ResourceExhaustedError(
          absl::StrCat("too many failed logins; retry after ", absl::ToInt64Seconds(wait), "s")),
      {kReasonTooManyFailedLogins, ErrorCategory::kAuthentication, true, wait});
}

}  // namespace registryauth::services
