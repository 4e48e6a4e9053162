#include "storage/postgres_store.h"

#include <cstddef>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "pqxx/binarystring"
#include "pqxx/nontransaction"
#include "pqxx/prepared_statement"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/migrations_pq.h"
#include "storage/pg_internal.h"
#include "storage/pq_status.h"
#include "storage/store_internal.h"

namespace registryauth::storage {
namespace {

using internal::BoundParam;
using internal::ChildExists;
using internal::ChildNotFound;
using internal::EffectivePageSize;
using internal::MakePoolOptions;
using internal::Micros;
using internal::MissOrStale;
using internal::PageFromResult;
using internal::Statement;
using internal::TimeFromField;
using internal::TimeParam;
using internal::VersionMismatch;
using internal::WithConnection;
using internal::WorkspaceNotFound;

// ---- SQL (times: see pg_internal.h)

// `table` qualifies the columns for joins ("w." or "").
std::string WorkspaceColumns(std::string_view table = "") {
  const absl::string_view t = ToAbsl(table);
  return absl::StrCat(t, "id, ", t, "display_name, ", Micros(absl::StrCat(t, "create_time")), ", ",
                      Micros(absl::StrCat(t, "update_time")), ", ", t, "version");
}

std::string MemberColumns() {
  return absl::StrCat("workspace_id, user_id, role, status, ", Micros("create_time"), ", ",
                      Micros("update_time"), ", version");
}

std::string RegistryEventColumns() {
  return absl::StrCat(
      "event_id, workspace_id, repository, action, digest, tag, media_type, size, actor,"
      " actor_kind, request_addr, request_method, user_agent, ",
      Micros("event_time"), ", ", Micros("receive_time"));
}

std::string AuditColumns() {
  return absl::StrCat("id, ", Micros("time"),
                      ", caller, on_behalf_of, action, resource, outcome, detail, request_id,"
                      " peer");
}

std::string AppColumns() {
  return absl::StrCat("workspace_id, id, display_name, registry_config_id, ", Micros("create_time"),
                      ", ", Micros("update_time"), ", version, public_pull");
}

std::string ConfigColumns() {
  return absl::StrCat(
      "workspace_id, id, display_name, type, owner, login_server, url, repository_namespace, "
      "username, secret_ciphertext, secret_key_id, secret_hint, is_default, validation_status, ",
      Micros("validated_at"), ", last_validation_error, ", Micros("create_time"), ", ",
      Micros("update_time"),
      ", version, pull_only, app_id, installation_id,"
      " array_to_string(app_repositories, ','), array_to_string(app_permissions, ','),"
      " secret_ad_version, ",
      Micros("credential_expire_time"));
}

// The expression registry_configs_revalidation_idx (migration 0011) indexes.
constexpr char kValidatedOrNever[] = "COALESCE(validated_at, '-infinity'::timestamptz)";

// SET list of rc_update: parameters $3..$16 and $18 as in rc_insert, $17 = expected version,
// $20..$24 = rc_insert's $19..$23, $25 = rc_insert's $24 (secret_ad_version),
// $26 = rc_insert's $25 (credential_expire_time, '' for NULL),
// $19 = keep the stored secret (UpdateRegistryConfigKeepingSecret): then the secret columns
// are assigned their own current values, inside the same UPDATE, so nothing read earlier can
// overwrite a ciphertext swapped in by re-encryption.
constexpr char kConfigSet[] =
    "display_name = $3, type = $4, owner = $5, login_server = $6, url = $7, "
    "repository_namespace = $8, username = $9, "
    "secret_ciphertext = CASE WHEN $19::boolean THEN secret_ciphertext"
    " ELSE NULLIF($10::bytea, '') END, "
    "secret_key_id = CASE WHEN $19::boolean THEN secret_key_id ELSE $11 END, "
    "secret_ad_version = CASE WHEN $19::boolean THEN secret_ad_version ELSE $25 END, "
    "secret_hint = CASE WHEN $19::boolean THEN secret_hint ELSE $12 END, "
    "is_default = $13, validation_status = $14, "
    "validated_at = NULLIF($15, '')::timestamptz, last_validation_error = $16, "
    "update_time = $18::timestamptz, pull_only = $20, app_id = $21, installation_id = $22, "
    "app_repositories = $23::text[], app_permissions = $24::text[], "
    "credential_expire_time = NULLIF($26, '')::timestamptz";

// ListAuditEvents has one statement per combination of filters (AuditListBits), so each holds
// only the conditions that really filter. Which index serves a list best depends on how many
// rows the values match (a rare caller: (caller, id); a common one: the primary key backwards),
// so these statements are planned with the actual values on every call (audit_custom_plans):
// a generic plan, which guesses, reads the whole table for an unknown resource prefix.
enum AuditListBits { kAuditByResource = 1, kAuditByCaller = 2, kAuditFrom = 4, kAuditUntil = 8 };
constexpr int kAuditListVariants = 16;

const char* AuditListName(int variant) {
  static const char* const kNames[kAuditListVariants] = {
      "audit_list_0",  "audit_list_1",  "audit_list_2",  "audit_list_3",
      "audit_list_4",  "audit_list_5",  "audit_list_6",  "audit_list_7",
      "audit_list_8",  "audit_list_9",  "audit_list_10", "audit_list_11",
      "audit_list_12", "audit_list_13", "audit_list_14", "audit_list_15"};
  return kNames[variant];
}

// Parameters: $1 before id (exclusive), $2 limit, then in this order those the variant uses:
// resource, caller, start time (inclusive), end time (exclusive).
std::string AuditListSql(int variant) {
  int next = 3;
  const int resource = (variant & kAuditByResource) ? next++ : 0;
  std::string extra;
  if (variant & kAuditByCaller) absl::StrAppend(&extra, " AND caller = $", next++);
  if (variant & kAuditFrom) absl::StrAppend(&extra, " AND time >= $", next++, "::timestamptz");
  if (variant & kAuditUntil) absl::StrAppend(&extra, " AND time < $", next++, "::timestamptz");
  if (resource == 0) {
    return absl::StrCat("SELECT ", AuditColumns(), " FROM audit_events WHERE id < $1", extra,
                        " ORDER BY id DESC LIMIT $2");
  }
  // The resource itself, and everything under "resource/": in bytewise order those are exactly
  // the names in ["resource/", "resource0") ('0' is the byte after '/'), a range of the
  // (resource, id) index, with no LIKE pattern to escape. Each branch is ordered and limited
  // on its own; the exact one reads the index newest first.
  const std::string r = absl::StrCat("$", resource, "::text");
  return absl::StrCat(
      "SELECT ", AuditColumns(), " FROM ((SELECT * FROM audit_events WHERE resource = ", r,
      " AND id < $1", extra,
      " ORDER BY id DESC LIMIT $2) UNION ALL (SELECT * FROM audit_events"
      " WHERE resource >= (",
      r, " || '/') COLLATE \"C\" AND resource < (", r, " || '0') COLLATE \"C\" AND id < $1", extra,
      " ORDER BY id DESC LIMIT $2)) AS e ORDER BY id DESC LIMIT $2");
}

const std::vector<Statement>& Statements() {
  static const std::vector<Statement>* const kStatements = new std::vector<Statement>{
      // Workspaces
      {"ws_insert",
       absl::StrCat("INSERT INTO workspaces (id, display_name, create_time, update_time, version)"
                    " VALUES ($1, $2, $3::timestamptz, $4::timestamptz, 1) RETURNING ",
                    WorkspaceColumns())},
      {"ws_get", absl::StrCat("SELECT ", WorkspaceColumns(), " FROM workspaces WHERE id = $1")},
      {"ws_list", absl::StrCat("SELECT ", WorkspaceColumns(),
                               " FROM workspaces WHERE id > $1 ORDER BY id LIMIT $2")},
      {"ws_update",
       absl::StrCat("UPDATE workspaces SET display_name = $2, update_time = $3::timestamptz,"
                    " version = version + 1"
                    " WHERE id = $1 AND ($4::bigint = 0 OR version = $4) RETURNING ",
                    WorkspaceColumns())},
      {"ws_version", "SELECT version FROM workspaces WHERE id = $1"},
      {"ws_lock_for_delete", "SELECT version FROM workspaces WHERE id = $1 FOR UPDATE"},
      {"ws_lock_shared", "SELECT 1 FROM workspaces WHERE id = $1 FOR NO KEY UPDATE"},
      {"ws_of_user",
       absl::StrCat("SELECT ", WorkspaceColumns("w."),
                    " FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
                    " WHERE m.user_id = $1 AND m.status = 'ACTIVE' AND m.workspace_id > $2"
                    " ORDER BY m.workspace_id LIMIT $3")},
      {"ws_has_children",
       "SELECT EXISTS (SELECT 1 FROM apps WHERE workspace_id = $1)"
       " OR EXISTS (SELECT 1 FROM registry_configs WHERE workspace_id = $1)"},
      {"ws_delete_apps", "DELETE FROM apps WHERE workspace_id = $1"},
      {"ws_delete_configs", "DELETE FROM registry_configs WHERE workspace_id = $1"},
      {"ws_delete", "DELETE FROM workspaces WHERE id = $1"},
      // Apps
      {"app_insert",
       absl::StrCat("INSERT INTO apps (workspace_id, id, display_name, registry_config_id,"
                    " create_time, update_time, version, public_pull)"
                    " VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, 1, $7)"
                    " RETURNING ",
                    AppColumns())},
      {"app_get",
       absl::StrCat("SELECT ", AppColumns(), " FROM apps WHERE workspace_id = $1 AND id = $2")},
      {"app_list", absl::StrCat("SELECT ", AppColumns(),
                                " FROM apps WHERE workspace_id = $1 AND id > $2"
                                " ORDER BY id LIMIT $3")},
      {"app_update",
       absl::StrCat("UPDATE apps SET display_name = $3, registry_config_id = $4,"
                    " update_time = $5::timestamptz, version = version + 1, public_pull = $7"
                    " WHERE workspace_id = $1 AND id = $2 AND ($6::bigint = 0 OR version = $6)"
                    " RETURNING ",
                    AppColumns())},
      {"app_version", "SELECT version FROM apps WHERE workspace_id = $1 AND id = $2"},
      {"app_delete",
       "DELETE FROM apps WHERE workspace_id = $1 AND id = $2"
       " AND ($3::bigint = 0 OR version = $3) RETURNING 1"},
      // Registry configs
      {"rc_insert",
       absl::StrCat(
           "INSERT INTO registry_configs (workspace_id, id, display_name, type, owner,"
           " login_server, url, repository_namespace, username, secret_ciphertext,"
           " secret_key_id, secret_hint, is_default, validation_status, validated_at,"
           " last_validation_error, create_time, update_time, version, pull_only, app_id,"
           " installation_id, app_repositories, app_permissions, secret_ad_version,"
           " credential_expire_time)"
           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10::bytea, ''), $11, $12, $13,"
           " $14, NULLIF($15, '')::timestamptz, $16, $17::timestamptz, $18::timestamptz, 1,"
           " $19, $20, $21, $22::text[], $23::text[], $24, NULLIF($25, '')::timestamptz)"
           " RETURNING ",
           ConfigColumns())},
      {"rc_get", absl::StrCat("SELECT ", ConfigColumns(),
                              " FROM registry_configs WHERE workspace_id = $1 AND id = $2")},
      {"rc_list", absl::StrCat("SELECT ", ConfigColumns(),
                               " FROM registry_configs WHERE workspace_id = $1 AND id > $2"
                               " ORDER BY id LIMIT $3")},
      {"rc_update", absl::StrCat("UPDATE registry_configs SET ", kConfigSet,
                                 ", version = version + 1 WHERE workspace_id = $1 AND id = $2"
                                 " AND ($17::bigint = 0 OR version = $17) RETURNING ",
                                 ConfigColumns())},
      {"rc_clear_default",
       "UPDATE registry_configs SET is_default = false, version = version + 1,"
       " update_time = $3::timestamptz"
       " WHERE workspace_id = $1 AND id <> $2 AND is_default"},
      {"rc_version", "SELECT version FROM registry_configs WHERE workspace_id = $1 AND id = $2"},
      {"rc_delete",
       "DELETE FROM registry_configs WHERE workspace_id = $1 AND id = $2"
       " AND ($3::bigint = 0 OR version = $3) RETURNING 1"},
      {"rc_count_by_key",
       "SELECT secret_key_id, count(*) FROM registry_configs"
       " WHERE secret_ciphertext IS NOT NULL GROUP BY secret_key_id"},
      {"rc_count_old_ad",
       "SELECT count(*) FROM registry_configs"
       " WHERE secret_ciphertext IS NOT NULL AND secret_ad_version <> $1"},
      {"rc_not_under_key",
       absl::StrCat("SELECT ", ConfigColumns(),
                    " FROM registry_configs WHERE secret_ciphertext IS NOT NULL"
                    " AND (secret_key_id <> $1 OR secret_ad_version <> ",
                    kSecretAdVersionCurrent, ") ORDER BY workspace_id, id LIMIT $2")},
      // Compare-and-set of the ciphertext, which is under the current associated data; version
      // and update_time stay as they are.
      {"rc_replace_secret",
       absl::StrCat("UPDATE registry_configs SET secret_ciphertext = $4, secret_key_id = $5,"
                    " secret_ad_version = ",
                    kSecretAdVersionCurrent,
                    " WHERE workspace_id = $1 AND id = $2 AND secret_ciphertext = $3")},
      // TestConnection's outcome, only on the version that was tested; version and
      // update_time stay as they are. The status it replaces is read first, with the row
      // locked, for RecordValidation's audit_only_on_status_change.
      {"rc_validation_status_for_update",
       "SELECT validation_status FROM registry_configs"
       " WHERE workspace_id = $1 AND id = $2 AND version = $3 FOR NO KEY UPDATE"},
      {"rc_record_validation",
       "UPDATE registry_configs SET validation_status = $4,"
       " validated_at = $5::timestamptz, last_validation_error = $6,"
       " credential_expire_time = NULLIF($7, '')::timestamptz"
       " WHERE workspace_id = $1 AND id = $2 AND version = $3"},
      // Scheduled revalidation: keyset walk in the order of registry_configs_revalidation_idx
      // (never validated = -infinity first), and the gauges' one grouped count.
      {"rc_to_revalidate",
       absl::StrCat("SELECT ", Micros(kValidatedOrNever),
                    ", workspace_id, id FROM registry_configs WHERE ", kValidatedOrNever,
                    " < $1::timestamptz AND (", kValidatedOrNever,
                    ", workspace_id, id) > ($2::timestamptz, $3::text COLLATE \"C\","
                    " $4::text COLLATE \"C\") ORDER BY ",
                    kValidatedOrNever, ", workspace_id, id LIMIT $5")},
      {"rc_credential_health",
       "SELECT type, count(*) FILTER (WHERE credential_expire_time < $1::timestamptz),"
       " count(*) FILTER (WHERE credential_expire_time < $2::timestamptz),"
       " count(*) FILTER (WHERE validation_status = 'INVALID')"
       " FROM registry_configs GROUP BY type"},
      // Members
      {"mem_insert",
       absl::StrCat("INSERT INTO workspace_members (workspace_id, user_id, role, status,"
                    " create_time, update_time, version)"
                    " VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, 1) RETURNING ",
                    MemberColumns())},
      {"mem_get", absl::StrCat("SELECT ", MemberColumns(),
                               " FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")},
      {"mem_list", absl::StrCat("SELECT ", MemberColumns(),
                                " FROM workspace_members WHERE workspace_id = $1 AND user_id > $2"
                                " ORDER BY user_id LIMIT $3")},
      {"mem_update", absl::StrCat("UPDATE workspace_members SET role = $3, status = $4,"
                                  " update_time = $5::timestamptz, version = version + 1"
                                  " WHERE workspace_id = $1 AND user_id = $2"
                                  " AND ($6::bigint = 0 OR version = $6) RETURNING ",
                                  MemberColumns())},
      {"mem_lock_workspace", "SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE"},
      {"mem_active_owners",
       "SELECT count(*) FROM workspace_members WHERE workspace_id = $1 AND role = 'OWNER'"
       " AND status = 'ACTIVE'"},
      {"mem_version",
       "SELECT version FROM workspace_members WHERE workspace_id = $1 AND user_id = $2"},
      {"mem_delete",
       "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2"
       " AND ($3::bigint = 0 OR version = $3) RETURNING 1"},
      // Audit trail
      {"audit_insert",
       absl::StrCat("INSERT INTO audit_events (time, caller, on_behalf_of, action, resource,"
                    " outcome, detail, request_id, peer)"
                    " VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
                    AuditColumns())},
      {"audit_insert_many",
       "INSERT INTO audit_events (time, caller, on_behalf_of, action, resource, outcome, detail,"
       " request_id, peer)"
       " SELECT t, c, o, a, r, oc, d, q, p FROM unnest($1::timestamptz[], $2::text[], $3::text[],"
       " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])"
       " WITH ORDINALITY AS e(t, c, o, a, r, oc, d, q, p, n) ORDER BY n"},
      // Until the end of the transaction, plan each statement with its parameter values.
      {"audit_custom_plans", "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"},
      // Registry events: one statement per envelope, the rows as a JSON array.
      {"re_insert",
       "INSERT INTO registry_events (event_id, workspace_id, repository, action, digest, tag,"
       " media_type, size, actor, actor_kind, request_addr, request_method, user_agent,"
       " event_time, receive_time)"
       " SELECT event_id, workspace_id, repository, action, digest, tag, media_type, size, actor,"
       " actor_kind, request_addr, request_method, user_agent, event_time::timestamptz,"
       " receive_time::timestamptz"
       " FROM jsonb_to_recordset($1::jsonb) AS e(event_id text, workspace_id text,"
       " repository text, action text, digest text, tag text, media_type text, size bigint,"
       " actor text, actor_kind smallint, request_addr text, request_method text,"
       " user_agent text, event_time text, receive_time text)"
       " ON CONFLICT (event_id) DO NOTHING"},
      // Filters: '' does not filter; $7/$8 the time range; $9 = false starts at the newest,
      // else the page starts after ($10, $11) in (event_time DESC, event_id) order; $13 the
      // earliest receive_time (the workspace's create time: not its predecessor's events).
      {"re_list", absl::StrCat("SELECT ", RegistryEventColumns(),
                               " FROM registry_events WHERE workspace_id = $1"
                               " AND ($2 = '' OR repository = $2) AND ($3 = '' OR tag = $3)"
                               " AND ($4 = '' OR digest = $4) AND ($5 = '' OR action = $5)"
                               " AND ($6 = '' OR actor = $6)"
                               " AND event_time >= $7::timestamptz AND event_time < $8::timestamptz"
                               " AND (NOT $9::boolean OR event_time < $10::timestamptz"
                               " OR (event_time = $10::timestamptz AND event_id > $11))"
                               " AND receive_time >= $13::timestamptz"
                               " ORDER BY event_time DESC, event_id LIMIT $12")},
      {"re_prune",
       "DELETE FROM registry_events WHERE event_id IN (SELECT event_id FROM registry_events"
       " WHERE event_time < $1::timestamptz ORDER BY event_time LIMIT $2)"},
      {"ping", "SELECT pg_catalog.pg_is_in_recovery()"},
  };
  return *kStatements;
}

void PrepareStatements(pqxx::connection& conn) {
  for (const Statement& s : Statements()) conn.prepare(s.name, s.sql);
  for (int v = 0; v < kAuditListVariants; ++v) conn.prepare(AuditListName(v), AuditListSql(v));
}

// ---- Conversions

const char* TypeName(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return "GHCR";
    case RegistryType::kAcr:
      return "ACR";
    case RegistryType::kDistribution:
      return "DISTRIBUTION";
    case RegistryType::kGeneric:
      return "GENERIC";
    case RegistryType::kGitHubApp:
      return "GITHUB_APP";
    case RegistryType::kUnspecified:
      break;
  }
  return "UNSPECIFIED";  // rejected by registry_configs_type_known
}

