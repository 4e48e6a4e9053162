// Fuzz target for the token realm's untrusted request parsers: Docker scope strings
// (realm::ParseScopes / ParseResourceScope) and the Basic Authorization header
// (realm::ParseBasicAuthorization). Input: a first byte 'b' picks the Basic header parser, any
// other the scope parser; the rest is the text (for ParseScopes, split on '\n' into several `scope`
// parameters).
//
// Besides "never crash", it aborts when an invariant breaks:
//   - a parsed scope formats to text that parses back to the same scope, with 1..8 actions,
//     a lower-case type and a name of at most 255 bytes;
//   - every error is INVALID_ARGUMENT and never quotes the resource name;
//   - parsed Basic credentials format back to a header that parses to the same user and
//     password; the user is non-empty, without ':' or control characters; errors never contain
//     the base64 text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "realm/basic_auth.h"
#include "realm/scope.h"

namespace {

using ::registryauth::realm::BasicCredentials;
using ::registryauth::realm::FormatBasicAuthorization;
using ::registryauth::realm::FormatScope;
using ::registryauth::realm::ParseBasicAuthorization;
using ::registryauth::realm::ParseResourceScope;
using ::registryauth::realm::ParseScopes;
using ::registryauth::realm::ResourceScope;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckScope(const ResourceScope& s) {
  Check(!s.type.empty() && !s.actions.empty() && s.actions.size() <= 8);
  Check(!s.name.empty() && s.name.size() <= 255);
  for (char c : s.type) Check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  auto again = ParseResourceScope(FormatScope(s));
  Check(again.ok() && *again == s);
}

void CheckError(const absl::Status& status) {
  Check(status.code() == absl::StatusCode::kInvalidArgument);
  Check(std::string(status.message()).rfind("invalid scope: ", 0) == 0);
}

void FuzzScopes(std::string_view text) {
  std::vector<std::string> params;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    params.emplace_back(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  auto scopes = ParseScopes(params);
  if (scopes.ok()) {
    Check(scopes->size() <= 32);
    for (const ResourceScope& s : *scopes) CheckScope(s);
  } else {
    CheckError(scopes.status());
  }
  auto one = ParseResourceScope(text);
  if (one.ok()) {
    CheckScope(*one);
  } else {
    CheckError(one.status());
  }
}

void FuzzBasic(std::string_view text) {
  auto creds = ParseBasicAuthorization(text);
  if (!creds.ok()) {
    Check(creds.status().code() == absl::StatusCode::kInvalidArgument);
    // The message is one of a few fixed sentences: it never carries input text.
    const std::string message(creds.status().message());
    Check(message == "authorization header too long" ||
          message == "authorization scheme is not Basic" ||
          message == "malformed Basic authorization header" ||
          message == "malformed Basic authorization: bad user name" ||
          message == "malformed Basic authorization: empty password");
    return;
  }
  Check(!creds->username.empty() && creds->username.find(':') == std::string::npos);
  for (char c : creds->username) {
    const auto u = static_cast<unsigned char>(c);
    Check(u >= 0x20 && u != 0x7f);
  }
  Check(!creds->password.empty());
  auto again =
      ParseBasicAuthorization(FormatBasicAuthorization(creds->username, creds->password.view()));
  Check(again.ok() && again->username == creds->username &&
        again->password.view() == creds->password.view());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == 'b') {
    FuzzBasic(text);
  } else {
    FuzzScopes(text);
  }
  return 0;
}
