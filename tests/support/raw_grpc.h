// Calls to gRPC services whose generated code Debian does not ship (grpc.health.v1,
// grpc.reflection.v1alpha), made with grpc::GenericStub and hand-encoded protobuf.
//
//   ASSIGN_OR_RETURN(int status, HealthCheck(channel, ""));     // 1 = SERVING, 2 = NOT_SERVING
//   ASSIGN_OR_RETURN(auto names, ListServicesByReflection(channel));
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_RAW_GRPC_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_RAW_GRPC_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/byte_buffer.h"

namespace registryauth::testing {

// Raw message bytes in and out of a grpc::ByteBuffer (for generic stubs and services).
grpc::ByteBuffer ToBuffer(const std::string& bytes);
std::string FromBuffer(const grpc::ByteBuffer& buffer);

// grpc.health.v1.Health/Check; returns the ServingStatus enum value.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service);

// grpc.reflection.v1alpha.ServerReflection list_services; returns the service names.
absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel);

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_RAW_GRPC_H_