RegistryType TypeFromName(std::string_view name) {
  if (name == "GHCR") return RegistryType::kGhcr;
  if (name == "ACR") return RegistryType::kAcr;
  if (name == "DISTRIBUTION") return RegistryType::kDistribution;
  if (name == "GENERIC") return RegistryType::kGeneric;
  if (name == "GITHUB_APP") return RegistryType::kGitHubApp;
  return RegistryType::kUnspecified;
}

const char* StatusName(ValidationStatus status) {
  switch (status) {
    case ValidationStatus::kPending:
      return "PENDING";
    case ValidationStatus::kValid:
      return "VALID";
    case ValidationStatus::kInvalid:
      return "INVALID";
    case ValidationStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";  // rejected by registry_configs_validation_status_known
}

ValidationStatus StatusFromName(std::string_view name) {
  if (name == "PENDING") return ValidationStatus::kPending;
  if (name == "VALID") return ValidationStatus::kValid;
  if (name == "INVALID") return ValidationStatus::kInvalid;
  return ValidationStatus::kUnspecified;
}

Workspace WorkspaceFromRow(const pqxx::row& r) {
  Workspace w;
  w.id = r[0].as<std::string>();
  w.display_name = r[1].as<std::string>();
  w.create_time = TimeFromField(r[2]);
  w.update_time = TimeFromField(r[3]);
  w.version = r[4].as<int64_t>();
  return w;
}

App AppFromRow(const pqxx::row& r) {
  App a;
  a.workspace_id = r[0].as<std::string>();
  a.id = r[1].as<std::string>();
  a.display_name = r[2].as<std::string>();
  a.registry_config_id = r[3].as<std::string>();
  a.create_time = TimeFromField(r[4]);
  a.update_time = TimeFromField(r[5]);
  a.version = r[6].as<int64_t>();
  a.public_pull = r[7].as<bool>();
  return a;
}

const char* RoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kOwner:
      return "OWNER";
    case MemberRole::kAdmin:
      return "ADMIN";
    case MemberRole::kMember:
      return "MEMBER";
    case MemberRole::kUnspecified:
      break;
  }
  return "UNSPECIFIED";  // rejected by workspace_members_role_known
}

