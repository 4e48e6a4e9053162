// RejectedCallLimiter: how many audit rows the calls that the transport refused before they
// reached a service (Guard::RecordRejected: an unknown or unauthenticated caller of
// GetCredentials) may write, so that such callers, who need no credentials at all, cannot
// flood the audit table.
//
// Per one-minute window (of the injected clock):
//   - the first refused call of each (client address, action, resource) is recorded as usual;
//   - the later ones of that key are only counted; when the key is next refused in a later
//     window (or at Flush), one summary row says how many were left out and when;
//   - one client address gets at most `max_keys_per_address` keys in a window; its refused
//     calls on further resources are counted into one key of its own (resource "*"), whose
//     summary row names the address, so one client varying names cannot take the window's
//     whole budget and hide everyone else's refusals in the overflow row;
//   - at most `max_keys_per_minute` keys are recorded one by one in a window; refused calls of
//     further keys (many addresses varying names) are counted into one overflow summary row
//     per action.
// So a minute writes at most about 2 * max_keys_per_minute + (one per action) rows, however
// many calls arrive, and one address about 2 * (max_keys_per_address + 1). Every refused call is
// counted in RejectedCallMetrics either way. Client addresses are grouped as the login throttle
// groups them (IPv6 by /64).
//
//   RejectedCallLimiter limiter(clock, 100);
//   RejectedCallLimiter::Decision d =
//       limiter.OnRejected(peer, "GetCredentials", name, absl::StatusCode::kUnauthenticated);
//   for (const RejectedCallLimiter::Summary& s : d.summaries) ... append s as a row ...
//   if (d.record) ... append the call's own row ...
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_REJECTED_CALLS_H_
#define REGISTRY_AUTH_SERVICES_REJECTED_CALLS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace registryauth::services {

// Counts refused calls for metrics (server/telemetry.h: registry_auth_rejected_calls_total).
// Implementations must be thread-safe and cheap.
class RejectedCallMetrics {
 public:
  virtual ~RejectedCallMetrics() = default;
  // `recorded`: the call got its own audit row (else it was only counted into a summary).
  virtual void OnRejectedCall(std::string_view action, bool recorded) = 0;
};

class RejectedCallLimiter {
 public:
  static constexpr int kDefaultMaxKeysPerMinute = 100;
  static constexpr int kDefaultMaxKeysPerAddress = 10;

  // A summary row to append: `count` refused calls of `action` on `resource` from `address`
  // ("*" for the overflow of a window) between `start` and `end` were not recorded one by one.
  struct Summary {
    std::string address;
    std::string action;
    std::string resource;
    absl::StatusCode outcome = absl::StatusCode::kUnknown;  // of the key's first refused call
    int64_t count = 0;
    absl::Time start;
    absl::Time end;
    // The row's detail, e.g. "999 more refused calls from addr:10.0.0.9 between ... and ...
    // not recorded one by one".
    std::string Detail() const;
  };
  struct Decision {
    bool record = false;             // append this call's own row
    std::vector<Summary> summaries;  // append these first (ended windows)
  };

  // `clock` must outlive this object.
  RejectedCallLimiter(const Clock& clock, int max_keys_per_minute = kDefaultMaxKeysPerMinute,
                      int max_keys_per_address = kDefaultMaxKeysPerAddress)
      : clock_(clock),
        max_keys_(max_keys_per_minute),
        max_keys_per_address_(max_keys_per_address) {}

  // `peer` as the transport reports it; `outcome` the refusal's code.
  Decision OnRejected(std::string_view peer, std::string_view action, std::string_view resource,
                      absl::StatusCode outcome);
  // The summaries of everything counted and not yet summarized (e.g. at shutdown, or from a
  // periodic task); the window starts over.
  std::vector<Summary> Flush();

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // address, action, resource
  struct Entry {
    absl::StatusCode outcome = absl::StatusCode::kUnknown;
    int64_t left_out = 0;  // refused calls after the recorded one
  };
  std::vector<Summary> CloseWindowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const int max_keys_;
  const int max_keys_per_address_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<Key, Entry> keys_ ABSL_GUARDED_BY(mu_);
  // Keys recorded one by one per address in this window (at most max_keys_ entries).
  std::map<std::string, int> keys_per_address_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> overflow_ ABSL_GUARDED_BY(mu_);  // by action
  std::map<std::string, absl::StatusCode> overflow_outcome_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REJECTED_CALLS_H_
