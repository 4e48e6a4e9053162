// A fixed-size, log-linear latency histogram (the HdrHistogram idea, minimal): values in
// nanoseconds, exact below 128 ns, above that 128 buckets per power of two, so a reported
// percentile is at most 1/128 (0.8 %) above the true value. Recording is an index computation
// and an increment, with no allocation, so a load generator can record every call. Each
// thread owns one histogram; Merge() combines them at the end. Count, min, max and mean are
// exact.
//
//   LatencyHistogram h;
//   h.Record(elapsed_ns);
//   total.Merge(h);
//   uint64_t p99 = total.Percentile(99.0);
//
// Not thread-safe: one writer, merged after the writers have stopped.
#ifndef REGISTRY_AUTH_BENCH_LATENCY_HISTOGRAM_H_
#define REGISTRY_AUTH_BENCH_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace registryauth::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Values 0..2^64-1: the linear part, then (64 - kSubBucketBits) halvings of 128 buckets.
  static constexpr int kBucketCount = static_cast<int>((64 - kSubBucketBits + 1) * kSubBuckets);

  void Record(uint64_t value_ns) {
    ++counts_[IndexOf(value_ns)];
    ++count_;
    sum_ += static_cast<double>(value_ns);
    min_ = std::min(min_, value_ns);
    max_ = std::max(max_, value_ns);
  }

  void Merge(const LatencyHistogram& other) {
    for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

  // The smallest recorded-bucket upper bound at or above `percent` (0..100) of the values,
  // clamped to the exact maximum. 0 when empty.
  uint64_t Percentile(double percent) const {
    if (count_ == 0) return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    uint64_t rank = static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (int i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(UpperBoundOf(i), max_);
    }
    return max_;
  }

  // Bucket arithmetic, public for tests.
  static int IndexOf(uint64_t v) {
    if (v < kSubBuckets) return static_cast<int>(v);
    const int high_bit = 63 - __builtin_clzll(v);  // >= kSubBucketBits
    const int shift = high_bit - kSubBucketBits;
    const uint64_t mantissa = v >> shift;  // in [kSubBuckets, 2 * kSubBuckets)
    return static_cast<int>((static_cast<uint64_t>(shift) + 1) * kSubBuckets +
                            (mantissa - kSubBuckets));
  }
  static uint64_t UpperBoundOf(int index) {
    const uint64_t i = static_cast<uint64_t>(index);
    if (i < kSubBuckets) return i;
    const int shift = static_cast<int>(i / kSubBuckets) - 1;
    const uint64_t mantissa = kSubBuckets + i % kSubBuckets;
    const uint64_t lower = mantissa << shift;
    return lower + ((uint64_t{1} << shift) - 1);
  }

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace registryauth::bench

#endif  // REGISTRY_AUTH_BENCH_LATENCY_HISTOGRAM_H_