MemberRole RoleFromName(std::string_view name) {
  if (name == "OWNER") return MemberRole::kOwner;
  if (name == "ADMIN") return MemberRole::kAdmin;
  if (name == "MEMBER") return MemberRole::kMember;
  return MemberRole::kUnspecified;
}

const char* MemberStatusName(MemberStatus status) {
  switch (status) {
    case MemberStatus::kActive:
      return "ACTIVE";
    case MemberStatus::kInvited:
      return "INVITED";
    case MemberStatus::kRemoved:
      return "REMOVED";
    case MemberStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";  // rejected by workspace_members_status_known
}

MemberStatus MemberStatusFromName(std::string_view name) {
  if (name == "ACTIVE") return MemberStatus::kActive;
  if (name == "INVITED") return MemberStatus::kInvited;
  if (name == "REMOVED") return MemberStatus::kRemoved;
  return MemberStatus::kUnspecified;
}

Member MemberFromRow(const pqxx::row& r) {
  Member m;
  m.workspace_id = r[0].as<std::string>();
  m.user_id = r[1].as<std::string>();
  m.role = RoleFromName(r[2].as<std::string>());
  m.status = MemberStatusFromName(r[3].as<std::string>());
  m.create_time = TimeFromField(r[4]);
  m.update_time = TimeFromField(r[5]);
  m.version = r[6].as<int64_t>();
  return m;
}

AuditEvent AuditEventFromRow(const pqxx::row& r) {
  AuditEvent e;
  e.id = r[0].as<int64_t>();
  e.time = TimeFromField(r[1]);
  e.caller = r[2].as<std::string>();
  e.on_behalf_of = r[3].as<std::string>();
  e.action = r[4].as<std::string>();
  e.resource = r[5].as<std::string>();
  e.outcome = r[6].as<std::string>();
  e.detail = r[7].as<std::string>();
  e.request_id = r[8].as<std::string>();
  e.peer = r[9].as<std::string>();
  return e;
}

RegistryEvent RegistryEventFromRow(const pqxx::row& r) {
  RegistryEvent e;
  e.event_id = r[0].as<std::string>();
  e.workspace_id = r[1].as<std::string>();
  e.repository = r[2].as<std::string>();
  e.action = r[3].as<std::string>();
  e.digest = r[4].as<std::string>();
  e.tag = r[5].as<std::string>();
  e.media_type = r[6].as<std::string>();
  e.size = r[7].as<int64_t>();
  e.actor = r[8].as<std::string>();
  e.actor_kind = static_cast<RegistryEventActorKind>(r[9].as<int>());
  e.request_addr = r[10].as<std::string>();
  e.request_method = r[11].as<std::string>();
  e.user_agent = r[12].as<std::string>();
  e.event_time = TimeFromField(r[13]);
  e.receive_time = TimeFromField(r[14]);
  return e;
}

// mem_insert with the member parameters $1..$6.
template <typename Txn>
pqxx::result ExecMemberInsert(Txn& txn, const Member& m) {
  return txn.exec_prepared("mem_insert", m.workspace_id, m.user_id, RoleName(m.role),
                           MemberStatusName(m.status), TimeParam(m.create_time),
                           TimeParam(m.update_time));
}

// The GitHub App lists go in as text[] literals and come back as comma-joined text
// (array_to_string): the table's CHECKs admit no element holding a comma.
std::string ArrayLiteral(const std::vector<std::string>& elements) {
  std::string out = "{";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : elements[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}
std::vector<std::string> SplitList(const std::string& joined) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(joined, ',', absl::SkipEmpty())) {
    out.emplace_back(part);
  }
  return out;
}
std::string RepositoriesParam(const RegistryConfig& c) { return ArrayLiteral(c.repositories); }
std::string PermissionsParam(const RegistryConfig& c) {
  std::vector<std::string> pairs;
  pairs.reserve(c.permissions.size());
  for (const auto& [name, level] : c.permissions) pairs.push_back(absl::StrCat(name, "=", level));
  return ArrayLiteral(pairs);
}

