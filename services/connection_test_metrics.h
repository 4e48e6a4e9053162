// ConnectionTestMetrics: what ConnectionTester reports about each TestConnection it was asked
// to run, for metrics, without services/ knowing about Prometheus. The composition root passes
// an implementation in ConnectionTesterOptions (server/telemetry.h counts them in
// registry_auth_test_connection_total). Only the registry type, the outcome and the error
// category are reported: never a configuration name, a URL, a user name or a secret.
//
//   class Counts : public services::ConnectionTestMetrics { ... };
//   ConnectionTesterOptions options;
//   options.metrics = &counts;
//
// Implementations must be thread-safe and cheap.
#ifndef REGISTRY_AUTH_SERVICES_CONNECTION_TEST_METRICS_H_
#define REGISTRY_AUTH_SERVICES_CONNECTION_TEST_METRICS_H_

#include "model/model.h"
#include "services/error_detail.h"

namespace registryauth::services {

class ConnectionTestMetrics {
 public:
  enum class Outcome {
    kValid,    // the registry accepted the credentials
    kInvalid,  // the registry (or GitHub) refused them, or could not be reached: a result
    kError,    // the test did not run (too many running, deadline passed, type not testable)
  };

  virtual ~ConnectionTestMetrics() = default;
  // `category`: kUnspecified for kValid; for kInvalid the probe's category; for kError the
  // ErrorDetail category of the status if it has one.
  virtual void OnConnectionTest(RegistryType type, Outcome outcome, ErrorCategory category) = 0;

  // Label values: "ghcr", "acr", "distribution", "generic", "github_app", "unspecified";
  // "valid", "invalid", "error"; "none" (kUnspecified), "authentication", "registry",
  // "permission", "network".
  static const char* Name(RegistryType type);
  static const char* Name(Outcome outcome);
  static const char* Name(ErrorCategory category);
};

inline const char* ConnectionTestMetrics::Name(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return "ghcr";
    case RegistryType::kAcr:
      return "acr";
    case RegistryType::kDistribution:
      return "distribution";
    case RegistryType::kGeneric:
      return "generic";
    case RegistryType::kGitHubApp:
      return "github_app";
    case RegistryType::kUnspecified:
      break;
  }
  return "unspecified";
}

inline const char* ConnectionTestMetrics::Name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kValid:
      return "valid";
    case Outcome::kInvalid:
      return "invalid";
    case Outcome::kError:
      return "error";
  }
  return "error";
}

inline const char* ConnectionTestMetrics::Name(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kAuthentication:
      return "authentication";
    case ErrorCategory::kRegistry:
      return "registry";
    case ErrorCategory::kPermission:
      return "permission";
    case ErrorCategory::kNetwork:
      return "network";
    case ErrorCategory::kUnspecified:
      break;
  }
  return "none";
}

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CONNECTION_TEST_METRICS_H_
