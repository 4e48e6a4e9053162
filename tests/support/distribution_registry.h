// A real Docker Distribution registry (Debian's `docker-registry`, 2.8) as a child process, for
// end-to-end tests: filesystem storage in a private temp dir, listening on 127.0.0.1:<free
// port>, plain HTTP, its log kept in a file for failure messages. Without auth, or with token
// auth (`auth.token`) pointing at a realm such as registry-authd's.
//
//   REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();  // first line of the test
//   RegistryOptions options;
//   options.token_auth = TokenAuthConfig{realm_url, "registry.test", "registry-auth", ca_pem};
//   ASSIGN_OR_RETURN(auto registry, DistributionRegistry::Start(options));
//   skopeo->Copy(image.Reference(), registry->Reference("acme/web", "v1"), ...);
//   ADD_FAILURE() << registry->Logs();  // what the registry said
//
// Start() returns once `GET /v2/` answers as the configuration says it should: 200 without
// auth, 401 with a `WWW-Authenticate: Bearer realm="...",service="..."` challenge with token
// auth. Restart() changes the configuration (e.g. a new root certificate bundle) and keeps the
// port and the stored images. The destructor stops the registry.
//
// The binary is $REGAUTH_DOCKER_REGISTRY, else `docker-registry` in $PATH or /usr/bin. Tests
// skip when it (or skopeo) is missing, unless REGAUTH_REQUIRE_REGISTRY=1 (./test.sh), which makes
// them fail. Thread-compatible.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_DISTRIBUTION_REGISTRY_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_DISTRIBUTION_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"

namespace registryauth::testing {

// Distribution's `auth: token:` section (docs/configuration.md, "token").
struct TokenAuthConfig {
  std::string realm;    // auth.token.realm: the token endpoint URL put in the challenge
  std::string service;  // auth.token.service: in the challenge; tokens' `aud` must equal it
  std::string issuer;   // auth.token.issuer: tokens' `iss` must equal it
  // auth.token.rootcertbundle: PEM certificates whose keys sign tokens. The harness writes
  // this text to a file in its directory; Distribution refuses to start without a certificate.
  std::string rootcertbundle_pem;
};

// An HTTP answer from the registry's API base.
struct RegistryProbe {
  int status = 0;
  std::string www_authenticate;  // the WWW-Authenticate header, "" if none
  std::string api_version;       // Docker-Distribution-Api-Version, e.g. "registry/2.0"
  std::string body;
};

// `notifications.endpoints` (one endpoint): where the registry POSTs its events, with which
// Authorization header, and a short timeout and backoff so tests see retries quickly.
struct NotificationEndpoint {
  std::string url;            // e.g. http://127.0.0.1:<port>/v1/registryEvents:notify
  std::string authorization;  // the header's value, e.g. "Bearer <secret>"; "" for none
  absl::Duration timeout = absl::Seconds(2);
  int threshold = 3;
  absl::Duration backoff = absl::Milliseconds(500);
};

struct RegistryOptions {
  std::optional<TokenAuthConfig> token_auth;          // none: no auth at all
  std::optional<NotificationEndpoint> notifications;  // none: no notifications
  std::string log_level = "debug";                    // log.level: error, warn, info or debug
  bool delete_enabled = false;                        // storage.delete.enabled
  absl::Duration start_timeout = absl::Seconds(20);
};

class DistributionRegistry {
 public:
  static constexpr char kBinaryEnv[] = "REGAUTH_DOCKER_REGISTRY";
  static constexpr char kRequireEnv[] = "REGAUTH_REQUIRE_REGISTRY";

  // The docker-registry binary; NOT_FOUND when there is none.
  static absl::StatusOr<std::string> FindBinary();

  // Starts a registry in a new directory under $TEST_TMPDIR. FAILED_PRECONDITION with the log
  // if it exits or does not answer /v2/ as expected before options.start_timeout.
  static absl::StatusOr<std::unique_ptr<DistributionRegistry>> Start(
      const RegistryOptions& options = RegistryOptions());

  DistributionRegistry(const DistributionRegistry&) = delete;
  DistributionRegistry& operator=(const DistributionRegistry&) = delete;
  ~DistributionRegistry();

  // Stops the registry and starts it again with `options`, on the same port and storage.
  absl::Status Restart(const RegistryOptions& options);

  // SIGTERM (then SIGKILL after 5 s) and reap. Idempotent.
  void Stop();

  int port() const { return port_; }
  // "127.0.0.1:<port>", the registry host for references and credentials.
  std::string host_port() const;
  // "docker://127.0.0.1:<port>/<repository>:<tag>" (skopeo's docker transport).
  std::string Reference(const std::string& repository, const std::string& tag) const;
  // "http://127.0.0.1:<port>"
  std::string BaseUrl() const;

  // One `GET /v2/` (Connection: close, 5 s deadline). UNAVAILABLE if nothing answers.
  absl::StatusOr<RegistryProbe> ProbeV2() const;

  // Everything the registry logged so far (all runs, Restart() included).
  std::string Logs() const;
  // The configuration file in use and its directory (storage is `<dir>/storage`).
  const std::string& dir() const { return dir_; }
  std::string config_path() const;
  const RegistryOptions& options() const { return options_; }

 private:
  DistributionRegistry(std::string binary, std::string dir, int port)
      : binary_(std::move(binary)), dir_(std::move(dir)), port_(port) {}

  // Writes the configuration and starts the child; waits for /v2/.
  absl::Status Launch(const RegistryOptions& options);

  const std::string binary_;
  const std::string dir_;
  int port_;
  RegistryOptions options_;
  std::unique_ptr<ChildProcess> child_;
};

// The Distribution configuration YAML for `options` (exposed for tests of the harness).
std::string DistributionConfigYaml(const RegistryOptions& options, int port,
                                   const std::string& storage_dir,
                                   const std::string& rootcertbundle_path);

// Whether docker-registry and skopeo are both installed; if not, what is missing.
struct RegistryToolsAvailability {
  bool available = false;
  bool required = false;  // REGAUTH_REQUIRE_REGISTRY=1
  std::string problem;
};
RegistryToolsAvailability GetRegistryToolsAvailability();

}  // namespace registryauth::testing

// Skips the current test when docker-registry or skopeo is missing, or fails it when they are
// required (REGAUTH_REQUIRE_REGISTRY=1). Use in a TEST body or in SetUp().
#define REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS()                                                \
  do {                                                                                       \
    const ::registryauth::testing::RegistryToolsAvailability regauth_tools_ =                \
        ::registryauth::testing::GetRegistryToolsAvailability();                             \
    if (!regauth_tools_.available) {                                                         \
      if (regauth_tools_.required)                                                           \
        FAIL() << "REGAUTH_REQUIRE_REGISTRY=1 but " << regauth_tools_.problem;               \
      GTEST_SKIP() << regauth_tools_.problem                                                 \
                   << " (scripts/install-deps.sh --test-tools installs docker-registry and " \
                      "skopeo)";                                                             \
    }                                                                                        \
  } while (false)

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_DISTRIBUTION_REGISTRY_H_
