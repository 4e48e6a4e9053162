// AuditGroupCommit: group commit of the audit rows that must be stored before a call answers
// (GetCredentials, issue 20). Each caller hands in its row and blocks until THAT row is
// committed; the rows of callers that arrive while a write is in flight are written together,
// in one statement and one transaction (storage::RegistryStore::AppendAuditEvents), so
// concurrent callers share the round trip, the commit and its WAL flush.
//
// No writer thread: the first caller that finds no write in flight becomes the leader, takes
// every queued row (its own included, at most `max_batch`), writes them without holding the
// lock and hands each row's outcome to its caller. While rows wait, it writes up to
// kMaxBatchesPerLeader batches in a row (it is running; a woken waiter might first wait for a
// CPU), then wakes the oldest waiting caller to lead the next. A single caller therefore
// writes its own row at once, as a plain AppendAuditEvent would. Outcomes:
//   - OK only once the row is committed;
//   - a failed batch of one row: the store's status; a failed batch of several rows: each row
//     is written again on its own, so a row the store refuses fails only its own call and an
//     unreachable database fails them all (nothing half-done: AppendAuditEvents is all or none);
//   - DEADLINE_EXCEEDED when `deadline` passes before the row's write finished (the row may
//     still be committed later; the caller answers no secret either way).
// Nothing to stop: with no caller inside Append, no thread and no row is left.
//
//   AuditGroupCommit commit(store);
//   RETURN_IF_ERROR(commit.Append(event, deadline));   // committed: the secret may leave
//
// Thread-safe if the store is.
#ifndef REGISTRY_AUTH_SERVICES_AUDIT_GROUP_COMMIT_H_
#define REGISTRY_AUTH_SERVICES_AUDIT_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class AuditGroupCommit {
 public:
  static constexpr size_t kDefaultMaxBatch = 128;
  // Batches one caller writes in a row before handing the lead on (bounds its extra latency).
  static constexpr int kMaxBatchesPerLeader = 4;

  // `store` must outlive this object; `max_batch` >= 1.
  explicit AuditGroupCommit(storage::RegistryStore& store, size_t max_batch = kDefaultMaxBatch)
      : store_(store), max_batch_(max_batch < 1 ? 1 : max_batch) {}
  AuditGroupCommit(const AuditGroupCommit&) = delete;
  AuditGroupCommit& operator=(const AuditGroupCommit&) = delete;

  // Stores `event` (its id is ignored); see the class comment for the outcomes.
  absl::Status Append(AuditEvent event, absl::Time deadline = absl::InfiniteFuture());

  // Statements written so far (batches, and single rows rewritten after a failed batch); for
  // tests, which check that concurrent rows really share statements.
  int64_t statements() const;
  // Rows waiting for a leader (not yet taken into a batch); for tests.
  size_t queued() const;

 private:
  // One caller's row; shared with the leader that writes it, so a caller whose deadline passed
  // may leave while its row is in flight.
  struct Pending {
    AuditEvent event;
    absl::Status result;
    bool done = false;
    absl::CondVar cv;  // signalled when done, or when this caller should lead the next batch
  };

  // Writes `batch` (no lock held) and returns one status per row.
  std::vector<absl::Status> Write(const std::vector<std::shared_ptr<Pending>>& batch);

  storage::RegistryStore& store_;
  const size_t max_batch_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);  // rows not yet taken
  bool writing_ ABSL_GUARDED_BY(mu_) = false;                        // a leader is writing
  int64_t statements_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_AUDIT_GROUP_COMMIT_H_
