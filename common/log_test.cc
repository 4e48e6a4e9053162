#include "common/log.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/stderr_capture.h"

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

// ---- Buffering (StartLogBuffering): stderr goes to a file the test reads while it runs.

class LogBufferingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_format_ = GetLogFormat();
    SetLogFormat(LogFormat::kText);
    capture_.emplace(path_);
  }
  void TearDown() override {
    StopLogBuffering();
    capture_.reset();
    SetLogFormat(saved_format_);
  }
  // What reached stderr so far.
  std::string Written() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  const std::string path_ = ::testing::TempDir() + "/log_buffering.txt";
  std::optional<testing::StderrCapture> capture_;
  LogFormat saved_format_ = LogFormat::kText;
};

TEST_F(LogBufferingTest, InfoLinesWaitForAFlushWhileUnbufferedLinesGoAtOnce) {
  Log(LogLevel::kInfo, "before buffering");
  EXPECT_EQ(Count(Written(), "before buffering"), 1u);
  StartLogBuffering(absl::Seconds(10));
  Log(LogLevel::kInfo, "buffered one");
  EXPECT_EQ(Count(Written(), "buffered one"), 0u);
  FlushLog();
  EXPECT_EQ(Count(Written(), "buffered one"), 1u);
  StopLogBuffering();
  Log(LogLevel::kInfo, "after buffering");
  EXPECT_EQ(Count(Written(), "after buffering"), 1u);
}

TEST_F(LogBufferingTest, AWarningWritesTheLinesBeforeItAndItselfInOrder) {
  StartLogBuffering(absl::Seconds(10));
  Log(LogLevel::kInfo, "first info");
  Log(LogLevel::kInfo, "second info");
  Log(LogLevel::kWarning, "the warning");
  const std::string text = Written();
  ASSERT_EQ(Count(text, "the warning"), 1u) << text;
  EXPECT_LT(text.find("first info"), text.find("second info")) << text;
  EXPECT_LT(text.find("second info"), text.find("the warning")) << text;
  Log(LogLevel::kError, "the error");
  EXPECT_EQ(Count(Written(), "the error"), 1u);
}

TEST_F(LogBufferingTest, StopWritesWhatIsLeftAndTheFlusherWritesWithinItsInterval) {
  StartLogBuffering(absl::Seconds(10));
  Log(LogLevel::kInfo, "left at stop");
  StopLogBuffering();
  EXPECT_EQ(Count(Written(), "left at stop"), 1u);

  StartLogBuffering(absl::Milliseconds(20));
  Log(LogLevel::kInfo, "by the flusher");
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Count(Written(), "by the flusher") == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(Count(Written(), "by the flusher"), 1u);
}

TEST_F(LogBufferingTest, A64KiBBufferIsWrittenWithoutWaitingForTheFlusher) {
  StartLogBuffering(absl::Seconds(10));
  const std::string filler(1000, 'x');
  for (int i = 0; i < 80; ++i) Log(LogLevel::kInfo, absl::StrCat("line ", i, " ", filler));
  const std::string text = Written();
  EXPECT_GE(Count(text, filler), 60u);  // at least the first 64 KiB
  EXPECT_LT(Count(text, filler), 80u);  // the rest waits
}

TEST_F(LogBufferingTest, LinesFromManyThreadsArriveWholeAndOnce) {
  StartLogBuffering(absl::Milliseconds(1));
  constexpr int kThreads = 4;
  constexpr int kLines = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        Log(LogLevel::kInfo, "concurrent", {{"thread", t}, {"line", i}});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  StopLogBuffering();
  std::vector<std::string> lines = absl::StrSplit(Written(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);  // each thread's lines in its own order
  for (const std::string& line : lines) {
    constexpr absl::string_view kPrefix = " INFO concurrent thread=";
    const size_t at = absl::string_view(line).find(kPrefix);
    ASSERT_NE(at, absl::string_view::npos) << line;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(line).substr(at + kPrefix.size()), " line=");
    int t = -1;
    int i = -1;
    ASSERT_EQ(fields.size(), 2u) << line;
    ASSERT_TRUE(absl::SimpleAtoi(fields[0], &t) && absl::SimpleAtoi(fields[1], &i)) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(i, next[t]++) << line;
  }
}

}  // namespace
}  // namespace registryauth
