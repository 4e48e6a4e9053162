// Persistence of workspaces, apps, registry configurations, workspace members and the audit
// trail.
//
// RegistryStore is the only way services/ reaches the database. Two implementations:
// PostgresRegistryStore (production, storage/postgres_store.h) and InMemoryRegistryStore (fast
// unit tests, storage/memory_store.h). Both pass the conformance suite in
// storage/store_conformance.h, which is the executable specification of this interface.
//
//   ASSIGN_OR_RETURN(RegistryConfig stored, store.CreateRegistryConfig(config));
//   ASSIGN_OR_RETURN(Page<RegistryConfig> page, store.ListRegistryConfigs("acme", {50, ""}));
//
// Implementations are thread-safe. No method throws. Errors:
//   NOT_FOUND          the addressed row (or its parent workspace) does not exist
//   ALREADY_EXISTS     create of an id that exists
//   ABORTED            `expected_version` (when > 0) does not match the stored version, or a
//                      serialization conflict: re-read and retry
//   FAILED_PRECONDITION delete of a workspace that still has apps or registry configs without
//                      `force`
//   INVALID_ARGUMENT   a value the schema refuses (id format, length, unknown enum value; the
//                      message names the constraint)
//   UNAVAILABLE        the database cannot be reached; retry later
//   INTERNAL           anything else (the message never contains secret material)
//
// Versions: Create stores version 1 (whatever the argument says) and returns the stored row.
// Update replaces every stored field with the argument's (except ids and create_time), stores
// version+1 and returns the stored row. `expected_version` = 0 skips the version check.
// Setting is_default = true on Create or Update clears it on the workspace's other registry
// configs in the same transaction, so a workspace never has two defaults.
#ifndef REGISTRY_AUTH_STORAGE_REGISTRY_STORE_H_
#define REGISTRY_AUTH_STORAGE_REGISTRY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/model.h"

namespace registryauth::storage {

// Longest AuditEvent fields a store keeps, in characters (see AppendAuditEvent).
inline constexpr size_t kAuditDetailMaxChars = 2048;
inline constexpr size_t kAuditFieldMaxChars = 1024;
// Longest RegistryEvent fields a store keeps, in characters (see AppendRegistryEvents).
inline constexpr size_t kRegistryEventIdMaxChars = 256;
inline constexpr size_t kRegistryEventFieldMaxChars = 1024;
inline constexpr int kRegistryEventPruneMaxBatch = 1000;

// What ChangeMemberLocked reads for its decision, inside the transaction that writes.
struct MemberChangeView {
  Member target;                 // the member to change
  std::optional<Member> acting;  // the acting user's membership (none if not asked or absent)
  int64_t active_owners = 0;     // the workspace's ACTIVE OWNERs, `target` included
};
// What ChangeMemberLocked writes: `target` with a new role and status (and update_time), or
// its removal.
struct MemberChange {
  bool remove = false;
  Member updated;  // role, status and update_time are taken from it when !remove
};
using MemberChangeDecision = std::function<absl::StatusOr<MemberChange>(const MemberChangeView&)>;

// What RecordValidation stores on a registry config: the outcome of a connection test of the
// config as it was at `tested_version`.
struct ValidationRecord {
  int64_t tested_version = 0;
  ValidationStatus status = ValidationStatus::kUnspecified;  // kPending, kValid or kInvalid
  absl::Time validated_at = absl::InfinitePast();
  std::string error;  // truncated like audit detail
  // When the credential expires, if the test found out; empty = no expiry or unknown.
  std::optional<absl::Time> credential_expire_time;
  // Append the audit event only if the stored status changes (scheduled revalidation, which
  // records only changes); false: always append it (TestConnection, which a caller asked for).
  bool audit_only_on_status_change = false;
};

// One registry config in scheduled revalidation's walk (ListConfigsToRevalidate), and the
// position to continue after.
struct RevalidationKey {
  // When the config was last validated; InfinitePast for never.
  absl::Time validated_at = absl::InfinitePast();
  std::string workspace_id;
  std::string id;
};

// Counts of one registry type's configs for the credential gauges (CountCredentialHealth).
struct CredentialHealth {
  int64_t expiring_before_soon = 0;   // credential_expire_time before `soon` (expired included)
  int64_t expiring_before_later = 0;  // credential_expire_time before `later` (ditto)
  int64_t invalid = 0;                // validation_status INVALID
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // ---- Workspaces
  virtual absl::StatusOr<Workspace> CreateWorkspace(const Workspace& workspace) = 0;
  virtual absl::StatusOr<Workspace> GetWorkspace(std::string_view id) = 0;
  virtual absl::StatusOr<Page<Workspace>> ListWorkspaces(const ListOptions& options) = 0;
  virtual absl::StatusOr<Workspace> UpdateWorkspace(const Workspace& workspace,
                                                    int64_t expected_version) = 0;
  // With `force`, the workspace's apps and registry configs go in the same transaction;
  // without it, FAILED_PRECONDITION while any exist. Its members always go with it.
  virtual absl::Status DeleteWorkspace(std::string_view id, int64_t expected_version,
                                       bool force) = 0;

