// TtlCache: a small, bounded, thread-safe map whose entries are good for a fixed time after
// they were stored, measured with an injected Clock (so tests drive it with FakeClock).
//
// For read-mostly data that may be a little stale, such as the token realm's service accounts
// and pull tokens: a hit saves a database round trip, and a change made elsewhere is seen
// within `ttl`. When the map is full, expired entries are dropped first; if that frees
// nothing, the whole map is cleared (simple, and the next misses refill it).
//
//   TtlCache<std::string, ServiceAccount> accounts(clock, absl::Seconds(5), 10000);
//   if (std::optional<ServiceAccount> a = accounts.Get(name)) ... else accounts.Put(name, row);
//
// A ttl of zero disables the cache (Get always misses). Thread-safe.
#ifndef REGISTRY_AUTH_COMMON_TTL_CACHE_H_
#define REGISTRY_AUTH_COMMON_TTL_CACHE_H_

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace registryauth {

template <typename K, typename V>
class TtlCache {
 public:
  TtlCache(const Clock& clock, absl::Duration ttl, std::size_t capacity)
      : clock_(clock), ttl_(ttl), capacity_(capacity == 0 ? 1 : capacity) {}
  TtlCache(const TtlCache&) = delete;
  TtlCache& operator=(const TtlCache&) = delete;

  bool enabled() const { return ttl_ > absl::ZeroDuration(); }

  // The value stored for `key` less than ttl ago, else nullopt.
  std::optional<V> Get(const K& key) const {
    if (!enabled()) return std::nullopt;
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end() || now - it->second.stored >= ttl_) return std::nullopt;
    return it->second.value;
  }

  void Put(const K& key, V value) {
    if (!enabled()) return;
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    if (map_.size() >= capacity_ && map_.find(key) == map_.end()) {
      for (auto it = map_.begin(); it != map_.end();) {
        it = now - it->second.stored >= ttl_ ? map_.erase(it) : std::next(it);
      }
      if (map_.size() >= capacity_) map_.clear();
    }
    map_.insert_or_assign(key, Entry{std::move(value), now});
  }

  // Changes the value of a present entry without making it younger: it still expires `ttl`
  // after it was first stored. For local edits of a row read earlier (a stale row must not live
  // longer because this replica touched it). Does nothing if the key is absent or expired.
  void Replace(const K& key, V value) {
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end() || now - it->second.stored >= ttl_) return;
    it->second.value = std::move(value);
  }

  void Erase(const K& key) {
    absl::MutexLock lock(&mu_);
    map_.erase(key);
  }

  void Clear() {
    absl::MutexLock lock(&mu_);
    map_.clear();
  }

  std::size_t size() const {
    absl::MutexLock lock(&mu_);
    return map_.size();
  }

 private:
  struct Entry {
    V value;
    absl::Time stored;
  };
  const Clock& clock_;
  const absl::Duration ttl_;
  const std::size_t capacity_;
  mutable absl::Mutex mu_;
  std::unordered_map<K, Entry> map_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_TTL_CACHE_H_
