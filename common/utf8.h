// UTF-8 validation for text that leaves the process in a format that requires it (JSON log
// lines, Prometheus label values): one strict decoder step, and a sanitizer that replaces
// every byte that does not start a well-formed sequence with U+FFFD.
//
//   size_t n = Utf8SequenceLength(s, i);   // 0: s[i] does not start a valid sequence
//   std::string clean = SanitizeUtf8(untrusted);
//   if (IsValidUtf8(text)) ...            // the common case: no copy needed
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_COMMON_UTF8_H_
#define REGISTRY_AUTH_COMMON_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace registryauth {

// The length (1..4) of the well-formed UTF-8 sequence that starts at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 if there is none. `i` < size.
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return len;
}

// True when `s` is well-formed UTF-8 (SanitizeUtf8 would return it unchanged).
inline bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Appends `s` to `out` with each byte that does not start a well-formed sequence replaced by
// U+FFFD.
inline void AppendSanitizedUtf8(std::string* out, std::string_view s) {
  if (IsValidUtf8(s)) {
    out->append(s);
    return;
  }
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      *out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out->append(s.data() + i, n);
      i += n;
    }
  }
}

// `s` with each byte that does not start a well-formed sequence replaced by U+FFFD.
inline std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendSanitizedUtf8(&out, s);
  return out;
}

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_UTF8_H_
