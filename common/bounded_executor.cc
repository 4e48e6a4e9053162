#include "common/bounded_executor.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/catch_all.h"
#include "common/log.h"

namespace registryauth {

BoundedExecutor::BoundedExecutor(int threads, size_t max_queued, std::string name)
    : max_queued_(max_queued), name_(std::move(name)) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

BoundedExecutor::~BoundedExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool BoundedExecutor::TrySchedule(std::function<void()>& task) {
  absl::MutexLock lock(&mu_);
  // A task may wait only while the queue has room beyond the idle workers that will take the
  // waiting ones at once.
  const size_t waiting_after = queue_.size() + 1;
  const size_t takers = static_cast<size_t>(idle_);
  if (stopping_ || (waiting_after > takers && waiting_after - takers > max_queued_)) {
    ++rejected_;
    return false;
  }
  queue_.push_back(std::move(task));
  return true;
}

size_t BoundedExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

size_t BoundedExecutor::rejected() const {
  absl::MutexLock lock(&mu_);
  return rejected_;
}

void BoundedExecutor::Work() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(
          +[](BoundedExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->queue_.empty() || self->stopping_;
          },
          this));
      --idle_;
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    if (std::optional<std::string> what = CatchAll([&] {
          task();
          task = nullptr;  // Destroyed under the barrier too.
        })) {
      LOG_ERROR(absl::StrCat(name_, ": a task threw (", *what, "); continuing"));
    }
  }
}

}  // namespace registryauth
