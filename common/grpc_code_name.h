// The canonical name of a gRPC status code ("OK" .. "UNAUTHENTICATED"), the one table the
// HTTP error bodies, the metrics labels, the logs and the CLI share.
//
//   GrpcCodeName(grpc::StatusCode::NOT_FOUND)      // "NOT_FOUND"
//   GrpcCodeName(static_cast<grpc::StatusCode>(99)) // "" (not a canonical code)
//
// Pure; thread-safe.
#ifndef REGISTRY_AUTH_COMMON_GRPC_CODE_NAME_H_
#define REGISTRY_AUTH_COMMON_GRPC_CODE_NAME_H_

#include <string_view>

#include "grpcpp/support/status.h"

namespace registryauth {

// "" for a value outside the 17 canonical codes (callers choose what to show then).
inline std::string_view GrpcCodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(sizeof(kNames) / sizeof(kNames[0])) ? kNames[i]
                                                                            : std::string_view();
}

// The name, or "UNKNOWN" for a value outside the canonical codes (what gRPC treats it as).
inline std::string_view GrpcCodeNameOrUnknown(grpc::StatusCode code) {
  const std::string_view name = GrpcCodeName(code);
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_GRPC_CODE_NAME_H_
