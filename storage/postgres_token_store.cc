#include "storage/postgres_token_store.h"

#include <exception>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "pqxx/binarystring"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/pg_internal.h"
#include "storage/store_internal.h"
#include "storage/token_store_internal.h"

namespace registryauth::storage {
namespace {

using internal::BoundParam;
using internal::CheckText;
using internal::CheckThrottleKey;
using internal::ChildExists;
using internal::ChildNotFound;
using internal::EffectivePageSize;
using internal::EffectiveTokenListLimit;
using internal::IsStorableText;
using internal::MakePoolOptions;
using internal::Micros;
using internal::MissOrStale;
using internal::PageFromResult;
using internal::Statement;
using internal::TimeFromField;
using internal::TimeParam;
using internal::TruncateToMicros;
using internal::WithConnection;
using internal::WorkspaceNotFound;

constexpr char kServiceAccount[] = "service account";

// ---- SQL (times: see pg_internal.h). Times the model marks with a sentinel travel as '' for
// NULL: NULLIF($n, '')::timestamptz.

std::string AccountColumns() {
  return absl::StrCat("workspace_id, id, display_name, grants::text, enabled, ",
                      Micros("expire_time"), ", secret_hash, secret_hash_key_id, ",
                      Micros("secret_rotate_time"), ", ", Micros("last_used_time"), ", ",
                      Micros("create_time"), ", ", Micros("update_time"), ", version, uid::text");
}

std::string PullColumns() {
  return absl::StrCat(
      "id, workspace_id, app_id, repository, secret_hash, secret_hash_key_id,"
      " created_by, ",
      Micros("create_time"), ", ", Micros("expire_time"), ", ", Micros("revoke_time"));
}

std::string RefreshColumns() {
  return absl::StrCat(
      "id, subject, service, workspace_id, client_id, secret_hash,"
      " secret_hash_key_id, ",
      Micros("create_time"), ", ", Micros("expire_time"), ", ", Micros("last_used_time"), ", ",
      Micros("revoke_time"), ", subject_generation");
}

std::string ThrottleColumns() {
  return absl::StrCat("failures, ", Micros("window_start"), ", ", Micros("blocked_until"));
}

// Newest first, ties by id: the order of the pull_tokens_app and refresh_tokens_* indexes.
constexpr char kNewestFirst[] = " ORDER BY create_time DESC, id DESC";

const std::vector<Statement>& Statements() {
  static const std::vector<Statement>* const kStatements = new std::vector<Statement>{
      {"ws_exists", "SELECT 1 FROM workspaces WHERE id = $1"},
      // Service accounts
      {"sa_insert",
       absl::StrCat("INSERT INTO service_accounts (workspace_id, id, display_name, grants,"
                    " enabled, expire_time, secret_hash, secret_hash_key_id, secret_rotate_time,"
                    " last_used_time, create_time, update_time, version, uid)"
                    " VALUES ($1, $2, $3, $4::jsonb, $5, NULLIF($6, '')::timestamptz, $7, $8,"
                    " $9::timestamptz, NULLIF($10, '')::timestamptz, $11::timestamptz,"
                    " $12::timestamptz, 1, $13::uuid) RETURNING ",
                    AccountColumns())},
      {"sa_get", absl::StrCat("SELECT ", AccountColumns(),
                              " FROM service_accounts WHERE workspace_id = $1 AND id = $2")},
      {"sa_list", absl::StrCat("SELECT ", AccountColumns(),
                               " FROM service_accounts WHERE workspace_id = $1 AND id > $2"
                               " ORDER BY id LIMIT $3")},
      {"sa_update",
       absl::StrCat("UPDATE service_accounts SET display_name = $3, grants = $4::jsonb,"
                    " enabled = $5, expire_time = NULLIF($6, '')::timestamptz,"
                    " secret_hash = $7, secret_hash_key_id = $8,"
                    " secret_rotate_time = $9::timestamptz, update_time = $10::timestamptz,"
                    " version = version + 1"
                    " WHERE workspace_id = $1 AND id = $2 AND ($11::bigint = 0 OR version = $11)"
                    " RETURNING ",
                    AccountColumns())},
      {"sa_version", "SELECT version FROM service_accounts WHERE workspace_id = $1 AND id = $2"},
      {"sa_delete",
       "DELETE FROM service_accounts WHERE workspace_id = $1 AND id = $2"
       " AND ($3::bigint = 0 OR version = $3) RETURNING 1"},
      // GREATEST ignores NULL (never used): last_used_time only moves forward.
      {"sa_touch",
       "UPDATE service_accounts SET last_used_time = GREATEST(last_used_time, $3::timestamptz)"
       " WHERE workspace_id = $1 AND id = $2"},
      // Pull tokens
      {"pt_insert",
       "INSERT INTO pull_tokens (id, workspace_id, app_id, repository, secret_hash,"
       " secret_hash_key_id, created_by, create_time, expire_time, revoke_time)"
       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz,"
       " NULLIF($10, '')::timestamptz)"},
      {"pt_get", absl::StrCat("SELECT ", PullColumns(), " FROM pull_tokens WHERE id = $1")},
      {"pt_list_app", absl::StrCat("SELECT ", PullColumns(),
                                   " FROM pull_tokens WHERE workspace_id = $1 AND app_id = $2",
                                   kNewestFirst, " LIMIT $3")},
      {"pt_list_ws",
       absl::StrCat("SELECT ", PullColumns(), " FROM pull_tokens WHERE workspace_id = $1",
                    kNewestFirst, " LIMIT $2")},
      {"pt_exists", "SELECT 1 FROM pull_tokens WHERE id = $1"},
      {"pt_revoke",
       "UPDATE pull_tokens SET revoke_time = NULLIF($2, '')::timestamptz"
       " WHERE id = $1 AND revoke_time IS NULL"},
      {"pt_revoke_app",
       "UPDATE pull_tokens SET revoke_time = NULLIF($3, '')::timestamptz"
       " WHERE workspace_id = $1 AND app_id = $2 AND revoke_time IS NULL"},
      {"pt_delete_expired", "DELETE FROM pull_tokens WHERE expire_time < $1::timestamptz"},
      // Refresh tokens
      {"rt_insert",
       "INSERT INTO refresh_tokens (id, subject, service, workspace_id, client_id, secret_hash,"
       " secret_hash_key_id, create_time, expire_time, last_used_time, revoke_time,"
       " subject_generation)"
       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz,"
       " NULLIF($10, '')::timestamptz, NULLIF($11, '')::timestamptz, $12)"},
      {"rt_get", absl::StrCat("SELECT ", RefreshColumns(), " FROM refresh_tokens WHERE id = $1")},
      {"rt_list_subject",
       absl::StrCat("SELECT ", RefreshColumns(),
                    " FROM refresh_tokens WHERE workspace_id = $1 AND subject = $2", kNewestFirst,
                    " LIMIT $3")},
      {"rt_list_ws",
       absl::StrCat("SELECT ", RefreshColumns(), " FROM refresh_tokens WHERE workspace_id = $1",
                    kNewestFirst, " LIMIT $2")},
      {"rt_exists", "SELECT 1 FROM refresh_tokens WHERE id = $1"},
      {"rt_revoke",
       "UPDATE refresh_tokens SET revoke_time = NULLIF($2, '')::timestamptz"
       " WHERE id = $1 AND revoke_time IS NULL"},
      {"rt_revoke_subject",
       "UPDATE refresh_tokens SET revoke_time = NULLIF($2, '')::timestamptz"
       " WHERE subject = $1 AND revoke_time IS NULL"},
      {"rt_touch",
       "UPDATE refresh_tokens SET last_used_time = GREATEST(last_used_time, $2::timestamptz)"
       " WHERE id = $1"},
      {"rt_delete_expired", "DELETE FROM refresh_tokens WHERE expire_time < $1::timestamptz"},
      // Throttle. th_lock returns the key's state with its row locked until the end of the
      // transaction, creating a zero state if there is none. An upsert rather than
      // INSERT ... DO NOTHING then SELECT ... FOR UPDATE: one round trip, and a row deleted
      // in between (ClearLoginFailures) cannot make the lock step come back empty.
      {"th_lock",
       absl::StrCat("INSERT INTO login_throttle (key, failures, window_start, blocked_until)"
                    " VALUES ($1, 0, '-infinity', '-infinity')"
                    " ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures"
                    " RETURNING ",
                    ThrottleColumns())},
      {"th_store",
       "UPDATE login_throttle SET failures = $2, window_start = $3::timestamptz,"
       " blocked_until = $4::timestamptz WHERE key = $1"},
      {"th_get", absl::StrCat("SELECT ", ThrottleColumns(), " FROM login_throttle WHERE key = $1")},
      {"th_delete", "DELETE FROM login_throttle WHERE key = $1"},
      // $1 = before - window: window_start + window <= before.
      {"th_delete_stale",
       "DELETE FROM login_throttle"
       " WHERE window_start <= $1::timestamptz AND blocked_until <= $2::timestamptz"},
      // Key rotation
      {"hash_count_by_key",
       "SELECT secret_hash_key_id, count(*) FROM ("
       " SELECT secret_hash_key_id FROM service_accounts"
       " UNION ALL SELECT secret_hash_key_id FROM pull_tokens"
       " UNION ALL SELECT secret_hash_key_id FROM refresh_tokens) AS h"
       " GROUP BY secret_hash_key_id"},
  };
  return *kStatements;
}

void PrepareStatements(pqxx::connection& conn) {
  for (const Statement& s : Statements()) conn.prepare(s.name, s.sql);
}

// ---- Conversions

// '' (NULL) for the model's "none" sentinel, else the time.
std::string NullableTimeParam(absl::Time t, absl::Time none) {
  return t == none ? std::string() : TimeParam(t);
}

absl::Time NullableTimeFromField(const pqxx::field& f, absl::Time none) {
  return f.is_null() ? none : TimeFromField(f);
}

pqxx::binarystring HashParam(const SecretHash& hash) {
  return pqxx::binarystring(hash.digest.data(), hash.digest.size());
}

int64_t KeyIdParam(const SecretHash& hash) { return static_cast<int64_t>(hash.key_id); }

SecretHash HashFromFields(const pqxx::field& digest, const pqxx::field& key_id) {
  SecretHash hash;
  hash.digest = pqxx::binarystring(digest).str();
  hash.key_id = static_cast<uint32_t>(key_id.as<int64_t>());
  return hash;
}

// The jsonb form of 0003_tokens.sql: [{"repository_pattern": "...", "actions": ["..."]}].
// Text is valid UTF-8 (CheckText ran), so dump() does not throw.
std::string GrantsParam(const std::vector<RepositoryGrant>& grants) {
  nlohmann::json array = nlohmann::json::array();
  for (const RepositoryGrant& g : grants) {
    nlohmann::json item = nlohmann::json::object();
    item["repository_pattern"] = g.repository_pattern;
    item["actions"] = g.actions;
    array.push_back(std::move(item));
  }
  return array.dump();
}

// The CHECK constraint guarantees the shape; a row that breaks it anyway throws (a
// nlohmann::json exception), which WithConnection reports as INTERNAL.
std::vector<RepositoryGrant> GrantsFromField(const pqxx::field& f) {
  std::vector<RepositoryGrant> grants;
  for (const nlohmann::json& item : nlohmann::json::parse(f.as<std::string>())) {
    RepositoryGrant g;
    g.repository_pattern = item.at("repository_pattern").get<std::string>();
    g.actions = item.at("actions").get<std::vector<std::string>>();
    grants.push_back(std::move(g));
  }
  return grants;
}

ServiceAccount AccountFromRow(const pqxx::row& r) {
  ServiceAccount a;
  a.workspace_id = r[0].as<std::string>();
  a.id = r[1].as<std::string>();
  a.display_name = r[2].as<std::string>();
  a.grants = GrantsFromField(r[3]);
  a.enabled = r[4].as<bool>();
  a.expire_time = NullableTimeFromField(r[5], absl::InfiniteFuture());
  a.secret_hash = HashFromFields(r[6], r[7]);
  a.secret_rotate_time = TimeFromField(r[8]);
  a.last_used_time = NullableTimeFromField(r[9], absl::InfinitePast());
  a.create_time = TimeFromField(r[10]);
  a.update_time = TimeFromField(r[11]);
  a.version = r[12].as<int64_t>();
  a.uid = r[13].as<std::string>();
  return a;
}

PullToken PullFromRow(const pqxx::row& r) {
  PullToken t;
  t.id = r[0].as<std::string>();
  t.workspace_id = r[1].as<std::string>();
  t.app_id = r[2].as<std::string>();
  t.repository = r[3].as<std::string>();
  t.secret_hash = HashFromFields(r[4], r[5]);
  t.created_by = r[6].as<std::string>();
  t.create_time = TimeFromField(r[7]);
  t.expire_time = TimeFromField(r[8]);
  t.revoke_time = NullableTimeFromField(r[9], absl::InfiniteFuture());
  return t;
}

RefreshToken RefreshFromRow(const pqxx::row& r) {
  RefreshToken t;
  t.id = r[0].as<std::string>();
  t.subject = r[1].as<std::string>();
  t.service = r[2].as<std::string>();
  t.workspace_id = r[3].as<std::string>();
  t.client_id = r[4].as<std::string>();
  t.secret_hash = HashFromFields(r[5], r[6]);
  t.create_time = TimeFromField(r[7]);
  t.expire_time = TimeFromField(r[8]);
  t.last_used_time = NullableTimeFromField(r[9], absl::InfinitePast());
  t.revoke_time = NullableTimeFromField(r[10], absl::InfiniteFuture());
  t.subject_generation = pqxx::binarystring(r[11]).str();
  return t;
}

ThrottleState ThrottleFromRow(std::string key, const pqxx::row& r) {
  ThrottleState s;
  s.key = std::move(key);
  s.failures = r[0].as<int32_t>();
  s.window_start = TimeFromField(r[1]);
  s.blocked_until = TimeFromField(r[2]);
  return s;
}

ThrottleState ZeroThrottleState(std::string_view key) {
  ThrottleState state;
  state.key = std::string(key);
  return state;
}

// Text the database cannot hold (storage/token_store_internal.h) matches no row.
bool AllStorable(std::initializer_list<std::string_view> values) {
  for (std::string_view v : values) {
    if (!IsStorableText(v)) return false;
  }
  return true;
}

absl::Status TokenNotFound(std::string_view kind) {
  return absl::NotFoundError(absl::StrCat(ToAbsl(kind), " not found"));
}

absl::Status TokenExists(std::string_view kind) {
  return absl::AlreadyExistsError(absl::StrCat(ToAbsl(kind), " already exists"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresTokenStore>> PostgresTokenStore::Create(
    PostgresOptions options) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::Create(MakePoolOptions(std::move(options), PrepareStatements));
  if (!pool.ok()) return pool.status();
  return std::unique_ptr<PostgresTokenStore>(new PostgresTokenStore(*std::move(pool)));
}

PostgresTokenStore::PostgresTokenStore(std::unique_ptr<ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresTokenStore::~PostgresTokenStore() = default;

// ---- Service accounts

absl::StatusOr<ServiceAccount> PostgresTokenStore::CreateServiceAccount(
    const ServiceAccount& account) {
  constexpr char kOp[] = "create service account";
  absl::Status text = CheckText(account, kOp);
  if (!text.ok()) return text;
  // The uuid column would accept other spellings of a UUID; the model has one.
  if (!IsUid(account.uid)) return internal::ConstraintError(kOp, "service_accounts_uid_format");
  const ServiceAccount& a = account;
  absl::StatusOr<ServiceAccount> result =
      WithConnection(*pool_, kOp, [&](pqxx::connection& conn) -> absl::StatusOr<ServiceAccount> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared(
            "sa_insert", a.workspace_id, a.id, a.display_name, GrantsParam(a.grants), a.enabled,
            NullableTimeParam(a.expire_time, absl::InfiniteFuture()), HashParam(a.secret_hash),
            KeyIdParam(a.secret_hash), TimeParam(a.secret_rotate_time),
            NullableTimeParam(a.last_used_time, absl::InfinitePast()), TimeParam(a.create_time),
            TimeParam(a.update_time), a.uid);
        return AccountFromRow(r[0]);
      });
  if (absl::IsNotFound(result.status())) return WorkspaceNotFound(a.workspace_id);
  if (absl::IsAlreadyExists(result.status())) {
    return ChildExists(kServiceAccount, a.workspace_id, a.id);
  }
  return result;
}

absl::StatusOr<ServiceAccount> PostgresTokenStore::GetServiceAccount(std::string_view workspace_id,
                                                                     std::string_view id) {
  if (!AllStorable({workspace_id, id})) return ChildNotFound(kServiceAccount, workspace_id, id);
  return WithConnection(
      *pool_, "get service account", [&](pqxx::connection& conn) -> absl::StatusOr<ServiceAccount> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("sa_get", std::string(workspace_id), std::string(id));
        if (r.empty()) return ChildNotFound(kServiceAccount, workspace_id, id);
        return AccountFromRow(r[0]);
      });
}

absl::StatusOr<Page<ServiceAccount>> PostgresTokenStore::ListServiceAccounts(
    std::string_view workspace_id, const ListOptions& options) {
  if (!IsStorableText(options.start_after)) {
    return absl::InvalidArgumentError("list service accounts: start_after is not valid UTF-8 text");
  }
  if (!IsStorableText(workspace_id)) return WorkspaceNotFound(workspace_id);
  const std::string ws(workspace_id);
  const int page_size = EffectivePageSize(options);
  return WithConnection(*pool_, "list service accounts",
                        [&](pqxx::connection& conn) -> absl::StatusOr<Page<ServiceAccount>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r =
                              txn.exec_prepared("sa_list", ws, options.start_after, page_size + 1);
                          if (r.empty() && txn.exec_prepared("ws_exists", ws).empty()) {
                            return WorkspaceNotFound(ws);
                          }
                          return PageFromResult(r, page_size, &AccountFromRow);
                        });
}

absl::StatusOr<ServiceAccount> PostgresTokenStore::UpdateServiceAccount(
    const ServiceAccount& account, int64_t expected_version) {
  constexpr char kOp[] = "update service account";
  absl::Status text = CheckText(account, kOp);
  if (!text.ok()) return text;
  const ServiceAccount& a = account;
  return WithConnection(*pool_, kOp, [&](pqxx::connection& conn) -> absl::StatusOr<ServiceAccount> {
    pqxx::nontransaction txn(conn);
    pqxx::result r = txn.exec_prepared(
        "sa_update", a.workspace_id, a.id, a.display_name, GrantsParam(a.grants), a.enabled,
        NullableTimeParam(a.expire_time, absl::InfiniteFuture()), HashParam(a.secret_hash),
        KeyIdParam(a.secret_hash), TimeParam(a.secret_rotate_time), TimeParam(a.update_time),
        expected_version);
    if (r.empty()) {
      return MissOrStale(txn, "sa_version", ChildNotFound(kServiceAccount, a.workspace_id, a.id),
                         kServiceAccount, a.workspace_id, a.id);
    }
    return AccountFromRow(r[0]);
  });
}

absl::Status PostgresTokenStore::DeleteServiceAccount(std::string_view workspace_id,
                                                      std::string_view id,
                                                      int64_t expected_version) {
  if (!AllStorable({workspace_id, id})) return ChildNotFound(kServiceAccount, workspace_id, id);
  const std::string ws(workspace_id);
  const std::string account_id(id);
  return WithConnection(
      *pool_, "delete service account", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::nontransaction txn(conn);
        if (txn.exec_prepared("sa_delete", ws, account_id, expected_version).empty()) {
          return MissOrStale(txn, "sa_version", ChildNotFound(kServiceAccount, ws, account_id),
                             kServiceAccount, ws, account_id);
        }
        return absl::OkStatus();
      });
}

absl::Status PostgresTokenStore::TouchServiceAccount(std::string_view workspace_id,
                                                     std::string_view id, absl::Time when) {
  if (!AllStorable({workspace_id, id})) return ChildNotFound(kServiceAccount, workspace_id, id);
  return WithConnection(*pool_, "touch service account",
                        [&](pqxx::connection& conn) -> absl::Status {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("sa_touch", std::string(workspace_id),
                                                             std::string(id), TimeParam(when));
                          if (r.affected_rows() == 0)
                            return ChildNotFound(kServiceAccount, workspace_id, id);
                          return absl::OkStatus();
                        });
}

// ---- Pull tokens

absl::Status PostgresTokenStore::CreatePullToken(const PullToken& token) {
  constexpr char kOp[] = "create pull token";
  absl::Status text = CheckText(token, kOp);
  if (!text.ok()) return text;
  const PullToken& t = token;
  absl::Status result = WithConnection(*pool_, kOp, [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec_prepared("pt_insert", t.id, t.workspace_id, t.app_id, t.repository,
                      HashParam(t.secret_hash), KeyIdParam(t.secret_hash), t.created_by,
                      TimeParam(t.create_time), TimeParam(t.expire_time),
                      NullableTimeParam(t.revoke_time, absl::InfiniteFuture()));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(result)) return WorkspaceNotFound(t.workspace_id);
  if (absl::IsAlreadyExists(result)) return TokenExists("pull token");
  return result;
}

absl::StatusOr<PullToken> PostgresTokenStore::GetPullToken(std::string_view id) {
  if (!IsStorableText(id)) return TokenNotFound("pull token");
  return WithConnection(*pool_, "get pull token",
                        [&](pqxx::connection& conn) -> absl::StatusOr<PullToken> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("pt_get", std::string(id));
                          if (r.empty()) return TokenNotFound("pull token");
                          return PullFromRow(r[0]);
                        });
}

absl::StatusOr<std::vector<PullToken>> PostgresTokenStore::ListPullTokens(
    std::string_view workspace_id, std::string_view app_id, int limit) {
  if (!IsStorableText(workspace_id)) return WorkspaceNotFound(workspace_id);
  const std::string ws(workspace_id);
  const std::string app(app_id);
  const int n = EffectiveTokenListLimit(limit);
  return WithConnection(*pool_, "list pull tokens",
                        [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<PullToken>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r;
                          if (app.empty()) {
                            r = txn.exec_prepared("pt_list_ws", ws, n);
                          } else if (IsStorableText(app)) {
                            r = txn.exec_prepared("pt_list_app", ws, app, n);
                          }
                          if (r.empty() && txn.exec_prepared("ws_exists", ws).empty()) {
                            return WorkspaceNotFound(ws);
                          }
                          std::vector<PullToken> tokens;
                          for (const pqxx::row& row : r) tokens.push_back(PullFromRow(row));
                          return tokens;
                        });
}

absl::StatusOr<bool> PostgresTokenStore::RevokePullToken(std::string_view id, absl::Time when) {
  if (!IsStorableText(id)) return TokenNotFound("pull token");
  const std::string token_id(id);
  return WithConnection(
      *pool_, "revoke pull token", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("pt_revoke", token_id,
                                           NullableTimeParam(when, absl::InfiniteFuture()));
        if (r.affected_rows() == 1) return true;
        if (txn.exec_prepared("pt_exists", token_id).empty()) return TokenNotFound("pull token");
        return false;  // revoked before
      });
}

