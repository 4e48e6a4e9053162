#include "helpers/token_cache.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "tests/support/test_files.h"

namespace registryauth::helpers {
namespace {

using ::registryauth::testing::FileMode;
using ::registryauth::testing::NewTestDir;
using ::registryauth::testing::ReadFileOrEmpty;

CachedToken Token(absl::Time expire) {
  CachedToken t;
  t.username = "pull+abc";
  t.password = SecretString("s3cret-password");
  t.registry = "registry.test:5000";
  t.expire_time = expire;
  t.service = "127.0.0.1:1";
  return t;
}

class TokenCacheTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::string dir_ = NewTestDir("cache") + "/tokens";  // created by the cache
};

TEST_F(TokenCacheTest, HitUntilRefreshBeforeExpiry) {
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  std::optional<CachedToken> hit = cache.Get("acme", "web", absl::Minutes(5));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->username, "pull+abc");
  EXPECT_EQ(hit->password.view(), "s3cret-password");
  EXPECT_EQ(hit->registry, "registry.test:5000");
  EXPECT_EQ(hit->expire_time, clock_.Now() + absl::Hours(1));
  EXPECT_FALSE(cache.Get("acme", "other", absl::Minutes(5)).has_value());
  clock_.Advance(absl::Minutes(54));
  EXPECT_TRUE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
  clock_.Advance(absl::Minutes(1));  // exactly refresh_before left
  EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
}

TEST_F(TokenCacheTest, FilesAre0600InA0700Folder) {
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  EXPECT_EQ(FileMode(dir_), 0700u);
  EXPECT_EQ(FileMode(cache.PathOf("acme", "web")), 0600u);
}

TEST_F(TokenCacheTest, AFileOthersCanReadIsAMiss) {
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  ASSERT_EQ(chmod(cache.PathOf("acme", "web").c_str(), 0644), 0);
  EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
}

TEST_F(TokenCacheTest, AFolderOthersCanEnterIsRefused) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  absl::Status put = cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1)));
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(put.message().find("chmod 700"), std::string::npos) << put;
  EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
}

TEST_F(TokenCacheTest, CorruptFileIsAMissAndIsOverwritten) {
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  for (const char* corrupt : {"", "{", "[]", "{\"username\":\"u\"}",
                              "{\"username\":\"u\",\"password\":\"\",\"registry\":\"r\","
                              "\"expire_unix\":1}",
                              "{\"username\":\"u\",\"password\":\"p\",\"registry\":\"r\","
                              "\"expire_unix\":\"soon\"}"}) {
    {
      std::ofstream out(cache.PathOf("acme", "web"), std::ios::trunc);
      out << corrupt;
    }
    EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value()) << corrupt;
  }
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  EXPECT_TRUE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
}

TEST_F(TokenCacheTest, ClearRemovesEveryToken) {
  TokenCache cache(dir_, "127.0.0.1:1", "registry.test:5000", clock_);
  EXPECT_TRUE(cache.Clear().ok());  // no folder yet
  ASSERT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  ASSERT_TRUE(cache.Put("acme", "api", Token(clock_.Now() + absl::Hours(1))).ok());
  ASSERT_TRUE(cache.Clear().ok());
  EXPECT_EQ(ReadFileOrEmpty(cache.PathOf("acme", "web")), "");
  EXPECT_FALSE(cache.Get("acme", "api", absl::Minutes(5)).has_value());
}

TEST_F(TokenCacheTest, NoFolderMeansNoCache) {
  TokenCache cache("", "127.0.0.1:1", "registry.test:5000", clock_);
  EXPECT_TRUE(cache.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  EXPECT_FALSE(cache.Get("acme", "web", absl::Minutes(5)).has_value());
}

// Row 33r: the cache serves a token only to the registry host it was minted for, and only
// when the service that minted it is this cache's (configs may share a cache_dir).
TEST_F(TokenCacheTest, ScopedToOneServiceAndOneRegistryHost) {
  TokenCache prod(dir_, "regauth.prod:50051", "registry.test:5000", clock_);
  ASSERT_TRUE(prod.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok());
  EXPECT_TRUE(prod.Get("acme", "web", absl::Minutes(5)).has_value());
  TokenCache staging(dir_, "regauth.staging:50051", "registry.test:5000", clock_);
  EXPECT_FALSE(staging.Get("acme", "web", absl::Minutes(5)).has_value());
  TokenCache mirror(dir_, "regauth.prod:50051", "mirror.test", clock_);
  EXPECT_FALSE(mirror.Get("acme", "web", absl::Minutes(5)).has_value());
  EXPECT_NE(mirror.PathOf("acme", "web"), prod.PathOf("acme", "web"));
  // A host that is not a plain file name is never written nor read.
  for (const char* host : {"", "../x", ".hidden", "a/b", "a_b", "UPPER"}) {
    TokenCache odd(dir_, "regauth.prod:50051", host, clock_);
    EXPECT_FALSE(odd.Put("acme", "web", Token(clock_.Now() + absl::Hours(1))).ok()) << host;
    EXPECT_FALSE(odd.Get("acme", "web", absl::Minutes(5)).has_value()) << host;
  }
}

TEST(CachedTokenTextTest, RoundTrips) {
  CachedToken t = Token(absl::FromUnixSeconds(1800000123));
  absl::StatusOr<CachedToken> back = ParseCachedToken(SerializeCachedToken(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->username, t.username);
  EXPECT_EQ(back->password.view(), t.password.view());
  EXPECT_EQ(back->expire_time, t.expire_time);
  EXPECT_EQ(back->service, t.service);
  EXPECT_EQ(ParseCachedToken("not json").status().message(), "corrupt token cache file");
}

}  // namespace
}  // namespace registryauth::helpers
