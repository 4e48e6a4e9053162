// AuditLog: appends the records of the audit trail (storage::RegistryStore::AppendAuditEvent)
// for the guarded entry points through services::Guard, so every record
// has the same shape: time, caller, on-behalf-of user, action, resource, outcome (`OK` or the
// status code name), a short secret-free detail (the status message), request id and peer.
//
//   AuditLog audit(store, clock);
//   RETURN_IF_ERROR(audit.Record(ctx, "GetCredentials", resource, result.status()));
//   audit.RecordChange(ctx, "UpdateApp", resource, result.status());  // logs a failure
//   ASSIGN_OR_RETURN(ListResult<AuditEvent> page, audit.List(filter, 50, page_token));
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_AUDIT_LOG_H_
#define REGISTRY_AUTH_SERVICES_AUDIT_LOG_H_

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/audit_group_commit.h"
#include "services/request_context.h"
#include "services/types.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class AuditLog {
 public:
  // Both must outlive this object.
  AuditLog(storage::RegistryStore& store, const Clock& clock)
      : store_(store), clock_(clock), group_(std::make_unique<AuditGroupCommit>(store)) {}

  // Appends a record; returns the store's status. Service status messages are secret-free by
  // construction; the detail keeps the first 512 bytes of one (or of `detail`, when not empty).
  absl::Status Record(const RequestContext& ctx, std::string_view action, std::string_view resource,
                      const absl::Status& outcome, std::string_view detail = "") const;
  // Record() for an answer that waits for its record (GetCredentials): returns once this row
  // is committed, sharing the statement and the commit with the records of concurrent calls
  // (services/audit_group_commit.h); DEADLINE_EXCEEDED if `deadline` passes first.
  absl::Status RecordCommitted(const RequestContext& ctx, std::string_view action,
                               std::string_view resource, const absl::Status& outcome,
                               std::string_view detail, absl::Time deadline) const;
  // Record() for changes that already happened: a failure is logged with the request id, not
  // returned.
  void RecordChange(const RequestContext& ctx, std::string_view action, std::string_view resource,
                    const absl::Status& outcome) const;
  // The record Record() would append, for stores that append it inside a transaction of their
  // own (RecordValidation). `detail` replaces the status message when not empty.
  AuditEvent MakeEvent(const RequestContext& ctx, std::string_view action,
                       std::string_view resource, const absl::Status& outcome,
                       std::string_view detail = "") const;

  // The trail, newest first, filtered (ListAuditEvents of the v1 API). Page tokens are bound to
  // the filter. INVALID_ARGUMENT for a resource or caller longer than 1024 characters or an
  // end_time not after start_time.
  absl::StatusOr<ListResult<AuditEvent>> List(const AuditFilter& filter, int page_size,
                                              std::string_view page_token) const;

 private:
  storage::RegistryStore& store_;
  const Clock& clock_;
  std::unique_ptr<AuditGroupCommit> group_;  // thread-safe; a pointer keeps AuditLog movable
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_AUDIT_LOG_H_
