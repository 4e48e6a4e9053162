#include "storage/migrations.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/tokens.h"
#include "pqxx/connection"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "storage/migrations_pq.h"
#include "storage/testing/pg_test_db.h"

namespace registryauth::storage {
namespace {

using registryauth::testing::PgTestDb;

TEST(EmbeddedMigrationsTest, AreCompiledInAndOrdered) {
  const std::vector<Migration>& migrations = EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations[0].version, 1);
  EXPECT_EQ(migrations[0].name, "init");
  EXPECT_NE(migrations[0].sql.find("CREATE TABLE workspaces"), std::string_view::npos);
  for (size_t i = 1; i < migrations.size(); ++i) {
    EXPECT_GT(migrations[i].version, migrations[i - 1].version);
  }
}

TEST(EmbeddedMigrationsTest, ChecksumIsSha256Hex) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(MigrationChecksum("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // (version, name, applied_at as text) of every applied migration.
  std::vector<std::string> AppliedRows() {
    pqxx::connection conn(db_->dsn());
    pqxx::nontransaction txn(conn);
    std::vector<std::string> rows;
    for (const pqxx::row& r : txn.exec("SELECT version, name, checksum, applied_at::text"
                                       " FROM schema_migrations ORDER BY version")) {
      rows.push_back(
          absl::StrCat(r[0].c_str(), "|", r[1].c_str(), "|", r[2].c_str(), "|", r[3].c_str()));
    }
    return rows;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_->dsn());
    pqxx::nontransaction txn(conn);
    return txn.exec(sql)[0][0].as<int64_t>();
  }

  std::unique_ptr<PgTestDb> db_;
};

TEST_F(MigrationsTest, FreshDatabaseGetsEveryMigrationOnce) {
  pqxx::connection conn(db_->dsn());
  absl::Status applied = ApplyMigrations(conn);
  ASSERT_TRUE(applied.ok()) << applied;
  std::vector<std::string> rows = AppliedRows();
  ASSERT_EQ(rows.size(), EmbeddedMigrations().size());
  EXPECT_EQ(
      rows[0].rfind(absl::StrCat("1|init|", MigrationChecksum(EmbeddedMigrations()[0].sql)), 0), 0u)
      << rows[0];
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables WHERE table_name IN"
                  " ('workspaces', 'apps', 'registry_configs')"),
            3);

  // Re-applying is a no-op: same rows, same applied_at.
  absl::Status again = ApplyMigrations(conn);
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(AppliedRows(), rows);
}

