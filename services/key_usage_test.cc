#include "services/key_usage.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/tokens.h"
#include "storage/memory_store.h"
#include "storage/memory_token_store.h"

namespace registryauth::services {
namespace {

using ::registryauth::crypto::KeyRing;

// A ring holding keys `ids`; `salt` varies the bytes, so equal salts mean equal keys.
std::unique_ptr<KeyRing> Ring(const std::vector<uint32_t>& ids, char salt = 'A') {
  std::vector<std::pair<uint32_t, SecretString>> keys;
  for (uint32_t id : ids) {
    keys.emplace_back(
        id, SecretString(std::string(32, static_cast<char>(salt + static_cast<int>(id)))));
  }
  auto ring = KeyRing::Create(std::move(keys), ids.front());
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

KeyUsage Usage(std::map<uint32_t, KeyUseCount> counts) { return KeyUsage(std::move(counts)); }

TEST(KeyUsageTest, ReadCountsSecretsAndTokenHashesPerKey) {
  storage::InMemoryRegistryStore store;
  storage::InMemoryTokenStore tokens(store);
  Workspace w;
  w.id = "acme";
  w.display_name = "Acme";
  ASSERT_TRUE(store.CreateWorkspace(w).ok());
  for (int i = 0; i < 3; ++i) {
    RegistryConfig c;
    c.workspace_id = "acme";
    c.id = "r" + std::to_string(i);
    c.display_name = c.id;
    c.type = RegistryType::kGhcr;
    c.owner = "acme";
    c.secret_ciphertext = "ciphertext";
    c.secret_key_id = i == 0 ? 1 : 2;
    ASSERT_TRUE(store.CreateRegistryConfig(c).ok());
  }
  ServiceAccount sa;
  sa.uid = "00000000-0000-4000-8000-000000000001";
  sa.workspace_id = "acme";
  sa.id = "builder";
  sa.display_name = "builder";
  sa.secret_hash = {std::string(32, 'h'), 2};
  ASSERT_TRUE(tokens.CreateServiceAccount(sa).ok());

  absl::StatusOr<KeyUsage> usage = KeyUsage::Read(store, tokens);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->counts().size(), 2u);
  EXPECT_EQ(usage->counts().at(1).secrets, 1);
  EXPECT_EQ(usage->counts().at(1).hashes, 0);
  EXPECT_EQ(usage->counts().at(2).secrets, 2);
  EXPECT_EQ(usage->counts().at(2).hashes, 1);
  EXPECT_EQ(usage->counts().at(2).total(), 3);
}

TEST(KeyUsageTest, AKeyIsUnusedOnlyWithNoSecretAndNoHash) {
  KeyUsage usage = Usage({{1, {12, 0}}, {2, {0, 1}}, {3, {0, 0}}});
  absl::Status secrets = usage.CheckUnused(1);
  EXPECT_EQ(secrets.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(secrets.message(), "key 1 still encrypts 12 stored secrets"))
      << secrets;
  absl::Status hashes = usage.CheckUnused(2);
  EXPECT_EQ(hashes.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(hashes.message(), "key 2 still verifies 1 token hashes")) << hashes;
  EXPECT_TRUE(usage.CheckUnused(3).ok());
  EXPECT_TRUE(usage.CheckUnused(4).ok());
}

TEST(KeyUsageTest, ARingMayAddKeysAndDropUnusedOnes) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(KeyUsage::CheckReplacement(*Ring({1, 2}), *Ring({2, 3}),
                                         Usage({{2, {5, 1}}, {3, {0, 0}}}), &warnings)
                  .ok());
  EXPECT_TRUE(warnings.empty());
}

TEST(KeyUsageTest, ARingMayNotDropAKeyInUse) {
  absl::Status status =
      KeyUsage::CheckReplacement(*Ring({1, 2}), *Ring({2}), Usage({{1, {2, 1}}}), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "drops key(s) still in use: 1 (3 secrets)"))
      << status;
}

TEST(KeyUsageTest, AKeyIdNeverComesBackWithOtherBytes) {
  absl::Status status =
      KeyUsage::CheckReplacement(*Ring({1, 2}), *Ring({1, 2}, 'a'), Usage({}), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "key id(s) 1, 2 have different key bytes"))
      << status;
}

TEST(KeyUsageTest, CheckKeyBytesNeedsNoCountsAndRefusesOnlyChangedBytes) {
  EXPECT_TRUE(KeyUsage::CheckKeyBytes(*Ring({1, 2}), *Ring({2, 3})).ok());
  absl::Status status = KeyUsage::CheckKeyBytes(*Ring({1, 2}), *Ring({2, 3}, 'a'));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "key id(s) 2 have different key bytes"))
      << status;
}

TEST(KeyUsageTest, UnreadableCountsRefuseADropAndOnlyWarnOtherwise) {
  const absl::StatusOr<KeyUsage> down = absl::UnavailableError("database down");
  absl::Status drop = KeyUsage::CheckReplacement(*Ring({1, 2}), *Ring({2}), down, nullptr);
  EXPECT_EQ(drop.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(drop.message(), "cannot confirm they are unused: database down"))
      << drop;

  std::vector<std::string> warnings;
  EXPECT_TRUE(KeyUsage::CheckReplacement(*Ring({1}), *Ring({1, 2}), down, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(warnings[0], "cannot count secrets per key (database down)"))
      << warnings[0];
}

TEST(KeyUsageTest, DataUnderKeysInNeitherRingIsAWarningNotARefusal) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(
      KeyUsage::CheckReplacement(*Ring({1}), *Ring({1, 2}), Usage({{7, {4, 0}}}), &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(warnings[0], "cannot be decrypted: 7 (4 secrets)")) << warnings[0];
}

}  // namespace
}  // namespace registryauth::services
