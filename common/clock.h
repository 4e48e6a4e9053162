// Time source, injected so logic and tests never read the wall clock directly
// (absl/time/clock_interface.h is not in Debian's Abseil 20220623).
//
//   RealClock clock;                 // production
//   FakeClock fake(absl::FromUnixSeconds(1700000000));  // tests
//   fake.Advance(absl::Minutes(5));
//
// Implementations are thread-safe.
#ifndef REGISTRY_AUTH_COMMON_CLOCK_H_
#define REGISTRY_AUTH_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace registryauth {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_CLOCK_H_
