#include "tests/testing/pg_test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "storage/conninfo.h"
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
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction txn(conn);
    txn.exec(absl::StrCat("CREATE DATABASE ", txn.quote_name(name)));
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "create test database");
  }
  return std::unique_ptr<PgTestDb>(new PgTestDb(std::move(admin), name, *std::move(dsn)));
}

PgTestDb::~PgTestDb() {
  try {
    pqxx::connection conn(admin_dsn_);
    pqxx::nontransaction txn(conn);
    txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", txn.quote_name(name_), " WITH (FORCE)"));
  } catch (const std::exception&) {
    // Best effort: a leftover database in a throwaway cluster is harmless.
  }
}

}  // namespace registryauth::testing