absl::StatusOr<int64_t> PostgresTokenStore::RevokePullTokensOfApp(std::string_view workspace_id,
                                                                  std::string_view app_id,
                                                                  absl::Time when) {
  if (!AllStorable({workspace_id, app_id})) return 0;
  return WithConnection(
      *pool_, "revoke pull tokens of app", [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("pt_revoke_app", std::string(workspace_id), std::string(app_id),
                              NullableTimeParam(when, absl::InfiniteFuture()));
        return static_cast<int64_t>(r.affected_rows());
      });
}

absl::StatusOr<int64_t> PostgresTokenStore::DeleteExpiredPullTokens(absl::Time before) {
  return WithConnection(
      *pool_, "delete expired pull tokens", [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("pt_delete_expired", BoundParam(before));
        return static_cast<int64_t>(r.affected_rows());
      });
}

// ---- Refresh tokens

absl::Status PostgresTokenStore::CreateRefreshToken(const RefreshToken& token) {
  constexpr char kOp[] = "create refresh token";
  absl::Status text = CheckText(token, kOp);
  if (!text.ok()) return text;
  const RefreshToken& t = token;
  absl::Status result = WithConnection(*pool_, kOp, [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec_prepared("rt_insert", t.id, t.subject, t.service, t.workspace_id, t.client_id,
                      HashParam(t.secret_hash), KeyIdParam(t.secret_hash), TimeParam(t.create_time),
                      TimeParam(t.expire_time),
                      NullableTimeParam(t.last_used_time, absl::InfinitePast()),
                      NullableTimeParam(t.revoke_time, absl::InfiniteFuture()),
                      pqxx::binarystring(t.subject_generation.data(), t.subject_generation.size()));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(result)) return WorkspaceNotFound(t.workspace_id);
  if (absl::IsAlreadyExists(result)) return TokenExists("refresh token");
  return result;
}

absl::StatusOr<RefreshToken> PostgresTokenStore::GetRefreshToken(std::string_view id) {
  if (!IsStorableText(id)) return TokenNotFound("refresh token");
  return WithConnection(*pool_, "get refresh token",
                        [&](pqxx::connection& conn) -> absl::StatusOr<RefreshToken> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("rt_get", std::string(id));
                          if (r.empty()) return TokenNotFound("refresh token");
                          return RefreshFromRow(r[0]);
                        });
}

