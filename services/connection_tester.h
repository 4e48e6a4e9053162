// ConnectionTester: runs TestConnection's check of one registry configuration against the real
// registry (through the upstream/ probes) within a deadline, with a bound on how many tests run
// at once, and turns the outcome into a validation status.
//
//   GHCR                 GhcrProbe (GitHub API token and scope checks, then the ghcr.io
//                        handshake); without one, the Docker v2 handshake on ghcr_base_url.
//   ACR                  Docker v2 handshake on https://<login_server>.
//   DISTRIBUTION/GENERIC Docker v2 handshake on the configured url.
//   GITHUB_APP           a new installation access token from the InstallationTokenSource
//                        (GetFreshToken: never the cached one), step "installation_token";
//                        its expires_at is the result's credential_expires_at.
//
// The probes' results are mapped into services/connection_check.h's ConnectionTestResult, so
// callers see no upstream/ type.
//
//   ConnectionTester tester(v2_probe, &ghcr_probe, clock, {.timeout = absl::Seconds(30)});
//   ASSIGN_OR_RETURN(ConnectionTestResult r, tester.Test(config, credentials, deadline));
//
// A test holds the calling thread while the registry answers, so at most `max_concurrent`
// run at once, at most `max_per_workspace` of them for one workspace, and at most
// `max_per_user` for one acting user across all their workspaces (any user may create
// workspaces, so the per-workspace bound alone would let one user with a few workspaces and a
// slow registry of their own take every slot); more fail at once with RESOURCE_EXHAUSTED
// (retryable) instead of queueing, and a slow registry can never take more than that many of
// the server's threads. Each test ends by min(deadline, now + timeout).
//
// Thread-safe if the probes and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_CONNECTION_TESTER_H_
#define REGISTRY_AUTH_SERVICES_CONNECTION_TESTER_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/model.h"
#include "services/connection_check.h"
#include "services/connection_test_metrics.h"
#include "services/credentials.h"
#include "upstream/docker_v2_probe.h"
#include "upstream/github.h"

namespace registryauth::services {

struct ConnectionTesterOptions {
  // Where GHCR's registry lives when no GhcrProbe is given (tests, GitHub Enterprise Server).
  std::string ghcr_base_url = "https://ghcr.io";
  // Longest a test may take, whatever the caller's deadline.
  absl::Duration timeout = absl::Seconds(30);
  // Tests running at once (each holds a server thread).
  int max_concurrent = 8;
  // Of those, tests of one workspace's configurations running at once.
  int max_per_workspace = 2;
  // Of those, tests run for one acting user (RequestContext::on_behalf_of) at once, in any of
  // their workspaces; 0 = the same as max_per_workspace. Callers acting for no user are bound
  // per workspace and in total only.
  int max_per_user = 0;
  // Told the outcome of every Test (services/connection_test_metrics.h); may be null. Must
  // outlive the tester.
  ConnectionTestMetrics* metrics = nullptr;
};

class ConnectionTester {
 public:
  // The probes, the token source and the clock must outlive the tester; `ghcr_probe` and
  // `app_tokens` may be null (without `app_tokens`, GITHUB_APP configurations cannot be
  // tested: FAILED_PRECONDITION).
  ConnectionTester(const upstream::RegistryProbe& registry_probe,
                   const upstream::GhcrProbe* ghcr_probe,
                   upstream::InstallationTokenSource* app_tokens, const Clock& clock,
                   ConnectionTesterOptions options = {});
  ConnectionTester(const upstream::RegistryProbe& registry_probe,
                   const upstream::GhcrProbe* ghcr_probe, const Clock& clock,
                   ConnectionTesterOptions options = {})
      : ConnectionTester(registry_probe, ghcr_probe, nullptr, clock, std::move(options)) {}

  // Tests `config` with its decrypted `credentials` (services/credentials.h) for
  // `acting_user` (the end user the caller acts for; empty for none). Errors (the test did not
  // run): RESOURCE_EXHAUSTED when max_concurrent tests (or max_per_workspace of `config`'s
  // workspace, or max_per_user of `acting_user`) are running,
  // FAILED_PRECONDITION for a type it cannot test, DEADLINE_EXCEEDED when `deadline` has
  // already passed. A registry that refuses is a result (kInvalid), not an error.
  absl::StatusOr<ConnectionTestResult> Test(const RegistryConfig& config,
                                            const Credentials& credentials, absl::Time deadline,
                                            std::string_view acting_user = {});

  int running() const;

 private:
  absl::StatusOr<ConnectionTestResult> Run(const RegistryConfig& config,
                                           const Credentials& credentials, absl::Time deadline,
                                           std::string_view acting_user);
  upstream::ProbeResult TestGitHubApp(const RegistryConfig& config, const Credentials& credentials,
                                      absl::Time deadline);

  const upstream::RegistryProbe& registry_probe_;
  const upstream::GhcrProbe* const ghcr_probe_;
  upstream::InstallationTokenSource* const app_tokens_;
  const Clock& clock_;
  const ConnectionTesterOptions options_;
  mutable absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  // Running tests per workspace id and per acting user (entries removed at zero).
  std::map<std::string, int> running_per_workspace_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> running_per_user_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CONNECTION_TESTER_H_
