#include "upstream/github_client.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/secret.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "upstream/github_headers.h"

namespace registryauth::upstream {
namespace {

constexpr char kGitHubTokenStep[] = "github_token";
constexpr char kScopesStep[] = "scopes";
constexpr char kFineGrainedPrefix[] = "github_pat_";
constexpr char kReadPackages[] = "read:packages";
constexpr char kWritePackages[] = "write:packages";
constexpr char kWhereToEdit[] =
    "GitHub Settings > Developer settings > Personal access tokens > Tokens (classic)";

// A GitHub user or organisation name as far as this service needs: safe in a URL path, a
// Docker scope and a message. (github.com allows letters, digits and single hyphens, up to 39
// characters; Enterprise Server also '_' and '.' from its identity providers.)
bool IsAccountName(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// A token goes into a header: visible ASCII without spaces, bounded.
bool IsHeaderSafe(std::string_view token) {
  if (token.size() > 4096) return false;
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// GitHub's error message, unless it would repeat the secret.
std::string GitHubMessage(const std::string& body, std::string_view secret) {
  std::string out = GitHubErrorMessage(body);
  if (!secret.empty() && out.find(secret) != std::string::npos) return "";
  return out;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

class GhcrProbeRun {
 public:
  GhcrProbeRun(HttpClient& http, const Clock& clock, const ApiRetrier& retrier,
               const GitHubEndpoints& endpoints, const RegistryProbe& registry,
               const GitHubGhcrProbe::Options& options, const GhcrProbeRequest& request)
      : http_(http),
        clock_(clock),
        retrier_(retrier),
        endpoints_(endpoints),
        registry_(registry),
        options_(options),
        request_(request) {}

  ProbeResult Run() {
    if (!CheckLocally()) return std::move(result_);
    std::optional<HttpResponse> user = GetUser();
    if (!user.has_value()) return std::move(result_);
    if (!CheckScopes(*user)) return std::move(result_);
    return Registry();
  }

 private:
  // The request, before any network traffic.
  bool CheckLocally() {
    const std::string_view pat = request_.pat.view();
    if (!IsAccountName(request_.owner)) {
      Fail(kGitHubTokenStep, absl::ZeroDuration(), ProbeCategory::kRegistry, "INVALID_OWNER",
           absl::StatusCode::kInvalidArgument, false,
           "the owner must be a GitHub user or organisation name (letters, digits and '-')");
      return false;
    }
    if (pat.empty()) {
      Fail(kGitHubTokenStep, absl::ZeroDuration(), ProbeCategory::kAuthentication,
           "CREDENTIALS_REQUIRED", absl::StatusCode::kInvalidArgument, false,
           "no personal access token is configured: GHCR needs a classic token (ghp_...)");
      return false;
    }
    if (absl::StartsWith(ToAbsl(pat), kFineGrainedPrefix)) {
      Fail(kGitHubTokenStep, absl::ZeroDuration(), ProbeCategory::kAuthentication,
           "FINE_GRAINED_TOKEN", absl::StatusCode::kInvalidArgument, false,
           absl::StrCat("GHCR accepts only classic personal access tokens (ghp_...); "
                        "fine-grained tokens cannot be used. Create a classic token under ",
                        kWhereToEdit, " with ",
                        request_.needs_push ? kWritePackages : kReadPackages));
      return false;
    }
    if (!IsHeaderSafe(pat)) {
      Fail(kGitHubTokenStep, absl::ZeroDuration(), ProbeCategory::kAuthentication,
           "MALFORMED_TOKEN", absl::StatusCode::kInvalidArgument, false,
           "the token contains spaces, line breaks or other characters a token cannot have "
           "(was it pasted with a trailing newline?)");
      return false;
    }
    return true;
  }

  // "github_token": GET {api}/user. The answer (200) for the scope check, or nullopt after
  // recording the failure.
  std::optional<HttpResponse> GetUser() {
    std::string api = endpoints_.api_base_url;
    while (!api.empty() && api.back() == '/') api.pop_back();
    const std::string url = absl::StrCat(api, "/user");
    const std::string what = absl::StrCat("the GitHub API (GET ", url, ")");
    const absl::Time start = clock_.Now();
    absl::StatusOr<HttpResponse> answer = retrier_.Send(
        [&]() -> absl::StatusOr<HttpResponse> {
          HttpRequest r;
          r.method = "GET";
          r.url = url;
          SecretString authorization;
          authorization.append("Bearer ");
          authorization.append(request_.pat.view());
          r.headers.emplace_back("Authorization", std::string(authorization.view()));
          r.headers.emplace_back("Accept", kGitHubAccept);
          r.headers.emplace_back("X-GitHub-Api-Version", kGitHubApiVersion);
          r.headers.emplace_back("User-Agent", options_.user_agent);
          r.deadline = request_.deadline;
          absl::StatusOr<HttpResponse> out = http_.Send(r);
          WipeString(r.headers[0].second);
          return out;
        },
        request_.deadline, what);
    const absl::Duration took = clock_.Now() - start;
    if (!answer.ok()) {
      FailWithStatus(kGitHubTokenStep, took, answer.status());
      return std::nullopt;
    }
    const std::string github_says = GitHubMessage(answer->body, request_.pat.view());
    const std::string quoted =
        github_says.empty() ? "" : absl::StrCat(" (GitHub says: \"", github_says, "\")");
    if (answer->status == 401) {
      Fail(kGitHubTokenStep, took, ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED",
           absl::StatusCode::kUnauthenticated, false,
           absl::StrCat("token rejected: GitHub answered 401", quoted,
                        "; the token may be expired, revoked or mistyped. Create a new classic "
                        "token under ",
                        kWhereToEdit, " and update this registry's secret"));
      return std::nullopt;
    }
    if (answer->status == 403) {
      Fail(kGitHubTokenStep, took, ProbeCategory::kPermission, "ACCESS_DENIED",
           absl::StatusCode::kPermissionDenied, false,
           absl::StrCat(what, " answered 403", quoted,
                        ": GitHub refuses this token here (organisation SAML SSO not "
                        "authorised for the token, or an IP allow list?)"));
      return std::nullopt;
    }
    if (answer->status != 200) {
      Fail(kGitHubTokenStep, took, ProbeCategory::kRegistry, "BAD_RESPONSE",
           absl::StatusCode::kFailedPrecondition, false,
           absl::StrCat(what, " answered ", answer->status, quoted,
                        ": check that the API URL points at the GitHub REST API (GitHub "
                        "Enterprise Server: https://HOST/api/v3)"));
      return std::nullopt;
    }

    nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, false);
    if (body.is_object()) {
      auto it = body.find("login");
      if (it != body.end() && it->is_string() && IsAccountName(it->get_ref<const std::string&>())) {
        login_ = it->get<std::string>();
      }
    }

    // Expiry.
    std::string expiry_note = "; it has no expiration date";
    if (std::optional<std::string> value =
            answer->Header("github-authentication-token-expiration")) {
      const std::optional<absl::Time> expires = ParseTokenExpiration(*value);
      const absl::Time now = clock_.Now();
      if (!expires.has_value()) {
        expiry_note = "";
        result_.warnings.push_back(
            "GitHub sent a token expiration date this service cannot read; check the token's "
            "expiration on GitHub");
      } else {
        result_.credential_expires_at = *expires;
        if (*expires <= now) {
          Fail(kGitHubTokenStep, took, ProbeCategory::kAuthentication, "CREDENTIALS_EXPIRED",
               absl::StatusCode::kUnauthenticated, false,
               absl::StrCat("the token expired on ", FormatUtc(*expires),
                            ": create a new classic token under ", kWhereToEdit,
                            " and update this registry's secret"));
          return std::nullopt;
        }
        expiry_note = absl::StrCat("; it expires on ", FormatUtc(*expires));
        if (*expires - now <= options_.expiry_warning) {
          const int64_t days = absl::ToInt64Hours(*expires - now) / 24;
          result_.warnings.push_back(
              absl::StrCat("the token expires on ", FormatUtc(*expires), " (",
                           days == 0 ? "in less than a day"
                                     : absl::StrCat("in ", days, days == 1 ? " day" : " days"),
                           "); create a new one and update this registry's secret before then"));
        }
      }
    }
    Pass(kGitHubTokenStep, took,
         absl::StrCat("GET ", url, " answered 200: GitHub accepts the token",
                      login_.empty() ? "" : absl::StrCat(" of user '", login_, "'"), expiry_note));
    return std::move(answer).value();
  }

  // "scopes": the X-OAuth-Scopes of the /user answer.
  bool CheckScopes(const HttpResponse& user) {
    const std::optional<std::string> header = user.Header("x-oauth-scopes");
    if (!header.has_value()) {
      Fail(kScopesStep, absl::ZeroDuration(), ProbeCategory::kAuthentication, "NOT_A_CLASSIC_TOKEN",
           absl::StatusCode::kInvalidArgument, false,
           absl::StrCat("GitHub accepted the token but reports no OAuth scopes for it (no "
                        "X-OAuth-Scopes header), so it is not a classic personal access token; "
                        "GHCR needs a classic token (ghp_...) with ",
                        request_.needs_push ? kWritePackages : kReadPackages, ", created under ",
                        kWhereToEdit));
      return false;
    }
    const std::vector<std::string> scopes = ParseOAuthScopes(*header);
    auto has = [&](std::string_view s) {
      for (const std::string& scope : scopes) {
        if (scope == s) return true;
      }
      return false;
    };
    const std::string present =
        scopes.empty() ? "it has no scopes" : absl::StrCat("it has: ", absl::StrJoin(scopes, ", "));
    const bool can_write = has(kWritePackages);
    const bool ok = request_.needs_push ? can_write : (can_write || has(kReadPackages));
    if (!ok) {
      const char* missing = request_.needs_push ? kWritePackages : kReadPackages;
      Fail(kScopesStep, absl::ZeroDuration(), ProbeCategory::kPermission, "MISSING_SCOPE",
           absl::StatusCode::kPermissionDenied, false,
           absl::StrCat("the token lacks the ", missing, " scope, which ",
                        request_.needs_push ? "pushing to" : "pulling from", " GHCR needs; ",
                        present, ". Edit the token under ", kWhereToEdit, " and add ", missing));
      return false;
    }
    Pass(kScopesStep, absl::ZeroDuration(),
         absl::StrCat("the token has ", can_write ? kWritePackages : kReadPackages,
                      can_write ? " (push and pull)" : " (pull)", "; ", present));
    return true;
  }

  ProbeResult Registry() {
    RegistryProbeRequest r;
    r.base_url = endpoints_.ghcr_base_url;
    r.username = login_.empty() ? request_.owner : login_;
    r.password = request_.pat;
    r.scope = absl::StrCat("repository:", absl::AsciiStrToLower(ToAbsl(request_.owner)), "/",
                           options_.probe_repository, ":pull");
    r.deadline = request_.deadline;
    ProbeResult registry = registry_.Probe(r);
    for (ProbeStep& step : registry.steps) result_.steps.push_back(std::move(step));
    result_.ok = registry.ok;
    result_.credentials_verified = registry.credentials_verified;
    result_.category = registry.category;
    result_.reason = std::move(registry.reason);
    result_.retryable = registry.retryable;
    result_.retry_after = registry.retry_after;
    result_.status = std::move(registry.status);
    for (std::string& w : registry.warnings) result_.warnings.push_back(std::move(w));
    return std::move(result_);
  }

  void Pass(const char* step, absl::Duration took, std::string detail) {
    result_.AddPassedStep(step, took, std::move(detail));
  }

  void Fail(const char* step, absl::Duration took, ProbeCategory category, std::string reason,
            absl::StatusCode code, bool retryable, std::string detail) {
    result_.FailAt(step, took, category, std::move(reason), code, retryable, std::move(detail));
  }

  // A failure from the retry loop (with its UpstreamFailure).
  void FailWithStatus(const char* step, absl::Duration took, const absl::Status& status) {
    const UpstreamFailure f = GetUpstreamFailure(status).value_or(
        UpstreamFailure{ProbeCategory::kRegistry, "BAD_RESPONSE", false, absl::ZeroDuration()});
    Fail(step, took, f.category, f.reason, status.code(), f.retryable,
         std::string(status.message()));
    result_.retry_after = f.retry_after;
  }

  HttpClient& http_;
  const Clock& clock_;
  const ApiRetrier& retrier_;
  const GitHubEndpoints& endpoints_;
  const RegistryProbe& registry_;
  const GitHubGhcrProbe::Options& options_;
  const GhcrProbeRequest& request_;
  std::string login_;
  ProbeResult result_;
};

}  // namespace

GitHubGhcrProbe::GitHubGhcrProbe(HttpClient& http, const Clock& clock, Sleeper& sleeper,
                                 GitHubEndpoints endpoints, const RegistryProbe& registry,
                                 Options options)
    : http_(http),
      clock_(clock),
      endpoints_(std::move(endpoints)),
      registry_(registry),
      options_(std::move(options)),
      retrier_(clock, sleeper, options_.retry) {}

ProbeResult GitHubGhcrProbe::Probe(const GhcrProbeRequest& request) const {
  return GhcrProbeRun(http_, clock_, retrier_, endpoints_, registry_, options_, request).Run();
}

}  // namespace registryauth::upstream
