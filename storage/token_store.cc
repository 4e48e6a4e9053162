#include "storage/token_store.h"

#include <algorithm>
#include <limits>

namespace registryauth::storage {

ThrottleState NextThrottleState(const ThrottleState& current, absl::Time now,
                                const ThrottlePolicy& policy) {
  ThrottleState next = current;
  if (next.failures <= 0 || next.window_start + policy.window <= now) {
    next.failures = 0;
    next.window_start = now;
  }
  if (next.failures < std::numeric_limits<int32_t>::max()) ++next.failures;  // saturates
  const int64_t over = int64_t{next.failures} - policy.free_failures;
  if (over >= 1) {
    absl::Duration delay = policy.base_delay;
    // Doubling stops at max_delay, so the loop runs at most ~40 times for sane policies (and
    // not at all for a zero or negative base_delay, which doubling would never grow).
    for (int64_t i = 1; i < over && delay > absl::ZeroDuration() && delay < policy.max_delay; ++i) {
      delay *= 2;
    }
    delay = std::min(delay, policy.max_delay);
    next.blocked_until = std::max(next.blocked_until, now + delay);
  }
  return next;
}

}  // namespace registryauth::storage
