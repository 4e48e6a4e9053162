#include "common/ttl_cache.h"

#include <string>

#include "gtest/gtest.h"

namespace registryauth {
namespace {

TEST(TtlCacheTest, EntriesExpireAfterTheTtl) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  TtlCache<std::string, int> cache(clock, absl::Seconds(5), 10);
  EXPECT_FALSE(cache.Get("a").has_value());
  cache.Put("a", 1);
  EXPECT_EQ(cache.Get("a"), 1);
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(cache.Get("a"), 1);
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(cache.Get("a").has_value());
  cache.Put("a", 2);  // a new Put starts a new lifetime
  EXPECT_EQ(cache.Get("a"), 2);
  cache.Erase("a");
  EXPECT_FALSE(cache.Get("a").has_value());
}

TEST(TtlCacheTest, ReplaceKeepsTheEntrysAge) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  TtlCache<std::string, int> cache(clock, absl::Seconds(5), 10);
  cache.Replace("a", 1);  // absent: nothing stored
  EXPECT_FALSE(cache.Get("a").has_value());
  cache.Put("a", 1);
  clock.Advance(absl::Seconds(3));
  cache.Replace("a", 2);
  EXPECT_EQ(cache.Get("a"), 2);
  clock.Advance(absl::Seconds(2));  // 5 s after the Put, 2 s after the Replace
  EXPECT_FALSE(cache.Get("a").has_value());
  cache.Replace("a", 3);  // expired: stays gone
  EXPECT_FALSE(cache.Get("a").has_value());
}

TEST(TtlCacheTest, StaysWithinCapacity) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  TtlCache<int, int> cache(clock, absl::Seconds(5), 3);
  for (int i = 0; i < 3; ++i) cache.Put(i, i);
  EXPECT_EQ(cache.size(), 3u);
  clock.Advance(absl::Seconds(5));
  cache.Put(1, 10);  // replaces in place
  cache.Put(7, 7);   // full: the expired entries go first
  EXPECT_EQ(cache.Get(1), 10);
  EXPECT_EQ(cache.Get(7), 7);
  EXPECT_FALSE(cache.Get(0).has_value());
  EXPECT_LE(cache.size(), 3u);
  cache.Put(8, 8);
  cache.Put(9, 9);  // full of live entries: cleared, then stored
  EXPECT_LE(cache.size(), 3u);
  EXPECT_EQ(cache.Get(9), 9);
}

TEST(TtlCacheTest, ZeroTtlDisablesIt) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  TtlCache<int, int> cache(clock, absl::ZeroDuration(), 3);
  EXPECT_FALSE(cache.enabled());
  cache.Put(1, 1);
  EXPECT_FALSE(cache.Get(1).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace registryauth
