// Guard: the one layer that decides who may do what (services/authorizer.h) and records it
// (services/audit_log.h). Every guarded entry point (services::RegistryAuth for workspaces,
// apps, registry configurations, members, credentials and the audit trail;
// services::TokenRealm for service accounts, pull and refresh tokens) is a thin decorator over
// a domain service (RegistryService, MemberService, ServiceAccountService, PullTokenService,
// RefreshTokenService) that runs each call through this class, the way google-cloud-cpp stacks
// an auth or logging decorator on a connection. The domain services neither check permissions
// nor write audit records.
//
// Audit rules: changes are recorded with caller, on-behalf-of user, resource, outcome (OK or
// the status code name, denials included), request id and peer; the record follows the
// change, and a failure to write it is logged (with the request id) and does not undo the
// change. Reads are not recorded. A call that must not answer without a record (GetCredentials)
// uses RecordBeforeAnswer. Records never hold a secret.
//
//   return guard.Change(ctx, Operation::kManage, ws, "UpdateApp", resource,
//                       [&] { return registry.UpdateApp(name, ...); });
//   return guard.IfAllowed(ctx, Operation::kRead, ws, [&] { return registry.GetApp(name); });
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_GUARD_H_
#define REGISTRY_AUTH_SERVICES_GUARD_H_

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/audit_log.h"
#include "services/authorizer.h"
#include "services/rejected_calls.h"
#include "services/request_context.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class Guard {
 public:
  // `store` and `clock` must outlive this object; so must `rejected_metrics` (may be null),
  // which counts the calls RecordRejected hears of.
  Guard(storage::RegistryStore& store, const Clock& clock,
        RejectedCallMetrics* rejected_metrics = nullptr)
      : authz_(store),
        audit_(store, clock),
        rejected_(std::make_unique<RejectedCallLimiter>(clock)),
        rejected_metrics_(rejected_metrics) {}

  // OK or PERMISSION_DENIED (Authorizer::Check).
  absl::Status Check(const RequestContext& ctx, Operation op, std::string_view workspace_id) const {
    return authz_.Check(ctx, op, workspace_id);
  }

  // `read()` if `op` is allowed in `workspace_id`, else the denial. Not recorded.
  template <typename F>
  auto IfAllowed(const RequestContext& ctx, Operation op, std::string_view workspace_id,
                 F&& read) const -> decltype(read()) {
    if (absl::Status allowed = Check(ctx, op, workspace_id); !allowed.ok()) return allowed;
    return read();
  }

  // `change()` if `op` is allowed in `workspace_id`; the outcome, a denial included, is
  // recorded as `action` on `resource`.
  template <typename F>
  auto Change(const RequestContext& ctx, Operation op, std::string_view workspace_id,
              std::string_view action, std::string_view resource, F&& change) const
      -> decltype(change()) {
    decltype(change()) result = IfAllowed(ctx, op, workspace_id, change);
    RecordChange(ctx, action, resource, StatusOf(result));
    return result;
  }

  // `change()`, which makes its own Check calls (member rules decide midway which operation a
  // change is), recorded like Change.
  template <typename F>
  auto Recorded(const RequestContext& ctx, std::string_view action, std::string_view resource,
                F&& change) const -> decltype(change()) {
    decltype(change()) result = change();
    RecordChange(ctx, action, resource, StatusOf(result));
    return result;
  }

  // Records a change that already happened (or was refused); a lost record is logged.
  void RecordChange(const RequestContext& ctx, std::string_view action, std::string_view resource,
                    const absl::Status& outcome) const {
    audit_.RecordChange(ctx, action, resource, outcome);
  }

  // For answers that must not leave without their record (GetCredentials): OK once the
  // record of `outcome` is written, else UNAVAILABLE (reason AUDIT_UNAVAILABLE), which the
  // caller answers instead, so nothing is handed out.
  // The records of concurrent calls share one statement and commit (group commit); a call
  // whose `deadline` passes before its record is written gets DEADLINE_EXCEEDED.
  absl::Status RecordBeforeAnswer(const RequestContext& ctx, std::string_view action,
                                  std::string_view resource, const absl::Status& outcome,
                                  std::string_view detail = "",
                                  absl::Time deadline = absl::InfiniteFuture()) const;

  // Records an attempt the transport refused before it reached a service (e.g. an unknown
  // caller of GetCredentials). `caller` is what the transport saw ("" if nothing). Such callers
  // need no credentials, so their rows are rate-limited (services/rejected_calls.h: the first
  // refusal of each client address, action and resource per minute gets its row, the rest one
  // summary row with their count); every call is counted in the metrics.
  void RecordRejected(std::string_view caller, std::string_view action, std::string_view resource,
                      const absl::Status& status, std::string_view request_id,
                      std::string_view peer) const;
  // Writes the summary rows of every refusal counted but not yet summarized (the server calls
  // it every minute and at shutdown, so a summary never waits for the next refusal of its key).
  void FlushRejected() const;

  // The record, for stores that append it inside a transaction of their own
  // (RecordValidation).
  const AuditLog& audit() const { return audit_; }

 private:
  static absl::Status StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static absl::Status StatusOf(const absl::StatusOr<T>& s) {
    return s.status();
  }

  Authorizer authz_;
  AuditLog audit_;
  std::unique_ptr<RejectedCallLimiter> rejected_;  // thread-safe; a pointer keeps Guard movable
  RejectedCallMetrics* rejected_metrics_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_GUARD_H_
