// Domain types of registry-auth: plain C++ values, no transport, no database.
//
// Ids are the last segment of resource names (`workspaces/{workspace_id}/registries/{id}`).
// `version` starts at 1 on create and grows by one on every update; the service turns it into
// the resource's etag. Times are set by the service from its injected Clock; stores persist what
// they are given.
#ifndef REGISTRY_AUTH_MODEL_MODEL_H_
#define REGISTRY_AUTH_MODEL_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace registryauth {

enum class RegistryType {
  kUnspecified = 0,
  kGhcr = 1,
  kAcr = 2,
  kDistribution = 3,
  kGeneric = 4,
  kGitHubApp = 5,
};

// The associated-data version new ciphertexts are written under (RegistryConfig).
inline constexpr uint32_t kSecretAdVersionCurrent = 2;

enum class ValidationStatus { kUnspecified = 0, kPending = 1, kValid = 2, kInvalid = 3 };

struct Workspace {
  std::string id;
  std::string display_name;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  int64_t version = 0;
};

struct App {
  std::string workspace_id;
  std::string id;
  std::string display_name;
  // Id of a registry config in the same workspace; empty = the workspace's default.
  std::string registry_config_id;
  // Anyone may pull the app's repository (`<workspace>/<app>`), anonymous clients included:
  // the token realm grants pull on it to every requester. Push and delete are unaffected.
  bool public_pull = false;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  int64_t version = 0;
};

// A registry configuration as stored. The secret is held only as ciphertext here; the service
// encrypts and decrypts it.
struct RegistryConfig {
  std::string workspace_id;
  std::string id;
  std::string display_name;
  RegistryType type = RegistryType::kUnspecified;

  // Per-type, non-secret settings. Which are meaningful depends on `type`:
  //   GHCR: owner, pull_only.  ACR: login_server, username.
  //   DISTRIBUTION: url, repository_namespace, username (optional).  GENERIC: url, username.
  //   GITHUB_APP: app_id, installation_id, repositories and permissions (both optional).
  std::string owner;
  std::string login_server;
  std::string url;
  std::string repository_namespace;
  std::string username;
  // GHCR only: the configuration is used to pull, never to push (TestConnection then needs
  // read:packages rather than write:packages).
  bool pull_only = false;
  // GITHUB_APP only: the App's numeric id or client id ("Iv1.…", "Iv23…"), the installation
  // whose access tokens GetCredentials hands out, and the optional narrowing of those tokens
  // to some repositories (names without the owner) and permissions ({"contents", "read"}).
  // Repositories and permissions are kept sorted by name, without duplicates.
  std::string app_id;
  int64_t installation_id = 0;
  std::vector<std::string> repositories;
  std::vector<std::pair<std::string, std::string>> permissions;

  // AES-256-GCM ciphertext of the secret (see crypto/), empty when no secret is stored, and
  // the id of the key that encrypted it (for rotation reports).
  std::string secret_ciphertext;
  uint32_t secret_key_id = 0;
  // Which associated data the ciphertext was encrypted under (RegistryService::
  // SecretAssociatedData): 1 = the row's identity only (rows written before issue 17),
  // kSecretAdVersionCurrent = the row's identity and its endpoint (type, and the settings that
  // say where the secret goes or whose it is). A row is decrypted only under the version it
  // records; re-encryption and every new secret move it to the current one, never back.
  uint32_t secret_ad_version = 1;
  // Non-secret reminder of the stored secret, e.g. "ghp_…a1b2".
  std::string secret_hint;

  bool is_default = false;

  ValidationStatus validation_status = ValidationStatus::kPending;
  std::optional<absl::Time> validated_at;
  std::string last_validation_error;
  // When the credential expires, as the last connection test found it (GitHub's token
  // expiration for a PAT, the installation token's for a GitHub App); empty when it does not
  // expire or is unknown. Output only, reset with the validation status.
  std::optional<absl::Time> credential_expire_time;

  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  int64_t version = 0;
};

// A user's membership of a workspace. Users are identified by the front end's opaque user id
// (1..256 printable ASCII characters, no spaces); registry-auth keeps no other user data.
enum class MemberRole { kUnspecified = 0, kOwner = 1, kAdmin = 2, kMember = 3 };
enum class MemberStatus { kUnspecified = 0, kActive = 1, kInvited = 2, kRemoved = 3 };

