// Turning a stored registry configuration into the credentials a registry client presents.
//
// Per type (the username used for GHCR is the configured owner: GHCR accepts any non-empty
// username with a classic PAT, and the owner makes registry logs readable):
//   GHCR          host ghcr.io, username = owner, secret = the PAT, namespace = owner
//   ACR           host = login server, username, secret = token/password, namespace = ""
//   DISTRIBUTION  host = the URL's host[:port], username, secret = the configured service
//                 credential, namespace = repository_namespace (later: a minted token)
//   GENERIC       host = the URL's host[:port], username, secret = password, namespace = ""
//   GITHUB_APP    the stored credentials: host "", username = the App id, secret = the App's
//                 private key PEM. Never handed out as such: CredentialService::GetCredentials
//                 exchanges them for an installation token (AppInstallationOf,
//                 upstream::InstallationTokenSource).
// A configuration without a secret, or without a username where the type needs one, is
// FAILED_PRECONDITION with reason INCOMPLETE_CREDENTIALS (category AUTHENTICATION); an unknown
// type is FAILED_PRECONDITION UNSUPPORTED_REGISTRY_TYPE. The secret never appears in a Status.
//
//   ASSIGN_OR_RETURN(Credentials c, BuildCredentials(config, registry_service));
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_CREDENTIALS_H_
#define REGISTRY_AUTH_SERVICES_CREDENTIALS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "model/model.h"
#include "services/error_detail.h"
#include "services/registry_service.h"
#include "upstream/github.h"

namespace registryauth::services {

struct Credentials {
  RegistryType type = RegistryType::kUnspecified;
  std::string registry_host;
  std::string username;
  SecretString secret;
  std::string repository_namespace;
  std::optional<absl::Time> expire_time;  // unset for long-lived secrets
  // How a minted workspace credential was narrowed, for the audit row's detail
  // (`repositories=acme/web ttl=600s`); empty when it was not.
  std::string narrowing;
};

// What a caller of GetCredentials may ask of a workspace credential for the platform registry
// (WorkspaceCredentialMinter), to give a build only what it needs. Both parts are optional.
struct CredentialNarrowing {
  // Repository patterns inside the workspace (the grammar of service-account grants,
  // realm::ValidateGrantPattern), e.g. `acme/web`, `acme/api-*`; empty: all of `<workspace>/*`.
  std::vector<std::string> repositories;
  // Lifetime, at most the default one (TokenRealmOptions::pull_token_default_ttl); zero: the
  // default.
  absl::Duration ttl = absl::ZeroDuration();

  bool empty() const { return repositories.empty() && ttl == absl::ZeroDuration(); }
};

// Mints short-lived push+pull credentials for a workspace's namespace on the platform's own
// registry (the token realm, services/workspace_credentials.h). GetCredentials of a DISTRIBUTION
// configuration whose URL names that registry hands these out instead of a stored secret.
class WorkspaceCredentialMinter {
 public:
  virtual ~WorkspaceCredentialMinter() = default;
  // True if credentials minted here are accepted by the registry at `registry_host`
  // (`host[:port]`, as RegistryHostOf gives it).
  virtual bool ServesRegistry(std::string_view registry_host) const = 0;
  // `username`/`secret` good for push and pull on `<workspace_id>/*` until `expire_time`, or on
  // the repositories of a non-empty `narrowing` only (INVALID_ARGUMENT naming the field when
  // the narrowing leaves the workspace, is malformed or asks for a longer lifetime).
  virtual absl::StatusOr<Credentials> MintWorkspaceCredential(
      std::string_view workspace_id, const CredentialNarrowing& narrowing) = 0;
};

inline constexpr char kGhcrHost[] = "ghcr.io";
// Why a GITHUB_APP configuration cannot be served by a server without an installation token
// source.
inline constexpr char kGitHubAppsDisabled[] =
    "GitHub App credentials are not enabled on this server";
// The user name git and GitHub's API expect with an installation access token.
inline constexpr char kGitHubAppTokenUsername[] = "x-access-token";

// host[:port] of an http(s) URL ("https://registry.example.com:5000/v2" ->
// "registry.example.com:5000"); the input itself when it has no scheme.
std::string RegistryHostOf(std::string_view url);

absl::StatusOr<Credentials> BuildCredentials(const RegistryConfig& config,
                                             const RegistryService& registry_service);

// The installation a GITHUB_APP configuration names, with the App's key (`credentials.secret`
// of BuildCredentials, moved in).
upstream::GitHubAppInstallation AppInstallationOf(const RegistryConfig& config,
                                                  SecretString private_key_pem);

// The host git and API clients present GITHUB_APP tokens to: "github.com" for
// https://api.github.com, else the host[:port] of the API URL (GitHub Enterprise Server:
// https://HOST/api/v3 -> HOST).
std::string GitHubHostOf(std::string_view api_base_url);

// FAILED_PRECONDITION "<configuration name>: <why>" with reason UNSUPPORTED_REGISTRY_TYPE
// (category REGISTRY, not retryable): the configuration's type cannot be served here.
absl::Status UnsupportedRegistryType(const RegistryConfig& config, std::string_view why);

// upstream::ProbeCategory as ErrorCategory (the two mirror each other value for value).
ErrorCategory ToErrorCategory(upstream::ProbeCategory category);

// The Status of a failed upstream call (upstream/github.h UpstreamFailure payload) with the
// matching ErrorDetail attached, so the transport can report category, reason and retry
// advice. Statuses without the payload are returned as they are.
absl::Status WithUpstreamErrorDetail(absl::Status status);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CREDENTIALS_H_
