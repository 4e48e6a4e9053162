#include "storage/postgres_token_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/binarystring"
#include "pqxx/connection"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "storage/migrations_pq.h"
#include "storage/postgres_store.h"
#include "storage/testing/pg_test_db.h"
#include "storage/token_store_conformance.h"

namespace registryauth::storage {
namespace {

using registryauth::testing::PgTestDb;
using testing::TokenStoreConformanceTest;
using testing::TokenStoreFactory;
using testing::TokenStoreFactoryName;
using testing::TokenStores;

const absl::Time kT0 = absl::FromUnixMicros(1700000000123456);

// Both stores in their database (destroyed in reverse order: stores, then the database).
struct StoresInDb {
  std::unique_ptr<PgTestDb> db;
  std::unique_ptr<PostgresRegistryStore> registry;
  std::unique_ptr<PostgresTokenStore> tokens;
};

absl::StatusOr<std::shared_ptr<StoresInDb>> MakeStoresInDb() {
  absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
  if (!db.ok()) return db.status();
  auto bundle = std::make_shared<StoresInDb>();
  bundle->db = *std::move(db);
  PostgresOptions options;
  options.dsn = bundle->db->dsn();
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> registry =
      PostgresRegistryStore::Create(options);
  if (!registry.ok()) return registry.status();
  bundle->registry = *std::move(registry);
  absl::Status migrated = bundle->registry->ApplyMigrations();
  if (!migrated.ok()) return migrated;
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> tokens = PostgresTokenStore::Create(options);
  if (!tokens.ok()) return tokens.status();
  bundle->tokens = *std::move(tokens);
  return bundle;
}

void CheckPgAvailable() { REGAUTH_SKIP_WITHOUT_PG(); }

TokenStoreFactory PostgresFactory() {
  TokenStoreFactory factory;
  factory.name = "Postgres";
  factory.check_available = &CheckPgAvailable;
  factory.make_stores = []() -> absl::StatusOr<TokenStores> {
    absl::StatusOr<std::shared_ptr<StoresInDb>> bundle = MakeStoresInDb();
    if (!bundle.ok()) return bundle.status();
    // Aliasing constructors: each pointer keeps the whole bundle alive.
    return TokenStores{std::shared_ptr<RegistryStore>(*bundle, (*bundle)->registry.get()),
                       std::shared_ptr<TokenStore>(*bundle, (*bundle)->tokens.get())};
  };
  factory.cascades = true;
  return factory;
}

INSTANTIATE_TEST_SUITE_P(Postgres, TokenStoreConformanceTest, ::testing::Values(PostgresFactory()),
                         TokenStoreFactoryName);

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

PullToken Pull(std::string id) {
  PullToken t;
  t.id = std::move(id);
  t.workspace_id = "acme";
  t.app_id = "web";
  t.repository = "acme/web";
  t.secret_hash.digest = std::string(32, 'h');
  t.create_time = kT0;
  t.expire_time = kT0 + absl::Hours(1);
  return t;
}

// ---- Without a database

TEST(PostgresTokenStoreTest, CreateRejectsBadOptionsOnly) {
  PostgresOptions options;
  options.dsn = "host=127.0.0.1 password=hunter2 bogus_key=1";
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> store = PostgresTokenStore::Create(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.status().message().find("hunter2"), std::string::npos);
  options.dsn = "host=127.0.0.1";
  options.pool_size = 0;
  EXPECT_EQ(PostgresTokenStore::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PostgresTokenStoreTest, DatabaseDownMeansUnavailableQuickly) {
  PostgresOptions options;
  options.dsn = absl::StrCat("postgresql://postgres:hunter2@127.0.0.1:", ClosedPort(), "/db");
  options.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> store = PostgresTokenStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();  // creating never connects
  const absl::Time start = absl::Now();
  absl::Status failure = (*store)->RecordLoginFailure("account:acme+ci", kT0, {}).status();
  EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
  EXPECT_EQ(failure.message().find("hunter2"), std::string::npos);
  EXPECT_EQ((*store)->GetPullToken(std::string(22, 'a')).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // loose: never hangs
}

// ---- With a database

class PostgresTokenStoreDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::shared_ptr<StoresInDb>> bundle = MakeStoresInDb();
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = *std::move(bundle);
    Workspace ws;
    ws.id = "acme";
    ASSERT_TRUE(bundle_->registry->CreateWorkspace(ws).ok());
  }
  PgTestDb& db() { return *bundle_->db; }
  PostgresTokenStore& tokens() { return *bundle_->tokens; }

  // Another replica: a second store with its own pool on the same database.
  std::unique_ptr<PostgresTokenStore> Replica() {
    PostgresOptions options;
    options.dsn = db().dsn();
    absl::StatusOr<std::unique_ptr<PostgresTokenStore>> store = PostgresTokenStore::Create(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::shared_ptr<StoresInDb> bundle_;
};

// 8 threads x 25 failures on one key, split over two replicas (4 threads each, each thread on
// a connection of its own): the row lock serialises them across processes as well.
TEST_F(PostgresTokenStoreDbTest, ReplicasShareTheThrottleWithoutLosingFailures) {
  std::unique_ptr<PostgresTokenStore> replica = Replica();
  ASSERT_NE(replica, nullptr);
  TokenStore* stores[] = {&tokens(), replica.get()};
  ThrottlePolicy policy;
  policy.window = absl::Hours(1);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {  // all at one instant: one window
        absl::StatusOr<ThrottleState> s =
            stores[t % 2]->RecordLoginFailure("account:acme+ci", kT0, policy);
        if (!s.ok()) {
          ADD_FAILURE() << s.status();
          ++errors;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  absl::StatusOr<ThrottleState> state = replica->GetThrottleState("account:acme+ci");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->failures, 200);
  EXPECT_EQ(state->window_start, kT0);
}

// Of several replicas revoking one token at once, exactly one revokes it.
TEST_F(PostgresTokenStoreDbTest, ConcurrentRevokesRevokeOnce) {
  std::unique_ptr<PostgresTokenStore> replica = Replica();
  ASSERT_NE(replica, nullptr);
  ASSERT_TRUE(tokens().CreatePullToken(Pull(std::string(22, 'a'))).ok());
  TokenStore* stores[] = {&tokens(), replica.get()};
  std::atomic<int> revoked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<bool> r =
          stores[t % 2]->RevokePullToken(std::string(22, 'a'), kT0 + absl::Seconds(t));
      ASSERT_TRUE(r.ok()) << r.status();
      if (*r) ++revoked;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(revoked.load(), 1);
}

// The grants CHECK holds for writers that bypass the store too.
TEST_F(PostgresTokenStoreDbTest, SchemaRefusesMalformedGrants) {
  pqxx::connection conn(db().dsn());
  pqxx::nontransaction txn(conn);
  const std::string insert =
      "INSERT INTO service_accounts (workspace_id, id, grants, secret_hash, secret_hash_key_id,"
      " secret_rotate_time, create_time, update_time, version)"
      " VALUES ('acme', $1, $2::jsonb, $3, 1, now(), now(), now(), 1)";
  const pqxx::binarystring hash(std::string(32, 'h'));
  const char* refused[] = {
      R"({"repository_pattern": "acme/*", "actions": ["pull"]})",
      R"([{"repository_pattern": "acme/*", "actions": ["pull"], "extra": 1}])",
      R"([{"repository_pattern": "acme/*", "actions": "pull"}])",
      R"([{"repository_pattern": ["acme/*"], "actions": ["pull"]}])",
      R"([{"repository_pattern": "acme/*", "actions": [1]}])",
      R"([{"repository_pattern": "acme/*"}])",
      R"(["acme/*"])",
      R"(null)",
  };
  int n = 0;
  for (const char* grants : refused) {
    SCOPED_TRACE(grants);
    EXPECT_THROW(txn.exec_params(insert, absl::StrCat("sa", n++), grants, hash),
                 pqxx::check_violation);
  }
  txn.exec_params(insert, "ok", R"([{"repository_pattern": "acme/*", "actions": ["pull", "*"]}])",
                  hash);
  absl::StatusOr<ServiceAccount> got = tokens().GetServiceAccount("acme", "ok");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->grants.size(), 1u);
  EXPECT_EQ(got->grants[0].repository_pattern, "acme/*");
  EXPECT_EQ(got->grants[0].actions, (std::vector<std::string>{"pull", "*"}));
  EXPECT_THROW(txn.exec_params(insert, "short", "[]", pqxx::binarystring(std::string(31, 'h'))),
               pqxx::check_violation);
}

TEST(PostgresTokenMigrationTest, TokensApplyOnTopOfAVersion2Database) {
  REGAUTH_SKIP_WITHOUT_PG();
  absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::vector<Migration>& embedded = EmbeddedMigrations();
  ASSERT_GE(embedded.size(), 3u);
  ASSERT_EQ(embedded[2].version, 3);
  ASSERT_EQ(embedded[2].name, "tokens");
  {
    pqxx::connection conn((*db)->dsn());
    absl::Status v2 = ApplyMigrations(conn, {embedded[0], embedded[1]});
    ASSERT_TRUE(v2.ok()) << v2;
    pqxx::nontransaction txn(conn);
    txn.exec(
        "INSERT INTO workspaces (id, display_name, create_time, update_time, version)"
        " VALUES ('acme', 'Acme', now(), now(), 3)");
    EXPECT_TRUE(txn.exec("SELECT to_regclass('service_accounts')")[0][0].is_null());
  }
  PostgresOptions options;
  options.dsn = (*db)->dsn();
  absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> registry =
      PostgresRegistryStore::Create(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::Status migrated = (*registry)->ApplyMigrations();
  ASSERT_TRUE(migrated.ok()) << migrated;
  absl::StatusOr<std::unique_ptr<PostgresTokenStore>> tokens = PostgresTokenStore::Create(options);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  // The old workspace takes tokens; deleting it (without force: it has no apps) takes them along.
  ASSERT_TRUE((*tokens)->CreatePullToken(Pull(std::string(22, 'b'))).ok());
  ASSERT_TRUE((*registry)->DeleteWorkspace("acme", 3, /*force=*/false).ok());
  EXPECT_EQ((*tokens)->GetPullToken(std::string(22, 'b')).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace registryauth::storage
