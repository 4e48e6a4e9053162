#include "upstream/github_app.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <random>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/jwt.h"
#include "nlohmann/json.hpp"
#include "upstream/github_headers.h"

namespace registryauth::upstream {
namespace {

// How often a waiter re-reads the clock while another caller refreshes (so a FakeClock that
// tests move is noticed too).
constexpr absl::Duration kWaitSlice = absl::Milliseconds(50);
// A token goes into headers: visible ASCII, bounded (GitHub's newer tokens are JWT-sized).
constexpr std::size_t kMaxTokenSize = 16 * 1024;

absl::Status Failure(absl::StatusCode code, std::string message, ProbeCategory category,
                     const char* reason, bool retryable = false) {
  return WithUpstreamFailure(absl::Status(code, message),
                             {category, reason, retryable, absl::ZeroDuration()});
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool IsName(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), IsNameChar);
}

bool IsPermissionWord(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsHeaderSafe(std::string_view token) {
  return !token.empty() && token.size() <= kMaxTokenSize &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string Quote(const std::string& github_says) {
  return github_says.empty() ? "" : absl::StrCat(" (GitHub says: \"", github_says, "\")");
}

}  // namespace

struct GitHubAppTokenSource::Prepared {
  const GitHubAppInstallation* app = nullptr;
  std::string key_id;     // hex HMAC-SHA256 of the PEM
  std::string body;       // "" or the narrowing JSON
  std::string cache_key;  // app_id, installation id, key id and narrowing
  std::string url;
  std::string what;  // names the call in messages
};

struct GitHubAppTokenSource::Flight {
  bool done = false;
  absl::StatusOr<InstallationToken> result = absl::UnknownError("refresh in progress");
};

struct GitHubAppTokenSource::Entry {
  std::optional<InstallationToken> token;
  std::shared_ptr<Flight> flight;  // set while a caller refreshes this entry
  std::list<std::string>::iterator lru;
};

struct GitHubAppTokenSource::AppJwt {
  SecretString jwt;
  int64_t iat = 0;
  absl::Time reuse_until;
};

GitHubAppTokenSource::GitHubAppTokenSource(HttpClient& http, const Clock& clock, Sleeper& sleeper,
                                           GitHubEndpoints endpoints, Options options)
    : http_(http),
      clock_(clock),
      endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      retrier_(clock, sleeper, options_.retry) {
  hmac_key_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(hmac_key_.mutable_data()), 32) != 1) {
    // The CSPRNG cannot fail on a working system; the fingerprints stay unique without it.
    std::random_device rd;
    for (std::size_t i = 0; i < hmac_key_.size(); ++i) {
      hmac_key_.mutable_data()[i] = static_cast<char>(rd());
    }
  }
}

GitHubAppTokenSource::~GitHubAppTokenSource() = default;

std::size_t GitHubAppTokenSource::cached_installations() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

