#include "observability/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace registryauth::observability {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(MetricsTest, CounterRendersHelpTypeAndLabels) {
  Registry r;
  CounterFamily& calls = r.AddCounter("app_calls_total", "Calls handled.", {"method", "code"});
  calls.WithLabels({"Get", "OK"}).Increment();
  calls.WithLabels({"Get", "OK"}).Increment(2);
  calls.WithLabels({"Put", "NOT_FOUND"}).Increment();
  EXPECT_EQ(r.Render(),
            "# HELP app_calls_total Calls handled.\n"
            "# TYPE app_calls_total counter\n"
            "app_calls_total{method=\"Get\",code=\"OK\"} 3\n"
            "app_calls_total{method=\"Put\",code=\"NOT_FOUND\"} 1\n");
}

TEST(MetricsTest, SameLabelsSameSeriesAndCountersNeverGoDown) {
  Registry r;
  CounterFamily& c = r.AddCounter("x_total", "x", {"a"});
  Counter& one = c.WithLabels({"v"});
  EXPECT_EQ(&one, &c.WithLabels(std::vector<std::string>{"v"}));
  EXPECT_NE(&one, &c.WithLabels({"w"}));
  one.Increment(-5);
  one.Increment(0.0 / 0.0);
  EXPECT_EQ(one.Value(), 0);
  one.Increment(0.25);
  EXPECT_EQ(one.Value(), 0.25);
}

// The lookup key is built from the sanitized values, so a value with invalid UTF-8 and its
// sanitized spelling are one series, found again on every later call.
TEST(MetricsTest, InvalidUtf8AndItsSanitizedSpellingAreOneSeries) {
  Registry r;
  CounterFamily& c = r.AddCounter("u_total", "u", {"a", "b"});
  Counter& raw = c.WithLabels({"x\xff", "y"});
  EXPECT_EQ(&raw, &c.WithLabels({"x\xEF\xBF\xBD", "y"}));
  EXPECT_EQ(&raw, &c.WithLabels({"x\xff", "y"}));
  EXPECT_NE(&raw, &c.WithLabels({"x", "\xffy"}));
  EXPECT_EQ(&raw, &c.WithLabels({"x\xff", "y", "ignored"}));
}

TEST(MetricsTest, GaugeGoesUpAndDownAndUnlabelledSeries) {
  Registry r;
  GaugeFamily& g = r.AddGauge("pool_in_use", "Connections in use.", {});
  g.Get().Add(3);
  g.Get().Add(-1);
  EXPECT_EQ(g.Get().Value(), 2);
  g.Get().Set(-0.5);
  EXPECT_EQ(r.Render(),
            "# HELP pool_in_use Connections in use.\n"
            "# TYPE pool_in_use gauge\n"
            "pool_in_use -0.5\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  CounterFamily& c = r.AddCounter("esc_total", "Line one\nback\\slash \"quoted\"", {"v"});
  c.WithLabels({"a\\b\"c\nd"}).Increment();
  c.WithLabels({std::string("bad\xff\xfe utf8 \xc3\xa9")}).Increment();
  const std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# HELP esc_total Line one\\nback\\\\slash \"quoted\"\n")) << text;
  EXPECT_TRUE(Contains(text, "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n")) << text;
  // Invalid bytes become U+FFFD; valid multi-byte characters stay.
  EXPECT_TRUE(Contains(text, "esc_total{v=\"bad\xEF\xBF\xBD\xEF\xBF\xBD utf8 \xc3\xa9\"} 1\n"))
      << text;
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  HistogramFamily& h = r.AddHistogram("lat_seconds", "Latency.", {"m"}, {0.1, 0.5, 1});
  Histogram& s = h.WithLabels({"Get"});
  s.Observe(0.05);
  s.Observe(0.1);  // upper bounds are inclusive
  s.Observe(0.3);
  s.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"Get\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{m=\"Get\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{m=\"Get\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"Get\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"Get\"} 7.45\n"
            "lat_seconds_count{m=\"Get\"} 4\n");
  Histogram::Snapshot snap = s.Read();
  EXPECT_EQ(snap.count, 4u);
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{2, 3, 3, 4}));
}

