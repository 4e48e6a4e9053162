#include "services/connection_tester.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "common/strings.h"
#include "services/error_detail.h"
#include "services/names.h"

namespace registryauth::services {
namespace {

int CountOf(const std::map<std::string, int>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

// Decrements `key`'s count in `counts`, dropping the entry at zero.
void Release(std::map<std::string, int>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it != counts.end() && --it->second <= 0) counts.erase(it);
}

// Releases a running slot (global, per workspace and, with an acting user, per user) when the
// test ends, however it ends.
class Slot {
 public:
  Slot(absl::Mutex& mu, int& running, std::map<std::string, int>& per_workspace,
       std::string workspace, std::map<std::string, int>& per_user, std::string user)
      : mu_(mu),
        running_(running),
        per_workspace_(per_workspace),
        workspace_(std::move(workspace)),
        per_user_(per_user),
        user_(std::move(user)) {}
  ~Slot() {
    absl::MutexLock lock(&mu_);
    --running_;
    Release(per_workspace_, workspace_);
    if (!user_.empty()) Release(per_user_, user_);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  absl::Mutex& mu_;
  int& running_;
  std::map<std::string, int>& per_workspace_;
  const std::string workspace_;
  std::map<std::string, int>& per_user_;
  const std::string user_;
};

absl::Status TooManyTests(std::string what) {
  return WithErrorDetail(absl::ResourceExhaustedError(
                             Cat("TestConnection: ", what, " already running; try again shortly")),
                         {"TOO_MANY_TESTS", ErrorCategory::kNetwork, true, absl::Seconds(2)});
}

std::string FailingDetail(const upstream::ProbeResult& probe) {
  for (const upstream::ProbeStep& step : probe.steps) {
    if (!step.ok) return Cat(step.name, ": ", step.detail);
  }
  if (!probe.status.ok()) return std::string(probe.status.message());
  return "the registry refused the credentials";
}

// The probe's outcome in services' own types (services/connection_check.h).
ConnectionTestResult FromProbe(const upstream::ProbeResult& probe) {
  ConnectionTestResult result;
  result.status = probe.ok ? ValidationStatus::kValid : ValidationStatus::kInvalid;
  for (const upstream::ProbeStep& step : probe.steps) {
    result.steps.push_back({step.name, step.ok, step.duration, step.detail});
  }
  if (!probe.ok) {
    result.failure = {probe.reason, ToErrorCategory(probe.category), probe.retryable,
                      probe.retry_after};
    result.error = FailingDetail(probe);
  }
  result.credentials_verified = probe.credentials_verified;
  result.credential_expires_at = probe.credential_expires_at;
  result.warnings = probe.warnings;
  return result;
}

}  // namespace

ConnectionTester::ConnectionTester(const upstream::RegistryProbe& registry_probe,
                                   const upstream::GhcrProbe* ghcr_probe,
                                   upstream::InstallationTokenSource* app_tokens,
                                   const Clock& clock, ConnectionTesterOptions options)
    : registry_probe_(registry_probe),
      ghcr_probe_(ghcr_probe),
      app_tokens_(app_tokens),
      clock_(clock),
      options_(std::move(options)) {}

int ConnectionTester::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

absl::StatusOr<ConnectionTestResult> ConnectionTester::Test(const RegistryConfig& config,
                                                            const Credentials& credentials,
                                                            absl::Time deadline,
                                                            std::string_view acting_user) {
  absl::StatusOr<ConnectionTestResult> result = Run(config, credentials, deadline, acting_user);
  if (options_.metrics != nullptr) {
    using Outcome = ConnectionTestMetrics::Outcome;
    if (!result.ok()) {
      std::optional<ErrorDetail> detail = GetErrorDetail(result.status());
      options_.metrics->OnConnectionTest(
          config.type, Outcome::kError,
          detail.has_value() ? detail->category : ErrorCategory::kUnspecified);
    } else if (result->status == ValidationStatus::kValid) {
      options_.metrics->OnConnectionTest(config.type, Outcome::kValid, ErrorCategory::kUnspecified);
    } else {
      options_.metrics->OnConnectionTest(config.type, Outcome::kInvalid, result->failure.category);
    }
  }
  return result;
}

absl::StatusOr<ConnectionTestResult> ConnectionTester::Run(const RegistryConfig& config,
                                                           const Credentials& credentials,
                                                           absl::Time deadline,
                                                           std::string_view acting_user) {
  const absl::Time now = clock_.Now();
  deadline = std::min(deadline, now + options_.timeout);
  if (config.type == RegistryType::kGitHubApp && app_tokens_ == nullptr) {
    return UnsupportedRegistryType(config, kGitHubAppsDisabled);
  }
  if (deadline <= now) {
    return absl::DeadlineExceededError("TestConnection: the deadline has already passed");
  }
  const std::string user(acting_user);
  const int max_per_user =
      options_.max_per_user > 0 ? options_.max_per_user : options_.max_per_workspace;
  {
    absl::MutexLock lock(&mu_);
    if (running_ >= options_.max_concurrent) {
      return TooManyTests(Cat(options_.max_concurrent, " tests are"));
    }
    if (CountOf(running_per_workspace_, config.workspace_id) >= options_.max_per_workspace) {
      return TooManyTests(Cat(options_.max_per_workspace, " tests of this workspace are"));
    }
    if (!user.empty() && CountOf(running_per_user_, user) >= max_per_user) {
      return TooManyTests(Cat(max_per_user, " tests for this user are"));
    }
    ++running_per_workspace_[config.workspace_id];
    if (!user.empty()) ++running_per_user_[user];
    ++running_;
  }
  Slot slot(mu_, running_, running_per_workspace_, config.workspace_id, running_per_user_, user);

  upstream::ProbeResult probe;
  switch (config.type) {
    case RegistryType::kGhcr:
      if (ghcr_probe_ != nullptr) {
        upstream::GhcrProbeRequest req;
        req.owner = config.owner;
        req.pat = credentials.secret;
        req.needs_push = !config.pull_only;
        req.deadline = deadline;
        probe = ghcr_probe_->Probe(req);
        break;
      }
      [[fallthrough]];
    case RegistryType::kAcr:
    case RegistryType::kDistribution:
    case RegistryType::kGeneric: {
      upstream::RegistryProbeRequest req;
      if (config.type == RegistryType::kGhcr) {
        req.base_url = options_.ghcr_base_url;
      } else if (config.type == RegistryType::kAcr) {
        req.base_url = Cat("https://", config.login_server);
      } else {
        req.base_url = config.url;
      }
      req.username = credentials.username;
      req.password = credentials.secret;
      req.deadline = deadline;
      probe = registry_probe_.Probe(req);
      break;
    }
    case RegistryType::kGitHubApp:
      probe = TestGitHubApp(config, credentials, deadline);
      break;
    case RegistryType::kUnspecified:
      return UnsupportedRegistryType(config, "unsupported registry type");
  }
  return FromProbe(probe);
}

upstream::ProbeResult ConnectionTester::TestGitHubApp(const RegistryConfig& config,
                                                      const Credentials& credentials,
                                                      absl::Time deadline) {
  upstream::ProbeResult r;
  upstream::ProbeStep step;
  step.name = "installation_token";
  const absl::Time start = clock_.Now();
  absl::StatusOr<upstream::InstallationToken> token =
      app_tokens_->GetFreshToken(AppInstallationOf(config, credentials.secret), deadline);
  step.duration = clock_.Now() - start;
  step.ok = token.ok();
  if (token.ok()) {
    step.detail =
        Cat("GitHub issued an access token for installation ", config.installation_id, " of App ",
            config.app_id, ", valid until ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", token->expires_at, absl::UTCTimeZone()));
    r.ok = true;
    r.credentials_verified = true;
    r.credential_expires_at = token->expires_at;
  } else {
    step.detail = std::string(token.status().message());
    r.status = token.status();
    if (std::optional<upstream::UpstreamFailure> f = upstream::GetUpstreamFailure(r.status)) {
      r.category = f->category;
      r.reason = f->reason;
      r.retryable = f->retryable;
      r.retry_after = f->retry_after;
    } else {
      r.category = upstream::ProbeCategory::kRegistry;
      r.reason = "UPSTREAM_ERROR";
    }
  }
  r.steps.push_back(std::move(step));
  return r;
}

}  // namespace registryauth::services
