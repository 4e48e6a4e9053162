// regauth-credential-helper: gives docker, podman, skopeo and the kubelet short-lived pull
// tokens from registry-auth's MintPullToken, so no long-lived registry password sits on a node.
// This is the whole program as a library (the binary, main.cc, wires stdin/stdout/stderr, the
// environment, the real clock and the gRPC minter), so tests drive both protocols in-process.
//
// Two protocols, chosen by the program name or the first argument:
//   docker-credential-regauth get|store|erase|list     (argv[0] basename)
//   regauth-credential-helper docker get|store|erase|list
//   regauth-credential-helper kubelet
// plus `--config=PATH` anywhere in the arguments (helpers/helper_config.h says where the file is
// looked for otherwise).
//
// Docker credential-helper protocol (docker-credential-helpers): `get` reads the server URL on
// stdin and prints {"ServerURL","Username","Secret"}. The protocol names a registry, not a
// repository, and a pull token is for one app; so `get` mints for the app the URL's path names
// (`host/<workspace>/<app>`, which podman and skopeo send when an auth-file key has a path) or
// else for the configured `docker_app`; with neither it answers "credentials not found in native
// keychain" (the client pulls anonymously) and says why on stderr. A registry the helper does not
// serve is also "not found". `store` is refused (the helper mints its own credentials), `erase`
// drops the cached tokens, `list` prints {} (nothing is stored). Errors: the message on stdout
// (the protocol's channel) and on stderr, exit code 1.
//
// Kubelet image credential provider (credentialprovider.kubelet.k8s.io/v1): reads a
// CredentialProviderRequest {"apiVersion","kind","image"} on stdin and prints a
// CredentialProviderResponse with cacheKeyType "Image", an auth entry for
// `<registry>/<workspace>/<app>`, and a cacheDuration that ends when the helper itself would stop
// serving the cached token (refresh_before ahead of its expiry), so the kubelet never holds an
// expired one. Errors: a message on stderr, exit code 1, nothing on stdout.
//
// Errors name the case: not our registry, a repository that is not <workspace>/<app>, unknown
// app (NOT_FOUND), no permission (PERMISSION_DENIED / UNAUTHENTICATED), service unreachable
// (UNAVAILABLE / DEADLINE_EXCEEDED). The token's password appears only in the protocol's answer
// on stdout; never on stderr. Usage errors exit with 2. Nothing throws out of RunCredentialHelper.
//
//   HelperIo io{&std::cin, &std::cout, &std::cerr, EnvFromProcess};
//   RealClock clock;
//   return RunCredentialHelper(argv[0], args, io, {&clock, CreateGrpcPullTokenMinter});
#ifndef REGISTRY_AUTH_HELPERS_CREDENTIAL_HELPER_H_
#define REGISTRY_AUTH_HELPERS_CREDENTIAL_HELPER_H_

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "helpers/helper_config.h"
#include "helpers/pull_token_minter.h"

namespace registryauth::helpers {

inline constexpr char kDockerHelperName[] = "docker-credential-regauth";
inline constexpr char kNotFoundMessage[] = "credentials not found in native keychain";
inline constexpr char kKubeletApiVersion[] = "credentialprovider.kubelet.k8s.io/v1";
// Neither protocol sends more than a URL or a small JSON object.
inline constexpr std::size_t kMaxStdinBytes = 64 * 1024;

struct HelperIo {
  std::istream* in;
  std::ostream* out;
  std::ostream* err;
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

struct HelperDeps {
  const Clock* clock;
  std::function<absl::StatusOr<std::unique_ptr<PullTokenMinter>>(const HelperConfig&)> make_minter;
};

// A kubelet request, parsed: INVALID_ARGUMENT unless `text` is a JSON object with the v1
// apiVersion, kind CredentialProviderRequest and a string `image`. Other fields (e.g. a service
// account token of newer kubelets) are ignored and never echoed.
absl::StatusOr<std::string> ParseCredentialProviderRequest(std::string_view text);

// The CredentialProviderResponse JSON for one auth entry (`cache_seconds` >= 0).
std::string FormatCredentialProviderResponse(const std::string& auth_key,
                                             const std::string& username, std::string_view password,
                                             long long cache_seconds);

// The docker `get` answer.
std::string FormatDockerCredentials(const std::string& server_url, const std::string& username,
                                    std::string_view secret);

// Runs one helper invocation; `args` excludes argv[0]. Returns the process exit code.
int RunCredentialHelper(std::string_view argv0, const std::vector<std::string>& args,
                        const HelperIo& io, const HelperDeps& deps);

}  // namespace registryauth::helpers

#endif  // REGISTRY_AUTH_HELPERS_CREDENTIAL_HELPER_H_
