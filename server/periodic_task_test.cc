#include "server/periodic_task.h"

#include <atomic>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace registryauth::server {
namespace {

TEST(PeriodicTaskTest, RunsRepeatedlyAndStopsPromptly) {
  std::atomic<int> runs{0};
  PeriodicTask task(absl::Milliseconds(10), [&] { ++runs; });
  task.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (runs.load() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_GE(runs.load(), 3);
  task.Stop();
  const int after_stop = runs.load();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(runs.load(), after_stop);
}

TEST(PeriodicTaskTest, StopWakesALongWait) {
  std::atomic<int> runs{0};
  PeriodicTask task(absl::Hours(1), [&] { ++runs; });
  task.Start();
  const absl::Time start = absl::Now();
  task.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace registryauth::server
