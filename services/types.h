// Input and result types of services::RegistryService: plain C++ values the gRPC adapter (or
// any other front end) fills from its own request types.
//
//   RegistryConfigInput in;
//   in.type = in.settings_type = RegistryType::kGhcr;
//   in.owner = "acme";
//   in.secret = SecretString(pat);
//
// Value types; thread-compatible.
#ifndef REGISTRY_AUTH_SERVICES_TYPES_H_
#define REGISTRY_AUTH_SERVICES_TYPES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/secret.h"
#include "model/model.h"

namespace registryauth::services {

// The settable fields of a registry configuration as a caller sends them (the proto
// `RegistryConfig` minus its output-only fields).
struct RegistryConfigInput {
  std::string display_name;
  // The declared type (`registry_config.type`).
  RegistryType type = RegistryType::kUnspecified;
  // Which per-type settings message the caller set (the proto `settings` oneof):
  // kGhcr = `ghcr`, kAcr = `acr`, kDistribution = `distribution`, kGeneric = `generic`,
  // kGitHubApp = `github_app`,
  // kUnspecified = none. Validation requires it to equal `type`.
  RegistryType settings_type = RegistryType::kUnspecified;
  // Fields of the settings message named by `settings_type` (see model::RegistryConfig for
  // which belong to which type). Fields of other types must stay empty.
  std::string owner;
  std::string login_server;
  std::string url;
  std::string repository_namespace;
  std::string username;
  bool pull_only = false;  // GHCR only
  // GITHUB_APP only.
  std::string app_id;
  int64_t installation_id = 0;
  std::vector<std::string> repositories;
  std::vector<std::pair<std::string, std::string>> permissions;
  // The PAT, token or password. Empty means "not given" (proto3 has no presence for it): on
  // create there is then no secret, on update the stored secret is kept.
  SecretString secret;
  bool is_default = false;
};

// google.protobuf.FieldMask paths. Empty = the fields populated in the request (AIP-134);
// {"*"} = every mutable field (full replacement, except that an empty secret still keeps the
// stored one).
using FieldMask = std::vector<std::string>;

// One page of a List call.
template <typename T>
struct ListResult {
  std::vector<T> items;
  // Opaque token for the next page; empty on the last page.
  std::string next_page_token;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TYPES_H_
