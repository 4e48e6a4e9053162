// The Docker Registry HTTP API v2 handshake that TestConnection runs for ACR, Distribution and
// generic registries (and for GHCR after its GitHub API checks): does the registry answer, and
// do the stored credentials get in?
//
//   1. ping:         GET {base}/v2/ without credentials.
//                    200 -> anonymous access, done (credentials_verified = false).
//                    401 -> read WWW-Authenticate: Bearer (preferred) or Basic.
//   2. token:        Bearer only: GET {realm}?service=..&scope=.. with Basic credentials (no
//                    Authorization when the username is empty) -> JSON `token` / `access_token`.
//   3. authenticate: GET {base}/v2/ with `Authorization: Bearer <token>` (or Basic) -> 200.
//
//   DockerV2Probe probe(http, clock);
//   ProbeResult r = probe.Probe({.base_url = "https://myreg.azurecr.io", .username = "ci",
//                                .password = SecretString(pat), .scope = std::nullopt,
//                                .deadline = clock.Now() + absl::Seconds(20)});
//   if (!r.ok) Report(r.category, r.reason, r.retryable, r.steps.back().detail);
//
// Failures are classified like services' ErrorDetail (category + UPPER_SNAKE reason):
//   NETWORK (retryable): DNS, connect, lost connection (NETWORK_UNREACHABLE); the deadline or
//     a request timeout ran out (TIMEOUT).
//   REGISTRY: 5xx (REGISTRY_UNAVAILABLE, retryable) and 429 (RATE_LIMITED, retryable, with
//     retry_after from Retry-After); TLS handshake or certificate failure (TLS_FAILURE, not
//     retryable: fix the CA bundle or the server certificate); a missing, malformed or
//     unsupported challenge (MALFORMED_CHALLENGE, UNSUPPORTED_CHALLENGE); a token answer that
//     is not JSON with a token (MALFORMED_TOKEN_RESPONSE); a Bearer realm on plain http for
//     an https registry (INSECURE_REALM: credentials are not sent); /v2/ answering something
//     else (NOT_A_REGISTRY); redirect or size failures (BAD_RESPONSE); a bad base URL (BAD_URL).
//   AUTHENTICATION: 401 from the realm or Basic retry (CREDENTIALS_REJECTED), 401 on /v2/ with
//     the token (TOKEN_REJECTED), a 401 when no credentials are configured
//     (CREDENTIALS_REQUIRED).
//   PERMISSION: 403 from the realm or the registry (ACCESS_DENIED).
// `status` carries the matching code (UNAVAILABLE / DEADLINE_EXCEEDED, FAILED_PRECONDITION,
// UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT) and the failing step's detail.
//
// Secrets: the password and the token never appear in a step detail, a status message or a
// log line; Basic credentials go only to the token realm in the Bearer flow (the registry sees
// only the token), and the buffers that held them are wiped. Thread-safe if the HttpClient is.
#ifndef REGISTRY_AUTH_UPSTREAM_DOCKER_V2_PROBE_H_
#define REGISTRY_AUTH_UPSTREAM_DOCKER_V2_PROBE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "upstream/http_client.h"

namespace registryauth::upstream {

// Mirrors registryauth.v1.ErrorDetail.Category.
enum class ProbeCategory { kNone, kAuthentication, kRegistry, kPermission, kNetwork };

// "NONE", "AUTHENTICATION", "REGISTRY", "PERMISSION", "NETWORK".
std::string_view ProbeCategoryName(ProbeCategory category);

struct ProbeStep {
  std::string name;  // "ping", "token", "authenticate"
  bool ok = false;
  absl::Duration duration;
  std::string detail;  // human-readable, actionable, never a secret
};

struct ProbeResult {
  bool ok = false;  // the registry accepted the credentials (or anonymous access)
  // False when the registry let anonymous requests in, so the credentials were never checked.
  bool credentials_verified = false;
  ProbeCategory category = ProbeCategory::kNone;
  std::string reason;  // UPPER_SNAKE_CASE; empty when ok
  bool retryable = false;
  absl::Duration retry_after = absl::ZeroDuration();
  absl::Status status;  // OK, or the code and detail of the failing step
  std::vector<ProbeStep> steps;
  // When the credential itself expires, if the upstream says so (GitHub's
  // github-authentication-token-expiration header).
  std::optional<absl::Time> credential_expires_at;
  // Problems that do not make the result INVALID but need action soon (e.g. "the token expires
  // in 9 days"). Human-readable, never a secret.
  std::vector<std::string> warnings;

  // Records a step that passed.
  void AddPassedStep(const char* step, absl::Duration took, std::string detail);
  // Records the step that failed and makes the whole result that failure: not ok, `category`,
  // `reason`, `retryable`, and status (`code`, `detail`).
  void FailAt(const char* step, absl::Duration took, ProbeCategory failure_category,
              std::string failure_reason, absl::StatusCode code, bool is_retryable,
              std::string detail);
};

struct RegistryProbeRequest {
  // Scheme and host of the registry, e.g. "https://ghcr.io" or "http://127.0.0.1:5000"; an
  // optional path prefix is kept; a trailing "/" or "/v2/" is ignored.
  std::string base_url;
  // Empty username = anonymous (no Authorization sent anywhere).
  std::string username;
  SecretString password;
  // Scope to ask the token realm for, e.g. "repository:acme/web:pull"; unset = the
  // challenge's scope if it has one, else none.
  std::optional<std::string> scope;
  absl::Time deadline = absl::InfiniteFuture();
};

// Proves that a registry is reachable and accepts a credential. Implementations are
// thread-safe; services/ depends on this interface so tests can fake the outcome.
class RegistryProbe {
 public:
  virtual ~RegistryProbe() = default;
  virtual ProbeResult Probe(const RegistryProbeRequest& request) const = 0;
};

class DockerV2Probe final : public RegistryProbe {
 public:
  // `http` and `clock` (for step durations) must outlive the probe.
  DockerV2Probe(HttpClient& http, const Clock& clock) : http_(http), clock_(clock) {}

  ProbeResult Probe(const RegistryProbeRequest& request) const override;

 private:
  HttpClient& http_;
  const Clock& clock_;
};

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_DOCKER_V2_PROBE_H_
