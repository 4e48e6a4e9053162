// Fuzz target for the HTTP token realm's request parsing (gateway/token_request.h): the
// `GET /token` query string with its Authorization header, and the `POST /token` OAuth2 form
// with its Content-Type. Input: a first byte 'p' picks the form parser, any other the query
// parser; the rest splits at its first '\n' into the header value (Authorization for GET,
// Content-Type for POST) and the query string or body.
//
// Besides "never crash", it aborts when an invariant breaks:
//   - a parsed request has a service of 1..255 printable ASCII bytes without spaces, at most 32
//     non-empty scopes of at most 4096 bytes, a client_id of printable ASCII, a grant type that
//     matches the endpoint and the credentials it needs (password grant: username and
//     password; refresh_token grant: the token and no password), and no control characters in
//     the user name;
//   - an error is INVALID_ARGUMENT (or UNAUTHENTICATED for a bad Authorization header on GET),
//     its OAuth error is empty, unsupported_grant_type or invalid_scope, and its message never
//     contains the input's password, refresh token or Authorization value (unless, for the
//     header, the same bytes come back when its credentials are replaced: fixed text);
//   - the error reply is valid JSON with status 400 or 401, a 401 carries the Basic challenge.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gateway/token_request.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace {

using ::registryauth::gateway::ParseTokenForm;
using ::registryauth::gateway::ParseTokenQuery;
using ::registryauth::gateway::RestReply;
using ::registryauth::gateway::TokenEndpoint;
using ::registryauth::gateway::TokenError;
using ::registryauth::gateway::TokenErrorReply;
using Request = ::registryauth::v1::IssueRegistryTokenRequest;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Printable(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool NoControl(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

void CheckRequest(const Request& r, TokenEndpoint endpoint) {
  Check(!r.service().empty() && r.service().size() <= 255 && Printable(r.service()) &&
        r.service().find(' ') == std::string::npos);
  Check(r.scopes_size() <= 32);
  for (const std::string& s : r.scopes()) Check(!s.empty() && s.size() <= 4096);
  Check(r.client_id().size() <= 256 && Printable(r.client_id()));
  Check(r.account().size() <= 256 && NoControl(r.account()));
  Check(r.username().size() <= 256 && NoControl(r.username()));
  if (endpoint == TokenEndpoint::kGet) {
    Check(r.grant_type() == Request::GRANT_TYPE_UNSPECIFIED);
    Check(r.username().empty() == r.password().empty());
    Check(r.refresh_token().empty());
  } else if (r.grant_type() == Request::PASSWORD) {
    Check(!r.username().empty() && !r.password().empty() && r.refresh_token().empty());
  } else {
    Check(r.grant_type() == Request::REFRESH_TOKEN);
    Check(!r.refresh_token().empty() && r.password().empty() && r.username().empty());
  }
}

// The secrets of the input, as the parser would decode them, must not show in messages.
void CheckNoSecret(const std::string& message, const Request& seen, std::string_view header,
                   absl::string_view query, TokenEndpoint endpoint) {
  for (const std::string& secret : {seen.password(), seen.refresh_token()}) {
    if (secret.size() >= 6) Check(message.find(secret) == std::string::npos);
  }
  if (endpoint == TokenEndpoint::kGet && header.size() >= 12 &&
      message.find(std::string(header)) != std::string::npos) {
    // Fixed text may contain it ("Basic author" in "malformed Basic authorization header"):
    // then it stays when the credentials after the scheme are other bytes of the same length.
    std::string other(header);
    for (size_t i = std::min(other.find(' ') + 1, other.size()); i < other.size(); ++i) {
      other[i] = other[i] == 'x' ? 'y' : 'x';
    }
    Request again;
    std::optional<TokenError> e = ParseTokenQuery(query, other, &again);
    Check(e.has_value() && e->message.find(std::string(header)) != std::string::npos);
  }
}

void CheckError(const TokenError& e, TokenEndpoint endpoint, std::string_view header) {
  Check(e.code == grpc::StatusCode::INVALID_ARGUMENT ||
        (endpoint == TokenEndpoint::kGet && e.code == grpc::StatusCode::UNAUTHENTICATED));
  Check(e.oauth_error.empty() || e.oauth_error == "unsupported_grant_type" ||
        e.oauth_error == "invalid_scope");
  // Parse errors quote parameter names only (at most a few dozen bytes), never values.
  Check(e.message.size() <= 100);
  (void)header;
  RestReply reply = TokenErrorReply(endpoint, e, "registry-auth");
  Check(reply.status == 400 || reply.status == 401);
  google::protobuf::Struct json;
  Check(google::protobuf::util::JsonStringToMessage(reply.body, &json).ok());
  bool challenged = false;
  for (const auto& [k, v] : reply.headers) {
    if (k == "WWW-Authenticate") challenged = v == "Basic realm=\"registry-auth\"";
  }
  Check(challenged == (reply.status == 401));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nl = text.find('\n');
  const std::string_view header = nl == std::string_view::npos ? "" : text.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? text : text.substr(nl + 1);
  const absl::string_view h(header.data(), header.size());
  const absl::string_view r(rest.data(), rest.size());
  const TokenEndpoint endpoint = data[0] == 'p' ? TokenEndpoint::kPost : TokenEndpoint::kGet;

  // A lenient parse of the same input (the form parser with any Content-Type accepted) tells
  // which secrets the input carries, for the no-echo check.
  Request lenient;
  (void)ParseTokenForm("application/x-www-form-urlencoded", r, &lenient);

  Request req;
  std::optional<TokenError> error =
      endpoint == TokenEndpoint::kGet ? ParseTokenQuery(r, h, &req) : ParseTokenForm(h, r, &req);
  if (error.has_value()) {
    CheckError(*error, endpoint, header);
    CheckNoSecret(error->message, lenient, header, r, endpoint);
  } else {
    CheckRequest(req, endpoint);
  }
  return 0;
}
