// A throwaway PostgreSQL database per test, for tests of storage/ and anything above it.
//
// The cluster comes from the environment: REGAUTH_TEST_PG_DSN is an admin DSN (may create and
// drop databases) of a disposable cluster, e.g. one started with scripts/pg-cluster.sh. Without
// it, tests that need Postgres skip, unless REGAUTH_REQUIRE_PG=1, which makes them fail (CI).
// Bazel passes neither by default: use --test_env=REGAUTH_TEST_PG_DSN=... --test_env=...
//
//   REGAUTH_SKIP_WITHOUT_PG();  // first line of the test (or of SetUp)
//   absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
//   ASSERT_TRUE(db.ok()) << db.status();  // then connect to (*db)->dsn()
//
// Each PgTestDb creates a uniquely named database (regauth_t_<pid>_<n>_<random>) and drops it
// (WITH FORCE) when destroyed: empty from Create(), with the whole schema from
// CreateMigrated(), which clones a template database migrated once for the cluster and schema
// (regauth_template_<hash of the embedded migrations>), so no test migrates its own database.
// The template stays in the (disposable) cluster for the next test process. Thread-compatible;
// Create and CreateMigrated are thread-safe. The library is testonly; it lives in storage/
// because it speaks libpqxx, which nothing outside storage/ includes.
#ifndef REGISTRY_AUTH_STORAGE_TESTING_PG_TEST_DB_H_
#define REGISTRY_AUTH_STORAGE_TESTING_PG_TEST_DB_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace registryauth::testing {

class PgTestDb {
 public:
  static constexpr char kDsnEnv[] = "REGAUTH_TEST_PG_DSN";
  static constexpr char kRequireEnv[] = "REGAUTH_REQUIRE_PG";

  enum class Availability {
    kAvailable,           // REGAUTH_TEST_PG_DSN is set
    kSkip,                // not set: tests skip
    kRequiredButMissing,  // not set but REGAUTH_REQUIRE_PG=1: tests fail
  };
  static Availability GetAvailability();

  // A fresh database on the cluster of REGAUTH_TEST_PG_DSN. FAILED_PRECONDITION when the
  // variable is unset, UNAVAILABLE when the cluster cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgTestDb>> Create();
  // A fresh database with every embedded migration applied: `CREATE DATABASE ... TEMPLATE` of
  // the cluster's migrated template for this schema, made (built under a unique name, then
  // renamed, so concurrent test processes never see half of it) when missing. Same errors as
  // Create, plus the migration's.
  static absl::StatusOr<std::unique_ptr<PgTestDb>> CreateMigrated();

  PgTestDb(const PgTestDb&) = delete;
  PgTestDb& operator=(const PgTestDb&) = delete;
  ~PgTestDb();  // drops the database, ignoring errors

  // DSN of the new database (keyword/value form, same credentials as the admin DSN).
  const std::string& dsn() const { return dsn_; }
  // The admin DSN from the environment (its own database, e.g. `postgres`).
  const std::string& admin_dsn() const { return admin_dsn_; }
  const std::string& name() const { return name_; }

 private:
  PgTestDb(std::string admin_dsn, std::string name, std::string dsn)
      : admin_dsn_(std::move(admin_dsn)), name_(std::move(name)), dsn_(std::move(dsn)) {}

  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

}  // namespace registryauth::testing

// Skips the current test when no test cluster is configured, or fails it when one is required
// (REGAUTH_REQUIRE_PG=1). Use in a TEST body or in SetUp().
#define REGAUTH_SKIP_WITHOUT_PG()                                                             \
  do {                                                                                        \
    switch (::registryauth::testing::PgTestDb::GetAvailability()) {                           \
      case ::registryauth::testing::PgTestDb::Availability::kAvailable:                       \
        break;                                                                                \
      case ::registryauth::testing::PgTestDb::Availability::kSkip:                            \
        GTEST_SKIP() << "PostgreSQL tests skipped: set REGAUTH_TEST_PG_DSN (bazel test "      \
                        "--test_env=REGAUTH_TEST_PG_DSN=...) to an admin DSN of a throwaway " \
                        "cluster, e.g. from scripts/pg-cluster.sh";                           \
      case ::registryauth::testing::PgTestDb::Availability::kRequiredButMissing:              \
        FAIL() << "REGAUTH_REQUIRE_PG=1 but REGAUTH_TEST_PG_DSN is not set";                  \
    }                                                                                         \
  } while (false)

#endif  // REGISTRY_AUTH_STORAGE_TESTING_PG_TEST_DB_H_
