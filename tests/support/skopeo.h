// Runs Debian's skopeo (1.9) as a child process, isolated from the machine's container
// configuration, for end-to-end tests that push and pull images to a real registry.
//
//   REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();  // distribution_registry.h
//   ASSIGN_OR_RETURN(auto skopeo, Skopeo::Create());
//   SkopeoCopyOptions push;
//   push.dest_creds = RegistryCredentials{"ci-bot", password};
//   SkopeoResult r = skopeo->Copy(image.Reference(), registry->Reference("acme/web", "v1"), push);
//   EXPECT_TRUE(r.ok()) << r.Describe();      // command line and output, password redacted
//   EXPECT_EQ(r.failure, SkopeoFailure::kUnauthorized) << r.Describe();
//
// Isolation: every run gets a clean environment whose HOME, XDG_RUNTIME_DIR, TMPDIR and
// REGISTRY_AUTH_FILE point into a private directory, plus `--policy` (insecureAcceptAnything),
// `--registries.d` (empty), `--tmpdir` and `--*-cert-dir` (empty) flags, and a private
// $HOME/.config/containers/registries.conf, which skopeo then reads instead of
// /etc/containers/registries.conf and its drop-ins. When the test runs as root, skopeo would
// keep a blob-info cache in /var/lib/containers/cache; `_CONTAINERS_ROOTLESS_UID` (read by
// containers/image) moves it under the private $HOME. Credentials are only ever the ones a
// call passes (`--src-creds` / `--dest-creds`): no auth file, no ~/.docker/config.json, unless
// a test writes `$REGISTRY_AUTH_FILE` (`<dir()>/run/auth.json`) itself, e.g. with `credHelpers`.
//
// The binary is $REGAUTH_SKOPEO, else `skopeo` in $PATH or /usr/bin. Thread-compatible: one
// Skopeo per thread (calls share the private directory).
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_SKOPEO_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_SKOPEO_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace registryauth::testing {

// A registry user name and password (or token). The password is a secret: SkopeoResult redacts
// it from everything it reports.
struct RegistryCredentials {
  std::string username;
  std::string password;
};

// What a failed skopeo run looks like, from its error message.
enum class SkopeoFailure {
  kNone,          // exit code 0
  kUnauthorized,  // 401 from the registry or the token realm: "unauthorized", "authentication
                  // required", "invalid username/password"
  kDenied,        // 403 / "denied" / "forbidden"
  kNotFound,      // "manifest unknown", "name unknown", "not found", 404
  kConnection,    // the registry or the realm did not answer: refused, reset, no such host
  kTimeout,       // killed by the harness after the timeout
  kOther,
};
std::string SkopeoFailureName(SkopeoFailure failure);

// Classifies skopeo's stderr (lower-cased substring matching; digests are not mistaken for
// status codes). kNone is never returned: an empty or unknown message is kOther.
SkopeoFailure ClassifySkopeoError(const std::string& stderr_text);

struct SkopeoResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string command;      // the command line, credentials redacted
  std::string stdout_text;  // redacted
  std::string stderr_text;  // redacted
  SkopeoFailure failure = SkopeoFailure::kOther;

  bool ok() const { return exit_code == 0 && !timed_out; }
  // The registry or the realm refused the credentials or the access (401 or 403).
  bool refused() const {
    return failure == SkopeoFailure::kUnauthorized || failure == SkopeoFailure::kDenied;
  }
  // Command line, exit code, classification, stdout and stderr, for failure messages.
  std::string Describe() const;
};

struct SkopeoCopyOptions {
  std::optional<RegistryCredentials> src_creds;   // --src-creds user:password
  std::optional<RegistryCredentials> dest_creds;  // --dest-creds user:password
  // --src-tls-verify / --dest-tls-verify. false (the harness registry speaks plain HTTP):
  // skopeo then tries HTTPS without verification first and falls back to HTTP.
  bool tls_verify = false;
  // --preserve-digests: fail instead of changing the manifest or compressing layers, so a
  // pushed image keeps its digests (what a byte-for-byte comparison wants).
  bool preserve_digests = true;
  std::vector<std::string> extra_args;  // before the two references
};

class Skopeo {
 public:
  static constexpr char kBinaryEnv[] = "REGAUTH_SKOPEO";

  // The skopeo binary; NOT_FOUND when there is none.
  static absl::StatusOr<std::string> FindBinary();

  // Creates the private configuration in a new directory under $TEST_TMPDIR. Each run is
  // killed after `timeout`.
  static absl::StatusOr<std::unique_ptr<Skopeo>> Create(absl::Duration timeout = absl::Seconds(60));

  // `skopeo copy SRC DST`, e.g. "oci:/dir:v1" -> "docker://127.0.0.1:5000/acme/web:v1".
  SkopeoResult Copy(const std::string& src, const std::string& dst,
                    const SkopeoCopyOptions& options = SkopeoCopyOptions());

  // `skopeo inspect [--raw] IMAGE` (stdout: the JSON summary, or with `raw` the manifest bytes).
  SkopeoResult Inspect(const std::string& image,
                       const std::optional<RegistryCredentials>& creds = std::nullopt,
                       bool raw = false, bool tls_verify = false);

  // `skopeo <global flags> ARGS...`; every password in `secrets` is redacted from the result.
  SkopeoResult Run(const std::vector<std::string>& args,
                   const std::vector<std::string>& secrets = {});

  // Adds --debug to every run (stderr then shows each HTTP request, token fetches included).
  void set_debug(bool debug) { debug_ = debug; }
  // A folder searched before /usr/bin:/bin in the runs' PATH, e.g. one holding a
  // `docker-credential-<name>` that an auth file's `credHelpers` names.
  void set_path_prefix(std::string dir) { path_prefix_ = std::move(dir); }

  const std::string& binary() const { return binary_; }
  const std::string& dir() const { return dir_; }

 private:
  Skopeo(std::string binary, std::string dir, absl::Duration timeout)
      : binary_(std::move(binary)), dir_(std::move(dir)), timeout_(timeout) {}

  std::vector<std::string> Environment() const;

  const std::string binary_;
  const std::string dir_;
  const absl::Duration timeout_;
  bool debug_ = false;
  std::string path_prefix_;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_SKOPEO_H_
