#include "gateway/token_request.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/grpc_error.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "realm/basic_auth.h"

namespace registryauth::gateway {
namespace {

using Request = v1::IssueRegistryTokenRequest;
using ::google::protobuf::Struct;

std::string Header(const RestReply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

Struct Json(const std::string& body) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &s).ok()) << body;
  return s;
}

std::vector<std::string> Scopes(const Request& r) {
  return std::vector<std::string>(r.scopes().begin(), r.scopes().end());
}

TEST(ParseTokenQueryTest, DockerStyleRequests) {
  Request r;
  // What Go's url.Values.Encode makes of docker's and containerd's GET: escaped ':' ',' '/',
  // repeated scope, offline_token and client_id.
  ASSERT_FALSE(
      ParseTokenQuery("account=acme%2Bbuilder&client_id=docker&offline_token=true&"
                      "scope=repository%3Aacme%2Fweb%3Apull%2Cpush&"
                      "scope=repository%3Aacme%2Fapi%3Apull&service=registry.test",
                      realm::FormatBasicAuthorization("acme+builder", "s3cret:x"), &r));
  EXPECT_EQ(r.grant_type(), Request::GRANT_TYPE_UNSPECIFIED);
  EXPECT_EQ(r.service(), "registry.test");
  EXPECT_EQ(Scopes(r), (std::vector<std::string>{"repository:acme/web:pull,push",
                                                 "repository:acme/api:pull"}));
  EXPECT_EQ(r.account(), "acme+builder");
  EXPECT_EQ(r.client_id(), "docker");
  EXPECT_TRUE(r.offline_token());
  EXPECT_EQ(r.username(), "acme+builder");
  EXPECT_EQ(r.password(), "s3cret:x");

  // Anonymous, unescaped, '+' and %20 inside one scope value, empty scope skipped, unknown
  // parameters ignored.
  ASSERT_FALSE(
      ParseTokenQuery("service=registry.test&scope=repository:a/b:pull+repository:"
                      "a/c:pull%20registry:catalog:*&scope=&foo=%zz&offline_token=FALSE",
                      "", &r));
  EXPECT_EQ(
      Scopes(r),
      (std::vector<std::string>{"repository:a/b:pull repository:a/c:pull registry:catalog:*"}));
  EXPECT_FALSE(r.offline_token());
  EXPECT_TRUE(r.username().empty());
  EXPECT_TRUE(r.password().empty());
  ASSERT_FALSE(ParseTokenQuery("service=registry.test&offline_token=1", "", &r));
  EXPECT_TRUE(r.offline_token());
}

TEST(ParseTokenQueryTest, BadInputsAre400Or401) {
  const std::string huge(kMaxTokenRequestBytes + 1, 'a');
  std::string many_scopes = "service=s";
  for (int i = 0; i < 33; ++i) absl::StrAppend(&many_scopes, "&scope=repository:a/b", i, ":pull");
  std::string many_params = "service=s";
  for (int i = 0; i < 70; ++i) absl::StrAppend(&many_params, "&x", i, "=1");
  const struct {
    std::string query;
    std::string authorization;
    grpc::StatusCode code;
    const char* message_part;
  } cases[] = {
      {"", "", grpc::StatusCode::INVALID_ARGUMENT, "\"service\" is required"},
      {"scope=repository:a/b:pull", "", grpc::StatusCode::INVALID_ARGUMENT, "service"},
      {"service=", "", grpc::StatusCode::INVALID_ARGUMENT, "service"},
      {"service=a+b", "", grpc::StatusCode::INVALID_ARGUMENT, "invalid service"},
      {"service=a&service=b", "", grpc::StatusCode::INVALID_ARGUMENT, "repeated"},
      {"service=a&account=x&account=y", "", grpc::StatusCode::INVALID_ARGUMENT, "repeated"},
      {"service=a&client_id=x&client_id=x", "", grpc::StatusCode::INVALID_ARGUMENT, "repeated"},
      {"service=a&offline_token=yes", "", grpc::StatusCode::INVALID_ARGUMENT, "offline_token"},
      {"service=a&offline_token=", "", grpc::StatusCode::INVALID_ARGUMENT, "offline_token"},
      {"service=a&offline_token=true&offline_token=true", "", grpc::StatusCode::INVALID_ARGUMENT,
       "repeated"},
      {"service=a%zz", "", grpc::StatusCode::INVALID_ARGUMENT, "percent-encoding"},
      {"service=a%4", "", grpc::StatusCode::INVALID_ARGUMENT, "percent-encoding"},
      {"service=a&scope=%ff", "", grpc::StatusCode::INVALID_ARGUMENT, "UTF-8"},
      {"%ff=1&service=a", "", grpc::StatusCode::INVALID_ARGUMENT, "parameter name"},
      {"service=a&client_id=%C3%A9", "", grpc::StatusCode::INVALID_ARGUMENT, "client_id"},
      {"service=a&account=a%0Ab", "", grpc::StatusCode::INVALID_ARGUMENT, "account"},
      {"service=" + std::string(256, 's'), "", grpc::StatusCode::INVALID_ARGUMENT, "service"},
      {"service=a&scope=" + std::string(4097, 'x'), "", grpc::StatusCode::INVALID_ARGUMENT,
       "too long"},
      {"service=a&" + huge, "", grpc::StatusCode::INVALID_ARGUMENT, "too long"},
      {many_scopes, "", grpc::StatusCode::INVALID_ARGUMENT, "too many"},
      {many_params, "", grpc::StatusCode::INVALID_ARGUMENT, "too many"},
      {"service=a", "Bearer abc", grpc::StatusCode::UNAUTHENTICATED, "not Basic"},
      {"service=a", "Basic !!!!", grpc::StatusCode::UNAUTHENTICATED, "malformed"},
      {"service=a", "Basic " + std::string(5000, 'A'), grpc::StatusCode::UNAUTHENTICATED,
       "too long"},
  };
  for (const auto& c : cases) {
    Request r;
    std::optional<TokenError> e = ParseTokenQuery(c.query, c.authorization, &r);
    ASSERT_TRUE(e.has_value()) << c.query.substr(0, 80);
    EXPECT_EQ(e->code, c.code) << c.query.substr(0, 80);
    EXPECT_TRUE(absl::StrContains(e->message, c.message_part))
        << c.query.substr(0, 80) << " -> " << e->message;
    EXPECT_TRUE(r.password().empty());
  }
}

