// Telemetry of a gRPC server as a server interceptor: for every call, its count and latency in
// the metrics Registry, and one access-log line (common/log.h) when it ends.
//
// Metrics (see README "Metrics and logs"):
//   grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}
//   grpc_server_handling_seconds{grpc_service, grpc_method, grpc_code}   (histogram)
//   registry_auth_get_credentials_total{caller, grpc_code}
// Methods the server does not serve are counted as grpc_service="unknown",
// grpc_method="unknown", so a client cannot grow the label set.
//
// The access-log line ("grpc call") has request_id (the x-request-id the server sent back,
// else the client's), rpc, caller (from `identify`, never a presented credential), peer,
// status and duration_ms. Calls that end OK or with a client-side code log at info, server
// faults (INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE, DEADLINE_EXCEEDED) at warning.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(NewGrpcTelemetryFactory(registry, [&](const grpc::ServerContextBase& c) {...}));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// The factory registers its metric families in `registry` (once per registry) and keeps a
// reference: the registry must outlive the server. Thread-safe.
#ifndef REGISTRY_AUTH_OBSERVABILITY_GRPC_TELEMETRY_H_
#define REGISTRY_AUTH_OBSERVABILITY_GRPC_TELEMETRY_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "observability/metrics.h"

namespace registryauth::observability {

struct GrpcCaller {
  std::string identity;  // for the access log; "" = unknown
  std::string name;      // bounded (a policy caller name), for metric labels; "" = unknown
};
using GrpcCallerResolver = std::function<GrpcCaller(const grpc::ServerContextBase&)>;

// The families of one registry and the calls recorded in them. `identify` may be empty (no
// caller in logs and metrics).
class GrpcTelemetry {
 public:
  GrpcTelemetry(Registry& registry, GrpcCallerResolver identify);
  ~GrpcTelemetry();
  GrpcTelemetry(const GrpcTelemetry&) = delete;
  GrpcTelemetry& operator=(const GrpcTelemetry&) = delete;

  // The server interceptor; it shares this object's state and may outlive it.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory()
      const;

  // A unary call of this process's service that ran without gRPC (api/in_process.h), counted
  // in the same series as the interceptor counts an RPC. It writes no access-log line: the
  // HTTP gateway's line of the request that made the call ("http request", with the same
  // request id, client address, status and duration) is the one line per request (issue 20).
  // `full_method` is "/pkg.Service/Method".
  void RecordInProcessCall(const char* full_method, grpc::StatusCode code,
                           std::chrono::steady_clock::duration elapsed) const;

  class Shared;  // Implementation detail.

 private:
  std::shared_ptr<Shared> shared_;
};

// The interceptor of a GrpcTelemetry of its own.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcTelemetryFactory(
    Registry& registry, GrpcCallerResolver identify);

// "/pkg.Service/Method" -> {"pkg.Service", "Method"} if this process serves that method (it is
// in the generated descriptor pool, or grpc.health.v1.Health/Check|Watch), else
// {"unknown", "unknown"}.
std::pair<std::string, std::string> GrpcMethodLabels(std::string_view full_method);

}  // namespace registryauth::observability

#endif  // REGISTRY_AUTH_OBSERVABILITY_GRPC_TELEMETRY_H_
