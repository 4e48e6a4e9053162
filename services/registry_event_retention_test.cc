#include "services/registry_event_retention.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "storage/memory_job_locks.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1796680000);

RegistryEvent Event(int i, absl::Time t) {
  RegistryEvent e;
  e.event_id = absl::StrCat("e", i);
  e.workspace_id = "acme";
  e.repository = "acme/web";
  e.action = "pull";
  e.event_time = t;
  e.receive_time = t;
  return e;
}

TEST(RegistryEventRetentionTest, PrunesEverythingOlderThanTheRetentionInBatches) {
  storage::InMemoryRegistryStore memory;
  std::vector<RegistryEvent> events;
  // 2,500 old events: three batches in one round; 3 recent ones stay.
  for (int i = 0; i < 2500; ++i) events.push_back(Event(i, kNow - absl::Hours(24 * 91)));
  for (int i = 0; i < 3; ++i) events.push_back(Event(10000 + i, kNow - absl::Hours(24 * 89)));
  ASSERT_TRUE(memory.AppendRegistryEvents(events).ok());
  FakeClock clock(kNow);
  storage::InMemoryJobLocks locks;
  RegistryEventRetention retention(memory, locks, clock, absl::Hours(24 * 90));
  absl::StatusOr<PruneRound> pruned = retention.PruneOnce();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_TRUE(pruned->ran);
  EXPECT_EQ(pruned->deleted, 2500);
  EXPECT_EQ(memory.ListRegistryEvents("acme", {}, 1000, std::nullopt)->items.size(), 3u);
  EXPECT_EQ(retention.PruneOnce()->deleted, 0);
  // Two days later the rest are due.
  clock.Advance(absl::Hours(48));
  EXPECT_EQ(retention.PruneOnce()->deleted, 3);
}

// While another replica holds the job lock, a round does nothing; once it is released, the
// next round prunes.
TEST(RegistryEventRetentionTest, SkipsTheRoundWhileAnotherHolderHasTheLock) {
  storage::InMemoryRegistryStore memory;
  ASSERT_TRUE(memory.AppendRegistryEvents({Event(1, kNow - absl::Hours(24 * 100))}).ok());
  FakeClock clock(kNow);
  storage::InMemoryJobLocks locks;
  RegistryEventRetention retention(memory, locks, clock, absl::Hours(24 * 90));
  absl::StatusOr<std::unique_ptr<storage::JobLock>> other =
      locks.TryLockJob(RegistryEventRetention::kPruneJob);
  ASSERT_TRUE(other.ok() && *other != nullptr);
  absl::StatusOr<PruneRound> skipped = retention.PruneOnce();
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_FALSE(skipped->ran);
  EXPECT_EQ(memory.ListRegistryEvents("acme", {}, 10, std::nullopt)->items.size(), 1u);
  other->reset();
  absl::StatusOr<PruneRound> ran = retention.PruneOnce();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_TRUE(ran->ran);
  EXPECT_EQ(ran->deleted, 1);
}

TEST(RegistryEventRetentionTest, AStoreErrorEndsTheRound) {
  storage::InMemoryRegistryStore memory;
  storage::testing::FailingRegistryStore store(memory);
  ASSERT_TRUE(memory.AppendRegistryEvents({Event(1, kNow - absl::Hours(24 * 100))}).ok());
  FakeClock clock(kNow);
  storage::InMemoryJobLocks locks;
  RegistryEventRetention retention(store, locks, clock, absl::Hours(24 * 90));
  store.set_next_error(absl::UnavailableError("database down"));
  EXPECT_EQ(retention.PruneOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(retention.PruneOnce()->deleted, 1);
}

}  // namespace
}  // namespace registryauth::services