TEST(ParseTokenFormTest, PasswordAndRefreshTokenGrants) {
  Request r;
  // containerd's FetchTokenWithOAuth: form-encoded, scopes joined by spaces ('+').
  ASSERT_FALSE(ParseTokenForm("application/x-www-form-urlencoded; charset=utf-8",
                              "access_type=offline&client_id=containerd-client&"
                              "grant_type=password&password=p%26ss%3Dw%2Bord&"
                              "scope=repository%3Aacme%2Fweb%3Apull+repository%3Aacme%2Fweb%3Apush"
                              "&service=registry.test&username=acme%2Bbuilder",
                              &r));
  EXPECT_EQ(r.grant_type(), Request::PASSWORD);
  EXPECT_EQ(r.service(), "registry.test");
  EXPECT_EQ(Scopes(r),
            (std::vector<std::string>{"repository:acme/web:pull repository:acme/web:push"}));
  EXPECT_EQ(r.client_id(), "containerd-client");
  EXPECT_TRUE(r.offline_token());
  EXPECT_EQ(r.username(), "acme+builder");
  EXPECT_EQ(r.password(), "p&ss=w+ord");

  ASSERT_FALSE(ParseTokenForm("Application/X-WWW-Form-Urlencoded",
                              "grant_type=refresh_token&refresh_token=rt-1&service=registry.test&"
                              "access_type=online&username=ignored",
                              &r));
  EXPECT_EQ(r.grant_type(), Request::REFRESH_TOKEN);
  EXPECT_EQ(r.refresh_token(), "rt-1");
  EXPECT_FALSE(r.offline_token());
  EXPECT_TRUE(r.username().empty());
  EXPECT_EQ(r.scopes_size(), 0);
}

