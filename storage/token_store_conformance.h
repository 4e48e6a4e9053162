// The conformance suite of TokenStore: the executable specification of storage/token_store.h,
// run against every implementation.
//
// Each test gets a fresh, empty pair of stores from the backend's factory: a RegistryStore for
// the workspaces, and the TokenStore under test, which sees those workspaces. Besides the
// interface comment, the suite pins down what both stores promise beyond it:
// - times keep microseconds (finer parts are truncated toward the past); infinite times
//   round-trip; secret hashes (binary, NUL bytes included) and grants round-trip exactly;
// - the constraints of storage/migrations/0003_tokens.sql are INVALID_ARGUMENT naming the
//   constraint (never INTERNAL), and so is text that is not valid UTF-8; such text never
//   matches on reads (NOT_FOUND, a zero throttle state);
// - token lists are newest first, equal create times by id descending, and NOT_FOUND for a
//   missing workspace; service accounts list by id, bytewise, with ListOptions paging;
// - Touch* never moves last_used_time back; Revoke* never changes a revoke_time already set;
// - no error message contains a secret hash;
// - RecordLoginFailure loses no failure under concurrency (8 threads x 25 on one key);
// - when the factory says so (`cascades`), deleting a workspace through the RegistryStore
//   (force) deletes its service accounts and tokens, and nothing else.
//
// A backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Memory, TokenStoreConformanceTest,
//       ::testing::Values(TokenStoreFactory{"InMemory", nullptr, MakeMemoryStores, false}),
//       TokenStoreFactoryName);
#ifndef REGISTRY_AUTH_STORAGE_TOKEN_STORE_CONFORMANCE_H_
#define REGISTRY_AUTH_STORAGE_TOKEN_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::storage::testing {

// A token store and the registry store that holds its workspaces. The shared_ptrs may own more
// than the stores (e.g. their database).
struct TokenStores {
  std::shared_ptr<RegistryStore> registry;
  std::shared_ptr<TokenStore> tokens;
};

struct TokenStoreFactory {
  std::string name;  // test-name suffix: letters, digits, underscores
  // Optional. Runs first in SetUp and may GTEST_SKIP() or FAIL().
  void (*check_available)() = nullptr;
  // Fresh, empty stores.
  std::function<absl::StatusOr<TokenStores>()> make_stores;
  // Whether deleting a workspace deletes its service accounts and tokens.
  bool cascades = false;
};

std::string TokenStoreFactoryName(const ::testing::TestParamInfo<TokenStoreFactory>& info);

inline void PrintTo(const TokenStoreFactory& factory, std::ostream* os) { *os << factory.name; }

class TokenStoreConformanceTest : public ::testing::TestWithParam<TokenStoreFactory> {
 protected:
  void SetUp() override;
  RegistryStore& registry() { return *stores_.registry; }
  TokenStore& tokens() { return *stores_.tokens; }

 private:
  TokenStores stores_;
};

}  // namespace registryauth::storage::testing

#endif  // REGISTRY_AUTH_STORAGE_TOKEN_STORE_CONFORMANCE_H_
