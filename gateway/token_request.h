// The Docker token realm over HTTP, transport-free: turns `GET /token` (query string + Basic
// Authorization) and `POST /token` (OAuth2 form) into an IssueRegistryTokenRequest, and the
// response or gRPC error into the HTTP reply Docker, containerd/skopeo and OAuth2 clients
// expect (distribution docs/spec/auth/token.md and oauth.md; RFC 6749 §5.1, §5.2).
//
// Parameters (percent-decoded, `+` is a space; values must be UTF-8):
//   GET:  service (required), scope (repeatable; empty values skipped), account, client_id,
//         offline_token (true/false/1/0, any case). Credentials from `Authorization: Basic`
//         (realm/basic_auth.h); no header = anonymous. grant_type stays UNSPECIFIED. The body
//         is ignored.
//   POST: Content-Type application/x-www-form-urlencoded (parameters such as charset allowed);
//         grant_type (password | refresh_token, required), service (required), client_id,
//         access_type (offline | online), scope (once; space-separated scopes), username and
//         password (grant_type=password), refresh_token (grant_type=refresh_token). The query
//         string and any Authorization header are ignored (never forwarded).
// Every parameter except GET's `scope` may appear once; unknown parameters are ignored
// (RFC 6749 §3.2). Limits: 64 KiB of query or form, 64 parameters, 32 `scope` values of at
// most 4 KiB each, user names and client ids of 256 bytes, secrets of 4 KiB.
//
// Replies (all with Cache-Control: no-store and Pragma: no-cache):
//   200 {"token":T,"access_token":T,"expires_in":N,"issued_at":"2026-11-23T10:00:00Z"}
//       plus "refresh_token" when the response has one, and for POST "scope" (the granted
//       scopes joined by spaces; "" when none). issued_at is left out when unset.
//   Errors: GET bodies use the Docker registry error format,
//       {"errors":[{"code":"UNAUTHORIZED","message":"...","detail":{"reason":"..."}}]}
//     (detail only when the service sent an ErrorDetail reason); POST bodies are the RFC 6749
//     §5.2 object with the same "errors" array added, so Docker's client prints the message:
//       {"error":"invalid_grant","error_description":"...","errors":[...]}
//     gRPC code        HTTP  Docker code      OAuth error
//     INVALID_ARGUMENT  400  INVALID_ARGUMENT invalid_request (invalid_scope for reason
//                                              INVALID_SCOPE; unsupported_grant_type)
//     UNAUTHENTICATED   401  UNAUTHORIZED     invalid_grant    + WWW-Authenticate: Basic realm
//     PERMISSION_DENIED 403  DENIED           unauthorized_client
//     FAILED_PRECONDITION 404 UNSUPPORTED     invalid_request  (no realm configured: the
//                                              endpoint is not served, so not a retryable 503)
//     RESOURCE_EXHAUSTED 429 TOOMANYREQUESTS  temporarily_unavailable + Retry-After (>= 1 s)
//     UNAVAILABLE       503  UNAVAILABLE      temporarily_unavailable (+ Retry-After if given)
//     others: the grpc-gateway status; Docker code = the gRPC code name (UNIMPLEMENTED:
//     UNSUPPORTED); OAuth error invalid_request for 4xx, server_error for 5xx.
// Messages never contain a password, refresh token or Authorization value: parse errors name
// the parameter only, and service messages are passed on as the service wrote them.
//
//   v1::IssueRegistryTokenRequest req;
//   if (auto error = ParseTokenQuery(query, authorization, &req)) {
//     return TokenErrorReply(TokenEndpoint::kGet, *error, "registry-auth");
//   }
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_GATEWAY_TOKEN_REQUEST_H_
#define REGISTRY_AUTH_GATEWAY_TOKEN_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "gateway/rest_types.h"
#include "grpcpp/support/status.h"
#include "proto/registryauth/v1/registry_auth.pb.h"

namespace registryauth::gateway {

inline constexpr size_t kMaxTokenRequestBytes = 64 * 1024;
inline constexpr size_t kMaxTokenParams = 64;

enum class TokenEndpoint { kGet, kPost };

// What went wrong with a /token request, while parsing it or in the IssueRegistryToken call.
struct TokenError {
  grpc::StatusCode code = grpc::StatusCode::INVALID_ARGUMENT;
  std::string message;      // Shown to the client; never a credential.
  std::string oauth_error;  // RFC 6749 §5.2 code; empty: derived from `code` (table above).
  std::string reason;       // ErrorDetail.reason from the service, if any.
  std::optional<int64_t> retry_after_seconds;
};

// GET /token: `query` is the raw query string (no '?'), `authorization` the Authorization
// header value ("" when absent). Fills `out` and returns nullopt, or returns the error
// (INVALID_ARGUMENT; UNAUTHENTICATED for an Authorization header that is not valid Basic).
std::optional<TokenError> ParseTokenQuery(absl::string_view query, absl::string_view authorization,
                                          v1::IssueRegistryTokenRequest* out);

// POST /token: the Content-Type header value and the body. Fills `out` and returns nullopt, or
// returns the error (INVALID_ARGUMENT; oauth_error "unsupported_grant_type" for an unknown
// grant_type).
std::optional<TokenError> ParseTokenForm(absl::string_view content_type, absl::string_view body,
                                         v1::IssueRegistryTokenRequest* out);

// The error of a failed IssueRegistryToken call, with the reason and retry delay of its
// ErrorDetail.
TokenError TokenErrorFromStatus(const grpc::Status& status);

// The HTTP reply for `error` (status, JSON body, headers; see the table above). `basic_realm`
// is the realm of the WWW-Authenticate challenge.
RestReply TokenErrorReply(TokenEndpoint endpoint, const TokenError& error,
                          absl::string_view basic_realm);

// The 200 reply for a successful call; a 500 error reply if the response cannot be encoded
// (empty token, text that is not UTF-8, a timestamp out of range).
RestReply TokenSuccessReply(TokenEndpoint endpoint, const v1::IssueRegistryTokenResponse& response,
                            absl::string_view basic_realm);

// Wipes the password and refresh token of a request that is done with.
void WipeTokenSecrets(v1::IssueRegistryTokenRequest* request);

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_TOKEN_REQUEST_H_