// A nullable timestamptz parameter: '' (NULLIF(..., '') in the SQL) for none.
std::string OptionalTimeParam(const std::optional<absl::Time>& t) {
  return t.has_value() ? TimeParam(*t) : std::string();
}

RegistryConfig ConfigFromRow(const pqxx::row& r) {
  RegistryConfig c;
  c.workspace_id = r[0].as<std::string>();
  c.id = r[1].as<std::string>();
  c.display_name = r[2].as<std::string>();
  c.type = TypeFromName(r[3].as<std::string>());
  c.owner = r[4].as<std::string>();
  c.login_server = r[5].as<std::string>();
  c.url = r[6].as<std::string>();
  c.repository_namespace = r[7].as<std::string>();
  c.username = r[8].as<std::string>();
  if (!r[9].is_null()) c.secret_ciphertext = pqxx::binarystring(r[9]).str();
  c.secret_key_id = static_cast<uint32_t>(r[10].as<int64_t>());
  c.secret_hint = r[11].as<std::string>();
  c.is_default = r[12].as<bool>();
  c.validation_status = StatusFromName(r[13].as<std::string>());
  if (!r[14].is_null()) c.validated_at = TimeFromField(r[14]);
  c.last_validation_error = r[15].as<std::string>();
  c.create_time = TimeFromField(r[16]);
  c.update_time = TimeFromField(r[17]);
  c.version = r[18].as<int64_t>();
  c.pull_only = r[19].as<bool>();
  c.app_id = r[20].as<std::string>();
  c.installation_id = r[21].as<int64_t>();
  c.repositories = SplitList(r[22].as<std::string>());
  for (std::string& p : SplitList(r[23].as<std::string>())) {
    const std::size_t eq = p.find('=');
    if (eq == std::string::npos) continue;  // the table's CHECK admits none
    c.permissions.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  c.secret_ad_version = static_cast<uint32_t>(r[24].as<int64_t>());
  if (!r[25].is_null()) c.credential_expire_time = TimeFromField(r[25]);
  return c;
}

// rc_insert with the registry-config parameters $1..$25 ($19 = pull_only, $20..$23 the
// GitHub App settings, $24 = secret_ad_version, $25 = credential_expire_time).
template <typename Txn>
pqxx::result ExecConfigInsert(Txn& txn, const RegistryConfig& c) {
  return txn.exec_prepared(
      "rc_insert", c.workspace_id, c.id, c.display_name, TypeName(c.type), c.owner, c.login_server,
      c.url, c.repository_namespace, c.username,
      pqxx::binarystring(c.secret_ciphertext.data(), c.secret_ciphertext.size()),
      static_cast<int64_t>(c.secret_key_id), c.secret_hint, c.is_default,
      StatusName(c.validation_status),
      c.validated_at.has_value() ? TimeParam(*c.validated_at) : std::string(),
      c.last_validation_error, TimeParam(c.create_time), TimeParam(c.update_time), c.pull_only,
      c.app_id, c.installation_id, RepositoriesParam(c), PermissionsParam(c),
      static_cast<int64_t>(c.secret_ad_version), OptionalTimeParam(c.credential_expire_time));
}

// rc_update: the parameters of ExecConfigInsert with the expected version in place of
// create_time, and whether to keep the stored secret.
template <typename Txn>
pqxx::result ExecConfigUpdate(Txn& txn, const RegistryConfig& c, int64_t expected_version,
                              bool keep_secret) {
  return txn.exec_prepared(
      "rc_update", c.workspace_id, c.id, c.display_name, TypeName(c.type), c.owner, c.login_server,
      c.url, c.repository_namespace, c.username,
      pqxx::binarystring(c.secret_ciphertext.data(), c.secret_ciphertext.size()),
      static_cast<int64_t>(c.secret_key_id), c.secret_hint, c.is_default,
      StatusName(c.validation_status),
      c.validated_at.has_value() ? TimeParam(*c.validated_at) : std::string(),
      c.last_validation_error, expected_version, TimeParam(c.update_time), keep_secret, c.pull_only,
      c.app_id, c.installation_id, RepositoriesParam(c), PermissionsParam(c),
      static_cast<int64_t>(c.secret_ad_version), OptionalTimeParam(c.credential_expire_time));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> PostgresRegistryStore::Create(
    PostgresOptions options) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::Create(MakePoolOptions(std::move(options), PrepareStatements));
  if (!pool.ok()) return pool.status();
  return std::unique_ptr<PostgresRegistryStore>(new PostgresRegistryStore(*std::move(pool)));
}

PostgresRegistryStore::PostgresRegistryStore(std::unique_ptr<ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresRegistryStore::~PostgresRegistryStore() = default;

absl::Status PostgresRegistryStore::ApplyMigrations() {
  return WithConnection(*pool_, "apply migrations",
                        [](pqxx::connection& conn) { return storage::ApplyMigrations(conn); });
}

// ---- Workspaces

absl::StatusOr<Workspace> PostgresRegistryStore::CreateWorkspace(const Workspace& workspace) {
  absl::StatusOr<Workspace> result = WithConnection(
      *pool_, "create workspace", [&](pqxx::connection& conn) -> absl::StatusOr<Workspace> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("ws_insert", workspace.id, workspace.display_name,
                              TimeParam(workspace.create_time), TimeParam(workspace.update_time));
        return WorkspaceFromRow(r[0]);
      });
  if (absl::IsAlreadyExists(result.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("workspace \"", workspace.id, "\" already exists"));
  }
  return result;
}

absl::StatusOr<Workspace> PostgresRegistryStore::GetWorkspace(std::string_view id) {
  return WithConnection(*pool_, "get workspace",
                        [&](pqxx::connection& conn) -> absl::StatusOr<Workspace> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("ws_get", std::string(id));
                          if (r.empty()) return WorkspaceNotFound(id);
                          return WorkspaceFromRow(r[0]);
                        });
}

