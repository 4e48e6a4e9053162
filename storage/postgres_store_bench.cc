// Latency of PostgresRegistryStore against a real PostgreSQL (REGAUTH_TEST_PG_DSN; a fresh
// database is created and dropped). Build, then run with the variable set:
//   bazel build //storage:postgres_store_bench
//   REGAUTH_TEST_PG_DSN="$(scripts/pg-cluster.sh dsn DATA_DIR PORT)" \
//     bazel-bin/storage/postgres_store_bench
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "storage/postgres_store.h"
#include "storage/testing/pg_test_db.h"

namespace registryauth::storage {
namespace {

using registryauth::testing::PgTestDb;

struct Env {
  std::unique_ptr<PgTestDb> db;
  std::unique_ptr<PostgresRegistryStore> store;
  std::string error;
};

// One database for the whole run, created on first use.
Env& GetEnv() {
  static Env* env = [] {
    auto* e = new Env;
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    if (!db.ok()) {
      e->error =
          absl::StrCat("no test database (set REGAUTH_TEST_PG_DSN): ", db.status().ToString());
      return e;
    }
    e->db = *std::move(db);
    PostgresOptions options;
    options.dsn = e->db->dsn();
    absl::StatusOr<std::unique_ptr<PostgresRegistryStore>> store =
        PostgresRegistryStore::Create(options);
    if (!store.ok() || !(*store)->ApplyMigrations().ok()) {
      e->error = "cannot set up the store";
      return e;
    }
    e->store = *std::move(store);
    Workspace ws;
    ws.id = "bench";
    ws.create_time = ws.update_time = absl::Now();
    if (!e->store->CreateWorkspace(ws).ok()) e->error = "cannot create workspace";
    std::atexit([] {
      // Drop the database before static destruction tears libpq down.
      GetEnv().store.reset();
      GetEnv().db.reset();
    });
    return e;
  }();
  return *env;
}

RegistryConfig MakeConfig(std::string id) {
  RegistryConfig c;
  c.workspace_id = "bench";
  c.id = std::move(id);
  c.display_name = "GitHub Container Registry";
  c.type = RegistryType::kGhcr;
  c.owner = "acme-inc";
  // About the size of a sealed classic PAT (key id + nonce + 40-byte token + tag, ~100 bytes).
  c.secret_ciphertext.assign(100, '\0');
  for (size_t i = 0; i < c.secret_ciphertext.size(); ++i) {
    c.secret_ciphertext[i] = static_cast<char>((i * 131 + 7) & 0xff);
  }
  c.secret_key_id = 1;
  c.secret_hint =
      "ghp_\xE2\x80\xA6"
      "a1b2";
  c.validation_status = ValidationStatus::kPending;
  c.create_time = c.update_time = absl::Now();
  return c;
}

std::atomic<int64_t> next_id{0};

void BM_CreateRegistryConfig(benchmark::State& state) {
  Env& env = GetEnv();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<RegistryConfig> created =
        env.store->CreateRegistryConfig(MakeConfig(absl::StrCat("c", next_id++)));
    if (!created.ok()) {
      state.SkipWithError("create failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());  // items/s = creates per second, all threads
}
BENCHMARK(BM_CreateRegistryConfig)->UseRealTime();

void BM_GetRegistryConfig(benchmark::State& state) {
  Env& env = GetEnv();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  const std::string id = absl::StrCat("g", next_id++);
  if (!env.store->CreateRegistryConfig(MakeConfig(id)).ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<RegistryConfig> got = env.store->GetRegistryConfig("bench", id);
    if (!got.ok()) {
      state.SkipWithError("get failed");
      break;
    }
    benchmark::DoNotOptimize(got->secret_ciphertext.data());
  }
  state.SetItemsProcessed(state.iterations());  // items/s = gets per second, all threads
}
BENCHMARK(BM_GetRegistryConfig)->UseRealTime();
BENCHMARK(BM_GetRegistryConfig)->UseRealTime()->Threads(4);

}  // namespace
}  // namespace registryauth::storage
