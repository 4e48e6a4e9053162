// The conformance suite of RegistryStore: the executable specification of
// storage/registry_store.h, run against every implementation.
//
// Each test gets a fresh, empty store from the backend's factory. Besides the interface
// comment, the suite pins down what both stores promise beyond it:
// - times are kept with microsecond precision (finer parts are truncated toward the past) and
//   infinite times round-trip; binary ciphertext (NUL bytes included) round-trips exactly;
// - configs that lose is_default get version+1 and the new default's update_time;
// - ids follow the resource-id rule, member user ids, roles and statuses and audit field
//   lengths follow the schema (storage/migrations/), else INVALID_ARGUMENT naming the
//   constraint;
// - List: ordered by id (members by user_id), bytewise, page_size <= 0 means 50, NOT_FOUND for
//   a missing workspace;
// - audit time filters compare exactly against the stored microseconds, whatever the bounds'
//   precision.
//
// A backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Memory, RegistryStoreConformanceTest,
//       ::testing::Values(StoreFactory{"memory", nullptr, [] { return MakeMemoryStore(); }}),
//       StoreFactoryName);
#ifndef REGISTRY_AUTH_STORAGE_STORE_CONFORMANCE_H_
#define REGISTRY_AUTH_STORAGE_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/registry_store.h"

namespace registryauth::storage::testing {

struct StoreFactory {
  std::string name;  // test-name suffix: letters, digits, underscores
  // Optional. Runs first in SetUp and may GTEST_SKIP() or FAIL() (e.g. REGAUTH_SKIP_WITHOUT_PG
  // for a backend that needs a database).
  void (*check_available)() = nullptr;
  // A fresh, empty store. The shared_ptr may own more than the store (e.g. its database).
  std::function<absl::StatusOr<std::shared_ptr<RegistryStore>>()> make_store;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

class RegistryStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  RegistryStore& store() { return *store_; }

 private:
  std::shared_ptr<RegistryStore> store_;
};

}  // namespace registryauth::storage::testing

#endif  // REGISTRY_AUTH_STORAGE_STORE_CONFORMANCE_H_
