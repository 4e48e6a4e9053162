// The process's logger (Debian's Abseil has no absl/log). One line per call to stderr, in one
// of two formats chosen once at start-up (SetLogFormat; registry-authd: --log_format):
//
//   text: 2026-11-23T10:00:00.123Z INFO grpc listening on 127.0.0.1:50051 key=value ...
//   json: {"time":"2026-11-23T10:00:00.123Z","level":"info","message":"grpc listening ...",
//          "key":"value",...}
//
// JSON lines are one object each, with every string escaped (quotes, backslash, control
// characters; bytes that are not UTF-8 become U+FFFD), so a log pipeline can parse every line.
// Lines below the minimum level (SetMinLogLevel; --log_level) are dropped.
//
// Callers pass messages and fields that never contain secrets: Status messages of this project
// are built to be secret-free, so logging them is fine; request ids, caller identities, route
// templates and status codes are fine; Authorization headers, API keys, passwords, tokens and
// key material never go into a log line.
//
//   LOG_INFO(absl::StrCat("listening on ", addr));
//   Log(LogLevel::kInfo, "rpc", {{"request_id", id}, {"status", "OK"}, {"duration_ms", 1.5}});
//
// Thread-safe. By default every line is written at once (one fwrite and fflush per line). A
// server may start buffering (StartLogBuffering, as glog buffers INFO lines): info lines then
// gather in memory and are written together every `interval` or past 64 KiB, while a warning
// or an error writes everything before it and itself at once, so the order of lines is kept.
// A process that dies abruptly loses at most `interval` of info lines.
#ifndef REGISTRY_AUTH_COMMON_LOG_H_
#define REGISTRY_AUTH_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/time/time.h"

namespace registryauth {

enum class LogLevel { kInfo = 0, kWarning = 1, kError = 2 };
enum class LogFormat { kText, kJson };

// Process-wide settings; the defaults are text and info.
void SetLogFormat(LogFormat format);
void SetMinLogLevel(LogLevel level);
LogFormat GetLogFormat();
LogLevel GetMinLogLevel();
// Whether a line at `level` would be written (to skip building an expensive message).
bool LogEnabled(LogLevel level);

// "json" / "text"; "info" / "warning" / "error" (also "warn"). False for anything else.
bool ParseLogFormat(std::string_view text, LogFormat* out);
bool ParseLogLevel(std::string_view text, LogLevel* out);

// A field value: text (quoted in JSON) or a number / boolean (bare in JSON).
class LogValue {
 public:
  LogValue(std::string_view text) : text_(text), quoted_(true) {}    // NOLINT
  LogValue(const char* text) : text_(text), quoted_(true) {}         // NOLINT
  LogValue(const std::string& text) : text_(text), quoted_(true) {}  // NOLINT
  LogValue(bool b) : text_(b ? "true" : "false"), quoted_(false) {}  // NOLINT
  template <typename T,
            typename std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogValue(T n) : text_(std::to_string(n)), quoted_(false) {}  // NOLINT
  LogValue(double d);                                          // NOLINT: 3 decimals

  const std::string& text() const { return text_; }
  bool quoted() const { return quoted_; }

 private:
  std::string text_;
  bool quoted_;
};

struct LogField {
  std::string_view key;  // a fixed identifier such as "request_id"
  LogValue value;
};

void Log(LogLevel level, std::string_view message);
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields);

// Buffering of info lines (see the top). Start begins it with a thread that writes the buffer
// every `interval` (> 0); Stop writes what is left, ends the thread and goes back to a write
// per line; FlushLog writes the buffer now. Start while buffering changes nothing; Stop
// without Start is a no-op. Not to be called concurrently with each other.
void StartLogBuffering(absl::Duration interval);
void StopLogBuffering();
void FlushLog();

// The line Log writes (with its newline), for tests.
std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level,
                          std::string_view message, std::initializer_list<LogField> fields);

// Appends `s` as a JSON string (with quotes) to `out`: `"` `\` and control characters escaped,
// invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace registryauth

#define LOG_INFO(msg) ::registryauth::Log(::registryauth::LogLevel::kInfo, (msg))
#define LOG_WARNING(msg) ::registryauth::Log(::registryauth::LogLevel::kWarning, (msg))
#define LOG_ERROR(msg) ::registryauth::Log(::registryauth::LogLevel::kError, (msg))

#endif  // REGISTRY_AUTH_COMMON_LOG_H_