absl::StatusOr<Page<Workspace>> PostgresRegistryStore::ListWorkspaces(const ListOptions& options) {
  const int page_size = EffectivePageSize(options);
  return WithConnection(
      *pool_, "list workspaces", [&](pqxx::connection& conn) -> absl::StatusOr<Page<Workspace>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("ws_list", options.start_after, page_size + 1);
        return PageFromResult(r, page_size, &WorkspaceFromRow);
      });
}

absl::StatusOr<Workspace> PostgresRegistryStore::UpdateWorkspace(const Workspace& workspace,
                                                                 int64_t expected_version) {
  return WithConnection(
      *pool_, "update workspace", [&](pqxx::connection& conn) -> absl::StatusOr<Workspace> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("ws_update", workspace.id, workspace.display_name,
                                           TimeParam(workspace.update_time), expected_version);
        if (r.empty()) {
          return MissOrStale(txn, "ws_version", WorkspaceNotFound(workspace.id), "workspace",
                             workspace.id);
        }
        return WorkspaceFromRow(r[0]);
      });
}

absl::Status PostgresRegistryStore::DeleteWorkspace(std::string_view id, int64_t expected_version,
                                                    bool force) {
  const std::string ws(id);
  return WithConnection(*pool_, "delete workspace", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::work txn(conn);
    // FOR UPDATE also blocks new apps/configs/members (their foreign-key check needs a
    // key-share lock). Members never block the delete: ON DELETE CASCADE removes them.
    pqxx::result locked = txn.exec_prepared("ws_lock_for_delete", ws);
    if (locked.empty()) return WorkspaceNotFound(ws);
    if (expected_version > 0 && locked[0][0].as<int64_t>() != expected_version) {
      return VersionMismatch("workspace");
    }
    if (force) {
      txn.exec_prepared("ws_delete_apps", ws);
      txn.exec_prepared("ws_delete_configs", ws);
    } else if (txn.exec_prepared("ws_has_children", ws)[0][0].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace \"", ws, "\" still has apps or registry configs"));
    }
    txn.exec_prepared("ws_delete", ws);
    txn.commit();
    return absl::OkStatus();
  });
}

// ---- Apps

absl::StatusOr<App> PostgresRegistryStore::CreateApp(const App& app) {
  absl::StatusOr<App> result =
      WithConnection(*pool_, "create app", [&](pqxx::connection& conn) -> absl::StatusOr<App> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("app_insert", app.workspace_id, app.id, app.display_name,
                                           app.registry_config_id, TimeParam(app.create_time),
                                           TimeParam(app.update_time), app.public_pull);
        return AppFromRow(r[0]);
      });
  if (absl::IsNotFound(result.status())) return WorkspaceNotFound(app.workspace_id);
  if (absl::IsAlreadyExists(result.status())) return ChildExists("app", app.workspace_id, app.id);
  return result;
}

absl::StatusOr<App> PostgresRegistryStore::GetApp(std::string_view workspace_id,
                                                  std::string_view id) {
  return WithConnection(*pool_, "get app", [&](pqxx::connection& conn) -> absl::StatusOr<App> {
    pqxx::nontransaction txn(conn);
    pqxx::result r = txn.exec_prepared("app_get", std::string(workspace_id), std::string(id));
    if (r.empty()) return ChildNotFound("app", workspace_id, id);
    return AppFromRow(r[0]);
  });
}

absl::StatusOr<Page<App>> PostgresRegistryStore::ListApps(std::string_view workspace_id,
                                                          const ListOptions& options) {
  const std::string ws(workspace_id);
  const int page_size = EffectivePageSize(options);
  return WithConnection(
      *pool_, "list apps", [&](pqxx::connection& conn) -> absl::StatusOr<Page<App>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("app_list", ws, options.start_after, page_size + 1);
        if (r.empty() && txn.exec_prepared("ws_get", ws).empty()) return WorkspaceNotFound(ws);
        return PageFromResult(r, page_size, &AppFromRow);
      });
}

absl::StatusOr<App> PostgresRegistryStore::UpdateApp(const App& app, int64_t expected_version) {
  return WithConnection(*pool_, "update app", [&](pqxx::connection& conn) -> absl::StatusOr<App> {
    pqxx::nontransaction txn(conn);
    pqxx::result r = txn.exec_prepared("app_update", app.workspace_id, app.id, app.display_name,
                                       app.registry_config_id, TimeParam(app.update_time),
                                       expected_version, app.public_pull);
    if (r.empty()) {
      return MissOrStale(txn, "app_version", ChildNotFound("app", app.workspace_id, app.id), "app",
                         app.workspace_id, app.id);
    }
    return AppFromRow(r[0]);
  });
}

absl::Status PostgresRegistryStore::DeleteApp(std::string_view workspace_id, std::string_view id,
                                              int64_t expected_version) {
  const std::string ws(workspace_id);
  const std::string app_id(id);
  return WithConnection(*pool_, "delete app", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    if (txn.exec_prepared("app_delete", ws, app_id, expected_version).empty()) {
      return MissOrStale(txn, "app_version", ChildNotFound("app", ws, app_id), "app", ws, app_id);
    }
    return absl::OkStatus();
  });
}

// ---- Registry configs

absl::StatusOr<RegistryConfig> PostgresRegistryStore::CreateRegistryConfig(
    const RegistryConfig& config) {
  absl::StatusOr<RegistryConfig> result =
      WithConnection(*pool_, "create registry config",
                     [&](pqxx::connection& conn) -> absl::StatusOr<RegistryConfig> {
                       if (!config.is_default) {
                         pqxx::nontransaction txn(conn);
                         return ConfigFromRow(ExecConfigInsert(txn, config)[0]);
                       }
                       pqxx::work txn(conn);
                       // Serialises default switches within the workspace (and checks it exists).
                       if (txn.exec_prepared("ws_lock_shared", config.workspace_id).empty()) {
                         return WorkspaceNotFound(config.workspace_id);
                       }
                       txn.exec_prepared("rc_clear_default", config.workspace_id, config.id,
                                         TimeParam(config.update_time));
                       RegistryConfig stored = ConfigFromRow(ExecConfigInsert(txn, config)[0]);
                       txn.commit();
                       return stored;
                     });
  if (absl::IsNotFound(result.status())) return WorkspaceNotFound(config.workspace_id);
  if (absl::IsAlreadyExists(result.status())) {
    return ChildExists("registry config", config.workspace_id, config.id);
  }
  return result;
}

