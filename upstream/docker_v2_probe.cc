#include "upstream/docker_v2_probe.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "upstream/www_authenticate.h"

namespace registryauth::upstream {
namespace {

constexpr char kPing[] = "ping";
constexpr char kToken[] = "token";
constexpr char kAuthenticate[] = "authenticate";

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         absl::AsciiStrToLower(ToAbsl(s.substr(0, prefix.size()))) == ToAbsl(prefix);
}

// Checks an absolute http(s) URL enough to print it and hand it to the HTTP client: a host,
// no user info, no whitespace or control characters.
bool IsPlainHttpUrl(std::string_view url) {
  std::size_t rest = 0;
  if (StartsWithIgnoreCase(url, "https://")) {
    rest = 8;
  } else if (StartsWithIgnoreCase(url, "http://")) {
    rest = 7;
  } else {
    return false;
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  const std::size_t end = url.find_first_of("/?#", rest);
  const std::string_view authority =
      url.substr(rest, end == std::string_view::npos ? std::string_view::npos : end - rest);
  return !authority.empty() && authority.find('@') == std::string_view::npos;
}

bool IsHttps(std::string_view url) { return StartsWithIgnoreCase(url, "https://"); }

// What a detail may show of a URL: everything before the query.
// The host of an http(s) URL in lower case, without user info or port ("" if there is none).
std::string HostOf(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    rest =
        rest.substr(0, rest.find(']') == std::string_view::npos ? rest.size() : rest.find(']') + 1);
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  std::string host(rest);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

std::string Display(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

std::string PercentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

// "Basic base64(user:password)" in a buffer that is wiped when freed.
SecretString BasicAuthorization(std::string_view username, const SecretString& password) {
  SecretString plain;
  plain.append(username);
  plain.append(":");
  plain.append(password.view());
  SecretString out;
  out.append("Basic ");
  const std::size_t prefix = out.size();
  out.resize(prefix + 4 * ((plain.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.mutable_data() + prefix),
                                plain.bytes(), static_cast<int>(plain.size()));
  out.resize(prefix + static_cast<std::size_t>(n));
  return out;
}

// A token is sent in a header: printable ASCII without spaces, bounded.
bool IsUsableToken(const std::string& token) {
  if (token.empty() || token.size() > 16 * 1024) return false;
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::optional<absl::Duration> RetryAfter(const HttpResponse& response) {
  const std::optional<std::string> value = response.Header("retry-after");
  int seconds = 0;
  if (value.has_value() && absl::SimpleAtoi(ToAbsl(*value), &seconds) && seconds >= 0 &&
      seconds <= 24 * 3600) {
    return absl::Seconds(seconds);
  }
  return std::nullopt;
}

class ProbeRun {
 public:
  ProbeRun(HttpClient& http, const Clock& clock, const RegistryProbeRequest& request)
      : http_(http), clock_(clock), request_(request) {}

  ProbeResult Run() {
    std::string base = request_.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v2") == 0)
      base.resize(base.size() - 3);
    if (!IsPlainHttpUrl(base)) {
      Fail(kPing, absl::ZeroDuration(), ProbeCategory::kRegistry, "BAD_URL",
           absl::StatusCode::kInvalidArgument, false,
           "the registry URL must be an absolute http:// or https:// URL with a host and "
           "without user name or password in it");
      return std::move(result_);
    }
    v2_url_ = base + "/v2/";
    const bool anonymous = request_.username.empty();

    // 1. ping
    HttpRequest ping = NewRequest(v2_url_);
    absl::Duration took;
    absl::StatusOr<HttpResponse> pong = Send(ping, &took);
    if (!pong.ok()) return FailTransport(kPing, took, pong.status(), "the registry");
    if (pong->status == 200) {
      Pass(kPing, took,
           absl::StrCat("GET ", v2_url_, " answered 200: the registry allows anonymous access",
                        anonymous ? "" : "; the credentials were not needed, so not checked"));
      result_.credentials_verified = false;
      return Succeed();
    }
    if (pong->status != 401) {
      FailStatus(kPing, took, *pong, absl::StrCat("GET ", v2_url_), "CREDENTIALS_REQUIRED", "");
      return std::move(result_);
    }
    absl::StatusOr<std::vector<AuthChallenge>> challenges =
        ParseWwwAuthenticateFields(pong->HeaderValues("www-authenticate"));
    if (!challenges.ok()) {
      Fail(kPing, took, ProbeCategory::kRegistry, "MALFORMED_CHALLENGE",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat("GET ", v2_url_,
                        " answered 401 without a usable WWW-Authenticate "
                        "challenge (",
                        challenges.status().message(),
                        "): this does not look like a Docker v2 registry"));
      return std::move(result_);
    }
    if (const AuthChallenge* bearer = FindChallenge(*challenges, "bearer")) {
      return BearerFlow(*bearer, took);
    }
    if (FindChallenge(*challenges, "basic") != nullptr) return BasicFlow(took);
    Fail(kPing, took, ProbeCategory::kRegistry, "UNSUPPORTED_CHALLENGE",
         absl::StatusCode::kFailedPrecondition, false,
         absl::StrCat("GET ", v2_url_,
                      " asks for an authentication scheme other than Bearer or "
                      "Basic (",
                      (*challenges)[0].scheme, "), which is not supported"));
    return std::move(result_);
  }

 private:
  ProbeResult BearerFlow(const AuthChallenge& challenge, absl::Duration ping_took) {
    const std::string realm = challenge.Param("realm").value_or("");
    if (!IsPlainHttpUrl(realm)) {
      Fail(kPing, ping_took, ProbeCategory::kRegistry, "MALFORMED_CHALLENGE",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat("GET ", v2_url_, " answered 401 with a Bearer challenge whose realm is ",
                        realm.empty() ? "missing" : "not an http(s) URL",
                        ": the registry's token service is misconfigured"));
      return std::move(result_);
    }
    // Plain http keeps the credentials on the registry's own host at most (whose address the
    // outbound policy has allowed for http); another host gets them only over https, and the
    // HTTP client's connect-time policy still checks that host's address.
    if (!IsHttps(realm) && (IsHttps(v2_url_) || HostOf(realm) != HostOf(v2_url_))) {
      Fail(kPing, ping_took, ProbeCategory::kRegistry, "INSECURE_REALM",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat("the registry sends clients to the token service ", Display(realm),
                        " over plain http", IsHttps(v2_url_) ? "" : " on another host",
                        "; credentials were not sent. Configure an https realm on the "
                        "registry"));
      return std::move(result_);
    }
    const std::optional<std::string> service = challenge.Param("service");
    Pass(kPing, ping_took,
         absl::StrCat("GET ", v2_url_, " answered 401 with a Bearer challenge: token service ",
                      Display(realm),
                      service.has_value() ? absl::StrCat(", service ", *service) : ""));

    // 2. token
    std::string url = realm;
    char sep = realm.find('?') == std::string::npos ? '?' : '&';
    if (service.has_value()) {
      absl::StrAppend(&url, std::string(1, sep), "service=", PercentEncode(*service));
      sep = '&';
    }
    const std::optional<std::string> scope =
        request_.scope.has_value() ? request_.scope : challenge.Param("scope");
    if (scope.has_value() && !scope->empty()) {
      absl::StrAppend(&url, std::string(1, sep), "scope=", PercentEncode(*scope));
    }
    const bool anonymous = request_.username.empty();
    HttpRequest token_request = NewRequest(url);
    if (!anonymous) {
      SecretString basic = BasicAuthorization(request_.username, request_.password);
      token_request.headers.emplace_back("Authorization", std::string(basic.view()));
    }
    absl::Duration took;
    absl::StatusOr<HttpResponse> answer = Send(token_request, &took);
    if (!answer.ok()) return FailTransport(kToken, took, answer.status(), "the token service");
    const std::string who = absl::StrCat("the token service ", Display(realm));
    if (answer->status != 200) {
      FailStatus(
          kToken, took, *answer, who, anonymous ? "CREDENTIALS_REQUIRED" : "CREDENTIALS_REJECTED",
          anonymous ? absl::StrCat(who,
                                   " refused an anonymous token (401): configure a "
                                   "username and password or token")
                    : absl::StrCat(who, " rejected the credentials of user '", request_.username,
                                   "' (401): check the username and the password or "
                                   "access token, and that it has not expired"));
      return std::move(result_);
    }
    SecretString token;
    if (!ExtractToken(*answer, &token)) {
      Fail(kToken, took, ProbeCategory::kRegistry, "MALFORMED_TOKEN_RESPONSE",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat(who,
                        " answered 200 without a JSON object holding a \"token\" or "
                        "\"access_token\" string: is the realm URL right?"));
      return std::move(result_);
    }
    WipeString(answer->body);
    Pass(kToken, took,
         absl::StrCat(
             who,
             anonymous ? " issued an anonymous token"
                       : absl::StrCat(" issued a token for user '", request_.username, "'"),
             scope.has_value() && !scope->empty() ? absl::StrCat(" (scope ", *scope, ")") : ""));

    // 3. authenticate
    SecretString bearer;
    bearer.append("Bearer ");
    bearer.append(token.view());
    HttpRequest check = NewRequest(v2_url_);
    check.headers.emplace_back("Authorization", std::string(bearer.view()));
    absl::StatusOr<HttpResponse> final_answer = Send(check, &took);
    if (!final_answer.ok()) {
      return FailTransport(kAuthenticate, took, final_answer.status(), "the registry");
    }
    if (final_answer->status != 200) {
      FailStatus(kAuthenticate, took, *final_answer, absl::StrCat("GET ", v2_url_),
                 "TOKEN_REJECTED",
                 absl::StrCat("the registry rejected the token from ", who,
                              " (401): the token service and the registry disagree (service "
                              "name, signing certificate or clock)"));
      return std::move(result_);
    }
    Pass(kAuthenticate, took, absl::StrCat("GET ", v2_url_, " with the token answered 200"));
    result_.credentials_verified = !anonymous;
    return Succeed();
  }

  ProbeResult BasicFlow(absl::Duration ping_took) {
    Pass(kPing, ping_took, absl::StrCat("GET ", v2_url_, " answered 401 with a Basic challenge"));
    if (request_.username.empty()) {
      Fail(kAuthenticate, absl::ZeroDuration(), ProbeCategory::kAuthentication,
           "CREDENTIALS_REQUIRED", absl::StatusCode::kUnauthenticated, false,
           "the registry requires a username and password, and none are configured");
      return std::move(result_);
    }
    const SecretString basic = BasicAuthorization(request_.username, request_.password);
    HttpRequest check = NewRequest(v2_url_);
    check.headers.emplace_back("Authorization", std::string(basic.view()));
    absl::Duration took;
    absl::StatusOr<HttpResponse> answer = Send(check, &took);
    if (!answer.ok()) return FailTransport(kAuthenticate, took, answer.status(), "the registry");
    if (answer->status != 200) {
      FailStatus(kAuthenticate, took, *answer, absl::StrCat("GET ", v2_url_),
                 "CREDENTIALS_REJECTED",
                 absl::StrCat("the registry rejected the credentials of user '", request_.username,
                              "' (401): check the username and the password or access token"));
      return std::move(result_);
    }
    Pass(kAuthenticate, took,
         absl::StrCat("GET ", v2_url_, " with the credentials of user '", request_.username,
                      "' answered 200"));
    result_.credentials_verified = true;
    return Succeed();
  }

  // The token from a Docker token response ("token", else OAuth2's "access_token"); the
  // JSON strings that held it are wiped.
  static bool ExtractToken(HttpResponse& response, SecretString* token) {
    nlohmann::json json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return false;
    bool found = false;
    for (const char* key : {"token", "access_token"}) {
      auto it = json.find(key);
      if (it == json.end() || !it->is_string()) continue;
      std::string& value = it->get_ref<std::string&>();
      if (!found && IsUsableToken(value)) {
        token->append(value);
        found = true;
      }
      WipeString(value);
    }
    return found;
  }

  HttpRequest NewRequest(std::string url) const {
    HttpRequest r;
    r.method = "GET";
    r.url = std::move(url);
    r.headers.emplace_back("Accept", "application/json");
    r.deadline = request_.deadline;
    return r;
  }

  // Sends and wipes the request's Authorization value afterwards.
  absl::StatusOr<HttpResponse> Send(HttpRequest& r, absl::Duration* took) {
    const absl::Time start = clock_.Now();
    absl::StatusOr<HttpResponse> response = http_.Send(r);
    *took = clock_.Now() - start;
    for (auto& [name, value] : r.headers) {
      if (absl::AsciiStrToLower(name) == "authorization") WipeString(value);
    }
    return response;
  }

  void Pass(const char* step, absl::Duration took, std::string detail) {
    result_.AddPassedStep(step, took, std::move(detail));
  }

  void Fail(const char* step, absl::Duration took, ProbeCategory category, std::string reason,
            absl::StatusCode code, bool retryable, std::string detail) {
    result_.FailAt(step, took, category, std::move(reason), code, retryable, std::move(detail));
  }

  ProbeResult Succeed() {
    result_.ok = true;
    result_.status = absl::OkStatus();
    return std::move(result_);
  }

  // No HTTP answer at all.
  ProbeResult FailTransport(const char* step, absl::Duration took, const absl::Status& status,
                            const char* who) {
    const std::string what(status.message());
    switch (GetHttpErrorKind(status).value_or(HttpErrorKind::kProtocol)) {
      case HttpErrorKind::kDns:
      case HttpErrorKind::kConnect:
      case HttpErrorKind::kConnectionLost:
        Fail(step, took, ProbeCategory::kNetwork, "NETWORK_UNREACHABLE", status.code(), true,
             absl::StrCat("could not reach ", who, ": ", what,
                          ". Check the host name and port, and that the network (or proxy) "
                          "lets this service through"));
        break;
      case HttpErrorKind::kTimeout:
        Fail(step, took, ProbeCategory::kNetwork, "TIMEOUT", absl::StatusCode::kDeadlineExceeded,
             true, absl::StrCat(who, " did not answer in time: ", what));
        break;
      case HttpErrorKind::kTls:
        Fail(step, took, ProbeCategory::kRegistry, "TLS_FAILURE",
             absl::StatusCode::kFailedPrecondition, false,
             absl::StrCat("TLS with ", who, " failed: ", what,
                          ". Check that its certificate is valid for the host name and issued "
                          "by a CA this service trusts (or configure a CA bundle)"));
        break;
      case HttpErrorKind::kBlocked:
        Fail(step, took, ProbeCategory::kNetwork, "BLOCKED_BY_POLICY",
             absl::StatusCode::kPermissionDenied, false,
             absl::StrCat(who, ": ", what,
                          ". This service does not connect to loopback, private, link-local or "
                          "metadata addresses unless its operator allows the network "
                          "(--upstream_allowed_networks)"));
        break;
      case HttpErrorKind::kBadRequest:
        Fail(step, took, ProbeCategory::kRegistry, "BAD_URL", absl::StatusCode::kInvalidArgument,
             false, absl::StrCat("cannot send a request to ", who, ": ", what));
        break;
      default:
        Fail(step, took, ProbeCategory::kRegistry, "BAD_RESPONSE",
             absl::StatusCode::kFailedPrecondition, false,
             absl::StrCat(who, " did not give a usable answer: ", what));
        break;
    }
    return std::move(result_);
  }

  // An HTTP answer other than the one the step needs.
  void FailStatus(const char* step, absl::Duration took, const HttpResponse& response,
                  const std::string& who, const char* unauthorized_reason,
                  const std::string& unauthorized_detail) {
    const int s = response.status;
    if (s == 401) {
      Fail(step, took, ProbeCategory::kAuthentication, unauthorized_reason,
           absl::StatusCode::kUnauthenticated, false,
           unauthorized_detail.empty() ? absl::StrCat(who, " answered 401") : unauthorized_detail);
    } else if (s == 403) {
      Fail(step, took, ProbeCategory::kPermission, "ACCESS_DENIED",
           absl::StatusCode::kPermissionDenied, false,
           absl::StrCat(who,
                        " answered 403 Forbidden: the account is known but may not do "
                        "this; check its permissions (and the requested scope)",
                        request_.username.empty()
                            ? ""
                            : absl::StrCat(" for user '", request_.username, "'")));
    } else if (s == 429) {
      const std::optional<absl::Duration> after = RetryAfter(response);
      Fail(step, took, ProbeCategory::kRegistry, "RATE_LIMITED", absl::StatusCode::kUnavailable,
           true,
           absl::StrCat(
               who, " answered 429 Too Many Requests: try again",
               after.has_value() ? absl::StrCat(" in ", absl::FormatDuration(*after)) : " later"));
      result_.retry_after = after.value_or(absl::ZeroDuration());
    } else if (s >= 500) {
      Fail(step, took, ProbeCategory::kRegistry, "REGISTRY_UNAVAILABLE",
           absl::StatusCode::kUnavailable, true,
           absl::StrCat(who, " answered ", s, ": a server-side error; try again later"));
      result_.retry_after = RetryAfter(response).value_or(absl::ZeroDuration());
    } else {
      Fail(step, took, ProbeCategory::kRegistry,
           std::string_view(step) == kToken ? "BAD_RESPONSE" : "NOT_A_REGISTRY",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat(who, " answered ", s,
                        std::string_view(step) == kToken
                            ? ": check the registry's token service"
                            : ": check that the URL points at a Docker v2 registry"));
    }
  }

  HttpClient& http_;
  const Clock& clock_;
  const RegistryProbeRequest& request_;
  std::string v2_url_;
  ProbeResult result_;
};

}  // namespace

void ProbeResult::AddPassedStep(const char* step, absl::Duration took, std::string detail) {
  steps.push_back({step, true, took, std::move(detail)});
}

void ProbeResult::FailAt(const char* step, absl::Duration took, ProbeCategory failure_category,
                         std::string failure_reason, absl::StatusCode code, bool is_retryable,
                         std::string detail) {
  ok = false;
  category = failure_category;
  reason = std::move(failure_reason);
  retryable = is_retryable;
  status = absl::Status(code, detail);
  steps.push_back({step, false, took, std::move(detail)});
}

std::string_view ProbeCategoryName(ProbeCategory category) {
  switch (category) {
    case ProbeCategory::kNone:
      return "NONE";
    case ProbeCategory::kAuthentication:
      return "AUTHENTICATION";
    case ProbeCategory::kRegistry:
      return "REGISTRY";
    case ProbeCategory::kPermission:
      return "PERMISSION";
    case ProbeCategory::kNetwork:
      return "NETWORK";
  }
  return "NONE";
}

ProbeResult DockerV2Probe::Probe(const RegistryProbeRequest& request) const {
  return ProbeRun(http_, clock_, request).Run();
}

}  // namespace registryauth::upstream
