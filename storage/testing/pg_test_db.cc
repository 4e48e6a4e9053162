#include "storage/testing/pg_test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "storage/conninfo.h"
#include "storage/migrations.h"
#include "storage/postgres_store.h"
#include "storage/pq_status.h"

namespace registryauth::testing {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string UniqueName() {
  static std::atomic<int> counter{0};
  std::random_device random;
  return absl::StrFormat("regauth_t_%d_%d_%08x", static_cast<int>(getpid()), counter++, random());
}

// CREATE DATABASE `name` (a copy of `template_name` when not empty) on the admin DSN's cluster.
absl::Status CreateDatabase(const std::string& admin, const std::string& name,
                            const std::string& template_name) {
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction txn(conn);
    std::string sql = absl::StrCat("CREATE DATABASE ", txn.quote_name(name));
    if (!template_name.empty()) absl::StrAppend(&sql, " TEMPLATE ", txn.quote_name(template_name));
    txn.exec(sql);
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "create test database");
  }
  return absl::OkStatus();
}

void DropDatabase(const std::string& admin, const std::string& name) {
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction txn(conn);
    txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", txn.quote_name(name), " WITH (FORCE)"));
  } catch (const std::exception&) {
    // Best effort: a leftover database in a throwaway cluster is harmless.
  }
}

// The name of the migrated template for this binary's schema: one per set of embedded
// migrations (a hash of their versions and checksums), so a branch with other migrations never
// clones a template made by another.
std::string TemplateName() {
  std::string all;
  for (const storage::Migration& m : storage::EmbeddedMigrations()) {
    absl::StrAppend(&all, m.version, " ", storage::MigrationChecksum(m.sql), "\n");
  }
  return absl::StrCat("regauth_template_", storage::MigrationChecksum(all).substr(0, 16));
}

absl::StatusOr<bool> DatabaseExists(const std::string& admin, const std::string& name) {
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction txn(conn);
    return !txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name).empty();
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "look up test database");
  }
}

// Applies the embedded migrations to database `name` with the store's own code; the store
// (and with it every connection to that database, which CREATE DATABASE ... TEMPLATE and
// ALTER DATABASE ... RENAME require) is gone after.
absl::Status Migrate(const std::string& admin, const std::string& name) {
  absl::StatusOr<std::string> dsn = storage::RewriteConnInfo(admin, {{"dbname", name}}, {});
  if (!dsn.ok()) return dsn.status();
  storage::PostgresOptions options;
  options.dsn = *dsn;
  options.pool_size = 1;
  absl::StatusOr<std::unique_ptr<storage::PostgresRegistryStore>> store =
      storage::PostgresRegistryStore::Create(options);
  if (!store.ok()) return store.status();
  return (*store)->ApplyMigrations();
}

// Makes sure the cluster holds the migrated template `name`. It is built under a unique name
// and renamed when complete, so a concurrent process (or one that died half-way) never exposes
// a half-migrated template; when another process renamed first, ours is dropped.
absl::Status EnsureTemplate(const std::string& admin, const std::string& name) {
  absl::StatusOr<bool> exists = DatabaseExists(admin, name);
  if (!exists.ok()) return exists.status();
  if (*exists) return absl::OkStatus();
  const std::string building = absl::StrCat(UniqueName(), "_building");
  absl::Status created = CreateDatabase(admin, building, "");
  if (!created.ok()) return created;
  absl::Status migrated = Migrate(admin, building);
  if (migrated.ok()) {
    try {
      pqxx::connection conn(admin);
      pqxx::nontransaction txn(conn);
      txn.exec(absl::StrCat("ALTER DATABASE ", txn.quote_name(building), " RENAME TO ",
                            txn.quote_name(name)));
      return absl::OkStatus();
    } catch (const std::exception& e) {
      migrated = storage::StatusFromDbException(e, "rename test template");
    }
  }
  DropDatabase(admin, building);
  exists = DatabaseExists(admin, name);  // another process may have won the race
  if (exists.ok() && *exists) return absl::OkStatus();
  return migrated;
}

// The template is checked (and made when missing) once per process; a failed attempt is
// retried by the next CreateMigrated.
ABSL_CONST_INIT absl::Mutex template_mu(absl::kConstInit);
bool template_ready ABSL_GUARDED_BY(template_mu) = false;

}  // namespace

PgTestDb::Availability PgTestDb::GetAvailability() {
  if (!Env(kDsnEnv).empty()) return Availability::kAvailable;
  return Env(kRequireEnv) == "1" ? Availability::kRequiredButMissing : Availability::kSkip;
}

absl::StatusOr<std::unique_ptr<PgTestDb>> PgTestDb::Create() {
  std::string admin = Env(kDsnEnv);
  if (admin.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kDsnEnv, " is not set"));
  }
  const std::string name = UniqueName();
  absl::StatusOr<std::string> dsn = storage::RewriteConnInfo(admin, {{"dbname", name}}, {});
  if (!dsn.ok()) return dsn.status();
  absl::Status created = CreateDatabase(admin, name, "");
  if (!created.ok()) return created;
  return std::unique_ptr<PgTestDb>(new PgTestDb(std::move(admin), name, *std::move(dsn)));
}

absl::StatusOr<std::unique_ptr<PgTestDb>> PgTestDb::CreateMigrated() {
  std::string admin = Env(kDsnEnv);
  if (admin.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kDsnEnv, " is not set"));
  }
  const std::string template_name = TemplateName();
  {
    absl::MutexLock lock(&template_mu);
    if (!template_ready) {
      absl::Status made = EnsureTemplate(admin, template_name);
      if (!made.ok()) return made;
      template_ready = true;
    }
  }
  const std::string name = UniqueName();
  absl::StatusOr<std::string> dsn = storage::RewriteConnInfo(admin, {{"dbname", name}}, {});
  if (!dsn.ok()) return dsn.status();
  absl::Status created = CreateDatabase(admin, name, template_name);
  if (!created.ok()) return created;
  return std::unique_ptr<PgTestDb>(new PgTestDb(std::move(admin), name, *std::move(dsn)));
}

PgTestDb::~PgTestDb() { DropDatabase(admin_dsn_, name_); }

}  // namespace registryauth::testing
