// Machine-readable error details carried inside an absl::Status, transport-free.
//
// services/ attaches an ErrorDetail (reason, category, retry advice) to a Status as a payload;
// the gRPC adapter turns it into registryauth.v1.ErrorDetail in the standard
// `grpc-status-details-bin` trailer. Reasons are stable UPPER_SNAKE_CASE strings.
//
//   return WithErrorDetail(absl::FailedPreconditionError("...: no secret stored"),
//                          {kReasonIncompleteCredentials, ErrorCategory::kAuthentication});
//   if (std::optional<ErrorDetail> d = GetErrorDetail(status)) ...
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_ERROR_DETAIL_H_
#define REGISTRY_AUTH_SERVICES_ERROR_DETAIL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace registryauth::services {

enum class ErrorCategory {
  kUnspecified = 0,
  kAuthentication = 1,
  kRegistry = 2,
  kPermission = 3,
  kNetwork = 4
};

inline constexpr char kReasonIncompleteCredentials[] = "INCOMPLETE_CREDENTIALS";
inline constexpr char kReasonUnsupportedRegistryType[] = "UNSUPPORTED_REGISTRY_TYPE";
inline constexpr char kReasonSecretUndecryptable[] = "SECRET_UNDECRYPTABLE";
inline constexpr char kReasonDatabaseUnavailable[] = "DATABASE_UNAVAILABLE";
inline constexpr char kReasonAuditUnavailable[] = "AUDIT_UNAVAILABLE";
inline constexpr char kReasonPermissionDenied[] = "PERMISSION_DENIED";
inline constexpr char kReasonNotAMember[] = "NOT_A_WORKSPACE_MEMBER";
inline constexpr char kReasonRoleTooLow[] = "INSUFFICIENT_WORKSPACE_ROLE";

struct ErrorDetail {
  std::string reason;
  ErrorCategory category = ErrorCategory::kUnspecified;
  bool retryable = false;
  absl::Duration retry_after = absl::ZeroDuration();  // meaningful when retryable
};

// `status` with `detail` attached (OK statuses are returned unchanged).
absl::Status WithErrorDetail(absl::Status status, const ErrorDetail& detail);
std::optional<ErrorDetail> GetErrorDetail(const absl::Status& status);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_ERROR_DETAIL_H_
