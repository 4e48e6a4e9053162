// Authentication of one gRPC call: turns the transport's facts (client certificate, API key
// metadata, peer address, x-request-id, x-registryauth-user) into a services::RequestContext.
//
// Order: a verified client certificate identity (api/peer_identity.h) is looked up in the
// caller policy; otherwise an API key (`x-api-key` or `authorization: Bearer`); otherwise, only
// when the server was started with the explicit local-development switch, the caller is
// `dev:unauthenticated` with every permission. Anything else is UNAUTHENTICATED with a short
// message that never echoes the presented key.
//
// Request ids: a usable `x-request-id` (1..128 printable ASCII) is kept, else a random 128-bit
// hex id is generated; either way it is sent back as initial metadata `x-request-id`.
// Peers: the transport's peer string; for calls that arrive over the in-process channel from
// the HTTP gateway, the client address the gateway passes in `x-forwarded-for`.
//
//   CallAuthenticator authn(policy_holder, /*allow_unauthenticated=*/false);
//   absl::StatusOr<services::RequestContext> ctx = authn.Authenticate(server_context);
//
// Thread-safe.
#ifndef REGISTRY_AUTH_API_CALL_AUTH_H_
#define REGISTRY_AUTH_API_CALL_AUTH_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "auth/policy.h"
#include "grpcpp/server_context.h"
#include "services/request_context.h"

namespace registryauth::api {

class CallAuthenticator {
 public:
  // `policy` must outlive this object.
  CallAuthenticator(const auth::PolicyHolder& policy, bool allow_unauthenticated);

  // Always sets the request id on `context` (also when authentication fails) and returns it
  // through `request_id` / `peer` so failures can be logged and audited.
  absl::StatusOr<services::RequestContext> Authenticate(grpc::ServerContext* context,
                                                        std::string* request_id,
                                                        std::string* peer) const;

  // For the token realm's IssueRegistryToken, whose principal is authenticated by the
  // credentials inside the request, not by the transport: only the request id (set on
  // `context` as above) and the peer (the HTTP client's address when the gateway forwards it
  // in-process). The caller is left empty; never fails.
  services::RequestContext Anonymous(grpc::ServerContext* context, std::string* request_id,
                                     std::string* peer) const;

  // The same for a call from the HTTP gateway in this process that bypasses gRPC (see
  // RegistryAuthGrpcService::IssueRegistryTokenInProcess): the request id the HTTP client
  // sent (kept if usable, else a new one) and the client's address, which makes the peer
  // "http:<address>" ("in-process" when empty).
  services::RequestContext AnonymousInProcess(std::string_view sent_request_id,
                                              std::string_view client_address,
                                              std::string* request_id, std::string* peer) const;

  // The principal of the local-development mode.
  static auth::Principal DevPrincipal();

  // Who is calling, for access logs and metrics only (it authorizes nothing): the policy
  // identity and caller name of a verified client certificate or a valid API key, or the
  // development principal; empty when none of these applies (the call is refused anyway).
  // Never a presented key or an unknown certificate's identity.
  struct CallerForTelemetry {
    std::string identity;  // e.g. "spiffe://example.org/build-worker", "apikey:frontend"
    std::string name;      // the policy's caller name, e.g. "frontend"
  };
  CallerForTelemetry IdentifyForTelemetry(const grpc::ServerContextBase& context) const;

 private:
  static services::RequestContext AnonymousContext(std::string_view sent_request_id,
                                                   std::string transport_peer,
                                                   std::string_view client_address);

  const auth::PolicyHolder& policy_;
  const bool allow_unauthenticated_;
};

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_CALL_AUTH_H_
