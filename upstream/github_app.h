// InstallationTokenSource (upstream/github.h) against the GitHub REST API: a GitHub App's
// private key -> an RS256 app JWT -> POST {api}/app/installations/{id}/access_tokens -> a
// short-lived installation access token, cached.
//
//   RealClock clock; RealSleeper sleeper;
//   GitHubAppTokenSource tokens(http, clock, sleeper, GitHubEndpoints{});
//   ASSIGN_OR_RETURN(InstallationToken t,
//                    tokens.GetToken(app, clock.Now() + absl::Seconds(20)));
//   registry_password = t.token;   // valid for at least `refresh_before` (5 minutes)
//
// The app JWT: header {"alg":"RS256","typ":"JWT"}, claims {"iat": now - 60 s, "exp": now +
// jwt_lifetime (9 min; GitHub allows at most 10), "iss": app_id (the App id or client id, a
// string)}, signed with crypto/jws.h's SigningKey. One JWT per (App, key) is reused for all its
// installations until 5 minutes before it expires. Private keys are parsed once per distinct key
// and kept parsed, keyed by HMAC-SHA256 of the PEM under a per-process random key (the PEM is
// never a map key and never copied; an HMAC, unlike a bare hash, cannot be used to confirm a
// guessed key offline).
//
// Request: `Authorization: Bearer <jwt>`, `Accept: application/vnd.github+json`,
// `X-GitHub-Api-Version: 2022-11-28`, User-Agent, and, when the App request narrows the token,
// a JSON body {"repositories": [...], "permissions": {...}} (sorted, duplicates removed).
// 201 -> {"token", "expires_at": "2016-07-11T22:14:10Z"}.
//
// Cache: per (app_id, installation_id, narrowing, key HMAC), until `refresh_before` (5 min)
// before the token expires; least recently used entries are evicted beyond
// `max_cached_installations` (4096). Single flight: while one caller refreshes an entry, other
// callers for the same entry wait for its outcome (its token, or its error) instead of sending
// their own request, each until its own deadline (DEADLINE_EXCEEDED when that passes first).
// If the refresh failed only because the refreshing caller's deadline ran out, a waiter with
// time left refreshes itself.
//
// Failures (each with an UpstreamFailure):
//   invalid app id / installation id / narrowing  INVALID_ARGUMENT  AUTHENTICATION INVALID_APP_ID,
//                                                 INVALID_INSTALLATION_ID; PERMISSION
//                                                 INVALID_NARROWING
//   private key does not parse or is not RSA      INVALID_ARGUMENT  AUTHENTICATION INVALID_APP_KEY
//   401: a new JWT (fresh times, corrected by the clock offset the 401's Date header shows,
//     never the rejected iat again) and another try, at most `max_jwt_attempts` (3) in all;
//     then                                        UNAUTHENTICATED   AUTHENTICATION
//     CREDENTIALS_REJECTED
//   403 (not a rate limit)                        PERMISSION_DENIED PERMISSION ACCESS_DENIED
//   404                                           NOT_FOUND         AUTHENTICATION
//   INSTALLATION_NOT_FOUND 400 / 422 (narrowing refused)                 INVALID_ARGUMENT
//   PERMISSION INVALID_NARROWING other answers, malformed 201 bodies           FAILED_PRECONDITION
//   REGISTRY BAD_RESPONSE rate limits, 5xx, network                     retried by ApiRetrier
//   (upstream/retry.h), whose
//                                                 failures (RESOURCE_EXHAUSTED RATE_LIMITED, ...)
//                                                 are returned as they are
//
// Secrets: the key, the JWT and the installation token never appear in a status message or
// a log line; the buffers holding them are SecretStrings or wiped after use. Thread-safe.
#ifndef REGISTRY_AUTH_UPSTREAM_GITHUB_APP_H_
#define REGISTRY_AUTH_UPSTREAM_GITHUB_APP_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "upstream/github.h"
#include "upstream/github_client.h"
#include "upstream/http_client.h"
#include "upstream/retry.h"

namespace registryauth::upstream {

// What GitHubAppTokenSource reports about its installation-token cache, for metrics, without
// upstream/ knowing about Prometheus: the composition root passes an implementation in
// GitHubAppTokenSource::Options (server/telemetry.h counts them in
// registry_auth_github_app_token_*). Only enums: never an App id, an installation id, a key
// or a token.
//
//   class Counts : public upstream::InstallationTokenCacheObserver { ... };
//   GitHubAppTokenSource::Options options;
//   options.observer = &counts;
//
// Implementations must be thread-safe and cheap, and must not call back into the source
// (some calls happen under its lock).
class InstallationTokenCacheObserver {
 public:
  // GetToken (GetFreshToken never reads the cache): a cached token served, or none usable
  // (absent, or within refresh_before of expiring), so the caller fetched one or waited for
  // another caller's fetch.
  enum class Lookup { kHit, kMiss };
  // Why a token request was sent to GitHub (once per refresh; callers waiting for it do not
  // count): no token cached, the cached one near expiry, or GetFreshToken (TestConnection).
  enum class Fetch { kNew, kExpiring, kForced };

