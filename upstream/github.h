// The GitHub side of TestConnection and of GITHUB_APP credentials, behind two interfaces that
// services/ depends on (implementations: upstream/github_client.h GitHubGhcrProbe,
// upstream/github_app.h GitHubAppTokenSource; retries: upstream/retry.h).
//
// GhcrProbe checks a GHCR configuration: the classic Personal Access Token against the GitHub
// API (`GET {api}/user`, X-OAuth-Scopes, fine-grained token detection, expiry header), then the
// registry's own handshake on ghcr.io (DockerV2Probe with a scope on the owner's namespace).
//
//   GhcrProbeRequest req{.owner = "acme", .pat = SecretString(pat), .needs_push = true,
//                        .deadline = clock.Now() + absl::Seconds(20)};
//   ProbeResult r = ghcr.Probe(req);       // steps: "github_token", "scopes", "ping", ...
//
// InstallationTokenSource turns a GitHub App's private key into a short-lived installation
// access token (RS256 app JWT -> POST {api}/app/installations/{id}/access_tokens), cached until
// 5 minutes before it expires, one refresh per installation at a time.
//
//   ASSIGN_OR_RETURN(InstallationToken t, source.GetToken(app, deadline));
//
// Failures carry an UpstreamFailure payload (category, reason, retry advice) so services/ can
// turn them into its ErrorDetail without reading messages. Secrets (PAT, private key, app JWT,
// installation token) never appear in a status message, a step detail or a log line.
// Implementations are thread-safe.
#ifndef REGISTRY_AUTH_UPSTREAM_GITHUB_H_
#define REGISTRY_AUTH_UPSTREAM_GITHUB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "upstream/docker_v2_probe.h"

namespace registryauth::upstream {

// Where GitHub lives. GitHub Enterprise Server: api_base_url "https://HOST/api/v3" and its
// own container registry host; tests: a local server.
struct GitHubEndpoints {
  std::string api_base_url = "https://api.github.com";
  std::string ghcr_base_url = "https://ghcr.io";
};

struct GhcrProbeRequest {
  // GitHub user or organisation owning the packages.
  std::string owner;
  // The classic PAT (ghp_...).
  SecretString pat;
  // Push configurations need write:packages (implies read); pull-only ones read:packages.
  bool needs_push = true;
  absl::Time deadline = absl::InfiniteFuture();
};

class GhcrProbe {
 public:
  virtual ~GhcrProbe() = default;
  virtual ProbeResult Probe(const GhcrProbeRequest& request) const = 0;
};

struct GitHubAppInstallation {
  // The App id (numeric) or its client id ("Iv1..."): the JWT's `iss`.
  std::string app_id;
  int64_t installation_id = 0;
  // The App's RSA private key, PEM (PKCS#1 "BEGIN RSA PRIVATE KEY" as GitHub hands it out,
  // or PKCS#8).
  SecretString private_key_pem;
  // Optional narrowing of the token: repository names (without owner) and permissions such
  // as {"contents", "read"}. Empty = everything the installation may do. Part of the cache
  // key: a narrowed token is never served for a wider request or the reverse.
  std::vector<std::string> repositories;
  std::vector<std::pair<std::string, std::string>> permissions;
};

struct InstallationToken {
  SecretString token;
  absl::Time expires_at;
};

class InstallationTokenSource {
 public:
  virtual ~InstallationTokenSource() = default;
  // A token valid for at least 5 more minutes. Errors: UNAUTHENTICATED (the App key or id is
  // rejected), PERMISSION_DENIED, NOT_FOUND (no such installation), INVALID_ARGUMENT (the key
  // does not parse), UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED (rate limited), each
  // with an UpstreamFailure payload.
  virtual absl::StatusOr<InstallationToken> GetToken(const GitHubAppInstallation& app,
                                                     absl::Time deadline) = 0;
  // Like GetToken, but never answered from the cache: a new token from GitHub, which then
  // replaces the cached one (a refresh already in flight for the same installation counts).
  // TestConnection uses it to prove that the App, its key and the installation still work.
  virtual absl::StatusOr<InstallationToken> GetFreshToken(const GitHubAppInstallation& app,
                                                          absl::Time deadline) = 0;
};

// Machine-readable reason for a failed upstream call, carried as a Status payload.
struct UpstreamFailure {
  ProbeCategory category = ProbeCategory::kNone;
  std::string reason;  // UPPER_SNAKE_CASE, e.g. "CREDENTIALS_REJECTED", "RATE_LIMITED"
  bool retryable = false;
  absl::Duration retry_after = absl::ZeroDuration();
};

absl::Status WithUpstreamFailure(absl::Status status, const UpstreamFailure& failure);
std::optional<UpstreamFailure> GetUpstreamFailure(const absl::Status& status);

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_GITHUB_H_
