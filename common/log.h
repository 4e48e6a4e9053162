// Minimal line logger (Debian's Abseil has no absl/log). One line per call to stderr:
//   2026-11-23T10:00:00.123Z INFO grpc listening on 127.0.0.1:50051
// Callers pass messages that never contain secrets; Status messages of this project are built
// to be secret-free, so logging them is fine.
//
//   LOG_INFO(absl::StrCat("listening on ", addr));
//
// Thread-safe (one fwrite per line).
#ifndef REGISTRY_AUTH_COMMON_LOG_H_
#define REGISTRY_AUTH_COMMON_LOG_H_

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace registryauth {

enum class LogLevel { kInfo, kWarning, kError };

inline void Log(LogLevel level, std::string_view message) {
  const char* name = level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarning ? "WARN"
                                                                                        : "ERROR";
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ", name, " ",
      absl::string_view(message.data(), message.size()), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace registryauth

#define LOG_INFO(msg) ::registryauth::Log(::registryauth::LogLevel::kInfo, (msg))
#define LOG_WARNING(msg) ::registryauth::Log(::registryauth::LogLevel::kWarning, (msg))
#define LOG_ERROR(msg) ::registryauth::Log(::registryauth::LogLevel::kError, (msg))

#endif  // REGISTRY_AUTH_COMMON_LOG_H_