TEST(ParseTokenFormTest, BadFormsAre400WithTheOAuthError) {
  const std::string ct = "application/x-www-form-urlencoded";
  const struct {
    std::string content_type;
    std::string body;
    const char* oauth_error;  // "" = invalid_request (derived)
    const char* message_part;
  } cases[] = {
      {"application/json", "grant_type=password", "", "Content-Type"},
      {"", "grant_type=password", "", "Content-Type"},
      {ct, "service=s", "", "\"grant_type\" is required"},
      {ct, "grant_type=client_credentials&service=s", "unsupported_grant_type", "grant_type"},
      {ct, "grant_type=authorization_code&service=s", "unsupported_grant_type", "grant_type"},
      {ct, "grant_type=Password&service=s&username=u&password=p", "unsupported_grant_type", ""},
      {ct, "grant_type=password&username=u&password=p", "", "service"},
      {ct, "grant_type=password&service=s&password=p", "", "username and password"},
      {ct, "grant_type=password&service=s&username=u", "", "username and password"},
      {ct, "grant_type=password&service=s&username=u&password=", "", "username and password"},
      {ct, "grant_type=refresh_token&service=s", "", "needs refresh_token"},
      {ct, "grant_type=password&service=s&username=u&password=p&password=q", "", "repeated"},
      {ct, "grant_type=password&grant_type=password&service=s&username=u&password=p", "",
       "repeated"},
      {ct, "grant_type=password&service=s&username=u&password=p&scope=a&scope=b", "", "repeated"},
      {ct, "grant_type=password&service=s&username=u&password=p&access_type=forever", "",
       "access_type"},
      {ct, "grant_type=password&service=s&username=u&password=%zzsecret", "", "password"},
      {ct, "grant_type=password&service=s&username=u%01&password=p", "", "username"},
      {ct, "grant_type=password&service=s&username=u&password=" + std::string(5000, 'p'), "",
       "too long"},
      {ct, "grant_type=password&service=s&username=u&password=p&scope=" + std::string(4097, 'x'),
       "invalid_scope", "too long"},
      {ct, std::string(kMaxTokenRequestBytes + 1, '&'), "", "too long"},
  };
  for (const auto& c : cases) {
    Request r;
    std::optional<TokenError> e = ParseTokenForm(c.content_type, c.body, &r);
    ASSERT_TRUE(e.has_value()) << c.body.substr(0, 80);
    EXPECT_EQ(e->code, grpc::StatusCode::INVALID_ARGUMENT) << c.body.substr(0, 80);
    EXPECT_EQ(e->oauth_error, c.oauth_error) << c.body.substr(0, 80);
    EXPECT_TRUE(absl::StrContains(e->message, c.message_part))
        << c.body.substr(0, 80) << " -> " << e->message;
    EXPECT_FALSE(absl::StrContains(e->message, "secret")) << e->message;
    RestReply reply = TokenErrorReply(TokenEndpoint::kPost, *e, "registry-auth");
    EXPECT_EQ(reply.status, 400);
    Struct body = Json(reply.body);
    EXPECT_EQ(body.fields().at("error").string_value(),
              *c.oauth_error ? c.oauth_error : "invalid_request");
  }
}

TEST(TokenReplyTest, SuccessBodiesForGetAndPost) {
  v1::IssueRegistryTokenResponse resp;
  resp.set_token("eyJ.a.b");
  resp.set_expires_in(300);
  resp.mutable_issued_at()->set_seconds(1795428000);
  resp.add_granted_scopes("repository:acme/web:pull");
  resp.add_granted_scopes("repository:acme/api:pull,push");
  RestReply get = TokenSuccessReply(TokenEndpoint::kGet, resp, "r");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.content_type, "application/json");
  EXPECT_EQ(get.body, R"({"token":"eyJ.a.b","access_token":"eyJ.a.b","expires_in":300,)"
                      R"("issued_at":"2026-11-23T10:00:00Z"})");
  EXPECT_EQ(Header(get, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(get, "Pragma"), "no-cache");

  resp.set_refresh_token("rt-1");
  RestReply post = TokenSuccessReply(TokenEndpoint::kPost, resp, "r");
  EXPECT_EQ(post.body, R"({"token":"eyJ.a.b","access_token":"eyJ.a.b","expires_in":300,)"
                       R"("issued_at":"2026-11-23T10:00:00Z","refresh_token":"rt-1",)"
                       R"("scope":"repository:acme/web:pull repository:acme/api:pull,push"})");

  // No scopes granted: "scope" is still there, empty (oauth.md makes it required).
  resp.clear_granted_scopes();
  resp.clear_issued_at();
  EXPECT_EQ(TokenSuccessReply(TokenEndpoint::kPost, resp, "r").body,
            R"({"token":"eyJ.a.b","access_token":"eyJ.a.b","expires_in":300,)"
            R"("refresh_token":"rt-1","scope":""})");

  // Unusable responses are a 500, not broken JSON.
  resp.set_token("");
  EXPECT_EQ(TokenSuccessReply(TokenEndpoint::kGet, resp, "r").status, 500);
  resp.set_token("t");
  resp.add_granted_scopes("\xff");
  EXPECT_EQ(TokenSuccessReply(TokenEndpoint::kPost, resp, "r").status, 500);
  resp.clear_granted_scopes();
  resp.mutable_issued_at()->set_seconds(-1000000000000LL);
  EXPECT_EQ(TokenSuccessReply(TokenEndpoint::kGet, resp, "r").status, 500);
}

grpc::Status WithDetail(grpc::StatusCode code, const std::string& message, const char* reason,
                        int64_t retry_seconds = -1) {
  v1::ErrorDetail d;
  d.set_reason(reason);
  if (retry_seconds >= 0) {
    d.set_retryable(true);
    d.mutable_retry_after()->set_seconds(retry_seconds);
  }
  return grpc::Status(code, message, EncodeErrorDetails(code, message, d));
}