absl::StatusOr<InstallationToken> GitHubAppTokenSource::Get(const GitHubAppInstallation& app,
                                                            absl::Time deadline, bool fresh) {
  // Validate and build the request and its cache key.
  if (!IsName(app.app_id, 100)) {
    return Failure(absl::StatusCode::kInvalidArgument,
                   "the GitHub App id must be the App's numeric id or its client id",
                   ProbeCategory::kAuthentication, "INVALID_APP_ID");
  }
  if (app.installation_id <= 0) {
    return Failure(absl::StatusCode::kInvalidArgument,
                   "the GitHub App installation id must be a positive number",
                   ProbeCategory::kAuthentication, "INVALID_INSTALLATION_ID");
  }
  if (app.private_key_pem.empty()) {
    return Failure(absl::StatusCode::kInvalidArgument,
                   "no private key is configured for the GitHub App",
                   ProbeCategory::kAuthentication, "INVALID_APP_KEY");
  }
  std::vector<std::string> repositories;
  for (const std::string& r : app.repositories) {
    if (!IsName(r, 100)) {
      return Failure(absl::StatusCode::kInvalidArgument,
                     "repository names to narrow a GitHub App token to must be plain names "
                     "(letters, digits, '-', '_', '.'), without the owner",
                     ProbeCategory::kPermission, "INVALID_NARROWING");
    }
    repositories.push_back(r);
  }
  std::sort(repositories.begin(), repositories.end());
  repositories.erase(std::unique(repositories.begin(), repositories.end()), repositories.end());
  nlohmann::json permissions = nlohmann::json::object();
  for (const auto& [name, level] : app.permissions) {
    if (!IsPermissionWord(name) || !IsPermissionWord(level)) {
      return Failure(absl::StatusCode::kInvalidArgument,
                     "GitHub App token permissions must be pairs like {\"contents\", \"read\"}",
                     ProbeCategory::kPermission, "INVALID_NARROWING");
    }
    auto it = permissions.find(name);
    if (it != permissions.end() && *it != level) {
      return Failure(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("the GitHub App token permission '", name,
                                  "' is given twice with different levels"),
                     ProbeCategory::kPermission, "INVALID_NARROWING");
    }
    permissions[name] = level;
  }

  Prepared p;
  p.app = &app;
  {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), hmac_key_.bytes(), static_cast<int>(hmac_key_.size()),
             app.private_key_pem.bytes(), app.private_key_pem.size(), mac, &mac_len) == nullptr) {
      return Failure(absl::StatusCode::kInternal, "cannot fingerprint the GitHub App key",
                     ProbeCategory::kNone, "INTERNAL");
    }
    p.key_id =
        absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
  }
  if (!repositories.empty() || !permissions.empty()) {
    nlohmann::json body = nlohmann::json::object();
    if (!repositories.empty()) body["repositories"] = repositories;
    if (!permissions.empty()) body["permissions"] = permissions;
    p.body = body.dump();  // objects are sorted: canonical
  }
  p.cache_key = absl::StrCat(app.app_id, "\n", app.installation_id, "\n", p.key_id, "\n", p.body);
  std::string api = endpoints_.api_base_url;
  while (!api.empty() && api.back() == '/') api.pop_back();
  p.url = absl::StrCat(api, "/app/installations/", app.installation_id, "/access_tokens");
  p.what = absl::StrCat("the GitHub API (POST ", p.url, ")");

  InstallationTokenCacheObserver* const observer = options_.observer;
  bool looked_up = fresh;  // GetFreshToken reads no cache: no lookup to report
  mu_.Lock();
  for (;;) {
    auto it = entries_.find(p.cache_key);
    if (it != entries_.end()) {
      Entry& e = *it->second;
      if (!fresh && e.token.has_value() &&
          clock_.Now() + options_.refresh_before < e.token->expires_at) {
        lru_.splice(lru_.begin(), lru_, e.lru);
        InstallationToken token = *e.token;
        mu_.Unlock();
        if (observer != nullptr && !looked_up) {
          observer->OnLookup(InstallationTokenCacheObserver::Lookup::kHit);
        }
        return token;
      }
    }
    if (observer != nullptr && !looked_up) {
      observer->OnLookup(InstallationTokenCacheObserver::Lookup::kMiss);  // cheap, thread-safe
    }
    looked_up = true;
    if (it != entries_.end()) {
      Entry& e = *it->second;
      if (e.flight != nullptr) {
        // Another caller is refreshing: wait for its outcome.
        const std::shared_ptr<Flight> flight = e.flight;
        while (!flight->done) {
          const absl::Time now = clock_.Now();
          if (now >= deadline) {
            mu_.Unlock();
            return Failure(
                absl::StatusCode::kDeadlineExceeded,
                absl::StrCat("the deadline passed while waiting for a token from ", p.what),
                ProbeCategory::kNetwork, "TIMEOUT", /*retryable=*/true);
          }
          refreshed_.WaitWithTimeout(&mu_, std::min(deadline - now, kWaitSlice));
        }
        if (flight->result.ok() ||
            flight->result.status().code() != absl::StatusCode::kDeadlineExceeded) {
          absl::StatusOr<InstallationToken> result = flight->result;
          mu_.Unlock();
          return result;
        }
        continue;  // the refresher ran out of its own time; try with ours
      }
    }

    // Refresh it ourselves.
    if (it == entries_.end()) {
      auto entry = std::make_unique<Entry>();
      lru_.push_front(p.cache_key);
      entry->lru = lru_.begin();
      it = entries_.emplace(p.cache_key, std::move(entry)).first;
      EvictLocked();
    } else {
      lru_.splice(lru_.begin(), lru_, it->second->lru);
    }
    const InstallationTokenCacheObserver::Fetch reason =
        fresh                           ? InstallationTokenCacheObserver::Fetch::kForced
        : it->second->token.has_value() ? InstallationTokenCacheObserver::Fetch::kExpiring
                                        : InstallationTokenCacheObserver::Fetch::kNew;
    const std::shared_ptr<Flight> flight = std::make_shared<Flight>();
    it->second->flight = flight;
    mu_.Unlock();

    if (observer != nullptr) observer->OnFetch(reason);
    absl::StatusOr<InstallationToken> result = Fetch(p, deadline);
    if (observer != nullptr && !result.ok()) {
      std::optional<UpstreamFailure> failure = GetUpstreamFailure(result.status());
      observer->OnFetchFailed(failure.has_value() ? failure->category : ProbeCategory::kNone);
    }

    mu_.Lock();
    flight->done = true;
    flight->result = result;
    auto again = entries_.find(p.cache_key);  // entries in flight are never evicted
    if (again != entries_.end() && again->second->flight == flight) {
      again->second->flight.reset();
      if (result.ok()) {
        again->second->token = *result;
      } else if (!again->second->token.has_value() ||
                 clock_.Now() >= again->second->token->expires_at) {
        EraseLocked(p.cache_key);
      }
    }
    refreshed_.SignalAll();
    mu_.Unlock();
    return result;
  }
}

