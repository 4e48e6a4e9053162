#include "storage/memory_store.h"

#include <memory>

#include "gtest/gtest.h"
#include "storage/store_conformance.h"

namespace registryauth::storage {
namespace {

using testing::RegistryStoreConformanceTest;
using testing::StoreFactory;
using testing::StoreFactoryName;

StoreFactory MemoryFactory() {
  StoreFactory factory;
  factory.name = "InMemory";
  factory.make_store = []() -> absl::StatusOr<std::shared_ptr<RegistryStore>> {
    return std::make_shared<InMemoryRegistryStore>();
  };
  return factory;
}

INSTANTIATE_TEST_SUITE_P(InMemory, RegistryStoreConformanceTest, ::testing::Values(MemoryFactory()),
                         StoreFactoryName);

// Behaviour specific to the fake (everything shared is in the conformance suite).
TEST(InMemoryRegistryStoreTest, StoresAreIndependent) {
  InMemoryRegistryStore a;
  InMemoryRegistryStore b;
  Workspace ws;
  ws.id = "acme";
  ASSERT_TRUE(a.CreateWorkspace(ws).ok());
  EXPECT_TRUE(a.GetWorkspace("acme").ok());
  EXPECT_EQ(b.GetWorkspace("acme").status().code(), absl::StatusCode::kNotFound);
}

TEST(InMemoryRegistryStoreTest, DisplayNameLimitCountsCharactersNotBytes) {
  InMemoryRegistryStore store;
  Workspace ws;
  ws.id = "acme";
  ws.display_name.clear();
  for (int i = 0; i < 256; ++i) ws.display_name += "\xC3\xBC";  // 256 characters, 512 bytes
  EXPECT_TRUE(store.CreateWorkspace(ws).ok());
  ws.id = "beta";
  ws.display_name += "x";
  EXPECT_EQ(store.CreateWorkspace(ws).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace registryauth::storage