absl::StatusOr<RegistryConfig> PostgresRegistryStore::GetRegistryConfig(
    std::string_view workspace_id, std::string_view id) {
  return WithConnection(
      *pool_, "get registry config", [&](pqxx::connection& conn) -> absl::StatusOr<RegistryConfig> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("rc_get", std::string(workspace_id), std::string(id));
        if (r.empty()) return ChildNotFound("registry config", workspace_id, id);
        return ConfigFromRow(r[0]);
      });
}

absl::StatusOr<Page<RegistryConfig>> PostgresRegistryStore::ListRegistryConfigs(
    std::string_view workspace_id, const ListOptions& options) {
  const std::string ws(workspace_id);
  const int page_size = EffectivePageSize(options);
  return WithConnection(*pool_, "list registry configs",
                        [&](pqxx::connection& conn) -> absl::StatusOr<Page<RegistryConfig>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r =
                              txn.exec_prepared("rc_list", ws, options.start_after, page_size + 1);
                          if (r.empty() && txn.exec_prepared("ws_get", ws).empty())
                            return WorkspaceNotFound(ws);
                          return PageFromResult(r, page_size, &ConfigFromRow);
                        });
}

absl::StatusOr<RegistryConfig> PostgresRegistryStore::UpdateRegistryConfig(
    const RegistryConfig& config, int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/false);
}

absl::StatusOr<RegistryConfig> PostgresRegistryStore::UpdateRegistryConfigKeepingSecret(
    const RegistryConfig& config, int64_t expected_version) {
  return UpdateConfig(config, expected_version, /*keep_secret=*/true);
}

absl::StatusOr<RegistryConfig> PostgresRegistryStore::UpdateConfig(const RegistryConfig& config,
                                                                   int64_t expected_version,
                                                                   bool keep_secret) {
  return WithConnection(
      *pool_, "update registry config",
      [&](pqxx::connection& conn) -> absl::StatusOr<RegistryConfig> {
        absl::Status not_found = ChildNotFound("registry config", config.workspace_id, config.id);
        if (!config.is_default) {
          pqxx::nontransaction txn(conn);
          pqxx::result r = ExecConfigUpdate(txn, config, expected_version, keep_secret);
          if (r.empty()) {
            return MissOrStale(txn, "rc_version", not_found, "registry config", config.workspace_id,
                               config.id);
          }
          return ConfigFromRow(r[0]);
        }
        pqxx::work txn(conn);
        if (txn.exec_prepared("ws_lock_shared", config.workspace_id).empty()) return not_found;
        txn.exec_prepared("rc_clear_default", config.workspace_id, config.id,
                          TimeParam(config.update_time));
        pqxx::result r = ExecConfigUpdate(txn, config, expected_version, keep_secret);
        if (r.empty()) {
          return MissOrStale(txn, "rc_version", not_found, "registry config", config.workspace_id,
                             config.id);
        }
        RegistryConfig stored = ConfigFromRow(r[0]);
        txn.commit();
        return stored;
      });
}

absl::Status PostgresRegistryStore::DeleteRegistryConfig(std::string_view workspace_id,
                                                         std::string_view id,
                                                         int64_t expected_version) {
  const std::string ws(workspace_id);
  const std::string config_id(id);
  return WithConnection(
      *pool_, "delete registry config", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::nontransaction txn(conn);
        if (txn.exec_prepared("rc_delete", ws, config_id, expected_version).empty()) {
          return MissOrStale(txn, "rc_version", ChildNotFound("registry config", ws, config_id),
                             "registry config", ws, config_id);
        }
        return absl::OkStatus();
      });
}

// ---- Members

absl::StatusOr<Member> PostgresRegistryStore::CreateMember(const Member& member) {
  absl::StatusOr<Member> result = WithConnection(
      *pool_, "create member", [&](pqxx::connection& conn) -> absl::StatusOr<Member> {
        pqxx::nontransaction txn(conn);
        return MemberFromRow(ExecMemberInsert(txn, member)[0]);
      });
  if (absl::IsNotFound(result.status())) return WorkspaceNotFound(member.workspace_id);
  if (absl::IsAlreadyExists(result.status())) {
    return ChildExists("member", member.workspace_id, member.user_id);
  }
  return result;
}

absl::StatusOr<Member> PostgresRegistryStore::GetMember(std::string_view workspace_id,
                                                        std::string_view user_id) {
  return WithConnection(
      *pool_, "get member", [&](pqxx::connection& conn) -> absl::StatusOr<Member> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("mem_get", std::string(workspace_id), std::string(user_id));
        if (r.empty()) return ChildNotFound("member", workspace_id, user_id);
        return MemberFromRow(r[0]);
      });
}

absl::StatusOr<Page<Member>> PostgresRegistryStore::ListMembers(std::string_view workspace_id,
                                                                const ListOptions& options) {
  const std::string ws(workspace_id);
  const int page_size = EffectivePageSize(options);
  return WithConnection(
      *pool_, "list members", [&](pqxx::connection& conn) -> absl::StatusOr<Page<Member>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("mem_list", ws, options.start_after, page_size + 1);
        if (r.empty() && txn.exec_prepared("ws_get", ws).empty()) return WorkspaceNotFound(ws);
        return PageFromResult(r, page_size, &MemberFromRow);
      });
}

absl::StatusOr<Member> PostgresRegistryStore::UpdateMember(const Member& member,
                                                           int64_t expected_version) {
  return WithConnection(
      *pool_, "update member", [&](pqxx::connection& conn) -> absl::StatusOr<Member> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("mem_update", member.workspace_id, member.user_id,
                                           RoleName(member.role), MemberStatusName(member.status),
                                           TimeParam(member.update_time), expected_version);
        if (r.empty()) {
          return MissOrStale(txn, "mem_version",
                             ChildNotFound("member", member.workspace_id, member.user_id), "member",
                             member.workspace_id, member.user_id);
        }
        return MemberFromRow(r[0]);
      });
}

