#include "services/credentials.h"

#include <utility>

#include "common/strings.h"
#include "services/error_detail.h"
#include "services/names.h"

namespace registryauth::services {
namespace {

absl::Status Incomplete(const RegistryConfig& config, std::string_view what) {
  return WithErrorDetail(
      absl::FailedPreconditionError(Cat(FormatRegistryConfigName(config.workspace_id, config.id),
                                        ": incomplete credentials: ", what)),
      {kReasonIncompleteCredentials, ErrorCategory::kAuthentication, false, absl::ZeroDuration()});
}

}  // namespace

std::string RegistryHostOf(std::string_view url) {
  std::string_view rest = url;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (rest.substr(0, scheme.size()) == scheme) {
      rest.remove_prefix(scheme.size());
      break;
    }
  }
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  return std::string(rest);
}

absl::StatusOr<Credentials> BuildCredentials(const RegistryConfig& config,
                                             const RegistryService& registry_service) {
  Credentials c;
  c.type = config.type;
  switch (config.type) {
    case RegistryType::kGhcr:
      if (config.owner.empty()) return Incomplete(config, "no owner");
      c.registry_host = kGhcrHost;
      c.username = config.owner;
      c.repository_namespace = config.owner;
      break;
    case RegistryType::kAcr:
      if (config.login_server.empty()) return Incomplete(config, "no login server");
      if (config.username.empty()) return Incomplete(config, "no username");
      c.registry_host = config.login_server;
      c.username = config.username;
      break;
    case RegistryType::kDistribution:
      if (config.url.empty()) return Incomplete(config, "no url");
      if (config.username.empty()) {
        return Incomplete(config,
                          "no service username (credentials are minted only for the platform "
                          "registry the token realm serves, --registry_host)");
      }
      c.registry_host = RegistryHostOf(config.url);
      c.username = config.username;
      c.repository_namespace = config.repository_namespace;
      break;
    case RegistryType::kGeneric:
      if (config.url.empty()) return Incomplete(config, "no url");
      if (config.username.empty()) return Incomplete(config, "no username");
      c.registry_host = RegistryHostOf(config.url);
      c.username = config.username;
      break;
    case RegistryType::kGitHubApp:
      if (config.app_id.empty()) return Incomplete(config, "no GitHub App id");
      if (config.installation_id <= 0) return Incomplete(config, "no installation id");
      c.username = config.app_id;
      break;
    default:
      return UnsupportedRegistryType(config, "unsupported registry type");
  }
  if (config.secret_ciphertext.empty()) return Incomplete(config, "no secret stored");
  absl::StatusOr<SecretString> secret = registry_service.DecryptSecret(config);
  if (!secret.ok()) {
    // Wrong key ring or a tampered row: an operator problem, not the caller's.
    return WithErrorDetail(
        absl::InternalError(Cat(FormatRegistryConfigName(config.workspace_id, config.id),
                                ": stored secret cannot be decrypted")),
        {kReasonSecretUndecryptable, ErrorCategory::kRegistry, false, absl::ZeroDuration()});
  }
  c.secret = *std::move(secret);
  return c;
}

upstream::GitHubAppInstallation AppInstallationOf(const RegistryConfig& config,
                                                  SecretString private_key_pem) {
  upstream::GitHubAppInstallation app;
  app.app_id = config.app_id;
  app.installation_id = config.installation_id;
  app.private_key_pem = std::move(private_key_pem);
  app.repositories = config.repositories;
  app.permissions = config.permissions;
  return app;
}

std::string GitHubHostOf(std::string_view api_base_url) {
  std::string host = RegistryHostOf(api_base_url);
  if (host == "api.github.com") return "github.com";
  return host;
}

absl::Status UnsupportedRegistryType(const RegistryConfig& config, std::string_view why) {
  return WithErrorDetail(
      absl::FailedPreconditionError(
          Cat(FormatRegistryConfigName(config.workspace_id, config.id), ": ", why)),
      {kReasonUnsupportedRegistryType, ErrorCategory::kRegistry, false, absl::ZeroDuration()});
}

ErrorCategory ToErrorCategory(upstream::ProbeCategory category) {
  return static_cast<ErrorCategory>(static_cast<int>(category));
}

absl::Status WithUpstreamErrorDetail(absl::Status status) {
  std::optional<upstream::UpstreamFailure> f = upstream::GetUpstreamFailure(status);
  if (!f.has_value()) return status;
  return WithErrorDetail(std::move(status),
                         {f->reason, ToErrorCategory(f->category), f->retryable, f->retry_after});
}

}  // namespace registryauth::services