absl::StatusOr<std::vector<RefreshToken>> PostgresTokenStore::ListRefreshTokens(
    std::string_view workspace_id, std::string_view subject, int limit) {
  if (!IsStorableText(workspace_id)) return WorkspaceNotFound(workspace_id);
  const std::string ws(workspace_id);
  const std::string sub(subject);
  const int n = EffectiveTokenListLimit(limit);
  return WithConnection(*pool_, "list refresh tokens",
                        [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<RefreshToken>> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r;
                          if (sub.empty()) {
                            r = txn.exec_prepared("rt_list_ws", ws, n);
                          } else if (IsStorableText(sub)) {
                            r = txn.exec_prepared("rt_list_subject", ws, sub, n);
                          }
                          if (r.empty() && txn.exec_prepared("ws_exists", ws).empty()) {
                            return WorkspaceNotFound(ws);
                          }
                          std::vector<RefreshToken> tokens;
                          for (const pqxx::row& row : r) tokens.push_back(RefreshFromRow(row));
                          return tokens;
                        });
}

absl::StatusOr<bool> PostgresTokenStore::RevokeRefreshToken(std::string_view id, absl::Time when) {
  if (!IsStorableText(id)) return TokenNotFound("refresh token");
  const std::string token_id(id);
  return WithConnection(
      *pool_, "revoke refresh token", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("rt_revoke", token_id,
                                           NullableTimeParam(when, absl::InfiniteFuture()));
        if (r.affected_rows() == 1) return true;
        if (txn.exec_prepared("rt_exists", token_id).empty()) {
          return TokenNotFound("refresh token");
        }
        return false;  // revoked before
      });
}

