// `registry-authd migrate`, run in-process through the subcommand dispatch against a real
// PostgreSQL database (REGAUTH_TEST_PG_DSN; skips without it, fails with REGAUTH_REQUIRE_PG=1).
#include "server/migrate_cli.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/keys_cli.h"
#include "server/subcommand_test_util.h"
#include "storage/migrations.h"
#include "storage/testing/pg_test_db.h"
#include "storage/testing/sql_probe.h"

namespace registryauth::server {
namespace {

using ::registryauth::testing::ExecuteSql;
using ::registryauth::testing::PgTestDb;

constexpr char kCanaryPassword[] = "MigrateCanaryPw-7f3a9c";

using Result = SubcommandResult;

Result RunMigrate(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return RunSubcommandForTest(args, std::move(env));
}

int64_t NewestEmbeddedVersion() { return storage::EmbeddedMigrations().back().version; }

class MigrateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  int64_t CountApplied() {
    absl::StatusOr<std::string> count =
        ExecuteSql(db_->dsn(), "SELECT count(*) FROM schema_migrations");
    EXPECT_TRUE(count.ok()) << count.status();
    return count.ok() ? std::stoll(*count) : -1;
  }

  std::unique_ptr<PgTestDb> db_;
};

TEST_F(MigrateCliTest, AppliesEveryMigrationThenNothingTheSecondTime) {
  ASSERT_TRUE(IsSubcommand("migrate"));
  Result first = RunMigrate({"migrate", "--database_url=" + db_->dsn()});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string version = absl::StrCat("schema at version ", NewestEmbeddedVersion(), " (");
  EXPECT_TRUE(absl::StartsWith(first.out, version)) << first.out;
  EXPECT_TRUE(absl::StrContains(
      first.out,
      absl::StrCat("applied ", storage::EmbeddedMigrations().size(), " migration(s): 0001_")))
      << first.out;
  EXPECT_EQ(CountApplied(), static_cast<int64_t>(storage::EmbeddedMigrations().size()));

  Result second = RunMigrate({"migrate", "--database_url=" + db_->dsn()});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_TRUE(absl::StartsWith(second.out, version)) << second.out;
  EXPECT_TRUE(absl::StrContains(second.out, "nothing to apply")) << second.out;
  EXPECT_EQ(CountApplied(), static_cast<int64_t>(storage::EmbeddedMigrations().size()));
  EXPECT_EQ(second.err, "");
}

TEST_F(MigrateCliTest, ReadsTheDsnFromTheEnvironmentAndNeverPrintsIt) {
  Result r = RunMigrate({"migrate"}, {{"REGAUTH_DATABASE_URL", db_->dsn()}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out + r.err, db_->dsn()));
  EXPECT_FALSE(absl::StrContains(r.out + r.err, "password"));
}

TEST_F(MigrateCliTest, AppliesOnlyWhatIsMissing) {
  // A database an older release migrated: the newest migration is not there yet.
  std::vector<storage::Migration> older = storage::EmbeddedMigrations();
  older.pop_back();
  {
    absl::StatusOr<storage::MigrationReport> report = storage::ApplyMigrations(db_->dsn(), older);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_TRUE(report->status.ok()) << report->status;
  }
  const storage::Migration& last = storage::EmbeddedMigrations().back();
  Result r = RunMigrate({"migrate", "--database_url=" + db_->dsn()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "applied 1 migration(s): ")) << r.out;
  EXPECT_TRUE(absl::EndsWith(r.out, absl::StrCat("_", std::string(last.name), "\n"))) << r.out;
  EXPECT_TRUE(absl::StartsWith(r.out, absl::StrCat("schema at version ", last.version, " (")))
      << r.out;
}

TEST_F(MigrateCliTest, NotesVersionsThisBinaryDoesNotKnow) {
  ASSERT_EQ(RunMigrate({"migrate", "--database_url=" + db_->dsn()}).code, 0);
  ASSERT_TRUE(ExecuteSql(db_->dsn(),
                         "INSERT INTO schema_migrations (version, name, checksum) "
                         "VALUES (9999, 'from_the_future', 'x')")
                  .ok());
  Result r = RunMigrate({"migrate", "--database_url=" + db_->dsn()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "schema at version 9999 (9999_from_the_future)")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "note: the database has migrations up to 9999")) << r.out;
}

TEST_F(MigrateCliTest, ChangedMigrationFailsWithExit1) {
  ASSERT_EQ(RunMigrate({"migrate", "--database_url=" + db_->dsn()}).code, 0);
  ASSERT_TRUE(
      ExecuteSql(db_->dsn(), "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
          .ok());
  Result r = RunMigrate({"migrate", "--database_url=" + db_->dsn()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "migration failed: "));
  EXPECT_TRUE(absl::StrContains(r.err, "checksum mismatch")) << r.err;
  EXPECT_EQ(r.out, "");
}

// A wrong password against the real server, an unreachable server, and DSNs libpq cannot
// parse: exit 1, a message that says what went wrong, and never the password.
TEST_F(MigrateCliTest, BadDsnExits1WithoutPrintingThePassword) {
  const std::string pw = kCanaryPassword;
  struct Case {
    std::string dsn;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // libpq keyword form: the last `password` wins.
      {db_->dsn() + " password=" + pw, "password authentication failed"},
      {"host=127.0.0.1 port=1 dbname=regauth user=regauth connect_timeout=5 password=" + pw,
       "cannot connect to the database"},
      {"postgresql://regauth:" + pw + "@127.0.0.1:1/regauth?connect_timeout=5",
       "cannot connect to the database"},
      {"host=127.0.0.1 password=" + pw + " not-a-keyword", "not a valid libpq connection string"},
      {"host=127.0.0.1 password='" + pw, "not a valid libpq connection string"},
      {"postgresql://regauth:" + pw + "@127.0.0.1:1/regauth?no_such_option=1",
       "not a valid libpq connection string"},
  };
  for (const Case& c : cases) {
    for (bool from_env : {false, true}) {
      Result r = from_env ? RunMigrate({"migrate"}, {{"REGAUTH_DATABASE_URL", c.dsn}})
                          : RunMigrate({"migrate", "--database_url=" + c.dsn});
      EXPECT_EQ(r.code, 1) << c.dsn << "\n" << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, c.expected)) << c.dsn << "\n" << r.err;
      EXPECT_TRUE(absl::StartsWith(r.err, "registry-authd migrate: ")) << r.err;
      EXPECT_FALSE(absl::StrContains(r.out + r.err, pw)) << r.out << r.err;
      EXPECT_FALSE(absl::StrContains(r.out + r.err, "MigrateCanary")) << r.out << r.err;
    }
  }
}

TEST(MigrateCliUsageTest, UsageErrorsExit2) {
  Result none = RunMigrate({"migrate"});
  EXPECT_EQ(none.code, 2);
  EXPECT_TRUE(absl::StrContains(none.err, "database_url: required")) << none.err;
  Result unknown = RunMigrate({"migrate", "--database_url=host=x", "--bogus=1"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(absl::StrContains(unknown.err, "unknown flag --bogus")) << unknown.err;
  Result extra = RunMigrate({"migrate", "now"}, {{"REGAUTH_DATABASE_URL", "host=x"}});
  EXPECT_EQ(extra.code, 2);
  Result help = RunMigrate({"migrate", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(absl::StartsWith(help.out, "usage: registry-authd migrate")) << help.out;
}

}  // namespace
}  // namespace registryauth::server
