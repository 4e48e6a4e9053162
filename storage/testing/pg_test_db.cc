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
  return absl::StrFormat("regauth_t_%d_%d_%08x", static_cast<int>(getpid()), counter++,
                         random());
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

void DropTemplateAtExit();

// The process's migrated template database: made on first use, dropped at exit.
class MigratedTemplate {
 public:
  // Never destroyed: a static destructor could run after OpenSSL's own exit handler, and libpq
  // would then crash dropping the database. DropTemplateAtExit is registered with atexit after
  // the first connection, so it runs before that handler.
  static MigratedTemplate& Get() {
    static MigratedTemplate* const instance = new MigratedTemplate();
    return *instance;
  }

  void Drop() {
    absl::MutexLock lock(&mu_);
    if (!name_.empty()) DropDatabase(admin_, name_);
    name_.clear();
  }

  // The template's name, migrating it on the first call. A failed attempt is retried by the
  // next call.
  absl::StatusOr<std::string> Name(const std::string& admin) {
    absl::MutexLock lock(&mu_);
    if (!name_.empty()) return name_;
    const std::string name = absl::StrCat(UniqueName(), "_template");
    absl::Status created = CreateDatabase(admin, name, "");
    if (!created.ok()) return created;
    absl::Status migrated = Migrate(admin, name);
    if (!migrated.ok()) {
      DropDatabase(admin, name);
      return migrated;
    }
    admin_ = admin;
    name_ = name;
    if (!drop_registered_) drop_registered_ = std::atexit(DropTemplateAtExit) == 0;
    return name_;
  }

 private:
  // Applies the embedded migrations with the store's own code; the store (and with it every
  // connection to the template, which CREATE DATABASE ... TEMPLATE requires) is gone after.
  static absl::Status Migrate(const std::string& admin, const std::string& name) {
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

  absl::Mutex mu_;
  std::string admin_ ABSL_GUARDED_BY(mu_);
  std::string name_ ABSL_GUARDED_BY(mu_);
  bool drop_registered_ ABSL_GUARDED_BY(mu_) = false;
};

void DropTemplateAtExit() { MigratedTemplate::Get().Drop(); }

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
  absl::StatusOr<std::string> template_name = MigratedTemplate::Get().Name(admin);
  if (!template_name.ok()) return template_name.status();
  const std::string name = UniqueName();
  absl::StatusOr<std::string> dsn = storage::RewriteConnInfo(admin, {{"dbname", name}}, {});
  if (!dsn.ok()) return dsn.status();
  absl::Status created = CreateDatabase(admin, name, *template_name);
  if (!created.ok()) return created;
  return std::unique_ptr<PgTestDb>(new PgTestDb(std::move(admin), name, *std::move(dsn)));
}

PgTestDb::~PgTestDb() { DropDatabase(admin_dsn_, name_); }

}  // namespace registryauth::testing
