#include "services/secret_reencryption.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "services/registry_service.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

using ::registryauth::crypto::KeyRing;

// A ring holding keys `ids` (deterministic bytes per id, so rings agree on key N).
std::unique_ptr<KeyRing> Ring(const std::vector<uint32_t>& ids, uint32_t primary) {
  std::vector<std::pair<uint32_t, SecretString>> keys;
  for (uint32_t id : ids)
    keys.emplace_back(id, SecretString(std::string(32, static_cast<char>('A' + id))));
  auto ring = KeyRing::Create(std::move(keys), primary);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

std::string Plaintext(std::string_view id) { return "ghp_secret_of_" + std::string(id); }

class ReencryptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Workspace w;
    w.id = "acme";
    w.display_name = "Acme";
    ASSERT_TRUE(store_.CreateWorkspace(w).ok());
  }

  // Stores registry config `id` with its secret encrypted under key `key_id` (with the
  // associated data the service uses, of version `ad_version`).
  void AddRow(std::string_view id, uint32_t key_id, uint32_t ad_version = kSecretAdVersionCurrent) {
    std::unique_ptr<KeyRing> ring = Ring({key_id}, key_id);
    RegistryConfig c = Config(id, "", key_id, ad_version);
    absl::StatusOr<std::string> ct =
        ring->Encrypt(Plaintext(id), *RegistryService::SecretAssociatedData(c));
    ASSERT_TRUE(ct.ok());
    AddRaw(id, *ct, key_id, ad_version);
  }

  void AddRaw(std::string_view id, std::string ciphertext, uint32_t key_id,
              uint32_t ad_version = kSecretAdVersionCurrent) {
    ASSERT_TRUE(
        store_.CreateRegistryConfig(Config(id, std::move(ciphertext), key_id, ad_version)).ok());
  }

  static RegistryConfig Config(std::string_view id, std::string ciphertext, uint32_t key_id,
                               uint32_t ad_version) {
    RegistryConfig c;
    c.workspace_id = "acme";
    c.id = std::string(id);
    c.display_name = std::string(id);
    c.type = RegistryType::kGhcr;
    c.owner = "acme";
    c.secret_ciphertext = std::move(ciphertext);
    c.secret_key_id = key_id;
    c.secret_ad_version = ad_version;
    c.secret_hint = "ghp_…";
    c.create_time = c.update_time = absl::FromUnixSeconds(1700000000);
    return c;
  }

  RegistryConfig Row(std::string_view id) { return *store_.GetRegistryConfig("acme", id); }

  std::string Decrypt(const KeyRing& ring, const RegistryConfig& row) {
    absl::StatusOr<std::string> ad = RegistryService::SecretAssociatedData(row);
    if (!ad.ok()) return "<does not decrypt>";
    absl::StatusOr<SecretString> pt = ring.Decrypt(row.secret_ciphertext, *ad);
    return pt.ok() ? std::string(pt->view()) : "<does not decrypt>";
  }

  std::map<uint32_t, int64_t> Counts() { return *store_.CountSecretsByKeyId(); }

  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
};

TEST_F(ReencryptionTest, MovesEverySecretToThePrimaryKeepingPlaintextAndVersion) {
  for (int i = 0; i < 7; ++i) AddRow(absl::StrCat("a", i), i % 2 == 0 ? 1 : 2);
  AddRow("current", 3);
  RegistryConfig no_secret;
  no_secret.workspace_id = "acme";
  no_secret.id = "plain";
  no_secret.type = RegistryType::kGhcr;
  ASSERT_TRUE(store_.CreateRegistryConfig(no_secret).ok());
  const RegistryConfig current_before = Row("current");
  const RegistryConfig a0_before = Row("a0");

  std::unique_ptr<KeyRing> ring = Ring({1, 2, 3}, 3);
  std::vector<int64_t> progress;
  ReencryptionReport r = ReencryptSecrets(
      store_, *ring, {/*batch_size=*/3, /*max_rows=*/0},
      [&](const ReencryptionReport& so_far) { progress.push_back(so_far.rewritten); });
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.rewritten, 7);
  EXPECT_EQ(r.raced, 0);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_TRUE(r.skipped_rows.empty());
  // Batches of 3, then the empty batch that ends the loop.
  EXPECT_EQ(progress, (std::vector<int64_t>{3, 6, 7, 7}));
  EXPECT_EQ(r.batches, 4);
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{3, 8}}));

  std::unique_ptr<KeyRing> only3 = Ring({3}, 3);
  for (int i = 0; i < 7; ++i) {
    const RegistryConfig row = Row(absl::StrCat("a", i));
    EXPECT_EQ(row.secret_key_id, 3u);
    EXPECT_EQ(KeyRing::KeyIdOf(row.secret_ciphertext), 3u);
    EXPECT_EQ(Decrypt(*only3, row), Plaintext(row.id));
  }
  const RegistryConfig a0_after = Row("a0");
  EXPECT_EQ(a0_after.version, a0_before.version);
  EXPECT_EQ(a0_after.update_time, a0_before.update_time);
  EXPECT_EQ(Row("current").secret_ciphertext, current_before.secret_ciphertext);  // untouched
  EXPECT_TRUE(Row("plain").secret_ciphertext.empty());

  // Running again finds nothing to do.
  r = ReencryptSecrets(store_, *ring, {});
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.rewritten + r.raced + r.skipped, 0);
}