TEST(MetricsTest, HistogramWithoutLabels) {
  Registry r;
  HistogramFamily& h = r.AddHistogram("wait_seconds", "Wait.", {}, {1});
  h.Get().Observe(2);
  EXPECT_EQ(r.Render(),
            "# HELP wait_seconds Wait.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 1\n"
            "wait_seconds_sum 2\n"
            "wait_seconds_count 1\n");
}

TEST(MetricsTest, FamiliesInRegistrationOrderSeriesSorted) {
  Registry r;
  GaugeFamily& b = r.AddGauge("b_gauge", "b", {"k"});
  CounterFamily& a = r.AddCounter("a_total", "a", {});
  b.WithLabels({"z"}).Set(1);
  b.WithLabels({"m"}).Set(2);
  a.Get().Increment();
  const std::string text = r.Render();
  EXPECT_LT(text.find("b_gauge{k=\"m\"}"), text.find("b_gauge{k=\"z\"}"));
  EXPECT_LT(text.find("# TYPE b_gauge"), text.find("# TYPE a_total"));
}

TEST(MetricsTest, TooManySeriesLandInOneOverflowSeries) {
  Registry r;
  CounterFamily& c = r.AddCounter("paths_total", "p", {"path", "code"}, /*max_series=*/2);
  c.WithLabels({"/a", "200"}).Increment();
  c.WithLabels({"/b", "200"}).Increment();
  c.WithLabels({"/c", "200"}).Increment();
  c.WithLabels({"/d", "500"}).Increment();
  c.WithLabels({"/a", "200"}).Increment();  // existing series still found
  const std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "paths_total{path=\"/a\",code=\"200\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "paths_total{path=\"_overflow\",code=\"_overflow\"} 2\n")) << text;
  EXPECT_FALSE(Contains(text, "/c"));
}

TEST(MetricsTest, MissingLabelValuesAreEmptyExtraOnesIgnored) {
  Registry r;
  CounterFamily& c = r.AddCounter("l_total", "l", {"a", "b"});
  c.WithLabels({"x"}).Increment();
  c.WithLabels({"x", "", "extra"}).Increment();
  EXPECT_TRUE(Contains(r.Render(), "l_total{a=\"x\",b=\"\"} 2\n")) << r.Render();
}

TEST(MetricsTest, SampleValueFormatting) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(0.0005), "0.0005");
  EXPECT_EQ(FormatSampleValue(2.5), "2.5");
  EXPECT_EQ(FormatSampleValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatSampleValue(1e20), "1e+20");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatSampleValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  Registry r;
  CounterFamily& c = r.AddCounter("conc_total", "c", {"k"});
  HistogramFamily& h = r.AddHistogram("conc_seconds", "h", {"k"}, LatencyBuckets());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& cached = c.WithLabels({"shared"});
      for (int i = 0; i < kPerThread; ++i) {
        cached.Increment();
        // Lookups (and new series) race with increments and with rendering.
        c.WithLabels({t % 2 == 0 ? "even" : "odd"}).Increment();
        h.WithLabels({"x"}).Observe(0.001);
        if (i % 5000 == 0) (void)r.Render();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.WithLabels({"shared"}).Value(), kThreads * kPerThread);
  EXPECT_EQ(c.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(h.WithLabels({"x"}).Read().count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_NEAR(h.WithLabels({"x"}).Read().sum, kThreads * kPerThread * 0.001, 1e-6);
}

TEST(MetricsDeathTest, InvalidOrDuplicateNamesAbortAtRegistration) {
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("bad-name_total", "x", {});
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("no_suffix", "x", {});
      },
      "must end in _total");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddGauge("g", "x", {"__reserved"});
      },
      "invalid label name");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("h", "x", {"le"}, {1});
      },
      "may not have a label");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("h", "x", {}, {2, 1});
      },
      "strictly increasing");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddGauge("g", "x", {});
        r.AddGauge("g", "y", {});
      },
      "registered twice");
}

}  // namespace
}  // namespace registryauth::observability
