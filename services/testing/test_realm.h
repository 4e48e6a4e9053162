// TestRealm: the whole token realm wired as server/server.cc wires it (its services, a Guard,
// the guarded TokenRealm in front), over stores, a hasher, a signer and a clock the caller
// owns; and Ring(), a one-key hash key ring. For the realm's tests (token_realm_fixture.h) and
// its benchmark (services/token_issuer_bench.cc); no test framework needed.
//
//   TestRealm realm(store, tokens, *ring, &signer, clock, options);
//   absl::StatusOr<IssuedToken> t = realm.IssueToken(ctx, request);
//
// Test-only; thread-safe as the realm itself is.
#ifndef REGISTRY_AUTH_SERVICES_TESTING_TEST_REALM_H_
#define REGISTRY_AUTH_SERVICES_TESTING_TEST_REALM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "services/guard.h"
#include "services/token_realm.h"
#include "services/token_services.h"

namespace registryauth::services::testing {

// A whole token realm as server/server.cc wires it: its services (services/token_services.h),
// a Guard, and the guarded TokenRealm in front, plus the unguarded parts the server hands to
// others (the workspace-credential minter, housekeeping).
struct TestRealmParts {
  TestRealmParts(storage::RegistryStore& store, storage::TokenStore& tokens,
                 const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
                 const Clock& clock, TokenRealmOptions options, TokenRealmMetrics* metrics,
                 TokenAuditSink* audit = nullptr)
      : services(store, tokens, hasher, signer, clock, std::move(options), metrics, audit),
        guard(store, clock) {}
  TokenServices services;
  Guard guard;
};

class TestRealm : private TestRealmParts, public TokenRealm {
 public:
  TestRealm(storage::RegistryStore& store, storage::TokenStore& tokens,
            const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer, const Clock& clock,
            TokenRealmOptions options, TokenRealmMetrics* metrics = nullptr,
            TokenAuditSink* audit = nullptr)
      : TestRealmParts(store, tokens, hasher, signer, clock, std::move(options), metrics, audit),
        TokenRealm(TestRealmParts::guard, TestRealmParts::services) {}

  bool ServesRegistry(std::string_view host) {
    return TestRealmParts::services.workspace_credentials().ServesRegistry(host);
  }
  absl::StatusOr<Credentials> MintWorkspaceCredential(std::string_view workspace_id,
                                                      const CredentialNarrowing& narrowing = {}) {
    return TestRealmParts::services.workspace_credentials().MintWorkspaceCredential(workspace_id,
                                                                                    narrowing);
  }
  absl::StatusOr<HousekeepingResult> Housekeep() { return TestRealmParts::services.Housekeep(); }
};

inline std::unique_ptr<crypto::KeyRing> Ring() {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(1, SecretString(std::string(32, 'a')));
  return *crypto::KeyRing::Create(std::move(keys), 1);
}

}  // namespace registryauth::services::testing

#endif  // REGISTRY_AUTH_SERVICES_TESTING_TEST_REALM_H_
