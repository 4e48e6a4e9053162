#include "api/testing/in_memory_stack.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/names.h"

namespace registryauth::api::testing {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr char kServicePrefix[] = "/registryauth.v1.RegistryAuthService/";
constexpr char kIssueRegistryToken[] = "/registryauth.v1.RegistryAuthService/IssueRegistryToken";
constexpr char kIssuer[] = "registry-auth";

// One data key with fixed bytes: tests need no key file.
std::unique_ptr<crypto::KeyRing> TestKeyRing() {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(1, SecretString(std::string(32, 'k')));
  return *crypto::KeyRing::Create(std::move(keys), 1);
}

std::unique_ptr<crypto::KeyJwtSigner> TestSigner() {
  return std::make_unique<crypto::KeyJwtSigner>(
      *crypto::SigningKey::FromPrivateKeyPem(*crypto::GenerateEs256KeyPem()));
}

services::TokenRealmOptions RealmOptions() {
  services::TokenRealmOptions options;
  options.service = InMemoryStack::kTokenService;
  options.issuer = kIssuer;
  options.registry_host = InMemoryStack::kTokenService;
  return options;
}

// Records each RegistryAuthService call's metadata (and IssueRegistryToken's request) and
// overrides its status when a failure was queued for it.
class HooksInterceptor final : public grpc::experimental::Interceptor {
 public:
  HooksInterceptor(InMemoryStack::Hooks& hooks, std::string method)
      : hooks_(hooks), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::multimap<std::string, std::string> metadata;
      for (const auto& [key, value] : *methods->GetRecvInitialMetadata()) {
        metadata.emplace(std::string(key.data(), key.size()),
                         std::string(value.data(), value.size()));
      }
      absl::MutexLock lock(&hooks_.mu);
      hooks_.last_metadata = std::move(metadata);
      failure_ = std::exchange(hooks_.next_failure, std::nullopt);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        method_ == kIssueRegistryToken && methods->GetRecvMessage() != nullptr) {
      const auto* request =
          static_cast<const v1::IssueRegistryTokenRequest*>(methods->GetRecvMessage());
      absl::MutexLock lock(&hooks_.mu);
      hooks_.last_token_request = *request;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        failure_.has_value()) {
      methods->ModifySendStatus(*failure_);
    }
    methods->Proceed();
  }

 private:
  InMemoryStack::Hooks& hooks_;
  const std::string method_;
  std::optional<grpc::Status> failure_;  // this call's forced status
};

class HooksInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit HooksInterceptorFactory(InMemoryStack::Hooks& hooks) : hooks_(hooks) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::string method = info->method();
    if (method.rfind(kServicePrefix, 0) != 0) return nullptr;  // health checks and the like
    return new HooksInterceptor(hooks_, method);
  }

 private:
  InMemoryStack::Hooks& hooks_;
};

}  // namespace

InMemoryStack::InMemoryStack()
    : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone())),
      keys_(TestKeyRing()),
      signer_(TestSigner()),
      registry_service_(store_, *keys_, clock_),
      credentials_(store_, registry_service_, clock_, services::RegistryAuthOptions()),
      registry_auth_(guard_, registry_service_, members_, credentials_, &registry_events_),
      token_services_(store_, tokens_, *keys_, signer_.get(), clock_, RealmOptions()),
      realm_(guard_, token_services_),
      grpc_service_(registry_auth_, realm_, authn_) {}

InMemoryStack::~InMemoryStack() = default;

void InMemoryStack::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(&grpc_service_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> hooks;
  hooks.push_back(std::make_unique<HooksInterceptorFactory>(hooks_));
  builder.experimental().SetInterceptorCreators(std::move(hooks));
}

std::optional<std::string> InMemoryStack::StoredSecret(std::string_view name) {
  absl::StatusOr<services::RegistryConfigName> parsed =
      services::ParseRegistryConfigName(name, "name");
  if (!parsed.ok()) return std::nullopt;
  absl::StatusOr<RegistryConfig> config =
      store_.GetRegistryConfig(parsed->workspace_id, parsed->registry_id);
  if (!config.ok() || config->secret_ciphertext.empty()) return std::nullopt;
  absl::StatusOr<std::string> ad = services::RegistryService::SecretAssociatedData(*config);
  if (!ad.ok()) return std::nullopt;
  absl::StatusOr<SecretString> secret = keys_->Decrypt(config->secret_ciphertext, *ad);
  if (!secret.ok()) return std::nullopt;
  return std::string(secret->view());
}

absl::StatusOr<nlohmann::json> InMemoryStack::VerifyToken(std::string_view token) const {
  crypto::ClaimRequirements want;
  want.issuer = kIssuer;
  want.audience = kTokenService;
  const std::shared_ptr<const crypto::VerifyingKey> key = signer_->key().public_key();
  return crypto::VerifyJwt(
      token,
      [&](std::string_view kid) {
        return kid == signer_->KeyId() ? key : std::shared_ptr<const crypto::VerifyingKey>();
      },
      want, clock_);
}

void InMemoryStack::FailNextCall(grpc::Status status) {
  absl::MutexLock lock(&hooks_.mu);
  hooks_.next_failure = std::move(status);
}

std::optional<std::string> InMemoryStack::LastMetadata(const std::string& key) const {
  absl::MutexLock lock(&hooks_.mu);
  auto it = hooks_.last_metadata.find(key);
  if (it == hooks_.last_metadata.end()) return std::nullopt;
  return it->second;
}

v1::IssueRegistryTokenRequest InMemoryStack::last_token_request() const {
  absl::MutexLock lock(&hooks_.mu);
  return hooks_.last_token_request;
}

}  // namespace registryauth::api::testing
