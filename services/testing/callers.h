// Callers for the guarded services' tests: a RequestContext as the gRPC adapter fills it for a
// caller of the policy (`spiffe://example.org/<name>`, request id `req-<name>`), optionally on
// behalf of an end user.
//
//   RequestContext admin = testing::Caller("admin", {auth::Permission::kRegistriesManage});
//
// Test-only; pure functions.
#ifndef REGISTRY_AUTH_SERVICES_TESTING_CALLERS_H_
#define REGISTRY_AUTH_SERVICES_TESTING_CALLERS_H_

#include <set>
#include <string>
#include <utility>

#include "auth/principal.h"
#include "services/request_context.h"

namespace registryauth::services::testing {

inline RequestContext Caller(std::string name, std::set<auth::Permission> perms,
                             std::string user = "", std::string peer = "ipv4:127.0.0.1:1") {
  RequestContext ctx;
  ctx.caller.name = name;
  ctx.caller.identity = "spiffe://example.org/" + name;
  ctx.caller.permissions = std::move(perms);
  ctx.on_behalf_of = std::move(user);
  ctx.request_id = "req-" + name;
  ctx.peer = std::move(peer);
  return ctx;
}

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_CALLERS_H_