absl::StatusOr<int64_t> PostgresTokenStore::RevokeRefreshTokensOfSubject(std::string_view subject,
                                                                         absl::Time when) {
  if (!IsStorableText(subject)) return 0;
  return WithConnection(*pool_, "revoke refresh tokens of subject",
                        [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r =
                              txn.exec_prepared("rt_revoke_subject", std::string(subject),
                                                NullableTimeParam(when, absl::InfiniteFuture()));
                          return static_cast<int64_t>(r.affected_rows());
                        });
}

absl::Status PostgresTokenStore::TouchRefreshToken(std::string_view id, absl::Time when) {
  if (!IsStorableText(id)) return TokenNotFound("refresh token");
  return WithConnection(*pool_, "touch refresh token", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    pqxx::result r = txn.exec_prepared("rt_touch", std::string(id), TimeParam(when));
    if (r.affected_rows() == 0) return TokenNotFound("refresh token");
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PostgresTokenStore::DeleteExpiredRefreshTokens(absl::Time before) {
  return WithConnection(*pool_, "delete expired refresh tokens",
                        [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r =
                              txn.exec_prepared("rt_delete_expired", BoundParam(before));
                          return static_cast<int64_t>(r.affected_rows());
                        });
}

// ---- Failed-login throttle

absl::StatusOr<ThrottleState> PostgresTokenStore::RecordLoginFailure(std::string_view key,
                                                                     absl::Time now,
                                                                     const ThrottlePolicy& policy) {
  absl::Status valid = CheckThrottleKey(key, "record login failure");
  if (!valid.ok()) return valid;
  const std::string k(key);
  return WithConnection(
      *pool_, "record login failure", [&](pqxx::connection& conn) -> absl::StatusOr<ThrottleState> {
        // Read-modify-write of one row that th_lock holds locked until the commit: concurrent
        // callers (threads or replicas) queue on the row, and each sees its predecessor's
        // result, so no failure is lost.
        pqxx::work txn(conn);
        pqxx::result r = txn.exec_prepared("th_lock", k);
        ThrottleState next = NextThrottleState(ThrottleFromRow(k, r[0]), now, policy);
        next.window_start = TruncateToMicros(next.window_start);
        next.blocked_until = TruncateToMicros(next.blocked_until);
        txn.exec_prepared("th_store", k, next.failures, TimeParam(next.window_start),
                          TimeParam(next.blocked_until));
        txn.commit();
        return next;
      });
}

absl::StatusOr<ThrottleState> PostgresTokenStore::GetThrottleState(std::string_view key) {
  if (!IsStorableText(key)) return ZeroThrottleState(key);
  const std::string k(key);
  return WithConnection(*pool_, "get throttle state",
                        [&](pqxx::connection& conn) -> absl::StatusOr<ThrottleState> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("th_get", k);
                          if (r.empty()) return ZeroThrottleState(k);
                          return ThrottleFromRow(k, r[0]);
                        });
}

absl::Status PostgresTokenStore::ClearLoginFailures(std::string_view key) {
  if (!IsStorableText(key)) return absl::OkStatus();
  return WithConnection(*pool_, "clear login failures",
                        [&](pqxx::connection& conn) -> absl::Status {
                          pqxx::nontransaction txn(conn);
                          txn.exec_prepared("th_delete", std::string(key));
                          return absl::OkStatus();
                        });
}

absl::StatusOr<int64_t> PostgresTokenStore::DeleteStaleThrottleStates(
    absl::Time before, const ThrottlePolicy& policy) {
  // Stored times are whole microseconds, so `stored <= t` holds exactly when it holds against t
  // truncated to microseconds, which TimeParam does.
  return WithConnection(*pool_, "delete stale throttle states",
                        [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                          pqxx::nontransaction txn(conn);
                          pqxx::result r = txn.exec_prepared("th_delete_stale",
                                                             TimeParam(before - policy.window),
                                                             TimeParam(before));
                          return static_cast<int64_t>(r.affected_rows());
                        });
}

// ---- Key rotation

absl::StatusOr<std::map<uint32_t, int64_t>> PostgresTokenStore::CountSecretHashesByKeyId() {
  return WithConnection(*pool_, "count secret hashes by key id",
                        [](pqxx::connection& conn) -> absl::StatusOr<std::map<uint32_t, int64_t>> {
                          pqxx::nontransaction txn(conn);
                          std::map<uint32_t, int64_t> counts;
                          for (const pqxx::row& row : txn.exec_prepared("hash_count_by_key")) {
                            counts[static_cast<uint32_t>(row[0].as<int64_t>())] =
                                row[1].as<int64_t>();
                          }
                          return counts;
                        });
}

}  // namespace registryauth::storage
