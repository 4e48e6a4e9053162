#include "common/log.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace registryauth {
namespace {

const absl::Time kTime = absl::FromUnixMillis(1795428000123);  // 2026-11-23T10:00:00.123Z

TEST(LogTest, JsonLineHasTimeLevelMessageAndTypedFields) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTime, LogLevel::kWarning, "rpc done",
                          {{"request_id", "abc"},
                           {"status", "OK"},
                           {"duration_ms", 1.25},
                           {"http_status", 200},
                           {"tls", true}}),
            "{\"time\":\"2026-11-23T10:00:00.123Z\",\"level\":\"warning\",\"message\":\"rpc "
            "done\",\"request_id\":\"abc\",\"status\":\"OK\",\"duration_ms\":1.250,"
            "\"http_status\":200,\"tls\":true}\n");
}

TEST(LogTest, JsonEscapesQuotesBackslashControlsAndBadUtf8) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\nd\re\tf\x01g\x7f h\xc3\xa9 \xff\xc3 \xed\xa0\x80");
  EXPECT_EQ(out,
            "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007f h\xc3\xa9 \\ufffd\\ufffd "
            "\\ufffd\\ufffd\\ufffd\"");
  // A NUL byte in the middle does not end the string.
  out.clear();
  AppendJsonString(&out, std::string("x\0y", 3));
  EXPECT_EQ(out, "\"x\\u0000y\"");
  // Four-byte characters pass through; overlong forms do not.
  out.clear();
  AppendJsonString(&out, "\xf0\x9f\x94\x91 \xc0\xaf");
  EXPECT_EQ(out, "\"\xf0\x9f\x94\x91 \\ufffd\\ufffd\"");
}

TEST(LogTest, JsonNumbersNeverInvalid) {
  const std::string line = FormatLogLine(LogFormat::kJson, kTime, LogLevel::kInfo, "m",
                                         {{"nan", 0.0 / 0.0}, {"neg", -3}});
  EXPECT_NE(line.find("\"nan\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"neg\":-3"), std::string::npos) << line;
}

TEST(LogTest, TextLineKeepsTheOldShapeAndQuotesOddValues) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, kTime, LogLevel::kInfo, "listening on 127.0.0.1:1", {}),
            "2026-11-23T10:00:00.123Z INFO listening on 127.0.0.1:1\n");
  EXPECT_EQ(FormatLogLine(LogFormat::kText, kTime, LogLevel::kError, "two\nlines \"q\"",
                          {{"route", "/token"}, {"caller", "a b"}, {"empty", ""}, {"ms", 2.0}}),
            "2026-11-23T10:00:00.123Z ERROR two\\nlines \"q\" route=/token caller=\"a b\" "
            "empty=\"\" ms=2.000\n");
}

// Each thread reuses the text of the last second it formatted: lines in other seconds, before
// and after, and out of order still get their own time.
TEST(LogTest, TimestampsAcrossSecondsAndOutOfOrder) {
  const absl::Time base = absl::FromUnixSeconds(1795428000);  // 2026-11-23T10:00:00Z
  auto time_of = [](absl::Time t) {
    const std::string line = FormatLogLine(LogFormat::kText, t, LogLevel::kInfo, "m", {});
    return line.substr(0, line.find(' '));
  };
  EXPECT_EQ(time_of(base + absl::Milliseconds(999)), "2026-11-23T10:00:00.999Z");
  EXPECT_EQ(time_of(base + absl::Milliseconds(1000)), "2026-11-23T10:00:01.000Z");
  EXPECT_EQ(time_of(base + absl::Milliseconds(7)), "2026-11-23T10:00:00.007Z");
  EXPECT_EQ(time_of(base + absl::Hours(24) + absl::Milliseconds(42)), "2026-11-24T10:00:00.042Z");
  EXPECT_EQ(time_of(base - absl::Milliseconds(1)), "2026-11-23T09:59:59.999Z");
}

TEST(LogTest, ParsesFlagsValues) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON ", &f));
  LogLevel l = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("warning", &l));
  EXPECT_EQ(l, LogLevel::kWarning);
  EXPECT_TRUE(ParseLogLevel("error", &l));
  EXPECT_EQ(l, LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("debug", &l));
}

TEST(LogTest, MinimumLevelFilters) {
  const LogLevel saved = GetMinLogLevel();
  SetMinLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetMinLogLevel(LogLevel::kError);
  EXPECT_FALSE(LogEnabled(LogLevel::kWarning));
  SetMinLogLevel(saved);
}

}  // namespace
}  // namespace registryauth