TEST(TokenReplyTest, ErrorMapping) {
  const struct {
    grpc::Status status;
    int http;
    const char* docker_code;
    const char* oauth_error;
    const char* www_authenticate;
    const char* retry_after;
  } cases[] = {
      {WithDetail(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials", "INVALID_CREDENTIALS"),
       401, "UNAUTHORIZED", "invalid_grant", R"(Basic realm="my realm")", "<absent>"},
      {WithDetail(grpc::StatusCode::INVALID_ARGUMENT, "service: unknown", "UNKNOWN_SERVICE"), 400,
       "INVALID_ARGUMENT", "invalid_request", "<absent>", "<absent>"},
      {WithDetail(grpc::StatusCode::INVALID_ARGUMENT, "scope: bad", "INVALID_SCOPE"), 400,
       "INVALID_ARGUMENT", "invalid_scope", "<absent>", "<absent>"},
      {WithDetail(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many failed logins",
                  "TOO_MANY_FAILED_LOGINS", 30),
       429, "TOOMANYREQUESTS", "temporarily_unavailable", "<absent>", "30"},
      {grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down"), 429, "TOOMANYREQUESTS",
       "temporarily_unavailable", "<absent>", "1"},
      {WithDetail(grpc::StatusCode::RESOURCE_EXHAUSTED, "x", "TOO_MANY_FAILED_LOGINS", 0), 429,
       "TOOMANYREQUESTS", "temporarily_unavailable", "<absent>", "1"},
      {grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no token realm"), 404, "UNSUPPORTED",
       "invalid_request", "<absent>", "<absent>"},
      {WithDetail(grpc::StatusCode::UNAVAILABLE, "db down", "DATABASE_UNAVAILABLE", 2), 503,
       "UNAVAILABLE", "temporarily_unavailable", "<absent>", "2"},
      {grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), 503, "UNAVAILABLE",
       "temporarily_unavailable", "<absent>", "<absent>"},
      {grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no"), 403, "DENIED",
       "unauthorized_client", "<absent>", "<absent>"},
      {grpc::Status(grpc::StatusCode::INTERNAL, "boom"), 500, "INTERNAL", "server_error",
       "<absent>", "<absent>"},
      {grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "later"), 501, "UNSUPPORTED", "server_error",
       "<absent>", "<absent>"},
      {grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow"), 504, "DEADLINE_EXCEEDED",
       "temporarily_unavailable", "<absent>", "<absent>"},
  };
  for (const auto& c : cases) {
    const TokenError error = TokenErrorFromStatus(c.status);
    for (TokenEndpoint endpoint : {TokenEndpoint::kGet, TokenEndpoint::kPost}) {
      RestReply r = TokenErrorReply(endpoint, error, "my realm");
      EXPECT_EQ(r.status, c.http) << c.status.error_message();
      EXPECT_EQ(Header(r, "WWW-Authenticate"), c.www_authenticate) << r.status;
      EXPECT_EQ(Header(r, "Retry-After"), c.retry_after) << r.status;
      EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
      Struct body = Json(r.body);
      const auto& err = body.fields().at("errors").list_value().values(0).struct_value();
      EXPECT_EQ(err.fields().at("code").string_value(), c.docker_code) << r.body;
      EXPECT_EQ(err.fields().at("message").string_value(), c.status.error_message());
      if (endpoint == TokenEndpoint::kPost) {
        EXPECT_EQ(body.fields().at("error").string_value(), c.oauth_error) << r.body;
        EXPECT_EQ(body.fields().at("error_description").string_value(), c.status.error_message());
      } else {
        EXPECT_EQ(body.fields().count("error"), 0u);
      }
    }
  }
  // The reason travels in "detail"; an OAuth description keeps to RFC 6749's characters.
  TokenError e = TokenErrorFromStatus(
      WithDetail(grpc::StatusCode::UNAUTHENTICATED, "bad \"creds\" \\ é", "INVALID_CREDENTIALS"));
  EXPECT_EQ(TokenErrorReply(TokenEndpoint::kGet, e, "r").body,
            R"({"errors":[{"code":"UNAUTHORIZED","message":"bad \"creds\" \\ é",)"
            R"("detail":{"reason":"INVALID_CREDENTIALS"}}]})");
  EXPECT_TRUE(
      absl::StartsWith(TokenErrorReply(TokenEndpoint::kPost, e, "r").body,
                       R"({"error":"invalid_grant","error_description":"bad 'creds' / ??")"));
}

TEST(WipeTokenSecretsTest, ClearsPasswordAndRefreshToken) {
  Request r;
  r.set_username("u");
  r.set_password("p");
  r.set_refresh_token("t");
  WipeTokenSecrets(&r);
  EXPECT_EQ(r.username(), "u");
  EXPECT_TRUE(r.password().empty());
  EXPECT_TRUE(r.refresh_token().empty());
}

}  // namespace
}  // namespace registryauth::gateway
