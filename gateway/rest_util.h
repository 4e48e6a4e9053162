// Small pure helpers of the HTTP gateway: URL percent-decoding, query-string parsing, UTF-8
// checks, and the grpc-gateway mapping from gRPC status codes to HTTP statuses and JSON error
// bodies. No I/O, no state; every function is thread-safe.
//
//   ASSIGN_OR_RETURN(auto params, ParseQueryString("page_size=10&page_token=a%2Bb"));
//   int http = HttpStatusFromGrpcCode(grpc::StatusCode::NOT_FOUND);  // 404
#ifndef REGISTRY_AUTH_GATEWAY_REST_UTIL_H_
#define REGISTRY_AUTH_GATEWAY_REST_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace registryauth::gateway {

// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`, the form encoding used in
// query strings). INVALID_ARGUMENT on a truncated or non-hex escape or when the decoded bytes
// are not valid UTF-8.
absl::StatusOr<std::string> PercentDecode(absl::string_view in, bool plus_as_space);

// Parses `a=1&b=x%20y` into decoded (key, value) pairs in order. Empty pieces (`a=1&&b=2`) are
// skipped; a piece without `=` has an empty value. INVALID_ARGUMENT on bad percent-encoding.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    absl::string_view query);

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

// The HTTP status grpc-gateway uses for a gRPC code (NOT_FOUND -> 404, ABORTED -> 409, ...).
int HttpStatusFromGrpcCode(grpc::StatusCode code);

// The canonical upper-case name of a gRPC code, e.g. "INVALID_ARGUMENT".
absl::string_view GrpcCodeName(grpc::StatusCode code);

// `{"code":3,"message":"...","status":"INVALID_ARGUMENT"}` with `message` JSON-escaped.
std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

// Appends `s` to `out` as a JSON string literal (quotes included).
void AppendJsonString(absl::string_view s, std::string* out);

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_REST_UTIL_H_
