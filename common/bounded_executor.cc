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
  // Idle workers take queued tasks at once, so the queue may hold that many beyond
  // max_queued_.
  if (stopping_ || queue_.size() >= static_cast<size_t>(idle_) + max_queued_) {
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
