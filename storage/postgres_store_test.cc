#include "storage/postgres_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/connection"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "storage/migrations_pq.h"
#include "storage/store_conformance.h"
#include "storage/testing/pg_test_db.h"

namespace registryauth::storage {
namespace {

using registryauth::testing::PgTestDb;
using testing::RegistryStoreConformanceTest;
using testing::StoreFactory;
using testing::StoreFactoryName;

// The store together with the database it lives in (the store goes first).
struct StoreInDb {
  std::unique_ptr<PgTestDb> db;
  std::unique_ptr<PostgresRegistryStore> store;
};

absl::StatusOr<std::shared_ptr<StoreInDb>> MakeStoreInDb(PostgresOptions options = {}) {
  absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
  if (!db.ok()) return db.status();
  auto bundle = std::make_shared<StoreInDb>();
  bundle->db = *std::move(db);
  options.dsn = bundle->db->dsn();
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
      PostgresRegistryStore::Create(options);
  if (!store.ok()) return store.status();
  bundle->store = *std::move(store);
  absl::Status migrated = bundle->store->ApplyMigrations();
  if (!migrated.ok()) return migrated;
  return bundle;
}

void CheckPgAvailable() { REGAUTH_SKIP_WITHOUT_PG(); }

StoreFactory PostgresFactory() {
  StoreFactory factory;
  factory.name = "Postgres";
  factory.check_available = &CheckPgAvailable;
  factory.make_store = []() -> absl::StatusOr<std::shared_ptr<RegistryStore>> {
    absl::StatusOr<std::shared_ptr<StoreInDb>> bundle = MakeStoreInDb();
    if (!bundle.ok()) return bundle.status();
    // Aliasing constructor: the RegistryStore pointer keeps the whole bundle alive.
    RegistryStore* store = (*bundle)->store.get();
    return std::shared_ptr<RegistryStore>(*bundle, store);
  };
  return factory;
}

INSTANTIATE_TEST_SUITE_P(Postgres, RegistryStoreConformanceTest,
                         ::testing::Values(PostgresFactory()), StoreFactoryName);

// A loopback port with nothing listening (bound, then closed again).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "bind to a loopback port failed";
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// ---- Without a database

TEST(PostgresRegistryStoreTest, CreateRejectsBadOptionsOnly) {
  PostgresOptions options;
  options.dsn = "host=127.0.0.1 port=5432 password=hunter2 bogus_key=1";
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
      PostgresRegistryStore::Create(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.status().message().find("hunter2"), std::string::npos);

  options.dsn = "host=127.0.0.1";
  options.pool_size = 0;
  EXPECT_EQ(PostgresRegistryStore::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PostgresRegistryStoreTest, DatabaseDownMeansUnavailableQuickly) {
  PostgresOptions options;
  options.dsn = absl::StrCat("postgresql://postgres:hunter2@127.0.0.1:", ClosedPort(), "/db");
  options.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
      PostgresRegistryStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();  // creating never connects
  const absl::Time start = absl::Now();
  absl::Status ping = (*store)->Ping();
  EXPECT_EQ(ping.code(), absl::StatusCode::kUnavailable) << ping;
  EXPECT_EQ(ping.message().find("hunter2"), std::string::npos);
  EXPECT_EQ((*store)->GetWorkspace("acme").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->ApplyMigrations().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // loose: never hangs
}

// A read-only standby answers queries but is not ready: Ping is UNAVAILABLE, so readiness
// (server/db_health.h, /readyz) turns NOT_SERVING. Needs a real standby, whose DSN comes from
// REGAUTH_TEST_PG_STANDBY_DSN (`scripts/pg-cluster.sh standby` makes one in about a second);
// skipped without it, and failed without it under REGAUTH_REQUIRE_PG=1 (./test.sh starts one).
TEST(PostgresRegistryStoreTest, StandbyIsNotReady) {
  const char* dsn = std::getenv("REGAUTH_TEST_PG_STANDBY_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    const char* required = std::getenv("REGAUTH_REQUIRE_PG");
    if (required != nullptr && std::string(required) == "1") {
      FAIL() << "REGAUTH_TEST_PG_STANDBY_DSN not set, but REGAUTH_REQUIRE_PG=1";
    }
    GTEST_SKIP() << "REGAUTH_TEST_PG_STANDBY_DSN not set";
  }
  PostgresOptions options;
  options.dsn = dsn;
  options.pool_size = 2;
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
      PostgresRegistryStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int i = 0; i < 2; ++i) {  // The first answer dropped the connection; a new one agrees.
    absl::Status ping = (*store)->Ping();
    EXPECT_EQ(ping.code(), absl::StatusCode::kUnavailable) << ping;
    EXPECT_NE(ping.message().find("read-only standby"), std::string::npos) << ping;
  }
}

// ---- With a database

class PostgresRegistryStoreDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::shared_ptr<StoreInDb>> bundle = MakeStoreInDb();
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = *std::move(bundle);
    Workspace ws;
    ws.id = "acme";
    ASSERT_TRUE(store().CreateWorkspace(ws).ok());
  }
  PostgresRegistryStore& store() { return *bundle_->store; }
  PgTestDb& db() { return *bundle_->db; }