TEST_F(MigrationsTest, ConcurrentAppliersBothSucceedWithOneSetOfRows) {
  constexpr int kAppliers = 4;
  std::vector<absl::Status> results(kAppliers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAppliers; ++i) {
    threads.emplace_back([this, i, &results] {
      try {
        pqxx::connection conn(db_->dsn());
        results[i] = ApplyMigrations(conn);
      } catch (const std::exception&) {
        results[i] = absl::InternalError("connect failed");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(AppliedRows().size(), EmbeddedMigrations().size());
}

TEST_F(MigrationsTest, ChangedMigrationIsFailedPrecondition) {
  pqxx::connection conn(db_->dsn());
  ASSERT_TRUE(ApplyMigrations(conn).ok());
  {
    pqxx::nontransaction txn(conn);
    txn.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
  }
  absl::Status status = ApplyMigrations(conn);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("1_init"), std::string::npos) << status;
}

TEST_F(MigrationsTest, NewMigrationsApplyInOrderAndFailuresRollBack) {
  pqxx::connection conn(db_->dsn());
  std::vector<Migration> list = EmbeddedMigrations();
  ASSERT_TRUE(ApplyMigrations(conn, list).ok());

  list.push_back({9001, "add_notes",
                  "CREATE TABLE notes (id int PRIMARY KEY);"
                  "INSERT INTO notes VALUES (1);"});
  list.push_back({9002, "broken", "CREATE TABLE half_done (id int); SELECT * FROM no_such;"});
  absl::Status status = ApplyMigrations(conn, list);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_NE(status.message().find("9002_broken"), std::string::npos) << status;
  // 9001 is in; 9002 left nothing behind, not even its first statement.
  EXPECT_EQ(Count("SELECT count(*) FROM notes"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations WHERE version = 9002"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables"
                  " WHERE table_name = 'half_done'"),
            0);
  // Versions out of order are refused before touching the database.
  std::vector<Migration> unordered = {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
  EXPECT_EQ(ApplyMigrations(conn, unordered).code(), absl::StatusCode::kFailedPrecondition);
}

// Schema v9 gives every service account a uid: accounts from before it get one each, distinct,
// in the model's canonical form, and the column refuses a duplicate.
TEST_F(MigrationsTest, AccountsFromBeforeVersion9GetDistinctUids) {
  pqxx::connection conn(db_->dsn());
  std::vector<Migration> list = EmbeddedMigrations();
  std::vector<Migration> up_to_8;
  for (const Migration& m : list) {
    if (m.version <= 8) up_to_8.push_back(m);
  }
  ASSERT_TRUE(ApplyMigrations(conn, up_to_8).ok());
  {
    pqxx::nontransaction txn(conn);
    txn.exec(
        "INSERT INTO workspaces (id, display_name, create_time, update_time, version)"
        " VALUES ('acme', 'Acme', now(), now(), 1)");
    for (const char* id : {"ops", "builder"}) {
      txn.exec(absl::StrCat(
          "INSERT INTO service_accounts (workspace_id, id, secret_hash, secret_hash_key_id,"
          " secret_rotate_time, create_time, update_time, version)"
          " VALUES ('acme', '",
          id, "', decode(repeat('ab', 32), 'hex'), 1, now(), now(), now(), 1)"));
    }
  }
  ASSERT_TRUE(ApplyMigrations(conn, list).ok());
  pqxx::nontransaction txn(conn);
  std::vector<std::string> uids;
  for (const pqxx::row& r : txn.exec("SELECT uid::text FROM service_accounts ORDER BY id")) {
    uids.push_back(r[0].as<std::string>());
  }
  ASSERT_EQ(uids.size(), 2u);
  EXPECT_NE(uids[0], uids[1]);
  for (const std::string& uid : uids) EXPECT_TRUE(IsUid(uid)) << uid;
  EXPECT_THROW(
      txn.exec(absl::StrCat("UPDATE service_accounts SET uid = '", uids[0], "' WHERE id = 'ops'")),
      pqxx::unique_violation);
}

TEST(SchemaVersionTest, LabelIsTheFileName) {
  EXPECT_EQ((SchemaVersion{1, "init"}).Label(), "0001_init");
  EXPECT_EQ((SchemaVersion{12345, "big"}).Label(), "12345_big");
}

// The DSN form: connects itself and reports what it found and did.
TEST_F(MigrationsTest, ReportSaysWhatWasThereAndWhatThisCallApplied) {
  std::vector<Migration> older = EmbeddedMigrations();
  older.pop_back();
  absl::StatusOr<MigrationReport> first = ApplyMigrations(db_->dsn(), older);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->status.ok()) << first->status;
  EXPECT_TRUE(first->before.empty());
  ASSERT_EQ(first->applied.size(), older.size());
  EXPECT_EQ(first->applied[0], (SchemaVersion{1, "init"}));
  EXPECT_EQ(first->after, first->applied);

  absl::StatusOr<MigrationReport> second = ApplyMigrations(db_->dsn());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->status.ok()) << second->status;
  EXPECT_EQ(second->before, first->after);
  const Migration& last = EmbeddedMigrations().back();
  EXPECT_EQ(second->applied, (std::vector<SchemaVersion>{{last.version, std::string(last.name)}}));
  EXPECT_EQ(second->after.size(), EmbeddedMigrations().size());

  absl::StatusOr<MigrationReport> third = ApplyMigrations(db_->dsn());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->applied.empty());
  EXPECT_EQ(third->before, third->after);
}

TEST_F(MigrationsTest, ReportKeepsWhatGotInBeforeAFailure) {
  std::vector<Migration> list = EmbeddedMigrations();
  list.push_back({9001, "add_notes", "CREATE TABLE notes (id int PRIMARY KEY);"});
  list.push_back({9002, "broken", "SELECT * FROM no_such;"});
  absl::StatusOr<MigrationReport> report = ApplyMigrations(db_->dsn(), list);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->status.code(), absl::StatusCode::kInternal) << report->status;
  ASSERT_EQ(report->applied.size(), EmbeddedMigrations().size() + 1);
  EXPECT_EQ(report->applied.back(), (SchemaVersion{9001, "add_notes"}));
  EXPECT_EQ(report->after, report->applied);
}

TEST(MigrationsConnectTest, UnreachableDatabaseIsUnavailableWithoutThePassword) {
  absl::StatusOr<MigrationReport> report =
      ApplyMigrations("host=127.0.0.1 port=1 connect_timeout=5 password=Canary-3b1d");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(report.status().message().find("cannot connect to the database: "), std::string::npos)
      << report.status();
  EXPECT_EQ(report.status().message().find("Canary-3b1d"), std::string::npos);
}

}  // namespace
}  // namespace registryauth::storage
