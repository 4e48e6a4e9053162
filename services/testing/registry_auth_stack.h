// TestRegistryAuth: services::RegistryAuth wired as server/server.cc wires it (a Guard, a
// MemberService, a CredentialService and a RegistryEventLog over one store), for tests that want
// the guarded API in one line.
//
//   testing::TestRegistryAuth api(store, registry_service, clock, &tester);
//   ASSERT_TRUE(api.CreateWorkspace(ctx, "acme", "ACME").ok());
//
// Test-only; thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_TESTING_REGISTRY_AUTH_STACK_H_
#define REGISTRY_AUTH_SERVICES_TESTING_REGISTRY_AUTH_STACK_H_

#include <utility>

#include "common/clock.h"
#include "services/connection_tester.h"
#include "services/credential_service.h"
#include "services/guard.h"
#include "services/member_service.h"
#include "services/registry_auth.h"
#include "services/registry_event_log.h"
#include "services/registry_service.h"
#include "storage/registry_store.h"

namespace registryauth::services::testing {

struct RegistryAuthParts {
  RegistryAuthParts(storage::RegistryStore& store, RegistryService& registry, const Clock& clock,
                    RegistryAuthOptions options)
      : guard(store, clock),
        members(store, clock),
        credentials(store, registry, clock, std::move(options)),
        registry_events(store) {}
  Guard guard;
  MemberService members;
  CredentialService credentials;
  RegistryEventLog registry_events;
};

class TestRegistryAuth : private RegistryAuthParts, public RegistryAuth {
 public:
  TestRegistryAuth(storage::RegistryStore& store, RegistryService& registry, const Clock& clock,
                   RegistryAuthOptions options)
      : RegistryAuthParts(store, registry, clock, std::move(options)),
        RegistryAuth(RegistryAuthParts::guard, registry, RegistryAuthParts::members,
                     RegistryAuthParts::credentials, &(RegistryAuthParts::registry_events)) {}
  TestRegistryAuth(storage::RegistryStore& store, RegistryService& registry, const Clock& clock,
                   ConnectionTester* tester = nullptr)
      : TestRegistryAuth(store, registry, clock, RegistryAuthOptions{tester}) {}
};

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_REGISTRY_AUTH_STACK_H_
