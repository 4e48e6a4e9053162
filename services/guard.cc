#include "services/guard.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "services/error_detail.h"

namespace registryauth::services {

absl::Status Guard::RecordBeforeAnswer(const RequestContext& ctx, std::string_view action,
                                       std::string_view resource, const absl::Status& outcome,
                                       std::string_view detail, absl::Time deadline) const {
  absl::Status recorded = audit_.RecordCommitted(ctx, action, resource, outcome, detail, deadline);
  if (recorded.ok()) return absl::OkStatus();
  if (absl::IsDeadlineExceeded(recorded)) return recorded;
  LOG_ERROR(absl::StrCat(std::string(action), " refused: audit record failed, request_id=",
                         ctx.request_id, ": ", recorded.message()));
  return WithErrorDetail(
      absl::UnavailableError("audit trail unavailable; credentials are not handed out "
                             "without an audit record"),
      {kReasonAuditUnavailable, ErrorCategory::kNetwork, true, absl::Seconds(1)});
}

void Guard::FlushRejected() const {
  for (const RejectedCallLimiter::Summary& s : rejected_->Flush()) {
    RequestContext summary;
    summary.peer = s.address;
    RecordChange(summary, s.action, s.resource, absl::Status(s.outcome, s.Detail()));
  }
}

void Guard::RecordRejected(std::string_view caller, std::string_view action,
                           std::string_view resource, const absl::Status& status,
                           std::string_view request_id, std::string_view peer) const {
  RejectedCallLimiter::Decision d = rejected_->OnRejected(peer, action, resource, status.code());
  if (rejected_metrics_ != nullptr) rejected_metrics_->OnRejectedCall(action, d.record);
  for (const RejectedCallLimiter::Summary& s : d.summaries) {
    RequestContext summary;
    summary.peer = s.address;
    RecordChange(summary, s.action, s.resource, absl::Status(s.outcome, s.Detail()));
  }
  if (!d.record) return;
  RequestContext ctx;
  ctx.caller.identity = std::string(caller.substr(0, 512));
  ctx.request_id = std::string(request_id);
  ctx.peer = std::string(peer);
  RecordChange(ctx, action, resource, status);
}

}  // namespace registryauth::services