  // ---- Apps (NOT_FOUND if the workspace does not exist)
  virtual absl::StatusOr<App> CreateApp(const App& app) = 0;
  virtual absl::StatusOr<App> GetApp(std::string_view workspace_id, std::string_view id) = 0;
  virtual absl::StatusOr<Page<App>> ListApps(std::string_view workspace_id,
                                             const ListOptions& options) = 0;
  virtual absl::StatusOr<App> UpdateApp(const App& app, int64_t expected_version) = 0;
  virtual absl::Status DeleteApp(std::string_view workspace_id, std::string_view id,
                                 int64_t expected_version) = 0;

  // ---- Registry configs (NOT_FOUND if the workspace does not exist)
  virtual absl::StatusOr<RegistryConfig> CreateRegistryConfig(const RegistryConfig& config) = 0;
  virtual absl::StatusOr<RegistryConfig> GetRegistryConfig(std::string_view workspace_id,
                                                           std::string_view id) = 0;
  virtual absl::StatusOr<Page<RegistryConfig>> ListRegistryConfigs(std::string_view workspace_id,
                                                                   const ListOptions& options) = 0;
  virtual absl::StatusOr<RegistryConfig> UpdateRegistryConfig(const RegistryConfig& config,
                                                              int64_t expected_version) = 0;
  // The same, except that the stored secret (secret_ciphertext, secret_key_id, secret_hint,
  // secret_ad_version) stays exactly as it is in the row, whatever `config` holds. For changes that
  // do not touch the secret: a read-modify-write through UpdateRegistryConfig could otherwise write
  // back a ciphertext that a re-encryption (ReplaceSecretCiphertext, which keeps the version, so
  // `expected_version` cannot notice) replaced in between, and the secret would fall back to a
  // key that may be retired next.
  virtual absl::StatusOr<RegistryConfig> UpdateRegistryConfigKeepingSecret(
      const RegistryConfig& config, int64_t expected_version) = 0;
  virtual absl::Status DeleteRegistryConfig(std::string_view workspace_id, std::string_view id,
                                            int64_t expected_version) = 0;