  std::shared_ptr<StoreInDb> bundle_;
};

TEST_F(PostgresRegistryStoreDbTest, ErrorsCarryNoSecretsOrValues) {
  RegistryConfig c;
  c.workspace_id = "acme";
  c.id = "ghcr";
  c.type = RegistryType::kGhcr;
  c.display_name = "display-SENTINEL";
  c.secret_ciphertext = "ciphertext-SENTINEL";
  c.secret_hint = "hint-SENTINEL";
  ASSERT_TRUE(store().CreateRegistryConfig(c).ok());
  absl::Status duplicate = store().CreateRegistryConfig(c).status();
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(duplicate.message().find("SENTINEL"), std::string::npos) << duplicate;

  c.id = "other";
  c.display_name = std::string(300, 'x') + "SENTINEL";
  absl::Status too_long = store().CreateRegistryConfig(c).status();
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("registry_configs_display_name_length"), std::string::npos)
      << too_long;
  EXPECT_EQ(too_long.message().find("SENTINEL"), std::string::npos) << too_long;
}

TEST_F(PostgresRegistryStoreDbTest, RecoversAfterItsConnectionsAreKilled) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store().Ping().ok());
  {
    pqxx::connection admin(db().admin_dsn());
    pqxx::nontransaction txn(admin);
    pqxx::result killed = txn.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND pid <> pg_backend_pid()",
        db().name());
    ASSERT_GE(killed.size(), 1u);
  }
  int failures = 0;
  absl::Status last;
  for (int i = 0; i < 3; ++i) {
    last = store().GetWorkspace("acme").status();
    if (!last.ok()) {
      ++failures;
      EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
    }
  }
  EXPECT_LE(failures, 1);
  EXPECT_TRUE(last.ok()) << last;
}

TEST_F(PostgresRegistryStoreDbTest, SchemaEnforcesOneDefaultPerWorkspace) {
  // Even a writer that bypasses the store cannot create a second default.
  pqxx::connection conn(db().dsn());
  pqxx::nontransaction txn(conn);
  const std::string insert =
      "INSERT INTO registry_configs (workspace_id, id, type, is_default, create_time,"
      " update_time, version) VALUES ('acme', $1, 'GHCR', true, now(), now(), 1)";
  txn.exec_params(insert, "one");
  EXPECT_THROW(txn.exec_params(insert, "two"), pqxx::unique_violation);
}

// The SQLSTATE `sql` fails with when run on its own (autocommit), or "" if it succeeds.
std::string SqlStateOf(const std::string& dsn, const std::string& sql) {
  pqxx::connection conn(dsn);
  pqxx::nontransaction txn(conn);
  try {
    txn.exec(sql);
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate();
  }
  return "";
}