// Issue 17: rows written before the endpoint binding (associated-data version 1) are moved to
// the current version even when they are under the primary already; afterwards their
// ciphertext decrypts only while the row names the endpoint it was stored for, and never again
// under the old associated data.
TEST_F(ReencryptionTest, RowsUnderTheOldAssociatedDataAreMigratedAndThenBound) {
  AddRow("legacy", 2, /*ad_version=*/1);
  AddRow("current", 2);
  const RegistryConfig current_before = Row("current");
  std::unique_ptr<KeyRing> ring = Ring({2}, 2);
  EXPECT_EQ(Decrypt(*ring, Row("legacy")), Plaintext("legacy"));  // v1 rows keep working

  ReencryptionReport r = ReencryptSecrets(store_, *ring, {});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.rewritten, 1);
  RegistryConfig legacy = Row("legacy");
  EXPECT_EQ(legacy.secret_ad_version, kSecretAdVersionCurrent);
  EXPECT_EQ(legacy.secret_key_id, 2u);
  EXPECT_EQ(Decrypt(*ring, legacy), Plaintext("legacy"));
  EXPECT_EQ(Row("current").secret_ciphertext, current_before.secret_ciphertext);

  // Bound to its endpoint now: another owner, or the old version's associated data, fail.
  RegistryConfig moved = legacy;
  moved.owner = "attacker";
  EXPECT_EQ(Decrypt(*ring, moved), "<does not decrypt>");
  RegistryConfig downgraded = legacy;
  downgraded.secret_ad_version = 1;
  EXPECT_EQ(Decrypt(*ring, downgraded), "<does not decrypt>");

  // A second run has nothing left to do.
  r = ReencryptSecrets(store_, *ring, {});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.rewritten, 0);
}

TEST_F(ReencryptionTest, SkipsRowsThatDoNotDecryptAndStillTerminates) {
  // More bad rows than a batch holds, sorted before, between and after the good ones.
  AddRow("b-good-1", 1);
  AddRow("d-good-2", 2);
  AddRow("f-good-3", 1);
  AddRow("a-unknown-key", 9);  // key 9 is in no ring
  AddRow("c-unknown-key", 9);
  // A ciphertext copied from another row: right key, wrong associated data.
  AddRaw("e-copied", Row("b-good-1").secret_ciphertext, 1);
  AddRaw("g-garbage", "not a ciphertext at all, long enough to hold a header", 1);
  AddRaw("h-truncated", Row("d-good-2").secret_ciphertext.substr(0, 10), 2);

  std::unique_ptr<KeyRing> ring = Ring({1, 2, 3}, 3);
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {/*batch_size=*/2, /*max_rows=*/0});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.rewritten, 3);
  EXPECT_EQ(r.skipped, 5);
  // Messages split over two lines, not missing commas:
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  EXPECT_EQ(r.skipped_rows, (std::vector<std::string>{
                                "workspaces/acme/registries/a-unknown-key: key 9 is not in the "
                                "key ring",
                                "workspaces/acme/registries/c-unknown-key: key 9 is not in the "
                                "key ring",
                                "workspaces/acme/registries/e-copied: does not decrypt with key 1",
                                "workspaces/acme/registries/g-garbage: not a key-ring ciphertext",
                                "workspaces/acme/registries/h-truncated: not a key-ring "
                                "ciphertext",
                            }));
  // NOLINTEND(bugprone-suspicious-missing-comma)
  EXPECT_LT(r.batches, 10);
  for (const std::string& line : r.skipped_rows) {
    EXPECT_FALSE(absl::StrContains(line, "ghp_")) << line;
  }
  std::unique_ptr<KeyRing> only3 = Ring({3}, 3);
  for (std::string_view id : {"b-good-1", "d-good-2", "f-good-3"}) {
    EXPECT_EQ(Decrypt(*only3, Row(id)), Plaintext(id));
  }
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{1, 2}, {2, 1}, {3, 3}, {9, 2}}));
}

