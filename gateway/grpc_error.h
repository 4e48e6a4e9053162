// Reads the machine-readable ErrorDetail (registry_auth.proto) that the service attaches to an
// error in the `grpc-status-details-bin` trailer, so the HTTP side can turn it into headers
// (Retry-After) and stable reasons. Pure functions; thread-safe.
//
//   std::optional<v1::ErrorDetail> d = ErrorDetailOf(status);
//   if (auto s = RetryAfterSeconds(status)) reply.headers.push_back({"Retry-After", ...});
#ifndef REGISTRY_AUTH_GATEWAY_GRPC_ERROR_H_
#define REGISTRY_AUTH_GATEWAY_GRPC_ERROR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "grpcpp/support/status.h"
#include "proto/registryauth/v1/registry_auth.pb.h"

namespace registryauth::gateway {

// The first registryauth.v1.ErrorDetail in the status details (a serialized RpcStatus, i.e.
// google.rpc.Status), or nullopt when there is none or the bytes do not parse.
std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::Status& status);

// Whole seconds to put in Retry-After: the detail's `retry_after` rounded up, at least 1 and
// at most one day; nullopt when the status carries no retry_after.
std::optional<int64_t> RetryAfterSeconds(const grpc::Status& status);

// Serializes `detail` as the RpcStatus details blob of a status with `code` and `message`
// (for servers and tests that build such a status).
std::string EncodeErrorDetails(grpc::StatusCode code, const std::string& message,
                               const v1::ErrorDetail& detail);

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_GRPC_ERROR_H_
