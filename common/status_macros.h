// Status propagation macros. Debian's Abseil (20220623) ships none, so the project keeps this
// one small pair (the pattern of cel-cpp's internal/status_macros.h).
//
//   RETURN_IF_ERROR(store.Ping());
//   ASSIGN_OR_RETURN(auto config, store.GetRegistryConfig(ws, id));
#ifndef REGISTRY_AUTH_COMMON_STATUS_MACROS_H_
#define REGISTRY_AUTH_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define REGAUTH_CONCAT_INNER_(a, b) a##b
#define REGAUTH_CONCAT_(a, b) REGAUTH_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status regauth_status_ = (expr);           \
    if (!regauth_status_.ok()) return regauth_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, else moves the value
// into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  REGAUTH_ASSIGN_OR_RETURN_IMPL_(REGAUTH_CONCAT_(regauth_statusor_, __LINE__), lhs, rexpr)

#define REGAUTH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = *std::move(statusor)

#endif  // REGISTRY_AUTH_COMMON_STATUS_MACROS_H_
