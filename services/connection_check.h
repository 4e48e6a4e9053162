// What TestConnection found, in the domain's own words: the steps it ran against the registry
// and, when the registry refused, why. services/connection_tester.cc maps the upstream probes'
// results (upstream/docker_v2_probe.h) into it, so the layers above services/ (the gRPC adapter,
// the audit record) never see an upstream/ type.
//
//   ASSIGN_OR_RETURN(ConnectionTestResult r, tester.Test(config, credentials, deadline));
//   for (const ConnectionCheckStep& step : r.steps) Print(step.name, step.ok, step.detail);
//   if (r.status == ValidationStatus::kInvalid) Explain(r.failure.reason);
//
// Plain values; every text in them is human-readable and never a secret.
#ifndef REGISTRY_AUTH_SERVICES_CONNECTION_CHECK_H_
#define REGISTRY_AUTH_SERVICES_CONNECTION_CHECK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "model/model.h"
#include "services/error_detail.h"

namespace registryauth::services {

// One step of a connection test, e.g. "ping", "token", "authenticate", "installation_token".
struct ConnectionCheckStep {
  std::string name;
  bool ok = false;
  absl::Duration duration;
  std::string detail;  // actionable, never a secret
};

struct ConnectionTestResult {
  ValidationStatus status = ValidationStatus::kUnspecified;  // kValid or kInvalid
  std::vector<ConnectionCheckStep> steps;                    // in the order they ran
  // Why the registry refused (reason UPPER_SNAKE_CASE, category, whether retrying may help);
  // meaningful when `status` is kInvalid.
  ErrorDetail failure;
  // False when the registry let anonymous requests in, so the credentials were never checked.
  bool credentials_verified = false;
  // When the credential itself expires, if the registry says so.
  std::optional<absl::Time> credential_expires_at;
  // Problems that do not make the result invalid but need action soon.
  std::vector<std::string> warnings;
  // For `last_validation_error` and the audit record: empty when valid, else the failing
  // step's detail.
  std::string error;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CONNECTION_CHECK_H_