TEST_F(ReencryptionTest, MaxRowsStopsEarlyAndARerunFinishes) {
  for (int i = 0; i < 10; ++i) AddRow(absl::StrCat("r", i), 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);

  ReencryptionReport first = ReencryptSecrets(store_, *ring, {/*batch_size=*/3, /*max_rows=*/4});
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(first.rewritten, 4);
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{1, 6}, {2, 4}}));

  ReencryptionReport second = ReencryptSecrets(store_, *ring, {/*batch_size=*/3, /*max_rows=*/0});
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_TRUE(second.finished);
  EXPECT_EQ(second.rewritten, 6);
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{2, 10}}));
  for (int i = 0; i < 10; ++i) {
    const RegistryConfig row = Row(absl::StrCat("r", i));
    EXPECT_EQ(Decrypt(*ring, row), Plaintext(row.id));
  }
}

TEST_F(ReencryptionTest, LostRaceIsCountedAndTheRowIsLeftToTheWriter) {
  AddRow("x", 1);
  AddRow("y", 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);
  // Just before the swap of "x", a client stores a new secret (under the new primary).
  bool raced_once = false;
  store_.set_before_replace_secret([&](std::string_view, std::string_view id) {
    if (id != "x" || raced_once) return;
    raced_once = true;
    RegistryConfig c = Row("x");
    c.secret_ciphertext =
        *ring->Encrypt("ghp_written_by_client", *RegistryService::SecretAssociatedData(c));
    c.secret_key_id = 2;
    ASSERT_TRUE(store_.UpdateRegistryConfig(c, 0).ok());
  });
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.raced, 1);
  EXPECT_EQ(r.rewritten, 1);
  EXPECT_EQ(Decrypt(*ring, Row("x")), "ghp_written_by_client");  // the client's write stands
  EXPECT_EQ(Decrypt(*ring, Row("y")), Plaintext("y"));
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{2, 2}}));
}

TEST_F(ReencryptionTest, RaceThatLeavesTheRowUnderAnOldKeyIsRetried) {
  AddRow("x", 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);
  std::unique_ptr<KeyRing> old_ring = Ring({1}, 1);
  // A replica still on the old primary rewrites the secret once, under key 1.
  int races = 0;
  store_.set_before_replace_secret([&](std::string_view, std::string_view) {
    if (races++ > 0) return;
    RegistryConfig c = Row("x");
    c.secret_ciphertext =
        *old_ring->Encrypt("ghp_from_old_replica", *RegistryService::SecretAssociatedData(c));
    ASSERT_TRUE(store_.UpdateRegistryConfig(c, 0).ok());
  });
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.raced, 1);
  EXPECT_EQ(r.rewritten, 1);
  EXPECT_EQ(Row("x").secret_key_id, 2u);
  EXPECT_EQ(Decrypt(*ring, Row("x")), "ghp_from_old_replica");
}

TEST_F(ReencryptionTest, EndlessRacesStopTheRunInsteadOfSpinning) {
  AddRow("x", 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);
  std::unique_ptr<KeyRing> old_ring = Ring({1}, 1);
  int races = 0;
  store_.set_before_replace_secret([&](std::string_view, std::string_view) {
    ++races;
    RegistryConfig c = Row("x");
    c.secret_ciphertext =
        *old_ring->Encrypt("ghp_again", *RegistryService::SecretAssociatedData(c));
    ASSERT_TRUE(store_.UpdateRegistryConfig(c, 0).ok());
  });
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(r.status.message(), "replica")) << r.status;
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.rewritten, 0);
  EXPECT_EQ(r.raced, races);
  EXPECT_EQ(races, 50);
}

TEST_F(ReencryptionTest, StoreErrorsStopTheRunAndKeepTheCounts) {
  AddRow("a", 1);
  AddRow("b", 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);
  store_.set_before_replace_secret([&](std::string_view, std::string_view id) {
    if (id == "b") store_.set_next_error(absl::UnavailableError("database down"));
  });
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.rewritten, 1);

  store_.set_before_replace_secret(nullptr);
  store_.set_next_error(absl::UnavailableError("database down"));
  r = ReencryptSecrets(store_, *ring, {});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.batches, 0);

  r = ReencryptSecrets(store_, *ring, {});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.rewritten, 1);
  EXPECT_EQ(Counts(), (std::map<uint32_t, int64_t>{{2, 2}}));
}

TEST_F(ReencryptionTest, TooManyBadRowsToPagePastIsAnErrorNotALoop) {
  // 1000 rows under a key nobody has, then a good one behind them: to reach it the loop would
  // need a batch of 1000 + batch_size rows, more than the store returns.
  for (int i = 0; i < 1000; ++i) AddRow(absl::StrCat("bad", 1000 + i), 9);
  AddRow("zz-good", 1);
  std::unique_ptr<KeyRing> ring = Ring({1, 2}, 2);
  ReencryptionReport r = ReencryptSecrets(store_, *ring, {/*batch_size=*/500, /*max_rows=*/0});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition) << r.status;
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.skipped, 1000);
  EXPECT_EQ(r.rewritten, 0);
  EXPECT_EQ(Row("zz-good").secret_key_id, 1u);
}

}  // namespace
}  // namespace registryauth::services
