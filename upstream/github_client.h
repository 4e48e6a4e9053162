// GhcrProbe (upstream/github.h) against the GitHub REST API and the container registry.
//
//   CurlHttpClient http(...); RealClock clock; RealSleeper sleeper;
//   DockerV2Probe registry(http, clock);
//   GitHubGhcrProbe ghcr(http, clock, sleeper, GitHubEndpoints{}, registry);
//   ProbeResult r = ghcr.Probe({.owner = "acme", .pat = SecretString(pat), .needs_push = true,
//                               .deadline = clock.Now() + absl::Seconds(20)});
//
// Steps, in order (each a ProbeStep; the first failure ends the probe):
//   (no step)     The token is checked locally first. A fine-grained token (`github_pat_...`)
//                 fails at once, without a request: AUTHENTICATION FINE_GRAINED_TOKEN
//                 (INVALID_ARGUMENT), because GHCR only takes classic tokens. An empty token is
//                 AUTHENTICATION CREDENTIALS_REQUIRED, one with whitespace or control characters
//                 AUTHENTICATION MALFORMED_TOKEN, an owner that is not a GitHub account name
//                 REGISTRY INVALID_OWNER (all INVALID_ARGUMENT). These fail a step named
//                 "github_token" with zero duration.
//   "github_token" GET {api_base_url}/user with `Authorization: Bearer <pat>`, the GitHub media
//                 type and API version headers, retried through ApiRetrier (upstream/retry.h:
//                 rate limits, 5xx, network). 200 -> the login (from the JSON body) is shown in
//                 the detail. 401 -> AUTHENTICATION CREDENTIALS_REJECTED (UNAUTHENTICATED;
//                 expired, revoked or mistyped). 403 that is not a rate limit -> PERMISSION
//                 ACCESS_DENIED. Any other answer -> REGISTRY BAD_RESPONSE (is api_base_url a
//                 GitHub API?). Retry-loop failures keep their UpstreamFailure.
//                 The `github-authentication-token-expiration` header, when present, becomes
//                 ProbeResult::credential_expires_at; a date already past fails the step
//                 (AUTHENTICATION CREDENTIALS_EXPIRED, UNAUTHENTICATED); one within
//                 `expiry_warning` (14 days) adds a warning.
//   "scopes"      The `X-OAuth-Scopes` header of that answer (no request of its own). Push
//                 needs `write:packages`; pull needs `read:packages` or `write:packages`.
//                 Missing -> PERMISSION MISSING_SCOPE (PERMISSION_DENIED), naming the missing
//                 scope and the scopes the token has. No header at all -> AUTHENTICATION
//                 NOT_A_CLASSIC_TOKEN (INVALID_ARGUMENT): only classic tokens carry scopes.
//   registry      RegistryProbe (DockerV2Probe) on ghcr_base_url; its steps ("ping", "token",
//                 "authenticate") are appended and its classification is the result's.
//
// Registry handshake choices. The user name is the token's GitHub login (the owner when the
// API did not give one); GHCR checks only the token, but the login reads well in logs. The
// scope asked of GHCR's token service is `repository:<owner>/<probe_repository>:pull` with the
// owner in lower case (GHCR namespaces are lower case) and probe_repository
// "registry-auth-probe" by default. It is deliberately not the challenge's default (ghcr.io
// answers /v2/ with a placeholder scope `repository:user/image:pull`, a namespace unrelated to
// the owner) and not a wildcard (`repository:acme/*:pull` is not Docker scope syntax). GHCR
// issues a token for a well-formed repository scope under any namespace, also for a
// repository that does not exist, as long as the credential is valid (and refuses the
// credential otherwise), and /v2/ accepts that token: the handshake proves the token logs in
// to the registry without depending on a particular package existing. Whether the token can
// push to a given package is decided by the package's own access settings and is not probed.
//
// Secrets: the PAT never appears in a step detail, warning, status message or log line; the
// request headers that carried it are wiped after each send. Thread-safe if the HttpClient,
// Sleeper and RegistryProbe are; Probe() keeps no state between calls.
#ifndef REGISTRY_AUTH_UPSTREAM_GITHUB_CLIENT_H_
#define REGISTRY_AUTH_UPSTREAM_GITHUB_CLIENT_H_

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "common/clock.h"
#include "upstream/docker_v2_probe.h"
#include "upstream/github.h"
#include "upstream/http_client.h"
#include "upstream/retry.h"

namespace registryauth::upstream {

// The headers every GitHub REST call sends (besides Authorization).
inline constexpr char kGitHubAccept[] = "application/vnd.github+json";
inline constexpr char kGitHubApiVersion[] = "2022-11-28";
inline constexpr char kGitHubUserAgent[] = "registry-auth/1";

class GitHubGhcrProbe final : public GhcrProbe {
 public:
  struct Options {
    // A token expiring within this much of now gets a warning.
    absl::Duration expiry_warning = absl::Hours(24 * 14);
    // The repository name (under the owner) whose pull scope the registry handshake asks for.
    std::string probe_repository = "registry-auth-probe";
    std::string user_agent = kGitHubUserAgent;
    RetryOptions retry;
  };

  // All references must outlive the probe. `registry` runs the Docker v2 handshake on
  // `endpoints.ghcr_base_url` (normally a DockerV2Probe over the same HttpClient).
  GitHubGhcrProbe(HttpClient& http, const Clock& clock, Sleeper& sleeper, GitHubEndpoints endpoints,
                  const RegistryProbe& registry)
      : GitHubGhcrProbe(http, clock, sleeper, std::move(endpoints), registry, Options()) {}
  GitHubGhcrProbe(HttpClient& http, const Clock& clock, Sleeper& sleeper, GitHubEndpoints endpoints,
                  const RegistryProbe& registry, Options options);

  ProbeResult Probe(const GhcrProbeRequest& request) const override;

 private:
  HttpClient& http_;
  const Clock& clock_;
  const GitHubEndpoints endpoints_;
  const RegistryProbe& registry_;
  const Options options_;
  const ApiRetrier retrier_;
};

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_GITHUB_CLIENT_H_
