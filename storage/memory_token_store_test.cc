#include "storage/memory_token_store.h"

#include <memory>

#include "gtest/gtest.h"
#include "storage/memory_store.h"
#include "storage/token_store_conformance.h"

namespace registryauth::storage {
namespace {

using testing::TokenStoreConformanceTest;
using testing::TokenStoreFactory;
using testing::TokenStoreFactoryName;
using testing::TokenStores;

// Both stores in one allocation; the token store goes first.
struct MemoryStores {
  InMemoryRegistryStore registry;
  InMemoryTokenStore tokens{registry};
};

TokenStoreFactory MemoryFactory() {
  TokenStoreFactory factory;
  factory.name = "InMemory";
  factory.make_stores = []() -> absl::StatusOr<TokenStores> {
    auto bundle = std::make_shared<MemoryStores>();
    // Aliasing constructors: each pointer keeps the whole bundle alive.
    return TokenStores{std::shared_ptr<RegistryStore>(bundle, &bundle->registry),
                       std::shared_ptr<TokenStore>(bundle, &bundle->tokens)};
  };
  factory.cascades = false;  // see memory_token_store.h
  return factory;
}

INSTANTIATE_TEST_SUITE_P(InMemory, TokenStoreConformanceTest, ::testing::Values(MemoryFactory()),
                         TokenStoreFactoryName);

// Behaviour specific to the fake (everything shared is in the conformance suite).

ServiceAccount Account(std::string ws, std::string id) {
  ServiceAccount a;
  a.uid = "00000000-0000-4000-8000-000000000001";
  a.workspace_id = std::move(ws);
  a.id = std::move(id);
  a.secret_hash.digest = std::string(32, 'h');
  return a;
}

TEST(InMemoryTokenStoreTest, RowsOutliveTheirWorkspace) {
  InMemoryRegistryStore registry;
  InMemoryTokenStore tokens(registry);
  Workspace ws;
  ws.id = "acme";
  ASSERT_TRUE(registry.CreateWorkspace(ws).ok());
  ASSERT_TRUE(tokens.CreateServiceAccount(Account("acme", "builder")).ok());
  ASSERT_TRUE(registry.DeleteWorkspace("acme", 0, true).ok());
  // No cascade: the row is still there, but the workspace's lists and creates say NOT_FOUND.
  EXPECT_TRUE(tokens.GetServiceAccount("acme", "builder").ok());
  EXPECT_EQ(tokens.ListServiceAccounts("acme", {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tokens.CreateServiceAccount(Account("acme", "other")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(InMemoryTokenStoreTest, StoresAreIndependent) {
  InMemoryRegistryStore registry;
  InMemoryTokenStore a(registry);
  InMemoryTokenStore b(registry);
  ASSERT_TRUE(a.RecordLoginFailure("k", absl::UnixEpoch(), {}).ok());
  absl::StatusOr<ThrottleState> in_b = b.GetThrottleState("k");
  ASSERT_TRUE(in_b.ok());
  EXPECT_EQ(in_b->failures, 0);
}

}  // namespace
}  // namespace registryauth::storage
