// BoundedExecutor: a fixed set of worker threads with a bounded queue, for work that may wait
// (a database round trip) and must not run on an I/O thread. When every worker is busy and the
// queue is full, TrySchedule refuses at once instead of letting the backlog grow: the caller
// answers "busy, retry" (HTTP 503), so a flood costs a bounded amount of memory and threads.
//
// Every task runs under a catch-all: an exception that escapes a task is logged (its what(),
// never anything else) and the worker goes on. A task that owns its own reply should arrange
// to answer when it is destroyed unanswered (gateway/rest_router.cc ReplyOnce does).
//
// Thread-safe. The destructor stops taking work, runs what is queued and joins the workers.
//
//   BoundedExecutor pool(/*threads=*/4, /*max_queued=*/256);
//   if (!pool.TrySchedule([] { SlowWork(); })) ReplyBusy();
#ifndef REGISTRY_AUTH_COMMON_BOUNDED_EXECUTOR_H_
#define REGISTRY_AUTH_COMMON_BOUNDED_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace registryauth {

class BoundedExecutor {
 public:
  // `threads` >= 1 workers named `name` in logs; at most `max_queued` tasks wait (0: a task is
  // taken only when a worker is idle).
  BoundedExecutor(int threads, size_t max_queued, std::string name = "worker");
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`; false (and `task` untouched and not run) when the queue is full or the
  // executor is shutting down.
  bool TrySchedule(std::function<void()>& task);
  bool TrySchedule(std::function<void()>&& task) { return TrySchedule(task); }

  // Tasks waiting (not running), and tasks refused so far.
  size_t queued() const;
  size_t rejected() const;

 private:
  void Work();

  const size_t max_queued_;
  const std::string name_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  size_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_BOUNDED_EXECUTOR_H_
