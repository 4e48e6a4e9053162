#include "api/testing/in_memory_stack.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/secret.h"
#include "services/names.h"

namespace registryauth::api::testing {
namespace {

// One data key with fixed bytes: tests need no key file.
std::unique_ptr<crypto::KeyRing> TestKeyRing() {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(1, SecretString(std::string(32, 'k')));
  return *crypto::KeyRing::Create(std::move(keys), 1);
}

}  // namespace

InMemoryStack::InMemoryStack()
    : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone())),
      keys_(TestKeyRing()),
      registry_service_(store_, *keys_, clock_),
      registry_auth_(store_, registry_service_, clock_),
      realm_(store_, tokens_, *keys_, /*signer=*/nullptr, clock_, services::TokenRealmOptions{}),
      grpc_service_(registry_auth_, realm_, authn_) {}

std::optional<std::string> InMemoryStack::StoredSecret(std::string_view name) {
  absl::StatusOr<services::RegistryConfigName> parsed =
      services::ParseRegistryConfigName(name, "name");
  if (!parsed.ok()) return std::nullopt;
  absl::StatusOr<RegistryConfig> config =
      store_.GetRegistryConfig(parsed->workspace_id, parsed->registry_id);
  if (!config.ok() || config->secret_ciphertext.empty()) return std::nullopt;
  absl::StatusOr<SecretString> secret = keys_->Decrypt(
      config->secret_ciphertext,
      services::RegistryService::SecretAssociatedData(config->workspace_id, config->id));
  if (!secret.ok()) return std::nullopt;
  return std::string(secret->view());
}

}  // namespace registryauth::api::testing
