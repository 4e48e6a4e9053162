#include "common/catch_all.h"

#include <stdexcept>
#include <string>

#include "gtest/gtest.h"

namespace registryauth {
namespace {

TEST(CatchAllTest, NothingThrownIsNullopt) {
  int ran = 0;
  EXPECT_EQ(CatchAll([&] { ++ran; }), std::nullopt);
  EXPECT_EQ(ran, 1);
}

TEST(CatchAllTest, EveryKindOfThrowIsStoppedWithAShortText) {
  EXPECT_EQ(CatchAll([] { throw std::out_of_range("basic_string_view::substr"); }),
            "basic_string_view::substr");
  EXPECT_EQ(CatchAll([] { throw 42; }), "non-standard exception");
  const std::optional<std::string> long_text =
      CatchAll([] { throw std::runtime_error(std::string(1000, 'x')); });
  ASSERT_TRUE(long_text.has_value());
  EXPECT_EQ(*long_text, std::string(kMaxExceptionText, 'x') + "...");
}

}  // namespace
}  // namespace registryauth
