// Turning a stored registry configuration into the credentials a registry client presents.
//
// Per type (the username used for GHCR is the configured owner: GHCR accepts any non-empty
// username with a classic PAT, and the owner makes registry logs readable):
//   GHCR          host ghcr.io, username = owner, secret = the PAT, namespace = owner
//   ACR           host = login server, username, secret = token/password, namespace = ""
//   DISTRIBUTION  host = the URL's host[:port], username, secret = the configured service
//                 credential, namespace = repository_namespace (later: a minted token)
//   GENERIC       host = the URL's host[:port], username, secret = password, namespace = ""
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

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "model/model.h"
#include "services/registry_service.h"

namespace registryauth::services {

struct Credentials {
  RegistryType type = RegistryType::kUnspecified;
  std::string registry_host;
  std::string username;
  SecretString secret;
  std::string repository_namespace;
  std::optional<absl::Time> expire_time;  // unset for long-lived secrets
};

inline constexpr char kGhcrHost[] = "ghcr.io";

// host[:port] of an http(s) URL ("https://registry.example.com:5000/v2" ->
// "registry.example.com:5000"); the input itself when it has no scheme.
std::string RegistryHostOf(std::string_view url);

absl::StatusOr<Credentials> BuildCredentials(const RegistryConfig& config,
                                             const RegistryService& registry_service);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CREDENTIALS_H_
