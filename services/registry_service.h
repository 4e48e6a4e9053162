// The domain logic of registry-auth v1: workspaces, apps and registry configurations.
//
// RegistryService works on plain C++ values and absl::Status and knows nothing of gRPC or
// protobuf; the adapter in api/ converts. It parses and checks resource names, validates
// input, encrypts secrets before they reach the store (associated data binds each ciphertext
// to its row, field and endpoint, see SecretAssociatedData), turns versions into etags, pages
// with opaque tokens, and applies field masks. A stored secret stays with its endpoint: an
// update that changes where it is sent or whose it is must carry a new secret (issue 17). Status
// messages name the field of the v1 request message they are about (e.g.
// `registry_config.ghcr.owner`, `update_mask`, `page_token`) so a front end can pass them through
// unchanged, and they never contain secrets.
//
// Etags are the decimal version in double quotes, e.g. `"3"`. A non-empty etag that does not
// have that form is INVALID_ARGUMENT `<field>: malformed`; a stale one is ABORTED (the store
// compares versions). An empty etag skips the check.
//
// Page tokens are unpadded base64url of {format byte, collection path, last id}; a token is
// only accepted by a List call of the same collection (e.g. `workspaces/acme/registries`).
//
//   RegistryService service(store, keyring, clock);
//   ASSIGN_OR_RETURN(RegistryConfig c, service.CreateRegistryConfig("workspaces/acme", "gh", in));
//
// Thread-safe if the store, the Aead and the clock are (they are in production).
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_SERVICE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/aead.h"
#include "model/model.h"
#include "services/types.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class RegistryService {
 public:
  // All three must outlive the service.
  RegistryService(storage::RegistryStore& store, const crypto::Aead& aead, const Clock& clock);

  RegistryService(const RegistryService&) = delete;
  RegistryService& operator=(const RegistryService&) = delete;

  // ---- Workspaces
  // With `owner_user_id`, the user becomes the workspace's ACTIVE OWNER in the same transaction.
  absl::StatusOr<Workspace> CreateWorkspace(std::string_view workspace_id,
                                            std::string_view display_name,
                                            std::string_view owner_user_id = "");
  // The workspaces where `user_id` is an ACTIVE member.
  absl::StatusOr<ListResult<Workspace>> ListWorkspacesOfUser(std::string_view user_id,
                                                             int page_size,
                                                             std::string_view page_token);
  // The workspaces among `ids` (a confined caller's, auth::Principal::workspaces) that exist
  // and, when `user_id` is set, where that user is an ACTIVE member; in id order, paged like
  // ListWorkspaces (a page token of ListWorkspaces / ListWorkspacesOfUser continues here, and
  // only ever yields members of `ids`). A next-page token is given only when another
  // workspace follows, so filtering never yields an empty page that asks for more. One store
  // read per id looked at: `ids` is a policy's list, short.
  absl::StatusOr<ListResult<Workspace>> ListWorkspacesAmong(
      const std::set<std::string, std::less<>>& ids, std::string_view user_id, int page_size,
      std::string_view page_token);
  absl::StatusOr<Workspace> GetWorkspace(std::string_view name);
  absl::StatusOr<ListResult<Workspace>> ListWorkspaces(int page_size, std::string_view page_token);
  // Mask paths: `display_name`.
  absl::StatusOr<Workspace> UpdateWorkspace(std::string_view name, std::string_view display_name,
                                            const FieldMask& mask, std::string_view etag);
  absl::Status DeleteWorkspace(std::string_view name, std::string_view etag, bool force);

  // ---- Apps. `registry_config_name`, if non-empty, must name an existing registry config of
  // the same workspace (INVALID_ARGUMENT / NOT_FOUND `app.registry_config: ...`).
  absl::StatusOr<App> CreateApp(std::string_view parent, std::string_view app_id,
                                std::string_view display_name,
                                std::string_view registry_config_name, bool public_pull = false);
  absl::StatusOr<App> GetApp(std::string_view name);
  absl::StatusOr<ListResult<App>> ListApps(std::string_view parent, int page_size,
                                           std::string_view page_token);
  // Mask paths: `display_name`, `registry_config`.
  absl::StatusOr<App> UpdateApp(std::string_view name, std::string_view display_name,
                                std::string_view registry_config_name, const FieldMask& mask,
                                std::string_view etag, bool public_pull = false);
  absl::Status DeleteApp(std::string_view name, std::string_view etag);

  // ---- Registry configurations. `input.secret` is wiped once encrypted.
  absl::StatusOr<RegistryConfig> CreateRegistryConfig(std::string_view parent,
                                                      std::string_view registry_id,
                                                      RegistryConfigInput input);
  absl::StatusOr<RegistryConfig> GetRegistryConfig(std::string_view name);
  absl::StatusOr<ListResult<RegistryConfig>> ListRegistryConfigs(std::string_view parent,
                                                                 int page_size,
                                                                 std::string_view page_token);
  // Mask paths: `display_name`, `is_default`, `secret`, `type` (must not change), and the
  // settings of the stored type whole (`ghcr`) or by field (`ghcr.owner`). An empty secret
  // keeps the stored one. A new secret, or a changed owner / login_server / url / username,
  // resets validation to PENDING. The merged result is validated like a create.
  absl::StatusOr<RegistryConfig> UpdateRegistryConfig(std::string_view name,
                                                      RegistryConfigInput input,
                                                      const FieldMask& mask, std::string_view etag);
  absl::Status DeleteRegistryConfig(std::string_view name, std::string_view etag);

  // The stored secret in clear (for credential issuing). FAILED_PRECONDITION if none is
  // stored; INTERNAL "decryption failed" if the ciphertext does not belong to this row or to the
  // endpoint the row names now (under the row's secret_ad_version).
  absl::StatusOr<SecretString> DecryptSecret(const RegistryConfig& config) const;

  // `"<version>"`.
  static std::string EtagOf(int64_t version);
  // Version of an etag; 0 for an empty etag; INVALID_ARGUMENT `<field>: malformed`.
  static absl::StatusOr<int64_t> ParseEtag(std::string_view etag, std::string_view field);
  // Associated data of version 1 (rows written before issue 17): the row's identity only,
  // `registryauth/v1/workspaces/{w}/registries/{r}#secret`.
  static std::string SecretAssociatedData(std::string_view workspace_id,
                                          std::string_view registry_id);
  // Associated data of `config`'s ciphertext, under the version the row records
  // (config.secret_ad_version; nothing else is ever tried). Version 2 (current) is version 1
  // followed by the endpoint the secret was stored for: the type and the settings that say
  // where the secret goes or whose it is (SecretBindingFields), each length-prefixed, so a
  // ciphertext decrypts only while the row still names that endpoint. INTERNAL for an unknown
  // version.
  static absl::StatusOr<std::string> SecretAssociatedData(const RegistryConfig& config);

 private:
  absl::Status CheckAppRegistryConfig(std::string_view workspace_id,
                                      std::string_view registry_config_name,
                                      std::string* registry_config_id);
  absl::Status EncryptSecretInto(SecretString& secret, RegistryConfig& config) const;

  storage::RegistryStore& store_;
  const crypto::Aead& aead_;
  const Clock& clock_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_SERVICE_H_