void GitHubAppTokenSource::EvictLocked() {
  auto victim = lru_.end();
  while (entries_.size() > options_.max_cached_installations && victim != lru_.begin()) {
    --victim;
    auto it = entries_.find(*victim);
    if (it->second->flight != nullptr) continue;  // someone waits for it
    auto next = victim;
    ++next;
    entries_.erase(it);
    lru_.erase(victim);
    victim = next;
  }
}

void GitHubAppTokenSource::EraseLocked(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  lru_.erase(it->second->lru);
  entries_.erase(it);
}

absl::StatusOr<std::shared_ptr<const crypto::SigningKey>> GitHubAppTokenSource::LoadKey(
    const Prepared& request) {
  absl::MutexLock lock(&keys_mu_);
  auto it = keys_.find(request.key_id);
  if (it != keys_.end()) return it->second;
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(request.app->private_key_pem);
  if (!key.ok()) {
    // SigningKey's messages are fixed texts that never quote the PEM.
    return Failure(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("the GitHub App private key is not usable: ", key.status().message(),
                     "; use the .pem file GitHub generated for the App"),
        ProbeCategory::kAuthentication, "INVALID_APP_KEY");
  }
  if ((*key)->algorithm() != crypto::JwsAlgorithm::kRs256) {
    return Failure(absl::StatusCode::kInvalidArgument,
                   "the GitHub App private key must be an RSA key (GitHub Apps sign with RS256)",
                   ProbeCategory::kAuthentication, "INVALID_APP_KEY");
  }
  if (keys_.size() >= options_.max_cached_keys) {
    // Rare (a key per App): drop them all rather than track use.
    keys_.clear();
    jwts_.clear();
  }
  std::shared_ptr<const crypto::SigningKey> shared = std::move(*key);
  keys_.emplace(request.key_id, shared);
  return shared;
}

