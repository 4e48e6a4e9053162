// The HTTP gateway's in-process path to the token realm's RPC, without a gRPC channel.
//
// The gateway translates `GET/POST /token` into an IssueRegistryTokenRequest, grpc-gateway
// style. Over a channel to a remote registry-authd (`--http_upstream`) that request goes out
// as the IssueRegistryToken RPC. In the server's own process it goes to an
// InProcessTokenIssuer instead, which runs the very same service method on the calling thread,
// as grpc-gateway's RegisterXHandlerServer calls a Go server directly. Same request, same
// response, same code deciding; only the transport is gone. /token is the realm's hot path,
// and the in-process gRPC hop (two thread hand-offs, metadata, interceptors) cost more than
// signing the token (docs/benchmarks.md). Every other route still goes over the in-process
// gRPC channel.
//
// Implemented in server/server.cc (InProcessTokens: the service method plus its gRPC
// telemetry).
#ifndef REGISTRY_AUTH_API_IN_PROCESS_H_
#define REGISTRY_AUTH_API_IN_PROCESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "grpcpp/support/status.h"
#include "proto/registryauth/v1/registry_auth.pb.h"

namespace registryauth::api {

// What would otherwise travel as metadata.
struct InProcessCall {
  std::string_view request_id;      // the HTTP client's x-request-id; may be empty or unusable
  std::string_view client_address;  // the HTTP client's address (gateway/client_address.h)
};

class InProcessTokenIssuer {
 public:
  virtual ~InProcessTokenIssuer() = default;

  // IssueRegistryToken, run to completion on the calling thread (it may wait on the database
  // when a cache misses). Sets `*request_id` to the id the call used: the client's if usable,
  // else a new one, as the RPC sends back in x-request-id. The credentials inside `request`
  // are wiped.
  virtual grpc::Status IssueRegistryToken(const InProcessCall& call,
                                          v1::IssueRegistryTokenRequest& request,
                                          v1::IssueRegistryTokenResponse* response,
                                          std::string* request_id) = 0;
};

// `POST /v1/registryEvents:notify`: the platform registry's notifications, for the HTTP
// gateway of the server's own process (never over the channel: the body is Distribution's
// envelope, not a proto). Implemented in api/registry_event_notifier.h over
// services::RegistryEventReceiver.
class InProcessRegistryEvents {
 public:
  struct Counts {
    int64_t received = 0;
    int64_t stored = 0;
    int64_t duplicates = 0;
    int64_t dropped = 0;  // naming no existing workspace
  };
  virtual ~InProcessRegistryEvents() = default;

  // Checks `authorization` (the raw header), parses and stores `body`, on the calling thread
  // (it waits on the database). OK only once the events are stored; UNAUTHENTICATED,
  // INVALID_ARGUMENT, or the store's error (UNAVAILABLE: the registry retries) otherwise.
  virtual grpc::Status Notify(const InProcessCall& call, std::string_view authorization,
                              std::string_view body, Counts* counts) = 0;
};

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_IN_PROCESS_H_
