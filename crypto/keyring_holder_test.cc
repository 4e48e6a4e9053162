#include "crypto/keyring_holder.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"

namespace registryauth::crypto {
namespace {

constexpr std::string_view kAd = "registryauth/v1/workspaces/acme/registries/gh#secret";

std::shared_ptr<const KeyRing> Ring(const std::vector<std::uint32_t>& ids, std::uint32_t primary) {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  // Deterministic key bytes per id, so two rings agree on what key N is.
  for (std::uint32_t id : ids)
    keys.emplace_back(id, SecretString(std::string(32, static_cast<char>('a' + id))));
  auto ring = KeyRing::Create(std::move(keys), primary);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? std::shared_ptr<const KeyRing>(*std::move(ring)) : nullptr;
}

TEST(KeyRingHolderTest, EncryptsWithTheCurrentPrimaryAndDecryptsOldCiphertexts) {
  KeyRingHolder holder(Ring({1}, 1));
  absl::StatusOr<std::string> under1 = holder.Encrypt("ghp_one", kAd);
  ASSERT_TRUE(under1.ok()) << under1.status();
  EXPECT_EQ(KeyRing::KeyIdOf(*under1), 1u);

  holder.Set(Ring({1, 2}, 2));
  EXPECT_EQ(holder.Get()->primary_key_id(), 2u);
  absl::StatusOr<std::string> under2 = holder.Encrypt("ghp_two", kAd);
  ASSERT_TRUE(under2.ok()) << under2.status();
  EXPECT_EQ(KeyRing::KeyIdOf(*under2), 2u);
  absl::StatusOr<SecretString> plain = holder.Decrypt(*under1, kAd);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->view(), "ghp_one");

  // Key 1 retired: its ciphertexts no longer decrypt, key 2's still do.
  holder.Set(Ring({2}, 2));
  absl::StatusOr<SecretString> gone = holder.Decrypt(*under1, kAd);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().message(), "decryption failed");
  plain = holder.Decrypt(*under2, kAd);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->view(), "ghp_two");
}

TEST(KeyRingHolderTest, NullIsIgnored) {
  KeyRingHolder holder(Ring({3}, 3));
  holder.Set(nullptr);
  ASSERT_NE(holder.Get(), nullptr);
  EXPECT_EQ(holder.Get()->primary_key_id(), 3u);
  EXPECT_TRUE(holder.Encrypt("x", kAd).ok());
}

TEST(KeyRingHolderTest, SnapshotOutlivesTheSwap) {
  KeyRingHolder holder(Ring({1}, 1));
  std::shared_ptr<const KeyRing> snapshot = holder.Get();
  holder.Set(Ring({2}, 2));
  // A call that took the old ring before the swap can still finish with it.
  absl::StatusOr<std::string> ct = snapshot->Encrypt("in flight", kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(KeyRing::KeyIdOf(*ct), 1u);
  EXPECT_TRUE(snapshot->Decrypt(*ct, kAd).ok());
  EXPECT_FALSE(holder.Decrypt(*ct, kAd).ok());
}

// Readers and writers never fail while the ring is swapped underneath them, as long as every
// ring holds every key that is in use (what ReloadKeys guarantees).
TEST(KeyRingHolderTest, ConcurrentCallsDuringSwapsNeverFail) {
  KeyRingHolder holder(Ring({1, 2, 3}, 1));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string plaintext = "secret-" + std::to_string(t);
      while (!stop.load()) {
        absl::StatusOr<std::string> ct = holder.Encrypt(plaintext, kAd);
        if (!ct.ok()) {
          ++failures;
          continue;
        }
        const std::uint32_t id = KeyRing::KeyIdOf(*ct);
        if (id < 1 || id > 3) ++failures;
        absl::StatusOr<SecretString> pt = holder.Decrypt(*ct, kAd);
        if (!pt.ok() || pt->view() != plaintext) ++failures;
        ++calls;
      }
    });
  }
  // Keep swapping until the readers got plenty of calls in (they may start late).
  for (int i = 0; i < 300 || calls.load() + failures.load() < 2000; ++i) {
    holder.Set(Ring({1, 2, 3}, 1 + i % 3));
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(calls.load(), 0);
}

}  // namespace
}  // namespace registryauth::crypto
