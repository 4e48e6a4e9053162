// Service accounts (services/service_account_service.h) through the guarded realm: input rules,
// etags and masks, and who may manage or read them.
// (The same realm runs against PostgreSQL, the real registry and skopeo in tests/.)
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/testing/token_realm_fixture.h"

namespace registryauth::services {
namespace {

using namespace testing;  // NOLINT(build/namespaces): the fixture's helpers

class ServiceAccountServiceTest : public TokenRealmTest {};

TEST_F(ServiceAccountServiceTest, ServiceAccountRulesAndAuthorization) {
  ServiceAccountInput in;
  in.grants = {{"other/*", {"pull"}}};
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.grants = {{"acme/*", {"pull", "admin"}}};
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.grants = {{"acme/*", {"pull"}}};
  in.expire_time = clock_.Now() - absl::Seconds(1);
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.expire_time = absl::InfiniteFuture();
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "Bad_Id", in).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/nope", "x", ServiceAccountInput{})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  // Permissions: deployers mint but do not manage accounts.
  EXPECT_EQ(realm_.CreateServiceAccount(Deployer(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).ok());
  EXPECT_EQ(realm_.CreateServiceAccount(Admin(), "workspaces/acme", "x", in).status().code(),
            absl::StatusCode::kAlreadyExists);
  RequestContext reader = Caller("reader", {Permission::kRegistriesRead});
  absl::StatusOr<ServiceAccount> got =
      realm_.GetServiceAccount(reader, "workspaces/acme/serviceAccounts/x");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, 1);

  // Update: stale etag ABORTED, unknown path INVALID_ARGUMENT, mask semantics.
  ServiceAccountInput rename;
  rename.display_name = "renamed";
  EXPECT_EQ(
      realm_.UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", rename, {}, "\"7\"")
          .status()
          .code(),
      absl::StatusCode::kAborted);
  EXPECT_EQ(realm_
                .UpdateServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", rename,
                                      {"secret"}, "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<ServiceAccount> updated = realm_.UpdateServiceAccount(
      Admin(), "workspaces/acme/serviceAccounts/x", rename, {}, "\"1\"");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name, "renamed");
  EXPECT_EQ(updated->grants.size(), 1u);  // untouched
  EXPECT_EQ(updated->version, 2);

  absl::StatusOr<ListResult<ServiceAccount>> page =
      realm_.ListServiceAccounts(reader, "workspaces/acme", 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 1u);

  EXPECT_EQ(realm_.DeleteServiceAccount(reader, "workspaces/acme/serviceAccounts/x", "").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(realm_.DeleteServiceAccount(Admin(), "workspaces/acme/serviceAccounts/x", "").ok());
  EXPECT_EQ(realm_.GetServiceAccount(reader, "workspaces/acme/serviceAccounts/x").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace registryauth::services
