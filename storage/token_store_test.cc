#include "storage/token_store.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace registryauth::storage {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Time kNever = absl::InfinitePast();

ThrottleState State(int32_t failures, absl::Time window_start, absl::Time blocked_until) {
  return ThrottleState{"account:acme+ci", failures, window_start, blocked_until};
}

TEST(NextThrottleStateTest, Table) {
  ThrottlePolicy policy;  // 5 free failures in 15 minutes, then 1s doubling up to 5 min
  ThrottlePolicy no_free = policy;
  no_free.free_failures = 0;
  ThrottlePolicy zero_delay = policy;
  zero_delay.base_delay = absl::ZeroDuration();
  struct Case {
    const char* what;
    ThrottleState current;
    absl::Duration now;  // after kT0
    ThrottlePolicy policy;
    ThrottleState want;
  };
  const Case cases[] = {
      {"first failure opens the window", State(0, kNever, kNever), absl::Seconds(3), policy,
       State(1, kT0 + absl::Seconds(3), kNever)},
      {"free failures do not block", State(4, kT0, kNever), absl::Seconds(10), policy,
       State(5, kT0, kNever)},
      {"the first failure over blocks base_delay", State(5, kT0, kNever), absl::Seconds(10), policy,
       State(6, kT0, kT0 + absl::Seconds(11))},
      {"then the delay doubles", State(6, kT0, kT0 + absl::Seconds(11)), absl::Seconds(20), policy,
       State(7, kT0, kT0 + absl::Seconds(22))},
      {"failure 5 + 4 waits 8s", State(8, kT0, kNever), absl::Seconds(30), policy,
       State(9, kT0, kT0 + absl::Seconds(38))},
      {"capped at max_delay", State(20, kT0, kNever), absl::Seconds(60), policy,
       State(21, kT0, kT0 + absl::Seconds(60) + absl::Minutes(5))},
      {"a huge count stays capped", State(std::numeric_limits<int32_t>::max() - 1, kT0, kNever),
       absl::Seconds(1), policy,
       State(std::numeric_limits<int32_t>::max(), kT0, kT0 + absl::Seconds(1) + absl::Minutes(5))},
      {"the count saturates", State(std::numeric_limits<int32_t>::max(), kT0, kNever),
       absl::Seconds(1), policy,
       State(std::numeric_limits<int32_t>::max(), kT0, kT0 + absl::Seconds(1) + absl::Minutes(5))},
      {"a later block never shortens an earlier one", State(5, kT0, kT0 + absl::Hours(1)),
       absl::Seconds(10), policy, State(6, kT0, kT0 + absl::Hours(1))},
      {"one tick before the window ends it still counts", State(5, kT0, kNever),
       absl::Minutes(15) - absl::Nanoseconds(1), policy,
       State(6, kT0, kT0 + absl::Minutes(15) - absl::Nanoseconds(1) + absl::Seconds(1))},
      {"an ended window starts again", State(9, kT0, kT0 + absl::Seconds(20)), absl::Minutes(15),
       policy, State(1, kT0 + absl::Minutes(15), kT0 + absl::Seconds(20))},
      {"no free failures: the first one blocks", State(0, kNever, kNever), absl::ZeroDuration(),
       no_free, State(1, kT0, kT0 + absl::Seconds(1))},
      {"zero base delay: blocked until now, that is not at all", State(1000, kT0, kNever),
       absl::Seconds(1), zero_delay, State(1001, kT0, kT0 + absl::Seconds(1))},
      {"a negative count is a fresh start", State(-3, kT0, kNever), absl::Seconds(1), policy,
       State(1, kT0 + absl::Seconds(1), kNever)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const ThrottleState got = NextThrottleState(c.current, kT0 + c.now, c.policy);
    EXPECT_EQ(got.key, c.current.key);
    EXPECT_EQ(got.failures, c.want.failures);
    EXPECT_EQ(got.window_start, c.want.window_start);
    EXPECT_EQ(got.blocked_until, c.want.blocked_until);
  }
}

TEST(NextThrottleStateTest, SequenceDoublesThenCaps) {
  ThrottlePolicy policy;
  policy.free_failures = 2;
  policy.base_delay = absl::Seconds(1);
  policy.max_delay = absl::Seconds(10);
  ThrottleState state;
  const absl::Duration want[] = {absl::ZeroDuration(), absl::ZeroDuration(), absl::Seconds(1),
                                 absl::Seconds(2),     absl::Seconds(4),     absl::Seconds(8),
                                 absl::Seconds(10),    absl::Seconds(10)};
  for (const absl::Duration& delay : want) {
    state = NextThrottleState(state, kT0, policy);  // all at one instant
    EXPECT_EQ(state.blocked_until, delay == absl::ZeroDuration() ? kNever : kT0 + delay)
        << state.failures;
  }
  EXPECT_EQ(state.failures, 8);
}

}  // namespace
}  // namespace registryauth::storage
