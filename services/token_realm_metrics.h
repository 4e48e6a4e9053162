// TokenRealmMetrics: what the token realm reports about /token requests, for metrics, without
// services/ knowing about Prometheus. The composition root passes an implementation to
// TokenServices, whose TokenIssuer reports each request (server/telemetry.h counts them in
// registry_auth_tokens_total and registry_auth_token_throttled_total). No method ever receives a
// user name or a secret: only the kind of principal the request named and how it ended.
//
//   class Counts : public services::TokenRealmMetrics { ... };
//   TokenServices tokens(store, token_store, hasher, &signer, clock, options, &counts);
//
// Implementations must be thread-safe and cheap (they run on every /token request).
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_REALM_METRICS_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_REALM_METRICS_H_

namespace registryauth::services {

class TokenRealmMetrics {
 public:
  // Who the request claimed to be, from the form of its credentials.
  enum class PrincipalKind {
    kAnonymous,            // no credentials
    kServiceAccount,       // `<workspace>+<id>`
    kPullToken,            // `pull+<id>`
    kRefreshToken,         // grant_type=refresh_token
    kUnknown,              // a user name of none of these forms
    kWorkspaceCredential,  // `build+<id>` (GetCredentials of the platform registry)
  };
  enum class Outcome {
    kIssued,              // a token was issued
    kInvalidCredentials,  // UNAUTHENTICATED
    kThrottled,           // RESOURCE_EXHAUSTED: too many failed logins
    kInvalidRequest,      // INVALID_ARGUMENT: malformed request, unknown service
    kError,               // anything else (database unavailable, realm disabled, ...)
  };

  virtual ~TokenRealmMetrics() = default;
  virtual void OnTokenRequest(PrincipalKind kind, Outcome outcome) = 0;

  // Label values: "anonymous", "service_account", "pull_token", "refresh_token", "unknown",
  // "workspace_credential";
  // "issued", "invalid_credentials", "throttled", "invalid_request", "error".
  static const char* Name(PrincipalKind kind);
  static const char* Name(Outcome outcome);
};

inline const char* TokenRealmMetrics::Name(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kAnonymous:
      return "anonymous";
    case PrincipalKind::kServiceAccount:
      return "service_account";
    case PrincipalKind::kPullToken:
      return "pull_token";
    case PrincipalKind::kRefreshToken:
      return "refresh_token";
    case PrincipalKind::kUnknown:
      return "unknown";
    case PrincipalKind::kWorkspaceCredential:
      return "workspace_credential";
  }
  return "unknown";
}

inline const char* TokenRealmMetrics::Name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kIssued:
      return "issued";
    case Outcome::kInvalidCredentials:
      return "invalid_credentials";
    case Outcome::kThrottled:
      return "throttled";
    case Outcome::kInvalidRequest:
      return "invalid_request";
    case Outcome::kError:
      return "error";
  }
  return "error";
}

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_REALM_METRICS_H_
