#include "services/principal_resolver.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "services/principal.h"
#include "services/principal_cache.h"
#include "services/token_realm_options.h"
#include "services/workspace_credentials.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::services {
namespace {

std::unique_ptr<crypto::KeyRing> Ring() {
  std::vector<std::pair<uint32_t, SecretString>> keys;
  keys.emplace_back(1, SecretString(std::string(32, 'a')));
  return *crypto::KeyRing::Create(std::move(keys), 1);
}

class PrincipalResolverTest : public ::testing::Test {
 protected:
  PrincipalResolverTest()
      : clock_(absl::FromUnixSeconds(1800000000)),
        tokens_(store_),
        ring_(Ring()),
        cache_(tokens_, clock_, options_),
        workspace_credentials_(store_, *ring_, clock_, options_, /*can_sign=*/false),
        resolver_(tokens_, cache_, workspace_credentials_, *ring_, absl::Minutes(1)) {}

  FakeClock clock_;
  storage::InMemoryRegistryStore store_;
  storage::InMemoryTokenStore tokens_;
  std::unique_ptr<crypto::KeyRing> ring_;
  TokenRealmOptions options_;
  PrincipalCache cache_;
  WorkspaceCredentials workspace_credentials_;
  PrincipalResolver resolver_;
};

// The kind is the caller's word; a user name of another form (too short to cut, no `+`) is a
// refusal like any other, never an out-of-range cut (issue 15's finding 1, one layer down).
TEST_F(PrincipalResolverTest, ANameThatDoesNotFitTheKindIsRefusedNotCut) {
  const std::string_view password = "rpt_x";
  const struct {
    std::string_view username;
    PrincipalKind kind;
  } cases[] = {
      {"pull", PrincipalKind::kPullToken},          {"pul", PrincipalKind::kPullToken},
      {"acme+web", PrincipalKind::kPullToken},      {"build", PrincipalKind::kWorkspaceCredential},
      {"acme", PrincipalKind::kServiceAccount},     {"", PrincipalKind::kServiceAccount},
      {"pull+abc", PrincipalKind::kServiceAccount}, {"acme+web", PrincipalKind::kAnonymous},
      {"acme+web", PrincipalKind::kUnknown},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Principal> p = resolver_.Resolve(c.username, c.kind, &password, clock_.Now());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << c.username;
    p = resolver_.Resolve(c.username, c.kind, nullptr, clock_.Now());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << c.username;
  }
}

TEST_F(PrincipalResolverTest, UnknownPrincipalsOfTheRightFormAreRefused) {
  const std::string_view sa_password = "ras_nope";
  EXPECT_EQ(
      resolver_.Resolve("acme+web", PrincipalKind::kServiceAccount, &sa_password, clock_.Now())
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  const std::string_view pull_password = "rpt_nope";
  EXPECT_EQ(resolver_
                .Resolve("pull+AAAAAAAAAAAAAAAAAAAAAA", PrincipalKind::kPullToken, &pull_password,
                         clock_.Now())
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace registryauth::services
