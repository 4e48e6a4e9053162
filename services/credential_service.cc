#include "services/credential_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/error_detail.h"

namespace registryauth::services {
namespace {

absl::Status WithDatabaseDetail(absl::Status status) {
  if (absl::IsUnavailable(status) && !GetErrorDetail(status).has_value()) {
    return WithErrorDetail(std::move(status), {kReasonDatabaseUnavailable, ErrorCategory::kNetwork,
                                               true, absl::Seconds(1)});
  }
  return status;
}

}  // namespace

CredentialService::CredentialService(storage::RegistryStore& store, RegistryService& registry,
                                     const Clock& clock, RegistryAuthOptions options)
    : store_(store), registry_(registry), clock_(clock), options_(std::move(options)) {}

absl::StatusOr<Credentials> CredentialService::MintedOrStoredCredentials(
    const RegistryConfig& config, const CredentialNarrowing& narrowing) {
  WorkspaceCredentialMinter* minter = options_.workspace_credentials;
  if (config.type == RegistryType::kDistribution && minter != nullptr && !config.url.empty() &&
      minter->ServesRegistry(RegistryHostOf(config.url))) {
    return minter->MintWorkspaceCredential(config.workspace_id, narrowing);
  }
  // A stored secret cannot be narrowed; handing it out whole would betray the caller's intent.
  if (!narrowing.empty()) {
    return absl::InvalidArgumentError(
        "narrowing: only credentials minted for the platform registry (a DISTRIBUTION "
        "configuration on the token realm's registry host) can be narrowed");
  }
  return BuildCredentials(config, registry_);
}

absl::StatusOr<Credentials> CredentialService::GetCredentials(
    const RegistryConfigName& n, absl::Time deadline, const CredentialNarrowing& narrowing) {
  absl::StatusOr<Credentials> result = [&]() -> absl::StatusOr<Credentials> {
    ASSIGN_OR_RETURN(RegistryConfig config, registry_.GetRegistryConfig(FormatRegistryConfigName(
                                                n.workspace_id, n.registry_id)));
    ASSIGN_OR_RETURN(Credentials c, MintedOrStoredCredentials(config, narrowing));
    if (config.type != RegistryType::kGitHubApp) return c;
    if (options_.app_tokens == nullptr) {
      return UnsupportedRegistryType(config, kGitHubAppsDisabled);
    }
    const absl::Time until = std::min(deadline, clock_.Now() + options_.upstream_timeout);
    absl::StatusOr<upstream::InstallationToken> token =
        options_.app_tokens->GetToken(AppInstallationOf(config, std::move(c.secret)), until);
    if (!token.ok()) return WithUpstreamErrorDetail(token.status());
    c.registry_host = options_.github_host;
    c.username = kGitHubAppTokenUsername;
    c.secret = std::move(token->token);
    c.expire_time = token->expires_at;
    return c;
  }();
  if (!result.ok()) return WithDatabaseDetail(result.status());
  return result;
}

absl::StatusOr<TestConnectionOutcome> CredentialService::TestConnection(
    const RegistryConfigName& n, absl::Time deadline, const MakeRecord& make_record,
    absl::Status* not_run, std::string_view acting_user, bool audit_only_on_status_change) {
  const std::string resource = FormatRegistryConfigName(n.workspace_id, n.registry_id);
  absl::StatusOr<ConnectionTestResult> tested;
  RegistryConfig config;
  *not_run = [&]() -> absl::Status {
    if (options_.tester == nullptr) {
      return absl::UnimplementedError("TestConnection is not configured on this server");
    }
    ASSIGN_OR_RETURN(config, registry_.GetRegistryConfig(resource));
    ASSIGN_OR_RETURN(Credentials credentials, MintedOrStoredCredentials(config));
    tested = options_.tester->Test(config, credentials, deadline, acting_user);
    return tested.status();
  }();
  if (!not_run->ok()) return *not_run;
  const ConnectionTestResult& test = *tested;
  const bool valid = test.status == ValidationStatus::kValid;
  const std::string detail =
      valid ? "VALID" : Cat("INVALID ", test.failure.reason, ": ", test.error);
  storage::ValidationRecord record;
  record.tested_version = config.version;
  record.status = test.status;
  record.validated_at = clock_.Now();
  record.error = test.error;
  record.credential_expire_time = test.credential_expires_at;
  record.audit_only_on_status_change = audit_only_on_status_change;
  absl::StatusOr<bool> recorded =
      store_.RecordValidation(n.workspace_id, n.registry_id, record, make_record(detail));
  if (!recorded.ok()) return WithDatabaseDetail(recorded.status());
  TestConnectionOutcome outcome;
  outcome.test = *std::move(tested);
  outcome.recorded = *recorded;
  return outcome;
}

}  // namespace registryauth::services
