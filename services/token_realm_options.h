// TokenRealmOptions: the settings of the token realm (the `[token]` section of the server
// configuration), shared by every part of it: the issuer (services/token_issuer.h), the
// workspace credentials, the pull-token service and housekeeping.
//
//   TokenRealmOptions o;
//   o.service = "registry.example.com";
//   RETURN_IF_ERROR(ValidateTokenRealmOptions(o));
//
// Value type; thread-compatible.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_REALM_OPTIONS_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_REALM_OPTIONS_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/token_store.h"

namespace registryauth::services {

struct TokenRealmOptions {
  // The registry's `service` name (Distribution `auth.token.service`). Empty: the realm is
  // disabled (IssueToken and MintPullToken are FAILED_PRECONDITION).
  std::string service;
  // The tokens' `iss` (Distribution `auth.token.issuer`).
  std::string issuer = "registry-auth";
  // The registry host MintPullToken hands out, e.g. `registry.example.com:5000`.
  std::string registry_host;
  // Lifetime of registry tokens (>= 60 s).
  absl::Duration token_ttl = absl::Minutes(5);
  absl::Duration pull_token_default_ttl = absl::Hours(1);
  absl::Duration pull_token_max_ttl = absl::Hours(24);
  absl::Duration refresh_token_ttl = absl::Hours(24 * 30);
  storage::ThrottlePolicy throttle;
  // A successful login updates the account's last_used_time only when it is older than this
  // (one write per account per interval, not per request).
  absl::Duration touch_interval = absl::Minutes(1);
  // How long a replica may reuse a service account or pull token row it read, and a "no failed
  // logins" throttle state, instead of asking the database on every /token request. Changes
  // made through this replica apply at once; changes made through another replica (disable,
  // revoke, a block after failures there) apply here within this time. Zero: no cache.
  absl::Duration cache_ttl = absl::Seconds(5);
  size_t cache_capacity = 100000;
  // Service accounts whose tokens may carry `registry:catalog:*`: user name
  // (`<workspace>+<account>`) → the account's uid (ServiceAccount::uid). Distribution's
  // `GET /v2/_catalog` lists every repository of every workspace, so only platform operators'
  // accounts belong here; pull tokens and anonymous requests never get it. The uid binds the
  // right to the one account the operator named: an account (or its workspace) deleted and
  // re-created under the same names has a new uid and does not list.
  std::map<std::string, std::string, std::less<>> catalog_accounts;
};

// INVALID_ARGUMENT naming the option, or OK.
absl::Status ValidateTokenRealmOptions(const TokenRealmOptions& options);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_REALM_OPTIONS_H_
