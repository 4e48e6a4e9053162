#include "services/rejected_calls.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/login_throttle.h"

namespace registryauth::services {

std::string RejectedCallLimiter::Summary::Detail() const {
  return absl::StrCat(count, " more refused calls from ", address, " between ",
                      absl::FormatTime(absl::RFC3339_sec, start, absl::UTCTimeZone()), " and ",
                      absl::FormatTime(absl::RFC3339_sec, end, absl::UTCTimeZone()),
                      " not recorded one by one");
}

std::vector<RejectedCallLimiter::Summary> RejectedCallLimiter::CloseWindowLocked() {
  std::vector<Summary> out;
  const absl::Time end = window_start_ + absl::Minutes(1);
  for (const auto& [key, entry] : keys_) {
    if (entry.left_out == 0) continue;
    out.push_back(Summary{std::get<0>(key), std::get<1>(key), std::get<2>(key), entry.outcome,
                          entry.left_out, window_start_, end});
  }
  for (const auto& [action, count] : overflow_) {
    out.push_back(Summary{"*", action, "*", overflow_outcome_[action], count, window_start_, end});
  }
  keys_.clear();
  keys_per_address_.clear();
  overflow_.clear();
  overflow_outcome_.clear();
  return out;
}

RejectedCallLimiter::Decision RejectedCallLimiter::OnRejected(std::string_view peer,
                                                              std::string_view action,
                                                              std::string_view resource,
                                                              absl::StatusCode outcome) {
  const absl::Time now = clock_.Now();
  const absl::Time window = absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 60 * 60);
  Key key{AddressKey(peer), std::string(action), std::string(resource.substr(0, 1024))};
  Decision d;
  absl::MutexLock lock(&mu_);
  if (window != window_start_) {
    d.summaries = CloseWindowLocked();
    window_start_ = window;
  }
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    ++it->second.left_out;
    return d;
  }
  // An address past its own budget: counted into its "*" key (a summary row only).
  const auto per_address = keys_per_address_.find(std::get<0>(key));
  const bool address_full =
      per_address != keys_per_address_.end() && per_address->second >= max_keys_per_address_;
  if (address_full) {
    std::get<2>(key) = "*";
    it = keys_.find(key);
    if (it != keys_.end()) {
      ++it->second.left_out;
      return d;
    }
  }
  if (static_cast<int>(keys_.size()) >= max_keys_) {
    const std::string& a = std::get<1>(key);
    if (overflow_[a]++ == 0) overflow_outcome_[a] = outcome;
    return d;
  }
  if (address_full) {
    keys_.emplace(std::move(key), Entry{outcome, 1});
    return d;
  }
  ++keys_per_address_[std::get<0>(key)];
  keys_.emplace(std::move(key), Entry{outcome, 0});
  d.record = true;
  return d;
}

std::vector<RejectedCallLimiter::Summary> RejectedCallLimiter::Flush() {
  absl::MutexLock lock(&mu_);
  std::vector<Summary> out = CloseWindowLocked();
  window_start_ = absl::InfinitePast();
  return out;
}

}  // namespace registryauth::services