  virtual ~InstallationTokenCacheObserver() = default;
  virtual void OnLookup(Lookup lookup) = 0;
  virtual void OnFetch(Fetch reason) = 0;
  // A token request failed (after the retries of upstream/retry.h); `category` from its
  // UpstreamFailure (kNone if it has none).
  virtual void OnFetchFailed(ProbeCategory category) = 0;

  // Label values: "hit", "miss"; "new", "expiring", "forced".
  static const char* Name(Lookup lookup) { return lookup == Lookup::kHit ? "hit" : "miss"; }
  static const char* Name(Fetch reason) {
    switch (reason) {
      case Fetch::kNew:
        return "new";
      case Fetch::kExpiring:
        return "expiring";
      case Fetch::kForced:
        return "forced";
    }
    return "new";
  }
};

class GitHubAppTokenSource final : public InstallationTokenSource {
 public:
  struct Options {
    // Installation tokens kept (least recently used evicted beyond this).
    std::size_t max_cached_installations = 4096;
    // A cached token is refreshed once it has less than this left.
    absl::Duration refresh_before = absl::Minutes(5);
    // exp - now of an app JWT (GitHub refuses more than 10 minutes); iat is now - 60 s.
    absl::Duration jwt_lifetime = absl::Minutes(9);
    // Sends of the token request with a fresh JWT after a 401, the first included.
    int max_jwt_attempts = 3;
    // Parsed private keys (and their app JWTs) kept.
    std::size_t max_cached_keys = 64;
    std::string user_agent = kGitHubUserAgent;
    RetryOptions retry;
    // Told about cache hits, misses, fetches and failed fetches; may be null. Must outlive
    // the source.
    InstallationTokenCacheObserver* observer = nullptr;
  };

  // All references must outlive the source.
  GitHubAppTokenSource(HttpClient& http, const Clock& clock, Sleeper& sleeper,
                       GitHubEndpoints endpoints)
      : GitHubAppTokenSource(http, clock, sleeper, std::move(endpoints), Options()) {}
  GitHubAppTokenSource(HttpClient& http, const Clock& clock, Sleeper& sleeper,
                       GitHubEndpoints endpoints, Options options);
  ~GitHubAppTokenSource() override;
  GitHubAppTokenSource(const GitHubAppTokenSource&) = delete;
  GitHubAppTokenSource& operator=(const GitHubAppTokenSource&) = delete;

  absl::StatusOr<InstallationToken> GetToken(const GitHubAppInstallation& app,
                                             absl::Time deadline) override {
    return Get(app, deadline, /*fresh=*/false);
  }
  absl::StatusOr<InstallationToken> GetFreshToken(const GitHubAppInstallation& app,
                                                  absl::Time deadline) override {
    return Get(app, deadline, /*fresh=*/true);
  }

  // Installation tokens (or refreshes in flight) currently cached.
  std::size_t cached_installations() const;

 private:
  struct Prepared;  // a validated request (github_app.cc)
  struct Flight;    // one refresh in progress and its outcome
  struct Entry;     // a cache entry
  struct AppJwt;    // a signed app JWT and its times

  absl::StatusOr<InstallationToken> Get(const GitHubAppInstallation& app, absl::Time deadline,
                                        bool fresh);
  absl::StatusOr<InstallationToken> Fetch(const Prepared& request, absl::Time deadline);
  absl::StatusOr<std::shared_ptr<const crypto::SigningKey>> LoadKey(const Prepared& request);
  // The app JWT to send: the cached one, or a new one when there is none, it is close to
  // expiring, or GitHub refused JWTs with `rejected_iats` in this call (the new one uses none
  // of them). `skew` = GitHub's clock - ours.
  absl::StatusOr<AppJwt> Jwt(const Prepared& request, const crypto::SigningKey& key,
                             absl::Duration skew, const std::vector<int64_t>& rejected_iats);
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  HttpClient& http_;
  const Clock& clock_;
  const GitHubEndpoints endpoints_;
  const Options options_;
  const ApiRetrier retrier_;
  SecretString hmac_key_;  // per process (instance) random key for key-PEM fingerprints

  mutable absl::Mutex mu_;
  absl::CondVar refreshed_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first

  absl::Mutex keys_mu_;
  std::map<std::string, std::shared_ptr<const crypto::SigningKey>> keys_ ABSL_GUARDED_BY(keys_mu_);
  std::map<std::string, std::unique_ptr<AppJwt>> jwts_ ABSL_GUARDED_BY(keys_mu_);
};

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_GITHUB_APP_H_
