#include "services/audit_group_commit.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <utility>
#include <vector>

namespace registryauth::services {

std::vector<absl::Status> AuditGroupCommit::Write(
    const std::vector<std::shared_ptr<Pending>>& batch) {
  std::vector<absl::Status> results(batch.size());
  int64_t statements = 0;
  try {
    if (batch.size() == 1) {
      // One caller alone: the single-row statement, as before group commit.
      ++statements;
      results[0] = store_.AppendAuditEvent(batch[0]->event).status();
    } else {
      std::vector<AuditEvent> events;
      events.reserve(batch.size());
      for (const std::shared_ptr<Pending>& p : batch) events.push_back(p->event);
      ++statements;
      absl::Status all = store_.AppendAuditEvents(events);
      if (all.ok() || absl::IsUnavailable(all)) {
        // Stored, or the database is out of reach: the same answer for every row.
        std::fill(results.begin(), results.end(), all);
      } else {
        // One row may have spoilt the batch (all or none): each row again on its own, so only
        // a row the store refuses fails its call.
        for (size_t i = 0; i < batch.size(); ++i) {
          ++statements;
          results[i] = store_.AppendAuditEvent(batch[i]->event).status();
        }
      }
    }
  } catch (const std::exception&) {
    // Stores answer with a Status; this only keeps an unexpected throw (bad_alloc) from
    // leaving waiters behind. Rows without an answer count as not written.
    for (absl::Status& s : results) {
      if (s.ok()) s = absl::InternalError("audit record not written");
    }
  }
  absl::MutexLock lock(&mu_);
  statements_ += statements;
  return results;
}

absl::Status AuditGroupCommit::Append(AuditEvent event, absl::Time deadline) {
  auto me = std::make_shared<Pending>();
  me->event = std::move(event);
  mu_.Lock();
  queue_.push_back(me);
  int led = 0;  // batches this caller wrote
  while (true) {
    if (me->done) {
      // Written. While rows wait and nobody writes, keep leading for a few batches: this
      // thread is on a CPU now, while a waiter woken to lead may wait for one (on a busy
      // machine that hand-off stalled every queued call).
      if (writing_ || queue_.empty()) break;
      if (led >= kMaxBatchesPerLeader) {
        queue_.front()->cv.Signal();  // the oldest waiting caller leads the next batch
        break;
      }
    } else if (writing_) {
      if (me->cv.WaitWithDeadline(&mu_, deadline) && !me->done) {
        // Deadline passed. A row still queued is withdrawn; a row in flight is left to its
        // leader (it writes into the shared Pending). Either way this call answers no secret.
        auto it = std::find(queue_.begin(), queue_.end(), me);
        if (it != queue_.end()) queue_.erase(it);
        if (!writing_ && !queue_.empty()) queue_.front()->cv.Signal();
        mu_.Unlock();
        return absl::DeadlineExceededError("audit record not written before the call's deadline");
      }
      continue;
    }
    // Lead: nobody is writing; take the oldest rows (mine among them while not yet written,
    // unless more than max_batch wait before me: then I lead again after this batch).
    writing_ = true;
    const auto end =
        queue_.begin() + static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch_));
    std::vector<std::shared_ptr<Pending>> batch(queue_.begin(), end);
    queue_.erase(queue_.begin(), end);
    mu_.Unlock();
    std::vector<absl::Status> results = Write(batch);
    mu_.Lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move(results[i]);
      batch[i]->done = true;
      if (batch[i] != me) batch[i]->cv.Signal();
    }
    writing_ = false;
    ++led;
  }
  absl::Status result = std::move(me->result);
  mu_.Unlock();
  return result;
}

int64_t AuditGroupCommit::statements() const {
  absl::MutexLock lock(&mu_);
  return statements_;
}

size_t AuditGroupCommit::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

}  // namespace registryauth::services