struct Member {
  std::string workspace_id;
  std::string user_id;
  MemberRole role = MemberRole::kMember;
  MemberStatus status = MemberStatus::kActive;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  int64_t version = 0;
};

// One row of the append-only audit trail. Never holds a secret: `detail` is a short,
// secret-free explanation (a status message the service produced itself).
struct AuditEvent {
  int64_t id = 0;  // Assigned by the store on append; grows with every append.
  absl::Time time = absl::InfinitePast();
  std::string caller;        // The authenticated caller's identity, e.g. spiffe://...
  std::string on_behalf_of;  // End-user id when a front end acted for a user, else empty.
  std::string action;        // RPC or operation name, e.g. "GetCredentials", "KeyRetire".
  std::string resource;      // Resource name, e.g. "workspaces/acme/registries/gh".
  std::string outcome;       // "OK" or the canonical status code name, e.g. "NOT_FOUND".
  std::string detail;
  std::string request_id;
  std::string peer;  // Network peer as the transport reports it.
};

// Filter of ListAuditEvents. Empty / infinite fields do not filter.
struct AuditFilter {
  // Exact resource name, or a parent: "workspaces/acme" matches "workspaces/acme" and
  // everything under "workspaces/acme/".
  std::string resource;
  std::string caller;                            // exact
  absl::Time start_time = absl::InfinitePast();  // inclusive
  absl::Time end_time = absl::InfiniteFuture();  // exclusive
};

// One event of Docker Distribution's notifications (issue 19): a push, pull, mount or delete
// the registry reported, stored per workspace for ListRegistryEvents. History: rows outlive
// the workspace, repository and principal they name (retention removes them). Every string
// is what the registry sent, bounded by the envelope parser (services/registry_events.h);
// none is a secret.
enum class RegistryEventActorKind {
  kUnspecified = 0,
  kAnonymous = 1,            // no actor name
  kServiceAccount = 2,       // `<workspace>+<id>`
  kPullToken = 3,            // `pull+<id>`
  kWorkspaceCredential = 4,  // `build+<id>`
  kUnknown = 5,              // a name of none of these forms
};

struct RegistryEvent {
  std::string event_id;      // the registry's event id; stored once (retries are dropped)
  std::string workspace_id;  // the repository's first segment
  std::string repository;    // e.g. "acme/web"
  std::string action;        // "push", "pull", "mount", "delete"
  std::string digest;
  std::string tag;
  std::string media_type;
  int64_t size = 0;
  std::string actor;  // `actor.name`: the `sub` of the registry token; "" = anonymous
  RegistryEventActorKind actor_kind = RegistryEventActorKind::kUnspecified;
  std::string request_addr;
  std::string request_method;
  std::string user_agent;
  absl::Time event_time = absl::InfinitePast();    // the registry's timestamp
  absl::Time receive_time = absl::InfinitePast();  // when registry-auth stored it
};

// Filter of ListRegistryEvents. Empty / infinite fields do not filter; all given ones apply.
struct RegistryEventFilter {
  std::string repository;                        // exact
  std::string tag;                               // exact
  std::string digest;                            // exact
  std::string action;                            // exact
  std::string actor;                             // exact
  absl::Time start_time = absl::InfinitePast();  // inclusive, on event_time
  absl::Time end_time = absl::InfiniteFuture();  // exclusive
  // Only events received at or after this time (receive_time, the server's clock). Not a
  // caller's filter: RegistryEventLog sets it to the workspace's create time, so a workspace
  // re-created under a freed id never lists the events of its predecessor.
  absl::Time received_since = absl::InfinitePast();
};

// Keyset position of ListRegistryEvents (newest first: event_time DESC, then event_id
// ascending): the last event of the previous page.
struct RegistryEventCursor {
  absl::Time event_time = absl::InfinitePast();
  std::string event_id;
};

// Keyset paging: results are ordered by id; `start_after` is the last id of the previous page.
struct ListOptions {
  int page_size = 50;
  std::string start_after;
};

template <typename T>
struct Page {
  std::vector<T> items;
  // True when more items follow the last one returned.
  bool has_more = false;
};

}  // namespace registryauth

#endif  // REGISTRY_AUTH_MODEL_MODEL_H_
