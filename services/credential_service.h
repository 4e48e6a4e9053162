// CredentialService: the credentials of a registry configuration and the check of them
// (GetCredentials and TestConnection of the v1 API), domain logic only; the guarded entry point
// is services::RegistryAuth, which checks the caller and writes the audit record.
//
// GetCredentials: the configuration's credentials (services/credentials.h). A DISTRIBUTION
// configuration whose URL names the platform registry gets a freshly minted workspace
// credential (RegistryAuthOptions::workspace_credentials) instead of a stored secret. For
// A narrowing (CredentialNarrowing) is accepted for that minted credential only; for any other
// configuration it is INVALID_ARGUMENT rather than silently ignored. For
// GITHUB_APP, an installation access token from the token source (cached; valid for at least 5
// more minutes) with its expire_time; GitHub is waited for until the deadline or
// upstream_timeout, whichever comes first, and its refusals keep their ErrorDetail
// (WithUpstreamErrorDetail). A database outage is UNAVAILABLE with reason DATABASE_UNAVAILABLE.
//
// TestConnection: tests the stored credential against its registry
// (services/connection_tester.h) and stores the outcome with its audit record in one
// transaction (RecordValidation), with the credential's expiry when the test found it; the
// outcome is not stored if the configuration changed while the test ran (`recorded` false). A
// refusing registry is a result (INVALID), not an error.
//
//   CredentialService credentials(store, registry_service, clock, options);
//   ASSIGN_OR_RETURN(Credentials c, credentials.GetCredentials(name, deadline));
//
// Thread-safe if its dependencies are.
#ifndef REGISTRY_AUTH_SERVICES_CREDENTIAL_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_CREDENTIAL_SERVICE_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/model.h"
#include "services/connection_tester.h"
#include "services/credentials.h"
#include "services/names.h"
#include "services/registry_service.h"
#include "storage/registry_store.h"
#include "upstream/github.h"

namespace registryauth::services {

struct RegistryAuthOptions {
  // Runs TestConnection; null: TestConnection is UNIMPLEMENTED after its permission check.
  ConnectionTester* tester = nullptr;
  // Exchanges GITHUB_APP keys for installation tokens in GetCredentials; null: GetCredentials
  // of a GITHUB_APP configuration is FAILED_PRECONDITION (UNSUPPORTED_REGISTRY_TYPE).
  upstream::InstallationTokenSource* app_tokens = nullptr;
  // `registry_host` of GITHUB_APP credentials (GitHubHostOf the configured API URL).
  std::string github_host = "github.com";
  // Longest GetCredentials waits for GitHub, whatever the caller's deadline.
  absl::Duration upstream_timeout = absl::Seconds(20);
  // The token realm: GetCredentials of a DISTRIBUTION configuration whose URL names the
  // registry it serves returns a freshly minted push+pull credential for the workspace's
  // namespace (no stored secret needed). Null, or another registry: the stored credential.
  WorkspaceCredentialMinter* workspace_credentials = nullptr;
};

struct TestConnectionOutcome {
  ConnectionTestResult test;
  bool recorded = false;
};

class CredentialService {
 public:
  // The audit record stored with a test's outcome, given its detail (`VALID` or
  // `INVALID <reason>: <error>`).
  using MakeRecord = std::function<AuditEvent(std::string_view detail)>;

  // All must outlive this object (and the tester and token source of `options`).
  CredentialService(storage::RegistryStore& store, RegistryService& registry, const Clock& clock,
                    RegistryAuthOptions options);

  absl::StatusOr<Credentials> GetCredentials(const RegistryConfigName& name, absl::Time deadline,
                                             const CredentialNarrowing& narrowing = {});
  // `not_run` hears the test's error when it did not run (nothing is stored then).
  // `acting_user`: the end user the caller acts for ("" for none), whose tests the tester
  // bounds across workspaces. `audit_only_on_status_change` (scheduled revalidation): the
  // record is stored only if the status changes (storage::ValidationRecord).
  absl::StatusOr<TestConnectionOutcome> TestConnection(const RegistryConfigName& name,
                                                       absl::Time deadline,
                                                       const MakeRecord& make_record,
                                                       absl::Status* not_run,
                                                       std::string_view acting_user = {},
                                                       bool audit_only_on_status_change = false);

 private:
  // A minted workspace credential for a DISTRIBUTION configuration on the platform registry,
  // else the stored one (BuildCredentials). A non-empty `narrowing` is for the minted one only.
  absl::StatusOr<Credentials> MintedOrStoredCredentials(const RegistryConfig& config,
                                                        const CredentialNarrowing& narrowing = {});

  storage::RegistryStore& store_;
  RegistryService& registry_;
  const Clock& clock_;
  const RegistryAuthOptions options_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_CREDENTIAL_SERVICE_H_