absl::StatusOr<GitHubAppTokenSource::AppJwt> GitHubAppTokenSource::Jwt(
    const Prepared& request, const crypto::SigningKey& key, absl::Duration skew,
    const std::vector<int64_t>& rejected_iats) {
  const std::string jwt_key = absl::StrCat(request.app->app_id, "\n", request.key_id);
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&keys_mu_);
  auto it = jwts_.find(jwt_key);
  if (it != jwts_.end() && rejected_iats.empty() && now < it->second->reuse_until) {
    AppJwt copy;
    copy.jwt = it->second->jwt;
    copy.iat = it->second->iat;
    copy.reuse_until = it->second->reuse_until;
    return copy;
  }
  const absl::Time server_now = now + skew;
  int64_t iat = absl::ToUnixSeconds(server_now - absl::Seconds(60));
  // Never send a refused JWT again: with the same times it would be byte for byte the same.
  while (std::find(rejected_iats.begin(), rejected_iats.end(), iat) != rejected_iats.end()) --iat;
  const absl::Time exp = server_now + options_.jwt_lifetime;
  const nlohmann::json claims = {
      {"iat", iat}, {"exp", absl::ToUnixSeconds(exp)}, {"iss", request.app->app_id}};
  absl::StatusOr<std::string> signed_jwt = crypto::SignJwt(key, claims, crypto::JwtHeaderOptions());
  if (!signed_jwt.ok()) {
    return Failure(absl::StatusCode::kInternal,
                   absl::StrCat("cannot sign the GitHub App JWT: ", signed_jwt.status().message()),
                   ProbeCategory::kNone, "INTERNAL");
  }
  auto fresh = std::make_unique<AppJwt>();
  fresh->jwt = SecretString(*signed_jwt);
  WipeString(*signed_jwt);
  fresh->iat = iat;
  // Reuse while at least 5 minutes are left (retries may wait a few minutes in between).
  fresh->reuse_until = now + options_.jwt_lifetime - absl::Minutes(5);
  AppJwt copy;
  copy.jwt = fresh->jwt;
  copy.iat = fresh->iat;
  copy.reuse_until = fresh->reuse_until;
  if (jwts_.size() >= 4 * options_.max_cached_keys) jwts_.clear();
  jwts_[jwt_key] = std::move(fresh);
  return copy;
}

