#include "observability/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/utf8.h"

namespace registryauth::observability {
namespace {

constexpr char kOverflow[] = "_overflow";
constexpr char kKeySeparator = '\xff';

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

bool IsMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsLabelName(const std::string& s) {
  if (s.empty() || s.rfind("__", 0) == 0) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "observability: %s\n", what.c_str());
  std::abort();
}

// HELP text: backslash and newline escaped.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  const std::string clean = SanitizeUtf8(help);
  for (char c : clean) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

// ---- Series

void Counter::Increment(double by) {
  if (!(by > 0)) return;  // also rejects NaN
  AtomicAdd(value_, by);
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value: buckets are "less than or equal".
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) -
                                       bounds_->begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.reserve(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so the two always agree even while observations land.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---- Text format helpers

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string EscapeLabelValue(std::string_view value) {
  const std::string clean = SanitizeUtf8(value);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---- Families

std::string FamilyBase::LabelPrefix(const std::vector<std::string>& values) const {
  std::string out;
  for (size_t i = 0; i < label_names_.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += label_names_[i];
    out += "=\"";
    out += EscapeLabelValue(i < values.size() ? values[i] : std::string());
    out += '"';
  }
  return out;
}

void FamilyBase::RenderHeader(const char* type, std::string* out) const {
  *out += "# HELP ";
  *out += name_;
  *out += ' ';
  *out += EscapeHelp(help_);
  *out += "\n# TYPE ";
  *out += name_;
  *out += ' ';
  *out += type;
  *out += '\n';
}

template <typename Series>
std::unique_ptr<Series> Family<Series>::NewSeries() const {
  if constexpr (std::is_same_v<Series, Histogram>) {
    return std::make_unique<Histogram>(bounds_);
  } else {
    return std::make_unique<Series>();
  }
}

template <typename Series>
template <typename Values>
Series& Family<Series>::Find(const Values& given) {
  // The hot path (an existing series, as on every request) builds only the key, in a buffer
  // this thread reuses, and finds it under the reader lock: no allocation.
  thread_local std::string key;
  key.clear();
  auto it = given.begin();
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (i > 0) key += kKeySeparator;
    if (it != given.end()) {
      AppendSanitizedUtf8(&key, std::string_view(*it));
      ++it;
    }
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    auto found = series_.find(std::string_view(key));
    if (found != series_.end()) return *found->second.series;
  }
  std::vector<std::string> values;
  values.reserve(label_names_.size());
  it = given.begin();
  for (size_t i = 0; i < label_names_.size(); ++i) {
    std::string v;
    if (it != given.end()) {
      v = SanitizeUtf8(std::string_view(*it));
      ++it;
    }
    values.push_back(std::move(v));
  }
  absl::MutexLock lock(&mu_);
  auto found = series_.find(std::string_view(key));
  if (found != series_.end()) return *found->second.series;
  if (series_.size() >= max_series_) {
    std::string overflow_key;
    for (size_t i = 0; i < label_names_.size(); ++i) {
      if (i > 0) overflow_key += kKeySeparator;
      overflow_key += kOverflow;
    }
    auto& entry = series_[overflow_key];
    if (entry.series == nullptr) {
      entry.values.assign(label_names_.size(), kOverflow);
      entry.series = NewSeries();
    }
    return *entry.series;
  }
  Entry& entry = series_[key];
  entry.values = std::move(values);
  entry.series = NewSeries();
  return *entry.series;
}

template <typename Series>
Series& Family<Series>::WithLabels(std::initializer_list<std::string_view> values) {
  return Find(values);
}

template <typename Series>
Series& Family<Series>::WithLabels(const std::vector<std::string>& values) {
  return Find(values);
}

template <typename Series>
void Family<Series>::Render(std::string* out) const {
  if constexpr (std::is_same_v<Series, Counter>) {
    RenderHeader("counter", out);
  } else if constexpr (std::is_same_v<Series, Gauge>) {
    RenderHeader("gauge", out);
  } else {
    RenderHeader("histogram", out);
  }
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, entry] : series_) {
    const std::string labels = LabelPrefix(entry.values);
    if constexpr (std::is_same_v<Series, Histogram>) {
      const Histogram::Snapshot s = entry.series->Read();
      const std::vector<double>& bounds = entry.series->bounds();
      for (size_t i = 0; i <= bounds.size(); ++i) {
        *out += name_;
        *out += "_bucket";
        *out += labels.empty() ? "{" : labels + ",";
        *out += "le=\"";
        *out += i < bounds.size() ? FormatSampleValue(bounds[i]) : "+Inf";
        *out += "\"} ";
        *out += FormatSampleValue(static_cast<double>(s.cumulative[i]));
        *out += '\n';
      }
      const std::string closed = labels.empty() ? "" : labels + "}";
      *out += name_ + "_sum" + closed + " " + FormatSampleValue(s.sum) + "\n";
      *out +=
          name_ + "_count" + closed + " " + FormatSampleValue(static_cast<double>(s.count)) + "\n";
    } else {
      *out += name_;
      if (!labels.empty()) *out += labels + "}";
      *out += ' ';
      *out += FormatSampleValue(entry.series->Value());
      *out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry

void Registry::CheckNewFamily(const std::string& name, const std::vector<std::string>& label_names,
                              bool histogram) {
  if (!IsMetricName(name)) Die("invalid metric name \"" + name + "\"");
  for (const auto& f : families_) {
    if (f->name() == name) Die("metric \"" + name + "\" registered twice");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    // NOLINTNEXTLINE(performance-inefficient-string-concatenation): Die() ends the process
    if (!IsLabelName(l)) Die("metric \"" + name + "\": invalid label name \"" + l + "\"");
    if (histogram && l == "le") Die("histogram \"" + name + "\" may not have a label \"le\"");
    for (size_t j = 0; j < i; ++j) {
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation): Die() ends the process
      if (label_names[j] == l) Die("metric \"" + name + "\": label \"" + l + "\" twice");
    }
  }
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names, size_t max_series) {
  absl::MutexLock lock(&mu_);
  CheckNewFamily(name, label_names, false);
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0) {
    Die("counter \"" + name + "\" must end in _total");
  }
  auto* f = new CounterFamily(std::move(name), std::move(help), std::move(label_names),
                              std::max<size_t>(1, max_series), nullptr);
  families_.emplace_back(f);
  return *f;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names, size_t max_series) {
  absl::MutexLock lock(&mu_);
  CheckNewFamily(name, label_names, false);
  auto* f = new GaugeFamily(std::move(name), std::move(help), std::move(label_names),
                            std::max<size_t>(1, max_series), nullptr);
  families_.emplace_back(f);
  return *f;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds, size_t max_series) {
  absl::MutexLock lock(&mu_);
  CheckNewFamily(name, label_names, true);
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Die("histogram \"" + name + "\": bounds must be finite and strictly increasing");
    }
  }
  auto* f = new HistogramFamily(std::move(name), std::move(help), std::move(label_names),
                                std::max<size_t>(1, max_series),
                                std::make_shared<const std::vector<double>>(std::move(bounds)));
  families_.emplace_back(f);
  return *f;
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& f : families_) f->Render(&out);
  return out;
}

}  // namespace registryauth::observability
