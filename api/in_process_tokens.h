// The HTTP gateway's /token in the server's own process (api/in_process.h): the service's
// IssueRegistryToken method itself, behind the same barrier an RPC has (whatever it throws
// becomes INTERNAL), counted in the same gRPC series. Wired by server/server.cc; the in-process
// /token benchmark (gateway/token_handler_bench.cc) uses the same class.
#ifndef REGISTRY_AUTH_API_IN_PROCESS_TOKENS_H_
#define REGISTRY_AUTH_API_IN_PROCESS_TOKENS_H_

#include <string>

#include "api/in_process.h"
#include "api/registry_auth_grpc.h"
#include "observability/grpc_telemetry.h"

namespace registryauth::api {

class InProcessTokens final : public InProcessTokenIssuer {
 public:
  // Both must outlive this object.
  InProcessTokens(RegistryAuthGrpcService& service, const observability::GrpcTelemetry& telemetry)
      : service_(service), telemetry_(telemetry) {}

  grpc::Status IssueRegistryToken(const InProcessCall& call, v1::IssueRegistryTokenRequest& request,
                                  v1::IssueRegistryTokenResponse* response,
                                  std::string* request_id) override;

 private:
  RegistryAuthGrpcService& service_;
  const observability::GrpcTelemetry& telemetry_;
};

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_IN_PROCESS_TOKENS_H_
