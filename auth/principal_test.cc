#include "auth/principal.h"

#include <string_view>

#include "gtest/gtest.h"

namespace registryauth::auth {
namespace {

constexpr Permission kAll[] = {Permission::kCredentialsRead, Permission::kTokensMint,
                               Permission::kRegistriesRead, Permission::kRegistriesManage,
                               Permission::kActAsUser};

TEST(PrincipalTest, PermissionNamesRoundTrip) {
  for (Permission p : kAll) {
    const std::string_view name = PermissionName(p);
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(ParsePermission(name), p) << name;
  }
  EXPECT_EQ(PermissionName(Permission::kCredentialsRead), "credentials.read");
  EXPECT_EQ(PermissionName(Permission::kActAsUser), "act_as_user");
}

TEST(PrincipalTest, ParsePermissionIsExact) {
  for (std::string_view bad : {"", "unknown", "Credentials.read", "credentials.read ",
                               "credentials.write", "registries", "tokens.mint\n"}) {
    EXPECT_FALSE(ParsePermission(bad).has_value()) << bad;
  }
}

TEST(PrincipalTest, Has) {
  Principal p;
  p.permissions = {Permission::kTokensMint};
  EXPECT_TRUE(p.Has(Permission::kTokensMint));
  EXPECT_FALSE(p.Has(Permission::kCredentialsRead));
}

}  // namespace
}  // namespace registryauth::auth
