// Who asked, for whom, and under which request id: what every guarded operation of
// services::RegistryAuth and services::TokenRealm receives besides its arguments (the Guard
// decides and records with it, services/guard.h).
//
// The gRPC adapter fills it from the transport (client certificate or API key -> `caller`,
// `x-registryauth-user` metadata -> `on_behalf_of`, `x-request-id` -> `request_id`, the peer
// address -> `peer`). Nothing in it is secret.
//
//   RequestContext ctx{principal, /*on_behalf_of=*/"", "req-1", "ipv4:10.0.0.7:41000"};
//   ASSIGN_OR_RETURN(Credentials c, api.GetCredentials(ctx, "workspaces/acme/registries/gh"));
//
// Value type; thread-compatible.
#ifndef REGISTRY_AUTH_SERVICES_REQUEST_CONTEXT_H_
#define REGISTRY_AUTH_SERVICES_REQUEST_CONTEXT_H_

#include <string>

#include "auth/principal.h"

namespace registryauth::services {

struct RequestContext {
  auth::Principal caller;
  // The end user the caller acts for (needs act_as_user), or empty.
  std::string on_behalf_of;
  std::string request_id;
  std::string peer;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REQUEST_CONTEXT_H_
