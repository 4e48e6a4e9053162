// TokenAudit: the audit trail of registry tokens that grant push or delete (issue 19), kept off
// the /token hot path.
//
// The issuer hands a small TokenAuditEntry (request id, principal, granted access, client
// address, time) to TokenAuditSink::Record, which only appends it to a bounded in-memory queue
// under a mutex: no I/O, no waiting on the database. A flusher thread (TokenAuditQueue::Start)
// takes the whole queue every `flush_interval` (200 ms), or as soon as `batch_size` (500)
// entries wait, and writes them as `IssueRegistryToken` rows of `audit_events` with one
// multi-row insert per batch (storage::RegistryStore::AppendAuditEvents). Stop() (the server's
// shutdown) stops the thread and writes what is still queued.
//
// Never silent, never blocking: an entry that finds the queue full (`capacity`, 10000) or whose
// batch cannot be written (the database is down, ...) is dropped and counted
// (TokenAuditMetrics: `registry_auth_token_audit_dropped_total{reason}`), and the drops are
// logged at most once per `log_interval` (a minute) with their count. A failed batch is not
// retried: retrying would hold the flusher while the queue fills behind it.
//
// Pull-only tokens are not recorded (the issuer decides: GrantsWriteAccess).
//
//   TokenAuditQueue audit(registry_store, clock, TokenAuditOptions{}, &metrics);
//   audit.Start();
//   TokenIssuer issuer(..., &audit);       // Record() on every push/delete grant
//   ...
//   audit.Stop();                          // flushes
//
// Thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_TOKEN_AUDIT_H_
#define REGISTRY_AUTH_SERVICES_TOKEN_AUDIT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "model/model.h"
#include "realm/scope.h"
#include "storage/registry_store.h"

namespace registryauth::services {

// The audit row's action.
inline constexpr char kIssueRegistryTokenAction[] = "IssueRegistryToken";

// One issued token that grants push or delete.
struct TokenAuditEntry {
  absl::Time time;
  std::string request_id;
  std::string subject;   // the principal's user name, e.g. `acme+builder`, `build+<id>`
  std::string resource;  // the principal's resource, e.g. `workspaces/acme/serviceAccounts/builder`
  std::string granted;   // the granted scopes, space-separated
  std::string client_address;  // what throttling sees (RequestContext::peer)
};

// True if `granted` gives push, delete or `*` on a repository: the tokens worth an audit row.
bool GrantsWriteAccess(const std::vector<realm::ResourceScope>& granted);

// What the issuer calls. Record must return at once (no I/O).
class TokenAuditSink {
 public:
  virtual ~TokenAuditSink() = default;
  virtual void Record(TokenAuditEntry entry) = 0;
};

// Counts what could not be written; server/ implements it with the metrics registry.
class TokenAuditMetrics {
 public:
  enum class DropReason { kQueueFull, kWriteFailed };
  virtual ~TokenAuditMetrics() = default;
  virtual void OnTokenAuditDropped(DropReason reason, int64_t count) = 0;
};

struct TokenAuditOptions {
  size_t capacity = 10000;  // entries waiting; beyond, Record drops
  size_t batch_size = 500;  // rows per insert; this many waiting wakes the flusher
  absl::Duration flush_interval = absl::Milliseconds(200);
  absl::Duration log_interval = absl::Minutes(1);  // at most one drop log line per interval
};

class TokenAuditQueue final : public TokenAuditSink {
 public:
  // `store` and `clock` (times of the drop log) must outlive this object; `metrics` may be
  // null.
  TokenAuditQueue(storage::RegistryStore& store, const Clock& clock, TokenAuditOptions options,
                  TokenAuditMetrics* metrics = nullptr);
  ~TokenAuditQueue() override;  // Stop()

  TokenAuditQueue(const TokenAuditQueue&) = delete;
  TokenAuditQueue& operator=(const TokenAuditQueue&) = delete;

  void Record(TokenAuditEntry entry) override;

  // Starts the flusher thread (once).
  void Start();
  // Stops the flusher thread and writes everything queued; later Records are still queued and
  // written by Flush(). Idempotent.
  void Stop();
  // Writes what is queued now, in batches of batch_size; the number of rows written. What the
  // flusher runs each round; tests call it instead of waiting for the thread.
  size_t Flush();

  // Entries dropped so far (queue full or write failed).
  int64_t dropped() const;
  // Entries waiting.
  size_t pending() const;
  // Drop log lines written so far (test hook for the once-per-log_interval rule).
  int64_t drop_log_lines() const;

 private:
  void Run();
  void Dropped(TokenAuditMetrics::DropReason reason, size_t count);
  // Logs the drops not yet logged if `log_interval` has passed since the last line (or `force`).
  void MaybeLogDrops(bool force);

  storage::RegistryStore& store_;
  const Clock& clock_;
  const TokenAuditOptions options_;
  TokenAuditMetrics* const metrics_;

  mutable absl::Mutex mu_;
  std::vector<TokenAuditEntry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex flush_mu_;  // one Flush at a time, so batches go out in order

  mutable absl::Mutex drops_mu_;
  int64_t dropped_ ABSL_GUARDED_BY(drops_mu_) = 0;
  int64_t unlogged_queue_full_ ABSL_GUARDED_BY(drops_mu_) = 0;
  int64_t unlogged_write_failed_ ABSL_GUARDED_BY(drops_mu_) = 0;
  absl::Time last_log_ ABSL_GUARDED_BY(drops_mu_) = absl::InfinitePast();
  int64_t log_lines_ ABSL_GUARDED_BY(drops_mu_) = 0;

  absl::Mutex thread_mu_;
  std::thread thread_ ABSL_GUARDED_BY(thread_mu_);
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_TOKEN_AUDIT_H_
