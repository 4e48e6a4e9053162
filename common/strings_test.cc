#include "common/strings.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace registryauth {
namespace {

TEST(StringsTest, StartsAndEndsWith) {
  EXPECT_TRUE(StartsWith("rrt_abc", "rrt_"));
  EXPECT_TRUE(StartsWith("rrt_", "rrt_"));
  EXPECT_TRUE(StartsWith("x", ""));
  EXPECT_FALSE(StartsWith(".", "rrt_"));  // shorter than the prefix: false, never a throw
  EXPECT_FALSE(StartsWith("", "r"));
  EXPECT_TRUE(EndsWith("registry.azurecr.io", ".azurecr.io"));
  EXPECT_FALSE(EndsWith("io", ".azurecr.io"));
  EXPECT_TRUE(EndsWith("", ""));
}

TEST(StringsTest, CatTakesStdAndAbslViews) {
  const std::string_view a = "acme";
  const absl::string_view b = "web";
  EXPECT_EQ(Cat(a, "/", b, ":", 5), "acme/web:5");
  EXPECT_EQ(ToStd(ToAbsl(a)), a);
}

}  // namespace
}  // namespace registryauth
