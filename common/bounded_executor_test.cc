#include "common/bounded_executor.h"

#include <atomic>
#include <stdexcept>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace registryauth {
namespace {

TEST(BoundedExecutorTest, RunsTasksOffTheCallingThread) {
  BoundedExecutor pool(2, 8);
  absl::Notification done;
  std::thread::id ran_on;
  ASSERT_TRUE(pool.TrySchedule([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  }));
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BoundedExecutorTest, RefusesWhenWorkersAndQueueAreFull) {
  BoundedExecutor pool(1, 2);
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(pool.TrySchedule([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the one worker is busy
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.TrySchedule([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySchedule([&] { ++ran; }));
  std::function<void()> third = [&] { ++ran; };
  EXPECT_FALSE(pool.TrySchedule(third));
  EXPECT_TRUE(third != nullptr);  // handed back untouched: the caller answers "busy"
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_EQ(pool.rejected(), 1u);
  release.Notify();
  while (ran.load() < 2) std::this_thread::yield();
  EXPECT_EQ(ran.load(), 2);
}

TEST(BoundedExecutorTest, AThrowingTaskDoesNotStopTheWorker) {
  BoundedExecutor pool(1, 4);
  ASSERT_TRUE(pool.TrySchedule([] { throw std::out_of_range("basic_string_view::substr"); }));
  ASSERT_TRUE(pool.TrySchedule([] { throw 42; }));
  absl::Notification after;
  ASSERT_TRUE(pool.TrySchedule([&] { after.Notify(); }));
  after.WaitForNotification();
  EXPECT_TRUE(after.HasBeenNotified());
}

TEST(BoundedExecutorTest, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    BoundedExecutor pool(1, 16);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.TrySchedule([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace registryauth
