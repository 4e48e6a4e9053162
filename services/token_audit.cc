#include "services/token_audit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace registryauth::services {
namespace {

AuditEvent ToAuditEvent(TokenAuditEntry& entry) {
  AuditEvent e;
  e.time = entry.time;
  e.caller = std::move(entry.subject);
  e.action = kIssueRegistryTokenAction;
  e.resource = std::move(entry.resource);
  e.outcome = "OK";
  e.detail = absl::StrCat("granted ", entry.granted);
  e.request_id = std::move(entry.request_id);
  e.peer = std::move(entry.client_address);
  return e;
}

}  // namespace

bool GrantsWriteAccess(const std::vector<realm::ResourceScope>& granted) {
  for (const realm::ResourceScope& s : granted) {
    if (s.type != "repository") continue;  // `registry:catalog:*` lists, it writes nothing
    if (s.actions.count("push") > 0 || s.actions.count("delete") > 0 || s.actions.count("*") > 0) {
      return true;
    }
  }
  return false;
}

TokenAuditQueue::TokenAuditQueue(storage::RegistryStore& store, const Clock& clock,
                                 TokenAuditOptions options, TokenAuditMetrics* metrics)
    : store_(store), clock_(clock), options_(options), metrics_(metrics) {}

TokenAuditQueue::~TokenAuditQueue() { Stop(); }

void TokenAuditQueue::Record(TokenAuditEntry entry) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < options_.capacity) {
      queue_.push_back(std::move(entry));
      return;
    }
  }
  Dropped(TokenAuditMetrics::DropReason::kQueueFull, 1);
}

void TokenAuditQueue::Start() {
  absl::MutexLock lock(&thread_mu_);
  if (thread_.joinable()) return;
  {
    absl::MutexLock queue_lock(&mu_);
    if (stopping_) return;
  }
  thread_ = std::thread([this] { Run(); });
}

void TokenAuditQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  {
    absl::MutexLock lock(&thread_mu_);
    if (thread_.joinable()) thread_.join();
  }
  Flush();
  MaybeLogDrops(/*force=*/true);
}

void TokenAuditQueue::Run() {
  const size_t batch = std::max<size_t>(options_.batch_size, 1);
  for (;;) {
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      // Wakes early for a full batch or a stop; otherwise every flush_interval.
      auto ready = [this, batch]() { return stopping_ || queue_.size() >= batch; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      stop = stopping_;
    }
    if (stop) return;  // Stop() flushes after the join
    Flush();
    MaybeLogDrops(/*force=*/false);
  }
}

size_t TokenAuditQueue::Flush() {
  absl::MutexLock flush_lock(&flush_mu_);
  std::vector<TokenAuditEntry> taken;
  {
    absl::MutexLock lock(&mu_);
    taken.swap(queue_);
  }
  const size_t batch = std::max<size_t>(options_.batch_size, 1);
  size_t written = 0;
  std::vector<AuditEvent> rows;
  for (size_t start = 0; start < taken.size(); start += batch) {
    const size_t end = std::min(taken.size(), start + batch);
    rows.clear();
    rows.reserve(end - start);
    for (size_t i = start; i < end; ++i) rows.push_back(ToAuditEvent(taken[i]));
    absl::Status s = store_.AppendAuditEvents(rows);
    if (s.ok()) {
      written += rows.size();
      continue;
    }
    Dropped(TokenAuditMetrics::DropReason::kWriteFailed, rows.size());
    // The message is the store's (no secret: the rows hold none either).
    LOG_WARNING(absl::StrCat("token audit: a batch of ", rows.size(),
                             " rows could not be written: ", s.message()));
  }
  return written;
}

void TokenAuditQueue::Dropped(TokenAuditMetrics::DropReason reason, size_t count) {
  if (metrics_ != nullptr) metrics_->OnTokenAuditDropped(reason, static_cast<int64_t>(count));
  {
    absl::MutexLock lock(&drops_mu_);
    dropped_ += static_cast<int64_t>(count);
    (reason == TokenAuditMetrics::DropReason::kQueueFull ? unlogged_queue_full_
                                                         : unlogged_write_failed_) +=
        static_cast<int64_t>(count);
  }
  MaybeLogDrops(/*force=*/false);
}

void TokenAuditQueue::MaybeLogDrops(bool force) {
  int64_t queue_full = 0;
  int64_t write_failed = 0;
  {
    absl::MutexLock lock(&drops_mu_);
    if (unlogged_queue_full_ + unlogged_write_failed_ == 0) return;
    const absl::Time now = clock_.Now();
    if (!force && now - last_log_ < options_.log_interval) return;
    last_log_ = now;
    ++log_lines_;
    queue_full = std::exchange(unlogged_queue_full_, 0);
    write_failed = std::exchange(unlogged_write_failed_, 0);
  }
  LOG_ERROR(absl::StrCat("token audit: ", queue_full + write_failed,
                         " IssueRegistryToken audit rows dropped (queue full: ", queue_full,
                         ", write failed: ", write_failed,
                         "); see registry_auth_token_audit_dropped_total"));
}

int64_t TokenAuditQueue::drop_log_lines() const {
  absl::MutexLock lock(&drops_mu_);
  return log_lines_;
}

int64_t TokenAuditQueue::dropped() const {
  absl::MutexLock lock(&drops_mu_);
  return dropped_;
}

size_t TokenAuditQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

}  // namespace registryauth::services
