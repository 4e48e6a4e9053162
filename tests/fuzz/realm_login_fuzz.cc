// Fuzz target for the token realm's login path (services/token_issuer.h): the Basic user name and
// password a /token request presents, parsed and checked by TokenRealm::IssueToken against
// in-memory stores. Above all the stateless workspace credentials (`build+<id>` /
// `rbt_<workspace>.<expiry>.<key id>.<keyed hash>`), whose whole authority is in the password.
//
// Input: `<user name>\n<password>`. The markers `{U}` and `{P}` are replaced by a genuine
// workspace credential minted at start-up, `{S}` and `{A}` by a genuine service account's
// user name and secret (`{O}` `{B}` another workspace's account, `{T}` `{K}` a pull token;
// see fuzz_realm.h, which builds the realm), so mutations work around real credentials.
//
// Besides "never crash", it aborts when:
//   - a login succeeds with anything but a genuine (user name, password) pair;
//   - a genuine pair is refused;
//   - a refusal is not UNAUTHENTICATED "invalid credentials" or INVALID_ARGUMENT, or its
//     message contains the password (8 bytes or more) and does not when another password of
//     the same length is sent (so "redentials" inside "invalid credentials" is fixed text);
//   - a token carries access outside the principal's workspace.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "common/log.h"
#include "common/secret.h"
#include "services/token_realm.h"
#include "tests/fuzz/fuzz_realm.h"

namespace {

using namespace ::registryauth;  // NOLINT: a fuzz target's one file

void Check(bool condition) {
  if (!condition) std::abort();
}

absl::StatusOr<services::IssuedToken> Issue(fuzz::FuzzRealm& r, const std::string& username,
                                            const std::string& password) {
  services::TokenRequest request;
  request.service = fuzz::kFuzzService;
  request.username = username;
  request.password = SecretString(password);
  request.scopes = {"repository:acme/web:pull,push", "repository:other/web:pull,push"};
  services::RequestContext ctx;
  ctx.peer = "ipv4:192.0.2.1:1";
  return r.realm().IssueToken(ctx, request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::FuzzRealm* const r = [] {
    SetMinLogLevel(LogLevel::kError);  // every refusal logs a line: not news here
    return new fuzz::FuzzRealm();
  }();
  if (size > 4096) return 0;
  const std::string input =
      r->Expand(std::string_view(reinterpret_cast<const char*>(data), size), false);
  const size_t newline = input.find('\n');
  if (newline == std::string::npos) return 0;
  const std::string username = input.substr(0, newline);
  const std::string password = input.substr(newline + 1);
  absl::StatusOr<services::IssuedToken> t = Issue(*r, username, password);

  const bool genuine = (username == r->workspace_user && password == r->workspace_secret) ||
                       (username == r->account_user && password == r->account_secret) ||
                       (username == r->other_user && password == r->other_secret) ||
                       (username == r->pull_user && password == r->pull_secret);
  if (t.ok() && username.empty()) {  // anonymous: no public app is asked for, so nothing
    Check(t->granted_scopes.empty());
    return 0;
  }
  if (t.ok()) {
    Check(genuine);
    const std::optional<std::string> workspace = r->WorkspaceOfSubject(t->subject);
    Check(workspace.has_value());
    for (const std::string& scope : t->granted_scopes) {
      Check(absl::StartsWith(scope, "repository:" + *workspace + "/"));
    }
    return 0;
  }
  Check(!genuine);
  const absl::Status& s = t.status();
  Check(s.code() == absl::StatusCode::kInvalidArgument ||
        (s.code() == absl::StatusCode::kUnauthenticated && s.message() == "invalid credentials"));
  if (password.size() >= 8 && absl::StrContains(s.message(), password)) {
    const std::string other(password.size(), password[0] == 'x' ? 'y' : 'x');
    absl::StatusOr<services::IssuedToken> again = Issue(*r, username, other);
    Check(!again.ok() && absl::StrContains(again.status().message(), password));
  }
  return 0;
}
