#include "upstream/github_headers.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace registryauth::upstream {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(ParseTokenExpiration, GitHubUtcFormat) {
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 UTC"), Utc(2026, 12, 1, 10, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("  2026-12-01 10:00:00 UTC "), Utc(2026, 12, 1, 10, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 GMT"), Utc(2026, 12, 1, 10, 0, 0));
}

TEST(ParseTokenExpiration, NumericOffsets) {
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 +0000"), Utc(2026, 12, 1, 10, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 -0700"), Utc(2026, 12, 1, 17, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 +0200"), Utc(2026, 12, 1, 8, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01 10:00:00 +02:00"), Utc(2026, 12, 1, 8, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01T10:00:00Z"), Utc(2026, 12, 1, 10, 0, 0));
  EXPECT_EQ(ParseTokenExpiration("2026-12-01T10:00:00+01:00"), Utc(2026, 12, 1, 9, 0, 0));
}

TEST(ParseTokenExpiration, Malformed) {
  for (const char* bad :
       {"", "UTC", "2026-12-01", "2026-12-01 10:00 UTC", "2026-13-01 10:00:00 UTC",
        "2026-12-01 10:00:00 PST", "2026-12-01 10:00:00 +0000 trailing", "next tuesday",
        "2026-12-01 10:00:00 UTC UTC", "1764583200"}) {
    EXPECT_EQ(ParseTokenExpiration(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseTokenExpiration(std::string(300, '2')), std::nullopt);
}

TEST(ParseOAuthScopes, CommaSpaceSeparated) {
  EXPECT_EQ(ParseOAuthScopes("repo, read:packages, write:packages"),
            (std::vector<std::string>{"repo", "read:packages", "write:packages"}));
  EXPECT_EQ(ParseOAuthScopes("write:packages"), (std::vector<std::string>{"write:packages"}));
}

TEST(ParseOAuthScopes, TolerantOfSpacingEmptyItemsAndDuplicates) {
  EXPECT_EQ(ParseOAuthScopes(" repo ,read:packages,, ,repo,\tgist "),
            (std::vector<std::string>{"repo", "read:packages", "gist"}));
}

TEST(ParseOAuthScopes, EmptyMeansNoScopes) {
  EXPECT_TRUE(ParseOAuthScopes("").empty());
  EXPECT_TRUE(ParseOAuthScopes("  ").empty());
  EXPECT_TRUE(ParseOAuthScopes(",").empty());
}

TEST(ParseOAuthScopes, ScopesAreNotPrefixMatched) {
  // "write:packages_extra" is not write:packages; the caller compares whole items.
  const std::vector<std::string> scopes = ParseOAuthScopes("write:packages_extra, read:packagesX");
  EXPECT_EQ(scopes, (std::vector<std::string>{"write:packages_extra", "read:packagesX"}));
}

TEST(ParseRetryAfter, Seconds) {
  const absl::Time now = Utc(2026, 1, 1, 0, 0, 0);
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("30", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), absl::Seconds(120));
}

TEST(ParseRetryAfter, HttpDate) {
  const absl::Time now = Utc(2015, 10, 21, 7, 27, 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::Seconds(60));
  // A date in the past: retry now.
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
}

TEST(ParseRetryAfter, Malformed) {
  const absl::Time now = Utc(2026, 1, 1, 0, 0, 0);
  for (const char* bad : {"", " ", "-1", "+5", "1.5", "5s", "soon", "0x10", "99999999999999999999",
                          "Wed, 21 Oct 2015 07:28:00 PST", "Wed, 21 Oct 2015 07:28:00"}) {
    EXPECT_EQ(ParseRetryAfter(bad, now), std::nullopt) << bad;
  }
}

TEST(ParseRateLimitReset, UnixSeconds) {
  EXPECT_EQ(ParseRateLimitReset("1700000000"), absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(ParseRateLimitReset("0"), absl::UnixEpoch());
  for (const char* bad : {"", "-1", "1700000000.5", "soon", "1e9", "99999999999999"}) {
    EXPECT_EQ(ParseRateLimitReset(bad), std::nullopt) << bad;
  }
}

TEST(ParseRateLimitRemaining, Counts) {
  EXPECT_EQ(ParseRateLimitRemaining("0"), 0);
  EXPECT_EQ(ParseRateLimitRemaining("4999"), 4999);
  EXPECT_EQ(ParseRateLimitRemaining("-1"), std::nullopt);
  EXPECT_EQ(ParseRateLimitRemaining(""), std::nullopt);
  EXPECT_EQ(ParseRateLimitRemaining("none"), std::nullopt);
}

TEST(ParseIso8601Time, GitHubExpiresAt) {
  EXPECT_EQ(ParseIso8601Time("2016-07-11T22:14:10Z"), Utc(2016, 7, 11, 22, 14, 10));
  EXPECT_EQ(ParseIso8601Time("2016-07-11T22:14:10.123Z"),
            Utc(2016, 7, 11, 22, 14, 10) + absl::Milliseconds(123));
  EXPECT_EQ(ParseIso8601Time("2016-07-11T22:14:10+02:00"), Utc(2016, 7, 11, 20, 14, 10));
  for (const char* bad : {"", "2016-07-11", "2016-07-11 22:14:10", "2016-07-11T22:14:10",
                          "yesterday", "2016-07-11T25:14:10Z"}) {
    EXPECT_EQ(ParseIso8601Time(bad), std::nullopt) << bad;
  }
}

TEST(ParseHttpDate, ImfFixdate) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), Utc(1994, 11, 6, 8, 49, 37));
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), std::nullopt);
}

TEST(GitHubErrorMessage, ExtractsAndCleans) {
  EXPECT_EQ(GitHubErrorMessage(R"({"message":"Bad credentials","documentation_url":"x"})"),
            "Bad credentials");
  EXPECT_EQ(GitHubErrorMessage("{\"message\":\"line\\nbreak\\u0007\"}"), "line break");
  EXPECT_EQ(GitHubErrorMessage(R"({"message":42})"), "");
  EXPECT_EQ(GitHubErrorMessage("not json"), "");
  EXPECT_EQ(GitHubErrorMessage(R"(["message"])"), "");
  const std::string long_message = std::string(R"({"message":")") + std::string(500, 'x') + "\"}";
  EXPECT_EQ(GitHubErrorMessage(long_message).size(), 203u);
}

}  // namespace
}  // namespace registryauth::upstream