  // ---- Members of a workspace (NOT_FOUND if the workspace does not exist; user_id is the
  // row id). Deleting a workspace deletes its members (they never block the delete).
  // Versions and expected_version as above; Update replaces role and status (and update_time).
  virtual absl::StatusOr<Member> CreateMember(const Member& member) = 0;
  virtual absl::StatusOr<Member> GetMember(std::string_view workspace_id,
                                           std::string_view user_id) = 0;
  // Ordered by user_id (bytewise); `options.start_after` is a user_id.
  virtual absl::StatusOr<Page<Member>> ListMembers(std::string_view workspace_id,
                                                   const ListOptions& options) = 0;
  virtual absl::StatusOr<Member> UpdateMember(const Member& member, int64_t expected_version) = 0;
  virtual absl::Status DeleteMember(std::string_view workspace_id, std::string_view user_id,
                                    int64_t expected_version) = 0;
  // A member change whose rules depend on the other members (the last ACTIVE OWNER stays; the
  // acting user's role): in one transaction that holds the workspace row locked (SELECT ...
  // FOR UPDATE, so changes to one workspace's members run one after the other), reads the
  // member `user_id` (NOT_FOUND if absent), the membership of `acting_user_id` (unless ""),
  // and the number of ACTIVE OWNERs, calls `decide` with them, and writes what it returns
  // (version checked against `expected_version` as UpdateMember/DeleteMember do). An error from
  // `decide` is returned and nothing is written. Returns the member as written (for a removal,
  // as it was). `decide` must not call the store.
  virtual absl::StatusOr<Member> ChangeMemberLocked(std::string_view workspace_id,
                                                    std::string_view user_id,
                                                    std::string_view acting_user_id,
                                                    int64_t expected_version,
                                                    const MemberChangeDecision& decide) = 0;
  // Workspaces in which `user_id` is an ACTIVE member, ordered by workspace id (bytewise);
  // `options.start_after` is a workspace id. An unknown user has no workspaces (not an error).
  virtual absl::StatusOr<Page<Workspace>> ListWorkspacesOfUser(std::string_view user_id,
                                                               const ListOptions& options) = 0;
  // Creates the workspace and its first member (normally an active owner) in one transaction:
  // if either is refused (ALREADY_EXISTS, INVALID_ARGUMENT), neither is stored. The member's
  // workspace_id is taken from `workspace` (the argument's is ignored). Returns the workspace.
  virtual absl::StatusOr<Workspace> CreateWorkspaceWithMember(const Workspace& workspace,
                                                              const Member& member) = 0;

  // ---- Audit trail: append-only (no update or delete exists, and the PostgreSQL table refuses
  // both). Rows outlive the resources they name.
  // Stores `event` (its id is ignored) and returns it as stored, with the id assigned. Length
  // limits in characters (UTF-8 code points): detail kAuditDetailMaxChars, every other field
  // kAuditFieldMaxChars. Over-long detail, peer and request_id (free text from outside) are
  // truncated to the limit; any other over-long field (identities and names, which truncation
  // would falsify) is INVALID_ARGUMENT.
  virtual absl::StatusOr<AuditEvent> AppendAuditEvent(const AuditEvent& event) = 0;
  // Newest first (by id, descending). `before_id` > 0 returns only events with id < before_id
  // (the previous page's last id); <= 0 starts at the newest. page_size <= 0 means 50, larger
  // than 1000 is clamped. See AuditFilter (model.h) for the filters; all given ones apply.
  virtual absl::StatusOr<Page<AuditEvent>> ListAuditEvents(const AuditFilter& filter, int page_size,
                                                           int64_t before_id) = 0;
  // Stores `events` (ids ignored) in one statement, in order (ids grow along the vector), all
  // or none: any event AppendAuditEvent would refuse makes it INVALID_ARGUMENT and nothing is
  // stored; the same truncation of free text. Empty: OK, nothing done. (The token audit's batch
  // writer, services/token_audit.h.)
  virtual absl::Status AppendAuditEvents(const std::vector<AuditEvent>& events) = 0;

  // ---- Registry events (Docker Distribution's notifications; rows outlive what they name)
  // Stores `events` in one statement; an event whose event_id is already stored (the registry
  // delivers at least once) is skipped, so a replayed batch stores nothing new. Returns how many
  // were inserted. Limits (else INVALID_ARGUMENT naming the constraint, nothing stored):
  // event_id 1..kRegistryEventIdMaxChars characters, workspace_id the resource-id rule, every
  // other string at most kRegistryEventFieldMaxChars characters. Times are kept to the
  // microsecond. The workspace need not exist (the caller decides what to keep).
  virtual absl::StatusOr<int64_t> AppendRegistryEvents(
      const std::vector<RegistryEvent>& events) = 0;
  // One workspace's events, newest first (event_time descending, then event_id ascending),
  // starting after `after` (the previous page's last event; nullopt = from the newest).
  // page_size as ListAuditEvents. See RegistryEventFilter (model.h); all given filters apply.
  // An unknown workspace has no events (not an error).
  virtual absl::StatusOr<Page<RegistryEvent>> ListRegistryEvents(
      std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
      const std::optional<RegistryEventCursor>& after) = 0;
  // Deletes up to `limit` events (limit <= 0 means 1000, larger is clamped to 1000) whose
  // event_time is before `before`, oldest first, in every workspace; returns how many went.
  // Retention calls it until it returns less than the limit.
  virtual absl::StatusOr<int64_t> PruneRegistryEvents(absl::Time before, int limit) = 0;

