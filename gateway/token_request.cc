#include "gateway/token_request.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/secret.h"
#include "gateway/grpc_error.h"
#include "gateway/rest_util.h"
#include "google/protobuf/util/time_util.h"
#include "realm/basic_auth.h"
#include "realm/scope.h"

namespace registryauth::gateway {
namespace {

using Request = v1::IssueRegistryTokenRequest;

constexpr size_t kMaxServiceBytes = 255;
constexpr size_t kMaxClientIdBytes = 256;
constexpr size_t kMaxSecretBytes = realm::kMaxAuthorizationBytes;

TokenError Invalid(std::string message, std::string oauth_error = "") {
  TokenError e;
  e.code = grpc::StatusCode::INVALID_ARGUMENT;
  e.message = std::move(message);
  e.oauth_error = std::move(oauth_error);
  return e;
}

// One known parameter: its name, whether it may repeat, and where its decoded values go.
struct Param {
  const char* name;
  bool repeated = false;
  std::vector<std::string> values;
};

// Wipes every collected value (they may hold a password or a refresh token).
struct ParamSet {
  std::vector<Param> params;
  ~ParamSet() {
    for (Param& p : params) {
      for (std::string& v : p.values) WipeString(v);
    }
  }
  Param* Find(absl::string_view name) {
    for (Param& p : params) {
      if (name == p.name) return &p;
    }
    return nullptr;
  }
  const std::string* One(absl::string_view name) {
    Param* p = Find(name);
    return p == nullptr || p->values.empty() ? nullptr : &p->values.front();
  }
};

// Splits `a=1&b=2` and decodes the values of the known parameters into `set`. Unknown names are
// skipped without decoding their values; known single-valued ones may appear once.
std::optional<TokenError> CollectParams(absl::string_view text, ParamSet* set) {
  if (text.size() > kMaxTokenRequestBytes) return Invalid("request parameters too long");
  size_t count = 0;
  for (absl::string_view piece : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    if (++count > kMaxTokenParams) return Invalid("too many request parameters");
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(piece, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> name = PercentDecode(kv.first, /*plus_as_space=*/true);
    if (!name.ok()) return Invalid("malformed parameter name");
    Param* param = set->Find(*name);
    if (param == nullptr) continue;
    if (!param->repeated && !param->values.empty()) {
      return Invalid(absl::StrCat("parameter \"", param->name, "\" is repeated"));
    }
    absl::StatusOr<std::string> value = PercentDecode(kv.second, /*plus_as_space=*/true);
    if (!value.ok()) {
      return Invalid(absl::StrCat("parameter \"", param->name, "\": ", value.status().message()));
    }
    param->values.push_back(*std::move(value));
  }
  return std::nullopt;
}

bool HasControl(absl::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

// RFC 6749 A.1 VSCHAR (%x20-7E).
bool IsVsChars(absl::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

std::optional<TokenError> TakeService(ParamSet& set, Request* out) {
  const std::string* service = set.One("service");
  if (service == nullptr || service->empty()) {
    return Invalid("parameter \"service\" is required");
  }
  if (service->size() > kMaxServiceBytes || !IsVsChars(*service) ||
      absl::StrContains(*service, ' ')) {
    return Invalid("parameter \"service\": invalid service name");
  }
  out->set_service(*service);
  return std::nullopt;
}

std::optional<TokenError> TakeClientId(ParamSet& set, Request* out) {
  const std::string* client_id = set.One("client_id");
  if (client_id == nullptr) return std::nullopt;
  if (client_id->size() > kMaxClientIdBytes || !IsVsChars(*client_id)) {
    return Invalid("parameter \"client_id\": at most 256 printable ASCII characters");
  }
  out->set_client_id(*client_id);
  return std::nullopt;
}

std::optional<TokenError> TakeScopes(ParamSet& set, Request* out) {
  Param* scopes = set.Find("scope");
  size_t n = 0;
  for (const std::string& scope : scopes->values) {
    if (scope.empty()) continue;
    if (scope.size() > realm::kMaxScopeParamBytes) {
      return Invalid("parameter \"scope\": too long", "invalid_scope");
    }
    if (++n > realm::kMaxResourceScopes) {
      return Invalid("too many \"scope\" parameters", "invalid_scope");
    }
    out->add_scopes(scope);
  }
  return std::nullopt;
}

// A user name (Basic user id, `account`, form `username`): 1..256 bytes, no control characters.
bool IsValidUserName(absl::string_view s) {
  return !s.empty() && s.size() <= realm::kMaxUsernameBytes && !HasControl(s);
}

const char* kPostParams[] = {"grant_type", "service",  "client_id", "access_type",
                             "scope",      "username", "password",  "refresh_token"};
const char* kGetParams[] = {"service", "scope", "account", "client_id", "offline_token"};

// Text for an OAuth error_description: RFC 6749 §5.2 allows %x20-21 / %x23-5B / %x5D-7E only.
std::string OAuthDescription(absl::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out.push_back('\'');
    } else if (c == '\\') {
      out.push_back('/');
    } else if (c < 0x20 || c > 0x7E) {
      out.push_back('?');
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 404;
    default:
      return HttpStatusFromGrpcCode(code);
  }
}

std::string DockerCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHORIZED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "TOOMANYREQUESTS";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "UNSUPPORTED";
    default:
      return std::string(GrpcCodeName(code));
  }
}

std::string OAuthError(const TokenError& error, int http_status) {
  if (!error.oauth_error.empty()) return error.oauth_error;
  switch (error.code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return error.reason == "INVALID_SCOPE" ? "invalid_scope" : "invalid_request";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "invalid_grant";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "unauthorized_client";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "temporarily_unavailable";
    default:
      return http_status < 500 ? "invalid_request" : "server_error";
  }
}

void AddNoStore(RestReply* reply) {
  reply->headers.emplace_back("Cache-Control", "no-store");
  reply->headers.emplace_back("Pragma", "no-cache");
}

}  // namespace

std::optional<TokenError> ParseTokenQuery(absl::string_view query, absl::string_view authorization,
                                          v1::IssueRegistryTokenRequest* out) {
  out->Clear();
  ParamSet set;
  for (const char* name : kGetParams) {
    set.params.push_back(Param{name, name == std::string_view("scope"), {}});
  }
  if (auto e = CollectParams(query, &set)) return e;
  if (auto e = TakeService(set, out)) return e;
  if (auto e = TakeScopes(set, out)) return e;
  if (auto e = TakeClientId(set, out)) return e;
  if (const std::string* account = set.One("account")) {
    if (!account->empty()) {
      if (!IsValidUserName(*account)) {
        return Invalid("parameter \"account\": at most 256 bytes, no control characters");
      }
      out->set_account(*account);
    }
  }
  if (const std::string* offline = set.One("offline_token")) {
    const std::string v = absl::AsciiStrToLower(*offline);
    if (v == "true" || v == "1") {
      out->set_offline_token(true);
    } else if (v != "false" && v != "0") {
      return Invalid("parameter \"offline_token\": expected true or false");
    }
  }
  out->set_grant_type(v1::IssueRegistryTokenRequest::GRANT_TYPE_UNSPECIFIED);
  if (!authorization.empty()) {
    absl::StatusOr<realm::BasicCredentials> creds = realm::ParseBasicAuthorization(
        std::string_view(authorization.data(), authorization.size()));
    if (!creds.ok()) {
      TokenError e;
      e.code = grpc::StatusCode::UNAUTHENTICATED;
      // The parser's messages are fixed sentences that never quote the header.
      e.message = std::string(creds.status().message());
      WipeTokenSecrets(out);
      return e;
    }
    out->set_username(creds->username);
    out->set_password(std::string(creds->password.view()));
  }
  return std::nullopt;
}

std::optional<TokenError> ParseTokenForm(absl::string_view content_type, absl::string_view body,
                                         v1::IssueRegistryTokenRequest* out) {
  out->Clear();
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  media = absl::StripAsciiWhitespace(media);
  if (!absl::EqualsIgnoreCase(media, "application/x-www-form-urlencoded")) {
    return Invalid("Content-Type must be application/x-www-form-urlencoded");
  }
  ParamSet set;
  for (const char* name : kPostParams) set.params.push_back(Param{name, false, {}});
  if (auto e = CollectParams(body, &set)) return e;
  const std::string* grant = set.One("grant_type");
  if (grant == nullptr || grant->empty()) {
    return Invalid("parameter \"grant_type\" is required");
  }
  if (*grant != "password" && *grant != "refresh_token") {
    return Invalid("grant_type must be password or refresh_token", "unsupported_grant_type");
  }
  if (auto e = TakeService(set, out)) return e;
  if (auto e = TakeScopes(set, out)) return e;
  if (auto e = TakeClientId(set, out)) return e;
  if (const std::string* access = set.One("access_type")) {
    if (*access == "offline") {
      out->set_offline_token(true);
    } else if (*access != "online") {
      return Invalid("parameter \"access_type\": expected offline or online");
    }
  }
  if (*grant == "password") {
    out->set_grant_type(v1::IssueRegistryTokenRequest::PASSWORD);
    const std::string* username = set.One("username");
    const std::string* password = set.One("password");
    if (username == nullptr || username->empty() || password == nullptr || password->empty()) {
      return Invalid("grant_type password needs username and password");
    }
    if (!IsValidUserName(*username)) {
      return Invalid("parameter \"username\": at most 256 bytes, no control characters");
    }
    if (password->size() > kMaxSecretBytes) return Invalid("parameter \"password\": too long");
    out->set_username(*username);
    out->set_password(*password);
  } else {
    out->set_grant_type(v1::IssueRegistryTokenRequest::REFRESH_TOKEN);
    const std::string* token = set.One("refresh_token");
    if (token == nullptr || token->empty()) {
      return Invalid("grant_type refresh_token needs refresh_token");
    }
    if (token->size() > kMaxSecretBytes) {
      return Invalid("parameter \"refresh_token\": too long");
    }
    out->set_refresh_token(*token);
  }
  return std::nullopt;
}

TokenError TokenErrorFromStatus(const grpc::Status& status) {
  TokenError e;
  e.code = status.error_code();
  e.message = status.error_message();
  if (std::optional<v1::ErrorDetail> detail = ErrorDetailOf(status)) e.reason = detail->reason();
  e.retry_after_seconds = RetryAfterSeconds(status);
  return e;
}

RestReply TokenErrorReply(TokenEndpoint endpoint, const TokenError& error,
                          absl::string_view basic_realm) {
  RestReply reply;
  reply.status = HttpStatusFor(error.code);
  const absl::string_view message = IsValidUtf8(error.message)
                                        ? absl::string_view(error.message)
                                        : absl::string_view("(message is not valid UTF-8)");
  std::string errors = R"("errors":[{"code":)";
  AppendJsonString(DockerCode(error.code), &errors);
  errors.append(R"(,"message":)");
  AppendJsonString(message, &errors);
  if (!error.reason.empty() && IsValidUtf8(error.reason)) {
    errors.append(R"(,"detail":{"reason":)");
    AppendJsonString(error.reason, &errors);
    errors.append("}");
  }
  errors.append("}]");
  if (endpoint == TokenEndpoint::kGet) {
    reply.body = absl::StrCat("{", errors, "}");
  } else {
    reply.body = R"({"error":)";
    AppendJsonString(OAuthError(error, reply.status), &reply.body);
    reply.body.append(R"(,"error_description":)");
    AppendJsonString(OAuthDescription(message), &reply.body);
    absl::StrAppend(&reply.body, ",", errors, "}");
  }
  AddNoStore(&reply);
  if (reply.status == 401) {
    reply.headers.emplace_back("WWW-Authenticate",
                               absl::StrCat("Basic realm=\"", basic_realm, "\""));
  }
  std::optional<int64_t> retry = error.retry_after_seconds;
  if (reply.status == 429 && !retry.has_value()) retry = 1;
  if ((reply.status == 429 || reply.status == 503) && retry.has_value()) {
    reply.headers.emplace_back("Retry-After", absl::StrCat(std::max<int64_t>(*retry, 1)));
  }
  return reply;
}

RestReply TokenSuccessReply(TokenEndpoint endpoint, const v1::IssueRegistryTokenResponse& response,
                            absl::string_view basic_realm) {
  auto internal = [&](const char* what) {
    TokenError e;
    e.code = grpc::StatusCode::INTERNAL;
    e.message = what;
    return TokenErrorReply(endpoint, e, basic_realm);
  };
  if (response.token().empty() || !IsValidUtf8(response.token()) ||
      !IsValidUtf8(response.refresh_token())) {
    return internal("the token service returned an unusable token");
  }
  for (const std::string& scope : response.granted_scopes()) {
    if (!IsValidUtf8(scope)) return internal("the token service returned an unusable scope");
  }
  const google::protobuf::Timestamp& issued = response.issued_at();
  if (response.has_issued_at() &&
      (issued.seconds() < google::protobuf::util::TimeUtil::kTimestampMinSeconds ||
       issued.seconds() > google::protobuf::util::TimeUtil::kTimestampMaxSeconds ||
       issued.nanos() < 0 || issued.nanos() > 999999999)) {
    return internal("the token service returned an invalid issue time");
  }
  RestReply reply;
  std::string& b = reply.body;
  b.reserve(2 * response.token().size() + response.refresh_token().size() + 160);
  b = R"({"token":)";
  AppendJsonString(response.token(), &b);
  b.append(R"(,"access_token":)");
  AppendJsonString(response.token(), &b);
  absl::StrAppend(&b, R"(,"expires_in":)", response.expires_in());
  if (response.has_issued_at()) {
    b.append(R"(,"issued_at":)");
    AppendJsonString(google::protobuf::util::TimeUtil::ToString(issued), &b);
  }
  if (!response.refresh_token().empty()) {
    b.append(R"(,"refresh_token":)");
    AppendJsonString(response.refresh_token(), &b);
  }
  if (endpoint == TokenEndpoint::kPost) {
    b.append(R"(,"scope":)");
    AppendJsonString(absl::StrJoin(response.granted_scopes(), " "), &b);
  }
  b.append("}");
  AddNoStore(&reply);
  return reply;
}

void WipeTokenSecrets(v1::IssueRegistryTokenRequest* request) {
  WipeString(*request->mutable_password());
  WipeString(*request->mutable_refresh_token());
}

}  // namespace registryauth::gateway