absl::StatusOr<InstallationToken> GitHubAppTokenSource::Fetch(const Prepared& request,
                                                              absl::Time deadline) {
  absl::StatusOr<std::shared_ptr<const crypto::SigningKey>> key = LoadKey(request);
  if (!key.ok()) return key.status();
  const GitHubAppInstallation& app = *request.app;
  const int attempts = std::max(1, options_.max_jwt_attempts);
  absl::Duration skew = absl::ZeroDuration();
  std::vector<int64_t> rejected_iats;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    absl::StatusOr<AppJwt> jwt = Jwt(request, **key, skew, rejected_iats);
    if (!jwt.ok()) return jwt.status();
    absl::StatusOr<HttpResponse> answer = retrier_.Send(
        [&]() -> absl::StatusOr<HttpResponse> {
          HttpRequest r;
          r.method = "POST";
          r.url = request.url;
          SecretString authorization;
          authorization.append("Bearer ");
          authorization.append(jwt->jwt.view());
          r.headers.emplace_back("Authorization", std::string(authorization.view()));
          r.headers.emplace_back("Accept", kGitHubAccept);
          r.headers.emplace_back("X-GitHub-Api-Version", kGitHubApiVersion);
          r.headers.emplace_back("User-Agent", options_.user_agent);
          if (!request.body.empty()) {
            r.headers.emplace_back("Content-Type", "application/json");
            r.body = request.body;
          }
          r.deadline = deadline;
          absl::StatusOr<HttpResponse> out = http_.Send(r);
          WipeString(r.headers[0].second);
          return out;
        },
        deadline, request.what);
    if (!answer.ok()) return answer.status();

    std::string github_says = GitHubErrorMessage(answer->body);
    if (github_says.find(jwt->jwt.view()) != std::string::npos) github_says.clear();
    const int status = answer->status;
    if (status == 200 || status == 201) {
      nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, false);
      WipeString(answer->body);
      InstallationToken token;
      bool ok = false;
      if (body.is_object()) {
        auto t = body.find("token");
        auto e = body.find("expires_at");
        if (t != body.end() && t->is_string() && e != body.end() && e->is_string()) {
          std::string& value = t->get_ref<std::string&>();
          const std::optional<absl::Time> expires =
              ParseIso8601Time(e->get_ref<const std::string&>());
          if (IsHeaderSafe(value) && expires.has_value()) {
            token.token = SecretString(value);
            token.expires_at = *expires;
            ok = true;
          }
          WipeString(value);
        }
      }
      if (!ok) {
        return Failure(absl::StatusCode::kFailedPrecondition,
                       absl::StrCat(request.what, " answered ", status,
                                    " without a JSON object holding a \"token\" and an ISO 8601 "
                                    "\"expires_at\": is the API URL right?"),
                       ProbeCategory::kRegistry, "BAD_RESPONSE");
      }
      return token;
    }
    if (status == 401) {
      rejected_iats.push_back(jwt->iat);
      if (std::optional<std::string> date = answer->Header("date")) {
        if (std::optional<absl::Time> server = ParseHttpDate(*date)) {
          // The 401 is often GitHub refusing iat/exp against its own clock.
          const absl::Duration offset = *server - clock_.Now();
          if (absl::AbsDuration(offset) >= absl::Seconds(5)) skew = offset;
        }
      }
      if (attempt < attempts) continue;
      return Failure(
          absl::StatusCode::kUnauthenticated,
          absl::StrCat("GitHub rejected the JWT of GitHub App '", app.app_id, "' ", attempt,
                       attempt == 1 ? " time" : " times", " (401)", Quote(github_says),
                       ": check the App id (or client id), that the private key "
                       "belongs to this App and has not been deleted, and this "
                       "host's clock"),
          ProbeCategory::kAuthentication, "CREDENTIALS_REJECTED");
    }
    if (status == 403) {
      return Failure(absl::StatusCode::kPermissionDenied,
                     absl::StrCat(request.what, " answered 403", Quote(github_says),
                                  ": the installation may be suspended, or the App may not "
                                  "grant what the token asks for"),
                     ProbeCategory::kPermission, "ACCESS_DENIED");
    }
    if (status == 404) {
      return Failure(
          absl::StatusCode::kNotFound,
          absl::StrCat("installation not found: GitHub App '", app.app_id, "' has no installation ",
                       app.installation_id, " (404)", Quote(github_says),
                       "; check the installation id and that the App is still "
                       "installed on the account"),
          ProbeCategory::kAuthentication, "INSTALLATION_NOT_FOUND");
    }
    if (status == 400 || status == 422) {
      return Failure(
          absl::StatusCode::kInvalidArgument,
          absl::StrCat("GitHub refused the token request for installation ", app.installation_id,
                       " of GitHub App '", app.app_id, "' (", status, ")", Quote(github_says),
                       ": the repositories must belong to the installation and the "
                       "permissions must not exceed the App's"),
          ProbeCategory::kPermission, "INVALID_NARROWING");
    }
    return Failure(absl::StatusCode::kFailedPrecondition,
                   absl::StrCat(request.what, " answered ", status, Quote(github_says),
                                ": check that the API URL points at the GitHub REST API (GitHub "
                                "Enterprise Server: https://HOST/api/v3)"),
                   ProbeCategory::kRegistry, "BAD_RESPONSE");
  }
  return Failure(absl::StatusCode::kInternal, "unreachable", ProbeCategory::kNone, "INTERNAL");
}

}  // namespace registryauth::upstream
