// absl::Status <-> grpc::Status. The canonical codes have the same numbers in both, so the
// code is kept and the message is copied unchanged (service messages are built secret-free).
//
//   return ToGrpcStatus(service.DeleteApp(request->name(), request->etag()));
//   absl::Status s = FromGrpcStatus(stub->GetApp(&ctx, req, &app));
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_API_STATUS_CONVERSION_H_
#define REGISTRY_AUTH_API_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "proto/registryauth/v1/registry_auth.pb.h"
#include "services/error_detail.h"

namespace registryauth::api {

// OK -> grpc::Status::OK; otherwise the same numeric code (UNKNOWN for a code outside the
// canonical 1..16) with the same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The wire form of a services::ErrorDetail (retry_after only when retryable, to the ms).
void ToProto(const services::ErrorDetail& detail, v1::ErrorDetail* out);

// The inverse, for clients of the gRPC API (e.g. the HTTP gateway and tests).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_STATUS_CONVERSION_H_