absl::Status PostgresRegistryStore::DeleteMember(std::string_view workspace_id,
                                                 std::string_view user_id,
                                                 int64_t expected_version) {
  const std::string ws(workspace_id);
  const std::string user(user_id);
  return WithConnection(*pool_, "delete member", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    if (txn.exec_prepared("mem_delete", ws, user, expected_version).empty()) {
      return MissOrStale(txn, "mem_version", ChildNotFound("member", ws, user), "member", ws, user);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Member> PostgresRegistryStore::ChangeMemberLocked(
    std::string_view workspace_id, std::string_view user_id, std::string_view acting_user_id,
    int64_t expected_version, const MemberChangeDecision& decide) {
  const std::string ws(workspace_id);
  const std::string user(user_id);
  return WithConnection(
      *pool_, "change member", [&](pqxx::connection& conn) -> absl::StatusOr<Member> {
        pqxx::work txn(conn);
        // Every ChangeMemberLocked of this workspace waits here for the one before it, so
        // each decides on what the previous one wrote.
        if (txn.exec_prepared("mem_lock_workspace", ws).empty()) return WorkspaceNotFound(ws);
        pqxx::result target = txn.exec_prepared("mem_get", ws, user);
        if (target.empty()) return ChildNotFound("member", ws, user);
        MemberChangeView view;
        view.target = MemberFromRow(target[0]);
        if (!acting_user_id.empty()) {
          pqxx::result acting = txn.exec_prepared("mem_get", ws, std::string(acting_user_id));
          if (!acting.empty()) view.acting = MemberFromRow(acting[0]);
        }
        view.active_owners = txn.exec_prepared("mem_active_owners", ws)[0][0].as<int64_t>();
        absl::StatusOr<MemberChange> change = decide(view);
        if (!change.ok()) return change.status();  // rolled back: nothing written
        if (change->remove) {
          if (txn.exec_prepared("mem_delete", ws, user, expected_version).empty()) {
            return VersionMismatch("member");  // the row exists: it was read under the lock
          }
          txn.commit();
          return view.target;
        }
        const Member& m = change->updated;
        pqxx::result r =
            txn.exec_prepared("mem_update", ws, user, RoleName(m.role), MemberStatusName(m.status),
                              TimeParam(m.update_time), expected_version);
        if (r.empty()) return VersionMismatch("member");
        Member written = MemberFromRow(r[0]);
        txn.commit();
        return written;
      });
}

absl::StatusOr<Page<Workspace>> PostgresRegistryStore::ListWorkspacesOfUser(
    std::string_view user_id, const ListOptions& options) {
  const std::string user(user_id);
  const int page_size = EffectivePageSize(options);
  return WithConnection(*pool_, "list workspaces of user",
                        [&](pqxx::connection& conn) -> absl::StatusOr<Page<Workspace>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("ws_of_user", user,
                                                             options.start_after, page_size + 1);
                          return PageFromResult(r, page_size, &WorkspaceFromRow);
                        });
}

absl::StatusOr<Workspace> PostgresRegistryStore::CreateWorkspaceWithMember(
    const Workspace& workspace, const Member& member) {
  Member first = member;
  first.workspace_id = workspace.id;
  absl::StatusOr<Workspace> result =
      WithConnection(*pool_, "create workspace with member",
                     [&](pqxx::connection& conn) -> absl::StatusOr<Workspace> {
                       pqxx::work txn(conn);
                       pqxx::result r = txn.exec_prepared(
                           "ws_insert", workspace.id, workspace.display_name,
                           TimeParam(workspace.create_time), TimeParam(workspace.update_time));
                       Workspace stored = WorkspaceFromRow(r[0]);
                       ExecMemberInsert(txn, first);
                       txn.commit();
                       return stored;
                     });
  if (absl::IsAlreadyExists(result.status())) {  // the member is new if the workspace is
    return absl::AlreadyExistsError(
        absl::StrCat("workspace \"", workspace.id, "\" already exists"));
  }
  return result;
}

// ---- Audit trail

absl::StatusOr<AuditEvent> PostgresRegistryStore::AppendAuditEvent(const AuditEvent& event) {
  AuditEvent row = event;
  internal::TruncateAuditFreeText(row);
  return WithConnection(
      *pool_, "append audit event", [&](pqxx::connection& conn) -> absl::StatusOr<AuditEvent> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("audit_insert", TimeParam(row.time), row.caller,
                                           row.on_behalf_of, row.action, row.resource, row.outcome,
                                           row.detail, row.request_id, row.peer);
        return AuditEventFromRow(r[0]);
      });
}

absl::Status PostgresRegistryStore::AppendAuditEvents(const std::vector<AuditEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  // One column array per field, unnested in order: one statement, one round trip, all or none.
  std::vector<std::string> times, callers, on_behalf_of, actions, resources, outcomes, details,
      request_ids, peers;
  for (const AuditEvent& event : events) {
    AuditEvent row = event;
    internal::TruncateAuditFreeText(row);
    times.push_back(TimeParam(row.time));
    callers.push_back(std::move(row.caller));
    on_behalf_of.push_back(std::move(row.on_behalf_of));
    actions.push_back(std::move(row.action));
    resources.push_back(std::move(row.resource));
    outcomes.push_back(std::move(row.outcome));
    details.push_back(std::move(row.detail));
    request_ids.push_back(std::move(row.request_id));
    peers.push_back(std::move(row.peer));
  }
  return WithConnection(*pool_, "append audit events", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec_prepared("audit_insert_many", ArrayLiteral(times), ArrayLiteral(callers),
                      ArrayLiteral(on_behalf_of), ArrayLiteral(actions), ArrayLiteral(resources),
                      ArrayLiteral(outcomes), ArrayLiteral(details), ArrayLiteral(request_ids),
                      ArrayLiteral(peers));
    return absl::OkStatus();
  });
}

absl::StatusOr<Page<AuditEvent>> PostgresRegistryStore::ListAuditEvents(const AuditFilter& filter,
                                                                        int page_size,
                                                                        int64_t before_id) {
  const int limit = EffectivePageSize(page_size);
  const int64_t before = before_id > 0 ? before_id : std::numeric_limits<int64_t>::max();
  int variant = 0;
  std::vector<std::string> params;  // in AuditListSql's order
  if (!filter.resource.empty()) {
    variant |= kAuditByResource;
    params.push_back(filter.resource);
  }
  if (!filter.caller.empty()) {
    variant |= kAuditByCaller;
    params.push_back(filter.caller);
  }
  if (filter.start_time != absl::InfinitePast()) {
    variant |= kAuditFrom;
    params.push_back(BoundParam(filter.start_time));
  }
  if (filter.end_time != absl::InfiniteFuture()) {
    variant |= kAuditUntil;
    params.push_back(BoundParam(filter.end_time));
  }
  return WithConnection(
      *pool_, "list audit events", [&](pqxx::connection& conn) -> absl::StatusOr<Page<AuditEvent>> {
        pqxx::read_transaction txn(conn);  // scopes the plan_cache_mode setting
        txn.exec_prepared("audit_custom_plans");
        pqxx::result r = txn.exec_prepared(AuditListName(variant), before, limit + 1,
                                           pqxx::prepare::make_dynamic_params(params));
        txn.commit();
        return PageFromResult(r, limit, &AuditEventFromRow);
      });
}

// ---- Registry events

absl::StatusOr<int64_t> PostgresRegistryStore::AppendRegistryEvents(
    const std::vector<RegistryEvent>& events) {
  nlohmann::json rows = nlohmann::json::array();
  for (const RegistryEvent& e : events) {
    absl::Status valid = internal::CheckRegistryEvent(e, "append registry events");
    if (!valid.ok()) return valid;
    rows.push_back({{"event_id", e.event_id},
                    {"workspace_id", e.workspace_id},
                    {"repository", e.repository},
                    {"action", e.action},
                    {"digest", e.digest},
                    {"tag", e.tag},
                    {"media_type", e.media_type},
                    {"size", e.size},
                    {"actor", e.actor},
                    {"actor_kind", static_cast<int>(e.actor_kind)},
                    {"request_addr", e.request_addr},
                    {"request_method", e.request_method},
                    {"user_agent", e.user_agent},
                    {"event_time", TimeParam(e.event_time)},
                    {"receive_time", TimeParam(e.receive_time)}});
  }
  if (events.empty()) return 0;
  const std::string json = rows.dump();  // every string checked as well-formed UTF-8 above
  return WithConnection(*pool_, "append registry events",
                        [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("re_insert", json);
                          return static_cast<int64_t>(r.affected_rows());
                        });
}

