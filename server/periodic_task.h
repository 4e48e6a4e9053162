// PeriodicTask: runs a function on its own thread every `interval` until stopped (first run
// one interval after Start). Stop() wakes the thread at once and joins it; a run in progress
// finishes first. Used for the token realm's housekeeping.
//
//   PeriodicTask task(absl::Minutes(10), [&] { realm.Housekeep().IgnoreError(); });
//   task.Start();  ...  task.Stop();   // also done by the destructor
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVER_PERIODIC_TASK_H_
#define REGISTRY_AUTH_SERVER_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace registryauth::server {

class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, std::function<void()> fn)
      : interval_(interval), fn_(std::move(fn)) {}
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Start() {
    absl::MutexLock lock(&mu_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        const absl::Time wake = absl::Now() + interval_;
        auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
        mu_.AwaitWithDeadline(absl::Condition(&stopping), wake);
        if (stopping_) return;
      }
      fn_();
    }
  }

  const absl::Duration interval_;
  const std::function<void()> fn_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_PERIODIC_TASK_H_
