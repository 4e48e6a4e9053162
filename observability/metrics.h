// A small Prometheus metrics library: counters, gauges and fixed-bucket histograms with label
// sets, kept in a Registry that renders the text exposition format 0.0.4 (what `GET /metrics`
// serves and `promtool check metrics` reads).
//
// A family (one metric name, its help text and label names) holds one series per label-value
// tuple. WithLabels finds or creates a series and returns a reference that stays valid as long
// as the Registry: keep it and the hot path is one atomic operation, no lock. Looking a series
// up again takes the family's reader lock (shared, per family), never a global one.
//
//   observability::Registry registry;
//   auto& calls = registry.AddCounter("app_calls_total", "Calls handled.", {"method", "code"});
//   auto& latency = registry.AddHistogram("app_call_seconds", "Call latency.", {"method"},
//                                         observability::LatencyBuckets());
//   calls.WithLabels({"Get", "OK"}).Increment();
//   latency.WithLabels({"Get"}).Observe(0.012);
//   std::string text = registry.Render();
//
// Names must match the Prometheus rules (metric `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
// `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__`, histograms without an `le` label, counters
// ending in `_total`) and be unique in a registry: they are compile-time constants of the code,
// so a bad one aborts at registration (start-up), with a message. Label values are any text;
// bytes that are not UTF-8 are replaced by U+FFFD. A family keeps at most `max_series` series;
// further label tuples all land in one series whose values are "_overflow", so a caller that
// labels by something unbounded cannot exhaust memory.
//
// Label values end up on a scrape endpoint that needs no authentication: never put a secret,
// a token or a user-supplied string into one (route templates, not paths; caller names from the
// policy, not presented identities).
//
// Thread-safe: every method may be called concurrently, including Render during updates.
#ifndef REGISTRY_AUTH_OBSERVABILITY_METRICS_H_
#define REGISTRY_AUTH_OBSERVABILITY_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace registryauth::observability {

// A monotonically increasing value (requests served, errors).
class Counter {
 public:
  // Adds `by`; negative or NaN amounts are ignored (a counter never goes down).
  void Increment(double by = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (connections in use, key ids loaded).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive), plus their sum and count.
class Histogram {
 public:
  // `bounds` must be sorted ascending and finite; the +Inf bucket is implicit.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_->size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

// Buckets for request latencies in seconds: 0.5 ms .. 10 s.
std::vector<double> LatencyBuckets();

// What every family shares: its name, help, label names and rendering.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  // Appends `# HELP`, `# TYPE` and every series' samples to `out`.
  virtual void Render(std::string* out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  // `{a="x",b="y"` (no closing brace; empty when there are no labels), values escaped.
  std::string LabelPrefix(const std::vector<std::string>& values) const;
  void RenderHeader(const char* type, std::string* out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// One metric name with a series per label-value tuple. `Series` is Counter, Gauge or
// Histogram.
template <typename Series>
class Family : public FamilyBase {
 public:
  // The series for these label values (as many as label names; missing ones are "", extra
  // ones ignored). The reference lives as long as the Registry.
  Series& WithLabels(std::initializer_list<std::string_view> values);
  Series& WithLabels(const std::vector<std::string>& values);
  // The series without labels (for a family with no label names).
  Series& Get() { return WithLabels(std::initializer_list<std::string_view>{}); }

  void Render(std::string* out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         size_t max_series, std::shared_ptr<const std::vector<double>> bounds)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
        max_series_(max_series),
        bounds_(std::move(bounds)) {}

  struct Entry {
    std::vector<std::string> values;
    std::unique_ptr<Series> series;
  };
  template <typename Values>
  Series& Find(const Values& values);
  std::unique_ptr<Series> NewSeries() const;

  const size_t max_series_;
  const std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  // Keyed by the sanitized values joined with '\xff' (a byte no UTF-8 text contains); sorted,
  // so the output is stable. Looked up by string_view, so a hit allocates nothing.
  std::map<std::string, Entry, std::less<>> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
  static constexpr size_t kDefaultMaxSeries = 2000;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registration; the returned family lives as long as the registry. Aborts on an invalid or
  // duplicate name (see the file comment).
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names,
                            size_t max_series = kDefaultMaxSeries);
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> label_names,
                        size_t max_series = kDefaultMaxSeries);
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> bounds,
                                size_t max_series = kDefaultMaxSeries);

  // The text exposition format 0.0.4: families in registration order, series sorted by label
  // values.
  std::string Render() const;

 private:
  void CheckNewFamily(const std::string& name, const std::vector<std::string>& label_names,
                      bool histogram) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
};

// ---- Helpers of the text format, exposed for tests.

// A sample value: "NaN", "+Inf", "-Inf", an integer when the value is one, else the shortest
// decimal that reads back as the same double.
std::string FormatSampleValue(double value);
// A label value with `\`, `"` and newline escaped (and non-UTF-8 bytes replaced).
std::string EscapeLabelValue(std::string_view value);

}  // namespace registryauth::observability

#endif  // REGISTRY_AUTH_OBSERVABILITY_METRICS_H_