absl::StatusOr<Page<RegistryEvent>> PostgresRegistryStore::ListRegistryEvents(
    std::string_view workspace_id, const RegistryEventFilter& filter, int page_size,
    const std::optional<RegistryEventCursor>& after) {
  const int limit = EffectivePageSize(page_size);
  const RegistryEventCursor cursor = after.value_or(RegistryEventCursor{});
  return WithConnection(*pool_, "list registry events",
                        [&](pqxx::connection& conn) -> absl::StatusOr<Page<RegistryEvent>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared(
                              "re_list", std::string(workspace_id), filter.repository, filter.tag,
                              filter.digest, filter.action, filter.actor,
                              BoundParam(filter.start_time), BoundParam(filter.end_time),
                              after.has_value(), TimeParam(cursor.event_time), cursor.event_id,
                              limit + 1, BoundParam(filter.received_since));
                          return PageFromResult(r, limit, &RegistryEventFromRow);
                        });
}

absl::StatusOr<int64_t> PostgresRegistryStore::PruneRegistryEvents(absl::Time before, int limit) {
  const int batch = internal::EffectivePruneBatch(limit);
  return WithConnection(*pool_, "prune registry events",
                        [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("re_prune", BoundParam(before), batch);
                          return static_cast<int64_t>(r.affected_rows());
                        });
}

// ---- Key rotation

absl::StatusOr<std::vector<RegistryConfig>> PostgresRegistryStore::ListSecretsNotUnderKey(
    uint32_t key_id, int limit) {
  const int batch = EffectivePageSize(limit);
  return WithConnection(*pool_, "list secrets not under key",
                        [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<RegistryConfig>> {
                          pqxx::nontransaction txn(conn);
                          std::vector<RegistryConfig> configs;
                          for (const pqxx::row& row : txn.exec_prepared(
                                   "rc_not_under_key", static_cast<int64_t>(key_id), batch)) {
                            configs.push_back(ConfigFromRow(row));
                          }
                          return configs;
                        });
}

absl::StatusOr<bool> PostgresRegistryStore::ReplaceSecretCiphertext(
    std::string_view workspace_id, std::string_view id, const std::string& old_ciphertext,
    const std::string& new_ciphertext, uint32_t new_key_id) {
  if (new_ciphertext.empty()) {
    return absl::InvalidArgumentError(
        "replace secret ciphertext: value violates constraint registry_configs_secret_nonempty");
  }
  if (old_ciphertext.empty()) return false;  // a stored secret is never empty
  return WithConnection(
      *pool_, "replace secret ciphertext", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("rc_replace_secret", std::string(workspace_id), std::string(id),
                              pqxx::binarystring(old_ciphertext.data(), old_ciphertext.size()),
                              pqxx::binarystring(new_ciphertext.data(), new_ciphertext.size()),
                              static_cast<int64_t>(new_key_id));
        return r.affected_rows() == 1;
      });
}

// ---- TestConnection

absl::StatusOr<bool> PostgresRegistryStore::RecordValidation(std::string_view workspace_id,
                                                             std::string_view id,
                                                             const ValidationRecord& record,
                                                             const AuditEvent& event) {
  AuditEvent row = event;
  internal::TruncateAuditFreeText(row);
  std::string stored_error(record.error);
  internal::TruncateToChars(stored_error, kAuditDetailMaxChars);
  return WithConnection(
      *pool_, "record validation", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::work txn(conn);
        const std::string ws(workspace_id);
        const std::string config_id(id);
        pqxx::result before = txn.exec_prepared("rc_validation_status_for_update", ws, config_id,
                                                record.tested_version);
        const bool changed =
            !before.empty() && before[0][0].as<std::string>() != StatusName(record.status);
        pqxx::result updated =
            txn.exec_prepared("rc_record_validation", ws, config_id, record.tested_version,
                              StatusName(record.status), TimeParam(record.validated_at),
                              stored_error, OptionalTimeParam(record.credential_expire_time));
        if (!record.audit_only_on_status_change || changed) {
          txn.exec_prepared("audit_insert", TimeParam(row.time), row.caller, row.on_behalf_of,
                            row.action, row.resource, row.outcome, row.detail, row.request_id,
                            row.peer);
        }
        txn.commit();
        return updated.affected_rows() == 1;
      });
}

// ---- Scheduled revalidation

absl::StatusOr<std::vector<RevalidationKey>> PostgresRegistryStore::ListConfigsToRevalidate(
    absl::Time validated_before, const RevalidationKey& after, int limit) {
  const int batch = EffectivePageSize(limit);
  return WithConnection(
      *pool_, "list configs to revalidate",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<RevalidationKey>> {
        pqxx::nontransaction txn(conn);
        std::vector<RevalidationKey> keys;
        for (const pqxx::row& row : txn.exec_prepared(
                 "rc_to_revalidate", BoundParam(validated_before), TimeParam(after.validated_at),
                 after.workspace_id, after.id, batch)) {
          keys.push_back(
              {TimeFromField(row[0]), row[1].as<std::string>(), row[2].as<std::string>()});
        }
        return keys;
      });
}

absl::StatusOr<std::map<RegistryType, CredentialHealth>>
PostgresRegistryStore::CountCredentialHealth(absl::Time soon, absl::Time later) {
  return WithConnection(
      *pool_, "count credential health",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::map<RegistryType, CredentialHealth>> {
        pqxx::nontransaction txn(conn);
        std::map<RegistryType, CredentialHealth> counts;
        for (const pqxx::row& row :
             txn.exec_prepared("rc_credential_health", BoundParam(soon), BoundParam(later))) {
          CredentialHealth& h = counts[TypeFromName(row[0].as<std::string>())];
          h.expiring_before_soon = row[1].as<int64_t>();
          h.expiring_before_later = row[2].as<int64_t>();
          h.invalid = row[3].as<int64_t>();
        }
        return counts;
      });
}

// ---- Operations

absl::Status PostgresRegistryStore::Ping() {
  // Not WithConnection: a standby's answer must discard the lease like a broken connection.
  absl::StatusOr<ConnectionPool::Lease> lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::nontransaction txn(lease->conn());
    const pqxx::result r = txn.exec_prepared("ping");
    if (r.size() == 1 && !r[0][0].as<bool>()) return absl::OkStatus();
    // A read-only standby (e.g. a DSN that still leads to the old primary after a failover):
    // reads would work, writes would not. Drop this connection and the pool's idle ones so the
    // next call connects again, possibly to the new primary.
    lease->MarkBroken();
    return absl::UnavailableError(
        "database is a read-only standby (pg_is_in_recovery() is true); the DSN must lead to "
        "the primary, e.g. target_session_attrs=read-write");
  } catch (const std::exception& e) {
    if (IsConnectionLost(e)) lease->MarkBroken();
    return StatusFromDbException(e, "ping");
  }
}

absl::StatusOr<std::map<uint32_t, int64_t>> PostgresRegistryStore::CountSecretsByKeyId() {
  return WithConnection(*pool_, "count secrets by key id",
                        [](pqxx::connection& conn) -> absl::StatusOr<std::map<uint32_t, int64_t>> {
                          pqxx::nontransaction txn(conn);
                          std::map<uint32_t, int64_t> counts;
                          for (const pqxx::row& row : txn.exec_prepared("rc_count_by_key")) {
                            counts[static_cast<uint32_t>(row[0].as<int64_t>())] =
                                row[1].as<int64_t>();
                          }
                          return counts;
                        });
}

absl::StatusOr<int64_t> PostgresRegistryStore::CountSecretsUnderOldAssociatedData() {
  return WithConnection(*pool_, "count secrets under old associated data",
                        [](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          return txn
                              .exec_prepared1("rc_count_old_ad",
                                              static_cast<int64_t>(kSecretAdVersionCurrent))[0]
                              .as<int64_t>();
                        });
}

}  // namespace registryauth::storage
