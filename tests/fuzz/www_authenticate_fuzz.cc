// Fuzz target for the `WWW-Authenticate` parser that reads registries' challenges
// (upstream::ParseWwwAuthenticate, ParseWwwAuthenticateFields). Input: the header value; a '\n'
// splits it into several header fields for ParseWwwAuthenticateFields.
//
// Besides "never crash", it aborts when an invariant breaks:
//   - a parse result has 1..kMaxChallenges challenges, each with a non-empty lower-case tchar
//     scheme, at most kMaxAuthParams params with unique non-empty lower-case names, token68 only
//     without params, and no control characters (other than HTAB) in values;
//   - formatting a result parses back to the same challenges;
//   - every error is INVALID_ARGUMENT with a short message that is one of the fixed templates
//     (it never quotes the input).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "upstream/www_authenticate.h"

namespace {

using ::registryauth::upstream::AuthChallenge;
using ::registryauth::upstream::FormatWwwAuthenticate;
using ::registryauth::upstream::kMaxAuthParams;
using ::registryauth::upstream::kMaxChallenges;
using ::registryauth::upstream::ParseWwwAuthenticate;
using ::registryauth::upstream::ParseWwwAuthenticateFields;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool IsLowerTchar(char c) {
  if (c >= 'A' && c <= 'Z') return false;
  const std::string_view specials = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         specials.find(c) != std::string_view::npos;
}

void CheckChallenges(const std::vector<AuthChallenge>& challenges) {
  Check(!challenges.empty() && challenges.size() <= kMaxChallenges);
  for (const AuthChallenge& c : challenges) {
    Check(!c.scheme.empty());
    for (char ch : c.scheme) Check(IsLowerTchar(ch));
    Check(c.params.size() <= kMaxAuthParams);
    Check(!c.token68.has_value() || (c.params.empty() && !c.token68->empty()));
    std::set<std::string> names;
    for (const auto& [name, value] : c.params) {
      Check(!name.empty() && names.insert(name).second);
      for (char ch : name) Check(IsLowerTchar(ch));
      for (char ch : value) {
        const auto u = static_cast<unsigned char>(ch);
        Check(u == '\t' || (u >= 0x20 && u != 0x7f));
      }
    }
  }
}

// The message with its digits removed must be one of the fixed templates.
void CheckError(const absl::Status& status) {
  Check(status.code() == absl::StatusCode::kInvalidArgument);
  std::string message;
  for (char c : status.message()) {
    if (c < '0' || c > '9') message += c;
  }
  static const std::set<std::string>* const kTemplates = new std::set<std::string>{
      "WWW-Authenticate header too long",
      "no WWW-Authenticate header",
      "malformed WWW-Authenticate header: too many challenges",
  };
  if (kTemplates->count(message) > 0) return;
  static const std::set<std::string>* const kWhat = new std::set<std::string>{
      "too many challenges",
      "expected ',' after a challenge",
      "no challenge",
      "expected an auth-scheme",
      "auth-param outside a challenge",
      "expected a space after the auth-scheme",
      "expected ',' between auth-params",
      "too many auth-params",
      "expected an auth-param name",
      "expected '='",
      "missing auth-param value",
      "expected a token or a quoted string",
      "repeated auth-param",
      "bad escape in quoted string",
      "control character in quoted string",
      "unterminated quoted string",
  };
  const std::string prefix = "malformed WWW-Authenticate header: ";
  const std::string suffix = " at byte ";
  Check(message.size() > prefix.size() + suffix.size());
  Check(message.compare(0, prefix.size(), prefix) == 0);
  Check(message.compare(message.size() - suffix.size(), suffix.size(), suffix) == 0);
  Check(kWhat->count(
            message.substr(prefix.size(), message.size() - prefix.size() - suffix.size())) > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::vector<AuthChallenge>> one = ParseWwwAuthenticate(text);
  if (one.ok()) {
    CheckChallenges(*one);
    absl::StatusOr<std::vector<AuthChallenge>> again =
        ParseWwwAuthenticate(FormatWwwAuthenticate(*one));
    // Quoting can make the text longer than the size limit; otherwise it must round-trip.
    Check((!again.ok() && again.status().message() == "WWW-Authenticate header too long") ||
          (again.ok() && *again == *one));
  } else {
    CheckError(one.status());
  }

  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    fields.emplace_back(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  absl::StatusOr<std::vector<AuthChallenge>> all = ParseWwwAuthenticateFields(fields);
  if (all.ok()) {
    CheckChallenges(*all);
  } else {
    CheckError(all.status());
  }
  return 0;
}