TEST_F(PostgresRegistryStoreDbTest, AuditTableRefusesUpdateDeleteAndTruncate) {
  AuditEvent event;
  event.time = absl::FromUnixMicros(1700000000123456);
  event.caller = "spiffe://cluster.local/ns/platform/sa/frontend";
  event.action = "DeleteRegistryConfig";
  event.resource = "workspaces/acme/registries/gh";
  event.outcome = "OK";
  event.detail = "original";
  absl::StatusOr<AuditEvent> stored = store().AppendAuditEvent(event);
  ASSERT_TRUE(stored.ok()) << stored.status();

  // Even as the table owner (a superuser here), and even for statements that match no row.
  constexpr char kProhibited[] = "2F003";  // prohibited_sql_statement_attempted
  const std::string refused[] = {
      "UPDATE audit_events SET detail = 'forged'",
      absl::StrCat("UPDATE audit_events SET time = now() WHERE id = ", stored->id),
      "UPDATE audit_events SET detail = 'forged' WHERE false",
      "DELETE FROM audit_events",
      absl::StrCat("DELETE FROM audit_events WHERE id = ", stored->id),
      "DELETE FROM audit_events WHERE false",
      "TRUNCATE audit_events",
      "TRUNCATE workspaces, audit_events CASCADE",
  };
  for (const std::string& sql : refused) {
    EXPECT_EQ(SqlStateOf(db().dsn(), sql), kProhibited) << sql;
  }
  // Nor can a writer pick ids (GENERATED ALWAYS): they stay in append order.
  EXPECT_EQ(SqlStateOf(db().dsn(), "INSERT INTO audit_events (id, time) VALUES (1, now())"),
            "428C9");  // generated_always

  absl::StatusOr<Page<AuditEvent>> page = store().ListAuditEvents({}, 0, 0);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, stored->id);
  EXPECT_EQ(page->items[0].detail, "original");
  EXPECT_EQ(page->items[0].time, event.time);
  // The refused TRUNCATE with CASCADE took nothing else with it.
  EXPECT_TRUE(store().GetWorkspace("acme").ok());
}

TEST(PostgresMigrationTest, MembersAndAuditApplyOnTopOfAVersion1Database) {
  REGAUTH_SKIP_WITHOUT_PG();
  absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::vector<Migration>& embedded = EmbeddedMigrations();
  ASSERT_GE(embedded.size(), 2u);
  ASSERT_EQ(embedded[1].version, 2);
  {
    // A database as release 1 left it, with data.
    pqxx::connection conn((*db)->dsn());
    absl::Status v1 = ApplyMigrations(conn, {embedded[0]});
    ASSERT_TRUE(v1.ok()) << v1;
    pqxx::nontransaction txn(conn);
    txn.exec(
        "INSERT INTO workspaces (id, display_name, create_time, update_time, version)"
        " VALUES ('acme', 'Acme', now(), now(), 3)");
    txn.exec(
        "INSERT INTO registry_configs (workspace_id, id, type, secret_ciphertext, secret_key_id,"
        " create_time, update_time, version)"
        " VALUES ('acme', 'ghcr', 'GHCR', '\\x0102'::bytea, 1, now(), now(), 4)");
    EXPECT_TRUE(txn.exec("SELECT to_regclass('audit_events')")[0][0].is_null());
  }

  PostgresOptions options;
  options.dsn = (*db)->dsn();
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
      PostgresRegistryStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status migrated = (*store)->ApplyMigrations();
  ASSERT_TRUE(migrated.ok()) << migrated;
  {
    pqxx::connection conn((*db)->dsn());
    pqxx::nontransaction txn(conn);
    pqxx::result applied =
        txn.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    ASSERT_EQ(applied.size(), embedded.size());
    for (size_t i = 0; i < embedded.size(); ++i) {
      EXPECT_EQ(applied[i][0].as<int64_t>(), embedded[i].version);
      EXPECT_EQ(applied[i][2].as<std::string>(), MigrationChecksum(embedded[i].sql));
    }
  }

  // The old rows are intact and work with the new methods.
  absl::StatusOr<Workspace> acme = (*store)->GetWorkspace("acme");
  ASSERT_TRUE(acme.ok()) << acme.status();
  EXPECT_EQ(acme->version, 3);
  Member owner;
  owner.workspace_id = "acme";
  owner.user_id = "alice";
  owner.role = MemberRole::kOwner;
  ASSERT_TRUE((*store)->CreateMember(owner).ok());
  absl::StatusOr<Page<Workspace>> mine = (*store)->ListWorkspacesOfUser("alice", {});
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_EQ(mine->items.size(), 1u);
  EXPECT_EQ(mine->items[0].id, "acme");
  absl::StatusOr<std::vector<RegistryConfig>> batch = (*store)->ListSecretsNotUnderKey(2, 10);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].secret_ciphertext, std::string("\x01\x02", 2));
  EXPECT_EQ((*batch)[0].version, 4);
  AuditEvent event;
  event.action = "Migrate";
  absl::StatusOr<AuditEvent> appended = (*store)->AppendAuditEvent(event);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_GT(appended->id, 0);
  // Applying again changes nothing.
  migrated = (*store)->ApplyMigrations();
  EXPECT_TRUE(migrated.ok()) << migrated;
}

}  // namespace
}  // namespace registryauth::storage
