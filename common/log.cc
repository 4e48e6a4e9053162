#include "common/log.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/utf8.h"

namespace registryauth {
namespace {

std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

const char* TextLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

const char* JsonLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// A text-format value goes bare when it is plain printable ASCII without spaces, quotes or '=',
// else as a JSON string, so `key=value` pairs stay unambiguous on one line.
void AppendTextValue(std::string* out, const LogValue& value) {
  const std::string& s = value.text();
  bool bare = !value.quoted() || !s.empty();
  if (value.quoted()) {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c >= 0x7F || c == '"' || c == '=' || c == '\\') {
        bare = false;
        break;
      }
    }
  }
  if (bare) {
    *out += s;
  } else {
    AppendJsonString(out, s);
  }
}

// The message of a text line: one line whatever it holds (newlines and other control
// characters escaped as in JSON, invalid UTF-8 replaced).
void AppendTextMessage(std::string* out, std::string_view message) {
  // Most messages and every key are plain printable ASCII: appended as they are.
  bool plain = true;
  for (char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->append(message);
    return;
  }
  std::string quoted;
  AppendJsonString(&quoted, message);
  std::string_view inner(quoted);
  inner = inner.substr(1, inner.size() - 2);
  // Keep quotes and backslashes as they were: only control characters need escaping here.
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\' && i + 1 < inner.size() && (inner[i + 1] == '"' || inner[i + 1] == '\\')) {
      *out += inner[i + 1];
      ++i;
    } else {
      *out += inner[i];
    }
  }
}

// `time` as 2026-11-23T10:00:00.123Z. Lines come in bursts within one second, so each thread
// keeps the text of the last second it formatted and only writes the milliseconds anew.
std::string LogTimestamp(absl::Time time) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string cached_text;  // "2026-11-23T10:00:00"
  const absl::Duration since_epoch = time - absl::UnixEpoch();
  const int64_t second = absl::ToInt64Seconds(absl::Floor(since_epoch, absl::Seconds(1)));
  if (second != cached_second || cached_text.empty()) {
    cached_text =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  const int64_t millis = absl::ToInt64Milliseconds(since_epoch - absl::Seconds(second));  // 0..999
  std::string out;
  out.reserve(cached_text.size() + 5);
  out += cached_text;
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }
void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }
LogFormat GetLogFormat() { return static_cast<LogFormat>(g_format.load()); }
LogLevel GetMinLogLevel() { return static_cast<LogLevel>(g_min_level.load()); }
bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

bool ParseLogFormat(std::string_view text, LogFormat* out) {
  if (text == "json") {
    *out = LogFormat::kJson;
  } else if (text == "text") {
    *out = LogFormat::kText;
  } else {
    return false;
  }
  return true;
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "info") {
    *out = LogLevel::kInfo;
  } else if (text == "warning" || text == "warn") {
    *out = LogLevel::kWarning;
  } else if (text == "error") {
    *out = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

LogValue::LogValue(double d) : quoted_(false) {
  if (!(d == d) || d > 1e300 || d < -1e300) {
    text_ = "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", d);
  text_ = buf;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  *out += '"';
  // Runs of printable ASCII that need no escape are appended in one piece.
  size_t plain_from = 0;
  auto flush = [&](size_t i) { out->append(s.data() + plain_from, i - plain_from); };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    flush(i);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        *out += "\\ufffd";
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      plain_from = i;
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:  // the other control characters and DEL
        *out += "\\u00";
        *out += kHex[c >> 4];
        *out += kHex[c & 0xF];
    }
    ++i;
    plain_from = i;
  }
  flush(s.size());
  *out += '"';
}

std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level,
                          std::string_view message, std::initializer_list<LogField> fields) {
  const std::string when = LogTimestamp(time);
  std::string line;
  line.reserve(160);
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    line += when;
    line += "\",\"level\":\"";
    line += JsonLevel(level);
    line += "\",\"message\":";
    AppendJsonString(&line, message);
    for (const LogField& f : fields) {
      line += ',';
      AppendJsonString(&line, f.key);
      line += ':';
      if (f.value.quoted()) {
        AppendJsonString(&line, f.value.text());
      } else {
        line += f.value.text();
      }
    }
    line += "}\n";
    return line;
  }
  line += when;
  line += ' ';
  line += TextLevel(level);
  line += ' ';
  AppendTextMessage(&line, message);
  for (const LogField& f : fields) {
    line += ' ';
    AppendTextMessage(&line, f.key);
    line += '=';
    AppendTextValue(&line, f.value);
  }
  line += '\n';
  return line;
}

namespace {

// Past this many buffered bytes the line that crosses it writes the buffer itself.
constexpr size_t kMaxBufferedBytes = 64 * 1024;

void WriteOut(std::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// The buffer of info lines and the thread that writes it every interval. Writes happen under
// `mu` so that lines reach stderr in the order they were logged.
class LogBuffer {
 public:
  // False when not buffering: the caller writes the line itself.
  bool Add(LogLevel level, const std::string& line) {
    if (!on_.load(std::memory_order_acquire)) return false;
    absl::MutexLock lock(&mu_);
    if (!on_.load(std::memory_order_relaxed)) return false;
    buffer_ += line;
    if (level != LogLevel::kInfo || buffer_.size() >= kMaxBufferedBytes) WriteLocked();
    return true;
  }

  void Start(absl::Duration interval) {
    if (on_.load() || interval <= absl::ZeroDuration()) return;
    {
      absl::MutexLock lock(&mu_);
      buffer_.reserve(kMaxBufferedBytes + 4096);
      on_.store(true, std::memory_order_release);
    }
    stop_ = std::make_unique<absl::Notification>();
    flusher_ = std::thread([this, interval, stop = stop_.get()] {
      while (!stop->WaitForNotificationWithTimeout(interval)) Flush();
    });
  }

  void Stop() {
    if (!on_.load()) return;
    stop_->Notify();
    flusher_.join();
    absl::MutexLock lock(&mu_);
    // The buffer goes out before `on_` turns false: a thread that then sees false writes its
    // line itself, without `mu_`, and must not get ahead of the lines buffered before it.
    WriteLocked();
    on_.store(false, std::memory_order_release);
    std::string().swap(buffer_);
  }

  void Flush() {
    absl::MutexLock lock(&mu_);
    WriteLocked();
  }

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    WriteOut(buffer_);
    buffer_.clear();
  }

  std::atomic<bool> on_{false};
  absl::Mutex mu_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<absl::Notification> stop_;
  std::thread flusher_;
};

LogBuffer& Buffer() {
  static LogBuffer* const buffer = new LogBuffer();  // never destroyed: used until exit
  return *buffer;
}

}  // namespace

void StartLogBuffering(absl::Duration interval) { Buffer().Start(interval); }
void StopLogBuffering() { Buffer().Stop(); }
void FlushLog() { Buffer().Flush(); }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string line = FormatLogLine(GetLogFormat(), absl::Now(), level, message, fields);
  if (Buffer().Add(level, line)) return;
  WriteOut(line);
}

void Log(LogLevel level, std::string_view message) { Log(level, message, {}); }

}  // namespace registryauth
