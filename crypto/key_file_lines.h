// The line syntax the two key files share (the data-key ring, crypto/keyring.h, and the token
// signing-key set, crypto/token_signing_keys.h): whitespace-separated tokens, errors that name
// the line. Internal to crypto/.
//
//   std::string_view tokens[4];
//   const std::size_t n = TokenizeKeyFileLine(line, tokens, 4);  // 5: more than 4 tokens
//   if (n < 2) return KeyFileLineError(line_no, "expected 'key <id> ...'");
//
// Never reads or writes past `tokens[max - 1]`; the tokens point into `line`.
#ifndef REGISTRY_AUTH_CRYPTO_KEY_FILE_LINES_H_
#define REGISTRY_AUTH_CRYPTO_KEY_FILE_LINES_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace registryauth::crypto {

// Space, tab, CR, VT and FF (not newline: lines are split before).
inline bool IsKeyFileSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// Splits `line` on whitespace into at most `max` tokens; returns the token count, or max + 1 if
// there were more.
inline std::size_t TokenizeKeyFileLine(std::string_view line, std::string_view* tokens,
                                       std::size_t max) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsKeyFileSpace(line[i])) ++i;
    if (i == line.size()) break;
    const std::size_t start = i;
    while (i < line.size() && !IsKeyFileSpace(line[i])) ++i;
    if (count == max) return max + 1;
    tokens[count++] = line.substr(start, i - start);
  }
  return count;
}

// INVALID_ARGUMENT "line <n>: <what>".
inline absl::Status KeyFileLineError(std::size_t line_no, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", what));
}

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_KEY_FILE_LINES_H_