  // ---- Key rotation
  // Up to `limit` configs that hold a secret encrypted under a key other than `key_id`, or under
  // an associated-data version other than kSecretAdVersionCurrent (model.h), ordered
  // by (workspace_id, id); limit <= 0 means 50, larger than 1000 is clamped. Re-encryption reads
  // a batch, re-encrypts, and swaps each row with ReplaceSecretCiphertext; nothing locks more
  // than one row at a time. Swapped rows drop out of the next batch; a row the caller skips
  // (e.g. it does not decrypt) comes back in every batch, so callers must track those.
  virtual absl::StatusOr<std::vector<RegistryConfig>> ListSecretsNotUnderKey(uint32_t key_id,
                                                                             int limit) = 0;
  // Compare-and-set of one row's ciphertext: if the row still holds exactly
  // `old_ciphertext`, stores `new_ciphertext` / `new_key_id`, records that it is under the
  // current associated data (kSecretAdVersionCurrent), and returns true; returns false if
  // the row changed meanwhile (or is gone). Version, etag and update_time do not change (the
  // secret is the same), so clients' etags stay valid through a rotation. An empty
  // `old_ciphertext` never matches (false); an empty `new_ciphertext` is INVALID_ARGUMENT.
  virtual absl::StatusOr<bool> ReplaceSecretCiphertext(std::string_view workspace_id,
                                                       std::string_view id,
                                                       const std::string& old_ciphertext,
                                                       const std::string& new_ciphertext,
                                                       uint32_t new_key_id) = 0;

  // ---- TestConnection
  // Stores the outcome of a connection test (status, validated_at, error, credential expiry) on
  // one config and appends `event` to the audit trail, in one transaction. The outcome applies
  // only while the config still has `record.tested_version` (the credential that was tested):
  // if the row changed meanwhile or is gone, nothing is stored on it, the event is still
  // appended (unless `audit_only_on_status_change`, which then appends nothing), and the result
  // is false. Version, etag and update_time do not change (validation is output only), so
  // clients' etags stay valid. With `audit_only_on_status_change`, the event is appended only
  // when the stored status differs from `record.status` (read in the same transaction, so two
  // concurrent records cannot both miss a change).
  virtual absl::StatusOr<bool> RecordValidation(std::string_view workspace_id, std::string_view id,
                                                const ValidationRecord& record,
                                                const AuditEvent& event) = 0;

  // ---- Scheduled revalidation
  // Up to `limit` configs last validated before `validated_before`, or never validated, in the
  // order (validated_at with never first, workspace_id, id) (ids bytewise), strictly after
  // `after` in that order (a default RevalidationKey starts at the beginning); limit <= 0
  // means 50, larger than 1000 is clamped. A walk with the last key of each batch as the next
  // `after` meets every config once, however validations move rows meanwhile.
  virtual absl::StatusOr<std::vector<RevalidationKey>> ListConfigsToRevalidate(
      absl::Time validated_before, const RevalidationKey& after, int limit) = 0;
  // Per registry type with at least one config (one grouped query): how many have a credential
  // expiring before `soon` and before `later`, and how many are INVALID.
  virtual absl::StatusOr<std::map<RegistryType, CredentialHealth>> CountCredentialHealth(
      absl::Time soon, absl::Time later) = 0;

  // ---- Operations
  // Cheap readiness probe of the backing database, one round trip: OK when it answers and
  // accepts writes; UNAVAILABLE when it cannot be reached or is a read-only standby
  // (PostgreSQL: `SELECT pg_is_in_recovery()`).
  virtual absl::Status Ping() = 0;
  // Number of stored secrets per key id, for key-rotation reports.
  virtual absl::StatusOr<std::map<uint32_t, int64_t>> CountSecretsByKeyId() = 0;
  // Number of stored secrets whose ciphertext is under an associated-data version other than
  // kSecretAdVersionCurrent (written before the endpoint binding, schema v8): what
  // `registry-authd keys reencrypt` still has to move.
  virtual absl::StatusOr<int64_t> CountSecretsUnderOldAssociatedData() = 0;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_REGISTRY_STORE_H_
