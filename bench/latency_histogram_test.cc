#include "bench/latency_histogram.h"

#include <cstdint>
#include <limits>
#include <memory>

#include "gtest/gtest.h"

namespace registryauth::bench {
namespace {

TEST(LatencyHistogramTest, BucketsAreContiguousAndCoverEveryValue) {
  // Every bucket's upper bound + 1 starts the next bucket.
  for (int i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    const uint64_t upper = LatencyHistogram::UpperBoundOf(i);
    ASSERT_EQ(LatencyHistogram::IndexOf(upper), i) << i;
    ASSERT_EQ(LatencyHistogram::IndexOf(upper + 1), i + 1) << i;
  }
  EXPECT_EQ(LatencyHistogram::IndexOf(std::numeric_limits<uint64_t>::max()),
            LatencyHistogram::kBucketCount - 1);
  EXPECT_EQ(LatencyHistogram::UpperBoundOf(LatencyHistogram::kBucketCount - 1),
            std::numeric_limits<uint64_t>::max());
}

TEST(LatencyHistogramTest, RelativeErrorBelowOnePercent) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456ull, 987654321ull,
                     (1ull << 40) + 12345}) {
    const uint64_t upper = LatencyHistogram::UpperBoundOf(LatencyHistogram::IndexOf(v));
    EXPECT_GE(upper, v);
    EXPECT_LE(static_cast<double>(upper - v), static_cast<double>(v) / 128.0) << v;
  }
}

TEST(LatencyHistogramTest, PercentilesOfAUniformRange) {
  auto h = std::make_unique<LatencyHistogram>();
  for (uint64_t v = 1; v <= 10000; ++v) h->Record(v * 1000);  // 1 us .. 10 ms
  EXPECT_EQ(h->count(), 10000u);
  EXPECT_EQ(h->min(), 1000u);
  EXPECT_EQ(h->max(), 10000000u);
  EXPECT_DOUBLE_EQ(h->mean(), 5000.5 * 1000);
  auto near = [](uint64_t got, uint64_t want) {
    return got >= want && static_cast<double>(got - want) <= static_cast<double>(want) / 128.0;
  };
  EXPECT_TRUE(near(h->Percentile(50), 5000000)) << h->Percentile(50);
  EXPECT_TRUE(near(h->Percentile(90), 9000000)) << h->Percentile(90);
  EXPECT_TRUE(near(h->Percentile(99), 9900000)) << h->Percentile(99);
  EXPECT_EQ(h->Percentile(100), 10000000u);  // clamped to the exact maximum
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  auto a = std::make_unique<LatencyHistogram>();
  auto b = std::make_unique<LatencyHistogram>();
  auto all = std::make_unique<LatencyHistogram>();
  for (uint64_t v = 1; v <= 5000; ++v) {
    (v % 3 == 0 ? a : b)->Record(v * 777);
    all->Record(v * 777);
  }
  a->Merge(*b);
  EXPECT_EQ(a->count(), all->count());
  EXPECT_EQ(a->min(), all->min());
  EXPECT_EQ(a->max(), all->max());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a->Percentile(p), all->Percentile(p)) << p;
  }
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  auto h = std::make_unique<LatencyHistogram>();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->Percentile(99), 0u);
  EXPECT_EQ(h->mean(), 0.0);
}

}  // namespace
}  // namespace registryauth::bench
